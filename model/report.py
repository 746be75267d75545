"""Write a plan: ``plan.xlsx`` (for people) and one CSV per table (for machines).

Files are first written into a temporary folder beside the output folder and then moved into
place one by one with ``os.replace``, so a failed run never leaves a half-written or
clobbered plan. Strings from the case are written to the workbook as text, never formulas.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .results import Plan

#: Tables longer than this go to CSV only (the workbook's contents sheet says so), except the
#: shadow prices, whose largest rows stay in the workbook. Excel's own limit is 1,048,576 rows.
MAX_SHEET_ROWS = 100_000

#: Number format of a summary value by its unit (three-letter units are currencies).
UNIT_FORMATS = {"fraction": "0.0%", "units": "#,##0", "count": "#,##0", "s": "0.00"}

SHEET_ORDER = ["contents", "summary", "shadow_prices", "production", "capacity", "shipments", "inventory", "demand", "service"]
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


def write_workbook(tables: dict[str, pd.DataFrame], path: Path) -> None:
    """Write tables as sheets with XlsxWriter, streaming row by row; no formula interpretation."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False, "nan_inf_to_errors": False},
    )
    formats = {"header": wb.add_format({"bold": True})}
    for f in ("0.0%", "#,##0.00", "#,##0.0#", "#,##0", "0.00"):
        formats[f] = wb.add_format({"num_format": f})
    for name in [n for n in SHEET_ORDER if n in tables] + [n for n in tables if n not in SHEET_ORDER]:
        _write_sheet(wb, formats, name, tables[name])
    wb.close()


def workbook_tables(tables: dict[str, pd.DataFrame], max_rows: int = MAX_SHEET_ROWS) -> dict[str, pd.DataFrame]:
    """What goes into plan.xlsx: a contents sheet first, then every table that fits; the
    shadow prices keep their largest (by absolute value) rows when cut."""
    sheets: dict[str, pd.DataFrame] = {}
    contents = []
    for name, df in tables.items():
        n = len(df)
        if n <= max_rows:
            sheets[name] = df
            where = f"sheet {name} and {name}.csv"
        elif name == "shadow_prices":
            sheets[name] = df.loc[df["shadow_price"].abs().sort_values(ascending=False).index[:max_rows]]
            where = f"sheet {name}: the {max_rows:,} largest by size; all {n:,} in {name}.csv"
        else:
            where = f"{name}.csv only ({n:,} rows is too many for a useful sheet)"
        contents.append({"table": name, "rows": n, "where": where})
    return {"contents": pd.DataFrame(contents), **sheets}


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


def _staging(out: Path) -> Path:
    """A fresh temporary folder inside ``out``; folders left by a run that was killed more than
    an hour ago are removed first."""
    import time

    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(".aop-*"):
        try:
            if old.is_dir() and time.time() - old.stat().st_mtime > 3600:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
    return Path(tempfile.mkdtemp(prefix=".aop-", dir=out))


def write_plan(plan: Plan, out_dir: str | Path, max_sheet_rows: int = MAX_SHEET_ROWS) -> list[Path]:
    """Write plan.xlsx and <table>.csv into ``out_dir`` atomically; return the paths written."""
    out = Path(out_dir)
    tmp = _staging(out)
    try:
        names = []
        write_workbook(workbook_tables(plan.tables, max_sheet_rows), tmp / "plan.xlsx")
        names.append("plan.xlsx")
        for name, df in plan.tables.items():
            inert_for_csv(df).to_csv(tmp / f"{name}.csv", index=False)
            names.append(f"{name}.csv")
        for n in names:
            os.replace(tmp / n, out / n)
        return [out / n for n in names]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_no_plan(status: str, detail: str, report: object, out_dir: str | Path) -> list[Path]:
    """Why there is no plan: ``no_plan.txt`` (printed text) and, for an infeasible plan,
    ``infeasible_relaxation.csv`` and ``infeasible_conflict.csv``. Written atomically beside any
    previous plan, which stays as it was."""
    out = Path(out_dir)
    tmp = _staging(out)
    try:
        lines = [f"No plan: {status}. {detail}"]
        files = {}
        if hasattr(report, "lines"):
            lines += report.lines()
            files = {"infeasible_relaxation.csv": report.relaxation, "infeasible_conflict.csv": report.conflict}
        elif report:
            lines.append(str(report))
        (tmp / "no_plan.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        for name, df in files.items():
            df.to_csv(tmp / name, index=False)
        names = ["no_plan.txt", *files]
        for n in names:
            os.replace(tmp / n, out / n)
        return [out / n for n in names]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
