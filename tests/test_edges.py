"""The plan at its edges: a plan that delivers nothing, runs that must end (SIGTERM and Ctrl+C,
numerical trouble, a bounded diagnosis), goods in transit under a budget, opening stock a site
does not need, lanes into a supplier. (Near-miss names: tests/test_validate.py.)"""

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


def test_a_case_without_demand_is_refused_as_input(tmp_path):
    # No quantity above 0: the LP has no variables (HiGHS would answer "Empty", exit 1).
    t = nothing_to_deliver()
    t["demand"] = t["demand"].assign(quantity=0.0)
    case = write_csvs(t, tmp_path / "case")
    out = tmp_path / "plan"
    r = subprocess.run([sys.executable, "-m", "aop.cli", "solve", str(case), "--out", str(out)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "demand.csv, column 'quantity': no demand quantity is above 0, so the plan has nothing to decide" in r.stderr
    assert not out.exists()


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


def test_a_stop_asked_for_ends_the_solve_whether_or_not_highs_polled_it(tables):
    # Asked before the solve: HiGHS either polls it at its first iteration or (a small plan that
    # presolve solves whole) never polls; either way the solve ends with KeyboardInterrupt.
    from aop import solve_model
    from aop.solve import Stop

    for presolve in ("on", "off"):
        stop = Stop()
        stop.request("SIGTERM")
        with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
            solve_model(tables, presolve=presolve, stop=stop)
        assert stop.solving == 0


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


# ------------------------------------------------------------------ goods in transit under a budget


def transfer_case(budget_site: str | None, in_transit: bool = True, max_value: float = 30.0) -> dict[str, pd.DataFrame]:
    """C wants 10 A (worth 10, price 100) in P2, served from DC over a 0-day lane. A is made at
    PL in P1 only (2 a unit; P2 has no hours) or co-manufactured there in P2 (5); PL has no room
    to keep stock, so what it makes in P1 leaves in P1. PL -> DC takes 15 days on 30-day months:
    half of what leaves in P1 arrives in P1, half in P2 (what leaves in P2, the last month,
    arrives in it). No holding cost, no freight. A budget on the value at ``budget_site`` at
    the end of P1."""
    t = {
        "periods": pd.DataFrame({"period": ["P1", "P2"], "days": [30.0, 30.0]}),
        "products": pd.DataFrame({"product": ["A"], "unit_value": [10.0], "price": [100.0], "holding_rate": [0.0]}),
        "sites": pd.DataFrame({"site": ["PL", "DC"], "kind": ["plant", "dc"], "storage_capacity": [0.0, None]}),
        "customers": pd.DataFrame({"customer": ["C"]}),
        "demand": pd.DataFrame({"product": ["A"], "customer": ["C"], "period": ["P2"], "quantity": [10.0]}),
        "production": pd.DataFrame({"site": ["PL"], "product": ["A"], "unit_cost": [2.0], "outsource_cost": [5.0]}),
        "routings": pd.DataFrame({"site": ["PL"], "product": ["A"], "resource": ["LINE"], "hours_per_unit": [1.0]}),
        "capacity": pd.DataFrame({"site": ["PL", "PL"], "resource": ["LINE", "LINE"], "period": ["P1", "P2"], "hours": [100.0, 0.0]}),
        "lanes": pd.DataFrame({"origin": ["PL", "DC"], "destination": ["DC", "C"], "mode": ["truck", "truck"], "lead_time_days": [15.0, 0.0]}),
    }
    if budget_site:
        t["inventory_budget"] = pd.DataFrame({"period": ["P1"], "site": [budget_site], "max_value": [max_value], "in_transit": [in_transit]})
    return t


def test_goods_moving_between_sites_count_toward_the_site_they_travel_to():
    from aop import solve_case

    # Unbudgeted: all 10 made in P1 and sent in P1 (5 arrive in P1 and wait at DC, 5 arrive in
    # P2): 20. PL holds nothing at P1's end, so a budget at PL binds nothing, though 5 units
    # (50 of value) are then on the road from PL: they count toward DC, where they travel.
    assert solve_case(transfer_case(None)).total_cost == pytest.approx(20.0)
    at_origin = solve_case(transfer_case("PL"))
    assert at_origin.total_cost == pytest.approx(20.0)
    assert not (at_origin.shadow_prices.query("constraint == 'inventory_budget'")["shadow_price"].abs() > 1e-9).any()
    # A budget at DC, transit counted: s made in P1 counts whole at P1's end (half waiting at DC,
    # half on the road to it), so 10 s <= 30: 3 made at 2, 7 co-manufactured in P2 at 5: 41.
    # One more unit of money: 0.1 more made in P1 instead of co-manufactured: -0.3.
    plan = solve_case(transfer_case("DC"))
    assert plan.total_cost == pytest.approx(41.0)
    price = plan.shadow_prices.query("constraint == 'inventory_budget'")["shadow_price"].iloc[0]
    assert price == pytest.approx(-0.3)
    assert solve_case(transfer_case("DC", max_value=31.0)).total_cost - plan.total_cost == pytest.approx(price)
    # Transit not counted: only the half that arrived waits at DC: 5 s <= 30, s = 6: 12 + 20 = 32.
    assert solve_case(transfer_case("DC", in_transit=False)).total_cost == pytest.approx(32.0)
    # The working-capital table puts them where the budget does: DC's value at P1's end is the cap.
    wc = plan.tables["working_capital"].query("period == 'P1'").set_index("site")
    assert wc.loc["DC", ["on_hand_value", "in_transit_value"]].sum() == pytest.approx(30.0)
    assert wc.loc["PL", "in_transit_value"].sum() == pytest.approx(0.0)


def test_opening_stock_a_site_does_not_need_stays_put_and_fills_its_storage():
    # DC holds 4 B that no customer buys; its storage is 8 units. A is wanted at C, 5 in P1 and
    # 5 in P2, made at PL in P1 (2; P2 has no hours, co-manufacturing costs 5) and moved through
    # DC on 0-day lanes. B cannot move: it stays at DC (4 at every period end) and leaves room
    # for 4 A to wait from P1 to P2: 9 A made at 2, 1 co-manufactured in P2 at 5: 23.
    from aop import solve_case

    t = transfer_case(None)
    t["products"] = pd.DataFrame({"product": ["A", "B"], "unit_value": [10.0, 10.0], "price": [100.0, 100.0], "holding_rate": [0.0, 0.0]})
    t["sites"] = pd.DataFrame({"site": ["PL", "DC"], "kind": ["plant", "dc"], "storage_capacity": [0.0, 8.0]})
    t["lanes"]["lead_time_days"] = [0.0, 0.0]
    t["inventory"] = pd.DataFrame({"site": ["DC"], "product": ["B"], "initial": [4.0]})
    t["demand"] = pd.DataFrame({"product": ["A", "A"], "customer": ["C", "C"], "period": ["P1", "P2"], "quantity": [5.0, 5.0]})
    plan = solve_case(t)
    inv = plan.tables["inventory"].set_index(["site", "product", "period"])["on_hand"]
    assert inv[("DC", "B", "P1")] == pytest.approx(4.0) and inv[("DC", "B", "P2")] == pytest.approx(4.0)
    assert not (plan.tables["shipments"]["product"] == "B").any()
    assert plan.total_cost == pytest.approx(23.0)
    # Without B, the 5 A of P2 all wait at DC: 10 made at 2.
    t["inventory"] = t["inventory"].iloc[0:0]
    assert solve_case(t).total_cost == pytest.approx(20.0)


def test_a_lane_into_a_supplier_is_refused_naming_its_row(tmp_path):
    t = transfer_case(None)
    t["sites"] = pd.DataFrame({"site": ["PL", "DC", "SUP"], "kind": ["plant", "dc", "supplier"]})
    t["lanes"] = pd.concat([t["lanes"], pd.DataFrame({"origin": ["DC"], "destination": ["SUP"], "mode": ["truck"]})], ignore_index=True)
    case = write_csvs(t, tmp_path / "case")
    r = subprocess.run([sys.executable, "-m", "aop.cli", "validate", str(case)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "lanes.csv line 4, column 'destination': is a supplier; suppliers ship but receive nothing (value: 'SUP')" in r.stderr
