"""Solve the compiled LP with HiGHS (highspy) and read back values, duals and ranging: the one
module that talks to HiGHS.

``solve`` loads the LP (money and quantities scaled where their numbers are large) and solves
it; the ``Solved`` model it returns holds HiGHS, the LP and its basis, changes numbers in place
(by business key or by row and column number, through one push that applies the scales) and
re-solves warm. Every what-if is ``Solved.variant``: an edited case (``build.edit`` rebuilds
only what the edit reaches; ``diff`` says what changed, as data), or limits and costs set by
number, re-solved and undone. The infeasibility diagnosis's solves (the IIS, the least
relaxation) are here too.

Algorithm choice: dual simplex for small plans; from ``IPM_FROM_COLUMNS`` (20,000) variables
an interior point with crossover, which is far faster there and still ends on a basis, so duals
and ranging are exact. The termination status is checked before any value is read, and every
answer is checked independently (``check_solution``).

Runs end: every HiGHS run polls a ``Stop`` (set by the CLI's SIGTERM and Ctrl+C handlers)
through HiGHS's simplex and interior-point interrupt callbacks; under ``auto``, dual simplex
that has not finished within ``SIMPLEX_PATIENCE`` seconds, or gives up without a status, is
taken for numerical trouble and the plan is solved again by IPX (said in the run record); the
diagnosis's re-solves run within a time budget each and together.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import highspy
import numpy as np
import pandas as pd

from .bounds import lower_bound
from .build import VARIABLES, Built, edit
from .diff import ModelDiff, RebuildReason, diff
from .errors import SolveError
from .lp import LP, bounds, dot
from .validate import Case

#: ``--solver auto`` uses dual simplex below this many variables and HiPO with crossover from it.
#: Measured by scripts/benchmark.py (bare HiGHS 1.15.1, this 2-core machine): at 9,658
#: variables simplex 0.3 s, HiPO 0.5 s; at 19,965 simplex 1.1 s, HiPO 1.0 s; at 36,405 simplex
#: 3.5 s, HiPO 2.4 s; at 119,174 simplex 54 s, HiPO 9 s.
IPM_FROM_COLUMNS = 20_000

#: The algorithms, by the names the user gives: HiGHS's option value and what it is.
ALGORITHMS = {
    "simplex": "dual simplex",
    "hipo": "HiPO interior point with crossover (needs highspy-extras)",
    "ipx": "IPX interior point with crossover",
    "pdlp": "PDLP first-order method (no basis: no ranging or one-sided prices)",
}


#: HiPO's fill-reducing ordering of its Newton systems. Measured on this 2-core machine (HiGHS
#: 1.15.1, HiPO with crossover, the same iterations and optimum either way), AMD against
#: HiGHS's own choice (METIS): 88,429 variables 4.25 s against 5.1 s; 280,022 23.6 s against
#: 25.1 s; 1,197,021 173.7 s against 184.9 s; a 364,291-variable extensive form of ten futures
#: 39.6 s against 41.4 s (its analysis 0.9 s against 4.6 s). METIS's nested dissection may
#: pay on machines with many cores (HiPO's tree parallelism); "choose" restores HiGHS's own.
HIPO_ORDERING = "amd"

#: Under ``--solver auto``, dual simplex (chosen below ``IPM_FROM_COLUMNS`` variables, where it
#: takes about a second: 1.1 s at 19,965) that has not finished after this many seconds is taken
#: for numerical trouble (an infeasible edit of the example was seen to cycle over 10 minutes
#: with "Increasing Markowitz threshold" and an objective of 5.2e21) and the plan is solved again
#: from scratch by IPX.
SIMPLEX_PATIENCE = 20.0

#: The infeasibility diagnosis's own re-solves (the smallest relaxation's two, the IIS): each at
#: most ``DIAGNOSIS_SOLVE_SECONDS``, all of them together at most ``DIAGNOSIS_SECONDS``.
DIAGNOSIS_SECONDS = 60.0
DIAGNOSIS_SOLVE_SECONDS = 30.0


class Stop:
    """A request to stop the run, made by a signal handler (SIGTERM, Ctrl+C) and polled by every
    HiGHS run through its interrupt callbacks, so a long solve ends at its next iteration.
    ``solving``: how many HiGHS runs are polling it now (a handler that finds none stops the
    run at once instead); ``why``: what asked (e.g. 'SIGTERM')."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.solving = 0
        self.why = ""

    def request(self, why: str) -> None:
        self.why = self.why or why
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def __reduce__(self):
        # A solve's options travel to worker processes: a fresh request there, not this one.
        return (Stop, ())


@dataclass(frozen=True)
class SolveOptions:
    """Solver settings. ``solver``: auto | simplex | hipo | ipx | pdlp (``ALGORITHMS``);
    ``time_limit`` in seconds; ``simplex_patience``: seconds dual simplex chosen by ``auto``
    may run before it is taken for numerical trouble and IPX takes over (inf: never);
    ``diagnosis_seconds``: the infeasibility diagnosis's re-solves together; ``stop``: polled by
    every HiGHS run (the CLI's signal handlers set it)."""

    solver: str = "auto"
    time_limit: float = math.inf
    threads: int = 0
    presolve: str = "on"
    random_seed: int = 0
    log: bool = False
    ranging: bool = True
    one_sided_max: int = 500  # most warm re-solves spent on one-sided shadow prices
    backend: str = "matrix"  # or "pyomo": the same LP built and compiled through Pyomo
    simplex_patience: float = SIMPLEX_PATIENCE
    diagnosis_seconds: float = DIAGNOSIS_SECONDS
    stop: Stop | None = field(default=None, compare=False)

    @classmethod
    def from_settings(cls, settings: dict[str, str], **override) -> SolveOptions:
        base = cls(
            solver=settings.get("solver", "auto").lower(),
            time_limit=float(settings.get("time_limit", math.inf)),
            threads=int(float(settings.get("threads", 0))),
            presolve=settings.get("presolve", "on").lower(),
            random_seed=int(float(settings.get("random_seed", 0))),
            log=settings.get("output_flag", "false").lower() in ("true", "yes", "1", "on"),
        )
        return base.replace(**{k: v for k, v in override.items() if v is not None})

    def replace(self, **kw) -> SolveOptions:
        return replace(self, **kw)


#: The options a solve ran with: HiGHS's, by its names (text, numbers and flags, as HiGHS
#: takes them), and aop's own entries (``AOP_OPTIONS``: the algorithm, the scales ...).
Options = dict[str, str | float]


def _scales(options: Options) -> tuple[float, float]:
    """The money and quantity scales a model was loaded with (``numeric_check``)."""
    return float(options["cost_scale"]), float(options["quantity_scale"])


@dataclass
class Solution:
    """What HiGHS returned. Arrays are indexed like the LP's columns and rows."""

    status: str
    objective: float
    col_value: np.ndarray
    row_value: np.ndarray
    row_dual: np.ndarray
    col_dual: np.ndarray
    row_bound_lower: np.ndarray  # lowest limit for which the shadow price holds (NaN: not ranged)
    row_bound_upper: np.ndarray  # highest limit for which it holds
    row_price_up: np.ndarray  # d(objective)/d(limit) for a rise (NaN: not computed)
    row_price_down: np.ndarray  # d(objective)/d(limit) for a fall
    algorithm: str
    seconds: float
    solver: str
    options: Options = field(default_factory=dict)
    iterations: dict[str, int] = field(default_factory=dict)
    one_sided: dict[str, float] = field(default_factory=dict)  # re-solves done, left out, seconds
    rechecked: str = ""  # a warm re-solve that failed the check, solved again cold: what failed


