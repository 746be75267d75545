"""The study ``aop stochastic`` writes: its page (every section and chart, infinite figures in
words, never 'inf' or 'nan'), its workbook (sheets in the house style, native charts, the
committed plan as a planning grid) and ``aop report`` rebuilding the page from its CSVs.

The plan is of a case small enough to solve by hand (two futures, one commitment, two
options), solved once per module in-process.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest
from aop import formats
from aop.api import load_case
from aop.cli import main
from aop.files import read_study_tables
from aop.report import write_study
from aop.stochastic import plan_for_futures
from openpyxl import load_workbook

from tests.test_stochastic import hand_case  # the two-future case solved by hand there
from tests.test_webreport import TABLES_JS, Visit, browser  # noqa: F401  (browser: the fixture)

#: The page's sections and how many charts each draws for the hand case.
SECTIONS = {"value": 1, "futures": 1, "options": 1, "risk": 2, "commitments": 1, "prices": 0, "runs": 0}


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return plan_for_futures(load_case(hand_case())).tables


@pytest.fixture(scope="module")
def study(tables, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("stochastic")
    write_study("stochastic", tables, out, "USD", "hand case")
    return out


@pytest.fixture(scope="module")
def infinite(tables, tmp_path_factory) -> Path:
    """The study as it is when the average future's plan cannot be carried out in a future
    (EEV and VSS infinite) and no plan exists without the co-packer (its value infinite)."""
    t = {k: v.copy() for k, v in tables.items()}
    s = t["summary"]
    s.loc[s["metric"].isin(["average_plan_expected_cost", "vss"]), "value"] = math.inf
    o = t["options"]
    o.loc[o["option"] == "co-packer", ["net_value", "gross_saving"]] = math.inf
    out = tmp_path_factory.mktemp("infinite")
    write_study("stochastic", t, out, "USD", "hand case, infinite")
    return out


def _visible(html: str) -> str:
    """The page's text and attributes outside its scripts and styles (plotly.js and the
    charts' JSON hold words such as 'inf' of their own)."""
    body = html[html.index("<main>"):]
    return re.sub(r"<(script|style)\b.*?</\1>", "", body, flags=re.S)


def _kpis(html: str) -> dict[str, str]:
    """Each card's key and its data-value ('' when it has none)."""
    return {k: v for k, v in re.findall(r'data-kpi="([^"]+)"(?: data-value="([^"]*)")?', html)}


def test_the_page_has_every_section_and_chart(study, tables):
    html = (study / "stochastic.html").read_text(encoding="utf-8")
    for section, charts in SECTIONS.items():
        assert f'<section id="{section}">' in html, section
        assert len(re.findall(rf'id="{section}-chart-\d+"', html)) == charts, section
    shown = _visible(html)
    assert not re.search(r"\b(inf|nan|NaN|-inf)\b", shown)
    # The cards are the summary's figures.
    s = tables["summary"].set_index("metric")["value"]
    cards = _kpis(html)
    for key in ("expected_total_cost", "wait_and_see_cost", "evpi", "average_plan_expected_cost", "vss", "cvar_90"):
        assert float(cards[key]) == pytest.approx(float(s[key]), rel=1e-12), key
    assert float(cards["evpi"]) == pytest.approx(float(cards["expected_total_cost"]) - float(cards["wait_and_see_cost"]), abs=1e-6)
    # The options said in words, with what they reserve and what a unit saves.
    for r in tables["options"].to_dict("records"):
        assert f"{r['option']} ({r['raises']}):" in shown
        assert f"saves {r['value_per_unit']:,.2f} against a fee of {r['fee_per_unit']:,.2f}" in shown
    # Headers in words: the futures' own shadow prices too.
    for future in tables["futures"]["future"]:
        assert f"Shadow price in {future} (USD)" in shown


