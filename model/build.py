"""Build the AOP linear program as sparse term tables, stacked into the matrix HiGHS takes.

Units: quantities in units per period, hours per period, money in the case currency.
Every variable is >= 0. Only index combinations that can carry flow are created:

* a product *is needed* at a site if it can reach, along lanes, a customer that demands it,
  or the site holds a safety-stock or ending target for it;
* a product *can exist* at a site if it is made or bought there, is on hand there initially
  or arrives as a scheduled receipt, or can arrive on a lane from a site where it can exist
  (and is needed at the destination).

Transit follows the plan's own calendar (each period's ``days``, cumulatively): see
``departure_shares`` (between sites, split on arrival) and ``arrival_shares`` (to customers,
split on departure, so a delivery never lands in a period that cannot take it).

Each constraint family is one function below, named after the family; its docstring states
the row, its limit (the constant right-hand side) and the meaning of its shadow price.
Sign convention everywhere: shadow_price = d(total cost) / d(limit).

A family function states its rows once, as a table of terms (row key, column, coefficient)
and a table of limits. Two back ends read those tables: ``assemble`` stacks them straight
into the sparse matrix HiGHS takes (the default: vectorised, no Python object per variable),
and ``pyomo_backend.pyomo_model`` builds the same LP as a Pyomo model with variables and
constraints indexed by the business keys (``m.capacity['PL1', 'LINE', '2027-03']``), compiled
by Pyomo's standard-form compiler. The tests check that both give the same LP.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import InputError, Problem
from .families import FAMILIES, Context, Family
from .lp import LP, SENSE, Block, assemble
from .read import ROW
from .validate import Case

#: Variable families, their Pyomo component names and index columns.
VARIABLES: dict[str, tuple[str, ...]] = {
    "make": ("site", "product", "period"),
    "outsource": ("site", "product", "period"),
    "overtime_hours": ("site", "resource", "period"),
    "ship": ("origin", "destination", "mode", "product", "period"),
    "deliver": ("origin", "destination", "mode", "product", "period"),
    "inv": ("site", "product", "period"),
    "short": ("product", "customer", "period"),
    "ss_short": ("site", "product", "period"),
    "end_short": ("site", "product"),
    "buy": ("site", "product", "period"),
    "ontime": ("product", "customer", "period"),
    "late": ("product", "customer", "period"),
    "newlate": ("product", "customer", "period"),
    "backlog_units": ("product", "customer", "period"),
}


@dataclass
class Rows:
    """Constraint blocks and their limits gathered while building, and rows that cannot hold
    (no variable can meet a positive limit), reported as infeasible before solving."""

    blocks: list[Block] = field(default_factory=list)
    limits: list[np.ndarray] = field(default_factory=list)
    empty_rows: list[tuple] = field(default_factory=list)


@dataclass
class Built:
    """A built plan: variable tables (index columns, ``cost``, ``col``), the LP, the lanes'
    legs on the calendar, demand per segment and period, and the families it was built from."""

    case: Case
    variables: dict[str, pd.DataFrame]
    lp: LP
    legs: pd.DataFrame  # lane_legs: how each lane's flow splits between departure and arrival periods
    segment_demand: pd.DataFrame  # segment, period, quantity, reachable (build.segment_demand)
    families: dict[str, Family] = field(default_factory=lambda: dict(FAMILIES))
    empty_rows: list[tuple] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


# --------------------------------------------------------------------------------------
# The plan's calendar and transit
# --------------------------------------------------------------------------------------

#: Days: a lead time that reaches a period's end within this is taken to miss the period.
EPS_DAYS = 1e-9
#: Shares below this are dropped (floating-point crumbs of an overlap).
EPS_SHARE = 1e-12


def calendar(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (in days from the start of the plan) of each period, from its ``days``."""
    end = np.cumsum(np.asarray(days, dtype=float))
    return end - np.asarray(days, dtype=float), end


def _overlap(a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray) -> np.ndarray:
    return np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0.0, None)


