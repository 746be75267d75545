"""Turn a solution into tidy tables named in the planners' words.

Every table is a long DataFrame whose index columns carry the input's names (site, product,
customer, period ...). Writers only consume these tables. Shadow prices follow one sign
convention: the change in total cost (money) per one-unit rise of the constraint's limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .build import REVIEW_ORDER, Built
from .solve import Solution

INDEX_COLUMNS = ["site", "resource", "product", "customer", "segment", "origin", "destination", "mode", "period"]
SHADOW_COLUMNS = [
    "constraint", *INDEX_COLUMNS, "limit", "limit_unit", "activity", "slack", "shadow_price", "shadow_price_up", "shadow_price_down",
    "limit_lower", "limit_upper", "meaning",
]
TOL = 1e-7

#: Every table a plan can have, in the order written (the last ones only when the case has
#: suppliers, bills of materials, backorders or goods still in transit at the end).
PLAN_TABLES = (
    "summary", "production", "capacity", "shipments", "inventory", "demand", "service", "shadow_prices",
    "provenance", "purchases", "consumption", "backorders", "in_transit",
)

#: Summary metrics that add up to total_cost (money), in three groups: what the plan spends
#: (cash cost-to-serve), what carrying stock costs (the cost of capital tied up, not cash) and
#: penalties for what it gives up (lost sales, waiting customers, buffers below target).
COST_GROUPS = {
    "cash_cost_to_serve": ["production_cost", "outsourcing_cost", "overtime_cost", "purchase_cost", "freight_cost"],
    "carrying_cost": ["holding_cost_sites", "holding_cost_in_transit"],
    "penalty_cost": ["shortage_cost", "backorder_cost", "backlog_at_end_cost", "safety_stock_penalty"],
}
COST_COMPONENTS = [c for parts in COST_GROUPS.values() for c in parts]

REVIEW_ORDER = list(REVIEW_ORDER)

#: Unit of each family's limit (lane capacity and storage: the row's own basis, see limit_units).
LIMIT_UNITS = {
    "demand": "units",
    "balance": "units",
    "capacity": "hours",
    "overtime": "hours",
    "production_max": "units",
    "outsource_max": "units",
    "lane_capacity": "units",
    "storage": "units",
    "safety_stock": "units",
    "ending": "units",
    "service": "units",
    "supply": "units",
    "delivery": "units",
    "backlog": "units",
}
#: One of a limit's unit, for "one hour less".
ONE = {"units": "unit", "hours": "hour", "kg": "kg", "m3": "m3"}


@dataclass
class Plan:
    """The optimal plan: ``tables`` maps table name to DataFrame (summary, production,
    capacity, shipments, inventory, demand, service, shadow_prices)."""

    status: str
    total_cost: float
    currency: str
    tables: dict[str, pd.DataFrame]
    warnings: list = field(default_factory=list)

    @property
    def shadow_prices(self) -> pd.DataFrame:
        return self.tables["shadow_prices"]

    @property
    def summary(self) -> pd.DataFrame:
        return self.tables["summary"]

    def metric(self, name: str) -> float:
        s = self.tables["summary"]
        return float(s.loc[s["metric"] == name, "value"].iloc[0])


def _values(df: pd.DataFrame, sol: Solution) -> np.ndarray:
    col = df["col"].to_numpy()
    x = np.where(col >= 0, sol.col_value[np.clip(col, 0, None)] if len(sol.col_value) else 0.0, 0.0)
    return np.where(np.abs(x) < 1e-9, 0.0, x)


def variable_values(built: Built, sol: Solution) -> dict[str, pd.DataFrame]:
    """Each variable table with a ``value`` column (units or hours), variable objects dropped."""
    return {name: df.assign(value=_values(df, sol)) for name, df in built.variables.items()}


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "?"
    if math.isinf(x):
        return "unlimited" if x > 0 else "-unlimited"
    if abs(x) < 0.005:
        x = 0.0  # no "-0.00"
    return f"{x:,.2f}" if abs(x) < 1e15 else f"{x:.3g}"


def _subject(family: str, r: dict) -> str:
    """What a one-unit rise of the limit means, in words."""
    g = r.get
    return SUBJECTS[family](g)


#: What a one-unit rise of each family's limit means, in words (``g`` reads the row's fields).
SUBJECTS = {
    "demand": lambda g: f"serving one more unit of {g('product')} to {g('customer')} in {g('period')}",
    "balance": lambda g: f"one more unit of {g('product')} on hand at {g('site')} in {g('period')}",
    "capacity": lambda g: f"one more hour of {g('resource')} at {g('site')} in {g('period')}",
    "overtime": lambda g: f"one more overtime hour allowed on {g('resource')} at {g('site')} in {g('period')}",
    "production_max": lambda g: f"one more unit of {g('product')} allowed to be made at {g('site')} in {g('period')}",
    "outsource_max": lambda g: f"one more unit of {g('product')} allowed to be co-manufactured for {g('site')} in {g('period')}",
    "lane_capacity": lambda g: f"one more {ONE.get(g('limit_unit'), 'unit')} of capacity on lane {g('origin')} -> {g('destination')} by {g('mode')} in {g('period')}",
    "storage": lambda g: f"one more {ONE.get(g('limit_unit'), 'unit')} of storage space at {g('site')} in {g('period')}",
    "safety_stock": lambda g: f"one more unit of safety stock of {g('product')} at {g('site')} in {g('period')}",
    "ending": lambda g: f"one more unit of required closing stock of {g('product')} at {g('site')}",
    "service": lambda g: f"one more unit delivered on time to segment {g('segment')} in {g('period')}",
    "supply": lambda g: f"one more unit of {g('product')} available from supplier {g('site')} in {g('period')}",
    "delivery": lambda g: f"one more unit of {g('product')} arriving at {g('customer')} in {g('period')} from outside the plan",
    "backlog": lambda g: f"owing {g('customer')} one more unit of {g('product')} at the end of {g('period')}",
}


def _holds(lo: float, hi: float, unit: str) -> str:
    """Where a price holds, in words: limits are never negative, so a range from 0 says "up to"."""
    lo_open = lo is None or (isinstance(lo, float) and math.isnan(lo))
    if lo_open:
        return ""
    if hi == math.inf and lo <= 0:
        return "holds for any limit"
    if hi == math.inf:
        return f"holds for limits from {_fmt(lo)} {unit} up"
    if lo <= 0:
        return f"holds for limits up to {_fmt(hi)} {unit}"
    return f"holds while the limit stays between {_fmt(lo)} and {_fmt(hi)} {unit}"


def _effect(price: float, currency: str) -> str:
    if math.isinf(price):
        return "is beyond what the plan can do (no plan meets it)"
    if abs(price) < 0.005:
        return "would not change the cost"
    return f"would {'save' if price < 0 else 'cost'} {_fmt(abs(price))} {currency}"


def meaning(family: str, r: dict, currency: str) -> str:
    """The sentence a finance reviewer reads: what one unit more (and, where the price is
    one-sided, one unit less) of the limit is worth, and over which limits that holds. A price
    that holds on one side only is said to, and a side that was not measured (rows outside the
    business limits, at a turning point) is never presented as known."""
    unit = r.get("limit_unit") or LIMIT_UNITS[family]
    up, down, limit = r.get("shadow_price_up"), r.get("shadow_price_down"), r["limit"]
    subject = _subject(family, r)
    subject = subject[0].upper() + subject[1:]
    known = lambda x: x is not None and not (isinstance(x, float) and math.isnan(x))  # noqa: E731
    at_floor = limit <= 1e-9  # a limit at 0 cannot fall
    if known(up) and known(down) and abs(up - down) > 1e-9 * max(1.0, abs(up), abs(down)):
        less = "would make the plan infeasible" if math.isinf(down) else _effect(-down, currency)
        return (
            f"{subject} {_effect(up, currency)}, but one {ONE.get(unit, unit)} less {less}: "
            f"a one-sided price, the plan changes course exactly at this limit ({_fmt(limit)} {unit})."
        )
    if not known(up) and not known(down) and not at_floor:
        return (
            f"{subject}: the plan changes course exactly at this limit ({_fmt(limit)} {unit}), so its price "
            f"({_fmt(r['shadow_price'])} {currency}) holds for neither a rise nor a fall; those were not measured."
        )
    price = up if known(up) else down if known(down) else r["shadow_price"]
    below_only = known(down) and not known(up)
    text = f"{subject}{' up to this limit' if below_only else ''} {_effect(price, currency)}"
    if family == "service" and r.get("demand_units") and math.isfinite(price):
        text += f" ({_fmt(abs(price) * r['demand_units'] / 100)} {currency} per percentage point of fill rate)"
    holds = _holds(r.get("limit_lower"), r.get("limit_upper"), unit)
    if known(up) and not known(down) and not at_floor:
        holds += f"; below {_fmt(limit)} {unit} the plan changes course (the price for a fall was not measured)"
    elif below_only:
        holds += f"; above {_fmt(limit)} {unit} the plan changes course (the price for a rise was not measured)"
    return text + (f"; {holds}" if holds else "") + "."


def limit_units(built: Built, rows: pd.DataFrame) -> pd.Series:
    """The unit of each row's limit: hours, units, or the kg / m3 a lane or site counts in."""
    case = built.case
    unit = rows["constraint"].map(LIMIT_UNITS)
    lane_unit = rows[["origin", "destination", "mode"]].merge(case.lanes[["origin", "destination", "mode", "capacity_unit"]], how="left")["capacity_unit"]
    site_unit = rows[["site"]].merge(case.sites[["site", "storage_unit"]], how="left")["storage_unit"]
    unit = unit.where(rows["constraint"] != "lane_capacity", lane_unit.to_numpy())
    return unit.where(rows["constraint"] != "storage", site_unit.to_numpy())


