"""Which assumptions the plan is most sensitive to, and what changed from one plan to the next.

``sensitivity_variants`` moves each group of assumptions (demand by family and by segment,
lead times by mode, capacity by site and resource, freight rates by mode, production and
purchase costs, prices, service targets) up and down by a step; ``sensitivity_table`` ranks
the groups by the swing of cash cost-to-serve and margin, next to what the base plan's prices
predicted for the same steps. ``bridge_variants`` and ``bridge_table`` attribute the change
from plan A to plan B to drivers by switching them from A to B: in a stated order, and as the
Shapley average over all orders where there are few enough drivers. Both are solved by
``scenarios.solve_variants``. Money is in the case's currency; a change is the moved plan's
figure less the base plan's.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from . import metrics
from .bounds import BOUNDED, MET, RESOLVED, Bound, edit_step
from .build import build, edit
from .diff import ModelDiff, diff
from .edits import Edit, apply_edits
from .results import Figures
from .scenarios import Variant, _outcome, first_order_change
from .schema import TABLES
from .solve import SolveOptions, solve
from .validate import PENALTY_DEFAULT, Case

#: The default step of a sensitivity run: 10 % up and down (service targets: one point per 10 %).
STEP = 0.10


def _groups(case: Case, step: float) -> list[tuple[str, list[Edit], list[Edit]]]:
    """(group, edits for a step up, edits for a step down) for every assumption group the
    case has."""
    up, down = 1.0 + step, 1.0 - step
    out: list[tuple[str, list[Edit], list[Edit]]] = []

    def scaled(name: str, table: str, columns: list[str], terms=()) -> None:
        df = case.table(table)
        cols = [c for c in columns if c in df and pd.to_numeric(df[c], errors="coerce").fillna(0).abs().sum() > 0]
        if cols:
            out.append((name, [Edit(table, c, terms, "scale", up, note=name) for c in cols], [Edit(table, c, terms, "scale", down, note=name) for c in cols]))

    fam = sorted(case.products.loc[case.products["product"].isin(case.demand["product"]), "family"].dropna().astype(str).unique())
    for f in fam:
        scaled(f"demand: family {f}", "demand", ["quantity"], (("family", (f,)),))
    for s in sorted(case.customers.loc[case.customers["customer"].isin(case.demand["customer"]), "segment"].dropna().astype(str).unique()):
        scaled(f"demand: segment {s}", "demand", ["quantity"], (("segment", (s,)),))
    for m in sorted(case.lanes["mode"].astype(str).unique()):
        scaled(f"lead times: {m}", "lanes", ["lead_time_days"], (("mode", (m,)),))
    for (site, res), _ in case.capacity.groupby(["site", "resource"], sort=True):
        scaled(f"capacity: {res} at {site}", "capacity", ["hours"], (("site", (str(site),)), ("resource", (str(res),))))
    for m in sorted(case.lanes["mode"].astype(str).unique()):
        scaled(f"freight rates: {m}", "lanes", ["cost_per_unit", "cost_per_kg", "cost_per_m3"], (("mode", (m,)),))
    scaled("production costs", "production", ["unit_cost", "outsource_cost"])
    if len(case.supply):
        scaled("purchase costs", "supply", ["unit_cost"])
    scaled("prices", "demand", ["price"])
    sv = case.service[case.service["fill_rate"] > 0]
    if len(sv):
        point = step / 10.0
        ups = [Edit("service", "fill_rate", (("segment", (str(s),)),), "set", min(1.0, f + point), note="service targets") for s, f in zip(sv["segment"], sv["fill_rate"])]
        downs = [Edit("service", "fill_rate", (("segment", (str(s),)),), "set", max(0.0, f - point), note="service targets") for s, f in zip(sv["segment"], sv["fill_rate"])]
        out.append(("service targets", ups, downs))
    return out


def sensitivity_variants(case: Case, step: float = STEP) -> list[Variant]:
    """Two variants per assumption group the case has: the group ``step`` up and down (10 %:
    x1.1 and x0.9; a fill-rate target one point per 10 % of step, within 0-100 %)."""
    if not 0 < step < 1:
        raise ValueError("the step must be between 0 and 1 (0.10 is 10 %)")
    out = []
    for name, ups, downs in _groups(case, step):
        out.append(Variant(f"{name} +{step:.0%}", tuple(ups), role="up", group=name))
        out.append(Variant(f"{name} -{step:.0%}", tuple(downs), role="down", group=name))
    return out


def sensitivity_table(results: pd.DataFrame, top: int = 5) -> pd.DataFrame:
    """One row per assumption group: the change of cash cost-to-serve, margin and total cost
    for the step down and up (re-solved), the prices' prediction of the total-cost change
    for each, the swings (up less down), and the rank by margin swing; the ``top`` groups are
    marked as the assumptions that matter."""
    base = results[results["variant"] == "base"].iloc[0]
    rows = []
    for group, g in results[results["group"] != ""].groupby("group", sort=False):
        r = {"group": group}
        for side in ("down", "up"):
            s = g[g["role"] == side]
            ok = len(s) and s["status"].iloc[0] == "optimal"
            for k, col in (("cost", "cash_cost_to_serve"), ("margin", "contribution_margin"), ("total_cost", "total_cost")):
                r[f"{k}_{side}"] = float(s[col].iloc[0]) - float(base[col]) if ok else math.nan
            r[f"predicted_total_cost_{side}"] = float(s["predicted_change"].iloc[0]) if ok else math.nan
            r[f"how_{side}"] = s["how"].iloc[0] if ok else (s["status"].iloc[0] if len(s) else "")
        r["cost_swing"] = abs(r["cost_up"] - r["cost_down"])
        r["margin_swing"] = abs(r["margin_up"] - r["margin_down"])
        rows.append(r)
    out = _no_noise(pd.DataFrame(rows), float(base["total_cost"]))
    if out.empty:
        return out
    out = out.sort_values(["margin_swing", "cost_swing"], ascending=False, na_position="last").reset_index(drop=True)
    out.insert(0, "rank", range(1, len(out) + 1))
    out["matters"] = out["rank"] <= top
    return out


@dataclass
class Proven:
    """A sensitivity run that proves its ranking (``proven_sensitivity``): ``results`` has a row
    per plan solved (the base, then each re-solved step, as ``scenarios.solve_variants`` gives
    them), ``table`` a row per assumption group (``proven_table``), ``resolves`` how many steps
    were re-solved of ``steps``, ``seconds`` the run's wall time."""

    results: pd.DataFrame
    table: pd.DataFrame
    resolves: int
    steps: int
    seconds: float


