"""Workbooks saved by LibreOffice Calc (issue 5): read correctly, or refused with the location.

The files in tests/fixtures/libreoffice/ are real files LibreOffice 7.4 saved, made from the
small case by scripts/make_libreoffice_fixtures.py (which needs LibreOffice; these tests only
read the committed files). Each test first checks the saved XML really has the LibreOffice
trait it is about, so a fixture regenerated some other way fails loudly instead of passing.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from aop import InputError, Problem, load_case, solve_case
from aop.read import read_case

from tests.conftest import small_case

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "libreoffice"
SOURCE = FIXTURES / "small_case_source.xlsx"  # openpyxl: formulas without saved values
SAVED = FIXTURES / "small_case.xlsx"  # LibreOffice: xlsx -> xlsx
VIA_ODS = FIXTURES / "small_case_from_ods.xlsx"  # LibreOffice: xlsx -> ods -> xlsx
EMPTY_TEXT = FIXTURES / "small_case_empty_text_formula.xlsx"  # LibreOffice, with =IF(...,"")
LIBREOFFICE = [pytest.param(SAVED, id="xlsx"), pytest.param(VIA_ODS, id="via-ods")]

NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}
PERIODS = ["2027-01", "2027-02", "2027-03"]
DEMAND_ROWS = [2, 3, 4, 6, 7, 8, 9]  # Excel rows; row 5 is blank in every fixture
FORMULA_MSG = "formula has no saved value: open and save the workbook in Excel or LibreOffice, or type the value"


def _sheet(path: Path, name: str) -> ET.Element:
    """The worksheet XML of sheet ``name``, found through the workbook's relationships."""
    with zipfile.ZipFile(path) as zf:
        wb = ET.fromstring(zf.read("xl/workbook.xml"))
        rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        rid = next(s.get(f"{{{NS['r']}}}id") for s in wb.iterfind("m:sheets/m:sheet", NS) if s.get("name") == name)
        target = next(r.get("Target") for r in rels.iterfind("rel:Relationship", NS) if r.get("Id") == rid)
        part = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
        return ET.fromstring(zf.read(part))


def _cell(sheet: ET.Element, ref: str) -> ET.Element:
    found = sheet.find(f"m:sheetData/m:row/m:c[@r='{ref}']", NS)
    assert found is not None, f"no cell {ref}"
    return found