def shadow_prices(built: Built, sol: Solution, all_rows: bool = False) -> pd.DataFrame:
    """One row per binding constraint (or every row with ``all_rows``).

    A row binds when its shadow price is non-zero or an inequality sits at its limit.
    limit: the right-hand side, in limit_unit; activity: the left-hand side at the optimum;
    slack: how far the activity is from the limit on the allowed side (0 when binding);
    shadow_price: d(total cost)/d(limit) at the optimal basis; shadow_price_up and
    shadow_price_down: the same for a rise and for a fall of the limit (they differ where the
    price is one-sided); limit_lower/upper: the range of the limit over which shadow_price
    holds (never below 0)."""
    lp = built.lp
    limit = np.where(lp.row_sense == 1, lp.row_upper, lp.row_lower)
    act = sol.row_value
    slack = np.where(lp.row_sense == 1, limit - act, np.where(lp.row_sense == -1, act - limit, 0.0))
    dual = np.where(np.abs(sol.row_dual) < 1e-9, 0.0, sol.row_dual)
    scale = np.maximum(1.0, np.abs(limit))
    binding = (np.abs(dual) > 1e-9) | ((lp.row_sense != 0) & (np.abs(slack) <= TOL * scale))
    keep = np.ones_like(binding) if all_rows else binding
    frames = []
    for b, off in zip(lp.blocks, lp.offsets):
        sel = np.flatnonzero(keep[off : off + len(b.limit)])
        if not len(sel):
            continue
        g = sel + off
        df = b.keys.iloc[sel].reset_index(drop=True)
        df.insert(0, "constraint", b.family)
        df["limit"] = limit[g]
        df["activity"] = act[g]
        df["slack"] = np.where(np.abs(slack[g]) < 1e-9, 0.0, slack[g])
        df["shadow_price"] = dual[g]
        df["shadow_price_up"] = _clean(sol.row_price_up[g])
        df["shadow_price_down"] = _clean(sol.row_price_down[g])
        df["limit_lower"] = sol.row_bound_lower[g]
        df["limit_upper"] = sol.row_bound_upper[g]
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=SHADOW_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    for c in INDEX_COLUMNS:
        if c not in out:
            out[c] = None
    out["limit_unit"] = limit_units(built, out).to_numpy()
    service_demand = _segment_demand(built)
    recs = out.to_dict("records")
    out["meaning"] = [
        meaning(r["constraint"], {**r, "demand_units": service_demand.get((r["segment"], r["period"]))}, built.case.currency)
        for r in recs
    ]
    out = out[SHADOW_COLUMNS]
    rank = out["constraint"].map({f: i for i, f in enumerate(REVIEW_ORDER)})
    out = out.assign(_rank=rank, _abs=out["shadow_price"].abs()).sort_values(["_rank", "_abs"], ascending=[True, False]).drop(columns=["_rank", "_abs"])
    return out.reset_index(drop=True)


