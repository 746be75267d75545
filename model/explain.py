"""``aop explain DIR --exact``: settle a plan's what-ifs later, without solving it again.

A plan written with a what-if budget leaves the what-ifs beyond it at their prices'
prediction. Here the model is rebuilt from the case stored with the plan, re-opened in HiGHS
at the saved optimal basis (``reopen``: no simplex iterations when the case builds the same
LP), the finance view's what-ifs and the bottlenecks' re-solves run with no time budget, and
the plan folder's finance tables are rewritten with them (their CSV and Parquet files,
plan.xlsx and report.html, atomically); the summary's what-if counts follow, and the
provenance records when the what-ifs were settled. The plan itself (production, flows, prices)
is left as it was written.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from .bottlenecks import bottlenecks
from .build import build
from .files import commit, inert_for_csv, read_csv, staging, write_parquet
from .metrics import figure
from .read import read_case
from .reopen import NotSaved, SavedBasis, reopened
from .report import PARQUET
from .results import PLAN_TABLES, Plan
from .solve import Solved, SolveOptions, Stop, solve
from .validate import validate
from .version import __version__
from .webreport import plan_page, render
from .whatifs import EVERY_ENTRY, WhatIfs, finance_tables
from .workbook import write_plan_workbook

#: The provenance's record of the last time a plan's what-ifs were settled.
SETTLED = "what-ifs settled exactly (UTC)"


@dataclass
class Settled:
    """What ``settle`` did: how the plan was re-opened (``how``, in words; ``iterations``:
    simplex iterations from the saved basis, ``warm``: whether HiGHS took the basis), the
    what-ifs it ran and left out (0: there is no budget), those the plan had left out, their
    seconds and the files rewritten."""

    how: str
    warm: bool
    iterations: int
    reopen_seconds: float
    what_ifs: int
    left_out: int
    were_left_out: int
    seconds: float
    written: list[Path]


def reopen_plan(folder: str | Path, saved: SavedBasis, case_path: Path, stop: Stop | None = None) -> Solved:
    """The solved model of the plan in ``folder``: its stored case rebuilt and loaded into
    HiGHS at the saved basis (``stop``: ends its HiGHS runs when set, ``solve.Stop``). Raises
    ``NotSaved`` when the case no longer builds the model the basis was saved with (another
    version of aop builds it differently)."""
    case = validate(read_case(case_path))
    built = build(case)
    lp = built.lp
    if saved.backend == "pyomo":
        from .pyomo_backend import compile_pyomo  # Pyomo only where its back end was asked for

        lp = compile_pyomo(built)
    if lp.fingerprint() != saved.model:
        raise NotSaved(
            f"{folder}: its stored case builds a different model with aop {__version__} than the one the plan was solved as "
            f"(the plan was written by another version), so its basis does not re-open it; solve the case again (aop solve CASE --out {folder})"
        )
    # ``lp`` is the model as solved (compiled by its back end already): loaded as it is.
    return solve(replace(built, lp=lp), SolveOptions.from_settings(case.settings, stop=stop), basis=(saved.col_status, saved.row_status))


def settle(folder: str | Path, progress: Callable[[str], None] | None = None, stop: Stop | None = None) -> Settled:
    """Re-open the plan in ``folder`` from its saved basis and case, run its what-ifs with no
    time budget and rewrite its finance tables (see the module docstring). Raises ``NotSaved``
    when it cannot be re-opened (then nothing is written), ``InputError`` when the stored case
    no longer validates."""
    say = progress or (lambda _m: None)
    folder = Path(folder)
    t0 = time.perf_counter()
    with reopened(folder) as (saved, case_path):
        solved = reopen_plan(folder, saved, case_path, stop)
    sol = solved.optimum
    warm = sol.algorithm == "simplex (warm)"
    reopen_seconds = time.perf_counter() - t0
    if warm:
        how = f"re-opened at the saved basis in {reopen_seconds:.2f} s ({sol.iterations['simplex']} simplex iterations)"
    elif sol.rechecked:
        how = f"the saved basis's answer failed the independent check ({sol.rechecked}): solved again cold in {reopen_seconds:.2f} s"
    else:
        how = f"HiGHS refused the saved basis: solved cold in {reopen_seconds:.2f} s"
    if not warm:  # another optimum of the same cost may be found: the what-ifs start from it
        how += "; where the plan has other optima of the same cost, the what-ifs start from the one found"
    if abs(sol.objective - saved.objective) > 1e-6 * max(1.0, abs(saved.objective)):
        raise NotSaved(f"{folder}: re-opened, the plan costs {sol.objective!r}, not the {saved.objective!r} it was saved with; solve the case again (aop solve CASE --out {folder})")
    say(how + "; running every what-if with no time budget ...")
    t1 = time.perf_counter()
    what_ifs = WhatIfs(seconds=math.inf)
    # Every ledger entry settled, not only the top ones a plan proves within its budget.
    extra = finance_tables(solved, resolves=EVERY_ENTRY, what_ifs=what_ifs)
    extra["bottlenecks"] = bottlenecks(solved, what_ifs)
    seconds = time.perf_counter() - t1
    before = figure(read_csv(folder / "summary.csv"), "what_ifs_left_out")
    written = _rewrite(folder, solved, extra, what_ifs)
    return Settled(how, warm, sol.iterations["simplex"], reopen_seconds, what_ifs.ran, what_ifs.skipped, 0 if math.isnan(before) else int(before), seconds, written)


def _value(v: object) -> object:
    """A summary value read back as text: the number it was written as, where it is one."""
    if isinstance(v, str):
        for kind in (int, float):
            try:
                return kind(v)
            except ValueError:
                pass
    return v


def _read_plan(folder: Path) -> dict[str, pd.DataFrame]:
    """The plan's tables as written: Parquet where the folder has it (typed, exact), else CSV."""
    tables = {}
    for name in PLAN_TABLES:
        pq, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
        if pq.exists() and PARQUET:
            tables[name] = pd.read_parquet(pq)
        elif csv.exists():
            df = read_csv(csv)
            for key in ("period", "departure_period"):
                if key in df.columns:
                    df[key] = df[key].astype(str)
            tables[name] = df
    return tables


