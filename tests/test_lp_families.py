"""One tiny hand-solved case per constraint family: objective and (unique) shadow prices,
each shadow price also checked by finite differences (bump the limit, re-solve, compare).

Base network: plant PL makes X (or gets it from co-manufacturing), ships to customer C on a
lane with no lead time. Periods of 36.5 days, so holding = unit_value * holding_rate / 10 per
unit per period.
"""

from __future__ import annotations

import copy

import pandas as pd
import pytest
from aop import plan_of, solve_case, solve_model
from aop.families import FAMILIES


def price(model, constraint: str, index: dict) -> float:
    """The shadow price of the one row of ``constraint`` with these index values, looked up by
    its key in the LP (a mistyped key or a missing row fails, whatever the price)."""
    assert set(index) == set(FAMILIES[constraint].index), (constraint, index)
    key = tuple(index[c] for c in FAMILIES[constraint].index)
    (row,) = model.lp.row_index(constraint, key)
    assert row >= 0, f"{constraint} has no row {key}"
    return float(model.solution.row_dual[row])


def base(periods=1, demand=(8.0,), price=100.0, value=0.0, **prod) -> dict[str, pd.DataFrame]:
    per = [f"T{i + 1}" for i in range(periods)]
    production = {"site": ["PL"], "product": ["X"], "unit_cost": [3.0]}
    production.update({k: [v] for k, v in prod.items()})
    return {
        "periods": pd.DataFrame({"period": per, "days": [36.5] * periods}),
        "products": pd.DataFrame({"product": ["X"], "unit_value": [value], "holding_rate": [1.0], "price": [price]}),
        "sites": pd.DataFrame({"site": ["PL"], "kind": ["plant"]}),
        "customers": pd.DataFrame({"customer": ["C"], "segment": ["gold"]}),
        "demand": pd.DataFrame({"product": "X", "customer": "C", "period": per, "quantity": list(demand)}),
        "production": pd.DataFrame(production),
        "lanes": pd.DataFrame({"origin": ["PL"], "destination": ["C"], "mode": ["truck"]}),
    }


def with_(t, **tables):
    t = copy.deepcopy(t)
    for k, v in tables.items():
        t[k] = pd.DataFrame(v)
    return t


# Each case: (name, tables, expected total cost, [(family, index, shadow price, bump)]), where
# bump(tables, h) raises that family's limit by h in the input.
def _bump(table, row, column):
    def f(t, h):
        t[table] = t[table].astype({column: float})
        t[table].loc[row, column] += h
    return f


def _capacity(**extra):
    return base(outsource_cost=7.0) | {
        "routings": pd.DataFrame({"site": ["PL"], "product": ["X"], "resource": ["LINE"], "hours_per_unit": [2.0]}),
        "capacity": pd.DataFrame({"site": ["PL"], "resource": ["LINE"], "hours": [10.0], **{k: [v] for k, v in extra.items()}}),
    }


