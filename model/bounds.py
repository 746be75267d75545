"""Proven bounds on what a what-if changes, before (or instead of) re-solving it.

The optimal cost of an LP is convex in its limits (right-hand sides) and concave in its costs,
and weak duality holds for any multipliers, so the base plan's own solution already proves a
side of every step:

- limits moved by ``d``: the cost changes by at least ``y.d`` (``y`` the shadow prices; a
  relaxation saves at most what the prices say), and by at most 0 while the base plan still
  meets the moved limits (a relaxation never costs more);
- costs moved by ``dc``: the cost changes by at most ``x.dc`` (the base plan stays feasible);
- any edit (coefficients too): the Lagrangian bound of the edited LP at any multipliers ``y``
  (``lower_bound``) is a lower bound of its optimal cost, and the base plan, where it still
  meets every row of the edited LP, an upper one (``plan_cost``). A dual simplex re-solve stopped
  early gives multipliers whose bound only rises as it goes on.

Where limits move inside the ranges over which their shadow prices hold (several at once: the
100 % rule, the sum of each move's share of its allowed range at most 1), the optimal basis does
not change and ``y.d`` is the exact change: no re-solve is needed.

``Bound`` carries one what-if's interval and how it is known; ``top_k`` ranks what-ifs by their
bounds, re-solving only those whose best case can still enter the top ``k``. Money is in the
case's currency; a change is the stepped plan's total cost less the base plan's (negative
saves). Tolerances follow HiGHS's: a reduced cost or a row above its limit by less than
``TOL`` (relative) counts as none.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .lp import LP

#: Relative tolerance of the bounds' feasibility and reduced-cost tests (HiGHS's default primal
#: and dual feasibility tolerances are 1e-7 in its scaled units).
TOL = 1e-7

#: How a figure is known, in the words the tables use.
RESOLVED, IN_RANGE, MET, BOUNDED = "re-solved", "inside the ranges", "bounds meet", "bounded"


@dataclass(frozen=True)
class Bound:
    """A what-if's change of total cost, proven to lie in [``low``, ``high``] (money; -inf or
    inf where that side is not known; ``low`` inf when no plan meets the step). ``how``:
    ``re-solved``, ``inside the ranges`` or ``bounds meet`` (exact: ``low == high``), or
    ``bounded``."""

    low: float
    high: float
    how: str = BOUNDED

    @property
    def exact(self) -> bool:
        return self.how != BOUNDED

    @property
    def value(self) -> float:
        """The exact change, or NaN while only bounded."""
        return self.low if self.exact else math.nan

    @property
    def gap(self) -> float:
        return self.high - self.low

    @property
    def best(self) -> float:
        """The largest the change can be in size (``|change|``): what a ranking by size must
        assume of it while it is not settled."""
        return max(abs(self.low), abs(self.high))

    @property
    def worst(self) -> float:
        """The smallest the change can be in size."""
        return 0.0 if self.low <= 0 <= self.high else min(abs(self.low), abs(self.high))

    @classmethod
    def resolved(cls, change: float) -> Bound:
        return cls(change, change, RESOLVED)

    def tighter(self, low: float = -math.inf, high: float = math.inf) -> Bound:
        """This bound with another proven interval laid over it."""
        lo, hi = max(self.low, low), min(self.high, high)
        if self.exact or lo > hi:  # an exact figure stays; crossing bounds mean round-off: keep ours
            return self
        return Bound(lo, hi, BOUNDED)


def signed(lower: np.ndarray, upper: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Multipliers of the sign their rows allow: none that leans on a row's infinite side (a
    solver's -1e-12 on a '>=' row), which would make the bound -inf for nothing."""
    y = np.where(np.isinf(lower), np.minimum(y, 0.0), y)
    return np.where(np.isinf(upper), np.maximum(y, 0.0), y)


def _row_terms(lower: np.ndarray, upper: np.ndarray, y: np.ndarray) -> np.ndarray:
    """min over r in [lower, upper] of y r, row by row (-inf where the bound it needs is infinite)."""
    with np.errstate(invalid="ignore"):
        out = np.where(y > 0, y * lower, np.where(y < 0, y * upper, 0.0))
    return np.nan_to_num(out, nan=0.0, neginf=-np.inf, posinf=np.inf)