def _swing(up: Bound, down: Bound) -> Bound:
    """The total-cost swing (the step up's change less the step down's) that two sides' bounds
    allow; exact when both are."""
    how = RESOLVED if up.how == down.how == RESOLVED else MET if up.exact and down.exact else BOUNDED
    return Bound(up.low - down.high, up.high - down.low, how)


def proven_sensitivity(case: Case, step: float = STEP, top: int = 5, opts: SolveOptions | None = None, progress: Callable[[str], None] | None = None,
                       workers: int = 1) -> Proven:
    """Which ``top`` assumption groups move the plan's total cost the most for a ``step`` down
    and up, proven with as few re-solves as the bounds allow (``bounds``): the base is solved
    once; every step's change of total cost is bounded from the base plan alone (the
    Lagrangian bound of the stepped LP at the base prices below, the base plan's cost, or its
    repair through the LP's slack, above); then, taking groups in order of the largest swing
    their bounds allow, a step is re-solved warm (from the base plan's basis) only while its
    group can still enter the top ``top``. The ``top`` groups end exact and in order; every
    other group's bounds show it cannot beat them.

    ``workers`` > 1 re-solves that many steps at once: this process and ``workers - 1``
    helper processes, each of which builds the case while the base is solved here and starts
    from its optimal basis (the steps in flight are the next ones by best case, so a step may
    be re-solved that the one before it would have shown unneeded; the proof is the same)."""
    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    opts = (opts or SolveOptions.from_settings(case.settings)).replace(ranging=False)
    helpers = _Helpers(case, opts, max(0, workers - 1))
    try:
        built = build(case)
        model = solve(built, opts)
        helpers.start(model.basis())
        sol = model.optimum
        x, y, rv, objective = sol.col_value.copy(), sol.row_dual.copy(), sol.row_value.copy(), sol.objective
        rows = [_outcome(Variant("base"), model, "cold", time.perf_counter() - t0, 0.0)]
        groups = _groups(case, step)
        say(f"base solved in {time.perf_counter() - t0:.1f} s; bounding the {2 * len(groups)} steps of {len(groups)} assumption groups from its prices ...")
        sides: list[dict[str, dict]] = []
        resolves = 0
        flying: dict[int, tuple[int, str]] = {}

        def collect(block: bool) -> None:
            nonlocal resolves
            for w, key, done, moved in helpers.results(flying, block=block):
                del flying[w]
                if done is None:  # the helper is gone: its step goes back to be picked again
                    say(f"helper {w + 1} stopped; its steps are re-solved here")
                    continue
                record(*key, done, moved, f" (helper {w + 1})")
                resolves += 1

        def dispatch(certain: bool) -> None:
            """Hand idle helpers the next steps; while the steps are still being bounded, only
            those certain to be needed (a side with no upper or no lower bound: its group's
            best case is unbounded, so it is re-solved whatever the others prove)."""
            for w in helpers.idle(flying):
                got = pick(set(flying.values()))
                if got is None or (certain and math.isfinite(sides[got[0]][got[1]]["bound"].gap)):
                    return
                flying[w] = got
                side = sides[got[0]][got[1]]
                helpers.send(w, got, side["variant"], side["predicted"])

        def pick(flying: set[tuple[int, str]]) -> tuple[int, str] | None:
            """The next step to re-solve: the side the bounds know least of the group with the
            largest best case, while that can still beat the proven top-th swing."""
            swings = [_swing(g["up"]["bound"], g["down"]["bound"]) for g in sides]
            exact = sorted((b.best for b in swings if b.exact), reverse=True)
            kth = exact[top - 1] if len(exact) >= top else -math.inf
            open_ = [(i, r) for i, g in enumerate(sides) for r in ("up", "down") if not g[r]["bound"].exact and (i, r) not in flying]
            if not open_:
                return None
            best = max(swings[i].best for i, _r in open_)
            if best <= kth:
                return None
            i = next(i for i, _r in sorted(open_, key=lambda ir: -swings[ir[0]].best))
            return max(((i, r) for j, r in open_ if j == i), key=lambda ir: sides[ir[0]][ir[1]]["bound"].gap)

        def record(i: int, role: str, row: dict, change: float | None, where: str) -> None:
            side = sides[i][role]
            side["row"] = row
            side["bound"] = Bound(math.inf, math.inf, RESOLVED) if change is None else Bound.resolved(change)
            say(f"re-solved {side['variant'].name} in {row['seconds']:.1f} s{where}")

        for name, ups, downs in groups:
            g = {}
            for role, edits in (("up", ups), ("down", downs)):
                v = Variant(f"{name} {'+' if role == 'up' else '-'}{step:.0%}", tuple(edits), role=role, group=name)
                edited = apply_edits(case, v.edits)
                new = edit(built, edited)
                change = diff(built, new)
                bound = edit_step(built.lp, new.lp, objective, x, y) if isinstance(change, ModelDiff) else Bound(-math.inf, math.inf)
                predicted = first_order_change(built, x, y, rv, change)
                g[role] = {"variant": v, "case": edited, "bound": bound, "predicted": predicted, "row": _kept(v, new, sol, bound, predicted)}
            sides.append(g)
            collect(block=False)
            dispatch(certain=True)
        say(f"every step bounded in {time.perf_counter() - t0:.1f} s")
        while True:
            dispatch(certain=False)
            got = pick(set(flying.values()))
            if got is not None:
                i, role = got
                row, moved = _resolve_side(model, sides[i][role], objective)
                record(i, role, row, moved, "")
                resolves += 1
            elif not flying:
                break
            collect(block=got is None)
    finally:
        helpers.stop()
    rows += [g[r]["row"] for g in sides for r in ("up", "down") if g[r]["row"] is not None]
    results = pd.DataFrame(rows)
    table = proven_table(results, [(name, g["up"]["bound"], g["down"]["bound"], g["up"]["predicted"], g["down"]["predicted"]) for (name, _u, _d), g in zip(groups, sides)], top)
    return Proven(results, table, resolves, 2 * len(groups), time.perf_counter() - t0)


