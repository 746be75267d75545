"""The browser report: what it shows equals the plan's tables and workbook, names from the case
stay text, and (in a real headless Chromium) the page loads offline with no errors and every
chart drawn.

The browser tests need Debian's ``chromium`` (apt-get install chromium) and Playwright (the
test extras); without them they are skipped with the reason, never passed.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
from aop.cli import main
from aop.metrics import label
from aop.webreport import MAX_TABLE_ROWS, plan_kpis
from openpyxl import load_workbook

from tests.conftest import REPO, small_case, write_xlsx

EXAMPLE = REPO / "data" / "example.xlsx"
#: Names a hostile or careless case may hold: markup, quotes, ampersands.
HOSTILE = {
    "PL1": '<script>window.__aop_ran = 1</script><b>Plant</b> "1" & <a href="javascript:window.__aop_ran=3">co</a>',
    "DC1": "DC <b>&amp;</b> 'one' & co",
    "C1": '<img src=x onerror="window.__aop_ran=2">',
    "A": "Cola & <i>lime</i>",
}


def hostile_case() -> dict[str, pd.DataFrame]:
    t = small_case()
    return {name: df.replace(HOSTILE) for name, df in t.items()}


@pytest.fixture(scope="module")
def example_runs(tmp_path_factory) -> dict[str, Path]:
    """The example solved, last year's example solved, and the hostile case solved."""
    root = tmp_path_factory.mktemp("reports")
    assert main(["solve", str(REPO / "data" / "example_2026.xlsx"), "--out", str(root / "last"), "--what-if-seconds", "0"]) == 0
    assert main(["solve", str(EXAMPLE), "--out", str(root / "plan"), "--base", str(root / "last")]) == 0
    case = write_xlsx(hostile_case(), root / "hostile.xlsx")
    assert main(["solve", str(case), "--out", str(root / "hostile")]) == 0
    return {"plan": root / "plan", "last": root / "last", "hostile": root / "hostile"}


def _workbook_summary(folder: Path) -> dict[tuple[str, str], float]:
    """The summary sheet of plan.xlsx: (figure, unit) -> value."""
    ws = load_workbook(folder / "plan.xlsx", read_only=True)["summary"]
    return {(r[0], r[2] or ""): r[1] for r in ws.iter_rows(min_row=2, values_only=True) if r and r[0]}


#: Where each KPI of the page is in the workbook's summary sheet.
IN_WORKBOOK = {
    "cash_cost_to_serve": ("Cash cost-to-serve", "USD"), "revenue": ("Revenue (price x delivered)", "USD"),
    "contribution_margin": ("Contribution margin", "USD"), "contribution_margin_pct": ("Contribution margin %", ""),
    "fill_rate": ("On-time fill rate", ""), "premium_freight_spend": ("Premium freight", "USD"), "inventory_value_end": ("Inventory value at the end", "USD"),
}


def test_kpis_are_the_plans_figures_with_their_change_against_a_base(tables, tmp_path):
    from aop.api import plan_of, solve_model

    plan = plan_of(solve_model(write_xlsx(tables, tmp_path / "c.xlsx")), what_if_seconds=0)
    t = plan.tables
    kpis = {k.key: k for k in plan_kpis(t)}
    assert kpis["cash_cost_to_serve"].value == pytest.approx(plan.metric("cash_cost_to_serve"), rel=1e-12)
    assert kpis["revenue"].value == pytest.approx(plan.metric("revenue"), rel=1e-12)
    assert kpis["premium_freight_spend"].value == pytest.approx(plan.metric("premium_freight_spend"), abs=1e-9)
    svc = t["service"]
    gold = svc[svc["segment"] == "gold"]
    assert kpis["fill_rate gold"].value == pytest.approx(gold["ontime"].sum() / gold["quantity"].sum(), rel=1e-12)
    assert kpis["inventory_value_average"].value == pytest.approx(t["inventory_value"]["inventory_value"].mean(), rel=1e-12)
    # Against a base whose revenue is 1,000 lower, the change is +1,000; its units are said.
    base = {k: v.copy() for k, v in t.items()}
    s = base["summary"]
    s.loc[s["metric"] == "revenue", "value"] = plan.metric("revenue") - 1000.0
    changed = {k.key: k for k in plan_kpis(t, base)}
    assert changed["revenue"].change == pytest.approx(1000.0) and changed["revenue"].change_text == "+1,000"
    assert changed["fill_rate"].change == 0.0 and changed["fill_rate"].change_text == "+0.0 pts"


