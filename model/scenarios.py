"""Many plans from one: scenarios and downside playbooks, the assumptions the plan is most
sensitive to, and the bridge from one year's plan to the next.

A scenario is a list of edits of the case's validated tables (``Edit``: a table, a numeric
column, the rows a filter selects, and scale / add / set by a value), read from the case's
``scenarios`` table or made by ``sensitivity_variants``. Each plan to solve is a ``Variant``
(a name and its edits). ``solve_variants`` solves them all from one built model per worker:
the base is solved cold once per run (the other workers start from its optimal basis), then
each variant's case is built and the model moves to it in place and re-solves warm (dual
simplex from the base's basis) when only numbers changed, or is rebuilt when rows or variables
did (``solve.Solved.update``). Workers are processes on this machine or Dask workers; each gets
a share of the variants and keeps its model between them.

Money is in the case's currency. A KPI change is the variant's figure less the base's.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, replace
from functools import partial
from typing import Callable

import numpy as np
import pandas as pd

from .build import Built, build
from .errors import InputError, Problem, SolveError
from .schema import TABLES
from .solve import SolveOptions, Solved, solve, structure_change
from .validate import Case

#: Filter columns that reach a table through another: a product's family, a customer's segment.
DERIVED = {"family": ("product", "products", "family"), "segment": ("customer", "customers", "segment")}
#: Columns filled from another table at validation: an edit there would not reach the model.
FILLED = {("products", "price"): "edit demand.price instead (each demand row's price was filled from products.price)"}


@dataclass(frozen=True)
class Edit:
    """One change of a table: ``operation`` (scale, add, set) by ``value`` on ``column`` of
    the rows of ``table`` that ``terms`` select (column -> allowed values; empty: all rows).
    A blank cell (no limit) stays blank under scale and add; set fills it."""

    table: str
    column: str
    terms: tuple[tuple[str, tuple[str, ...]], ...]
    operation: str
    value: float
    kind: str = "shock"
    note: str = ""
    row: int | None = None  # the scenarios table's row the user sees
    scenario: str = ""

    @property
    def words(self) -> str:
        what = {"scale": f"x{self.value:g}", "add": f"{self.value:+g}", "set": f"= {self.value:g}"}[self.operation]
        where = "; ".join(f"{c}={'|'.join(v) if len(v) < 4 else v[0] + '..' + v[-1]}" for c, v in self.terms)
        return self.note or f"{self.table}.{self.column} {what}{' where ' + where if where else ''}"


@dataclass(frozen=True)
class Variant:
    """A plan to solve: the base case with ``edits`` applied. ``role``: base, scenario, shock
    alone (a scenario without its actions) or action (the shock with one action)."""

    name: str
    edits: tuple[Edit, ...] = ()
    scenario: str = ""
    role: str = "base"
    group: str = ""  # sensitivity: the assumption group; its step is in ``name``
    case: Case | None = None  # a whole other case instead of edits (a plan-to-plan bridge)

    @property
    def is_base(self) -> bool:
        return not self.edits and self.case is None


# --------------------------------------------------------------------------------------
# Reading and applying edits
# --------------------------------------------------------------------------------------


def table_of(case: Case, name: str) -> pd.DataFrame:
    """A validated table of ``case`` (its field where it has one, else ``case.tables``)."""
    got = getattr(case, name, None)
    return got if isinstance(got, pd.DataFrame) else case.tables.get(name, pd.DataFrame())


def with_tables(case: Case, changed: dict[str, pd.DataFrame]) -> Case:
    """``case`` with these validated tables replaced (fields and ``case.tables`` alike)."""
    fields = {k: v for k, v in changed.items() if isinstance(getattr(case, k, None), pd.DataFrame)}
    return replace(case, **fields, tables={**case.tables, **changed})


def parse_filter(case: Case, table: str, text: str | None) -> tuple[tuple[tuple[str, tuple[str, ...]], ...], list[str]]:
    """The terms of a filter (``column=value`` joined by ``;``, ``period=A..B`` a range of
    periods) and what is wrong with it, each in words."""
    if text is None or (isinstance(text, float) and math.isnan(text)) or not str(text).strip():
        return (), []
    df = table_of(case, table)
    periods = case.period_names
    terms, wrong = [], []
    for part in str(text).split(";"):
        if not part.strip():
            continue
        if "=" not in part:
            wrong.append(f"filter term '{part.strip()}' is not column=value")
            continue
        col, val = (x.strip() for x in part.split("=", 1))
        if col in DERIVED and col not in df.columns:
            via, master, field_ = DERIVED[col]
            if via not in df.columns:
                wrong.append(f"filter column '{col}': table {table} has no {via} to reach a {col} through")
                continue
            known = set(table_of(case, master)[field_].dropna().astype(str))
        elif col in df.columns and col != "_row":
            known = set(df[col].dropna().astype(str))
        else:
            wrong.append(f"filter column '{col}' is not a column of table {table} (its columns: {', '.join(c for c in df.columns if not c.startswith('_') and c != 'lane')})")
            continue
        if col == "period" and ".." in val:
            a, b = (x.strip() for x in val.split("..", 1))
            if a not in periods or b not in periods or periods.index(a) > periods.index(b):
                wrong.append(f"filter period range '{val}' is not two periods of the plan in order")
                continue
            values = tuple(periods[periods.index(a) : periods.index(b) + 1])
        else:
            values = tuple(v.strip() for v in val.split("|"))
            missing = [v for v in values if v not in known]
            if missing:
                wrong.append(f"filter {col}={'|'.join(missing)}: no such {col} in table {table if col not in DERIVED or col in df.columns else DERIVED[col][1]}")
                continue
        terms.append((col, values))
    return tuple(terms), wrong


def _mask(case: Case, df: pd.DataFrame, terms) -> np.ndarray:
    keep = np.ones(len(df), dtype=bool)
    for col, values in terms:
        if col in df.columns:
            seen = df[col].astype(str)
        else:
            via, master, field_ = DERIVED[col]
            seen = df[via].map(table_of(case, master).set_index(via)[field_]).astype(str)
        keep &= seen.isin(values).to_numpy()
    return keep


def apply_edits(case: Case, edits: tuple[Edit, ...] | list[Edit]) -> Case:
    """``case`` with ``edits`` applied in order. Raises InputError naming each edit that
    selects no row or leaves a value its column does not allow."""
    changed: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    for e in edits:
        df = changed.get(e.table)
        if df is None:
            df = table_of(case, e.table).copy()
        keep = _mask(case, df, e.terms)
        where = f"scenario '{e.scenario}'" if e.scenario else "edit"
        if not keep.any():
            problems.append(Problem("scenarios", f"{where}: the filter selects no row of table {e.table}", e.row, "filter", e.words))
            continue
        old = pd.to_numeric(df.loc[keep, e.column], errors="coerce").astype(float)
        new = old * e.value if e.operation == "scale" else old + e.value if e.operation == "add" else pd.Series(e.value, index=old.index)
        col = next(c for c in TABLES[e.table].columns if c.name == e.column)
        low = new.notna() & (new < col.minimum - 1e-12) if col.minimum is not None else pd.Series(False, index=new.index)
        high = new.notna() & (new > col.maximum + 1e-12) if col.maximum is not None else pd.Series(False, index=new.index)
        if (low | high).any():
            first = new[low | high].index[0]
            bound = f"below {col.minimum:g}" if low.any() else f"above {col.maximum:g}"
            problems.append(Problem("scenarios", f"{where}: makes {e.table}.{e.column} {bound} ({new[first]:g} in {e.table} row {df.loc[first, '_row'] if '_row' in df else first})", e.row, "value", e.value))
            continue
        df = df.astype({e.column: float}) if df[e.column].dtype != float and col.kind == "float" else df
        df.loc[keep, e.column] = new.astype(bool) if col.kind == "bool" else new
        changed[e.table] = df
    if problems:
        raise InputError(problems)
    return with_tables(case, changed)


def read_scenarios(case: Case) -> list[Variant]:
    """The case's ``scenarios`` table as variants: each scenario with all its rows; for a
    scenario with shocks and actions, also the shocks alone and the shocks with each action
    alone, so what each pre-approved action protects shows. Raises InputError listing every
    row that names an unknown table, column or filter value, or an operation that does not
    fit (all at once, with the rows as the user sees them)."""
    sc = case.tables.get("scenarios")
    if sc is None or sc.empty:
        return []
    where = case.where.get("scenarios", "scenarios")
    problems: list[Problem] = []
    by: dict[str, list[Edit]] = {}
    for r in sc.to_dict("records"):
        row = int(r["_row"]) if "_row" in r else None
        t, c = str(r["table"]), str(r["column"])
        if t not in TABLES or t in ("scenarios", "settings"):
            problems.append(Problem(where, f"unknown table (one of: {', '.join(n for n in TABLES if n not in ('scenarios', 'settings'))})", row, "table", t))
            continue
        col = next((x for x in TABLES[t].columns if x.name == c), None)
        if col is None or col.kind not in ("float", "bool") or c in TABLES[t].key:
            numeric = [x.name for x in TABLES[t].columns if x.kind in ("float", "bool") and x.name not in TABLES[t].key]
            problems.append(Problem(where, f"not a number column of table {t} (one of: {', '.join(numeric)})", row, "column", c))
            continue
        if (t, c) in FILLED:
            problems.append(Problem(where, FILLED[(t, c)], row, "column", c))
            continue
        if col.kind == "bool" and (r["operation"] != "set" or r["value"] not in (0.0, 1.0)):
            problems.append(Problem(where, f"{t}.{c} is true/false: only set to 1 or 0", row, "operation", r["operation"]))
            continue
        terms, wrong = parse_filter(case, t, r.get("filter"))
        for w in wrong:
            problems.append(Problem(where, w, row, "filter", r.get("filter")))
        if wrong:
            continue
        note = r.get("note")
        by.setdefault(str(r["scenario"]), []).append(
            Edit(t, c, terms, str(r["operation"]), float(r["value"]), str(r["kind"]), "" if note is None or (isinstance(note, float) and math.isnan(note)) else str(note), row, str(r["scenario"]))
        )
    variants = []
    for name, edits in by.items():
        try:
            apply_edits(case, edits)  # every edit selects rows and stays within its column's bounds
        except InputError as err:
            problems.extend(Problem(where, p.message, p.row, p.column, p.value) for p in err.problems)
            continue
        variants.append(Variant(name, tuple(edits), name, "scenario"))
        shocks, actions = [e for e in edits if e.kind == "shock"], [e for e in edits if e.kind == "action"]
        if shocks and actions:
            variants.append(Variant(f"{name} (shock alone)", tuple(shocks), name, "shock alone"))
            if len(actions) > 1:
                variants += [Variant(f"{name} (shock + {a.words})", (*shocks, a), name, "action") for a in actions]
    if problems:
        raise InputError(problems)
    return variants


# --------------------------------------------------------------------------------------
# Solving many variants
# --------------------------------------------------------------------------------------


def kpis(solved: Solved) -> dict[str, object]:
    """The figures a scenario comparison puts side by side."""
    from . import results as R
    from .finance import WhatIfs, inventory_value_detail, ledger

    # The tables the figures need, not the whole plan (no shadow-price table, no meanings).
    built, sol = solved.built, solved.solution
    v = R.variable_values(built, sol)
    quantity = R.demand_quantities(built)
    bo = R.backorders(built, v, quantity)
    demand = R.demand_table(built, v, bo, quantity)
    inv = R.inventory_table(built, v)
    _, in_transit = R.shipment_tables(built, v)
    summary = R.summary_table(built, sol, v, demand, inv, in_transit, bo, None).set_index("metric")["value"]
    m = lambda k: float(summary[k])  # noqa: E731
    svc = R.service_table(built, demand)
    by_seg = svc.groupby("segment")[["ontime", "quantity"]].sum()
    # On hand and in transit, the plan's working capital (what the plan page and the finance
    # view's working_capital average), over every month of the plan.
    detail = inventory_value_detail(built, v)
    by_month = detail.groupby("period")[["on_hand_value", "in_transit_value"]].sum().sum(axis=1)
    avg_inventory = float(by_month.reindex(built.case.period_names, fill_value=0.0).mean())
    led, _ = ledger(solved, resolves=0, what_ifs=WhatIfs(0.0))
    out: dict[str, object] = {
        "total_cost": m("total_cost"),
        "cash_cost_to_serve": m("cash_cost_to_serve"),
        "revenue": m("revenue"),
        # The P&L's contribution margin is revenue less cash cost-to-serve (test_finance checks
        # it); the P&L itself is 0.4 s a plan at 300k variables, a tenth of a warm re-solve.
        "contribution_margin": m("revenue") - m("cash_cost_to_serve"),
        "revenue_lost": m("revenue_lost"),
        "revenue_deferred": m("revenue_deferred"),
        "fill_rate": m("fill_rate"),
        **{f"fill_rate {s}": float(r["ontime"] / r["quantity"]) if r["quantity"] else 1.0 for s, r in by_seg.iterrows()},
        "premium_freight_spend": m("premium_freight_spend"),
        "overtime_cost": m("overtime_cost"),
        "inventory_value_average": avg_inventory,
        "inventory_value_end": m("inventory_value_end"),
        "top_limits": "; ".join(led["object"].head(3)) if len(led) else "",
    }
    return out


#: Columns of solve_variants' results that say how a plan was solved, not what it does.
RUN_COLUMNS = ("variant", "scenario", "role", "group", "how", "status", "predicted_change", "objective", "iterations", "seconds", "solver_seconds")


def kpi_columns(results: pd.DataFrame) -> list[str]:
    """The KPI columns of solve_variants' results, in order (``kpis``' figures)."""
    return [c for c in results.columns if c not in RUN_COLUMNS]


def _outcome(v: Variant, solved: Solved | None, how: str, seconds: float, predicted: float, error: str = "") -> dict:
    base = {"variant": v.name, "scenario": v.scenario, "role": v.role, "group": v.group, "how": how, "seconds": seconds, "predicted_change": predicted}
    if solved is None:
        return {**base, "status": error}
    sol = solved.solution
    return {**base, "status": "optimal", "objective": sol.objective, "solver_seconds": sol.seconds, "iterations": int(sol.iterations.get("simplex", 0)), **kpis(solved)}


def first_order_change(base: Built, x: np.ndarray, y: np.ndarray, row_value: np.ndarray, new: Built) -> float:
    """What the base plan's prices predict the change in total cost will be when the LP moves
    from ``base`` to ``new`` (same structure): each row's price times the move of its binding
    limit, each variable's amount times the change of its cost, and each coefficient change
    a_ij valued as its row's limit moving by -change x x_j. NaN when the structure differs."""
    if structure_change(base, new):
        return math.nan
    a, b = base.lp, new.lp
    hi_side = np.abs(row_value - a.row_upper) <= np.abs(row_value - a.row_lower)
    d_lo = np.subtract(b.row_lower, a.row_lower, out=np.zeros(a.num_row), where=np.isfinite(a.row_lower) & np.isfinite(b.row_lower))
    d_hi = np.subtract(b.row_upper, a.row_upper, out=np.zeros(a.num_row), where=np.isfinite(a.row_upper) & np.isfinite(b.row_upper))
    d_limit = np.where(hi_side, d_hi, d_lo)
    change = float(y @ d_limit) + float(x @ (b.c - a.c))
    d_a = b.A.data - a.A.data
    if np.any(d_a):
        cols = np.repeat(np.arange(a.num_col), np.diff(a.A.indptr))  # A is column-wise (CSC)
        change -= float(np.sum(y[a.A.indices] * d_a * x[cols]))
    return change


