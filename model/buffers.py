"""Buffers from variability, not aggregate dollars.

``proposed`` sizes the safety stock of each site and product that serves customers from the
variability of what it serves and of how it is replenished, with the service level of the
customers it serves:

    SS = z * sqrt(L * sd_d^2 + d^2 * sd_L^2)

d and sd_d: the mean and the spread of the demand it serves per period (each customer's
``demand.quantity`` and ``demand.std``, in the share of that customer the plan serves from
the site); L and sd_L: the lead time and its spread, in periods, of the lanes that replenish
it (weighted by what the plan ships on them; a site no lane replenishes, a plant making the
product: one period, no spread); z: the normal quantile of the highest fill-rate target among the customers served
(0.95 where none is set).

``compare_cuts`` prices cutting 10 % of the safety-stock dollars two ways: across the board
(every target 10 % lower) and through the working-capital cap (the same dollars off the
inventory value at every period end, placed by the LP where they cost least), each costed on
today's targets: the same basis as the plan as it is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .build import Built
from .metrics import evaluate
from .results import Figures, variable_values
from .solve import Solved

#: Service level where a segment sets no fill-rate target.
DEFAULT_SERVICE = 0.95


def proposed(solved: Solved) -> pd.DataFrame:
    """Safety stock per site and product from variability (see the module docstring)."""
    from scipy.stats import norm

    built, sol = solved.built, solved.optimum
    case = built.case
    v = variable_values(built, sol)
    per = case.periods.set_index("period")["days"]
    mean_days = float(per.mean())
    # Who serves whom: each customer's demand split by the plan's deliveries from each origin.
    d = v["deliver"].rename(columns={"destination": "customer", "origin": "site"})
    served = d.groupby(["site", "customer", "product"], as_index=False)["value"].sum()
    served["share"] = served["value"] / served.groupby(["customer", "product"])["value"].transform("sum")
    served = served[served["share"] > 0]
    # Per period over the whole plan: a period without a demand row is a period of no demand.
    T = len(case.periods)
    dem = case.demand.assign(var=case.demand["std"] ** 2)
    per_customer = dem.groupby(["customer", "product"], as_index=False).agg(total=("quantity", "sum"), var_total=("var", "sum"))
    per_customer["mean"], per_customer["var"] = per_customer["total"] / T, per_customer["var_total"] / T
    x = served.merge(per_customer, on=["customer", "product"])
    x["d"] = x["share"] * x["mean"]
    x["v"] = x["share"] ** 2 * x["var"]
    seg = case.customers.set_index("customer")["segment"]
    target = case.service.set_index("segment")["fill_rate"]
    x["level"] = x["customer"].map(seg).map(target).where(lambda s: s > 0, DEFAULT_SERVICE).fillna(DEFAULT_SERVICE)
    site = x.groupby(["site", "product"], as_index=False).agg(d=("d", "sum"), var=("v", "sum"), level=("level", "max"))
    site["sd_d"] = np.sqrt(site["var"])
    # Replenishment: the lanes into the site, weighted by what the plan ships on them.
    ship = v["ship"].rename(columns={"destination": "site"})
    ship = ship.merge(case.lanes[["lane", "lead_time_days", "lead_time_std_days"]], on="lane", suffixes=("", "_lane"))
    inbound = ship.groupby(["site", "product"]).apply(_weighted_lead, include_groups=False)
    site = site.merge(inbound, how="left", left_on=["site", "product"], right_index=True)
    # Not replenished over a lane (a plant making it): one period, no spread.
    site["lead_days"] = site["lead_days"].fillna(mean_days)
    site["lead_std_days"] = site["lead_std_days"].fillna(0.0)
    site["L"] = site["lead_days"] / mean_days
    site["sd_L"] = site["lead_std_days"] / mean_days
    site["z"] = norm.ppf(site["level"].clip(0.5, 0.9999))
    site["safety_stock"] = (site["z"] * np.sqrt(site["L"] * site["sd_d"] ** 2 + site["d"] ** 2 * site["sd_L"] ** 2)).round(0)
    current = case.inventory.set_index(["site", "product"])["safety_stock"]
    site["current_safety_stock"] = [float(current.get((s, p), 0.0)) for s, p in zip(site["site"], site["product"])]
    uv = case.products.set_index("product")["unit_value"]
    site["unit_value"] = site["product"].map(uv)
    site["value"] = site["safety_stock"] * site["unit_value"]
    site["current_value"] = site["current_safety_stock"] * site["unit_value"]
    site["family"] = site["product"].map(case.products.set_index("product")["family"])
    cols = ["site", "product", "family", "d", "sd_d", "L", "sd_L", "level", "z", "safety_stock", "current_safety_stock", "unit_value", "value", "current_value"]
    return site[cols].rename(columns={"d": "demand_per_period", "sd_d": "demand_std", "L": "lead_time_periods", "sd_L": "lead_time_std_periods", "level": "service_level"}).sort_values(["site", "product"]).reset_index(drop=True)


def _weighted_lead(g: pd.DataFrame) -> pd.Series:
    w = g["value"].to_numpy()
    if w.sum() <= 0:
        w = np.ones(len(g))
    return pd.Series({"lead_days": float(np.average(g["lead_time_days"], weights=w)), "lead_std_days": float(np.sqrt(np.average(g["lead_time_std_days"] ** 2, weights=w)))})


def inventory_sheet(solved: Solved, buffers: pd.DataFrame) -> pd.DataFrame:
    """The case's inventory table with the proposed safety stock, ready to paste back: every
    row of the case's own table (its opening stock, penalty and closing target kept), and new
    rows for sites and products that get a buffer."""
    case = solved.built.case
    inv = case.inventory[["site", "product", "initial", "safety_stock", "safety_stock_penalty", "ending_min"]].copy()
    # A closing target left blank followed the safety stock: it stays blank (it follows the new one).
    inv["ending_min"] = inv["ending_min"].where(~case.inventory["ending_soft"].astype(bool), np.nan)
    k = ["site", "product"]
    inv = inv.set_index(k)
    new = buffers.set_index(k)["safety_stock"]
    out = inv.reindex(inv.index.union(new.index))
    out.loc[new.index, "safety_stock"] = new
    out["initial"] = out["initial"].fillna(0.0)
    return out.reset_index()[["site", "product", "initial", "safety_stock", "safety_stock_penalty", "ending_min"]]


def compare_cuts(solved: Solved, cut: float = 0.10) -> pd.DataFrame:
    """Cutting inventory by ``cut`` of the safety-stock dollars, two ways, side by side with the
    plan as it is: across the board (every safety-stock target that much lower), and through
    the working-capital cap at the same inventory dollars (each period end capped at what the
    across-the-board plan holds; the targets stay, and the LP places the cut SKU by SKU where it
    costs least). Each with its cost, inventory value and service; both are variants of the
    solved plan (``Solved.variant``). All three are costed on today's targets: the penalties
    for safety stock and closing stock below target are measured against the plan as it is
    (the across-the-board plan was solved against lower ones, which would make it look
    cheaper than it is)."""
    case, today = solved.built.case, solved.built
    uv = case.products.set_index("product")["unit_value"]
    dollars = float((case.inventory["safety_stock"] * case.inventory["product"].map(uv)).sum()) * cut
    targets = case.inventory[["site", "product", "safety_stock"]]
    base = _figures("the plan as it is", Figures.of(solved), targets, today)
    inv = case.inventory.copy()
    inv["safety_stock"] = inv["safety_stock"] * (1 - cut)
    with solved.variant(case.with_tables({"inventory": inv})) as trial:
        board_f = _solved(trial)
        board = _figures(f"every safety-stock target {cut:.0%} lower ({dollars:,.0f} {case.currency} of targets)", board_f, targets, today)
        value = board_f.inventory.groupby("period")["inventory_value"].sum().reindex(case.period_names, fill_value=0.0)
    budget = pd.DataFrame({"period": case.period_names, "site": None, "family": None, "max_value": value.to_numpy(), "in_transit": False})
    with solved.variant(case.with_tables({"inventory_budget": budget})) as trial:
        capped = _figures("the same inventory dollars through the working-capital cap, placed by the plan", _solved(trial), targets, today)
    return pd.DataFrame([base, board, capped])


def _solved(trial) -> Figures:
    """The figures of a variant's plan; its error when it has none."""
    if trial.solution is None:
        raise trial.error
    return Figures(trial.built, trial.solution)