def test_infinite_figures_are_said_in_words_in_the_page_and_the_workbook(infinite):
    html = (infinite / "stochastic.html").read_text(encoding="utf-8")
    shown = _visible(html)
    assert not re.search(r"\b(inf|nan|NaN|-inf)\b", shown)
    cards = _kpis(html)
    assert cards["average_plan_expected_cost"] == "" and cards["vss"] == ""  # no number to hold
    eev = re.search(r'data-kpi="average_plan_expected_cost".*?<div class="value">(.*?)</div>', html, flags=re.S)
    assert eev and eev.group(1).strip() == "cannot be carried out"
    assert "no plan can be carried out in every future without it" in shown  # the co-packer's sentence
    assert "plan cannot be carried out in every future: its cost and the VSS are infinite" in html  # on the chart
    wb = load_workbook(infinite / "stochastic.xlsx", read_only=True)
    summary = {r[0]: r[1] for r in wb["summary"].iter_rows(min_row=2, values_only=True)}
    assert summary[formats.figure_label("average_plan_expected_cost")] == "cannot be carried out"
    assert str(summary[formats.figure_label("vss")]).startswith("infinite")
    options = list(wb["options"].iter_rows(values_only=True))
    row = options[[r[0] for r in options].index("co-packer")]
    assert row[options[0].index("Net value")] == "no plan without it"
    cells = [v for ws in wb.worksheets for r in ws.iter_rows(values_only=True) for v in r]
    assert not [v for v in cells if isinstance(v, str) and v.strip().lower() in ("inf", "-inf", "nan")]
    assert not [v for v in cells if isinstance(v, float) and not math.isfinite(v)]
    # Read back from the CSVs (where infinity is 'inf'), the page says the same words.
    before = shown
    (infinite / "stochastic.html").unlink()
    assert main(["report", str(infinite)]) == 0
    again = _visible((infinite / "stochastic.html").read_text(encoding="utf-8"))
    strip = lambda h: re.sub(r"page written [0-9: -]+UTC", "", h)
    assert strip(again) == strip(before)


def test_every_column_has_its_kind(tables):
    """Money, units, prices and shares each formatted as such, by the column's name."""
    expect = {
        "futures": {"probability": "rate", "total_cost": "money", "hindsight_cost": "money", "regret": "money", "fill_rate": "rate", "revenue": "money"},
        "options": {"max_reserve": "units", "reserved": "units", "fee_per_unit": "price", "reservation_cost": "money", "value_per_unit": "price",
                    "net_value": "money", "gross_saving": "money", "price": "price"},
        "commitments": {"decisions": "count", "committed_units": "units", "value_of_flexibility": "money"},
        "shadow_prices": {"expected_shadow_price": "price", **{f"shadow_price_{f}": "price" for f in tables["futures"]["future"]}},
        "frontier": {"weight": "rate", "alpha": "rate", "expected_cost": "money", "cvar": "money", "worst_future_cost": "money", "insurance_premium": "money", "tail_cost_removed": "money"},
        "runs": {"objective": "money", "simplex_iterations": "count", "seconds": "seconds"},
    }
    for name, kinds in expect.items():
        numeric = {c for c in tables[name].columns if tables[name][c].dtype.kind in "fiu"}
        assert set(kinds) <= set(tables[name].columns), name
        assert numeric <= set(kinds) | {"fill_rate S", "cash_cost_to_serve", "contribution_margin", "revenue_lost", "revenue_deferred", "premium_freight_spend",
                                        "overtime_cost", "inventory_value_average", "inventory_value_end"}, (name, numeric - set(kinds))
        for c, k in kinds.items():
            assert formats.kind_of(c) == k, (name, c)
        for c in tables[name].columns:  # a header in words, never snake_case
            assert "_" not in formats.label(str(c), "USD") or name == "futures", (name, c)


