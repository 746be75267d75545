"""The two-stage plan by decomposition (aop.stochastic_mpi): PH and the L-shaped method bracket
the extensive form's optimum within the gap, in this process and under mpiexec."""

from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from aop.stochastic_mpi import ScenarioLP, check_scenarios, decompose, missing, mpiexec, relative_gap
from scipy.optimize import linprog
from scipy.sparse import block_diag, csc_array, vstack

from tests.conftest import REPO

# find_spec, not an import: the test of lazy imports imports this module
needs_mpisppy = pytest.mark.skipif(importlib.util.find_spec("mpisppy") is None, reason='mpi-sppy is not installed (pip install ".[mpi]")')
needs_mpiexec = pytest.mark.skipif(mpiexec() is None, reason="no mpiexec: the mpich wheel (pip install mpich) puts one in the environment's bin")

GAP = 1e-4


def capacity_and_overtime(demands=(10.0, 20.0), probabilities=(0.5, 0.5)) -> list[ScenarioLP]:
    """A site builds capacity z (2 per unit, first stage) and reserves overtime r (fee 1 per unit,
    at most 5, first stage); once demand d is known it produces p <= z, works overtime o <= r
    (1.5 per unit) and backorders b (10 per unit) so that p + o + b = d. Columns z, r, p, o, b.

    By hand, for demand 10 or 20 with probability 1/2 each: units 0-10 are needed in both
    scenarios, capacity costs 2 a unit and overtime 1 + 1.5 = 2.5, so z >= 10. Units 10-20 are
    needed only in the high scenario: capacity 2, overtime 1 + 0.5 * 1.5 = 1.75, backorder
    0.5 * 10 = 5; overtime is cheapest but capped at 5, so r = 5 and z = 15. The expected cost
    is 2 * 15 + 1 * 5 + 0.5 * 0 + 0.5 * (1.5 * 5) = 30 + 5 + 3.75 = 38.75 (z = 14 costs 41.75,
    z = 16 with r = 4 costs 39)."""
    A = csc_array(np.array([[-1, 0, 1, 0, 0], [0, -1, 0, 1, 0], [0, 0, 1, 1, 1]], dtype=float))
    return [
        ScenarioLP(
            name=f"demand_{d:g}", probability=p, c=np.array([0, 0, 0, 1.5, 10.0]), A=A,
            row_lower=np.array([-np.inf, -np.inf, d]), row_upper=np.array([0.0, 0.0, d]),
            col_lower=np.zeros(5), col_upper=np.array([np.inf, 5, np.inf, np.inf, np.inf]),
            first_stage=np.array([0, 1]), first_stage_cost=np.array([2.0, 1.0]),
        )
        for d, p in zip(demands, probabilities)
    ]


def extensive_form(scenarios: list[ScenarioLP]) -> tuple[float, np.ndarray]:
    """The extensive form solved whole by HiGHS (scipy): every scenario's columns side by side,
    probability-weighted costs, first-stage costs once, first-stage columns equal across scenarios."""
    n = [len(s.c) for s in scenarios]
    offset = np.concatenate([[0], np.cumsum(n)])
    c = np.concatenate([s.probability * s.c for s in scenarios])
    c[scenarios[0].first_stage] += scenarios[0].first_stage_cost
    A = block_diag([s.A for s in scenarios], format="csc")
    links = []
    for i in range(1, len(scenarios)):
        for j0, j in zip(scenarios[0].first_stage, scenarios[i].first_stage):
            row = np.zeros(offset[-1])
            row[offset[0] + j0], row[offset[i] + j] = 1, -1
            links.append(row)
    A_eq = vstack([A, csc_array(np.array(links))]) if links else A
    lower = np.concatenate([s.row_lower for s in scenarios] + [np.zeros(len(links))])
    upper = np.concatenate([s.row_upper for s in scenarios] + [np.zeros(len(links))])
    # linprog takes A_ub x <= b_ub: each finite side of each row
    up, lo = np.isfinite(upper), np.isfinite(lower)
    A_ub = vstack([A_eq[up], -A_eq[lo]])
    b_ub = np.concatenate([upper[up], -lower[lo]])
    bounds = list(zip(np.concatenate([s.col_lower for s in scenarios]), np.concatenate([s.col_upper for s in scenarios])))
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=[(lo, None if math.isinf(hi) else hi) for lo, hi in bounds], method="highs")
    assert res.status == 0, res.message
    return float(res.fun), res.x[scenarios[0].first_stage]


def brackets(result, optimum: float) -> None:
    """The result's bounds hold the optimum and are within the gap of each other."""
    tol = 1e-6 * max(1.0, abs(optimum))
    assert result.lower_bound <= optimum + tol <= result.upper_bound + 2 * tol, (result.lower_bound, optimum, result.upper_bound)
    assert result.gap == pytest.approx(relative_gap(result.lower_bound, result.upper_bound))
    assert 0 <= result.gap <= GAP + 1e-12


def test_the_extensive_form_has_the_optimum_worked_by_hand():
    value, first = extensive_form(capacity_and_overtime())
    assert value == pytest.approx(38.75)
    assert first == pytest.approx([15, 5])


