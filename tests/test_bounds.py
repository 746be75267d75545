"""Bounds before re-solves (``aop.bounds``): on hand-solved cases every bound brackets the
re-solved value, a step inside the ranges is exact and a re-solve agrees, a re-solve stopped
early still proves a lower bound, and a ranking proven by bounds is the ranking re-solving
everything gives."""

from __future__ import annotations

import math

import numpy as np
import pytest
from aop import solve_model
from aop import whatifs as W
from aop.bounds import IN_RANGE, RESOLVED, Bound, edit_step, limit_step, lower_bound, plan_cost, proven_top, top_k
from aop.lp import LP

from tests.test_lp_families import CASES


def _resolved(model, rows, limits) -> float:
    base = model.optimum.objective
    with model.variant(limits=(rows, limits)) as trial:
        return math.inf if trial.solution is None else trial.solution.objective - base


def _brackets(b: Bound, v: float) -> bool:
    tol = 1e-6 * max(1.0, abs(v) if math.isfinite(v) else 1.0)
    return b.low - tol <= v <= b.high + tol


@pytest.mark.parametrize("name,tables", [(n, t) for n, t, _, _ in CASES], ids=[n for n, *_ in CASES])
def test_every_bound_brackets_the_resolved_value(name, tables):
    # Every binding row of every hand-solved family, its limit moved 10 % (at least one unit)
    # up and down: the bounds from the base plan alone hold the re-solved change; every cost
    # moved 10 % up and down (each variable family at once) likewise.
    model = solve_model(tables)
    sol, lp = model.optimum, model.lp
    binding = np.flatnonzero(np.abs(sol.row_dual) > 1e-9)
    assert len(binding), name
    for r in binding:
        limit = lp.limit[r]
        for sign in (+1, -1):
            new = max(0.0, limit + sign * max(1.0, 0.1 * abs(limit)))
            rows = np.array([r])
            b = limit_step(lp, sol.row_dual, sol.row_value, rows, np.array([new]), sol.row_bound_lower, sol.row_bound_upper, sol.row_price_up, sol.row_price_down, x=sol.col_value)
            v = _resolved(model, rows, np.array([new]))
            assert _brackets(b, v), (name, lp.row_family[r], sign, b, v)
            if b.how == IN_RANGE:
                assert v == pytest.approx(b.low, abs=1e-7)
    for factor in (1.1, 0.9):
        edited = LP(c=lp.c * factor, A=lp.A, row_lower=lp.row_lower, row_upper=lp.row_upper, col_lower=lp.col_lower, col_upper=lp.col_upper, row_sense=lp.row_sense, blocks=lp.blocks, offsets=lp.offsets)
        b = edit_step(lp, edited, sol.objective, sol.col_value, sol.row_dual)
        cols = np.arange(lp.num_col)
        with model.variant(costs=(cols, lp.c * factor)) as trial:
            v = trial.solution.objective - sol.objective
        assert _brackets(b, v), (name, factor, b, v)
        # All costs scaled: the same plan stays optimal, and the upper bound is exact.
        assert b.high == pytest.approx(v, abs=1e-7)
    # One kind of variable's costs at a time, 10 % down and up (a cheaper way may take over).
    for variable, table in model.built.variables.items():
        cols = table["col"].to_numpy()
        if not len(cols) or not lp.c[cols].any():
            continue
        for factor in (0.9, 1.1):
            c = lp.c.copy()
            c[cols] *= factor
            edited = LP(c=c, A=lp.A, row_lower=lp.row_lower, row_upper=lp.row_upper, col_lower=lp.col_lower, col_upper=lp.col_upper, row_sense=lp.row_sense, blocks=lp.blocks, offsets=lp.offsets)
            b = edit_step(lp, edited, sol.objective, sol.col_value, sol.row_dual)
            with model.variant(costs=(cols, c[cols])) as trial:
                v = trial.solution.objective - sol.objective
            assert _brackets(b, v), (name, variable, factor, b, v)


def test_the_prices_bound_the_plan_at_any_multipliers(example_model):
    sol, lp = example_model.optimum, example_model.lp
    assert lower_bound(lp, sol.row_dual) == pytest.approx(sol.objective, rel=1e-7)
    assert plan_cost(lp, sol.col_value) == pytest.approx(sol.objective, rel=1e-9)
    for k in (0.0, 0.5, 0.9):
        assert lower_bound(lp, k * sol.row_dual) <= sol.objective * (1 + 1e-9)
    assert lower_bound(lp, 0.5 * sol.row_dual) > -math.inf  # a weaker, still finite bound