def solve_chunk(
    case: Case,
    variants: list[Variant],
    opts: SolveOptions,
    report: Callable[[dict], None] | None = None,
    basis: Callable[[], tuple[np.ndarray, np.ndarray] | None] | None = None,
    share: Callable[[tuple[np.ndarray, np.ndarray] | None], None] | None = None,
) -> list[dict]:
    """Solve ``variants`` one after another from one model of ``case`` (built and solved once,
    then moved to each variant in place and re-solved warm where only numbers change). The
    unit of work of every engine; ``report`` gets each result as it comes.

    The chunk that holds the base variant (no edits; it must come first) solves the base cold
    and gives its optimal basis to ``share`` (None when the base has no plan). Any other chunk
    gets ``basis``, waited on once its model is built (so the build overlaps the base's solve
    elsewhere): it starts from that basis, in no iterations, instead of solving the base again."""
    out: list[dict] = []
    t0 = time.perf_counter()
    if variants and variants[0].is_base:
        basis = None
    shared = False
    try:
        built = build(case)
        start = basis() if basis is not None else None
        if basis is not None and start is None:
            return [_outcome(v, None, "", 0.0, math.nan, "no plan for the base") for v in variants]
        model = solve(built, opts, basis=start)
        if share is not None:
            share(model.basis())
            shared = True
    except SolveError as err:
        # Said in the results (the handle inside the error cannot travel between processes).
        return [{**_outcome(v, None, "", 0.0, math.nan, f"no plan for the base: {err}"), "solve_status": err.status} for v in variants]
    finally:
        if share is not None and not shared:
            share(None)  # the chunks waiting on the base must not wait for ever
    base, base_basis, same_shape = model.built, model.highs.getBasis(), True
    x, y, rv = model.solution.col_value.copy(), model.solution.row_dual.copy(), model.solution.row_value.copy()
    cold = time.perf_counter() - t0
    for i, v in enumerate(variants):
        t = time.perf_counter()
        if v.is_base:
            if i:
                raise ValueError("the base variant (no edits) must come first in its chunk")
            out.append(_outcome(v, model, "cold", cold, 0.0))
            if report:
                report(out[-1])
            continue
        try:
            edited = v.case if v.case is not None else apply_edits(case, v.edits)
            new = build(edited, base.families)
            predicted = first_order_change(base, x, y, rv, new)
            if same_shape:
                # Each plan starts from the base's optimal basis, not the last plan's: a 10 %
                # step from the base, not 20 % from the step the other way (about 40 % fewer
                # iterations measured at 119k variables).
                model.highs.setBasis(base_basis)
            how = model.update(edited, new)
            if not how.startswith("changed in place"):
                # Rebuilt: the base's basis fits the new model only if it has the base's shape.
                same_shape = not structure_change(base, model.built)
        except SolveError as err:
            out.append(_outcome(v, None, "", time.perf_counter() - t, math.nan, f"no plan: {err}"))
        else:
            out.append(_outcome(v, model, "warm" if how.startswith("changed in place") else "cold (rebuilt)", time.perf_counter() - t, predicted))
        if report:
            report(out[-1])
    return out