def _figures(name: str, f: Figures, targets: pd.DataFrame, today: Built) -> dict:
    """A plan's cost, inventory and service (``metrics``), on today's targets whatever targets
    it was solved with: its shortfall against the original safety-stock targets (``targets``),
    and its penalties and total cost with the stock-below-target penalties of ``today``'s plan
    (``_target_penalties``) in place of its own."""
    got = evaluate(f, ("total_cost", "cash_cost_to_serve", "carrying_cost", "penalty_cost", "fill_rate", "lost_units", "late_units", "safety_stock_penalty", "closing_stock_penalty"))
    m = {k: float(x) for k, x in got.items()}  # every one a number
    inv = f.inventory
    held = inv[["site", "product", "period", "on_hand", "inventory_value"]].merge(targets, on=["site", "product"])
    short = (held["safety_stock"] - held["on_hand"]).clip(lower=0.0)
    penalty = m["penalty_cost"] - m["safety_stock_penalty"] - m["closing_stock_penalty"] + sum(_target_penalties(f, today))
    return {
        "approach": name,
        "short_of_original_targets_units": float(short.sum()),
        "total_cost": m["total_cost"] - m["penalty_cost"] + penalty,
        "cash_cost_to_serve": m["cash_cost_to_serve"],
        "carrying_cost": m["carrying_cost"],
        "penalty_cost": penalty,
        "average_inventory_value": float(inv.groupby("period")["inventory_value"].sum().mean()) if len(inv) else 0.0,
        "fill_rate": m["fill_rate"],
        "lost_units": m["lost_units"],
        "late_units": m["late_units"],
    }