CASES = [
    (
        # 10 hours / 2 per unit = 5 made at 3, 3 outsourced at 7: 15 + 21 = 36.
        # An hour more: half a unit made instead of outsourced: -0.5 * (7 - 3) = -2.
        "capacity",
        _capacity(),
        36.0,
        [("capacity", {"site": "PL", "resource": "LINE", "period": "T1"}, -2.0, _bump("capacity", 0, "hours")), ("demand", {"product": "X", "customer": "C", "period": "T1"}, 7.0, _bump("demand", 0, "quantity"))],
    ),
    (
        # With 2 overtime hours at 1: 6 made (the 6th costs 3 + 2 * 1 = 5), 2 outsourced: 15 + 5 + 14 = 34.
        # An overtime hour more: half a unit at 5 instead of 7: -1. A regular hour: half a unit at 3: -2.
        "overtime",
        _capacity(overtime_hours=2.0, overtime_cost=1.0),
        34.0,
        [("overtime", {"site": "PL", "resource": "LINE", "period": "T1"}, -1.0, _bump("capacity", 0, "overtime_hours")), ("capacity", {"site": "PL", "resource": "LINE", "period": "T1"}, -2.0, _bump("capacity", 0, "hours"))],
    ),
    (
        # 4 made at 3, 4 outsourced at 7: 12 + 28 = 40. A unit of limit more: 3 instead of 7: -4.
        "production_max",
        base(max_units=4.0, outsource_cost=7.0),
        40.0,
        [("production_max", {"site": "PL", "product": "X", "period": "T1"}, -4.0, _bump("production", 0, "max_units"))],
    ),
    (
        # 4 made, 3 outsourced, 1 short at the price 20: 12 + 21 + 20 = 53.
        "outsource_max",
        base(max_units=4.0, outsource_cost=7.0, outsource_max_units=3.0, price=20.0),
        53.0,
        [
            ("outsource_max", {"site": "PL", "product": "X", "period": "T1"}, -13.0, _bump("production", 0, "outsource_max_units")),
            ("production_max", {"site": "PL", "product": "X", "period": "T1"}, -17.0, _bump("production", 0, "max_units")),
            ("demand", {"product": "X", "customer": "C", "period": "T1"}, 20.0, _bump("demand", 0, "quantity")),
        ],
    ),
    (
        # Truck (1 per unit) carries at most 5; air (4) the rest: 5 * 4 + 3 * 7 = 41.
        "lane_capacity",
        with_(base(), lanes={"origin": ["PL", "PL"], "destination": ["C", "C"], "mode": ["truck", "air"], "cost_per_unit": [1.0, 4.0], "capacity": [5.0, None], "premium": [False, True]}),
        41.0,
        [("lane_capacity", {"origin": "PL", "destination": "C", "mode": "truck", "period": "T1"}, -3.0, _bump("lanes", 0, "capacity"))],
    ),
    (
        # Demand 2 then 8; at most 5 made a period; X worth 10 (holding 1 per unit-period);
        # PL stores at most 2: T1 makes 4 (2 kept), T2 makes 5 and outsources 1 at 7:
        # 12 + 15 + 7 + 2 = 36. A unit of space more: kept from T1 (3 + 1) instead of 7: -3.
        "storage",
        with_(base(periods=2, demand=(2.0, 8.0), value=10.0, max_units=5.0, outsource_cost=7.0), sites={"site": ["PL"], "kind": ["plant"], "storage_capacity": [2.0]}),
        36.0,
        [
            ("storage", {"site": "PL", "period": "T1"}, -3.0, _bump("sites", 0, "storage_capacity")),
            ("production_max", {"site": "PL", "product": "X", "period": "T2"}, -4.0, None),
            ("demand", {"product": "X", "customer": "C", "period": "T1"}, 3.0, None),
            ("demand", {"product": "X", "customer": "C", "period": "T2"}, 7.0, None),
        ],
    ),
    (
        # Safety stock 4 at PL, penalty 10 per unit short: keep 4 (make 3 + hold 1 each):
        # 5 * 3 + 4 * 4 = 31; a unit more target costs 4. (ending_min 0: no closing target,
        # which would otherwise default to the safety stock and share its price.)
        "safety_stock",
        with_(base(demand=(5.0,), value=10.0), inventory={"site": ["PL"], "product": ["X"], "safety_stock": [4.0], "safety_stock_penalty": [10.0], "ending_min": [0.0]}),
        31.0,
        [("safety_stock", {"site": "PL", "product": "X", "period": "T1"}, 4.0, _bump("inventory", 0, "safety_stock"))],
    ),
    (
        # The same target when the penalty (2) is below the cost of holding (4): stay short.
        # 5 * 3 + 4 * 2 = 23; a unit more target costs the penalty, 2.
        "safety_stock_soft",
        with_(base(demand=(5.0,), value=10.0), inventory={"site": ["PL"], "product": ["X"], "safety_stock": [4.0], "safety_stock_penalty": [2.0], "ending_min": [0.0]}),
        23.0,
        [("safety_stock", {"site": "PL", "product": "X", "period": "T1"}, 2.0, _bump("inventory", 0, "safety_stock"))],
    ),
    (
        # End the year with 3 at PL: 5 * 3 + 3 * (3 + 1) = 27.
        "ending",
        with_(base(demand=(5.0,), value=10.0), inventory={"site": ["PL"], "product": ["X"], "ending_min": [3.0]}),
        27.0,
        [("ending", {"site": "PL", "product": "X"}, 4.0, _bump("inventory", 0, "ending_min"))],
    ),
    (
        # Fill rate 90 % of 10: at most 6 made (3), co-manufacturing at 30, shortage at 20.
        # 6 made + 3 outsourced + 1 short: 18 + 90 + 20 = 128. A unit more on time: 30 - 20 = 10.
        "service",
        with_(base(demand=(10.0,), max_units=6.0, outsource_cost=30.0, price=20.0), service={"segment": ["gold"], "fill_rate": [0.9]}),
        128.0,
        [("service", {"segment": "gold", "period": "T1"}, 10.0, lambda t, h: t["service"].__setitem__("fill_rate", t["service"]["fill_rate"] + h / 10.0)), ("demand", {"product": "X", "customer": "C", "period": "T1"}, 20.0, None)],
    ),
    (
        # Opening stock 3 at DC; made at PL (3), PL->DC 1, DC->C 1; demand 5: 2 * 5 + 3 * 1 = 13.
        # One more unit of opening stock saves 3 + 1: -4.
        "balance",
        with_(
            base(demand=(5.0,)),
            sites={"site": ["PL", "DC"], "kind": ["plant", "dc"]},
            lanes={"origin": ["PL", "DC"], "destination": ["DC", "C"], "mode": ["truck", "truck"], "cost_per_unit": [1.0, 1.0]},
            inventory={"site": ["DC"], "product": ["X"], "initial": [3.0]},
        ),
        13.0,
        [("balance", {"site": "DC", "product": "X", "period": "T1"}, -4.0, _bump("inventory", 0, "initial"))],
    ),
    (
        # Transit to a customer: two 30-day periods, a 15-day lane. Deliveries are planned by
        # the period they arrive: T1's arrivals would leave over days -15..15, so they leave in
        # T1 (the plan's first day); T2's leave over days 15..45, half in T1, half in T2. Demand
        # 5 and 10, all served; each unit delivered costs make 3 + freight 1 + in transit
        # 10 * 15/365 (nothing waits at PL): 15 * (4 + 150/365). One more unit in either
        # period costs one more delivered unit.
        "transit",
        with_(
            base(periods=2, demand=(5.0, 10.0), value=10.0),
            periods={"period": ["T1", "T2"], "days": [30.0, 30.0]},
            lanes={"origin": ["PL"], "destination": ["C"], "mode": ["truck"], "cost_per_unit": [1.0], "lead_time_days": [15.0]},
        ),
        15 * (4.0 + 150 / 365),
        [
            ("demand", {"product": "X", "customer": "C", "period": "T2"}, 4.0 + 150 / 365, _bump("demand", 1, "quantity")),
            ("demand", {"product": "X", "customer": "C", "period": "T1"}, 4.0 + 150 / 365, _bump("demand", 0, "quantity")),
        ],
    ),
    (
        # Receipts: 6 units already on their way arrive at PL in T2 (a scheduled receipt, the
        # balance row's limit). Demand 5 and 10, X worth 10 (holding 1 per unit-period): T1
        # makes 5, T2 makes 4: 9 * 3 = 27. One more unit received in either period saves
        # making one there (-3).
        "receipts",
        with_(base(periods=2, demand=(5.0, 10.0), value=10.0), receipts={"site": ["PL"], "product": ["X"], "period": ["T2"], "quantity": [6.0]}),
        27.0,
        [
            ("balance", {"site": "PL", "product": "X", "period": "T2"}, -3.0, _bump("receipts", 0, "quantity")),
            ("balance", {"site": "PL", "product": "X", "period": "T1"}, -3.0, None),
        ],
    ),
]


