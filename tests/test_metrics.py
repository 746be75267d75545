"""One definition per figure (``metrics``): the summary, computed from the LP's arrays, says
what the plan's own tables add up to, on cases with backorders (delivered late in months with
and without demand, owed at the end), goods in transit at the end, premium freight and
suppliers; every place that shows a figure reads it from there."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from aop import load_case, metrics, solve_case
from aop.results import COST_COMPONENTS

from tests.conftest import REPO, small_case
from tests.test_edit import generated_case
from tests.test_fidelity import backlog_case, in_transit_case


def waiting_case() -> dict[str, pd.DataFrame]:
    """The small case whose silver segment waits (backorders at 1 a unit-month) and wants 150
    of B in January alone, more than January's line can make beside gold's A: some of it
    arrives late, in months without a demand row of its own."""
    t = small_case()
    t["service"] = pd.DataFrame({"segment": ["gold", "silver"], "fill_rate": [0.0, 0.0], "shortage_cost": [None, 30.0], "backorder_cost": [None, 1.0]})
    t["capacity"]["overtime_hours"] = [0.0]
    d = t["demand"]
    d = d[~((d["product"] == "B") & (d["period"] != "2027-01"))].copy()
    d.loc[d["product"] == "B", "quantity"] = 150.0
    t["demand"] = d
    return t


CASES = {
    "small": small_case,
    "waiting": waiting_case,
    "backlog at the end": lambda: backlog_case(4.0),
    "in transit at the end": in_transit_case,
    "generated": generated_case,
    "example": lambda: REPO / "data" / "example.xlsx",
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_summary_is_what_the_tables_add_up_to(name):
    plan = solve_case(CASES[name](), what_if_seconds=0)
    t, m = plan.tables, plan.metric
    dem = t["demand"]
    approx = lambda x: pytest.approx(x, rel=1e-9, abs=1e-7)
    assert sum(m(c) for c in COST_COMPONENTS) == approx(plan.total_cost)
    for metric, column in (("demand_units", "quantity"), ("ontime_units", "ontime"), ("late_units", "late"), ("lost_units", "short"),
                           ("revenue", "revenue"), ("revenue_deferred", "revenue_deferred"), ("revenue_lost", "revenue_lost")):
        assert m(metric) == approx(dem[column].sum()), metric
    assert m("fill_rate") == approx(dem["ontime"].sum() / dem["quantity"].sum())
    svc = t["service"].groupby("segment")[["ontime", "quantity"]].sum()
    for seg, r in svc.iterrows():
        assert m(f"fill_rate {seg}") == approx(r["ontime"] / r["quantity"] if r["quantity"] else 1.0), seg
    inv = t["inventory"]
    assert m("inventory_value_end") == approx(inv.loc[inv["period"] == plan.periods[-1], "inventory_value"].sum())
    assert m("inventory_value_average") == approx(t["inventory_value"]["inventory_value"].mean())
    it = t.get("in_transit", pd.DataFrame({"quantity": [], "value": []}))
    assert m("in_transit_end_units") == approx(it["quantity"].sum()) and m("in_transit_end_value") == approx(it["value"].sum())
    ship = t["shipments"]
    premium = ship[ship["premium"].astype(bool)]
    assert m("premium_freight_units") == approx(premium["quantity"].sum())
    assert m("premium_freight_spend") == approx(premium["freight_cost"].sum())
    bo = t.get("backorders")
    if bo is not None:
        last = bo[bo["period"] == plan.periods[-1]]
        assert m("backlog_at_end_units") == approx(last["backlog"].sum())
    # The P&L's margin is the contribution margin of the summary.
    pnl = t["pnl"].set_index("line")["year"]
    assert m("contribution_margin") == approx(pnl["contribution margin"])
    assert m("contribution_margin_pct") == approx(pnl["contribution margin %"])
    if name == "waiting":  # the case does what it is built to show
        assert m("late_units") > 0 and (dem["quantity"] == 0).any() and dem.loc[dem["quantity"] == 0, "late"].sum() > 0
    if name == "in transit at the end":
        assert m("in_transit_end_units") > 0


def test_every_figure_has_one_definition_read_everywhere():
    # Labels and units come from the registry; the comparison's KPIs are exactly those marked.
    assert set(metrics.KPIS) == {n for n, mm in metrics.METRICS.items() if mm.kpi}
    assert metrics.label("fill_rate retail") == "On-time fill rate, retail"
    assert metrics.unit("revenue", "EUR") == "EUR" and metrics.unit("fill_rate online", "EUR") == "fraction"
    plan = solve_case(small_case(), what_if_seconds=0)
    s = plan.tables["summary"]
    assert list(s["metric"][: len(["status", "total_cost"])]) == ["status", "total_cost"]
    assert [n for n in s["metric"] if n in metrics.METRICS] == [n for n in metrics.METRICS if n in set(s["metric"])]
    assert set(s["unit"]) <= {"EUR", "fraction", "units", "count", "s", ""}
    # The figures a comparison of plans puts side by side are the summary's own numbers.
    from aop import solve_model
    from aop.results import Figures

    model = solve_model(small_case())
    k = metrics.kpis(Figures.of(model))
    for name, value in k.items():
        if isinstance(value, float) and not math.isnan(value):
            assert value == pytest.approx(metrics.figure(s, name), rel=1e-9, abs=1e-9), name


def test_the_figures_follow_an_edit_of_prices_and_values(tmp_path):
    # The figures' structure is memoised per build; numbers an edit moves are read again.
    from aop import solve_model
    from aop.edits import Edit, apply_edits
    from aop.results import Figures

    case = load_case(CASES["waiting"]())
    model = solve_model(case)
    for e in (Edit("products", "price", (), "scale", 1.5), Edit("products", "unit_value", (), "scale", 2.0), Edit("demand", "price", (), "scale", 0.5)):
        edited = apply_edits(case, [e])
        with model.variant(edited) as trial:
            fast = metrics.evaluate(Figures(trial.built, trial.solution))
        cold = metrics.evaluate(Figures.of(solve_model(edited)))
        for name in ("revenue", "revenue_deferred", "revenue_lost", "backlog_at_end_revenue", "inventory_value_end", "inventory_value_average", "total_cost"):
            assert fast[name] == pytest.approx(cold[name], rel=1e-9, abs=1e-9), (e.words, name)
        assert np.isfinite(fast["revenue"])
