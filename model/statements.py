"""The plan in the financial statements: the P&L by period, inventory as working capital, cash
with payment and collection terms, and cost-to-serve traced along the plan's flows.

Every figure is read from the solved plan (``results.Figures``: its variable values, deliveries
and period costs computed once and shared by every statement). Money is in the case's currency;
in the statements a cost is negative, revenue positive.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .build import Built, calendar
from .results import Figures
from .solve import Solved

#: The statements a plan carries (``statements``), in order.
STATEMENT_TABLES = ("pnl", "working_capital", "inventory_value", "cash", "cost_to_serve")


def statements(plan: Solved | Figures) -> dict[str, pd.DataFrame]:
    """Every statement of a solved plan (``STATEMENT_TABLES``), from one set of figures."""
    f = Figures.of(plan)
    detail, by_period = working_capital(f)
    return {"pnl": pnl(f), "working_capital": detail, "inventory_value": by_period, "cash": cash(f, by_period), "cost_to_serve": cost_to_serve(f)}


def pnl(plan: Solved | Figures) -> pd.DataFrame:
    """The plan's P&L by period and for the year: revenue (price x delivered), cost of goods
    (production, co-manufacturing, purchases), overtime, freight by mode (premium apart),
    contribution margin and margin %, then holding (the cost of capital tied up, not cash) and
    the margin after it. Penalties are shown apart, below: lost revenue is revenue that did not
    happen, not a cost line. Revenue lines equal the summary's revenue, and the cost lines
    with the penalties equal the objective."""
    f = Figures.of(plan)
    periods = f.case.period_names
    costs = f.period_costs
    rev = f.deliveries.groupby("period")["revenue"].sum().reindex(periods, fill_value=0.0)
    grid = costs.pivot_table(index=["group", "line"], columns="period", values="amount", aggfunc="sum", fill_value=0.0, sort=False).reindex(columns=periods, fill_value=0.0)

    def line(name: str, values: pd.Series, kind: str) -> dict:
        values = values + 0.0  # no -0.0 in a statement
        return {"line": name, "kind": kind, **values.to_dict(), "year": float(values.sum()) + 0.0}

    out = [line("revenue", rev, "revenue")]
    cogs = pd.Series(0.0, index=periods)
    for group in ("cost of goods", "overtime", "freight"):
        for (_g, name), vals in grid.loc[grid.index.get_level_values(0) == group].iterrows():
            out.append(line(name, -vals, "cost"))
            cogs = cogs + vals
    margin = rev - cogs
    out.append(line("contribution margin", margin, "margin"))
    pct = (margin / rev.where(rev != 0)).fillna(0.0)
    out.append({"line": "contribution margin %", "kind": "percent", **pct.to_dict(), "year": float(margin.sum() / rev.sum()) if rev.sum() else 0.0})
    carry = grid.loc[grid.index.get_level_values(0) == "carrying (not cash)"].sum()
    out.append(line("holding (cost of capital, not cash)", -carry, "cost"))
    out.append(line("margin after holding", margin - carry, "margin"))
    for (_g, name), vals in grid.loc[grid.index.get_level_values(0) == "penalties"].iterrows():
        out.append(line(f"penalty: {name} (not in the margin)", -vals, "penalty"))
    return pd.DataFrame(out)


def inventory_value_detail(built: Built, v: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Inventory's value (unit_value) at each period end by period, site and product family:
    ``on_hand_value`` and ``in_transit_value`` (goods on the way to the site, or to a customer
    from it). ``v``: results.variable_values."""
    case = built.case
    products = case.products.set_index("product")
    uv, fam = products["unit_value"], products["family"].fillna("")
    inv = v["inv"].assign(value=lambda d: d["value"] * d["product"].map(uv), family=lambda d: d["product"].map(fam))
    hand = inv.groupby(["period", "site", "family"], as_index=False)["value"].sum().rename(columns={"value": "on_hand_value"})
    flows = pd.concat([v["ship"].assign(site=v["ship"]["destination"]), v["deliver"].assign(site=v["deliver"]["origin"])], ignore_index=True)
    legs = flows[["lane", "t", "site", "product", "value"]].merge(built.legs, on=["lane", "t"])
    T, names = len(case.periods), case.period_names
    moving = []
    for i in range(int((legs["arr"] - legs["dep"]).max()) if len(legs) else 0):
        at = legs[(legs["dep"] + i < legs["arr"]) & (legs["dep"] + i < T)]
        moving.append(at.assign(t_end=at["dep"] + i))
    moving = pd.concat(moving, ignore_index=True) if moving else legs.assign(t_end=legs["dep"]).iloc[0:0]
    moving = moving.assign(
        # Typed even when nothing moves: an empty column's map keeps its text dtype (pandas 3),
        # and an untyped empty period column (float) cannot merge on period.
        value=moving["value"] * moving["share"] * moving["product"].map(uv).astype(float), period=np.array(names, dtype=object)[moving["t_end"].to_numpy(dtype=int)],
        family=moving["product"].map(fam),
    )
    transit = moving.groupby(["period", "site", "family"], as_index=False)["value"].sum().rename(columns={"value": "in_transit_value"})
    detail = hand.merge(transit, how="outer", on=["period", "site", "family"]).fillna({"on_hand_value": 0.0, "in_transit_value": 0.0})
    order = {p: i for i, p in enumerate(names)}
    return detail.assign(_t=detail["period"].map(order)).sort_values(["_t", "site", "family"]).drop(columns="_t").reset_index(drop=True)


