"""Constraint families: one record each, holding every fact about the family in one place.

A ``Family`` names the family and its index columns, the sense and unit of its limit, the row
it states and what its shadow price means (the README's formulation table is generated from
these), how to say a one-unit rise of its limit in words, where it ranks for a reviewer,
whether the infeasibility diagnosis may move it, whether it is a business limit, and the
function that builds its rows. Build, results, the diagnosis, the docs and the CLI all read
``FAMILIES``; adding a family is a record and its build function here (plus its input table
in ``schema``).

A build function takes the ``Context`` (the case, the index sets, the variable tables, the
flows on the calendar) and returns its rows as two tables: terms (index columns, ``coef``,
``col``) and limits (index columns, ``limit``). Sign convention everywhere: shadow_price =
d(total cost) / d(limit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import pandas as pd

from .lp import terms
from .validate import Case

#: Diagnosis tiers: flow accounting never moves; promises move first, then business limits.
FLOW, PROMISE, LIMIT = 0, 1, 2

_T = TypeVar("_T")


@dataclass(frozen=True)
class Context:
    """What a family's build function reads. ``v``: variable tables (index columns, ``col``,
    ``cost`` ...); ``per``: period, t, days; ``departures``/``arrivals``: flow terms on the
    plan's calendar (build.flow_terms); ``ontime``: on-time delivery terms by customer and
    period: deliveries (``kind`` 'deliver'), or the ``ontime`` variable (``kind`` 'ontime')
    where the segment accepts backorders; ``segment_demand``: demand per segment and period."""

    case: Case
    sets: dict[str, pd.DataFrame]
    v: dict[str, pd.DataFrame]
    per: pd.DataFrame
    departures: pd.DataFrame
    arrivals: pd.DataFrame
    ontime: pd.DataFrame
    segment_demand: pd.DataFrame  # segment, period, quantity, reachable
    legs: pd.DataFrame  # build.lane_legs: lane, t, dep, arr (T: after the plan), share
    arrivals_after: pd.DataFrame  # (destination, product, col, coef): shipments arriving after the plan
    structure: dict = field(default_factory=dict, compare=False)  # see ``memo``

    @property
    def T(self) -> int:
        return len(self.per)

    def memo(self, key: str, make: Callable[[], _T]) -> _T:
        """``make()``, made once per structure: a value that depends only on which rows and
        variables exist (positions, key tables), which ``build.edit`` keeps for an edit that
        keeps the structure, so a family's limits are read again without joining again."""
        if key not in self.structure:
            self.structure[key] = make()
        return self.structure[key]


@dataclass(frozen=True)
class Step:
    """The step a what-if takes of a business limit: the ledger's value of a step, a promise's
    point, the premium-freight search. 'percent': ``size`` times the limit (0.10 is 10 % more);
    'points': ``size`` of the row's ``base`` (the demand a fill-rate target covers: -0.01 is one
    point less). ``words`` names the step; ``doing`` says taking it in the ledger's sentence
    ({unit} and {periods} filled in). ``zero``: a percent step of a limit of 0 (an outage, a
    shut line) is nothing, so such a row steps by this many of its unit instead (0: none);
    ``doing_zero`` says that step."""

    kind: str
    size: float
    words: str
    doing: str
    base: Callable[[object, pd.DataFrame], np.ndarray] | None = None
    zero: float = 0.0
    doing_zero: str = ""

    def amounts(self, limit: np.ndarray, base: np.ndarray) -> np.ndarray:
        """The step of each row, in the limit's unit."""
        if self.kind != "percent":
            return self.size * np.asarray(base, dtype=float)
        limit = np.asarray(limit, dtype=float)
        return np.where(limit == 0, self.zero, self.size * limit)

    def named(self, limit: np.ndarray) -> str:
        """``words`` for rows at these limits: '10% more' where none is 0, 'one unit' where
        every one is (a step of 0-limits), and ``words`` itself where some are."""
        at_zero = np.asarray(limit, dtype=float) == 0
        if self.kind != "percent" or not self.zero or (at_zero.any() and not at_zero.all()):
            return self.words
        return (f"{self.zero:g} more" if self.zero != 1 else "one unit more") if at_zero.all() else f"{self.size:.0%} more"

    def says(self, limit: np.ndarray) -> str:
        """``doing`` for rows at these limits: ``doing_zero`` when every one is at 0 and has
        its own step, else ``doing`` (with '{zero} where the limit is 0' when some are)."""
        at_zero = np.asarray(limit, dtype=float) == 0
        if self.kind != "percent" or not self.zero or not at_zero.any():
            return self.doing
        if at_zero.all():
            return self.doing_zero
        one = "one unit" if self.zero == 1 else f"{self.zero:g} {{unit}}"
        return f"{self.doing} ({one} where the limit is 0)"


