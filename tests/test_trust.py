"""Numbers the solver can trust, outputs that are traceable and never lost."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from aop import SolveError, load_case, solve_case
from aop.build import build
from aop.cli import main
from aop.solve import SolveOptions, check_solution, solve

from tests.conftest import REPO, write_xlsx


def test_independent_check_rejects_a_wrong_solution(tables):
    built = build(load_case(tables))
    sol = solve(built, SolveOptions()).solution
    check_solution(built.lp, sol.col_value, sol.row_dual, sol.objective)  # the real one passes
    bad = sol.col_value.copy()
    bad[np.argmax(bad)] *= 1.5
    with pytest.raises(SolveError, match="independent check"):
        check_solution(built.lp, bad, sol.row_dual, sol.objective)
    with pytest.raises(SolveError, match="dual"):
        check_solution(built.lp, sol.col_value, sol.row_dual * 1.1, sol.objective)


def test_same_inputs_give_the_same_objective(tables):
    a, b = solve_case(tables), solve_case(tables)
    assert a.total_cost == b.total_cost
    pd.testing.assert_frame_equal(a.shadow_prices, b.shadow_prices)


def test_provenance_records_inputs_versions_and_options(example_plan):
    plan = example_plan
    prov = plan.tables["provenance"].set_index("item")["value"]
    digest = hashlib.sha256((REPO / "data" / "example.xlsx").read_bytes()).hexdigest()
    assert prov["input file example.xlsx"] == digest
    assert {"input table demand", "input table lanes", "python", "pyomo", "highspy", "pandas", "openpyxl", "option random_seed", "option threads", "solved at (UTC)"} <= set(prov.index)
    assert float(prov["objective"]) == plan.total_cost


def test_csv_outputs_are_inert_and_workbook_keeps_text(tables, tmp_path):
    evil = "=1+2"
    for name in ("products", "demand", "production", "routings", "inventory"):
        tables[name]["product"] = tables[name]["product"].replace("A", evil)
    tables["customers"]["customer"] = tables["customers"]["customer"].replace("C1", "@SUM(A1)")
    tables["demand"]["customer"] = tables["demand"]["customer"].replace("C1", "@SUM(A1)")
    tables["lanes"]["destination"] = tables["lanes"]["destination"].replace("C1", "@SUM(A1)")
    out = tmp_path / "p"
    assert main(["solve", str(write_xlsx(tables, tmp_path / "c.xlsx")), "--out", str(out)]) == 0
    text = (out / "demand.csv").read_text()
    assert "'=1+2" in text and "'@SUM(A1)" in text
    assert "\n=1+2" not in text and ",=1+2" not in text


def test_failure_while_writing_leaves_the_previous_plan_byte_identical(tables, tmp_path, monkeypatch):
    import aop.report as report

    out = tmp_path / "plan"
    case = write_xlsx(tables, tmp_path / "c.xlsx")
    assert main(["solve", str(case), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = {"n": 0}
    real = report.inert_for_csv

    def failing(df):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real(df)

    monkeypatch.setattr(report, "inert_for_csv", failing)
    tables["demand"]["quantity"] = tables["demand"]["quantity"] * 2
    assert main(["solve", str(write_xlsx(tables, tmp_path / "c2.xlsx")), "--out", str(out)]) == 1
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after == before, "the previous plan changed or temporary files were left behind"


def test_control_characters_in_names_are_refused(tables):
    from aop import InputError

    tables["customers"].loc[0, "customer"] = "C\x07ONE"
    with pytest.raises(InputError) as exc:
        load_case(tables)
    assert any("control character" in str(p) for p in exc.value.problems)


def test_temporary_folders_of_a_killed_run_are_cleared(tables, tmp_path):
    import os
    import time

    out = tmp_path / "plan"
    stale = out / ".aop-killed"
    stale.mkdir(parents=True)
    (stale / "plan.xlsx").write_bytes(b"half")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    assert main(["solve", str(write_xlsx(tables, tmp_path / "c.xlsx")), "--out", str(out)]) == 0
    assert not list(out.glob(".aop-*"))


def _scaled_quantities(tables, k):
    t = {n: df.copy() for n, df in tables.items()}
    t["demand"]["quantity"] = t["demand"]["quantity"].astype(float) * k
    t["capacity"]["hours"] = t["capacity"]["hours"] * k
    t["capacity"]["overtime_hours"] = t["capacity"]["overtime_hours"] * k
    t["production"]["outsource_max_units"] = t["production"]["outsource_max_units"] * k
    t["sites"]["storage_capacity"] = t["sites"]["storage_capacity"] * k
    t["inventory"][["initial", "safety_stock"]] = t["inventory"][["initial", "safety_stock"]] * k
    return t


def test_huge_quantities_are_rescaled_and_give_the_same_plan(tables):
    base = solve_case(tables)
    big = solve_case(_scaled_quantities(tables, 1e10))
    assert any("quantities passed to HiGHS in units of" in w for w in big.warnings)
    assert big.total_cost == pytest.approx(base.total_cost * 1e10, rel=1e-6)
    a = base.shadow_prices.query("constraint == 'capacity'")["shadow_price"].to_numpy()
    b = big.shadow_prices.query("constraint == 'capacity'")["shadow_price"].to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_huge_money_is_rescaled_and_prices_scale_with_it(tables):
    base = solve_case(tables)
    t = {n: df.copy() for n, df in tables.items()}
    t["products"][["unit_value", "price"]] = t["products"][["unit_value", "price"]] * 1e10
    t["production"][["unit_cost", "outsource_cost"]] = t["production"][["unit_cost", "outsource_cost"]] * 1e10
    t["capacity"]["overtime_cost"] = t["capacity"]["overtime_cost"] * 1e10
    t["lanes"]["cost_per_unit"] = t["lanes"]["cost_per_unit"] * 1e10
    t["service"]["shortage_cost"] = t["service"]["shortage_cost"] * 1e10
    big = solve_case(t)
    assert any("money passed to HiGHS" in w for w in big.warnings)
    assert big.total_cost == pytest.approx(base.total_cost * 1e10, rel=1e-6)
    a = base.shadow_prices.query("constraint == 'capacity'")["shadow_price"].to_numpy()
    b = big.shadow_prices.query("constraint == 'capacity'")["shadow_price"].to_numpy()
    np.testing.assert_allclose(a * 1e10, b, rtol=1e-6)


# A run that is stopped while writing: the plan it was replacing must survive byte for byte.
SLOW_WRITER = """
import pathlib, sys, time
import aop.report as report

