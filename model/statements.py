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
from .costing import Trace, opening_stock, receipts, trace
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
    """The plan's P&L by period and for the year: revenue (price x delivered, in the period it
    arrives); the cost of goods sold, by element (production, co-manufacturing, purchases,
    overtime, freight by mode, premium apart, and opening stock and receipts at unit_value):
    the cost of the units delivered in the period, traced along their flows (``trace``,
    without holding); contribution margin and margin %; then holding (the cost of capital
    tied up, not cash) and the margin after it. Penalties are shown apart, below: lost revenue
    is revenue that did not happen, not a cost line. Last, the reconciliation with the cash
    view: what was spent (production, co-manufacturing, purchases, overtime, freight, when
    they happen), the value of receipts from outside the plan, and the change in the value of
    stock on hand and in transit at cost (``stock_at_cost``): spent + received = cost of goods
    sold + change in inventory value, period by period. Revenue lines equal the summary's
    revenue; spent, holding and penalties together equal the objective. Costs are negative."""
    f = Figures.of(plan)
    periods = f.case.period_names
    costs = f.period_costs
    rev = f.deliveries.groupby("period")["revenue"].sum().reindex(periods, fill_value=0.0)
    grid = costs.pivot_table(index=["group", "line"], columns="period", values="amount", aggfunc="sum", fill_value=0.0, sort=False).reindex(columns=periods, fill_value=0.0)
    tr = f.at_cost
    sold = tr.served.groupby("period")[tr.elements].sum().reindex(periods, fill_value=0.0)
    stock = stock_at_cost(f, tr)

    def line(name: str, values: pd.Series, kind: str) -> dict:
        values = values + 0.0  # no -0.0 in a statement
        return {"line": name, "kind": kind, **values.to_dict(), "year": float(values.sum()) + 0.0}

    out = [line("revenue", rev, "revenue")]
    spent_lines = [name for (g, name) in grid.index if g in ("cost of goods", "overtime", "freight")]
    cogs = pd.Series(0.0, index=periods)
    for name in dict.fromkeys([*spent_lines, *tr.elements]):
        vals = sold[name] if name in sold else pd.Series(0.0, index=periods)
        if name not in spent_lines and not (vals.abs() > 0).any():
            continue
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
    spent = grid.loc[grid.index.get_level_values(0).isin(["cost of goods", "overtime", "freight"])].sum().reindex(periods, fill_value=0.0)
    received = stock["received"].reindex(periods, fill_value=0.0)
    change = stock["inventory_value"].diff().fillna(stock["inventory_value"].iloc[0] - stock.attrs["opening"]) if len(stock) else stock["inventory_value"]
    out.append(line("spent (the cash view: production to freight)", -spent, "reconciliation"))
    if (received.abs() > 0).any():
        out.append(line("received: scheduled receipts at unit value", -received, "reconciliation"))
    out.append(line("change in inventory value at cost (on hand and in transit)", change.reindex(periods), "reconciliation"))
    return pd.DataFrame(out)


