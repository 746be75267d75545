"""Explain an infeasible plan in the planner's words.

Two views, both mapped from HiGHS rows back to constraint families and business keys:
* the conflict: HiGHS's irreducible infeasible subset (IIS) of rows;
* the smallest relaxation: an elastic re-solve (HiGHS feasibilityRelaxation) in which only
  business limits may move (capacities, supplier and lane limits, storage, closing stock,
  fill-rate targets), minimising the total amount moved. Flow-accounting rows never move.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .build import LP, Built

#: Promises to relax first: what can be achieved with the network as it is.
PROMISES = {"service", "ending", "safety_stock"}
#: Then any business limit that could be changed (capacities, suppliers, lanes, space).
RELAXABLE = {"capacity", "overtime", "production_max", "outsource_max", "supply", "lane_capacity", "storage", "safety_stock", "ending", "service"}


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


def _rows(lp: LP, idx: np.ndarray) -> pd.DataFrame:
    """Family, index columns, sense and limit of the given global row numbers."""
    frames = []
    for b, off in zip(lp.blocks, lp.offsets):
        local = idx[(idx >= off) & (idx < off + len(b.limit))] - off
        if len(local):
            df = b.keys.iloc[local].reset_index(drop=True)
            df.insert(0, "constraint", b.family)
            df["sense"] = {1: "<=", -1: ">=", 0: "="}[b.sense]
            df["limit"] = b.limit[local]
            df["_row"] = local + off
            frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["constraint", "sense", "limit", "_row"])


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


def diagnose(built: Built, highs, quantity_scale: float = 1.0) -> Infeasibility:
    """IIS and smallest relaxation for an LP HiGHS found infeasible (``highs`` holds it, with
    quantities divided by ``quantity_scale``)."""
    lp = built.lp
    conflict = pd.DataFrame()
    try:
        highs.setOptionValue("iis_strategy", 2)
        status, iis = highs.getIis()
        if iis.valid_ and len(iis.row_index_):
            conflict = _rows(lp, np.asarray(iis.row_index_, dtype=np.int64)).drop(columns="_row")
    except Exception:  # noqa: BLE001 - an explanation that fails must not hide the verdict
        conflict = pd.DataFrame()
    relaxation = pd.DataFrame()
    for tier in (PROMISES, RELAXABLE):
        try:
            relaxation = _relax(built, highs, tier, quantity_scale)
        except Exception:  # noqa: BLE001
            relaxation = None
        if relaxation is not None:
            break
    return Infeasibility(conflict=conflict, relaxation=relaxation if relaxation is not None else pd.DataFrame())


def _relax(built: Built, highs, families: set[str], quantity_scale: float = 1.0) -> pd.DataFrame | None:
    """Least total movement of the rows of ``families`` that makes the LP feasible, or None
    when moving them cannot."""
    lp = built.lp
    penalty = np.where(np.isin(lp.row_family, list(families)), 1.0, -1.0)
    highs.feasibilityRelaxation(-1.0, -1.0, 1.0, None, None, penalty)
    sol = highs.getSolution()
    if not sol.value_valid:
        return None
    act = np.asarray(sol.row_value, dtype=float) * quantity_scale
    tol = 1e-6 * np.maximum(1.0, np.abs(np.where(np.isfinite(lp.row_lower), lp.row_lower, lp.row_upper)))
    fixed = penalty < 0
    if np.any(fixed & ((act < lp.row_lower - tol) | (act > lp.row_upper + tol))):
        return None
    limit = np.where(lp.row_sense == 1, lp.row_upper, lp.row_lower)
    moved = np.flatnonzero(~fixed & (((lp.row_sense == 1) & (act > limit + tol)) | ((lp.row_sense == -1) & (act < limit - tol))))
    relaxation = _rows(lp, moved)
    relaxation["achievable"] = act[relaxation["_row"].to_numpy()]
    relaxation["change"] = relaxation["achievable"] - relaxation["limit"]
    seg = built.case.customers.set_index("customer")["segment"]
    demand = built.case.demand.assign(segment=built.case.demand["customer"].map(seg)).groupby(["segment", "period"])["quantity"].sum().to_dict()
    relaxation["meaning"] = [_meaning(r, a, demand) for r, a in zip(relaxation.to_dict("records"), relaxation["achievable"])]
    return relaxation.drop(columns="_row")


    return Infeasibility(conflict=conflict, relaxation=relaxation)
