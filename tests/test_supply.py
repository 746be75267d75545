"""Suppliers, bills of materials and backorders: hand-solved cases, duals, bad input."""

from __future__ import annotations

import pandas as pd
import pytest
from aop import InputError, load_case, solve_case


def sp(plan, constraint, **index) -> float:
    t = plan.shadow_prices
    sel = t[t["constraint"] == constraint]
    for k, v in index.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, (constraint, index, sel)
    return float(sel["shadow_price"].iloc[0])


def bom_case(r_max=None) -> dict[str, pd.DataFrame]:
    """P is made from 2 K, K from 1 R, R bought from supplier SUP; one period, no lead time,
    no holding (unit_value 0). Costs per unit: buy R 1, make K 2, make P 3; demand 10 P, price 100."""
    return {
        "periods": pd.DataFrame({"period": ["M1"]}),
        "products": pd.DataFrame({"product": ["P", "K", "R"], "price": [100.0, 0, 0]}),
        "sites": pd.DataFrame({"site": ["SUP", "PL"], "kind": ["supplier", "plant"]}),
        "customers": pd.DataFrame({"customer": ["C"]}),
        "demand": pd.DataFrame({"product": ["P"], "customer": ["C"], "period": ["M1"], "quantity": [10.0]}),
        "production": pd.DataFrame({"site": ["PL", "PL"], "product": ["P", "K"], "unit_cost": [3.0, 2.0]}),
        "bom": pd.DataFrame({"site": ["PL", "PL"], "product": ["P", "K"], "component": ["K", "R"], "quantity": [2.0, 1.0]}),
        "supply": pd.DataFrame({"site": ["SUP"], "product": ["R"], "unit_cost": [1.0], "max_units": [r_max]}),
        "lanes": pd.DataFrame({"origin": ["SUP", "PL"], "destination": ["PL", "C"], "mode": ["truck", "truck"]}),
    }


def test_two_level_bom():
    # 10 P need 20 K need 20 R: 10*3 + 20*2 + 20*1 = 90; one more P costs 3 + 2*2 + 2*1 = 9.
    plan = solve_case(bom_case())
    assert plan.total_cost == pytest.approx(90.0)
    assert sp(plan, "demand", product="P", customer="C", period="M1") == pytest.approx(9.0)
    cons = plan.tables["consumption"].set_index(["product", "component"])["component_units"]
    assert cons[("P", "K")] == pytest.approx(20.0) and cons[("K", "R")] == pytest.approx(20.0)
    assert plan.tables["purchases"]["quantity"].sum() == pytest.approx(20.0)
    assert plan.metric("purchase_cost") == pytest.approx(20.0)


def test_supplier_limit_caps_output_and_prices_the_component():
    # R capped at 15: 15 K, 7.5 P, 2.5 short at 100: 15 + 30 + 22.5 + 250 = 317.5.
    # One more R: buy 1 + make K 2 + make 0.5 P 1.5 - 0.5 * 100 shortage = -45.5.
    plan = solve_case(bom_case(r_max=15.0))
    assert plan.total_cost == pytest.approx(317.5)
    assert sp(plan, "supply", site="SUP", product="R", period="M1") == pytest.approx(-45.5)
    bumped = bom_case(r_max=15.5)
    assert (solve_case(bumped).total_cost - plan.total_cost) / 0.5 == pytest.approx(-45.5)


