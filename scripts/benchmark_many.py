"""Benchmark many solves of one plan: a sensitivity run against one cold solve of its base.

For a generated case (``scripts/benchmark.py``'s sizes): build and solve the base cold once,
timed; then run the sensitivity's first N-1 variants (N solves with the base) through
``scenarios.solve_variants`` with each engine and worker count asked for, and print the
whole run's time against the cold solve, and each solve's time, warm or cold.

    python scripts/benchmark_many.py --size 300k                    # 20 solves, 1 and 2 workers
    python scripts/benchmark_many.py --size 1m --workers 1 --solves 20
    python scripts/benchmark_many.py --size 30k --engine dask --workers 2
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="30k", help="a size of scripts/benchmark.py (10k, 30k, 100k, 300k, 1m)")
    ap.add_argument("--solves", type=int, default=20, help="solves in the run, the base included (default 20)")
    ap.add_argument("--workers", default="1,2", help="worker counts to run (comma-separated)")
    ap.add_argument("--engine", default="local", choices=["local", "dask"])
    ap.add_argument("--solver", default="auto")
    a = ap.parse_args(argv)

    from aop import load_case
    from aop.build import build
    from aop.scenarios import solve_variants
    from aop.sensitivity import sensitivity_variants
    from aop.solve import SolveOptions, solve

    from scripts.benchmark import SIZES
    from scripts.generate_case import generate, write

    with tempfile.TemporaryDirectory() as tmp:
        write(generate(*SIZES[a.size]), Path(tmp) / "case")
        case = load_case(Path(tmp) / "case")
        opts = SolveOptions.from_settings(case.settings, solver=a.solver).replace(ranging=False)
        t = time.perf_counter()
        built = build(case)
        model = solve(built, opts)
        cold = time.perf_counter() - t
        print(f"== {a.size}: {built.lp.num_col:,} variables, {built.lp.num_row:,} rows; cold build + solve of the base {cold:.1f} s ({model.solution.algorithm})")
        del model, built
        variants = sensitivity_variants(case)[: a.solves - 1]
        print(f"{len(variants) + 1} solves: the base and {', '.join(v.name for v in variants[:4])}, ...")
        for workers in (int(w) for w in a.workers.split(",")):
            t = time.perf_counter()
            res = solve_variants(case, variants, opts, engine=a.engine, workers=workers)
            total = time.perf_counter() - t
            warm = res[res["how"] == "warm"]["seconds"]
            cold_runs = res[res["how"] != "warm"]["seconds"]
            print(f"-- {a.engine}, {workers} worker{'s' if workers > 1 else ''}: the whole run {total:.1f} s = {total / cold:.2f}x one cold solve; "
                  f"{len(warm)} warm re-solves {warm.median():.2f} s median ({warm.min():.2f}-{warm.max():.2f}), "
                  f"{len(cold_runs)} cold (the base and any rebuild) {cold_runs.median():.1f} s median")
            for r in res.to_dict("records"):
                outside = r["seconds"] - r.get("solver_seconds", math.nan)
                print(f"   {r['variant']:<48} {r['how']:<15} {r['seconds']:8.2f} s  HiGHS {r.get('solver_seconds', math.nan):7.2f} s  outside HiGHS {outside:6.3f} s  {r.get('iterations', 0):>8} iterations  {r['status']}")
            # A plan's own cost beside HiGHS: its edits, the edited LP, the push, the check and its KPIs.
            plans = warm.index.intersection(res.index[res["role"] != "base"])
            out = res.loc[plans, "seconds"] - res.loc[plans, "solver_seconds"]
            lead = res.loc[plans, "group"].str.startswith("lead times")
            print(f"   outside HiGHS, a warm plan: median {out.median():.3f} s, max {out.max():.3f} s; without the lead-time plans median {out[~lead].median():.3f} s, max {out[~lead].max():.3f} s"
                  + (f"; the lead-time plans median {out[lead].median():.3f} s" if lead.any() else ""))
            highs = res.loc[res["how"] == "warm", "solver_seconds"].sum()
            print(f"   HiGHS's warm re-solves add up to {highs:.1f} s: with no other work a plan, the run could take no less than "
                  f"about {cold:.1f} + {highs:.1f} / {workers} = {cold + highs / workers:.1f} s = {(cold + highs / workers) / cold:.2f}x one cold solve")
    return 0


if __name__ == "__main__":
    sys.exit(main())