def _application(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return ET.fromstring(zf.read("docProps/app.xml")).findtext("{*}Application") or ""


@pytest.fixture(scope="module")
def small_case_cost() -> float:
    """What the in-memory small case costs: every LibreOffice file must read to the same plan."""
    return solve_case(small_case()).total_cost


# --- what LibreOffice saves, and that it reads like the small case -----------------------------


@pytest.mark.parametrize("path", [*LIBREOFFICE, pytest.param(EMPTY_TEXT, id="empty-text")])
def test_fixtures_were_saved_by_libreoffice_with_formula_values(path):
    assert _application(path).startswith("LibreOffice/")
    cap = _cell(_sheet(path, "capacity"), "D2")
    assert (cap.findtext("m:f", namespaces=NS), cap.findtext("m:v", namespaces=NS)) == ("100+40", "140")
    # Shared strings, never openpyxl's inline strings.
    demand = _sheet(path, "demand")
    assert {c.get("t") for c in demand.iter(f"{{{NS['m']}}}c")} <= {"s", "n", "str"}
    assert _cell(demand, "A2").get("t") == "s"


def test_source_was_written_by_openpyxl_without_formula_values():
    assert "Openpyxl" in _application(SOURCE)
    cap = _cell(_sheet(SOURCE, "capacity"), "D2")
    assert cap.findtext("m:f", namespaces=NS) == "100+40"
    assert not cap.findtext("m:v", namespaces=NS)  # <v /> with nothing in it
    assert _cell(_sheet(SOURCE, "demand"), "A2").get("t") == "inlineStr"


@pytest.mark.parametrize("path", LIBREOFFICE)
def test_libreoffice_file_solves_like_the_small_case(path, small_case_cost):
    case = load_case(path)
    assert solve_case(case).total_cost == pytest.approx(small_case_cost, rel=1e-9)


@pytest.mark.parametrize("path", LIBREOFFICE)
def test_formulas_read_as_the_values_libreoffice_saved(path):
    raw = read_case(path)
    assert raw.problems == []
    assert list(raw.tables["demand"]["quantity"]) == [100, 120, 150, 50, 60, 80, 30]
    assert list(raw.tables["capacity"]["hours"]) == [140]


def test_source_formulas_without_saved_values_read_as_nothing():
    raw = read_case(SOURCE)
    assert list(raw.tables["demand"]["quantity"]) == [100, None, None, 50, 60, None, 30]
    assert list(raw.tables["capacity"]["hours"]) == [None]


def test_source_formulas_are_refused_with_sheet_row_and_column():
    with pytest.raises(InputError) as exc:
        load_case(SOURCE)
    problems = exc.value.problems
    formulas = {(p.where, p.row, p.column, p.value) for p in problems if p.message == FORMULA_MSG}
    assert formulas == {
        ("sheet 'demand'", 3, "quantity", "=SUM(50,70)"),
        ("sheet 'demand'", 4, "quantity", "=D2*1.5"),
        ("sheet 'demand'", 8, "quantity", "=40*2"),  # row 8: the blank row 5 is counted
        ("sheet 'capacity'", 2, "hours", "=100+40"),
    }
    # Nothing else: a cell explained as an unsaved formula is not reported again as blank.
    assert len(problems) == len(formulas)
    assert "sheet 'capacity' row 2, column 'hours': formula has no saved value" in str(exc.value)


# --- LibreOffice traits, one by one ------------------------------------------------------------


@pytest.mark.parametrize("path", LIBREOFFICE)
def test_period_dates_read_back_as_period_names(path):
    # Saved as date serials (46388 = 2027-01-01) with a date number format, not as text.
    with zipfile.ZipFile(path) as zf:
        styles = ET.fromstring(zf.read("xl/styles.xml"))
    formats = {f.get("numFmtId"): f.get("formatCode") for f in styles.iterfind("m:numFmts/m:numFmt", NS)}
    xfs = styles.findall("m:cellXfs/m:xf", NS)
    a2 = _cell(_sheet(path, "periods"), "A2")
    assert (a2.get("t"), a2.findtext("m:v", namespaces=NS)) == ("n", "46388")
    assert formats[xfs[int(a2.get("s"))].get("numFmtId")] == r"yyyy\-mm\-dd\ h:mm:ss"
    case = load_case(path)
    assert case.period_names == PERIODS
    assert list(case.demand["period"]) == PERIODS + PERIODS + ["2027-02"]


@pytest.mark.parametrize("path", LIBREOFFICE)
def test_booleans_saved_as_true_false_formulas_read_as_booleans(path):
    # LibreOffice has no boolean cells: it saves TRUE as the formula TRUE() with value 1.
    f3 = _cell(_sheet(path, "lanes"), "F3")
    assert (f3.get("t"), f3.findtext("m:f", namespaces=NS), f3.findtext("m:v", namespaces=NS)) == ("b", "TRUE()", "1")
    raw = read_case(path)
    assert raw.problems == []  # a formula with a saved value is fine
    assert list(raw.tables["lanes"]["premium"]) == [False, True, False, False]
    assert list(load_case(path).lanes["premium"]) == [False, True, False, False]


@pytest.mark.parametrize("path", LIBREOFFICE)
def test_blank_row_keeps_the_excel_row_numbers(path):
    rows = [r.get("r") for r in _sheet(path, "demand").iterfind("m:sheetData/m:row", NS)]
    # Straight to xlsx LibreOffice drops the blank row; through .ods it writes an empty <row>.
    assert rows == [str(n) for n in ([1, *DEMAND_ROWS] if path == SAVED else range(1, 10))]
    assert list(read_case(path).tables["demand"]["_row"]) == DEMAND_ROWS
    assert list(load_case(path).demand["_row"]) == DEMAND_ROWS


@pytest.mark.parametrize("path", LIBREOFFICE)
def test_number_typed_as_text_stays_text_and_validates(path):
    assert _cell(_sheet(path, "products"), "D2").get("t") == "s"  # a shared string, "0.25"
    assert list(read_case(path).tables["products"]["holding_rate"]) == ["0.25", 0.25]
    assert list(load_case(path).products["holding_rate"]) == [0.25, 0.25]


@pytest.mark.parametrize("path", LIBREOFFICE)
def test_notes_column_is_ignored_with_a_warning(path):
    assert load_case(path).warnings == [Problem("sheet 'demand'", "unknown column is ignored", column="notes")]


# --- a formula whose saved value is the empty text ---------------------------------------------


def test_libreoffice_saves_an_empty_text_result_as_an_empty_str_value():
    e6 = _cell(_sheet(EMPTY_TEXT, "demand"), "E6")
    assert e6.get("t") == "str"
    assert e6.findtext("m:f", namespaces=NS) == 'IF(D6>1000,99,"")'
    v = e6.find("m:v", NS)
    assert v is not None and not v.text  # a saved value, and it is ""


def test_formula_saved_as_empty_text_reads_as_a_blank_cell(small_case_cost):
    case = load_case(EMPTY_TEXT)
    row6 = case.demand[case.demand["_row"] == 6]
    assert list(row6["price"]) == [45.0]  # blank price: product B's price
    assert solve_case(case).total_cost == pytest.approx(small_case_cost, rel=1e-9)