#: Above this, money or quantities are rescaled by a power of ten before HiGHS sees them.
RESCALE_ABOVE = 1e9
#: A coefficient range (largest / smallest nonzero) beyond this earns a warning.
WIDE_RANGE = 1e9


#: HiGHS drops matrix coefficients at or below this (its small_matrix_value).
HIGHS_SMALL_COEFFICIENT = 1e-9


def _family_of_largest(lp: LP) -> str:
    """The constraint family of the row holding the largest finite limit, for a warning."""
    limit = np.where(np.isfinite(lp.row_upper), lp.row_upper, lp.row_lower)
    limit = np.where(np.isfinite(limit), np.abs(limit), 0.0)
    return str(lp.row_family[int(np.argmax(limit))]) if len(limit) else ""


def numeric_check(lp: LP) -> tuple[float, float, list[str]]:
    """Money and quantity scale factors for HiGHS (powers of ten, 1 when not needed) and
    warnings about number ranges HiGHS handles poorly. Inputs are finite and at most
    validate.MAX_NUMBER in size (validation).

    The scales follow the typical (median) nonzero cost and limit, not the largest: one limit
    typed as a huge number for "no limit" must not push every other number below HiGHS's
    tolerances, as rescaling by it would."""
    warnings = []
    a = np.abs(lp.A.data[lp.A.data != 0]) if lp.A.nnz else np.ones(1)
    if a.max() / a.min() > WIDE_RANGE:
        warnings.append(f"matrix coefficients range from {a.min():.3g} to {a.max():.3g}: check units (e.g. hours_per_unit in hours, BOM quantities per unit)")
    if a.min() <= HIGHS_SMALL_COEFFICIENT:
        warnings.append(f"coefficients as small as {a.min():.3g} (e.g. hours_per_unit) count as 0 in HiGHS")
    c = np.abs(lp.c[lp.c != 0])
    b = np.abs(np.concatenate([lp.row_lower[np.isfinite(lp.row_lower)], lp.row_upper[np.isfinite(lp.row_upper)]]))
    b = b[b != 0]
    cost_scale = qty_scale = 1.0
    if len(c) and np.median(c) > RESCALE_ABOVE:
        cost_scale = 10.0 ** -math.ceil(math.log10(np.median(c) / 1e3))
        warnings.append(f"costs up to {c.max():.3g}: money passed to HiGHS in units of {1 / cost_scale:g}")
    if len(b) and np.median(b) > RESCALE_ABOVE:
        qty_scale = 10.0 ** math.ceil(math.log10(np.median(b) / 1e3))
        warnings.append(f"limits up to {b.max():.3g}: quantities passed to HiGHS in units of {qty_scale:g}")
    elif len(b) and b.max() > RESCALE_ABOVE:
        warnings.append(f"a {_family_of_largest(lp)} limit of {b.max():.3g}: if it means no limit, leave the cell blank")
    if len(c) and c.max() / c.min() > WIDE_RANGE:
        warnings.append(f"costs range from {c.min():.3g} to {c.max():.3g}: the smallest may be lost in the solver's tolerances")
    return cost_scale, qty_scale, warnings


