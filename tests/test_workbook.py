"""The planner's workbooks: a template that guides, messages a planner understands, a plan
workbook that reads and prints like a report, and the example whose story is its own run."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest
from aop import InputError, load_case, solve_case
from aop.cli import main
from openpyxl import load_workbook

from tests.conftest import REPO, write_xlsx

# ------------------------------------------------------------------ the template


def test_a_blank_template_is_refused_by_validate_and_solve_alike(tmp_path, capsys):
    path = tmp_path / "t.xlsx"
    assert main(["template", str(path)]) == 0
    capsys.readouterr()
    for args in (["validate", str(path)], ["solve", str(path), "--out", str(tmp_path / "o")]):
        assert main(args) == 2
        err = capsys.readouterr().err
        for table, what in (("periods", "period"), ("products", "product"), ("sites", "site"), ("customers", "customer"), ("demand", "demand row"), ("lanes", "lane")):
            assert f"sheet '{table}': has no rows: a case needs at least one {what}" in err
        assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_template_keeps_an_existing_file_and_is_an_ordinary_file(tmp_path, capsys):
    path = tmp_path / "t.xlsx"
    path.write_text("my work")
    assert main(["template", str(path)]) == 2
    assert "already exists (aop template --force replaces it)" in capsys.readouterr().err
    assert path.read_text() == "my work"
    assert main(["template", str(path), "--force"]) == 0
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_template_marks_required_columns_and_offers_drop_downs(tmp_path):
    path = tmp_path / "t.xlsx"
    assert main(["template", str(path)]) == 0
    wb = load_workbook(path)
    sites = wb["sites"]
    headers = {c.value: c for c in sites[1]}
    assert headers["site"].font.b and headers["kind"].font.b and not headers["storage_capacity"].font.b
    assert "Unit: storage_unit" in headers["storage_capacity"].comment.text and "Required." in headers["site"].comment.text

    def rules(ws):
        return {str(dv.sqref).split(":")[0][0]: dv for dv in ws.data_validations.dataValidation}

    kind = rules(sites)["B"]
    assert kind.type == "list" and kind.formula1 == '"plant,dc,supplier"'
    demand = rules(wb["demand"])
    assert demand["C"].formula1 == "periods!$A$2:$A$5001" and demand["A"].formula1 == "products!$A$2:$A$5001"
    lanes = rules(wb["lanes"])
    premium = lanes[chr(ord("A") + [c.value for c in wb["lanes"][1]].index("premium"))]
    assert premium.formula1 == '"true,false"'
    fill = rules(wb["service"])["B"]
    assert fill.type == "decimal" and (float(fill.formula1), float(fill.formula2)) == (0.0, 1.0)
    readme = wb["README"]
    assert readme.page_setup.orientation == "landscape" and (readme.page_setup.fitToWidth or 1) == 1 and readme.print_title_rows == "$4:$4"


# ------------------------------------------------------------------ messages


def test_a_missing_column_is_one_problem_not_its_consequences(tables):
    tables["capacity"] = tables["capacity"].drop(columns="hours")
    with pytest.raises(InputError) as exc:
        load_case(tables)
    assert [str(p) for p in exc.value.problems] == ["table 'capacity': required column 'hours' is missing"]


def test_numbers_as_a_planner_types_them(tables):
    tables["demand"]["quantity"] = tables["demand"]["quantity"].astype(object)
    tables["demand"].loc[0, "quantity"] = "1,200"
    tables["demand"].loc[1, "quantity"] = "1 200.5"
    assert load_case(tables).demand["quantity"].iloc[:2].tolist() == [1200.0, 1200.5]
    tables["demand"].loc[2, "quantity"] = "forty"
    tables["demand"].loc[3, "quantity"] = "1,5"
    tables["service"]["fill_rate"] = [98, 0.0]
    tables["lanes"].loc[1, "origin"] = "NOWHERE"
    with pytest.raises(InputError) as exc:
        load_case(tables)
    # Sheet by sheet in the contract's order, row by row.
    assert [str(p) for p in exc.value.problems] == [
        "table 'demand' row 4, column 'quantity': must be a number (value: 'forty')",
        "table 'demand' row 5, column 'quantity': must be a number (write decimals with a point, 1.5; thousands may be grouped as 1,200) (value: '1,5')",
        "table 'lanes' row 3, column 'origin': unknown site (value: 'NOWHERE')",
        "table 'service' row 2, column 'fill_rate': must be at most 1: it is a fraction (98 % is 0.98) (value: 98.0)",
    ]


def test_the_template_readme_reads_whole_and_its_comments_say_something(tmp_path):
    from aop.schema import TABLES

    path = tmp_path / "t.xlsx"
    assert main(["template", str(path)]) == 0
    wb = load_workbook(path)
    readme = wb["README"]
    # The introduction spans the columns (merged), in a row as tall as its wrapped lines.
    assert "A2:F2" in {str(r) for r in readme.merged_cells.ranges}
    assert readme.cell(2, 1).value.startswith("One sheet per table: header in row 1, one row per record.")
    assert readme.row_dimensions[2].height >= 30
    meanings = [r[5] for r in readme.iter_rows(min_row=5, values_only=True) if r[1]]
    assert meanings and not [m for m in meanings if str(m).startswith(";")]
    assert "One of plant, dc, supplier" in meanings
    comments = [c.comment.text for t in TABLES for c in wb[t][1] if c.comment]
    assert len(comments) == sum(len(t.columns) for t in TABLES.values())
    assert not [c for c in comments if "blank: blank" in c]
    assert wb["products"]["B1"].comment.text.startswith("Optional: may be left blank.")


# ------------------------------------------------------------------ the plan workbook


@pytest.fixture(scope="module")
def plan_book(tmp_path_factory):
    from tests.conftest import small_case

    tmp = tmp_path_factory.mktemp("book")
    case = write_xlsx(small_case(), tmp / "my & case.xlsx")
    out = tmp / "plan"
    assert main(["solve", str(case), "--out", str(out)]) == 0
    return load_workbook(out / "plan.xlsx"), solve_case(small_case()), out


def test_every_sheet_prints_like_a_report(plan_book):
    wb, _, _ = plan_book
    assert wb.sheetnames[0] == "overview"
    for ws in wb.worksheets:
        ps = ws.page_setup
        assert ps.fitToHeight == 0 and ws.sheet_properties.pageSetUpPr.fitToPage, ws.title  # as many pages down as it takes
        assert ws.print_title_rows, ws.title
        assert "my && case.xlsx" in ws.oddFooter.left.text, ws.title  # '&' doubled: a literal in a footer
        if ws.title not in ("overview",):
            assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), ws.title
    # Orientation by width: this case's three months fit a portrait page, as do summary and provenance.
    assert wb["shipments"].page_setup.orientation == wb["summary"].page_setup.orientation == wb["provenance"].page_setup.orientation == "portrait"
    assert wb["limits"].page_setup.orientation == "landscape"


def test_a_sheet_prints_portrait_landscape_or_on_more_pages_by_its_width():
    from aop.formats import page_layout

    # A column of 10 characters prints 7.1 x 10 + 3 = 74 pt wide at full size; at the least
    # scale (0.78) a portrait page holds (8.27 - 0.8) x 72 / 0.78 = 689.5 pt, a landscape one
    # (11 - 0.8) x 72 / 0.78 = 941.5 pt.
    assert page_layout([10] * 9) == (False, 1)  # 666 pt
    assert page_layout([10] * 10) == (True, 1)  # 740 pt
    assert page_layout([10] * 12) == (True, 1)  # 888 pt
    # 13 columns (962 pt), the first repeated on each page: 888 pt of the rest over pages that
    # hold 941.5 - 74 = 867.5 pt, less a tenth for the column that does not fit: two pages.
    assert page_layout([10] * 13, keys=1) == (True, 2)
    assert page_layout([10] * 30, keys=1) == (True, 3)  # 2146 / 780.75 = 2.7


def test_headers_are_words_and_numbers_are_formatted_by_what_they_are(plan_book):
    wb, _plan, _ = plan_book
    ws = wb["shipments"]
    header = [c.value for c in ws[1]]
    assert header[:5] == ["From", "To", "Mode", "Premium", "Product"] and header[-1] == "Total"
    first = ws.cell(2, 6)
    assert first.number_format == "#,##0"
    summary = {r[0].value: r[1] for r in wb["summary"].iter_rows(min_row=2)}
    assert summary["Total cost (the objective)"].number_format == "#,##0"  # money amounts in whole units
    assert summary["On-time fill rate"].number_format == "0.00%"
    assert summary["Variables"].number_format == "#,##0"
    limits = wb["limits"]
    assert next(c.value for c in limits[1]) == "Constraint" and "What it means" in [c.value for c in limits[1]]


def test_grids_have_periods_across_and_totals_that_add_up(plan_book):
    wb, plan, _ = plan_book
    ws = wb["production"]
    rows = list(ws.iter_rows(values_only=True))
    header, body, total = rows[0], rows[1:-1], rows[-1]
    assert header[3:6] == ("2027-01", "2027-02", "2027-03") and header[-1] == "Total"
    assert total[0] == "Total"
    for r in body:
        assert r[-1] == pytest.approx(sum(r[3:-1]))
    assert total[-1] == pytest.approx(plan.tables["production"][["make", "outsource"]].to_numpy().sum())


def test_utilization_above_95_percent_is_shaded_and_overtime_explained(plan_book):
    wb, _, _ = plan_book
    ws = wb["capacity"]
    util = [r for r in ws.iter_rows(min_row=2) if str(r[2].value).startswith("utilization (above 100 % = overtime)")]
    assert util and util[0][3].number_format == "0.00%"
    ranges = [str(r.sqref) for r in ws.conditional_formatting]
    assert any(rng.startswith(f"D{util[0][0].row}") for rng in ranges), ranges


def test_grids_leave_out_all_zero_rows_and_say_how_many(plan_book):
    wb, plan, _ = plan_book
    inv = plan.tables["inventory"]
    zero = (inv.groupby(["site", "product"])["on_hand"].apply(lambda q: (q.abs() < 0.5).all())).sum()
    assert zero > 0  # the small case has stock at DC1 only
    rows = list(wb["inventory"].iter_rows(values_only=True))
    body = [r for r in rows[1:] if r[0] not in (None, "Total") and not str(r[0]).endswith("has every row.")]
    assert len(body) == inv.groupby(["site", "product"]).ngroups - zero
    for r in body:
        assert any(abs(v) >= 0.5 for v in r[2:-1] if isinstance(v, (int, float))), r
    note = [r[0] for r in rows if r[0] and str(r[0]).endswith("has every row.")]
    assert note == [f"{zero:,} row{'s' if zero > 1 else ''} with nothing in any month left out; inventory.csv has every row."]


def test_capacity_reads_regular_then_used_then_overtime(plan_book):
    wb, _, _ = plan_book
    measures = [r[2] for r in wb["capacity"].iter_rows(min_row=2, values_only=True) if r[1]]
    order = ["regular hours", "hours used", "overtime allowed", "overtime used", "utilization (above 100 % = overtime)"]
    assert measures and [m for m in order if m in measures] == measures[: len(set(measures))]


def test_the_overview_label_and_value_share_a_line_and_headers_say_no_false_unit(plan_book):
    wb, _, _ = plan_book
    ws = wb["overview"]
    assert not ws["A2"].alignment.wrap_text  # the solve's time runs on, never wraps
    for r in range(5, 10):
        assert ws.cell(r, 1).alignment.vertical == ws.cell(r, 2).alignment.vertical == ws.cell(r, 3).alignment.vertical == "top", r
    assert [c.value for c in wb["provenance"][1]] == ["Item", "Value"]  # hashes and versions, not money
    # A name column is as wide as its longest name is drawn (capitals are wider than digits).
    from aop.formats import text_width

    demand = wb["demand"]
    customers = [r[1] for r in demand.iter_rows(min_row=2, values_only=True) if r[1]]
    assert demand.column_dimensions["B"].width >= max(text_width(c) for c in customers)


def test_the_overview_gives_the_figures_and_where_the_tables_are(plan_book):
    wb, plan, _ = plan_book
    rows = {r[0]: r for r in wb["overview"].iter_rows(values_only=True) if r[0]}
    # Each key figure under its one label (aop.metrics), with the summary's number.
    from aop.metrics import label

    assert rows[label("total_cost")][1] == pytest.approx(plan.total_cost)
    assert rows[label("fill_rate")][1] == pytest.approx(plan.metric("fill_rate"))
    assert rows[label("cash_cost_to_serve")][1] == pytest.approx(plan.metric("cash_cost_to_serve"))
    for sheet in ("summary", "limits", "production", "capacity", "shipments", "inventory", "demand", "service"):
        assert sheet in rows, sheet
    assert any(str(k).startswith("capacity: PL1, LINE") for k in rows)


def test_every_constraint_price_stays_in_the_csv(plan_book):
    wb, plan, out = plan_book
    full = pd.read_csv(out / "shadow_prices.csv")
    assert len(full) == len(plan.shadow_prices)
    shown = {r[0] for r in wb["limits"].iter_rows(min_row=2, values_only=True)}
    assert shown <= {"capacity", "overtime", "production_max", "outsource_max", "supply", "lane_capacity", "storage", "inventory_budget", "service"}
    assert set(full["constraint"]) - shown  # demand, balance ... rows: CSV only


@pytest.mark.skipif(not __import__("importlib").util.find_spec("pyarrow"), reason="pyarrow is not installed")
def test_parquet_copies_read_back_exactly(plan_book):
    _, plan, out = plan_book
    for name in ("shipments", "shadow_prices", "demand"):
        back = pd.read_parquet(out / f"{name}.parquet")
        pd.testing.assert_frame_equal(back.reset_index(drop=True), plan.tables[name].reset_index(drop=True), check_dtype=False)


# ------------------------------------------------------------------ the example's story


def test_the_readmes_example_section_is_this_runs_story(example_plan):
    from scripts.make_example import README_END, README_START, readme_section

    text = (REPO / "README.md").read_text()
    block = text.split(README_START)[1].split(README_END)[0].strip()
    plan = example_plan
    assert block == readme_section(plan).strip(), "README example section is stale: python scripts/make_example.py --readme"
    # The quoted price at the README's top is one of this run's sentences.
    quote = next(line[2:] for line in text.splitlines() if line.startswith("> One more hour of LINE-BOTTLING"))
    assert quote in set(plan.shadow_prices["meaning"])
