"""The `aop` command end to end: exit codes, files written, outputs that read back."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from aop.cli import main

from tests.conftest import REPO, write_csvs, write_xlsx

EXAMPLE = REPO / "data" / "example.xlsx"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aop.cli", *args], capture_output=True, text=True, cwd=REPO)


def test_solve_writes_workbook_and_csvs_that_read_back(tables, tmp_path):
    case = write_xlsx(tables, tmp_path / "case.xlsx")
    out = tmp_path / "plan"
    assert main(["solve", str(case), "--out", str(out)]) == 0
    sheets = pd.read_excel(out / "plan.xlsx", sheet_name=None)
    assert list(sheets)[:3] == ["overview", "summary", "limits"]
    assert {"production", "shipments", "inventory", "demand", "service", "capacity"} <= set(sheets)
    summary = pd.read_csv(out / "summary.csv").set_index("metric")["value"]
    assert summary["status"] == "optimal"
    total = float(summary["total_cost"])
    from aop.results import COST_COMPONENTS

    assert sum(float(summary[p]) for p in COST_COMPONENTS) == pytest.approx(total, rel=1e-9)
    sp = pd.read_csv(out / "shadow_prices.csv")
    assert list(sp.columns[:1]) == ["constraint"] and "meaning" in sp.columns
    cap = sp[sp["constraint"] == "capacity"]
    assert (cap["shadow_price"] < 0).all() and len(cap) >= 1
    assert "EUR" in cap["meaning"].iloc[0]
    # The workbook is for people: frozen header.
    from openpyxl import load_workbook

    wb = load_workbook(out / "plan.xlsx")
    assert wb["limits"].freeze_panes == "A2"
    assert not list(out.glob(".aop-*")), "temporary folder left behind"


def test_csv_folder_case_gives_same_cost(tables, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["solve", str(write_xlsx(tables, tmp_path / "c.xlsx")), "--out", str(a)]) == 0
    assert main(["solve", str(write_csvs(tables, tmp_path / "c")), "--out", str(b)]) == 0
    ca = pd.read_csv(a / "summary.csv").set_index("metric")["value"]["total_cost"]
    cb = pd.read_csv(b / "summary.csv").set_index("metric")["value"]["total_cost"]
    assert float(ca) == pytest.approx(float(cb), rel=1e-9)


def test_user_strings_stay_text_in_the_workbook(tables, tmp_path):
    evil = '=HYPERLINK("http://x","y")'
    for name in ("products", "demand", "production", "routings", "inventory"):
        tables[name]["product"] = tables[name]["product"].replace("A", evil)
    out = tmp_path / "plan"
    assert main(["solve", str(write_xlsx(tables, tmp_path / "c.xlsx")), "--out", str(out)]) == 0
    from openpyxl import load_workbook

    ws = load_workbook(out / "plan.xlsx")["demand"]
    cells = [c for row in ws.iter_rows() for c in row if c.value == evil]
    assert cells and all(c.data_type == "s" for c in cells)


def test_bad_input_exits_2_with_all_messages_and_no_traceback(tables, tmp_path):
    tables["demand"].loc[0, "quantity"] = -3
    tables["lanes"].loc[0, "origin"] = "NOWHERE"
    r = run("solve", str(write_xlsx(tables, tmp_path / "c.xlsx")), "--out", str(tmp_path / "p"))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "sheet 'demand' row 2, column 'quantity'" in r.stderr
    assert "sheet 'lanes' row 2, column 'origin'" in r.stderr
    assert "2 problems" in r.stderr
    assert not (tmp_path / "p").exists()


def test_missing_file_exits_2(tmp_path):
    r = run("solve", str(tmp_path / "nope.xlsx"), "--out", str(tmp_path / "p"))
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_infeasible_plan_exits_3_and_keeps_previous_plan(tables, tmp_path):
    out = tmp_path / "plan"
    assert main(["solve", str(write_xlsx(tables, tmp_path / "ok.xlsx")), "--out", str(out)]) == 0
    before = (out / "plan.xlsx").read_bytes()
    tables["inventory"]["ending_min"] = [1e6]  # DC1 cannot end the year with a million units of A
    r = run("solve", str(write_xlsx(tables, tmp_path / "bad.xlsx")), "--out", str(out))
    assert r.returncode == 3, r.stderr
    assert "infeasible" in r.stderr
    assert (out / "plan.xlsx").read_bytes() == before


def test_validate_command(tables, tmp_path):
    r = run("validate", str(write_xlsx(tables, tmp_path / "c.xlsx")))
    assert r.returncode == 0 and "is valid" in r.stdout


@pytest.mark.skipif(not EXAMPLE.exists(), reason="example workbook not generated")
def test_bundled_example_solves_from_the_cli(tmp_path, example_plan):
    r = run("solve", str(EXAMPLE), "--out", str(tmp_path / "plan"))
    assert r.returncode == 0, r.stderr
    summary = pd.read_csv(tmp_path / "plan" / "summary.csv").set_index("metric")["value"]
    assert summary["status"] == "optimal"
    # The CLI's files say what the API's plan says (the README's figures: tests/test_workbook.py).
    plan = example_plan
    assert float(summary["total_cost"]) == pytest.approx(plan.total_cost, rel=1e-12)
    sp = pd.read_csv(tmp_path / "plan" / "shadow_prices.csv")
    top = sp[sp["constraint"] == "capacity"].iloc[0]
    assert (top["site"], top["resource"]) == ("PL-SOUTH", "LINE-BOTTLING") and top["period"] in ("2027-06", "2027-07", "2027-08")
    assert top["shadow_price_up"] == top["shadow_price_down"] < 0


def test_long_grids_keep_their_largest_rows_and_the_overview_says_so(tables, tmp_path):
    from aop import solve_case
    from aop.report import write_plan
    from openpyxl import load_workbook

    plan = solve_case(tables)
    write_plan(plan, tmp_path / "p", max_sheet_rows=2)
    wb = load_workbook(tmp_path / "p" / "plan.xlsx")
    demand = [r for r in wb["demand"].iter_rows(min_row=2, values_only=True)]
    assert len(demand) == 3 and demand[-1][0] == "Total"  # two rows and the total row
    notes = [r[2] for r in wb["overview"].iter_rows(values_only=True) if r[0] == "demand"]
    assert notes and "the 2 largest of" in notes[0] and "(all of them in the CSV)" in notes[0]
    assert len(pd.read_csv(tmp_path / "p" / "demand.csv")) == len(plan.tables["demand"])


def test_infeasible_plan_is_explained_in_business_terms(tables, tmp_path):
    """Gold (C1, product A) wants 98 % on time but the line makes only 100 A a month (50 hours,
    0.5 h/unit, no overtime or co-manufacturing; no closing target). Months of 31, 28 and 31
    days. By hand: 20 in stock + 300 made, all flown PL1 -> DC1 (1 day) as made; what leaves in
    March leaves early enough to arrive in March (the end-of-plan rule), so T = 320 can reach
    C1, against 0.98 x 370 = 362.6 on time: the smallest relaxation moves 42.6 units (unique).
    Placed as late as it can be, January keeps 98. DC1 -> C1 takes 2 days: 2/31 of March's
    deliveries leave DC1 in February, and by February's end DC1 has had S = 20 + 100 + 100 x
    27/28 = 120 + 675/7. So J + F + (2/31) M <= S with J + F + M = T: J + F <= (31 S - 2 T) / 29
    = 1465/7, February 779/7 = 111.29 (92.7 % of 120) and March T - 1465/7 = 775/7 = 110.71
    (73.8 % of 150)."""
    tables["service"]["fill_rate"] = [0.98, 0.0]
    tables["capacity"]["overtime_hours"] = [0.0]
    tables["capacity"]["hours"] = [50.0]
    tables["production"]["outsource_max_units"] = [0.0, None]
    tables["inventory"]["ending_min"] = [0.0]
    out = tmp_path / "plan"
    r = run("solve", str(write_xlsx(tables, tmp_path / "c.xlsx")), "--out", str(out))
    assert r.returncode == 3, r.stderr
    assert "segment gold's 98.0% fill rate in 2027-02 cannot be met; 92.7% can" in r.stderr
    assert "segment gold's 98.0% fill rate in 2027-03 cannot be met; 73.8% can" in r.stderr
    relax = pd.read_csv(out / "infeasible_relaxation.csv")
    assert set(relax["constraint"]) == {"service"}
    assert relax["change"].sum() == pytest.approx(320 - 362.6, abs=1e-6)
    assert relax.set_index("period")["achievable"].to_dict() == pytest.approx({"2027-02": 779 / 7, "2027-03": 775 / 7}, abs=1e-6)
    conflict = pd.read_csv(out / "infeasible_conflict.csv")
    assert {"capacity", "service"} <= set(conflict["constraint"])
    assert "fill rate" in (out / "no_plan.txt").read_text()
    assert not (out / "plan.xlsx").exists()


def test_closing_stock_that_cannot_be_reached_says_what_can(tables):
    """1,000 A must be at DC1 after March. By hand: 20 in stock + 3 x 100 made (50 line hours at
    0.5 h/unit, B left short) + 3 x 40 co-manufactured = 440 A; what PL1 sends in March (140, by
    air: 1 day) leaves early enough to arrive in March, so all 440 can be there (below DC1's 500
    units of space). No fill-rate target, so the closing stock is the only promise to move."""
    from aop import SolveError, solve_case

    tables["service"]["fill_rate"] = [0.0, 0.0]
    tables["capacity"]["overtime_hours"] = [0.0]
    tables["capacity"]["hours"] = [50.0]
    tables["inventory"]["ending_min"] = [1000.0]
    with pytest.raises(SolveError) as exc:
        solve_case(tables)
    relax = exc.value.report.relaxation
    assert list(relax["constraint"]) == ["ending"]
    assert relax["achievable"].iloc[0] == pytest.approx(440.0, abs=1e-6)
    assert relax["meaning"].iloc[0] == "closing stock of A at DC1 must be at least 1,000.00 units; 440.00 can be reached"


def test_time_limit_has_its_own_report(tmp_path):
    from scripts.generate_case import generate

    case = write_csvs(generate(products=60, dcs=4, customers=20), tmp_path / "c")
    r = run("solve", str(case), "--out", str(tmp_path / "p"), "--time-limit", "0.001", "--solver", "ipx")
    assert r.returncode == 3, r.stderr
    assert "time limit" in (tmp_path / "p" / "no_plan.txt").read_text()


def test_the_process_benchmark_reads_what_aop_solve_prints_and_writes(tables, tmp_path, capsys):
    """scripts/benchmark_process.py times `aop solve` from outside: it reads the stage timings
    `--verbose` prints, the what-ifs from summary.csv and the algorithm from provenance.csv."""
    from scripts.benchmark_process import algorithm_of, merged, stages_of, timed, what_ifs_of

    case = write_csvs(tables, tmp_path / "case")
    out = tmp_path / "plan"
    capsys.readouterr()
    assert main(["solve", str(case), "--out", str(out), "--verbose", "--what-if-seconds", "0"]) == 0
    stages = stages_of(capsys.readouterr().out)
    assert list(stages) == ["read", "validate", "build", "solve", "results", "finance", "write"]
    assert all(v >= 0 for v in stages.values())
    run, left_out = what_ifs_of(out)
    assert run == 0 and left_out >= 0
    assert algorithm_of(out) == "simplex"
    wall, peak, text = timed([sys.executable, "-c", "print('done')"])
    assert wall > 0 and peak > 0 and text.strip() == "done"
    with pytest.raises(SystemExit, match="exited 3"):
        timed([sys.executable, "-c", "import sys; sys.exit(3)"])
    # --docs: a run's rows replace those of its sizes, other sizes' rows stay, by variables
    head = "| variables | s |\n|---|---|\n"
    assert merged(head + "| 9,658 | 3.5 |\n| 88,429 | 10.8 |", head + "| 1,197,021 | 200 |\n| 88,429 | 9.9 |") == head + "| 9,658 | 3.5 |\n| 88,429 | 9.9 |\n| 1,197,021 | 200 |"