def working_capital(plan: Solved | Figures) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Inventory in the balance sheet: its value (unit_value) at each period end, on hand and
    in transit, by site and product family (``inventory_value_detail``); and per period the
    total, the cost of goods, and days of inventory (value over the cost of goods per day)."""
    f = Figures.of(plan)
    built, case = f.built, f.case
    names = case.period_names
    detail = inventory_value_detail(built, f.v)
    costs = f.period_costs
    cogs = costs[costs["group"] == "cost of goods"].groupby("period")["amount"].sum().reindex(names, fill_value=0.0)
    total = detail.groupby("period")[["on_hand_value", "in_transit_value"]].sum().reindex(names, fill_value=0.0)
    days = case.periods.set_index("period")["days"].reindex(names)
    summary = pd.DataFrame(
        {
            "period": names,
            "on_hand_value": total["on_hand_value"].to_numpy(),
            "in_transit_value": total["in_transit_value"].to_numpy(),
            "inventory_value": (total["on_hand_value"] + total["in_transit_value"]).to_numpy(),
            "cost_of_goods": cogs.to_numpy(),
        }
    )
    per_day = summary["cost_of_goods"] / days.to_numpy()
    summary["days_of_inventory"] = np.where(per_day > 0, summary["inventory_value"] / per_day.where(per_day > 0, 1.0), np.nan)
    return detail, summary


def _delayed(amount: pd.Series, days: np.ndarray, delay: float) -> tuple[np.ndarray, float]:
    """Amounts incurred evenly over each period, paid ``delay`` days later: by period of
    payment, and what falls after the plan."""
    start, end = calendar(days)
    a0, a1 = start + delay, end + delay
    share = np.clip(np.minimum(a1[:, None], end[None, :]) - np.maximum(a0[:, None], start[None, :]), 0.0, None) / (end - start)[:, None]
    after = 1.0 - share.sum(axis=1)
    x = np.asarray(amount, dtype=float)
    return x @ share, float(x @ after)


def cash(plan: Solved | Figures, inventory_value: pd.DataFrame | None = None) -> pd.DataFrame:
    """Cash by period: revenue collected (``collection_days`` after delivery), and production,
    co-manufacturing, purchases, overtime and freight paid (``payment_days`` after they
    happen; both settings, default 0), the net cash of the plan, and the working-capital
    change (inventory value at unit value, receivables, payables). The last rows: what is
    still to collect and to pay when the plan ends. ``inventory_value``: ``working_capital``'s
    table by period, when the caller has it."""
    f = Figures.of(plan)
    case = f.case
    names = case.period_names
    days = case.periods["days"].to_numpy(float)
    collect = float(case.settings.get("collection_days", 0) or 0)
    pay = float(case.settings.get("payment_days", 0) or 0)
    rev = f.deliveries.groupby("period")["revenue"].sum().reindex(names, fill_value=0.0)
    costs = f.period_costs
    spend = costs[costs["group"].isin(["cost of goods", "overtime", "freight"])].groupby("period")["amount"].sum().reindex(names, fill_value=0.0)
    cash_in, rec_end = _delayed(rev, days, collect)
    cash_out, pay_end = _delayed(spend, days, pay)
    wc = working_capital(f)[1] if inventory_value is None else inventory_value
    inventory = wc["inventory_value"].to_numpy()
    opening = float((case.inventory["initial"] * case.inventory["product"].map(case.products.set_index("product")["unit_value"])).sum())
    receivables = np.cumsum(rev.to_numpy() - cash_in)
    payables = np.cumsum(spend.to_numpy() - cash_out)
    out = pd.DataFrame(
        {
            "period": names,
            "revenue": rev.to_numpy(),
            "collected": cash_in,
            "spent": spend.to_numpy(),
            "paid": cash_out,
            "net_cash": cash_in - cash_out,
            "inventory_value": inventory,
            "receivables": receivables,
            "payables": payables,
        }
    )
    wc_level = out["inventory_value"] + out["receivables"] - out["payables"]
    out["working_capital_change"] = wc_level.diff().fillna(wc_level.iloc[0] - opening) if len(out) else []
    out.attrs["receivable_at_end"], out.attrs["payable_at_end"] = rec_end, pay_end
    return out



# --------------------------------------------------------------------------------------
# Cost-to-serve
# --------------------------------------------------------------------------------------


def node_costs(plan: Solved | Figures) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The average cost of a unit at each site, product and period, traced through the plan's
    flows: what came in (opening stock and receipts at unit_value, units made at their cost
    with their overtime share and their components' own average cost, co-manufactured,
    bought, arrived from another site at its cost there plus freight and holding in transit,
    carried from the last period with its holding) over the units that came in. A sparse
    linear system: components and same-period lanes tie nodes together. Returns (nodes, the
    cost of each delivery: product, customer, period, units, cost)."""
    from scipy.sparse import coo_array
    from scipy.sparse.linalg import spsolve

    f = Figures.of(plan)
    built, case, v = f.built, f.case, f.v
    T = len(case.periods)
    k = ["site", "product", "t"]
    made, out_, buy, inv = v["make"], v["outsource"], v["buy"], v["inv"]
    flows = v["ship"][v["ship"]["value"] > 0].merge(built.legs, on=["lane", "t"])
    flows = flows[flows["arr"] < T]
    node_keys = pd.concat(
        [made[k], out_[k], buy[k], inv[k], flows[["origin", "product", "dep"]].set_axis(k, axis=1), flows[["destination", "product", "arr"]].set_axis(k, axis=1)],
        ignore_index=True,
    ).drop_duplicates().reset_index(drop=True)
    node_keys["n"] = np.arange(len(node_keys))
    idx = node_keys.set_index(k)["n"]
    n = len(node_keys)

    def nodes(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
        return idx.reindex(pd.MultiIndex.from_frame(df[cols].set_axis(k, axis=1))).to_numpy()

    rows, cols, vals, rhs, inflow = [], [], [], np.zeros(n), np.zeros(n)
    # Made: its unit cost, its overtime share, its components (from the same node's site).
    ot = _overtime_per_unit(built, v)
    m = made[made["value"] > 0].merge(ot, how="left", on=["site", "product", "period"]).fillna({"ot": 0.0})
    i = nodes(m, k).astype(int)
    np.add.at(inflow, i, m["value"])
    np.add.at(rhs, i, m["value"] * (m["cost"] + m["ot"]))
    bom = m.merge(case.bom, on=["site", "product"], suffixes=("", "_bom"))
    if len(bom):
        comp = nodes(bom.assign(product=bom["component"]), k)
        rows += list(nodes(bom, k).astype(int))
        cols += list(comp.astype(int))
        vals += list(-bom["value"] * bom["quantity"])
    for df in (out_, buy):
        d = df[df["value"] > 0]
        i = nodes(d, k).astype(int)
        np.add.at(inflow, i, d["value"])
        np.add.at(rhs, i, d["value"] * d["cost"])
    # Opening stock and receipts at unit value.
    uv = case.products.set_index("product")["unit_value"]
    opening = case.inventory[case.inventory["initial"] > 0].assign(t=0, value=lambda d: d["initial"])
    receipts = case.receipts.merge(case.periods[["period", "t"]]).assign(value=lambda d: d["quantity"])
    for d in (opening, receipts):
        d = d[d["value"] > 0]
        if len(d):
            i = nodes(d, k)
            ok = ~np.isnan(i.astype(float))
            i, d = i[ok].astype(int), d[ok]
            np.add.at(inflow, i, d["value"])
            np.add.at(rhs, i, d["value"] * d["product"].map(uv))
    # Carried: last period's stock with its holding.
    carry = inv[(inv["value"] > 0) & (inv["t"] < T - 1)]
    to = nodes(carry.assign(t=carry["t"] + 1), k).astype(int)
    frm = nodes(carry, k).astype(int)
    np.add.at(inflow, to, carry["value"])
    np.add.at(rhs, to, carry["value"] * carry["cost"])
    rows += list(to)
    cols += list(frm)
    vals += list(-carry["value"])
    # Arrived from another site: its cost where it left, freight and holding in transit.
    units = flows["value"] * flows["share"]
    to = nodes(flows[["destination", "product", "arr"]], ["destination", "product", "arr"]).astype(int)
    frm = nodes(flows[["origin", "product", "dep"]], ["origin", "product", "dep"]).astype(int)
    np.add.at(inflow, to, units)
    np.add.at(rhs, to, units * (flows["freight"] + flows["transit_holding"]))
    rows += list(to)
    cols += list(frm)
    vals += list(-units)
    diag = np.where(inflow > 0, inflow, 1.0)
    A = coo_array((np.concatenate([diag, np.asarray(vals, dtype=float)]), (np.concatenate([np.arange(n), np.asarray(rows, dtype=int)]), np.concatenate([np.arange(n), np.asarray(cols, dtype=int)]))), shape=(n, n)).tocsc()
    rhs = np.where(inflow > 0, rhs, node_keys["product"].map(uv).to_numpy(dtype=float))
    cost = spsolve(A, rhs) if n else np.zeros(0)
    node_keys["unit_cost"] = cost
    node_keys["inflow"] = inflow
    # Deliveries: the cost where they left (by departure share), freight and holding in transit.
    d = v["deliver"][v["deliver"]["value"] > 0].merge(built.legs, on=["lane", "t"])
    at = nodes(d[["origin", "product", "dep"]], ["origin", "product", "dep"])
    d = d.assign(units=d["value"] * d["share"], at_origin=cost[at.astype(int)] if len(d) else [])
    d["cost"] = d["units"] * (d["at_origin"] + d["freight"] + d["transit_holding"])
    names = np.array(case.period_names, dtype=object)
    served = d.assign(period=names[d["arr"].to_numpy(dtype=int)], customer=d["destination"]).groupby(["product", "customer", "period"], as_index=False)[["units", "cost"]].sum()
    return node_keys, served


def _overtime_per_unit(built, v) -> pd.DataFrame:
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


def cost_to_serve(plan: Solved | Figures) -> pd.DataFrame:
    """By customer and product: units delivered, revenue, the allocated cost (each unit's
    production, purchase, freight and holding traced along its path: ``node_costs``), the
    average per unit, the marginal cost (the demand rows' shadow price, weighted by demand:
    what one more unit would cost), and the margin."""
    f = Figures.of(plan)
    built, sol = f.built, f.solution
    _, served = node_costs(f)
    rev = f.deliveries
    k = ["product", "customer", "period"]
    m = rev[k + ["units", "revenue"]].merge(served[k + ["cost"]], how="left", on=k).fillna({"cost": 0.0})
    found = built.lp.block("demand")
    if found is not None:
        b, sl = found
        dual = b.keys.assign(marginal=sol.row_dual[sl], quantity=built.lp.limit[sl])
        m = m.merge(dual, how="left", on=k)
    else:
        m = m.assign(marginal=np.nan, quantity=0.0)
    m["segment"] = m["customer"].map(built.case.customers.set_index("customer")["segment"])
    m["weighted"] = m["marginal"].fillna(0.0) * m["quantity"].fillna(0.0)
    g = m.groupby(["segment", "customer", "product"], as_index=False)[["units", "revenue", "cost", "weighted", "quantity"]].sum()
    g["cost_per_unit"] = np.where(g["units"] > 0, g["cost"] / g["units"].where(g["units"] > 0, 1.0), np.nan)
    g["marginal_cost_per_unit"] = np.where(g["quantity"] > 0, g["weighted"] / g["quantity"].where(g["quantity"] > 0, 1.0), np.nan)
    g["margin"] = g["revenue"] - g["cost"]
    g["margin_pct"] = np.where(g["revenue"] > 0, g["margin"] / g["revenue"].where(g["revenue"] > 0, 1.0), np.nan)
    return g.drop(columns=["weighted", "quantity"]).rename(columns={"cost": "allocated_cost"})
