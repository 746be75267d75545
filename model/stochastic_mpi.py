"""The two-stage plan solved by decomposition with mpi-sppy: progressive hedging (PH) or the
L-shaped method (Benders), each scenario a Pyomo model of its own, bounded from below and
above until the relative gap is met.

A scenario is plain data (``ScenarioLP``): its LP in matrix form and which of its columns are
first-stage (decided before the scenario is known: the same value in every scenario). The
scenario model gives each first-stage decision one variable ``z[k]`` and ties the scenario's
column to it (``x[j] == z[k]``), so a first-stage column may carry scenario costs of its own
and still every scenario's ``z`` has the same cost: what the L-shaped root problem needs.

``decompose(..., ranks=1)`` runs in this process, without ``mpiexec``: PH with the bounds the
spokes would compute (a Lagrangian lower bound from PH's weights, an incumbent from evaluating
each scenario's first-stage decision in every scenario), or the L-shaped method with each
root decision evaluated for the upper bound. ``ranks > 1`` runs ``mpiexec -n RANKS python -m
aop.stochastic_mpi IN OUT`` (hub and spokes: PH with a Lagrangian spoke and an xhatshuffle
spoke, in multiples of 3 ranks; L-shaped with an xhat spoke, in multiples of 2), and rank 0
writes the result atomically. On a cluster the same module runs under the cluster's mpiexec.

mpi-sppy and mpi4py are imported only here and only when asked for (``pip install
".[mpi]"``); the rest of the package works without them.

What was found with mpi-sppy 0.14.0, mpi4py 4.1.2, the mpich 5.0.2 wheel and HiGHS:

- PH's hub terminates on the gap only with an inner-bound spoke, and its own outer bound is
  iteration 0's (the trivial bound): hub + Lagrangian on 2 ranks runs to the iteration limit
  with no incumbent; hub + xhatshuffle keeps the trivial bound (gap 22.6 % on the tests' case).
  So PH takes 3 cylinders, and mpi-sppy needs the ranks to be a multiple of 3 (``Need a
  multiple of 3 processes (got 2)``). 3 and 6 ranks work on 2 cores (the spokes poll).
- The L-shaped hub with the xhat-L-shaped spoke works on 2 (and 4) ranks. Its subproblems are
  elastic in the rows that hold first-stage decisions (here the ``x[j] == z[k]`` links), so it
  needs no relatively complete recourse: a first stage without recourse gets cut off. It has no
  time limit under MPI (gap or ``max_iterations`` stop it; the subprocess has a timeout).
- PH's quadratic prox term needs Pyomo's ``highs`` (``appsi_highs`` raises DegreeError).
- For LPs L-shaped is far quicker: 20 scenarios of 100 columns, rel gap 1e-4: L-shaped 27
  iterations in 13 s on 1 rank (10 s on 2); PH stopped at the 120 s limit with gap 0.07 %
  (first-stage decisions bounded) or 24.5 % (capacity unbounded, see ``_unbounded_first_stage``).
"""

from __future__ import annotations

import json
import math
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .files import atomic_file

#: The solver mpi-sppy drives: Pyomo's ``highs`` (its ``appsi_highs`` rejects PH's quadratic prox
#: term, and the L-shaped cut generator knows the dual sign of ``highs`` only).
SOLVER = "highs"
METHODS = ("ph", "lshaped")
#: Cylinders per method under MPI: the ranks must be a multiple of this.
CYLINDERS = {"ph": 3, "lshaped": 2}
MISSING = 'the mpi engine needs mpi-sppy and mpi4py: pip install ".[mpi]" in the project (or pip install mpi-sppy mpi4py mpich)'


@dataclass
class ScenarioLP:
    """One scenario: min c x (+ first_stage_cost . x[first_stage]) s.t. row_lower <= A x <=
    row_upper, col_lower <= x <= col_upper; ``first_stage`` are the columns whose values must
    be the same in every scenario (same order and meaning in each), ``first_stage_cost`` their
    cost, counted once per unit whatever the scenario. Money in the case's currency."""

    name: str
    probability: float
    c: np.ndarray
    A: Any  # scipy.sparse csc array or matrix, rows x columns
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    first_stage: np.ndarray
    first_stage_cost: np.ndarray