def stock_at_cost(plan: Solved | Figures, tr: Trace | None = None) -> pd.DataFrame:
    """By period: the stock at each period end valued at what it cost (``trace`` without
    holding: on hand at its node's average cost, in transit at its cost where it left plus the
    freight paid), ``inventory_value``; and ``received``, the value of scheduled receipts at
    unit_value. ``attrs['opening']``: the opening stock at unit_value (the value before the
    first period)."""
    f = Figures.of(plan)
    tr = tr if tr is not None else f.at_cost
    names = f.case.period_names
    inv = f.v["inv"][["site", "product", "t", "value"]]
    on = inv.merge(tr.nodes[["site", "product", "t", *tr.elements]], on=["site", "product", "t"])
    hand = (on[tr.elements].sum(axis=1) * on["value"]).groupby(on["t"]).sum()
    moving = tr.transit[tr.elements].sum(axis=1).groupby(tr.transit["t"]).sum() if len(tr.transit) else pd.Series(dtype=float)
    t = np.arange(len(names))
    value = hand.reindex(t, fill_value=0.0).to_numpy() + moving.reindex(t, fill_value=0.0).to_numpy()
    uv = f.case.products.set_index("product")["unit_value"]
    # Only goods that reach a node of the plan count: those the trace values.
    known = pd.MultiIndex.from_frame(tr.nodes[["site", "product", "t"]])
    rc = receipts(f.case)
    rc = rc[pd.MultiIndex.from_frame(rc[["site", "product", "t"]]).isin(known)]
    received = (rc["value"] * rc["product"].map(uv)).groupby(rc["t"]).sum().reindex(t, fill_value=0.0).to_numpy()
    op = opening_stock(f.case)
    op = op[pd.MultiIndex.from_frame(op[["site", "product", "t"]]).isin(known)]
    out = pd.DataFrame({"period": names, "inventory_value": value, "received": received}).set_index("period")
    out.attrs["opening"] = float((op["value"] * op["product"].map(uv)).sum())
    return out


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
    total, the cost of goods sold (the P&L's: the units delivered at what they cost, holding
    apart), and days of inventory (value over the cost of goods sold per day)."""
    f = Figures.of(plan)
    built, case = f.built, f.case
    names = case.period_names
    detail = inventory_value_detail(built, f.v)
    tr = f.at_cost
    cogs = tr.served.groupby("period")[tr.elements].sum().sum(axis=1).reindex(names, fill_value=0.0)
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
    """The average cost of a unit at each site, product and period, holding included
    (``trace``): the nodes (site, product, t, n, inflow, unit_cost) and the cost of each
    delivery (product, customer, period, units, cost)."""
    f = Figures.of(plan)
    tr = trace(f.built, f.v, holding=True)
    nodes = tr.nodes[["site", "product", "t", "n", "inflow"]].assign(unit_cost=tr.nodes[tr.elements].sum(axis=1))
    return nodes, tr.served[["product", "customer", "period", "units", "cost"]]


def cost_to_serve(plan: Solved | Figures) -> pd.DataFrame:
    """By customer and product: units delivered, revenue, the allocated cost (each unit's
    production, purchase, freight and holding traced along its path: ``node_costs``), the
    average per unit, the marginal cost per unit (what one more unit of the customer's demand
    would cost, weighted by demand over the periods: its demand row's shadow price, plus, where
    the segment has a fill-rate target and a lane reaches the demand, the target's share of
    that unit times the service row's shadow price, since the target is a share of demand and
    rises with it), and the margin."""
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
    found = built.lp.block("service")
    if found is not None and len(found[0]):
        b, sl = found
        target = built.case.service.set_index("segment")["fill_rate"]
        svc = b.keys[["segment", "period"]].assign(service_price=sol.row_dual[sl])
        svc["share"] = svc["segment"].map(target).fillna(0.0)
        m = m.merge(svc, how="left", on=["segment", "period"])
        # Only demand some lane reaches counts in the target (``build.segment_demand``).
        can = built.variables["deliver"][["product", "destination", "period"]].drop_duplicates().rename(columns={"destination": "customer"})
        reached = pd.MultiIndex.from_frame(m[k]).isin(pd.MultiIndex.from_frame(can[k]))
        m["marginal"] = m["marginal"] + np.where(reached, (m["share"] * m["service_price"]).fillna(0.0), 0.0)
    m["weighted"] = m["marginal"].fillna(0.0) * m["quantity"].fillna(0.0)
    g = m.groupby(["segment", "customer", "product"], as_index=False)[["units", "revenue", "cost", "weighted", "quantity"]].sum()
    g["cost_per_unit"] = np.where(g["units"] > 0, g["cost"] / g["units"].where(g["units"] > 0, 1.0), np.nan)
    g["marginal_cost_per_unit"] = np.where(g["quantity"] > 0, g["weighted"] / g["quantity"].where(g["quantity"] > 0, 1.0), np.nan)
    g["margin"] = g["revenue"] - g["cost"]
    g["margin_pct"] = np.where(g["revenue"] > 0, g["margin"] / g["revenue"].where(g["revenue"] > 0, 1.0), np.nan)
    return g.drop(columns=["weighted", "quantity"]).rename(columns={"cost": "allocated_cost"})
