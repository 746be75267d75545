"""A plan's costs traced along its flows: the average cost of a unit at each site, product and
period, by element (production, co-manufacturing, purchases, overtime, freight by mode, what
came from outside the plan, holding), and so the cost of every delivery and of the stock on
hand and in transit. The cost of goods sold (the P&L, the contribution margin) and the
allocated cost-to-serve read it. Money is in the case's currency, per unit or in total.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .build import Built
from .validate import Case

#: The part of a unit's cost that is the value of goods the plan did not buy or make: the
#: opening stock and scheduled receipts, at unit_value.
FROM_OUTSIDE = "opening stock and receipts (at unit value)"
#: The part of a unit's cost that is holding (the cost of capital, not cash).
HOLDING = "holding (cost of capital, not cash)"


@dataclass(frozen=True)
class Trace:
    """A plan's costs traced along its flows, by element (the P&L's lines: production,
    co-manufacturing, purchases, overtime, freight by mode, what came from outside the plan,
    and holding where traced). ``nodes``: site, product, t, inflow (units) and the average
    cost of a unit there by element (money per unit, one column per element); ``served``:
    product, customer, period (of arrival), units and the cost of those deliveries by element
    (money); ``transit``: goods on their way at each period end (site: where they go, or the
    site they left for a customer), by element (money): their cost where they left plus the
    freight paid when they left."""

    elements: list[str]
    nodes: pd.DataFrame
    served: pd.DataFrame
    transit: pd.DataFrame


def trace(built: Built, v: dict[str, pd.DataFrame], holding: bool = True) -> Trace:
    """The average cost of a unit at each site, product and period, by element, traced through
    the plan's flows: what came in (opening stock and receipts at unit_value, units made at
    their cost with their overtime share and their components' own average cost,
    co-manufactured, bought, arrived from another site at its cost there plus freight and,
    with ``holding``, holding in transit, carried from the last period with, with ``holding``,
    its holding) over the units that came in. Every unit leaving a node (delivered, shipped,
    consumed, carried) leaves at that average, so value is conserved along the flows: without
    holding, what the plan spends plus what came from outside equals the cost of what was
    delivered plus the change of stock valued at cost. A sparse linear system (components and
    same-period lanes tie nodes together), one right-hand side per element. ``v``: the
    variable tables with their values (``results.variable_values``)."""
    from scipy.sparse import coo_array
    from scipy.sparse.linalg import spsolve

    case = built.case
    T = len(case.periods)
    k = ["site", "product", "t"]
    made, out_, buy, inv = v["make"], v["outsource"], v["buy"], v["inv"]
    legs_all = v["ship"][v["ship"]["value"] > 0].merge(built.legs, on=["lane", "t"])
    legs_all["line"] = _freight_line(legs_all)
    flows = legs_all[legs_all["arr"] < T]
    d = v["deliver"][v["deliver"]["value"] > 0].merge(built.legs, on=["lane", "t"])
    d["line"] = _freight_line(d)
    node_keys = pd.concat(
        [made[k], out_[k], buy[k], inv[k], legs_all[["origin", "product", "dep"]].set_axis(k, axis=1), flows[["destination", "product", "arr"]].set_axis(k, axis=1)],
        ignore_index=True,
    ).drop_duplicates().reset_index(drop=True)
    node_keys["n"] = np.arange(len(node_keys))
    idx = node_keys.set_index(k)["n"]
    n = len(node_keys)
    freight_lines = sorted(set(legs_all["line"]) | set(d["line"]))
    elements = ["production", "co-manufacturing", "purchases", "overtime", *freight_lines, FROM_OUTSIDE] + ([HOLDING] if holding else [])
    col = {e: i for i, e in enumerate(elements)}

    def nodes(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
        return idx.reindex(pd.MultiIndex.from_frame(df[cols].set_axis(k, axis=1))).to_numpy()

    rows, cols, vals, inflow = [], [], [], np.zeros(n)
    rhs = np.zeros((n, len(elements)))

    def add(at: np.ndarray, element: str, amount) -> None:
        np.add.at(rhs[:, col[element]], at, np.asarray(amount, dtype=float))

    # Made: its unit cost, its overtime share, its components (from the same node's site).
    ot = _overtime_per_unit(built, v)
    m = made[made["value"] > 0].merge(ot, how="left", on=["site", "product", "period"]).fillna({"ot": 0.0})
    i = nodes(m, k).astype(int)
    np.add.at(inflow, i, m["value"])
    add(i, "production", m["value"] * m["cost"])
    add(i, "overtime", m["value"] * m["ot"])
    bom = m.merge(case.bom, on=["site", "product"], suffixes=("", "_bom"))
    if len(bom):
        comp = nodes(bom.assign(product=bom["component"]), k)
        rows += list(nodes(bom, k).astype(int))
        cols += list(comp.astype(int))
        vals += list(-bom["value"] * bom["quantity"])
    for df, element in ((out_, "co-manufacturing"), (buy, "purchases")):
        got = df[df["value"] > 0]
        i = nodes(got, k).astype(int)
        np.add.at(inflow, i, got["value"])
        add(i, element, got["value"] * got["cost"])
    # Opening stock and receipts at unit value.
    uv = case.products.set_index("product")["unit_value"]
    for got in (opening_stock(case), receipts(case)):
        got = got[got["value"] > 0]
        if len(got):
            i = nodes(got, k)
            ok = ~np.isnan(i.astype(float))
            i, got = i[ok].astype(int), got[ok]
            np.add.at(inflow, i, got["value"])
            add(i, FROM_OUTSIDE, got["value"] * got["product"].map(uv))
    # Carried: last period's stock (with its holding).
    carry = inv[(inv["value"] > 0) & (inv["t"] < T - 1)]
    to = nodes(carry.assign(t=carry["t"] + 1), k).astype(int)
    frm = nodes(carry, k).astype(int)
    np.add.at(inflow, to, carry["value"])
    if holding:
        add(to, HOLDING, carry["value"] * carry["cost"])
    rows += list(to)
    cols += list(frm)
    vals += list(-carry["value"])
    # Arrived from another site: its cost where it left, freight (and holding in transit).
    units = flows["value"] * flows["share"]
    to = nodes(flows[["destination", "product", "arr"]], ["destination", "product", "arr"]).astype(int)
    frm = nodes(flows[["origin", "product", "dep"]], ["origin", "product", "dep"]).astype(int)
    np.add.at(inflow, to, units)
    for line, g in flows.assign(units=units, to=to).groupby("line"):
        add(g["to"].to_numpy(), str(line), g["units"] * g["freight"])
    if holding:
        add(to, HOLDING, units * flows["transit_holding"])
    rows += list(to)
    cols += list(frm)
    vals += list(-units)
    diag = np.where(inflow > 0, inflow, 1.0)
    A = coo_array((np.concatenate([diag, np.asarray(vals, dtype=float)]), (np.concatenate([np.arange(n), np.asarray(rows, dtype=int)]), np.concatenate([np.arange(n), np.asarray(cols, dtype=int)]))), shape=(n, n)).tocsc()
    # A node nothing came into sends nothing on: its unit_value stands in, from outside.
    rhs[inflow <= 0, :] = 0.0
    rhs[inflow <= 0, col[FROM_OUTSIDE]] = node_keys.loc[inflow <= 0, "product"].map(uv).to_numpy(dtype=float)
    cost = np.asarray(spsolve(A, rhs), dtype=float).reshape(n, len(elements)) if n else np.zeros((0, len(elements)))
    node_keys = pd.concat([node_keys.assign(inflow=inflow), pd.DataFrame(cost, columns=elements)], axis=1)
    names = np.array(case.period_names, dtype=object)

    def leaving(df: pd.DataFrame) -> pd.DataFrame:
        """Each leg's units and cost by element: the cost where it left, plus its freight
        (and holding in transit)."""
        at = nodes(df[["origin", "product", "dep"]], ["origin", "product", "dep"]).astype(int)
        units = (df["value"] * df["share"]).to_numpy()
        out = pd.DataFrame(cost[at] * units[:, None] if len(df) else np.zeros((0, len(elements))), columns=elements, index=df.index)
        for line in freight_lines:
            out[line] += np.where(df["line"] == line, units * df["freight"].to_numpy(), 0.0)
        if holding:
            out[HOLDING] += units * df["transit_holding"].to_numpy()
        return out.assign(units=units)

    # Deliveries: the cost where they left (by departure share), freight (and holding in transit).
    dc = leaving(d)
    served = pd.concat([d[["product"]].assign(customer=d["destination"], period=names[d["arr"].to_numpy(dtype=int)]), dc], axis=1)
    served = served.groupby(["product", "customer", "period"], as_index=False)[["units", *elements]].sum()
    served["cost"] = served[elements].sum(axis=1)
    # In transit at each period end: legs that left by then and arrive after (to a site; to a
    # customer, counted at the site it left).
    moving = []
    for df, site in ((legs_all, "destination"), (d, "origin")):
        if not len(df):
            continue
        lc = leaving(df)
        for ahead in range(int((df["arr"] - df["dep"]).max())):
            on = (df["dep"] + ahead < df["arr"]) & (df["dep"] + ahead < T)
            moving.append(pd.concat([df.loc[on, [site]].set_axis(["site"], axis=1).assign(t=(df.loc[on, "dep"] + ahead).to_numpy()), lc[on]], axis=1))
    transit = pd.concat(moving, ignore_index=True) if moving else pd.DataFrame(columns=["site", "t", "units", *elements])
    return Trace(elements, node_keys, served, transit)


def _freight_line(legs: pd.DataFrame) -> pd.Series:
    """A flow's freight line in the P&L (``results.period_costs``'s names)."""
    premium = legs["premium"].astype(bool) if "premium" in legs else pd.Series(False, index=legs.index)
    return "freight: " + legs["mode"].astype(str) + np.where(premium, " (premium)", "")


def opening_stock(case: Case) -> pd.DataFrame:
    return case.inventory[case.inventory["initial"] > 0].assign(t=0, value=lambda d: d["initial"])


def receipts(case: Case) -> pd.DataFrame:
    return case.receipts.merge(case.periods[["period", "t"]]).assign(value=lambda d: d["quantity"])


def _overtime_per_unit(built: Built, v: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Overtime cost of each site, resource and period spread over the units made on that
    resource then, by the hours they took: per unit, by site, product and period."""
    ot = v["overtime_hours"]
    ot = ot[ot["value"] > 0]
    if not len(ot):
        return pd.DataFrame(columns=["site", "product", "period", "ot"])
    use = v["make"][v["make"]["value"] > 0].merge(built.case.routings, on=["site", "product"])
    use = use.assign(hours=use["value"] * use["hours_per_unit"])
    use["share"] = use["hours"] / use.groupby(["site", "resource", "period"])["hours"].transform("sum")
    use = use.merge(ot[["site", "resource", "period", "value", "cost"]].rename(columns={"value": "ot_hours", "cost": "ot_rate"}), on=["site", "resource", "period"])
    use["ot"] = use["share"] * use["ot_hours"] * use["ot_rate"] / use["value"]
    return use.groupby(["site", "product", "period"], as_index=False)["ot"].sum()
