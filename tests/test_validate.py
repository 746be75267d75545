"""Bad input: every planted problem gives its own message naming table, row, column and value."""

from __future__ import annotations

import pandas as pd
import pytest
from aop import InputError, load_case
from aop.read import read_case
from aop.validate import validate

from tests.conftest import write_csvs, write_xlsx


def problems(tables) -> list[str]:
    with pytest.raises(InputError) as exc:
        load_case(tables)
    return [str(p) for p in exc.value.problems]


def test_small_case_is_valid(tables):
    case = load_case(tables)
    assert case.currency == "EUR"
    # blank-period capacity row expands to every period
    assert len(case.capacity) == 3
    # demand price defaults to the product's price
    assert case.demand.loc[0, "price"] == 25.0


PLANTED = [
    # (table, row index, column, bad value, words expected in the message)
    ("demand", 2, "quantity", -5, "must not be negative"),
    ("demand", 0, "product", "ZZZ", "unknown product"),
    ("demand", 1, "customer", "NOBODY", "unknown customer"),
    ("demand", 3, "period", "2031-01", "unknown period"),
    ("demand", 4, "quantity", "lots", "must be a number"),
    ("products", 1, "holding_rate", "abc", "must be a number"),
    ("sites", 1, "kind", "warehouse", "must be one of plant, dc"),
    ("lanes", 2, "origin", "MARS", "unknown site"),
    ("lanes", 3, "destination", "NOWHERE", "unknown site or customer"),
    ("lanes", 0, "premium", "maybe", "must be true or false"),
    ("routings", 0, "resource", "PRESS", "has no row in capacity"),
    ("production", 1, "site", "DC1", "is a DC"),
    ("service", 0, "fill_rate", 1.5, "must be at most 1"),
    ("periods", 0, "days", 0, "must be positive"),
    ("inventory", 0, "initial", float("inf"), "must be a number"),
]


@pytest.mark.parametrize("table,row,column,value,words", PLANTED, ids=[f"{p[0]}.{p[2]}" for p in PLANTED])
def test_each_planted_problem_gives_its_message(tables, table, row, column, value, words):
    df = tables[table].astype(object)
    df.loc[row, column] = value
    tables[table] = df
    msgs = problems(tables)
    hits = [m for m in msgs if words in m]
    assert hits, msgs
    assert f"table '{table}' row {row + 2}, column '{column}'" in hits[0]


def test_n_planted_problems_give_n_messages(tables):
    for table, row, column, value, _ in PLANTED[:6]:
        df = tables[table].astype(object)
        df.loc[row, column] = value
        tables[table] = df
    msgs = problems(tables)
    assert len(msgs) == 6, msgs


def test_missing_table_and_column(tables):
    del tables["lanes"]
    tables["demand"] = tables["demand"].drop(columns="quantity")
    msgs = problems(tables)
    assert any("required table 'lanes' is missing" in m for m in msgs)
    assert any("required column 'quantity' is missing" in m for m in msgs)


def test_duplicate_key_names_both_rows(tables):
    tables["products"] = pd.concat([tables["products"], tables["products"].iloc[[0]]], ignore_index=True)
    msgs = problems(tables)
    assert msgs == ["table 'products' row 4: duplicate of row 2 (product=A)"]


def test_site_and_customer_names_must_differ(tables):
    tables["customers"].loc[0, "customer"] = "DC1"
    tables["demand"]["customer"] = tables["demand"]["customer"].replace("C1", "DC1")
    msgs = problems(tables)
    assert any("site and customer names must differ" in m for m in msgs)


def test_capacity_at_a_dc_is_refused(tables):
    tables["capacity"] = pd.concat([tables["capacity"], pd.DataFrame({"site": ["DC1"], "resource": ["DOCK"], "hours": [10.0]})], ignore_index=True)
    assert any("resource capacity belongs to plants" in m for m in problems(tables))


def test_extra_column_and_unreachable_customer_are_warnings(tables):
    tables["products"]["colour"] = "red"
    tables["customers"] = pd.concat([tables["customers"], pd.DataFrame({"customer": ["C9"], "segment": ["gold"]})], ignore_index=True)
    tables["demand"] = pd.concat([tables["demand"], pd.DataFrame({"product": ["A"], "customer": ["C9"], "period": ["2027-01"], "quantity": [5]})], ignore_index=True)
    case = load_case(tables)
    text = [str(w) for w in case.warnings]
    assert any("unknown column is ignored" in w and "colour" in w for w in text)
    assert any("no lane reaches this customer" in w and "C9" in w for w in text)


def test_xlsx_rows_are_excel_row_numbers(tables, tmp_path):
    tables["demand"].loc[4, "quantity"] = -1
    path = write_xlsx(tables, tmp_path / "case.xlsx")
    with pytest.raises(InputError) as exc:
        validate(read_case(path))
    assert [str(p) for p in exc.value.problems] == ["sheet 'demand' row 6, column 'quantity': must not be negative (value: -1)"]