@functools.cache
def hipo_available() -> tuple[bool, str]:
    """Whether HiGHS's HiPO interior point runs here, and why not. HiPO needs the companion
    package highspy-extras of exactly highspy's version; without it HiGHS quietly runs another
    algorithm. So a tiny LP is solved with HiPO and no presolve: HiPO ran if it took interior
    point iterations. A fact about the installation, probed once per process."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        extras, core = version("highspy-extras"), version("highspy")
    except PackageNotFoundError:
        return False, "highspy-extras is not installed (pip install 'highspy[extras]')"
    if extras != core:
        return False, f"highspy-extras {extras} does not match highspy {core}"
    h = _new_highs()
    for k, v in (("output_flag", False), ("presolve", "off"), ("solver", "hipo"), ("run_crossover", "off")):
        h.setOptionValue(k, v)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = 2, 1
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = np.array([1.0, 2.0]), np.zeros(2), np.array([10.0, 10.0])
    lp.row_lower_, lp.row_upper_ = np.array([1.0]), np.array([highspy.kHighsInf])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = np.array([0, 1, 2], dtype=np.int32), np.array([0, 0], dtype=np.int32), np.array([1.0, 1.0])
    h.passModel(lp)
    h.run()
    if h.getInfo().ipm_iteration_count > 0:
        return True, f"highspy-extras {extras}"
    return False, f"HiGHS {core} did not run HiPO with highspy-extras {extras} (its BLAS, METIS, AMD or RCM are unavailable)"


def choose_algorithm(lp: LP, requested: str) -> tuple[str, str]:
    """The algorithm to run and, where it is not the one asked for, why: ``auto`` is dual
    simplex below ``IPM_FROM_COLUMNS`` variables and HiPO above (IPX where HiPO cannot run);
    ``hipo`` falls back to IPX where it cannot run."""
    if requested == "auto":
        requested = "hipo" if lp.num_col >= IPM_FROM_COLUMNS else "simplex"
    if requested == "hipo":
        ok, why = hipo_available()
        if not ok:
            return "ipx", f"HiPO is not available ({why}): running IPX"
    return requested, ""


def _new_highs() -> highspy.Highs:
    """A HiGHS instance without the copyright banner HiGHS prints on stdout at creation
    (it would interleave with the command's own output)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


#: Why ``_run_highs`` interrupted HiGHS: a stop was requested, the run's own budget of seconds
#: was spent, or dual simplex ran past its patience.
STOPPED, OUT_OF_TIME, TROUBLE = "stop", "budget", "trouble"


def _run_highs(h: highspy.Highs, stop: Stop | None, seconds: float = math.inf, patience: float = math.inf, action: Callable[[], object] | None = None) -> str:
    """Run HiGHS (``action``, default ``h.run``) so that it can be stopped: its simplex and
    interior-point interrupt callbacks poll ``stop``, the seconds spent (``seconds``, all of
    the run) and, for simplex, ``patience``. Returns why it was interrupted (``STOPPED``,
    ``OUT_OF_TIME``, ``TROUBLE``), or '' when HiGHS ended by itself.

    The budget is kept here, not by HiGHS's time_limit: HiGHS's IIS search does not heed it."""
    act = action or h.run
    if stop is None and not math.isfinite(seconds) and not math.isfinite(patience):
        act()
        return ""
    start = time.perf_counter()
    why = [""]
    simplex = highspy.cb.HighsCallbackType.kCallbackSimplexInterrupt

    def poll(e) -> None:
        if not why[0]:
            spent = time.perf_counter() - start
            if stop is not None and stop.requested:
                why[0] = STOPPED
            elif spent > seconds:
                why[0] = OUT_OF_TIME
            elif spent > patience and e.callback_type == simplex:
                why[0] = TROUBLE
        # Written every time: HiGHS keeps the flag of an earlier run's interrupt otherwise.
        e.interrupt(bool(why[0]))

    h.cbSimplexInterrupt.subscribe(poll)
    h.cbIpmInterrupt.subscribe(poll)
    if stop is not None:
        stop.solving += 1
    try:
        act()
    finally:
        if stop is not None:
            stop.solving -= 1
        h.cbSimplexInterrupt.unsubscribe(poll)
        h.cbIpmInterrupt.unsubscribe(poll)
    if stop is not None and stop.requested:
        # Asked while HiGHS was in a stretch that does not poll (presolve, crossover), which then
        # ended by itself: the run stops all the same.
        why[0] = STOPPED
    return why[0]


def _stopped(stop: Stop | None) -> KeyboardInterrupt:
    """The interrupt a requested stop ends the run with (the CLI removes its temporary files)."""
    return KeyboardInterrupt(stop.why if stop is not None and stop.why else "stopped")


def _load(lp: LP, opts: SolveOptions) -> tuple[highspy.Highs, Options]:
    """A HiGHS instance loaded with the LP (money and quantities scaled, ``numeric_check``) and
    the options; the options are returned for the record, with aop's own entries (algorithm,
    scales, fallback)."""
    h = _new_highs()
    algorithm, fallback = choose_algorithm(lp, opts.solver)
    options: Options = {
        "solver": algorithm,
        "presolve": opts.presolve,
        "random_seed": opts.random_seed,
        "output_flag": bool(opts.log),
        "log_to_console": bool(opts.log),
    }
    if algorithm in ("hipo", "ipx"):
        options["run_crossover"] = "on"  # crossover ends on a basis: exact duals and ranging
    if algorithm == "hipo":
        options["hipo_ordering"] = HIPO_ORDERING
    if math.isfinite(opts.time_limit):
        options["time_limit"] = float(opts.time_limit)
    options["threads"] = int(opts.threads)  # 0: HiGHS decides
    if opts.threads:
        # HiGHS fixes its process-wide task scheduler at the first run; a different thread
        # count later fails ("global scheduler has already been initialized") unless reset.
        h.resetGlobalScheduler(True)
    for k, v in options.items():
        if not (k == "threads" and v == 0):
            h.setOptionValue(k, v)
    cost_scale, qty_scale, _ = numeric_check(lp)
    A = lp.A.tocsc()
    A.sort_indices()
    model = highspy.HighsLp()
    model.num_col_ = lp.num_col
    model.num_row_ = lp.num_row
    model.col_cost_ = np.ascontiguousarray(lp.c * cost_scale, dtype=np.float64)
    model.col_lower_ = np.ascontiguousarray(lp.col_lower, dtype=np.float64)
    model.col_upper_ = _inf(lp.col_upper)
    model.row_lower_ = _inf(lp.row_lower / qty_scale)
    model.row_upper_ = _inf(lp.row_upper / qty_scale)
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = A.indptr.astype(np.int32)
    model.a_matrix_.index_ = A.indices.astype(np.int32)
    model.a_matrix_.value_ = A.data.astype(np.float64)
    # kWarning: HiGHS accepted the model but dropped coefficients at or below 1e-9 (warned above).
    if h.passModel(model) == highspy.HighsStatus.kError:
        raise SolveError("error", "HiGHS rejected the model")
    options["algorithm"] = algorithm
    if algorithm == "hipo":
        options["interior_point"] = f"HiPO with crossover ({hipo_available()[1]})"
    elif algorithm == "ipx":
        options["interior_point"] = f"IPX with crossover ({fallback or 'asked for'})"
    if fallback:
        options["fallback"] = fallback
    options["cost_scale"] = cost_scale
    options["quantity_scale"] = qty_scale
    return h, options


def _inf(x: np.ndarray) -> np.ndarray:
    """Infinite bounds as HiGHS's own infinity, as float64."""
    x = np.asarray(x, dtype=np.float64)
    return np.clip(x, -highspy.kHighsInf, highspy.kHighsInf)


def solve(built: Built, opts: SolveOptions | None = None, basis: tuple[np.ndarray, np.ndarray] | None = None) -> Solved:
    """Solve the built plan and return the solved model (``Solved``: the plan's solution, and
    HiGHS holding the LP and its optimal basis for changes and warm re-solves). Raises
    ``SolveError`` unless HiGHS proves optimality; for an infeasible, unbounded or timed-out
    plan the error carries the handle, which ``diagnose.diagnose`` explains.

    ``basis``: a basis of this same LP (``Solved.basis()`` of a model solved elsewhere, e.g. in
    another process) to start from with dual simplex instead of solving cold; an optimal one
    re-solves in no iterations. A basis that does not fit the LP is ignored (solved cold)."""
    opts = opts or SolveOptions()
    _refuse_empty_rows(built)
    if opts.backend == "pyomo":
        from .pyomo_backend import compile_pyomo  # Pyomo only where its back end is asked for

        lp = compile_pyomo(built)
    else:
        lp = built.lp
    h, options = _load(lp, opts)
    solved = Solved(built=replace(built, lp=_own_copy(lp)), highs=h, options=options, opts=opts)
    if basis is not None and solved.set_basis(*basis):
        solved.solution = solved._run(warm=True)
        solved.history.append(f"started from a given basis: solved warm in {solved.solution.seconds:.2f} s ({solved.solution.iterations['simplex']} simplex iterations)")
        return solved
    solved.solution = solved._run(warm=False)
    solved.history.append(f"solved cold by {solved.solution.solver} ({solved.solution.algorithm}) in {solved.solution.seconds:.2f} s")
    return solved


def _refuse_empty_rows(built: Built) -> None:
    empty = built.empty_rows
    if empty:
        fam, key, lim = empty[0]
        more = f" (and {len(empty) - 1} more)" if len(empty) > 1 else ""
        raise SolveError("infeasible", f"{fam} {key} requires {lim:g} but nothing in the network can contribute to it{more}")


def _own_copy(lp: LP) -> LP:
    """The LP with its own limit, cost and coefficient arrays, so edits never reach the LP it
    was built as."""
    return replace(lp, c=lp.c.copy(), A=lp.A.copy(), row_lower=lp.row_lower.copy(), row_upper=lp.row_upper.copy(), _lookup={})


#: The step a one-sided price is measured over, in HiGHS's (scaled) units: 100 times its primal
#: feasibility tolerance, so the re-solve must move, and small enough not to step past the next
#: turning point of any real plan (a step relative to a limit of 1e6 units would be 10 units).
ONE_SIDED_STEP = 1e-5


@dataclass
class Trial:
    """One what-if of ``Solved.variant``: the model that holds it (``model``: the solved model
    itself, changed in place, or a plan rebuilt and solved cold), its ``solution`` (None when
    no optimal plan was found: ``status`` says why, 'infeasible', 'time_limit' ...), how the
    case edit reached the LP (``change``: a ``diff.ModelDiff`` or ``diff.RebuildReason``; None
    for edits of limits and costs by number) and the seconds it took, HiGHS's part apart."""

    model: Solved
    solution: Solution | None
    status: str
    change: ModelDiff | RebuildReason | None = None
    seconds: float = 0.0
    error: SolveError | None = None
    lower: float = -math.inf  # a re-solve stopped early: the lower bound of the cost it proved

    @property
    def built(self) -> Built:
        return self.model.built

    @property
    def rebuilt(self) -> bool:
        return isinstance(self.change, RebuildReason)


@dataclass
class Solved:
    """A solved plan that can be changed and re-solved; the one object that talks to HiGHS.

    ``built``: the plan as built (its ``lp`` carries every edit, so results read what was
    solved); ``highs``: HiGHS holding that LP, scaled by ``options['cost_scale']`` and
    ``options['quantity_scale']``, with its last basis; ``solution``: the last optimal
    solution; ``history``: what happened, in words (cold solve, in-place edits, rebuilds).

    Numbers change in place by business key (``set_limits``, ``set_costs``) or by row and
    column number (``set_limits_at``, ``set_costs_at``, ``set_coefficients_at``), and
    ``resolve`` re-solves warm with dual simplex from the last basis. ``variant`` is the one
    path every what-if takes: an edited case, limits or costs, re-solved and undone
    afterwards. ``update`` moves the model to another case for good."""

    built: Built
    highs: highspy.Highs
    options: Options
    opts: SolveOptions
    solution: Solution | None = None
    history: list[str] = field(default_factory=list)

    @property
    def lp(self) -> LP:
        return self.built.lp

    @property
    def optimum(self) -> Solution:
        """The last optimal solution. ``solve`` hands a model out solved, or raises; only the
        model of a what-if that found no plan (``Trial.model``) has none."""
        if self.solution is None:
            raise SolveError("not_solved", "this model holds no optimal solution")
        return self.solution

    @property
    def warnings(self) -> list[str]:
        """What HiGHS may handle poorly in this LP's numbers (``numeric_check``), in words."""
        return numeric_check(self.lp)[2]

    # ------------------------------------------------------------------ changes in place

    def _push(self, rows: np.ndarray | None = None, cols: np.ndarray | None = None, coefficients: np.ndarray | None = None) -> None:
        """Hand the LP's (edited) bounds of ``rows``, costs of ``cols`` and coefficients at
        ``coefficients`` (positions in the column-wise ``A.data``) to HiGHS, in its units:
        money times the cost scale, limits over the quantity scale, coefficients as they are."""
        lp, h = self.lp, self.highs
        cs, qs = _scales(self.options)
        if rows is not None and len(rows):
            # highspy 1.15's stubs leave out _Highs.changeRowsBounds, which the binding has
            h.changeRowsBounds(len(rows), rows.astype(np.int32), _inf(lp.row_lower[rows] / qs), _inf(lp.row_upper[rows] / qs))  # type: ignore[attr-defined]
        if cols is not None and len(cols):
            h.changeColsCost(len(cols), cols.astype(np.int32), (lp.c[cols] * cs).astype(np.float64))
        if coefficients is not None and len(coefficients):
            col_of = np.searchsorted(lp.A.indptr, coefficients, side="right") - 1
            for k, j in zip(coefficients.tolist(), col_of.tolist()):
                h.changeCoeff(int(lp.A.indices[k]), int(j), float(lp.A.data[k]))

    def set_limits_at(self, rows: np.ndarray, values) -> None:
        """Set the limits of LP rows by number, in each row's unit (on the side its sense bounds)."""
        rows = np.asarray(rows, dtype=np.int64)
        lower, upper = bounds(self.lp.row_sense[rows], np.broadcast_to(np.asarray(values, dtype=float), rows.shape))
        self.lp.row_lower[rows], self.lp.row_upper[rows] = lower, upper
        self._push(rows=rows)

    def set_limits(self, family: str, keys, values) -> None:
        """Set the limits of a family's rows, named by their keys (a frame of the index
        columns, a list of key tuples or one tuple), in the family's unit."""
        rows = self._rows(family, keys)
        self.set_limits_at(rows, values)
        self.history.append(f"set {len(rows)} {family} limit{'s' if len(rows) != 1 else ''} in place")

    def set_row_bounds_at(self, rows: np.ndarray, lower, upper) -> None:
        """Set both bounds of LP rows by number, in each row's unit: a row fixed (lower =
        upper), freed (-inf, inf) or given a range; for the rows of a model that are not
        business limits (the stochastic plan's commitments and reservations)."""
        rows = np.asarray(rows, dtype=np.int64)
        self.lp.row_lower[rows] = np.broadcast_to(np.asarray(lower, dtype=float), rows.shape)
        self.lp.row_upper[rows] = np.broadcast_to(np.asarray(upper, dtype=float), rows.shape)
        self._push(rows=rows)

    def set_costs_at(self, cols: np.ndarray, values) -> None:
        """Set the costs of LP columns by number (money per unit of the variable)."""
        cols = np.asarray(cols, dtype=np.int64)
        self.lp.c[cols] = np.broadcast_to(np.asarray(values, dtype=float), cols.shape)
        self._push(cols=cols)

    def _cols(self, variable: str, keys: pd.DataFrame) -> np.ndarray:
        """LP columns of a variable family's variables, named by a frame of its index columns."""
        table = self.built.variables[variable]
        index = list(VARIABLES[variable])
        found = keys[index].merge(table[index + ["col"]], how="left", on=index)
        if found["col"].isna().any():
            raise KeyError(f"no {variable} variable for {found.loc[found['col'].isna(), index].head(3).to_dict('records')}")
        return found["col"].to_numpy(dtype=np.int64)

    def set_costs(self, variable: str, keys: pd.DataFrame, values) -> None:
        """Set the cost (money per unit) of a variable family's columns, named by a frame of
        its index columns (build.VARIABLES)."""
        cols = self._cols(variable, keys)
        self.set_costs_at(cols, values)
        self.history.append(f"set {len(cols)} {variable} cost{'s' if len(cols) != 1 else ''} in place")

    def set_coefficients(self, family: str, rows, variable: str, columns: pd.DataFrame, values) -> None:
        """Set coefficients by business key: in the rows of ``family`` named by ``rows`` (a frame
        of its index columns, key tuples or one tuple), of the ``variable`` columns named by
        ``columns`` (a frame of its index columns), pair by pair; e.g. the hours one unit takes
        on a line, in a capacity row. Each must be a nonzero the LP has."""
        self.set_coefficients_at(self._rows(family, rows), self._cols(variable, columns), values)
        self.history.append(f"set {len(columns)} {variable} coefficient{'s' if len(columns) != 1 else ''} in {family} rows in place")

    def set_coefficients_at(self, rows: np.ndarray, cols: np.ndarray, values) -> None:
        """Set coefficients of the LP's matrix by row and column number; each must be a nonzero
        the LP has (a new nonzero changes the structure: rebuild instead)."""
        A = self.lp.A
        rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        at = np.empty(len(rows), dtype=np.int64)
        for i, (r, j) in enumerate(zip(rows.tolist(), cols.tolist())):
            lo, hi = A.indptr[j], A.indptr[j + 1]
            k = lo + int(np.searchsorted(A.indices[lo:hi], r))
            if k >= hi or A.indices[k] != r:
                raise KeyError(f"the LP has no coefficient in row {r}, column {j} (a new nonzero needs a rebuild)")
            at[i] = k
        A.data[at] = np.broadcast_to(np.asarray(values, dtype=float), at.shape)
        self._push(coefficients=at)

    def _rows(self, family: str, keys) -> np.ndarray:
        rows = self.lp.row_index(family, keys)
        if (rows < 0).any():
            raise KeyError(f"{family} has no row for {int((rows < 0).sum())} of the keys given (a limit that constrains nothing is not in the LP)")
        return rows

    def basis(self) -> tuple[np.ndarray, np.ndarray]:
        """The last basis as plain arrays (column and row status, HiGHS's ``HighsBasisStatus``
        numbers), which travel between processes where HiGHS's own object cannot."""
        b = self.highs.getBasis()
        return (
            np.fromiter((s.value for s in b.col_status), dtype=np.int8, count=len(b.col_status)),
            np.fromiter((s.value for s in b.row_status), dtype=np.int8, count=len(b.row_status)),
        )

    def set_basis(self, col_status: np.ndarray, row_status: np.ndarray) -> bool:
        """Start the next solve from this basis (arrays as ``basis()`` gives them). False, and
        nothing changed, when it does not fit the LP (another size, or HiGHS refuses it)."""
        col_status, row_status = np.asarray(col_status), np.asarray(row_status)
        status = sorted(highspy.HighsBasisStatus.__members__.values(), key=lambda s: s.value)
        if len(col_status) != self.lp.num_col or len(row_status) != self.lp.num_row or any(
            len(a) and (a.min() < 0 or a.max() >= len(status)) for a in (col_status, row_status)
        ):
            return False
        b = highspy.HighsBasis()
        b.col_status = [status[v] for v in col_status.tolist()]
        b.row_status = [status[v] for v in row_status.tolist()]
        b.valid = True
        return self.highs.setBasis(b) == highspy.HighsStatus.kOk

    # ------------------------------------------------------------------ moving to another case

    def _move(self, new: Built, change: ModelDiff | RebuildReason | None = None) -> ModelDiff | RebuildReason:
        """Move the model to plan ``new`` (not solved): its numbers written in place when only
        numbers differ (the ``ModelDiff``); a ``RebuildReason`` (nothing changed) when not."""
        change = diff(self.built, new) if change is None else change
        if isinstance(change, ModelDiff):
            lp = new.lp
            self.built = replace(new, lp=replace(self.lp, c=lp.c.copy(), row_lower=lp.row_lower.copy(), row_upper=lp.row_upper.copy(), A=lp.A.copy(), _lookup=self.lp._lookup))
            self._push(change.rows, change.cols, change.coefficients)
        return change

    def update(self, case: Case, new: Built | None = None) -> ModelDiff | RebuildReason:
        """Move the solved plan to ``case`` for good and re-solve: in place and warm when the
        new case builds the same LP structure (only limits, costs or coefficients differ:
        a ``ModelDiff``), else rebuilt and solved cold (a ``RebuildReason``). Returns which,
        and says it in ``history``. ``new``: ``case`` already built."""
        new = new if new is not None else edit(self.built, case)
        _refuse_empty_rows(new)
        change = self._move(new)
        if isinstance(change, RebuildReason):
            fresh = solve(new, self.opts)
            self.built, self.highs, self.options, self.solution = fresh.built, fresh.highs, fresh.options, fresh.solution
            self.history.append(f"{change.summary()}, solved cold")
            return change
        self.solution = self._run(warm=True)
        self.history.append(f"{change.summary()}; re-solved warm")
        return change

    # ------------------------------------------------------------------ what-ifs

    @contextmanager
    def trial(self) -> Iterator[Solved]:
        """Changes inside the block (limits, costs, coefficients, a case moved to in place) and
        what was re-solved are undone on leaving it: HiGHS's numbers and basis, the LP's arrays,
        the plan as built, the solution. Yields the model itself."""
        basis, solution, said, built = self.highs.getBasis(), self.solution, len(self.history), self.built
        lo, hi, c, data = self.lp.row_lower.copy(), self.lp.row_upper.copy(), self.lp.c.copy(), self.lp.A.data.copy()
        try:
            yield self
        finally:
            lp = self.lp
            rows = np.flatnonzero((lp.row_lower != lo) | (lp.row_upper != hi))
            cols = np.flatnonzero(lp.c != c)
            coefficients = np.flatnonzero(lp.A.data != data)
            self.built = built
            lp = self.lp
            lp.row_lower[:], lp.row_upper[:], lp.c[:], lp.A.data[:] = lo, hi, c, data
            self._push(rows, cols, coefficients)
            self.highs.setBasis(basis)
            self.solution = solution
            del self.history[said:]

    @contextmanager
    def variant(
        self,
        case: Case | None = None,
        *,
        limits: tuple[np.ndarray, np.ndarray] | None = None,
        costs: tuple[np.ndarray, np.ndarray] | None = None,
        time_limit: float = math.inf,
        prices: bool = False,
    ) -> Iterator[Trial]:
        """A what-if, the one way every study and view asks one: the plan moved to an edited
        ``case`` (the numbers an edit changes are written in place: ``build.edit`` rebuilds only
        what the edit reaches), and/or ``limits`` (rows, values) and ``costs`` (columns,
        values) set by number; re-solved warm (dual simplex from the current basis) within
        ``time_limit`` seconds, ranging and one-sided prices only with ``prices``. A case whose
        structure differs is built and solved cold beside the model instead. Yields a ``Trial``;
        on leaving the block the model is the plan it was (numbers, basis, solution)."""
        t0 = time.perf_counter()
        with self.trial():
            model, change = self, None
            try:
                if case is not None:
                    new = edit(self.built, case)
                    _refuse_empty_rows(new)
                    change = diff(self.built, new)
                    if isinstance(change, RebuildReason):
                        model = solve(new, replace(self.opts, ranging=prices, time_limit=min(self.opts.time_limit, time_limit)))
                    elif len(change.coefficients) > new.lp.A.nnz / FORK_SHARE:
                        model = self._fork(new, change)
                    else:
                        self._move(new, change)
                if limits is not None:
                    model.set_limits_at(*limits)
                if costs is not None:
                    model.set_costs_at(*costs)
                if not isinstance(change, RebuildReason) or limits is not None or costs is not None:
                    model.solution = model._run(warm=True, prices=prices, time_limit=time_limit)
            except SolveError as err:
                # Only a model that holds the what-if's own LP proves anything of it (a case
                # rebuilt and stopped in its cold solve raises before it is handed back).
                lower = model._proven_lower() if err.status == "time_limit" and not isinstance(change, RebuildReason) else -math.inf
                yield Trial(model, None, err.status, change, time.perf_counter() - t0, err, lower)
                return
            yield Trial(model, model.solution, "optimal", change, time.perf_counter() - t0)

    def _proven_lower(self) -> float:
        """The lower bound of this LP's optimal cost that HiGHS's current multipliers prove (a
        dual simplex stopped early: its iterates keep dual feasibility up to HiGHS's cost
        perturbation, which ``bounds.lower_bound`` does not trust: it checks the reduced costs
        against the LP's own costs). -inf when HiGHS holds no multipliers."""
        sol = self.highs.getSolution()
        if not sol.dual_valid:
            return -math.inf
        cs, _qs = _scales(self.options)
        return lower_bound(self.lp, np.asarray(sol.row_dual, dtype=float) / cs)

    def _fork(self, new: Built, change: ModelDiff) -> Solved:
        """Plan ``new`` in a HiGHS of its own, started from this model's basis: for an edit that
        moves so many coefficients (a lead time's shares) that passing the whole LP once is
        quicker than changing them one by one and back (HiGHS changes one coefficient a call)."""
        h, options = _load(new.lp, self.opts)
        h.setBasis(self.highs.getBasis())
        return Solved(built=replace(new, lp=_own_copy(new.lp)), highs=h, options=options, opts=self.opts, history=[f"{change.summary()}, in a HiGHS of its own"])

    # ------------------------------------------------------------------ solving

    @contextmanager
    def _warm(self, time_limit: float = math.inf) -> Iterator[None]:
        """HiGHS set for warm re-solves (dual simplex, no presolve, ``time_limit`` seconds from
        now), and back to the model's own options afterwards."""
        h, options = self.highs, self.options
        h.setOptionValue("solver", "simplex")
        h.setOptionValue("presolve", "off")
        # HiGHS 1.x measures time_limit on the clock of every run of this Highs object
        # together (ERGO-Code/HiGHS#1477): a re-solve's limit counts from now.
        h.setOptionValue("time_limit", h.getRunTime() + time_limit if math.isfinite(time_limit) else math.inf)
        try:
            yield
        finally:
            h.setOptionValue("solver", options["solver"])
            h.setOptionValue("presolve", self.opts.presolve)
            h.setOptionValue("time_limit", options.get("time_limit", math.inf))

    def resolve(self, prices: bool = True, time_limit: float = math.inf) -> Solution:
        """Re-solve warm (dual simplex from the last basis, no presolve) after changes in place.
        ``prices=False`` skips ranging and one-sided prices (a what-if that needs only the plan);
        ``time_limit`` (seconds) caps this re-solve below the case's own limit."""
        self.solution = self._run(warm=True, prices=prices, time_limit=time_limit)
        how = "solved again cold" if self.solution.rechecked else "re-solved warm"
        self.history.append(f"{how} in {self.solution.seconds:.2f} s ({self.solution.iterations['simplex']} simplex iterations)")
        return self.solution

    def _run(self, warm: bool, prices: bool = True, time_limit: float = math.inf) -> Solution:
        h, options, opts, lp = self.highs, self.options, self.opts, self.lp
        limit = min(opts.time_limit, time_limit)
        start = time.perf_counter()
        if warm:
            with self._warm(limit):
                why = _run_highs(h, opts.stop)
        else:
            patience = opts.simplex_patience if opts.solver == "auto" and options["algorithm"] == "simplex" else math.inf
            why = _run_highs(h, opts.stop, patience=patience)
            gave_up = h.getModelStatus() in (highspy.HighsModelStatus.kUnknown, highspy.HighsModelStatus.kSolveError, highspy.HighsModelStatus.kNotset)
            if why == TROUBLE or (math.isfinite(patience) and not why and gave_up):
                self._switch_to_ipx(time.perf_counter() - start, why)
                # HiGHS counts time_limit over every run of this object (see _warm): IPX gets what is left.
                why = _run_highs(h, opts.stop)
        if why == STOPPED:
            raise _stopped(opts.stop)
        seconds = time.perf_counter() - start
        status = h.modelStatusToString(h.getModelStatus())
        version = f"HiGHS {h.version()}"
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            word = _status_word(h.getModelStatus())
            report = None
            if word == "time_limit":
                report = f"HiGHS stopped at the time limit of {limit:g} s without proving an optimal plan; raise --time-limit or try another --solver (hipo, ipx or simplex)"
            elif word == "unbounded":
                report = "The plan's cost can fall without limit: a variable with a negative cost is not bounded by any limit (check negative costs)"
            raise SolveError(word, f"HiGHS says: {status}", report, version, options, handle=self)
        sol = h.getSolution()
        info = h.getInfo()
        # Back to the case's units: x and limits times the quantity scale, prices over the money scale.
        cs, qs = _scales(options)
        x = np.asarray(sol.col_value, dtype=float) * qs
        y = np.asarray(sol.row_dual, dtype=float) / cs
        row_value = np.asarray(sol.row_value, dtype=float) * qs
        objective = float(info.objective_function_value) * qs / cs
        try:
            check_solution(lp, x, y, objective)
        except SolveError as err:
            if not warm:
                raise
            # A hot-started dual simplex can end "Optimal" at a slightly wrong point (HiGHS
            # issues 3194, 3294): that answer is not trusted; the plan is solved again from
            # scratch with the model's own algorithm, and the record says so.
            why_warm = err.detail.split(": ", 1)[-1]
            self.history.append(f"a warm re-solve failed the independent check ({why_warm}): solved again cold")
            h.clearSolver()
            cold = self._run(warm=False, prices=prices, time_limit=max(limit - (time.perf_counter() - start), 0.0))
            return replace(cold, seconds=time.perf_counter() - start, rechecked=why_warm)
        nan = np.full(lp.num_row, np.nan)
        lo, hi, up, down, done = nan.copy(), nan.copy(), nan.copy(), nan.copy(), {}
        if prices and opts.ranging and h.getBasis().valid:
            lo, hi, up, down, done = self._price_ranges(row_value, y)
        return Solution(
            status="optimal",
            objective=objective,
            col_value=x,
            row_value=row_value,
            row_dual=y,
            col_dual=np.asarray(sol.col_dual, dtype=float) / cs,
            row_bound_lower=lo,
            row_bound_upper=hi,
            row_price_up=up,
            row_price_down=down,
            algorithm="simplex (warm)" if warm else str(options["algorithm"]),
            seconds=seconds,
            solver=version,
            options=options,
            iterations={"simplex": int(info.simplex_iteration_count), "ipm": int(info.ipm_iteration_count)},
            one_sided=done,
        )

    def _switch_to_ipx(self, seconds: float, why: str) -> None:
        """After dual simplex ran into numerical trouble (past its patience, or ended without a
        status), solve again from scratch by IPX with crossover, and say so in the record
        (``options['fallback']``, shown by the CLI and in the provenance) and the history."""
        h, options = self.highs, self.options
        if why == TROUBLE:
            reason = f"dual simplex had not finished after {seconds:.1f} s (--solver auto gives it {self.opts.simplex_patience:g} s)"
        else:
            reason = f"dual simplex ended without an answer after {seconds:.1f} s ({h.modelStatusToString(h.getModelStatus())})"
        note = f"{reason}: taken for numerical trouble; solved again by IPX interior point with crossover"
        h.clearSolver()
        h.setOptionValue("solver", "ipx")
        h.setOptionValue("run_crossover", "on")
        options.update(solver="ipx", run_crossover="on", algorithm="ipx", interior_point=f"IPX with crossover ({reason})", fallback=note)
        self.history.append(note)

    def _price_ranges(self: Solved, row_value: np.ndarray, y: np.ndarray):
        """Where each binding row's shadow price holds, and its one-sided values.

        Returns (lower, upper, up, down, record): ``lower``/``upper`` the range of the limit over
        which the reported shadow price holds; ``up``/``down`` d(objective)/d(limit) for a rise and
        for a fall of the limit (equal to the shadow price where the range extends on that side;
        NaN where not measured); ``record`` how many re-solves it took, how many were left out.

        A nonbasic row's range is HiGHS's ranging of the optimal basis. A basic row (price 0) keeps
        its price while the limit moves away from the activity. Where the range stops exactly at
        the limit (a degenerate optimum: the plan changes course right there), the price on that
        side is measured by a warm-started dual-simplex re-solve with the limit moved by a small
        step (``ONE_SIDED_STEP``, 100 times HiGHS's feasibility tolerance),
        reading the re-solved row's dual; a side where the re-solve is infeasible gets an infinite
        price. Measured for the business limits (families marked ``lever``: capacities, suppliers,
        lanes, space, service promises), at most ``opts.one_sided_max`` sides; each re-solve costs
        about what HiGHS takes to start a solve, so the rest (demand, stock and flow rows, of which
        a large plan has thousands at a turning point) stay NaN and their sentences say so.
        Limits never fall below 0 (hours, units and capacities are not negative), so ranges are
        clipped there and a limit already at 0 has no price for a fall."""
        t0 = time.perf_counter()
        h, lp, opts, families = self.highs, self.lp, self.opts, self.built.families
        cs, qs = _scales(self.options)
        n = lp.num_row
        limit = np.where(lp.row_sense == 1, lp.row_upper, lp.row_lower)
        lo, hi = np.full(n, np.nan), np.full(n, np.nan)
        _status, rng = h.getRanging()
        if not rng.valid:
            return lo, hi, np.full(n, np.nan), np.full(n, np.nan), {}
        basic = np.array([s == highspy.HighsBasisStatus.kBasic for s in h.getBasis().row_status], dtype=bool)
        r_lo = np.asarray(rng.row_bound_dn.value_, dtype=float) * qs
        r_hi = np.asarray(rng.row_bound_up.value_, dtype=float) * qs
        r_lo = np.where(r_lo <= -highspy.kHighsInf * qs / 2, -np.inf, r_lo)
        r_hi = np.where(r_hi >= highspy.kHighsInf * qs / 2, np.inf, r_hi)
        # A basic row's price (0) holds while the limit stays on the far side of the activity.
        lo = np.where(basic, np.where(lp.row_sense == 1, row_value, -np.inf), r_lo)
        hi = np.where(basic, np.where(lp.row_sense == -1, row_value, np.inf), r_hi)
        lo = np.where(basic & (lp.row_sense == 0), limit, lo)
        hi = np.where(basic & (lp.row_sense == 0), limit, hi)
        lo, hi = np.minimum(lo, limit), np.maximum(hi, limit)
        scale = np.maximum(1.0, np.abs(limit))
        tol = 1e-9 * scale
        slack = np.where(lp.row_sense == 1, limit - row_value, np.where(lp.row_sense == -1, row_value - limit, 0.0))
        binding = (np.abs(y) > 1e-9) | ((lp.row_sense != 0) & (np.abs(slack) <= 1e-7 * scale)) | (lp.row_sense == 0)
        up = np.where(hi > limit + tol, y, np.nan)
        down = np.where(lo < limit - tol, y, np.nan)
        floor = limit <= tol  # a limit at 0 cannot fall
        down[floor] = np.nan
        # Sides to measure: binding rows of the business limits whose range stops at the limit.
        rank = {name: f.review for name, f in families.items()}
        fam_rank = np.array([rank.get(f, len(rank)) for f in lp.row_family]) if n else np.zeros(0)
        lever = np.isin(lp.row_family, [name for name, f in families.items() if f.lever])
        need_up = np.flatnonzero(binding & lever & np.isnan(up))
        need_down = np.flatnonzero(binding & lever & np.isnan(down) & ~floor)
        todo = [(int(i), +1) for i in need_up] + [(int(i), -1) for i in need_down]
        todo.sort(key=lambda rs: (fam_rank[rs[0]], rs[0]))
        skipped = max(0, len(todo) - opts.one_sided_max)
        todo = todo[: opts.one_sided_max]
        if todo:
            basis = h.getBasis()
            row_lo, row_hi = lp.row_lower.copy(), lp.row_upper.copy()
            with self._warm():
                for i, side in todo:
                    step = ONE_SIDED_STEP * qs
                    if side < 0 and limit[i] - step < 0:
                        step = limit[i] / 2
                    if lp.row_sense[i] != 1:
                        lp.row_lower[i] += side * step
                    if lp.row_sense[i] != -1:
                        lp.row_upper[i] += side * step
                    self._push(rows=np.array([i]))
                    # Warm: from the basis the previous re-solve ended on (still optimal, or nearly,
                    # for the original limits); the re-solved price does not depend on where it starts.
                    if _run_highs(h, opts.stop) == STOPPED:
                        lp.row_lower[i], lp.row_upper[i] = row_lo[i], row_hi[i]
                        self._push(rows=np.array([i]))
                        h.setBasis(basis)
                        raise _stopped(opts.stop)
                    ms = h.getModelStatus()
                    if ms == highspy.HighsModelStatus.kOptimal:
                        price = float(h.getSolution().row_dual[i]) / cs
                    elif ms == highspy.HighsModelStatus.kInfeasible:
                        price = side * np.inf  # no plan past this limit: cost rises without bound
                        h.setBasis(basis)
                    else:
                        price = np.nan
                        h.setBasis(basis)
                    (up if side > 0 else down)[i] = price
                    lp.row_lower[i], lp.row_upper[i] = row_lo[i], row_hi[i]
                    self._push(rows=np.array([i]))
            h.setBasis(basis)
        lo = np.maximum(lo, 0.0)
        return lo, hi, up, down, {"resolves": float(len(todo)), "left_out": float(skipped), "seconds": time.perf_counter() - t0}

    # ------------------------------------------------------------------ infeasible plans

    def conflict(self, seconds: float = math.inf) -> tuple[np.ndarray, bool]:
        """Rows of HiGHS's irreducible infeasible subset (IIS) of the plan it found infeasible
        (empty when HiGHS cannot give one), and whether the search was cut short after
        ``seconds`` (then empty too: HiGHS gives no partial subset)."""
        none = np.zeros(0, dtype=np.int64)
        found: list = []
        h = self.highs
        try:
            h.setOptionValue("iis_strategy", 2)
            # Its LPs by dual simplex: after IPX took over (numerical trouble), the IIS search
            # ran by IPX past its budget (106 s of 30), its interrupt callback never polled.
            h.setOptionValue("solver", "simplex")
            why = _run_highs(h, self.opts.stop, seconds=seconds, action=lambda: found.append(h.getIis()[1]))
        except Exception:
            return none, False
        finally:
            h.setOptionValue("solver", self.options["solver"])
        if why == STOPPED:
            raise _stopped(self.opts.stop)
        if why == OUT_OF_TIME:
            return none, True
        iis = found[0] if found else None
        return (np.asarray(iis.row_index_, dtype=np.int64) if iis is not None and iis.valid_ else none), False

    def export(self, path: str) -> Options:
        """Write the LP as HiGHS holds it (scaled) to ``path`` (MPS or LP by the extension);
        returns HiGHS's options of this model, aop's own entries left out."""
        self.highs.writeModel(str(path))
        return {k: v for k, v in self.options.items() if k not in AOP_OPTIONS}


#: An edit that changes more than one in this many of the matrix's coefficients is solved in a
#: HiGHS of its own (``Solved._fork``): HiGHS changes a coefficient a call (about 3 us each,
#: measured at 300k variables), and a whole LP passes in about 0.3 us a nonzero.
FORK_SHARE = 20

#: Entries of a solve's option record that are aop's, not HiGHS's.
AOP_OPTIONS = frozenset({"algorithm", "cost_scale", "quantity_scale", "interior_point", "fallback"})


def least_relaxation(lp: LP, movable: np.ndarray, weights: np.ndarray, opts: SolveOptions, seconds: float = math.inf) -> tuple[np.ndarray | None, bool]:
    """The least total movement of the ``movable`` rows that makes ``lp`` feasible (units or
    hours past each row's limit, in the direction its sense allows: a '<=' row exceeded, a
    '>=' row short), placed by ``weights`` (the total held, the weighted movement least), or
    None when moving those rows cannot make it feasible; and whether its two solves were cut
    short after ``seconds`` together (then None too).

    Elastic LP: one slack per movable row, minimise their sum (a unique total); then, from
    that basis, the total held to a relative 1e-7 and the weighted sum minimised, since which
    rows absorb the total often is not unique."""
    from scipy.sparse import csc_array, hstack

    k = len(movable)
    if not k:
        return None, False
    deadline = time.perf_counter() + seconds
    slack = csc_array((-lp.row_sense[movable].astype(float), (movable, np.arange(k))), shape=(lp.num_row, k))
    elastic = LP(
        c=np.concatenate([np.zeros(lp.num_col), np.ones(k)]),
        A=hstack([lp.A, slack], format="csc"),
        row_lower=lp.row_lower, row_upper=lp.row_upper,
        col_lower=np.zeros(lp.num_col + k), col_upper=np.full(lp.num_col + k, np.inf),
        row_sense=lp.row_sense, blocks=lp.blocks, offsets=lp.offsets,
    )
    h, options = _load(elastic, replace(opts, log=False))

    def run() -> bool:
        """Solved within what is left of ``seconds``? (A requested stop ends the run.)"""
        why = _run_highs(h, opts.stop, seconds=max(0.0, deadline - time.perf_counter()))
        if why == STOPPED:
            raise _stopped(opts.stop)
        return why != OUT_OF_TIME

    if not run():
        return None, True
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None, False
    total = h.getInfo().objective_function_value  # in HiGHS's (scaled) units
    slacks = np.arange(lp.num_col, lp.num_col + k, dtype=np.int32)
    h.addRow(-highspy.kHighsInf, total * (1 + 1e-7) + 1e-9, k, slacks, np.ones(k))
    h.changeColsCost(k, slacks, np.asarray(weights, dtype=np.float64))
    # Warm, from the first solve's basis. (HiPO, asked to re-solve the modified model, was
    # seen to hang in highspy 1.15.1.)
    h.setOptionValue("solver", "simplex")
    h.setOptionValue("presolve", "off")
    if not run():
        return None, True
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None, False
    return np.asarray(h.getSolution().col_value, dtype=float)[lp.num_col :] * _scales(options)[1], False


#: The independent check's tolerance: relative to the numbers in a row (at least one unit).
#: HiGHS's own tolerances (1e-7) apply to its internally scaled LP; a warm re-solve was seen
#: to leave 2.4e-6 units on a balance row whose terms are near zero.
CHECK_TOL = 1e-5


def check_solution(lp: LP, x: np.ndarray, y: np.ndarray, objective: float, tol: float = CHECK_TOL) -> None:
    """Check HiGHS's answer independently: x >= 0, every row within its bounds, the prices dual
    feasible (reduced costs at least 0, each row's price of the sign its sense allows) and the
    primal and dual objectives equal, all within ``tol`` relative to the numbers involved. A violation
    is a numerical failure and stops the run rather than report a wrong plan."""
    problems = []
    if len(x) and x.min() < -tol:
        problems.append(f"a variable is negative ({x.min():.3g})")
    ax = lp.A @ x
    # Relative to the larger of the limit and the terms in the row (a balance row's limit is 0).
    terms = abs(lp.A) @ np.abs(x)
    scale = np.maximum.reduce([np.ones_like(ax), np.abs(np.where(np.isfinite(lp.row_lower), lp.row_lower, np.where(np.isfinite(lp.row_upper), lp.row_upper, 0.0))), terms])
    worst_low = np.max(np.where(np.isfinite(lp.row_lower), (lp.row_lower - ax) / scale, 0.0), initial=0.0)
    worst_high = np.max(np.where(np.isfinite(lp.row_upper), (ax - lp.row_upper) / scale, 0.0), initial=0.0)
    if max(worst_low, worst_high) > tol:
        problems.append(f"a constraint is violated by {max(worst_low, worst_high):.3g} (relative)")
    # Dual feasibility (x >= 0, minimising): every reduced cost c - A'y at least 0, a '<=' row's
    # price at most 0 and a '>=' row's at least 0 (a price is the cost of one more unit of the
    # limit). With equal objectives below, x and y are then both optimal: a certificate.
    reduced = lp.c - lp.A.T @ y
    dual_scale = np.maximum(1.0, np.abs(lp.c) + abs(lp.A).T @ np.abs(y))
    worst_reduced = np.max(-reduced / dual_scale, initial=0.0)
    if worst_reduced > tol:
        problems.append(f"a reduced cost is negative by {worst_reduced:.3g} (relative): the plan is not optimal")
    price_scale = max(1.0, float(np.max(np.abs(y), initial=0.0)))
    wrong_sign = np.max(np.where(lp.row_sense == 1, y, np.where(lp.row_sense == -1, -y, 0.0)), initial=0.0) / price_scale
    if wrong_sign > tol:
        problems.append(f"a shadow price has the wrong sign by {wrong_sign:.3g} (relative)")
    primal = dot(lp.c, x)
    limit = np.where(lp.row_sense == 1, lp.row_upper, lp.row_lower)
    dual = dot(y, np.where(np.isfinite(limit), limit, 0.0))
    if abs(primal - objective) > tol * max(1.0, abs(objective)):
        problems.append(f"the objective {objective:.10g} does not match c.x = {primal:.10g}")
    if abs(primal - dual) > tol * max(1.0, abs(primal)):
        problems.append(f"primal {primal:.10g} and dual {dual:.10g} objectives differ")
    if problems:
        raise SolveError("numerical", "HiGHS's solution fails the independent check: " + "; ".join(problems))


def _status_word(status: highspy.HighsModelStatus) -> str:
    S = highspy.HighsModelStatus
    if status == S.kInfeasible:
        return "infeasible"
    if status in (S.kUnbounded, S.kUnboundedOrInfeasible):
        return "unbounded"
    if status == S.kTimeLimit:
        return "time_limit"
    return "not_solved"