#: The KPIs read from each step's plan in a proven run (the base plan has them all): what the
#: table and its page show; the costlier ones (average inventory, the top limits) are left out.
SIDE_KPIS = ("total_cost", "cash_cost_to_serve", "revenue", "contribution_margin", "revenue_lost", "fill_rate", "premium_freight_spend")


def _kept(v: Variant, new, sol, bound: Bound, predicted: float) -> dict | None:
    """The results row of a step the bounds settle with the base plan itself (``MET``: the base
    plan meets every row of the stepped LP and costs what the prices prove is least, so it is
    an optimal plan of the step): its KPIs read from that plan in the stepped case, no
    re-solve. None for any other step."""
    if bound.how != MET:
        return None
    lp = new.lp
    act = lp.A @ sol.col_value
    tol = 1e-7 * np.maximum(1.0, np.abs(act))
    if ((act < lp.row_lower - tol) | (act > lp.row_upper + tol)).any():
        return None  # met by a repaired plan, not the base plan: its KPIs are not at hand
    kept = replace(sol, objective=float(lp.c @ sol.col_value), row_value=act)
    return {"variant": v.name, "scenario": v.scenario, "role": v.role, "group": v.group, "how": "the base plan (it stays optimal: no re-solve)", "seconds": 0.0,
            "predicted_change": predicted, "status": "optimal", "objective": kept.objective, "solver_seconds": 0.0, "iterations": 0, **metrics.evaluate(Figures(new, kept), SIDE_KPIS)}


