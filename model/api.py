"""The Python API: the same pipeline the CLI runs, returning DataFrames for notebooks.

``solve_case`` returns the plan's tables; ``solve_model`` returns the solved model itself
(``solve.Solved``), which can be changed and re-solved warm, and ``plan_of`` turns it into
tables again:

    model = solve_model("data/example.xlsx")
    model.set_limits("capacity", [("PL-SOUTH", "LINE-BOTTLING", "2027-07")], 300.0)
    model.resolve()
    plan_of(model).total_cost
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from .build import Built, build
from .diagnose import diagnose
from .errors import SolveError
from .plan import assemble
from .read import from_frames, read_case
from .results import Plan
from .solve import Solved, SolveOptions, choose_algorithm, numeric_check, solve
from .validate import Case, validate

Source = str | Path | dict[str, pd.DataFrame]


def load_case(source: Source, timings: dict[str, float] | None = None) -> Case:
    """Read and validate a case: a path (.xlsx or CSV folder) or a dict of DataFrames.
    ``timings`` (if given) receives the seconds spent reading and validating."""
    t0 = time.perf_counter()
    raw = from_frames(source) if isinstance(source, dict) else read_case(source)
    t1 = time.perf_counter()
    case = validate(raw)
    if timings is not None:
        timings["read"] = t1 - t0
        timings["validate"] = time.perf_counter() - t1
    return case


def check_case(source: Source) -> tuple[Case, Built]:
    """Read, validate and build a case without solving it: every input error ``solve_case``
    would raise (some, such as a missing product size, only show once the network is built)."""
    case = load_case(source)
    return case, build(case)


def solve_model(
    source: Source | Case,
    timings: dict[str, float] | None = None,
    progress: Callable[[str], None] | None = None,
    **options,
) -> Solved:
    """Read, validate, build and solve a case; return the solved model (``solve.Solved``).

    options: solver (auto|simplex|hipo|ipx|pdlp), time_limit (s), threads, presolve, random_seed,
    log, backend, simplex_patience (s), diagnosis_seconds, stop (a ``solve.Stop`` that ends a
    running solve when set); they override the case's settings table. Raises InputError for bad input and
    SolveError when no optimal plan exists (an infeasible plan's error carries the diagnosis
    in ``report``). ``timings`` receives the seconds of each stage (read, validate, build,
    solve); ``progress`` a line of text as each stage starts and ends."""
    say = progress or (lambda _msg: None)
    timings = {} if timings is None else timings
    case = source if isinstance(source, Case) else load_case(source, timings)
    t0 = time.perf_counter()
    built = build(case)
    timings["build"] = time.perf_counter() - t0
    opts = SolveOptions.from_settings(case.settings, **options)
    lp = built.lp
    for w in [*built.warnings, *numeric_check(lp)[2]]:
        say(f"warning: {w}")
    say(f"built the LP in {timings['build']:.2f} s: {lp.num_col:,} variables, {lp.num_row:,} rows, {lp.A.nnz:,} nonzeros")
    algorithm, fallback = choose_algorithm(lp, opts.solver)
    if fallback:
        say(f"note: {fallback}")
    say(f"solving with HiGHS ({algorithm}{f', time limit {opts.time_limit:g} s' if opts.time_limit != float('inf') else ''}) ...")
    t0 = time.perf_counter()
    try:
        solved = solve(built, opts)
    except SolveError as err:
        if err.options.get("algorithm", algorithm) != algorithm:
            say(f"note: {err.options.get('fallback', '')}")  # e.g. simplex in numerical trouble, IPX took over
        if err.status == "infeasible" and isinstance(err.handle, Solved):
            say("diagnosing the infeasible plan ...")
            err.report = diagnose(err.handle)
        raise
    timings["solve"] = time.perf_counter() - t0
    if solved.options.get("algorithm") != algorithm:
        say(f"note: {solved.options.get('fallback', '')}")
    say(f"solved in {solved.optimum.seconds:.2f} s; reading results ...")
    return solved


def plan_of(
    solved: Solved,
    timings: dict[str, float] | None = None,
    finance: bool = True,
    what_if_seconds: float | None = None,
    tables_ready: Callable[[Plan], None] | None = None,
) -> Plan:
    """The tables of a solved model as it stands (after any changes and re-solves), with the
    finance view (``whatifs.finance_tables``: its what-ifs re-solve warm, are undone, and
    together take at most ``what_if_seconds``: by default the plan's own HiGHS seconds, at least
    10 s; 0 leaves them out, their proven bounds stay) unless ``finance`` is False.
    ``timings``: the seconds of the stages so far; receives ``results`` and ``finance``.
    ``tables_ready``: called with the plan's results before the finance view (``plan.assemble``)."""
    return assemble(solved, timings, finance, what_if_seconds, tables_ready)


def solve_case(
    source: Source | Case,
    timings: dict[str, float] | None = None,
    progress: Callable[[str], None] | None = None,
    what_if_seconds: float | None = None,
    **options,
) -> Plan:
    """Read, validate, build and solve a case and return the plan's tables (see
    ``solve_model`` for the options, errors, ``timings`` and ``progress``; ``plan_of`` for
    ``what_if_seconds``)."""
    timings = {} if timings is None else timings
    return plan_of(solve_model(source, timings, progress, **options), timings, what_if_seconds=what_if_seconds)