def departure_shares(start: np.ndarray, end: np.ndarray, lead: float) -> np.ndarray:
    """Shipments between sites, indexed by the period they leave: row t gives the share of what
    leaves in t that arrives in each period u (T columns) and after the plan (column T).

    What leaves in t leaves evenly over [start_t, end_t), so it arrives evenly over
    [start_t + lead, end_t + lead); each period takes the share that overlaps it. At the end
    of the plan, the mirror of the start's rule for deliveries: what would arrive after the
    plan, from a departure that can still arrive within it (start_t + lead before the plan's
    end), leaves early enough to, and arrives in the last period; only what cannot arrive in
    time at all is in transit when the plan ends (it counts toward the destination's closing
    stock). Without this, a December truck would lose the share of its load that leaves in
    the month's last days, and the plan would shift December's shipments into November."""
    a0, a1 = start + lead, end + lead
    inside = _overlap(a0[:, None], a1[:, None], start[None, :], end[None, :])
    after = np.clip(a1 - np.maximum(a0, end[-1]), 0.0, None)
    in_time = a0 < end[-1] - EPS_DAYS
    inside[in_time, -1] += after[in_time]
    after = np.where(in_time, 0.0, after)
    return np.column_stack([inside, after]) / (end - start)[:, None]


def arrival_shares(start: np.ndarray, end: np.ndarray, lead: float) -> np.ndarray:
    """Deliveries to customers, indexed by the period they arrive: row u gives the share of
    what arrives in u that leaves the origin in each period t.

    A customer holds no stock, so a delivery is never split into a period that cannot take it:
    it arrives in u, evenly over [start_u, end_u), and so leaves over [start_u - lead,
    end_u - lead), split between the origin's periods (whose stock absorbs the split). The part
    that would leave before the plan starts leaves on its first day instead and still arrives
    within u. A period that ends before the lead time has passed (end_u <= lead) cannot be
    reached: its row is all zeros."""
    d0, d1 = start - lead, end - lead
    m = _overlap(d0[:, None], d1[:, None], start[None, :], end[None, :])
    reachable = d1 > EPS_DAYS
    m[:, 0] += np.where(reachable, np.clip(np.minimum(d1, 0.0) - d0, 0.0, None), 0.0)
    m[~reachable] = 0.0
    return m / (end - start)[:, None]


def lane_legs(case: Case) -> pd.DataFrame:
    """Every lane's legs on the plan's calendar: (lane, t, dep, arr, share), where ``t`` is the
    period that indexes the lane's flow (departure between sites, arrival at customers),
    ``dep`` and ``arr`` the periods it leaves and arrives (arr = T: after the plan) and
    ``share`` the part of the flow on that leg. Computed once per distinct lead time."""
    start, end = calendar(case.periods["days"].to_numpy(float))
    lanes = case.lanes
    to_site = lanes["destination"].isin(set(case.sites["site"]))
    frames = []
    for (site_bound, lead), grp in lanes.groupby([to_site, lanes["lead_time_days"]], sort=False):
        if site_bound:
            m = departure_shares(start, end, float(lead))
            t, u = np.nonzero(m > EPS_SHARE)
            legs = pd.DataFrame({"t": t, "dep": t, "arr": u, "share": m[t, u]})
        else:
            m = arrival_shares(start, end, float(lead))
            u, t = np.nonzero(m > EPS_SHARE)
            legs = pd.DataFrame({"t": u, "dep": t, "arr": u, "share": m[u, t]})
        frames.append(grp[["lane"]].merge(legs, how="cross"))
    cols = {"lane": "int64", "t": "int64", "dep": "int64", "arr": "int64", "share": "float64"}
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({c: pd.Series(dtype=d) for c, d in cols.items()})
    return out


# --------------------------------------------------------------------------------------
# Index sets
# --------------------------------------------------------------------------------------


def _grow(seed: pd.DataFrame, step) -> pd.DataFrame:
    """Fixed point of (site, product) pairs: add ``step(frontier)`` until nothing is new."""
    seen = seed.drop_duplicates()
    frontier = seen
    while not frontier.empty:
        nxt = step(frontier).drop_duplicates().merge(seen, how="left", indicator=True)
        frontier = nxt[nxt["_merge"] == "left_only"].drop(columns="_merge")
        seen = pd.concat([seen, frontier], ignore_index=True)
    return seen