def lower_bound(lp: LP, y: np.ndarray, tol: float = TOL) -> float:
    """The Lagrangian lower bound of ``lp``'s optimal cost at row multipliers ``y`` (any signs,
    in the LP's units: money per unit of each row): ``min over r in the rows' bounds of y.r +
    min over x >= 0 of (c - A'y).x``. It is -inf when a column's reduced cost is negative (by
    more than ``tol`` of its cost) or a multiplier leans on an infinite side of its row."""
    y = signed(lp.row_lower, lp.row_upper, y)
    d = lp.c - lp.A.T @ y
    tol_j = tol * np.maximum(1.0, np.abs(lp.c))
    if (d < -tol_j).any():
        return -math.inf
    return float(np.sum(_row_terms(lp.row_lower, lp.row_upper, y)) + np.sum(lp.col_lower * np.maximum(d, 0.0)))


def plan_cost(lp: LP, x: np.ndarray, tol: float = TOL) -> float:
    """The cost of plan ``x`` in ``lp`` where it meets every row (to ``tol`` of each limit's
    size), else of the plan repaired through the LP's own slack (``repair``), else inf: an
    upper bound of the LP's optimal cost."""
    return repair(lp, x, lp.A @ x, tol)


def repair(lp: LP, x: np.ndarray, activity: np.ndarray, tol: float = TOL) -> float:
    """The cost of plan ``x`` (row activities ``activity``) made to meet every row of ``lp``
    through the LP's own slack: a column with one nonzero (lost sales, a shortfall, a
    backorder's penalty) moves alone to close its row's gap, the cheapest such column per row,
    at its own cost. inf when some row has no slack that can close it."""
    size = tol * np.maximum(1.0, np.abs(activity))
    gap = np.where(activity > lp.row_upper + size, lp.row_upper - activity, np.where(activity < lp.row_lower - size, lp.row_lower - activity, 0.0))
    bad = np.flatnonzero(gap)
    cost = float(lp.c @ x)
    if not len(bad):
        return cost
    A = lp.A
    single = np.flatnonzero(np.diff(A.indptr) == 1)
    at = A.indptr[single]
    row, coef = A.indices[at], A.data[at]
    mine = np.isin(row, bad)
    col, row, coef = single[mine], row[mine], coef[mine]
    move = gap[row] / coef
    after = x[col] + move
    ok = (after >= lp.col_lower[col] - tol) & (after <= lp.col_upper[col] + tol)
    extra = np.where(ok, lp.c[col] * move, np.inf)
    best = np.full(lp.num_row, np.inf)
    np.minimum.at(best, row, extra)
    need = best[bad]
    if not np.isfinite(need).all():
        return math.inf
    return cost + float(need.sum())