#: The ledger's step of a business limit: 10 % more of it.
PERCENT = Step("percent", 0.10, "10% more", "10% more {unit} in {periods}")
#: The step of a limit that may be 0 (a supplier's outage, a shut line, no co-manufacturing):
#: 10 % more of it; one unit at a limit of 0, where 10 % is nothing.
PERCENT_OR_ONE = Step("percent", 0.10, "10% more (one unit at a limit of 0)", "10% more {unit} in {periods}", zero=1.0, doing_zero="one more unit in {periods} (a limit of 0: 10% of it is nothing)")

#: Groups of business limits the premium-freight search relaxes together, in the order tried,
#: with what each is called (a family names its group in ``Family.trigger``).
TRIGGERS = {
    "supplier": "a supplier's limit (an outage or its monthly cap)",
    "plant capacity": "plant capacity",
    "lane capacity": "the standard lane's capacity",
    "service promise": "a fill-rate promise",
}


def _reachable(built, keys: pd.DataFrame) -> np.ndarray:
    """Demand a lane can reach, per (segment, period) row: what a fill-rate point is a share of."""
    sd = built.segment_demand[["segment", "period", "reachable"]]
    return keys[["segment", "period"]].merge(sd, how="left", on=["segment", "period"])["reachable"].fillna(0.0).to_numpy()


def _fill_rate_short(g, limit: float, achievable: float, base: float) -> str:
    if base > 0:
        return f"segment {g('segment')}'s {limit / base:.1%} fill rate in {g('period')} cannot be met; {achievable / base:.1%} can"
    return ""


@dataclass(frozen=True)
class Family:
    """Every fact about one constraint family.

    index: the index columns, in order (empty for one row over the whole plan); sense: '<=',
    '>=' or '=='; unit: the unit of the limit ('hours', 'units', 'money'), or ``row_unit``
    when rows differ (lanes and sites count units, kg or m3); limit: what the limit is, in
    words (docs); row: the row in symbols (docs);
    price: what its shadow price means (docs); subject: a one-unit rise of the limit in words,
    from a row getter; review: rank in the shadow-price table (lower first); tier: FLOW,
    PROMISE or LIMIT for the infeasibility diagnosis; lever: a business limit a reviewer acts
    on (the CLI's list, one-sided prices always measured); build: the rows; noun: the business
    object the rows of one key belong to over the periods, in words (the ledger's entries);
    step: the step a what-if takes of it (``Step``; business limits); worth: one more unit of
    it, in the ledger's words ('one more {one} is worth'); trigger: the group of limits the
    premium-freight search relaxes together (``TRIGGERS``; '' for none); shortfall: the
    infeasibility diagnosis's sentence for a row it had to move (None: a generic one); reads:
    the case columns ('table.column', and ``LEGS`` for the lanes' legs on the calendar) its
    limits and coefficients read beyond the variables' own, so an edit of another column leaves
    its rows as they are (``build.edit``); None: it is built again on every edit. limits: its
    limits alone (the second table ``build`` returns), for an edit that reaches only
    ``limit_reads``: cheaper than building its terms again; terms: its terms alone, for an edit
    that reaches none of ``limit_reads``. numbers: columns of its own input
    table that only move numbers, never which rows exist (an edit of them stays in place)."""

    name: str
    index: tuple[str, ...]
    sense: str
    unit: str
    limit: str
    row: str
    price: str
    subject: Callable[[Callable[[str], object]], str]
    review: float
    tier: int
    lever: bool
    build: Callable[[Context], tuple[pd.DataFrame, pd.DataFrame]]
    row_unit: Callable[[Case, pd.DataFrame], np.ndarray] | None = None
    noun: Callable[[Callable[[str], object]], str] | None = None  # the business object, all periods together (the ledger)
    step: Step = field(default_factory=lambda: PERCENT)
    worth: str = "one more {one} is worth"
    trigger: str = ""
    shortfall: Callable[[Callable[[str], object], float, float, float], str] | None = None
    reads: frozenset[str] | None = None
    limits: Callable[[Context], pd.DataFrame] | None = None
    limit_reads: frozenset[str] = frozenset()
    terms: Callable[[Context], pd.DataFrame] | None = None
    numbers: frozenset[str] = frozenset()

    def base(self, built: object, keys: pd.DataFrame) -> np.ndarray:
        """What a points step is a share of, per row (the demand a fill-rate target covers);
        1 for a percent step."""
        if self.step.base is None:
            return np.ones(len(keys))
        return np.asarray(self.step.base(built, keys), dtype=float)

    def say_shortfall(self, g: Callable[[str], object], limit: float, achievable: float, base: float) -> str:
        """The diagnosis's sentence for a row it moved: what the limit asks and what can be done."""
        if self.shortfall is not None:
            text = self.shortfall(g, limit, achievable, base)
            if text:
                return text
        keys = ", ".join(str(g(c)) for c in self.index if g(c) is not None and g(c) == g(c))
        verb = "needs" if self.sense == "<=" else "reaches"
        return f"{self.name} [{keys}] has limit {limit:,.2f}; the plan {verb} {achievable:,.2f}"

    def units(self, case: Case, keys: pd.DataFrame) -> np.ndarray:
        """The unit of each row's limit."""
        if self.row_unit is not None:
            return np.asarray(self.row_unit(case, keys), dtype=object)
        return np.full(len(keys), self.unit, dtype=object)


