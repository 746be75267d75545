"""The family registry: every field of every family, families with no index or a new index
column, the working-capital cap added through the registry (hand-solved), row identity."""

from __future__ import annotations

import inspect
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from aop import load_case, solve_case
from aop.build import build
from aop.families import FAMILIES, FLOW, LIMIT, PROMISE, Family, index_columns, review_order
from aop.lp import SENSE, terms
from aop.plan import assemble
from aop.solve import solve

from tests.conftest import REPO, small_case


def test_every_field_of_every_family():
    case = load_case(small_case())
    built = build(case)
    reviews = [f.review for f in FAMILIES.values()]
    assert len(set(reviews)) == len(reviews), "two families share a review rank"
    formulation = (REPO / "docs" / "formulation.md").read_text()
    for name, f in FAMILIES.items():
        assert f.name == name and name.isidentifier()
        assert isinstance(f.index, tuple) and all(isinstance(c, str) and c for c in f.index)
        assert f.sense in SENSE
        assert f.unit in ("hours", "units", "money") or f.row_unit is not None, name
        assert f.limit and f.row and f.price, name
        # The sentence names every index value of the row it describes.
        values = {c: f"<{c}>" for c in f.index} | {"limit_unit": "kg"}
        sentence = f.subject(values.get)
        assert all(f"<{c}>" in sentence for c in f.index), (name, sentence)
        assert f.tier in (FLOW, PROMISE, LIMIT)
        assert not f.lever or f.tier != FLOW, "a business limit the diagnosis may not move"
        assert callable(f.build) and list(inspect.signature(f.build).parameters) == ["x"]
        units = f.units(case, pd.DataFrame({c: ["?"] for c in f.index}))
        assert len(units) == 1 and units[0], name
        # Its rows are in the LP (where the small case has any) keyed by its index columns.
        found = built.lp.block(name)
        if found is not None:
            assert list(found[0].keys.columns) == list(f.index)
        assert f"| {name}[" in formulation or f"| {name} |" in formulation, f"{name} missing from docs/formulation.md's formulation table"
    assert review_order()[0] == "capacity" and set(review_order()) == set(FAMILIES)
    assert index_columns()[-1] == "period"


def test_readme_formulation_table_is_generated_from_the_registry():
    from aop.docs import formulation_markdown

    text = (REPO / "docs" / "formulation.md").read_text()
    block = text.split("<!-- formulation:start -->")[1].split("<!-- formulation:end -->")[0].strip()
    assert block == formulation_markdown().strip(), "docs/formulation.md's formulation is stale: regenerate with python -m aop.docs"


def test_row_identity_round_trips():
    lp = build(load_case(small_case())).lp
    for b, sl in lp.rows():
        if not len(b):
            continue
        assert (lp.row_index(b.family, b.keys) == np.arange(sl.start, sl.stop)).all()
        back = lp.row_keys(np.arange(sl.start, sl.stop))
        assert (back["constraint"] == b.family).all() and back[list(b.keys.columns)].equals(b.keys)
    assert (lp.row_index("capacity", ("PL1", "LINE", "2099-01")) == -1).all()


# ------------------------------------------------------------------ families added at run time


def _total_make(x):
    """One row over the whole plan: all units made <= 300 (no index)."""
    return terms(x.v["make"], [], 1.0), pd.DataFrame({"limit": [300.0]})


def _scoped_make(x):
    """A new index column: make of product A over the plan <= 200, keyed by 'scope'."""
    a = x.v["make"][x.v["make"]["product"] == "A"].assign(scope="product A")
    return terms(a, ["scope"], 1.0), pd.DataFrame({"scope": ["product A"], "limit": [200.0]})


EXTRA = {
    "total_make": Family(
        "total_make", (), "<=", "units", "units", "sum make <= 300", "value of one more unit made in the year (<= 0)",
        lambda g: "one more unit made in the year", review=20, tier=LIMIT, lever=True, build=_total_make,
    ),
    "scoped_make": Family(
        "scoped_make", ("scope",), "<=", "units", "units", "sum make of A <= 200", "value of one more unit of A (<= 0)",
        lambda g: f"one more unit made for {g('scope')}", review=21, tier=LIMIT, lever=True, build=_scoped_make,
    ),
}


def test_a_family_with_no_index_and_one_with_a_new_index_column():
    # The small case (no fill-rate promise) wants 400 A and 190 B; capping the year's output at
    # 300 units and A's at 200 binds both; their prices are checked by finite differences.
    families = {**FAMILIES, **EXTRA}

    def run(total=300.0, scoped=200.0):
        fams = dict(families)
        fams["total_make"] = replace(EXTRA["total_make"], build=lambda x: (_total_make(x)[0], pd.DataFrame({"limit": [total]})))
        fams["scoped_make"] = replace(EXTRA["scoped_make"], build=lambda x: (_scoped_make(x)[0], pd.DataFrame({"scope": ["product A"], "limit": [scoped]})))
        t = small_case()
        t["service"]["fill_rate"] = [0.0, 0.0]  # no promise the caps could break
        built = build(load_case(t), fams)
        s = solve(built)
        return assemble(s, finance=False)

    plan = run()
    sp = plan.shadow_prices
    assert "scope" in sp.columns
    total = sp[sp["constraint"] == "total_make"].iloc[0]
    scoped = sp[sp["constraint"] == "scoped_make"].iloc[0]
    assert total[index_columns(families)].isna().all() and total["limit"] == 300.0
    assert scoped["scope"] == "product A"
    assert total["shadow_price"] < 0 and total["meaning"].startswith("One more unit made in the year would save")
    for kw, row in (({"total": 301.0}, total), ({"scoped": 201.0}, scoped)):
        assert run(**kw).total_cost - plan.total_cost == pytest.approx(row["shadow_price"], rel=1e-6)