def outage_case(value: float, air: float, backorder: float, fill_rate: float = 0.0) -> dict[str, pd.DataFrame]:
    """Supplier SUP sells K at 1; in period 2 it can sell only 2 units (an outage).

    Four periods of 36.5 days, holding_rate 1, so holding is value/10 per unit per period on
    hand and value/10 per unit shipped by ocean (36.5 days: exactly one period); air takes 0
    days. DC starts with 10 units (period 1's demand); demand is 10 a period at C.

    Period 3's demand cannot arrive by ocean on time (it would leave in the outage). Per unit:
      build ahead   = buy 1 + ocean 1 + transit value/10 + one period at the DC value/10
      premium air   = buy 1 + air
      backorder     = buy 1 + ocean 1 + transit value/10 + backorder (delivered in period 4)
    The 2 units sold in the outage go by ocean and arrive in period 3 (1 + 1 + value/10)."""
    per = ["P1", "P2", "P3", "P4"]
    return {
        "periods": pd.DataFrame({"period": per, "days": [36.5] * 4}),
        "products": pd.DataFrame({"product": ["K"], "unit_value": [value], "holding_rate": [1.0], "price": [100.0]}),
        "sites": pd.DataFrame({"site": ["SUP", "DC"], "kind": ["supplier", "dc"]}),
        "customers": pd.DataFrame({"customer": ["C"], "segment": ["retail"]}),
        "demand": pd.DataFrame({"product": "K", "customer": "C", "period": per, "quantity": [10.0] * 4}),
        "supply": pd.DataFrame({"site": ["SUP", "SUP"], "product": ["K", "K"], "period": [None, "P2"], "unit_cost": [1.0, 1.0], "max_units": [None, 2.0]}),
        "lanes": pd.DataFrame(
            {
                "origin": ["SUP", "SUP", "DC"],
                "destination": ["DC", "DC", "C"],
                "mode": ["ocean", "air", "truck"],
                "cost_per_unit": [1.0, air, 0.0],
                "lead_time_days": [36.5, 0.0, 0.0],
                "premium": [False, True, False],
            }
        ),
        "inventory": pd.DataFrame({"site": ["DC"], "product": ["K"], "initial": [10.0]}),
        "service": pd.DataFrame({"segment": ["retail"], "fill_rate": [fill_rate], "backorder_cost": [backorder]}),
    }


def test_outage_covered_by_building_ahead():
    # value 10: ahead 1+1+1+1 = 4, air 1+5 = 6, backorder 1+1+1+3 = 6 -> build ahead.
    # Periods 2 and 4 by ocean: 20 * 3 = 60; outage units 2 * 3; period 3: 8 * 4. Total 98.
    plan = solve_case(outage_case(value=10.0, air=5.0, backorder=3.0))
    assert plan.total_cost == pytest.approx(98.0)
    inv = plan.tables["inventory"].set_index(["site", "period"])["on_hand"]
    assert inv[("DC", "P2")] == pytest.approx(8.0)
    assert plan.metric("premium_freight_units") == pytest.approx(0.0)
    assert plan.metric("late_units") == pytest.approx(0.0)
    # One more unit in the outage replaces a built-ahead unit: 3 - 4 = -1.
    assert sp(plan, "supply", site="SUP", product="K", period="P2") == pytest.approx(-1.0)


def test_outage_covered_by_premium_freight():
    # value 50: ahead 1+1+5+5 = 12, air 1+6.5 = 7.5, backorder 1+1+5+3 = 10 -> air.
    # Ocean otherwise (7 < 7.5): 20 * 7 + 2 * 7 + 8 * 7.5 = 214.
    plan = solve_case(outage_case(value=50.0, air=6.5, backorder=3.0))
    assert plan.total_cost == pytest.approx(214.0)
    assert plan.metric("premium_freight_units") == pytest.approx(8.0)
    assert plan.metric("premium_freight_spend") == pytest.approx(52.0)
    assert sp(plan, "supply", site="SUP", product="K", period="P2") == pytest.approx(7.0 - 7.5)


