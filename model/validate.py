"""Validate a raw case against the contract and return a typed, defaulted ``Case``.

Every problem is gathered (missing tables and columns, bad types, negative quantities,
unknown references, duplicate keys, plant-only data on a DC ...) and raised together as one
``InputError``; warnings (extra columns, unreachable customers) ride along on the ``Case``.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .errors import InputError, Problem
from .read import ROW, RawCase
from .schema import REFERENCES, SETTINGS, TABLES, Column, Table

#: What one row of a required table is, for "a case needs at least one ...".
ONE_ROW = {"demand": "demand row", "lanes": "lane"}

#: The tables a reference names (Column.ref), so a broken one silences checks against it.
REFERENCED = {"site": {"sites"}, "product": {"products"}, "customer": {"customers"}, "period": {"periods"}, "site_or_customer": {"sites", "customers"}, "family": {"products"}}

TRUE = {"true", "yes", "y", "1", "x"}
#: Longest name accepted: well below Excel's 32,767-character cell limit, so nothing is cut on output.
MAX_TEXT = 1_000
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Largest magnitude of any number in a case (money, units, hours). Nothing real comes near it;
#: past it products of inputs (unit_value x holding rate x days) leave what floating point and
#: HiGHS handle, and a planner who typed 99999999999999 for "no limit" is told to leave it blank.
MAX_NUMBER = 1e13
FALSE = {"false", "no", "n", "0", ""}
BLANK = "is blank but required"
#: A number with its thousands grouped by commas or spaces (1,200 / 1 200 / 12,345.5), not a
#: decimal comma (1,5 stays a problem).
THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:(?:,\d{3})+|(?:[ \u00a0\u202f]\d{3})+)(?:\.\d+)?")


#: Tables a case holds, each once (``Case.tables``); the names of the contract (schema.TABLES).
TABLE_NAMES = tuple(TABLES)

#: Defaults that come from another table, with the hidden column that marks a cell left blank
#: (so the default follows its source when either is edited: ``derive_defaults``).
PRICE_DEFAULT, PENALTY_DEFAULT = "_price_default", "_penalty_default"


@dataclass(frozen=True)
class Case:
    """A validated case: every table of the contract once, typed and defaulted, in ``tables``.

    ``capacity`` and ``supply`` hold one row per period (period rows override the blank-period
    row); ``periods`` carries ``t`` (0, 1 ...) and ``lanes`` ``lane`` (its number). Defaults
    from other tables: a blank ``demand.price`` is the product's price, a blank
    ``inventory.safety_stock_penalty`` the product's unit_value, a blank
    ``inventory.ending_min`` the safety stock (``ending_soft``: a soft target); hidden columns
    remember which cells were blank, so an edit of the source moves them too. Every table keeps
    ``_row``, the row the user sees. All money is in ``currency``. The typed attributes
    (``case.demand`` ...) read ``tables``."""

    source: str
    tables: dict[str, pd.DataFrame]
    settings: dict[str, str]
    where: dict[str, str] = field(default_factory=dict)  # table -> "sheet 'x'" or "x.csv", for messages
    inputs: pd.DataFrame = field(default_factory=pd.DataFrame)  # item, sha256 of files and tables read
    warnings: list[Problem] = field(default_factory=list)

    @property
    def currency(self) -> str:
        return self.settings.get("currency", "USD")

    @property
    def period_names(self) -> list[str]:
        return list(self.periods["period"])

    def table(self, name: str) -> pd.DataFrame:
        """A table of the case by name (empty, with its columns, when the case has none)."""
        return self.tables[name]

    def with_tables(self, changed: dict[str, pd.DataFrame]) -> Case:
        """This case with these tables replaced, the defaults from other tables derived again."""
        return replace(self, tables=derive_defaults({**self.tables, **changed}))

    periods = property(lambda self: self.tables["periods"])
    products = property(lambda self: self.tables["products"])
    sites = property(lambda self: self.tables["sites"])
    customers = property(lambda self: self.tables["customers"])
    demand = property(lambda self: self.tables["demand"])
    production = property(lambda self: self.tables["production"])
    routings = property(lambda self: self.tables["routings"])
    capacity = property(lambda self: self.tables["capacity"])
    lanes = property(lambda self: self.tables["lanes"])
    lane_rates = property(lambda self: self.tables["lane_rates"])
    supply = property(lambda self: self.tables["supply"])
    bom = property(lambda self: self.tables["bom"])
    inventory = property(lambda self: self.tables["inventory"])
    receipts = property(lambda self: self.tables["receipts"])
    service = property(lambda self: self.tables["service"])


def derive_defaults(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The defaults one table takes from another, (re)applied where the cell was left blank:
    demand.price from products.price, inventory.safety_stock_penalty from products.unit_value,
    a soft inventory.ending_min from inventory.safety_stock. Tables it changes are copied."""
    out = dict(tables)
    products = tables["products"].drop_duplicates("product").set_index("product")
    d = tables["demand"]
    if PRICE_DEFAULT in d and d[PRICE_DEFAULT].any():
        blank = d[PRICE_DEFAULT].to_numpy(dtype=bool)
        out["demand"] = d.assign(price=np.where(blank, d["product"].map(products["price"]), d["price"]))
    inv = tables["inventory"]
    if len(inv) and PENALTY_DEFAULT in inv:
        blank = inv[PENALTY_DEFAULT].to_numpy(dtype=bool)
        soft = inv["ending_soft"].to_numpy(dtype=bool)
        out["inventory"] = inv.assign(
            safety_stock_penalty=np.where(blank, inv["product"].map(products["unit_value"]), inv["safety_stock_penalty"]),
            ending_min=np.where(soft, inv["safety_stock"], inv["ending_min"]),
        )
    return out


