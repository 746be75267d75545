"""Every figure of a plan defined once: its name, label, unit and formula (``METRICS``).

In the manner of PyPSA's ``statistics``: the summary table, the scenario comparison, the
sensitivity run, the plan-to-plan bridge, the workbook, the browser pages, the CLI and the
buffers study all read a plan's figures through ``evaluate`` (or the summary it makes), and
none re-derives one. A metric's ``value`` reads the solved plan's ``results.Figures``; a fact
of the run (the solver, the seconds of each stage, the what-ifs run) is given when the summary
is assembled (``summary``). Units: 'money' is the case's currency, 'fraction' a share (0.98 is
98 %), 'units', 'count', 's' (seconds), '' (text).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

import pandas as pd

from .results import COST_COMPONENTS, COST_GROUPS, Figures, ledger_entries

#: A figure's value: a number, or text (the status, the solver, the limits that cost the most).
Value = float | str

_V = TypeVar("_V", covariant=True)


@dataclass(frozen=True)
class Metric(Generic[_V]):
    """One figure of a plan. ``value`` computes it from the plan's figures (None for a fact of
    the run, given to ``summary``); ``per``: 'segment' for one value per customer segment,
    named '<name> <segment>'; ``kpi``: compared across plans (scenarios, sensitivity, the
    bridge) and shown on the page's cards."""

    name: str
    label: str
    unit: str
    formula: str
    value: Callable[[Figures], _V] | None = None
    kpi: bool = False
    per: str = ""

    def unit_of(self, currency: str) -> str:
        """The unit as the summary writes it: the currency for money."""
        return currency if self.unit == "money" else self.unit


def _cost(name: str) -> Callable[[Figures], float]:
    return lambda f: f.costs[name]


def _group(name: str) -> Callable[[Figures], float]:
    return lambda f: sum(f.costs[c] for c in COST_GROUPS[name])


def _service(name: str) -> Callable[[Figures], float]:
    return lambda f: f.service_figures[name]


def _stock(name: str) -> Callable[[Figures], float]:
    return lambda f: f.stock_figures[name]


def _premium(name: str) -> Callable[[Figures], float]:
    return lambda f: f.premium_figures[name]


def _cost_of_goods_sold(f: Figures) -> float:
    # The cost of the units delivered, traced along the flows (costing.trace, holding apart):
    # what was made and not sold is stock, not cost (the P&L's cost of goods sold).
    return f.cost_of_goods_sold


def _margin(f: Figures) -> float:
    # The P&L's contribution margin: revenue less the cost of goods sold (test_metrics checks
    # the two agree). Not revenue less what was spent: stock built would count as cost.
    return f.service_figures["revenue"] - _cost_of_goods_sold(f)


def _margin_pct(f: Figures) -> float:
    rev = f.service_figures["revenue"]
    return _margin(f) / rev if rev else 0.0


def _top_limits(f: Figures) -> str:
    led = ledger_entries(f.built, f.solution)
    if led.empty:
        return ""
    led = led.assign(rank_value=led["predicted"].abs()).sort_values("rank_value", ascending=False)
    return "; ".join(led["object"].head(3))


_COST_WORDS = {
    "production_cost": ("Production", "units made x unit cost"),
    "outsourcing_cost": ("Co-manufacturing", "units co-manufactured x outsource cost"),
    "overtime_cost": ("Overtime", "overtime hours x overtime cost"),
    "purchase_cost": ("Purchases", "units bought x the supplier's unit cost"),
    "freight_cost": ("Freight", "units moved x freight per unit, every lane and mode"),
    "holding_cost_sites": ("Holding at sites", "units on hand at each period end x unit_value x holding_rate x days / 365"),
    "holding_cost_in_transit": ("Holding in transit", "units moved x unit_value x holding_rate x lead time / 365"),
    "shortage_cost": ("Lost sales at their shortage cost", "units lost x the segment's shortage cost (else the price)"),
    "backorder_cost": ("Backorders", "units owed at each period end x backorder cost"),
    "backlog_at_end_cost": ("Still owed at the end", "units still owed after the last period x the shortage cost"),
    "safety_stock_penalty": ("Safety stock below target", "units below the safety stock x its penalty, each period"),
    "closing_stock_penalty": ("Closing stock below target", "units below a soft closing target x unit_value"),
}