@dataclass
class DecompositionResult:
    """The bounds the decomposition proved on the expected cost (``lower_bound <= optimum <=
    upper_bound``), their relative gap, the incumbent's first-stage values (in
    ``first_stage`` order), iterations of the hub's method, wall seconds, method and ranks."""

    lower_bound: float
    upper_bound: float
    gap: float
    first_stage_values: list[float]
    iterations: int
    seconds: float
    method: str
    ranks: int
    log: list[str] = field(default_factory=list)


@dataclass
class Settings:
    """What a run is asked for, as handed to the MPI processes."""

    method: str = "ph"
    rel_gap: float = 1e-4
    max_iterations: int = 200
    time_limit: float = 600.0
    rho: float | None = None  # PH penalty; None: each first-stage decision's cost (at least 1)


def missing() -> str | None:
    """What to install when mpi-sppy or mpi4py is missing (for the CLI's --engine mpi), else None;
    imports neither."""
    import importlib.util

    return MISSING if any(importlib.util.find_spec(m) is None for m in ("mpisppy", "mpi4py")) else None


def _no_log_files() -> None:
    """Keep mpi-sppy from opening log files (hub.log, xhateval.log ...) in the working folder:
    some of its modules set up a file logger when imported. Their loggers get no handler
    instead; mpi-sppy's screen output is unchanged. Call before importing its cylinders."""
    import logging

    import mpisppy.log

    if getattr(mpisppy.log, "_aop_no_files", False):
        return
    original = mpisppy.log.setup_logger

    def setup_logger(name, out, level=logging.DEBUG, mode="w", fmt=None):
        if out in (sys.stdout, sys.stderr):
            return original(name, out, level=level, mode=mode, fmt=fmt)
        log = logging.getLogger(name)
        log.setLevel(level)
        log.propagate = False
        log.addHandler(logging.NullHandler())

    mpisppy.log.setup_logger = setup_logger
    mpisppy.log._aop_no_files = True


def relative_gap(lower: float, upper: float) -> float:
    """(upper - lower) / max(|upper|, 1e-10), as mpi-sppy's hub measures it; inf without both bounds."""
    if not (math.isfinite(lower) and math.isfinite(upper)):
        return math.inf
    return (upper - lower) / max(abs(upper), 1e-10)


def check_scenarios(scenarios: list[ScenarioLP]) -> None:
    """Raise ValueError with a plain message when the scenarios cannot form a two-stage program."""
    if not scenarios:
        raise ValueError("no scenarios to decompose")
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise ValueError(f"scenario names repeat: {sorted({n for n in names if names.count(n) > 1})}")
    total = sum(s.probability for s in scenarios)
    if any(s.probability < 0 for s in scenarios) or abs(total - 1) > 1e-6:
        raise ValueError(f"scenario probabilities must be nonnegative and sum to 1 (they sum to {total:g})")
    k = len(scenarios[0].first_stage)
    for s in scenarios:
        m, n = s.A.shape
        if not (len(s.c) == len(s.col_lower) == len(s.col_upper) == n and len(s.row_lower) == len(s.row_upper) == m):
            raise ValueError(f"scenario {s.name}: c, column bounds and A's {n} columns, or row bounds and A's {m} rows, differ in length")
        if len(s.first_stage) != k or len(s.first_stage_cost) != k:
            raise ValueError(f"scenario {s.name} has {len(s.first_stage)} first-stage columns and {len(s.first_stage_cost)} costs; the first scenario has {k}")
        if k and (min(s.first_stage) < 0 or max(s.first_stage) >= n):
            raise ValueError(f"scenario {s.name}: a first-stage column is outside its {n} columns")
    if not k:
        raise ValueError("no first-stage columns: the scenarios are independent LPs")


