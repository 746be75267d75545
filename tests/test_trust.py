"""Numbers the solver can trust, outputs that are traceable and never lost."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from model import SolveError, load_case, solve_case
from model.build import build
from model.cli import main
from model.solve import SolveOptions, check_solution, solve
from tests.conftest import REPO, write_xlsx


def test_independent_check_rejects_a_wrong_solution(tables):
    built = build(load_case(tables))
    sol = solve(built, SolveOptions())
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


def test_provenance_records_inputs_versions_and_options():
    plan = solve_case(REPO / "data" / "example.xlsx")
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
    import model.report as report

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
    from model import InputError

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
