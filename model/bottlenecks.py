"""Why a line binds: for every binding plant capacity, what loads it month by month, the stock
built ahead because of it (and where that stock waits), and which demand the build-ahead
protects.

A bottleneck is a business limit of the ``plant capacity`` group (``Family.trigger``: regular
hours of a line, a product's production or co-manufacturing cap) that binds in some period
and whose rows carry production (terms on variables of a product); the overtime allowance,
which carries none, is part of its line's story. Its build-ahead is measured, not guessed: the
plan is re-solved (``Solved.variant``, within the finance view's what-if time) with that limit
*relaxed*: every period's limit raised to the whole plan's (the sum of its limits over the
periods, so any one month could do the year's work). The build-ahead is the stock held at each
period's end in the plan minus the stock held in the relaxed plan, by site and product (units;
negative where the relaxed plan holds more).

Both plans are taken at their least stock: where a plan could hold stock or not at the same
cost, stock is charged 0.1 % (and 0.001 a unit) more in both re-solves, so optional stock is
not blamed on the limit. Where the plan without the limit has several equally cheap ways to
hold what it must (which product, which month, which site: holding costs the same at a plant
and a DC), the split can still be one of them; the example's top bottleneck reads the same
over repeated runs, a line that shares products with another (North and South bottling) need
not. The build-ahead of a product is drawn down in the periods where it falls: those are the
periods whose demand the build-ahead protects.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

import numpy as np
import pandas as pd
from scipy.sparse import csr_array

from .results import binding_levers
from .solve import Solved, Trial
from .words import number, periods_text

#: The limits a bottleneck can be: the family group the premium-freight search also calls
#: plant capacity (``families.TRIGGERS``).
GROUP = "plant capacity"
#: At most this many bottlenecks are re-solved without their limit (those whose prices add up
#: to the most); the others keep their load and say why their build-ahead was not measured.
RESOLVES = 15
#: Stock is charged this much more (relative, and that much of ``MONEY`` a unit) in the plan
#: without the limit (see ``_build_ahead``).
TIE_BREAK = 1e-3
MONEY = 1e-3
#: A sentence names the months where the build-ahead falls by more than this share of its peak.
SHARE = 0.01
#: Units below this are noise of the solver, not stock.
TOL = 1e-6

COLUMNS = ["constraint", "object", "site", "resource", "product", "period", "unit", "load", "limit", "used", "utilization", "at_limit",
           "build_ahead", "held_at", "drawn_down", "relaxed", "sentence"]


class Budget(Protocol):
    """What runs a what-if within a time budget (``whatifs.WhatIfs``): the trial, or None when
    the time is spent."""

    def variant(self, solved: Solved, **change: Any) -> AbstractContextManager[Trial | None]: ...


class _NoBudget:
    """Every what-if runs to its end (the default outside a finance view)."""

    @contextmanager
    def variant(self, solved: Solved, **change: Any) -> Iterator[Trial | None]:
        with solved.variant(**change) as trial:
            yield None if trial.status == "time_limit" else trial


def bottlenecks(solved: Solved, what_ifs: Budget | None = None, resolves: int = RESOLVES) -> pd.DataFrame:
    """One row per bottleneck, period and product (month by month, the periods of the limit's
    rows):

    load: what the product takes of the limit in the period (``unit``: hours for a line, units
    for a cap); limit, used (all products' load) and utilization (used over limit: above 1
    when overtime is worked) of the period; at_limit: the limit binds in the period (a non-zero
    price). build_ahead: units of the product held at the period's end, over all sites, beyond
    what the plan without the limit holds; held_at: the sites where it waits, the most first;
    drawn_down: units of the product's build-ahead used up in the period (the demand it
    protects); relaxed: 'yes', or why the plan without the limit was not solved (build_ahead
    and drawn_down then blank); sentence: the bottleneck in words, the same on each of its
    rows. Bottlenecks are ordered by the sum of their prices, the dearest first; at most
    ``resolves`` of them are re-solved, within ``what_ifs``'s time."""
    built, sol = solved.built, solved.optimum
    budget: Budget = what_ifs if what_ifs is not None else _NoBudget()
    names = [n for n, f in built.families.items() if f.trigger == GROUP and f.sense == "<=" and "period" in f.index]
    levers = binding_levers(built, sol)
    if levers.empty or not names:
        return pd.DataFrame(columns=COLUMNS)
    levers = levers[levers["constraint"].isin(names)]
    if levers.empty:
        return pd.DataFrame(columns=COLUMNS)
    product_of = _column_products(built)
    by_row = built.lp.A.tocsr()  # once: a row slice of the column-wise matrix walks all of it
    objects = []
    for (family, _), rows in levers.groupby(["constraint", "_object"], sort=False):
        load = _load(solved, family, rows, product_of, by_row)
        if load is not None:
            objects.append((float(rows["shadow_price"].abs().sum()), family, rows, load))
    objects.sort(key=lambda o: -o[0])
    periods = list(built.case.period_names)
    held = _least_stock(solved, budget) if objects and resolves > 0 else None
    frames = []
    for i, (_, family, rows, load) in enumerate(objects):
        fam = built.families[family]
        first = rows.iloc[0]
        obj = fam.noun({c: first[c] for c in fam.index}.get) if fam.noun else f"{family} {first['_object']}"
        ahead, relaxed = None, "no: beyond the bottlenecks re-solved"
        if i < resolves and held is not None:
            ahead, relaxed = _build_ahead(solved, budget, np.sort(load["_row"].unique()), held)
        df = _rows(load, ahead, periods).assign(constraint=family, object=obj, relaxed=relaxed)
        for c in fam.index:
            if c not in ("period", "product"):
                df[c] = first[c]
        df["unit"] = str(first["limit_unit"])
        df["sentence"] = sentence(df, periods)
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    extra = [c for c in out.columns if c not in COLUMNS]
    return out.reindex(columns=[*COLUMNS[:4], *extra, *COLUMNS[4:]])


