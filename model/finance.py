"""The finance view of a solved plan: what its constraints cost, where they cap revenue, the
plan in the financial statements, cost-to-serve, service and premium freight costed.

Every figure is read from the solved model (``solve.Solved``) and its tables. What-ifs (the
value of a step of a limit, the cost of a service target) are warm re-solves inside
``Solved.trial``, so the model is the plan again afterwards. Money is in the case's currency;
a cost is positive, a saving negative, unless a column says otherwise.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .build import Built, calendar
from .families import FAMILIES
from .results import Plan, _fmt, deliveries, variable_values
from .errors import SolveError
from .solve import Solved, Solution

#: The ledger re-solves this many of its entries (the largest by their prices' prediction);
#: each costs a warm re-solve and one back.
LEDGER_RESOLVES = 15
#: A step of a limit for the ledger: 10 % more of it in the periods it binds; a fill-rate
#: target eases by one point.
STEP = 0.10

MONTH = "%b %Y"
#: Seconds the what-if re-solves of one finance view may take together (``WhatIfs``).
WHAT_IF_SECONDS = 120.0


@dataclass
class WhatIfs:
    """The warm re-solves of a finance view share one time budget, so a plan of a million
    variables gets its statements in seconds and as many what-ifs as fit; a what-if that does
    not fit is left out and said to be (``skipped``), never guessed."""

    seconds: float = WHAT_IF_SECONDS
    ran: int = 0
    skipped: int = 0
    start: float = field(default_factory=time.perf_counter)

    def left(self) -> float:
        return self.seconds - (time.perf_counter() - self.start)

    def resolve(self, t: Solved) -> Solution | None:
        """Re-solve the trial model ``t`` within what is left of the budget: its solution;
        None when the budget is spent (before or during the re-solve). Raises SolveError when
        no plan meets the trial's limits."""
        left = self.left()
        if left <= 0:
            self.skipped += 1
            return None
        try:
            sol = t.resolve(prices=False, time_limit=left)
        except SolveError as e:
            if e.status != "time_limit":
                raise
            self.skipped += 1
            return None
        self.ran += 1
        return sol


# --------------------------------------------------------------------------------------
# The constraint cost ledger
# --------------------------------------------------------------------------------------


def _object_keys(family: str) -> list[str]:
    return [c for c in FAMILIES[family].index if c != "period"]