def test_the_workbook_has_its_sheets_charts_and_grid(study, tables):
    wb = load_workbook(study / "stochastic.xlsx")
    assert wb.sheetnames == list(tables)
    charts = {ws.title: len(ws._charts) for ws in wb.worksheets}
    assert charts["futures"] == 1 and charts["options"] == 1 and charts["frontier"] == 1
    head = lambda ws: [c.value for c in ws[1]]
    fmt = lambda ws, header: ws.cell(2, head(ws).index(header) + 1).number_format
    assert fmt(wb["futures"], "Probability") == "0.00%" and fmt(wb["frontier"], "Risk weight") == "0.00%"
    # Below the futures' chart, their KPIs: a KPI per row, a future per column, each by its kind.
    f = wb["futures"]
    at = [c.value for c in f["A"]].index("Each future's KPIs with this plan") + 2
    assert [c.value for c in f[at]][: 1 + len(tables["futures"])] == ["KPI", *tables["futures"]["future"]]
    kpi_rows = {f.cell(r, 1).value: r for r in range(at + 1, f.max_row + 1)}
    assert f.cell(kpi_rows["On-time fill rate"], 2).number_format == "0.00%"
    assert f.cell(kpi_rows["Cash cost-to-serve"], 2).number_format == "#,##0"
    assert f.cell(kpi_rows["Cash cost-to-serve"], 2).value == pytest.approx(float(tables["futures"]["cash_cost_to_serve"].iloc[0]))
    assert fmt(wb["options"], "Fee per unit (USD)") == "#,##0.00" and fmt(wb["options"], "Reserved") == "#,##0"
    assert fmt(wb["shadow_prices"], "Expected shadow price (USD)") == "#,##0.00"
    # The summary: a figure per row, each by its unit.
    s = wb["summary"]
    rows = {r[0].value: r[1] for r in s.iter_rows(min_row=2)}
    assert rows[formats.figure_label("expected_total_cost")].number_format == "#,##0"
    assert rows[formats.figure_label("risk_weight")].number_format == "0.00%"
    assert rows[formats.figure_label("futures")].number_format == "#,##0"
    # The committed plan: keys, a column per period, a row total, in units.
    cp = wb["committed_plan"]
    periods = [c for c in tables["committed_plan"].columns if c not in ("commitment", "variable", "what")]
    assert head(cp) == ["Commitment", "Variable", "What", *periods, "Total"]
    assert cp.freeze_panes == "D2"
    assert cp.cell(2, 4).number_format == "#,##0"
    total = sum(float(tables["committed_plan"][p].iloc[0]) for p in periods)
    assert cp.cell(2, 4 + len(periods)).value == pytest.approx(total)


def test_report_rebuilds_the_page_from_the_csvs(study):
    page = (study / "stochastic.html").read_text(encoding="utf-8")
    t = read_study_tables(study, "stochastic")
    assert {"summary", "futures", "options", "commitments", "committed_plan", "shadow_prices", "frontier", "runs"} <= set(t)
    (study / "stochastic.html").unlink()
    assert main(["report", str(study)]) == 0
    again = (study / "stochastic.html").read_text(encoding="utf-8")
    strip = lambda h: re.sub(r"page written [0-9: -]+UTC", "", h)
    assert strip(again) == strip(page)


def test_the_page_loads_offline_with_every_chart_drawn(browser, study):  # noqa: F811
    v = Visit(browser, study / "stochastic.html")
    assert v.errors == [] and v.dialogs == [] and v.network() == []
    charts = v.charts()
    assert len(charts) == sum(SECTIONS.values())
    for c in charts:
        assert c["traces"] > 0 and c["drawn"] > 0 and c["width"] > 100 and c["height"] > 100, c
    for t in v.page.evaluate(TABLES_JS):
        assert not t["clipped"], t["id"]
        assert not [h for h in t["head"] if "_" in h or "()" in h], (t["id"], t["head"])
        cells = [c for r in t["rows"] for c in r]
        assert not [c for c in cells if c.lower() in ("inf", "nan", "-inf")], t["id"]