def test_csv_rows_are_line_numbers(tables, tmp_path):
    tables["lanes"].loc[1, "mode"] = None
    folder = write_csvs(tables, tmp_path / "case")
    with pytest.raises(InputError) as exc:
        validate(read_case(folder))
    assert [str(p) for p in exc.value.problems] == ["lanes.csv line 3, column 'mode': is blank but required"]


def test_formula_without_cached_value_is_reported(tables, tmp_path):
    from openpyxl import load_workbook

    path = write_xlsx(tables, tmp_path / "case.xlsx")
    wb = load_workbook(path)
    wb["demand"]["D3"] = "=D2*2"  # openpyxl saves formulas without a cached value
    wb.save(path)
    with pytest.raises(InputError) as exc:
        validate(read_case(path))
    msgs = [str(p) for p in exc.value.problems]
    assert any("sheet 'demand' row 3, column 'quantity': formula has no saved value" in m for m in msgs), msgs


def test_same_case_from_xlsx_csv_and_frames(tables, tmp_path):
    a = load_case(tables)
    b = load_case(write_xlsx(tables, tmp_path / "c.xlsx"))
    c = load_case(write_csvs(tables, tmp_path / "c"))
    for x in (b, c):
        pd.testing.assert_frame_equal(a.demand.drop(columns="_row"), x.demand.drop(columns="_row"), check_dtype=False)
        pd.testing.assert_frame_equal(a.lanes.drop(columns="_row"), x.lanes.drop(columns="_row"), check_dtype=False)


def test_readme_contract_table_is_generated_from_the_schema():
    # The contract table lives in docs/input-contract.md (the README links to it).
    from aop.docs import contract_markdown

    from tests.conftest import REPO

    text = (REPO / "docs" / "input-contract.md").read_text()
    block = text.split("<!-- contract:start -->")[1].split("<!-- contract:end -->")[0].strip()
    assert block == contract_markdown().strip(), "docs/input-contract.md's contract is stale: regenerate with python -m aop.docs"


def test_true_false_columns_accept_one_and_zero_as_numbers(tables):
    # A 0/1 column read from a sheet or built in pandas arrives as floats 0.0 and 1.0.
    tables["lanes"]["premium"] = [0.0, 1.0, 0.0, 0.0]
    assert load_case(tables).lanes["premium"].tolist() == [False, True, False, False]


def test_numeric_settings_are_checked_each_with_its_row(tables):
    tables["settings"] = pd.DataFrame({"key": ["currency", "collection_days", "payment_days", "threads", "time_limit"], "value": ["EUR", "-5", "soon", "2.5", "inf"]})
    msgs = problems(tables)
    assert len(msgs) == 3, msgs
    assert any("row 3" in m and "collection_days must be a number of at least 0" in m and "'-5'" in m for m in msgs), msgs
    assert any("row 4" in m and "payment_days must be a number" in m and "'soon'" in m for m in msgs), msgs
    assert any("row 5" in m and "threads must be a whole number of at least 0" in m for m in msgs), msgs


def test_a_sheet_named_nearly_like_a_table_is_named_as_the_one_meant(tables, tmp_path):
    # A required table under a near name: the error names that sheet and the table meant, in
    # place of "required table 'demand' is missing"; an optional one: a warning. Case does not
    # matter; a sheet like no table (Notes) is left alone.
    tables["Demands"] = tables.pop("demand")
    tables["Inventroy"] = tables.pop("inventory")
    tables["Notes"] = pd.DataFrame({"note": ["for the planner"]})
    with pytest.raises(InputError) as exc:
        load_case(str(write_xlsx(tables, tmp_path / "case.xlsx")))
    msgs = [str(p) for p in exc.value.problems]
    assert msgs == ["sheet 'Demands': is not a table aop reads: did you mean 'demand'? (the required table 'demand' is missing; rename it 'demand')"]
    tables["demand"] = tables.pop("Demands")
    case = load_case(str(write_csvs(tables, tmp_path / "csv")))
    near = [str(w) for w in case.warnings if "did you mean" in str(w)]
    assert near == ["Inventroy.csv: is not a table aop reads, so it is ignored: did you mean 'inventory'?"]


def test_a_header_spelled_nearly_like_a_column_is_named_as_the_one_meant(tables, tmp_path):
    tables["demand"] = tables["demand"].rename(columns={"quantity": "Quantiy"})
    tables["production"] = tables["production"].rename(columns={"unit_cost": "unit cst"})
    tables["products"]["colour"] = "red"
    with pytest.raises(InputError) as exc:
        load_case(str(write_xlsx(tables, tmp_path / "case.xlsx")))
    msgs = [str(p) for p in exc.value.problems]
    assert msgs == ["sheet 'demand', column 'quantiy': is not a column aop reads: did you mean 'quantity'? (the required column 'quantity' is missing; rename it 'quantity')"]
    tables["demand"] = tables["demand"].rename(columns={"Quantiy": "quantity"})
    warned = [str(w) for w in load_case(tables).warnings]
    assert "table 'production', column 'unit_cst': unknown column is ignored: did you mean 'unit_cost'?" in warned
    assert "table 'products', column 'colour': unknown column is ignored" in warned
