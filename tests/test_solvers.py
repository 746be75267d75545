"""The interior points, named: HiPO and IPX (both with crossover) give the same plan; where
HiPO cannot run, the solve falls back to IPX and says so; the diagnosis and warm re-solves
work with either."""

from __future__ import annotations

import aop.solve
import numpy as np
import pandas as pd
import pytest
from aop import SolveError, load_case, plan_of, solve_case, solve_model
from aop.diagnose import diagnose
from aop.results import COST_COMPONENTS

from scripts.generate_case import generate
from tests.conftest import small_case

pytestmark = pytest.mark.skipif(not aop.solve.hipo_available()[0], reason="HiPO is not installed here: " + aop.solve.hipo_available()[1])


@pytest.fixture(scope="module")
def generated():
    return load_case(generate(products=30, dcs=3, customers=12, suppliers=1))


def non_degenerate(plan) -> pd.Series:
    """Shadow prices of rows whose price holds on both sides (the same in every optimum)."""
    sp = plan.shadow_prices
    inside = (sp["limit_lower"] < sp["limit"] - 1e-6) & (sp["limit_upper"] > sp["limit"] + 1e-6)
    sp = sp[inside]
    key = sp[["constraint", "site", "resource", "product", "customer", "segment", "origin", "destination", "mode", "period"]].astype(str)
    return pd.Series(sp["shadow_price"].to_numpy(), index=pd.MultiIndex.from_frame(key))


def test_hipo_and_ipx_give_the_same_plan(generated):
    plans = {s: solve_case(generated, solver=s) for s in ("hipo", "ipx", "simplex")}
    for s, p in plans.items():
        assert p.summary.set_index("metric").loc["algorithm", "value"] == s
    base = plans["simplex"]
    for s in ("hipo", "ipx"):
        p = plans[s]
        assert p.total_cost == pytest.approx(base.total_cost, rel=1e-9)
        for c in COST_COMPONENTS:
            assert p.metric(c) == pytest.approx(base.metric(c), rel=1e-6, abs=1e-4), (s, c)
        a, b = non_degenerate(p), non_degenerate(base)
        common = a.index.intersection(b.index)
        assert len(common) > 20
        assert np.allclose(a[common].to_numpy(), b[common].to_numpy(), rtol=1e-6, atol=1e-6), s
    record = plans["hipo"].tables["provenance"].set_index("item")["value"]
    assert record["option interior_point"].startswith("HiPO with crossover (highspy-extras")
    assert record["option hipo_ordering"] == aop.solve.HIPO_ORDERING  # the record says how HiGHS was set
    assert "option hipo_ordering" not in plans["ipx"].tables["provenance"]["item"].tolist()


def test_without_hipo_the_solve_falls_back_to_ipx_and_says_so(generated, monkeypatch):
    monkeypatch.setattr(aop.solve, "hipo_available", lambda: (False, "simulated for the test"))
    said = []
    plan = plan_of(solve_model(generated, progress=said.append, solver="hipo"))
    assert plan.summary.set_index("metric").loc["algorithm", "value"] == "ipx"
    assert [m for m in said if "HiPO" in m] == ["note: HiPO is not available (simulated for the test): running IPX"]
    record = plan.tables["provenance"].set_index("item")["value"]
    assert record["option fallback"] == "HiPO is not available (simulated for the test): running IPX"
    assert record["option interior_point"] == "IPX with crossover (HiPO is not available (simulated for the test): running IPX)"
    # auto above the size threshold takes the same way.
    monkeypatch.setattr(aop.solve, "IPM_FROM_COLUMNS", 10)
    assert solve_case(generated).summary.set_index("metric").loc["algorithm", "value"] == "ipx"


def test_ipm_is_refused_as_ambiguous():
    t = small_case()
    t["settings"] = pd.DataFrame({"key": ["solver"], "value": ["ipm"]})
    from aop import InputError

    with pytest.raises(InputError) as exc:
        load_case(t)
    assert "say hipo (faster, needs highspy-extras) or ipx" in str(exc.value)


@pytest.mark.parametrize("solver", ["hipo", "ipx"])
def test_diagnosis_and_warm_resolves_with_either(solver):
    model = solve_model(small_case(), solver=solver)
    assert model.solution.algorithm == solver
    rows = [("PL1", "LINE", p) for p in ("2027-01", "2027-02", "2027-03")]
    model.set_limits("capacity", rows, 130.0)
    warm = model.resolve()
    t = small_case()
    t["capacity"]["hours"] = [130.0]
    assert warm.objective == pytest.approx(solve_case(t, solver="simplex").total_cost, rel=1e-9)
    # An infeasible plan solved by an interior point is explained the same way.
    model.set_limits("capacity", rows, 10.0)
    model.set_limits("overtime", rows, 0.0)
    with pytest.raises(SolveError):
        model.resolve()
    report = diagnose(model)
    assert len(report.relaxation) and set(report.relaxation["constraint"]) <= {"service", "ending", "safety_stock"}
    t["capacity"]["hours"], t["capacity"]["overtime_hours"] = [10.0], [0.0]
    with pytest.raises(SolveError) as exc:
        solve_case(t, solver=solver)
    assert exc.value.report.relaxation["change"].sum() == pytest.approx(report.relaxation["change"].sum(), rel=1e-6)
