"""Explain an infeasible plan in the planner's words.

Two views, both mapped from HiGHS rows back to constraint families and business keys:
* the conflict: HiGHS's irreducible infeasible subset (IIS) of rows;
* the smallest relaxation: an elastic re-solve in which only business limits may move
  (capacities, supplier and lane limits, storage, closing stock, fill-rate targets), first only
  the promises, then any business limit. Flow-accounting rows never move.

Both are re-solves of their own, bounded in time (``solve.DIAGNOSIS_SOLVE_SECONDS`` each,
``SolveOptions.diagnosis_seconds`` together): the relaxation first, the conflict with what is
left; a view cut short says so (``cut_short``) rather than hold the run.

The elastic LP adds one slack per movable row (units or hours past its limit) and minimises
their sum: that total is unique. Which rows absorb it often is not (a month's shortfall can
often be moved to another month at the same total), so a second solve, holding the total,
places the movement as late in the plan as it can: earlier promises are kept whole first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .build import Built
from .families import LIMIT, PROMISE
from .solve import DIAGNOSIS_SOLVE_SECONDS, Solved, SolveOptions, least_relaxation


@dataclass
class Infeasibility:
    """conflict: rows of the IIS (constraint, index columns, sense, limit).
    relaxation: rows the smallest relaxation moves (constraint, index columns, limit,
    achievable, change, meaning). cut_short: what the time budget cut short, in words (empty
    when both views ran to the end)."""

    conflict: pd.DataFrame
    relaxation: pd.DataFrame
    cut_short: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"The diagnosis was cut short: {c}." for c in self.cut_short]
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
    total = solved.opts.diagnosis_seconds
    deadline = time.perf_counter() + total

    def budget() -> float:
        """Seconds the next re-solve may take: its own cap, within what is left of the total."""
        return max(0.0, min(DIAGNOSIS_SOLVE_SECONDS, deadline - time.perf_counter()))

    cut_short = []
    promises = {n for n, f in built.families.items() if f.tier == PROMISE}
    limits = {n for n, f in built.families.items() if f.tier in (PROMISE, LIMIT)}
    relaxation = None
    for tier, words in ((promises, "moving only the promises"), (limits, "moving any business limit")):
        seconds = budget()
        try:
            relaxation, cut = _relax(built, tier, solved.opts, seconds)
        except Exception:
            relaxation, cut = None, False
        if cut:
            cut_short.append(f"the smallest change {words} was not found in the {seconds:.3g} s it was given (the diagnosis has {total:g} s in all)")
        if relaxation is not None:
            break
    seconds = budget()
    rows, cut = solved.conflict(seconds)
    if cut:
        cut_short.append(f"HiGHS's conflicting constraints (IIS) were not found in the {seconds:.3g} s left (the diagnosis has {total:g} s in all)")
    conflict = lp.row_keys(rows).drop(columns="_row") if len(rows) else pd.DataFrame()
    return Infeasibility(conflict=conflict, relaxation=relaxation if relaxation is not None else pd.DataFrame(), cut_short=cut_short)


def _relax(built: Built, families: set[str], opts: SolveOptions, seconds: float) -> tuple[pd.DataFrame | None, bool]:
    """Least total movement of the rows of ``families`` that makes the LP feasible, placed as late
    in the plan as it can be (earlier promises kept whole first), or None when moving those
    rows cannot make it feasible; and whether its re-solves were cut short after ``seconds``."""
    lp = built.lp
    movable = np.flatnonzero(np.isin(lp.row_family, list(families)) & (lp.row_sense != 0))
    weights = (len(built.case.periods) + 1 - _period_index(built, movable)).astype(float)
    moved_by, cut = least_relaxation(lp, movable, weights, opts, seconds)
    if moved_by is None:
        return None, cut
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
    return relaxation.drop(columns="_row"), False


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
