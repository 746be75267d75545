"""Hostile and odd workbooks: refused with one clear message, or read correctly."""

from __future__ import annotations

import re
import zipfile

import pytest
from aop import InputError, load_case
from aop.read import read_case

from tests.conftest import write_csvs, write_xlsx


def _one_problem(path) -> str:
    with pytest.raises(InputError) as exc:
        read_case(path)
    assert len(exc.value.problems) == 1
    return str(exc.value.problems[0])


def test_not_a_zip_is_one_message(tmp_path):
    p = tmp_path / "case.xlsx"
    p.write_text("this is not a workbook")
    assert "is not a valid .xlsx workbook" in _one_problem(p)


def test_zip_bomb_is_refused_before_parsing(tmp_path):
    p = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 1024**2))
    assert "possible zip bomb" in _one_problem(p)


def test_billion_laughs_is_refused(tables, tmp_path):
    p = write_xlsx(tables, tmp_path / "case.xlsx")
    entities = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">' + entities + "]>"
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
    )
    q = tmp_path / "laughs.xlsx"
    with zipfile.ZipFile(p) as src, zipfile.ZipFile(q, "w") as dst:
        assert "xl/worksheets/sheet1.xml" in src.namelist()
        for item in src.infolist():
            data = laughs.encode() if item.filename == "xl/worksheets/sheet1.xml" else src.read(item.filename)
            dst.writestr(item, data)
    msg = _one_problem(q)
    assert "cannot be read as an Excel workbook" in msg and "laughs.xlsx" in msg


def test_defusedxml_must_be_active(monkeypatch, tables, tmp_path):
    import openpyxl.xml

    p = write_xlsx(tables, tmp_path / "case.xlsx")
    monkeypatch.setattr(openpyxl.xml, "DEFUSEDXML", False)
    assert "defusedxml is not active" in _one_problem(p)


def _with_cell(tables, path, sheet: str, ref: str, value: object):
    """The case as a workbook with one more cell typed into ``sheet``."""
    from openpyxl import load_workbook

    write_xlsx(tables, path)
    wb = load_workbook(path)
    wb[sheet][ref] = value
    wb.save(path)
    return path


def test_absurd_used_range_is_refused_before_parsing(tables, tmp_path):
    msg = _one_problem(_with_cell(tables, tmp_path / "case.xlsx", "lanes", "XFD1048576", "stray"))
    assert msg.startswith("sheet 'lanes': has cells as far as column XFD and row 1,048,576")
    assert "Ctrl+End" in msg


def _with_sheet_xml(src, dst, sheet: str, edit) -> None:
    """Copy workbook ``src`` to ``dst`` with the XML of worksheet ``sheet`` passed through ``edit``."""
    from openpyxl import load_workbook

    wb = load_workbook(src, read_only=True)
    part = wb[sheet]._worksheet_path.lstrip("/")
    wb.close()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item.filename, edit(data) if item.filename == part else data)


def test_rows_padded_out_to_column_xfd_are_refused(tables, tmp_path):
    # 4,000 rows each with one cell at XFD: a tiny file that openpyxl would expand to 65 million cells.
    rows = "".join(f'<row r="{i}"><c r="XFD{i}"><v>1</v></c></row>' for i in range(10, 4010)).encode()
    q = tmp_path / "wide.xlsx"
    _with_sheet_xml(write_xlsx(tables, tmp_path / "case.xlsx"), q, "demand", lambda x: x.replace(b"</sheetData>", rows + b"</sheetData>"))
    assert "sheet 'demand': has cells as far as column XFD and row 4,009" in _one_problem(q)