def _resolve_side(model, side: dict, objective: float) -> tuple[dict, float | None]:
    """Re-solve one step warm from the base plan and undo it: its results row and its change
    of total cost (None when no plan meets it)."""
    t = time.perf_counter()
    edited = side["case"] if "case" in side else apply_edits(model.built.case, side["variant"].edits)
    with model.variant(edited) as trial:
        how = "cold (rebuilt)" if trial.rebuilt else "warm"
        if trial.solution is not None and trial.solution.rechecked:
            how = f"cold (the warm re-solve failed the check: {trial.solution.rechecked})"
        if trial.solution is None:
            return _outcome(side["variant"], None, "", time.perf_counter() - t, side["predicted"], f"no plan: {trial.error}"), None
        row = {**_outcome(side["variant"], trial, how, 0.0, side["predicted"], keys=SIDE_KPIS), "seconds": time.perf_counter() - t}
        return row, trial.solution.objective - objective


class _Helpers:
    """Helper processes of ``proven_sensitivity``: each builds the case as soon as it starts,
    waits for the base plan's optimal basis, solves from it (no iterations) and then re-solves
    the steps it is sent, one at a time, from that basis."""

    def __init__(self, case: Case, opts: SolveOptions, n: int) -> None:
        self.n = n
        self.procs: list = []
        if not n:
            return
        import multiprocessing as mp

        ctx = mp.get_context("spawn")  # no fork of a process that holds HiGHS's threads
        self.results_q = ctx.Queue()
        self.tasks = [ctx.Queue() for _ in range(n)]
        self.procs = [ctx.Process(target=_helper, args=(case, opts, q, self.results_q, w), daemon=True) for w, q in enumerate(self.tasks)]
        for p in self.procs:
            p.start()

    def start(self, basis: tuple[np.ndarray, np.ndarray]) -> None:
        for q in self.tasks if self.n else []:
            q.put(("basis", basis))

    def idle(self, flying: dict[int, tuple[int, str]]) -> list[int]:
        return [w for w in range(self.n) if w not in flying and self.procs[w].is_alive()]

    def send(self, w: int, key: tuple[int, str], variant: Variant, predicted: float) -> None:
        self.tasks[w].put(("step", key, variant, predicted))

    def results(self, flying: dict[int, tuple[int, str]], block: bool) -> list[tuple[int, tuple[int, str], dict | None, float | None]]:
        """The steps the helpers have finished; with ``block``, waiting for at least one. A
        helper that died with a step in flight gives that step back with no row."""
        import queue

        out: list[tuple[int, tuple[int, str], dict | None, float | None]] = []
        if not self.n:
            return out
        while True:
            try:
                got = self.results_q.get(timeout=1.0) if block and not out else self.results_q.get_nowait()
            except queue.Empty:
                dead = [(w, key, None, None) for w, key in flying.items() if not self.procs[w].is_alive() and w not in {o[0] for o in out}]
                out += dead
                if out or not block:
                    return out
                continue
            w, key, row, change, error = got
            if error:
                raise RuntimeError(f"a helper process of the sensitivity run failed: {error}")
            out.append((w, key, row, change))

    def stop(self) -> None:
        for q, p in zip(self.tasks if self.n else [], self.procs):
            if p.is_alive():
                q.put(None)
        for p in self.procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()