def test_solve_writes_the_page_and_report_rebuilds_the_same_figures(example_runs, tmp_path, capsys):
    plan = example_runs["plan"]
    first = (plan / "report.html").read_text(encoding="utf-8")
    copy = tmp_path / "copy"
    shutil.copytree(plan, copy)
    (copy / "report.html").unlink()
    assert main(["report", str(copy), "--base", str(example_runs["last"])]) == 0
    again = (copy / "report.html").read_text(encoding="utf-8")
    kpi = lambda page: sorted(line.strip() for line in page.splitlines() if "data-kpi=" in line)
    assert kpi(first) and kpi(first) == kpi(again)  # same values and changes from CSVs as from the solve
    assert "change vs" in again
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "holds no results" in capsys.readouterr().err
    assert main(["report", str(copy), "--base", str(tmp_path)]) == 2


def test_names_from_the_case_are_never_markup_in_the_page(example_runs):
    page = (example_runs["hostile"] / "report.html").read_text(encoding="utf-8")
    for name in HOSTILE.values():
        assert name not in page  # only ever escaped (entities or \u003c in the charts' JSON)
    assert "<script>window.__aop_ran" not in page and "<img src=x" not in page
    assert "&lt;script&gt;window.__aop_ran = 1&lt;/script&gt;&lt;b&gt;Plant" in page  # the sentences and tables escape it


def test_long_tables_are_cut_and_say_where_every_row_is():
    from aop.webreport import _datatable, _table_note

    df = pd.DataFrame({"site": [f"S{i}" for i in range(MAX_TABLE_ROWS + 5)], "value": [float(i) for i in range(MAX_TABLE_ROWS + 5)], "blank": math.nan})
    html = _datatable(df, "t")
    assert "S1999" in html and "S2000" not in html and "blank" not in html
    assert _table_note(df, "x.csv") == f"The first {MAX_TABLE_ROWS:,} of {len(df):,} rows; x.csv holds them all."


@pytest.fixture(scope="module")
def study_runs(tmp_path_factory, small_studies) -> Path:
    """One folder with a scenarios run of the example, a sensitivity run of the small case and a
    comparison of the small case with itself at 10 % more demand (the last two: a copy of the
    session's ``small_studies``, which tests/test_print.py prints too)."""
    out = tmp_path_factory.mktemp("studies")
    shutil.copytree(small_studies, out, dirs_exist_ok=True)
    assert main(["scenarios", str(EXAMPLE), "--out", str(out), "--workers", "2"]) == 0
    return out


def test_study_pages_are_written_and_rebuilt(study_runs):
    pages = {s: (study_runs / f"{s}.html").read_text(encoding="utf-8") for s in ("scenarios", "sensitivity", "compare")}
    assert 'id="tornado-chart-1"' in pages["sensitivity"] and "step up, re-solved" in pages["sensitivity"]
    assert 'data-kpi="cash_cost_to_serve"' in pages["sensitivity"]  # the base's KPIs at the top
    assert 'id="bridge-chart-1"' in pages["compare"] and "change vs plan A" in pages["compare"]
    assert 'id="playbook-chart-1"' in pages["scenarios"] and "South bottling breakdown" in pages["scenarios"]
    for s in pages:
        (study_runs / f"{s}.html").unlink()
    assert main(["report", str(study_runs)]) == 0
    for s, page in pages.items():
        again = (study_runs / f"{s}.html").read_text(encoding="utf-8")
        kpi = lambda p: [line.strip() for line in p.splitlines() if "data-kpi=" in line]
        assert kpi(again) == kpi(page), s  # the same figures from the CSVs


# -- in a real browser ------------------------------------------------------------------------