# -------------------------------------------------------------------------------------- scenario models


def scenario_model(s: ScenarioLP):
    """One scenario as a Pyomo model mpi-sppy can use: variables ``x`` (the scenario's columns),
    ``z`` (the first-stage decisions, on the root node), rows ``row``, links ``x[j] == z[k]``."""
    import pyomo.environ as pyo
    from mpisppy.utils import sputils
    from pyomo.core.expr.numeric_expr import LinearExpression
    from scipy.sparse import csr_array

    n = len(s.c)
    m = pyo.ConcreteModel(name=s.name)
    bound = lambda v: None if not math.isfinite(v) else float(v)  # Pyomo: None is no bound
    m.x = pyo.Var(range(n), bounds=lambda _m, j: (bound(s.col_lower[j]), bound(s.col_upper[j])))
    first = [int(j) for j in s.first_stage]
    m.z = pyo.Var(range(len(first)), bounds=lambda _m, k: (bound(s.col_lower[first[k]]), bound(s.col_upper[first[k]])))
    A = csr_array(s.A)
    m.row = pyo.Constraint(range(A.shape[0]))
    for i in range(A.shape[0]):
        lo, hi = A.indptr[i], A.indptr[i + 1]
        body = LinearExpression(constant=0, linear_coefs=A.data[lo:hi].tolist(), linear_vars=[m.x[int(j)] for j in A.indices[lo:hi]])
        m.row[i] = (bound(s.row_lower[i]), body, bound(s.row_upper[i]))
    m.link = pyo.Constraint(range(len(first)), rule=lambda _m, k: _m.x[first[k]] == _m.z[k])
    m.first_stage_cost = pyo.Expression(expr=LinearExpression(constant=0, linear_coefs=[float(v) for v in s.first_stage_cost], linear_vars=list(m.z.values())))
    nz = np.flatnonzero(s.c)
    second = LinearExpression(constant=0, linear_coefs=s.c[nz].tolist(), linear_vars=[m.x[int(j)] for j in nz])
    m.total_cost = pyo.Objective(expr=m.first_stage_cost + second, sense=pyo.minimize)
    sputils.attach_root_node(m, m.first_stage_cost, [m.z])
    m._mpisppy_probability = float(s.probability)
    return m


def _creator(scenario_name: str, scenarios: dict[str, ScenarioLP]):
    """mpi-sppy's scenario creator: the named scenario's model."""
    return scenario_model(scenarios[scenario_name])


def _rho_setter(rho: float | None, cost: np.ndarray):
    """PH's penalty per first-stage decision: ``rho``, or the decision's cost (at least 1)."""
    values = np.full(len(cost), rho) if rho is not None else np.maximum(np.abs(cost), 1.0)

    def setter(model):
        return [(id(model.z[k]), float(values[k])) for k in range(len(values))]

    return setter


def _options(settings: Settings, **more: Any) -> dict[str, Any]:
    """The options every mpi-sppy object reads (as its ``cfg_vanilla.shared_options``)."""
    opts: dict[str, Any] = {
        "solver_name": SOLVER,
        "defaultPHrho": 1.0 if settings.rho is None else settings.rho,
        # PH's own convergence (the norm of x - xbar) must not stop it before the gap is met
        "convthresh": -1.0,
        "PHIterLimit": settings.max_iterations,
        "time_limit": settings.time_limit,
        "verbose": False,
        "display_progress": False,
        "display_convergence_detail": False,
        "display_timing": False,
        "iter0_solver_options": {},
        "iterk_solver_options": {},
        "solver_options_layers": [],
        "tee-rank0-solves": False,
    }
    opts.update(more)
    return opts


def _opt_kwargs(scenarios: list[ScenarioLP], settings: Settings, **more: Any) -> dict[str, Any]:
    return {
        "options": _options(settings, **more),
        "all_scenario_names": [s.name for s in scenarios],
        "scenario_creator": _creator,
        "scenario_creator_kwargs": {"scenarios": {s.name: s for s in scenarios}},
        "scenario_denouement": None,
    }


