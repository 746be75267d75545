"""The plan workbook: a report a planner can hand on.

An ``overview`` sheet first (the key figures in words and numbers, the limits that cost the
most, where every table is), then the summary, the shadow prices of the limits a reviewer can
act on, and the tables a planner reads month by month laid out as planning grids: keys down,
periods across, with row and column totals, without the rows that are zero in every month
(said below the grid). Headers are words with units; every number is formatted by the kind
of its column (``formats``: units, money and counts whole, prices with two decimals, rates as
percents, a rate's change in points), right-aligned under a right-aligned header; columns
are as wide as their content, long text wraps. Every table has an autofilter, and every sheet
prints by its width (``formats.page_layout``): portrait where it fits a portrait page at 78 %
or more, else landscape, one page wide where that scale allows, else on as few pages wide as
keep it (key columns repeated), so no text prints below 8 pt; its header is repeated on
each page, the case and the date in the footer. The long tables stay in CSV (and Parquet) for
analysts; the workbook costs time in proportion to what a person reads.

Strings from the case are written as text, never formulas or links.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from xlsxwriter.utility import xl_rowcol_to_cell

from . import formats, metrics
from .results import Plan

#: Largest grid or table a sheet holds; bigger ones keep their largest rows (the CSV has all).
MAX_SHEET_ROWS = 20_000

#: How sheets are described in the overview, and the CSV that holds every row.
SHEETS = {
    "summary": "every figure of the plan, with its unit",
    "limits": "shadow prices of the limits a reviewer can act on (capacity, overtime, suppliers, lanes, space, service, budgets)",
    "production": "units made and co-manufactured, by site and product, month by month",
    "capacity": "hours available, used and overtime, and utilization, by line, month by month",
    "shipments": "units leaving on each lane, by product, month by month (premium freight marked)",
    "inventory": "units on hand at each month's end, by site and product",
    "demand": "demand, on time, late and lost, by customer and product, month by month",
    "service": "fill rate against target, by segment, month by month",
    "purchases": "units bought, by supplier and product, month by month",
    "backorders": "what waits, and when it is delivered",
    "in_transit": "goods still on their way when the plan ends",
    "consumption": "components used by what is made",
    "provenance": "what the plan was made from and with",
    "ledger": "what each binding limit costs the year: its prices, the value of a step of it, re-solved",
    "pnl": "the plan's P&L by month",
    "working_capital": "inventory value by month (on hand, in transit) and days of inventory",
    "cash": "cash in and out by month, working capital, receivables and payables",
    "cost_to_serve": "allocated and marginal cost and margin by customer and product",
    "service_costs": "what each fill-rate promise costs: a point, and the whole target",
    "premium_freight": "premium freight by lane and month, and what forces it",
    "bottlenecks": "why each binding line binds: what loads it by product and month against its limit, the stock built ahead because of it and the months that stock is for",
}


#: Text columns that hold sentences: wrapped in a column this wide (characters), each row as
#: tall as its text needs, so a sheet is not made wide (and printed small) by one long cell.
WRAP_WIDTH = 48
#: Other text columns (names, keys) are at most this wide: a longer cell wraps.
TEXT_WIDTH = 30

class _Writer:
    """Sheets with the house style: formats by kind (``formats``), widths from content, an
    autofilter, the print setup a sheet's width calls for, a footer."""

    def __init__(self, wb, footer: str, currency: str = ""):
        self.wb = wb
        self.footer = footer
        self.currency = currency  # in the money columns' headers ('' for plain tables)
        f = wb.add_format
        self.title = f({"bold": True, "font_size": 14})
        self.bold = f({"bold": True, "valign": "top", "text_wrap": True})
        self.said = f({"text_wrap": True, "valign": "top", "align": "left", "indent": 1})  # words beside a number: a space between
        head = {"bold": True, "text_wrap": True, "valign": "top", "bottom": 1, "bg_color": "#DDEBF7"}
        self.head = f(head)
        self.head_right = f(head | {"align": "right"})  # over numbers, which sit right
        self.wrap = f({"text_wrap": True, "valign": "top"})
        self.fmt = {k: f({"num_format": v.excel, "valign": "top"}) for k, v in formats.KINDS.items()}
        self.text = f({"valign": "top"})
        self.total = {k: f({"num_format": v.excel, "bold": True, "top": 1, "valign": "top"}) for k, v in formats.KINDS.items()}
        self.total_text = f({"bold": True, "top": 1, "valign": "top"})
        self.note = f({"italic": True, "font_color": "#595959"})
        self.warn = f({"bg_color": "#FCE4D6", "font_color": "#9C0006"})
        self.columns: dict[str, list[float]] = {}  # each sheet's column widths, for its print setup
        self.keys: dict[str, int] = {}
        self.charted: set[str] = set()

    def sheet(self, name: str):
        ws = self.wb.add_worksheet(name)
        ws.set_margins(left=formats.MARGIN_INCHES, right=formats.MARGIN_INCHES)
        self.columns[ws.name] = []
        return ws

    def set_widths(self, ws, widths: list[float], keys: int = 0) -> None:
        """Record (and set) a sheet's column widths from column A; ``keys`` columns name a row."""
        for i, w_ in enumerate(widths):
            ws.set_column(i, i, w_)
        have = self.columns[ws.name]
        self.columns[ws.name] = [max(a, b) for a, b in zip(widths, have)] + list(widths[len(have):]) + have[len(widths):]
        self.keys[ws.name] = keys

    def widen(self, ws, col: int, width: float) -> None:
        """Make column ``col`` at least ``width`` characters wide."""
        widths = self.columns[ws.name]
        widths += [8.43] * (col + 1 - len(widths))
        if widths[col] < width:
            widths[col] = width
            ws.set_column(col, col, width)

    def chart(self, ws, row: int, chart, x_scale: float, y_scale: float) -> None:
        """Insert a chart at ``row``, column A, no wider than a page holds at the least scale
        (on a sheet more than a page wide, than its first pages' columns surely hold), so it
        prints whole and never makes its sheet print smaller."""
        # A chart of 480 pixels at scale 1 printed 557 pt wide in LibreOffice (1.16 pt a pixel,
        # measured: where Calibri is missing it draws wider than Excel's 0.75 pt a pixel).
        pt_per_scale = 480 * 1.16
        table_wide = formats.page_layout(self.columns[ws.name], self.keys.get(ws.name, 0))[1] > 1
        room = 600.0 if table_wide else (formats.LANDSCAPE_INCHES - 2 * formats.MARGIN_INCHES) * 72 / formats.LEAST_SCALE
        x_scale = min(x_scale, room / pt_per_scale)
        ws.insert_chart(row, 0, chart, {"x_scale": x_scale, "y_scale": y_scale})
        self.charted.add(ws.name)
        chars = (pt_per_scale * x_scale - 5) / 7.1
        widths = self.columns[ws.name]
        if chars > sum(widths):
            self.columns[ws.name] = [*widths, chars - sum(widths)]

    def finish(self) -> None:
        """Each sheet's print setup from its width (``page_layout``): portrait or landscape,
        one page wide where that keeps text at 8 pt or more, its header rows repeated; the
        footer (set here, so a plan's footer can name its case after its sheets were begun)."""
        for ws in self.wb.worksheets():
            ws.set_footer(self.footer)
            landscape, wide = formats.page_layout(self.columns.get(ws.name, []), self.keys.get(ws.name, 0))
            if landscape:
                ws.set_landscape()
            else:
                ws.set_portrait()
            ws.fit_to_pages(wide, 0)
            # Key columns on each page, but not under a chart (a spreadsheet would draw the
            # chart's left part again on every page).
            if wide > 1 and self.keys.get(ws.name) and ws.name not in self.charted:
                ws.repeat_columns(0, self.keys[ws.name] - 1)

    def table(self, ws, df: pd.DataFrame, kinds: Mapping[str, str | list[str]], first_row: int = 0, widths: dict[str, int] | None = None, total_row: bool = False,
              wrap: str = "", labels: bool | dict[str, str] = True, keys: int = 0, freeze: int = 0) -> int:
        """Write ``df`` from ``first_row`` with its header; returns the row after it. ``kinds``
        maps columns to ``formats.KINDS`` (others are text), or to a kind per row (a table of
        KPIs, one per row, each in its unit); numbers and their headers are
        right-aligned. Widths come from the content (``formats.width``) unless given in
        ``widths``; a text column wider than ``TEXT_WIDTH`` (and ``wrap``, a sentence column)
        wraps at ``WRAP_WIDTH``, each row as tall as its text needs. A total row is formatted
        as such. ``labels``: headers in words (``LABELS``, overridden by a dict); False: the
        columns' own names. ``keys``: the columns that name a row (repeated on each page);
        ``freeze``: the columns kept in view as one scrolls across (a grid's keys)."""
        cols = list(df.columns)
        cur = self.currency
        extra = labels if isinstance(labels, dict) else {}
        head = (lambda c: extra.get(c) or (formats.label(c, cur) if isinstance(c, str) else str(c))) if labels is not False else str
        ws.write_row(first_row, 0, [head(c) for c in cols], self.head)
        n = len(df)
        per_row = {c: (k if isinstance(k, list) else [k] * n) for c, k in kinds.items() if k}
        numeric = [c for c in cols if any(k != "text" for k in per_row.get(c, []))]
        for i, c in enumerate(cols):
            if c in numeric:
                ws.write_string(first_row, i, head(c), self.head_right)
        values = [df[c].tolist() for c in cols]
        col_widths: list[float] = []
        wrapped = []
        for i, c in enumerate(cols):
            if c in (widths or {}):
                width = float((widths or {})[c])
            elif c not in numeric:
                width = formats.width("text", [*values[i], *([""] if not n else [])], head(c), most=10_000)
            else:
                width = formats.width_of_cells(values[i], per_row[c], head(c))
            if c == wrap or (c not in numeric and width > TEXT_WIDTH):
                width = min(width, WRAP_WIDTH if c == wrap else TEXT_WIDTH)
                wrapped.append(i)
            col_widths.append(width)
        header_lines = max(formats.lines(head(c), w_, bold=True) for c, w_ in zip(cols, col_widths)) if cols else 1
        ws.set_row(first_row, 15 * min(max(header_lines, 1), 10))
        last = n - 1 if total_row else n

        unwrapped = {i for i, c in enumerate(cols) if i not in wrapped and c not in numeric}
        line_counts: dict[tuple[str, int], int] = {}  # a sentence's lines, counted once per column

        def lines_of(text: str, i: int) -> int:
            key = (text, i)
            if key not in line_counts:
                line_counts[key] = formats.lines(text, col_widths[i])
            return line_counts[key]

        def fits(text: str, i: int) -> bool:  # on one line of its column (a key column never wraps)
            return i in unwrapped or lines_of(text, i) == 1

        for r in range(n):
            is_total = total_row and r == last
            for i, c in enumerate(cols):
                v = values[i][r]
                kind = per_row[c][r] if c in per_row else None
                if kind and kind != "text" and isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)):
                    fv = float(v)
                    if math.isfinite(fv):
                        ws.write_number(first_row + 1 + r, i, fv * formats.KINDS[kind].scale, (self.total if is_total else self.fmt)[kind])
                    elif not math.isnan(fv):
                        ws.write_string(first_row + 1 + r, i, "unlimited" if fv > 0 else "-unlimited", self.text)
                elif v is None or (isinstance(v, float) and math.isnan(v)):
                    continue
                elif isinstance(v, (bool, np.bool_)):
                    if labels is not False:
                        ws.write_string(first_row + 1 + r, i, "yes" if v else "", self.text)
                    else:  # a case's true/false column, read back as such
                        ws.write_boolean(first_row + 1 + r, i, bool(v))
                else:
                    # A long text wraps in its cell, never running on past the printed columns.
                    ws.write_string(first_row + 1 + r, i, str(v), self.total_text if is_total else (self.text if fits(str(v), i) else self.wrap))
        for i, width in enumerate(col_widths):
            ws.set_column(i, i, width, self.wrap if i in wrapped else None)
        for r in range(n):
            texts = [(i, str(values[i][r])) for i in range(len(cols)) if isinstance(values[i][r], str)]
            lines = max([1] + [lines_of(t, i) for i, t in texts if not fits(t, i)])
            if lines > 1:
                ws.set_row(first_row + 1 + r, 15 * lines)
        self.set_widths(ws, col_widths, keys)
        if n:
            ws.autofilter(first_row, 0, first_row + (n - 1 if total_row else n), len(cols) - 1)
        ws.repeat_rows(first_row)
        ws.freeze_panes(first_row + 1, freeze)
        return first_row + n + 1


