"""Many plans from one: scenarios and downside playbooks, the assumptions the plan is most
sensitive to, and the bridge from one year's plan to the next.

A scenario is a list of edits of the case's validated tables (``Edit``: a table, a numeric
column, the rows a filter selects, and scale / add / set by a value), read from the case's
``scenarios`` table or made by ``sensitivity_variants``. Each plan to solve is a ``Variant``
(a name and its edits). ``solve_variants`` solves them all from one built model per worker:
the base is solved cold once per run (the other workers start from its optimal basis), then
each variant's case is built and the model moves to it in place and re-solves warm (dual
simplex from the base's basis) when only numbers changed, or is rebuilt when rows or variables
did (``solve.Solved.variant``). Workers are processes on this machine or Dask workers; each gets
a share of the variants and keeps its model between them.

Money is in the case's currency. A KPI change is the variant's figure less the base's.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from . import metrics
from .build import Built, build
from .diff import ModelDiff, RebuildReason
from .edits import Edit, apply_edits, parse_filter
from .errors import InputError, Problem, SolveError
from .lp import dot
from .results import Figures
from .schema import TABLES
from .solve import Solved, SolveOptions, Trial, solve
from .validate import Case


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
# Reading scenarios
# --------------------------------------------------------------------------------------


def read_scenarios(case: Case) -> list[Variant]:
    """The case's ``scenarios`` table as variants: each scenario with all its rows; for a
    scenario with shocks and actions, also the shocks alone and the shocks with each action
    alone, so what each pre-approved action protects shows. Raises InputError listing every
    row that names an unknown table, column or filter value, or an operation that does not
    fit (all at once, with the rows as the user sees them)."""
    sc = case.table("scenarios")
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


def kpis(solved: Solved) -> dict[str, metrics.Value]:
    """The figures a scenario comparison puts side by side (``metrics.KPIS``)."""
    return metrics.kpis(Figures.of(solved))


#: Columns of solve_variants' results that say how a plan was solved, not what it does.
RUN_COLUMNS = ("variant", "scenario", "role", "group", "how", "status", "predicted_change", "objective", "iterations", "seconds", "solver_seconds")


def kpi_columns(results: pd.DataFrame) -> list[str]:
    """The KPI columns of solve_variants' results, in order (``kpis``' figures)."""
    return [c for c in results.columns if c not in RUN_COLUMNS]


def _outcome(v: Variant, trial: Trial | Solved | None, how: str, seconds: float, predicted: float, error: str = "", keys: tuple[str, ...] | None = None) -> dict:
    """One results row: how the variant was solved and its KPIs (``keys`` of them; all by default)."""
    base = {"variant": v.name, "scenario": v.scenario, "role": v.role, "group": v.group, "how": how, "seconds": seconds, "predicted_change": predicted}
    model = trial.model if isinstance(trial, Trial) else trial
    if model is None or model.solution is None:
        return {**base, "status": error}
    sol = model.solution
    figures = kpis(model) if keys is None else metrics.evaluate(Figures.of(model), keys)
    return {**base, "status": "optimal", "objective": sol.objective, "solver_seconds": sol.seconds, "iterations": int(sol.iterations.get("simplex", 0)), **figures}


def first_order_change(base: Built, x: np.ndarray, y: np.ndarray, row_value: np.ndarray, change: ModelDiff | RebuildReason | None) -> float:
    """What the base plan's prices predict the change in total cost will be when its LP moves
    by ``change`` (numbers in place): each row's price times the move of its binding limit,
    each variable's amount times the change of its cost, and each coefficient change a_ij
    valued as its row's limit moving by -change x x_j. NaN for a rebuild."""
    if not isinstance(change, ModelDiff):
        return math.nan
    a, b = base.lp, change.built.lp
    r, j = change.rows, change.cols
    hi_side = np.abs(row_value[r] - a.row_upper[r]) <= np.abs(row_value[r] - a.row_lower[r])
    d_lo = np.subtract(b.row_lower[r], a.row_lower[r], out=np.zeros(len(r)), where=np.isfinite(a.row_lower[r]) & np.isfinite(b.row_lower[r]))
    d_hi = np.subtract(b.row_upper[r], a.row_upper[r], out=np.zeros(len(r)), where=np.isfinite(a.row_upper[r]) & np.isfinite(b.row_upper[r]))
    total = dot(y[r], np.where(hi_side, d_hi, d_lo)) + dot(x[j], b.c[j] - a.c[j])
    k = change.coefficients
    if len(k):
        cols = np.searchsorted(a.A.indptr, k, side="right") - 1  # A is column-wise (CSC)
        total -= float(np.sum(y[a.A.indices[k]] * (b.A.data[k] - a.A.data[k]) * x[cols]))
    return total


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
    base = model.built
    sol = model.optimum
    x, y, rv = sol.col_value.copy(), sol.row_dual.copy(), sol.row_value.copy()
    cold = time.perf_counter() - t0
    for i, v in enumerate(variants):
        t = time.perf_counter()
        if v.is_base:
            if i:
                raise ValueError("the base variant (no edits) must come first in its chunk")
            out.append(_outcome(v, model, "cold", cold, 0.0))
        else:
            edited = v.case if v.case is not None else apply_edits(case, v.edits)
            # Each plan starts from the base: its numbers and its optimal basis (a 10 % step
            # from the base, not 20 % from the step the other way: about 40 % fewer iterations
            # measured at 119k variables); the variant is undone when its KPIs are read.
            with model.variant(edited) as trial:
                how = "cold (rebuilt)" if trial.rebuilt else "warm"
                if trial.solution is not None and trial.solution.rechecked:
                    how = f"cold (the warm re-solve failed the check: {trial.solution.rechecked})"
                predicted = first_order_change(base, x, y, rv, trial.change)
                if trial.solution is None:
                    out.append(_outcome(v, None, "", time.perf_counter() - t, math.nan, f"no plan: {trial.error}"))
                else:
                    row = _outcome(v, trial, how, 0.0, predicted)
                    row["seconds"] = time.perf_counter() - t
                    out.append(row)
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
                with suppress(TimeoutError):
                    wait(list(pending), timeout=0.5, return_when="FIRST_COMPLETED")
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
            running = {
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

            while running:
                ready, running = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                drain()
                for f in ready:
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
    base = comparison.get("base", None)
    numeric = [k for k in comparison.index if k != "top_limits"]
    if base is not None:
        for v in [c for c in ok.index if c != "base"]:
            comparison[f"{v}: change"] = pd.Series({k: float(comparison.at[k, v]) - float(base[k]) for k in numeric})
    comparison = comparison.reset_index()
    comparison.insert(1, "unit", [metrics.unit(k, currency) for k in comparison["kpi"]])
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
