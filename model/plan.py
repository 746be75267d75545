"""A solved plan's tables, assembled once: the results, the finance view (its statements and
what-ifs), the summary of every figure (``metrics``) and the provenance record.

``assemble`` is what ``aop solve`` and ``api.plan_of`` run after the solve; every table reads
one set of figures (``results.Figures``), so nothing is computed twice and nothing is spliced
in afterwards."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import pandas as pd

from . import forks, metrics
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
    extra: dict[str, pd.DataFrame] = {}
    run: dict[str, int] = {}
    notes: list[str] = []  # what happened while the tables were made that a reader should know
    where = ""
    if finance:
        t0 = time.perf_counter()
        what_ifs = WhatIfs(what_if_budget(sol) if what_if_seconds is None else what_if_seconds)
        extra, ran, skipped, where, failed = _finance_view(solved, what_ifs, f, saved is not None)
        run = {"what_if_resolves": ran, "what_ifs_left_out": skipped}
        timings["finance"] = time.perf_counter() - t0
        if failed:
            notes.append(f"the bottlenecks were re-solved {where}")
    summary = metrics.summary(f, run, finance=finance, timings=timings)
    record = provenance(case, sol.solver, sol.options, sol.objective, timings)
    if finance:
        record = pd.concat([record, pd.DataFrame([{"item": "bottlenecks re-solved", "value": where}])], ignore_index=True)
    ordered = {"summary": summary, **{k: tables.pop(k) for k in list(tables) if k in CORE}, "provenance": record, **tables, **extra}
    plan = Plan(status=sol.status, total_cost=sol.objective, currency=case.currency, tables=ordered, warnings=[*case.warnings, *built.warnings, *solved.warnings], periods=case.period_names, families=dict(built.families), basis=saved, notes=notes)
    return plan


#: A forked child re-solving the bottlenecks may run this long past the what-ifs' time (its
#: re-solves stop at that time; its table after them takes well under a second at 300k) before
#: it is taken for stuck (see ``forks``), ended, and the bottlenecks are worked out here instead.
GRACE_SECONDS = 30.0


def _finance_view(solved: Solved, what_ifs: WhatIfs, f: Figures, has_basis: bool) -> tuple[dict[str, pd.DataFrame], int, int, str, bool]:
    """The finance view's tables (``whatifs.finance_tables``) and the bottlenecks; how many
    what-ifs ran and were left out; where the bottlenecks were re-solved, in words; and whether
    a child re-solving them failed. Where a child can be forked (``forks.FORK``), the model has
    a basis to re-solve from (``has_basis``) and there is time for re-solves, the bottlenecks'
    re-solves run in a child beside the finance view's own (dual simplex uses one core; the
    writing children of ``aop solve`` share the cores too): both from the optimal basis, within
    the same time. A child that fails or overruns is ended and the bottlenecks are worked out
    here with the time left (none, after an overrun: ``what_ifs_left_out`` counts them)."""
    side = forks.FORK and 0 < what_ifs.seconds < math.inf and has_basis
    child, where, failed = None, "in this process, after the finance view's other what-ifs", False
    if side:
        theirs = WhatIfs(what_ifs.seconds, start=what_ifs.start)

        def work() -> tuple[pd.DataFrame, int, int]:
            table = bottlenecks(solved, theirs)
            return table, theirs.ran, theirs.skipped

        try:
            child = forks.Child(work, fork=True, what="the process re-solving the bottlenecks")
        except OSError as err:
            where = f"in this process (no child process could be started: {err})"
    try:
        extra = finance_tables(solved, what_ifs=what_ifs, figures=f)
        table, ran, skipped = None, 0, 0
        if child is not None:
            try:
                table, ran, skipped = child.wait(what_ifs.start + what_ifs.seconds + GRACE_SECONDS)
                where = "in a child process, beside the finance view's other what-ifs"
            except Exception as err:  # its part is done here instead, and the plan says so
                why = f"{type(err).__name__}: {err}".splitlines()[0]
                where, failed = f"in this process, after the child process re-solving them failed ({why})", True
        if table is None:
            # Why the lines bind: their re-solves take what the finance view's left of the time.
            table = bottlenecks(solved, what_ifs)
    finally:
        if child is not None:
            child.end()
    extra["bottlenecks"] = table
    return extra, what_ifs.ran + ran, what_ifs.skipped + skipped, where, failed


def _saved(solved: Solved) -> SavedBasis | None:
    """The optimal basis and what it is a basis of, for re-opening the plan later without
    solving it (``reopen``); None without a basis (PDLP ends on none)."""
    if not solved.highs.getBasis().valid:
        return None
    col, row = solved.basis()
    return SavedBasis(col, row, solved.lp.fingerprint(), solved.opts.backend, solved.optimum.objective)


#: The tables every plan has, before the provenance (the rest follow it, as in ``PLAN_TABLES``).
CORE = ("production", "capacity", "shipments", "inventory", "demand", "service", "shadow_prices")