def _column_products(built) -> np.ndarray:
    """The product of each LP column ('' for a column of no product: overtime, shortfalls of a
    segment ...)."""
    out = np.full(built.lp.num_col, "", dtype=object)
    for df in built.variables.values():
        if "product" in df.columns and "col" in df.columns and len(df):
            out[df["col"].to_numpy()] = df["product"].astype(str).to_numpy()
    return out


def _load(solved: Solved, family: str, binding: pd.DataFrame, product_of: np.ndarray, by_row: csr_array) -> pd.DataFrame | None:
    """Every row of the bottleneck over the periods (not only those that bind), with each
    product's load on it: ``_row``, period, product, load, limit, at_limit. None when its rows
    carry no product's production, or nothing is made on it (a limit of 0)."""
    built, sol = solved.built, solved.optimum
    b, sl = built.lp.block(family)  # type: ignore[misc]  # binding rows come from this block
    keys = b.keys
    obj = [c for c in built.families[family].index if c != "period"]
    first = binding.iloc[0]
    mine = np.ones(len(keys), dtype=bool)
    for c in obj:
        mine &= (keys[c].astype(str) == str(first[c])).to_numpy()
    rows = sl.start + np.flatnonzero(mine)
    sub = by_row[rows].tocoo()
    product = product_of[sub.col]
    keep = product != ""
    if not keep.any():
        return None
    r, cols = sub.row[keep], sub.col[keep]
    load = pd.DataFrame({"_row": rows[r], "product": product[keep], "load": sub.data[keep] * sol.col_value[cols]})
    load = load.groupby(["_row", "product"], as_index=False, sort=False)["load"].sum()
    period = pd.Series(keys["period"].astype(str).to_numpy()[rows - sl.start], index=rows)
    load["period"] = load["_row"].map(period)
    load["limit"] = built.lp.limit[load["_row"].to_numpy()]
    load["at_limit"] = load["_row"].isin(binding["_row"])
    load["load"] = np.where(np.abs(load["load"]) < TOL, 0.0, load["load"])
    if not load["load"].any():  # a limit of 0 (an outage) binds with nothing on it: the ledger prices it
        return None
    return load


