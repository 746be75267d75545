"""The plan at its edges: a plan that delivers nothing, goods in transit under a budget, runs
that must end (SIGTERM, numerical trouble, a bounded diagnosis), near-miss names."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from tests.conftest import REPO, write_csvs


def nothing_to_deliver() -> dict[str, pd.DataFrame]:
    """A plant that may make nothing (its one production row has max_units 0) and holds no
    stock; C wants 10 A in P1 and 5 in P2 at 100 over a 15-day lane; PL should hold 2 A as
    safety stock (blank penalty: A's unit_value, 10 per unit-period; blank ending_min: a soft
    closing target of 2 at the unit_value)."""
    return {
        "periods": pd.DataFrame({"period": ["P1", "P2"], "days": [30.0, 30.0]}),
        "products": pd.DataFrame({"product": ["A"], "unit_value": [10.0], "price": [100.0]}),
        "sites": pd.DataFrame({"site": ["PL"], "kind": ["plant"]}),
        "customers": pd.DataFrame({"customer": ["C"]}),
        "demand": pd.DataFrame({"product": ["A", "A"], "customer": ["C", "C"], "period": ["P1", "P2"], "quantity": [10.0, 5.0]}),
        "production": pd.DataFrame({"site": ["PL"], "product": ["A"], "unit_cost": [2.0], "max_units": [0.0]}),
        "lanes": pd.DataFrame({"origin": ["PL"], "destination": ["C"], "mode": ["truck"], "lead_time_days": [15.0]}),
        "inventory": pd.DataFrame({"site": ["PL"], "product": ["A"], "safety_stock": [2.0]}),
    }


@pytest.mark.parametrize("safety_stock", [True, False])
def test_a_plan_that_delivers_nothing_is_a_plan(tmp_path, safety_stock):
    # By hand: all 15 units lost at their price, 100: 1,500 of revenue lost; with the safety
    # stock, 2 short of it in both periods at 10: 40, and 2 short of the closing target at 10:
    # 20. Total 1,560 (1,500 without). Without the inventory row no stock variable exists at
    # all (the run once crashed on the empty in-transit table: exit 1).
    t = nothing_to_deliver()
    if not safety_stock:
        del t["inventory"]
    case = write_csvs(t, tmp_path / "case")
    out = tmp_path / "plan"
    r = subprocess.run([sys.executable, "-m", "aop.cli", "solve", str(case), "--out", str(out)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    s = pd.read_csv(out / "summary.csv").set_index("metric")["value"]
    penalties = (40.0, 20.0) if safety_stock else (0.0, 0.0)
    assert float(s["total_cost"]) == pytest.approx(1500.0 + sum(penalties))
    assert float(s["revenue_lost"]) == pytest.approx(1500.0)
    assert float(s["revenue"]) == 0.0 and float(s["fill_rate"]) == 0.0
    assert (float(s["safety_stock_penalty"]), float(s["closing_stock_penalty"])) == pytest.approx(penalties)
    for name in ("plan.xlsx", "report.html", "working_capital.csv", "shipments.csv", "pnl.csv"):
        assert (out / name).exists(), name
    wc = pd.read_csv(out / "working_capital.csv")
    assert wc[["on_hand_value", "in_transit_value"]].to_numpy().sum() == 0.0
    assert not list(out.glob(".aop-*")), "staging folder left behind"


def test_a_customer_no_lane_reaches_gets_nothing_and_the_rest_is_planned(tmp_path):
    # By hand: no lane reaches C, so its 15 units are lost at 100 (1,500); DC's safety stock of
    # 2 is made at PL in P1 at 2 a unit and moved on a 0-day lane (4); no holding cost.
    # Goods moved, none in transit at the end: the run once crashed on that empty table (exit 1).
    t = nothing_to_deliver()
    t["products"]["holding_rate"] = 0.0
    t["sites"] = pd.DataFrame({"site": ["PL", "DC"], "kind": ["plant", "dc"]})
    t["lanes"] = pd.DataFrame({"origin": ["PL"], "destination": ["DC"], "mode": ["truck"], "lead_time_days": [0.0]})
    t["production"]["max_units"] = None
    t["inventory"] = pd.DataFrame({"site": ["DC"], "product": ["A"], "safety_stock": [2.0]})
    case = write_csvs(t, tmp_path / "case")
    out = tmp_path / "plan"
    r = subprocess.run([sys.executable, "-m", "aop.cli", "solve", str(case), "--out", str(out)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    s = pd.read_csv(out / "summary.csv").set_index("metric")["value"]
    assert float(s["total_cost"]) == pytest.approx(1504.0)
    assert float(s["revenue_lost"]) == pytest.approx(1500.0) and float(s["production_cost"]) == pytest.approx(4.0)
    assert float(s["in_transit_end_units"]) == 0.0
    assert (out / "plan.xlsx").exists() and (out / "report.html").exists()


# ------------------------------------------------------------------ runs that end


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_a_running_solve_within_seconds(tmp_path, signum):
    # Dual simplex takes 20-40 s on this case (78,584 variables) on a 2-core machine; the signal
    # comes 1 s into HiGHS's work. Before HiGHS polled a stop, the run went on to the end.
    from scripts.generate_case import generate

    case = write_csvs(generate(products=100, dcs=4, customers=30), tmp_path / "case")
    out = tmp_path / "plan"
    out.mkdir()
    (out / "summary.csv").write_text("the previous plan\n")
    p = subprocess.Popen([sys.executable, "-m", "aop.cli", "solve", str(case), "--out", str(out), "--solver", "simplex"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert p.stdout is not None
        for line in p.stdout:
            if "solving with HiGHS" in line:
                break
        time.sleep(1.0)
        sent = time.perf_counter()
        p.send_signal(signum)
        rc = p.wait(timeout=120)
        took = time.perf_counter() - sent
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    err = p.stderr.read() if p.stderr else ""
    assert rc == 1, err
    assert took < 3.0, f"{took:.1f} s from the signal to the end of the run"
    assert "aop: stopped" in err and "Traceback" not in err
    assert sorted(f.name for f in out.iterdir()) == ["summary.csv"]  # nothing half-written, no staging folder
    assert (out / "summary.csv").read_text() == "the previous plan\n"


def test_simplex_in_numerical_trouble_hands_over_to_ipx(tables):
    # The trigger forced: dual simplex chosen by auto gets no patience at all (0 s), so its first
    # iteration counts as trouble; IPX with crossover must then reach the same optimum, with a
    # basis (ranging), and the run record must say what happened.
    from aop import solve_model
    from aop.results import provenance
    from aop.solve import Stop

    reference = solve_model(tables, solver="simplex")
    # With a Stop polled too, as the CLI runs it (an interrupt flag left set once stopped IPX).
    switched = solve_model(tables, simplex_patience=0.0, stop=Stop())
    assert reference.options["algorithm"] == "simplex" and "fallback" not in reference.options
    assert switched.options["algorithm"] == "ipx" and switched.solution is not None
    assert switched.solution.iterations["ipm"] > 0
    assert "numerical trouble" in str(switched.options["fallback"]) and "IPX" in str(switched.options["fallback"])
    assert any("numerical trouble" in h for h in switched.history)
    assert switched.solution.objective == pytest.approx(reference.solution.objective, rel=1e-9)
    assert not pd.isna(switched.solution.row_bound_lower).all()  # crossover ended on a basis: ranged
    record = provenance(switched.built.case, switched.solution.solver, switched.options)
    assert record["value"].astype(str).str.contains("numerical trouble").any()


def test_the_diagnosis_is_cut_short_by_its_budget_and_says_so(tables):
    # DC1 cannot end the year with a million units of A. With no time for the diagnosis, every
    # re-solve is interrupted at its first iteration: no relaxation, no conflict, and the text
    # says why; with time, the relaxation is found.
    from aop import SolveError, solve_model

    tables["inventory"]["ending_min"] = [1e6]
    with pytest.raises(SolveError) as none:
        solve_model(tables, presolve="off", diagnosis_seconds=0.0)
    report = none.value.report
    assert len(report.relaxation) == 0 and len(report.conflict) == 0
    assert len(report.cut_short) == 3  # promises, any limit, the IIS
    assert all(line.startswith("The diagnosis was cut short") for line in report.lines())
    with pytest.raises(SolveError) as full:
        solve_model(tables, presolve="off")
    assert full.value.report.cut_short == [] and len(full.value.report.relaxation) == 1
