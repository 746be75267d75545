"""Write a plan: ``plan.xlsx`` (for people) and one CSV per table (for machines).

Files are first written into a temporary folder beside the output folder and then moved into
place one by one with ``os.replace``, so a failed run never leaves a half-written or
clobbered plan. Strings from the case are written to the workbook as text, never formulas.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .results import Plan

SHEET_ORDER = ["summary", "shadow_prices", "production", "capacity", "shipments", "inventory", "demand", "service"]
MONEY_WORDS = ("cost", "revenue", "price", "value", "spend")
FRACTION_WORDS = ("fill_rate", "utilization", "target")


def _number_format(column: str) -> str | None:
    if any(w in column for w in FRACTION_WORDS):
        return "0.0%"
    if column == "shadow_price" or any(w in column for w in MONEY_WORDS):
        return "#,##0.00"
    return "#,##0.##"


def _write_sheet(wb, name: str, df: pd.DataFrame) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(name)
    ws.freeze_panes = "A2"
    cols = list(df.columns)
    for i, c in enumerate(cols, start=1):
        sample = df[c].head(200).map(lambda v: len(str(v)))
        width = max([len(c)] + sample.tolist()) + 2
        ws.column_dimensions[get_column_letter(i)].width = min(max(width, 8), 80 if c == "meaning" else 40)
    bold = Font(bold=True)
    header = []
    for c in cols:
        cell = WriteOnlyCell(ws, value=c)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    kinds = [df[c].dtype.kind for c in cols]
    formats = [_number_format(c) if k in "fi" else None for c, k in zip(cols, kinds)]
    for row in df.itertuples(index=False, name=None):
        out = []
        for v, k, fmt in zip(row, kinds, formats):
            if v is None or (isinstance(v, float) and np.isnan(v)):
                out.append(None)
            elif isinstance(v, str):
                cell = WriteOnlyCell(ws, value=v)
                cell.data_type = "s"  # never a formula, whatever the text starts with
                out.append(cell)
            elif isinstance(v, (float, np.floating)) and np.isinf(v):
                out.append("unlimited" if v > 0 else "-unlimited")
            elif fmt and isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
                cell = WriteOnlyCell(ws, value=float(v))
                cell.number_format = fmt
                out.append(cell)
            else:
                out.append(v.item() if hasattr(v, "item") else v)
        ws.append(out)


def write_workbook(tables: dict[str, pd.DataFrame], path: Path) -> None:
    """Write tables as sheets in a streaming (write-only) workbook."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    for name in [n for n in SHEET_ORDER if n in tables] + [n for n in tables if n not in SHEET_ORDER]:
        _write_sheet(wb, name, tables[name])
    wb.save(path)


def write_plan(plan: Plan, out_dir: str | Path) -> list[Path]:
    """Write plan.xlsx and <table>.csv into ``out_dir`` atomically; return the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".aop-", dir=out))
    try:
        names = []
        write_workbook(plan.tables, tmp / "plan.xlsx")
        names.append("plan.xlsx")
        for name, df in plan.tables.items():
            df.to_csv(tmp / f"{name}.csv", index=False)
            names.append(f"{name}.csv")
        for n in names:
            os.replace(tmp / n, out / n)
        return [out / n for n in names]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