def _lshaped_options(settings: Settings) -> dict[str, Any]:
    return {"root_solver": SOLVER, "sp_solver": SOLVER, "sp_solver_options": {}, "max_iter": settings.max_iterations, "verbose": False, "root_scenarios": None}


def _unbounded_first_stage(scenarios: list[ScenarioLP]) -> list[str]:
    """A note when a first-stage decision has no finite bounds: PH's Lagrangian subproblem is then
    unbounded whenever a weight outweighs its cost, so the lower bound may stay at iteration 0's
    (seen: 778.9 against an optimum of 1032.2 after 136 iterations; 1031.5 with bounds)."""
    s = scenarios[0]
    free = [k for k, j in enumerate(s.first_stage) if not (math.isfinite(s.col_lower[j]) and math.isfinite(s.col_upper[j]))]
    if not free:
        return []
    return [f"note: {len(free)} first-stage decisions have no finite bounds (first: {free[:5]}): PH's Lagrangian lower bound may not rise above its first bound; give them bounds, or use lshaped"]


def _forget_bounds(opt) -> None:
    """Set every scenario's bound to -inf before a Lagrangian solve. mpi-sppy keeps a scenario's
    previous bound when its solve fails, and a Lagrangian subproblem is unbounded when a weight
    makes an unbounded first-stage variable pay (cost + W < 0): the stale bound would then be
    summed into the expected bound, which can exceed the optimum (seen: 91.25 for an optimum of
    38.75). With -inf the bound of such weights is -inf, which is true and harmless."""
    for s in opt.local_scenarios.values():
        s._mpisppy_data.outer_bound = -math.inf


def _safe_lagrangian_spoke():
    """mpi-sppy's Lagrangian spoke, forgetting each scenario's bound before each solve (see
    ``_forget_bounds``). Made here, not at import: mpi-sppy is imported only when used."""
    from mpisppy.cylinders.lagrangian_bounder import LagrangianOuterBound

    class SafeLagrangianOuterBound(LagrangianOuterBound):
        def lagrangian(self, *args, **kwargs):
            _forget_bounds(self.opt)
            return super().lagrangian(*args, **kwargs)

    return SafeLagrangianOuterBound


def _nonants(opt) -> list[float]:
    """The first-stage values of one local scenario of an mpi-sppy object, within their bounds
    (a solver's answer may be past one by its tolerance)."""
    s = next(iter(opt.local_scenarios.values()))
    return [float(min(max(v.value, -math.inf if v.lb is None else v.lb), math.inf if v.ub is None else v.ub)) for v in s._mpisppy_data.nonant_indices.values()]


# -------------------------------------------------------------------------------------- in this process


class _Incumbent:
    """Evaluates first-stage decisions in every scenario and keeps the cheapest (as the
    xhatshuffle and xhat-L-shaped spokes do)."""

    def __init__(self, scenarios: list[ScenarioLP], settings: Settings):
        from mpisppy.utils.xhat_eval import Xhat_Eval

        self.eval = Xhat_Eval(**_opt_kwargs(scenarios, settings))
        self.value = math.inf
        self.x: list[float] = []

    def offer(self, x: list[float]) -> None:
        for s in self.eval.local_scenarios.values():
            for var, v in zip(s._mpisppy_data.nonant_indices.values(), x):
                # into the bounds: a solver's answer may be past one by its tolerance (1e-12 seen)
                var.fix(min(max(v, -math.inf if var.lb is None else var.lb), math.inf if var.ub is None else var.ub))
        obj = self.eval.calculate_incumbent(fix_nonants=False)
        if obj is not None and obj < self.value:
            self.value, self.x = float(obj), list(x)