# ------------------------------------------------------------------ the working-capital cap


def budget_case(max_value: float = 150.0, family: str | None = None) -> dict[str, pd.DataFrame]:
    """A (worth 10) and B (worth 20), 10 of each wanted in P2; made at PL in P1 only (2 and 4)
    or co-manufactured in P2 (5 and 6); no holding cost. Building ahead saves 3 a unit of A
    (0.30 per unit of value held) and 2 a unit of B (0.10). A cap on the value on hand at the
    end of P1."""
    return {
        "periods": pd.DataFrame({"period": ["P1", "P2"], "days": [30.0, 30.0]}),
        "products": pd.DataFrame({"product": ["A", "B"], "family": ["small", "big"], "unit_value": [10.0, 20.0], "price": [100.0, 100.0], "holding_rate": [0.0, 0.0]}),
        "sites": pd.DataFrame({"site": ["PL"], "kind": ["plant"]}),
        "customers": pd.DataFrame({"customer": ["C"]}),
        "demand": pd.DataFrame({"product": ["A", "B"], "customer": ["C", "C"], "period": ["P2", "P2"], "quantity": [10.0, 10.0]}),
        "production": pd.DataFrame({"site": ["PL", "PL"], "product": ["A", "B"], "unit_cost": [2.0, 4.0], "outsource_cost": [5.0, 6.0]}),
        "routings": pd.DataFrame({"site": ["PL", "PL"], "product": ["A", "B"], "resource": ["LINE", "LINE"], "hours_per_unit": [1.0, 1.0]}),
        "capacity": pd.DataFrame({"site": ["PL", "PL"], "resource": ["LINE", "LINE"], "period": ["P1", "P2"], "hours": [100.0, 0.0]}),
        "lanes": pd.DataFrame({"origin": ["PL"], "destination": ["C"], "mode": ["truck"]}),
        "inventory_budget": pd.DataFrame({"period": ["P1"], "family": [family], "max_value": [max_value]}),
    }


def test_the_cap_is_placed_sku_by_sku():
    # 150 of value may wait: all 10 A (100) first, then 2.5 B (50); 7.5 B co-manufactured:
    # 20 + 10 + 45 = 75. Cutting both by half instead (the same 150) would cost 35 + 50 = 85.
    # One more unit of money lets 0.05 B more wait: -0.10.
    plan = solve_case(budget_case())
    assert plan.total_cost == pytest.approx(75.0)
    row = plan.shadow_prices.query("constraint == 'inventory_budget'").iloc[0]
    assert row["shadow_price"] == pytest.approx(-0.1) and row["limit_unit"] == "USD"
    assert (row["site"], row["family"], row["period"]) == ("", "", "P1")
    assert row["meaning"] == "One more USD of inventory allowed across all sites for all products at the end of P1 would save 0.10 USD; holds while the limit stays between 100.00 and 300.00 USD."
    for h in (1.0, -1.0):
        assert solve_case(budget_case(150.0 + h)).total_cost - plan.total_cost == pytest.approx(-0.1 * h)


def test_a_cap_on_one_family():
    # Only the big family (B) is capped, at 100: 5 B wait, 5 are co-manufactured; A is free:
    # 20 + 20 + 30 = 70. One more unit of money: 0.05 B more waits: -0.10.
    plan = solve_case(budget_case(100.0, family="big"))
    assert plan.total_cost == pytest.approx(70.0)
    row = plan.shadow_prices.query("constraint == 'inventory_budget'").iloc[0]
    assert row["family"] == "big" and row["shadow_price"] == pytest.approx(-0.1)


def transit_budget_case(in_transit: bool, max_value: float = 30.0) -> dict[str, pd.DataFrame]:
    """10 A wanted at C in P2 over a 15-day lane on 30-day months: half of the delivery leaves
    in P1 (days 15-30) and is on the road at P1's end, half leaves in P2. A is made at PL in P1
    (2) or co-manufactured in either month (5); worth 10, price 100."""
    t = budget_case()
    t["products"] = pd.DataFrame({"product": ["A"], "unit_value": [10.0], "price": [100.0], "holding_rate": [0.0]})
    t["demand"] = pd.DataFrame({"product": ["A"], "customer": ["C"], "period": ["P2"], "quantity": [10.0]})
    t["production"] = pd.DataFrame({"site": ["PL"], "product": ["A"], "unit_cost": [2.0], "outsource_cost": [5.0]})
    t["routings"] = t["routings"].iloc[:1]
    t["lanes"] = pd.DataFrame({"origin": ["PL"], "destination": ["C"], "mode": ["truck"], "lead_time_days": [15.0]})
    t["inventory_budget"] = pd.DataFrame({"period": ["P1"], "site": ["PL"], "max_value": [max_value], "in_transit": [in_transit]})
    return t