def _clean(x: np.ndarray) -> np.ndarray:
    return np.where(np.abs(x) < 1e-9, 0.0, x)


def _segment_demand(built: Built) -> dict[tuple, float]:
    case = built.case
    seg = case.customers.set_index("customer")["segment"]
    d = case.demand.assign(segment=case.demand["customer"].map(seg))
    return d.groupby(["segment", "period"])["quantity"].sum().to_dict()


def backorders(built: Built, v: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per product, customer and period of backorder segments: on-time and late deliveries,
    new backorders and the backlog at period end (units).

    The LP fixes the backlog (cumulative demand not lost minus cumulative deliveries) but not
    how a period's arrivals split between this period's demand and older backlog: a unit can
    be backordered and delivered late in the same period at no cost. The report uses the one
    canonical split that maximises on-time delivery (the OTIF row's own view): arrivals serve
    the period's demand first, the rest clears backlog."""
    k = ["product", "customer", "period"]
    b = v["backlog_units"]
    out = b[k + ["t", "segment", "backorder_part", "end_part", "lost_cost"]].assign(backlog=b["value"])
    lp = pd.concat([v["ontime"][k + ["value"]], v["late"][k + ["value"]]]).groupby(k, as_index=False)["value"].sum()
    out = out.merge(lp.rename(columns={"value": "delivered"}), how="left", on=k)
    short = v["short"][k + ["value"]].rename(columns={"value": "short"})
    out = out.merge(short, how="left", on=k).merge(built.case.demand[k + ["quantity", "price"]], how="left", on=k)
    out = out.fillna({"delivered": 0.0, "short": 0.0, "quantity": 0.0})
    due = (out["quantity"] - out["short"]).clip(lower=0.0)
    out["ontime"] = np.minimum(out["delivered"], due)
    out["late"] = out["delivered"] - out["ontime"]
    out["new_backorders"] = due - out["ontime"]
    out["price"] = out["price"].fillna(out["product"].map(built.case.products.set_index("product")["price"]))
    for c in ("ontime", "late", "new_backorders"):
        out[c] = out[c].where(out[c].abs() > 1e-9, 0.0)
    return out.sort_values(["customer", "product", "t"]).reset_index(drop=True)


def shipment_tables(built: Built, v: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The shipments table (one row per lane, product, departure and arrival period) and the
    goods still in transit when the plan ends.

    A shipment between sites is planned by the period it leaves and splits on arrival; a
    delivery to a customer is planned by the period it arrives and splits on departure
    (``planned_by``). ``share`` is the part of that planned flow on the row; ``quantity`` the
    units leaving in departure_period and arriving in arrival_period (blank: after the plan)."""
    case = built.case
    names = np.array(case.period_names + [None], dtype=object)
    T = len(case.periods)
    flows = pd.concat([v["ship"].assign(planned_by="departure"), v["deliver"].assign(planned_by="arrival")], ignore_index=True)
    flows = flows[flows["value"] > 0]
    legs = flows.merge(built.legs, on=["lane", "t"])
    legs = legs.assign(quantity=legs["value"] * legs["share"])
    legs = legs[legs["quantity"] > 1e-9].sort_values(["origin", "destination", "mode", "product", "dep", "arr"])
    shipments = pd.DataFrame(
        {
            "origin": legs["origin"],
            "destination": legs["destination"],
            "mode": legs["mode"],
            "premium": legs["premium"].astype(bool),
            "product": legs["product"],
            "departure_period": names[legs["dep"].to_numpy()],
            "arrival_period": names[legs["arr"].to_numpy()],
            "planned_by": legs["planned_by"],
            "share": legs["share"],
            "quantity": legs["quantity"],
            "cost_per_unit": legs["freight"],
            "freight_cost": legs["quantity"] * legs["freight"],
            "transit_holding_cost": legs["quantity"] * legs["transit_holding"],
        }
    ).reset_index(drop=True)
    after = legs[legs["arr"] == T]
    uv = after["product"].map(case.products.set_index("product")["unit_value"])
    in_transit = pd.DataFrame(
        {
            "origin": after["origin"],
            "destination": after["destination"],
            "mode": after["mode"],
            "product": after["product"],
            "departure_period": names[after["dep"].to_numpy()],
            "quantity": after["quantity"],
            "unit_value": uv,
            "value": after["quantity"] * uv,
        }
    ).reset_index(drop=True)
    return shipments, in_transit


def provenance(case, solver: str, options: dict[str, object], objective: float | None = None) -> pd.DataFrame:
    """What a plan (or a failed solve) was made from and with: the case, SHA-256 of every input
    file and table, the versions of Python and the libraries, the HiGHS options (seed and threads
    included), the time and the objective, so the same inputs and versions can be checked to give
    the same objective. Columns: item, value (text)."""
    import datetime as dt
    import platform
    from importlib.metadata import PackageNotFoundError, version

    rows = [{"item": "case", "value": case.source}, {"item": "solved at (UTC)", "value": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}]
    rows.append({"item": "python", "value": platform.python_version()})
    for pkg in ("aop", "pyomo", "highspy", "pandas", "numpy", "scipy", "openpyxl", "xlsxwriter", "defusedxml"):
        try:
            rows.append({"item": pkg, "value": version(pkg)})
        except PackageNotFoundError:
            rows.append({"item": pkg, "value": "not installed"})
    rows.append({"item": "solver", "value": solver})
    rows += [{"item": f"option {k}", "value": str(v)} for k, v in sorted(options.items())]
    if objective is not None:
        rows.append({"item": "objective", "value": repr(objective)})
    return pd.concat([pd.DataFrame(rows), case.inputs], ignore_index=True)


def make_plan(built: Built, sol: Solution, elapsed: dict[str, float] | None = None) -> Plan:
    """All result tables for a solved plan."""
    case = built.case
    v = variable_values(built, sol)
    cur = case.currency
    order = {p: i for i, p in enumerate(case.period_names)}

    make, out_ = v["make"], v["outsource"]
    k = ["site", "product", "period"]
    production = make[k + ["t", "value", "cost"]].rename(columns={"value": "make", "cost": "unit_cost"}).merge(
        out_[k + ["t", "value", "cost"]].rename(columns={"value": "outsource", "cost": "outsource_cost"}), how="outer", on=k + ["t"]
    )
    production[["make", "outsource"]] = production[["make", "outsource"]].fillna(0.0)
    production["cost"] = production["make"] * production["unit_cost"].fillna(0) + production["outsource"] * production["outsource_cost"].fillna(0)
    production = production[(production["make"] > 0) | (production["outsource"] > 0)]
    production = production.sort_values(["site", "product", "t"]).drop(columns="t")

    use = make.merge(case.routings, on=["site", "product"])
    use = use.assign(used=use["value"] * use["hours_per_unit"]).groupby(["site", "resource", "period"], as_index=False)["used"].sum()
    cap = case.capacity.merge(use, how="inner")
    ot = v["overtime_hours"][["site", "resource", "period", "value"]].rename(columns={"value": "overtime_used"})
    cap = cap.merge(ot, how="left").fillna({"overtime_used": 0.0})
    cap["overtime_cost_total"] = cap["overtime_used"] * cap["overtime_cost"]
    cap["utilization"] = np.where(cap["hours"] > 0, cap["used"] / cap["hours"], np.nan)
    capacity_tbl = cap[["site", "resource", "period", "hours", "overtime_hours", "used", "overtime_used", "utilization", "overtime_cost_total"]]
    capacity_tbl = capacity_tbl.assign(_t=capacity_tbl["period"].map(order)).sort_values(["site", "resource", "_t"]).drop(columns="_t")

    shipments, in_transit = shipment_tables(built, v)

    inv = v["inv"]
    ss = v["ss_short"][["site", "product", "period", "safety_stock", "value"]].rename(columns={"value": "safety_stock_short"})
    inventory = inv.merge(ss, how="left", on=k).fillna({"safety_stock": 0.0, "safety_stock_short": 0.0})
    uv = case.products.set_index("product")["unit_value"]
    inventory = inventory.assign(
        on_hand=inventory["value"], inventory_value=inventory["value"] * inventory["product"].map(uv), holding_cost=inventory["value"] * inventory["cost"]
    )
    inventory = inventory.sort_values(["site", "product", "t"])[
        ["site", "product", "period", "on_hand", "safety_stock", "safety_stock_short", "inventory_value", "holding_cost"]
    ]

    seg = case.customers.set_index("customer")["segment"]
    dem = case.demand[["product", "customer", "period", "quantity", "price"]].copy()
    dem["segment"] = dem["customer"].map(seg)
    pcp = ["product", "customer", "period"]
    short = v["short"][pcp + ["value", "cost"]].rename(columns={"value": "short", "cost": "shortage_cost"})
    dem = dem.merge(short, how="left", on=pcp).fillna({"short": 0.0, "shortage_cost": 0.0})
    bo = backorders(built, v)
    dem = dem.merge(bo[pcp + ["ontime", "new_backorders", "late", "backlog"]], how="left", on=pcp)
    has_bo = dem["ontime"].notna()
    dem["ontime"] = dem["ontime"].where(has_bo, dem["quantity"] - dem["short"])
    dem = dem.fillna({"new_backorders": 0.0, "late": 0.0, "backlog": 0.0})
    dem["served"] = dem["quantity"] - dem["short"]
    dem["revenue"] = (dem["ontime"] + dem["late"]) * dem["price"]
    dem["revenue_deferred"] = dem["late"] * dem["price"]
    dem["revenue_lost"] = dem["short"] * dem["price"]
    demand_tbl = dem.assign(_t=dem["period"].map(order)).sort_values(["customer", "product", "_t"])[
        ["product", "customer", "segment", "period", "quantity", "ontime", "new_backorders", "late", "backlog", "short", "price", "revenue", "revenue_deferred", "revenue_lost", "shortage_cost"]
    ]

    svc = dem.groupby(["segment", "period"], as_index=False)[["quantity", "ontime", "late", "short"]].sum()
    svc["fill_rate"] = np.where(svc["quantity"] > 0, svc["ontime"] / svc["quantity"], np.nan)
    target = case.service.set_index("segment")["fill_rate"]
    svc["target"] = svc["segment"].map(target).fillna(0.0)
    service_tbl = svc.assign(_t=svc["period"].map(order)).sort_values(["segment", "_t"]).drop(columns="_t")

    flows = pd.concat([v["ship"], v["deliver"]], ignore_index=True)
    costs = {
        "production_cost": float((make["value"] * make["cost"]).sum()),
        "outsourcing_cost": float((out_["value"] * out_["cost"]).sum()),
        "overtime_cost": float((v["overtime_hours"]["value"] * v["overtime_hours"]["cost"]).sum()),
        "freight_cost": float((flows["value"] * flows["freight"]).sum()),
        "holding_cost_sites": float((inv["value"] * inv["cost"]).sum()),
        "holding_cost_in_transit": float((flows["value"] * flows["transit_holding"]).sum()),
        "shortage_cost": float((v["short"]["value"] * v["short"]["cost"]).sum()),
        "safety_stock_penalty": float((v["ss_short"]["value"] * v["ss_short"]["cost"]).sum()),
        "purchase_cost": float((v["buy"]["value"] * v["buy"]["cost"]).sum()),
        "backorder_cost": float((bo["backlog"] * bo["backorder_part"]).sum()),
        "backlog_at_end_cost": float((bo["backlog"] * bo["end_part"]).sum()),
    }
    premium = flows[flows["premium"].astype(bool)]
    total_q = float(dem["quantity"].sum())
    at_end = bo[bo["t"] == len(case.periods) - 1]
    rows = [
        ("status", sol.status, ""),
        ("total_cost", sol.objective, cur),
        *[(g, sum(costs[c] for c in parts), cur) for g, parts in COST_GROUPS.items()],
        *[(k_, costs[k_], cur) for k_ in COST_COMPONENTS],
        ("revenue", float(dem["revenue"].sum()), cur),
        ("revenue_deferred", float(dem["revenue_deferred"].sum()), cur),
        ("revenue_lost", float(dem["revenue_lost"].sum()), cur),
        ("demand_units", total_q, "units"),
        ("ontime_units", float(dem["ontime"].sum()), "units"),
        ("late_units", float(dem["late"].sum()), "units"),
        ("lost_units", float(dem["short"].sum()), "units"),
        ("backlog_at_end_units", float(at_end["backlog"].sum()), "units"),
        ("backlog_at_end_revenue", float((at_end["backlog"] * at_end["price"]).sum()), cur),
        ("fill_rate", float(dem["ontime"].sum()) / total_q if total_q else float("nan"), "fraction"),
        ("premium_freight_spend", float((premium["value"] * premium["freight"]).sum()), cur),
        ("premium_freight_units", float(premium["value"].sum()), "units"),
        ("inventory_value_end", float(inventory.loc[inventory["period"] == case.period_names[-1], "inventory_value"].sum()), cur),
        ("in_transit_end_units", float(in_transit["quantity"].sum()), "units"),
        ("in_transit_end_value", float(in_transit["value"].sum()), cur),
        ("solver", sol.solver, ""),
        ("algorithm", sol.algorithm, ""),
        ("solve_seconds", sol.seconds, "s"),
        ("one_sided_price_resolves", sol.one_sided.get("resolves", 0.0), "count"),
        ("one_sided_prices_left_out", sol.one_sided.get("left_out", 0.0), "count"),
        ("variables", built.lp.num_col, "count"),
        ("constraints", built.lp.num_row, "count"),
    ]
    for stage, secs in (elapsed or {}).items():
        rows.append((f"{stage}_seconds", secs, "s"))
    summary = pd.DataFrame(rows, columns=["metric", "value", "unit"])
    summary["value"] = summary["value"].astype(object)

    tables = {
        "summary": summary,
        "production": production.reset_index(drop=True),
        "capacity": capacity_tbl.reset_index(drop=True),
        "shipments": shipments.reset_index(drop=True),
        "inventory": inventory.reset_index(drop=True),
        "demand": demand_tbl.reset_index(drop=True),
        "service": service_tbl.reset_index(drop=True),
        "shadow_prices": shadow_prices(built, sol),
    }
    tables["provenance"] = provenance(case, sol.solver, sol.options, sol.objective)
    buy = v["buy"]
    if len(case.supply) or len(buy):
        b = buy[buy["value"] > 0]
        tables["purchases"] = b.assign(quantity=b["value"], unit_cost=b["cost"], purchase_cost=b["value"] * b["cost"]).sort_values(["site", "product", "t"])[
            ["site", "product", "period", "quantity", "unit_cost", "purchase_cost"]
        ].rename(columns={"site": "supplier"}).reset_index(drop=True)
    if len(case.bom):
        use = make.merge(case.bom, on=["site", "product"])
        use = use[use["value"] > 0]
        tables["consumption"] = use.assign(made=use["value"], component_units=use["value"] * use["quantity"]).sort_values(["site", "product", "component", "t"])[
            ["site", "product", "component", "period", "made", "quantity", "component_units"]
        ].rename(columns={"quantity": "units_per_unit"}).reset_index(drop=True)
    if len(bo):
        tables["backorders"] = bo[(bo["new_backorders"] > 0) | (bo["late"] > 0) | (bo["backlog"] > 0)].assign(
            revenue_deferred=lambda d: d["late"] * d["price"]
        )[["product", "customer", "segment", "period", "new_backorders", "late", "backlog", "revenue_deferred"]].reset_index(drop=True)
    if len(in_transit):
        tables["in_transit"] = in_transit
    return Plan(status=sol.status, total_cost=sol.objective, currency=cur, tables=tables, warnings=list(case.warnings))