def test_several_limits_inside_their_ranges_are_exact_by_the_100_percent_rule(example_model):
    # Two binding limits, each moved 40 % of the way to the end of its range: 80 % together, so
    # the basis holds and the prices' prediction is the change; a re-solve agrees. Each moved
    # 90 % of its range: 180 % together, not claimed exact (the bounds still hold).
    model = example_model
    sol, lp = model.optimum, model.lp
    up = np.flatnonzero((np.abs(sol.row_dual) > 1e-6) & np.isfinite(sol.row_bound_upper) & (sol.row_bound_upper > lp.limit + 1.0) & (lp.row_sense == 1))
    assert len(up) >= 2
    rows = up[:2]
    room = sol.row_bound_upper[rows] - lp.limit[rows]
    for share, exact in ((0.4, True), (0.9, False)):
        new = lp.limit[rows] + share * room
        b = limit_step(lp, sol.row_dual, sol.row_value, rows, new, sol.row_bound_lower, sol.row_bound_upper, sol.row_price_up, sol.row_price_down, x=sol.col_value)
        v = _resolved(model, rows, new)
        assert (b.how == IN_RANGE) is exact
        assert _brackets(b, v)
        if exact:
            assert v == pytest.approx(float(sol.row_dual[rows] @ (new - lp.limit[rows])), rel=1e-7)


def test_a_resolve_stopped_early_proves_a_lower_bound(example_model):
    # A tightening whose re-solve is stopped at once: the multipliers HiGHS holds then prove a
    # lower bound of the stepped plan's cost, at most the re-solved cost.
    model = example_model
    sol, lp = model.optimum, model.lp
    r = int(np.flatnonzero((sol.row_dual < -1e-6) & (lp.row_sense == 1) & (lp.row_family == "capacity"))[0])
    rows, new = np.array([r]), np.array([lp.limit[r] * 0.7])
    with model.variant(limits=(rows, new), time_limit=1e-9) as trial:
        assert trial.status == "time_limit" and trial.solution is None
        early = trial.lower
    full = sol.objective + _resolved(model, rows, new)
    assert -math.inf < early <= full * (1 + 1e-9)
    assert model.optimum is sol  # the model is the plan again


def test_top_k_settles_only_what_can_enter():
    # Five what-ifs: two exact, three bounded. The top two are 90 and 80: what-if 3 (best case
    # 85) must be settled (it could beat 80); what-if 4 (best 50) cannot and is not.
    bounds = [Bound(-90, -90, RESOLVED), Bound(-40, -40, RESOLVED), Bound(-100, 0), Bound(-85, -10), Bound(-50, 0)]
    truth = {2: -80.0, 3: -20.0}
    calls = []

    def settle(i):
        calls.append(i)
        return Bound.resolved(truth[i])

    out, n = top_k(bounds, 2, settle)
    assert calls == [2, 3] and n == 2
    assert [b.value for b in out[:2]] == [-90, -40] and out[2].value == -80 and out[4].how == "bounded"
    assert proven_top(out, 2) and not proven_top(bounds, 2)


def test_the_ledger_top_five_equals_resolving_every_entry(example_model):
    # The ledger proves its top five by bounds and a few re-solves; re-solving every entry
    # gives the same five, in the same order, at the same values.
    proven, _ = W.ledger(example_model)
    everything, _ = W.ledger(example_model, resolves=10_000)
    assert (everything["exact"] != "bounded").all()
    assert proven.head(5)[["constraint", "object"]].values.tolist() == everything.head(5)[["constraint", "object"]].values.tolist()
    np.testing.assert_allclose(proven.head(5)["value_of_step"], everything.head(5)["value_of_step"], rtol=1e-7)
    assert (proven.head(5)["exact"] != "bounded").all()
    rest = proven.iloc[5:]
    bounded = rest[rest["exact"] == "bounded"]
    assert len(bounded) and (bounded[["value_low", "value_high"]].abs().max(axis=1) <= proven.head(5)["value_of_step"].abs().min() + 1e-9).all()
    # Every bound holds the value re-solving it gives.
    merged = bounded.merge(everything[["constraint", "object", "value_of_step"]], on=["constraint", "object"], suffixes=("", "_all"))
    assert ((merged["value_low"] <= merged["value_of_step_all"] + 1e-6) & (merged["value_of_step_all"] <= merged["value_high"] + 1e-6)).all()


def test_the_sensitivity_top_five_equals_resolving_every_group():
    from aop.api import load_case
    from aop.scenarios import solve_variants
    from aop.sensitivity import proven_sensitivity, sensitivity_variants

    from tests.conftest import small_case

    case = load_case(small_case())
    run = proven_sensitivity(case)
    assert run.resolves < run.steps
    full = solve_variants(case, sensitivity_variants(case), workers=1)
    base = float(full.loc[full["variant"] == "base", "total_cost"].iloc[0])
    change = full[full["group"] != ""].set_index(["group", "role"])["total_cost"] - base
    swing = {g: abs(change[(g, "up")] - change[(g, "down")]) for g in {g for g, _ in change.index}}
    expected = sorted(swing, key=lambda g: -swing[g])[:5]
    top = run.table[run.table["matters"]]
    assert top["group"].tolist() == expected
    np.testing.assert_allclose(top["total_cost_swing"], [swing[g] for g in expected], rtol=1e-6)
    # Two processes re-solving at once prove the same five.
    two = proven_sensitivity(case, workers=2)
    assert two.table[two.table["matters"]]["group"].tolist() == expected
    # Every group left bounded holds its re-solved swing and cannot enter the top five.
    for r in run.table[run.table["exact"] == "bounded"].to_dict("records"):
        assert r["swing_low"] - 1e-6 <= swing[r["group"]] <= r["swing_high"] + 1e-6
        assert r["swing_high"] <= top["total_cost_swing"].min() + 1e-6
