"""The Python API: the same pipeline the CLI runs, returning DataFrames for notebooks."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from .build import Built, build
from .read import from_frames, read_case
from .results import Plan, make_plan
from .solve import SolveOptions, choose_algorithm, numeric_check, solve
from .validate import Case, validate


def load_case(source: str | Path | dict[str, pd.DataFrame]) -> Case:
    """Read and validate a case: a path (.xlsx or CSV folder) or a dict of DataFrames."""
    raw = from_frames(source) if isinstance(source, dict) else read_case(source)
    return validate(raw)


def check_case(source: str | Path | dict[str, pd.DataFrame]) -> tuple[Case, Built]:
    """Read, validate and build a case without solving it: every input error ``solve_case``
    would raise (some, such as a missing product size, only show once the network is built)."""
    case = load_case(source)
    return case, build(case)


def solve_case(
    source: str | Path | dict[str, pd.DataFrame] | Case,
    timings: dict[str, float] | None = None,
    progress: Callable[[str], None] | None = None,
    **options,
) -> Plan:
    """Read, validate, build and solve a case and return the plan's tables.

    options: solver (auto|simplex|ipm|pdlp), time_limit (s), threads, presolve, random_seed,
    log; they override the case's settings table. Raises InputError for bad input and
    SolveError when no optimal plan exists. ``timings`` (stage -> seconds) of work done before
    the call, e.g. reading the case, are reported with the plan's own; ``progress`` receives a
    line of text as each stage starts and ends.
    """
    say = progress or (lambda _msg: None)
    timings = dict(timings or {})
    t0 = time.perf_counter()
    if not isinstance(source, Case):
        case = load_case(source)
        timings["read_validate"] = time.perf_counter() - t0
    else:
        case = source
    t0 = time.perf_counter()
    built = build(case)
    timings["build"] = time.perf_counter() - t0
    opts = SolveOptions.from_settings(case.settings, **options)
    lp = built.lp
    numeric_warnings = numeric_check(lp)[2]
    for w in [*built.warnings, *numeric_warnings]:
        say(f"warning: {w}")
    say(f"built the LP in {timings['build']:.2f} s: {lp.num_col:,} variables, {lp.num_row:,} rows, {lp.A.nnz:,} nonzeros")
    say(f"solving with HiGHS ({choose_algorithm(lp, opts.solver)}{', time limit %g s' % opts.time_limit if opts.time_limit != float('inf') else ''}) ...")
    sol = solve(built, opts)
    say(f"solved in {sol.seconds:.2f} s; reading results ...")
    t0 = time.perf_counter()
    plan = make_plan(built, sol, timings)
    plan.warnings.extend([*built.warnings, *numeric_warnings])
    timings["results"] = time.perf_counter() - t0
    return plan
