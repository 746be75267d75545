"""Generate the bundled example case (data/example.xlsx) and the blank template (data/template.xlsx).

A consumer-goods company's 2027 plan: 20 SKUs in four families with their own seasonality,
three plants (the South bottling line is the summer bottleneck), five DCs, fifteen customers in
three segments, and two suppliers of key components: bottle preforms from Asia (at most
130,000 a month) by ocean
(35 days, a wide spread; some already on the water when the year starts) with air as the
premium option and a Lunar-New-Year outage in February, and film from a local supplier by
truck. Seeded: the same file every time.

    python scripts/make_example.py [--out-dir data]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from aop.template import write_template  # noqa: E402
from aop.workbook import write_tables  # noqa: E402

MONTHS = [f"2027-{m:02d}" for m in range(1, 13)]
DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
FAMILIES = {
    # family: (unit value range, seasonality by month, plants, line)
    "BEV": ((4.0, 9.0), [0.7, 0.7, 0.85, 1.0, 1.2, 1.45, 1.55, 1.5, 1.1, 0.85, 0.75, 0.9], ("PL-SOUTH", "PL-NORTH"), "LINE-BOTTLING"),
    "SNK": ((3.0, 7.0), [0.85, 0.8, 0.9, 0.95, 0.95, 0.9, 0.9, 0.95, 1.05, 1.2, 1.35, 1.55], ("PL-EAST", "PL-SOUTH"), "LINE-SNACKS"),
    "HOM": ((6.0, 15.0), [1.0] * 12, ("PL-NORTH", "PL-EAST"), "LINE-LIQUIDS"),
    "PRS": ((8.0, 22.0), [0.95, 0.95, 1.0, 1.0, 1.05, 1.05, 1.05, 1.0, 1.0, 1.0, 0.95, 1.1], ("PL-EAST",), "LINE-LIQUIDS"),
}
PLANTS = ["PL-NORTH", "PL-SOUTH", "PL-EAST"]
DCS = ["DC-NORTHEAST", "DC-SOUTHEAST", "DC-MIDWEST", "DC-WEST", "DC-TEXAS"]
SUPPLIERS = ["SUP-ASIA-PREFORM", "SUP-LOCAL-FILM"]
CUSTOMERS = {
    "key_accounts": ["MEGAMART", "VALUECLUB", "FRESHCO", "GROCERPLUS", "CITYMARKET"],
    "retail": ["CORNERSTORES", "PHARMAONE", "QUICKSTOP", "HOMEGOODS", "FUELMART", "CAMPUSSHOP"],
    "online": ["SHOPNOW", "DAILYBOX", "CLICKCART", "PANTRYDIRECT"],
}
# Nearest DCs of each customer (one or two), and the plant a key account may be served from directly.
SERVED_BY = {
    "MEGAMART": ["DC-NORTHEAST", "DC-MIDWEST"], "VALUECLUB": ["DC-SOUTHEAST", "DC-TEXAS"], "FRESHCO": ["DC-WEST"],
    "GROCERPLUS": ["DC-MIDWEST"], "CITYMARKET": ["DC-NORTHEAST"], "CORNERSTORES": ["DC-SOUTHEAST"],
    "PHARMAONE": ["DC-MIDWEST", "DC-NORTHEAST"], "QUICKSTOP": ["DC-TEXAS"], "HOMEGOODS": ["DC-WEST", "DC-TEXAS"],
    "FUELMART": ["DC-SOUTHEAST"], "CAMPUSSHOP": ["DC-NORTHEAST"], "SHOPNOW": ["DC-MIDWEST", "DC-WEST"],
    "DAILYBOX": ["DC-NORTHEAST"], "CLICKCART": ["DC-TEXAS"], "PANTRYDIRECT": ["DC-SOUTHEAST", "DC-MIDWEST"],
}
DIRECT = {"MEGAMART": "PL-NORTH", "VALUECLUB": "PL-SOUTH"}
# Plant -> DC distance class: 0 near, 1 medium, 2 far (drives lead times and freight).
DISTANCE = {
    "PL-NORTH": [0, 1, 0, 2, 2],
    "PL-SOUTH": [1, 0, 1, 2, 0],
    "PL-EAST": [0, 0, 1, 2, 1],
}


def make_example_tables(seed: int = 2027) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    products, production, routings, bom = [], [], [], []
    for fam, ((lo, hi), _season, plants, line) in FAMILIES.items():
        for i in range(1, 6):
            sku = f"{fam}-{i:03d}"
            value = round(float(rng.uniform(lo, hi)), 2)
            products.append({"product": sku, "family": fam, "unit_value": value, "price": round(value * float(rng.uniform(1.5, 2.1)), 2), "holding_rate": 0.25})
            for k, plant in enumerate(plants[: 1 + (i % 2)] if len(plants) > 1 else plants):
                cost = round(value * float(rng.uniform(0.55, 0.7)) * (1.0 + 0.06 * k), 2)
                out = round(cost * 1.45, 2) if fam in ("BEV", "SNK") else None
                production.append({"site": plant, "product": sku, "unit_cost": cost, "max_units": None, "outsource_cost": out, "outsource_max_units": 4000.0 if out else None})
                routings.append({"site": plant, "product": sku, "resource": line, "hours_per_unit": round(float(rng.uniform(0.0035, 0.006)), 4)})
                if fam == "BEV":
                    bom.append({"site": plant, "product": sku, "component": "CMP-PREFORM", "quantity": 1.0})
                if fam == "SNK":
                    bom.append({"site": plant, "product": sku, "component": "CMP-FILM", "quantity": 0.05})
    products += [
        {"product": "CMP-PREFORM", "family": "component", "unit_value": 0.22, "price": 0.0, "holding_rate": 0.2},
        {"product": "CMP-FILM", "family": "component", "unit_value": 1.8, "price": 0.0, "holding_rate": 0.2},
    ]
    products_t = pd.DataFrame(products)

    customers = [{"customer": c, "segment": seg} for seg, cs in CUSTOMERS.items() for c in cs]
    scale = {"key_accounts": 2600.0, "retail": 900.0, "online": 700.0}
    demand = []
    for c in customers:
        skus = [p["product"] for p in products if p["family"] != "component" and rng.uniform() < (0.85 if c["segment"] == "key_accounts" else 0.55)]
        for sku in skus:
            fam = sku[:3]
            base = scale[c["segment"]] * float(rng.uniform(0.5, 1.5))
            for m, month in enumerate(MONTHS):
                q = base * FAMILIES[fam][1][m] * float(rng.uniform(0.9, 1.1))
                demand.append({"product": sku, "customer": c["customer"], "period": month, "quantity": float(round(q)), "std": round(q * float(rng.uniform(0.1, 0.25)), 1)})
    demand_t = pd.DataFrame(demand)

    # Capacity: hours per month sized on average load, 15 % above it; the South bottling line,
    # the cheaper of the two bottling plants, 25 % above: short only in the summer peak, which
    # it builds ahead for.
    dem_by_sku = demand_t.groupby(["product", "period"])["quantity"].sum()
    rt = pd.DataFrame(routings)
    share = rt.groupby("product")["site"].transform("count")
    load = rt.assign(share=1.0 / share).merge(dem_by_sku.rename("q").reset_index(), on="product")
    load["hours"] = load["q"] * load["share"] * load["hours_per_unit"]
    monthly = load.groupby(["site", "resource", "period"])["hours"].sum().groupby(["site", "resource"]).mean()
    capacity = []
    for (site, res), avg in monthly.items():
        factor = 1.25 if (site, res) == ("PL-SOUTH", "LINE-BOTTLING") else 1.15
        capacity.append({"site": site, "resource": res, "period": None, "hours": float(round(avg * factor)), "overtime_hours": float(round(avg * 0.12)), "overtime_cost": 62.0})
    capacity.append({"site": "PL-SOUTH", "resource": "LINE-BOTTLING", "period": "2027-08", "hours": float(round(monthly[("PL-SOUTH", "LINE-BOTTLING")] * 0.6)), "overtime_hours": float(round(monthly[("PL-SOUTH", "LINE-BOTTLING")] * 0.12)), "overtime_cost": 62.0})
    capacity.append({"site": "PL-EAST", "resource": "LINE-SNACKS", "period": "2027-10", "hours": float(round(monthly[("PL-EAST", "LINE-SNACKS")] * 0.8)), "overtime_hours": float(round(monthly[("PL-EAST", "LINE-SNACKS")] * 0.12)), "overtime_cost": 70.0})

    lanes = []
    for plant, dist in DISTANCE.items():
        for dc, d in zip(DCS, dist):
            truck_days, rail_days = [(2, 5), (3, 8), (5, 12)][d]
            lanes.append({"origin": plant, "destination": dc, "mode": "truck", "cost_per_unit": [0.18, 0.3, 0.48][d], "lead_time_days": truck_days, "lead_time_std_days": 0.5 + 0.5 * d, "capacity": None, "premium": False})
            lanes.append({"origin": plant, "destination": dc, "mode": "rail", "cost_per_unit": [0.1, 0.16, 0.25][d], "lead_time_days": rail_days, "lead_time_std_days": 1.5 + d, "capacity": [None, 60000.0, 45000.0][d], "premium": False})
            if d == 2:
                lanes.append({"origin": plant, "destination": dc, "mode": "air", "cost_per_unit": 2.4, "lead_time_days": 1, "lead_time_std_days": 0.3, "capacity": 8000.0, "premium": True})
    for cust, dcs in SERVED_BY.items():
        for dc in dcs:
            lanes.append({"origin": dc, "destination": cust, "mode": "truck", "cost_per_unit": round(float(rng.uniform(0.12, 0.3)), 2), "lead_time_days": float(rng.integers(1, 3)), "lead_time_std_days": 0.5, "capacity": None, "premium": False})
    for cust, plant in DIRECT.items():
        lanes.append({"origin": plant, "destination": cust, "mode": "truck", "cost_per_unit": 0.15, "lead_time_days": 2.0, "lead_time_std_days": 0.5, "capacity": 30000.0, "premium": False})
    for plant in PLANTS:
        lanes.append({"origin": "SUP-ASIA-PREFORM", "destination": plant, "mode": "ocean", "cost_per_unit": 0.01, "lead_time_days": 35.0, "lead_time_std_days": 10.0, "capacity": None, "premium": False})
        lanes.append({"origin": "SUP-ASIA-PREFORM", "destination": plant, "mode": "air", "cost_per_unit": 0.09, "lead_time_days": 4.0, "lead_time_std_days": 1.0, "capacity": 150000.0, "premium": True})
        lanes.append({"origin": "SUP-LOCAL-FILM", "destination": plant, "mode": "truck", "cost_per_unit": 0.05, "lead_time_days": 3.0, "lead_time_std_days": 1.0, "capacity": None, "premium": False})

    supply = [
        {"site": "SUP-ASIA-PREFORM", "product": "CMP-PREFORM", "period": None, "unit_cost": 0.2, "max_units": 130_000.0},  # about 1.5 months of preforms
        {"site": "SUP-ASIA-PREFORM", "product": "CMP-PREFORM", "period": "2027-02", "unit_cost": 0.2, "max_units": 0.0},
        {"site": "SUP-LOCAL-FILM", "product": "CMP-FILM", "period": None, "unit_cost": 1.7, "max_units": None},
    ]

    # Opening stock: about three weeks of January at each customer's first DC; safety stock at DCs.
    first = demand_t[demand_t["period"] == MONTHS[0]].assign(site=lambda d: d["customer"].map(lambda c: SERVED_BY[c][0]))
    dc_stock = first.groupby(["site", "product"], as_index=False)["quantity"].sum()
    inventory = dc_stock.assign(
        initial=(dc_stock["quantity"] * 0.7).round(0),
        safety_stock=(dc_stock["quantity"] * 0.25).round(0),
        safety_stock_penalty=None,
        ending_min=None,
    ).drop(columns="quantity")
    inventory.loc[inventory.index % 4 == 0, "ending_min"] = inventory["safety_stock"]
    comp_stock = pd.DataFrame(
        [{"site": p, "product": "CMP-PREFORM", "initial": q, "safety_stock": 0.0, "safety_stock_penalty": None, "ending_min": None} for p, q in (("PL-NORTH", 20_000.0), ("PL-SOUTH", 40_000.0))]
    )
    inventory = pd.concat([inventory, comp_stock], ignore_index=True)

    # Preforms already on the water when the plan starts (shipped by ocean in November and
    # December): without them nothing could reach the plants before February, 35 days out.
    # About half of January's and a tenth of February's preform use at each bottling plant.
    made_at = rt[rt["product"].str.startswith("BEV")].assign(share=lambda d: 1.0 / d.groupby("product")["site"].transform("count"))
    use = made_at.merge(dem_by_sku.rename("q").reset_index(), on="product")
    use = use.assign(units=use["q"] * use["share"]).groupby(["site", "period"])["units"].sum()
    receipts = pd.DataFrame(
        [
            {"site": site, "product": "CMP-PREFORM", "period": month, "quantity": float(round(use[(site, month)] * part, -3))}
            for site in ("PL-NORTH", "PL-SOUTH")
            for month, part in ((MONTHS[0], 0.45), (MONTHS[1], 0.1))
        ]
    )

    sites = [{"site": p, "kind": "plant", "storage_capacity": None} for p in PLANTS]
    sites += [{"site": d, "kind": "dc", "storage_capacity": 140_000.0 if d == "DC-SOUTHEAST" else 400_000.0} for d in DCS]
    sites += [{"site": s, "kind": "supplier", "storage_capacity": None} for s in SUPPLIERS]

    return {
        "periods": pd.DataFrame({"period": MONTHS, "days": DAYS}),
        "products": products_t,
        "sites": pd.DataFrame(sites),
        "customers": pd.DataFrame(customers),
        "demand": demand_t,
        "production": pd.DataFrame(production),
        "routings": rt,
        "capacity": pd.DataFrame(capacity),
        "lanes": pd.DataFrame(lanes),
        "supply": pd.DataFrame(supply),
        "bom": pd.DataFrame(bom),
        "inventory": inventory,
        "receipts": receipts,
        "service": pd.DataFrame(
            [
                {"segment": "key_accounts", "fill_rate": 0.98, "shortage_cost": None, "backorder_cost": None},
                {"segment": "retail", "fill_rate": 0.95, "shortage_cost": None, "backorder_cost": 0.6},
                {"segment": "online", "fill_rate": 0.9, "shortage_cost": 25.0, "backorder_cost": None},
            ]
        ),
        "settings": pd.DataFrame({"key": ["currency", "solver"], "value": ["USD", "auto"]}),
        "scenarios": pd.DataFrame(SCENARIOS, columns=["scenario", "kind", "table", "column", "filter", "operation", "value", "note"]),
        "probabilities": pd.DataFrame(PROBABILITIES, columns=["scenario", "probability"]),
        "commitments": pd.DataFrame(COMMITMENTS, columns=["decision", "filter", "periods", "note"]),
        "options": pd.DataFrame(OPTIONS, columns=["option", "table", "column", "filter", "max_reserve", "fee", "note"]),
    }


#: The downside scenarios and pre-approved actions of the example (aop scenarios).
SCENARIOS = [
    ("preform lead time slips", "shock", "lanes", "lead_time_days", "origin=SUP-ASIA-PREFORM; mode=ocean", "scale", 1.5, "ocean preforms take 7.5 weeks, not 5"),
    ("preform lead time slips", "action", "lanes", "cost_per_unit", "origin=SUP-ASIA-PREFORM; mode=air", "scale", 0.7, "contracted air rate for preforms, 30 % below spot"),
    ("South bottling breakdown", "shock", "capacity", "hours", "site=PL-SOUTH; resource=LINE-BOTTLING; period=2027-05..2027-06", "scale", 0.5, "half the South line's hours in May and June"),
    ("South bottling breakdown", "action", "capacity", "overtime_hours", "resource=LINE-BOTTLING", "scale", 2.0, "overtime ceiling doubled on both bottling lines"),
    ("South bottling breakdown", "action", "production", "outsource_max_units", "family=BEV", "scale", 3.0, "co-packer opened up to 12,000 units a month per beverage"),
    ("beverage demand -10%", "shock", "demand", "quantity", "family=BEV", "scale", 0.9, "a cool summer"),
    ("freight rates +15%", "shock", "lanes", "cost_per_unit", None, "scale", 1.15, "carrier rates up 15 %"),
]


#: How likely each scenario is (aop stochastic); the base case takes the remaining 30 %.
PROBABILITIES = [("preform lead time slips", 0.15), ("South bottling breakdown", 0.10), ("beverage demand -10%", 0.25), ("freight rates +15%", 0.20)]
#: What the company commits before the year is known: its ocean orders and the first quarter's production.
COMMITMENTS = [
    ("shipments", "mode=ocean", None, "ocean preform orders, placed months ahead"),
    ("production", None, "2027-01..2027-03", "the first quarter's production, frozen"),
]
#: Options bought ahead: capacity reserved now at a fee, usable in every future.
OPTIONS = [
    ("co-packer", "production", "outsource_max_units", "family=BEV", 4000.0, 0.05, "co-packer capacity reserved beyond the 4,000 a month contracted, per beverage"),
    ("air capacity", "lanes", "capacity", "mode=air; origin=PL-NORTH|PL-SOUTH|PL-EAST", 4000.0, 0.05, "air freight space booked ahead on the plant-to-DC lanes"),
    ("South bottling overtime", "capacity", "overtime_hours", "site=PL-SOUTH; resource=LINE-BOTTLING", 60.0, 15.0, "overtime hours a month contracted ahead with the South bottling crew"),
]


def _m(x: float) -> str:
    """Money for a sentence: 21.87 M, 254 k, 5.1 k, 120."""
    if abs(x) >= 1e6:
        return f"{x / 1e6:.2f} M"
    if abs(x) >= 1e4:
        return f"{x / 1e3:.0f} k"
    if abs(x) >= 1e3:
        return f"{x / 1e3:.1f} k"
    return f"{x:.0f}"


def _months(periods) -> str:
    """'February-September' for consecutive months, else a list."""
    order = {p: i for i, p in enumerate(MONTHS)}
    ps = sorted(set(periods), key=order.get)
    names = [dt.date(2027, order[p] + 1, 1).strftime("%B") for p in ps]
    if ps and order[ps[-1]] - order[ps[0]] == len(ps) - 1 and len(ps) > 2:
        return f"{names[0]}-{names[-1]}"
    return ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1] if names else "no month"


ALGORITHM_WORDS = {"simplex": "dual simplex", "hipo": "HiPO interior point", "ipx": "IPX interior point"}


def readme_section(plan) -> str:
    """What the README says the example's plan does, written from the plan itself (the test
    suite regenerates it and compares, so the story cannot drift from the run)."""
    m, t, cur = plan.metric, plan.tables, plan.currency
    sp = t["shadow_prices"]
    bo = t.get("backorders")
    late_by = bo.groupby("period")[["new_backorders", "late"]].sum() if bo is not None and len(bo) else None
    ship = t["shipments"]
    premium = ship[ship["premium"].astype(bool)]
    supply = sp[(sp["constraint"] == "supply") & (sp["shadow_price"] < -1e-6)].sort_values("shadow_price")
    lines = [
        f"What `aop solve data/example.xlsx --out plan` reports ({int(m('variables')):,} variables, {int(m('constraints')):,} rows, "
        f"HiGHS's {ALGORITHM_WORDS.get(plan.summary.set_index('metric').loc['algorithm', 'value'], 'solver')}):",
        "",
        f"- total cost {_m(m('total_cost'))} {cur} against {_m(m('revenue'))} {cur} revenue: cash cost-to-serve "
        f"{_m(m('cash_cost_to_serve'))} (production {_m(m('production_cost'))}, freight {_m(m('freight_cost'))}, purchases "
        f"{_m(m('purchase_cost'))}, overtime {_m(m('overtime_cost'))}, co-manufacturing {_m(m('outsourcing_cost'))}), carrying cost "
        f"{_m(m('carrying_cost'))} and penalties {_m(m('penalty_cost'))};",
    ]
    service = f"- on-time fill rate {m('fill_rate'):.2%}"
    if late_by is not None and m("late_units") > 0:
        made = late_by[late_by["new_backorders"] > 0]
        got = late_by[late_by["late"] > 0]
        service += (
            f": {m('late_units'):,.0f} retail units wait, backordered in {_months(made.index)} and delivered in {_months(got.index)} "
            f"({_m(m('revenue_deferred'))} {cur} of revenue deferred)"
        )
    lost, owed = m("lost_units"), m("backlog_at_end_units")
    service += f"; {f'{lost:,.0f} units are lost' if lost else 'nothing is lost'} and {f'{owed:,.0f} still owed' if owed else 'nothing is still owed'} when the year ends;"
    lines.append(service)
    lines.append(_bottleneck_line(plan))
    if len(premium):
        by = premium.groupby("departure_period")["quantity"].sum()
        lines.append(
            f"- the February outage shows: preforms can be bought only up to 130,000 a month, so January buys the most it may "
            f"(one more preform then would save {abs(supply['shadow_price'].iloc[0]):.3f} {cur}) and {m('premium_freight_units'):,.0f} "
            f"preforms are flown in {_months(by.index)} ({_m(m('premium_freight_spend'))} {cur} of premium freight);"
            if len(supply) else f"- premium freight {_m(m('premium_freight_spend'))} {cur} in {_months(by.index)};"
        )
    else:
        lines.append("- no premium freight;")
    if "ledger" in t and len(t["ledger"]):
        lines.append(f"- the finance view (`aop explain plan`) ranks the {len(t['ledger'])} binding limits by what they cost the year; the top two:")
        lines += [f"  - {s}" for s in t["ledger"]["sentence"].head(2)]
    if "pnl" in t:
        p = t["pnl"].set_index("line")["year"]
        freight = p[[i for i in p.index if i.startswith("freight")]].sum()
        premium_line = p[[i for i in p.index if i.startswith("freight") and "premium" in i]].sum()
        cogs = p[["production", "co-manufacturing", "purchases"]].sum()
        # The cost of goods sold: the units delivered at what they cost (statements.pnl).
        stock = p[[i for i in p.index if i.startswith("opening stock")]].sum()
        spent = p[[i for i in p.index if i.startswith("spent")]].sum()
        change = p[[i for i in p.index if i.startswith("change in inventory value")]].sum()
        lines.append(
            f"- the P&L for the year, on the cost of the goods sold: revenue {_m(p['revenue'])} {cur}, production, co-manufacturing and purchases {_m(-cogs)}, "
            f"opening stock sold {_m(-stock)}, overtime {_m(-p['overtime'])}, freight "
            f"{_m(-freight)} (premium {_m(-premium_line)}): contribution margin {_m(p['contribution margin'])} ({p['contribution margin %']:.1%}); "
            f"holding, the cost of the capital in stock and not cash, {_m(-p['holding (cost of capital, not cash)'])}; penalties apart; "
            f"the year spent {_m(-spent)} and its stock at cost {'rose' if change >= 0 else 'fell'} by {_m(abs(change))};"
        )
    if "premium_freight" in t and len(t["premium_freight"]):
        pf = t["premium_freight"].iloc[0]
        lines.append(f"- premium freight, traced: {pf['sentence']};")
    moving = m("in_transit_end_units")
    lines.append(
        f"- {f'{moving:,.0f} units are' if moving else 'nothing is'} still on the way when the year ends, which closes with "
        f"{_m(m('inventory_value_end'))} {cur} of stock at unit value."
    )
    return "\n".join(lines)


def _bottleneck_line(plan) -> str:
    """Why the lines bind, from the plan's bottlenecks table: the top bottleneck's sentence, the
    two months one more of it saves the most (its shadow prices), and when the others run at
    their limit (facts of the plan itself, not of a what-if)."""
    from aop.bottlenecks import sentences
    from aop.words import periods_text

    b, cur = plan.tables.get("bottlenecks"), plan.currency
    if b is None or b.empty:
        return "- no line runs at its limit;"
    first = b.iloc[0]
    fam = plan.families[first["constraint"]]
    keys = [c for c in fam.index if c != "period"]
    sp = plan.shadow_prices
    mine = sp[(sp["constraint"] == first["constraint"]) & (sp["shadow_price"] < -1e-6)]
    for c in keys:
        mine = mine[mine[c].astype(str) == str(first[c])]
    top = mine.sort_values("shadow_price").head(2)
    line = f"- why the lines bind (the `bottlenecks` table): {sentences(b)[0].removesuffix('.')}"
    if len(top):
        one = ONE_OF.get(str(first["unit"]), str(first["unit"]))
        line += (f"; one more {one} of it saves the most in "
                 + " and ".join(f"{_months([r['period']])} ({abs(r['shadow_price']):,.0f} {cur})" for r in top.to_dict("records"))
                 + ", each with the range over which that price holds")
    others = []
    for obj, g in list(b.groupby("object", sort=False))[1:]:
        at = g.loc[g["at_limit"].astype(bool), "period"].astype(str)
        whole = plan.periods
        run = sorted({whole.index(p) for p in at})
        says = f"from {_months([whole[run[0]]])}" if run and run[-1] == len(whole) - 1 and run[-1] - run[0] == len(run) - 1 else f"in {periods_text(whole, set(at))}"
        others.append(f"{obj} {says}")
    if others:
        line += ". Also at their limit: " + ", ".join(others[:-1]) + (" and " if len(others) > 1 else "") + others[-1]
    return line + ";"


#: A one-unit rise of a limit in the sentence ('one more hour').
ONE_OF = {"hours": "hour", "units": "unit"}


def update_readme(section: str, path: Path = REPO / "README.md", start: str = "", end: str = "") -> None:
    start, end = start or README_START, end or README_END
    text = path.read_text()
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{section}\n{end}{tail}")


def _money(x: float, cur: str) -> str:
    return "infinite" if not np.isfinite(x) else f"{_m(x)} {cur}"


def stochastic_readme_section(plan) -> str:
    """What the README says ``aop stochastic data/example.xlsx`` finds, written from the run."""
    t, cur = plan.tables, plan.currency
    s = t["summary"].set_index("metric")["value"].astype(float)
    fut = t["futures"]
    worst = fut.sort_values("total_cost").iloc[-1]
    lines = [
        f"What `aop stochastic data/example.xlsx --out futures` reports ({len(fut)} futures: the base at {fut['probability'].iloc[0]:.0%} and the four scenarios; "
        f"the extensive form has {int(s['extensive_form_variables']):,} variables and {int(s['extensive_form_rows']):,} rows):",
        "",
        f"- one plan for every future, committing {int(s['committed_decisions'])} decisions now (the ocean preform orders and the first quarter's production): "
        f"expected total cost {_money(plan.expected_cost, cur)}; had each future been known in advance, {_money(plan.wait_and_see, cur)}: "
        f"perfect foresight would be worth {_money(plan.evpi, cur)} (EVPI);",
    ]
    if plan.average_fails_in:
        lines.append(f"- planning for the average future instead is not a plan: its commitments cannot be carried out in {', '.join(plan.average_fails_in)} "
                     "(its first-quarter production needs preforms that, on the slower ocean lead time, arrive too late), so its expected cost and the VSS are infinite;")
    else:
        lines.append(f"- committing to the average future's plan would cost {_money(plan.average_plan_cost, cur)} in expectation: planning for the average costs {_money(plan.vss, cur)} (VSS);")
    lines.append(f"- the costliest future for this plan is {worst['future']} ({_money(worst['total_cost'], cur)}, {_money(worst['regret'], cur)} more than in hindsight); "
                 f"CVaR {plan.alpha:.0%}, the mean of the worst {1 - plan.alpha:.0%} of outcomes, is {_money(plan.cvar, cur)};")
    for r in t["options"].to_dict("records"):
        if r["reserved"] > 1e-6:
            lines.append(f"- option {r['option']}: the plan reserves {r['reserved']:,.0f} of {r['max_reserve']:,.0f} a month for {_money(r['reservation_cost'], cur)} of fees; "
                         f"without it the plan would cost {_money(r['net_value'], cur)} more in expectation (one more unit reserved would save {abs(r['price']):,.2f} {cur} beyond its fee);")
        else:
            lines.append(f"- option {r['option']}: not worth its fee: a unit reserved would save {r['value_per_unit']:,.2f} {cur} in expectation against {r['fee_per_unit']:,.2f} {cur} of fees;")
    for r in t["commitments"].to_dict("records"):
        lines.append(f"- commitment \"{r['commitment']}\" ({r['decisions']} decisions): free to change it in each future would save {_money(r['value_of_flexibility'], cur)};")
    fr = t["frontier"]
    if len(fr) > 1:
        last = fr.iloc[-1]
        lines.append(f"- the risk dial: weighting CVaR at {last['weight']:g} gives up {_money(last['insurance_premium'], cur)} of expected cost to take {_money(last['tail_cost_removed'], cur)} off the tail.")
    return "\n".join(lines)


README_START, README_END = "<!-- example:start -->", "<!-- example:end -->"
STOCHASTIC_START, STOCHASTIC_END = "<!-- stochastic:start -->", "<!-- stochastic:end -->"


def last_year(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The same company's 2026 plan, for ``aop compare data/example_2026.xlsx data/example.xlsx``:
    8 % less demand and 5 % lower prices, the South bottling line 10 % slower (the 2027 plan
    funds its speed-up), truck and rail rates 12 % lower, and a 96 % key-account promise."""
    t = {k: v.copy() for k, v in tables.items() if k not in ("scenarios", "probabilities", "commitments", "options")}
    older = {m: m.replace("2027", "2026") for m in MONTHS}
    for name, df in t.items():
        if "period" in df.columns:
            t[name] = df.assign(period=df["period"].map(lambda p: older.get(p, p)))
    t["demand"] = t["demand"].assign(quantity=(t["demand"]["quantity"] * 0.92).round())
    t["products"] = t["products"].assign(price=(t["products"]["price"] * 0.95).round(2))
    south = (t["capacity"]["site"] == "PL-SOUTH") & (t["capacity"]["resource"] == "LINE-BOTTLING")
    t["capacity"] = t["capacity"].assign(hours=np.where(south, (t["capacity"]["hours"] * 0.9).round(), t["capacity"]["hours"]))
    ground = t["lanes"]["mode"].isin(["truck", "rail"])
    t["lanes"] = t["lanes"].assign(cost_per_unit=np.where(ground, (t["lanes"]["cost_per_unit"] * 0.88).round(4), t["lanes"]["cost_per_unit"]))
    t["service"] = t["service"].assign(fill_rate=np.where(t["service"]["segment"] == "key_accounts", 0.96, t["service"]["fill_rate"]))
    return t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", default=str(REPO / "data"))
    ap.add_argument("--seed", type=int, default=2027)
    ap.add_argument("--readme", action="store_true", help="also solve the example and rewrite the README's example section from the plan")
    a = ap.parse_args(argv)
    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = make_example_tables(a.seed)
    write_tables(tables, out / "example.xlsx")
    write_tables(last_year(tables), out / "example_2026.xlsx")
    if (out / "template.xlsx").exists():
        (out / "template.xlsx").unlink()
    write_template(out / "template.xlsx")
    if a.readme:
        from aop import solve_case

        update_readme(readme_section(solve_case(out / "example.xlsx")))
        print("rewrote the README's example section from a run of the example")
        from aop.api import load_case
        from aop.stochastic import plan_for_futures

        update_readme(stochastic_readme_section(plan_for_futures(load_case(out / "example.xlsx"))), start=STOCHASTIC_START, end=STOCHASTIC_END)
        print("rewrote the README's stochastic section from a run of aop stochastic on the example")
    print(f"wrote {out / 'example.xlsx'} ({len(tables['products'])} products, {len(tables['customers'])} customers, {len(tables['demand'])} demand rows, {len(tables['lanes'])} lanes), {out / 'example_2026.xlsx'} (its 2026 plan) and {out / 'template.xlsx'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
