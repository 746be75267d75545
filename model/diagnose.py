"""Explain an infeasible plan in the planner's words.

Two views, both mapped from HiGHS rows back to constraint families and business keys:
* the conflict: HiGHS's irreducible infeasible subset (IIS) of rows;
* the smallest relaxation: an elastic re-solve in which only business limits may move
  (capacities, supplier and lane limits, storage, closing stock, fill-rate targets), first only
  the promises, then any business limit. Flow-accounting rows never move.

The elastic LP adds one slack per movable row (units or hours past its limit) and minimises
their sum: that total is unique. Which rows absorb it often is not (a month's shortfall can
often be moved to another month at the same total), so a second solve, holding the total,
places the movement as late in the plan as it can: earlier promises are kept whole first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

import highspy

from .build import Built
from .families import LIMIT, PROMISE
from .lp import LP
from .solve import Solved, SolveOptions, make_highs


@dataclass
class Infeasibility:
    """conflict: rows of the IIS (constraint, index columns, sense, limit).
    relaxation: rows the smallest relaxation moves (constraint, index columns, limit,
    achievable, change, meaning)."""

    conflict: pd.DataFrame
    relaxation: pd.DataFrame

    def lines(self) -> list[str]:
        out = []
        if len(self.relaxation):
            out.append("The smallest change that makes the plan feasible:")
            out += [f"  - {m}" for m in self.relaxation["meaning"]]
        if len(self.conflict):
            out.append(f"Constraints that conflict ({len(self.conflict)} rows, HiGHS IIS):")
            for r in self.conflict.head(30).to_dict("records"):
                keys = ", ".join(f"{k}={v}" for k, v in r.items() if k not in ("constraint", "sense", "limit") and v is not None and v == v)
                out.append(f"  - {r['constraint']} [{keys}] {r['sense']} {r['limit']:,.2f}")
        return out


def _meaning(r: dict, achievable: float, demand: dict) -> str:
    fam, g = r["constraint"], r.get
    if fam == "service":
        d = demand.get((g("segment"), g("period")), 0.0)
        if d > 0:
            return f"segment {g('segment')}'s {r['limit'] / d:.1%} fill rate in {g('period')} cannot be met; {achievable / d:.1%} can"
    if fam == "ending":
        return f"closing stock of {g('product')} at {g('site')} must be at least {r['limit']:,.2f} units; {achievable:,.2f} can be reached"
    if fam == "capacity":
        return f"{g('resource')} at {g('site')} in {g('period')} has {r['limit']:,.2f} hours; the plan needs {achievable:,.2f}"
    keys = ", ".join(str(v) for k, v in r.items() if k not in ("constraint", "sense", "limit", "_row") and v is not None and v == v)
    verb = "needs" if r["sense"] == "<=" else "reaches"
    return f"{fam} [{keys}] has limit {r['limit']:,.2f}; the plan {verb} {achievable:,.2f}"


def diagnose(solved: Solved) -> Infeasibility:
    """IIS and smallest relaxation for a plan HiGHS found infeasible (``solved.highs`` holds it).
    Promises (families of tier PROMISE) move first, then any business limit (tier LIMIT too)."""
    built, highs, opts = solved.built, solved.highs, solved.opts
    lp = built.lp
    conflict = pd.DataFrame()
    try:
        highs.setOptionValue("iis_strategy", 2)
        status, iis = highs.getIis()
        if iis.valid_ and len(iis.row_index_):
            conflict = lp.row_keys(np.asarray(iis.row_index_, dtype=np.int64)).drop(columns="_row")
    except Exception:  # noqa: BLE001 - an explanation that fails must not hide the verdict
        conflict = pd.DataFrame()
    promises = {n for n, f in built.families.items() if f.tier == PROMISE}
    limits = {n for n, f in built.families.items() if f.tier in (PROMISE, LIMIT)}
    relaxation = None
    for tier in (promises, limits):
        try:
            relaxation = _relax(built, tier, opts)
        except Exception:  # noqa: BLE001
            relaxation = None
        if relaxation is not None:
            break
    return Infeasibility(conflict=conflict, relaxation=relaxation if relaxation is not None else pd.DataFrame())


def _relax(built: Built, families: set[str], opts: SolveOptions) -> pd.DataFrame | None:
    """Least total movement of the rows of ``families`` that makes the LP feasible, placed as late
    in the plan as it can be, or None when moving those rows cannot make it feasible."""
    from scipy.sparse import csc_array, hstack

    lp = built.lp
    movable = np.flatnonzero(np.isin(lp.row_family, list(families)) & (lp.row_sense != 0))
    if not len(movable):
        return None
    k = len(movable)
    # One slack per movable row, signed so that it moves the limit the way that helps:
    # a '<=' row may be exceeded, a '>=' row may fall short.
    slack = csc_array((-lp.row_sense[movable].astype(float), (movable, np.arange(k))), shape=(lp.num_row, k))
    elastic = LP(
        c=np.concatenate([np.zeros(lp.num_col), np.ones(k)]),
        A=hstack([lp.A, slack], format="csc"),
        row_lower=lp.row_lower, row_upper=lp.row_upper,
        col_lower=np.zeros(lp.num_col + k), col_upper=np.full(lp.num_col + k, np.inf),
        row_sense=lp.row_sense, blocks=lp.blocks, offsets=lp.offsets,
    )
    h, options = make_highs(elastic, opts.replace(log=False))
    qs = options["quantity_scale"]
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    total = h.getInfo().objective_function_value  # in HiGHS's (scaled) units
    # Second solve: hold the total (to a relative 1e-7) and prefer moving later periods.
    t = _period_index(built, movable)
    h.addRow(-highspy.kHighsInf, total * (1 + 1e-7) + 1e-9, k, np.arange(lp.num_col, lp.num_col + k, dtype=np.int32), np.ones(k))
    weights = (len(built.case.periods) + 1 - t).astype(float)
    h.changeColsCost(k, np.arange(lp.num_col, lp.num_col + k, dtype=np.int32), weights)
    # Warm, from the first solve's basis. (HiPO, asked to re-solve the modified model, was
    # seen to hang in highspy 1.15.1.)
    h.setOptionValue("solver", "simplex")
    h.setOptionValue("presolve", "off")
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    moved_by = np.asarray(h.getSolution().col_value, dtype=float)[lp.num_col :] * qs
    limit = np.where(lp.row_sense == 1, lp.row_upper, lp.row_lower)[movable]
    tol = 1e-6 * np.maximum(1.0, np.abs(limit))
    keep = moved_by > tol
    relaxation = lp.row_keys(movable[keep])
    relaxation["achievable"] = limit[keep] + lp.row_sense[movable[keep]] * moved_by[keep]  # a "<=" row is exceeded, a ">=" row falls short
    relaxation["change"] = relaxation["achievable"] - relaxation["limit"]
    demand = built.segment_demand.set_index(["segment", "period"])["reachable"].to_dict()
    relaxation["meaning"] = [_meaning(r, a, demand) for r, a in zip(relaxation.to_dict("records"), relaxation["achievable"])]
    return relaxation.drop(columns="_row")


def _period_index(built: Built, rows: np.ndarray) -> np.ndarray:
    """Position in the plan (0 = first period) of each given row; rows without a period (closing
    stock) come after the last period."""
    order = {p: i for i, p in enumerate(built.case.period_names)}
    last = len(order)
    out = np.full(len(rows), last, dtype=np.int64)
    for b, sl in built.lp.rows():
        inside = (rows >= sl.start) & (rows < sl.stop)
        if inside.any() and "period" in b.keys:
            out[inside] = b.keys["period"].iloc[rows[inside] - sl.start].map(order).fillna(last).to_numpy(dtype=np.int64)
    return out