def _helper(case: Case, opts: SolveOptions, tasks, results, w: int) -> None:
    """The loop of one helper process (``_Helpers``)."""
    try:
        built = build(case)
        msg = tasks.get()
        if msg is None:
            return
        model = solve(built, opts, basis=msg[1])
        objective = model.optimum.objective
        while (msg := tasks.get()) is not None:
            _kind, key, variant, predicted = msg
            row, change = _resolve_side(model, {"variant": variant, "predicted": predicted}, objective)
            results.put((w, key, row, change, ""))
    except Exception as err:  # said to the run, which stops: a helper must not die silently
        results.put((w, None, None, None, f"{type(err).__name__}: {err}"))


def proven_table(results: pd.DataFrame, groups: list[tuple[str, Bound, Bound, float, float]], top: int = 5) -> pd.DataFrame:
    """One row per assumption group, ranked by the swing of total cost (the step up's change
    less the step down's, in size): each side's change of total cost (exact where re-solved)
    and its proven bounds (``*_low``/``*_high``), the swing and its bounds, whether it is exact,
    the prices' predictions, and for each re-solved side its change of cash cost-to-serve and
    margin. The ``top`` groups (exact, in order) are marked as the assumptions that matter."""
    base = results[results["variant"] == "base"].iloc[0]
    by_name = results.set_index("variant") if len(results) else results
    out = []
    for name, up, down, pred_up, pred_down in groups:
        swing = _swing(up, down)
        r: dict = {"group": name}
        for side, b, pred in (("down", down, pred_down), ("up", up, pred_up)):
            r[f"total_cost_{side}"] = b.value
            r[f"total_cost_{side}_low"], r[f"total_cost_{side}_high"] = b.low, b.high
            r[f"predicted_total_cost_{side}"] = pred
            solved = [v for v in by_name.index if v != "base" and by_name.at[v, "group"] == name and by_name.at[v, "role"] == side] if len(by_name) else []
            row = by_name.loc[solved[0]] if solved else None
            r[f"cost_{side}"] = r[f"margin_{side}"] = math.nan
            r[f"how_{side}"] = f"bounded: {_interval(b)}"
            if row is not None:
                ok = row["status"] == "optimal"
                r[f"how_{side}"] = row["how"] if ok else row["status"]
                if ok:
                    r[f"cost_{side}"] = float(row["cash_cost_to_serve"]) - float(base["cash_cost_to_serve"])
                    r[f"margin_{side}"] = float(row["contribution_margin"]) - float(base["contribution_margin"])
        r["total_cost_swing"] = abs(swing.value) if swing.exact else math.nan
        r["swing_low"], r["swing_high"] = swing.worst, swing.best
        r["exact"] = swing.how
        r["cost_swing"] = abs(r["cost_up"] - r["cost_down"])
        r["margin_swing"] = abs(r["margin_up"] - r["margin_down"])
        out.append(r)
    table = _no_noise(pd.DataFrame(out), float(base["total_cost"]))
    if table.empty:
        return pd.DataFrame(columns=["rank", "group", "total_cost_swing", "swing_low", "swing_high", "exact", "matters"])
    key = table["total_cost_swing"].where(table["total_cost_swing"].notna(), table["swing_high"])
    table = table.assign(_key=key).sort_values("_key", ascending=False, kind="stable").drop(columns="_key").reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    table["matters"] = (table["rank"] <= top) & (table["exact"] != BOUNDED)
    return table