def limit_step(lp: LP, y: np.ndarray, row_value: np.ndarray, rows: np.ndarray, limits: np.ndarray,
               range_low: np.ndarray | None = None, range_high: np.ndarray | None = None,
               price_up: np.ndarray | None = None, price_down: np.ndarray | None = None, x: np.ndarray | None = None) -> Bound:
    """What setting the limits of ``rows`` to ``limits`` (each row's unit, on its sense's side)
    does to the total cost, from the base solution alone (``y`` its shadow prices, ``row_value``
    its row activities; ``range_low``/``range_high`` where each price holds; ``price_up``/
    ``price_down`` its one-sided prices). Exact inside the ranges (the 100 % rule); else at least
    ``y.d`` (for one row, its one-sided price times the step) and at most 0 while the base plan
    meets the new limits, else what repairing it through the LP's slack costs (``repair``, with
    the base plan ``x``; unbounded above without it or when no slack closes a row)."""
    rows = np.asarray(rows, dtype=np.int64)
    limits = np.broadcast_to(np.asarray(limits, dtype=float), rows.shape)
    sense = lp.row_sense[rows]
    old_lo, old_hi = lp.row_lower[rows], lp.row_upper[rows]
    new_lo = np.where(sense == 1, old_lo, limits)
    new_hi = np.where(sense == -1, old_hi, limits)
    yr = signed(old_lo, old_hi, y[rows])
    moved = limits - np.where(sense == 1, old_hi, old_lo)
    low = float(np.sum(_row_terms(new_lo, new_hi, yr) - _row_terms(old_lo, old_hi, yr)))
    if len(rows) == 1 and price_up is not None and price_down is not None:
        one = price_up[rows[0]] if moved[0] > 0 else price_down[rows[0]]
        if not math.isnan(one) and moved[0] != 0:
            low = max(low, float(one * moved[0]))
    if low == math.inf:
        return Bound(math.inf, math.inf, BOUNDED)
    act = row_value[rows]
    size = TOL * np.maximum(1.0, np.abs(act))
    meets = bool(((act >= new_lo - size) & (act <= new_hi + size)).all())
    high = 0.0 if meets else math.inf
    if not meets and x is not None:
        lo_all, hi_all = lp.row_lower.copy(), lp.row_upper.copy()
        lo_all[rows], hi_all[rows] = new_lo, new_hi
        stepped = LP(c=lp.c, A=lp.A, row_lower=lo_all, row_upper=hi_all, col_lower=lp.col_lower, col_upper=lp.col_upper, row_sense=lp.row_sense, blocks=lp.blocks, offsets=lp.offsets)
        high = repair(stepped, x, row_value) - float(lp.c @ x)
    if range_low is not None and range_high is not None and len(rows):
        limit = np.where(sense == 1, old_hi, old_lo)
        allowed = np.where(moved > 0, range_high[rows] - limit, limit - range_low[rows])
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(moved == 0, 0.0, np.abs(moved) / allowed)
        if not np.isnan(share).any() and float(share.sum()) <= 1.0 + 1e-12:
            exact = float(np.dot(yr, moved))
            return Bound(exact, exact, IN_RANGE)
    return _meet(min(low, high), high, 1.0)


def _meet(low: float, high: float, scale: float) -> Bound:
    """The interval [low, high], exact (``MET``) where its ends are within ``TOL`` of ``scale``
    (the plan's cost) or of themselves."""
    if math.isfinite(high) and math.isfinite(low) and high - low <= TOL * max(1.0, abs(scale), abs(low), abs(high)):
        return Bound(high, high, MET)
    return Bound(low, high, BOUNDED)


def edit_step(base: LP, edited: LP, objective: float, x: np.ndarray, y: np.ndarray) -> Bound:
    """What an edit of any numbers (limits, costs, coefficients) does to the total cost, from the
    base plan (``x``, ``y``, its ``objective``) alone: at least the Lagrangian bound of the
    edited LP at the base prices, at most the base plan's cost in the edited LP where it still
    meets every row. Never exact (``limit_step`` knows ranges)."""
    low = lower_bound(edited, y) - objective
    high = plan_cost(edited, x) - objective
    return _meet(min(low, high), high, objective)


def top_k(bounds: list[Bound], k: int, settle: Callable[[int], Bound | None]) -> tuple[list[Bound], int]:
    """Rank what-ifs by the size of their change and prove the ``k`` largest: settle (re-solve)
    a what-if only while its best case can still beat the proven k-th largest, taking them in
    order of their best case. ``settle(i)`` returns the exact bound of what-if ``i`` (None when it
    could not: time spent; the ranking then stops there). Returns the bounds (settled ones
    exact) and how many were settled."""
    bounds = list(bounds)
    settled = 0
    while True:
        exact = sorted((b.best for b in bounds if b.exact), reverse=True)
        kth = exact[k - 1] if len(exact) >= k else -math.inf
        open_ = [i for i, b in enumerate(bounds) if not b.exact]
        if not open_:
            break
        i = max(open_, key=lambda j: bounds[j].best)
        if bounds[i].best <= kth:
            break
        got = settle(i)
        if got is None:
            break
        bounds[i] = got
        settled += 1
    return bounds, settled


def proven_top(bounds: list[Bound], k: int) -> bool:
    """Whether the ``k`` largest of ``bounds`` by size are exact and no other can beat them."""
    exact = sorted((b.best for b in bounds if b.exact), reverse=True)
    if len(exact) < min(k, len(bounds)):
        return False
    kth = exact[min(k, len(bounds)) - 1] if exact else -math.inf
    return all(b.exact or b.best <= kth for b in bounds)
