"""The finance view, every figure on a case small enough to work by hand: the ledger and the
value of a step of a limit, revenue recovered, the P&L, working capital and cash, cost-to-
serve, service and premium freight costed, buffers from variability."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
from aop import plan_of, solve_case, solve_model
from aop import statements as S
from aop import whatifs as W
from aop.buffers import compare_cuts, inventory_sheet, proposed
from aop.cli import main
from aop.scenarios import kpis

from tests.conftest import small_case, write_xlsx
from tests.test_lp_families import CASES, _capacity, base
from tests.test_supply import outage_case

CASE = {name: tables for name, tables, _, _ in CASES}


# ------------------------------------------------------------------ the ledger


def test_a_step_of_a_line_is_worth_what_its_price_says_inside_its_range():
    # 10 hours, 2 an X: 5 made at 3, 3 co-manufactured at 7 (price -2 an hour up to 16 hours).
    # 10 % more hours (1) make half an X more in house: -2, as the price predicted.
    # Inside the range, the step is exact without a re-solve (no what-if time at all), and a
    # re-solve says the same.
    model = solve_model(CASE["capacity"])
    led, _ = W.ledger(model, what_ifs=W.WhatIfs(0.0))
    row = led.iloc[0]
    assert (row["object"], row["periods"], row["unit"]) == ("LINE at PL", "T1", "hours")
    assert row["exact"] == "inside the ranges" and (row["value_low"], row["value_high"]) == (pytest.approx(-2.0), pytest.approx(-2.0))
    assert row["predicted"] == pytest.approx(-2.0) and row["value_of_step"] == pytest.approx(-2.0)
    assert row["sentence"] == "LINE at PL binds in T1; one more hour is worth 2.00 USD; 10% more hours in that period would save 2.00 USD (exact: the step stays inside the range where the prices hold)."
    base = model.optimum.objective
    with model.variant(limits=(model.lp.row_index("capacity", [("PL", "LINE", "T1")]), np.array([11.0]))) as trial:
        assert trial.solution.objective - base == pytest.approx(-2.0)


def test_where_the_linear_estimate_stops_holding():
    # 15 hours: 7.5 X made, 0.5 co-manufactured; the price -2 holds up to 16 hours. 10 % more
    # (1.5 hours) is only worth the 1 hour that replaces the co-manufactured half: -2, while
    # the price alone predicted 1.5 x -2 = -3.
    t = _capacity()
    t["capacity"]["hours"] = [15.0]
    row = W.ledger(solve_model(t))[0].iloc[0]
    assert row["predicted"] == pytest.approx(-3.0) and row["value_of_step"] == pytest.approx(-2.0)
    assert "would save 2.00 USD (the prices alone predicted 3.00)" in row["sentence"]


def test_a_step_worth_nothing_saves_nothing():
    # 5 X wanted: the 10 hours make exactly 5. One hour more saves nothing (the price for a
    # rise is 0); one less costs half an X co-manufactured: one-sided.
    t = _capacity()
    t["demand"]["quantity"] = [5.0]
    row = W.ledger(solve_model(t))[0].iloc[0]
    assert row["one_sided"] and row["value_of_step"] == pytest.approx(0.0, abs=1e-9)
    assert row["exact"] == "inside the ranges"
    assert row["sentence"].endswith("10% more hours in that period would save nothing (exact: the step stays inside the range where the prices hold).")
    assert "0.00 USD (the prices" not in row["sentence"]


def test_the_revenue_a_step_recovers():
    # No co-manufacturing; 10 hours make 5 of the 8 X wanted at 10; 3 are lost. 10 % more hours
    # make half an X more: 0.5 x 10 of revenue recovered, 0.5 x (3 - 10) = -3.5 of cost.
    t = base(price=10.0) | {
        "routings": pd.DataFrame({"site": ["PL"], "product": ["X"], "resource": ["LINE"], "hours_per_unit": [2.0]}),
        "capacity": pd.DataFrame({"site": ["PL"], "resource": ["LINE"], "hours": [10.0]}),
    }
    led, drivers = W.ledger(solve_model(t))
    row = led.iloc[0]
    assert row["value_of_step"] == pytest.approx(-3.5) and row["revenue_recovered"] == pytest.approx(5.0)
    assert row["revenue_per_unit"] == pytest.approx(5.0)  # an hour more: half an X at 10
    assert drivers[["customer", "period", "revenue_recovered"]].values.tolist() == [["C", "T1", pytest.approx(5.0)]]
    assert row["sentence"].endswith("and recover 5.00 USD of revenue.")


def test_the_model_is_the_plan_again_after_the_ledger():
    model = solve_model(small_case())
    before = model.solution.objective, model.lp.row_upper.copy()
    W.ledger(model)
    assert model.solution.objective == before[0] and np.array_equal(model.lp.row_upper, before[1])
    assert model.resolve().objective == pytest.approx(before[0], rel=1e-12)


# ------------------------------------------------------------------ the statements


@pytest.mark.parametrize("tables", [small_case(), CASE["storage"], outage_case(value=50.0, air=20.0, backorder=3.0)], ids=["small", "storage", "backorders"])
def test_the_pnl_reconciles_with_the_objective_and_the_revenue(tables):
    model = solve_model(tables)
    plan = plan_of(model)
    pl, periods = plan.pnl, plan.periods
    p = pl.set_index("line")["year"]
    assert p["revenue"] == pytest.approx(plan.metric("revenue"), rel=1e-9)
    cogs = pl[(pl["kind"] == "cost") & ~pl["line"].str.startswith("holding")]
    assert p["contribution margin"] == pytest.approx(p["revenue"] + cogs["year"].sum())
    assert p["margin after holding"] == pytest.approx(p["contribution margin"] + p["holding (cost of capital, not cash)"])
    assert -p["holding (cost of capital, not cash)"] == pytest.approx(plan.metric("carrying_cost"), rel=1e-9)
    # What was spent, with holding and penalties, is the objective, period by period too.
    spent = pl[pl["line"].str.startswith("spent")]
    assert -float(spent["year"].iloc[0]) == pytest.approx(plan.metric("cash_cost_to_serve"), rel=1e-9)
    paid = pl[pl["line"].str.startswith("spent") | pl["line"].str.startswith("holding") | (pl["kind"] == "penalty")]
    assert -paid[periods].to_numpy().sum() == pytest.approx(plan.total_cost, rel=1e-9)
    # Cost of goods sold = spent + received from outside + change in inventory value at cost.
    rec = pl[pl["kind"] == "reconciliation"][periods].sum()
    assert cogs[periods].sum().to_numpy() == pytest.approx(rec.to_numpy(), abs=1e-9 * max(1.0, plan.total_cost))
    # A scenario comparison's figures are the plan's: its average inventory value is the
    # working capital's (on hand and in transit) over the months.
    k = kpis(model)
    iv = plan.tables["inventory_value"]
    assert len(iv) == len(plan.periods)
    assert k["inventory_value_average"] == pytest.approx(iv["inventory_value"].mean(), rel=1e-12)


def test_cost_of_goods_sold_on_a_build_ahead_case():
    # PL makes at most 7 a month at 3; 4 wanted in T1 and 8 in T2 at 100, 2 to keep at the
    # end (holding 1 a unit a month). T1 makes 7, sells 4, keeps 3; T2 makes 7, sells 8, keeps
    # 2: spent 21 a month; cost of goods sold 4 x 3 = 12 and 8 x 3 = 24 (the carried units at
    # what they cost, holding apart); stock at cost 9, then 6: +9 and -3. Margin 388 and 776
    # (97 % both months); the year's 1,164 leaves out the 6 of closing stock still on hand.
    t = base(periods=2, demand=(4.0, 8.0), max_units=7.0, value=10.0)
    t["inventory"] = pd.DataFrame({"site": ["PL"], "product": ["X"], "initial": [0.0], "ending_min": [2.0]})
    model = solve_model(t)
    assert model.solution.objective == pytest.approx(42.0 + 5.0)
    pl = S.pnl(model).set_index("line")
    assert pl.loc["production", ["T1", "T2"]].tolist() == pytest.approx([-12.0, -24.0])
    assert pl.loc["contribution margin", ["T1", "T2", "year"]].tolist() == pytest.approx([388.0, 776.0, 1164.0])
    assert pl.loc["contribution margin %", ["T1", "T2"]].tolist() == pytest.approx([0.97, 0.97])
    spent = pl.loc[next(i for i in pl.index if i.startswith("spent")), ["T1", "T2"]]
    change = pl.loc["change in inventory value at cost (on hand and in transit)", ["T1", "T2"]]
    assert spent.tolist() == pytest.approx([-21.0, -21.0]) and change.tolist() == pytest.approx([9.0, -3.0])
    # revenue - COGS = margin; spent = COGS + change in inventory value.
    assert (pl.loc["revenue", ["T1", "T2"]] + pl.loc["production", ["T1", "T2"]]).tolist() == pytest.approx(pl.loc["contribution margin", ["T1", "T2"]].tolist())
    assert (-spent).tolist() == pytest.approx((-pl.loc["production", ["T1", "T2"]] + change).tolist())
    assert S.stock_at_cost(model)["inventory_value"].tolist() == pytest.approx([9.0, 6.0])


def test_cost_of_goods_sold_reconciles_in_the_example(example_model):
    pl = S.pnl(example_model)
    periods = example_model.built.case.period_names
    cogs = pl[(pl["kind"] == "cost") & ~pl["line"].str.startswith("holding")][periods].sum()
    rec = pl[pl["kind"] == "reconciliation"][periods].sum()
    assert cogs.to_numpy() == pytest.approx(rec.to_numpy(), rel=1e-9, abs=1e-3)


def _same_trace(a, b) -> None:
    assert a.elements == b.elements
    for x, y in ((a.nodes, b.nodes), (a.served, b.served), (a.transit, b.transit)):
        assert list(x.columns) == list(y.columns) and len(x) == len(y)
        for c in x.columns:
            if x[c].dtype.kind == "f":
                assert x[c].to_numpy() == pytest.approx(y[c].to_numpy(), rel=1e-9, abs=1e-9)
            else:
                assert x[c].tolist() == y[c].tolist()


def test_the_margin_kpi_reads_the_traced_cost_of_goods_sold(example_model):
    # The KPI's cheap path (no tables) is the sum of the trace's deliveries, which the P&L shows.
    from aop.metrics import evaluate
    from aop.results import Figures

    f = Figures.of(example_model)
    cheap = f.cost_of_goods_sold
    assert "at_cost" not in f.__dict__
    tr = Figures.of(example_model).at_cost
    assert cheap == pytest.approx(float(tr.served[tr.elements].to_numpy().sum()), rel=1e-12)
    pl = S.pnl(example_model).set_index("line")
    assert cheap == pytest.approx(-pl.loc[[e for e in tr.elements if e in pl.index], "year"].sum(), rel=1e-12)
    assert evaluate(f, ["contribution_margin"])["contribution_margin"] == pytest.approx(pl.loc["contribution margin", "year"], rel=1e-12)


def test_a_trace_read_on_a_kept_structure_is_the_trace_made_afresh(example_model):
    # An edit that keeps which variables exist keeps the trace's structure (node codes, legs,
    # components, routings: made once per build); the numbers it reads (bill of materials,
    # hours a unit, premium lanes, unit values, opening stock, receipts) are the edit's.
    from dataclasses import replace

    from aop.costing import trace_values
    from aop.results import Figures

    model = example_model
    before = Figures.of(model).at_cost  # the structure, made on the plan before the edit
    case = model.built.case
    lanes = case.lanes.assign(premium=~case.lanes["premium"].astype(bool))
    edited = case.with_tables({
        "bom": case.bom.assign(quantity=case.bom["quantity"] * 1.5), "routings": case.routings.assign(hours_per_unit=case.routings["hours_per_unit"] * 1.3),
        "lanes": lanes, "products": case.products.assign(unit_value=case.products["unit_value"] * 1.1),
        "inventory": case.inventory.assign(initial=case.inventory["initial"] * 2.0), "receipts": case.receipts.assign(quantity=case.receipts["quantity"] * 3.0),
    })
    with model.variant(edited) as trial:
        assert trial.solution is not None and trial.model.built.context.structure is model.built.context.structure
        f = Figures(trial.model.built, trial.solution)
        kept = f.at_cost
        fresh = trace_values(replace(trial.model.built, context=None), *f._traced_arrays(), holding=False)
        held = S.trace(trial.model.built, f.v, holding=True)
        fresh_held = trace_values(replace(trial.model.built, context=None), *f._traced_arrays(), holding=True)
    # Premium lanes flipped: the freight lines are named anew.
    assert {e for e in kept.elements if "(premium)" in e} != {e for e in before.elements if "(premium)" in e}
    _same_trace(kept, fresh)
    _same_trace(held, fresh_held)


def test_working_capital_by_hand():
    # Storage case: T1 makes 4 at 3 a unit, sells 2 (6 of cost of goods sold) and keeps 2 at
    # PL, worth 10 each: 20; T1 is 36.5 days, so 6 of cost of goods sold is 0.1644 a day and
    # 20 of stock is 121.7 days of inventory.
    model = solve_model(CASE["storage"])
    _, wc = S.working_capital(model)
    t1 = wc.set_index("period").loc["T1"]
    assert (t1["on_hand_value"], t1["in_transit_value"], t1["cost_of_goods"]) == pytest.approx((20.0, 0.0, 6.0))
    assert t1["days_of_inventory"] == pytest.approx(20.0 / (6.0 / 36.5))


def test_cash_with_payment_and_collection_terms():
    # One sale of 8 X at 100 in P1 (two 30-day months); made at 3 in P1 (24). Collected 15 days
    # after: half in P1, half in P2. Paid 45 days after: half of it in P2, half after the plan.
    t = base(periods=2, demand=(8.0, 0.0))
    t["periods"]["days"] = [30.0, 30.0]
    t["demand"] = t["demand"].iloc[:1]
    t["settings"] = pd.DataFrame({"key": ["collection_days", "payment_days"], "value": ["15", "45"]})
    c = S.cash(solve_model(t)).set_index("period")
    assert c["collected"].tolist() == pytest.approx([400.0, 400.0])
    assert c["paid"].tolist() == pytest.approx([0.0, 12.0])
    assert c["receivables"].tolist() == pytest.approx([400.0, 0.0]) and c["payables"].tolist() == pytest.approx([24.0, 12.0])
    assert c["net_cash"].tolist() == pytest.approx([400.0, 388.0])


# ------------------------------------------------------------------ cost-to-serve


def test_cost_to_serve_traces_each_unit_along_its_path():
    # Storage case: T1's 2 X are made at 3. T2's 8 come from PL's stock in T2: 2 carried from
    # T1 (3 + 1 of holding), 5 made (3) and 1 co-manufactured (7): 30/8 = 3.75 a unit. The
    # allocated cost is the whole cost: 6 + 30 = 36. The marginal cost of one more X: T1 3, T2 7.
    model = solve_model(CASE["storage"])
    _nodes, served = S.node_costs(model)
    assert served.set_index("period")["cost"].to_dict() == pytest.approx({"T1": 6.0, "T2": 30.0})
    cts = S.cost_to_serve(model).iloc[0]
    assert cts["allocated_cost"] == pytest.approx(36.0) and cts["cost_per_unit"] == pytest.approx(3.6)
    assert cts["marginal_cost_per_unit"] == pytest.approx((2 * 3.0 + 8 * 7.0) / 10)
    assert cts["margin"] == pytest.approx(10 * 100.0 - 36.0)


def test_every_cost_is_traced_somewhere_in_the_example(example_model):
    # What was spent and carried, and the opening stock and receipts at unit value, equal what
    # the deliveries carry plus what closes the year on hand (with its last holding).
    model = example_model
    plan = plan_of(model, finance=False)
    nodes, served = S.node_costs(model)
    case = model.built.case
    uv = case.products.set_index("product")["unit_value"]
    spent = sum(plan.metric(c) for c in ("production_cost", "outsourcing_cost", "overtime_cost", "purchase_cost", "freight_cost", "holding_cost_sites", "holding_cost_in_transit"))
    opening = float((case.inventory["initial"] * case.inventory["product"].map(uv)).sum() + (case.receipts["quantity"] * case.receipts["product"].map(uv)).sum())
    v = model.built.variables["inv"]
    last = v[v["t"] == len(case.periods) - 1]
    units = model.solution.col_value[last["col"].to_numpy()]
    at = nodes.set_index(["site", "product", "t"])["unit_cost"].reindex(pd.MultiIndex.from_frame(last[["site", "product", "t"]])).to_numpy()
    closing = float((units * (at + last["cost"].to_numpy())).sum())
    assert plan.metric("in_transit_end_units") == 0.0
    assert served["cost"].sum() + closing == pytest.approx(spent + opening, rel=1e-7)


def test_marginal_cost_to_serve_counts_the_fill_rate_target():
    # 90 % of C's demand on time; at most 6 made a period (3), co-manufacturing at 30, a lost
    # unit 20. T1 (10 wanted): 6 made, 3 co-manufactured, 1 lost. One more unit of demand is
    # lost (20) and raises the target by 0.9, co-manufactured instead of lost (0.9 x 10): 29.
    # T2 (5 wanted): made at 3, the target slack. Weighted by demand: (10 x 29 + 5 x 3) / 15.
    from tests.test_lp_families import with_

    t = with_(base(periods=2, demand=(10.0, 5.0), max_units=6.0, outsource_cost=30.0, price=20.0), service={"segment": ["gold"], "fill_rate": [0.9]})
    model = solve_model(t)
    cts = S.cost_to_serve(model).iloc[0]
    assert cts["marginal_cost_per_unit"] == pytest.approx((10 * 29.0 + 5 * 3.0) / 15)
    # Finite differences: all of C's demand 1 % higher, re-solved.
    case, before = model.built.case, model.solution.objective
    with model.variant(case.with_tables({"demand": case.demand.assign(quantity=case.demand["quantity"] * 1.01)})) as trial:
        change = trial.solution.objective - before
    assert change / (0.01 * 15.0) == pytest.approx(cts["marginal_cost_per_unit"], rel=1e-9)


# ------------------------------------------------------------------ service and premium freight


def test_the_cost_of_a_fill_rate_promise():
    # 90 % of 10 on time; 6 made at 3, the rest co-manufactured at 30 or lost at 20: 128. One
    # point more is 0.1 unit co-manufactured instead of lost: 1.0 (the price says the same);
    # without the promise 4 are lost: 18 + 80 = 98, so the promise costs 30.
    row = W.service_costs(solve_model(CASE["service"])).iloc[0]
    assert (row["segment"], row["target"]) == ("gold", 0.9)
    assert row["point_cost"] == pytest.approx(1.0) and row["point_cost_predicted"] == pytest.approx(1.0)
    assert row["target_cost"] == pytest.approx(30.0)


def test_premium_freight_and_what_forces_it():
    # outage_case (value 50, air 6.5): the supplier sells only 2 in P2, so 8 of P3's units fly
    # (52 of premium freight): the supplier's limit forces it.
    out = W.premium_triggers(solve_model(outage_case(value=50.0, air=6.5, backorder=3.0)))
    assert out[["origin", "destination", "mode", "departure_period"]].values.tolist() == [["SUP", "DC", "air", "P3"]]
    assert out["units"].iloc[0] == pytest.approx(8.0) and out["spend"].iloc[0] == pytest.approx(52.0)
    assert out["trigger"].iloc[0] == "a supplier's limit (an outage or its monthly cap)"
    assert "forced by a supplier's limit" in out["sentence"].iloc[0]


def test_what_ifs_beyond_their_time_are_left_out_and_said_to_be():
    # No time for what-ifs: the prices' predictions stay, every re-solve is counted as left
    # out and the sentences say why; nothing is guessed.
    model = solve_model(outage_case(value=50.0, air=6.5, backorder=3.0))
    spent = W.WhatIfs(0.0)
    t = W.finance_tables(model, what_ifs=spent)
    assert spent.ran == 0 and spent.skipped >= len(t["ledger"]) + 1
    led = t["ledger"]
    bounded = led[led["exact"] == "bounded"]
    assert bounded["value_of_step"].isna().all() and (bounded["re_solved"] == "no: the what-if time was spent").all()
    assert bounded["sentence"].str.endswith("(not re-solved: the what-if time was spent).").all()
    # A step inside its ranges needs no time: exact all the same.
    assert (led.loc[led["exact"] != "bounded", "value_of_step"].notna()).all()
    assert t["premium_freight"]["sentence"].str.contains("not searched").all() and t["premium_freight"]["spend"].sum() == pytest.approx(52.0)
    plan = plan_of(model, what_if_seconds=0.0)
    s = plan.summary.set_index("metric")["value"]
    assert s["what_if_resolves"] == 0 and s["what_ifs_left_out"] == spent.skipped
    # With time, the same model re-solves them all: what the time bought, not the answer.
    full = W.WhatIfs()
    assert W.finance_tables(model, what_ifs=full)["ledger"]["value_of_step"].notna().all() and full.skipped == 0


def test_a_lead_time_slip_shows_what_it_costs():
    # The ocean lane (36.5 days) slips to 54.75: P2's units can no longer come by ocean from
    # P1's buy in time... the plan pays more and flies or waits: cost up, never down.
    model = solve_model(outage_case(value=10.0, air=5.0, backorder=3.0))
    slip = W.lead_time_slip(model, "ocean", 1.5)
    assert slip["lanes"] == 1 and slip["total_cost_change"] > 0


# ------------------------------------------------------------------ buffers


def test_safety_stock_from_variability_by_hand():
    # The DC serves C 100 a month (std 20) with a 95 % target; it is replenished over a lane
    # of 15 days (std 3) on 30-day months: L 0.5, sd_L 0.1, z 1.645:
    # SS = 1.645 x sqrt(0.5 x 400 + 100^2 x 0.01) = 1.645 x sqrt(300) = 28.5 -> 28.
    t = {
        "periods": pd.DataFrame({"period": ["P1", "P2", "P3"], "days": [30.0] * 3}),
        "products": pd.DataFrame({"product": ["X"], "price": [50.0], "unit_value": [10.0]}),
        "sites": pd.DataFrame({"site": ["PL", "DC"], "kind": ["plant", "dc"]}),
        "customers": pd.DataFrame({"customer": ["C"], "segment": ["gold"]}),
        "demand": pd.DataFrame({"product": "X", "customer": "C", "period": ["P1", "P2", "P3"], "quantity": [100.0] * 3, "std": [20.0] * 3}),
        "production": pd.DataFrame({"site": ["PL"], "product": ["X"], "unit_cost": [3.0]}),
        "lanes": pd.DataFrame({"origin": ["PL", "DC"], "destination": ["DC", "C"], "mode": ["truck", "van"], "lead_time_days": [15.0, 0.0], "lead_time_std_days": [3.0, 0.0]}),
        "inventory": pd.DataFrame({"site": ["DC"], "product": ["X"], "initial": [100.0]}),
        "service": pd.DataFrame({"segment": ["gold"], "fill_rate": [0.95]}),
    }
    model = solve_model(t)
    b = proposed(model).set_index(["site", "product"]).loc[("DC", "X")]
    assert (b["demand_per_period"], b["demand_std"], b["lead_time_periods"], b["lead_time_std_periods"]) == pytest.approx((100.0, 20.0, 0.5, 0.1))
    assert b["z"] == pytest.approx(1.6448536) and b["safety_stock"] == 28.0
    sheet = inventory_sheet(model, proposed(model)).set_index(["site", "product"])
    assert sheet.loc[("DC", "X"), "safety_stock"] == 28.0 and sheet.loc[("DC", "X"), "initial"] == 100.0


def test_two_ways_to_cut_inventory_at_the_same_dollars():
    cmp = compare_cuts(solve_model(small_case()), 0.5)
    assert len(cmp) == 3
    board, capped = cmp.iloc[1], cmp.iloc[2]
    # The cap is set at what the across-the-board plan holds: the same inventory dollars.
    assert capped["average_inventory_value"] <= board["average_inventory_value"] + 1e-6
    assert cmp.iloc[0]["short_of_original_targets_units"] == 0.0


def test_two_cuts_are_costed_on_the_same_targets():
    # One month (holding 1 a unit), X and Y made at 3, 5 of each wanted; safety stock 10 of
    # each (penalty 5 for X, 8 for Y), the closing target the safety stock (soft: unit_value
    # 10 a unit short). Today: 10 of each kept: 60 + 30 + 20 = 110.
    # Every target 50 % lower (the 100 USD of targets): 5 of each kept: 70 as solved, but on
    # today's targets 5 x 5 + 5 x 8 short and 10 x 10 of closing stock: 70 + 165 = 235.
    # The cap at the same 100 USD, today's targets: a unit of Y kept saves 8 + 10, of X 5 + 10,
    # for 3 + 1: 10 Y, no X: 60 + 10 + 5 x 10 + 10 x 10 = 220, the cheaper on one basis.
    t = base(demand=(5.0,), value=10.0)
    t["products"] = pd.DataFrame({"product": ["X", "Y"], "unit_value": [10.0, 10.0], "holding_rate": [1.0, 1.0], "price": [100.0, 100.0]})
    t["demand"] = pd.DataFrame({"product": ["X", "Y"], "customer": "C", "period": "T1", "quantity": [5.0, 5.0]})
    t["production"] = pd.DataFrame({"site": ["PL", "PL"], "product": ["X", "Y"], "unit_cost": [3.0, 3.0]})
    t["inventory"] = pd.DataFrame({"site": ["PL", "PL"], "product": ["X", "Y"], "initial": [0.0, 0.0], "safety_stock": [10.0, 10.0], "safety_stock_penalty": [5.0, 8.0]})
    model = solve_model(t)
    cmp = compare_cuts(model, 0.5)
    today, board, capped = (cmp.iloc[i] for i in range(3))
    assert (today["total_cost"], board["total_cost"], capped["total_cost"]) == pytest.approx((110.0, 235.0, 220.0))
    assert (today["penalty_cost"], board["penalty_cost"], capped["penalty_cost"]) == pytest.approx((0.0, 165.0, 150.0))
    assert (board["cash_cost_to_serve"], capped["cash_cost_to_serve"]) == pytest.approx((60.0, 60.0))
    assert (board["carrying_cost"], capped["carrying_cost"]) == pytest.approx((10.0, 10.0))
    assert board["average_inventory_value"] == pytest.approx(100.0) and capped["average_inventory_value"] == pytest.approx(100.0)
    assert capped["total_cost"] < board["total_cost"]


# ------------------------------------------------------------------ where it lands


def test_the_finance_view_lands_in_the_workbook_csv_and_api(tmp_path, capsys):
    case = write_xlsx(small_case(), tmp_path / "c.xlsx")
    out = tmp_path / "plan"
    assert main(["solve", str(case), "--out", str(out)]) == 0
    for name in W.FINANCE_TABLES:
        assert (out / f"{name}.csv").exists(), name
    with zipfile.ZipFile(out / "plan.xlsx") as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        sheets = z.read("xl/workbook.xml").decode()
    assert len(charts) == 3  # the top ten limits, the waterfall, inventory value by month
    for sheet in ("ledger", "pnl", "working_capital", "cash", "cost_to_serve"):
        assert f'name="{sheet}"' in sheets
    capsys.readouterr()
    assert main(["explain", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "What the plan's constraints cost" in printed and "contribution margin" in printed
    plan = solve_case(small_case())
    assert list(plan.ledger.columns)[:2] == ["constraint", "object"] and "revenue" in set(plan.pnl["line"])


def test_buffers_command_writes_a_sheet_to_paste_back(tmp_path, capsys):
    case = write_xlsx(small_case(), tmp_path / "c.xlsx")
    out = tmp_path / "buffers.xlsx"
    assert main(["buffers", str(case), "--out", str(out)]) == 0
    sheets = pd.read_excel(out, sheet_name=None)
    assert list(sheets) == ["inventory", "buffers", "comparison"]
    assert list(sheets["inventory"].columns) == ["site", "product", "initial", "safety_stock", "safety_stock_penalty", "ending_min"]
    assert main(["buffers", str(case), "--out", str(out)]) == 2  # kept unless --force
    before = out.read_bytes()
    assert main(["buffers", str(case), "--out", str(out), "--force", "--cut", "1.5"]) == 2
    assert main(["buffers", str(case), "--out", str(tmp_path / "no" / "b.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "--cut 1.5" in err and "does not exist" in err and "Traceback" not in err
    assert out.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["buffers.xlsx", "c.xlsx"]