def _interval(b: Bound) -> str:
    return f"{b.low:+,.0f} to {b.high:+,.0f}".replace("inf", "unbounded")


# --------------------------------------------------------------------------------------
# Plan-to-plan bridge
# --------------------------------------------------------------------------------------

#: The drivers of a bridge, in the order the sequential bridge switches them from plan A to
#: plan B, with the columns of each table they own ("*": the whole table, its rows too).
DRIVERS: dict[str, dict[str, list[str] | str]] = {
    "demand and prices": {"demand": "*", "customers": "*", "products": ["price"]},
    "capacity": {"capacity": ["hours", "overtime_hours"], "routings": "*", "bom": "*", "production": ["max_units", "outsource_max_units"], "sites": ["storage_capacity", "storage_unit"], "supply": ["max_units"]},
    "costs and rates": {"production": ["unit_cost", "outsource_cost"], "supply": ["unit_cost"], "capacity": ["overtime_cost"], "products": ["unit_value", "holding_rate"], "lanes": ["cost_per_unit", "cost_per_kg", "cost_per_m3"], "lane_rates": "*"},
    "lanes, lead times and pipeline": {"lanes": ["lead_time_days", "lead_time_std_days", "capacity", "capacity_unit", "premium"], "receipts": "*", "inventory": ["initial"]},
    "service targets and inventory policy": {"service": "*", "inventory": ["safety_stock", "safety_stock_penalty", PENALTY_DEFAULT, "ending_min", "ending_soft"]},
    # The periods' lengths (a leap year, a 4-4-5 calendar): lead times' shares, holding and
    # the cash view's days all read them.
    "calendar": {"periods": "*"},
}
#: The case's settings (payment and collection days, currency, solver options) as one driver:
#: not a table of the case but its ``settings``.
SETTINGS = "settings"
#: Tables no driver names (the scenarios aside, and the settings, a driver of their own) switch
#: together as this one, so a new input table (a working-capital cap) is bridged without being
#: listed here.
OTHER = "other inputs"
NOT_BRIDGED = ("settings", "scenarios")


def _drivers() -> dict[str, dict[str, list[str] | str]]:
    named = {t for tabs in DRIVERS.values() for t in tabs}
    rest: dict[str, list[str] | str] = {t: "*" for t in TABLES if t not in named and t not in NOT_BRIDGED}
    return {**DRIVERS, OTHER: rest} if rest else dict(DRIVERS)
#: Which driver brings a shared table's rows (new products, sites, lanes ...) when switched.
ROWS_OWNER = {"production": "capacity", "supply": "capacity", "capacity": "capacity", "sites": "capacity", "products": "demand and prices", "lanes": "lanes, lead times and pipeline", "inventory": "lanes, lead times and pipeline"}
#: Most drivers for which the bridge is also the Shapley average over every order (2^n solves).
SHAPLEY_MAX = 5


