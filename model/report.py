"""Write a plan: ``plan.xlsx`` and ``report.html`` (for people) and one CSV per table (for machines).

Files are first written into a temporary folder inside the output folder, flushed to disk, and
only then moved into place with ``os.replace`` (Ctrl+C and SIGTERM wait until every file is
moved), so a run that fails or is stopped never leaves a half-written, clobbered or mixed
plan. The moves are one rename per file, not one for the folder: a SIGKILL or power cut in the
microseconds between two of them is the one case that can leave files of two runs.
Strings from the case are written to the workbook as text, never formulas, and CSV cells that
a spreadsheet would run as formulas are defused.
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import signal
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from .results import PLAN_TABLES, Plan
from .workbook import MAX_SHEET_ROWS as WORKBOOK_ROWS
from .workbook import write_plan_workbook

#: Number format of a summary value by its unit (three-letter units are currencies).
UNIT_FORMATS = {"fraction": "0.0%", "units": "#,##0", "count": "#,##0", "s": "0.00"}

MONEY_WORDS = ("cost", "revenue", "price", "value", "spend")
FRACTION_WORDS = ("fill_rate", "utilization", "target")


def _number_format(column: str) -> str | None:
    if any(w in column for w in FRACTION_WORDS):
        return "0.0%"
    if column == "shadow_price" or any(w in column for w in MONEY_WORDS):
        return "#,##0.00"
    return "#,##0.0#"


def _write_sheet(wb, formats: dict, name: str, df: pd.DataFrame) -> None:
    """One table as a sheet: bold frozen header, widths from the data, number formats by
    column meaning; strings always written as strings (never formulas or links). Rows are
    written in order so the workbook streams to disk (XlsxWriter's constant_memory mode)."""
    ws = wb.add_worksheet(name[:31])
    cols = list(df.columns)
    ws.freeze_panes(1, 0)
    for i, c in enumerate(cols):
        sample = df[c].head(200).map(lambda v: len(str(v)))
        width = max([len(c)] + sample.tolist()) + 2
        ws.set_column(i, i, min(max(width, 8), 80 if c == "meaning" else 40))
    ws.write_row(0, 0, cols, formats["header"])
    writers = []
    for c in cols:
        col = df[c]
        if c == "value" and "unit" in df.columns:  # a summary: each row has its own unit
            fmts = [formats[UNIT_FORMATS.get(u, "#,##0.00" if len(str(u)) == 3 else "#,##0.0#")] for u in df["unit"]]
            writers.append((_per_row_cell, list(zip(col.tolist(), fmts)), None))
        elif col.dtype.kind in "fiu":
            writers.append((_number_cell, col.to_numpy(dtype=float).tolist(), formats[_number_format(c)]))
        else:
            writers.append((_any_cell, col.tolist(), formats[_number_format(c)]))
    for r in range(len(df)):
        for i, (write, values, fmt) in enumerate(writers):
            write(ws, r + 1, i, values[r], fmt)


def _per_row_cell(ws, r: int, c: int, value_fmt: tuple, _fmt) -> None:
    _any_cell(ws, r, c, value_fmt[0], value_fmt[1])


def _number_cell(ws, r: int, c: int, v: float, fmt) -> None:
    if v == v and v not in (math.inf, -math.inf):
        ws.write_number(r, c, v, fmt)
    elif v == v:
        ws.write_string(r, c, "unlimited" if v > 0 else "-unlimited")


def _any_cell(ws, r: int, c: int, v, fmt) -> None:
    if v is None:
        return
    if isinstance(v, str):
        ws.write_string(r, c, v)
    elif isinstance(v, (bool, np.bool_)):
        ws.write_boolean(r, c, bool(v))
    elif isinstance(v, (int, float, np.integer, np.floating)):
        _number_cell(ws, r, c, float(v), fmt)
    else:
        ws.write_string(r, c, str(v))


def write_workbook(tables: dict[str, pd.DataFrame], path: Path, properties: dict[str, str] | None = None) -> None:
    """Write plain tables as sheets (a case workbook, e.g. the bundled example) with
    XlsxWriter, streaming row by row; no formula interpretation. The plan workbook for people
    is ``workbook.write_plan_workbook``. ``properties``: document properties."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False, "nan_inf_to_errors": False},
    )
    if properties:
        wb.set_properties(properties)
    formats = {"header": wb.add_format({"bold": True})}
    for f in ("0.0%", "#,##0.00", "#,##0.0#", "#,##0", "0.00"):
        formats[f] = wb.add_format({"num_format": f})
    for name, df in tables.items():
        _write_sheet(wb, formats, name, df)
    wb.close()


@contextmanager
def atomic_file(path: str | Path):
    """Write one file atomically: yields a temporary path beside ``path``; when the block ends
    without an error it is flushed to disk and moved over ``path``, else removed, so a failed
    run leaves any earlier file as it was."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        _fsync(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; this is an ordinary file
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_workbook_file(tables: dict[str, pd.DataFrame], path: str | Path) -> None:
    """``write_workbook`` into a file of its own, atomically (``atomic_file``)."""
    with atomic_file(path) as tmp:
        write_workbook(tables, tmp)


#: A cell starting with one of these is a formula to spreadsheet programs (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert_for_csv(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe (OWASP's
    advice for CSV injection); numbers are left alone."""
    out = df
    for c in df.columns:
        if df[c].dtype.kind == "O":
            col = df[c]
            risky = col.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_START))
            if risky.any():
                if out is df:
                    out = df.copy()
                out[c] = col.where(~risky, "'" + col.astype(str))
    return out


#: Files a plan run writes (``<table>.csv`` for each of ``PLAN_TABLES``) and files a run that
#: found no plan writes. A run removes the files of its kind that it did not write this time (a
#: table the new plan does not have) and a plan run removes the no-plan files, so a folder never
#: mixes two runs. Files aop does not own are never touched.
PLAN_FILES = frozenset({"plan.xlsx", "report.html", *(f"{t}.csv" for t in PLAN_TABLES), *(f"{t}.parquet" for t in PLAN_TABLES)})

#: Parquet copies of the tables are written when pyarrow is installed (pip install "aop[parquet]").
PARQUET = importlib.util.find_spec("pyarrow") is not None


def _parquet(df: pd.DataFrame, path: Path) -> None:
    """A table as Parquet; mixed-type columns (the summary's values) are stored as text."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object and out[c].map(type).nunique() > 1:
            out[c] = out[c].map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    out.to_parquet(path, index=False)
NO_PLAN_FILES = frozenset({"no_plan.txt", "infeasible_relaxation.csv", "infeasible_conflict.csv"})
STAGING_PREFIX = ".aop-"


def _staging(out: Path) -> Path:
    """A fresh temporary folder inside ``out`` (same file system, so moves are atomic), named
    after this process. Folders left by a run that was killed are removed first: those whose
    process is gone, or (where that cannot be told) that are more than an hour old."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(STAGING_PREFIX + "*"):
        try:
            if old.is_dir() and _abandoned(old):
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
    return Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=out))


def _abandoned(folder: Path) -> bool:
    pid = folder.name[len(STAGING_PREFIX) :].split("-", 1)[0]
    if os.name == "posix" and pid.isdigit():
        if int(pid) == os.getpid():
            return False
        try:
            os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return True
        except OSError:
            return False  # exists, owned by someone else
        return False
    return time.time() - folder.stat().st_mtime > 3600


def _fsync(path: Path) -> None:
    """Flush a file or folder to disk (best effort where the platform cannot)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def _signals_deferred():
    """Ctrl+C and SIGTERM arriving inside the block take effect when it ends, so the files in
    the output folder are never left half old, half new. Only the main thread can set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    sigs = [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])
    old = {s: signal.getsignal(s) for s in sigs}
    for s in sigs:
        signal.signal(s, lambda num, _frame: caught.append(num))
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
        for num in dict.fromkeys(caught):
            signal.raise_signal(num)


def _commit(tmp: Path, out: Path, names: list[str], owned: frozenset[str]) -> list[Path]:
    """Move the staged files ``names`` into ``out`` and remove the files in ``owned`` that this run
    did not write. Files are flushed to disk first and the folder after, so a power cut leaves
    either the old or the new file under each name."""
    for n in names:
        _fsync(tmp / n)
    with _signals_deferred():
        for n in names:
            os.replace(tmp / n, out / n)
        for n in owned - set(names):
            (out / n).unlink(missing_ok=True)
    _fsync(out)
    return [out / n for n in names]


def write_plan(
    plan: Plan, out_dir: str | Path, max_sheet_rows: int = WORKBOOK_ROWS, timings: dict[str, float] | None = None, base: dict[str, pd.DataFrame] | None = None, base_label: str = ""
) -> list[Path]:
    """Write plan.xlsx, report.html and <table>.csv into ``out_dir`` atomically; return the
    paths written. Files of an earlier run that this plan does not have (and any no-plan
    report) are removed. ``timings`` (if given) receives ``write``, the seconds spent writing;
    provenance.csv is written last and records it (the workbook's provenance sheet, written
    before, cannot). ``base``: another plan's tables; the page's KPIs show their change
    against it (``base_label`` says which plan that is)."""
    from .webreport import plan_page, render

    t0 = time.perf_counter()
    out = Path(out_dir)
    tmp = _staging(out)
    try:
        write_plan_workbook(plan, tmp / "plan.xlsx", max_sheet_rows)
        (tmp / "report.html").write_text(render(plan_page(plan.tables, base, base_label)), encoding="utf-8")
        names = ["plan.xlsx", "report.html"]
        for name, df in plan.tables.items():
            if name != "provenance":
                inert_for_csv(df).to_csv(tmp / f"{name}.csv", index=False)
                names.append(f"{name}.csv")
        if PARQUET:  # for analysts: typed columns, read back exactly
            for name, df in plan.tables.items():
                _parquet(df, tmp / f"{name}.parquet")
                names.append(f"{name}.parquet")
        if "provenance" in plan.tables:
            record = plan.tables["provenance"]
            write = pd.DataFrame([{"item": "stage write seconds", "value": f"{time.perf_counter() - t0:.3f}"}])
            inert_for_csv(pd.concat([record, write], ignore_index=True)).to_csv(tmp / "provenance.csv", index=False)
            names.append("provenance.csv")
        paths = _commit(tmp, out, names, PLAN_FILES | NO_PLAN_FILES)
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
    from .webreport import render, study_page
    from .workbook import write_study_workbook

    out = Path(out_dir)
    tmp = _staging(out)
    try:
        write_study_workbook(study, tables, tmp / f"{study}.xlsx", currency, title)
        (tmp / f"{study}.html").write_text(render(study_page(study, tables, currency, title)), encoding="utf-8")
        names = [f"{study}.xlsx", f"{study}.html"]
        for name, df in tables.items():
            inert_for_csv(df).to_csv(tmp / f"{study}_{name}.csv", index=False)
            names.append(f"{study}_{name}.csv")
        owned = frozenset(p.name for p in out.glob(f"{study}_*.csv")) | {f"{study}.xlsx", f"{study}.html"}
        return _commit(tmp, out, names, owned)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_no_plan(status: str, detail: str, report: object, out_dir: str | Path, provenance: pd.DataFrame | None = None) -> list[Path]:
    """Why there is no plan: ``no_plan.txt`` (the printed text, then the provenance record) and,
    for an infeasible plan, ``infeasible_relaxation.csv`` and ``infeasible_conflict.csv``. Written
    atomically beside any previous plan, which stays as it was."""
    out = Path(out_dir)
    tmp = _staging(out)
    try:
        lines = [f"No plan: {status}. {detail}"]
        files: dict[str, pd.DataFrame] = {}
        if hasattr(report, "lines"):
            lines += report.lines()
            files = {"infeasible_relaxation.csv": report.relaxation, "infeasible_conflict.csv": report.conflict}
        elif report:
            lines.append(str(report))
        if provenance is not None and len(provenance):
            lines += ["", "Provenance:"] + [f"  {i}: {v}" for i, v in zip(provenance["item"], provenance["value"])]
        (tmp / "no_plan.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        for name, df in files.items():
            inert_for_csv(df).to_csv(tmp / name, index=False)
        return _commit(tmp, out, ["no_plan.txt", *files], NO_PLAN_FILES)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
