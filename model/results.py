"""Turn a solved plan into tidy tables named in the planners' words.

Every table is a long DataFrame whose index columns carry the input's names (site, product,
customer, period ...). Writers only consume these tables. Everything the solve decided is read
from the LP as solved: variable values and costs (``lp.c``), and limits (hours, targets,
quantities) from the rows of their families, so a plan changed in place (``solve.Solved``)
reports what was solved, not what the case said. Shadow prices follow one sign convention: the
change in total cost (money) per one-unit rise of the constraint's limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeGuard

import numpy as np
import pandas as pd

from .build import Built
from .costing import Trace, cost_of_goods_sold, trace_values
from .families import ONE, Family, index_columns, review_order
from .lp import dot
from .reopen import SavedBasis
from .solve import Solution
from .words import number, periods_text

TOL = 1e-7

#: Every table a plan can have, in the order written (the last ones only when the case has
#: suppliers, bills of materials, backorders or goods still in transit at the end).
PLAN_TABLES = (
    "summary", "production", "capacity", "shipments", "inventory", "demand", "service", "shadow_prices",
    "provenance", "purchases", "consumption", "backorders", "in_transit",
    # the finance view (finance.FINANCE_TABLES)
    "ledger", "revenue_drivers", "pnl", "working_capital", "inventory_value", "cash", "cost_to_serve", "service_costs", "premium_freight",
    # why the lines bind (bottlenecks.bottlenecks)
    "bottlenecks",
)

#: Summary metrics that add up to total_cost (money), in three groups: what the plan spends
#: (cash cost-to-serve), what carrying stock costs (the cost of capital tied up, not cash) and
#: penalties for what it gives up (lost sales, waiting customers, buffers below target).
COST_GROUPS = {
    "cash_cost_to_serve": ["production_cost", "outsourcing_cost", "overtime_cost", "purchase_cost", "freight_cost"],
    "carrying_cost": ["holding_cost_sites", "holding_cost_in_transit"],
    "penalty_cost": ["shortage_cost", "backorder_cost", "backlog_at_end_cost", "safety_stock_penalty", "closing_stock_penalty"],
}
COST_COMPONENTS = [c for parts in COST_GROUPS.values() for c in parts]


@dataclass
class Plan:
    """The optimal plan: ``tables`` maps each name of ``PLAN_TABLES`` the plan has to its
    DataFrame (see the README's Outputs for the columns)."""

    status: str
    total_cost: float
    currency: str
    tables: dict[str, pd.DataFrame]
    warnings: list = field(default_factory=list)
    periods: list[str] = field(default_factory=list)  # the plan's periods, in order
    families: dict = field(default_factory=dict)  # the constraint families it was built from (families.Family by name)
    basis: SavedBasis | None = None  # what re-opens the solved model without solving it again (reopen)
    notes: list[str] = field(default_factory=list)  # what happened while its tables were made, in words (a part worked out again)

    @property
    def shadow_prices(self) -> pd.DataFrame:
        return self.tables["shadow_prices"]

    @property
    def summary(self) -> pd.DataFrame:
        return self.tables["summary"]

    def metric(self, name: str) -> float:
        """One figure of the summary (``metrics.METRICS``), as a number."""
        s = self.tables["summary"]
        return float(s.loc[s["metric"] == name, "value"].iloc[0])

    def __getattr__(self, name: str) -> pd.DataFrame:
        """Any table by name: ``plan.ledger``, ``plan.pnl``, ``plan.cash`` ..."""
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)


# --------------------------------------------------------------------------------------
# Reading the LP
# --------------------------------------------------------------------------------------