def _text(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _is_blank(s: pd.Series) -> pd.Series:
    return s.isna() | s.map(lambda v: isinstance(v, str) and not v.strip())


def _convert(df: pd.DataFrame, table: Table, col: Column, where: str, problems: list[Problem]) -> pd.Series:
    """Convert one column to its kind, apply the default, record every bad cell."""
    s = df[col.name] if col.name in df else pd.Series([None] * len(df), index=df.index, dtype=object)
    blank = _is_blank(s)
    rows = df[ROW]
    if col.required:
        for r in rows[blank]:
            problems.append(Problem(where, BLANK, int(r), col.name))
    if col.kind in ("str", "period"):
        out = s.where(blank, s.map(_text, na_action="ignore"))
        ctrl = out.map(lambda v: isinstance(v, str) and bool(CONTROL.search(v)))
        for r, v in zip(rows[ctrl], out[ctrl]):
            problems.append(Problem(where, "contains a control character (invisible in Excel, unsafe in files); retype the name", int(r), col.name, v))
        long = out.map(lambda v: isinstance(v, str) and len(v) > MAX_TEXT)
        for r, v in zip(rows[long], out[long]):
            problems.append(Problem(where, f"is {len(v):,} characters long; names are limited to {MAX_TEXT:,}", int(r), col.name, v[:40] + "..."))
        out = out.where(~blank, col.default)
        if col.choices:
            lower = out.map(lambda v: v.lower() if isinstance(v, str) else v)
            bad = ~blank & ~lower.isin(col.choices)
            for r, v in zip(rows[bad], s[bad]):
                problems.append(Problem(where, f"must be one of {', '.join(col.choices)}", int(r), col.name, v))
            out = lower
        return out.astype(object)
    if col.kind == "bool":
        txt = s.map(lambda v: _text(v).lower(), na_action="ignore")  # 1.0 from a sheet is "1"
        bad = ~blank & ~txt.isin(TRUE | FALSE)
        for r, v in zip(rows[bad], s[bad]):
            problems.append(Problem(where, "must be true or false", int(r), col.name, v))
        return txt.isin(TRUE).where(~blank, bool(col.default))
    num = pd.to_numeric(s.where(~blank, None).map(_number, na_action="ignore"), errors="coerce").astype(float)
    bad = ~blank & (num.isna() | ~np.isfinite(num))
    for r, v in zip(rows[bad], s[bad]):
        hint = " (write decimals with a point, 1.5; thousands may be grouped as 1,200)" if isinstance(v, str) and "," in v else ""
        problems.append(Problem(where, f"must be a number{hint}", int(r), col.name, v))
    huge = ~blank & ~bad & (num.abs() > MAX_NUMBER)
    for r, v in zip(rows[huge], s[huge]):
        problems.append(Problem(where, f"is larger than {MAX_NUMBER:g}: check the units (for no limit, leave the cell blank)", int(r), col.name, v))
    ok = ~blank & ~bad & ~huge
    if col.minimum is not None:
        low = ok & (num < col.minimum)
        what = "must not be negative" if col.minimum == 0 else f"must be at least {col.minimum:g}"
        if col.minimum > 0 and col.minimum < 1e-6:
            what = "must be positive"
        for r, v in zip(rows[low], s[low]):
            problems.append(Problem(where, what, int(r), col.name, v))
    if col.maximum is not None:
        high = ok & (num > col.maximum)
        for r, v, x in zip(rows[high], s[high], num[high]):
            fraction = col.maximum == 1 and x <= 100
            hint = f": it is a fraction ({x:g} % is {x / 100:g})" if fraction else ""
            problems.append(Problem(where, f"must be at most {col.maximum:g}{hint}", int(r), col.name, v))
    default = np.nan if col.default is None else float(col.default)
    return num.where(~blank, default)


def _number(v: object) -> object:
    if isinstance(v, bool):
        return float("nan")  # TRUE in a number column is a typo, not 1
    if isinstance(v, int):  # a workbook cell of 400 digits arrives as a Python int
        try:
            return float(v)
        except OverflowError:
            return float("inf")
    if isinstance(v, str):
        t = v.strip().replace("_", "")
        if THOUSANDS.fullmatch(t):  # 1,200 or 1 200 typed as text: grouped thousands, not decimals
            t = re.sub(r"[,\s]", "", t)
        return t
    return v


#: How alike (difflib's ratio) an unknown sheet, file or column name must be to a known one to
#: be named as the one likely meant: 'quantiy' and 'demands' are, 'qty' and 'notes' are not.
NEAR_MISS = 0.75


def near_miss(name: str, known) -> str | None:
    """The known name ``name`` (already lower case) was most likely meant to be, if any: a close
    spelling (difflib), or a known name it starts with ('demand_2027' for 'demand')."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=NEAR_MISS)
    if close:
        return close[0]
    starts = sorted((k for k in known if name.startswith(k + "_")), key=len, reverse=True)
    return starts[0] if starts else None


def _table(raw: RawCase, name: str, problems: list[Problem], warnings: list[Problem], broken: set[str]) -> pd.DataFrame:
    """One table typed and defaulted; a table without its required columns is added to
    ``broken`` and returned empty (checks of other tables against it are then skipped: they
    would only repeat its problem). A missing table or column that an unknown sheet, file or
    column was likely meant to be is said with that one's location."""
    spec = TABLES[name]
    if name not in raw.tables:
        meant = [label for label, other in raw.others.items() if near_miss(other, [n for n in TABLES if n not in raw.tables]) == name]
        for label in meant:
            if spec.required:
                problems.append(Problem(label, f"is not a table aop reads: did you mean '{name}'? (the required table '{name}' is missing; rename it '{name}')"))
            else:
                warnings.append(Problem(label, f"is not a table aop reads, so it is ignored: did you mean '{name}'?"))
        if spec.required and not meant:
            problems.append(Problem(raw.source, f"required table '{name}' is missing (a sheet or {name}.csv)"))
        return pd.DataFrame({**{c.name: pd.Series(dtype=object if c.kind in ("str", "period") else float) for c in spec.columns}, ROW: pd.Series(dtype=int)})
    df = raw.tables[name]
    where = raw.where[name]
    missing = [c.name for c in spec.columns if c.required and c.name not in df.columns]
    extra = [c for c in df.columns if c != ROW and c not in spec.names]
    absent = [c for c in spec.names if c not in df.columns]
    likely = {c: near_miss(c, absent) for c in extra}
    for c in missing:
        typo = [e for e in extra if likely[e] == c]
        if typo:
            problems.append(Problem(where, f"is not a column aop reads: did you mean '{c}'? (the required column '{c}' is missing; rename it '{c}')", column=typo[0]))
        else:
            problems.append(Problem(where, f"required column '{c}' is missing"))
    for c in extra:
        if likely[c] is None:
            warnings.append(Problem(where, "unknown column is ignored", column=c))
        elif likely[c] not in missing:
            warnings.append(Problem(where, f"unknown column is ignored: did you mean '{likely[c]}'?", column=c))
    if missing:
        broken.add(name)
        return pd.DataFrame({**{c.name: pd.Series(dtype=object) for c in spec.columns}, ROW: pd.Series(dtype=int)})
    if spec.required and not len(df):
        problems.append(Problem(where, f"has no rows: a case needs at least one {ONE_ROW.get(name, spec.key[0])}"))
    out = pd.DataFrame({c.name: _convert(df, spec, c, where, problems) for c in spec.columns}, index=df.index)
    out[ROW] = df[ROW].astype(int)
    # Duplicate keys: name both rows the user must reconcile.
    key = list(spec.key)
    keyed = out[key].astype(str)
    dup = keyed.duplicated(keep=False)
    if dup.any():
        first_row = out[dup].groupby(key, dropna=False, sort=False)[ROW].transform("min")
        for idx in out.index[dup]:
            r = int(out.at[idx, ROW])
            if r != int(first_row.loc[idx]):
                vals = ", ".join(f"{k}={out.at[idx, k]}" for k in key)
                problems.append(Problem(where, f"duplicate of row {int(first_row.loc[idx])} ({vals})", r))
    return out.reset_index(drop=True)


def _check_refs(df: pd.DataFrame, col: str, allowed: set, what: str, where: str, problems: list[Problem]) -> None:
    """Unknown names; blanks are skipped (a blank required cell is already reported)."""
    vals = df[col]
    bad = ~vals.isin(allowed) & vals.notna()
    for r, v in zip(df.loc[bad, ROW], vals[bad]):
        problems.append(Problem(where, f"unknown {what}", int(r), col, v))


def validate(raw: RawCase) -> Case:
    """Check the whole case; raise ``InputError`` listing every problem, else return a ``Case``."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    broken: set[str] = set()
    t = {name: _table(raw, name, problems, warnings, broken) for name in TABLES}
    w = {name: raw.where.get(name, f"table '{name}'") for name in TABLES}

    periods, products, sites, customers = t["periods"], t["products"], t["sites"], t["customers"]
    P = set(periods["period"].dropna())
    PR = set(products["product"].dropna())
    S = set(sites["site"].dropna())
    C = set(customers["customer"].dropna())
    plants = set(sites.loc[sites["kind"] == "plant", "site"])
    suppliers = set(sites.loc[sites["kind"] == "supplier", "site"])
    kind = dict(zip(sites["site"], sites["kind"]))

    # Names that must exist (Column.ref), table by table in the order of the contract; not
    # against a table that is itself broken (every name would look unknown).
    known = {"site": S, "product": PR, "customer": C, "period": P, "site_or_customer": S | C, "family": set(products["family"].dropna())}
    for name, spec in TABLES.items():
        for col in spec.columns:
            if col.ref and name in raw.tables and not (REFERENCED[col.ref] & broken):
                _check_refs(t[name], col.name, known[col.ref], REFERENCES[col.ref], w[name], problems)

    both = S & C
    for r, v in zip(customers.loc[customers["customer"].isin(both), ROW], customers.loc[customers["customer"].isin(both), "customer"]):
        problems.append(Problem(w["customers"], "is also a site name; site and customer names must differ", int(r), "customer", v))

    d = t["demand"]

    pr = t["production"]
    dc_rows = pr["site"].isin(S - plants)
    for r, v in zip(pr.loc[dc_rows, ROW], pr.loc[dc_rows, "site"]):
        problems.append(Problem(w["production"], f"is a {_kind_word(kind[v])}; only plants make products (suppliers sell through the supply table)", int(r), "site", v))

    ro = t["routings"]
    made = set(zip(pr["site"], pr["product"]))
    no_prod = ~pd.Series([k in made for k in zip(ro["site"], ro["product"])], index=ro.index, dtype=bool) & ro["site"].isin(S) & ro["product"].isin(PR)
    no_prod &= "production" not in broken
    for r, s_, p_ in zip(ro.loc[no_prod, ROW], ro.loc[no_prod, "site"], ro.loc[no_prod, "product"]):
        problems.append(Problem(w["routings"], f"{p_} has no production row at {s_}", int(r), "product", p_))

    ca = t["capacity"]
    dc_cap = ca["site"].isin(S - plants)
    for r, v in zip(ca.loc[dc_cap, ROW], ca.loc[dc_cap, "site"]):
        problems.append(Problem(w["capacity"], f"is a {_kind_word(kind[v])}; resource capacity belongs to plants", int(r), "site", v))
    have_cap = set(zip(ca["site"], ca["resource"]))
    no_cap = ~pd.Series([k in have_cap for k in zip(ro["site"], ro["resource"])], index=ro.index, dtype=bool) & ("capacity" not in broken)
    for r, s_, res in zip(ro.loc[no_cap, ROW], ro.loc[no_cap, "site"], ro.loc[no_cap, "resource"]):
        problems.append(Problem(w["routings"], f"resource {res} at {s_} has no row in capacity", int(r), "resource", res))

    la = t["lanes"]
    loop = la["origin"] == la["destination"]
    for r, v in zip(la.loc[loop, ROW], la.loc[loop, "origin"]):
        problems.append(Problem(w["lanes"], "origin and destination are the same", int(r), "destination", v))

    into_supplier = la["destination"].isin(suppliers)
    for r, v in zip(la.loc[into_supplier, ROW], la.loc[into_supplier, "destination"]):
        problems.append(Problem(w["lanes"], "is a supplier; suppliers ship but receive nothing", int(r), "destination", v))

    inv = t["inventory"]
    at_supplier = inv["site"].isin(suppliers)
    for r, v in zip(inv.loc[at_supplier, ROW], inv.loc[at_supplier, "site"]):
        problems.append(Problem(w["inventory"], "is a supplier; suppliers hold no stock", int(r), "site", v))

    rc = t["receipts"]
    rc_sup = rc["site"].isin(suppliers)
    for r, v in zip(rc.loc[rc_sup, ROW], rc.loc[rc_sup, "site"]):
        problems.append(Problem(w["receipts"], "is a supplier; receipts arrive at plants and DCs (a supplier's open orders go in supply)", int(r), "site", v))

    lr = t["lane_rates"]
    lanes_known = set(zip(la["origin"], la["destination"], la["mode"]))
    no_lane = ~pd.Series([k in lanes_known for k in zip(lr["origin"], lr["destination"], lr["mode"])], index=lr.index, dtype=bool) & ("lanes" not in broken)
    for r, o, d_, m_ in zip(lr.loc[no_lane, ROW], lr.loc[no_lane, "origin"], lr.loc[no_lane, "destination"], lr.loc[no_lane, "mode"]):
        problems.append(Problem(w["lane_rates"], f"no lane {o} -> {d_} by {m_} in lanes", int(r), "mode", m_))

    su = t["supply"]
    not_sup = su["site"].isin(S - suppliers)
    for r, v in zip(su.loc[not_sup, ROW], su.loc[not_sup, "site"]):
        problems.append(Problem(w["supply"], f"is a {_kind_word(kind[v])}; supply rows belong to suppliers", int(r), "site", v))

    bom = t["bom"]
    _check_bom(bom, w["bom"], S, PR, plants, kind, made, pr, su, inv, problems, sources_known=not ({"production", "supply", "inventory"} & broken))

    sv = t["service"]
    segs = set(customers["segment"].dropna())
    unknown_seg = ~sv["segment"].isin(segs)
    for r, v in zip(sv.loc[unknown_seg, ROW], sv.loc[unknown_seg, "segment"]):
        warnings.append(Problem(w["service"], "no customer is in this segment", int(r), "segment", v))

    settings = _settings(t["settings"], w["settings"], problems)
    if not ({"demand", "products", "customers", "service"} & broken):
        problems += _free_to_drop(d, products, customers, sv, w["demand"])
    if "demand" not in broken and len(d) and not (pd.to_numeric(d["quantity"], errors="coerce").to_numpy(dtype=float) > 0).any():
        # Nothing to serve: HiGHS would answer "Empty", or plan stock for no one.
        problems.append(Problem(w["demand"], "no demand quantity is above 0, so the plan has nothing to decide: enter the plan's demand", None, "quantity"))

    # A cell the reader already explained (a formula with no saved value) is not also "blank".
    explained = {(p.where, p.row, p.column) for p in raw.problems if p.row is not None}
    problems = [p for p in problems if not (p.message == BLANK and (p.where, p.row, p.column) in explained)]
    # In the order the user reads them: the file's own problems, then sheet by sheet (in the
    # contract's order), row by row; a table's problems without a row first.
    order = {where: i for i, where in enumerate(w[name] for name in TABLES)}
    problems = list(raw.problems) + sorted(problems, key=lambda p: (order.get(p.where, -1), p.row or 0))
    if problems:
        raise InputError(problems)

    # Reachability warning: a customer with demand but no inbound lane can only be short.
    served = set(la["destination"])
    lonely = d.loc[~d["customer"].isin(served)].drop_duplicates("customer")
    for r, v in zip(lonely[ROW], lonely["customer"]):
        warnings.append(Problem(w["demand"], "no lane reaches this customer: its demand will be short", int(r), "customer", v))

    # Defaults that depend on other tables (derive_defaults), remembering which cells were blank.
    d[PRICE_DEFAULT] = d["price"].isna()
    inv[PENALTY_DEFAULT] = inv["safety_stock_penalty"].isna()
    # The year should not end on an empty shelf: a blank closing target is the safety stock, a
    # soft one (see build: end_short); a typed one is hard; 0 turns it off.
    inv["ending_soft"] = inv["ending_min"].isna()
    names = list(periods["period"])
    inputs = pd.DataFrame(
        [{"item": f"input file {k}", "value": v} for k, v in raw.files.items()]
        + [{"item": f"input table {k}", "value": v} for k, v in raw.table_hashes().items()]
    )
    tables = {
        **t,
        "periods": periods.assign(t=range(len(periods))),
        "demand": d,
        "inventory": inv,
        "capacity": _expand_periods(ca, names, ["site", "resource"]),
        "supply": _expand_periods(su, names, ["site", "product"]),
        "lanes": la.assign(lane=range(len(la))),
    }
    del tables["settings"]
    return Case(source=raw.source, tables=derive_defaults(tables), settings=settings, where=w, inputs=inputs, warnings=warnings)


def _free_to_drop(d: pd.DataFrame, products: pd.DataFrame, customers: pd.DataFrame, sv: pd.DataFrame, where: str) -> list[Problem]:
    """Demand rows that would cost nothing to leave unserved (no price on the row or the
    product and no shortage_cost for the segment): the plan would serve none of them, so they
    are refused, one problem per segment naming the count and the first rows."""
    # Runs with the other checks (all problems at once): rows whose cells are already reported
    # bad (blank names, numbers that did not parse) are left to those messages.
    d = d[d["product"].isin(set(products["product"])) & d["customer"].isin(set(customers["customer"])) & d["quantity"].notna()]
    products = products.drop_duplicates("product")
    customers = customers.drop_duplicates("customer")
    sv = sv.drop_duplicates("segment")
    price = d["price"].fillna(d["product"].map(products.set_index("product")["price"]))
    segment = d["customer"].map(customers.set_index("customer")["segment"])
    cost = segment.map(sv.set_index("segment")["shortage_cost"]).fillna(price)
    free = (d["quantity"] > 0) & (cost.fillna(0.0) <= 0.0)
    out = []
    for seg, rows in d.loc[free, ROW].groupby(segment[free], sort=True):
        shown = ", ".join(str(int(r)) for r in rows.head(5))
        more = f" and {len(rows) - 5:,} more" if len(rows) > 5 else ""
        lines = "lines" if where.endswith(".csv") else "rows"
        out.append(
            Problem(
                where,
                f"{len(rows):,} demand row{'s' if len(rows) != 1 else ''} of segment {seg} ({lines} {shown}{more}) would cost nothing to leave unserved, "
                "so the plan would serve none of them: give the products a price (products.price or demand.price) "
                f"or segment {seg} a shortage_cost in service",
                column="price",
            )
        )
    return out


def _expand_periods(df: pd.DataFrame, periods: list[str], keys: list[str]) -> pd.DataFrame:
    """One row per key and period; a row naming a period overrides the blank-period row."""
    base = df[df["period"].isna()].drop(columns="period")
    grid = base.merge(pd.DataFrame({"period": periods}), how="cross")
    specific = df[df["period"].notna()]
    out = pd.concat([specific, grid], ignore_index=True)
    out = out.drop_duplicates(keys + ["period"], keep="first")
    return out.reset_index(drop=True)


def _kind_word(kind: str) -> str:
    return {"dc": "DC", "plant": "plant", "supplier": "supplier"}.get(kind, str(kind))


def _check_bom(bom, where, S, PR, plants, kind, made, pr, su, inv, problems, sources_known: bool = True) -> None:
    """BOM rows: at plants, for products made there, components with a source, no cycles."""
    for r, v in zip(bom.loc[bom["site"].isin(S - plants), ROW], bom.loc[bom["site"].isin(S - plants), "site"]):
        problems.append(Problem(where, f"is a {_kind_word(kind[v])}; bills of materials belong to plants", int(r), "site", v))
    ok = bom["site"].isin(plants) & bom["product"].isin(PR)
    for r, s_, p_ in zip(bom.loc[ok, ROW], bom.loc[ok, "site"], bom.loc[ok, "product"]):
        if sources_known and (s_, p_) not in made:
            problems.append(Problem(where, f"{p_} has no production row at {s_}", int(r), "product", p_))
    same = bom["product"] == bom["component"]
    for r, v in zip(bom.loc[same, ROW], bom.loc[same, "component"]):
        problems.append(Problem(where, "a product cannot be its own component", int(r), "component", v))
    sources = set(pr["product"]) | set(su["product"]) | set(inv.loc[inv["initial"] > 0, "product"])
    nosrc = bom["component"].isin(PR) & ~bom["component"].isin(sources) & sources_known
    for r, v in zip(bom.loc[nosrc, ROW], bom.loc[nosrc, "component"]):
        problems.append(Problem(where, "component has no source: no production, supply or opening stock anywhere", int(r), "component", v))
    # Cycles: a product that (through its components) needs itself can never be made.
    edges: dict[str, set[str]] = {}
    for p_, c_ in zip(bom.loc[~same, "product"], bom.loc[~same, "component"]):
        edges.setdefault(p_, set()).add(c_)
    for r, p_, c_ in zip(bom.loc[~same, ROW], bom.loc[~same, "product"], bom.loc[~same, "component"]):
        if _reaches(edges, c_, p_):
            problems.append(Problem(where, f"bill-of-materials cycle: {c_} needs {p_} again", int(r), "component", c_))


def _reaches(edges: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, stack = set(), [start]
    while stack:
        n = stack.pop()
        if n == goal:
            return True
        if n not in seen:
            seen.add(n)
            stack.extend(edges.get(n, ()))
    return False


def _settings(df: pd.DataFrame, where: str, problems: list[Problem]) -> dict[str, str]:
    out = {k: str(v) for k, (v, _) in SETTINGS.items()}
    rows: dict[str, int] = {}
    for r, k, v in zip(df[ROW], df["key"], df["value"]):
        if k is None:
            continue
        key = str(k).strip().lower()
        if key not in SETTINGS:
            problems.append(Problem(where, f"unknown setting (known: {', '.join(SETTINGS)})", int(r), "key", k))
            continue
        rows[key] = int(r)
        out[key] = str(v).strip() if v is not None else out[key]
    for key, whole, low in (("time_limit", False, 0.0), ("threads", True, 0.0), ("random_seed", True, 0.0),
                            ("collection_days", False, 0.0), ("payment_days", False, 0.0)):
        try:
            number = float(out[key])
        except ValueError:
            problems.append(Problem(where, f"{key} must be a number", rows.get(key), "value", out[key]))
            continue
        if math.isnan(number) or number < low or (math.isinf(number) and key != "time_limit") or (whole and number != int(number)):
            what = "a whole number" if whole else "a number"
            problems.append(Problem(where, f"{key} must be {what} of at least {low:g}", rows.get(key), "value", out[key]))
    solver = out["solver"].lower()
    if solver == "ipm":
        problems.append(Problem(where, "solver ipm could mean either interior point: say hipo (faster, needs highspy-extras) or ipx", rows.get("solver"), "value", out["solver"]))
    elif solver not in ("auto", "simplex", "hipo", "ipx", "pdlp"):
        problems.append(Problem(where, "solver must be auto, simplex, hipo, ipx or pdlp", rows.get("solver"), "value", out["solver"]))
    return out

