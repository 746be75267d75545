"""Workbooks a planner can read and print: every number formatted by the kind of its column
(``aop.formats``), headers aligned with their numbers, and, printed by LibreOffice, every page's
text at 8 pt or more and no blank page.

The print test needs LibreOffice Calc and poppler's pdftotext (Debian: libreoffice-calc-nogui,
poppler-utils); without them it is skipped with the reason, never passed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from aop import formats
from aop.cli import main
from aop.workbook import write_plan_workbook
from openpyxl import load_workbook

from tests.conftest import write_xlsx
from tests.test_scenarios import DOWNSIDE, capacity_case

#: The smallest printed text allowed (points).
LEAST_POINTS = 8.0
#: Words a header or a row says a rate (shown as a percent) with.
RATE_WORDS = ("rate", "utilization", "target", "margin %", "share", "service level", "service_level", "%", "pct")


@pytest.fixture(scope="module")
def books(tmp_path_factory, example_plan, small_studies) -> dict[str, Path]:
    """The example's plan workbook, each study workbook of a small case (the sensitivity and
    comparison runs: the session's ``small_studies``) and the template, by name."""
    out = tmp_path_factory.mktemp("books")
    write_plan_workbook(example_plan, out / "plan.xlsx")
    a = small_studies / "a.xlsx"
    downside = write_xlsx(capacity_case(**DOWNSIDE), out / "downside.xlsx")
    assert main(["scenarios", str(downside), "--out", str(out / "s"), "--workers", "1"]) == 0
    assert main(["buffers", str(a), "--out", str(out / "buffers.xlsx")]) == 0
    assert main(["template", str(out / "template.xlsx")]) == 0
    return {"plan": out / "plan.xlsx", "buffers": out / "buffers.xlsx", "template": out / "template.xlsx", "scenarios": out / "s" / "scenarios.xlsx",
            **{s: small_studies / f"{s}.xlsx" for s in ("sensitivity", "compare")}}


def _tables(ws):
    """(header row, body rows) of each table a sheet holds from row 1 (a sheet's first table;
    the overview's are checked apart): rows up to the first empty one."""
    rows = list(ws.iter_rows())
    body = []
    for r in rows[1:]:
        if all(c.value is None for c in r):
            break
        body.append(r)
    return rows[0], body


def test_every_number_is_formatted_by_the_kind_of_its_column(books):
    known = {k.excel for k in formats.KINDS.values()}
    seen = set()
    for name, path in books.items():
        wb = load_workbook(path)
        for ws in wb.worksheets:
            if ws.title == "overview":
                continue
            header, body = _tables(ws)
            for i, head in enumerate(header):
                cells = [r[i] for r in body if i < len(r)]
                numbers = [c for c in cells if isinstance(c.value, (int, float)) and not isinstance(c.value, bool)]
                where = f"{name}.xlsx sheet {ws.title} column {head.value!r}"
                # Headers sit over their numbers: right over numbers, left over text.
                if numbers or any(c.value not in (None, "") for c in cells):
                    assert (head.alignment.horizontal == "right") == bool(numbers), where
                for c in numbers:
                    fmt = c.number_format
                    seen.add(fmt)
                    assert fmt in known, f"{where} row {c.row}: {fmt}"
                    row_words = " ".join(str(x.value) for x in body[c.row - 2] if isinstance(x.value, str)).lower()
                    said = f"{head.value} {row_words}".lower()
                    if "%" in fmt:  # a percent only where the header or its row says a rate
                        assert any(w in said for w in RATE_WORDS), f"{where} row {c.row}: {fmt} on {said!r}"
                        assert "units" not in str(head.value).lower(), where
                    if "pts" in fmt:  # points only for a change of a rate
                        assert "change" in said or "protected" in said, where
    # Every kind but text and hours (the small cases have no capacity grid here) is used.
    assert {formats.KINDS[k].excel for k in ("units", "money", "price", "rate", "points", "count", "seconds")} <= seen


def test_the_example_prints_its_narrow_sheets_portrait_as_the_docs_say(books):
    # docs/outputs.md names them; the rest (the overview, the grids, the finance tables) are landscape.
    wb = load_workbook(books["plan"])
    portrait = {ws.title for ws in wb.worksheets if ws.page_setup.orientation == "portrait"}
    assert portrait == {"summary", "backorders", "consumption", "provenance"}
    text = (Path(__file__).parent.parent / "docs" / "outputs.md").read_text()
    assert "`summary`, `backorders`, `consumption` and `provenance` portrait" in text