def relabel_periods(a: Case, names: list[str]) -> Case:
    """Case ``a`` on another calendar of as many periods (last year's months as this year's),
    period by period in order."""
    if a.period_names == names:
        return a
    if len(a.period_names) != len(names):
        raise ValueError(f"the two plans have {len(a.period_names)} and {len(names)} periods: a bridge needs the same number")
    move = dict(zip(a.period_names, names))
    changed = {}
    for t, df in a.tables.items():
        if "period" in df.columns and len(df):
            changed[t] = df.assign(period=df["period"].map(lambda p: move.get(p, p)).astype(df["period"].dtype))
    return a.with_tables(changed)


def _drivers_of(table: str) -> dict[str, list[str] | str]:
    return {d: tabs[table] for d, tabs in _drivers().items() if table in tabs}


def hybrid(a: Case, b: Case, switched: frozenset[str]) -> Case:
    """Plan A with the drivers in ``switched`` taken from plan B (the same period names; the
    periods' lengths are the 'calendar' driver, the settings the 'settings' one)."""
    changed = {}
    for t in dict.fromkeys(t for tabs in _drivers().values() for t in tabs):
        owners = _drivers_of(t)
        ta, tb = a.table(t), b.table(t)
        whole = [d for d, cols in owners.items() if cols == "*"]
        if whole:
            changed[t] = tb if whole[0] in switched else ta
            continue
        key = [k for k in TABLES[t].key if k in ta.columns or k in tb.columns]
        if t in ("capacity", "supply"):
            key = [k for k in ("site", "resource", "product", "period") if k in ta.columns]
        rows_from = tb if ROWS_OWNER.get(t, next(iter(owners))) in switched else ta
        out = rows_from.copy()
        ia = rows_from.set_index(key).index
        for d, cols in owners.items():
            source_is_b = d in switched
            for c in cols:
                if c not in out.columns:
                    continue
                src = tb if source_is_b else ta
                if src is rows_from:
                    continue
                vals = src.set_index(key)[c]
                vals = vals[~vals.index.duplicated()]
                found = ia.isin(vals.index)
                out.loc[found, c] = vals.reindex(ia[found]).to_numpy()
        if t == "lanes":
            out = out.reset_index(drop=True).assign(lane=range(len(out)))
        changed[t] = out.reset_index(drop=True)
    # Products, sites and customers that only one plan has are known to both sides: a row
    # that names them arrives with the driver that owns it.
    for t, k in (("products", "product"), ("sites", "site"), ("customers", "customer")):
        cur = changed.get(t, a.table(t))
        extra = [x for x in (b.table(t), a.table(t)) if len(x)]
        for x in extra:
            new = x[~x[k].isin(cur[k])]
            if len(new):
                cur = pd.concat([cur, new], ignore_index=True)
        changed[t] = cur
    out = a.with_tables(changed)
    return replace(out, settings=dict(b.settings)) if SETTINGS in switched else out


def differing_drivers(a: Case, b: Case) -> list[str]:
    """The drivers whose inputs differ between the two plans, in bridge order (the settings
    last)."""
    out = []
    for d, tables in _drivers().items():
        one = hybrid(a, b, frozenset([d]))
        if any(not _same(one.table(t), a.table(t)) for t in tables):
            out.append(d)
    if a.settings != b.settings:
        out.append(SETTINGS)
    return out


def _same(x: pd.DataFrame, y: pd.DataFrame) -> bool:
    cols = [c for c in x.columns if c != "_row"]
    if list(cols) != [c for c in y.columns if c != "_row"] or len(x) != len(y):
        return False
    try:
        pd.testing.assert_frame_equal(x[cols].reset_index(drop=True), y[cols].reset_index(drop=True), check_dtype=False, check_exact=True)
    except AssertionError:
        return False
    return True