def _share_basis(queue, waiting: int, basis: tuple[np.ndarray, np.ndarray] | None) -> None:
    """Give the base's basis to the ``waiting`` chunks of a process pool (one copy each)."""
    for _ in range(waiting):
        queue.put(basis)


def _take_basis(queue) -> tuple[np.ndarray, np.ndarray] | None:
    return queue.get()


@dataclass(frozen=True)
class _DaskBasis:
    """The base's basis on Dask: set once by the chunk that solves the base (``share``), read
    by the others (``take``, which waits until it is set); a ``distributed.Variable`` found by
    name on each worker."""

    name: str

    def share(self, basis: tuple[np.ndarray, np.ndarray] | None) -> None:
        from distributed import Variable

        Variable(self.name).set(basis)

    def take(self) -> tuple[np.ndarray, np.ndarray] | None:
        from distributed import Variable

        return Variable(self.name).get()


def _put(queue, row: dict) -> None:
    """A worker's report of one solve done: its name on the parent's queue (a process pool's
    managed queue; picklable, unlike a lambda)."""
    queue.put(row["variant"])


@dataclass(frozen=True)
class _DaskProgress:
    """A worker's report of one solve done, on the Dask queue ``name`` (found by name on the
    worker: a queue object does not travel)."""

    name: str

    def __call__(self, row: dict) -> None:
        from distributed import Queue

        queue = Queue(self.name)
        queue.put(row["variant"])
        queue.close()  # each handle counts on the scheduler; the queue goes when the last closes