def test_goods_in_transit_count_where_the_cap_says_so():
    # Without transit: 5 leave in P1 (made at 2, on the road, not counted); of the 5 that leave
    # in P2, 3 made in P1 wait at PL (30 of value), 2 are co-manufactured: 16 + 10 = 26. One
    # more unit of money: 0.1 more waits instead of co-manufactured: -0.30.
    plan = solve_case(transit_budget_case(in_transit=False))
    assert plan.total_cost == pytest.approx(26.0)
    assert plan.shadow_prices.query("constraint == 'inventory_budget'")["shadow_price"].iloc[0] == pytest.approx(-0.3)
    # Counting the road: at most 3 units of value-10 may be on hand or on the road at P1's end,
    # and every delivered unit puts half a unit on the road: 6 delivered (3 on the road, made
    # at 2; 3 leave in P2, co-manufactured at 5), 4 lost at 100: 6 + 15 + 400 = 421. One more
    # unit of money: 0.1 more on the road, 0.2 more delivered at 3.5 instead of lost: -19.3.
    plan = solve_case(transit_budget_case(in_transit=True))
    assert plan.total_cost == pytest.approx(421.0)
    price = plan.shadow_prices.query("constraint == 'inventory_budget'")["shadow_price"].iloc[0]
    assert price == pytest.approx(-0.2 * (100.0 - 3.5))
    assert solve_case(transit_budget_case(True, 31.0)).total_cost - plan.total_cost == pytest.approx(price)


def test_budget_rows_are_checked():
    t = budget_case()
    t["inventory_budget"] = pd.DataFrame({"period": ["P9"], "site": ["NOWHERE"], "family": ["huge"], "max_value": [-1.0]})
    from aop import InputError

    with pytest.raises(InputError) as exc:
        load_case(t)
    msgs = [str(p) for p in exc.value.problems]
    for expected in ("column 'period': unknown period", "column 'site': unknown site", "column 'family': unknown product family", "column 'max_value': must not be negative"):
        assert any(expected in m for m in msgs), msgs


def test_a_budget_needs_no_other_module():
    # The working-capital cap was added as a registry record and its build function
    # (families.py) and its input table (schema.py): no pipeline stage names it. The
    # buffers comparison (buffers.py) names it as a user would: it writes that table.
    import aop

    pkg = REPO / "model"
    naming = sorted(p.name for p in pkg.glob("*.py") if "inventory_budget" in p.read_text())
    assert naming == ["buffers.py", "families.py", "schema.py"], naming
    assert aop  # the package imports as aop


def test_unknown_families_fail_loudly_in_edits():
    s = solve(build(load_case(small_case())))
    with pytest.raises(KeyError):
        s.set_limits("capacity", [("PL1", "NOPE", "2027-01")], 10.0)


def test_a_family_added_at_run_time_is_in_the_ledger_the_limits_sheet_and_the_report(tmp_path):
    # Everything past the build reads the plan's own families (built.families, plan.families):
    # a cap added to the registry at run time is priced, stepped in the ledger with its
    # family's step, listed among the limits a reviewer can act on, and shown on the page.
    from aop.families import Step
    from aop.report import write_plan
    from openpyxl import load_workbook

    cap = replace(EXTRA["scoped_make"], noun=lambda g: f"the cap on {g('scope')}", step=Step("percent", 0.2, "20% more", "20% more {unit} in {periods}"))
    t = small_case()
    t["service"]["fill_rate"] = [0.0, 0.0]
    plan = assemble(solve(build(load_case(t), {**FAMILIES, "scoped_make": cap})))
    led = plan.tables["ledger"].set_index("constraint")
    entry = led.loc["scoped_make"]
    assert entry["object"] == "the cap on product A" and entry["step"] == "20% more" and entry["re_solved"] == "yes"
    # Its step is worth what a re-solve with 240 instead of 200 says: 40 x its price while the
    # price holds (checked against the price the shadow-price table gives).
    price = plan.shadow_prices.set_index("constraint").loc["scoped_make", "shadow_price"]
    assert entry["predicted"] == pytest.approx(40 * price, rel=1e-9)
    assert "20% more units in that period" in entry["sentence"]
    write_plan(plan, tmp_path)
    wb = load_workbook(tmp_path / "plan.xlsx", read_only=True)
    rows = [[c for c in r if c is not None] for r in wb["limits"].iter_rows(values_only=True)]
    assert any("scoped_make" in r and "product A" in r for r in rows), rows[:3]
    page = (tmp_path / "report.html").read_text()
    assert "the cap on product A" in page and "scoped_make" in page
