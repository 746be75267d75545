"""The browser report: one self-contained HTML page per plan, scenario run, sensitivity run,
comparison or plan for many futures (``report.html``, ``scenarios.html``, ``sensitivity.html``,
``compare.html``, ``stochastic.html``).

The page needs no network to open: plotly.js and the table library (DataTables, from
itables) are inlined once. It is rendered by a Jinja2 template with autoescaping on, so names
from the case (sites, products, customers) always show as text: cells are escaped, and chart
data travels as JSON with ``<``, ``>``, ``&`` and ``'`` escaped (Jinja2's ``tojson``).
Every figure comes from the plan's tables (the same ones the CSVs and the workbook hold), so a
results folder rebuilds its page exactly (``aop report DIR``). Money is in the case currency;
fill rates and utilization are fractions shown as percentages.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import formats, metrics
from .files import atomic_file, read_study_tables, read_tables

#: Long tables show this many rows (the most important first); the CSV holds them all.
MAX_TABLE_ROWS = 2000
#: At most this many rows of a heat map (site-resources), the most utilized first.
MAX_HEAT_ROWS = 60
#: At most this many lanes of premium freight have their own bars; the others are summed.
MAX_LANES = 12
#: The study files a results folder may hold, by the table that marks them.
STUDY_MARKERS = {"scenarios": "comparison", "sensitivity": "sensitivity", "compare": "bridge", "stochastic": "futures"}
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


@dataclass
class Kpi:
    """One figure at the top of the page: ``value`` in ``unit`` (a currency, ``fraction`` or
    ``units``), and its change against a base plan when there is one."""

    key: str
    label: str
    value: float
    unit: str
    change: float | None = None
    words: str = ""  # said instead of an infinite value ('cannot be carried out')

    @property
    def finite(self) -> bool:
        return self.value is not None and math.isfinite(self.value)

    @property
    def text(self) -> str:
        return self.words if self.words and not self.finite else _fmt(self.value, self.unit)

    @property
    def change_text(self) -> str:
        if self.change is None or not math.isfinite(self.change):
            return ""
        if self.unit == "fraction":
            return f"{self.change * 100:+.1f} pts"
        return f"{self.change:+,.0f}"


@dataclass
class Section:
    """A part of the page: a title, a sentence saying what it shows, charts, tables, sentences."""

    id: str
    title: str
    note: str = ""
    figures: list[dict] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)  # HTML from itables (escaped cells)
    small_tables: list[pd.DataFrame] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)
    empty: str = ""  # said instead when there is nothing to show


def _fmt(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if unit == "fraction":
        return f"{value:.1%}"
    if unit == "units":
        return f"{value:,.0f} units"
    return f"{value:,.0f} {unit}".strip()


def _cards(values: dict[str, metrics.Value], units: dict[str, str], before: dict[str, metrics.Value] | None = None) -> list[Kpi]:
    """The page's cards (``metrics.CARDS``) from figures by name, each with its change against
    ``before`` (another plan's figures) when given."""
    out = []
    for name in metrics.in_order(values, metrics.CARDS):
        value = float(values[name])
        change = float(values[name]) - float(before[name]) if before is not None and name in before else None
        out.append(Kpi(name, metrics.label(name), value, units[name], change))
    return out


def plan_kpis(tables: dict[str, pd.DataFrame], base: dict[str, pd.DataFrame] | None = None) -> list[Kpi]:
    """The KPIs at the top of a plan's page, each with its change against ``base`` (the tables
    of another plan) when given, read from the summary (the workbook's summary sheet holds the
    same numbers)."""
    s = tables["summary"]
    values, units = dict(zip(s["metric"], s["value"])), dict(zip(s["metric"], s["unit"].fillna("")))
    before = dict(zip(base["summary"]["metric"], base["summary"]["value"])) if base is not None else None
    return _cards(values, units, before)


def _figure(fig) -> dict:
    """A plotly figure as plain JSON data for the page (no plotly.js in it)."""
    import plotly.io as pio

    fig.update_layout(margin=dict(l=60, r=20, t=50, b=50), font=dict(size=12))
    # Plain JSON types: the page's template writes it with Jinja2's HTML-safe tojson.
    spec = json.loads(pio.to_json(fig, validate=False))
    spec.setdefault("layout", {})["template"] = _white()  # set on the figure, it is deep-copied (0.2 s a page)
    for trace in spec.get("data", []):
        for key in TEXT_KEYS:
            if key in trace:
                trace[key] = _as_text(trace[key])
    return spec


@functools.cache
def _white() -> dict:
    """plotly's plotly_white template as JSON, made once."""
    import plotly.io as pio

    return json.loads(pio.json.to_json_plotly(pio.templates["plotly_white"].to_plotly_json()))


#: Trace fields that carry names from the case (sites, products, lanes, scenarios).
TEXT_KEYS = ("x", "y", "name", "text", "customdata", "labels")


def _as_text(v):
    """Strings as plotly should show them: plotly.js reads a few HTML tags in labels (<b>,
    <br>, <a href>), so ``<``, ``>`` and ``&`` are written as entities, which it shows as the
    characters themselves. Numbers and nesting are kept."""
    if isinstance(v, str):
        return html.escape(v, quote=False)
    if isinstance(v, list):
        return [_as_text(x) for x in v]
    return v


def _lane(r) -> str:
    return f"{r['origin']} → {r['destination']} ({r['mode']})"


def waterfall_figure(pnl: pd.DataFrame, currency: str) -> dict | None:
    """Revenue down to contribution margin (and margin after holding) for the year."""
    import plotly.graph_objects as go

    if pnl is None or pnl.empty or "year" not in pnl:
        return None
    steps: list[tuple[str, float, str]] = []  # line, amount, how the waterfall draws it
    for r in pnl.to_dict("records"):
        kind, line, v = r["kind"], str(r["line"]), float(r["year"])
        if kind == "revenue":
            steps.append((line, v, "absolute"))
        elif (kind == "cost" or line.startswith("holding")) and abs(v) > 0.005:
            steps.append((line, v, "relative"))
        elif kind == "margin":
            steps.append((line, v, "total"))
    if not steps:
        return None
    x, y, measure = [s[0] for s in steps], [s[1] for s in steps], [s[2] for s in steps]
    fig = go.Figure(go.Waterfall(x=x, y=y, measure=measure, textposition="outside", text=[f"{v:,.0f}" for v in y], connector={"line": {"color": "#999"}}))
    fig.update_layout(title=f"From revenue to margin, the year{_in(currency)}", yaxis_title=currency, showlegend=False, height=460)
    return _figure(fig)


def capacity_figures(capacity: pd.DataFrame) -> list[dict]:
    """Utilization of regular hours by site-resource and month, and apart from it the share of
    the allowed overtime used (only where overtime is allowed)."""
    import plotly.graph_objects as go

    if capacity is None or capacity.empty:
        return []
    c = capacity.assign(line=capacity["resource"].astype(str) + " at " + capacity["site"].astype(str))
    keep = c.groupby("line")["utilization"].mean().sort_values(ascending=False).head(MAX_HEAT_ROWS).index
    c = c[c["line"].isin(keep)]
    periods = list(dict.fromkeys(c["period"].astype(str)))
    out = []
    reg = c.pivot_table(index="line", columns="period", values="utilization", aggfunc="mean").reindex(index=keep, columns=periods)
    height = 160 + 22 * len(reg)
    fig = go.Figure(go.Heatmap(z=reg.to_numpy(), x=periods, y=list(reg.index), zmin=0, zmax=1, colorscale="YlOrRd", colorbar=dict(title="used", tickformat=".0%"),
                               hovertemplate="%{y}<br>%{x}: %{z:.1%} of regular hours<extra></extra>"))
    fig.update_layout(title="Regular hours used (share of each line's hours), by month", height=height, yaxis=dict(autorange="reversed"), xaxis_type="category")
    out.append(_figure(fig))
    ot = c[c["overtime_hours"] > 0]
    if len(ot):
        ot = ot.assign(share=ot["overtime_used"] / ot["overtime_hours"])
        lines = [x for x in keep if x in set(ot["line"])]
        grid = ot.pivot_table(index="line", columns="period", values="share", aggfunc="mean").reindex(index=lines, columns=periods)
        fig = go.Figure(go.Heatmap(z=grid.to_numpy(), x=periods, y=lines, zmin=0, zmax=1, colorscale="Purples", colorbar=dict(title="used", tickformat=".0%"),
                                   hovertemplate="%{y}<br>%{x}: %{z:.1%} of the overtime allowed<extra></extra>"))
        fig.update_layout(title="Overtime used (share of the overtime allowed), by month", height=160 + 22 * len(lines), yaxis=dict(autorange="reversed"), xaxis_type="category")
        out.append(_figure(fig))
    return out


def inventory_figure(working_capital: pd.DataFrame | None, inventory_value: pd.DataFrame | None, currency: str) -> dict | None:
    """Inventory value at each month's end, on hand and in transit, by product family."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if working_capital is not None and len(working_capital):
        g = working_capital.groupby(["period", "family"], sort=False)[["on_hand_value", "in_transit_value"]].sum().reset_index()
        periods = list(dict.fromkeys(working_capital["period"].astype(str)))
        for i, fam in enumerate(sorted(g["family"].astype(str).unique())):
            f = g[g["family"].astype(str) == fam].set_index("period").reindex(periods).fillna(0.0)
            color = PALETTE[i % len(PALETTE)]
            fig.add_bar(x=periods, y=f["on_hand_value"], name=f"{fam} on hand", marker_color=color, legendgroup=fam)
            fig.add_bar(x=periods, y=f["in_transit_value"], name=f"{fam} in transit", marker=dict(color=color, opacity=0.45, pattern_shape="/"), legendgroup=fam)
    elif inventory_value is not None and len(inventory_value):
        fig.add_bar(x=inventory_value["period"], y=inventory_value["on_hand_value"], name="on hand")
        fig.add_bar(x=inventory_value["period"], y=inventory_value["in_transit_value"], name="in transit")
    else:
        return None
    fig.update_layout(barmode="stack", title=f"Inventory value at each month's end, on hand and in transit{_in(currency)}", yaxis_title=currency, height=440, xaxis_type="category")
    return _figure(fig)


def premium_figure(premium: pd.DataFrame | None, currency: str, periods: list[str] | None = None) -> dict | None:
    """Premium freight spend by lane and month (every month of the plan on the axis);
    hovering a bar says what triggers it."""
    import plotly.graph_objects as go

    if premium is None or premium.empty:
        return None
    p = premium.assign(lane=[_lane(r) for r in premium.to_dict("records")], departure_period=premium["departure_period"].astype(str))
    top = p.groupby("lane")["spend"].sum().sort_values(ascending=False).index[:MAX_LANES]
    if len(top) < p["lane"].nunique():  # a large plan: the lanes that spend most, the rest together
        rest = ~p["lane"].isin(top)
        p.loc[rest, ["lane", "trigger", "stops_when"]] = [f"{p.loc[rest, 'lane'].nunique()} other lanes", "(several)", "(several)"]
    months = list(dict.fromkeys([*(periods or []), *sorted(p["departure_period"])]))
    fig = go.Figure()
    for lane, g in p.groupby("lane", sort=True):
        g = g.groupby("departure_period").agg(spend=("spend", "sum"), units=("units", "sum"), trigger=("trigger", "first"), stops_when=("stops_when", "first")).reindex(months)
        g = g.assign(spend=g["spend"].fillna(0.0), units=g["units"].fillna(0.0).map("{:,.0f}".format)).fillna("")
        fig.add_bar(x=months, y=g["spend"], name=lane, customdata=g[["units", "trigger", "stops_when"]].astype(str).to_numpy(),
                    hovertemplate="%{x}: %{y:,.0f} " + currency + " for %{customdata[0]} units<br>forced by: %{customdata[1]}<br>stops with %{customdata[2]}<extra>%{fullData.name}</extra>")
    fig.update_layout(barmode="stack", title=f"Premium freight by lane and month of departure{_in(currency)}", yaxis_title=currency, height=400, xaxis_type="category")
    return _figure(fig)


def service_figure(service: pd.DataFrame | None) -> dict | None:
    """On-time fill rate of each segment by month (solid) against its target (dashed)."""
    import plotly.graph_objects as go

    if service is None or service.empty:
        return None
    fig = go.Figure()
    for i, (seg, g) in enumerate(service.groupby("segment", sort=True)):
        color = PALETTE[i % len(PALETTE)]
        periods = g["period"].astype(str)
        fig.add_scatter(x=periods, y=g["fill_rate"], name=f"{seg}", mode="lines+markers", line=dict(color=color))
        if "target" in g and g["target"].notna().any():
            fig.add_scatter(x=periods, y=g["target"], name=f"{seg} target", mode="lines", line=dict(color=color, dash="dash"))
    fig.update_layout(title="On-time fill rate by segment, month by month, against its target", yaxis=dict(tickformat=".0%", title="on time"), height=400, xaxis_type="category")
    return _figure(fig)


def limits_figure(ledger: pd.DataFrame | None, currency: str, top: int = 10) -> dict | None:
    """The limits that cost the most: what their step (e.g. 10 % more hours) saves, re-solved
    where it was, else as the prices predict."""
    import plotly.graph_objects as go

    if ledger is None or ledger.empty:
        return None
    led = ledger.head(top).copy()
    saving = -led["value_of_step"].where(led["value_of_step"].notna(), led["predicted"]).astype(float)
    label = led["object"].astype(str) + " (" + led["step"].astype(str) + ")"
    fig = go.Figure(go.Bar(x=saving[::-1], y=label[::-1], orientation="h", marker_color="#d62728",
                           customdata=led[["periods", "price_low", "price_high"]][::-1].astype(str).to_numpy(),
                           hovertemplate="%{y}<br>saves %{x:,.0f} " + currency + "<br>binds in %{customdata[0]}<extra></extra>"))
    fig.update_layout(title=f"The limits that cost the most: what their step would save{_in(currency)}", xaxis_title=currency, height=160 + 34 * len(led))
    return _figure(fig)


#: At most this many bottlenecks have a chart of their own (the dearest first).
MAX_BOTTLENECKS = 4


def bottleneck_figures(bottlenecks: pd.DataFrame | None, top: int = MAX_BOTTLENECKS) -> list[dict]:
    """For each bottleneck (the dearest ``top``): its load by product, month by month, stacked
    against its limit, and the stock built ahead because of it (units, right-hand axis)."""
    import plotly.graph_objects as go

    if bottlenecks is None or bottlenecks.empty:
        return []
    out = []
    for obj in list(dict.fromkeys(bottlenecks["object"].astype(str)))[:top]:
        b = bottlenecks[bottlenecks["object"].astype(str) == obj]
        periods = list(dict.fromkeys(b["period"].astype(str)))
        unit = _as_text(str(b["unit"].iloc[0]))  # in a template and a title: its characters, not HTML
        fig = go.Figure()
        load = b.pivot_table(index="product", columns="period", values="load", aggfunc="sum").reindex(columns=periods).fillna(0.0)
        load = load[load.sum(axis=1) > 1e-9]
        for i, (product, row) in enumerate(load.loc[load.sum(axis=1).sort_values(ascending=False).index].iterrows()):  # the largest at the bottom
            fig.add_bar(x=periods, y=row.tolist(), name=str(product), marker_color=PALETTE[i % len(PALETTE)], legendgroup="load",
                        hovertemplate="%{fullData.name}<br>%{x}: %{y:,.1f} " + unit + "<extra></extra>")
        per = b.drop_duplicates("period").set_index("period")
        fig.add_scatter(x=periods, y=per["limit"].reindex(periods).tolist(), name="limit", mode="lines", line=dict(color="black", dash="dash", shape="hvh"),
                        hovertemplate="limit %{y:,.1f} " + unit + "<extra></extra>")
        ahead = pd.to_numeric(b["build_ahead"], errors="coerce").clip(lower=0.0)
        if ahead.notna().any():
            total = ahead.groupby(b["period"].astype(str)).sum().reindex(periods).fillna(0.0)
            fig.add_scatter(x=periods, y=total.tolist(), name="built ahead (units)", mode="lines+markers", yaxis="y2", line=dict(color="#d62728", width=3),
                            hovertemplate="%{x}: %{y:,.0f} units built ahead<extra></extra>")
        # The title is not a trace's text (TEXT_KEYS): the name is escaped here.
        fig.update_layout(title=f"{_as_text(obj)}: load by product against its limit, and the stock built ahead", barmode="stack", height=420, xaxis_type="category",
                          yaxis=dict(title=_as_text(str(b["unit"].iloc[0]))), yaxis2=dict(title="units built ahead", overlaying="y", side="right", rangemode="tozero", showgrid=False),
                          legend=dict(orientation="h", y=-0.2))
        out.append(_figure(fig))
    return out


def _in(currency: str) -> str:
    """' (USD)' after a title or header, nothing when the currency is not known."""
    return f" ({currency})" if currency else ""


def _shown(df: pd.DataFrame, currency: str, kinds: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """A table as the page shows it: headers in words (``formats.label``, the workbook's),
    each number written by its column's kind (``formats``: units and money whole, prices with
    two decimals, rates as percent), blanks blank, true as 'yes'. ``kinds``: a kind per row of
    a column (a table of KPIs). The numeric columns' headers are in ``attrs['numeric']``."""
    out = pd.DataFrame(index=range(len(df)))
    numeric = []
    for c in df.columns:
        col = df[c].reset_index(drop=True)
        head = formats.label(str(c), currency)
        if kinds and c in kinds:
            out[head] = [formats.KINDS[k].show(v) for v, k in zip(col, kinds[c])]
            numeric.append(head)
        elif col.dtype.kind == "b":
            out[head] = ["yes" if v else "" for v in col]
        elif col.dtype.kind in "fiu":
            out[head] = [formats.KINDS[formats.kind_of(str(c))].show(v) for v in col]
            numeric.append(head)
        else:
            out[head] = col.astype(object).where(col.notna(), "").astype(str)
    out.attrs["numeric"] = numeric
    return out


def _datatable(df: pd.DataFrame, table_id: str, order: list | None = None, currency: str = "", kinds: dict[str, list[str]] | None = None) -> str:
    """A long table as a searchable, sortable DataTable (itables); cells are escaped, headers
    and numbers as the workbook writes them (``_shown``). Cells wrap, so the table fits the
    page's width; DataTables still sorts '1,234' and '99.50%' as numbers (its num-fmt type)."""
    import itables

    kept = df.head(MAX_TABLE_ROWS).dropna(axis=1, how="all")  # a column with nothing in it says nothing
    shown = _shown(kept, currency, {c: k[: len(kept)] for c, k in (kinds or {}).items() if c in kept})
    return itables.to_html_datatable(
        shown,
        connected=False,
        table_id=table_id,
        showIndex=False,
        maxBytes=0,
        allow_html=False,
        display_logo_when_loading=False,
        text_in_header_can_be_selected=False,  # a click on a header sorts by it
        classes="display compact",
        columnDefs=[{"className": "dt-right", "targets": [i for i, c in enumerate(shown.columns) if c in shown.attrs["numeric"]]}],
        pageLength=10,
        order=order or [],
        layout={"topStart": "pageLength", "topEnd": "search", "bottomStart": "info", "bottomEnd": "paging"},
        style="width:100%;margin:0",
    )


def _table_note(df: pd.DataFrame, csv: str) -> str:
    if len(df) > MAX_TABLE_ROWS:
        return f"The first {MAX_TABLE_ROWS:,} of {len(df):,} rows; {csv} holds them all."
    return ""


def plan_sections(tables: dict[str, pd.DataFrame], currency: str) -> list[Section]:
    """The sections of a plan's page, in reading order."""
    t = tables
    out: list[Section] = []
    wf = waterfall_figure(t.get("pnl"), currency)
    pnl = t.get("pnl")
    small = []
    if pnl is not None and len(pnl):
        small = [_shown(pnl[["line", "year"]], currency, {"year": ["rate" if k == "percent" else "money" for k in pnl["kind"]]})]
    out.append(Section("costs", "From revenue to margin", "The year's P&L: revenue less what the plan spends gives the contribution margin; holding stock is a cost of capital, not cash.", [wf] if wf else [], small_tables=small))
    out.append(Section("capacity", "Capacity", "How much of each line's hours the plan uses, month by month; overtime is shown apart. The most used lines first.", capacity_figures(t.get("capacity")),
                       empty="The case has no capacity limits."))
    inv = inventory_figure(t.get("working_capital"), t.get("inventory_value"), currency)
    out.append(Section("inventory", "Inventory (working capital)", "What the plan ties up in stock at each month's end, on hand at sites and in transit.", [inv] if inv else []))
    prem = t.get("premium_freight")
    months = list(dict.fromkeys(t["inventory_value"]["period"].astype(str))) if t.get("inventory_value") is not None else None
    pf = premium_figure(prem, currency, months)
    sec = Section("premium", "Premium freight", "Where the plan pays for premium freight and what triggers it (the limit that forces it and when it stops).", [pf] if pf else [],
                  empty="The plan uses no premium freight.")
    if prem is not None and len(prem):
        sec.sentences = list(prem["sentence"].astype(str).head(50))
        sec.tables.append(_datatable(prem.drop(columns=["sentence"], errors="ignore"), "premium-table", currency=currency))
    out.append(sec)
    svc = t.get("service")
    sf = service_figure(svc)
    sec = Section("service", "Service", "On-time fill rate by segment against its target; what each target costs is in the service costs table.", [sf] if sf else [])
    if t.get("service_costs") is not None and len(t["service_costs"]):
        sec.small_tables.append(_shown(t["service_costs"], currency))
    out.append(sec)
    led = t.get("ledger")
    lf = limits_figure(led, currency)
    sec = Section("ledger", "What the limits cost", "The constraint cost ledger: each binding limit, what one more unit is worth (its shadow price range over the months it binds) and what a step would save: exact (re-solved, or inside the range where its prices hold) or its proven interval.",
                  [lf] if lf else [], empty="No limit binds: capacity, suppliers and lanes all have room.")
    if led is not None and len(led):
        sec.sentences = list(led["sentence"].astype(str).head(20))
        # The workbook's columns: the object names the limit, its sentence is said above.
        cols = [c for c in ("object", "periods", "unit", "price_low", "price_high", "step", "predicted", "value_low", "value_high", "exact", "value_of_step", "revenue_recovered") if c in led]
        kinds = {"price_low": "price", "price_high": "price", "predicted": "money", "value_low": "money", "value_high": "money", "value_of_step": "money", "revenue_recovered": "money"}
        sec.tables.append(_datatable(led[cols], "ledger-table", currency=currency, kinds={c: [k] * len(led) for c, k in kinds.items() if c in cols}))
    out.append(sec)
    if "bottlenecks" in t:  # a plan without the finance view has none
        out.append(bottlenecks_section(t["bottlenecks"]))
    sp = t.get("shadow_prices")
    if sp is not None and len(sp):
        binding = sp[sp["shadow_price"].abs() > 1e-9]
        binding = binding.reindex(binding["shadow_price"].abs().sort_values(ascending=False).index)
        cols = [c for c in ("constraint", "site", "resource", "product", "lane", "mode", "period", "limit", "shadow_price", "limit_lower", "limit_upper", "meaning") if c in binding.columns]
        note = f"Every limit with a non-zero price, the largest first ({len(binding):,} of {len(sp):,} constraints). " + _table_note(binding, "shadow_prices.csv")
        out.append(Section("prices", "Shadow prices", note, tables=[_datatable(binding[cols], "prices-table", currency=currency)], empty="No constraint has a price."))
    cts = t.get("cost_to_serve")
    if cts is not None and len(cts):
        cts = cts.sort_values("revenue", ascending=False)
        out.append(Section("cost-to-serve", "Cost-to-serve and margin by customer and product", "Revenue, the cost allocated to it and the margin, the largest revenue first. " + _table_note(cts, "cost_to_serve.csv"),
                           tables=[_datatable(cts, "cts-table", currency=currency)]))
    return out


def bottlenecks_section(b: pd.DataFrame) -> Section:
    """Why the lines bind: a sentence and a chart per bottleneck, and the table."""
    sec = Section("bottlenecks", "Why the lines bind",
                  "Each line (or cap) that runs at its limit: what loads it by product and month, and the stock built ahead because of it: what the plan holds "
                  "beyond the plan re-solved with that limit raised to the year's. " + _table_note(b, "bottlenecks.csv"),
                  bottleneck_figures(b), empty="No line runs at its limit.")
    if len(b):
        sec.sentences = list(dict.fromkeys(b["sentence"].astype(str)))
        sec.tables.append(_datatable(b.drop(columns=["sentence", "constraint"], errors="ignore"), "bottlenecks-table"))
    return sec


def _currency(tables: dict[str, pd.DataFrame]) -> str:
    s = tables["summary"]
    return str(s.loc[s["metric"] == "total_cost", "unit"].iloc[0])


@dataclass
class Page:
    """What the template renders."""

    title: str
    subtitle: str
    kpis: list[Kpi]
    sections: list[Section]
    base_label: str = ""
    footer: str = ""


def plan_page(tables: dict[str, pd.DataFrame], base: dict[str, pd.DataFrame] | None = None, base_label: str = "") -> Page:
    """The page of one plan (``tables``: the plan's tables by name, as in its results folder)."""
    cur = _currency(tables)
    prov = tables["provenance"].set_index("item")["value"] if "provenance" in tables else pd.Series(dtype=object)
    case = Path(str(prov.get("case", "plan"))).name
    s = tables["summary"]
    sub = f"Optimal plan, total cost {metrics.figure(s, 'total_cost'):,.0f} {cur}; solved by {prov.get('solver', 'HiGHS')} at {prov.get('solved at (UTC)', '')}"
    return Page(f"Plan: {case}", sub, plan_kpis(tables, base), plan_sections(tables, cur), base_label, _footer(prov))


def _footer(prov: pd.Series) -> str:
    return f"aop {prov.get('aop', '')}; page written {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}"


# -- studies (many plans) ---------------------------------------------------------------------


def _comparison_kpis(comparison: pd.DataFrame, column: str, base_column: str | None) -> list[Kpi]:
    """The cards of a study page from its comparison table (one row per KPI)."""
    c = comparison.set_index("kpi")
    values = c[column].to_dict()
    before = c[base_column].to_dict() if base_column else None
    return _cards(values, c["unit"].astype(str).to_dict(), before)


def scenarios_page(tables: dict[str, pd.DataFrame], title: str) -> Page:
    """Scenarios and playbooks: the base's KPIs, each plan's change against the base, what
    the pre-approved actions protect, and the comparison table."""
    import plotly.graph_objects as go

    comp = tables["comparison"]
    cur = str(comp.loc[comp["kpi"] == "total_cost", "unit"].iloc[0])
    plans = [c for c in comp.columns if c not in ("kpi", "unit") and not c.endswith(": change")]
    c = comp.set_index("kpi")
    others = [p for p in plans if p != "base"]
    sections = []
    fig = go.Figure()
    for key, name in (("cash_cost_to_serve", "cash cost-to-serve"), ("contribution_margin", "margin"), ("revenue_lost", "revenue lost")):
        if key in c.index:
            fig.add_bar(y=others, x=[float(c.at[key, p]) - float(c.at[key, "base"]) for p in others], name=name, orientation="h")
    fig.update_layout(barmode="group", title=f"Each plan against the base ({cur}; positive is more)", xaxis_title=cur, height=180 + 60 * len(others), yaxis=dict(autorange="reversed"))
    sections.append(Section("plans", "Scenarios against the base", "What each scenario does to cash cost-to-serve, margin and revenue lost, against the base plan.", [_figure(fig)] if others else [],
                            tables=_comparison_tables(comp, cur)))
    pb = tables.get("playbook")
    sec = Section("playbook", "The playbook: what the pre-approved actions protect", "For each downside scenario with actions: against the shock alone, what all the actions together and each alone protect (positive is protected).",
                  empty="No scenario has pre-approved actions.")
    if pb is not None and len(pb):
        fig = go.Figure()
        label = pb["scenario"].astype(str) + ": " + pb["actions"].astype(str)
        for key, name in (("total_cost_protected", "total cost"), ("cash_cost_protected", "cash cost-to-serve"), ("margin_protected", "margin"), ("revenue_protected", "revenue")):
            fig.add_bar(y=label, x=pb[key], name=name, orientation="h")
        fig.update_layout(barmode="group", title=f"Protected by the actions, against the shock alone ({cur})", xaxis_title=cur, height=200 + 70 * len(pb), yaxis=dict(autorange="reversed"))
        sec.figures.append(_figure(fig))
        sec.small_tables.append(_shown(pb, cur))
    sections.append(sec)
    sections.append(_runs_section(tables.get("runs"), cur))
    return Page(f"Scenarios: {title}", f"{len(plans)} plans solved: the base and {len(others)} scenario plans", _comparison_kpis(comp, "base", None), sections, footer=_study_footer())


def _kpi_rows(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """A table of KPIs (one per row: kpi, unit, then plans or changes) as the page shows it:
    each KPI by its label, its unit in words ('%' for a rate), and the kind of each of its
    numbers by its unit (``formats.of_unit``; a rate's change in points)."""
    units = table["unit"].tolist()
    out = table.assign(kpi=table["kpi"].map(metrics.label), unit=[formats.label_unit(u) for u in units])
    out.columns.name = None
    kinds = {c: [formats.of_unit(u, change=str(c).endswith("change")) for u in units] for c in table.columns if c not in ("kpi", "unit")}
    for c in kinds:  # numbers read back from CSV as text (the top limits share their column)
        out[c] = [_number(v) for v in out[c]]
    return out, kinds


def _number(v):
    """A cell of a KPI table as a number where it is one (its CSV holds numbers and words)."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


def _comparison_tables(comp: pd.DataFrame, currency: str) -> list[str]:
    """The scenario comparison as two tables that fit the page: each plan's KPIs, and each
    scenario's change against the base."""
    table, kinds = _kpi_rows(comp)
    changes = [c for c in comp.columns if str(c).endswith(": change")]
    plans = [c for c in comp.columns if c not in ("kpi", "unit", *changes)]
    out = [_datatable(table[["kpi", "unit", *plans]], "comparison-table", currency=currency, kinds=kinds)]
    if changes:
        renamed = table[["kpi", "unit", *changes]].rename(columns={c: c.removesuffix(": change") for c in changes})
        out.append(_datatable(renamed, "changes-table", currency=currency, kinds={c.removesuffix(": change"): kinds[c] for c in changes}))
    return out


def _runs_section(runs: pd.DataFrame | None, currency: str = "") -> Section:
    sec = Section("runs", "How each plan was solved", "Warm: re-solved in place from the base's basis; cold: built and solved from scratch. Seconds: the whole plan (its edits, build, solve and KPIs); solver seconds: HiGHS's part. Predicted change: what the base's shadow prices predicted for total cost.")
    if runs is not None and len(runs):
        sec.tables.append(_datatable(runs, "runs-table", currency=currency))
    return sec


def sensitivity_page(tables: dict[str, pd.DataFrame], title: str, currency: str) -> Page:
    """The assumptions the plan is most sensitive to: a tornado of the re-solved change of
    total cost for a step down and up, with the shadow prices' prediction beside it."""
    import plotly.graph_objects as go

    sens = tables["sensitivity"]
    s = sens.sort_values("rank")
    fig = go.Figure()
    fig.add_bar(y=s["group"], x=s["total_cost_down"], name="step down, re-solved", orientation="h", marker_color="#1f77b4")
    fig.add_bar(y=s["group"], x=s["total_cost_up"], name="step up, re-solved", orientation="h", marker_color="#ff7f0e")
    fig.add_scatter(y=s["group"], x=s["predicted_total_cost_down"], name="step down, the prices' prediction", mode="markers", marker=dict(symbol="line-ns-open", size=16, color="#0b3d91", line=dict(width=3)))
    fig.add_scatter(y=s["group"], x=s["predicted_total_cost_up"], name="step up, the prices' prediction", mode="markers", marker=dict(symbol="line-ns-open", size=16, color="#a04000", line=dict(width=3)))
    fig.update_layout(barmode="overlay", title=f"Change of total cost for a step down and up{_in(currency)}; the marks are what the shadow prices predicted", xaxis_title=currency,
                      height=220 + 30 * len(s), yaxis=dict(autorange="reversed"))
    fig2 = go.Figure()
    fig2.add_bar(y=s["group"], x=s["margin_down"], name="step down", orientation="h")
    fig2.add_bar(y=s["group"], x=s["margin_up"], name="step up", orientation="h")
    fig2.update_layout(barmode="overlay", title=f"Change of contribution margin for a step down and up{_in(currency)}", xaxis_title=currency, height=220 + 30 * len(s), yaxis=dict(autorange="reversed"))
    top = s[s["matters"].astype(str).str.lower() == "true"]["group"].astype(str).tolist() if "matters" in s else []
    how = "Each group of assumptions moved down and up by a step and re-solved, ranked by the swing of margin, then cash cost-to-serve."
    if "exact" in s:  # a proven run (sensitivity.proven_sensitivity): bounded sides drawn as their intervals
        for side, color in (("down", "#0b3d91"), ("up", "#a04000")):
            lo, hi = s[f"total_cost_{side}_low"].astype(float), s[f"total_cost_{side}_high"].astype(float)
            open_ = s[f"total_cost_{side}"].isna() & np.isfinite(lo) & np.isfinite(hi)
            if open_.any():
                fig.add_scatter(y=s.loc[open_, "group"], x=((lo + hi) / 2)[open_], name=f"step {side}, proven interval (not re-solved)", mode="markers",
                                marker=dict(symbol="line-ns", size=1, color=color), error_x=dict(type="data", array=((hi - lo) / 2)[open_], color=color, thickness=2, width=6))
        bounded = int((s["exact"] == "bounded").sum())
        how = (f"Each group of assumptions moved down and up by a step, ranked by the swing of total cost and proven: the top {len(top)} re-solved (or proven exact), "
               f"the other {bounded} bounded from the base plan's prices and plan, each interval showing it cannot enter the top.")
    # A proven run's table is wide (each side's bounds, how it was settled): the page shows
    # the ranking and what settles it; the workbook and the CSV hold every column.
    shown = s[[c for c in PROVEN_COLUMNS if c in s]] if "exact" in s else s
    sections = [
        Section("tornado", "The assumptions that matter", f"{how} The ones that matter: {', '.join(top) or 'none'}.",
                [_figure(fig), _figure(fig2)], tables=[_datatable(shown, "sensitivity-table", currency=currency)]),
        _runs_section(tables.get("runs"), currency),
    ]
    runs = tables.get("runs")
    base = tables.get("base_kpis")
    kpis = _comparison_kpis(base, "base", None) if base is not None and len(base) else []
    return Page(f"Sensitivity: {title}", f"{len(s)} groups of assumptions, {len(runs) if runs is not None else 0} plans solved", kpis, sections, footer=_study_footer())


#: The columns of a proven sensitivity run's table that its page shows.
PROVEN_COLUMNS = ("rank", "group", "total_cost_down", "total_cost_up", "total_cost_swing", "swing_low", "swing_high", "exact", "margin_down", "margin_up", "matters")


def compare_page(tables: dict[str, pd.DataFrame], title: str) -> Page:
    """Plan A to plan B: plan B's KPIs with their change from A, and the bridge as a waterfall."""
    import plotly.graph_objects as go

    kc = tables["kpi_changes"]
    cur = str(kc.loc[kc["kpi"] == "total_cost", "unit"].iloc[0])
    kpis = _comparison_kpis(kc, "plan_b", "plan_a")
    br = tables["bridge"]
    shapley = "total_cost_shapley" in br and br["total_cost_shapley"].notna().any()
    col = "total_cost_shapley" if shapley else "total_cost_in_order"
    mid = br.iloc[1:-1]
    x = [str(br["driver"].iloc[0]), *mid["driver"].astype(str), str(br["driver"].iloc[-1])]
    y = [float(br["total_cost"].iloc[0]), *mid[col].astype(float), float(br["total_cost"].iloc[-1])]
    fig = go.Figure(go.Waterfall(x=x, y=y, measure=["absolute", *["relative"] * len(mid), "total"], text=[f"{v:+,.0f}" if 0 < i < len(y) - 1 else f"{v:,.0f}" for i, v in enumerate(y)], textposition="outside"))
    levels = [y[0], *(y[0] + sum(y[1 : i + 1]) for i in range(1, len(y) - 1)), y[-1]]
    low, high = min(levels), max(levels)
    pad = max(high - low, abs(high) * 0.01, 1.0) * 0.25
    fig.update_yaxes(range=[low - pad, high + pad])  # the drivers are small next to the totals
    how = "the Shapley average over every order of the drivers" if shapley else "the drivers switched from A to B one at a time, in the order shown"
    changes, change_kinds = _kpi_rows(kc)
    fig.update_layout(title=f"Total cost from plan A to plan B by driver ({cur}; {how})", yaxis_title=cur, height=460, showlegend=False)
    sections = [
        Section("bridge", "The bridge from plan A to plan B", f"What each driver adds to total cost: {how}.", [_figure(fig)], tables=[_datatable(br, "bridge-table", currency=cur)]),
        Section("changes", "KPI changes", "Each KPI of plan A and plan B and the change.", small_tables=[_shown(changes, cur, change_kinds)]),
        _runs_section(tables.get("runs"), cur),
    ]
    return Page(f"Plan to plan: {title}", "Plan B's KPIs, each with its change from plan A", kpis, sections, base_label="plan A", footer=_study_footer())


def _study_footer() -> str:
    from .version import __version__

    return f"aop {__version__}; page written {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}"


def _frontier_labels(fr: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The frontier's distinct points (weights giving the same plan drawn once) and each one's
    label ('weights 25%, 50%')."""
    key = fr[["expected_cost", "cvar"]].round(6).astype(str).agg("|".join, axis=1)
    points = fr.groupby(key, sort=False).agg(expected_cost=("expected_cost", "first"), cvar=("cvar", "first"), insurance_premium=("insurance_premium", "first"),
                                             tail_cost_removed=("tail_cost_removed", "first"), weights=("weight", list))
    labels = [("weight " if len(w) == 1 else "weights ") + ", ".join(f"{x:.0%}" for x in w) for w in points["weights"]]
    return points.reset_index(drop=True), labels


def stochastic_value_figure(s: pd.Series, currency: str) -> dict | None:
    """From the cost in hindsight to this plan's expected cost (EVPI) and on to the average
    future's plan (VSS); an average plan that cannot be carried out is said, not drawn."""
    import plotly.graph_objects as go

    need = ("wait_and_see_cost", "expected_total_cost")
    if not all(k in s.index and math.isfinite(float(s[k])) for k in need):
        return None
    ws, exp = float(s["wait_and_see_cost"]), float(s["expected_total_cost"])
    eev = float(s.get("average_plan_expected_cost", math.nan))
    x, y, measure = ["in hindsight (wait and see)", "EVPI", "this plan (expected)"], [ws, exp - ws, exp], ["absolute", "relative", "total"]
    if math.isfinite(eev):
        x, y, measure = [*x, "VSS", "the average future's plan (EEV)"], [*y, eev - exp, eev], [*measure, "relative", "total"]
    fig = go.Figure(go.Waterfall(x=x, y=y, measure=measure, text=[f"{v:+,.0f}" if m == "relative" else f"{v:,.0f}" for v, m in zip(y, measure)], textposition="outside",
                                 connector={"line": {"color": "#999"}}, increasing={"marker": {"color": "#d62728"}}, decreasing={"marker": {"color": "#2ca02c"}},
                                 totals={"marker": {"color": "#1f77b4"}}))
    levels = [ws, exp, *([eev] if math.isfinite(eev) else [])]
    low, high = min(levels), max(levels)
    pad = max(high - low, abs(high) * 0.01, 1.0) * 0.3
    fig.update_yaxes(range=[low - pad, high + pad])  # the gaps are small next to the costs
    if not math.isfinite(eev) and "average_plan_expected_cost" in s.index:
        fig.add_annotation(text="The average future's plan cannot be carried out in every future: its cost and the VSS are infinite", xref="paper", yref="paper",
                           x=0.5, y=1.0, yanchor="bottom", showarrow=False, font=dict(color="#d62728"))
    fig.update_layout(title=f"Expected total cost: in hindsight, this plan and the average future's plan{_in(currency)}", yaxis_title=currency, showlegend=False, height=440,
                      margin=dict(t=80))
    return _figure(fig)


def stochastic_futures_figure(fut: pd.DataFrame, expected: float, currency: str) -> dict | None:
    """Each future's total cost with this plan against its cost in hindsight, the plan's
    expected cost marked."""
    import plotly.graph_objects as go

    if fut is None or fut.empty:
        return None
    names = [f"{f} ({p:.0%})" for f, p in zip(fut["future"].astype(str), fut["probability"].astype(float))]
    regret = [formats.KINDS["money"].show(v) for v in fut["regret"]]
    fig = go.Figure()
    fig.add_bar(y=names, x=fut["total_cost"].where(np.isfinite(fut["total_cost"].astype(float))), name="this plan", orientation="h", marker_color="#1f77b4",
                text=[f"regret {r}" for r in regret], textposition="outside", cliponaxis=False,
                customdata=regret, hovertemplate="%{y}<br>this plan: %{x:,.0f} " + currency + "<br>regret %{customdata}<extra></extra>")
    fig.add_bar(y=names, x=fut["hindsight_cost"], name="in hindsight", orientation="h", marker_color="#2ca02c",
                hovertemplate="%{y}<br>in hindsight: %{x:,.0f} " + currency + "<extra></extra>")
    # The futures' costs differ by little next to their size: the axis spans them (not from 0).
    levels = pd.concat([fut["total_cost"], fut["hindsight_cost"]]).astype(float)
    levels = levels[np.isfinite(levels)]
    if len(levels):
        low, high = float(levels.min()), float(levels.max())
        pad = max(high - low, abs(high) * 0.01, 1.0) * 0.35
        fig.update_xaxes(range=[max(0.0, low - pad) if low >= 0 else low - pad, high + pad])
    if math.isfinite(expected):
        fig.add_vline(x=expected, line=dict(color="black", dash="dash"), annotation_text=f"expected {expected:,.0f}", annotation_position="top")
    fig.update_layout(barmode="group", title=f"Total cost in each future (its probability): this plan against hindsight{_in(currency)}; the axis spans the costs", xaxis_title=currency,
                      height=220 + 60 * len(fut), yaxis=dict(autorange="reversed"), legend=dict(orientation="h", y=-0.15))
    return _figure(fig)


def stochastic_options_figure(opt: pd.DataFrame, currency: str) -> dict | None:
    """What each option saves before its fees, its fees, and its net value (an option
    without which no plan exists has no bar: its sentence says so)."""
    import plotly.graph_objects as go

    if opt is None or opt.empty:
        return None
    amounts = opt[["gross_saving", "reservation_cost", "net_value"]].apply(pd.to_numeric, errors="coerce").abs()
    if not (amounts > 0.5).to_numpy().any():  # nothing reserved, nothing saved: the sentences say so
        return None
    fig = go.Figure()
    for key, name, color in (("gross_saving", "saves (before fees)", "#2ca02c"), ("reservation_cost", "fees", "#d62728"), ("net_value", "net value", "#1f77b4")):
        v = pd.to_numeric(opt[key], errors="coerce").astype(float)
        fig.add_bar(y=opt["option"].astype(str), x=v.where(np.isfinite(v)), name=name, orientation="h", marker_color=color)
    fig.update_layout(barmode="group", title=f"The options: what each saves, costs and is worth, net{_in(currency)}", xaxis_title=currency, height=220 + 80 * len(opt),
                      yaxis=dict(autorange="reversed"), legend=dict(orientation="h", y=-0.15))
    return _figure(fig)


def stochastic_frontier_figures(fr: pd.DataFrame, chosen: tuple[float, float] | None, currency: str) -> list[dict]:
    """The risk frontier: expected cost against CVaR (this plan marked), and the insurance
    premium paid for the tail cost removed."""
    import plotly.graph_objects as go

    if fr is None or fr.empty:
        return []
    fr = fr[np.isfinite(fr["expected_cost"].astype(float)) & np.isfinite(fr["cvar"].astype(float))]
    if fr.empty:
        return []
    points, labels = _frontier_labels(fr)
    fig = go.Figure()
    # Labels away from the plot's edges: the first point's to its right, the others' to their left.
    at = ["top right" if i == 0 else "top left" for i in range(len(points))]
    fig.add_scatter(x=points["expected_cost"], y=points["cvar"], mode="lines+markers+text", text=labels, textposition=at, name="frontier",
                    hovertemplate="%{text}<br>expected %{x:,.0f}<br>CVaR %{y:,.0f}<extra></extra>")
    if chosen is not None and all(math.isfinite(v) for v in chosen):
        fig.add_scatter(x=[chosen[0]], y=[chosen[1]], mode="markers", name="this plan", marker=dict(symbol="star", size=16, color="#d62728"))
    fig.update_layout(title=f"Expected cost against CVaR (the mean of the worst outcomes){_in(currency)}", xaxis_title=f"expected total cost{_in(currency)}",
                      yaxis_title=f"CVaR{_in(currency)}", height=420, legend=dict(orientation="h", y=-0.2))
    out = [_figure(fig)]
    fig = go.Figure()
    fig.add_scatter(x=points["insurance_premium"], y=points["tail_cost_removed"], mode="lines+markers+text", text=labels, textposition=at, marker_color="#9467bd",
                    hovertemplate="%{text}<br>premium %{x:,.0f}<br>tail cost removed %{y:,.0f}<extra></extra>")
    fig.update_layout(title=f"The insurance: expected cost given up against tail cost removed{_in(currency)}", xaxis_title=f"insurance premium{_in(currency)}",
                      yaxis_title=f"tail cost removed{_in(currency)}", height=420, showlegend=False)
    out.append(_figure(fig))
    return out


def stochastic_committed_figure(plan: pd.DataFrame) -> dict | None:
    """The units committed now, by commitment and period (hours of overtime left out)."""
    import plotly.graph_objects as go

    if plan is None or plan.empty:
        return None
    periods = [c for c in plan.columns if c not in ("commitment", "variable", "what")]
    units = plan[plan["variable"].astype(str) != "overtime_hours"]
    if units.empty or not periods:
        return None
    by = units.groupby("commitment", sort=False)[periods].sum()
    fig = go.Figure()
    for i, (name, row) in enumerate(by.iterrows()):
        fig.add_bar(x=[str(p) for p in periods], y=row.tolist(), name=str(name), marker_color=PALETTE[i % len(PALETTE)])
    fig.update_layout(barmode="stack", title="Units committed now, by period", yaxis_title="units", xaxis_type="category", height=380, legend=dict(orientation="h", y=-0.2))
    return _figure(fig)


def _summary_table(summary: pd.DataFrame, currency: str) -> pd.DataFrame:
    """A study's summary as the page shows it: each figure in words, its value by its unit
    (an infinite one in words), what it means."""
    s = formats.infinite_in_words(summary, figure="metric")
    kinds = [formats.of_unit(u) for u in summary["unit"]]
    # Headers already in words: a figure's value is not always money.
    table = pd.DataFrame({"Figure": [formats.figure_label(str(m)) for m in s["metric"]], "Value": s["value"].tolist(), "What it means": s["meaning"].fillna("").astype(str)})
    return _shown(table, currency, {"Value": kinds})


def stochastic_page(tables: dict[str, pd.DataFrame], title: str, currency: str) -> Page:
    """One plan for many futures: the expected cost against hindsight and the average plan
    (EVPI, VSS), each future's cost for this plan and in hindsight, the options bought and
    what they save, the risk frontier, the committed plan and the expected shadow prices.
    Infinite figures (an average plan that cannot be carried out) are said in words."""
    summary = tables["summary"]
    s = summary.set_index("metric")["value"].astype(float)
    cvar_key = next((str(k) for k in s.index if str(k).startswith("cvar_")), None)
    cards = [Kpi(k, label, float(s[k]), currency, words="cannot be carried out" if k == "average_plan_expected_cost" else "infinite") for k, label in (
        ("expected_total_cost", "Expected total cost"), ("wait_and_see_cost", "Expected cost in hindsight"), ("evpi", "EVPI: what knowing the future is worth"),
        ("average_plan_expected_cost", "The average future's plan (EEV)"), ("vss", "VSS: what planning for the futures saves")) if k in s.index]
    if cvar_key is not None:
        cards.append(Kpi(cvar_key, f"CVaR {cvar_key[5:]} %: mean of the worst {100 - int(cvar_key[5:])} %", float(s[cvar_key]), currency, words="infinite"))
    for k, label, unit in (("lower_bound", "Expected cost: at least (proved)", currency), ("upper_bound", "Expected cost of the plan found", currency), ("gap", "Gap between the bounds", "fraction")):
        if k in s.index:  # a decomposition (--engine mpi): both bounds and their gap
            cards.append(Kpi(k, label, float(s[k]), unit))
    if "reservation_cost" in s.index:
        cards.append(Kpi("reservation_cost", "Options' fees", float(s["reservation_cost"]), currency))
    sections = []
    meaning = summary.set_index("metric")["meaning"].astype(str)
    vf = stochastic_value_figure(s, currency)
    sec = Section("value", "What planning for the futures is worth",
                  "Knowing the future would lower the expected cost to its cost in hindsight (the EVPI is the gap); committing to the plan for the average future instead would raise it (the VSS).",
                  [vf] if vf else [], small_tables=[_summary_table(summary, currency)])
    sec.sentences = [f"{short}: {meaning[k]}." for k, short in (("evpi", "EVPI"), ("vss", "VSS"), ("average_plan_expected_cost", "EEV")) if k in meaning.index]
    sections.append(sec)

    fut = tables.get("futures", pd.DataFrame(columns=["future", "total_cost"]))
    ff = stochastic_futures_figure(fut, float(s.get("expected_total_cost", math.nan)), currency)
    sec = Section("futures", "The futures", "Each future's total cost with this plan (its commitments and reservations, the rest adapted) and had that future been known in advance; regret is the difference. "
                  "Each future's KPIs with this plan follow.", [ff] if ff else [], empty="No future was planned for.")
    if len(fut):
        first = [c for c in ("future", "probability", "total_cost", "hindsight_cost", "regret") if c in fut]
        sec.small_tables.append(_shown(formats.infinite_in_words(fut[first]), currency))
        kpis = [c for c in fut.columns if c not in first]
        if kpis:  # a KPI per row, a future per column: as many columns as futures, never too wide
            names = list(dict.fromkeys(fut["future"].astype(str)))
            rows = pd.DataFrame({"kpi": [metrics.label(c) for c in kpis], **{n: [fut[c].iloc[i] for c in kpis] for i, n in enumerate(names)}})
            per_row = [formats.kind_of(c.split(" ")[0], fut[c].dtype.kind in "fiu") for c in kpis]
            sec.tables.append(_datatable(formats.infinite_in_words(rows), "futures-table", currency=currency, kinds={n: per_row for n in names}))
    sections.append(sec)

    opt = tables.get("options")
    sec = Section("options", "The options bought ahead", "How much of each option the plan reserves and what its fees cost, paid in every future; what one unit reserved saves in expectation; "
                  "and its net value: the plan's expected cost without the option less with it.", empty="The case has no options.")
    if opt is not None and len(opt) and "net_value" in opt:
        of = stochastic_options_figure(opt, currency)
        sec.figures += [of] if of else []
        for r in opt.to_dict("records"):
            bought = f"reserve {r['reserved']:,.0f} of {r['max_reserve']:,.0f}" if float(r["reserved"]) > 1e-9 else "not reserved: not worth its fee"
            net = float(r["net_value"])
            worth = f"net value {net:,.0f} {currency}".strip() if math.isfinite(net) else "no plan can be carried out in every future without it"
            sec.sentences.append(f"{r['option']} ({r['raises']}): {bought}; a unit reserved saves {float(r['value_per_unit']):,.2f} against a fee of {float(r['fee_per_unit']):,.2f}; {worth}.")
        shown = formats.infinite_in_words(opt.drop(columns=["note"], errors="ignore")).rename(columns={"price": "reserve_shadow_price"})
        sec.tables.append(_datatable(shown, "options-table", currency=currency))
    elif opt is not None and len(opt):
        sec.small_tables.append(_shown(opt, currency))
    sections.append(sec)

    fr = tables.get("frontier")
    weight = float(s.get("risk_weight", 0.0))
    sec = Section("risk", "The risk frontier", f"Each point is a plan minimising (1 - weight) x expected cost + weight x CVaR; the insurance premium is the expected cost it gives up against the plan for the weight 0, "
                  f"the tail cost removed what it takes off the CVaR. This plan's weight: {weight:.0%}.", empty="No frontier was drawn.")
    if fr is not None and len(fr):
        chosen = (float(s.get("expected_total_cost", math.nan)), float(s[cvar_key]) if cvar_key else math.nan)
        sec.figures += stochastic_frontier_figures(fr, chosen, currency)
        sec.small_tables.append(_shown(formats.infinite_in_words(fr), currency))
    sections.append(sec)

    cm, cp = tables.get("commitments"), tables.get("committed_plan")
    sec = Section("commitments", "What is decided now", "The commitments (the same in every future), what being free to change each in every future would save, and the committed plan by period.",
                  empty="The case commits no decision.")
    if cm is not None and len(cm):
        sec.sentences = [f"{r['commitment']}: {int(r['decisions']):,} decision{'' if int(r['decisions']) == 1 else 's'}, {float(r['committed_units']):,.0f} units; being free to change it in every future would save "
                         + (f"{float(r['value_of_flexibility']):,.0f} {currency}".strip() if math.isfinite(float(r["value_of_flexibility"])) else "(not known: no plan without it)") + "."
                         for r in cm.to_dict("records")]
        sec.small_tables.append(_shown(cm, currency))
        cf = stochastic_committed_figure(cp) if cp is not None else None
        sec.figures += [cf] if cf else []
        if cp is not None and len(cp):
            periods = [c for c in cp.columns if c not in ("commitment", "variable", "what")]
            per_row = ["hours" if v == "overtime_hours" else "units" for v in cp["variable"].astype(str)]
            sec.tables.append(_datatable(cp, "committed-table", currency=currency, kinds={str(p): per_row for p in periods}))
            sec.note += " " + _table_note(cp, "stochastic_committed_plan.csv")
    sections.append(sec)

    sp = tables.get("shadow_prices")
    sec = Section("prices", "Expected shadow prices", "The change in expected total cost per one-unit rise of a limit in every future (negative: a unit more saves), and its price in each future given the commitments. "
                  + (_table_note(sp, "stochastic_shadow_prices.csv") if sp is not None else ""), empty="No business limit binds.")
    if sp is not None and len(sp):
        sec.tables.append(_datatable(sp, "prices-table", currency=currency))
    sections.append(sec)

    runs = tables.get("runs")
    sec = Section("runs", "How each plan was solved", "The extensive form (every future in one LP) solved cold, each future in hindsight and the average future solved alone, then the average plan, "
                  "each option and commitment taken away and each risk weight re-solved warm from the plan's basis. A run with no plan says why in its status.")
    if runs is not None and len(runs):
        sec.tables.append(_datatable(runs, "runs-table", currency=currency))
    sections.append(sec)
    return Page(f"One plan for many futures: {title}", f"{len(fut)} futures, one plan: its commitments and options bought now, the rest adapted in each future", cards, sections, footer=_study_footer())


def study_page(study: str, tables: dict[str, pd.DataFrame], currency: str, title: str) -> Page:
    """The page of ``aop scenarios``, ``aop sensitivity``, ``aop compare`` or ``aop stochastic``."""
    if study == "stochastic":
        return stochastic_page(tables, title, currency)
    if study == "scenarios":
        return scenarios_page(tables, title)
    if study == "sensitivity":
        return sensitivity_page(tables, title, currency)
    if study == "compare":
        return compare_page(tables, title)
    raise ValueError(f"unknown study {study!r}")


# -- rendering ----------------------------------------------------------------------------------


def render(page: Page) -> str:
    """The page as one self-contained HTML document."""
    import itables.options
    import jinja2
    import plotly.io.json as pjson
    import plotly.offline
    from itables.javascript import generate_init_offline_itables_html
    from markupsafe import Markup

    env = jinja2.Environment(loader=jinja2.PackageLoader("aop", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.policies["json.dumps_function"] = lambda obj, **_kw: pjson.to_json_plotly(obj)
    env.policies["json.dumps_kwargs"] = {}
    template = env.get_template("report.html.j2")
    figures = [f for s in page.sections for f in s.figures]
    return template.render(
        page=page,
        n_figures=len(figures),
        # Trusted library code and HTML from itables (whose cells it escapes): not autoescaped.
        plotly_js=Markup(plotly.offline.get_plotlyjs()),
        tables_js=Markup(generate_init_offline_itables_html(itables.options.dt_bundle)),
        sections=[(s, [Markup(h) for h in s.tables]) for s in page.sections],
    )


def write_page(page: Page, path: str | Path) -> Path:
    """Render ``page`` and write it to ``path`` atomically."""
    path = Path(path)
    html = render(page)
    with atomic_file(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return path


# -- a results folder ---------------------------------------------------------------------------


#: The tables a base plan's KPIs are read from (a base needs no more: its shadow prices alone can
#: be hundreds of MB at a million variables).
KPI_TABLES = ("summary",)


def read_plan_tables(folder: str | Path, names: tuple[str, ...] | None = None) -> dict[str, pd.DataFrame]:
    """The plan tables of a folder ``aop solve`` wrote (``<table>.csv``), by name: all of
    ``results.PLAN_TABLES`` there, or only ``names``."""
    from .results import PLAN_TABLES

    return read_tables(folder, names or PLAN_TABLES)


def rebuild(folder: str | Path, base: str | Path | None = None) -> list[Path]:
    """Rebuild every page of a results folder: ``report.html`` from a plan's CSVs (with its
    KPIs' change against the plan in ``base``, when given) and ``<study>.html`` for each study
    there. Raises FileNotFoundError when the folder holds no results."""
    folder = Path(folder)
    written = []
    if (folder / "summary.csv").exists():
        tables = read_plan_tables(folder)
        base_tables = None
        if base is not None:
            if not (Path(base) / "summary.csv").exists():
                raise FileNotFoundError(f"{base} holds no plan (no summary.csv): solve a case into it first")
            base_tables = read_plan_tables(base, KPI_TABLES)
        written.append(write_page(plan_page(tables, base_tables, Path(base).name if base else ""), folder / "report.html"))
    for study, marker in STUDY_MARKERS.items():
        if (folder / f"{study}_{marker}.csv").exists():
            t = read_study_tables(folder, study)
            cur = _study_currency(t)
            written.append(write_page(study_page(study, t, cur, _study_title(folder, study)), folder / f"{study}.html"))
    if not written:
        raise FileNotFoundError(f"{folder} holds no results: no summary.csv (aop solve) and no scenarios, sensitivity, compare or stochastic tables")
    return written


def _study_currency(tables: dict[str, pd.DataFrame]) -> str:
    for name in ("comparison", "kpi_changes", "base_kpis"):
        t = tables.get(name)
        if t is not None and "unit" in t:
            u = t.loc[t["kpi"] == "total_cost", "unit"]
            if len(u):
                return str(u.iloc[0])
    s = tables.get("summary")  # aop stochastic: a figure per row
    if s is not None and {"metric", "unit"} <= set(s.columns):
        u = s.loc[s["metric"] == "expected_total_cost", "unit"]
        if len(u):
            return str(u.iloc[0])
    return ""


def _study_title(folder: Path, study: str) -> str:
    """The study's title as its workbook records it (the document title), else the folder."""
    try:
        from openpyxl import load_workbook

        wb = load_workbook(folder / f"{study}.xlsx", read_only=True)
        title = wb.properties.title or ""
        wb.close()
        return title.split(": ", 1)[-1] if title else folder.name
    except Exception:
        return folder.name