def index_sets(case: Case) -> dict[str, pd.DataFrame]:
    """Sparse (site, product) pairs and (lane, product) combinations that can carry flow."""
    sites = set(case.sites["site"])
    suppliers = set(case.sites.loc[case.sites["kind"] == "supplier", "site"])
    lanes = case.lanes
    site_lanes = lanes[lanes["destination"].isin(sites)]
    cust_lanes = lanes[~lanes["destination"].isin(sites)]
    back = site_lanes[["origin", "destination"]].drop_duplicates()
    bom = case.bom[["site", "product", "component"]]

    dem = case.demand[case.demand["quantity"] > 0][["customer", "product"]].drop_duplicates()
    # needed: backwards from customers' demand and sites' own targets, through lanes and BOMs.
    seed = cust_lanes.merge(dem, left_on="destination", right_on="customer")[["origin", "product"]]
    seed = seed.rename(columns={"origin": "site"})
    inv = case.inventory
    targets = inv[(inv["safety_stock"] > 0) | (inv["ending_min"].fillna(0) > 0)][["site", "product"]]

    def upstream(f: pd.DataFrame) -> pd.DataFrame:
        by_lane = f.merge(back, left_on="site", right_on="destination")[["origin", "product"]].rename(columns={"origin": "site"})
        by_bom = f.merge(bom, on=["site", "product"])[["site", "component"]].rename(columns={"component": "product"})
        return pd.concat([by_lane, by_bom], ignore_index=True)

    need = _grow(pd.concat([seed, targets], ignore_index=True), upstream)

    # can exist: forwards from production, purchases, opening stock and scheduled receipts,
    # only where needed.
    prod = case.production
    makeable = prod[(prod["max_units"].fillna(np.inf) > 0) | prod["outsource_cost"].notna()][["site", "product"]]
    sup = case.supply
    buyable = sup[sup["max_units"].fillna(np.inf) > 0][["site", "product"]] if len(sup) else sup[["site", "product"]]
    rc = case.receipts
    opening = pd.concat([inv[inv["initial"] > 0][["site", "product"]], rc[rc["quantity"] > 0][["site", "product"]]], ignore_index=True).drop_duplicates()
    src = pd.concat([makeable, buyable, opening], ignore_index=True).merge(need)
    fwd = back.rename(columns={"origin": "site"})

    def downstream(f: pd.DataFrame) -> pd.DataFrame:
        return f.merge(fwd, on="site")[["destination", "product"]].rename(columns={"destination": "site"}).merge(need)

    exist = _grow(src, downstream)
    made = makeable.merge(need)
    components = made.merge(bom, on=["site", "product"])[["site", "component"]].rename(columns={"component": "product"})
    stock = pd.concat([exist, opening, targets, components], ignore_index=True).drop_duplicates()
    stock = stock[~stock["site"].isin(suppliers)]

    ship_site = site_lanes.merge(exist.rename(columns={"site": "origin"})).merge(
        exist.rename(columns={"site": "destination"})
    )
    ship_cust = cust_lanes.merge(exist.rename(columns={"site": "origin"})).merge(
        dem.rename(columns={"customer": "destination"})
    )
    lane_products = pd.concat([ship_site, ship_cust], ignore_index=True)[["lane", "product"]]
    return {"exist": exist, "stock": stock, "lane_products": lane_products, "demanded": dem, "need": need}


# --------------------------------------------------------------------------------------
# Product sizes and freight rates
# --------------------------------------------------------------------------------------

SIZE_COLUMN = {"kg": "weight_kg", "m3": "volume_m3"}


def lane_product_rates(case: Case, lane_products: pd.DataFrame) -> pd.DataFrame:
    """Per lane and product that can move on it: ``freight`` (money per unit: a lane_rates row,
    else cost_per_unit + cost_per_kg x weight + cost_per_m3 x volume) and ``size`` (what one
    unit counts against the lane's capacity: 1, its weight or its volume)."""
    lp = lane_products.merge(case.lanes, on="lane").merge(case.products[["product", "weight_kg", "volume_m3"]], on="product")
    base = lp["cost_per_unit"] + lp["cost_per_kg"] * lp["weight_kg"].fillna(0.0) + lp["cost_per_m3"] * lp["volume_m3"].fillna(0.0)
    rates = case.lane_rates[["origin", "destination", "mode", "product", "cost_per_unit"]].rename(columns={"cost_per_unit": "contract_rate"})
    lp = lp.merge(rates, how="left", on=["origin", "destination", "mode", "product"])
    lp["contract"] = lp["contract_rate"].notna()
    lp["freight"] = lp["contract_rate"].where(lp["contract"], base)
    lp["size"] = np.select([lp["capacity_unit"] == "kg", lp["capacity_unit"] == "m3"], [lp["weight_kg"], lp["volume_m3"]], 1.0)
    return lp[["lane", "product", "freight", "size", "contract"]]


