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

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .errors import InputError, Problem
from .families import FAMILIES, LEGS, Context, Family
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
    context: Context | None = field(default=None, repr=False, compare=False)  # what the families were built from (``edit`` reuses it)
    parts: dict[str, FamilyRows] = field(default_factory=dict, repr=False, compare=False)  # each family's rows as built


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


def lane_legs(case: Case, only: np.ndarray | None = None) -> pd.DataFrame:
    """Every lane's legs on the plan's calendar: (lane, t, dep, arr, share), where ``t`` is the
    period that indexes the lane's flow (departure between sites, arrival at customers),
    ``dep`` and ``arr`` the periods it leaves and arrives (arr = T: after the plan) and
    ``share`` the part of the flow on that leg, sorted by lane, t, dep and arr. Computed once
    per distinct lead time; ``only``: these lanes alone."""
    start, end = calendar(case.periods["days"].to_numpy(float))
    lanes = case.lanes if only is None else case.lanes[case.lanes["lane"].isin(only)]
    to_site = lanes["destination"].isin(set(case.sites["site"])).to_numpy()
    lead = lanes["lead_time_days"].to_numpy(dtype=float)
    lane = lanes["lane"].to_numpy(dtype=np.int64)
    parts: list[tuple[np.ndarray, ...]] = []
    for site_bound, days in {(bool(s), float(d)) for s, d in zip(to_site, lead)}:
        if site_bound:
            m = departure_shares(start, end, days)
            t, u = np.nonzero(m > EPS_SHARE)
            leg = (t, t, u, m[t, u])
        else:
            m = arrival_shares(start, end, days)
            u, t = np.nonzero(m > EPS_SHARE)
            leg = (u, t, u, m[u, t])
        these = lane[(to_site == site_bound) & (lead == days)]
        parts.append((np.repeat(these, len(leg[0])), *(np.tile(x, len(these)) for x in leg)))
    cols = ("lane", "t", "dep", "arr", "share")
    out = pd.DataFrame({c: np.concatenate([p[i] for p in parts]) if parts else np.zeros(0, dtype=float if c == "share" else np.int64) for i, c in enumerate(cols)})
    out = out.astype({"lane": "int64", "t": "int64", "dep": "int64", "arr": "int64", "share": "float64"})
    return out.sort_values(["lane", "t", "dep", "arr"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Index sets
# --------------------------------------------------------------------------------------


def _grow(seed: pd.DataFrame, step: Callable[[tuple], Iterable[tuple]]) -> pd.DataFrame:
    """Fixed point of (site, product) pairs: add ``step(pair)`` of every new pair until nothing
    is new (the seed's pairs first, then in the order they are reached). A walk over Python
    sets: the graph has a node per site and product, far fewer than the plan has variables."""
    seen = dict.fromkeys(zip(seed["site"], seed["product"]))
    frontier = list(seen)
    while frontier:
        new = []
        for pair in frontier:
            for nxt in step(pair):
                if nxt not in seen:
                    seen[nxt] = None
                    new.append(nxt)
        frontier = new
    return pd.DataFrame(list(seen), columns=["site", "product"]) if seen else pd.DataFrame({"site": pd.Series(dtype=object), "product": pd.Series(dtype=object)})


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

    origins: dict[str, list[str]] = {}
    for o, d in zip(back["origin"], back["destination"]):
        origins.setdefault(d, []).append(o)
    components: dict[tuple, list[str]] = {}
    for s_, p_, c_ in zip(bom["site"], bom["product"], bom["component"]):
        components.setdefault((s_, p_), []).append(c_)

    def upstream(pair: tuple) -> Iterable[tuple]:
        site, product = pair
        yield from ((o, product) for o in origins.get(site, ()))
        yield from ((site, c) for c in components.get(pair, ()))

    need = _grow(pd.concat([seed, targets], ignore_index=True), upstream)

    # can exist: forwards from production, purchases, opening stock and scheduled receipts,
    # only where needed.
    prod = case.production
    # A production or supply row is a source even at a limit of 0 (a line shut, an outage): its
    # variable and row exist, so the limit has a price.
    makeable = prod[["site", "product"]]
    sup = case.supply
    buyable = sup[["site", "product"]].drop_duplicates()
    rc = case.receipts
    opening = pd.concat([inv[inv["initial"] > 0][["site", "product"]], rc[rc["quantity"] > 0][["site", "product"]]], ignore_index=True).drop_duplicates()
    src = pd.concat([makeable, buyable, opening], ignore_index=True).merge(need)
    needed = set(zip(need["site"], need["product"]))
    destinations: dict[str, list[str]] = {}
    for o, d in zip(back["origin"], back["destination"]):
        destinations.setdefault(o, []).append(d)

    def downstream(pair: tuple) -> Iterable[tuple]:
        site, product = pair
        return ((d, product) for d in destinations.get(site, ()) if (d, product) in needed)

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
    """Per lane and product that can move on it (one row per row of ``lane_products``, in its
    order): ``freight`` (money per unit: a lane_rates row, else cost_per_unit + cost_per_kg x
    weight + cost_per_m3 x volume) and ``size`` (what one unit counts against the lane's
    capacity: 1, its weight or its volume)."""
    lp = lane_products[["lane", "product"]].reset_index(drop=True)
    lanes = case.lanes.set_index("lane")
    products = case.products.set_index("product")
    lane, product = lp["lane"].to_numpy(), lp["product"]
    weight, volume = product.map(products["weight_kg"]).to_numpy(dtype=float), product.map(products["volume_m3"]).to_numpy(dtype=float)
    base = lanes["cost_per_unit"].to_numpy()[lane] + lanes["cost_per_kg"].to_numpy()[lane] * np.nan_to_num(weight) + lanes["cost_per_m3"].to_numpy()[lane] * np.nan_to_num(volume)
    rates = case.lane_rates
    if len(rates):
        key = pd.MultiIndex.from_arrays([lanes["origin"].to_numpy()[lane], lanes["destination"].to_numpy()[lane], lanes["mode"].to_numpy()[lane], product.to_numpy()])
        at = pd.MultiIndex.from_frame(rates[["origin", "destination", "mode", "product"]]).get_indexer(key)
        contract = at >= 0
        freight = np.where(contract, rates["cost_per_unit"].to_numpy(dtype=float)[np.maximum(at, 0)], base)
    else:
        contract, freight = np.zeros(len(lp), dtype=bool), base
    unit = lanes["capacity_unit"].to_numpy()[lane]
    size = np.select([unit == "kg", unit == "m3"], [weight, volume], 1.0)
    return lp.assign(freight=freight, size=size, contract=contract)


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
    and, where useful, the cost's parts (``VARIABLE_GROUPS``, group by group: which variables
    exist, then their numbers)."""
    out: dict[str, pd.DataFrame] = {}
    for group in VARIABLE_GROUPS:
        made = group.keys(case, sets, legs, out)
        for name, numbers in group.numbers(case, sets, made).items():
            made[name] = made[name].assign(**numbers)
        out.update(made)
    return {k: v.reset_index(drop=True) for k, v in out.items()}


def _positions(table: pd.DataFrame) -> pd.DataFrame:
    """A case table with ``_src``, each row's position: where a variable's numbers are read."""
    return table.reset_index(drop=True).assign(_src=np.arange(len(table)))


def _at(table: pd.DataFrame, column: str, df: pd.DataFrame, src: str = "_src") -> np.ndarray:
    """``table[column]`` at each row of ``df`` (``df[src]``: positions in ``table``)."""
    return table[column].to_numpy()[df[src].to_numpy(dtype=np.int64)]


def _production_keys(case: Case, sets: dict[str, pd.DataFrame], legs: pd.DataFrame, _made: dict) -> dict[str, pd.DataFrame]:
    """make and outsource: a plant's product wherever it can exist, per period; at a limit of 0
    too (its row then prices the shut line)."""
    per = _periods(case)
    prod = _positions(case.production).merge(sets["exist"])
    mk = prod.merge(per, how="cross")
    osrc = prod[prod["outsource_cost"].notna()].merge(per, how="cross")
    return {"make": mk[["site", "product", "period", "t", "_src"]], "outsource": osrc[["site", "product", "period", "t", "_src"]]}


def _production_numbers(case: Case, sets: dict, t: dict[str, pd.DataFrame]) -> dict[str, dict[str, np.ndarray]]:
    """Money per unit made (unit_cost) or co-manufactured (outsource_cost), and their limits."""
    p = case.production
    return {
        "make": {"cost": _at(p, "unit_cost", t["make"]), "max_units": _at(p, "max_units", t["make"])},
        "outsource": {"cost": _at(p, "outsource_cost", t["outsource"]), "outsource_max_units": _at(p, "outsource_max_units", t["outsource"])},
    }


def _overtime_keys(case: Case, sets: dict[str, pd.DataFrame], legs: pd.DataFrame, made: dict) -> dict[str, pd.DataFrame]:
    """overtime_hours: on the resources of what is made, where overtime is allowed."""
    per = _periods(case)
    used = case.routings.merge(made["make"][["site", "product"]].drop_duplicates())[["site", "resource"]].drop_duplicates()
    cap = _positions(case.capacity).merge(used).merge(per[["period", "t"]])
    return {"overtime_hours": cap[cap["overtime_hours"] > 0][["site", "resource", "period", "t", "_src"]]}


def _overtime_numbers(case: Case, sets: dict, t: dict[str, pd.DataFrame]) -> dict[str, dict[str, np.ndarray]]:
    c, ot = case.capacity, t["overtime_hours"]
    return {"overtime_hours": {"cost": _at(c, "overtime_cost", ot), "overtime_hours": _at(c, "overtime_hours", ot)}}


def _flow_keys(case: Case, sets: dict[str, pd.DataFrame], legs: pd.DataFrame, _made: dict) -> dict[str, pd.DataFrame]:
    """Flows on lanes: between sites indexed by the period they leave (ship), to customers by
    the period they arrive (deliver); one variable per lane, product and indexing period.
    ``_lp``: the lane-product it moves (a row of the index set ``lane_products``)."""
    per = _periods(case)
    lp = sets["lane_products"].reset_index(drop=True).assign(_lp=lambda d: np.arange(len(d)))
    lp = lp.merge(case.lanes[["lane", "origin", "destination", "mode"]], on="lane")
    flows = lp.merge(legs[["lane", "t"]].drop_duplicates(), on="lane").merge(per[["period", "t"]], on="t")
    cols = ["origin", "destination", "mode", "product", "period", "t", "lane", "_lp"]
    to_site = flows["destination"].isin(set(case.sites["site"]))
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
    return {"ship": flows[to_site][cols], "deliver": deliver[(waits & (deliver["t"] >= deliver["t_first"])) | has_demand][cols]}


def _flow_numbers(case: Case, sets: dict, t: dict[str, pd.DataFrame]) -> dict[str, dict[str, np.ndarray]]:
    """Freight per unit moved (``lane_product_rates``), holding in transit (unit_value x
    holding_rate x lead time / 365), what a unit counts against the lane (size) and whether
    the mode is premium."""
    rates = lane_product_rates(case, sets["lane_products"])
    products = case.products.set_index("product")
    # As floats: with no flow at all (no demand) the empty map keeps the text dtype of the keys.
    carry = rates["product"].map(products["unit_value"]).to_numpy(dtype=float) * rates["product"].map(products["holding_rate"]).to_numpy(dtype=float)
    lead = case.lanes["lead_time_days"].to_numpy(dtype=float)
    premium = case.lanes["premium"].to_numpy()
    out = {}
    for name, df in t.items():
        at, lane = df["_lp"].to_numpy(dtype=np.int64), df["lane"].to_numpy(dtype=np.int64)
        freight = rates["freight"].to_numpy()[at]
        transit = carry[at] * lead[lane] / 365.0
        out[name] = {"premium": premium[lane], "cost": freight + transit, "freight": freight, "transit_holding": transit, "size": rates["size"].to_numpy()[at]}
    return out


def _stock_keys(case: Case, sets: dict[str, pd.DataFrame], legs: pd.DataFrame, _made: dict) -> dict[str, pd.DataFrame]:
    """inv: stock at each period end where the product can be held (``_p``: the product)."""
    st = sets["stock"].merge(_periods(case)[["period", "t"]], how="cross")
    where = {p: i for i, p in enumerate(case.products["product"])}
    return {"inv": st.assign(_p=st["product"].map(where))[["site", "product", "period", "t", "_p"]]}


def _stock_numbers(case: Case, sets: dict, t: dict[str, pd.DataFrame]) -> dict[str, dict[str, np.ndarray]]:
    """Holding at sites: unit_value x holding_rate x the period's days / 365 a unit."""
    p, inv = case.products, t["inv"]
    days = case.periods["days"].to_numpy(dtype=float)
    carry = p["unit_value"].to_numpy(dtype=float) * p["holding_rate"].to_numpy(dtype=float)
    return {"inv": {"cost": carry[inv["_p"].to_numpy(dtype=np.int64)] * days[inv["t"].to_numpy(dtype=np.int64)] / 365.0}}


def _short_keys(case: Case, sets: dict[str, pd.DataFrame], legs: pd.DataFrame, _made: dict) -> dict[str, pd.DataFrame]:
    """short: demand lost, per demand row with a quantity (``_src``)."""
    per = _periods(case)
    seg = case.customers.set_index("customer")["segment"]
    bo_segments = set(case.service.loc[case.service["backorder_cost"].notna(), "segment"])
    d = _positions(case.demand)
    d = d[d["quantity"] > 0]
    short = d.assign(segment=d["customer"].map(seg)).merge(per[["period", "t"]])
    # A customer who accepts backorders is still owed the last period's unmet demand when the
    # plan ends (see _backorder_numbers): it cannot be lost then.
    return {"short": short[~(short["segment"].isin(bo_segments) & (short["t"] == len(per) - 1))][["product", "customer", "period", "t", "segment", "_src"]]}


def _short_numbers(case: Case, sets: dict, t: dict[str, pd.DataFrame]) -> dict[str, dict[str, np.ndarray]]:
    """A lost unit costs its segment's shortage cost, else its price."""
    d, short = case.demand, t["short"]
    price = _at(d, "price", short)
    sc = short["segment"].map(case.service.set_index("segment")["shortage_cost"]).to_numpy(dtype=float)
    return {"short": {"cost": np.where(np.isnan(sc), price, sc), "quantity": _at(d, "quantity", short), "price": price}}


def _target_keys(case: Case, sets: dict[str, pd.DataFrame], legs: pd.DataFrame, _made: dict) -> dict[str, pd.DataFrame]:
    """ss_short: below a safety-stock target; end_short: below a soft closing target (``_src``:
    the inventory row; ``_p``: the product)."""
    inv = _positions(case.inventory)
    out = {"ss_short": inv[inv["safety_stock"] > 0].merge(_periods(case)[["period", "t"]], how="cross")[["site", "product", "period", "t", "_src"]]}
    # A closing target left blank (the safety stock) is soft: each unit short costs the product's
    # unit_value, what restocking it next year costs; so the year does not end on an empty
    # shelf, yet no sale is lost to keep one (a sale is worth its price, above its value).
    soft = inv[inv["ending_soft"].astype(bool) & (inv["ending_min"] > 0)]
    soft = soft[soft["product"].map(case.products.set_index("product")["unit_value"]) > 0]
    out["end_short"] = soft.assign(_p=soft["product"].map({p: i for i, p in enumerate(case.products["product"])}))[["site", "product", "_src", "_p"]]
    return out


def _target_numbers(case: Case, sets: dict, t: dict[str, pd.DataFrame]) -> dict[str, dict[str, np.ndarray]]:
    """A unit below a safety stock costs its penalty a period; below a soft closing target,
    its unit_value."""
    inv = case.inventory
    return {
        "ss_short": {"cost": _at(inv, "safety_stock_penalty", t["ss_short"]), "safety_stock": _at(inv, "safety_stock", t["ss_short"])},
        "end_short": {"ending_min": _at(inv, "ending_min", t["end_short"]), "cost": _at(case.products, "unit_value", t["end_short"], "_p")},
    }


def _buy_keys(case: Case, sets: dict[str, pd.DataFrame], legs: pd.DataFrame, _made: dict) -> dict[str, pd.DataFrame]:
    """buy: what a supplier sells, per period; in an outage (max_units 0) too, so the outage's
    row has a price."""
    sup = _positions(case.supply).merge(sets["exist"]).merge(_periods(case)[["period", "t"]])
    return {"buy": sup[["site", "product", "period", "t", "_src"]]}


def _buy_numbers(case: Case, sets: dict, t: dict[str, pd.DataFrame]) -> dict[str, dict[str, np.ndarray]]:
    s = case.supply
    return {"buy": {"cost": _at(s, "unit_cost", t["buy"]), "max_units": _at(s, "max_units", t["buy"])}}


def _backorder_keys(case: Case, sets: dict[str, pd.DataFrame], legs: pd.DataFrame, _made: dict) -> dict[str, pd.DataFrame]:
    """Variables of customers whose segment accepts backorders (service.backorder_cost given):
    ontime and late deliveries, new backorders and the backlog at each period end (units), for
    every period of each product and customer with demand. ``_src``: the demand row of the
    period (-1: none); ``_p``: the product."""
    per = _periods(case)
    seg = case.customers.set_index("customer")["segment"]
    bo = case.service.set_index("segment")["backorder_cost"].dropna()
    pairs = sets["demanded"].assign(segment=lambda d: d["customer"].map(seg))
    pairs = pairs[pairs["segment"].isin(bo.index)]
    grid = pairs.merge(per[["period", "t"]], how="cross")
    grid = grid.merge(_positions(case.demand)[["product", "customer", "period", "quantity", "_src"]], how="left")
    grid = grid.assign(_src=grid["_src"].fillna(-1).astype(np.int64), _p=grid["product"].map({p: i for i, p in enumerate(case.products["product"])}))
    cols = ["product", "customer", "period", "t", "segment"]
    return {
        "ontime": grid[cols],
        "late": grid[cols],
        "newlate": grid[grid["quantity"].fillna(0.0) > 0][cols],
        "backlog_units": grid[cols + ["_src", "_p"]],
    }


def _backorder_numbers(case: Case, sets: dict, t: dict[str, pd.DataFrame]) -> dict[str, dict[str, np.ndarray]]:
    """End of the plan: what is still owed after the last period costs the shortage cost (what
    losing it would cost) instead of that period's backorder cost, and the last period's demand
    can only be served or owed, not lost. So leaving the last month's demand unserved costs
    exactly what losing it would (no cheap deferral past the plan), and a customer who is owed
    at the end is reported as owed, not lost. The shortage cost there is the segment's, else
    the price of the customer's latest demand for the product (the units still owed are the
    most recent ones), else the product's price. ``backorder_part`` and ``end_part`` split the
    cost; on-time, late and new backorders cost nothing themselves."""
    out = {name: {"cost": np.zeros(len(t[name]))} for name in ("ontime", "late", "newlate")}
    b = t["backlog_units"]
    bo = case.service.set_index("segment")["backorder_cost"]
    sc = case.service.set_index("segment")["shortage_cost"]
    src = b["_src"].to_numpy(dtype=np.int64)
    demand = case.demand
    q = np.where(src >= 0, demand["quantity"].to_numpy(dtype=float)[src], 0.0)
    price = np.where((src >= 0) & (q > 0), demand["price"].to_numpy(dtype=float)[src], np.nan)
    # The latest price by period within each product and customer, whatever order b is in.
    latest = pd.Series(price, index=b.index).iloc[np.lexsort((b["t"].to_numpy(), b["customer"].to_numpy(), b["product"].to_numpy()))]
    latest = latest.groupby([b["product"], b["customer"]]).ffill().reindex(b.index)
    latest = latest.fillna(pd.Series(case.products["price"].to_numpy(dtype=float)[b["_p"].to_numpy(dtype=np.int64)], index=b.index))
    lost = b["segment"].map(sc).fillna(latest).to_numpy(dtype=float)
    is_last = b["t"].to_numpy() == len(case.periods) - 1
    backorder_part = np.where(is_last, 0.0, b["segment"].map(bo).to_numpy(dtype=float))
    end_part = np.where(is_last, lost, 0.0)
    out["backlog_units"] = {"cost": backorder_part + end_part, "backorder_part": backorder_part, "end_part": end_part, "lost_cost": lost}
    return out


def canonical_order(df: pd.DataFrame, keys: list[str], per: pd.DataFrame) -> np.ndarray:
    """The positions of ``df``'s rows sorted by their keys (periods in plan order)."""
    if not len(df) or not keys:
        return np.arange(len(df))
    rank = dict(zip(per["period"], per["t"]))
    # Integer codes in the text's sort order: lexsort on them gives the order of the text
    # itself, about 4x faster than on the strings (a sixth of a 300k build was this sort).
    by = [df[c].map(rank).to_numpy() if c == "period" else pd.factorize(df[c].astype(str), sort=True)[0] for c in reversed(keys)]
    return np.lexsort(by)


def canonical(df: pd.DataFrame, keys: list[str], per: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by their keys (periods in plan order), so the same plan builds the same LP
    whatever order its input rows came in: an edited case then changes numbers in place."""
    return df.iloc[canonical_order(df, keys, per)].reset_index(drop=True)


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
    numbered = legs.assign(_leg=np.arange(len(legs)))
    ship_legs = ship[keys + ["t"]].merge(numbered, on=["lane", "t"])
    ship_arr = ship_legs[ship_legs["arr"] < T]
    dlv_legs = dlv[keys + ["t"]].merge(numbered, on=["lane", "t"])
    departures = pd.concat(
        [ship[keys + ["t"]].assign(coef=1.0, _leg=-1), dlv_legs[keys + ["_leg"]].assign(t=dlv_legs["dep"], coef=dlv_legs["share"])], ignore_index=True
    )
    arrivals = pd.concat(
        [ship_arr[["destination", "product", "col", "_leg"]].assign(t=ship_arr["arr"], coef=ship_arr["share"]), dlv[["destination", "product", "col", "t"]].assign(coef=1.0, _leg=-1)],
        ignore_index=True,
    )
    late = ship_legs[ship_legs["arr"] >= T]
    return departures, arrivals, late[["destination", "product", "col", "_leg"]].assign(coef=late["share"])


def _shares(terms_: pd.DataFrame, legs: pd.DataFrame) -> pd.DataFrame:
    """Flow terms (``flow_terms``) with the shares of ``legs``, legs in the same places (an
    edited lead time that keeps every leg's periods): the terms of a leg (``_leg``) take its share."""
    leg = terms_["_leg"].to_numpy()
    return terms_.assign(coef=np.where(leg >= 0, legs["share"].to_numpy()[np.maximum(leg, 0)], terms_["coef"].to_numpy()))


# --------------------------------------------------------------------------------------
# Constraint families
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FamilyRows:
    """A family's rows as built: its block, the rows' limits, the rows that cannot hold, and
    where each row's limit was in the table of limits the family gave (``at``: positions, in
    the rows' order, of every distinct key; ``used``: which of them have terms, so are rows)."""

    block: Block
    limits: np.ndarray
    empty: list[tuple]
    at: np.ndarray
    used: np.ndarray
    size: int  # rows in the table of limits
    kept: np.ndarray  # positions in the table of terms of the block's terms, in their order
    zero: np.ndarray  # positions of terms of a row whose coefficient was 0 (not in the matrix)
    terms: int  # rows in the table of terms


def _family_rows(fam: Family, per: pd.DataFrame, terms_: pd.DataFrame, limits: pd.DataFrame) -> FamilyRows:
    """A family's rows: one per row of ``limits`` (index columns + ``limit``) that has at least
    one term; terms are (index columns, ``coef``, ``col``). A family with no index columns has
    one row.

    A row with no term constrains nothing, unless its limit cannot hold (e.g. a fill-rate target
    for a segment no lane reaches): that is remembered and reported as infeasible."""
    keys = list(fam.index)
    frame = limits.reset_index(drop=True)
    distinct = np.flatnonzero(~frame.duplicated(keys)) if keys else np.arange(min(1, len(frame)))
    at = distinct[canonical_order(frame.iloc[distinct], keys, per)]
    limits = frame.iloc[at].reset_index(drop=True)
    rows = limits[keys].assign(_r=np.arange(len(limits)))
    if len(terms_) and len(limits):
        numbered = terms_[keys + ["coef", "col"]].reset_index(drop=True).assign(_i=np.arange(len(terms_)))
        t = numbered.merge(rows, on=keys) if keys else numbered[["coef", "col", "_i"]].assign(_r=0)
    else:
        t = pd.DataFrame({"_r": [], "coef": [], "col": [], "_i": []})
    nonzero = t["coef"].to_numpy() != 0
    zero = t.loc[~nonzero, "_i"].to_numpy(dtype=np.int64)
    t = t[nonzero]
    used = np.zeros(len(limits), dtype=bool)
    used[t["_r"].to_numpy(dtype=np.int64)] = True
    lim = limits["limit"].to_numpy(dtype=float)
    # Renumber the rows that have terms, keeping the limits' order.
    new = np.cumsum(used) - 1
    block = Block(
        family=fam.name,
        keys=limits.loc[used, keys].reset_index(drop=True),
        sense=SENSE[fam.sense],
        row=new[t["_r"].to_numpy(dtype=np.int64)],
        col=t["col"].to_numpy(dtype=np.int64),
        coef=t["coef"].to_numpy(dtype=float),
    )
    return FamilyRows(block, lim[used], _empty(fam, limits, lim, used), at, used, len(frame), t["_i"].to_numpy(dtype=np.int64), zero, len(terms_))


def _empty(fam: Family, limits: pd.DataFrame, lim: np.ndarray, used: np.ndarray) -> list[tuple]:
    """Rows with no term whose limit cannot hold: (family, key, limit)."""
    bad = ~used & ((lim > 1e-9) if fam.sense == ">=" else (lim < -1e-9) if fam.sense == "<=" else (np.abs(lim) > 1e-9))
    keys = list(fam.index)
    return [(fam.name, k, v) for k, v in zip(limits.loc[bad, keys].itertuples(index=False, name=None), lim[bad])]


def _new_numbers(fam: Family, base: FamilyRows, terms_: pd.DataFrame, limits: pd.DataFrame | None) -> FamilyRows | None:
    """A family's rows with the coefficients of ``terms_`` and the limits of ``limits`` (what
    ``fam.build`` gives for an edited case of the same structure; None: the base's limits),
    placed as the base's were;
    None when the terms are not the base's (another count, a column moved, a coefficient
    appearing or vanishing): then its rows are made again."""
    if len(terms_) != base.terms:
        return None
    coef, col = terms_["coef"].to_numpy(dtype=float), terms_["col"].to_numpy()
    kept = coef[base.kept]
    if not np.array_equal(col[base.kept], base.block.col) or not kept.all() or coef[base.zero].any():
        return None
    fresh = base if limits is None else _new_limits(fam, base, limits)
    return None if fresh is None else replace(fresh, block=replace(base.block, coef=kept))


def _new_limits(fam: Family, base: FamilyRows, frame: pd.DataFrame) -> FamilyRows | None:
    """A family's rows with the limits of ``frame`` (what ``fam.limits`` gives for an edited
    case of the same structure), placed as the base's were; None when the frame's keys are not
    the base's (then the family is built again)."""
    frame = frame.reset_index(drop=True)
    if len(frame) != base.size:
        return None
    keys = list(fam.index)
    rows = base.at[base.used]
    for c in keys:
        if not np.array_equal(frame[c].to_numpy()[rows], base.block.keys[c].to_numpy()):
            return None
    lim = frame["limit"].to_numpy(dtype=float)[base.at]
    empty = base.empty
    if (~base.used).any():
        empty = _empty(fam, frame.iloc[base.at].reset_index(drop=True), lim, base.used)
    return replace(base, limits=lim[base.used], empty=empty)


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


def demand_reach(case: Case, v: dict[str, pd.DataFrame]) -> np.ndarray:
    """Whether some lane can deliver each demand row in its period (a row of ``case.demand``)."""
    k = ["product", "customer", "period"]
    can = v["deliver"][["product", "destination", "period"]].drop_duplicates().rename(columns={"destination": "customer"})
    return pd.MultiIndex.from_frame(case.demand[k]).isin(pd.MultiIndex.from_frame(can[k]))


def segment_demand(case: Case, v: dict[str, pd.DataFrame], like: pd.DataFrame | None = None) -> pd.DataFrame:
    """Demand per segment and period (units): ``quantity``, all of it, and ``reachable``, what
    some lane can deliver in the period: the base of the fill-rate targets and their points
    (demand no lane can reach from the plan's start is outside any promise the plan can keep).
    ``like``: the segment demand of a case of the same structure, whose grouping of the demand
    rows (and what a lane can reach) is reused."""
    d = case.demand
    if like is not None and "group" in like.attrs:
        reach, group = like.attrs["reach"], like.attrs["group"]
        out = like[["segment", "period"]].copy()
    else:
        reach = demand_reach(case, v)
        seg, segments = pd.factorize(d["customer"].map(case.customers.set_index("customer")["segment"]), sort=True)
        per, periods = pd.factorize(d["period"], sort=True)
        pair, group = np.unique(seg * len(periods) + per, return_inverse=True)
        out = pd.DataFrame({"segment": np.asarray(segments)[pair // len(periods)], "period": np.asarray(periods)[pair % len(periods)]})
    q = d["quantity"].to_numpy(dtype=float)
    out["quantity"] = np.bincount(group, weights=q, minlength=len(out))
    out["reachable"] = np.bincount(group, weights=np.where(reach, q, 0.0), minlength=len(out))
    out.attrs.update(reach=reach, group=group)
    return out


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
    _number_columns(v, per)
    ctx = _context(case, sets, v, per, legs)
    parts = {name: _family_rows(fam, per, *fam.build(ctx)) for name, fam in families.items()}
    return _built(ctx, families, parts, unreachable_demand(case))


def _context(case: Case, sets: dict[str, pd.DataFrame], v: dict[str, pd.DataFrame], per: pd.DataFrame, legs: pd.DataFrame, seg_demand: pd.DataFrame | None = None) -> Context:
    """What the families' build functions read: the flows on the calendar, on-time terms and
    demand per segment, from the variable tables."""
    departures, arrivals, arrivals_after = flow_terms(v, legs, len(per))
    seg_demand = segment_demand(case, v) if seg_demand is None else seg_demand
    return Context(case=case, sets=sets, v=v, per=per, departures=departures, arrivals=arrivals, ontime=on_time_terms(case, v, arrivals, per),
                   segment_demand=seg_demand, legs=legs, arrivals_after=arrivals_after)


def _built(ctx: Context, families: dict[str, Family], parts: dict[str, FamilyRows], warnings: list[Problem], same_matrix: object = None) -> Built:
    """The plan of built parts: the families' blocks stacked into the matrix, in registry order
    (``same_matrix``: the matrix they stack to, when known: an edit that moved no coefficient)."""
    v = ctx.v
    n = sum(len(df) for df in v.values())
    lp = assemble([parts[f].block for f in families], [parts[f].limits for f in families], _costs(v, n), A=same_matrix)
    return Built(case=ctx.case, variables=v, lp=lp, legs=ctx.legs, segment_demand=ctx.segment_demand, families=dict(families),
                 empty_rows=[e for f in families for e in parts[f].empty], warnings=warnings, context=ctx, parts=dict(parts))


# --------------------------------------------------------------------------------------
# An edited case: only what the edit reaches is built again
# --------------------------------------------------------------------------------------


def _positive(s: pd.Series) -> np.ndarray:
    return (s.fillna(np.inf) > 0).to_numpy()


def _finite_positive(s: pd.Series) -> np.ndarray:
    x = s.to_numpy(dtype=float)
    return np.isfinite(x) * 2 + (np.nan_to_num(x, nan=np.inf) > 0)


def _finite(s: pd.Series) -> np.ndarray:
    return np.isfinite(s.to_numpy(dtype=float))


def _present(s: pd.Series) -> np.ndarray:
    return s.notna().to_numpy()


def _nonzero(s: pd.Series) -> np.ndarray:
    return (s.fillna(0.0) != 0).to_numpy()


#: Case columns an edit may change in place, each with what of it decides the LP's structure
#: (which rows and variables exist; None: nothing), beside those a family declares
#: (``Family.numbers``). An edit of any other column, of a table's rows, or one that changes
#: the structure builds the plan again (``edit``).
IN_PLACE: dict[str, Callable[[pd.Series], np.ndarray] | None] = {
    "products.unit_value": _positive, "products.price": None, "products.holding_rate": None, "products.weight_kg": _present, "products.volume_m3": _present,
    "sites.storage_capacity": _finite_positive,
    "demand.quantity": _positive, "demand.price": None, "demand.std": None, "demand._price_default": None,
    "production.unit_cost": None, "production.max_units": _finite, "production.outsource_cost": _present, "production.outsource_max_units": _finite,
    "routings.hours_per_unit": _nonzero,
    "capacity.hours": None, "capacity.overtime_hours": _positive, "capacity.overtime_cost": None,
    "lanes.cost_per_unit": None, "lanes.cost_per_kg": _positive, "lanes.cost_per_m3": _positive, "lanes.lead_time_days": None, "lanes.lead_time_std_days": None,
    "lanes.capacity": _finite_positive, "lanes.premium": None,
    "lane_rates.cost_per_unit": None,
    "supply.unit_cost": None, "supply.max_units": _finite,
    "bom.quantity": None,
    "inventory.initial": _positive, "inventory.safety_stock": _positive, "inventory.safety_stock_penalty": None, "inventory._penalty_default": None,
    "inventory.ending_min": _positive, "inventory.ending_soft": lambda s: s.to_numpy(dtype=bool),
    "receipts.quantity": _positive,
    "service.fill_rate": _positive, "service.shortage_cost": None, "service.backorder_cost": _present,
}
# Lead times place each lane's flows on the calendar (``lane_legs``): an edit that keeps every
# leg's periods changes the shares (coefficients) in place (``LEGS`` in what it reaches); one
# that moves a leg builds the plan again.


@dataclass(frozen=True)
class VariableGroup:
    """Variable families made together: which exist (``keys``: index columns, ``t`` and the
    hidden positions their numbers are read from), their numbers (``numbers``: cost and the
    columns results read) and the case columns those numbers read (``reads``)."""

    names: tuple[str, ...]
    keys: Callable[[Case, dict, pd.DataFrame, dict], dict[str, pd.DataFrame]]
    numbers: Callable[[Case, dict, dict[str, pd.DataFrame]], dict[str, dict[str, np.ndarray]]]
    reads: frozenset[str]


VARIABLE_GROUPS = (
    VariableGroup(("make", "outsource"), _production_keys, _production_numbers, frozenset({"production.unit_cost", "production.max_units", "production.outsource_cost", "production.outsource_max_units"})),
    VariableGroup(("overtime_hours",), _overtime_keys, _overtime_numbers, frozenset({"capacity.overtime_cost", "capacity.overtime_hours"})),
    VariableGroup(("ship", "deliver"), _flow_keys, _flow_numbers, frozenset({
        "lanes.cost_per_unit", "lanes.cost_per_kg", "lanes.cost_per_m3", "lane_rates.cost_per_unit", "products.weight_kg", "products.volume_m3",
        "products.unit_value", "products.holding_rate", "lanes.lead_time_days", "lanes.premium",
    })),
    VariableGroup(("inv",), _stock_keys, _stock_numbers, frozenset({"products.unit_value", "products.holding_rate"})),
    VariableGroup(("short",), _short_keys, _short_numbers, frozenset({"service.shortage_cost", "demand.price", "demand.quantity"})),
    VariableGroup(("ss_short", "end_short"), _target_keys, _target_numbers, frozenset({"inventory.safety_stock_penalty", "inventory.safety_stock", "inventory.ending_min", "products.unit_value"})),
    VariableGroup(("buy",), _buy_keys, _buy_numbers, frozenset({"supply.unit_cost", "supply.max_units"})),
    VariableGroup(("ontime", "late", "newlate", "backlog_units"), _backorder_keys, _backorder_numbers, frozenset({"service.backorder_cost", "service.shortage_cost", "demand.price", "products.price"})),
)
#: What demand per segment reads (``segment_demand``: the base of fill-rate targets).
SEGMENT_DEMAND_READS = frozenset({"demand.quantity"})


def changed_columns(a: Case, b: Case) -> set[str] | None:
    """The columns ('table.column') whose values differ between two cases of the same tables;
    None when a table's rows or columns differ (or the calendar: everything moves)."""
    out: set[str] = set()
    for name, x in b.tables.items():
        y = a.tables.get(name)
        if y is x:
            continue
        if y is None or len(x) != len(y) or list(x.columns) != list(y.columns):
            return None
        for c in x.columns:
            if c == ROW:
                continue
            cx, cy = x[c], y[c]
            if cx is cy or cx.reset_index(drop=True).equals(cy.reset_index(drop=True)):
                continue
            out.add(f"{name}.{c}")
    return out


def edit(base: Built, case: Case) -> Built:
    """The plan of ``case``, an edit of ``base``'s case, building again only what the edit
    reaches: the variable groups and constraint families that read an edited column
    (``VariableGroup.reads``, ``Family.reads``), the rest taken from ``base``. Where the edit
    changes which rows or variables exist (``IN_PLACE``), or edits anything else, the whole
    plan is built. Either way the LP equals ``build(case)``'s, array for array."""
    ctx = base.context
    if ctx is None:  # nothing built to reuse
        return build(case, base.families)
    changed = changed_columns(base.case, case)
    in_place = {**IN_PLACE, **{c: None for f in base.families.values() for c in f.numbers}}
    if changed is None or any(c not in in_place for c in changed):
        return build(case, base.families)
    if not changed:
        return replace(base, case=case, context=replace(ctx, case=case))
    for c in changed:
        structural = in_place[c]
        if structural is not None:
            table, column = c.split(".", 1)
            if not np.array_equal(structural(base.case.tables[table][column]), structural(case.tables[table][column])):
                return build(case, base.families)
    reads = set(changed)
    legs = ctx.legs
    if "lanes.lead_time_days" in changed:
        moved = np.flatnonzero(case.lanes["lead_time_days"].to_numpy() != base.case.lanes["lead_time_days"].to_numpy())
        legs = pd.concat([ctx.legs[~ctx.legs["lane"].isin(moved)], lane_legs(case, moved)], ignore_index=True)
        legs = legs.sort_values(["lane", "t", "dep", "arr"], kind="stable").reset_index(drop=True)
        if len(legs) != len(ctx.legs) or not all(np.array_equal(legs[c].to_numpy(), ctx.legs[c].to_numpy()) for c in ("lane", "t", "dep", "arr")):
            return build(case, base.families)
        reads.add(LEGS)
    v = dict(ctx.v)
    for group in VARIABLE_GROUPS:
        if group.reads & reads:
            for name, numbers in group.numbers(case, ctx.sets, {n: v[n] for n in group.names}).items():
                v[name] = v[name].assign(**numbers)
    seg_demand = segment_demand(case, v, like=ctx.segment_demand) if SEGMENT_DEMAND_READS & reads else ctx.segment_demand
    if {"products.weight_kg", "products.volume_m3"} & reads:  # the flows' sizes moved
        new_ctx = replace(_context(case, ctx.sets, v, ctx.per, legs, seg_demand), structure=ctx.structure)
    elif LEGS in reads:  # the same legs, other shares
        new_ctx = replace(ctx, case=case, v=v, segment_demand=seg_demand, legs=legs, departures=_shares(ctx.departures, legs), arrivals=_shares(ctx.arrivals, legs),
                          arrivals_after=_shares(ctx.arrivals_after, legs))
    else:
        new_ctx = replace(ctx, case=case, v=v, segment_demand=seg_demand)
    parts = {}
    for name, fam in base.families.items():
        old = base.parts[name]
        touched = reads if fam.reads is None else fam.reads & reads
        if not touched:
            parts[name] = old
            continue
        if fam.limits is not None and touched <= fam.limit_reads:
            fresh = _new_limits(fam, old, fam.limits(new_ctx))
            if fresh is not None:
                parts[name] = fresh
                continue
        if fam.terms is not None and not touched & fam.limit_reads:
            terms_, limits = fam.terms(new_ctx), None  # the limits stay the base's
        else:
            terms_, limits = fam.build(new_ctx)
        fresh = _new_numbers(fam, old, terms_, limits)
        if fresh is None:
            fresh = _family_rows(fam, ctx.per, terms_, fam.build(new_ctx)[1] if limits is None else limits)
            if len(fresh.block) != len(old.block) or not fresh.block.keys.equals(old.block.keys):
                return build(case, base.families)
            # The rows keep the base's key table (one object), so telling them apart stays cheap.
            fresh = replace(fresh, block=replace(fresh.block, keys=old.block.keys))
        parts[name] = fresh
    # Which demand cannot be reached is structure; its units are said in the warnings.
    warnings = unreachable_demand(case) if "lanes.lead_time_days" in changed or (base.warnings and "demand.quantity" in changed) else base.warnings
    same = all(parts[f].block is base.parts[f].block for f in base.families)
    return _built(new_ctx, base.families, parts, warnings, base.lp.A if same else None)


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