#: A family's ``reads`` token for the lanes' legs on the calendar (lead times' shares).
LEGS = "legs"

#: One of a limit's unit, for "one more hour" / "one kg less".
ONE = {"units": "unit", "hours": "hour", "kg": "kg", "m3": "m3"}


def _with_period(df: pd.DataFrame, per: pd.DataFrame) -> pd.DataFrame:
    """Attach period names to a frame of ``t``."""
    return df.merge(per[["period", "t"]], on="t")


# --------------------------------------------------------------------------------------
# Demand and customers
# --------------------------------------------------------------------------------------


def demand(x: Context):
    """demand[p,c,t]:  sum_lanes deliver[l,p,t] + short[p,c,t] = quantity[p,c,t]   (units)

    One row per product, customer and period with demand (deliveries arrive whole in the period
    they are planned for, so a period without demand takes none). Where the segment accepts
    backorders: ontime + newlate + short = quantity. Shadow price: money per unit, the marginal
    cost of serving one more unit of demand (>= 0; at most the shortage cost)."""
    k = ["product", "customer", "period"]
    direct = x.ontime[x.ontime["kind"] == "deliver"]
    t = pd.concat([terms(direct, k, "coef"), terms(x.v["short"], k), terms(x.v["ontime"], k), terms(x.v["newlate"], k)])
    return t, demand_limits(x)


def demand_limits(x: Context) -> pd.DataFrame:
    """The demand rows' limits: each period's quantity (0 in a period without demand)."""

    def rows() -> tuple[pd.DataFrame, np.ndarray]:
        k = ["product", "customer", "period"]
        grid = x.sets["demanded"].merge(x.per[["period"]], how="cross")[k]
        at = pd.MultiIndex.from_frame(x.case.demand[k]).get_indexer(pd.MultiIndex.from_frame(grid))
        return grid, at

    grid, at = x.memo("demand rows", rows)
    q = x.case.demand["quantity"].to_numpy(dtype=float)
    return grid.assign(limit=np.where(at >= 0, q[np.maximum(at, 0)], 0.0))


def delivery(x: Context):
    """delivery[p,c,t]:  ontime[p,c,t] + late[p,c,t] - arrivals[p,c,t] = receipts (0)   (units)

    Only for customers whose segment accepts backorders: what arrives serves this period's
    demand on time or clears backlog. The limit is units reaching the customer from outside
    the plan (none), as in ``balance``. Shadow price: money per unit, minus the value of one
    more unit arriving at the customer in the period (<= 0)."""
    k = ["product", "customer", "period"]
    bo = set(x.v["ontime"]["customer"])
    arr = _with_period(x.arrivals.rename(columns={"destination": "customer"}), x.per)
    arr = arr[arr["customer"].isin(bo)]
    t = pd.concat([terms(arr, k, -arr["coef"].to_numpy()), terms(x.v["ontime"], k, 1.0), terms(x.v["late"], k, 1.0)])
    return t, x.v["ontime"][k].assign(limit=0.0)


def backlog(x: Context):
    """backlog[p,c,t]:  backlog_units[t] - backlog_units[t-1] - newlate[t] + late[t] = 0   (units)

    The backlog starts at 0; each unit in it at a period end costs backorder_cost, and what is
    still owed after the last period costs the shortage cost instead. Shadow price: money per
    unit, the cost of owing the customer one more unit at the end of the period (>= 0)."""
    k = ["product", "customer", "period"]
    b = x.v["backlog_units"]
    prev = _with_period(b[b["t"] < x.T - 1].assign(t=lambda d: d["t"] + 1).drop(columns="period"), x.per)
    t = pd.concat([terms(b, k, 1.0), terms(prev, k, -1.0), terms(x.v["newlate"], k, -1.0), terms(x.v["late"], k, 1.0)])
    return t, b[k].assign(limit=0.0)


def service(x: Context):
    """service[g,t]:  sum_{c in g, p} ontime[p,c,t] >= fill_rate[g] * reachable demand[g,t]   (units)

    On-time deliveries (OTIF): deliveries, less what clears backlog where backorders are
    allowed. For segments with a fill-rate target and demand some lane can reach in the period
    (demand no lane reaches from the plan's start is outside the promise: it is warned about).
    Shadow price: money per unit of required delivered volume (>= 0); times reachable
    demand/100, the cost of one point of fill rate."""
    seg = x.case.customers.set_index("customer")["segment"]
    on = x.ontime.assign(segment=x.ontime["customer"].map(seg))
    return terms(on, ["segment", "period"], "coef"), service_limits(x)


def service_limits(x: Context) -> pd.DataFrame:
    """The fill-rate targets in units: the target times the demand a lane can reach."""
    target = x.segment_demand.merge(x.case.service[x.case.service["fill_rate"] > 0][["segment", "fill_rate"]])
    target = target[target["reachable"] > 0]
    return target.assign(limit=target["fill_rate"] * target["reachable"])[["segment", "period", "limit"]]