def _ph_in_process(scenarios: list[ScenarioLP], settings: Settings, log: list[str]) -> tuple[float, float, list[float], int]:
    """PH in this process; after each iteration a Lagrangian bound from PH's weights and an
    incumbent from each scenario's first-stage decision (what the spokes do under MPI)."""
    from mpisppy.convergers.converger import Converger
    from mpisppy.opt.ph import PH
    from mpisppy.phbase import PHBase

    lagrangian = PHBase(**_opt_kwargs(scenarios, settings))
    lagrangian.PH_Prep(attach_prox=False, defer_attach=False)
    lagrangian._reenable_W()
    lagrangian._create_solvers()
    incumbent = _Incumbent(scenarios, settings)
    state = {"lower": -math.inf}

    def bounds(ph) -> bool:
        """Update both bounds from PH's current iterate; True when the gap is met."""
        for name, s in ph.local_scenarios.items():
            W = lagrangian.local_scenarios[name]._mpisppy_model.W
            for ndn_i, w in s._mpisppy_model.W.items():
                W[ndn_i]._value = w._value
        _forget_bounds(lagrangian)
        lagrangian.solve_loop(solver_options={}, gripe=False, need_solution=False)
        state["lower"] = max(state["lower"], float(lagrangian.Ebound(False)))
        # candidates, each evaluated in every scenario: the probability-weighted average of the
        # scenarios' decisions (xbar), and one scenario's decision in turn (as xhatshuffle does)
        decisions = [[float(v.value) for v in s._mpisppy_data.nonant_indices.values()] for s in ph.local_scenarios.values()]
        weights = np.array([s._mpisppy_probability for s in ph.local_scenarios.values()])
        incumbent.offer(list(weights @ np.array(decisions) / weights.sum()))
        incumbent.offer(decisions[ph._PHIter % len(decisions)])
        gap = relative_gap(state["lower"], incumbent.value)
        log.append(f"PH iteration {ph._PHIter}: lower {state['lower']:.6g} upper {incumbent.value:.6g} gap {gap:.3g}")
        return gap <= settings.rel_gap

    class GapConverger(Converger):
        def __init__(self, opt):
            super().__init__(opt)
            self.opt = opt
            self.met = bounds(opt)  # after iteration 0: the trivial bound and each scenario's own decision

        def is_converged(self) -> bool:
            # called once W is updated from iteration k-1's solves: the Lagrangian bound for those W
            return self.met or bounds(self.opt)

    rho = _rho_setter(settings.rho, scenarios[0].first_stage_cost)
    ph = PH(**_opt_kwargs(scenarios, settings), rho_setter=rho, ph_converger=GapConverger)
    ph.ph_main()
    return state["lower"], incumbent.value, incumbent.x, int(ph._PHIter)


def _lshaped_in_process(scenarios: list[ScenarioLP], settings: Settings, log: list[str]) -> tuple[float, float, list[float], int]:
    """The L-shaped method in this process; each root decision is evaluated for the upper bound."""
    from mpisppy.opt.lshaped import LShapedMethod

    ls = LShapedMethod(_lshaped_options(settings), [s.name for s in scenarios], _creator, scenario_creator_kwargs={"scenarios": {s.name: s for s in scenarios}})
    incumbent = _Incumbent(scenarios, settings)
    start = time.perf_counter()

    class GapConverger:
        """Called by lshaped_algorithm after each root solve and its cuts: convergence_value, then is_converged."""

        def __init__(self, opt, rank, n_proc):
            self.opt = opt

        def convergence_value(self) -> float:
            incumbent.offer([float(v.value) for v in self.opt.root_vars])
            return relative_gap(float(self.opt._LShaped_bound), incumbent.value)

        def is_converged(self) -> bool:
            gap = relative_gap(float(self.opt._LShaped_bound), incumbent.value)
            log.append(f"L-shaped iteration {self.opt.iter + 1}: lower {self.opt._LShaped_bound:.6g} upper {incumbent.value:.6g} gap {gap:.3g}")
            return gap <= settings.rel_gap or time.perf_counter() - start > settings.time_limit

    ls.lshaped_algorithm(converger=GapConverger)
    # no cut left to add: the root's last solution is optimal and its bound is the optimum
    incumbent.offer([float(v.value) for v in ls.root_vars])
    return float(ls._LShaped_bound), incumbent.value, incumbent.x, int(ls.iter) + 1


