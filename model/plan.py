"""A solved plan's tables, assembled once: the results, the finance view (its statements and
what-ifs), the summary of every figure (``metrics``) and the provenance record.

``assemble`` is what ``aop solve`` and ``api.plan_of`` run after the solve; every table reads
one set of figures (``results.Figures``), so nothing is computed twice and nothing is spliced
in afterwards."""

from __future__ import annotations

import time
from collections.abc import Callable

from . import metrics
from .bottlenecks import bottlenecks
from .reopen import SavedBasis
from .results import Figures, Plan, plan_tables, provenance
from .solve import Solved
from .whatifs import WhatIfs, finance_tables, what_if_budget


def assemble(
    solved: Solved,
    timings: dict[str, float] | None = None,
    finance: bool = True,
    what_if_seconds: float | None = None,
    tables_ready: Callable[[Plan], None] | None = None,
) -> Plan:
    """The tables of a solved model as it stands (after any changes and re-solves): the
    results, the finance view and the bottlenecks unless ``finance`` is False (their what-ifs
    re-solve warm, are undone, and together take at most ``what_if_seconds``; by default the
    plan's own HiGHS seconds, ``whatifs.what_if_budget``), the summary and
    the provenance.
    ``timings`` holds the seconds of the stages so far (read, validate, build, solve) and
    receives ``results`` and ``finance``; the summary and the provenance record them all.
    ``tables_ready`` is called with the plan as it stands before the finance view runs, its
    tables the results (``results.plan_tables``): they are final then (``aop solve`` writes
    them, and begins the workbook, while the what-ifs re-solve, ``report.PlanWriter``)."""
    timings = {} if timings is None else timings
    built, sol = solved.built, solved.optimum
    case = built.case
    f = Figures.of(solved)
    saved = _saved(solved)  # before the what-ifs (they restore the basis; this does not rely on it)
    t0 = time.perf_counter()
    tables = plan_tables(f)
    timings["results"] = time.perf_counter() - t0
    if tables_ready is not None:
        tables_ready(Plan(status=sol.status, total_cost=sol.objective, currency=case.currency, tables=dict(tables), periods=case.period_names, families=dict(built.families)))
    extra, run = {}, {}
    if finance:
        t0 = time.perf_counter()
        what_ifs = WhatIfs(what_if_budget(sol) if what_if_seconds is None else what_if_seconds)
        extra = finance_tables(solved, what_ifs=what_ifs, figures=f)
        # Why the lines bind: their re-solves take what the finance view's left of the time.
        extra["bottlenecks"] = bottlenecks(solved, what_ifs)
        run = {"what_if_resolves": what_ifs.ran, "what_ifs_left_out": what_ifs.skipped}
        timings["finance"] = time.perf_counter() - t0
    summary = metrics.summary(f, run, finance=finance, timings=timings)
    record = provenance(case, sol.solver, sol.options, sol.objective, timings)
    ordered = {"summary": summary, **{k: tables.pop(k) for k in list(tables) if k in CORE}, "provenance": record, **tables, **extra}
    plan = Plan(status=sol.status, total_cost=sol.objective, currency=case.currency, tables=ordered, warnings=[*case.warnings, *built.warnings, *solved.warnings], periods=case.period_names, families=dict(built.families), basis=saved)
    return plan


def _saved(solved: Solved) -> SavedBasis | None:
    """The optimal basis and what it is a basis of, for re-opening the plan later without
    solving it (``reopen``); None without a basis (PDLP ends on none)."""
    if not solved.highs.getBasis().valid:
        return None
    col, row = solved.basis()
    return SavedBasis(col, row, solved.lp.fingerprint(), solved.opts.backend, solved.optimum.objective)


#: The tables every plan has, before the provenance (the rest follow it, as in ``PLAN_TABLES``).
CORE = ("production", "capacity", "shipments", "inventory", "demand", "service", "shadow_prices")