# --------------------------------------------------------------------------------------
# Stock and flows at sites
# --------------------------------------------------------------------------------------


def balance(x: Context):
    """balance[s,p,t]:  inv[t] - inv[t-1] - make - outsource - buy - arrivals + departures
    + sum_bom quantity * make[s,parent,t] = receipts   (units)

    receipts, the limit of the row, are what arrives from outside the plan: the opening stock
    (``initial``) in the first period plus the scheduled receipts of the period. Arrivals and
    departures follow the plan's calendar (``build.flow_terms``). At a supplier there is no
    inventory: departures = buy. Components are consumed from the plant's own stock in the
    period the parent is made. Shadow price: money per unit; minus the marginal value of one
    more unit of the product on hand at the site in that period (<= 0 when stock is worth
    having)."""
    return balance_terms(x), balance_limits(x)


def balance_terms(x: Context) -> pd.DataFrame:
    """The balance rows' terms (``balance``)."""
    case, v = x.case, x.v
    inv = v["inv"]
    prev = _with_period(inv[inv["t"] < x.T - 1].assign(t=lambda d: d["t"] + 1).drop(columns="period"), x.per)
    sites = set(case.sites["site"])
    arr = _with_period(x.arrivals[x.arrivals["destination"].isin(sites)].rename(columns={"destination": "site"}), x.per)
    dep = _with_period(x.departures.drop(columns="destination").rename(columns={"origin": "site"}), x.per)
    k = ["site", "product", "period"]
    use = v["make"].merge(case.bom, on=["site", "product"], suffixes=("", "_bom"))
    use = use.drop(columns="product").rename(columns={"component": "product"})
    t = pd.concat(
        [
            terms(inv, k, 1.0),
            terms(prev, k, -1.0),
            terms(v["make"], k, -1.0),
            terms(v["outsource"], k, -1.0),
            terms(v["buy"], k, -1.0),
            terms(arr, k, -arr["coef"].to_numpy()),
            terms(dep, k, "coef"),
            terms(use, k, "quantity"),
        ]
    )
    return t


def balance_limits(x: Context) -> pd.DataFrame:
    """What arrives at each site from outside the plan: opening stock in the first period and
    scheduled receipts; 0 at suppliers."""
    case, k = x.case, ["site", "product", "period"]
    lim = x.v["inv"][k + ["t"]].merge(case.inventory[["site", "product", "initial"]], how="left")
    lim = lim.merge(case.receipts[k + ["quantity"]], how="left")
    lim["limit"] = np.where(lim["t"] == 0, lim["initial"].fillna(0.0), 0.0) + lim["quantity"].fillna(0.0)
    # Suppliers hold no stock: what leaves in a period is what they sell in it (every period,
    # so nothing leaves in an outage, where buy is held to 0 by its supply row).
    suppliers = set(case.sites.loc[case.sites["kind"] == "supplier", "site"])
    sup = x.sets["exist"][x.sets["exist"]["site"].isin(suppliers)].merge(x.per[["period"]], how="cross")[k].assign(limit=0.0)
    return pd.concat([lim[k + ["limit"]], sup], ignore_index=True)


def storage(x: Context):
    """storage[s,t]:  sum_p size[p] * inv[s,p,t] <= storage_capacity   (storage_unit)

    Everything on hand at the period end, counted in the site's storage_unit: units, kg
    (weight_kg) or m3 (volume_m3). Shadow price: money per unit, kg or m3 of space in the
    period (<= 0)."""
    case = x.case
    sites = case.sites[np.isfinite(case.sites["storage_capacity"].fillna(np.inf))]
    inv = x.v["inv"].merge(sites[["site", "storage_unit"]], on="site").merge(case.products[["product", "weight_kg", "volume_m3"]], on="product")
    size = np.select([inv["storage_unit"] == "kg", inv["storage_unit"] == "m3"], [inv["weight_kg"], inv["volume_m3"]], 1.0)
    return terms(inv, ["site", "period"], size), storage_limits(x)


def storage_limits(x: Context) -> pd.DataFrame:
    sites = x.case.sites[np.isfinite(x.case.sites["storage_capacity"].fillna(np.inf))]
    return sites[["site", "storage_capacity"]].merge(x.per[["period"]], how="cross").rename(columns={"storage_capacity": "limit"})


def safety_stock(x: Context):
    """safety_stock[s,p,t]:  inv[s,p,t] + ss_short[s,p,t] >= safety_stock   (units)

    Soft: each unit short of the target costs safety_stock_penalty per period (default: the
    product's unit_value). Shadow price: money per unit of target (>= 0: the cost of one more
    unit of safety stock)."""
    k = ["site", "product", "period"]
    ss = x.v["ss_short"]
    t = pd.concat([terms(x.v["inv"].merge(ss[k]), k), terms(ss, k)])
    return t, safety_stock_limits(x)