def test_each_study_sheet_that_has_a_chart_keeps_it(books):
    charted = {"scenarios": {"comparison", "playbook"}, "sensitivity": {"sensitivity"}, "compare": {"bridge"}}
    for study, sheets in charted.items():
        wb = load_workbook(books[study])
        assert {ws.title for ws in wb.worksheets if ws._charts} == sheets, study


def test_the_cases_issues_are_gone(books):
    # Units short of today's targets: a count of units, not a percent.
    comparison = load_workbook(books["buffers"])["comparison"]
    header = [c.value for c in comparison[1]]
    column = header.index("short_of_original_targets_units") + 1
    assert comparison.cell(2, column).number_format == "#,##0"
    # Fill rates as percents with two decimals, their changes in points; money whole.
    comp = load_workbook(books["scenarios"])["comparison"]
    header = [c.value for c in comp[1]]
    rows = {r[0].value: r for r in comp.iter_rows(min_row=2)}
    fill = rows["On-time fill rate"]
    assert fill[header.index("Base")].number_format == "0.00%"
    change = next(i for i, h in enumerate(header) if str(h).endswith(": change"))
    assert "pts" in fill[change].number_format
    assert rows["Total cost (the objective)"][header.index("Base")].number_format == "#,##0"
    # The bridge's waterfall helper is as wide as its amounts, and its axis starts near them.
    wb = load_workbook(books["compare"])
    bridge = wb["bridge"]
    helper = next(r for r in bridge.iter_rows() if r[0].value == "Waterfall")
    amounts = [bridge.cell(r, c) for r in range(helper[0].row + 1, bridge.max_row + 1) for c in range(2, 6)]
    widest = max(len(formats.KINDS["money"].show(c.value)) for c in amounts if isinstance(c.value, (int, float)))
    for col in "BCDE":
        assert bridge.column_dimensions[col].width >= widest, col
    chart = next(n for n in _zip_names(books["compare"]) if n.startswith("xl/charts/chart"))
    xml = _zip_text(books["compare"], chart)
    low = float(re.search(r'<c:min val="([-\d.E+]+)"/>', xml).group(1))
    plan_a = float(next(r for r in bridge.iter_rows(min_row=2, values_only=True) if r[0] == "plan A")[2])
    assert 0 < low < plan_a


def _zip_names(path: Path) -> list[str]:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return z.namelist()


def _zip_text(path: Path, name: str) -> str:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return z.read(name).decode()


# -- printed by LibreOffice ------------------------------------------------------------------


def _tools() -> tuple[str, str]:
    soffice, pdftotext = shutil.which("soffice") or shutil.which("libreoffice"), shutil.which("pdftotext")
    if soffice is None or pdftotext is None:
        pytest.skip("print test skipped: needs LibreOffice Calc and pdftotext (apt-get install libreoffice-calc-nogui poppler-utils)")
    return soffice, pdftotext


def _pages(pdftotext: str, pdf: Path) -> list[list[float]]:
    """Each page's words' heights (points) from ``pdftotext -bbox``: a word's box is its font's
    ascent to descent at its printed size, so its height is the printed font size times a
    factor of the font (measured on a calibration sheet)."""
    text = subprocess.run([pdftotext, "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = []
    for page in text.split("<page ")[1:]:
        boxes = re.findall(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">', page)
        pages.append([float(b) - float(a) for a, b in boxes])
    return pages


def test_every_printed_page_has_text_of_8_points_or_more_and_none_is_blank(books, tmp_path):
    soffice, pdftotext = _tools()
    import xlsxwriter

    # Calibration: 11 pt text (the workbooks' size) printed at full size.
    wb = xlsxwriter.Workbook(str(tmp_path / "calibration.xlsx"))
    wb.add_worksheet("c").write_string(0, 0, "Calibration 0123456789 CORNERSTORES")
    wb.close()
    files = [tmp_path / "calibration.xlsx"]
    for name, path in books.items():
        files.append(tmp_path / f"{name}.xlsx")
        shutil.copy(path, files[-1])
    # One LibreOffice run for every file, with a profile of its own (another may be running).
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf"), *map(str, files)],
                   check=True, capture_output=True, timeout=300)
    calibration = _pages(pdftotext, tmp_path / "pdf" / "calibration.pdf")
    factor = max(calibration[0]) / 11.0  # box height per point of font size
    assert 1.0 < factor < 1.6, factor
    problems = []
    for name in books:
        pages = _pages(pdftotext, tmp_path / "pdf" / f"{name}.pdf")
        assert pages, name
        for number, heights in enumerate(pages, start=1):
            if not heights:
                problems.append(f"{name}.pdf page {number} is blank")
            elif min(heights) / factor < LEAST_POINTS - 0.01:
                problems.append(f"{name}.pdf page {number}: text at {min(heights) / factor:.1f} pt")
    assert not problems, problems