# -------------------------------------------------------------------------------------- under MPI


def _wheel(scenarios: list[ScenarioLP], settings: Settings) -> tuple[dict, list[dict]]:
    """The hub and spokes of a method, as mpi-sppy's ``cfg_vanilla`` would make them."""
    from mpisppy.cylinders.hub import LShapedHub, PHHub
    from mpisppy.cylinders.lshaped_bounder import XhatLShapedInnerBound
    from mpisppy.cylinders.xhatshufflelooper_bounder import XhatShuffleInnerBound
    from mpisppy.opt.lshaped import LShapedMethod
    from mpisppy.opt.ph import PH
    from mpisppy.phbase import PHBase
    from mpisppy.utils.xhat_eval import Xhat_Eval

    hub_options = {"rel_gap": settings.rel_gap}
    if settings.method == "lshaped":
        hub = {"hub_class": LShapedHub, "hub_kwargs": {"options": hub_options}, "opt_class": LShapedMethod, "opt_kwargs": {**_opt_kwargs(scenarios, settings), "options": _lshaped_options(settings)}}
        return hub, [{"spoke_class": XhatLShapedInnerBound, "opt_class": Xhat_Eval, "opt_kwargs": _opt_kwargs(scenarios, settings)}]
    rho = _rho_setter(settings.rho, scenarios[0].first_stage_cost)
    hub = {"hub_class": PHHub, "hub_kwargs": {"options": hub_options}, "opt_class": PH, "opt_kwargs": {**_opt_kwargs(scenarios, settings), "rho_setter": rho}}
    lagrangian = {"spoke_class": _safe_lagrangian_spoke(), "opt_class": PHBase, "opt_kwargs": {**_opt_kwargs(scenarios, settings), "rho_setter": rho}}
    looper = {"xhat_solver_options": {}, "dump_prefix": "delme", "csvname": "looper.csv"}
    xhat = {"spoke_class": XhatShuffleInnerBound, "opt_class": Xhat_Eval, "opt_kwargs": _opt_kwargs(scenarios, settings, xhat_looper_options=looper)}
    return hub, [lagrangian, xhat]


def run_under_mpi(scenarios: list[ScenarioLP], settings: Settings) -> DecompositionResult | None:
    """Spin the hub and spokes on MPI's world; global rank 0 returns the result, others None."""
    from mpi4py import MPI
    from mpisppy.spin_the_wheel import WheelSpinner

    _no_log_files()
    comm = MPI.COMM_WORLD
    start = time.perf_counter()
    wheel = WheelSpinner(*_wheel(scenarios, settings))
    wheel.spin()
    # the first-stage decision of the best incumbent: held by the cylinder that found it
    winner = wheel._determine_innerbound_winner()
    mine = None
    if winner and wheel.cylinder_rank == 0 and wheel.spcomm.opt.load_best_solution():
        mine = _nonants(wheel.spcomm.opt)
    found = [x for x in comm.allgather(mine) if x is not None]
    if comm.rank != 0:
        return None
    lower, upper = float(wheel.BestOuterBound), float(wheel.BestInnerBound)
    return DecompositionResult(
        lower_bound=lower,
        upper_bound=upper,
        gap=relative_gap(lower, upper),
        first_stage_values=found[0] if found else [],
        iterations=int(wheel.spcomm.current_iteration()),
        seconds=time.perf_counter() - start,
        method=settings.method,
        ranks=comm.size,
    )


def mpiexec() -> str | None:
    """The mpiexec to start ranks with: $AOP_MPIEXEC, else the one beside this Python (the
    ``mpich`` wheel installs it into the environment's bin), else the first on PATH."""
    if os.environ.get("AOP_MPIEXEC"):
        return os.environ["AOP_MPIEXEC"]
    beside = Path(sys.executable).parent / "mpiexec"
    if beside.exists():
        return str(beside)
    return shutil.which("mpiexec")


