"""The input contract: one schema per table.

Every table of a case is described here once (column, type, default, unit, meaning).
Reading, validation, defaults, the blank template workbook and the README's contract
table are all driven from these definitions, so they cannot drift apart.

Units: quantities in units, money in the case's currency, time in days, capacity in hours,
rates as fractions (0.25 = 25 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Column:
    """One column of an input table.

    kind: 'str', 'float', 'bool' or 'period' (a period name, read as text).
    default: value used for a blank cell; ``None`` means a blank stays blank (NaN) and the
    model reads it as described in ``meaning``. A required column has no default.
    """

    name: str
    kind: str
    required: bool = False
    default: Any = None
    unit: str = ""
    meaning: str = ""
    minimum: float | None = 0.0  # numeric columns: smallest allowed value (None: any)
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    ref: str = ""  # what the value names, checked to exist: one of REFERENCES

    @property
    def default_words(self) -> str:
        """The default as the contract table and the template say it ('required', 'blank', '0.25')."""
        if self.required:
            return "required"
        if self.default is None:
            return "blank"
        if self.kind == "bool":
            return str(bool(self.default)).lower()
        return f"{self.default:g}" if isinstance(self.default, float) else str(self.default)


@dataclass(frozen=True)
class Table:
    """One input table (an Excel sheet or a CSV file named ``<name>.csv``)."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required: bool = False
    meaning: str = ""

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


#: What a capacity or storage limit counts: units, or kg / m3 through the products' sizes.
BASES = ("units", "kg", "m3")

#: What a column can name (``Column.ref``), in the words of the message for an unknown one.
REFERENCES = {"site": "site", "product": "product", "customer": "customer", "period": "period", "site_or_customer": "site or customer", "family": "product family"}


def _c(name: str, kind: str = "float", **kw: Any) -> Column:
    return Column(name, kind, **kw)


TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "periods",
            (
                _c("period", "period", required=True, meaning="plan bucket name, e.g. 2027-01; in plan order"),
                _c("days", default=30.0, unit="days", meaning="length of the period", minimum=1e-9, maximum=3660.0),
            ),
            key=("period",),
            required=True,
            meaning="The plan's time buckets, in order as listed.",
        ),
        Table(
            "products",
            (
                _c("product", "str", required=True, meaning="SKU (or product, at the level the plan is made)"),
                _c("family", "str", meaning="product family, for grouping in reports"),
                _c("unit_value", default=0.0, unit="money/unit", meaning="standard cost: values inventory"),
                _c("price", default=0.0, unit="money/unit", meaning="selling price (default for demand rows)"),
                _c("holding_rate", default=0.25, unit="1/year", meaning="holding cost per year, as a fraction of unit_value", maximum=10.0),
                _c("weight_kg", unit="kg/unit", meaning="weight of one unit; needed where a lane or site counts kg"),
                _c("volume_m3", unit="m3/unit", meaning="volume of one unit; needed where a lane or site counts m3"),
            ),
            key=("product",),
            required=True,
            meaning="What is made, moved, stocked and sold.",
        ),
        Table(
            "sites",
            (
                _c("site", "str", required=True, meaning="plant, distribution centre or supplier"),
                _c("kind", "str", required=True, choices=("plant", "dc", "supplier")),
                _c("storage_capacity", unit="storage_unit", meaning="cap on everything on hand at period end; blank: unlimited"),
                _c("storage_unit", "str", default="units", choices=BASES, meaning="what storage_capacity counts"),
            ),
            key=("site",),
            required=True,
            meaning="Plants make and store; DCs store and ship; suppliers sell and ship, holding no stock.",
        ),
        Table(
            "customers",
            (
                _c("customer", "str", required=True, meaning="demand point"),
                _c("segment", "str", default="default", meaning="service segment (see service)"),
            ),
            key=("customer",),
            required=True,
            meaning="Demand points; segments carry service targets.",
        ),
        Table(
            "demand",
            (
                _c("product", "str", required=True, ref="product"),
                _c("customer", "str", required=True, ref="customer"),
                _c("period", "period", required=True, ref="period"),
                _c("quantity", required=True, unit="units", meaning="forecast demand"),
                _c("price", unit="money/unit", meaning="blank: the product's price"),
                _c("std", default=0.0, unit="units/period", meaning="forecast error, one standard deviation: sizes safety stocks (aop buffers)"),
            ),
            key=("product", "customer", "period"),
            required=True,
            meaning="Forecast demand per product, customer and period.",
        ),
        Table(
            "production",
            (
                _c("site", "str", required=True, meaning="a plant", ref="site"),
                _c("product", "str", required=True, ref="product"),
                _c("unit_cost", default=0.0, unit="money/unit", meaning="variable cost per unit made"),
                _c("max_units", unit="units/period", meaning="blank: unlimited"),
                _c("outsource_cost", unit="money/unit", meaning="co-manufacturing cost; blank: no outsourcing"),
                _c("outsource_max_units", unit="units/period", meaning="blank: unlimited"),
            ),
            key=("site", "product"),
            meaning="Where a product can be made (plants only), per period.",
        ),
        Table(
            "routings",
            (
                _c("site", "str", required=True, ref="site"),
                _c("product", "str", required=True, ref="product"),
                _c("resource", "str", required=True, meaning="line, machine or crew"),
                _c("hours_per_unit", required=True, unit="hours/unit"),
            ),
            key=("site", "product", "resource"),
            meaning="Resource hours each unit made consumes.",
        ),
        Table(
            "capacity",
            (
                _c("site", "str", required=True, ref="site"),
                _c("resource", "str", required=True),
                _c("period", "period", meaning="blank: every period; a period row overrides the blank row", ref="period"),
                _c("hours", required=True, unit="hours/period", meaning="regular hours"),
                _c("overtime_hours", default=0.0, unit="hours/period"),
                _c("overtime_cost", default=0.0, unit="money/hour"),
            ),
            key=("site", "resource", "period"),
            meaning="Resource hours available per period.",
        ),
        Table(
            "lanes",
            (
                _c("origin", "str", required=True, meaning="a site", ref="site"),
                _c("destination", "str", required=True, meaning="a site or a customer", ref="site_or_customer"),
                _c("mode", "str", required=True, meaning="e.g. truck, rail, ocean, air"),
                _c("cost_per_unit", default=0.0, unit="money/unit", meaning="freight per unit moved"),
                _c("cost_per_kg", default=0.0, unit="money/kg", meaning="freight per kg moved, added to cost_per_unit"),
                _c("cost_per_m3", default=0.0, unit="money/m3", meaning="freight per m3 moved, added to cost_per_unit"),
                _c("lead_time_days", default=0.0, unit="days", maximum=3660.0, meaning="door to door, on the plan's calendar"),
                _c("lead_time_std_days", default=0.0, unit="days", meaning="lead-time spread, one standard deviation: sizes safety stocks (aop buffers)"),
                _c("capacity", unit="capacity_unit/period", meaning="what may leave in a period, all products together; blank: unlimited"),
                _c("capacity_unit", "str", default="units", choices=BASES, meaning="what capacity counts"),
                _c("premium", "bool", default=False, meaning="premium (expedited) freight"),
            ),
            key=("origin", "destination", "mode"),
            required=True,
            meaning="Transport links; every product may move on every lane.",
        ),
        Table(
            "lane_rates",
            (
                _c("origin", "str", required=True),
                _c("destination", "str", required=True),
                _c("mode", "str", required=True),
                _c("product", "str", required=True, ref="product"),
                _c("cost_per_unit", required=True, unit="money/unit", meaning="the product's freight on the lane, all in (replaces the lane's cost_per_unit, cost_per_kg and cost_per_m3)"),
            ),
            key=("origin", "destination", "mode", "product"),
            meaning="Contract freight rates for one product on one lane.",
        ),
        Table(
            "supply",
            (
                _c("site", "str", required=True, meaning="a supplier", ref="site"),
                _c("product", "str", required=True, meaning="what the supplier sells (usually a component)", ref="product"),
                _c("period", "period", meaning="blank: every period; a period row overrides the blank row (max_units 0 = outage)", ref="period"),
                _c("unit_cost", default=0.0, unit="money/unit", meaning="purchase price"),
                _c("max_units", unit="units/period", meaning="blank: unlimited"),
            ),
            key=("site", "product", "period"),
            meaning="What suppliers can sell, per period.",
        ),
        Table(
            "bom",
            (
                _c("site", "str", required=True, meaning="a plant", ref="site"),
                _c("product", "str", required=True, meaning="the product made there", ref="product"),
                _c("component", "str", required=True, meaning="a product consumed to make it", ref="product"),
                _c("quantity", required=True, unit="units/unit", meaning="component units per unit made", minimum=1e-12),
            ),
            key=("site", "product", "component"),
            meaning="Bills of materials: making consumes components from the plant's own stock in the same period.",
        ),
        Table(
            "inventory",
            (
                _c("site", "str", required=True, ref="site"),
                _c("product", "str", required=True, ref="product"),
                _c("initial", default=0.0, unit="units", meaning="on hand before the first period"),
                _c("safety_stock", default=0.0, unit="units", meaning="target on hand at each period end"),
                _c("safety_stock_penalty", unit="money/unit/period", meaning="blank: the product's unit_value"),
                _c("ending_min", unit="units", meaning="minimum on hand after the last period; blank: the safety_stock target; 0: none"),
            ),
            key=("site", "product"),
            meaning="Opening stock, safety stock and ending targets.",
        ),
        Table(
            "receipts",
            (
                _c("site", "str", required=True, meaning="a plant or DC", ref="site"),
                _c("product", "str", required=True, ref="product"),
                _c("period", "period", required=True, meaning="when it arrives", ref="period"),
                _c("quantity", required=True, unit="units", meaning="already ordered or in transit (open purchase orders, goods on the water)"),
            ),
            key=("site", "product", "period"),
            meaning="Scheduled receipts: goods the plan does not decide that arrive at a site.",
        ),
        Table(
            "inventory_budget",
            (
                _c("period", "period", ref="period", meaning="blank: every period; a period row overrides the blank row"),
                _c("site", "str", ref="site", meaning="blank: all sites"),
                _c("family", "str", ref="family", meaning="a product family; blank: all products"),
                _c("max_value", required=True, unit="money", meaning="most inventory value (unit_value x units) at the period end"),
                _c("in_transit", "bool", default=False, meaning="count goods in transit at the period end too (toward the site they travel to; on their way to a customer, the site they left)"),
            ),
            key=("period", "site", "family"),
            meaning="Working-capital caps: the value of inventory a site, a product family or the network may hold.",
        ),
        Table(
            "scenarios",
            (
                _c("scenario", "str", required=True, meaning="the scenario's name; its rows are applied together, in order"),
                _c("kind", "str", default="shock", choices=("shock", "action"), meaning="shock: what happens to the plan; action: a pre-approved response"),
                _c("table", "str", required=True, meaning="the input table to change, e.g. lanes"),
                _c("column", "str", required=True, meaning="its numeric column to change, e.g. lead_time_days"),
                _c("filter", "str", meaning="which rows: column=value terms joined by ; (a|b: either value; period=2027-03..2027-05: a range; family and segment reach demand and production through their product and customer); blank: every row"),
                _c("operation", "str", required=True, choices=("scale", "add", "set"), meaning="scale: multiply by value; add: add value; set: replace by value"),
                _c("value", required=True, minimum=None, meaning="the factor, amount or new value"),
                _c("note", "str", meaning="what it stands for, for the reader"),
            ),
            key=("scenario", "table", "column", "filter"),
            meaning="Scenarios (aop scenarios): shocks and the pre-approved actions against them, as edits of the other tables.",
        ),
        Table(
            "probabilities",
            (
                _c("scenario", "str", required=True, meaning="a scenario of the scenarios table"),
                _c("probability", required=True, unit="fraction", maximum=1.0, meaning="how likely this future is (aop stochastic); the base case takes what the scenarios leave of 1, and is left out when they sum to 1"),
            ),
            key=("scenario",),
            meaning="Scenario probabilities (aop stochastic): one plan is chosen for all the futures, weighted by these.",
        ),
        Table(
            "commitments",
            (
                _c("decision", "str", required=True, choices=("production", "co_manufacturing", "purchases", "shipments", "overtime"), meaning="what is decided now, the same in every future: production (make), co_manufacturing (outsource), purchases (buy from suppliers), shipments (by lane and mode), overtime (hours)"),
                _c("filter", "str", meaning="which of them, in the scenarios' syntax: site, product, family, resource (overtime), origin, destination, mode (shipments; site: the origin) terms joined by ;; blank: all"),
                _c("periods", "str", meaning="a period or a range 2027-01..2027-03 (the shipments' departure period); blank: the whole year"),
                _c("note", "str", meaning="what it stands for, e.g. ocean orders placed in January"),
            ),
            key=("decision", "filter", "periods"),
            meaning="Commitments (aop stochastic): decisions fixed before the future is known; every other decision adapts in each scenario.",
        ),
        Table(
            "options",
            (
                _c("option", "str", required=True, meaning="its name, e.g. co-packer reservation"),
                _c("table", "str", required=True, meaning="the input table of the limit it raises, e.g. production"),
                _c("column", "str", required=True, meaning="the limit's column, e.g. outsource_max_units (a limit that is blank, i.e. unlimited, cannot be reserved)"),
                _c("filter", "str", meaning="which rows, in the scenarios' syntax; blank: every row"),
                _c("max_reserve", required=True, unit="the column's unit", meaning="the most that can be reserved; the reserved amount is added to the limit of every selected row, in every period and every scenario"),
                _c("fee", required=True, unit="money/unit/period", meaning="cost of one unit reserved, per selected row and period it applies to, paid whether used or not"),
                _c("note", "str", meaning="what it stands for, for the reader"),
            ),
            key=("option",),
            meaning="Options bought ahead (aop stochastic): limits raised by a reservation paid in every future; the plan chooses how much of each to buy.",
        ),
        Table(
            "service",
            (
                _c("segment", "str", required=True),
                _c("fill_rate", default=0.0, unit="fraction", maximum=1.0, meaning="share of demand delivered in period"),
                _c("shortage_cost", unit="money/unit", meaning="blank: the demand row's price"),
                _c("backorder_cost", unit="money/unit/period", meaning="cost per unit waiting per period; blank: no backorders (late demand is lost)"),
            ),
            key=("segment",),
            meaning="Service targets and the cost of a unit not delivered.",
        ),
        Table(
            "settings",
            (
                _c("key", "str", required=True),
                _c("value", "str", required=True),
            ),
            key=("key",),
            meaning="currency, solver options (solver, time_limit, threads, presolve ...).",
        ),
    ]
}

#: Settings keys understood by the tool, with defaults and meaning.
SETTINGS: dict[str, tuple[Any, str]] = {
    "currency": ("USD", "currency code used in messages and reports"),
    "solver": ("auto", "HiGHS algorithm: auto (simplex for small plans, else hipo), simplex, hipo or ipx (interior points, with crossover) or pdlp"),
    "time_limit": (float("inf"), "solver time limit in seconds"),
    "threads": (0, "solver threads (0: HiGHS decides)"),
    "presolve": ("on", "HiGHS presolve: on or off"),
    "random_seed": (0, "HiGHS random seed"),
    "output_flag": ("false", "print the HiGHS log"),
    "collection_days": (0, "days from delivery to the customer's payment (cash view; 0: paid on delivery)"),
    "payment_days": (0, "days from spending (production, purchases, freight) to paying for it (cash view)"),
}