def _stock_costs(solved: Solved) -> tuple[np.ndarray, np.ndarray]:
    """The stock columns and their costs charged a little more: where a plan could hold stock or
    not at the same cost (several optimal plans), it holds none, so the build-ahead is the stock
    the limit forces, not which of several plans the solver found."""
    col = solved.built.variables["inv"]["col"].to_numpy()
    return col, solved.built.lp.c[col] * (1 + TIE_BREAK) + TIE_BREAK * MONEY


def _least_stock(solved: Solved, budget: Budget) -> np.ndarray:
    """The plan's stock (``inv`` columns' values, units), the least among its equally cheap
    plans; the plan's own where the what-if time is spent."""
    col, costs = _stock_costs(solved)
    with budget.variant(solved, costs=(col, costs)) as trial:
        if trial is not None and trial.solution is not None:
            return trial.solution.col_value[col].copy()
    return solved.optimum.col_value[col].copy()


def _build_ahead(solved: Solved, budget: Budget, rows: np.ndarray, held: np.ndarray) -> tuple[pd.DataFrame | None, str]:
    """Stock at each period's end in the plan (``held``, by ``inv`` column) minus in the plan
    with ``rows`` relaxed (each raised to their sum), both the least among equally cheap
    plans, by site, product and period (units); and 'yes' or why it was not measured."""
    built = solved.built
    inv = built.variables["inv"]
    col, costs = _stock_costs(solved)
    # Finite, not infinite: the solution's check and HiGHS's scaling read the limits.
    raised = max(float(built.lp.limit[rows].sum()), 1.0)
    with budget.variant(solved, limits=(rows, np.full(len(rows), raised)), costs=(col, costs)) as trial:
        if trial is None:
            return None, "no: the what-if time was spent"
        if trial.solution is None:
            return None, "no: no plan without the limit"
        relaxed = trial.solution.col_value[col]
        still = bool((trial.solution.row_value[rows] >= raised * (1 - 1e-9)).any())
    diff = held - relaxed
    diff = np.where(np.abs(diff) < TOL, 0.0, diff)
    out = inv[["site", "product", "period", "t"]].assign(build_ahead=diff)
    return out.astype({"site": str, "product": str, "period": str}), "yes, though it binds even at the year's limit in a month" if still else "yes"


def _rows(load: pd.DataFrame, ahead: pd.DataFrame | None, periods: list[str]) -> pd.DataFrame:
    """The bottleneck's table: its load by product and period, and the build-ahead of every
    product that has some (load 0 where the product does not load it)."""
    per = load.groupby("period", as_index=False, sort=False).agg(limit=("limit", "first"), used=("load", "sum"), at_limit=("at_limit", "first"))
    per["utilization"] = np.where(per["limit"] > 0, per["used"] / per["limit"], np.nan)
    k = ["product", "period"]
    out = load[[*k, "load"]]
    if ahead is not None:
        by = ahead.groupby(k, as_index=False)["build_ahead"].sum()
        by = by[by["product"].isin(by.loc[by["build_ahead"].abs() > TOL, "product"])]
        order = {p: i for i, p in enumerate(periods)}
        by = by.assign(_t=by["period"].map(order)).sort_values(["product", "_t"])
        # Drawn down: where a product's build-ahead falls; where the plan without the limit
        # holds more (negative), there is none of it to draw.
        held = by["build_ahead"].clip(lower=0.0)
        prev = held.groupby(by["product"]).shift(1, fill_value=0.0)
        by["drawn_down"] = (prev - held).clip(lower=0.0)
        by["drawn_down"] = np.where(by["drawn_down"] < TOL, 0.0, by["drawn_down"])
        waits = ahead[ahead["build_ahead"] > TOL].sort_values("build_ahead", ascending=False)
        where = waits.groupby(k, sort=False).apply(lambda g: "; ".join(f"{s} {number(v)}" for s, v in zip(g["site"], g["build_ahead"])), include_groups=False)
        by["held_at"] = pd.Series([where.get((p, t), "") for p, t in zip(by["product"], by["period"])], index=by.index, dtype=object)
        out = out.merge(by.drop(columns="_t"), how="outer", on=k).astype({"held_at": object})
        out = out[(out["load"].fillna(0.0).abs() > TOL) | (out["build_ahead"].fillna(0.0).abs() > TOL)]
        out = out.fillna({"load": 0.0, "held_at": "", "build_ahead": 0.0, "drawn_down": 0.0})
    else:
        out = out[out["load"].abs() > TOL].assign(build_ahead=np.nan, held_at="", drawn_down=np.nan)
    out = out.merge(per, how="left", on="period")
    order = {p: i for i, p in enumerate(periods)}
    out = out.assign(_t=out["period"].map(order)).sort_values(["_t", "product"]).drop(columns="_t").reset_index(drop=True)
    return out