def grid(df: pd.DataFrame, keys: list[str], value: str, periods: list[str], period: str = "period", total: str = "total") -> pd.DataFrame:
    """A planning grid: one row per key, one column per period (plan order), a row total
    (``total``: 'total' sums, 'average' averages, '' none) and a total row."""
    if df.empty:
        return pd.DataFrame(columns=[*keys, *periods])
    g = df.pivot_table(index=keys, columns=period, values=value, aggfunc="sum", fill_value=0.0, observed=True)
    g = g.reindex(columns=periods, fill_value=0.0).reset_index()
    g.columns = [*keys, *periods]
    if total == "total":
        g["total"] = g[periods].sum(axis=1)
    elif total == "average":
        g["average"] = g[periods].mean(axis=1)
    foot = {k: "" for k in keys}
    foot[keys[0]] = "Total"
    for c in g.columns[len(keys):]:
        foot[c] = g[c].sum()
    return pd.concat([g, pd.DataFrame([foot])], ignore_index=True)


def _without_zero_rows(g: pd.DataFrame, keys: list[str], total_row: bool = False) -> tuple[pd.DataFrame, int]:
    """A grid without the rows that are zero (as shown: below half a unit) in every column, and
    how many were dropped; the total row (last, when ``total_row``) stays."""
    body = g.iloc[:-1] if total_row else g
    numbers = body.drop(columns=keys).apply(pd.to_numeric, errors="coerce")
    zero = (numbers.abs().fillna(0.0) < 0.5).all(axis=1)
    kept = body[~zero]
    return (pd.concat([kept, g.iloc[-1:]], ignore_index=True) if total_row else kept.reset_index(drop=True)), int(zero.sum())


def _say_zero_rows(w: _Writer, ws, row: int, zero: int, table: str) -> None:
    """Say on the sheet, below its table, how many all-zero rows it leaves out."""
    if zero:
        ws.write_string(row, 0, f"{zero:,} row{'s' if zero > 1 else ''} with nothing in any month left out; {table}.csv has every row.", w.note)


def _biggest(g: pd.DataFrame, keys: list[str], limit: int) -> tuple[pd.DataFrame, str]:
    """Keep a grid's largest rows (by their total) when it is longer than a sheet should be."""
    body, foot = g.iloc[:-1], g.iloc[-1:]
    if len(body) <= limit:
        return g, ""
    size = body.drop(columns=keys).abs().sum(axis=1)
    kept = body.loc[size.sort_values(ascending=False).index[:limit]].sort_values(keys)
    return pd.concat([kept, foot], ignore_index=True), f"the {limit:,} largest of {len(body):,} rows (all of them in the CSV)"


def write_plan_workbook(plan: Plan, path: Path, max_rows: int = MAX_SHEET_ROWS) -> list[str]:
    """Write plan.xlsx for people (see the module docstring). Returns the sheet names."""
    return end_plan_workbook(begin_plan_workbook(plan, path, max_rows), plan)