real = report.reopen.store

def slow(*args, **kwargs):  # while the children write the workbook, the page and the tables
    pathlib.Path(sys.argv[3]).write_text("writing")
    time.sleep(120)
    return real(*args, **kwargs)

report.reopen.store = slow
from aop.cli import main
sys.exit(main(["solve", sys.argv[1], "--out", sys.argv[2]]))
"""


def _visible(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.startswith(".")}


def _stop_while_writing(tables, tmp_path, sig):
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "plan"
    assert main(["solve", str(write_xlsx(tables, tmp_path / "c.xlsx")), "--out", str(out)]) == 0
    before = _visible(out)
    tables["demand"]["quantity"] = tables["demand"]["quantity"] * 2
    ready = tmp_path / "ready"
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, str(write_xlsx(tables, tmp_path / "c2.xlsx")), str(out), str(ready)],
        cwd=REPO, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 120
    while not ready.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists(), child.stderr.read() if child.poll() is not None else "the child never reached the write"
    child.send_signal(getattr(signal, sig))
    child.wait(timeout=60)
    assert _visible(out) == before, "the previous plan changed"
    return out, child


def test_sigkill_while_writing_keeps_the_previous_plan_and_the_next_run_clears_up(tables, tmp_path):
    out, child = _stop_while_writing(tables, tmp_path, "SIGKILL")
    left = list(out.glob(".aop-*"))
    assert [p.name.split("-")[1] for p in left] == [str(child.pid)], "the killed run's staging folder is named after it"
    assert main(["solve", str(tmp_path / "c.xlsx"), "--out", str(out)]) == 0
    assert not list(out.glob(".aop-*")), "the next run did not clear the killed run's folder"


def test_sigterm_while_writing_keeps_the_previous_plan_and_leaves_nothing(tables, tmp_path):
    out, child = _stop_while_writing(tables, tmp_path, "SIGTERM")
    assert child.returncode == 1
    err = child.stderr.read()
    assert "stopped (SIGTERM)" in err and "Traceback" not in err
    assert not list(out.glob(".aop-*"))


def test_a_new_plan_removes_files_of_an_earlier_run_it_does_not_have(tables, tmp_path):
    from aop.report import write_plan

    out = tmp_path / "plan"
    (out).mkdir()
    (out / "my_notes.txt").write_text("the planner's own file")
    plan = solve_case(tables)
    plan.tables["backorders"] = plan.tables["demand"].head(1)  # as if the earlier case had backorders
    write_plan(plan, out)
    assert (out / "backorders.csv").exists()
    tables["inventory"]["ending_min"] = [1e6]
    assert main(["solve", str(write_xlsx(tables, tmp_path / "bad.xlsx")), "--out", str(out)]) == 3
    assert (out / "no_plan.txt").exists() and (out / "backorders.csv").exists(), "a failed run keeps the previous plan"
    tables["inventory"]["ending_min"] = [None]
    assert main(["solve", str(write_xlsx(tables, tmp_path / "ok.xlsx")), "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert "backorders.csv" not in names and "no_plan.txt" not in names and "infeasible_conflict.csv" not in names
    assert "my_notes.txt" in names and "plan.xlsx" in names


def test_every_plan_table_is_registered_for_clean_up(example_plan):
    from aop.results import PLAN_TABLES

    plan = example_plan
    assert set(plan.tables) <= set(PLAN_TABLES)
    assert {"purchases", "consumption", "backorders"} <= set(plan.tables), "the example exercises the optional tables"


def test_no_plan_report_and_workbook_properties_record_provenance(tables, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "plan"
    case = write_xlsx(tables, tmp_path / "c.xlsx")
    assert main(["solve", str(case), "--out", str(out)]) == 0
    digest = hashlib.sha256(case.read_bytes()).hexdigest()
    props = load_workbook(out / "plan.xlsx", read_only=True).properties
    assert digest in props.description and "HiGHS" in props.description
    tables["inventory"]["ending_min"] = [1e6]
    bad = write_xlsx(tables, tmp_path / "bad.xlsx")
    assert main(["solve", str(bad), "--out", str(out)]) == 3
    text = (out / "no_plan.txt").read_text()
    assert f"input file bad.xlsx: {hashlib.sha256(bad.read_bytes()).hexdigest()}" in text
    assert "option random_seed: 0" in text and "highspy: " in text and "solved at (UTC): " in text


def test_a_signal_during_the_commit_waits_until_every_file_is_moved():
    import os
    import signal

    from aop.files import _signals_deferred

    def stop(_signum, _frame):
        raise KeyboardInterrupt("SIGTERM")

    old = signal.signal(signal.SIGTERM, stop)
    steps = []
    try:
        with pytest.raises(KeyboardInterrupt):
            with _signals_deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                steps.append("moved the rest")
            steps.append("after the block")
    finally:
        signal.signal(signal.SIGTERM, old)
    assert steps == ["moved the rest"]
    assert signal.getsignal(signal.SIGTERM) is old


def test_unbounded_plan_has_its_own_report(tables):
    """Costs cannot be negative in a case (validation), so an unbounded LP is made by hand: paid
    for every unit the safety stock is short (a shortfall nothing limits), the cost falls forever."""
    built = build(load_case(tables))
    col = int(built.variables["ss_short"]["col"].iloc[0])
    built.lp.c[col] = -1.0
    with pytest.raises(SolveError) as exc:
        solve(built, SolveOptions(solver="simplex", presolve="off"))
    assert exc.value.status == "unbounded"
    assert "without limit" in str(exc.value.report)


def test_same_case_in_two_processes_gives_the_same_objective_to_the_bit(tables, tmp_path):
    import subprocess
    import sys

    case = write_xlsx(tables, tmp_path / "c.xlsx")
    seen = []
    for i in range(2):
        out = tmp_path / f"p{i}"
        r = subprocess.run([sys.executable, "-m", "aop.cli", "solve", str(case), "--out", str(out), "--threads", "2"], cwd=REPO, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        prov = pd.read_csv(out / "provenance.csv").set_index("item")["value"]
        assert prov["option threads"] == "2" and prov["option random_seed"] == "0"
        seen.append(prov["objective"])
    assert seen[0] == seen[1]


def test_a_limit_typed_as_a_huge_number_gives_the_plan_of_a_blank_limit(tables):
    """Rescaling follows the typical number, not the largest: storage of 9e12 (a planner's "no
    limit") must not push demand of 100 units below HiGHS's tolerances."""
    tables["sites"]["storage_capacity"] = [None, None]
    blank = solve_case(tables)
    tables["sites"]["storage_capacity"] = [None, 9e12]
    huge = solve_case(tables)
    assert any("storage limit of 9e+12: if it means no limit, leave the cell blank" in w for w in huge.warnings)
    assert huge.total_cost == pytest.approx(blank.total_cost, rel=1e-9)


def test_numbers_past_the_largest_accepted_are_refused_with_their_cell(tables):
    from aop import InputError

    tables["sites"]["storage_capacity"] = [None, 99999999999999]
    with pytest.raises(InputError) as exc:
        load_case(tables)
    assert [str(p) for p in exc.value.problems] == [
        "table 'sites' row 3, column 'storage_capacity': is larger than 1e+13: check the units (for no limit, leave the cell blank) (value: 99999999999999.0)"
    ]