def test_outage_covered_by_backorders():
    # value 50, air 20: ahead 12, air 21, backorder 10 -> 8 units wait one period.
    # 20 * 7 + 2 * 7 + 8 * 10 = 234; revenue deferred 8 * 100.
    plan = solve_case(outage_case(value=50.0, air=20.0, backorder=3.0))
    assert plan.total_cost == pytest.approx(234.0)
    assert plan.metric("late_units") == pytest.approx(8.0)
    assert plan.metric("revenue_deferred") == pytest.approx(800.0)
    assert plan.metric("backorder_cost") == pytest.approx(24.0)
    from aop.results import COST_COMPONENTS

    assert sum(plan.metric(c) for c in COST_COMPONENTS) == pytest.approx(plan.total_cost)
    bo = plan.tables["backorders"].set_index("period")
    assert bo.loc["P3", "backlog"] == pytest.approx(8.0) and bo.loc["P4", "late"] == pytest.approx(8.0)
    assert sp(plan, "supply", site="SUP", product="K", period="P2") == pytest.approx(7.0 - 10.0)
    # Owing one more unit at the end of P3: backorder 3 + an ocean unit for P4 (7) = 10.
    assert sp(plan, "backlog", product="K", customer="C", period="P3") == pytest.approx(10.0)
    # Demand in P3: a unit more waits (10), in P1 it would be served late from ocean (7 + 3).
    assert sp(plan, "demand", product="K", customer="C", period="P3") == pytest.approx(10.0)
    # A unit arriving at C from outside the plan: in P4 it saves an ocean unit (7), in P3 a
    # backorder (10).
    assert sp(plan, "delivery", product="K", customer="C", period="P4") == pytest.approx(-7.0)
    assert sp(plan, "delivery", product="K", customer="C", period="P3") == pytest.approx(-10.0)


def test_fill_rate_target_forces_ontime_delivery():
    # As above, but 90 % must arrive on time in every period: in P3 at least 9 on time:
    # 2 outage units + 7 built ahead (12 each) + 1 backordered (10):
    # 140 + 14 + 84 + 10 = 248. One more unit required on time: 12 - 10 = 2.
    plan = solve_case(outage_case(value=50.0, air=20.0, backorder=3.0, fill_rate=0.9))
    assert plan.total_cost == pytest.approx(248.0)
    assert sp(plan, "service", segment="retail", period="P3") == pytest.approx(2.0)
    svc = plan.tables["service"].set_index("period")
    assert svc.loc["P3", "fill_rate"] == pytest.approx(0.9)


def test_unserved_backlog_is_lost_at_shortage_cost():
    # No stock, no supplier in the last period's reach: demand in P4 of a backorder segment
    # that cannot be delivered is lost at the shortage cost (price 100) plus one period waiting.
    t = outage_case(value=10.0, air=5.0, backorder=3.0)
    t["supply"] = pd.DataFrame({"site": ["SUP"], "product": ["K"], "period": [None], "unit_cost": [1.0], "max_units": [None]})
    t["lanes"] = t["lanes"][t["lanes"]["mode"] != "air"]
    # P1 demand (10) from stock; P2-P4 by ocean (3 each); nothing late. Now drop stock:
    t["inventory"]["initial"] = [0.0]
    plan = solve_case(t)
    # P1's 10 units: backordered and delivered in P2 by ocean: 10 * (3 + 3) = 60; P2-P4: 30 * 3.
    assert plan.total_cost == pytest.approx(150.0)
    assert plan.metric("late_units") == pytest.approx(10.0)
    assert plan.metric("lost_units") == pytest.approx(0.0)


def test_cases_without_new_tables_are_unchanged():
    # A segment without backorder_cost keeps the core behaviour: late demand is lost.
    t = outage_case(value=50.0, air=20.0, backorder=3.0)
    t["service"]["backorder_cost"] = [None]
    plan = solve_case(t)
    # P3: ahead 12 < air 21 < lost 100: 140 + 14 + 8 * 12 = 250.
    assert plan.total_cost == pytest.approx(250.0)
    assert "backorders" not in plan.tables


# ------------------------------------------------------------------------------ bad input


def _msgs(tables) -> list[str]:
    with pytest.raises(InputError) as exc:
        load_case(tables)
    return [str(p) for p in exc.value.problems]