@dataclass
class PlanBook:
    """plan.xlsx begun from a plan's own tables (``begin_plan_workbook``), to be ended with its
    summary, finance view and record (``end_plan_workbook``). xlsxwriter keeps every sheet in
    memory until the book is closed, so the summary sheet, made second, is filled at the end."""

    wb: Any
    w: _Writer
    overview: Any
    summary: Any
    max_rows: int
    written: list[str] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)

    def grid_sheet(self, name: str, g: pd.DataFrame, keys: list[str], kind: str, note: str = "", cond=None) -> None:
        g, zero = _without_zero_rows(g, keys, total_row=True)
        g, cut = _biggest(g, keys, self.max_rows)
        ws = self.w.sheet(name)
        n = self.w.table(ws, g, {c: kind for c in g.columns if c not in keys}, total_row=True, keys=len(keys), freeze=len(keys))
        _say_zero_rows(self.w, ws, n + 1, zero, name)
        if cond:
            cond(ws, g)
        self.written.append(name)
        self.notes[name] = "; ".join(x for x in (note, cut) if x)


def begin_plan_workbook(plan: Plan, path: Path, max_rows: int = MAX_SHEET_ROWS) -> PlanBook:
    """The sheets of plan.xlsx that read only the plan's own tables (``results.plan_tables``:
    limits, production, capacity, shipments, inventory, demand, service), from ``plan`` as it
    stands before its finance view; nothing is written to ``path`` until ``end_plan_workbook``.
    ``aop solve`` begins the book while the finance view runs (``report.PlanWriter``)."""
    import xlsxwriter

    t = plan.tables
    periods = list(plan.periods)
    wb = xlsxwriter.Workbook(
        str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False, "nan_inf_to_errors": False}
    )
    w = _Writer(wb, "", plan.currency)
    book = PlanBook(wb, w, w.sheet("overview"), w.sheet("summary"), max_rows, written=["overview", "summary"])
    written, notes, grid_sheet = book.written, book.notes, book.grid_sheet
    sp = t["shadow_prices"]
    lever = sp[sp["constraint"].isin([n for n, f in plan.families.items() if f.lever])]
    lever = lever.reindex(lever["shadow_price"].abs().sort_values(ascending=False).index)
    keep = [c for c in lever.columns if c != "slack" and (not lever[c].isna().all() or c in ("constraint", "limit", "shadow_price", "meaning"))]
    lever = lever[keep].head(max_rows)
    ws = w.sheet("limits")
    w.table(ws, lever, {c: formats.kind_of(c) for c in lever.columns if lever[c].dtype.kind in "fiu"}, wrap="meaning", keys=1)
    written.append("limits")
    notes["limits"] = f"{len(lever):,} limits a reviewer can act on; every constraint's price in shadow_prices.csv"

    prod = t["production"]
    if len(prod):
        p = pd.concat([prod.assign(measure="made", q=prod["make"]), prod.assign(measure="co-manufactured", q=prod["outsource"])])
        p = p[p["q"] > 0]
        grid_sheet("production", grid(p, ["site", "product", "measure"], "q", periods), ["site", "product", "measure"], "units")

    cap = t["capacity"]
    if len(cap):
        measures = {"regular hours": cap["hours"], "overtime allowed": cap["overtime_hours"], "hours used": cap["used"], "overtime used": cap["overtime_used"]}
        c = pd.concat([cap.assign(measure=m, q=v) for m, v in measures.items()])
        g = grid(c, ["site", "resource", "measure"], "q", periods)
        util = cap.assign(measure="utilization (above 100 % = overtime)", q=cap["utilization"])
        u = grid(util, ["site", "resource", "measure"], "q", periods, total="").iloc[:-1]
        used, hours = c[c["measure"] == "hours used"].groupby(["site", "resource"])["q"].sum(), cap.groupby(["site", "resource"])["hours"].sum()
        u["total"] = [used.get((a, b), 0.0) / hours.get((a, b), np.nan) if hours.get((a, b), 0) else np.nan for a, b in zip(u["site"], u["resource"])]
        # Each line's measures in the order they are read: what it has, what it used, overtime.
        order = {m: i for i, m in enumerate(["regular hours", "hours used", "overtime allowed", "overtime used", util["measure"].iloc[0]])}
        body = pd.concat([g.iloc[:-1], u], ignore_index=True)
        body = body.assign(_m=body["measure"].map(order)).sort_values(["site", "resource", "_m"], kind="stable").drop(columns="_m").reset_index(drop=True)
        body, zero = _without_zero_rows(body, ["site", "resource", "measure"])
        ws = w.sheet("capacity")
        kinds = {p_: "hours" for p_ in [*periods, "total"]}
        n = w.table(ws, body, kinds, keys=3, freeze=3)
        _say_zero_rows(w, ws, n + 1, zero, "capacity")
        # Utilization rows as percentages, shaded where above 95 % of regular hours.
        for r, m in enumerate(body["measure"].tolist(), start=1):
            if m.startswith("utilization"):
                row = body.iloc[r - 1]
                for i, p_ in enumerate([*periods, "total"], start=3):
                    v = row[p_]
                    if isinstance(v, float) and math.isfinite(v):
                        ws.write_number(r, i, v, w.fmt["rate"])
                ws.conditional_format(r, 3, r, 3 + len(periods), {"type": "cell", "criteria": ">", "value": 0.95, "format": w.warn})
        written.append("capacity")
        notes["capacity"] = "utilization is hours used over regular hours: above 100 % means overtime was worked; shaded above 95 %"

    sh = t["shipments"]
    if len(sh):
        s_ = sh.assign(premium=np.where(sh["premium"].astype(bool), "premium", ""))
        g = grid(s_, ["origin", "destination", "mode", "premium", "product"], "quantity", periods, period="departure_period")
        grid_sheet("shipments", g, ["origin", "destination", "mode", "premium", "product"], "units", "units by the month they leave; departure and arrival shares in shipments.csv")

    inv = t["inventory"]
    if len(inv):
        grid_sheet("inventory", grid(inv, ["site", "product"], "on_hand", periods, total="average"), ["site", "product"], "units", "units on hand at each month's end; values and safety stock in inventory.csv")

    dem = t["demand"]
    if len(dem):
        measures = {"demand": dem["quantity"], "on time": dem["ontime"], "late": dem["late"], "lost": dem["short"]}
        d = pd.concat([dem.assign(measure=m, q=v) for m, v in measures.items()])
        d = d[d.groupby(["customer", "product", "measure"])["q"].transform("sum") > 0]
        order = {m: i for i, m in enumerate(measures)}
        g = grid(d, ["segment", "customer", "product", "measure"], "q", periods)
        body = g.iloc[:-1].assign(_m=lambda x: x["measure"].map(order)).sort_values(["segment", "customer", "product", "_m"]).drop(columns="_m")
        grid_sheet("demand", pd.concat([body, g.iloc[-1:]], ignore_index=True), ["segment", "customer", "product", "measure"], "units",
                   cond=lambda ws, g: _shade_rows(ws, g, "measure", "lost", 4, w))

    svc = t["service"]
    if len(svc):
        rows = []
        for seg, grp in svc.groupby("segment", sort=True):
            by = grp.set_index("period")
            q = by["quantity"].reindex(periods).fillna(0.0)
            on = by["ontime"].reindex(periods).fillna(0.0)
            rows.append({"segment": seg, "measure": "demand (units)", **q.to_dict(), "total": q.sum()})
            rows.append({"segment": seg, "measure": "on time (units)", **on.to_dict(), "total": on.sum()})
            rows.append({"segment": seg, "measure": "fill rate", **(on / q.where(q > 0)).to_dict(), "total": on.sum() / q.sum() if q.sum() else np.nan})
            rows.append({"segment": seg, "measure": "target", **by["target"].reindex(periods).to_dict(), "total": np.nan})
        body = pd.DataFrame(rows)
        ws = w.sheet("service")
        w.table(ws, body, {p_: "units" for p_ in [*periods, "total"]}, keys=2, freeze=2)
        for r, m in enumerate(body["measure"].tolist(), start=1):
            if m in ("fill rate", "target"):
                row = body.iloc[r - 1]
                for i, p_ in enumerate([*periods, "total"], start=2):
                    v = row[p_]
                    if isinstance(v, float) and math.isfinite(v):
                        ws.write_number(r, i, v, w.fmt["rate"])
            if m == "fill rate":  # below its target (the next row): shaded
                for i in range(2, 2 + len(periods)):
                    here, target = xl_rowcol_to_cell(r, i), xl_rowcol_to_cell(r + 1, i)
                    ws.conditional_format(r, i, r, i, {"type": "formula", "criteria": f"=AND(ISNUMBER({target}),{here}<{target}-0.00001)", "format": w.warn})
        written.append("service")
        notes["service"] = "fill rate is on time over all demand; shaded where below its target"

    return book