# A list of its own, typed: each metric's value is checked to be a number or text.
_METRICS: list[Metric[Value]] = [
    Metric("status", "Status", "", "the solver's verdict: optimal", lambda f: f.solution.status),
    Metric("total_cost", "Total cost (the objective)", "money", "the LP's objective: cash cost-to-serve + carrying cost + penalties", lambda f: f.solution.objective, kpi=True),
    Metric("cash_cost_to_serve", "Cash cost-to-serve", "money", "production + co-manufacturing + overtime + purchases + freight", _group("cash_cost_to_serve"), kpi=True),
    Metric("carrying_cost", "Carrying cost (holding: cost of capital, not cash)", "money", "holding at sites + holding in transit", _group("carrying_cost")),
    Metric("penalty_cost", "Penalties (what the plan gives up)", "money", "lost sales + backorders + still owed at the end + stock below targets", _group("penalty_cost")),
    *[Metric(c, _COST_WORDS[c][0], "money", _COST_WORDS[c][1], _cost(c), kpi=c == "overtime_cost") for c in COST_COMPONENTS],
    Metric("revenue", "Revenue (price x delivered)", "money", "units delivered x their price (on time and late)", _service("revenue"), kpi=True),
    Metric("revenue_deferred", "Revenue deferred (delivered late)", "money", "units delivered late x price", _service("revenue_deferred"), kpi=True),
    Metric("revenue_lost", "Revenue lost", "money", "units lost x price", _service("revenue_lost"), kpi=True),
    Metric("contribution_margin", "Contribution margin", "money", "revenue - cost of goods sold (the units delivered at what they cost, traced along the flows; the P&L's margin)", _margin, kpi=True),
    Metric("contribution_margin_pct", "Contribution margin %", "fraction", "contribution margin / revenue", _margin_pct),
    Metric("what_if_resolves", "What-if re-solves of the finance view", "count", "warm re-solves the finance view ran"),
    Metric("what_ifs_left_out", "What-ifs left out (their time was spent)", "count", "what-ifs beyond the finance view's time budget"),
    Metric("demand_units", "Demand", "units", "every demand row's quantity as solved", _service("demand_units")),
    Metric("ontime_units", "Delivered on time", "units", "units delivered in the period they are wanted", _service("ontime_units")),
    Metric("late_units", "Delivered late", "units", "units delivered after their period (backorders cleared)", _service("late_units")),
    Metric("lost_units", "Lost", "units", "units never delivered", _service("lost_units")),
    Metric("backlog_at_end_units", "Still owed at the end", "units", "units owed after the last period", _service("backlog_at_end_units")),
    Metric("backlog_at_end_revenue", "Revenue still owed at the end", "money", "units owed after the last period x price", _service("backlog_at_end_revenue")),
    Metric("fill_rate", "On-time fill rate", "fraction", "units on time / all demand (OTIF)", _service("fill_rate"), kpi=True),
    Metric("premium_freight_spend", "Premium freight", "money", "units on premium modes x their freight", _premium("premium_freight_spend"), kpi=True),
    Metric("premium_freight_units", "Premium freight (units)", "units", "units moved on premium modes", _premium("premium_freight_units")),
    Metric("inventory_value_average", "Inventory value (on hand and in transit), average of the months", "money", "the mean over the periods of the value on hand and in transit at each period end", _stock("inventory_value_average"), kpi=True),
    Metric("inventory_value_end", "Inventory value at the end", "money", "units on hand after the last period x unit_value", _stock("inventory_value_end"), kpi=True),
    Metric("in_transit_end_units", "In transit at the end", "units", "units still on their way after the last period", _stock("in_transit_end_units")),
    Metric("in_transit_end_value", "Value in transit at the end", "money", "units still on their way x unit_value", _stock("in_transit_end_value")),
    Metric("top_limits", "The limits that cost the most", "", "the three binding business limits whose step the prices value most", _top_limits, kpi=True),
    Metric("solver", "Solver", "", "HiGHS and its version", lambda f: f.solution.solver),
    Metric("algorithm", "Algorithm", "", "the algorithm that solved the plan", lambda f: f.solution.algorithm),
    Metric("solve_seconds", "HiGHS time", "s", "seconds HiGHS took", lambda f: f.solution.seconds),
    Metric("one_sided_price_resolves", "Re-solves for one-sided prices", "count", "warm re-solves that measured one-sided prices", lambda f: f.solution.one_sided.get("resolves", 0.0)),
    Metric("one_sided_prices_left_out", "One-sided prices not measured", "count", "one-sided prices beyond the most measured", lambda f: f.solution.one_sided.get("left_out", 0.0)),
    Metric("variables", "Variables", "count", "columns of the LP", lambda f: f.built.lp.num_col),
    Metric("constraints", "Constraints", "count", "rows of the LP", lambda f: f.built.lp.num_row),
]
#: Every figure of a plan, in the order of the summary table.
METRICS: dict[str, Metric[Value]] = {m.name: m for m in _METRICS}
#: Metrics with one value per segment (``Metric.per``), by name.
PER_SEGMENT: dict[str, Metric[dict[str, float]]] = {"fill_rate": Metric("fill_rate", "On-time fill rate, {segment}", "fraction", "the segment's units on time / its demand (1 where it has none)", lambda f: f.segment_fill_rates, kpi=True, per="segment")}