def test_bom_cycle_is_refused():
    t = bom_case()
    t["bom"] = pd.concat([t["bom"], pd.DataFrame({"site": ["PL"], "product": ["K"], "component": ["P"], "quantity": [1.0]})], ignore_index=True)
    msgs = _msgs(t)
    assert any("bill-of-materials cycle" in m for m in msgs), msgs


def test_component_without_source_is_refused():
    t = bom_case()
    t["supply"] = t["supply"].iloc[0:0]
    msgs = _msgs(t)
    assert msgs == ["table 'bom' row 3, column 'component': component has no source: no production, supply or opening stock anywhere (value: 'R')"]


def test_supplier_with_production_rows_is_refused():
    t = bom_case()
    t["production"] = pd.concat([t["production"], pd.DataFrame({"site": ["SUP"], "product": ["R"]})], ignore_index=True)
    assert any("is a supplier; only plants make products" in m for m in _msgs(t))


def test_bom_at_a_dc_is_refused():
    t = bom_case()
    t["sites"] = pd.concat([t["sites"], pd.DataFrame({"site": ["DC"], "kind": ["dc"]})], ignore_index=True)
    t["bom"] = pd.concat([t["bom"], pd.DataFrame({"site": ["DC"], "product": ["P"], "component": ["K"], "quantity": [1.0]})], ignore_index=True)
    msgs = _msgs(t)
    assert any("is a DC; bills of materials belong to plants" in m for m in msgs), msgs


def test_supply_at_a_plant_and_lanes_into_a_supplier_are_refused():
    t = bom_case()
    t["supply"] = pd.concat([t["supply"], pd.DataFrame({"site": ["PL"], "product": ["R"]})], ignore_index=True)
    t["lanes"] = pd.concat([t["lanes"], pd.DataFrame({"origin": ["PL"], "destination": ["SUP"], "mode": ["truck"]})], ignore_index=True)
    msgs = _msgs(t)
    assert any("supply rows belong to suppliers" in m for m in msgs)
    assert any("suppliers ship but receive nothing" in m for m in msgs)


def test_nothing_leaves_a_supplier_during_a_full_outage():
    # P2 outage is total (max_units 0): nothing may leave SUP in P2 by any mode. With value 10
    # the plan builds ahead as before (98 with 2 outage units): now those 2 units also come
    # from building ahead: 60 + 10 * 4 = 100.
    t = outage_case(value=10.0, air=5.0, backorder=3.0)
    t["supply"].loc[1, "max_units"] = 0.0
    plan = solve_case(t)
    ships = plan.tables["shipments"]
    assert ships[(ships["origin"] == "SUP") & (ships["departure_period"] == "P2")]["quantity"].sum() == pytest.approx(0.0)
    assert plan.total_cost == pytest.approx(100.0)


# ------------------------------------------------------------------ a limit of 0 has a price


def test_an_outage_has_a_price_and_the_ledger_prices_it():
    # The total P2 outage above (100): one more unit in P2 leaves by ocean and replaces a unit
    # built ahead: 3 - 4 = -1; by finite differences (the outage at 1 unit) the same.
    from aop import solve_model
    from aop import whatifs as W

    t = outage_case(value=10.0, air=5.0, backorder=3.0)
    t["supply"].loc[1, "max_units"] = 0.0
    plan = solve_case(t)
    assert sp(plan, "supply", site="SUP", product="K", period="P2") == pytest.approx(-1.0)
    one = outage_case(value=10.0, air=5.0, backorder=3.0)
    one["supply"].loc[1, "max_units"] = 1.0
    assert solve_case(one).total_cost - plan.total_cost == pytest.approx(-1.0)
    led = W.ledger(solve_model(t))[0].set_index("constraint").loc["supply"]
    assert (led["periods"], led["step"], led["step_size"]) == ("P2", "one unit more", 1.0)
    assert led["predicted"] == pytest.approx(-1.0) and led["value_of_step"] == pytest.approx(-1.0)
    assert led["sentence"] == "K from SUP binds in P2; one more unit is worth 1.00 USD; one more unit in that period (a limit of 0: 10% of it is nothing) would save 1.00 USD (exact: the step stays inside the range where the prices hold)."
    # With a cap binding in another period too, the step says both.
    t["supply"] = pd.concat([t["supply"], pd.DataFrame({"site": ["SUP"], "product": ["K"], "period": ["P1"], "unit_cost": [1.0], "max_units": [5.0]})], ignore_index=True)
    led = W.ledger(solve_model(t))[0].set_index("constraint").loc["supply"]
    assert led["periods"] == "P1-P2" and "10% more units in those periods (one unit where the limit is 0)" in led["sentence"]
    assert led["step"] == "10% more (one unit at a limit of 0)"


