"""The two-stage stochastic plan (``aop stochastic``) on cases solved by hand.

The hand case: one product, one plant, one customer, one month. Making costs 5 a unit (at
most 100, committed now, the same in every future); a unit short costs 20; a co-packer makes
at 8 a unit, but only what is reserved ahead (option "co-packer", fee 1 a unit, at most 40);
option "line" raises the plant's 100 at a fee of 7 a unit. Demand is 150 (future "high") or 50
("low"), each with probability 1/2.

- The plan (RP): make 100, reserve 40 of the co-packer. high: 500 + 40 + 8 x 40 + 20 x 10 =
  1,060; low: 500 + 40 = 540; expected 800. One more unit of line costs 5 + 7 and saves
  20 / 2 = 10 in expectation: not bought (its value per unit, 5, is below its fee, 7).
- In hindsight (WS): high makes 110 (line 10 at 7), reserves 40: 550 + 70 + 40 + 320 = 980;
  low makes 50: 250; expected 615. EVPI = 800 - 615 = 185.
- The average future (demand 100) makes 100 and reserves nothing; carried out: high 500 +
  20 x 50 = 1,500, low 500; EEV = 1,000, VSS = 1,000 - 800 = 200.
- The co-packer's reservation limit: one more unit allowed costs 1 + (8 - 20) / 2 = -5;
  without the option the plan costs 1,000 (net value 200).
- Free to make what each future needs (options still shared): high 110 with line 10, low 50:
  (980 + 360) / 2 = 670; the commitment's flexibility is worth 800 - 670 = 130.
- Min-max (CVaR with weight 1 and the worst outcome): high's cost is least at 980 (line 10),
  low's is then 610: 980.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from aop.api import load_case, solve_model
from aop.errors import InputError
from aop.solve import SolveOptions
from aop.stochastic import carry_out, column_table, cvar, futures_of, plan_for_futures, read_study, row_key_strings


def hand_case(fee_copacker: float = 1.0, max_copacker: float = 40.0, fee_line: float = 7.0, max_units: float = 100.0, outsource_base: float = 0.0) -> dict[str, pd.DataFrame]:
    return {
        "periods": pd.DataFrame({"period": ["2027-01"], "days": [31]}),
        "products": pd.DataFrame({"product": ["A"], "unit_value": [10.0], "price": [20.0], "holding_rate": [0.0]}),
        "sites": pd.DataFrame({"site": ["PL1"], "kind": ["plant"]}),
        "customers": pd.DataFrame({"customer": ["C1"], "segment": ["S"]}),
        "demand": pd.DataFrame({"product": ["A"], "customer": ["C1"], "period": ["2027-01"], "quantity": [100.0]}),
        "production": pd.DataFrame({"site": ["PL1"], "product": ["A"], "unit_cost": [5.0], "max_units": [max_units], "outsource_cost": [8.0], "outsource_max_units": [outsource_base]}),
        "lanes": pd.DataFrame({"origin": ["PL1"], "destination": ["C1"], "mode": ["truck"], "cost_per_unit": [0.0], "lead_time_days": [0.0]}),
        "service": pd.DataFrame({"segment": ["S"], "fill_rate": [0.0], "shortage_cost": [20.0]}),
        "scenarios": pd.DataFrame({"scenario": ["high", "low"], "table": ["demand", "demand"], "column": ["quantity", "quantity"], "operation": ["set", "set"], "value": [150.0, 50.0]}),
        "probabilities": pd.DataFrame({"scenario": ["high", "low"], "probability": [0.5, 0.5]}),
        "commitments": pd.DataFrame({"decision": ["production"]}),
        "options": pd.DataFrame({"option": ["co-packer", "line"], "table": ["production", "production"], "column": ["outsource_max_units", "max_units"],
                                 "max_reserve": [max_copacker, 100.0], "fee": [fee_copacker, fee_line]}),
    }


def solve_hand(**kw):
    weight, alpha = kw.pop("weight", 0.0), kw.pop("alpha", 0.9)
    tables = kw.pop("tables", None) or hand_case(**kw)
    return plan_for_futures(load_case(tables), alpha=alpha, weight=weight, frontier=(0.0, 0.5))


@pytest.fixture(scope="module")
def hand():
    return solve_hand()


def _summary(plan) -> dict[str, float]:
    s = plan.tables["summary"]
    return dict(zip(s["metric"], s["value"].astype(float)))


def test_the_plan_hindsight_and_the_average_plan_match_the_hand_solution(hand):
    s = _summary(hand)
    assert s["expected_total_cost"] == pytest.approx(800)
    assert s["wait_and_see_cost"] == pytest.approx(615)
    assert s["evpi"] == pytest.approx(185)
    assert s["average_plan_expected_cost"] == pytest.approx(1000)
    assert s["vss"] == pytest.approx(200)
    assert s["reservation_cost"] == pytest.approx(40)
    f = hand.tables["futures"].set_index("future")
    assert f.loc["high", "total_cost"] == pytest.approx(1060) and f.loc["low", "total_cost"] == pytest.approx(540)
    assert f.loc["high", "hindsight_cost"] == pytest.approx(980) and f.loc["low", "hindsight_cost"] == pytest.approx(250)
    grid = hand.tables["committed_plan"]
    assert grid["2027-01"].tolist() == pytest.approx([100])
    # EEV: the average plan carried out by each future's own hindsight model, re-solved warm.
    runs = hand.tables["runs"].set_index("run")["objective"]
    assert runs["high: the average future's plan carried out"] == pytest.approx(1500)
    assert runs["low: the average future's plan carried out"] == pytest.approx(500)


def test_an_option_worth_buying_and_one_not_worth_its_fee(hand):
    o = hand.tables["options"].set_index("option")
    assert o.loc["co-packer", "reserved"] == pytest.approx(40)
    assert o.loc["co-packer", "value_per_unit"] == pytest.approx(6)  # (20 - 8) / 2 a unit, above its fee of 1
    assert o.loc["co-packer", "price"] == pytest.approx(-5)
    assert o.loc["co-packer", "net_value"] == pytest.approx(200)
    assert o.loc["line", "reserved"] == pytest.approx(0)
    assert o.loc["line", "value_per_unit"] == pytest.approx(5)  # below its fee of 7
    assert o.loc["line", "net_value"] == pytest.approx(0)
    # The line option is not reserved, so taking it away is settled without a re-solve; the
    # plan without it, solved from the case, costs the same.
    assert hand.tables["runs"].set_index("run").loc["without option line", "how"].startswith("not re-solved")
    no_line = hand_case()
    no_line["options"] = no_line["options"].iloc[:1]
    assert _summary(solve_hand(tables=no_line))["expected_total_cost"] == pytest.approx(800)
    # The reservation limit's price by finite difference: one more unit allowed.
    assert _summary(solve_hand(max_copacker=41.0))["expected_total_cost"] - 800 == pytest.approx(-5)
    # At a fee equal to what it saves (5), buying the line option neither costs nor saves.
    at_par = solve_hand(fee_line=5.0)
    assert _summary(at_par)["expected_total_cost"] == pytest.approx(800)
    assert at_par.tables["options"].set_index("option").loc["line", "value_per_unit"] == pytest.approx(5)


def test_expected_shadow_prices_equal_finite_differences(hand):
    sp = hand.tables["shadow_prices"].set_index("constraint")
    assert sp.loc["production_max", "expected_shadow_price"] == pytest.approx(-5)
    assert sp.loc["outsource_max", "expected_shadow_price"] == pytest.approx(-6)
    # Each limit one unit up in every future, re-planned from the case.
    assert _summary(solve_hand(max_units=101.0))["expected_total_cost"] - 800 == pytest.approx(-5)
    assert _summary(solve_hand(outsource_base=1.0))["expected_total_cost"] - 800 == pytest.approx(-6)


def test_the_commitments_flexibility_is_the_plan_without_them(hand):
    c = hand.tables["commitments"].iloc[0]
    assert c["value_of_flexibility"] == pytest.approx(130)
    free = hand_case()
    free["commitments"] = free["commitments"].iloc[:0]
    assert _summary(solve_hand(tables=free))["expected_total_cost"] == pytest.approx(670)


def test_the_committed_plan_carried_out_in_each_future_costs_what_is_reported(hand):
    z, r = hand.committed_values()
    ef = hand.extensive
    costs = carry_out(ef.futures, ef.committed, ef.rule, hand.union, hand.study.options, z, r, SolveOptions())
    assert costs == pytest.approx(hand.tables["futures"]["total_cost"].to_numpy())


def test_futures_of_other_structures_share_one_union_of_columns_and_rows():
    """Futures that keep the base's structure are placed once (``futures_of`` reuses their
    keys); a future whose lane takes longer than the month has other transit columns. Each
    future's columns and rows must land on the union's entries of the same business key."""
    tables = hand_case()
    tables["scenarios"] = pd.concat(
        [tables["scenarios"], pd.DataFrame({"scenario": ["slow"], "table": ["lanes"], "column": ["lead_time_days"], "operation": ["set"], "value": [40.0]})], ignore_index=True
    )
    tables["probabilities"] = pd.DataFrame({"scenario": ["high", "low", "slow"], "probability": [0.4, 0.4, 0.2]})
    case = load_case(tables)
    futures, union = futures_of(case, read_study(case))
    assert [f.name for f in futures] == ["high", "low", "slow"]
    assert futures[0].built.context.structure is futures[1].built.context.structure
    assert futures[2].built.context.structure is not futures[0].built.context.structure
    keys = union.cols["key"].to_numpy()
    for f in futures:
        assert (keys[f.cols] == column_table(f.built)["key"].to_numpy()).all()
        assert (union.row_keys[f.rows] == row_key_strings(f.lp)).all()
        assert (union.row_sense[f.rows] == f.lp.row_sense).all()
    assert len(set(keys)) == len(keys) and len(set(union.row_keys)) == len(union.row_keys)
    assert len(futures[2].cols) < len(keys)  # the slow future has fewer columns (none arrives in time)


def test_one_future_of_probability_one_is_aop_solve():
    tables = hand_case()
    tables["probabilities"] = pd.DataFrame({"scenario": ["high", "low"], "probability": [1.0, 0.0]})  # 0 leaves a future out
    tables["options"] = tables["options"].iloc[:0]
    plan = solve_hand(tables=tables)
    alone = {k: v for k, v in hand_case().items() if k not in ("scenarios", "probabilities", "commitments", "options")}
    alone["demand"] = alone["demand"].assign(quantity=150.0)
    assert _summary(plan)["expected_total_cost"] == pytest.approx(solve_model(alone).optimum.objective) == pytest.approx(1500)
    assert list(plan.tables["futures"]["future"]) == ["high"]
    # One future: nothing to adapt to, so the commitment's flexibility is worth 0, proven by its
    # prices (all 0) without a re-solve.
    assert plan.tables["commitments"]["value_of_flexibility"].tolist() == [0.0]
    assert plan.tables["runs"].set_index("run").loc["free to change: production all year", "how"].startswith("not re-solved")


def test_cvar_with_all_weight_on_the_worst_outcome_is_the_min_max_plan():
    plan = solve_hand(weight=1.0, alpha=0.9)  # the worst 10 %: the worst future (each has 1/2)
    s = _summary(plan)
    assert s["objective"] == pytest.approx(980)
    assert plan.tables["futures"]["total_cost"].max() == pytest.approx(980)
    assert plan.tables["options"].set_index("option").loc["line", "reserved"] == pytest.approx(10)


def test_cvar_of_a_discrete_cost():
    c, p = np.array([1.0, 2.0, 3.0]), np.array([0.2, 0.3, 0.5])
    assert cvar(c, p, 0.5) == pytest.approx(3)
    assert cvar(c, p, 0.4) == pytest.approx((0.5 * 3 + 0.1 * 2) / 0.6)
    assert cvar(c, p, 0.0) == pytest.approx(float(c @ p))
    assert cvar(c, p, 1.0) == pytest.approx(3)


def test_an_average_plan_that_cannot_be_carried_out_is_infinite_and_named():
    tables = hand_case()
    tables["scenarios"] = pd.DataFrame({"scenario": ["outage"], "table": ["production"], "column": ["max_units"], "operation": ["set"], "value": [60.0]})
    tables["probabilities"] = pd.DataFrame({"scenario": ["outage"], "probability": [0.5]})
    tables["options"] = tables["options"].iloc[:0]
    plan = solve_hand(tables=tables)
    # The average future can make 80 and does; the outage allows 60. The plan commits 60:
    # base 300 + 20 x 40 = 1,100, outage the same: 1,100.
    assert math.isinf(plan.average_plan_cost) and plan.average_fails_in == ["outage"]
    assert plan.expected_cost == pytest.approx(1100)


def test_every_problem_of_the_study_tables_at_once():
    tables = hand_case()
    tables["probabilities"] = pd.DataFrame({"scenario": ["high", "low", "nowhere"], "probability": [0.7, 0.6, 0.1]})
    tables["commitments"] = pd.DataFrame({"decision": ["production", "shipments"], "filter": ["site=PL9", "mode=boat"], "periods": [None, "2027-05"]})
    tables["options"] = pd.DataFrame({"option": ["x"], "table": ["lanes"], "column": ["capacity"], "max_reserve": [10.0], "fee": [1.0]})
    with pytest.raises(InputError) as err:
        solve_hand(tables=tables)
    said = [(p.where, p.column, p.message) for p in err.value.problems]
    text = " | ".join(m for _w, _c, m in said)
    assert "no scenario of this name" in text
    assert "sum to 1.3" in text
    assert "site=PL9" in text and "mode=boat" in text and "'2027-05' is not a period" in text
    assert len(said) >= 5


def test_an_option_on_an_unlimited_column_is_refused():
    tables = hand_case()
    tables["options"] = pd.DataFrame({"option": ["air"], "table": ["lanes"], "column": ["capacity"], "max_reserve": [10.0], "fee": [1.0]})
    with pytest.raises(InputError, match="raises no limit"):
        solve_hand(tables=tables)


def test_the_command_writes_the_study_and_refuses_a_bad_one(tmp_path, capsys):
    from aop.cli import main

    from tests.conftest import write_xlsx

    good = write_xlsx(hand_case(), tmp_path / "hand.xlsx")
    assert main(["stochastic", str(good), "--out", str(tmp_path / "out")]) == 0
    said = capsys.readouterr().out
    assert "expected total cost 800 USD" in said and "(EVPI 185 USD)" in said and "(VSS 200 USD)" in said
    assert "option line: not worth its fee" in said
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"stochastic.xlsx", "stochastic.html", "stochastic_summary.csv", "stochastic_options.csv", "stochastic_committed_plan.csv"} <= names
    summary = pd.read_csv(tmp_path / "out" / "stochastic_summary.csv").set_index("metric")["value"]
    assert float(summary["vss"]) == pytest.approx(200)

    bad = hand_case()
    bad["probabilities"] = pd.DataFrame({"scenario": ["high", "low"], "probability": [0.8, 0.7]})
    path = write_xlsx(bad, tmp_path / "bad.xlsx")
    for argv in (["stochastic", str(path), "--out", str(tmp_path / "bad")], ["validate", str(path)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "probabilities" in err and "sum to 1.5" in err and "Traceback" not in err
    assert not (tmp_path / "bad").exists()
    assert main(["stochastic", str(good), "--out", str(tmp_path / "x"), "--cvar", "1.5"]) == 2


def test_the_decomposition_equals_the_extensive_form_within_its_gap(hand):
    pytest.importorskip("mpisppy", reason="the mpi engine's packages (pip install '.[mpi]')")
    from aop.stochastic import decompose_case

    result, tables = decompose_case(load_case(hand_case()))
    assert result.lower_bound <= 800 + 1e-6 <= result.upper_bound + 2e-6
    assert result.upper_bound - result.lower_bound <= 1e-4 * 800
    assert tables["options"].set_index("option").loc["co-packer", "reserved"] == pytest.approx(40)
    assert tables["committed_plan"]["2027-01"].tolist() == pytest.approx([100])


def test_the_command_decomposes_on_two_ranks(tmp_path, capsys):
    pytest.importorskip("mpisppy", reason="the mpi engine's packages (pip install '.[mpi]')")
    from aop.cli import main
    from aop.stochastic_mpi import mpiexec

    from tests.conftest import write_xlsx

    if mpiexec() is None:
        pytest.skip("no mpiexec (the mpich wheel puts one beside the venv's python)")
    case = write_xlsx(hand_case(), tmp_path / "hand.xlsx")
    assert main(["stochastic", str(case), "--out", str(tmp_path / "out"), "--engine", "mpi", "--ranks", "2"]) == 0
    said = capsys.readouterr().out
    assert "expected total cost between 800.00 and 800.00 USD" in said
    summary = pd.read_csv(tmp_path / "out" / "stochastic_summary.csv").set_index("metric")["value"].astype(float)
    assert summary["lower_bound"] == pytest.approx(800) and summary["upper_bound"] == pytest.approx(800)