def check_sizes(case: Case, sets: dict[str, pd.DataFrame]) -> None:
    """A freight rate, lane capacity or storage limit counted in kg or m3 needs the size of every
    product it applies to: one problem per product and missing size, naming where it is needed."""
    sizes = case.products[["product", "weight_kg", "volume_m3", ROW]].rename(columns={ROW: "product_row"})
    lp = sets["lane_products"].merge(case.lanes.drop(columns=ROW, errors="ignore"), on="lane").merge(sizes, on="product")
    rated = set(zip(case.lane_rates["origin"], case.lane_rates["destination"], case.lane_rates["mode"], case.lane_rates["product"]))
    contract = pd.Series([k in rated for k in zip(lp["origin"], lp["destination"], lp["mode"], lp["product"])], index=lp.index, dtype=bool)
    uses = []
    for basis, size in SIZE_COLUMN.items():
        cost = (lp[f"cost_per_{basis}"] > 0) & ~contract
        cap = (lp["capacity_unit"] == basis) & lp["capacity"].notna()
        for mask, why in ((cost, f"charges cost_per_{basis}"), (cap, f"counts its capacity in {basis}")):
            hit = lp[mask & lp[size].isna()]
            uses.append(hit.assign(size=size, where=[f"lane {o} -> {d} by {m} {why}" for o, d, m in zip(hit["origin"], hit["destination"], hit["mode"])]))
        st = sets["stock"].merge(case.sites[case.sites["storage_unit"].eq(basis) & case.sites["storage_capacity"].notna()][["site"]])
        st = st.merge(sizes, on="product")
        hit = st[st[size].isna()]
        uses.append(hit.assign(size=size, where=[f"site {s_} counts its storage in {basis}" for s_ in hit["site"]]))
    missing = pd.concat(uses, ignore_index=True)
    if missing.empty:
        return
    problems = []
    for (product, size), grp in missing.groupby(["product", "size"], sort=False):
        places = list(dict.fromkeys(grp["where"]))
        more = f" (and {len(places) - 1} more)" if len(places) > 1 else ""
        problems.append(Problem(case.where.get("products", "table 'products'"), f"{product} has no {size}, but {places[0]}{more}: give its {size}", int(grp["product_row"].iloc[0]), size))
    raise InputError(sorted(problems, key=lambda p: p.row or 0))


# --------------------------------------------------------------------------------------
# Variables
# --------------------------------------------------------------------------------------


def _periods(case: Case) -> pd.DataFrame:
    return case.periods[["period", "t", "days"]]


