"""Textbook LPs with published optima, expressed in aop's input contract."""

from __future__ import annotations

import pandas as pd
import pytest
from aop import solve_case


def _sp(plan, constraint, **index) -> float:
    t = plan.shadow_prices
    t = t[t["constraint"] == constraint]
    for k, v in index.items():
        t = t[t[k] == v]
    assert len(t) == 1
    return float(t["shadow_price"].iloc[0])


def sailco(with_capacity: bool) -> dict[str, pd.DataFrame]:
    """Sailco Corporation (W. L. Winston, Operations Research: Applications and Algorithms,
    4th ed., section 3.10, multiperiod decision problems): demand 40, 60, 75, 25 sailboats in
    four quarters; up to 40 boats a quarter on regular time at 400 USD, any number on overtime
    at 450 USD; 20 USD per boat in stock at a quarter's end; 10 boats on hand. Published
    minimum cost: 78,450 USD.

    Holding: quarters of 91.25 days, unit_value 80 and holding_rate 1 give 80 * 91.25 / 365 = 20.
    Overtime boats are co-manufacturing at 450 (first form) or overtime hours at 50 on top of
    the 400 unit cost with a one-hour-per-boat routing (second form). Demand must be met: the
    shortage cost is far above any production cost."""
    q = ["Q1", "Q2", "Q3", "Q4"]
    t = {
        "periods": pd.DataFrame({"period": q, "days": [91.25] * 4}),
        "products": pd.DataFrame({"product": ["sailboat"], "unit_value": [80.0], "holding_rate": [1.0], "price": [10_000.0]}),
        "sites": pd.DataFrame({"site": ["sailco"], "kind": ["plant"]}),
        "customers": pd.DataFrame({"customer": ["market"]}),
        "demand": pd.DataFrame({"product": "sailboat", "customer": "market", "period": q, "quantity": [40.0, 60.0, 75.0, 25.0]}),
        "lanes": pd.DataFrame({"origin": ["sailco"], "destination": ["market"], "mode": ["dock"]}),
        "inventory": pd.DataFrame({"site": ["sailco"], "product": ["sailboat"], "initial": [10.0]}),
    }
    if with_capacity:
        t["production"] = pd.DataFrame({"site": ["sailco"], "product": ["sailboat"], "unit_cost": [400.0]})
        t["routings"] = pd.DataFrame({"site": ["sailco"], "product": ["sailboat"], "resource": ["crew"], "hours_per_unit": [1.0]})
        t["capacity"] = pd.DataFrame({"site": ["sailco"], "resource": ["crew"], "hours": [40.0], "overtime_hours": [1000.0], "overtime_cost": [50.0]})
    else:
        t["production"] = pd.DataFrame({"site": ["sailco"], "product": ["sailboat"], "unit_cost": [400.0], "max_units": [40.0], "outsource_cost": [450.0]})
    return t


@pytest.mark.parametrize("with_capacity", [False, True], ids=["production-limit", "capacity-and-overtime"])
def test_sailco(with_capacity):
    plan = solve_case(sailco(with_capacity))
    assert plan.total_cost == pytest.approx(78_450.0, rel=1e-9)
    # The marginal boat: Q1 take one from the 10 carried into Q2 and build it on overtime in Q2
    # (450 - 20 of holding saved); Q2 and Q3 on overtime; Q4 on regular time.
    for quarter, price in (("Q1", 430.0), ("Q2", 450.0), ("Q3", 450.0), ("Q4", 400.0)):
        assert _sp(plan, "demand", product="sailboat", customer="market", period=quarter) == pytest.approx(price)
    # A quarter's extra regular-time boat saves the overtime premium (less holding where it
    # would be built ahead).
    family, index = ("capacity", {"resource": "crew"}) if with_capacity else ("production_max", {"product": "sailboat"})
    assert _sp(plan, family, site="sailco", period="Q3", **index) == pytest.approx(-50.0)


def transportation(supply, demand, cost) -> dict[str, pd.DataFrame]:
    """A one-period transportation problem: plants with capacities, customers with demands."""
    plants = [f"plant{i + 1}" for i in range(len(supply))]
    cities = [f"city{j + 1}" for j in range(len(demand))]
    return {
        "periods": pd.DataFrame({"period": ["P"]}),
        "products": pd.DataFrame({"product": ["unit"], "price": [1e6]}),
        "sites": pd.DataFrame({"site": plants, "kind": "plant"}),
        "customers": pd.DataFrame({"customer": cities}),
        "demand": pd.DataFrame({"product": "unit", "customer": cities, "period": "P", "quantity": [float(d) for d in demand]}),
        "production": pd.DataFrame({"site": plants, "product": "unit", "max_units": [float(s) for s in supply]}),
        "lanes": pd.DataFrame(
            [{"origin": p, "destination": c, "mode": "line", "cost_per_unit": float(cost[i][j])} for i, p in enumerate(plants) for j, c in enumerate(cities)]
        ),
    }


def test_powerco():
    """Powerco (Winston, Operations Research, 4th ed., section 7.1, Example 1): three power
    plants supply 35, 50, 40 million kWh to four cities needing 45, 20, 30, 30 at the costs
    per million kWh below. Published minimum cost: 1,020 USD. (Balanced, so the duals are not
    unique: only the objective is asserted.)"""
    cost = [[8, 6, 10, 9], [9, 12, 13, 7], [14, 9, 16, 5]]
    plan = solve_case(transportation([35, 50, 40], [45, 20, 30, 30], cost))
    assert plan.total_cost == pytest.approx(1_020.0, rel=1e-9)


def test_pt_company():
    """P&T Company (F. S. Hillier and G. J. Lieberman, Introduction to Operations Research,
    section 9.1, the prototype transportation problem): three canneries ship 75, 125, 100
    truckloads of peas to four warehouses needing 80, 65, 70, 85, at the shipping costs per
    truckload below. Published optimum: 152,535 USD."""
    cost = [[464, 513, 654, 867], [352, 416, 690, 791], [995, 682, 388, 685]]
    plan = solve_case(transportation([75, 125, 100], [80, 65, 70, 85], cost))
    assert plan.total_cost == pytest.approx(152_535.0, rel=1e-9)
    ships = plan.tables["shipments"]
    assert ships["quantity"].sum() == pytest.approx(300.0)