class Figures:
    """The numbers of one solved plan that its tables, its metrics and the statements share,
    each computed once, when first asked for. ``of(x)`` takes a solved model or figures."""

    def __init__(self, built: Built, solution: Solution):
        self.built, self.solution = built, solution

    @classmethod
    def of(cls, x) -> Figures:
        """Figures of a solved model (``solve.Solved``), or ``x`` itself when it is figures."""
        return x if isinstance(x, Figures) else cls(x.built, x.solution)

    @property
    def case(self):
        return self.built.case

    @cached_property
    def v(self) -> dict[str, pd.DataFrame]:
        return variable_values(self.built, self.solution)

    @cached_property
    def at_cost(self) -> Trace:
        """The plan's costs traced along its flows, holding apart (``costing.trace``): the
        cost of goods sold and the stock at cost. Read from the LP's arrays."""
        return trace_values(self.built, *self._traced_arrays(), holding=False)

    @cached_property
    def cost_of_goods_sold(self) -> float:
        """The cost of the units delivered (money), holding apart: the sum of ``at_cost``'s
        ``served``, without making its tables when they are not made yet."""
        if "at_cost" in self.__dict__:
            tr = self.at_cost
            return float(tr.served[tr.elements].to_numpy().sum())
        return cost_of_goods_sold(self.built, *self._traced_arrays())

    def _traced_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Values and costs of the families the trace reads."""
        names = ("make", "outsource", "buy", "inv", "ship", "deliver", "overtime_hours")
        return {n: self.x(n) for n in names}, {n: self.c(n) for n in names}

    @cached_property
    def quantity(self) -> pd.DataFrame:
        return demand_quantities(self.built)

    @cached_property
    def bo(self) -> pd.DataFrame:
        return backorders(self.built, self.v, self.quantity)

    @cached_property
    def demand(self) -> pd.DataFrame:
        return demand_table(self.built, self.v, self.bo, self.quantity)

    @cached_property
    def service(self) -> pd.DataFrame:
        return service_table(self.built, self.demand)

    @cached_property
    def inventory(self) -> pd.DataFrame:
        return inventory_table(self.built, self.v)

    @cached_property
    def flows(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(shipments, goods still in transit when the plan ends)."""
        return shipment_tables(self.built, self.v)

    @cached_property
    def deliveries(self) -> pd.DataFrame:
        return _deliveries(self.built, self.solution)

    @cached_property
    def period_costs(self) -> pd.DataFrame:
        return period_costs(self.built, self.v)

    # -- the figures of the summary, from the LP's arrays (no table is made for them) ---------

    def x(self, name: str) -> np.ndarray:
        """The values of a variable family's columns (units or hours), in its table's order."""
        x = self.solution.col_value[self.built.variables[name]["col"].to_numpy()]
        return np.where(np.abs(x) < 1e-9, 0.0, x)

    def c(self, name: str) -> np.ndarray:
        """The costs (money per unit) of a variable family's columns as the LP was solved."""
        return self.built.lp.c[self.built.variables[name]["col"].to_numpy()]

    def _structure(self, key: str, make):
        ctx = self.built.context
        return make() if ctx is None else ctx.memo(key, make)

    @cached_property
    def costs(self) -> dict[str, float]:
        """Each part of the objective (money); together exactly the total cost. Freight and
        holding in transit split a flow's cost; backorders and what is owed at the end split
        the backlog's."""
        v, x, c = self.built.variables, self.x, self.c
        transit = sum(dot(x(n), v[n]["transit_holding"].to_numpy()) for n in ("ship", "deliver"))
        end = dot(x("backlog_units"), v["backlog_units"]["end_part"].to_numpy())
        spend = {n: dot(x(n), c(n)) for n in v}
        return {
            "production_cost": spend["make"],
            "outsourcing_cost": spend["outsource"],
            "overtime_cost": spend["overtime_hours"],
            "purchase_cost": spend["buy"],
            "freight_cost": spend["ship"] + spend["deliver"] - transit,
            "holding_cost_sites": spend["inv"],
            "holding_cost_in_transit": transit,
            "shortage_cost": spend["short"],
            "backorder_cost": spend["backlog_units"] - end,
            "backlog_at_end_cost": end,
            "safety_stock_penalty": spend["ss_short"],
            "closing_stock_penalty": spend["end_short"],
        }

    @cached_property
    def service_figures(self) -> dict[str, float]:
        """Demand, on time, late and lost units; revenue delivered, deferred and lost; what is
        still owed at the end: the sums of the demand table (``demand_table``, its backorder
        split by ``backorders``), from the LP's arrays."""
        return self._service[0]

    @cached_property
    def segment_fill_rates(self) -> dict[str, float]:
        """Each segment's units on time over its demand (1 where it has none)."""
        return self._service[1]

    @cached_property
    def _service(self) -> tuple[dict[str, float], dict[str, float]]:
        """``service_figures`` and ``segment_fill_rates``, from one pass over the demand."""
        at = self._structure("demand figures", lambda: _demand_positions(self.built))
        d = self.case.demand
        q = d["quantity"].to_numpy(dtype=float).copy()
        rows = at["limit_row"]
        q[rows >= 0] = self.built.lp.limit[rows[rows >= 0]]
        price = d["price"].to_numpy(dtype=float)
        short = self.x("short")
        s = np.where(at["short"] >= 0, short[np.maximum(at["short"], 0)], 0.0)
        waits = at["waits"]
        # Customers who wait: arrivals serve the period's demand first, the rest clears backlog.
        g = at["grid_row"]
        qg = np.where(g >= 0, q[np.maximum(g, 0)], 0.0)
        sg = np.where(at["grid_short"] >= 0, short[np.maximum(at["grid_short"], 0)], 0.0)
        delivered = self.x("ontime") + self.x("late")
        ontime_g = np.minimum(delivered, np.clip(qg - sg, 0.0, None))
        ontime_g = np.where(np.abs(ontime_g) > 1e-9, ontime_g, 0.0)
        late_g = delivered - ontime_g
        late_g = np.where(np.abs(late_g) > 1e-9, late_g, 0.0)
        src = at["grid_price"]
        product_price = self.case.products["price"].to_numpy(dtype=float)[at["grid_product"]]
        price_g = np.where(src >= 0, price[np.maximum(src, 0)], product_price)
        backlog = self.x("backlog_units")
        last = at["grid_last"]
        on_rows = np.where(waits, 0.0, q - s)
        ontime = float(on_rows.sum() + ontime_g.sum())
        demand = float(q.sum())
        seg_on = np.bincount(at["segment"], weights=on_rows, minlength=len(at["segments"])) + np.bincount(at["grid_segment"], weights=ontime_g, minlength=len(at["segments"]))
        seg_q = np.bincount(at["segment"], weights=q, minlength=len(at["segments"]))
        figures = {
            "demand_units": demand,
            "ontime_units": ontime,
            "late_units": float(late_g.sum()),
            "lost_units": float(s.sum()),
            "revenue": dot(on_rows, price) + dot(delivered, price_g),
            "revenue_deferred": dot(late_g, price_g),
            "revenue_lost": dot(s, price),
            "backlog_at_end_units": float(backlog[last].sum()),
            "backlog_at_end_revenue": dot(backlog[last], price_g[last]),
            "fill_rate": ontime / demand if demand else math.nan,
        }
        return figures, {str(name): float(seg_on[i] / seg_q[i]) if seg_q[i] else 1.0 for i, name in enumerate(at["segments"])}

    @cached_property
    def stock_figures(self) -> dict[str, float]:
        """Inventory value at the end (on hand), its average over the period ends (on hand and
        in transit), and the units and value still in transit after the plan: the sums of the
        inventory, working-capital and in-transit tables, from the LP's arrays."""
        built, case = self.built, self.case
        v = built.variables
        T = len(case.periods)
        uv = case.products["unit_value"].to_numpy(dtype=float)
        inv = v["inv"]
        held = self.x("inv") * uv[inv["_p"].to_numpy()]
        flows = self._structure(f"transit {id(built.legs)}", lambda: _transit_positions(built))
        moving = np.concatenate([self.x("ship"), self.x("deliver")]) * uv[flows["product"]]
        units_after = dot(np.concatenate([self.x("ship"), self.x("deliver")]), flows["after"])
        return {
            "inventory_value_end": float(held[inv["t"].to_numpy() == T - 1].sum()),
            "inventory_value_average": (float(held.sum()) + dot(moving, flows["ends_moving"])) / T if T else 0.0,
            "in_transit_end_units": float(units_after),
            "in_transit_end_value": dot(moving, flows["after"]),
        }

    @cached_property
    def premium_figures(self) -> dict[str, float]:
        """Premium freight: units moved on premium modes and their freight (money)."""
        v, out = self.built.variables, {"premium_freight_units": 0.0, "premium_freight_spend": 0.0}
        for n in ("ship", "deliver"):
            premium = v[n]["premium"].to_numpy(dtype=bool)
            x = self.x(n)[premium]
            out["premium_freight_units"] += float(x.sum())
            out["premium_freight_spend"] += dot(x, self.c(n)[premium] - v[n]["transit_holding"].to_numpy()[premium])
        return out