@pytest.fixture(scope="module")
def solved():
    """Each case of CASES solved once for the module, by name, with its shadow-price table
    (``plan_of(..., finance=False)``): the tests below only read them, so solving the same
    tables again per test would prove nothing more."""
    by_name = {c[0]: c[1] for c in CASES}
    models: dict[str, tuple] = {}

    def get(name: str):
        if name not in models:
            model = solve_model(by_name[name])
            models[name] = (model, plan_of(model, finance=False).shadow_prices)
        return models[name]

    return get


@pytest.mark.parametrize("name,tables,cost,duals", CASES, ids=[c[0] for c in CASES])
def test_hand_solved_objective_and_shadow_prices(solved, name, tables, cost, duals):
    model, _ = solved(name)
    assert model.solution.objective == pytest.approx(cost, rel=1e-9)
    for family, index, expected, _ in duals:
        assert price(model, family, index) == pytest.approx(expected, rel=1e-9, abs=1e-9), (family, index)


FD = [(c[0], c[1], fam, idx, price, bump) for c in CASES for fam, idx, price, bump in c[3] if bump is not None]


@pytest.mark.parametrize("name,tables,family,index,price,bump", FD, ids=[f"{f[0]}:{f[2]}" for f in FD])
@pytest.mark.parametrize("h", [1e-3, -1e-3])
def test_finite_differences_match_shadow_prices(solved, name, tables, family, index, price, bump, h):
    # A rise is compared with shadow_price_up, a fall with shadow_price_down (both exist for
    # every binding row; they equal shadow_price where its range extends on that side).
    # The unbumped case is solved once for the module; the bumped one here.
    model, row = solved(name)
    for k, v in index.items():
        row = row[(row["constraint"] == family) & (row[k] == v)]
    one_sided = float(row["shadow_price_up" if h > 0 else "shadow_price_down"].iloc[0])
    bumped = copy.deepcopy(tables)
    bump(bumped, h)
    delta = (solve_model(bumped).solution.objective - model.solution.objective) / h
    assert delta == pytest.approx(one_sided, rel=1e-6, abs=1e-6)
    lo, hi = float(row["limit_lower"].iloc[0]), float(row["limit_upper"].iloc[0])
    if lo <= float(row["limit"].iloc[0]) + h <= hi:
        assert delta == pytest.approx(price, rel=1e-6, abs=1e-6)


