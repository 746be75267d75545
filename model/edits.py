"""Edits of a case: a table, a numeric column, the rows a filter selects, and scale / add /
set by a value (``Edit``), as the scenarios table states them and the sensitivity run makes
them. ``apply_edits`` gives the edited case (validated tables, defaults derived again), which
``solve.Solved.variant`` then solves from the base plan's model."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import InputError, Problem
from .schema import TABLES
from .validate import PENALTY_DEFAULT, PRICE_DEFAULT, Case

#: Filter columns that reach a table through another: a product's family, a customer's segment.
DERIVED = {"family": ("product", "products", "family"), "segment": ("customer", "customers", "segment")}
#: A typed value replaces a default taken from another table: editing the cell clears its mark.
DEFAULT_MARKS = {("demand", "price"): PRICE_DEFAULT, ("inventory", "safety_stock_penalty"): PENALTY_DEFAULT, ("inventory", "ending_min"): "ending_soft"}


@dataclass(frozen=True)
class Edit:
    """One change of a table: ``operation`` (scale, add, set) by ``value`` on ``column`` of
    the rows of ``table`` that ``terms`` select (column -> allowed values; empty: all rows).
    A blank cell (no limit) stays blank under scale and add; set fills it."""

    table: str
    column: str
    terms: tuple[tuple[str, tuple[str, ...]], ...]
    operation: str
    value: float
    kind: str = "shock"
    note: str = ""
    row: int | None = None  # the scenarios table's row the user sees
    scenario: str = ""

    @property
    def words(self) -> str:
        what = {"scale": f"x{self.value:g}", "add": f"{self.value:+g}", "set": f"= {self.value:g}"}[self.operation]
        where = "; ".join(f"{c}={'|'.join(v) if len(v) < 4 else v[0] + '..' + v[-1]}" for c, v in self.terms)
        return self.note or f"{self.table}.{self.column} {what}{' where ' + where if where else ''}"


# --------------------------------------------------------------------------------------
# Reading and applying edits
# --------------------------------------------------------------------------------------


def filter_parts(text: object) -> tuple[list[tuple[str, str]], list[str]]:
    """A filter's ``column=value`` terms (joined by ``;``) as (column, value text), and each
    term that is not column=value, in words. A blank filter has none."""
    if text is None or (isinstance(text, float) and math.isnan(text)) or not str(text).strip():
        return [], []
    parts, wrong = [], []
    for part in str(text).split(";"):
        if not part.strip():
            continue
        if "=" not in part:
            wrong.append(f"filter term '{part.strip()}' is not column=value")
            continue
        col, val = (x.strip() for x in part.split("=", 1))
        parts.append((col, val))
    return parts, wrong


def parse_filter(case: Case, table: str, text: str | None) -> tuple[tuple[tuple[str, tuple[str, ...]], ...], list[str]]:
    """The terms of a filter (``column=value`` joined by ``;``, ``period=A..B`` a range of
    periods) and what is wrong with it, each in words."""
    parts, wrong = filter_parts(text)
    if not parts:
        return (), wrong
    df = case.table(table)
    periods = case.period_names
    terms: list[tuple[str, tuple[str, ...]]] = []
    for col, val in parts:
        if col in DERIVED and col not in df.columns:
            via, master, field_ = DERIVED[col]
            if via not in df.columns:
                wrong.append(f"filter column '{col}': table {table} has no {via} to reach a {col} through")
                continue
            known = set(case.table(master)[field_].dropna().astype(str))
        elif col in df.columns and col != "_row":
            known = set(df[col].dropna().astype(str))
        else:
            wrong.append(f"filter column '{col}' is not a column of table {table} (its columns: {', '.join(c for c in df.columns if not c.startswith('_') and c != 'lane')})")
            continue
        if col == "period" and ".." in val:
            a, b = (x.strip() for x in val.split("..", 1))
            if a not in periods or b not in periods or periods.index(a) > periods.index(b):
                wrong.append(f"filter period range '{val}' is not two periods of the plan in order")
                continue
            values = tuple(periods[periods.index(a) : periods.index(b) + 1])
        else:
            values = tuple(v.strip() for v in val.split("|"))
            missing = [v for v in values if v not in known]
            if missing:
                wrong.append(f"filter {col}={'|'.join(missing)}: no such {col} in table {table if col not in DERIVED or col in df.columns else DERIVED[col][1]}")
                continue
        terms.append((col, values))
    return tuple(terms), wrong


def _mask(case: Case, df: pd.DataFrame, terms) -> np.ndarray:
    keep = np.ones(len(df), dtype=bool)
    for col, values in terms:
        if col in df.columns:
            seen = df[col].astype(str)
        else:
            via, master, field_ = DERIVED[col]
            seen = df[via].map(case.table(master).set_index(via)[field_]).astype(str)
        keep &= seen.isin(values).to_numpy()
    return keep


def apply_edits(case: Case, edits: tuple[Edit, ...] | list[Edit]) -> Case:
    """``case`` with ``edits`` applied in order. Raises InputError naming each edit that
    selects no row or leaves a value its column does not allow."""
    changed: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    for e in edits:
        df = changed.get(e.table)
        if df is None:
            df = case.table(e.table).copy()
        keep = _mask(case, df, e.terms)
        where = f"scenario '{e.scenario}'" if e.scenario else "edit"
        if not keep.any():
            problems.append(Problem("scenarios", f"{where}: the filter selects no row of table {e.table}", e.row, "filter", e.words))
            continue
        old = pd.to_numeric(df.loc[keep, e.column], errors="coerce").astype(float)
        new = old * e.value if e.operation == "scale" else old + e.value if e.operation == "add" else pd.Series(e.value, index=old.index)
        col = next(c for c in TABLES[e.table].columns if c.name == e.column)
        low = new.notna() & (new < col.minimum - 1e-12) if col.minimum is not None else pd.Series(False, index=new.index)
        high = new.notna() & (new > col.maximum + 1e-12) if col.maximum is not None else pd.Series(False, index=new.index)
        if (low | high).any():
            first = new[low | high].index[0]
            bound = f"below {col.minimum:g}" if low.any() else f"above {col.maximum:g}"
            problems.append(Problem("scenarios", f"{where}: makes {e.table}.{e.column} {bound} ({new[first]:g} in {e.table} row {df.loc[first, '_row'] if '_row' in df else first})", e.row, "value", e.value))
            continue
        df = df.astype({e.column: float}) if df[e.column].dtype != float and col.kind == "float" else df
        df.loc[keep, e.column] = new.astype(bool) if col.kind == "bool" else new
        mark = DEFAULT_MARKS.get((e.table, e.column))
        if mark is not None:
            df.loc[keep, mark] = False
        changed[e.table] = df
    if problems:
        raise InputError(problems)
    return case.with_tables(changed)