def variable_values(built: Built, sol: Solution) -> dict[str, pd.DataFrame]:
    """Each variable table with ``value`` (units or hours) and ``cost`` (money per unit) as the
    LP was solved. Where a table splits its cost into parts (freight and in-transit holding;
    backorder and end-of-plan), the part an edit can change absorbs the difference."""
    out = {}
    for name, df in built.variables.items():
        col = df["col"].to_numpy()
        x = sol.col_value[col] if len(col) else np.zeros(0)
        df = df.assign(value=np.where(np.abs(x) < 1e-9, 0.0, x), cost=built.lp.c[col] if len(col) else np.zeros(0))
        if name in ("ship", "deliver"):
            df["freight"] = df["cost"] - df["transit_holding"]
        if name == "backlog_units":
            df["backorder_part"] = df["cost"] - df["end_part"]
        out[name] = df
    return out


def limits(built: Built, family: str, sol: Solution | None = None) -> pd.DataFrame:
    """A family's rows as solved: index columns, ``limit`` and (with ``sol``) ``activity``."""
    found = built.lp.block(family)
    if found is None:
        return pd.DataFrame(columns=[*built.families[family].index, "limit", "activity"])
    b, sl = found
    out = b.keys.assign(limit=built.lp.limit[sl])
    if sol is not None:
        out["activity"] = sol.row_value[sl]
    return out


def _by_period(df: pd.DataFrame, built: Built, keys: list[str]) -> pd.DataFrame:
    """Sort by ``keys`` then period in plan order."""
    order = {p: i for i, p in enumerate(built.case.period_names)}
    return df.assign(_t=df["period"].map(order)).sort_values([*keys, "_t"]).drop(columns="_t").reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Sentences
# --------------------------------------------------------------------------------------


def _holds(lo: float | None, hi: float | None, unit: str) -> str:
    """Where a price holds, in words: limits are never negative, so a range from 0 says "up to"."""
    if lo is None or (isinstance(lo, float) and math.isnan(lo)):
        return ""
    if hi == math.inf and lo <= 0:
        return "holds for any limit"
    if hi == math.inf:
        return f"holds for limits from {number(lo)} {unit} up"
    if lo <= 0:
        return f"holds for limits up to {number(hi)} {unit}"
    return f"holds while the limit stays between {number(lo)} and {number(hi)} {unit}"


def _effect(price: float, currency: str) -> str:
    if math.isinf(price):
        return "is beyond what the plan can do (no plan meets it)"
    if abs(price) < 0.005:
        return "would not change the cost"
    return f"would {'save' if price < 0 else 'cost'} {number(abs(price))} {currency}"


def _known(x: object) -> TypeGuard[float]:
    """A measured number: not None and not NaN (a side or a range that was not computed)."""
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def meaning(built: Built, r: dict) -> str:
    """The sentence a finance reviewer reads: what one unit more (and, where the price is
    one-sided, one unit less) of the limit is worth, and over which limits that holds. A price
    that holds on one side only is said to, and a side that was not measured (rows outside the
    business limits, at a turning point) is never presented as known."""
    fam, currency = built.families[r["constraint"]], built.case.currency
    unit = r.get("limit_unit") or fam.unit
    up, down, limit, price = r.get("shadow_price_up"), r.get("shadow_price_down"), r["limit"], r["shadow_price"]
    subject = fam.subject(r.get)
    subject = subject[0].upper() + subject[1:]
    if not _known(r.get("limit_lower")):  # no basis (PDLP, or ranging turned off)
        return f"{subject} {_effect(price, currency)} at this plan; where that holds was not computed (the solver gave no basis)."
    at_floor = limit <= 1e-9  # a limit at 0 cannot fall
    if _known(up) and _known(down) and (up != down if math.isinf(up) or math.isinf(down) else abs(up - down) > 1e-9 * max(1.0, abs(up), abs(down))):
        less = "would make the plan infeasible" if math.isinf(down) else _effect(-down, currency)
        return (
            f"{subject} {_effect(up, currency)}, but one {ONE.get(unit, unit)} less {less}: "
            f"a one-sided price, the plan changes course exactly at this limit ({number(limit)} {unit})."
        )
    if not _known(up) and (at_floor or not _known(down)):
        holds = "holds for no rise, which was not measured (a limit of 0 cannot fall)" if at_floor else "holds for neither a rise nor a fall; those were not measured"
        return f"{subject}: the plan changes course exactly at this limit ({number(limit)} {unit}), so its price ({number(price)} {currency}) {holds}."
    if _known(up):
        price, below_only = up, False
    else:
        assert _known(down)  # the returns above leave only rows with a measured side
        price, below_only = down, True
    text = f"{subject}{' up to this limit' if below_only else ''} {_effect(price, currency)}"
    if fam.step.kind == "points" and r.get("_base") and math.isfinite(price):
        text += f" ({number(abs(price) * r['_base'] / 100)} {currency} per percentage point of fill rate)"
    holds = _holds(r.get("limit_lower"), r.get("limit_upper"), unit)
    if not _known(down) and not at_floor:
        holds += f"; below {number(limit)} {unit} the plan changes course (the price for a fall was not measured)"
    elif below_only:
        holds += f"; above {number(limit)} {unit} the plan changes course (the price for a rise was not measured)"
    return text + (f"; {holds}" if holds else "") + "."