def end_plan_workbook(book: PlanBook, plan: Plan) -> list[str]:
    """End the book ``begin_plan_workbook`` began: the summary, the finance view's sheets, the
    bottlenecks, the other tables, the overview and the record; write it and return the
    sheet names. ``plan`` is the whole plan (its own tables the ones the book began with)."""
    t = plan.tables
    cur = plan.currency
    periods = list(plan.periods)
    w, written, notes, max_rows, grid_sheet = book.w, book.written, book.notes, book.max_rows, book.grid_sheet
    wb, overview = book.wb, book.overview
    prov = t["provenance"].set_index("item")["value"] if "provenance" in t else pd.Series(dtype=object)
    case = Path(str(prov.get("case", "case"))).name
    w.footer = f"&L{_footer_text(case)}&CPage &P of &N&R{dt.date.today().isoformat()}"
    wb.set_properties(_properties(prov))
    s = t["summary"].copy()
    unit = s["unit"].fillna("")
    s["metric"] = s["metric"].map(metrics.label)
    kinds_per_row = unit.map(formats.of_unit)
    _summary(w, book.summary, s.assign(unit=unit.replace({"fraction": "", "s": "seconds"})), kinds_per_row)
    if "ledger" in t:
        _finance_sheets(w, t, periods, cur, written, notes, max_rows)
    if "bottlenecks" in t and len(t["bottlenecks"]):
        _bottlenecks_sheet(w, t["bottlenecks"], periods, written, notes, max_rows)
    if "purchases" in t and len(t["purchases"]):
        grid_sheet("purchases", grid(t["purchases"], ["supplier", "product"], "quantity", periods), ["supplier", "product"], "units")
    for name, kinds in (
        ("backorders", {"new_backorders": "units", "late": "units", "backlog": "units", "revenue_deferred": "money"}),
        ("in_transit", {"quantity": "units", "unit_value": "price", "value": "money"}),
        ("consumption", {"made": "units", "units_per_unit": "number", "component_units": "units"}),
        ("provenance", {}),
    ):
        if name in t and len(t[name]):
            df = t[name].head(max_rows)
            ws = w.sheet(name)
            # Provenance's values are names, hashes and versions: no currency in its header.
            w.table(ws, df, kinds, labels={"value": "Value"} if name == "provenance" else True)
            written.append(name)
            if len(t[name]) > max_rows:
                notes[name] = f"the first {max_rows:,} of {len(t[name]):,} rows"
    _overview(w, overview, plan, case, prov, written, notes)
    w.finish()
    wb.close()
    return written


def _finance_sheets(w: _Writer, t: dict[str, pd.DataFrame], periods: list[str], cur: str, written: list[str], notes: dict[str, str], max_rows: int) -> None:
    """The finance view: the constraint cost ledger (with a chart of the top ten), the P&L (with
    a waterfall from revenue to margin), inventory value and cash by month (with a chart),
    cost-to-serve, service and premium freight costed."""
    led = t["ledger"]
    ws = w.sheet("ledger")
    cols = [c for c in ("object", "periods", "unit", "price_low", "price_high", "one_sided", "step", "predicted", "value_low", "value_high", "exact", "value_of_step", "revenue_recovered", "sentence") if c in led]
    w.table(ws, led[cols].head(max_rows), {"price_low": "price", "price_high": "price", "predicted": "money", "value_low": "money", "value_high": "money", "value_of_step": "money", "revenue_recovered": "money"}, wrap="sentence", keys=1)
    top = led.head(10)
    if len(top):
        # The top ten: what a step of each is worth (re-solved; the prices' prediction where not).
        worth = top["value_of_step"].where(top["value_of_step"].notna(), top["predicted"]).abs()
        at = len(led) + 3
        ws.write_row(at, 0, ["Top limits", f"What a step is worth ({cur})"], w.head)
        first = w.columns[ws.name][0]
        for i, (o, v) in enumerate(zip(top["object"], worth), start=1):
            ws.write_string(at + i, 0, str(o), w.wrap)  # wrapped in the ledger's object column, never cut
            ws.write_number(at + i, 1, float(v), w.fmt["money"])
            if formats.lines(str(o), first) > 1:
                ws.set_row(at + i, 15 * formats.lines(str(o), first))
        chart = w.wb.add_chart({"type": "bar"})
        chart.add_series({"name": "value of a step", "categories": ["ledger", at + 1, 0, at + len(top), 0], "values": ["ledger", at + 1, 1, at + len(top), 1], "fill": {"color": "#2F5597"}})
        chart.set_title(_font({"name": "The ten limits that cost the most"}))
        chart.set_legend(_font({"none": True}))
        chart.set_y_axis(_font({"reverse": True, "label_position": "low"}))  # names at the left, clear of negative bars
        chart.set_x_axis(_font({"name": cur, "num_format": "#,##0"}))
        w.chart(ws, at + len(top) + 2, chart, 1.6, 1.2)
    written.append("ledger")
    notes["ledger"] = "each limit's value over the year, re-solved; the sentences say it in words"

    pl = t["pnl"]
    ws = w.sheet("pnl")
    kinds = {p: "money" for p in [*periods, "year"]}
    w.table(ws, pl.drop(columns="kind"), kinds, keys=1)
    for r, kind in enumerate(pl["kind"].tolist(), start=1):
        if kind == "percent":
            for i, p in enumerate([*periods, "year"], start=1):
                ws.write_number(r, i, float(pl.iloc[r - 1][p]), w.fmt["rate"])
        elif kind == "margin":
            ws.set_row(r, None, w.bold)
    _waterfall(w, ws, pl, len(pl) + 3, cur)
    written.append("pnl")
    notes["pnl"] = "revenue, cost of goods, overtime and freight by mode, margin; holding (not cash) and penalties apart; a waterfall from revenue to margin"

    iv = t["inventory_value"]
    ws = w.sheet("working_capital")
    w.table(ws, iv, {c: formats.kind_of(c) for c in iv.columns if c != "period"})
    chart = w.wb.add_chart({"type": "column", "subtype": "stacked"})
    n = len(iv)
    for col, name, color in ((1, "on hand", "#2F5597"), (2, "in transit", "#9DC3E6")):
        chart.add_series({"name": name, "categories": ["working_capital", 1, 0, n, 0], "values": ["working_capital", 1, col, n, col], "fill": {"color": color}})
    chart.set_title(_font({"name": "Inventory value at each month's end"}))
    chart.set_x_axis(_font({}))
    chart.set_y_axis(_font({"name": cur, "num_format": "#,##0"}))
    w.chart(ws, n + 2, chart, 1.6, 1.2)
    written.append("working_capital")
    notes["working_capital"] = "inventory value on hand and in transit by month, days of inventory; by site and family in working_capital.csv"

    for name, kinds in (
        ("cash", {c: "money" for c in ("revenue", "collected", "spent", "paid", "net_cash", "inventory_value", "receivables", "payables", "working_capital_change")}),
        ("cost_to_serve", {"units": "units", "revenue": "money", "allocated_cost": "money", "cost_per_unit": "price", "marginal_cost_per_unit": "price", "margin": "money", "margin_pct": "rate"}),
        ("service_costs", {"target": "rate", "point_cost_predicted": "money", "point_cost": "money", "point_cost_low": "money", "point_cost_high": "money", "target_cost": "money", "target_cost_low": "money", "target_cost_high": "money"}),
        ("premium_freight", {"units": "units", "spend": "money"}),
    ):
        df = t.get(name)
        if df is None or not len(df):
            continue
        ws = w.sheet(name)
        w.table(ws, df.head(max_rows), kinds, wrap="sentence" if "sentence" in df else "")
        written.append(name)


