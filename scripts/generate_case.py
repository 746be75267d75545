"""Generate a synthetic AOP case in the input contract (seeded, reproducible).

The network is sparse the way real ones are: each product is made at one or two plants,
plants feed DCs by several modes (the last mode premium), each customer is served by its one
or two nearest DCs, and each customer buys a subset of the products. Demand is seasonal.

    python scripts/generate_case.py --products 1000 --plants 3 --dcs 10 --customers 150 \
        --periods 12 --modes 3 --out /tmp/case_1m

Writes a folder of CSV files (or an .xlsx workbook when --out ends in .xlsx).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

MODES = [("truck", 3.0, 1.0, False), ("rail", 8.0, 0.7, False), ("ocean", 30.0, 0.5, False), ("air", 1.0, 6.0, True)]


def generate(
    products: int = 50,
    plants: int = 2,
    dcs: int = 4,
    customers: int = 20,
    periods: int = 12,
    modes: int = 3,
    density: float = 0.3,
    suppliers: int = 0,
    seed: int = 7,
) -> dict[str, pd.DataFrame]:
    """Return the case's tables. ``density``: share of products each customer buys."""
    rng = np.random.default_rng(seed)
    per = [f"2027-{m + 1:02d}" if periods <= 12 else f"P{m + 1:03d}" for m in range(periods)]
    days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] if periods == 12 else [30] * periods
    prod = [f"SKU{i:05d}" for i in range(products)]
    value = rng.uniform(5, 80, products).round(2)
    products_t = pd.DataFrame({"product": prod, "unit_value": value, "price": (value * rng.uniform(1.4, 2.2, products)).round(2), "holding_rate": 0.25})

    pl = [f"PL{i + 1:02d}" for i in range(plants)]
    dc = [f"DC{i + 1:02d}" for i in range(dcs)]
    cu = [f"CU{i + 1:04d}" for i in range(customers)]
    sup = [f"SUP{i + 1:02d}" for i in range(suppliers)]
    sites = pd.DataFrame({"site": pl + dc + sup, "kind": ["plant"] * plants + ["dc"] * dcs + ["supplier"] * suppliers})
    sites["storage_capacity"] = np.nan
    segs = np.array(["key_accounts", "retail", "online"])
    customers_t = pd.DataFrame({"customer": cu, "segment": segs[rng.integers(0, 3, customers)]})

    # Locations on a line: DCs serve their nearest customers.
    dc_pos = np.sort(rng.uniform(0, 1, dcs))
    cu_pos = rng.uniform(0, 1, customers)
    near = np.argsort(np.abs(cu_pos[:, None] - dc_pos[None, :]), axis=1)[:, : min(2, dcs)]

    # Production: each product at one or two plants; one resource per plant.
    home = rng.integers(0, plants, products)
    second = np.where(rng.uniform(size=products) < 0.3, (home + 1) % plants, -1)
    rows = [(pl[h], p) for p, h in zip(prod, home)] + [(pl[s], p) for p, s in zip(prod, second) if s >= 0 and plants > 1]
    production = pd.DataFrame(rows, columns=["site", "product"])
    v = production["product"].map(dict(zip(prod, value)))
    production["unit_cost"] = (v * rng.uniform(0.5, 0.8, len(production))).round(2)
    production["outsource_cost"] = np.where(rng.uniform(size=len(production)) < 0.4, (production["unit_cost"] * 1.4).round(2), np.nan)
    production["outsource_max_units"] = np.where(production["outsource_cost"].notna(), 500.0, np.nan)
    hpu = rng.uniform(0.002, 0.02, len(production)).round(4)
    routings = production[["site", "product"]].assign(resource="LINE", hours_per_unit=hpu)

    # Demand: each customer buys a share of the products, seasonal with noise.
    buys = rng.uniform(size=(customers, products)) < density
    ci, pi = np.nonzero(buys)
    base = rng.gamma(2.0, 40.0, len(ci))
    season = 1 + 0.3 * np.sin(2 * np.pi * (np.arange(periods) - 3) / 12)
    qty = np.rint(base[:, None] * season[None, :] * rng.uniform(0.8, 1.2, (len(ci), periods)))
    demand = pd.DataFrame(
        {
            "product": np.repeat(np.array(prod)[pi], periods),
            "customer": np.repeat(np.array(cu)[ci], periods),
            "period": np.tile(per, len(ci)),
            "quantity": qty.ravel(),
        }
    )
    demand = demand[demand["quantity"] > 0]
    demand["std"] = (demand["quantity"] * 0.2).round(1)

    # Capacity: about 92 % of the hours the average month needs at each plant.
    need = demand.groupby("product")["quantity"].sum() / periods
    load = routings.assign(h=routings["hours_per_unit"] * routings["product"].map(need).fillna(0) / routings.groupby("product")["site"].transform("count"))
    hours = load.groupby("site")["h"].sum().reindex(pl).fillna(1.0) / 0.92
    capacity = pd.DataFrame({"site": pl, "resource": "LINE", "hours": hours.round(0).to_numpy(), "overtime_hours": (hours * 0.15).round(0).to_numpy(), "overtime_cost": 45.0})

    lanes = []
    for i, m in enumerate(MODES[: max(1, min(modes, len(MODES)))]):
        name, lead, cost, premium = m
        if i == modes - 1 and modes > 1:
            name, lead, cost, premium = MODES[3]
        for p_ in pl:
            for d_ in dc:
                lanes.append((p_, d_, name, round(cost * rng.uniform(0.8, 1.2), 2), lead * rng.uniform(0.8, 1.5), lead * 0.3, premium))
    for c_i, c_ in enumerate(cu):
        for j in near[c_i]:
            lanes.append((dc[j], c_, "truck", round(rng.uniform(0.3, 1.5), 2), rng.uniform(1, 4), 0.5, False))
    lanes_t = pd.DataFrame(lanes, columns=["origin", "destination", "mode", "cost_per_unit", "lead_time_days", "lead_time_std_days", "premium"])
    lanes_t["lead_time_days"] = lanes_t["lead_time_days"].round(1)

    first = demand[demand["period"] == per[0]]
    near_dc = pd.DataFrame({"customer": cu, "site": [dc[n[0]] for n in near]})
    opening = first.merge(near_dc).groupby(["site", "product"], as_index=False)["quantity"].sum()
    inventory = opening.assign(initial=(opening["quantity"] * 0.5).round(0), safety_stock=(opening["quantity"] * 0.2).round(0))[["site", "product", "initial", "safety_stock"]]

    service = pd.DataFrame({"segment": segs, "fill_rate": [0.95, 0.9, 0.0], "backorder_cost": [np.nan, 2.0, np.nan]})
    tables = {
        "periods": pd.DataFrame({"period": per, "days": days}),
        "products": products_t,
        "sites": sites,
        "customers": customers_t,
        "demand": demand.reset_index(drop=True),
        "production": production,
        "routings": routings,
        "capacity": capacity,
        "lanes": lanes_t,
        "inventory": inventory,
        "service": service,
        "settings": pd.DataFrame({"key": ["currency"], "value": ["USD"]}),
    }
    if suppliers:
        comp = [f"CMP{i:04d}" for i in range(max(1, products // 10))]
        tables["products"] = pd.concat([products_t, pd.DataFrame({"product": comp, "unit_value": 2.0, "price": 0.0, "holding_rate": 0.25})], ignore_index=True)
        parent = production.drop_duplicates("product")
        tables["bom"] = parent[["site", "product"]].assign(component=[comp[i % len(comp)] for i in range(len(parent))], quantity=1.0)
        tables["supply"] = pd.DataFrame({"site": [sup[i % suppliers] for i in range(len(comp))], "product": comp, "unit_cost": 1.0})
        for s_ in sup:
            for p_ in pl:
                lanes.append((s_, p_, "ocean", 0.2, 45.0, 15.0, False))
                lanes.append((s_, p_, "air", 1.5, 3.0, 1.0, True))
        tables["lanes"] = pd.DataFrame(lanes, columns=lanes_t.columns)
    return tables


def write(tables: dict[str, pd.DataFrame], out: Path) -> None:
    if out.suffix.lower() == ".xlsx":
        with pd.ExcelWriter(out, engine="openpyxl") as xw:
            for name, df in tables.items():
                df.to_excel(xw, sheet_name=name, index=False)
        return
    out.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_csv(out / f"{name}.csv", index=False)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for k, d in [("products", 50), ("plants", 2), ("dcs", 4), ("customers", 20), ("periods", 12), ("modes", 3), ("suppliers", 0), ("seed", 7)]:
        ap.add_argument(f"--{k}", type=int, default=d)
    ap.add_argument("--density", type=float, default=0.3)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    t = generate(a.products, a.plants, a.dcs, a.customers, a.periods, a.modes, a.density, a.suppliers, a.seed)
    write(t, Path(a.out))
    print(f"wrote {a.out}: {len(t['products'])} products, {len(t['sites'])} sites, {len(t['customers'])} customers, {len(t['demand'])} demand rows, {len(t['lanes'])} lanes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