def safety_stock_limits(x: Context) -> pd.DataFrame:
    ss = x.v["ss_short"]
    return ss[["site", "product", "period"]].assign(limit=ss["safety_stock"])


def ending(x: Context):
    """ending[s,p]:  inv[s,p,last period] + in transit to s at the end (+ end_short[s,p]) >= ending_min   (units)

    Closing stock is what is on hand after the last period and what is on its way to the site
    (the pipeline into next year). A typed ending_min is hard. A blank one is the safety-stock target, soft: end_short, at the
    product's unit_value a unit (what restocking it next year costs), so the year does not end
    on an empty shelf but no sale is lost to keep one; where unit_value is 0 there is no row. 0
    turns it off. Shadow price: money per unit of required closing stock (>= 0)."""
    k = ["site", "product"]
    inv = x.v["inv"][x.v["inv"]["t"] == x.T - 1]
    # The pipeline counts: what is on its way to the site when the plan ends.
    coming = x.arrivals_after.rename(columns={"destination": "site"})
    t = pd.concat([terms(inv, k), terms(x.v["end_short"], k), terms(coming, k, "coef")])
    return t, ending_limits(x)


def ending_limits(x: Context) -> pd.DataFrame:
    """Closing targets: the hard ones typed, the soft ones (the safety stock)."""
    k = ["site", "product"]
    inv_ = x.case.inventory
    req = inv_[(inv_["ending_min"] > 0) & ~inv_["ending_soft"].astype(bool)][k + ["ending_min"]]
    req = pd.concat([req, x.v["end_short"][k + ["ending_min"]]], ignore_index=True)
    return req.rename(columns={"ending_min": "limit"})


# --------------------------------------------------------------------------------------
# Capacities, suppliers and lanes
# --------------------------------------------------------------------------------------


def capacity(x: Context):
    """capacity[s,r,t]:  sum_p hours_per_unit[s,p,r] * make[s,p,t] - overtime_hours[s,r,t] <= hours   (hours)

    Shadow price: money per hour of regular capacity (<= 0: what one more hour would save)."""
    k = ["site", "resource", "period"]
    use = x.v["make"].merge(x.case.routings, on=["site", "product"])
    t = pd.concat([terms(use, k, "hours_per_unit"), terms(x.v["overtime_hours"], k, -1.0)])
    return t, capacity_limits(x)


def capacity_limits(x: Context) -> pd.DataFrame:
    return x.case.capacity.rename(columns={"hours": "limit"})[["site", "resource", "period", "limit"]]


def overtime(x: Context):
    """overtime[s,r,t]:  overtime_hours[s,r,t] <= overtime_hours limit   (hours)

    Shadow price: money per hour of overtime allowance (<= 0 when all overtime is used)."""
    ot = x.v["overtime_hours"]
    k = ["site", "resource", "period"]
    return terms(ot, k), ot[k].assign(limit=ot["overtime_hours"])


def _upper_bound(df: pd.DataFrame, column: str, k: list[str]):
    finite = df[np.isfinite(df[column].fillna(np.inf))]
    return terms(finite, k), finite[k].assign(limit=finite[column])


def production_max(x: Context):
    """production_max[s,p,t]:  make[s,p,t] <= max_units   (units)

    Shadow price: money per unit of the site's production limit for the product (<= 0)."""
    return _upper_bound(x.v["make"], "max_units", ["site", "product", "period"])


def outsource_max(x: Context):
    """outsource_max[s,p,t]:  outsource[s,p,t] <= outsource_max_units   (units)

    Shadow price: money per unit of co-manufacturing allowance (<= 0)."""
    return _upper_bound(x.v["outsource"], "outsource_max_units", ["site", "product", "period"])


def supply(x: Context):
    """supply[v,p,t]:  buy[v,p,t] <= max_units   (units a supplier can sell in the period)

    Shadow price: money per unit of supplier capacity (<= 0: what one more unit would save)."""
    return _upper_bound(x.v["buy"], "max_units", ["site", "product", "period"])


def lane_capacity(x: Context):
    """lane_capacity[o,d,mode,t]:  sum_p size[p] * leaving[o,d,mode,p,t] <= capacity   (capacity_unit)

    What leaves the origin in period t, all products together, counted in the lane's
    capacity_unit: units (size 1), kg (weight_kg) or m3 (volume_m3). Shadow price: money per
    unit, kg or m3 of lane capacity in the period (<= 0)."""
    k = ["origin", "destination", "mode", "period"]
    dep = _with_period(x.departures, x.per)
    return terms(dep, k, dep["coef"].to_numpy() * dep["size"].to_numpy()), lane_capacity_limits(x)


def lane_capacity_limits(x: Context) -> pd.DataFrame:
    lanes = x.case.lanes[np.isfinite(x.case.lanes["capacity"].fillna(np.inf))]
    return lanes[["origin", "destination", "mode", "capacity"]].merge(x.per[["period"]], how="cross").rename(columns={"capacity": "limit"})


