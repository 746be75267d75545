"""Write a results folder: a plan (``plan.xlsx`` and ``report.html`` for people, one CSV per
table for machines), a study of many plans, or why there is no plan.

Every folder is written through ``files`` (a staging folder, then atomic moves; see there), so
a run that fails or is stopped never leaves a half-written, clobbered or mixed folder.
Strings from the case are written to the workbook as text, never formulas, and CSV cells that
a spreadsheet would run as formulas are defused.
"""

from __future__ import annotations

import importlib.util
import shutil
import time
from pathlib import Path

import pandas as pd

from . import reopen
from .diagnose import Infeasibility
from .files import atomic_file, commit, inert_for_csv, staging, write_parquet
from .results import PLAN_TABLES, Plan
from .webreport import plan_page, render, study_page
from .workbook import MAX_SHEET_ROWS as WORKBOOK_ROWS
from .workbook import write_plan_workbook, write_study_workbook, write_tables


def write_tables_file(tables: dict[str, pd.DataFrame], path: str | Path) -> None:
    """``workbook.write_tables`` into a file of its own, atomically (``files.atomic_file``)."""
    with atomic_file(path) as tmp:
        write_tables(tables, tmp)


#: Files a plan run writes (``<table>.csv`` for each of ``PLAN_TABLES``, and the saved basis and
#: case, ``reopen.FILES``) and files a run that
#: found no plan writes. A run removes the files of its kind that it did not write this time (a
#: table the new plan does not have) and a plan run removes the no-plan files, so a folder never
#: mixes two runs. Files aop does not own are never touched.
PLAN_FILES = frozenset({"plan.xlsx", "report.html", *(f"{t}.csv" for t in PLAN_TABLES), *(f"{t}.parquet" for t in PLAN_TABLES), *reopen.FILES})

#: Parquet copies of the tables are written when pyarrow is installed (pip install "aop[parquet]").
PARQUET = importlib.util.find_spec("pyarrow") is not None


NO_PLAN_FILES = frozenset({"no_plan.txt", "infeasible_relaxation.csv", "infeasible_conflict.csv"})
def write_plan(
    plan: Plan, out_dir: str | Path, max_sheet_rows: int = WORKBOOK_ROWS, timings: dict[str, float] | None = None, base: dict[str, pd.DataFrame] | None = None, base_label: str = ""
) -> list[Path]:
    """Write plan.xlsx, report.html and <table>.csv into ``out_dir`` atomically; return the
    paths written. Files of an earlier run that this plan does not have (and any no-plan
    report) are removed. ``timings`` (if given) receives ``write``, the seconds spent writing
    (the plan's own record, its provenance, holds the stages before: it was made first).
    ``base``: another plan's tables; the page's KPIs show their change against it
    (``base_label`` says which plan that is)."""
    t0 = time.perf_counter()
    out = Path(out_dir)
    tmp = staging(out)
    try:
        write_plan_workbook(plan, tmp / "plan.xlsx", max_sheet_rows)
        (tmp / "report.html").write_text(render(plan_page(plan.tables, base, base_label)), encoding="utf-8")
        names = ["plan.xlsx", "report.html"]
        for name, df in plan.tables.items():
            inert_for_csv(df).to_csv(tmp / f"{name}.csv", index=False)
            names.append(f"{name}.csv")
        if PARQUET:  # for analysts: typed columns, read back exactly
            for name, df in plan.tables.items():
                write_parquet(df, tmp / f"{name}.parquet")
                names.append(f"{name}.parquet")
        if plan.basis is not None:  # the basis and the case it solves: aop explain --exact re-opens the plan from them
            names += reopen.store(plan.basis, plan.tables.get("provenance"), tmp)
        paths = commit(tmp, out, names, PLAN_FILES | NO_PLAN_FILES)
        if timings is not None:
            timings["write"] = time.perf_counter() - t0
        return paths
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_study(study: str, tables: dict[str, pd.DataFrame], out_dir: str | Path, currency: str, title: str) -> list[Path]:
    """Write a study of many plans into ``out_dir`` atomically: ``<study>.xlsx`` (its sheets and
    charts), ``<study>.html`` (the browser report) and ``<study>_<table>.csv`` for each table.
    Files of an earlier run of the same study that this one does not have are removed; nothing
    else in the folder is touched."""
    out = Path(out_dir)
    tmp = staging(out)
    try:
        write_study_workbook(study, tables, tmp / f"{study}.xlsx", currency, title)
        (tmp / f"{study}.html").write_text(render(study_page(study, tables, currency, title)), encoding="utf-8")
        names = [f"{study}.xlsx", f"{study}.html"]
        for name, df in tables.items():
            inert_for_csv(df).to_csv(tmp / f"{study}_{name}.csv", index=False)
            names.append(f"{study}_{name}.csv")
        owned = frozenset(p.name for p in out.glob(f"{study}_*.csv")) | {f"{study}.xlsx", f"{study}.html"}
        return commit(tmp, out, names, owned)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_no_plan(status: str, detail: str, report: object, out_dir: str | Path, provenance: pd.DataFrame | None = None) -> list[Path]:
    """Why there is no plan: ``no_plan.txt`` (the printed text, then the provenance record) and,
    for an infeasible plan, ``infeasible_relaxation.csv`` and ``infeasible_conflict.csv``. Written
    atomically beside any previous plan, which stays as it was."""
    out = Path(out_dir)
    tmp = staging(out)
    try:
        lines = [f"No plan: {status}. {detail}"]
        files: dict[str, pd.DataFrame] = {}
        if isinstance(report, Infeasibility):
            lines += report.lines()
            files = {"infeasible_relaxation.csv": report.relaxation, "infeasible_conflict.csv": report.conflict}
        elif report:
            lines.append(str(report))
        if provenance is not None and len(provenance):
            lines += ["", "Provenance:"] + [f"  {i}: {v}" for i, v in zip(provenance["item"], provenance["value"])]
        (tmp / "no_plan.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        for name, df in files.items():
            inert_for_csv(df).to_csv(tmp / name, index=False)
        return commit(tmp, out, ["no_plan.txt", *files], NO_PLAN_FILES)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
