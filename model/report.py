"""Write a results folder: a plan (``plan.xlsx`` and ``report.html`` for people, one CSV per
table for machines), a study of many plans, or why there is no plan.

Every folder is written through ``files`` (a staging folder, then atomic moves; see there), so
a run that fails or is stopped never leaves a half-written, clobbered or mixed folder.
Strings from the case are written to the workbook as text, never formulas, and CSV cells that
a spreadsheet would run as formulas are defused.
"""

from __future__ import annotations

import contextlib
import importlib.util
import pickle
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pandas as pd

from . import forks, reopen
from .diagnose import Infeasibility
from .files import atomic_file, commit, inert_for_csv, staging, write_parquet
from .forks import Child
from .results import PLAN_TABLES, Plan
from .webreport import plan_page, render, study_page
from .workbook import MAX_SHEET_ROWS as WORKBOOK_ROWS
from .workbook import begin_plan_workbook, end_plan_workbook, write_plan_workbook, write_study_workbook, write_tables


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
    (``base_label`` says which plan that is). ``PlanWriter`` writes the same files, the plan's
    own tables while the finance view runs."""
    with PlanWriter(out_dir) as writer:
        return writer.write(plan, max_sheet_rows, timings, base, base_label)


class PlanWriter:
    """A plan's results folder written in parts that run side by side: ``start`` takes the
    plan as it stands before its finance view (its own tables, ``results.plan_tables``: they do
    not depend on the finance view) and, in child processes, writes their CSV and Parquet files
    into the staging folder and begins the workbook with the sheets they fill
    (``workbook.begin_plan_workbook``), while the caller goes on to the finance view; ``write``
    hands the workbook's child the rest of the plan to end it with, writes the page and the
    other tables in another child, waits for every part (raising a child's error) and commits,
    as ``write_plan`` does. Leaving the ``with`` block, by an error or Ctrl+C too, ends the
    children and removes the staging folder, so an unfinished run commits nothing:

        with PlanWriter(out) as writer:
            plan = plan_of(solved, tables_ready=writer.start)
            writer.write(plan)

    Processes, not threads: a thread shares the GIL, which HiGHS's interrupt callback
    (``solve._run_highs``) takes every simplex iteration or so, and the re-solves waited for
    the writing (at 88k variables a writer thread made the finance view 0.6 s slower)."""

    def __init__(self, out_dir: str | Path, max_sheet_rows: int = WORKBOOK_ROWS):
        self.out = Path(out_dir)
        self.max_sheet_rows = max_sheet_rows  # the workbook begun by ``start`` keeps this many rows a sheet
        self._made = not self.out.exists()  # a folder this run made and did not fill is removed again
        self._tmp: Path | None = None
        self._early: dict[str, pd.DataFrame] = {}  # the tables handed to start, by name
        self._children: list[Child] = []
        self._book: Child | None = None  # the child that began the workbook and waits for the rest of the plan
        self._started = False
        self._done = False

    def __enter__(self) -> PlanWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            for child in self._children:
                child.end()
        finally:
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)
            if self._made and not self._done:
                with contextlib.suppress(OSError):
                    self.out.rmdir()  # only if empty

    def _staging(self) -> Path:
        if self._tmp is None:
            self._tmp = staging(self.out)
        return self._tmp

    def start(self, plan: Plan) -> None:
        """Start writing ``plan``'s tables (``_write_tables``) in a child process, which has them
        as they are now, and (where children are forked) begin its workbook in another; ``write``
        writes a table again, and the whole workbook, if the plan's is not the frame handed here."""
        tmp = self._staging()
        tables = dict(plan.tables)
        self._early.update(tables)
        self._child(lambda: _write_tables(tables, tmp))
        if self._book is not None:  # a second start: the book began from other tables
            self._book.send(b"")
            self._book = None
        elif FORK and not self._started:
            rows = self.max_sheet_rows

            def book(receive: Callable[[], bytes]) -> None:
                begun = begin_plan_workbook(plan, tmp / "plan.xlsx", rows)
                rest = receive()
                if rest:  # else the parent writes the workbook itself
                    end_plan_workbook(begun, _whole_plan(plan, tmp / rest.decode()))

            with contextlib.suppress(OSError):  # no child: the workbook is written here
                self._book = Child(book, fed=True)
                self._children.append(self._book)
        self._started = True

    def _child(self, work: Callable[[], object]) -> None:
        """``work`` in a child process (where ``FORK``), or here if none can be started."""
        try:
            self._children.append(Child(work, fork=FORK))
        except OSError:
            work()

    def write(
        self, plan: Plan, max_sheet_rows: int | None = None, timings: dict[str, float] | None = None, base: dict[str, pd.DataFrame] | None = None, base_label: str = ""
    ) -> list[Path]:
        """Write the rest of ``plan``'s folder (see ``write_plan``), wait for every part and
        commit; return the paths written. ``timings`` receives ``write``, the seconds spent here."""
        t0 = time.perf_counter()
        tmp = self._staging()
        rows = self.max_sheet_rows if max_sheet_rows is None else max_sheet_rows
        rest = {name: df for name, df in plan.tables.items() if self._early.get(name) is not df}
        changed = any(name in self._early for name in rest)
        book, self._book = self._book, None
        if book is not None and (changed or rows != self.max_sheet_rows):
            book.send(b"")  # the book began from other tables or rows: written here instead
            book = None
        if changed:
            self._wait()  # a table started early has changed since: written again, after the first
        if book is not None:
            # The rest of the plan by a file, not the pipe: the child reads it only once it has
            # begun the book, and a pipe would hold this process until then.
            with open(tmp / _REST, "wb") as f:
                pickle.dump((replace(plan, tables=rest, families={}, basis=None), list(plan.tables)), f, protocol=pickle.HIGHEST_PROTOCOL)
            book.send(_REST.encode())

        def page_and_rest() -> None:
            (tmp / "report.html").write_text(render(plan_page(plan.tables, base, base_label)), encoding="utf-8")
            _write_tables(rest, tmp)

        self._child(page_and_rest)
        if book is None:
            write_plan_workbook(plan, tmp / "plan.xlsx", rows)
        names = ["plan.xlsx", "report.html", *(f"{name}.csv" for name in plan.tables)]
        if PARQUET:
            names += [f"{name}.parquet" for name in plan.tables]
        if plan.basis is not None:  # the basis and the case it solves: aop explain --exact re-opens the plan from them
            names += reopen.store(plan.basis, plan.tables.get("provenance"), tmp)
        self._wait()
        paths = commit(tmp, self.out, names, PLAN_FILES | NO_PLAN_FILES)
        self._done = True
        if timings is not None:
            timings["write"] = time.perf_counter() - t0
        return paths

    def _wait(self) -> None:
        for child in self._children:
            child.wait()


#: The file in the staging folder that hands the workbook's child the rest of the plan.
_REST = ".rest_of_plan.pickle"


def _whole_plan(early: Plan, rest_file: Path) -> Plan:
    """The plan ``PlanWriter.write`` was given, in the workbook's child: its own tables from
    ``early`` (the child has them since ``start``), the rest from ``rest_file``."""
    with open(rest_file, "rb") as f:
        rest, order = pickle.load(f)
    rest_file.unlink()
    tables = {name: rest.tables[name] if name in rest.tables else early.tables[name] for name in order}
    return replace(rest, tables=tables, families=early.families)


def _write_tables(tables: dict[str, pd.DataFrame], tmp: Path) -> None:
    """Each table's files: ``<name>.csv`` (formula-looking cells defused) and, where pyarrow
    is installed, ``<name>.parquet`` (for analysts: typed columns, read back exactly)."""
    for name, df in tables.items():
        inert_for_csv(df).to_csv(tmp / f"{name}.csv", index=False)
    if PARQUET:
        for name, df in tables.items():
            write_parquet(df, tmp / f"{name}.parquet")


#: Parts of a folder are written in forked child processes where ``forks.FORK`` (Linux); elsewhere
#: they run in the parent, one after another.
FORK = forks.FORK


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