def _run_mpiexec(scenarios: list[ScenarioLP], settings: Settings, ranks: int) -> DecompositionResult:
    exe = mpiexec()
    if exe is None:
        raise RuntimeError("no mpiexec found: install the mpich wheel (pip install mpich) or set AOP_MPIEXEC")
    with tempfile.TemporaryDirectory(prefix="aop-mpi-") as tmp:
        inp, out = Path(tmp) / "scenarios.pkl", Path(tmp) / "result.json"
        with inp.open("wb") as f:
            pickle.dump((scenarios, settings), f)
        cmd = [exe, "-n", str(ranks), sys.executable, "-m", "aop.stochastic_mpi", str(inp), str(out)]
        # each rank is one solver thread: the ranks are the parallelism
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=settings.time_limit + 120, env=env, cwd=tmp)
        except subprocess.TimeoutExpired as e:
            raise RuntimeError(f"mpiexec did not finish within {settings.time_limit + 120:.0f} s") from e
        if done.returncode != 0 or not out.exists():
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
            raise RuntimeError(f"mpiexec -n {ranks} failed (exit {done.returncode}):\n{tail}")
        result = DecompositionResult(**json.loads(out.read_text()))
        result.log = done.stdout.splitlines()
        return result


def decompose(
    scenarios: list[ScenarioLP],
    method: str = "lshaped",
    ranks: int = 1,
    rel_gap: float = 1e-4,
    max_iterations: int = 200,
    time_limit: float = 600.0,
    rho: float | None = None,
) -> DecompositionResult:
    """Solve the two-stage program of ``scenarios`` by ``method`` ('ph' or 'lshaped') on
    ``ranks`` MPI ranks (1: in this process), until the relative gap between the proven lower
    bound and the best incumbent is at most ``rel_gap``, or ``max_iterations``, or about
    ``time_limit`` seconds. Raises ValueError for bad input, RuntimeError when mpi-sppy is
    missing or the MPI run fails."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if ranks < 1 or (ranks > 1 and ranks % CYLINDERS[method]):
        raise ValueError(f"{method} under MPI runs {CYLINDERS[method]} cylinders (hub and spokes): ranks must be 1 or a multiple of {CYLINDERS[method]}, not {ranks}")
    check_scenarios(scenarios)
    try:
        import mpi4py  # noqa: F401
        import mpisppy  # noqa: F401
    except ImportError as e:  # also where find_spec finds them but they cannot load (no MPI library)
        raise RuntimeError(MISSING) from e
    settings = Settings(method=method, rel_gap=rel_gap, max_iterations=max_iterations, time_limit=time_limit, rho=rho)
    _no_log_files()
    if ranks > 1:
        result = _run_mpiexec(scenarios, settings, ranks)
        result.log = (_unbounded_first_stage(scenarios) if method == "ph" else []) + result.log
        return result
    start = time.perf_counter()
    log: list[str] = []
    if method == "ph":
        log += _unbounded_first_stage(scenarios)
    run = _ph_in_process if method == "ph" else _lshaped_in_process
    lower, upper, x, iterations = run(scenarios, settings, log)
    return DecompositionResult(lower, upper, relative_gap(lower, upper), x, iterations, time.perf_counter() - start, method, 1, log)


def main(argv: list[str] | None = None) -> int:
    """``python -m aop.stochastic_mpi IN OUT`` under mpiexec: IN is a pickle of (scenarios,
    settings) written by ``decompose``; rank 0 writes the result to OUT as JSON."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: mpiexec -n RANKS python -m aop.stochastic_mpi SCENARIOS.pkl RESULT.json", file=sys.stderr)
        return 2
    with open(args[0], "rb") as f:
        scenarios, settings = pickle.load(f)  # our own file, written by decompose()
    result = run_under_mpi(scenarios, settings)
    if result is not None:
        with atomic_file(args[1]) as tmp:
            tmp.write_text(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    # run the package's module, not a second copy named __main__: the pickled scenarios name its classes
    from aop.stochastic_mpi import main as _main

    sys.exit(_main())