@needs_mpisppy
@pytest.mark.parametrize("method", ["lshaped", "ph"])
def test_in_process_bounds_bracket_the_extensive_form(method):
    """One rank, no mpiexec. PH's Lagrangian bound would exceed the optimum here (91.25) if a
    scenario's unbounded Lagrangian subproblem (capacity z has no upper limit) kept its stale
    bound, as mpi-sppy's spoke does: the module forgets it."""
    scenarios = capacity_and_overtime(demands=(10, 20, 14), probabilities=(0.3, 0.5, 0.2))
    optimum, _ = extensive_form(scenarios)
    result = decompose(scenarios, method=method, ranks=1, rel_gap=GAP, max_iterations=200, time_limit=60)
    brackets(result, optimum)
    assert result.method == method and result.ranks == 1 and result.iterations >= 1
    # the incumbent's first stage is worth its upper bound: the EF's cost with it fixed
    fixed = capacity_and_overtime(demands=(10, 20, 14), probabilities=(0.3, 0.5, 0.2))
    for s in fixed:
        s.col_lower[s.first_stage] = s.col_upper[s.first_stage] = result.first_stage_values
    assert extensive_form(fixed)[0] == pytest.approx(result.upper_bound, rel=1e-9)
    # capacity has no upper limit: PH's run says its Lagrangian bound may be stuck for that
    assert any("no finite bounds" in line for line in result.log) == (method == "ph")


@needs_mpisppy
def test_lshaped_cuts_off_first_stages_that_leave_a_scenario_infeasible():
    """Without backorders a first stage of too little capacity and overtime has no recourse:
    the L-shaped subproblems are elastic in the rows that hold first-stage decisions, so their
    cuts steer the root to z + r >= 20 (the EF optimum is again z = 15, r = 5: 38.75)."""
    scenarios = capacity_and_overtime()
    for s in scenarios:
        s.col_upper[4] = 0.0
    optimum, first = extensive_form(scenarios)
    result = decompose(scenarios, method="lshaped", ranks=1, rel_gap=GAP, max_iterations=50, time_limit=60)
    brackets(result, optimum)
    assert result.first_stage_values == pytest.approx(first)


@needs_mpisppy
@needs_mpiexec
def test_lshaped_hub_and_xhat_spoke_under_mpiexec_on_two_ranks():
    scenarios = capacity_and_overtime()
    result = decompose(scenarios, method="lshaped", ranks=2, rel_gap=GAP, max_iterations=50, time_limit=60)
    brackets(result, 38.75)
    assert result.ranks == 2
    assert result.first_stage_values == pytest.approx([15, 5])


@pytest.mark.slow
@needs_mpisppy
@needs_mpiexec
def test_ph_hub_with_lagrangian_and_xhatshuffle_spokes_under_mpiexec_on_three_ranks():
    scenarios = capacity_and_overtime()
    result = decompose(scenarios, method="ph", ranks=3, rel_gap=GAP, max_iterations=200, time_limit=60)
    brackets(result, 38.75)
    assert result.ranks == 3
    assert result.first_stage_values == pytest.approx([15, 5], abs=1e-6)


def test_bad_scenarios_and_ranks_are_refused_plainly():
    scenarios = capacity_and_overtime(probabilities=(0.5, 0.4))
    with pytest.raises(ValueError, match="sum to 1"):
        check_scenarios(scenarios)
    with pytest.raises(ValueError, match="multiple of 3"):
        decompose(capacity_and_overtime(), method="ph", ranks=2)
    with pytest.raises(ValueError, match="method must be"):
        decompose(capacity_and_overtime(), method="benders")
    uneven = capacity_and_overtime()
    uneven[1].first_stage = np.array([0])
    with pytest.raises(ValueError, match="first-stage columns"):
        check_scenarios(uneven)


def test_mpi_sppy_is_imported_only_when_decomposing():
    """Importing the module (and `aop --help`) loads neither mpi-sppy nor mpi4py; without them,
    decompose says how to install them."""
    code = (
        "import sys, contextlib, io\n"
        "import aop.stochastic_mpi\n"
        "from aop.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        "print(aop.stochastic_mpi.missing())\n"
        "print(sorted(m for m in ('mpisppy', 'mpi4py') if m in sys.modules))\n"
        "from tests.test_stochastic_mpi import capacity_and_overtime\n"
        "sys.modules['mpisppy'] = None\n"
        "try:\n"
        "    aop.stochastic_mpi.decompose(capacity_and_overtime())\n"
        "except RuntimeError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout.splitlines()
    assert out[0] == ("None" if missing() is None else missing())
    assert out[1] == "[]"
    assert 'pip install ".[mpi]"' in out[2]


@needs_mpisppy
def test_decomposing_leaves_no_log_files_in_the_working_folder(tmp_path):
    """mpi-sppy opens hub.log and xhateval.log where it is imported from; the module stops it."""
    code = (
        "from tests.test_stochastic_mpi import capacity_and_overtime\n"
        "from aop.stochastic_mpi import decompose\n"
        "for method in ('lshaped', 'ph'):\n"
        "    decompose(capacity_and_overtime(), method=method, rel_gap=1e-3)\n"
    )
    subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert sorted(p.name for p in tmp_path.iterdir()) == []