def _rewrite(folder: Path, solved: Solved, extra: dict[str, pd.DataFrame], what_ifs: WhatIfs) -> list[Path]:
    """Rewrite the plan folder's finance tables (``extra``), the summary's what-if counts and the
    provenance's record of this run, in every form the folder has them (CSV, Parquet), and
    plan.xlsx and report.html from the tables; atomically (``files.staging``, ``commit``)."""
    parquet = (folder / "summary.parquet").exists()
    if parquet and not PARQUET:
        raise NotSaved(f"{folder} holds Parquet copies of its tables, which cannot be rewritten without pyarrow (pip install \"aop[parquet]\")")
    tables = _read_plan(folder)
    tables.update(extra)
    s = tables["summary"].copy()
    s["value"] = s["value"].map(_value).astype(object)
    for metric, n in (("what_if_resolves", what_ifs.ran), ("what_ifs_left_out", what_ifs.skipped)):
        s.loc[s["metric"] == metric, "value"] = n
    tables["summary"] = s
    prov = tables["provenance"]
    now = f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} by aop {__version__} explain --exact"
    tables["provenance"] = pd.concat([prov[prov["item"] != SETTLED], pd.DataFrame([{"item": SETTLED, "value": now}])], ignore_index=True)
    tables = {name: tables[name] for name in PLAN_TABLES if name in tables}
    built = solved.built
    plan = Plan(status="optimal", total_cost=solved.optimum.objective, currency=built.case.currency, tables=tables, periods=built.case.period_names, families=dict(built.families))
    changed = [*extra, "summary", "provenance"]
    tmp = staging(folder)
    try:
        write_plan_workbook(plan, tmp / "plan.xlsx")
        (tmp / "report.html").write_text(render(plan_page(tables)), encoding="utf-8")
        names = ["plan.xlsx", "report.html"]
        for name in changed:
            inert_for_csv(tables[name]).to_csv(tmp / f"{name}.csv", index=False)
            names.append(f"{name}.csv")
            if parquet:
                write_parquet(tables[name], tmp / f"{name}.parquet")
                names.append(f"{name}.parquet")
        return commit(tmp, folder, names, frozenset(names))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