def _bottlenecks_sheet(w: _Writer, b: pd.DataFrame, periods: list[str], written: list[str], notes: dict[str, str], max_rows: int) -> None:
    """Why each binding line binds: a grid per bottleneck, months across: the limit and what is
    used of it, each product's load, and each product's stock built ahead because of it (units
    at the month's end; its sites in bottlenecks.csv); each bottleneck's sentence below."""
    ws = w.sheet("bottlenecks")
    b = b.assign(unit=b["unit"].astype(str))
    first = b.drop_duplicates(["object", "period"])
    rows = [first.assign(measure="limit (" + first["unit"] + ")", product="", q=first["limit"]),
            first.assign(measure="used (" + first["unit"] + ")", product="", q=first["used"]),
            b.assign(measure="load (" + b["unit"] + ")", q=b["load"]),
            b.assign(measure="built ahead (units)", q=b["build_ahead"])]
    long = pd.concat(rows, ignore_index=True).dropna(subset=["q"])
    long = long[(long["q"].abs() > 1e-9) | long["measure"].str.startswith("limit")].rename(columns={"object": "bottleneck"})
    g = grid(long, ["bottleneck", "measure", "product"], "q", periods, total="").iloc[:-1]
    order = {o: i for i, o in enumerate(dict.fromkeys(b["object"]))}
    kind = {m: i for i, m in enumerate(("limit", "used", "load", "built"))}
    g = g.assign(_o=g["bottleneck"].map(order), _m=g["measure"].map(lambda m: kind[m.split(" ")[0]])).sort_values(["_o", "_m", "product"]).drop(columns=["_o", "_m"])
    cut = len(g) > max_rows
    g = g.head(max_rows)
    row_kinds = ["hours" if "(hours)" in m else "units" for m in g["measure"].astype(str)]
    at = w.table(ws, g, {p: row_kinds for p in periods}, keys=3, freeze=3)
    ws.write_string(at + 1, 0, "Why the lines bind", w.bold)
    widths = w.columns[ws.name]
    span = max(1, len(widths) - 1)
    for r, text in enumerate(dict.fromkeys(b["sentence"].astype(str)), start=at + 2):
        # A sentence across the sheet's width, wrapped: never a long line that shrinks the page.
        ws.merge_range(r, 0, r, span, text, w.wrap)
        ws.set_row(r, 15 * formats.lines(text, sum(widths[: span + 1])))
    written.append("bottlenecks")
    notes["bottlenecks"] = "each binding line's limit, use and load by product, and the stock built ahead because of it, month by month; each line in words below" + (
        f"; the first {max_rows:,} rows" if cut else "")


#: Chart text: 11 pt like the cells, so a chart printed with its sheet's scale stays readable.
CHART_FONT = 11


def _font(options: dict) -> dict:
    """Chart options (an axis, the title, the legend) with their text at ``CHART_FONT``."""
    size = {"size": CHART_FONT}
    return options | {"name_font": size | {"bold": True}, "num_font": size, "font": size}


def _waterfall(w: _Writer, ws, pl: pd.DataFrame, at: int, cur: str) -> None:
    """A waterfall from revenue to the margin after holding, as a stacked column chart (an
    invisible base under each step), with the numbers it draws written beside."""
    by = pl.set_index("line")["year"]
    costs = pl[pl["kind"] == "cost"]
    steps = [("Revenue", float(by["revenue"]))]
    steps += [(str(name), float(v)) for name, v in zip(costs["line"], costs["year"]) if not str(name).startswith("holding") and abs(v) > 0.005]
    steps.append(("Contribution margin", float(by["contribution margin"])))
    hold = [float(v) for name, v in zip(costs["line"], costs["year"]) if str(name).startswith("holding")]
    if hold:
        steps.append(("Holding (not cash)", hold[0]))
        steps.append(("Margin after holding", float(by["margin after holding"])))
    ws.write_row(at, 0, ["Waterfall", "base", "step", "total"], w.head)
    running = 0.0
    for i, (name, v) in enumerate(steps, start=1):
        total = name in ("Revenue", "Contribution margin", "Margin after holding")
        if total:
            base, height, running = 0.0, v, v
        else:
            running += v
            base, height = running, -v
        ws.write_string(at + i, 0, name)
        ws.write_number(at + i, 1, base, w.fmt["money"])
        ws.write_number(at + i, 2, 0.0 if total else height, w.fmt["money"])
        ws.write_number(at + i, 3, height if total else 0.0, w.fmt["money"])
    n = len(steps)
    chart = w.wb.add_chart({"type": "column", "subtype": "stacked"})
    chart.add_series({"name": "base", "categories": ["pnl", at + 1, 0, at + n, 0], "values": ["pnl", at + 1, 1, at + n, 1], "fill": {"none": True}, "border": {"none": True}})
    chart.add_series({"name": "costs", "categories": ["pnl", at + 1, 0, at + n, 0], "values": ["pnl", at + 1, 2, at + n, 2], "fill": {"color": "#C55A11"}, "gap": 60})
    chart.add_series({"name": "revenue and margins", "categories": ["pnl", at + 1, 0, at + n, 0], "values": ["pnl", at + 1, 3, at + n, 3], "fill": {"color": "#2F5597"}})
    chart.set_title(_font({"name": "From revenue to margin (the year)"}))
    chart.set_x_axis(_font({}))
    chart.set_y_axis(_font({"name": cur, "num_format": "#,##0"}))
    chart.set_legend(_font({"delete_series": [0]}))
    w.chart(ws, at + n + 2, chart, 1.8, 1.3)


def _summary(w: _Writer, ws, s: pd.DataFrame, kinds: pd.Series) -> None:
    ws.write_row(0, 0, ["Figure", "Value", "Unit"], w.head)
    ws.write_string(0, 1, "Value", w.head_right)
    for r, (m, v, u, k) in enumerate(zip(s["metric"], s["value"], s["unit"], kinds), start=1):
        ws.write_string(r, 0, str(m), w.text)
        if k != "text" and isinstance(v, (int, float, np.integer, np.floating)) and math.isfinite(float(v)):
            ws.write_number(r, 1, float(v) * formats.KINDS[k].scale, w.fmt[k])
        elif v is not None and not (isinstance(v, float) and math.isnan(v)):
            # Text (the limits that cost the most) wraps in its cell rather than running on.
            ws.write_string(r, 1, str(v), w.wrap)
            ws.set_row(r, 15 * formats.lines(str(v), 18))
        ws.write_string(r, 2, str(u), w.text)
    w.set_widths(ws, [46, 18, 10])
    ws.autofilter(0, 0, len(s), 2)
    ws.repeat_rows(0)
    ws.freeze_panes(1, 0)


