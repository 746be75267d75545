"""A solved model that can be changed and re-solved: in-place edits and warm re-solves give
what a cold solve of the edited case gives; structure changes rebuild and say so; the same
handle explains an infeasible edit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from aop import SolveError, load_case, plan_of, solve_model
from aop.diagnose import diagnose
from aop.diff import ModelDiff, RebuildReason

from tests.conftest import small_case


def unique_prices(plan) -> pd.Series:
    """Shadow prices that are the same in every optimal dual solution (measured one-sided
    prices that agree), keyed by constraint and index."""
    sp = plan.shadow_prices
    sp = sp[np.isclose(sp["shadow_price_up"], sp["shadow_price_down"], rtol=1e-9, atol=1e-9)]
    key = sp.drop(columns=["limit", "limit_unit", "activity", "slack", "shadow_price", "shadow_price_up", "shadow_price_down", "limit_lower", "limit_upper", "meaning"])
    return pd.Series(sp["shadow_price"].to_numpy(), index=pd.MultiIndex.from_frame(key.astype(str)))


def same_plan(warm, cold) -> None:
    assert warm.total_cost == pytest.approx(cold.total_cost, rel=1e-9)
    a, b = unique_prices(warm), unique_prices(cold)
    common = a.index.intersection(b.index)
    assert len(common) >= 5
    assert np.allclose(a[common].to_numpy(), b[common].to_numpy(), rtol=1e-7, atol=1e-7)


def edited_case() -> dict[str, pd.DataFrame]:
    """The small case with the edits made in place below made in its tables instead."""
    t = small_case()
    t["capacity"] = pd.DataFrame(
        {
            "site": ["PL1", "PL1", "PL1"], "resource": ["LINE"] * 3, "period": [None, "2027-02", "2027-03"],
            "hours": [140.0, 120.0, 150.0], "overtime_hours": [20.0, 20.0, 5.0], "overtime_cost": [8.0, 8.0, 8.0],
        }
    )
    t["demand"].loc[t["demand"]["quantity"] == 150, "quantity"] = 170.0
    t["sites"].loc[t["sites"]["site"] == "DC1", "storage_capacity"] = 450.0
    return t


def test_limits_changed_in_place_and_resolved_warm_equal_a_cold_solve():
    model = solve_model(small_case())
    model.set_limits("capacity", [("PL1", "LINE", "2027-02"), ("PL1", "LINE", "2027-03")], [120.0, 150.0])
    model.set_limits("overtime", [("PL1", "LINE", "2027-03")], 5.0)
    model.set_limits("demand", [("A", "C1", "2027-03")], 170.0)
    model.set_limits("storage", pd.DataFrame({"site": ["DC1"] * 3, "period": ["2027-01", "2027-02", "2027-03"]}), 450.0)
    warm = model.resolve()
    assert warm.algorithm == "simplex (warm)"
    cold = solve_model(edited_case())
    # Warm: from the last basis, fewer simplex iterations than solving the edited case afresh.
    assert warm.iterations["simplex"] < cold.solution.iterations["simplex"]
    plan = plan_of(model)
    same_plan(plan, plan_of(cold))
    # The report reads the limits as solved, not the case's.
    cap = plan.tables["capacity"].set_index("period")
    assert cap.loc["2027-02", "hours"] == 120.0 and cap.loc["2027-03", "overtime_hours"] == 5.0
    dem = plan.tables["demand"].set_index(["product", "customer", "period"])
    assert dem.loc[("A", "C1", "2027-03"), "quantity"] == 170.0
    assert any("in place" in h for h in model.history) and model.history[-1].startswith("re-solved warm")


def test_costs_changed_in_place():
    model = solve_model(small_case())
    model.set_costs("make", pd.DataFrame({"site": ["PL1"] * 3, "product": ["A"] * 3, "period": ["2027-01", "2027-02", "2027-03"]}), 7.5)
    model.resolve()
    t = small_case()
    t["production"].loc[t["production"]["product"] == "A", "unit_cost"] = 7.5
    cold = plan_of(solve_model(t))
    warm = plan_of(model)
    same_plan(warm, cold)
    assert warm.tables["production"].query("product == 'A'")["unit_cost"].eq(7.5).all()


def test_update_changes_numbers_in_place_and_structure_by_rebuilding():
    model = solve_model(small_case())
    change = model.update(load_case(edited_case()))
    # capacity in February and March, March overtime, one demand row, storage in three months and
    # the service target that demand row raises.
    assert isinstance(change, ModelDiff) and len(change.rows) == 8 and not len(change.cols) and not len(change.coefficients)
    assert set(change.families) == {"capacity", "overtime", "demand", "storage", "service"}, change.families
    assert change.summary().startswith("changed in place: 8 limits (") and model.history[-1].endswith("re-solved warm")
    same_plan(plan_of(model), plan_of(solve_model(edited_case())))
    # A lead time that keeps every leg's periods changes coefficients in place.
    t = edited_case()
    t["lanes"].loc[0, "lead_time_days"] = 20.0
    change = model.update(load_case(t))
    assert isinstance(change, ModelDiff) and len(change.coefficients) and "ship" in change.variables
    same_plan(plan_of(model), plan_of(solve_model(t)))
    # A new lane adds variables: rebuilt, cold, and said so.
    t["lanes"] = pd.concat([t["lanes"], pd.DataFrame({"origin": ["PL1"], "destination": ["C1"], "mode": ["van"], "cost_per_unit": [3.0]})], ignore_index=True)
    change = model.update(load_case(t))
    assert isinstance(change, RebuildReason) and change.kind == "variables" and change.name in ("ship", "deliver"), change
    assert change.summary().startswith(f"rebuilt: the {change.name} variables differ") and model.history[-1].endswith("solved cold")
    same_plan(plan_of(model), plan_of(solve_model(t)))


def test_a_basis_from_another_solve_starts_the_same_plan_in_no_iterations():
    # How the workers of a many-solve run share one cold solve of the base: the basis travels
    # as plain arrays (pickled, as between processes) and the same LP re-solves from it.
    import pickle

    from aop.build import build
    from aop.solve import SolveOptions, solve

    case = load_case(small_case())
    cold = solve_model(case)
    basis = pickle.loads(pickle.dumps(cold.basis()))
    assert [a.dtype for a in basis] == [np.int8, np.int8] and len(basis[0]) == cold.lp.num_col and len(basis[1]) == cold.lp.num_row
    warm = solve(build(case), SolveOptions(), basis=basis)
    assert warm.solution.algorithm == "simplex (warm)" and warm.solution.iterations["simplex"] == 0
    assert warm.history[-1].startswith("started from a given basis")
    assert warm.solution.objective == pytest.approx(cold.solution.objective, rel=1e-12)
    assert np.allclose(warm.solution.row_dual, cold.solution.row_dual, rtol=1e-9, atol=1e-9)
    assert np.allclose(warm.solution.col_value, cold.solution.col_value, rtol=1e-9, atol=1e-9)
    # A basis of another LP (wrong size, or a status HiGHS has no name for) is not used: solved cold.
    for bad in ((basis[0][:-1], basis[1]), (np.full_like(basis[0], 9), basis[1])):
        again = solve(build(case), SolveOptions(), basis=bad)
        assert again.history[-1].startswith("solved cold") and again.solution.iterations["simplex"] > 0
        assert again.solution.objective == pytest.approx(cold.solution.objective, rel=1e-12)


def test_an_infeasible_edit_is_explained_by_the_same_handle():
    # Gold wants 95 % of C1's A on time; with 10 line hours a month nothing like that can be
    # made. The warm re-solve fails; the handle it carries gives the diagnosis.
    model = solve_model(small_case())
    rows = [("PL1", "LINE", p) for p in ("2027-01", "2027-02", "2027-03")]
    model.set_limits("capacity", rows, 10.0)
    model.set_limits("overtime", rows, 0.0)
    with pytest.raises(SolveError) as exc:
        model.resolve()
    assert exc.value.status == "infeasible" and exc.value.handle is model
    report = diagnose(model)
    assert set(report.relaxation["constraint"]) <= {"service", "ending", "safety_stock"}
    assert len(report.relaxation) and "fill rate" in " ".join(report.relaxation["meaning"])


def test_a_time_limit_applies_to_each_re_solve_not_to_all_of_them_together():
    # HiGHS 1.x measures time_limit on the clock of all runs of one Highs object together
    # (ERGO-Code/HiGHS#1477): left alone, re-solves fail with "time limit" once the runs so
    # far add up to the case's limit, however quick each is.
    t = small_case()
    t["settings"] = pd.DataFrame({"key": ["currency", "time_limit"], "value": ["EUR", "0.05"]})
    model = solve_model(t)
    for i in range(20000):
        if model.highs.getRunTime() > 0.1:
            break
        model.set_limits("capacity", [("PL1", "LINE", "2027-02")], 140.0 if i % 2 else 40.0)
        assert model.resolve(prices=False).iterations["simplex"] > 0  # pivots: HiGHS looks at its clock
    assert model.highs.getRunTime() > 0.1
    model.set_limits("capacity", [("PL1", "LINE", "2027-02")], 60.0)
    assert model.resolve().status == "optimal"
    # A what-if's own cap counts from its start too, and the case's limit is back after it.
    assert model.resolve(prices=False, time_limit=1.0).status == "optimal"
    assert model.highs.getOptionValue("time_limit")[1] == pytest.approx(0.05)


def test_coefficients_changed_in_place_by_business_key():
    # A takes 0.6 hours of LINE instead of 0.5, set in the LP's capacity rows by key: the warm
    # re-solve is the plan of the case with that routing.
    model = solve_model(small_case())
    periods = ["2027-01", "2027-02", "2027-03"]
    model.set_coefficients("capacity", [("PL1", "LINE", p) for p in periods], "make", pd.DataFrame({"site": "PL1", "product": "A", "period": periods}), 0.6)
    model.resolve()
    t = small_case()
    t["routings"].loc[t["routings"]["product"] == "A", "hours_per_unit"] = 0.6
    same_plan(plan_of(model), plan_of(solve_model(t)))
    assert model.history[-2].startswith("set 3 make coefficients in capacity rows")
    # A coefficient the LP does not have is a new nonzero: refused (a rebuild's job).
    with pytest.raises(KeyError, match="no coefficient"):
        model.set_coefficients("demand", [("A", "C1", "2027-01")], "make", pd.DataFrame({"site": ["PL1"], "product": ["A"], "period": ["2027-01"]}), 1.0)


def test_a_warm_re_solve_that_fails_the_check_is_solved_again_cold(monkeypatch):
    # HiGHS 1.15 has open reports of a hot-started LP ending "Optimal" at a slightly wrong point
    # (issues 3194, 3294). A warm answer that fails the independent check is not reported: the
    # plan is solved again from scratch, and the record says so.
    import aop.solve as solve_module

    real, calls = solve_module.check_solution, []

    def failing_once(lp, x, y, objective, *a, **k):
        calls.append(objective)
        if len(calls) == 1:
            raise SolveError("numerical", "HiGHS's solution fails the independent check: a reduced cost is negative by 0.01 (relative)")
        return real(lp, x, y, objective, *a, **k)

    model = solve_model(small_case())
    model.set_limits("capacity", [("PL1", "LINE", "2027-02"), ("PL1", "LINE", "2027-03")], [120.0, 150.0])
    model.set_limits("overtime", [("PL1", "LINE", "2027-03")], 5.0)
    model.set_limits("demand", [("A", "C1", "2027-03")], 170.0)
    model.set_limits("storage", pd.DataFrame({"site": ["DC1"] * 3, "period": ["2027-01", "2027-02", "2027-03"]}), 450.0)
    monkeypatch.setattr(solve_module, "check_solution", failing_once)
    sol = model.resolve()
    assert len(calls) == 2  # the warm answer, then the cold one
    assert sol.rechecked == "a reduced cost is negative by 0.01 (relative)"
    assert sol.algorithm != "simplex (warm)"
    assert any("failed the independent check" in h for h in model.history) and model.history[-1].startswith("solved again cold")
    monkeypatch.setattr(solve_module, "check_solution", real)
    same_plan(plan_of(model), plan_of(solve_model(edited_case())))


def test_the_check_refuses_prices_that_are_not_dual_feasible():
    # min x1 + 2 x2  s.t.  x1 + x2 >= 10, x >= 0: optimal x = (10, 0), the row's price 1.
    from aop.lp import LP
    from aop.solve import check_solution
    from scipy.sparse import csc_array

    lp = LP.of_rows(np.array([1.0, 2.0]), csc_array(np.array([[1.0, 1.0]])), np.array([-1]), np.array([10.0]), [], np.array([0, 1]))
    x = np.array([10.0, 0.0])
    check_solution(lp, x, np.array([1.0]), 10.0)
    # A price of 3 makes x1's reduced cost 1 - 3 < 0 (and claims a dual objective of 30).
    with pytest.raises(SolveError, match="reduced cost is negative"):
        check_solution(lp, x, np.array([3.0]), 10.0)
    # A '>=' row's price below 0 has the wrong sign (one more unit of demand cannot save money).
    lp0 = LP.of_rows(np.array([0.0, 0.0]), csc_array(np.array([[1.0, 1.0]])), np.array([-1]), np.array([0.0]), [], np.array([0, 1]))
    with pytest.raises(SolveError, match="wrong sign"):
        check_solution(lp0, np.zeros(2), np.array([-1.0]), 0.0)