def ledger(solved: Solved, resolves: int = LEDGER_RESOLVES, what_ifs: WhatIfs | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Binding business limits grouped by what they limit over the periods (a line at a plant,
    a lane, a site's space, a supplier, a segment's promise, a budget), ranked by what a step
    of them is worth to the year; and the revenue each step recovers, by product family,
    customer, segment and period.

    For each entry: the periods it binds, its shadow prices (per unit of the limit, both sides
    where one-sided), the step (``STEP`` more of the limit in those periods; one point less of
    a fill-rate target), what the prices alone predict the step is worth, what a warm re-solve
    says it is worth (``value_of_step``: negative saves money), and the revenue it recovers.
    The ``resolves`` entries the prices value most are re-solved (within ``what_ifs``'s
    time); the others keep only the prediction, and ``re_solved`` says why. One sentence per
    entry says it in words."""
    built, sol = solved.built, solved.solution
    what_ifs = what_ifs or WhatIfs()
    cur = built.case.currency
    sp = _binding_levers(solved)
    if sp.empty:
        return _empty_ledger(), pd.DataFrame(columns=["constraint", "object", "family", "customer", "segment", "period", "revenue_recovered"])
    entries = []
    for (family, key), rows in sp.groupby(["constraint", "_object"], sort=False):
        fam = FAMILIES[family]
        first = rows.iloc[0]
        g = {c: first[c] for c in fam.index}.get
        service = family == "service"
        step = -0.01 * rows["_base"] if service else STEP * rows["limit"]
        price_rise = rows["shadow_price_up"].where(rows["shadow_price_up"].notna(), rows["shadow_price"])
        price_fall = rows["shadow_price_down"].where(rows["shadow_price_down"].notna(), rows["shadow_price"])
        predicted = float(((price_fall if service else price_rise) * step).sum())
        one_sided = bool(((rows["shadow_price_up"] - rows["shadow_price_down"]).abs() > 1e-9).any())
        entries.append(
            {
                "constraint": family,
                "object": fam.noun(g) if fam.noun else f"{family} {key}",
                **{c: first[c] for c in _object_keys(family)},
                "unit": first["limit_unit"],
                "periods": _periods_text(built, rows["period"]) if "period" in rows else "",
                "binding_periods": len(rows),
                "price_low": float(rows["shadow_price"].abs().min()),
                "price_high": float(rows["shadow_price"].abs().max()),
                "one_sided": one_sided,
                "step": "one point less of the target" if service else f"{STEP:.0%} more",
                "step_size": float(step.abs().sum()),
                "predicted": predicted,
                "_rows": rows["_row"].to_numpy(),
                "_new": (rows["limit"] + step).to_numpy(),
            }
        )
    led = pd.DataFrame(entries)
    led["value_of_step"] = np.nan
    led["revenue_recovered"] = np.nan
    led["re_solved"] = "no: beyond the entries re-solved"
    base_rev = deliveries(solved)
    drivers = []
    order = led["predicted"].abs().sort_values(ascending=False).index
    for i in order[:resolves]:
        e = led.loc[i]
        with solved.trial() as t:
            _set_rows(t, e["_rows"], e["_new"])
            try:
                stepped = what_ifs.resolve(t)
            except SolveError:
                led.at[i, "re_solved"] = "no: no plan meets the step"
                continue
            if stepped is None:
                led.at[i, "re_solved"] = "no: the what-if time was spent"
                continue
            led.at[i, "re_solved"] = "yes"
            led.at[i, "value_of_step"] = stepped.objective - sol.objective
            rev = deliveries(solved, stepped)
            gain = _revenue_change(built, base_rev, rev)
            led.at[i, "revenue_recovered"] = float(gain["revenue_recovered"].sum())
            if len(gain):
                drivers.append(gain.assign(constraint=e["constraint"], object=e["object"]))
    # Per unit of the limit over the step (a fill-rate step is in units of demand delivered).
    led["revenue_per_unit"] = led["revenue_recovered"] / led["step_size"].where(led["step_size"] > 0)
    led["rank_value"] = led["value_of_step"].where(led["value_of_step"].notna(), led["predicted"]).abs()
    led = led.sort_values("rank_value", ascending=False).drop(columns=["rank_value", "_rows", "_new"]).reset_index(drop=True)
    led["sentence"] = [_ledger_sentence(r, cur) for r in led.to_dict("records")]
    cols = ["constraint", "object", *[c for c in led.columns if c in _all_object_keys()], "unit", "periods", "binding_periods", "price_low", "price_high",
            "one_sided", "step", "step_size", "predicted", "value_of_step", "revenue_recovered", "revenue_per_unit", "re_solved", "sentence"]
    by = pd.concat(drivers, ignore_index=True) if drivers else pd.DataFrame(columns=["constraint", "object", "family", "customer", "segment", "period", "revenue_recovered"])
    return led[cols], by


def _all_object_keys() -> list[str]:
    out: list[str] = []
    for f in FAMILIES.values():
        if f.lever:
            out += [c for c in _object_keys(f.name) if c not in out]
    return out


def _empty_ledger() -> pd.DataFrame:
    return pd.DataFrame(columns=["constraint", "object", "unit", "periods", "binding_periods", "price_low", "price_high", "one_sided", "step", "step_size", "predicted", "value_of_step", "revenue_recovered", "sentence"])


def _binding_levers(solved: Solved) -> pd.DataFrame:
    """The business limits that bind (a non-zero price on either side), with their LP rows."""
    built, sol = solved.built, solved.solution
    lp = built.lp
    frames = []
    demand = built.segment_demand.set_index(["segment", "period"])["reachable"]
    for b, sl in lp.rows():
        fam = FAMILIES.get(b.family)
        if fam is None or not fam.lever or not len(b):
            continue
        rows = np.arange(sl.start, sl.stop)
        y = sol.row_dual[rows]
        up, down = sol.row_price_up[rows], sol.row_price_down[rows]
        binds = (np.abs(y) > 1e-9) | (np.nan_to_num(np.abs(up), nan=0.0) > 1e-9) | (np.nan_to_num(np.abs(down), nan=0.0) > 1e-9)
        if not binds.any():
            continue
        df = b.keys[binds].reset_index(drop=True)
        df["constraint"] = b.family
        df["_row"] = rows[binds]
        df["limit"] = lp.limit[rows[binds]]
        df["limit_unit"] = fam.units(built.case, df)
        df["shadow_price"] = y[binds]
        df["shadow_price_up"] = up[binds]
        df["shadow_price_down"] = down[binds]
        keys = _object_keys(b.family)
        df["_object"] = df[keys].astype(str).agg(" / ".join, axis=1) if keys else ""
        if b.family == "service":
            df["_base"] = [demand.get((s, p), 0.0) for s, p in zip(df["segment"], df["period"])]
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _set_rows(t: Solved, rows: np.ndarray, limits: np.ndarray) -> None:
    """Give ``rows`` of the trial model ``t`` these limits, on the side each row's sense bounds."""
    sense = t.lp.row_sense[rows]
    t.lp.row_lower[rows] = np.where(sense == 1, -np.inf, limits)
    t.lp.row_upper[rows] = np.where(sense == -1, np.inf, limits)
    _push_bounds(t, rows)


def _push_bounds(solved: Solved, rows: np.ndarray) -> None:
    """Hand the LP's (edited) bounds of ``rows`` to HiGHS, in its scaled units."""
    import highspy

    lp, qs, inf = solved.lp, solved.options["quantity_scale"], highspy.kHighsInf
    lo = np.where(np.isinf(lp.row_lower[rows]), -inf, lp.row_lower[rows] / qs)
    hi = np.where(np.isinf(lp.row_upper[rows]), inf, lp.row_upper[rows] / qs)
    solved.highs.changeRowsBounds(len(rows), rows.astype(np.int32), lo.astype(np.float64), hi.astype(np.float64))


def _revenue_change(built, before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Revenue recovered (delivered revenue gained), by product family, customer, segment and
    period; only where it changed."""
    k = ["product", "customer", "period"]
    m = before[k + ["revenue"]].merge(after[k + ["revenue"]], how="outer", on=k, suffixes=("_0", "_1")).fillna(0.0)
    m["revenue_recovered"] = m["revenue_1"] - m["revenue_0"]
    m = m[m["revenue_recovered"].abs() > 0.005]
    case = built.case
    m["family"] = m["product"].map(case.products.set_index("product")["family"]).fillna("")
    m["segment"] = m["customer"].map(case.customers.set_index("customer")["segment"])
    return m.groupby(["family", "customer", "segment", "period"], as_index=False)["revenue_recovered"].sum()


def _periods_text(built, periods: pd.Series) -> str:
    """Periods as a reader says them: runs joined ('June-August', '2027-W03-2027-W07'),
    calendar months (YYYY-MM) by their names."""
    names = built.case.period_names
    say = [_month_name(p) for p in names]
    order = sorted({names.index(p) for p in periods})
    runs, start = [], order[0]
    for a, b in zip(order, order[1:] + [None]):
        if b != a + 1:
            runs.append(say[start] if start == a else f"{say[start]}-{say[a]}")
            start = b
    return ", ".join(runs[:-1]) + (" and " if len(runs) > 1 else "") + runs[-1]


def _month_name(period: str) -> str:
    import datetime as dt

    try:
        return dt.datetime.strptime(str(period), "%Y-%m").strftime("%B")
    except ValueError:
        return str(period)


def _ledger_sentence(r: dict, cur: str) -> str:
    unit = r["unit"]
    one = {"units": "unit", "hours": "hour"}.get(unit, unit)
    lo, hi = r["price_low"], r["price_high"]
    price = f"{_fmt(lo)}" if abs(hi - lo) < 0.005 else f"{_fmt(lo)}-{_fmt(hi)}"
    obj = r["object"][0].upper() + r["object"][1:]
    when = f" in {r['periods']}" if r["periods"] else ""
    if r["constraint"] == "service":
        text = f"{obj} binds{when}; one more unit delivered on time costs {price} {cur}"
        what = "easing the target by one point in those periods"
    else:
        text = f"{obj} binds{when}; one more {one} is worth {price} {cur}"
        what = f"{STEP:.0%} more {unit} in {'those periods' if r['binding_periods'] > 1 else 'that period'}"
    if r["one_sided"]:
        text += " (a one-sided price in some periods: one more and one less are worth different amounts)"
    pred = r["predicted"]
    if isinstance(r.get("value_of_step"), float) and not math.isnan(r["value_of_step"]):
        v = r["value_of_step"]
        text += f"; {what} would {'save' if v < 0 else 'cost'} {_money(abs(v))} {cur} (the prices alone predicted {_money(abs(pred))})"
        rec = r.get("revenue_recovered")
        if isinstance(rec, float) and abs(rec) >= 0.5:
            text += f" and recover {_money(rec)} {cur} of revenue" if rec > 0 else f" and give up {_money(-rec)} {cur} of revenue"
    else:
        why = str(r.get("re_solved", "")).removeprefix("no: ") or "beyond the entries re-solved"
        text += f"; the prices predict {what} would {'save' if pred < 0 else 'cost'} {_money(abs(pred))} {cur} (not re-solved: {why})"
    return text + "."


def _money(x: float) -> str:
    if abs(x) >= 1e6:
        return f"{x / 1e6:,.2f} M"
    if abs(x) >= 1e4:
        return f"{x / 1e3:,.0f} k"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


# --------------------------------------------------------------------------------------
# The plan in the financial statements
# --------------------------------------------------------------------------------------


def period_costs(solved: Solved) -> pd.DataFrame:
    """Every part of the objective by period (money), in long form: line, group, period,
    amount. Production, co-manufacturing and purchases in the period they happen, overtime in
    its period, freight and in-transit holding in the period goods leave, holding at sites at
    each period's end, penalties in the period they fall; the backlog left at the end in the
    last period. Sums to the objective."""
    built, sol = solved.built, solved.solution
    v = variable_values(built, sol)
    rows = []

    def add(df: pd.DataFrame, line: str, group: str, cost: pd.Series | np.ndarray, period: pd.Series | None = None) -> None:
        if len(df):
            amount = df["value"].to_numpy() * np.asarray(cost, dtype=float)
            rows.append(pd.DataFrame({"line": line, "group": group, "period": (period if period is not None else df["period"]).to_numpy(), "amount": amount}))

    add(v["make"], "production", "cost of goods", v["make"]["cost"])
    add(v["outsource"], "co-manufacturing", "cost of goods", v["outsource"]["cost"])
    add(v["buy"], "purchases", "cost of goods", v["buy"]["cost"])
    add(v["overtime_hours"], "overtime", "overtime", v["overtime_hours"]["cost"])
    flows = pd.concat([v["ship"], v["deliver"]], ignore_index=True)
    legs = flows.merge(built.legs, on=["lane", "t"])
    names = np.array(built.case.period_names, dtype=object)
    legs = legs.assign(value=legs["value"] * legs["share"], period=names[legs["dep"].to_numpy()])
    premium = legs["premium"].astype(bool).to_numpy() if "premium" in legs else np.zeros(len(legs), dtype=bool)
    legs["line"] = "freight: " + legs["mode"].astype(str) + np.where(premium, " (premium)", "")
    for line, grp in legs.groupby("line", sort=True):
        add(grp, line, "freight", grp["freight"])
    add(legs, "holding in transit", "carrying (not cash)", legs["transit_holding"])
    add(v["inv"], "holding at sites", "carrying (not cash)", v["inv"]["cost"])
    add(v["short"], "lost sales (shortage cost)", "penalties", v["short"]["cost"])
    b = v["backlog_units"]
    add(b, "backorders", "penalties", b["backorder_part"])
    add(b, "owed at the end", "penalties", b["end_part"])
    add(v["ss_short"], "safety stock below target", "penalties", v["ss_short"]["cost"])
    last = pd.Series([built.case.period_names[-1]] * len(v["end_short"]))
    add(v["end_short"], "closing stock below target", "penalties", v["end_short"]["cost"], last)
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["line", "group", "period", "amount"])
    return out.groupby(["group", "line", "period"], as_index=False, sort=False)["amount"].sum()


def pnl(solved: Solved) -> pd.DataFrame:
    """The plan's P&L by period and for the year: revenue (price x delivered), cost of goods
    (production, co-manufacturing, purchases), overtime, freight by mode (premium apart),
    contribution margin and margin %, then holding (the cost of capital tied up, not cash) and
    the margin after it. Penalties are shown apart, below: lost revenue is revenue that did not
    happen, not a cost line. Revenue lines equal the summary's revenue, and the cost lines
    with the penalties equal the objective."""
    periods = solved.built.case.period_names
    costs = period_costs(solved)
    rev = deliveries(solved).groupby("period")["revenue"].sum().reindex(periods, fill_value=0.0)
    grid = costs.pivot_table(index=["group", "line"], columns="period", values="amount", aggfunc="sum", fill_value=0.0, sort=False).reindex(columns=periods, fill_value=0.0)

    def line(name: str, values: pd.Series, kind: str) -> dict:
        values = values + 0.0  # no -0.0 in a statement
        return {"line": name, "kind": kind, **values.to_dict(), "year": float(values.sum()) + 0.0}

    out = [line("revenue", rev, "revenue")]
    cogs = pd.Series(0.0, index=periods)
    for group in ("cost of goods", "overtime", "freight"):
        for (g, name), vals in grid.loc[grid.index.get_level_values(0) == group].iterrows():
            out.append(line(name, -vals, "cost"))
            cogs = cogs + vals
    margin = rev - cogs
    out.append(line("contribution margin", margin, "margin"))
    pct = (margin / rev.where(rev != 0)).fillna(0.0)
    out.append({"line": "contribution margin %", "kind": "percent", **pct.to_dict(), "year": float(margin.sum() / rev.sum()) if rev.sum() else 0.0})
    carry = grid.loc[grid.index.get_level_values(0) == "carrying (not cash)"].sum()
    out.append(line("holding (cost of capital, not cash)", -carry, "cost"))
    out.append(line("margin after holding", margin - carry, "margin"))
    for (g, name), vals in grid.loc[grid.index.get_level_values(0) == "penalties"].iterrows():
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
        value=moving["value"] * moving["share"] * moving["product"].map(uv), period=np.array(names, dtype=object)[moving["t_end"].to_numpy(dtype=int)] if len(moving) else [],
        family=moving["product"].map(fam),
    )
    transit = moving.groupby(["period", "site", "family"], as_index=False)["value"].sum().rename(columns={"value": "in_transit_value"})
    detail = hand.merge(transit, how="outer", on=["period", "site", "family"]).fillna({"on_hand_value": 0.0, "in_transit_value": 0.0})
    order = {p: i for i, p in enumerate(names)}
    return detail.assign(_t=detail["period"].map(order)).sort_values(["_t", "site", "family"]).drop(columns="_t").reset_index(drop=True)


def working_capital(solved: Solved) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Inventory in the balance sheet: its value (unit_value) at each period end, on hand and
    in transit, by site and product family (``inventory_value_detail``); and per period the
    total, the cost of goods, and days of inventory (value over the cost of goods per day)."""
    built = solved.built
    case = built.case
    names = case.period_names
    detail = inventory_value_detail(built, variable_values(built, solved.solution))
    costs = period_costs(solved)
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


def cash(solved: Solved) -> pd.DataFrame:
    """Cash by period: revenue collected (``collection_days`` after delivery), and production,
    co-manufacturing, purchases, overtime and freight paid (``payment_days`` after they
    happen; both settings, default 0), the net cash of the plan, and the working-capital
    change (inventory value at unit value, receivables, payables). The last rows: what is
    still to collect and to pay when the plan ends."""
    built = solved.built
    case = built.case
    names = case.period_names
    days = case.periods["days"].to_numpy(float)
    collect = float(case.settings.get("collection_days", 0) or 0)
    pay = float(case.settings.get("payment_days", 0) or 0)
    rev = deliveries(solved).groupby("period")["revenue"].sum().reindex(names, fill_value=0.0)
    costs = period_costs(solved)
    spend = costs[costs["group"].isin(["cost of goods", "overtime", "freight"])].groupby("period")["amount"].sum().reindex(names, fill_value=0.0)
    cash_in, rec_end = _delayed(rev, days, collect)
    cash_out, pay_end = _delayed(spend, days, pay)
    _, wc = working_capital(solved)
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


def node_costs(solved: Solved) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The average cost of a unit at each site, product and period, traced through the plan's
    flows: what came in (opening stock and receipts at unit_value, units made at their cost
    with their overtime share and their components' own average cost, co-manufactured,
    bought, arrived from another site at its cost there plus freight and holding in transit,
    carried from the last period with its holding) over the units that came in. A sparse
    linear system: components and same-period lanes tie nodes together. Returns (nodes, the
    cost of each delivery: product, customer, period, units, cost)."""
    from scipy.sparse import coo_array
    from scipy.sparse.linalg import spsolve

    built, sol = solved.built, solved.solution
    case = built.case
    v = variable_values(built, sol)
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
        rows += list(nodes(bom, k).astype(int)); cols += list(comp.astype(int)); vals += list(-bom["value"] * bom["quantity"])
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
    rows += list(to); cols += list(frm); vals += list(-carry["value"])
    # Arrived from another site: its cost where it left, freight and holding in transit.
    units = flows["value"] * flows["share"]
    to = nodes(flows[["destination", "product", "arr"]], ["destination", "product", "arr"]).astype(int)
    frm = nodes(flows[["origin", "product", "dep"]], ["origin", "product", "dep"]).astype(int)
    np.add.at(inflow, to, units)
    np.add.at(rhs, to, units * (flows["freight"] + flows["transit_holding"]))
    rows += list(to); cols += list(frm); vals += list(-units)
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


def cost_to_serve(solved: Solved) -> pd.DataFrame:
    """By customer and product: units delivered, revenue, the allocated cost (each unit's
    production, purchase, freight and holding traced along its path: ``node_costs``), the
    average per unit, the marginal cost (the demand rows' shadow price, weighted by demand:
    what one more unit would cost), and the margin."""
    built, sol = solved.built, solved.solution
    _, served = node_costs(solved)
    rev = deliveries(solved)
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


# --------------------------------------------------------------------------------------
# Service costed
# --------------------------------------------------------------------------------------


def service_costs(solved: Solved, what_ifs: WhatIfs | None = None) -> pd.DataFrame:
    """For each segment's fill-rate target: what one more point costs, from the prices and by
    a warm re-solve (one point more in every period it applies), and what holding the target
    at all costs (re-solved with the target removed): the price of that service promise.
    A re-solve beyond ``what_ifs``'s time leaves its figure blank (NaN)."""
    built, sol = solved.built, solved.solution
    what_ifs = what_ifs or WhatIfs()
    found = built.lp.block("service")
    if found is None or not len(found[0]):
        return pd.DataFrame(columns=["segment", "target", "point_cost_predicted", "point_cost", "target_cost"])
    b, sl = found
    rows = np.arange(sl.start, sl.stop)
    base = built.segment_demand.set_index(["segment", "period"])["reachable"]
    keys = b.keys.assign(_row=rows, limit=built.lp.limit[rows], base=[base.get((s, p), 0.0) for s, p in zip(b.keys["segment"], b.keys["period"])])
    up = np.where(np.isnan(sol.row_price_up[rows]), sol.row_dual[rows], sol.row_price_up[rows])
    keys["up"] = up
    target = built.case.service.set_index("segment")["fill_rate"]
    out = []
    for seg, g in keys.groupby("segment", sort=True):
        r = g["_row"].to_numpy()
        point = 0.01 * g["base"].to_numpy()
        entry = {"segment": seg, "target": float(target.get(seg, np.nan)), "point_cost_predicted": float((g["up"] * point).sum())}
        entry["point_cost"] = _resolve_delta(solved, r, g["limit"].to_numpy() + point, what_ifs)
        entry["target_cost"] = 0.0 - _resolve_delta(solved, r, np.zeros(len(r)), what_ifs)
        out.append(entry)
    return pd.DataFrame(out)


def _resolve_delta(solved: Solved, rows: np.ndarray, limits: np.ndarray, what_ifs: WhatIfs) -> float:
    """Objective change when ``rows`` take these limits (a warm re-solve, undone after); inf
    when no plan meets them, NaN when the what-if time is spent."""
    base = solved.solution.objective
    with solved.trial() as t:
        _set_rows(t, rows, limits)
        try:
            s = what_ifs.resolve(t)
        except SolveError:  # no plan meets it
            return math.inf
        return math.nan if s is None else s.objective - base


# --------------------------------------------------------------------------------------
# Premium freight and its triggers
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    name: str
    families: tuple[str, ...]
    words: str


#: What may force premium freight, tried one at a time: relax every binding limit of the
#: families named (or the first months' receipts) and see whether the premium freight goes.
TRIGGERS = (
    Trigger("supplier", ("supply",), "a supplier's limit (an outage or its monthly cap)"),
    Trigger("plant capacity", ("capacity", "overtime", "production_max", "outsource_max"), "plant capacity"),
    Trigger("lane capacity", ("lane_capacity",), "the standard lane's capacity"),
    Trigger("service promise", ("service",), "a fill-rate promise"),
)


def premium_triggers(solved: Solved, what_ifs: WhatIfs | None = None) -> pd.DataFrame:
    """Premium freight by lane, mode and period, and what forces it: each trigger's binding
    limits are relaxed (doubled, a promise dropped) in a warm re-solve; a trigger that takes
    the premium freight away (or most of it) is the cause. For the cause found, the step at
    which the premium freight would stop is searched (the limits raised by 10 %, 25 %, 50 %,
    100 %). An empty pipeline at the start (premium freight in the first period, where the
    standard mode's lead time cannot reach) is said as such. Re-solves beyond ``what_ifs``'s
    time are left out, and the sentences say so."""
    built, sol = solved.built, solved.solution
    what_ifs = what_ifs or WhatIfs()
    if _premium_spend(built, sol).empty:
        return pd.DataFrame(columns=["origin", "destination", "mode", "departure_period", "units", "spend", "trigger", "stops_when", "sentence"])
    levers = _binding_levers(solved)
    # Where premium freight ties with another way at the same cost, an optimum may use it or
    # not; charged 0.1 % more, the plan uses it only where it pays, so what is left after a
    # relaxation says what forced it, not which of several optima the solver found.
    with solved.trial() as base:
        cols = np.concatenate([f.loc[f["premium"].astype(bool), "col"].to_numpy() for f in (built.variables["ship"], built.variables["deliver"])])
        base.set_costs_at(cols, base.lp.c[cols] * (1 + PREMIUM_TIE_BREAK))
        tied = what_ifs.resolve(base)
        if tied is None:
            spend = _premium_spend(built, sol)
            return spend.assign(trigger="", stops_when="", sentence=[
                f"{r['units']:,.0f} units by {r['mode']} {r['origin']} -> {r['destination']} leaving in {r['departure_period']}: what forces it was not searched (the what-if time was spent)"
                for r in spend.to_dict("records")])
        spend = _premium_spend(built, tied)
        out = _triggers(solved, levers, spend, what_ifs)
    return out


#: Premium freight is charged this much more while its triggers are searched (see premium_triggers).
PREMIUM_TIE_BREAK = 1e-3


def _triggers(solved: Solved, levers: pd.DataFrame, spend: pd.DataFrame, what_ifs: WhatIfs) -> pd.DataFrame:
    built = solved.built
    total = float(spend["spend"].sum())
    if total <= 0:
        return spend.assign(trigger="", stops_when="", sentence="premium freight that only ties with another way of serving (none is needed)")
    found, unsearched = [], []
    for trig in TRIGGERS:
        rows = levers[levers["constraint"].isin(trig.families)] if len(levers) else levers
        if not len(rows):
            continue
        r = rows["_row"].to_numpy()
        relaxed = np.where(rows["constraint"] == "service", 0.0, rows["limit"] * 2.0)
        left = _premium_after(solved, r, relaxed, what_ifs)
        if left is None and what_ifs.left() <= 0:
            unsearched.append(trig.words)
        if left is not None and left < total - 1e-6:
            stops = ""
            for k in (0.1, 0.25, 0.5, 1.0):
                new = np.where(rows["constraint"] == "service", rows["limit"] * (1 - k), rows["limit"] * (1 + k))
                after = _premium_after(solved, r, new, what_ifs)
                if after is not None and after <= 1e-6 * max(total, 1.0):
                    stops = f"{'service targets ' + format(k, '.0%') + ' lower' if trig.name == 'service promise' else 'those limits ' + format(k, '.0%') + ' higher'}"
                    break
            found.append((total - left, trig, stops or "not within twice those limits"))
    found.sort(key=lambda x: -x[0])
    first = built.case.period_names[0]
    cur = built.case.currency
    out = spend.copy()
    if found:
        saved, trig, stops = found[0]
        out["trigger"], out["stops_when"] = trig.words, stops
        share = saved / total if total else 0.0
        out["sentence"] = [
            f"{r['units']:,.0f} units flown {r['origin']} -> {r['destination']} by {r['mode']} leaving in {r['departure_period']} ({_money(r['spend'])} {cur}): "
            f"forced by {trig.words} (relaxing it removes {share:.0%} of the premium freight; it stops with {stops})"
            for r in out.to_dict("records")
        ]
    elif unsearched:
        out["trigger"], out["stops_when"] = "", ""
        out["sentence"] = [
            f"{r['units']:,.0f} units by {r['mode']} {r['origin']} -> {r['destination']} leaving in {r['departure_period']} ({_money(r['spend'])} {cur}): "
            f"not traced; {', '.join(unsearched)} not tried (the what-if time was spent)"
            for r in out.to_dict("records")
        ]
    else:
        out["trigger"] = np.where(out["departure_period"] == first, "an empty pipeline at the start", "the standard mode's lead time against the need date")
        out["stops_when"] = np.where(out["departure_period"] == first, "goods on the way into the first month (receipts)", "a shorter standard lead time")
        out["sentence"] = [
            f"{r['units']:,.0f} units by {r['mode']} {r['origin']} -> {r['destination']} leaving in {r['departure_period']} ({_money(r['spend'])} {cur}): {r['trigger']}"
            for r in out.to_dict("records")
        ]
    return out


def _premium_spend(built, sol: Solution) -> pd.DataFrame:
    """Premium freight by lane, mode and departure period (units, money at the case's rates)."""
    flows = pd.concat([built.variables["ship"], built.variables["deliver"]], ignore_index=True)
    flows = flows.assign(value=sol.col_value[flows["col"].to_numpy()])
    flows = flows[flows["premium"].astype(bool) & (flows["value"] > 1e-9)]
    if flows.empty:
        return pd.DataFrame(columns=["origin", "destination", "mode", "departure_period", "units", "spend"])
    legs = flows.merge(built.legs, on=["lane", "t"])
    names = np.array(built.case.period_names, dtype=object)
    legs = legs.assign(units=legs["value"] * legs["share"], departure_period=names[legs["dep"].to_numpy()])
    legs["spend"] = legs["units"] * legs["freight"]
    return legs.groupby(["origin", "destination", "mode", "departure_period"], as_index=False)[["units", "spend"]].sum()


def _premium_after(solved: Solved, rows: np.ndarray, limits: np.ndarray, what_ifs: WhatIfs) -> float | None:
    """Premium freight spend with ``rows`` at these limits; None when no plan meets them or
    the what-if time is spent."""
    with solved.trial() as t:
        _set_rows(t, rows, limits)
        try:
            s = what_ifs.resolve(t)
        except SolveError:
            return None
        if s is None:
            return None
        return float(_premium_spend(solved.built, s)["spend"].sum())


def lead_time_slip(solved: Solved, mode: str, factor: float = 1.5) -> dict[str, float]:
    """What a slip of one mode's lead times by ``factor`` would do (the 8-week component lead
    time that becomes 12): the plan solved again with those lanes slower; the change in total
    cost, premium freight and revenue deferred and lost."""
    from dataclasses import replace as dc_replace

    from .build import build
    from .results import make_plan
    from .solve import solve

    case = solved.built.case
    lanes = case.lanes.copy()
    hit = lanes["mode"] == mode
    lanes.loc[hit, "lead_time_days"] = lanes.loc[hit, "lead_time_days"] * factor
    slipped = solve(build(dc_replace(case, lanes=lanes)), solved.opts.replace(ranging=False))
    a = make_plan(solved.built, solved.solution).summary.set_index("metric")["value"]
    b = make_plan(slipped.built, slipped.solution).summary.set_index("metric")["value"]
    keys = ("total_cost", "premium_freight_spend", "premium_freight_units", "revenue_deferred", "revenue_lost", "late_units")
    return {"mode": mode, "factor": factor, "lanes": int(hit.sum()), **{f"{k}_change": float(b[k]) - float(a[k]) for k in keys}}


#: The finance tables a plan carries (results.PLAN_TABLES has them too, for the files).
FINANCE_TABLES = ("ledger", "revenue_drivers", "pnl", "working_capital", "inventory_value", "cash", "cost_to_serve", "service_costs", "premium_freight")


def finance_tables(solved: Solved, resolves: int = LEDGER_RESOLVES, what_ifs: WhatIfs | None = None) -> dict[str, pd.DataFrame]:
    """Every table of the finance view of a solved plan (``FINANCE_TABLES``); its what-if
    re-solves share ``what_ifs``'s time (``WHAT_IF_SECONDS`` by default), which counts them."""
    what_ifs = what_ifs or WhatIfs()
    led, drivers = ledger(solved, resolves, what_ifs)
    detail, by_period = working_capital(solved)
    return {
        "ledger": led,
        "revenue_drivers": drivers,
        "pnl": pnl(solved),
        "working_capital": detail,
        "inventory_value": by_period,
        "cash": cash(solved),
        "cost_to_serve": cost_to_serve(solved),
        "service_costs": service_costs(solved, what_ifs),
        "premium_freight": premium_triggers(solved, what_ifs),
    }


def add_finance(plan: Plan, solved: Solved, what_ifs: WhatIfs | None = None) -> None:
    """Add the finance view to ``plan`` (made from ``solved``): its tables, and in the summary
    the contribution margin and how many what-ifs ran and were left out."""
    what_ifs = what_ifs or WhatIfs()
    extra = finance_tables(solved, what_ifs=what_ifs)
    plan.tables.update(extra)
    summary = plan.tables["summary"]
    at = int(summary.index[summary["metric"] == "revenue_lost"][0]) + 1
    counts = [("what_if_resolves", what_ifs.ran, "count"), ("what_ifs_left_out", what_ifs.skipped, "count")]
    lines = pd.DataFrame(margin_metrics(extra, plan.currency) + counts, columns=["metric", "value", "unit"]).astype({"value": object})
    plan.tables["summary"] = pd.concat([summary.iloc[:at], lines, summary.iloc[at:]], ignore_index=True)


def margin_metrics(tables: dict[str, pd.DataFrame], currency: str) -> list[tuple[str, float, str]]:
    """Summary lines from the P&L: contribution margin and margin % for the year."""
    p = tables["pnl"].set_index("line")["year"]
    return [("contribution_margin", float(p["contribution margin"]), currency), ("contribution_margin_pct", float(p["contribution margin %"]), "fraction")]