def _overview(w: _Writer, ws, plan: Plan, case: str, prov: pd.Series, sheets: list[str], notes: dict[str, str]) -> None:
    """The front sheet: the key figures in words and numbers, the top limits, where the tables are."""
    cur = plan.currency
    m = plan.metric
    widths = (40, 14, 56)
    w.set_widths(ws, list(widths))
    ws.set_column(0, 0, widths[0], w.wrap)
    ws.set_column(2, 2, widths[2], w.wrap)

    def tall(r: int, *texts: str) -> None:  # rows as tall as their wrapped text
        ws.set_row(r, 15 * max([1] + [formats.lines(t, width - 1, bold=i == 0) for i, (t, width) in enumerate(zip(texts, widths[::2]))]))
    ws.write_string(0, 0, f"Plan for {case}", w.title)
    # One line that runs on across the empty cells beside it (not wrapped in column A).
    ws.write_string(1, 0, f"Optimal plan by {prov.get('solver', 'HiGHS')}, solved {prov.get('solved at (UTC)', '')} UTC.", w.text)
    ws.write_row(3, 0, ["Key figure", "Value", "What it says"], w.head)
    ws.write_string(3, 1, "Value", w.head_right)
    late, lost, owed = m("late_units"), m("lost_units"), m("backlog_at_end_units")
    # The key figures by their metric (label and unit from ``metrics``), each with what it says here.
    rows = [
        ("total_cost", f"the plan's objective: what it spends plus what it gives up, in {cur}"),
        ("cash_cost_to_serve", "production, co-manufacturing, overtime, purchases and freight"),
        ("carrying_cost", "holding stock at sites and in transit (the cost of capital tied up, not cash)"),
        ("penalty_cost", "lost sales, waiting customers, buffers below target: what the plan gives up"),
        ("revenue", "price x units delivered"),
        *([("contribution_margin", f"revenue less cost of goods, overtime and freight: {m('contribution_margin_pct'):.1%} of revenue")] if "ledger" in plan.tables else []),
        ("fill_rate", "units delivered in the month they are wanted, over all demand"),
        ("late_units", f"revenue deferred {m('revenue_deferred'):,.0f} {cur}" if late else "none"),
        ("lost_units", f"revenue lost {m('revenue_lost'):,.0f} {cur}" if lost else "none"),
        ("backlog_at_end_units", f"{m('backlog_at_end_revenue'):,.0f} {cur} of revenue" if owed else "none"),
        ("premium_freight_spend", f"{m('premium_freight_units'):,.0f} units by premium modes (see the shipments sheet)"),
        ("inventory_value_end", "on hand after the last month, at unit value"),
        ("in_transit_end_units", f"worth {m('in_transit_end_value'):,.0f} {cur}, still on their way"),
    ]
    for r, (key, text) in enumerate(rows, start=4):
        name, value = metrics.label(key), m(key)
        tall(r, name, text)
        ws.write_string(r, 0, name, w.bold)
        if math.isfinite(value):
            ws.write_number(r, 1, value, w.fmt[formats.of_unit(metrics.METRICS[key].unit)])
        ws.write_string(r, 2, text, w.said)
    r = 4 + len(rows) + 1
    ws.write_row(r, 0, ["Limits that cost the most", "Shadow price", "What one more (or one less) is worth"], w.head)
    ws.write_string(r, 1, "Shadow price", w.head_right)
    sp = plan.shadow_prices
    top = sp[sp["constraint"].isin([n for n, f in plan.families.items() if f.lever])]
    top = top.reindex(top["shadow_price"].abs().sort_values(ascending=False).index).head(10)
    for rec in top.to_dict("records"):
        r += 1
        keys = ", ".join(str(rec[c]) for c in plan.families[rec["constraint"]].index if rec.get(c) not in (None, "") and rec.get(c) == rec.get(c))
        ws.write_string(r, 0, f"{rec['constraint']}: {keys}", w.wrap)
        ws.write_number(r, 1, float(rec["shadow_price"]), w.fmt["price"])
        ws.write_string(r, 2, str(rec["meaning"]), w.said)
        tall(r, f"{rec['constraint']}: {keys}", str(rec["meaning"]))
    if not len(top):
        r += 1
        ws.write_string(r, 0, "No business limit binds.")
    r += 2
    ws.write_row(r, 0, ["Sheet", "", "What it shows (every table in full: <table>.csv beside this workbook)"], w.head)
    for name in sheets[1:]:
        r += 1
        ws.write_string(r, 0, name, w.bold)
        ws.write_string(r, 2, SHEETS.get(name, "") + (f" ({notes[name]})" if notes.get(name) else ""), w.said)
        tall(r, name, SHEETS.get(name, "") + (f" ({notes[name]})" if notes.get(name) else ""))
    r += 2
    ws.write_string(r, 0, "Shadow prices", w.bold)
    note = ("the change in total cost for one unit more of a limit: negative where more would save money. "
            "Where the plan changes course exactly at a limit, the prices for one more and one less differ and both are given.")
    ws.write_string(r, 2, note, w.said)
    tall(r, "", note)
    ws.repeat_rows(3)


def _shade_rows(ws, g: pd.DataFrame, column: str, value: str, first_value_col: int, w: _Writer) -> None:
    """Shade the cells above 0 of the rows whose ``column`` is ``value`` (e.g. lost units)."""
    ncols = len(g.columns)
    for r, v in enumerate(g[column].tolist(), start=1):
        if v == value:
            ws.conditional_format(r, first_value_col, r, ncols - 1, {"type": "cell", "criteria": ">", "value": 0, "format": w.warn})


def _footer_text(case: str) -> str:
    """The case's name for a header/footer: '&' is a control character there, and Excel limits
    a footer to 255 characters."""
    return case.replace("&", "&&")[:80]


def _properties(prov: pd.Series) -> dict[str, str]:
    """Workbook document properties (File > Info in Excel) that say where the plan came from."""
    if not len(prov):
        return {}
    inputs = "; ".join(f"{k.removeprefix('input file ')} sha256 {v}" for k, v in prov.items() if str(k).startswith("input file "))
    return {
        "title": "aop plan",
        "subject": f"Plan for {prov.get('case', '')}",
        "comments": f"aop {prov.get('aop', '')}, {prov.get('solver', '')}, solved at {prov.get('solved at (UTC)', '')} UTC; {inputs}; full record in sheet provenance",
    }


def write_tables(tables: dict[str, pd.DataFrame], path: Path, properties: dict[str, str] | None = None) -> list[str]:
    """Plain tables as sheets (a case workbook such as the bundled example, a sheet to paste
    back into one): each column headed by its own name, numbers formatted by what the column
    holds, strings as text (never formulas or links), in the house style. Returns the sheets."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False, "nan_inf_to_errors": False})
    if properties:
        wb.set_properties(properties)
    w = _Writer(wb, "&L&A&CPage &P of &N")
    for name, df in tables.items():
        ws = w.sheet(name[:31])
        numeric = [c for c in df.columns if df[c].dtype.kind in "fiu" or df[c].map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)).any()]
        w.table(ws, df, {c: formats.kind_of(str(c)) for c in numeric}, labels=False, keys=_keys(df))
    w.finish()
    wb.close()
    return list(tables)


def write_study_workbook(study: str, tables: dict[str, pd.DataFrame], path: Path, currency: str, title: str) -> list[str]:
    """The workbook of a study of many plans (``scenarios``, ``sensitivity``, ``compare`` or
    ``stochastic``): its tables as sheets in the house style, with native charts: the scenarios'
    changes against the base and what each action protects, the sensitivity tornado, the
    bridge's waterfall; each future's cost against hindsight, the options and the risk frontier."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False, "nan_inf_to_errors": False})
    wb.set_properties({"title": f"aop {study}: {title}"})  # aop report reads the title back
    w = _Writer(wb, f"&L{_footer_text(title)}&CPage &P of &N&R{dt.date.today().isoformat()}", currency)
    written = []
    for name, df in tables.items():
        ws = w.sheet(name)
        kinds: dict[str, str | list[str]] = {c: formats.kind_of(c) for c in df.columns if df[c].dtype.kind in "fiu"}
        how: dict = {"keys": _keys(df)}
        if study == "stochastic":
            df, kinds, how = _stochastic_sheet(name, df, kinds)
        elif "kpi" in df and "unit" in df:  # a KPI per row: each row by its KPI's unit, a rate's change in points
            units = df["unit"].tolist()
            kinds = {c: [formats.of_unit(u, change=str(c).endswith("change")) for u in units] for c in df.columns if c not in ("kpi", "unit")}
            df = df.assign(kpi=df["kpi"].map(metrics.label), unit=[formats.label_unit(u) for u in units])  # in words; the CSV keeps the names
        n = w.table(ws, df, kinds, **how)
        _study_chart(w, ws, study, name, df, n, currency)
        if study == "stochastic" and name == "futures":
            _futures_kpis(w, ws, tables[name], n + 2 + (CHART_ROWS if w.charted and ws.name in w.charted else 0))
        written.append(name)
    w.finish()
    wb.close()
    return written