#: The figures compared across plans, in the order a comparison lists them (scenarios,
#: sensitivity, the bridge, the page's cards); 'fill_rate <segment>' for each segment follows
#: 'fill_rate'. Exactly the metrics marked ``kpi``.
KPIS = ("total_cost", "cash_cost_to_serve", "revenue", "contribution_margin", "revenue_lost", "revenue_deferred", "fill_rate", "premium_freight_spend", "overtime_cost", "inventory_value_average", "inventory_value_end", "top_limits")
assert set(KPIS) == {n for n, m in METRICS.items() if m.kpi}
#: The figures on a page's cards, in order ('fill_rate <segment>' after 'fill_rate').
CARDS = ("cash_cost_to_serve", "revenue", "contribution_margin", "contribution_margin_pct", "fill_rate", "premium_freight_spend", "inventory_value_average", "inventory_value_end")
#: Figures that depend on the finance view (left out of a plan made without it).
FINANCE = ("contribution_margin", "contribution_margin_pct", "what_if_resolves", "what_ifs_left_out")


def label(name: str) -> str:
    """A metric's label, for any name a summary or comparison holds ('fill_rate retail' too);
    a stage's seconds and unknown names are spelled out."""
    if name in METRICS:
        return METRICS[name].label
    base, _, part = name.partition(" ")
    if base in PER_SEGMENT and part:
        return PER_SEGMENT[base].label.format(segment=part)
    if name.startswith("stage_") and name.endswith("_seconds"):
        return f"Seconds: {name[6:-8]}"
    return name.replace("_", " ").capitalize()


def unit(name: str, currency: str) -> str:
    """A metric's unit as written beside it (the currency for money)."""
    base = name.partition(" ")[0]
    m = METRICS.get(name) or PER_SEGMENT.get(base)
    if m is not None:
        return m.unit_of(currency)
    return "s" if name.startswith("stage_") else ""


def evaluate(f: Figures, names: tuple[str, ...] | list[str] | None = None) -> dict[str, Value]:
    """The figures ``names`` (every metric with a value when None) of a solved plan, by name;
    a per-segment metric gives one entry per segment after its plain one."""
    out: dict[str, Value] = {}
    for name in names if names is not None else [n for n, m in METRICS.items() if m.value is not None]:
        m = METRICS[name]
        if m.value is not None:
            out[name] = m.value(f)
        seg = PER_SEGMENT.get(name)
        if seg is not None and seg.value is not None:
            out.update({f"{name} {s}": v for s, v in seg.value(f).items()})
    return out


def kpis(f: Figures) -> dict[str, Value]:
    """The figures a comparison of plans puts side by side (``KPIS``)."""
    return evaluate(f, KPIS)


def summary(f: Figures, run: Mapping[str, Value] | None = None, finance: bool = True, timings: dict[str, float] | None = None) -> pd.DataFrame:
    """metric, value, unit: every figure of the plan in one table, in ``METRICS`` order; facts
    of the run from ``run`` (what-ifs run and left out) and ``timings`` (stage seconds, as
    ``stage_<name>_seconds``). Without the finance view its figures are left out."""
    cur = f.case.currency
    values = evaluate(f, [n for n, m in METRICS.items() if m.value is not None and (finance or n not in FINANCE)])
    values.update({k: v for k, v in (run or {}).items() if k in METRICS})
    rows = []
    for name, m in METRICS.items():
        if not finance and name in FINANCE:
            continue
        if name in values:
            rows.append((name, values[name], m.unit_of(cur)))
        for key in (k for k in values if k.startswith(name + " ") and name in PER_SEGMENT):
            rows.append((key, values[key], PER_SEGMENT[name].unit_of(cur)))
    rows += [(f"stage_{stage}_seconds", secs, "s") for stage, secs in (timings or {}).items()]
    out = pd.DataFrame(rows, columns=["metric", "value", "unit"])
    out["value"] = out["value"].astype(object)
    return out


def in_order(names, order: tuple[str, ...]) -> list[str]:
    """Of ``names`` (as a summary or comparison holds them), those in ``order``, in that order,
    each per-segment figure after its plain one."""
    names = list(names)
    out = []
    for n in order:
        if n in names:
            out.append(n)
        if n in PER_SEGMENT:
            out += sorted(k for k in names if k.startswith(n + " "))
    return out


def figure(summary_table: pd.DataFrame, name: str) -> float:
    """One number of a summary table (as written or read back from summary.csv); NaN when absent."""
    s = summary_table.loc[summary_table["metric"] == name, "value"]
    return float(s.iloc[0]) if len(s) else math.nan