# --------------------------------------------------------------------------------------
# Working capital
# --------------------------------------------------------------------------------------


def _every_period(df: pd.DataFrame, per: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per key and period: a blank period means every period; a row naming a period
    overrides the blank-period row with the same keys."""
    grid = df[df["period"].isna()].drop(columns="period").merge(per[["period"]], how="cross")
    out = pd.concat([df[df["period"].notna()], grid], ignore_index=True)
    return out.drop_duplicates(keys + ["period"], keep="first").reset_index(drop=True)


def inventory_budget(x: Context):
    """inventory_budget[site,family,t]:  sum_{s,p in scope} unit_value[p] * inv[s,p,t]
    (+ the value of goods in transit at the end of t, where ``in_transit``) <= max_value   (money)

    Scope: the row's site (blank: every site) and product family (blank: every product). Goods
    in transit count toward the site they travel to (a delivery to a customer: the site it left).
    Rows are keyed with '' for "all". Shadow price: money per unit of money (<= 0): what one more
    unit of cash allowed in inventory would save the plan, the price of the working-capital
    target. The LP places a cut where it costs least, product by product, not across the board."""
    k = ["period", "site", "family"]
    budget = x.case.table("inventory_budget")
    if not len(budget):
        return pd.DataFrame(columns=[*k, "coef", "col"]), pd.DataFrame(columns=[*k, "limit"])
    budget = _every_period(budget.assign(site=budget["site"].fillna(""), family=budget["family"].fillna("")), x.per, k)
    scope = budget.rename(columns={"site": "b_site", "family": "b_family"})[["period", "b_site", "b_family", "in_transit"]]
    products = x.case.products[["product", "family", "unit_value"]].assign(family=lambda d: d["family"].fillna(""))

    def in_scope(held: pd.DataFrame) -> pd.DataFrame:
        m = held.merge(products, on="product").merge(scope, on="period")
        m = m[((m["b_site"] == "") | (m["b_site"] == m["site"])) & ((m["b_family"] == "") | (m["b_family"] == m["family"]))]
        return m.assign(site=m["b_site"], family=m["b_family"], coef=m["coef"] * m["unit_value"])

    on_hand = in_scope(x.v["inv"][["site", "product", "period", "col"]].assign(coef=1.0))
    # In transit at the end of period t: legs that left in t or before and arrive after t.
    flows = pd.concat(
        [x.v["ship"].assign(site=x.v["ship"]["destination"]), x.v["deliver"].assign(site=x.v["deliver"]["origin"])], ignore_index=True
    )[["lane", "t", "site", "product", "col"]].merge(x.legs, on=["lane", "t"])
    spans = [flows[flows["dep"] + i < flows["arr"]].assign(t=lambda d, i=i: d["dep"] + i) for i in range(int((flows["arr"] - flows["dep"]).max()) if len(flows) else 0)]
    moving = pd.concat(spans, ignore_index=True) if spans else flows.iloc[0:0]
    moving = _with_period(moving[moving["t"] < x.T], x.per)[["site", "product", "period", "col", "share"]].rename(columns={"share": "coef"})
    transit = in_scope(moving)
    transit = transit[transit["in_transit"].astype(bool)]
    t = pd.concat([terms(on_hand, k, "coef"), terms(transit, k, "coef")], ignore_index=True)
    return t, budget[k].assign(limit=budget["max_value"])


def _lane_units(case: Case, keys: pd.DataFrame) -> np.ndarray:
    lanes = case.lanes[["origin", "destination", "mode", "capacity_unit"]]
    return keys[["origin", "destination", "mode"]].merge(lanes, how="left")["capacity_unit"].to_numpy()


def _site_units(case: Case, keys: pd.DataFrame) -> np.ndarray:
    return keys[["site"]].merge(case.sites[["site", "storage_unit"]], how="left")["storage_unit"].to_numpy()


def _currency(case: Case, keys: pd.DataFrame) -> np.ndarray:
    return np.full(len(keys), case.currency, dtype=object)


# --------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------

_F = [
    Family(
        "demand", ("product", "customer", "period"), "==", "units",
        "quantity (units)",
        "deliveries arriving + short = quantity (only periods with demand); with backorders: ontime + newlate + short = quantity",
        "marginal cost to serve one more unit",
        lambda g: f"serving one more unit of {g('product')} to {g('customer')} in {g('period')}",
        review=10, tier=FLOW, lever=False, build=demand,
        reads=frozenset({"demand.quantity"}), limits=demand_limits, limit_reads=frozenset({"demand.quantity"}),
    ),
    Family(
        "delivery", ("product", "customer", "period"), "==", "units",
        "0 (units)",
        "(backorder segments) ontime + late - deliveries arriving = receipts from outside the plan",
        "minus the value of one more unit arriving at the customer",
        lambda g: f"one more unit of {g('product')} arriving at {g('customer')} in {g('period')} from outside the plan",
        review=12, tier=FLOW, lever=False, build=delivery,
        reads=frozenset(),
    ),
    Family(
        "backlog", ("product", "customer", "period"), "==", "units",
        "0 (units)",
        "(backorder segments) backlog_units[t] - backlog_units[t-1] - newlate + late = 0, backlog starts at 0",
        "cost of owing the customer one more unit at period end (>= 0)",
        lambda g: f"owing {g('customer')} one more unit of {g('product')} at the end of {g('period')}",
        review=11, tier=FLOW, lever=False, build=backlog,
        reads=frozenset(),
    ),
    Family(
        "balance", ("site", "product", "period"), "==", "units",
        "opening stock in the first period plus the period's scheduled receipts (units)",
        "inv[t] - inv[t-1] - make - outsource - buy - arrivals + departures + sum_bom quantity x make[parent] = receipts "
        "(at a supplier: departures - buy = 0, no stock); arrivals and departures by the calendar shares",
        "minus the marginal value of one more unit on hand",
        lambda g: f"one more unit of {g('product')} on hand at {g('site')} in {g('period')}",
        review=13, tier=FLOW, lever=False, build=balance,
        reads=frozenset({"inventory.initial", "receipts.quantity", "bom.quantity", LEGS}), limits=balance_limits, terms=balance_terms,
        limit_reads=frozenset({"inventory.initial", "receipts.quantity"}),
    ),
    Family(
        "capacity", ("site", "resource", "period"), "<=", "hours",
        "hours",
        "sum_p hours_per_unit * make - overtime_hours <= hours", "value of one more regular hour (<= 0)",
        lambda g: f"one more hour of {g('resource')} at {g('site')} in {g('period')}",
        review=0, tier=LIMIT, lever=True, build=capacity, noun=lambda g: f"{g('resource')} at {g('site')}", trigger="plant capacity",
        shortfall=lambda g, limit, achievable, _b: f"{g('resource')} at {g('site')} in {g('period')} has {limit:,.2f} hours; the plan needs {achievable:,.2f}",
        reads=frozenset({"capacity.hours", "routings.hours_per_unit"}), limits=capacity_limits, limit_reads=frozenset({"capacity.hours"}),
    ),
    Family(
        "overtime", ("site", "resource", "period"), "<=", "hours",
        "hours",
        "overtime_hours <= overtime allowance", "value of one more overtime hour (<= 0)",
        lambda g: f"one more overtime hour allowed on {g('resource')} at {g('site')} in {g('period')}",
        review=1, tier=LIMIT, lever=True, build=overtime, noun=lambda g: f"overtime on {g('resource')} at {g('site')}", trigger="plant capacity",
        reads=frozenset({"capacity.overtime_hours"}),
    ),
    Family(
        "production_max", ("site", "product", "period"), "<=", "units",
        "units",
        "make <= max_units", "value of one more unit of production limit (<= 0)",
        lambda g: f"one more unit of {g('product')} allowed to be made at {g('site')} in {g('period')}",
        review=2, tier=LIMIT, lever=True, build=production_max, noun=lambda g: f"{g('product')} production at {g('site')}", trigger="plant capacity", step=PERCENT_OR_ONE,
        reads=frozenset({"production.max_units"}),
    ),
    Family(
        "outsource_max", ("site", "product", "period"), "<=", "units",
        "units",
        "outsource <= outsource_max_units", "value of one more unit of co-manufacturing (<= 0)",
        lambda g: f"one more unit of {g('product')} allowed to be co-manufactured for {g('site')} in {g('period')}",
        review=3, tier=LIMIT, lever=True, build=outsource_max, noun=lambda g: f"co-manufacturing of {g('product')} for {g('site')}", trigger="plant capacity", step=PERCENT_OR_ONE,
        reads=frozenset({"production.outsource_max_units"}),
    ),
    Family(
        "supply", ("site", "product", "period"), "<=", "units",
        "units",
        "buy <= max_units (a supply row with a period overrides the blank one; 0 = outage)", "value of one more unit from the supplier (<= 0)",
        lambda g: f"one more unit of {g('product')} available from supplier {g('site')} in {g('period')}",
        review=4, tier=LIMIT, lever=True, build=supply, noun=lambda g: f"{g('product')} from {g('site')}", trigger="supplier", step=PERCENT_OR_ONE,
        reads=frozenset({"supply.max_units"}),
    ),
    Family(
        "lane_capacity", ("origin", "destination", "mode", "period"), "<=", "capacity_unit",
        "units, kg or m3 leaving in t (the lane's capacity_unit)",
        "sum_p size_p x what leaves in t <= capacity, size 1, weight_kg or volume_m3 by `capacity_unit`",
        "value of one more unit, kg or m3 of lane capacity (<= 0)",
        lambda g: f"one more {ONE.get(str(g('limit_unit')), 'unit')} of capacity on lane {g('origin')} -> {g('destination')} by {g('mode')} in {g('period')}",
        review=5, tier=LIMIT, lever=True, build=lane_capacity, row_unit=_lane_units, noun=lambda g: f"lane {g('origin')} -> {g('destination')} by {g('mode')}", trigger="lane capacity",
        reads=frozenset({"lanes.capacity", "products.weight_kg", "products.volume_m3", LEGS}), limits=lane_capacity_limits,
        limit_reads=frozenset({"lanes.capacity"}),
    ),
    Family(
        "storage", ("site", "period"), "<=", "storage_unit",
        "units, kg or m3 (the site's storage_unit)",
        "sum_p size_p x inv <= storage_capacity, size by `storage_unit`", "value of one more unit, kg or m3 of space (<= 0)",
        lambda g: f"one more {ONE.get(str(g('limit_unit')), 'unit')} of storage space at {g('site')} in {g('period')}",
        review=6, tier=LIMIT, lever=True, build=storage, row_unit=_site_units, noun=lambda g: f"space at {g('site')}",
        reads=frozenset({"sites.storage_capacity", "products.weight_kg", "products.volume_m3"}), limits=storage_limits,
        limit_reads=frozenset({"sites.storage_capacity"}),
    ),
    Family(
        "safety_stock", ("site", "product", "period"), ">=", "units",
        "units",
        "inv + ss_short >= safety_stock", "cost of one more unit of safety stock (>= 0)",
        lambda g: f"one more unit of safety stock of {g('product')} at {g('site')} in {g('period')}",
        review=8, tier=PROMISE, lever=False, build=safety_stock,
        reads=frozenset({"inventory.safety_stock"}), limits=safety_stock_limits, limit_reads=frozenset({"inventory.safety_stock"}),
    ),
    Family(
        "ending", ("site", "product"), ">=", "units",
        "units",
        "inv[last period] + in transit to the site at the end >= ending_min, typed: hard; blank: the safety stock, soft (+ end_short at the product's unit_value); 0: no row",
        "cost of one more unit of closing stock (>= 0)",
        lambda g: f"one more unit of required closing stock of {g('product')} at {g('site')}",
        review=9, tier=PROMISE, lever=False, build=ending,
        shortfall=lambda g, limit, achievable, _b: f"closing stock of {g('product')} at {g('site')} must be at least {limit:,.2f} units; {achievable:,.2f} can be reached",
        reads=frozenset({"inventory.ending_min", "inventory.ending_soft", LEGS}), limits=ending_limits,
        limit_reads=frozenset({"inventory.ending_min", "inventory.ending_soft"}),
    ),
    Family(
        "service", ("segment", "period"), ">=", "units",
        "units",
        "on-time deliveries to the segment's customers (deliveries; ontime where backorders are allowed) >= fill_rate * the segment's demand a lane can reach",
        "cost of one more unit delivered; x demand/100 = cost of one fill-rate point (>= 0)",
        lambda g: f"one more unit delivered on time to segment {g('segment')} in {g('period')}",
        review=7, tier=PROMISE, lever=True, build=service, noun=lambda g: f"segment {g('segment')}'s fill rate", trigger="service promise",
        step=Step("points", -0.01, "one point less of the target", "easing the target by one point in those periods", base=_reachable),
        worth="one more unit delivered on time costs", shortfall=_fill_rate_short,
        reads=frozenset({"service.fill_rate", "demand.quantity"}), limits=service_limits, limit_reads=frozenset({"service.fill_rate", "demand.quantity"}),
    ),
    Family(
        "inventory_budget", ("site", "family", "period"), "<=", "money",
        "money",
        "sum over the scope's stock of unit_value x inv (+ goods in transit at the period end, where `in_transit`) <= max_value",
        "value of one more unit of money allowed in inventory: the price of the working-capital target (<= 0)",
        lambda g: f"one more {g('limit_unit')} of inventory allowed {('at ' + str(g('site'))) if g('site') else 'across all sites'} for {g('family') or 'all products'} at the end of {g('period')}",
        review=6.5, tier=PROMISE, lever=True, build=inventory_budget, row_unit=_currency, noun=lambda g: f"inventory budget {('at ' + str(g('site'))) if g('site') else 'across all sites'} for {g('family') or 'all products'}",
        reads=frozenset({"inventory_budget.max_value", "products.unit_value", LEGS}), numbers=frozenset({"inventory_budget.max_value"}),
    ),
]

#: Every constraint family, in build order (the order of the LP's rows; ``review`` orders them
#: for people).
FAMILIES: dict[str, Family] = {f.name: f for f in _F}


def review_order(families: dict[str, Family] | None = None) -> list[str]:
    """Family names as a reviewer reads them: limits to act on first, flow accounting last."""
    fams = FAMILIES if families is None else families
    return sorted(fams, key=lambda n: fams[n].review)


def index_columns(families: dict[str, Family] | None = None) -> list[str]:
    """Every index column of the families, each once: in the order they first appear by
    review, the period last."""
    fams = FAMILIES if families is None else families
    out: list[str] = []
    for name in review_order(fams):
        out += [c for c in fams[name].index if c not in out]
    return sorted(out, key=lambda c: c == "period")
