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

from .build import Built
from .families import LIMIT, PROMISE
from .solve import Solved, SolveOptions, least_relaxation


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


def diagnose(solved: Solved) -> Infeasibility:
    """IIS and smallest relaxation for a plan HiGHS found infeasible (``solved`` holds it).
    Promises (families of tier PROMISE) move first, then any business limit (tier LIMIT too)."""
    built = solved.built
    lp = built.lp
    rows = solved.conflict()
    conflict = lp.row_keys(rows).drop(columns="_row") if len(rows) else pd.DataFrame()
    promises = {n for n, f in built.families.items() if f.tier == PROMISE}
    limits = {n for n, f in built.families.items() if f.tier in (PROMISE, LIMIT)}
    relaxation = None
    for tier in (promises, limits):
        try:
            relaxation = _relax(built, tier, solved.opts)
        except Exception:
            relaxation = None
        if relaxation is not None:
            break
    return Infeasibility(conflict=conflict, relaxation=relaxation if relaxation is not None else pd.DataFrame())


def _relax(built: Built, families: set[str], opts: SolveOptions) -> pd.DataFrame | None:
    """Least total movement of the rows of ``families`` that makes the LP feasible, placed as late
    in the plan as it can be (earlier promises kept whole first), or None when moving those
    rows cannot make it feasible."""
    lp = built.lp
    movable = np.flatnonzero(np.isin(lp.row_family, list(families)) & (lp.row_sense != 0))
    weights = (len(built.case.periods) + 1 - _period_index(built, movable)).astype(float)
    moved_by = least_relaxation(lp, movable, weights, opts)
    if moved_by is None:
        return None
    limit = lp.limit[movable]
    tol = 1e-6 * np.maximum(1.0, np.abs(limit))
    keep = moved_by > tol
    relaxation = lp.row_keys(movable[keep])
    relaxation["achievable"] = limit[keep] + lp.row_sense[movable[keep]] * moved_by[keep]  # a "<=" row is exceeded, a ">=" row falls short
    relaxation["change"] = relaxation["achievable"] - relaxation["limit"]
    relaxation["meaning"] = ""
    for name, rows in relaxation.groupby("constraint", sort=False):
        fam = built.families[name]
        base = fam.base(built, rows)
        relaxation.loc[rows.index, "meaning"] = [fam.say_shortfall(r.get, r["limit"], r["achievable"], b) for r, b in zip(rows.to_dict("records"), base)]
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