def _browser():
    """Playwright driving Debian's Chromium, or a skip saying what is missing."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("browser tests skipped: no chromium on this machine (apt-get install chromium; .ci/run installs it as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip('browser tests skipped: Playwright is not installed (pip install ".[test]")')
    return exe, sync_playwright


@pytest.fixture(scope="module")
def browser():
    exe, sync_playwright = _browser()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        yield b
        b.close()


class Visit:
    """A page opened from disk with every console error, page error, dialog and request seen."""

    def __init__(self, browser, path: Path):
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(path.as_uri())
        self.page.wait_for_function("document.querySelectorAll('div.chart').length === document.querySelectorAll('div.chart.js-plotly-plot').length")
        self.page.wait_for_function("document.querySelectorAll('table.dataTable').length >= document.querySelectorAll('div.datatable').length")

    def network(self) -> list[str]:
        """Requests that would leave the machine (the page itself is a file; the table
        library is loaded from an inline blob)."""
        return [u for u in self.requests if not u.startswith(("file:", "blob:", "data:", "about:"))]

    def charts(self) -> list[dict]:
        return self.page.evaluate(
            """() => Array.from(document.querySelectorAll('div.chart')).map(d => {
                const box = d.querySelector('.main-svg') ? d.querySelector('.main-svg').getBoundingClientRect() : {width: 0, height: 0};
                return {id: d.id, traces: (d.data || []).length, drawn: d.querySelectorAll('g.trace, g.hm image, g.heatmaplayer image').length,
                        width: box.width, height: box.height};
            })"""
        )


def test_the_example_page_loads_offline_with_every_chart_drawn(browser, example_runs):
    v = Visit(browser, example_runs["plan"] / "report.html")
    assert v.errors == [] and v.dialogs == []
    assert v.network() == []
    charts = v.charts()
    ids = {c["id"].rsplit("-chart-", 1)[0] for c in charts}
    assert {"costs", "capacity", "inventory", "premium", "service", "ledger"} <= ids
    for c in charts:
        assert c["traces"] > 0 and c["drawn"] > 0 and c["width"] > 100 and c["height"] > 100, c


def test_the_kpis_shown_are_the_workbooks(browser, example_runs):
    folder = example_runs["plan"]
    v = Visit(browser, folder / "report.html")
    shown = v.page.evaluate("() => Array.from(document.querySelectorAll('.kpi')).map(k => ({key: k.dataset.kpi, value: Number(k.dataset.value), text: k.querySelector('.value').textContent.trim(), label: k.querySelector('.label').textContent.trim()}))")
    wb = _workbook_summary(folder)
    service = pd.read_excel(folder / "plan.xlsx", sheet_name="service").set_index(["Segment", "Measure"])["Total"]
    seg = {s: service[(s, "on time (units)")] / service[(s, "demand (units)")] for s in service.index.get_level_values(0).unique()}
    months = pd.read_excel(folder / "plan.xlsx", sheet_name="working_capital")
    for k in shown:
        if k["key"] in IN_WORKBOOK:
            expect = float(wb[IN_WORKBOOK[k["key"]]])
        elif k["key"].startswith("fill_rate "):
            expect = float(seg[k["key"].split(" ", 1)[1]])
        else:
            assert k["key"] == "inventory_value_average"
            expect = float(months["Inventory value"].mean())  # on hand and in transit, month by month
        assert k["value"] == pytest.approx(expect, rel=1e-9, abs=1e-9), k
        fraction = k["key"].startswith("fill_rate") or k["key"].endswith("_pct")
        assert k["text"] == (f"{expect:.1%}" if fraction else f"{expect:,.0f} USD"), k
    assert {"cash_cost_to_serve", "revenue", "contribution_margin", "fill_rate", "premium_freight_spend", "inventory_value_end", "inventory_value_average"} <= {k["key"] for k in shown}
    assert len([k for k in shown if k["key"].startswith("fill_rate ")]) == 3  # one per segment
    # The changes against last year's plan are the two workbooks' difference.
    last = _workbook_summary(example_runs["last"])
    change = v.page.evaluate("() => Number(document.querySelector('.kpi[data-kpi=\"revenue\"]').dataset.change)")
    assert change == pytest.approx(float(wb[IN_WORKBOOK["revenue"]]) - float(last[IN_WORKBOOK["revenue"]]), rel=1e-9)


def test_long_tables_search_and_sort(browser, example_runs):
    v = Visit(browser, example_runs["plan"] / "report.html")
    table = "#cts-table"
    info = lambda: v.page.inner_text(f"{table}_info")
    total = info()
    v.page.fill(f"{table}_wrapper input[type=search]", "FRESHCO")
    v.page.wait_for_function(f"document.querySelector('{table}_info').textContent.includes('filtered')")
    assert info() != total and "filtered" in info()
    customers = v.page.eval_on_selector_all(f"{table} tbody tr td:nth-child(2)", "tds => tds.map(td => td.textContent)")
    assert customers and set(customers) == {"FRESHCO"}
    v.page.fill(f"{table}_wrapper input[type=search]", "")
    v.page.wait_for_function(f"!document.querySelector('{table}_info').textContent.includes('filtered')")
    units = lambda: [float(x.replace(",", "")) for x in v.page.eval_on_selector_all(f"{table} tbody tr td:nth-child(4)", "tds => tds.map(td => td.textContent)")]
    before = units()
    assert len(before) > 1 and before != sorted(before)
    v.page.click(f"{table}_wrapper th:has-text('units')")
    # DataTables redraws after the click's event: wait for the sorted page (a timeout fails).
    v.page.wait_for_function(
        f"() => {{ const v = [...document.querySelectorAll('{table} tbody tr td:nth-child(4)')].map(td => Number(td.textContent.replace(/,/g, ''))); "
        "return v.length > 1 && v.every((x, i) => i === 0 || v[i - 1] <= x); }",
        timeout=15_000,
    )
    first = units()
    assert first == sorted(first)


@pytest.mark.parametrize("study", ["scenarios", "sensitivity", "compare"])
def test_study_pages_load_offline_with_every_chart_drawn(browser, study_runs, study):
    v = Visit(browser, study_runs / f"{study}.html")
    assert v.errors == [] and v.dialogs == [] and v.network() == []
    charts = v.charts()
    assert charts
    for c in charts:
        assert c["traces"] > 0 and c["drawn"] > 0 and c["width"] > 100 and c["height"] > 100, c
    shown = v.page.evaluate("() => Object.fromEntries(Array.from(document.querySelectorAll('.kpi')).map(k => [k.dataset.kpi, Number(k.dataset.value)]))")
    assert len(shown) >= 5
    # The KPIs shown are the study workbook's: the base column of the comparison (plan B's column
    # of the KPI changes for a comparison).
    sheet, column = ("kpi_changes", "Plan B") if study == "compare" else ("comparison" if study == "scenarios" else "base_kpis", "Base")
    book = pd.read_excel(study_runs / f"{study}.xlsx", sheet_name=sheet).set_index("KPI")[column]
    for key, value in shown.items():
        assert value == pytest.approx(float(book[label(key)]), rel=1e-9, abs=1e-9), key


def test_a_hostile_case_shows_its_names_as_text_and_runs_nothing(browser, example_runs):
    v = Visit(browser, example_runs["hostile"] / "report.html")
    assert v.errors == [] and v.dialogs == [] and v.network() == []
    assert v.page.evaluate("() => window.__aop_ran") is None
    assert v.page.evaluate("() => document.querySelectorAll('main img, main b, main i').length") == 0
    text = v.page.inner_text("body")
    assert HOSTILE["PL1"] in text and HOSTILE["DC1"] in text  # shown as written
    # In the charts too: the capacity heat map's row label is the site's name as text.
    labels = v.page.eval_on_selector_all("#capacity-chart-1 .ytick text", "ts => ts.map(t => t.textContent)")
    assert any(HOSTILE["PL1"] in t for t in labels), labels
    assert v.page.evaluate("() => document.querySelectorAll('.main-svg a').length") == 0


#: Every table of a page: its id (or class), whether it (or a box around it inside its section)
#: is wider than what holds it, its headers and its first row's cells.
TABLES_JS = """() => Array.from(document.querySelectorAll('table.small, table.dataTable')).filter(t => t.offsetParent !== null).map(t => {
  const section = t.closest('section');
  let clipped = t.getBoundingClientRect().right > section.getBoundingClientRect().right - 1;
  for (let p = t.parentElement; p && p !== section; p = p.parentElement) { if (p.scrollWidth > p.clientWidth + 1) clipped = true; }
  return {id: t.id || t.className, clipped,
          head: Array.from(t.querySelectorAll('thead th')).map(th => th.textContent.trim()),
          rows: Array.from(t.querySelectorAll('tbody tr')).map(tr => Array.from(tr.querySelectorAll('td')).map(td => td.textContent.trim()))};
})"""


@pytest.mark.parametrize("page", ["plan", "scenarios", "sensitivity", "compare"])
def test_no_table_is_cut_off_and_tables_speak_the_workbooks_words(browser, example_runs, study_runs, page):
    if page != "plan":  # as aop report rebuilds it from the CSVs (the tornado's currency too)
        assert main(["report", str(study_runs)]) == 0
    path = example_runs["plan"] / "report.html" if page == "plan" else study_runs / f"{page}.html"
    v = Visit(browser, path)  # 1400 px wide
    tables = v.page.evaluate(TABLES_JS)
    assert tables
    for t in tables:
        assert not t["clipped"], (page, t["id"])
        # Headers in words, as the workbook writes them: no snake_case, no empty "()".
        assert not [h for h in t["head"] if "_" in h or "()" in h], (page, t["id"], t["head"])
    cells = [c for t in tables for r in t["rows"] for c in r]
    # A rate is a percent ('99.67%'), never a bare fraction such as 0.98 or 1.00.
    head_rows = {(t["id"], h): [r[i] for r in t["rows"] if i < len(r)] for t in tables for i, h in enumerate(t["head"])}
    rates = [c for (tid, h), col in head_rows.items() if any(w in h.lower() for w in ("fill rate", "target", "margin %", "utilization")) and "cost" not in h.lower() for c in col if c]
    if page in ("plan", "scenarios", "compare"):
        assert rates or any(c.endswith("%") for c in cells), page
    for c in rates:
        assert c.endswith("%") or c.endswith("pts"), (page, c)
    # In a table of KPIs, the fill rate's row: percents, its changes in points.
    fill = [r[2:] for t in tables for r in t["rows"] if r and r[0] == label("fill_rate")]
    if page in ("scenarios", "compare"):
        assert fill, page
    for row in fill:
        assert all(c.endswith(("%", " pts")) for c in row if c), (page, row)
    titles = v.page.evaluate("() => Array.from(document.querySelectorAll('.gtitle')).map(t => t.textContent)")
    assert titles and not [t for t in titles if "()" in t], titles