# --------------------------------------------------------------------------------------
# Shadow prices
# --------------------------------------------------------------------------------------


def shadow_price_columns(built: Built) -> list[str]:
    return [
        "constraint", *index_columns(built.families), "limit", "limit_unit", "activity", "slack", "shadow_price",
        "shadow_price_up", "shadow_price_down", "limit_lower", "limit_upper", "meaning",
    ]


def shadow_prices(built: Built, sol: Solution, all_rows: bool = False) -> pd.DataFrame:
    """One row per binding constraint (or every row with ``all_rows``).

    A row binds when its shadow price is non-zero or an inequality sits at its limit.
    limit: the right-hand side, in limit_unit; activity: the left-hand side at the optimum;
    slack: how far the activity is from the limit on the allowed side (0 when binding);
    shadow_price: d(total cost)/d(limit) at the optimal basis; shadow_price_up and
    shadow_price_down: the same for a rise and for a fall of the limit (they differ where the
    price is one-sided); limit_lower/upper: the range of the limit over which shadow_price
    holds (never below 0). The index columns are every family's, in review order."""
    lp = built.lp
    limit = lp.limit
    act = sol.row_value
    slack = np.where(lp.row_sense == 1, limit - act, np.where(lp.row_sense == -1, act - limit, 0.0))
    dual = _clean(sol.row_dual)
    scale = np.maximum(1.0, np.abs(limit))
    binding = (np.abs(dual) > 1e-9) | ((lp.row_sense != 0) & (np.abs(slack) <= TOL * scale))
    keep = np.ones_like(binding) if all_rows else binding
    columns = shadow_price_columns(built)
    frames = []
    for b, sl in lp.rows():
        sel = np.flatnonzero(keep[sl])
        if not len(sel):
            continue
        g = sel + sl.start
        df = b.keys.iloc[sel].reset_index(drop=True)
        df.insert(0, "constraint", b.family)
        df["limit"] = limit[g]
        df["limit_unit"] = built.families[b.family].units(built.case, df)
        df["activity"] = act[g]
        df["slack"] = _clean(slack[g])
        df["shadow_price"] = dual[g]
        df["shadow_price_up"] = _clean(sol.row_price_up[g])
        df["shadow_price_down"] = _clean(sol.row_price_down[g])
        df["limit_lower"] = sol.row_bound_lower[g]
        df["limit_upper"] = sol.row_bound_upper[g]
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True).reindex(columns=columns)
    out["_base"] = np.nan
    for name, rows in out.groupby("constraint", sort=False):
        out.loc[rows.index, "_base"] = built.families[name].base(built, rows)
    # Rows as dicts from column lists: DataFrame.to_dict("records") boxes cell by cell (0.45 s
    # for 32k rows at 88k variables); tolist gives the same Python values.
    names = list(out.columns)
    out["meaning"] = [meaning(built, dict(zip(names, values))) for values in zip(*(out[c].tolist() for c in names))]
    out = out.drop(columns="_base")
    rank = out["constraint"].map({f: i for i, f in enumerate(review_order(built.families))})
    out = out.assign(_rank=rank, _abs=out["shadow_price"].abs()).sort_values(["_rank", "_abs"], ascending=[True, False]).drop(columns=["_rank", "_abs"])
    return out.reset_index(drop=True)


def _clean(x: np.ndarray) -> np.ndarray:
    return np.where(np.abs(x) < 1e-9, 0.0, x)


# --------------------------------------------------------------------------------------
# Binding business limits, by the object they limit
# --------------------------------------------------------------------------------------


def _object_keys(fam: Family) -> list[str]:
    return [c for c in fam.index if c != "period"]


def object_keys(families: dict[str, Family]) -> list[str]:
    """The index columns that name the business objects of the families' limits (all but the period)."""
    out: list[str] = []
    for f in families.values():
        if f.lever:
            out += [c for c in _object_keys(f) if c not in out]
    return out