#: The committed plan's key columns (then one column per period).
COMMITTED_KEYS = ("commitment", "variable", "what")


def _stochastic_sheet(name: str, df: pd.DataFrame, kinds: dict[str, str | list[str]]) -> tuple[pd.DataFrame, dict[str, str | list[str]], dict]:
    """A sheet of ``aop stochastic`` as written: the summary a figure per row (each by its
    unit), the futures' KPIs by their labels, the committed plan as a planning grid (periods
    across, each row in its decision's unit, a row total), infinite numbers in words; and how
    ``_Writer.table`` lays it out."""
    how: dict = {"keys": _keys(df)}
    if name == "summary" and {"metric", "value", "unit"} <= set(df.columns):
        kinds = {"value": [formats.of_unit(u) for u in df["unit"]]}
        out = formats.infinite_in_words(df, figure="metric")
        out = out.assign(metric=[formats.figure_label(str(m)) for m in df["metric"]], unit=[formats.label_unit(u) for u in df["unit"]])
        return out, kinds, {"keys": 1, "wrap": "meaning", "labels": {"metric": "Figure", "value": "Value", "unit": "Unit"}}
    if name == "futures":  # each future's cost against hindsight; its KPIs follow below the chart (_futures_kpis)
        first = [c for c in FUTURE_COLUMNS if c in df.columns]
        return formats.infinite_in_words(df[first]), {c: k for c, k in kinds.items() if c in first}, how
    if name == "options":
        return formats.infinite_in_words(df).rename(columns={"price": "reserve_shadow_price"}), {("reserve_shadow_price" if c == "price" else c): k for c, k in kinds.items()}, how
    if name == "committed_plan" and len(df):
        periods = [c for c in df.columns if c not in COMMITTED_KEYS]
        per_row = ["hours" if v == "overtime_hours" else "units" for v in df["variable"].astype(str)]
        out = df.assign(total=df[periods].sum(axis=1)) if periods else df
        return out, {c: per_row for c in [*periods, "total"] if c in out}, {"keys": len(COMMITTED_KEYS), "freeze": len(COMMITTED_KEYS)}
    return formats.infinite_in_words(df), kinds, how


#: The futures sheet's table (its chart below it, then each future's KPIs, a KPI per row).
FUTURE_COLUMNS = ("future", "probability", "total_cost", "hindsight_cost", "regret")
#: Rows a study chart takes on its sheet (its height at scale 1.2 and a gap).
CHART_ROWS = 22


def _futures_kpis(w: _Writer, ws, fut: pd.DataFrame, at: int) -> None:
    """Each future's KPIs with this plan below the futures sheet's chart: a KPI per row (by
    its label, each by its kind), a future per column, as narrow as the futures are few."""
    kpis = [c for c in fut.columns if c not in FUTURE_COLUMNS]
    if not kpis or not len(fut):
        return
    names = [str(f) for f in fut["future"]]
    rows = pd.DataFrame({"kpi": [metrics.label(c) for c in kpis], **{n: [fut[c].iloc[i] for c in kpis] for i, n in enumerate(names)}})
    per_row = [formats.kind_of(c.split(" ")[0], fut[c].dtype.kind in "fiu") for c in kpis]  # 'fill_rate <segment>' a rate
    ws.write_string(at, 0, "Each future's KPIs with this plan", w.bold)
    w.table(ws, formats.infinite_in_words(rows), {n: per_row for n in names}, first_row=at + 1, labels={"kpi": "KPI", **{n: n for n in names}}, keys=1)
    # The sheet's header, filter and widths stay the first table's (each as wide as both need).
    for i, width in enumerate(w.columns[ws.name]):
        ws.set_column(i, i, width)
    ws.autofilter(0, 0, len(fut), len([c for c in FUTURE_COLUMNS if c in fut.columns]) - 1)
    ws.repeat_rows(0)
    ws.freeze_panes(1, 1)


def _keys(df: pd.DataFrame) -> int:
    """How many leading columns name a row (text), repeated on each page of a wide sheet."""
    n = 0
    for c in df.columns:
        if df[c].dtype.kind in "fiub":
            break
        n += 1
    return min(n, 2)


def _study_chart(w: _Writer, ws, study: str, name: str, df: pd.DataFrame, n: int, cur: str) -> None:
    """A native chart of a study sheet below its table, from the cells just written (none
    where none fits)."""
    chart = _study_chart_of(w, ws, study, name, df, n, cur)
    if chart is None:
        return
    if study == "stochastic":  # a landscape page's width at full size: LibreOffice fits a sheet's cells to the page, not its charts
        w.chart(ws, n + 2, chart, 1.3, 1.2)
    else:
        w.chart(ws, n + 2, chart, 1.8, max(1.4, 0.25 + 0.12 * len(df)) if study == "scenarios" else 1.4)


