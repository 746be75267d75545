"""Measure the ways from a Pyomo model into HiGHS on one generated case.

Routes, each timed from a built plan (the term tables) to an optimal HiGHS solution, with
HiGHS's own solve time reported apart so the transfer overhead is visible:
  matrix      aop's default: term tables stacked into a sparse matrix, passed to highspy
  compiler    Pyomo model, compiled by Pyomo's standard-form compiler, passed to highspy
  appsi       Pyomo model through pyomo.contrib.appsi.solvers.Highs
  contrib     Pyomo model through pyomo.contrib.solver.solvers.highs.Highs (the newer interface)

    python scripts/pyomo_routes.py --size 30k
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="30k")
    ap.add_argument("--solver", default="simplex")
    a = ap.parse_args(argv)
    import pyomo.environ as pyo
    from aop.build import build
    from aop.pyomo_backend import compile_pyomo, pyomo_model
    from aop.read import from_frames
    from aop.solve import SolveOptions, solve
    from aop.validate import validate

    from scripts.benchmark import SIZES
    from scripts.generate_case import generate

    built = build(validate(from_frames(generate(*SIZES[a.size]))))
    print(f"{a.size}: {built.lp.num_col:,} variables, {built.lp.num_row:,} rows, {built.lp.A.nnz:,} nonzeros; HiGHS {a.solver}")
    opts = SolveOptions(solver=a.solver, ranging=False)
    rows = []

    t = time.perf_counter()
    sol = solve(built, opts).solution
    rows.append(("matrix", time.perf_counter() - t, sol.seconds, sol.objective))

    t = time.perf_counter()
    built.lp = compile_pyomo(built)
    sol = solve(built, opts).solution
    rows.append(("compiler", time.perf_counter() - t, sol.seconds, sol.objective))

    from pyomo.contrib.appsi.solvers import Highs as Appsi

    t = time.perf_counter()
    m, _ = pyomo_model(built)
    s = Appsi()
    s.highs_options = {"solver": a.solver, "presolve": "on"}
    res = s.solve(m)
    rows.append(("appsi", time.perf_counter() - t, s._solver_model.getRunTime(), res.best_feasible_objective))

    from pyomo.contrib.solver.solvers.highs import Highs as Contrib

    t = time.perf_counter()
    m, _ = pyomo_model(built)
    s = Contrib()
    res = s.solve(m, solver_options={"solver": a.solver, "presolve": "on"})
    rows.append(("contrib", time.perf_counter() - t, s._solver_model.getRunTime(), pyo.value(m.total_cost)))

    print(f"{'route':<10}{'total s':>10}{'HiGHS s':>10}{'overhead s':>12}{'objective':>20}")
    for name, total, highs, obj in rows:
        print(f"{name:<10}{total:>10.2f}{highs:>10.2f}{total - highs:>12.2f}{obj:>20.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