def binding_levers(built: Built, sol: Solution) -> pd.DataFrame:
    """The business limits that bind (a non-zero price on either side), with their LP rows."""
    lp = built.lp
    frames = []
    for b, sl in lp.rows():
        fam = built.families.get(b.family)
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
        keys = _object_keys(fam)
        df["_object"] = df[keys].astype(str).agg(" / ".join, axis=1) if keys else ""
        df["_base"] = fam.base(built, df)
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def ledger_entries(built: Built, sol: Solution) -> pd.DataFrame:
    """The binding business limits grouped by the object they limit over the periods (a line
    at a plant, a lane, a supplier, a segment's promise ...), each with the periods it binds,
    its prices, its family's step (``Family.step``) and what the prices alone predict the step
    is worth (``predicted``: money, negative saves). ``_rows`` and ``_new``: the
    LP rows and their stepped limits, for a re-solve (``whatifs.ledger``)."""
    sp = binding_levers(built, sol)
    if sp.empty:
        return pd.DataFrame()
    entries = []
    for (family, key), rows in sp.groupby(["constraint", "_object"], sort=False):
        fam = built.families[family]
        first = rows.iloc[0]
        g = {c: first[c] for c in fam.index}.get
        step = pd.Series(fam.step.amounts(rows["limit"], rows["_base"]), index=rows.index)
        price_rise = rows["shadow_price_up"].where(rows["shadow_price_up"].notna(), rows["shadow_price"])
        price_fall = rows["shadow_price_down"].where(rows["shadow_price_down"].notna(), rows["shadow_price"])
        predicted = float((step * np.where(step < 0, price_fall, price_rise)).sum())
        one_sided = bool(((rows["shadow_price_up"] - rows["shadow_price_down"]).abs() > 1e-9).any())
        entries.append(
            {
                "constraint": family,
                "object": fam.noun(g) if fam.noun else f"{family} {key}",
                **{c: first[c] for c in _object_keys(fam)},
                "unit": first["limit_unit"],
                "periods": periods_text(built.case.period_names, rows["period"]) if "period" in fam.index else "",
                "binding_periods": len(rows),
                "price_low": float(rows["shadow_price"].abs().min()),
                "price_high": float(rows["shadow_price"].abs().max()),
                "one_sided": one_sided,
                "step": fam.step.named(rows["limit"]),
                "_doing": fam.step.says(rows["limit"]),
                "_worth": fam.worth,
                "step_size": float(step.abs().sum()),
                "predicted": predicted,
                "_rows": rows["_row"].to_numpy(),
                "_new": (rows["limit"] + step).to_numpy(),
            }
        )
    return pd.DataFrame(entries)


# --------------------------------------------------------------------------------------
# One function per table
# --------------------------------------------------------------------------------------