def variable_tables(case: Case, sets: dict[str, pd.DataFrame], legs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """One frame per variable family: index columns plus ``cost`` (money per unit of the variable)
    and, where useful, the cost's parts."""
    per = _periods(case)
    prod_val = case.products.set_index("product")
    T = len(per)
    out: dict[str, pd.DataFrame] = {}

    prod = case.production.merge(sets["exist"])
    mk = prod[prod["max_units"].fillna(np.inf) > 0].merge(per, how="cross")
    out["make"] = mk.assign(cost=mk["unit_cost"])[["site", "product", "period", "t", "cost", "max_units"]]
    osrc = prod[prod["outsource_cost"].notna() & (prod["outsource_max_units"].fillna(np.inf) > 0)].merge(per, how="cross")
    out["outsource"] = osrc.assign(cost=osrc["outsource_cost"])[["site", "product", "period", "t", "cost", "outsource_max_units"]]

    made = case.routings.merge(out["make"][["site", "product"]].drop_duplicates())[["site", "resource"]].drop_duplicates()
    cap = case.capacity.merge(made).merge(per[["period", "t"]])
    ot = cap[cap["overtime_hours"] > 0]
    out["overtime_hours"] = ot.assign(cost=ot["overtime_cost"])[["site", "resource", "period", "t", "cost", "overtime_hours"]]

    # Flows on lanes: between sites indexed by the period they leave (ship), to customers by
    # the period they arrive (deliver); one variable per lane, product and indexing period.
    lp = sets["lane_products"].merge(case.lanes[["lane", "origin", "destination", "mode", "premium", "lead_time_days"]], on="lane")
    lp = lp.merge(lane_product_rates(case, sets["lane_products"]), on=["lane", "product"])
    flows = lp.merge(legs[["lane", "t"]].drop_duplicates(), on="lane").merge(per[["period", "t"]], on="t")
    uv = flows["product"].map(prod_val["unit_value"]) * flows["product"].map(prod_val["holding_rate"])
    flows = flows.assign(transit_holding=uv * flows["lead_time_days"] / 365.0)
    flows["cost"] = flows["freight"] + flows["transit_holding"]
    cols = ["origin", "destination", "mode", "product", "period", "t", "lane", "premium", "cost", "freight", "transit_holding", "size"]
    to_site = flows["destination"].isin(set(case.sites["site"]))
    out["ship"] = flows[to_site][cols]
    deliver = flows[~to_site][cols]
    # A delivery is useful only where it can meet demand: in a period with demand, or (where
    # the customer accepts backorders) once some demand has been due.
    seg = case.customers.set_index("customer")["segment"]
    bo_segments = set(case.service.loc[case.service["backorder_cost"].notna(), "segment"])
    due = case.demand[case.demand["quantity"] > 0][["product", "customer", "period"]].merge(per[["period", "t"]])
    first_due = due.groupby(["product", "customer"], as_index=False)["t"].min().rename(columns={"customer": "destination", "t": "t_first"})
    deliver = deliver.merge(first_due, on=["product", "destination"])
    waits = deliver["destination"].map(seg).isin(bo_segments)
    has_demand = pd.MultiIndex.from_frame(deliver[["product", "destination", "t"]]).isin(pd.MultiIndex.from_frame(due[["product", "customer", "t"]]))
    out["deliver"] = deliver[(waits & (deliver["t"] >= deliver["t_first"])) | has_demand][cols]

    st = sets["stock"].merge(per, how="cross")
    hold = st["product"].map(prod_val["unit_value"]) * st["product"].map(prod_val["holding_rate"]) * st["days"] / 365.0
    out["inv"] = st.assign(cost=hold)[["site", "product", "period", "t", "cost"]]

    d = case.demand[case.demand["quantity"] > 0]
    segment = d["customer"].map(seg)
    sc = case.service.set_index("segment")["shortage_cost"]
    short_cost = segment.map(sc).fillna(d["price"])
    short = d.assign(cost=short_cost, segment=segment).merge(per[["period", "t"]])
    # A customer who accepts backorders is still owed the last period's unmet demand when the
    # plan ends (see backorder_tables): it cannot be lost then.
    short = short[~(short["segment"].isin(bo_segments) & (short["t"] == T - 1))]
    out["short"] = short[["product", "customer", "period", "t", "cost", "segment", "quantity", "price"]]

    ss = case.inventory[case.inventory["safety_stock"] > 0].merge(per[["period", "t"]], how="cross")
    out["ss_short"] = ss.assign(cost=ss["safety_stock_penalty"])[["site", "product", "period", "t", "cost", "safety_stock"]]

    # A closing target left blank (the safety stock) is soft: each unit short costs the product's
    # unit_value, what restocking it next year costs; so the year does not end on an empty
    # shelf, yet no sale is lost to keep one (a sale is worth its price, above its value).
    inv = case.inventory
    soft = inv[inv["ending_soft"].astype(bool) & (inv["ending_min"] > 0)][["site", "product", "ending_min"]]
    soft = soft.assign(cost=soft["product"].map(prod_val["unit_value"]))
    out["end_short"] = soft[soft["cost"] > 0].reset_index(drop=True)

    sup = case.supply.merge(sets["exist"]).merge(per[["period", "t"]])
    sup = sup[sup["max_units"].fillna(np.inf) > 0]
    out["buy"] = sup.assign(cost=sup["unit_cost"])[["site", "product", "period", "t", "cost", "max_units"]]

    out.update(backorder_tables(case, sets, per))
    return {k: v.reset_index(drop=True) for k, v in out.items()}


def backorder_tables(case: Case, sets: dict[str, pd.DataFrame], per: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Variables of customers whose segment accepts backorders (service.backorder_cost given):
    ontime and late deliveries, new backorders and the backlog at each period end (units).

    End of the plan: what is still owed after the last period costs the shortage cost (what
    losing it would cost) instead of that period's backorder cost, and the last period's demand
    can only be served or owed, not lost. So leaving the last month's demand unserved costs
    exactly what losing it would (no cheap deferral past the plan), and a customer who is owed
    at the end is reported as owed, not lost. The shortage cost there is the segment's, else
    the price of the customer's latest demand for the product (the units still owed are the
    most recent ones), else the product's price. ``backorder_part`` and ``end_part`` split the
    cost."""
    seg = case.customers.set_index("customer")["segment"]
    bo = case.service.set_index("segment")["backorder_cost"].dropna()
    sc = case.service.set_index("segment")["shortage_cost"]
    pairs = sets["demanded"].assign(segment=lambda d: d["customer"].map(seg))
    pairs = pairs[pairs["segment"].isin(bo.index)]
    grid = pairs.merge(per[["period", "t"]], how="cross")
    grid = grid.merge(case.demand[["product", "customer", "period", "quantity", "price"]], how="left")
    grid["quantity"] = grid["quantity"].fillna(0.0)
    grid = grid.sort_values(["product", "customer", "t"]).reset_index(drop=True)
    latest = grid["price"].where(grid["quantity"] > 0).groupby([grid["product"], grid["customer"]]).ffill()
    latest = latest.fillna(grid["product"].map(case.products.set_index("product")["price"]))
    lost = grid["segment"].map(sc).fillna(latest)
    is_last = grid["t"] == len(per) - 1
    backorder_part = np.where(is_last, 0.0, grid["segment"].map(bo))
    end_part = np.where(is_last, lost, 0.0)
    cols = ["product", "customer", "period", "t", "cost", "segment"]
    return {
        "ontime": grid.assign(cost=0.0)[cols],
        "late": grid.assign(cost=0.0)[cols],
        "newlate": grid[grid["quantity"] > 0].assign(cost=0.0)[cols],
        "backlog_units": grid.assign(cost=backorder_part + end_part, backorder_part=backorder_part, end_part=end_part, lost_cost=lost)[cols + ["backorder_part", "end_part", "lost_cost"]],
    }


def canonical(df: pd.DataFrame, keys: list[str], per: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by their keys (periods in plan order), so the same plan builds the same LP
    whatever order its input rows came in: an edited case then changes numbers in place."""
    if not len(df) or not keys:
        return df.reset_index(drop=True)
    rank = dict(zip(per["period"], per["t"]))
    # Integer codes in the text's sort order: lexsort on them gives the order of the text
    # itself, about 4x faster than on the strings (a sixth of a 300k build was this sort).
    by = [df[c].map(rank).to_numpy() if c == "period" else pd.factorize(df[c].astype(str), sort=True)[0] for c in reversed(keys)]
    order = np.lexsort(by)
    return df.iloc[order].reset_index(drop=True)


def _number_columns(tables: dict[str, pd.DataFrame], per: pd.DataFrame) -> int:
    """Give every variable its LP column, family after family in ``VARIABLES`` order, each
    family's variables in canonical order."""
    n = 0
    for name, keys in VARIABLES.items():
        df = tables[name] = canonical(tables[name], list(keys), per)
        df["col"] = np.arange(n, n + len(df), dtype=np.int64)
        n += len(df)
    return n


def flow_terms(v: dict[str, pd.DataFrame], legs: pd.DataFrame, T: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """What leaves and what arrives, per flow variable and period, as terms.

    departures: (origin, destination, mode, lane, product, size, col, t, coef), t the period it
    leaves; arrivals: (destination, product, col, t, coef) for arrivals within the plan;
    arrivals after the plan: (destination, product, col, coef). A
    shipment between sites leaves whole in its period and arrives split; a delivery arrives
    whole in its period and leaves split."""
    keys = ["origin", "destination", "mode", "lane", "product", "size", "col"]
    ship, dlv = v["ship"], v["deliver"]
    ship_legs = ship[keys + ["t"]].merge(legs, on=["lane", "t"])
    ship_arr = ship_legs[ship_legs["arr"] < T]
    dlv_legs = dlv[keys + ["t"]].merge(legs, on=["lane", "t"])
    departures = pd.concat(
        [ship[keys + ["t"]].assign(coef=1.0), dlv_legs[keys].assign(t=dlv_legs["dep"], coef=dlv_legs["share"])], ignore_index=True
    )
    arrivals = pd.concat(
        [ship_arr[["destination", "product", "col"]].assign(t=ship_arr["arr"], coef=ship_arr["share"]), dlv[["destination", "product", "col", "t"]].assign(coef=1.0)],
        ignore_index=True,
    )
    late = ship_legs[ship_legs["arr"] >= T]
    return departures, arrivals, late[["destination", "product", "col"]].assign(coef=late["share"])


# --------------------------------------------------------------------------------------
# Constraint families
# --------------------------------------------------------------------------------------


def _rows(m: Rows, fam: Family, per: pd.DataFrame, terms_: pd.DataFrame, limits: pd.DataFrame) -> None:
    """Add a family's rows: one per row of ``limits`` (index columns + ``limit``) that has at
    least one term; terms are (index columns, ``coef``, ``col``). A family with no index
    columns has one row.

    A row with no term constrains nothing, unless its limit cannot hold (e.g. a fill-rate target
    for a segment no lane reaches): that is remembered and reported as infeasible."""
    keys = list(fam.index)
    limits = canonical(limits.drop_duplicates(keys) if keys else limits.head(1), keys, per)
    rows = limits[keys].assign(_r=np.arange(len(limits)))
    if len(terms_) and len(limits):
        t = terms_[keys + ["coef", "col"]].merge(rows, on=keys) if keys else terms_[["coef", "col"]].assign(_r=0)
    else:
        t = pd.DataFrame({"_r": [], "coef": [], "col": []})
    t = t[t["coef"].to_numpy() != 0]
    used = np.zeros(len(limits), dtype=bool)
    used[t["_r"].to_numpy(dtype=np.int64)] = True
    lim = limits["limit"].to_numpy(dtype=float)
    bad = ~used & ((lim > 1e-9) if fam.sense == ">=" else (lim < -1e-9) if fam.sense == "<=" else (np.abs(lim) > 1e-9))
    m.empty_rows.extend((fam.name, k, v) for k, v in zip(limits.loc[bad, keys].itertuples(index=False, name=None), lim[bad]))
    # Renumber the rows that have terms, keeping the limits' order.
    new = np.cumsum(used) - 1
    m.blocks.append(
        Block(
            family=fam.name,
            keys=limits.loc[used, keys].reset_index(drop=True),
            sense=SENSE[fam.sense],
            row=new[t["_r"].to_numpy(dtype=np.int64)],
            col=t["col"].to_numpy(dtype=np.int64),
            coef=t["coef"].to_numpy(dtype=float),
        )
    )
    m.limits.append(lim[used])


def on_time_terms(case: Case, v: dict[str, pd.DataFrame], arrivals: pd.DataFrame, per: pd.DataFrame) -> pd.DataFrame:
    """On-time deliveries by product, customer and period, as terms: what arrives at a
    customer (``kind`` 'deliver'), or the ``ontime`` variable where the segment accepts
    backorders (arrivals there may also clear backlog)."""
    k = ["product", "customer", "period"]
    arr = arrivals[~arrivals["destination"].isin(set(case.sites["site"]))].rename(columns={"destination": "customer"}).merge(per[["period", "t"]], on="t")
    direct = arr[~arr["customer"].isin(set(v["ontime"]["customer"]))]
    return pd.concat(
        [direct[k + ["coef", "col"]].assign(kind="deliver"), v["ontime"][k + ["col"]].assign(coef=1.0, kind="ontime")], ignore_index=True
    )


def segment_demand(case: Case, v: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Demand per segment and period (units): ``quantity``, all of it, and ``reachable``, what
    some lane can deliver in the period: the base of the fill-rate targets and their points
    (demand no lane can reach from the plan's start is outside any promise the plan can keep)."""
    seg = case.customers.set_index("customer")["segment"]
    k = ["product", "customer", "period"]
    d = case.demand.assign(segment=case.demand["customer"].map(seg))
    can = v["deliver"][["product", "destination", "period"]].drop_duplicates().rename(columns={"destination": "customer"})
    d = d.merge(can.assign(_reach=True), how="left", on=k)
    d["reachable"] = np.where(d["_reach"].notna(), d["quantity"], 0.0)
    return d.groupby(["segment", "period"], as_index=False)[["quantity", "reachable"]].sum()


# --------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------


def build(case: Case, families: dict[str, Family] | None = None) -> Built:
    """Build the plan's LP: sparse variable tables, every constraint family of the registry
    (``families.FAMILIES`` unless given), the matrix. Raises InputError where a product lacks a
    size that a rate or limit needs."""
    families = FAMILIES if families is None else families
    sets = index_sets(case)
    check_sizes(case, sets)
    legs = lane_legs(case)
    v = variable_tables(case, sets, legs)
    per = _periods(case)
    n = _number_columns(v, per)
    departures, arrivals, arrivals_after = flow_terms(v, legs, len(per))
    seg_demand = segment_demand(case, v)
    ctx = Context(case=case, sets=sets, v=v, per=per, departures=departures, arrivals=arrivals, ontime=on_time_terms(case, v, arrivals, per), segment_demand=seg_demand, legs=legs, arrivals_after=arrivals_after)
    m = Rows()
    for fam in families.values():
        _rows(m, fam, per, *fam.build(ctx))
    lp = assemble(m.blocks, m.limits, _costs(v, n))
    return Built(case=case, variables=v, lp=lp, legs=legs, segment_demand=seg_demand, families=dict(families), empty_rows=m.empty_rows, warnings=unreachable_demand(case))


def edit(base: Built, case: Case) -> Built:
    """The plan of ``case``, an edit of ``base``'s case."""
    return build(case, base.families)


def unreachable_demand(case: Case) -> list[Problem]:
    """Warnings for demand in periods that end before the quickest lane into the customer can
    arrive from the plan's start: nothing the plan does can reach them, so they will be short.
    Usually orders already shipped, which belong outside the plan's demand."""
    _, end = calendar(case.periods["days"].to_numpy(float))
    lanes = case.lanes[~case.lanes["destination"].isin(set(case.sites["site"]))]
    quickest = lanes.groupby("destination")["lead_time_days"].min()
    d = case.demand[case.demand["quantity"] > 0].merge(case.periods[["period", "t"]], on="period")
    d = d.assign(lead=d["customer"].map(quickest))
    d = d[d["lead"].notna() & (end[d["t"].to_numpy()] - d["lead"].to_numpy() <= EPS_DAYS)]
    waits = set(case.customers.loc[case.customers["segment"].isin(case.service.loc[case.service["backorder_cost"].notna(), "segment"]), "customer"])
    out = []
    for (customer, period), grp in d.groupby(["customer", "period"], sort=False):
        lead, ends = float(grp["lead"].iloc[0]), float(end[int(grp["t"].iloc[0])])
        fate = "backordered (to arrive later)" if customer in waits else "short"
        out.append(
            Problem(
                case.where.get("demand", "table 'demand'"),
                f"{grp['quantity'].sum():,.0f} units for {customer} in {period} cannot be reached: the quickest lane into it takes "
                f"{lead:g} days and {period} ends on day {ends:g} of the plan, so they will be {fate} and are outside the fill-rate "
                "target (orders already shipped belong outside the plan's demand)",
                int(grp[ROW].min()),
                "period",
                period,
            )
        )
    return out


def _costs(v: dict[str, pd.DataFrame], n: int) -> np.ndarray:
    c = np.zeros(n)
    for df in v.values():
        c[df["col"].to_numpy()] = df["cost"].to_numpy(dtype=float)
    return c