def _chunks(variants: list[Variant], n: int) -> list[list[Variant]]:
    """Split round-robin into at most ``n`` non-empty chunks (neighbours go to different
    workers, so each worker's model moves by similar steps)."""
    n = max(1, min(n, len(variants)))
    return [variants[i::n] for i in range(n)]


def solve_variants(
    case: Case,
    variants: list[Variant],
    opts: SolveOptions | None = None,
    engine: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Solve the base and every variant; one row per variant (base first) with its KPIs, how
    it was solved (warm in place or cold), its seconds and the prices' predicted change of
    total cost. ``engine``: ``local`` (this process when ``workers`` is 1, else a process pool
    over the cores) or ``dask`` (the Dask scheduler at ``scheduler``; a LocalCluster of
    ``workers`` processes when none is given). Each worker builds the base once and re-solves
    its share of the variants from it; one worker solves the base cold, and the others, their
    builds done meanwhile, start from its optimal basis instead of solving it again."""
    opts = (opts or SolveOptions.from_settings(case.settings)).replace(ranging=False)
    todo = [Variant("base"), *[v for v in variants if not v.is_base]]
    client = None
    if engine == "dask":
        from dask.distributed import Client, LocalCluster

        # A cluster given by address has its own workers (with aop installed): one share each.
        client = Client(scheduler) if scheduler else Client(LocalCluster(n_workers=min(workers or os.cpu_count() or 1, len(todo)), threads_per_worker=1, processes=True, dashboard_address=None))
        threads = client.nthreads()  # every worker (scheduler_info lists only 5 in some versions)
        # No more shares than the cluster runs at once: every share but the base's waits for
        # the base's basis, so a share left queued behind them would be waited for ever.
        workers = max(1, min(workers or len(threads), sum(threads.values()) or 1))
    elif engine != "local":
        raise ValueError(f"engine must be local or dask, not {engine!r}")
    workers = workers or min(os.cpu_count() or 1, len(todo))
    chunks = _chunks(todo, workers)
    say = progress or (lambda _m: None)
    start, done, total = time.perf_counter(), 0, len(todo)
    rows: list[dict] = []

    def tick(names: list[str]) -> None:
        """Say each solve as it is done (workers report them one by one as they finish)."""
        nonlocal done
        for name in names:
            done += 1
            spent = time.perf_counter() - start
            left = spent / done * (total - done)
            say(f"{done}/{total} solves done in {spent:.1f} s{f', about {left:.0f} s left' if done < total else ''}: {name}")

    if client is not None:
        from dask.distributed import Queue, Variable, wait

        cluster = client.cluster  # the LocalCluster started above; None for a scheduler given
        run_id = f"{os.getpid()}-{time.time_ns()}"
        basis, queue = _DaskBasis(f"aop-basis-{run_id}"), None
        try:
            queue = Queue(f"aop-progress-{run_id}", client=client)
            shared = client.scatter(case, broadcast=True)
            futures = [
                client.submit(solve_chunk, shared, chunk, opts, _DaskProgress(queue.name), None if k == 0 else basis.take, basis.share if k == 0 else None, pure=False)
                for k, chunk in enumerate(chunks)
            ]
            pending = set(futures)
            while pending:
                try:
                    wait(list(pending), timeout=0.5, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    pass
                finished = {f for f in pending if f.done()}
                tick(queue.get(batch=True))
                for f in finished:
                    rows.extend(f.result())
                pending -= finished
            tick(queue.get(batch=True))
        finally:
            # What the run left on a scheduler that outlives it; a failure here must not hide
            # the run's own error.
            with suppress(Exception):
                Variable(basis.name, client=client).delete()
            with suppress(Exception):
                if queue is not None:
                    queue.close()
            client.close()
            if cluster is not None:
                cluster.close()
    elif len(chunks) > 1:
        import multiprocessing as mp
        import queue as queues
        from concurrent.futures import FIRST_COMPLETED, wait

        ctx = mp.get_context("spawn")
        with ctx.Manager() as manager, ProcessPoolExecutor(max_workers=len(chunks), mp_context=ctx) as pool:
            reports, bases = manager.Queue(), manager.Queue()
            pending = {
                pool.submit(
                    solve_chunk, case, chunk, opts, partial(_put, reports),
                    None if k == 0 else partial(_take_basis, bases), partial(_share_basis, bases, len(chunks) - 1) if k == 0 else None,
                )
                for k, chunk in enumerate(chunks)
            }

            def drain() -> None:
                while True:
                    try:
                        tick([reports.get_nowait()])
                    except queues.Empty:
                        return

            while pending:
                finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                drain()
                for f in finished:
                    rows.extend(f.result())
            drain()
    else:

        def one(r: dict) -> None:
            rows.append(r)
            tick([r["variant"]])

        solve_chunk(case, chunks[0], opts, report=one)
    order = {v.name: i for i, v in enumerate(todo)}
    base = next(r for r in rows if r["variant"] == "base")
    if base["status"] != "optimal":
        raise SolveError(base.get("solve_status", "error"), base["status"])
    return pd.DataFrame(rows).sort_values("variant", key=lambda s: s.map(order)).reset_index(drop=True)


def scenario_tables(results: pd.DataFrame, currency: str) -> dict[str, pd.DataFrame]:
    """The comparison (one row per KPI, one column per plan, the base first, then each
    plan's change against it) and the playbook (for each downside scenario with actions: what
    the actions together and each alone protect against the shock alone: total cost, cash
    cost-to-serve, margin, revenue and fill rate; positive is protected)."""
    ok = results[results["status"] == "optimal"].set_index("variant")
    measures = kpi_columns(results)
    comparison = ok[measures].T
    comparison.index.name = "kpi"
    base = comparison["base"] if "base" in comparison else None
    numeric = [k for k in comparison.index if k != "top_limits"]
    if base is not None:
        for v in [c for c in ok.index if c != "base"]:
            comparison[f"{v}: change"] = pd.Series({k: float(comparison.at[k, v]) - float(base[k]) for k in numeric})
    comparison = comparison.reset_index()
    comparison.insert(1, "unit", [_unit(k, currency) for k in comparison["kpi"]])
    rows = []
    for name, g in results[results["scenario"] != ""].groupby("scenario", sort=False):
        alone = g[g["role"] == "shock alone"]
        if alone.empty or alone["status"].iloc[0] != "optimal":
            continue
        a = alone.iloc[0]
        for r in g[g["role"].isin(["scenario", "action"])].to_dict("records"):
            if r["status"] != "optimal":
                continue
            rows.append(
                {
                    "scenario": name,
                    "actions": "all the scenario's actions" if r["role"] == "scenario" else r["variant"].split("(shock + ", 1)[-1].rstrip(")"),
                    "total_cost_protected": float(a["total_cost"]) - float(r["total_cost"]),
                    "cash_cost_protected": float(a["cash_cost_to_serve"]) - float(r["cash_cost_to_serve"]),
                    "margin_protected": float(r["contribution_margin"]) - float(a["contribution_margin"]),
                    "revenue_protected": float(r["revenue"]) - float(a["revenue"]),
                    "fill_rate_protected": float(r["fill_rate"]) - float(a["fill_rate"]),
                }
            )
    playbook = pd.DataFrame(rows, columns=["scenario", "actions", "total_cost_protected", "cash_cost_protected", "margin_protected", "revenue_protected", "fill_rate_protected"])
    runs = results[["variant", "scenario", "role", "status", "how", "seconds", "solver_seconds", "iterations", "objective", "predicted_change"]].copy() if "objective" in results else results.copy()
    return {"comparison": comparison, "playbook": playbook, "runs": runs}


def _unit(kpi: str, currency: str) -> str:
    if kpi.startswith("fill_rate"):
        return "fraction"
    if kpi == "top_limits":
        return ""
    return currency