def test_stray_cell_near_the_table_and_a_lying_dimension_are_read(tables, tmp_path):
    p = _with_cell(tables, tmp_path / "case.xlsx", "lanes", "XFD3", "note far to the right")
    # The declared used range says the whole sheet; only the cells there count.
    q = tmp_path / "dim.xlsx"
    _with_sheet_xml(p, q, "lanes", lambda x: re.sub(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1:XFD1048576"/>', x))
    assert b"A1:XFD1048576" in zipfile.ZipFile(q).read("xl/worksheets/sheet9.xml")
    case = load_case(q)
    assert len(case.lanes) == len(tables["lanes"])
    assert case.lanes["mode"].tolist() == tables["lanes"]["mode"].tolist()


def test_csv_with_byte_order_mark_and_blank_rows(tables, tmp_path):
    folder = write_csvs(tables, tmp_path / "case")
    text = (folder / "demand.csv").read_text().splitlines()
    (folder / "demand.csv").write_text("\ufeff" + "\n".join(text[:3] + [",,,", ""] + text[3:]) + "\n")
    case = load_case(folder)
    assert len(case.demand) == len(tables["demand"])
    assert list(case.demand["product"].iloc[:2]) == ["A", "A"]


def test_merged_cells_are_reported_with_their_location(tables, tmp_path):
    from openpyxl import load_workbook

    p = write_xlsx(tables, tmp_path / "case.xlsx")
    wb = load_workbook(p)
    wb["demand"].merge_cells("A3:A4")
    wb.save(p)
    with pytest.raises(InputError) as exc:
        load_case(p)
    msgs = [str(x) for x in exc.value.problems]
    assert any(m.startswith("sheet 'demand' row 3: has merged cells A3:A4") for m in msgs), msgs


def test_semicolon_csv_with_decimal_commas(tables, tmp_path):
    folder = write_csvs(tables, tmp_path / "case")
    tables["products"].to_csv(folder / "products.csv", sep=";", decimal=",", index=False)
    case = load_case(folder)
    assert case.products.set_index("product").loc["A", "holding_rate"] == 0.25


def test_workbook_in_the_1904_date_system(tables, tmp_path):
    import datetime as dt

    from openpyxl import load_workbook
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    p = write_xlsx(tables, tmp_path / "case.xlsx")
    wb = load_workbook(p)
    wb.epoch = CALENDAR_MAC_1904
    for sheet in ("periods", "demand"):
        ws = wb[sheet]
        col = [c.value for c in ws[1]].index("period") + 1
        for r in range(2, ws.max_row + 1):
            y, m = map(int, ws.cell(r, col).value.split("-"))
            ws.cell(r, col).value = dt.datetime(y, m, 1)  # typed as dates, as Excel does
    wb.save(p)
    case = load_case(p)
    assert case.period_names == ["2027-01", "2027-02", "2027-03"]
    assert set(case.demand["period"]) == set(case.period_names)


def test_over_long_names_are_refused(tables):
    tables["products"].loc[0, "product"] = "X" * 40_000
    with pytest.raises(InputError) as exc:
        load_case(tables)
    assert any("40,000 characters long" in str(p) for p in exc.value.problems)


def test_two_files_for_one_table_are_a_problem_not_a_guess(tables, tmp_path):
    folder = write_csvs(tables, tmp_path / "case")
    (folder / "Demand.csv").write_text((folder / "demand.csv").read_text())
    with pytest.raises(InputError) as exc:
        load_case(folder)
    assert [str(p) for p in exc.value.problems] == ["demand.csv: holds table 'demand' like Demand.csv: keep one of the two"]


def test_csv_errors_say_what_kind_of_problem(tables, tmp_path):
    folder = write_csvs(tables, tmp_path / "case")
    (folder / "lanes.csv").write_bytes("origin,destination,mode\nPL1,DC1,caf\xe9\n".encode("latin-1"))
    (folder / "demand.csv").write_text("product,customer,period,quantity\nA,C1,2027-01," + "9" * 200_000 + "\n")
    with pytest.raises(InputError) as exc:
        load_case(folder)
    msgs = [str(p) for p in exc.value.problems]
    assert any(m.startswith("lanes.csv: is not UTF-8 text (save it as 'CSV UTF-8')") for m in msgs), msgs
    assert any(m.startswith("demand.csv: cannot be read as CSV, line 2: field larger than field limit") for m in msgs), msgs