def _target_penalties(f: Figures, today: Built) -> tuple[float, float]:
    """What plan ``f``'s stock would pay below ``today``'s targets (money): the safety-stock
    penalty (each unit on hand short of today's target, each period, at its penalty) and the
    closing-stock penalty (each unit of closing position, on hand and on its way, short of
    today's soft closing target, at unit_value). On today's own plan these are its own
    penalties."""
    k = ["site", "product", "period"]
    ss = today.variables["ss_short"]
    on = ss[[*k, "safety_stock", "cost"]].merge(f.v["inv"][[*k, "value"]], how="left", on=k).fillna({"value": 0.0})
    safety = float(((on["safety_stock"] - on["value"]).clip(lower=0.0) * on["cost"]).sum())
    end = today.variables["end_short"]
    found = f.built.lp.block("ending")
    if not len(end) or found is None:
        return safety, 0.0
    # The plan's closing position: its ending rows' activity less its own shortfall there.
    b, sl = found
    pos = b.keys[["site", "product"]].assign(position=f.solution.row_value[sl])
    own = f.v["end_short"][["site", "product", "value"]]
    pos = pos.merge(own, how="left", on=["site", "product"]).fillna({"value": 0.0})
    pos["position"] -= pos["value"]
    due = end[["site", "product", "ending_min", "cost"]].merge(pos[["site", "product", "position"]], how="left", on=["site", "product"]).fillna({"position": 0.0})
    return safety, float(((due["ending_min"] - due["position"]).clip(lower=0.0) * due["cost"]).sum())