def _study_chart_of(w: _Writer, ws, study: str, name: str, df: pd.DataFrame, n: int, cur: str):
    col = {c: i for i, c in enumerate(df.columns)}
    if study == "sensitivity" and name == "sensitivity" and len(df):
        # Tornado: the margin change of each group's step down and up, largest swing on top.
        chart = w.wb.add_chart({"type": "bar"})
        # A proven run ranks by total cost: its tornado is of total cost; the exhaustive one's of margin.
        measure = "total_cost" if "exact" in col else "margin"
        for side, color in ((f"{measure}_down", "#C55A11"), (f"{measure}_up", "#2F5597")):
            chart.add_series({"name": f"step {side.rsplit('_', 1)[1]}", "categories": [name, 1, col["group"], len(df), col["group"]], "values": [name, 1, col[side], len(df), col[side]], "fill": {"color": color}, "overlap": 100, "gap": 40})
        chart.set_title(_font({"name": f"{'Total cost' if measure == 'total_cost' else 'Margin'} change of each assumption's step (tornado)"}))
        chart.set_y_axis(_font({"reverse": True, "label_position": "low"}))  # names at the left, clear of negative bars
        chart.set_x_axis(_font({"name": cur, "num_format": "#,##0"}))
        return chart
    if study == "scenarios" and name == "playbook" and len(df):
        chart = w.wb.add_chart({"type": "bar"})
        for key, color in (("total_cost_protected", "#2F5597"), ("margin_protected", "#70AD47")):
            chart.add_series({"name": key.replace("_", " "), "categories": [name, 1, col["actions"], len(df), col["actions"]], "values": [name, 1, col[key], len(df), col[key]], "fill": {"color": color}})
        chart.set_title(_font({"name": "What the pre-approved actions protect against the shock alone"}))
        chart.set_y_axis(_font({"reverse": True, "label_position": "low"}))  # names at the left, clear of negative bars
        chart.set_x_axis(_font({"name": cur, "num_format": "#,##0"}))
        return chart
    if study == "scenarios" and name == "comparison":
        changes = [c for c in df.columns if str(c).endswith(": change")]
        wanted = {metrics.label(k) for k in ("cash_cost_to_serve", "contribution_margin", "revenue_lost", "premium_freight_spend")}
        rows = [i for i, k in enumerate(df["kpi"], start=1) if k in wanted]  # the sheet says KPIs by their labels
        if not changes or not rows:
            return None
        # Bars across, so each scenario's name reads level at the side of its bars.
        chart = w.wb.add_chart({"type": "bar"})
        for r in rows:
            chart.add_series({"name": [name, r, col["kpi"]], "categories": [name, 0, col[changes[0]], 0, col[changes[-1]]], "values": [name, r, col[changes[0]], r, col[changes[-1]]]})
        chart.set_title(_font({"name": "Each scenario against the base"}))
        chart.set_x_axis(_font({"name": cur, "num_format": "#,##0"}))
        chart.set_y_axis(_font({"reverse": True, "label_position": "low"}))  # names at the left, clear of negative bars
        chart.set_legend(_font({"position": "bottom"}))
        return chart
    if study == "stochastic":
        return _stochastic_chart(w, name, df, col, cur)
    if study == "compare" and name == "bridge" and len(df) > 2:
        # Waterfall of total cost: plan A, each driver (Shapley where solved), plan B.
        key = "total_cost_shapley" if "total_cost_shapley" in df else "total_cost_in_order"
        at = n + 30
        ws.write_row(at, 0, ["Waterfall", "base", "up", "down", "total"], w.head)
        for j in range(1, 5):  # the helper's amounts need room, whatever the bridge's columns are
            w.widen(ws, j, formats.width("money", df["total_cost"].abs().tolist(), most=20))
        running, levels = 0.0, []
        for i, r in enumerate(df.to_dict("records"), start=1):
            ends = r["driver"] in ("plan A", "plan B")
            v = float(r["total_cost"]) if ends else float(r[key])
            if ends:
                base, up, down, total, running = 0.0, 0.0, 0.0, v, v
            else:
                base = running + min(v, 0.0)
                up, down, total = max(v, 0.0), max(-v, 0.0), 0.0
                running += v
            levels.append(running)
            ws.write_string(at + i, 0, str(r["driver"]))
            for j, x in enumerate((base, up, down, total), start=1):
                ws.write_number(at + i, j, x, w.fmt["money"])
        k = len(df)
        chart = w.wb.add_chart({"type": "column", "subtype": "stacked"})
        for j, (label, fill) in enumerate((("base", None), ("cost up", "#C55A11"), ("cost down", "#70AD47"), ("plan total", "#2F5597")), start=1):
            style = {"fill": {"none": True}, "border": {"none": True}} if fill is None else {"fill": {"color": fill}}
            chart.add_series({"name": label, "categories": [name, at + 1, 0, at + k, 0], "values": [name, at + 1, j, at + k, j], "gap": 50, **style})
        chart.set_title(_font({"name": "From plan A's total cost to plan B's, by driver"}))
        chart.set_x_axis(_font({}))
        # The drivers are small next to the totals: the axis spans the levels the bars reach
        # (not from 0), so each driver's step shows.
        low, high = min(levels), max(levels)
        pad = max(high - low, abs(high) * 0.01, 1.0) * 0.25
        step = 10 ** math.floor(math.log10(pad))
        chart.set_y_axis(_font({"name": cur, "num_format": "#,##0", "min": math.floor((low - pad) / step) * step, "max": math.ceil((high + pad) / step) * step}))
        chart.set_legend(_font({"delete_series": [0]}))
        return chart
    return None


def _stochastic_chart(w: _Writer, name: str, df: pd.DataFrame, col: dict, cur: str):
    """A chart of a sheet of ``aop stochastic``, from its cells: each future's cost with this
    plan against hindsight, what each option saves and costs, the risk frontier."""
    k = len(df)
    if not k:
        return None
    if name == "futures" and {"future", "total_cost", "hindsight_cost"} <= set(col):
        chart = w.wb.add_chart({"type": "bar"})
        for key, label, color in (("total_cost", "this plan", "#2F5597"), ("hindsight_cost", "in hindsight", "#70AD47")):
            chart.add_series({"name": label, "categories": [name, 1, col["future"], k, col["future"]], "values": [name, 1, col[key], k, col[key]], "fill": {"color": color}})
        chart.set_title(_font({"name": "Total cost in each future: this plan against hindsight"}))
        chart.set_y_axis(_font({"reverse": True, "label_position": "low"}))
        # The futures' costs differ by little next to their size: the axis spans them (not from 0).
        levels = [float(v) for v in (*df["total_cost"], *df["hindsight_cost"]) if isinstance(v, (int, float)) and math.isfinite(float(v))]
        axis: dict = {"name": cur, "num_format": "#,##0"}
        if levels and min(levels) > 0:
            low, high = min(levels), max(levels)
            pad = max(high - low, abs(high) * 0.01, 1.0) * 0.35
            step = 10 ** math.floor(math.log10(pad))
            axis |= {"min": max(0.0, math.floor((low - pad) / step) * step), "max": math.ceil((high + pad) / step) * step}
        chart.set_x_axis(_font(axis))
        chart.set_legend(_font({"position": "bottom"}))
        return chart
    if name == "options" and {"option", "gross_saving", "reservation_cost", "net_value"} <= set(col):
        chart = w.wb.add_chart({"type": "bar"})
        for key, label, color in (("gross_saving", "saves (before fees)", "#70AD47"), ("reservation_cost", "fees", "#C55A11"), ("net_value", "net value", "#2F5597")):
            chart.add_series({"name": label, "categories": [name, 1, col["option"], k, col["option"]], "values": [name, 1, col[key], k, col[key]], "fill": {"color": color}})
        chart.set_title(_font({"name": "The options: what each saves, costs and is worth, net"}))
        chart.set_y_axis(_font({"reverse": True, "label_position": "low"}))
        chart.set_x_axis(_font({"name": cur, "num_format": "#,##0"}))
        chart.set_legend(_font({"position": "bottom"}))
        return chart
    if name == "frontier" and {"weight", "expected_cost", "cvar"} <= set(col):
        chart = w.wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
        # Weights that give the same plan share one label (on the first of their points).
        seen: dict[tuple[float, float], int] = {}
        labels: list[dict] = []
        for i, (x, y, wt) in enumerate(zip(df["expected_cost"], df["cvar"], df["weight"])):
            at = seen.setdefault((round(float(x), 6), round(float(y), 6)), i)
            labels.append({"delete": True} if at != i else {"value": f"weight {float(wt):.0%}"})
            if at != i:
                labels[at]["value"] = labels[at]["value"].replace("weight ", "weights ") + f", {float(wt):.0%}"
        chart.add_series({"name": "the risk frontier", "categories": [name, 1, col["expected_cost"], k, col["expected_cost"]], "values": [name, 1, col["cvar"], k, col["cvar"]],
                          "marker": {"type": "circle", "size": 7}, "data_labels": {"custom": labels, "position": "right", "font": {"size": CHART_FONT}}})
        chart.set_title(_font({"name": "Expected cost against CVaR, by risk weight"}))
        chart.set_x_axis(_font({"name": f"expected total cost ({cur})" if cur else "expected total cost", "num_format": "#,##0"}))
        chart.set_y_axis(_font({"name": f"CVaR ({cur})" if cur else "CVaR", "num_format": "#,##0"}))
        chart.set_legend({"none": True})
        return chart
    return None