def test_a_shut_line_and_no_co_manufacturing_have_prices():
    # Made at PL (max_units 0: the line is shut) or co-manufactured at 7 (allowance 0) or
    # lost at 20 (the price): 8 lost, 160. One more unit allowed made: 3 instead of 20: -17;
    # one more co-manufactured: 7 - 20 = -13. Finite differences (the limits at 1) agree.
    from tests.test_lp_families import base

    def case(make: float, co: float):
        t = base(max_units=make, outsource_cost=7.0, outsource_max_units=co, price=20.0)
        return t

    plan = solve_case(case(0.0, 0.0))
    assert plan.total_cost == pytest.approx(160.0)
    assert sp(plan, "production_max", site="PL", product="X", period="T1") == pytest.approx(-17.0)
    assert sp(plan, "outsource_max", site="PL", product="X", period="T1") == pytest.approx(-13.0)
    assert solve_case(case(1.0, 0.0)).total_cost - plan.total_cost == pytest.approx(-17.0)
    assert solve_case(case(0.0, 1.0)).total_cost - plan.total_cost == pytest.approx(-13.0)


def test_premium_freight_forced_by_an_outage_names_it():
    # value 50, air 6.5, the P2 outage total: P3's 10 units fly (ahead 12, air 7.5, late 10):
    # 20 x 7 + 10 x 7.5 = 215. Only the outage row binds; raised to 10 % of the 10 units flown
    # (1) 9 still fly; raised to all 10 none does.
    from aop import solve_model
    from aop import whatifs as W

    t = outage_case(value=50.0, air=6.5, backorder=3.0)
    t["supply"].loc[1, "max_units"] = 0.0
    model = solve_model(t)
    assert model.solution.objective == pytest.approx(215.0)
    out = W.premium_triggers(model)
    assert out["trigger"].iloc[0] == "a supplier's limit (an outage or its monthly cap)"
    assert out["stops_when"].iloc[0] == "those limits 100% higher (a limit of 0 raised to 100% of the 10 units flown)"


def test_the_examples_february_outage_is_priced_and_the_plan_is_the_same(example_model):
    # The example's preform supplier is out in February (max_units 0). Its row now exists:
    # the objective is what it was without it (21,686,196.58 USD), and one more preform in
    # February is worth what re-solving with 1 and 10 of them says.
    import numpy as np

    m = example_model
    assert m.solution.objective == pytest.approx(21_686_196.5769776, rel=1e-9)
    r = m.lp.row_index("supply", [("SUP-ASIA-PREFORM", "CMP-PREFORM", "2027-02")])
    assert r[0] >= 0 and m.lp.limit[r[0]] == 0.0
    price = float(m.solution.row_dual[r[0]])
    assert price < 0
    base = m.solution.objective
    for units in (1.0, 10.0):
        with m.variant(limits=(r, np.array([units]))) as trial:
            assert (trial.solution.objective - base) / units == pytest.approx(price, rel=1e-6)