def bridge_variants(a: Case, b: Case) -> tuple[list[Variant], list[str], bool]:
    """The plans a bridge from A to B solves (A is the base): every subset of the drivers that
    differ when there are at most ``SHAPLEY_MAX`` of them (for the Shapley average), else the
    sequential steps. Returns the variants, the drivers and whether it is Shapley. Both plans
    must be on one calendar (``relabel_periods``)."""
    drivers = differing_drivers(a, b)
    shapley = len(drivers) <= SHAPLEY_MAX
    subsets = [frozenset(c) for n in range(1, len(drivers) + 1) for c in itertools.combinations(drivers, n)] if shapley else [frozenset(drivers[: i + 1]) for i in range(len(drivers))]
    variants = [Variant(_subset_name(s, drivers), case=hybrid(a, b, s), role="bridge", group=_subset_name(s, drivers)) for s in subsets]
    return variants, drivers, shapley


def _subset_name(s: frozenset[str], drivers: list[str]) -> str:
    return " + ".join(d for d in drivers if d in s) or "plan A"


def bridge_table(results: pd.DataFrame, drivers: list[str], shapley: bool, measures=("total_cost", "cash_cost_to_serve", "contribution_margin", "revenue")) -> pd.DataFrame:
    """One row per driver: its change of each measure switched in order (A's plan, then each
    driver in turn), and the Shapley average over every order when solved for; a first row
    for plan A and a last for plan B, so the changes add up from one to the other."""
    ok = results[results["status"] == "optimal"]
    value = {("plan A" if v == "base" else v): ok.loc[ok["variant"] == v, list(measures)].iloc[0] for v in ok["variant"]}

    def v(s: frozenset[str]) -> pd.Series:
        return value[_subset_name(s, drivers)]

    rows = []
    start = v(frozenset())
    rows.append({"driver": "plan A", "order": 0, **{f"{m}": float(start[m]) for m in measures}})
    for i, d in enumerate(drivers):
        before, after = frozenset(drivers[:i]), frozenset(drivers[: i + 1])
        row = {"driver": d, "order": i + 1, **{f"{m}_in_order": float(v(after)[m] - v(before)[m]) for m in measures}}
        if shapley:
            n = len(drivers)
            others = [x for x in drivers if x != d]
            for m in measures:
                total = 0.0
                for k in range(n):
                    for c in itertools.combinations(others, k):
                        s = frozenset(c)
                        total += math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n) * float(v(s | {d})[m] - v(s)[m])
                row[f"{m}_shapley"] = total
        rows.append(row)
    end = v(frozenset(drivers))
    rows.append({"driver": "plan B", "order": len(drivers) + 1, **{f"{m}": float(end[m]) for m in measures}})
    # Every column, also when no driver differs (plan A and plan B alone): readers find them.
    columns = ["driver", "order", *measures, *[f"{m}_in_order" for m in measures], *([f"{m}_shapley" for m in measures] if shapley else [])]
    return _no_noise(pd.DataFrame(rows, columns=columns).astype({c: float for c in columns[2:]}), float(start["total_cost"]) if "total_cost" in measures else 1.0)


def _no_noise(df: pd.DataFrame, scale: float) -> pd.DataFrame:
    """Changes smaller than the solver's own accuracy (1e-9 of the plan's cost) are zero: a
    reader should see 0, not -0 or 3.7e-09."""
    tol = 1e-9 * max(1.0, abs(scale))
    for c in df.columns:
        if df[c].dtype.kind == "f":
            df[c] = df[c].mask(df[c].abs() < tol, 0.0)
    return df


def kpi_changes(results: pd.DataFrame, drivers: list[str], currency: str) -> pd.DataFrame:
    """The KPIs of plan A and plan B side by side, with the change."""
    from .scenarios import kpi_columns

    ok = results[results["status"] == "optimal"].set_index("variant")
    b_name = _subset_name(frozenset(drivers), drivers)
    a = ok.loc["base"]
    b = ok.loc[b_name] if b_name in ok.index else a
    rows = []
    for k in kpi_columns(results):
        numeric = isinstance(a[k], (int, float, np.floating)) and not isinstance(a[k], bool)
        rows.append({"kpi": k, "unit": metrics.unit(k, currency), "plan_a": a[k], "plan_b": b[k], "change": float(b[k]) - float(a[k]) if numeric else ""})
    return pd.DataFrame(rows)