def sentence(df: pd.DataFrame, periods: list[str]) -> str:
    """One bottleneck's table in words: when it runs at its limit, how many units it builds
    ahead (the most held at once, all products together), for which periods (where that
    falls), mostly of which products and where they wait (at its peak)."""
    obj = str(df["object"].iloc[0])
    obj = obj[0].upper() + obj[1:]
    at = _truth(df["at_limit"])
    binds = [p for p in periods if p in set(df.loc[at, "period"].astype(str))]
    if not binds:
        return f"{obj} does not run at its limit."
    run = periods.index(binds[-1]) == len(periods) - 1 and periods.index(binds[-1]) - periods.index(binds[0]) == len(binds) - 1 and len(binds) > 1
    text = f"{obj} runs at its limit " + (f"from {periods_text(periods, binds[:1])}" if run else f"in {periods_text(periods, binds)}")
    relaxed = str(df["relaxed"].iloc[0])
    if not relaxed.startswith("yes"):
        return f"{text}; what it builds ahead was not measured ({relaxed.removeprefix('no: ')})."
    ba = df.pivot_table(index="product", columns="period", values="build_ahead", aggfunc="sum").clip(lower=0.0)
    total = ba.sum().reindex([p for p in periods if p in ba.columns])
    if total.empty or total.max() < 0.5:
        return f"{text}; it builds nothing ahead (without the limit the plan holds the same stock)."
    peak = total.idxmax()
    # The months it is for: where the build-ahead of all products together falls (by more than
    # a hundredth of its peak: one product's stock swapped for another's is no drawing down).
    falls = total.shift(1, fill_value=0.0) - total
    protects = [p for p in total.index if falls[p] > SHARE * total[peak]]
    share = ba[peak].sort_values(ascending=False) / total[peak]
    top = list(share.index[: max(1, int((share.cumsum() < 0.6).sum()) + 1)][:3])
    who = f"all {top[0]}" if share.iloc[0] > 0.995 else "mostly " + _and(top)
    text += f"; it builds {total[peak]:,.0f} units ahead"
    if protects:
        text += f" for {periods_text(periods, protects)}"
    text += f", {who}"
    held = df.loc[df["period"].astype(str) == str(peak), "held_at"].astype(str)
    sites: dict[str, float] = {}
    for cell in held:
        for part in filter(None, cell.split("; ")):
            site, _, units = part.rpartition(" ")
            sites[site] = sites.get(site, 0.0) + float(units.replace(",", ""))
    if sites:
        text += ", waiting at " + _and(sorted(sites, key=lambda s: -sites[s])[:3])
    return text + "."


def _truth(col: pd.Series) -> pd.Series:
    """A yes/no column as booleans, also as read back from a CSV ('True', 'False')."""
    return col.astype(str).str.lower().isin(["true", "1", "yes"])


def _and(names: list[str]) -> str:
    return ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]


def sentences(table: pd.DataFrame | None) -> list[str]:
    """The sentence of each bottleneck of a ``bottlenecks`` table, in its order."""
    if table is None or table.empty:
        return []
    return list(dict.fromkeys(table["sentence"].astype(str)))