def test_ranging_brackets_the_limit():
    # Capacity case: 10 hours; the price -2 holds from 0 hours (nothing made) up to 16
    # (all 8 units made in house).
    plan = solve_case(CASES[0][1])
    row = plan.shadow_prices.query("constraint == 'capacity'").iloc[0]
    assert row["limit_lower"] == pytest.approx(0.0, abs=1e-9)
    assert row["limit_upper"] == pytest.approx(16.0)
    assert row["meaning"] == "One more hour of LINE at PL in T1 would save 2.00 USD; holds for limits up to 16.00 hours."


def hand_solved_elsewhere():
    """Families whose hand-solved cases live with their feature: (tables, family, index, price),
    each derived in the test named."""
    from tests.test_registry import budget_case  # test_the_cap_is_placed_sku_by_sku
    from tests.test_supply import bom_case, outage_case  # supplier limit; backorders

    backorders = outage_case(value=50.0, air=20.0, backorder=3.0)
    return [
        (bom_case(r_max=15.0), "supply", {"site": "SUP", "product": "R", "period": "M1"}, -45.5),
        (backorders, "backlog", {"product": "K", "customer": "C", "period": "P3"}, 10.0),
        (backorders, "delivery", {"product": "K", "customer": "C", "period": "P4"}, -7.0),
        (budget_case(), "inventory_budget", {"site": "", "family": "", "period": "P1"}, -0.1),
    ]


def test_every_family_has_a_hand_solved_test(solved):
    # Every family of the registry has a case worked by hand with a non-zero price, solved
    # (CASES: once for the module; the others' here, once per distinct case) and looked up
    # by its key.
    covered = set()
    cases = [(solved(name)[0], f, i, p) for name, _, _, duals in CASES for f, i, p, _ in duals]
    elsewhere: dict[int, object] = {}  # id(tables) -> its model: backorders holds two families
    for tables, family, index, expected in hand_solved_elsewhere():
        if id(tables) not in elsewhere:
            elsewhere[id(tables)] = solve_model(tables)
        cases.append((elsewhere[id(tables)], family, index, expected))
    for model, family, index, expected in cases:
        if expected != 0.0:
            assert price(model, family, index) == pytest.approx(expected, rel=1e-9)
            covered.add(family)
    assert covered == set(FAMILIES)


def test_shadow_price_review_order_names_every_family():
    from aop.families import review_order

    assert sorted(review_order()) == sorted(FAMILIES)