def production_table(built: Built, v: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """site, product, period: units made and co-manufactured, their unit costs and cost."""
    k = ["site", "product", "period"]
    make, out_ = v["make"], v["outsource"]
    p = make[k + ["t", "value", "cost"]].rename(columns={"value": "make", "cost": "unit_cost"}).merge(
        out_[k + ["t", "value", "cost"]].rename(columns={"value": "outsource", "cost": "outsource_cost"}), how="outer", on=k + ["t"]
    )
    p[["make", "outsource"]] = p[["make", "outsource"]].fillna(0.0)
    p["cost"] = p["make"] * p["unit_cost"].fillna(0) + p["outsource"] * p["outsource_cost"].fillna(0)
    p = p[(p["make"] > 0) | (p["outsource"] > 0)]
    return p.sort_values(["site", "product", "t"]).drop(columns="t").reset_index(drop=True)


def capacity_table(built: Built, sol: Solution, v: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """site, resource, period: regular hours and overtime allowance (the rows' limits as
    solved), hours used (regular + overtime), overtime used, utilization (hours used over
    regular hours: above 1 when overtime is worked) and overtime cost."""
    k = ["site", "resource", "period"]
    cap = limits(built, "capacity", sol).rename(columns={"limit": "hours"})
    allowance = limits(built, "overtime").rename(columns={"limit": "overtime_hours"})
    ot = v["overtime_hours"][k + ["value", "cost"]].rename(columns={"value": "overtime_used"})
    cap = cap.merge(allowance, how="left", on=k).merge(ot, how="left", on=k).fillna({"overtime_hours": 0.0, "overtime_used": 0.0, "cost": 0.0})
    cap["used"] = cap["activity"] + cap["overtime_used"]  # the row is hours used - overtime <= hours
    cap["overtime_cost_total"] = cap["overtime_used"] * cap["cost"]
    cap["utilization"] = np.where(cap["hours"] > 0, cap["used"] / cap["hours"], np.nan)
    cols = ["site", "resource", "period", "hours", "overtime_hours", "used", "overtime_used", "utilization", "overtime_cost_total"]
    return _by_period(cap[cols], built, ["site", "resource"])


def shipment_tables(built: Built, v: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The shipments table (one row per lane, product, departure and arrival period) and the
    goods still in transit when the plan ends.

    A shipment between sites is planned by the period it leaves and splits on arrival; a
    delivery to a customer is planned by the period it arrives and splits on departure
    (``planned_by``). ``share`` is the part of that planned flow on the row; ``quantity`` the
    units leaving in departure_period and arriving in arrival_period (blank: after the plan)."""
    case = built.case
    names = np.array(case.period_names + [None], dtype=object)
    T = len(case.periods)
    flows = pd.concat([v["ship"].assign(planned_by="departure"), v["deliver"].assign(planned_by="arrival")], ignore_index=True)
    flows = flows[flows["value"] > 0]
    legs = flows.merge(built.legs, on=["lane", "t"])
    legs = legs.assign(quantity=legs["value"] * legs["share"])
    legs = legs[legs["quantity"] > 1e-9].sort_values(["origin", "destination", "mode", "product", "dep", "arr"])
    shipments = pd.DataFrame(
        {
            "origin": legs["origin"],
            "destination": legs["destination"],
            "mode": legs["mode"],
            "premium": legs["premium"].astype(bool),
            "product": legs["product"],
            "departure_period": names[legs["dep"].to_numpy()],
            "arrival_period": names[legs["arr"].to_numpy()],
            "planned_by": legs["planned_by"],
            "share": legs["share"],
            "quantity": legs["quantity"],
            "cost_per_unit": legs["freight"],
            "freight_cost": legs["quantity"] * legs["freight"],
            "transit_holding_cost": legs["quantity"] * legs["transit_holding"],
        }
    ).reset_index(drop=True)
    after = legs[legs["arr"] == T]
    # astype: an empty column's map keeps its text dtype (pandas 3), and text times units fails.
    uv = after["product"].map(case.products.set_index("product")["unit_value"]).astype(float)
    in_transit = pd.DataFrame(
        {
            "origin": after["origin"],
            "destination": after["destination"],
            "mode": after["mode"],
            "product": after["product"],
            "departure_period": names[after["dep"].to_numpy()],
            "quantity": after["quantity"],
            "unit_value": uv,
            "value": after["quantity"] * uv,
        }
    ).reset_index(drop=True)
    return shipments, in_transit


def inventory_table(built: Built, v: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """site, product, period: on hand at the period end, the safety-stock target (the row's
    limit as solved) and shortfall, inventory value (unit_value) and holding cost."""
    k = ["site", "product", "period"]
    target = limits(built, "safety_stock").rename(columns={"limit": "safety_stock"})
    short = v["ss_short"][k + ["value"]].rename(columns={"value": "safety_stock_short"})
    inv = v["inv"].merge(target, how="left", on=k).merge(short, how="left", on=k).fillna({"safety_stock": 0.0, "safety_stock_short": 0.0})
    uv = built.case.products.set_index("product")["unit_value"]
    inv = inv.assign(on_hand=inv["value"], inventory_value=inv["value"] * inv["product"].map(uv), holding_cost=inv["value"] * inv["cost"])
    cols = ["site", "product", "period", "on_hand", "safety_stock", "safety_stock_short", "inventory_value", "holding_cost"]
    return inv.sort_values(["site", "product", "t"])[cols].reset_index(drop=True)


def backorders(built: Built, v: dict[str, pd.DataFrame], quantity: pd.DataFrame) -> pd.DataFrame:
    """Per product, customer and period of backorder segments: on-time and late deliveries,
    new backorders and the backlog at period end (units).

    The LP fixes the backlog (cumulative demand not lost minus cumulative deliveries) but not
    how a period's arrivals split between this period's demand and older backlog: a unit can
    be backordered and delivered late in the same period at no cost. The report uses the one
    canonical split that maximises on-time delivery (the OTIF row's own view): arrivals serve
    the period's demand first, the rest clears backlog."""
    k = ["product", "customer", "period"]
    b = v["backlog_units"]
    out = b[k + ["t", "segment", "backorder_part", "end_part", "lost_cost"]].assign(backlog=b["value"])
    got = pd.concat([v["ontime"][k + ["value"]], v["late"][k + ["value"]]]).groupby(k, as_index=False)["value"].sum()
    out = out.merge(got.rename(columns={"value": "delivered"}), how="left", on=k)
    short = v["short"][k + ["value"]].rename(columns={"value": "short"})
    out = out.merge(short, how="left", on=k).merge(quantity, how="left", on=k)
    out = out.fillna({"delivered": 0.0, "short": 0.0, "quantity": 0.0})
    due = (out["quantity"] - out["short"]).clip(lower=0.0)
    out["ontime"] = np.minimum(out["delivered"], due)
    out["late"] = out["delivered"] - out["ontime"]
    out["new_backorders"] = due - out["ontime"]
    out["price"] = prices(built, out)
    for c in ("ontime", "late", "new_backorders"):
        out[c] = out[c].where(out[c].abs() > 1e-9, 0.0)
    return out.sort_values(["customer", "product", "t"]).reset_index(drop=True)


def deliveries(solved, sol: Solution | None = None) -> pd.DataFrame:
    """product, customer, period: units delivered (in the period they arrive), of them late
    (clearing backlog), and the price; revenue and revenue deferred (money). ``solved``: the
    solved model (``solve.Solved``); ``sol``: another solution of it (a what-if)."""
    built = solved.built
    sol = sol or solved.solution
    return _deliveries(built, sol)


def _deliveries(built: Built, sol: Solution) -> pd.DataFrame:
    k = ["product", "customer", "period"]
    d = built.variables["deliver"]
    got = d.assign(units=sol.col_value[d["col"].to_numpy()] if len(d) else []).rename(columns={"destination": "customer"})
    got = got.groupby(k, as_index=False)["units"].sum()
    late = built.variables["late"]
    late = late.assign(late=sol.col_value[late["col"].to_numpy()])[k + ["late"]] if len(late) else pd.DataFrame(columns=[*k, "late"])
    out = got.merge(late, how="left", on=k).fillna({"late": 0.0})
    out = out[out["units"].abs() > 1e-9].reset_index(drop=True)
    out["price"] = prices(built, out)
    out["revenue"] = out["units"] * out["price"]
    out["revenue_deferred"] = out["late"] * out["price"]
    return out


def _demand_positions(built: Built) -> dict[str, np.ndarray]:
    """Where each demand row and each period of a waiting customer finds its numbers (the
    structure's part of ``Figures.service_figures``): the demand row's LP row and lost-sales
    variable, the backorder grid's demand row, lost-sales variable and price (the demand row
    of its period, else the customer's latest before it, else the product's), and segments."""
    case, v = built.case, built.variables
    k = ["product", "customer", "period"]
    d = case.demand
    dem = pd.MultiIndex.from_frame(d[k])
    short = pd.MultiIndex.from_frame(v["short"][k])
    found = built.lp.block("demand")
    limit_row = np.full(len(d), -1, dtype=np.int64)
    if found is not None and len(found[0]):
        local = pd.MultiIndex.from_frame(found[0].keys[k]).get_indexer(dem)
        limit_row = np.where(local >= 0, local + found[1].start, -1)
    seg = case.customers.set_index("customer")["segment"]
    waiting = set(case.service.loc[case.service["backorder_cost"].notna(), "segment"])
    grid = v["backlog_units"]
    for name in ("ontime", "late"):  # one grid, one order (the canonical order of its keys)
        assert v[name][k].equals(grid[k]), name
    gkeys = pd.MultiIndex.from_frame(grid[k])
    rows = pd.DataFrame({"product": grid["product"].astype(str), "customer": grid["customer"].astype(str), "period": grid["period"], "_i": np.arange(len(grid))})
    rows["t"] = grid["t"].to_numpy(dtype=np.int64)
    order = {p: i for i, p in enumerate(case.period_names)}
    history = d[k].assign(t=d["period"].map(order).astype(np.int64), _d=np.arange(len(d))).astype({"product": str, "customer": str})
    latest = pd.merge_asof(rows.sort_values("t"), history.sort_values("t")[["product", "customer", "t", "_d"]], on="t", by=["product", "customer"], direction="backward")
    latest = latest.sort_values("_i")["_d"].fillna(-1).to_numpy(dtype=np.int64)
    segments, codes = np.unique(np.concatenate([d["customer"].map(seg).astype(str).to_numpy(), grid["segment"].astype(str).to_numpy()]), return_inverse=True)
    return {
        "limit_row": limit_row,
        "short": short.get_indexer(dem),
        "waits": d["customer"].map(seg).isin(waiting).to_numpy(),
        "grid_row": dem.get_indexer(gkeys),
        "grid_short": short.get_indexer(gkeys),
        "grid_price": latest,
        "grid_product": grid["_p"].to_numpy(dtype=np.int64),
        "grid_last": grid["t"].to_numpy() == len(case.periods) - 1,
        "segments": segments,
        "segment": codes[: len(d)],
        "grid_segment": codes[len(d) :],
    }


def _transit_positions(built: Built) -> dict[str, np.ndarray]:
    """Per flow variable (ship, then deliver): its product's row in the products table, the
    share of it still moving at the end of each period summed over the periods
    (``ends_moving``), and the share still moving after the plan (``after``)."""
    v, T = built.variables, len(built.case.periods)
    flows = pd.concat([v["ship"][["lane", "t", "product"]], v["deliver"][["lane", "t", "product"]]], ignore_index=True).assign(_i=lambda d: np.arange(len(d)))
    legs = flows.merge(built.legs, on=["lane", "t"])
    i = legs["_i"].to_numpy()
    share, dep, arr = legs["share"].to_numpy(), legs["dep"].to_numpy(), legs["arr"].to_numpy()
    # In transit at the end of period u for dep <= u < arr, within the plan.
    ends = np.clip(np.minimum(arr, T) - dep, 0, None)
    where = {p: n for n, p in enumerate(built.case.products["product"])}
    return {
        "product": flows["product"].map(where).to_numpy(dtype=np.int64),
        "ends_moving": np.bincount(i, weights=share * ends, minlength=len(flows)),
        "after": np.bincount(i, weights=share * (arr >= T), minlength=len(flows)),
    }


def period_costs(built: Built, v: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every part of the objective by period (money), in long form: line, group, period,
    amount. Production, co-manufacturing and purchases in the period they happen, overtime in
    its period, freight and in-transit holding in the period goods leave, holding at sites at
    each period's end, penalties in the period they fall; the backlog left at the end in the
    last period. Sums to the objective."""
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


def prices(built: Built, rows: pd.DataFrame) -> np.ndarray:
    """The price of each (product, customer, period) of ``rows``: the demand row's, else the
    customer's latest before it, else the product's."""
    case = built.case
    order = {p: i for i, p in enumerate(case.period_names)}
    names = {"product": str, "customer": str}  # merge_asof wants the same dtype on both sides
    dem = case.demand[["product", "customer", "period", "price"]].assign(t=lambda d: d["period"].map(order)).astype(names)
    r = rows[["product", "customer", "period"]].assign(t=rows["period"].map(order).astype("int64"), _i=np.arange(len(rows))).astype(names)
    if not len(r):
        return np.zeros(0)
    both = pd.merge_asof(r.sort_values("t"), dem.sort_values("t")[["product", "customer", "t", "price"]].astype({"t": "int64"}), on="t", by=["product", "customer"], direction="backward")
    price = both.sort_values("_i")["price"].to_numpy(dtype=float)
    product_price = rows["product"].map(case.products.set_index("product")["price"]).to_numpy(dtype=float)
    return np.where(np.isnan(price), product_price, price)


def demand_quantities(built: Built) -> pd.DataFrame:
    """product, customer, period, quantity: the demand rows' limits as solved (the case's
    quantity where a row constrains nothing)."""
    k = ["product", "customer", "period"]
    q = built.case.demand[k + ["quantity"]].merge(limits(built, "demand")[k + ["limit"]], how="left", on=k)
    return q.assign(quantity=q["limit"].fillna(q["quantity"])).drop(columns="limit")


def demand_table(built: Built, v: dict[str, pd.DataFrame], bo: pd.DataFrame, quantity: pd.DataFrame) -> pd.DataFrame:
    """product, customer, segment, period: demand, on time, new backorders, late, backlog,
    lost (short), price, revenue (delivered), revenue deferred (late) and lost, shortage cost."""
    case = built.case
    k = ["product", "customer", "period"]
    dem = case.demand[k + ["price"]].merge(quantity, on=k)
    # A customer who waits may be delivered in a month without demand of its own.
    extra = bo[(bo["late"] > 0) | (bo["backlog"] > 0)][k].merge(dem[k], how="left", indicator=True)
    extra = extra[extra["_merge"] == "left_only"][k]
    if len(extra):
        dem = pd.concat([dem, extra.assign(price=prices(built, extra), quantity=0.0)], ignore_index=True)
    dem["segment"] = dem["customer"].map(case.customers.set_index("customer")["segment"])
    short = v["short"][k + ["value", "cost"]].rename(columns={"value": "short", "cost": "shortage_cost"})
    dem = dem.merge(short, how="left", on=k)
    # A backorder customer's last month cannot be lost, only owed: its cost is the end-of-plan one.
    owed = v["backlog_units"][k + ["end_part"]]
    dem = dem.merge(owed[owed["end_part"] > 0], how="left", on=k)
    dem["shortage_cost"] = dem["shortage_cost"].fillna(dem["end_part"]).fillna(0.0)
    dem = dem.drop(columns="end_part").fillna({"short": 0.0})
    dem = dem.merge(bo[k + ["ontime", "new_backorders", "late", "backlog"]], how="left", on=k)
    dem["ontime"] = dem["ontime"].where(dem["ontime"].notna(), dem["quantity"] - dem["short"])
    dem = dem.fillna({"new_backorders": 0.0, "late": 0.0, "backlog": 0.0})
    dem["revenue"] = (dem["ontime"] + dem["late"]) * dem["price"]
    dem["revenue_deferred"] = dem["late"] * dem["price"]
    dem["revenue_lost"] = dem["short"] * dem["price"]
    cols = [
        "product", "customer", "segment", "period", "quantity", "ontime", "new_backorders", "late", "backlog", "short", "price",
        "revenue", "revenue_deferred", "revenue_lost", "shortage_cost",
    ]
    return _by_period(dem[cols], built, ["customer", "product"])


def service_table(built: Built, demand: pd.DataFrame) -> pd.DataFrame:
    """segment, period: demand, the part a lane can reach, on time, late, short, fill rate (on
    time over all demand, OTIF) and the target (the service row's limit as solved, over the
    demand a lane can reach, which is what the promise covers)."""
    svc = demand.groupby(["segment", "period"], as_index=False)[["quantity", "ontime", "late", "short"]].sum()
    svc = svc.merge(built.segment_demand[["segment", "period", "reachable"]], how="left", on=["segment", "period"]).fillna({"reachable": 0.0})
    svc["fill_rate"] = np.where(svc["quantity"] > 0, svc["ontime"] / svc["quantity"], np.nan)
    rows = limits(built, "service").merge(built.segment_demand, on=["segment", "period"])
    target = rows.assign(target=np.where(rows["reachable"] > 0, rows["limit"] / rows["reachable"], 0.0))[["segment", "period", "target"]]
    svc = svc.merge(target, how="left", on=["segment", "period"]).fillna({"target": 0.0})
    svc = svc[["segment", "period", "quantity", "reachable", "ontime", "late", "short", "fill_rate", "target"]]
    return _by_period(svc, built, ["segment"])


def purchases_table(v: dict[str, pd.DataFrame]) -> pd.DataFrame:
    b = v["buy"]
    b = b[b["value"] > 0]
    out = b.assign(quantity=b["value"], unit_cost=b["cost"], purchase_cost=b["value"] * b["cost"]).sort_values(["site", "product", "t"])
    return out[["site", "product", "period", "quantity", "unit_cost", "purchase_cost"]].rename(columns={"site": "supplier"}).reset_index(drop=True)


def consumption_table(built: Built, v: dict[str, pd.DataFrame]) -> pd.DataFrame:
    use = v["make"].merge(built.case.bom, on=["site", "product"])
    use = use[use["value"] > 0]
    out = use.assign(made=use["value"], component_units=use["value"] * use["quantity"]).sort_values(["site", "product", "component", "t"])
    return out[["site", "product", "component", "period", "made", "quantity", "component_units"]].rename(columns={"quantity": "units_per_unit"}).reset_index(drop=True)


def backorders_table(bo: pd.DataFrame) -> pd.DataFrame:
    out = bo[(bo["new_backorders"] > 0) | (bo["late"] > 0) | (bo["backlog"] > 0)].assign(revenue_deferred=lambda d: d["late"] * d["price"])
    return out[["product", "customer", "segment", "period", "new_backorders", "late", "backlog", "revenue_deferred"]].reset_index(drop=True)


def provenance(case, solver: str, options: Mapping[str, object], objective: float | None = None, timings: dict[str, float] | None = None) -> pd.DataFrame:
    """What a plan (or a failed solve) was made from and with: the case, SHA-256 of every input
    file and table, the versions of Python and the libraries, the HiGHS options (seed and threads
    included), the time, the stage timings and the objective, so the same inputs and versions
    can be checked to give the same objective. Columns: item, value (text)."""
    import datetime as dt
    import platform
    from importlib.metadata import PackageNotFoundError, version

    rows = [{"item": "case", "value": case.source}, {"item": "solved at (UTC)", "value": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}]
    rows.append({"item": "python", "value": platform.python_version()})
    for pkg in ("aop", "pyomo", "highspy", "highspy-extras", "pandas", "numpy", "scipy", "openpyxl", "xlsxwriter", "defusedxml"):
        try:
            rows.append({"item": pkg, "value": version(pkg)})
        except PackageNotFoundError:
            rows.append({"item": pkg, "value": "not installed"})
    rows.append({"item": "solver", "value": solver})
    rows += [{"item": f"option {k}", "value": str(v)} for k, v in sorted(options.items())]
    rows += [{"item": f"stage {k} seconds", "value": f"{v:.3f}"} for k, v in (timings or {}).items()]
    if objective is not None:
        rows.append({"item": "objective", "value": repr(objective)})
    return pd.concat([pd.DataFrame(rows), case.inputs], ignore_index=True)


def plan_tables(f: Figures) -> dict[str, pd.DataFrame]:
    """The result tables of a solved plan, by name (``PLAN_TABLES`` order; the summary, the
    provenance and the finance view are assembled beside them: ``plan.assemble``)."""
    built, sol, case, v = f.built, f.solution, f.case, f.v
    shipments, in_transit = f.flows
    tables = {
        "production": production_table(built, v),
        "capacity": capacity_table(built, sol, v),
        "shipments": shipments,
        "inventory": f.inventory,
        "demand": f.demand,
        "service": f.service,
        "shadow_prices": shadow_prices(built, sol),
    }
    if len(case.supply) or len(v["buy"]):
        tables["purchases"] = purchases_table(v)
    if len(case.bom):
        tables["consumption"] = consumption_table(built, v)
    if len(f.bo):
        tables["backorders"] = backorders_table(f.bo)
    if len(in_transit):
        tables["in_transit"] = in_transit
    return tables
