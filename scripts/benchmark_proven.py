"""Benchmark a proven sensitivity run (``aop sensitivity``, the default) against one cold solve.

For a generated case (``scripts/benchmark.py``'s sizes, or ``--case``): time one cold build and
solve of the base in this process, then the whole ``aop sensitivity CASE --out DIR`` command in
its own process, from start to exit (imports, reading, the base solve, bounding every step,
the re-solves, writing); print the ratio, how many steps the bounds left to re-solve, the
bounds' gaps, and whether the top five are proven (exact, and every other group's best case
below the fifth's swing). With ``--all`` also the exhaustive run (every step re-solved) and
whether its top five by total-cost swing are the proven ones.

    python scripts/benchmark_proven.py --size 300k
    python scripts/benchmark_proven.py --size 88k --workers 1,2 --all
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="88k", help="a size of scripts/benchmark.py (10k, 30k, 88k, 100k, 300k, 1m)")
    ap.add_argument("--case", help="a case to use instead of a generated one")
    ap.add_argument("--workers", default="2", help="worker counts of the proven run (comma-separated; default 2)")
    ap.add_argument("--all", action="store_true", help="also time the exhaustive run (aop sensitivity --all) and compare its top five")
    a = ap.parse_args(argv)

    import pandas as pd
    from aop import load_case
    from aop.build import build
    from aop.solve import SolveOptions, solve

    from scripts.benchmark import SIZES
    from scripts.generate_case import generate, write

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(a.case) if a.case else Path(tmp) / "case"
        if not a.case:
            write(generate(*SIZES[a.size]), path)
        case = load_case(path)
        opts = SolveOptions.from_settings(case.settings).replace(ranging=False)
        t = time.perf_counter()
        built = build(case)
        model = solve(built, opts)
        cold = time.perf_counter() - t
        print(f"== {a.case or a.size}: {built.lp.num_col:,} variables, {built.lp.num_row:,} rows; one cold build + solve of the base {cold:.1f} s ({model.optimum.algorithm})")
        del model, built
        tops = {}
        for workers in (int(w) for w in a.workers.split(",")):
            out = Path(tmp) / f"proven{workers}"
            t = time.perf_counter()
            run = subprocess.run([sys.executable, "-m", "aop.cli", "sensitivity", str(path), "--out", str(out), "--workers", str(workers)], capture_output=True, text=True, cwd=REPO)
            total = time.perf_counter() - t
            if run.returncode:
                print(run.stdout[-2000:], run.stderr[-2000:])
                return 1
            table = pd.read_csv(out / "sensitivity_sensitivity.csv")
            runs = pd.read_csv(out / "sensitivity_runs.csv")
            re_solved = runs[runs["how"].astype(str).str.startswith(("warm", "cold ("))]
            re_solved = re_solved[re_solved["variant"] != "base"]
            top = table[table["matters"]]
            bounded = table[table["exact"] == "bounded"]
            fifth = float(top["total_cost_swing"].min()) if len(top) else float("nan")
            proven = len(top) == min(5, len(table)) and bool((bounded["swing_high"] <= fifth + 1e-6).all())
            steps = 2 * len(table)
            print(f"-- proven, {workers} worker{'s' if workers > 1 else ''}: the whole command {total:.1f} s = {total / cold:.2f}x one cold solve; "
                  f"{len(table)} groups, {steps} steps: {len(re_solved)} re-solved, {int((runs['how'].astype(str).str.startswith('the base plan')).sum())} settled by the base plan itself, "
                  f"the rest bounded; top five proven: {'yes' if proven else 'NO'}")
            if len(bounded):
                gap = bounded["swing_high"] - bounded["swing_low"]
                print(f"   {len(bounded)} groups bounded: the largest best case {bounded['swing_high'].max():,.0f} against the fifth's swing {fifth:,.0f} "
                      f"({bounded['swing_high'].max() / fifth:.0%} of it); their gaps {gap.min():,.0f}-{gap.max():,.0f}")
            highs = float(re_solved["solver_seconds"].sum())
            print(f"   HiGHS's re-solves add up to {highs:.1f} s (median {re_solved['solver_seconds'].median():.2f} s); the cold solve and them on {workers} "
                  f"process{'es' if workers > 1 else ''}, with no other work, {cold + highs / workers:.1f} s = {(cold + highs / workers) / cold:.2f}x")
            tops[workers] = top["group"].tolist()
        if a.all:
            out = Path(tmp) / "all"
            t = time.perf_counter()
            run = subprocess.run([sys.executable, "-m", "aop.cli", "sensitivity", str(path), "--out", str(out), "--all"], capture_output=True, text=True, cwd=REPO)
            total = time.perf_counter() - t
            runs = pd.read_csv(out / "sensitivity_runs.csv")
            table = pd.read_csv(out / "sensitivity_sensitivity.csv")
            swing = (table["total_cost_up"] - table["total_cost_down"]).abs()
            by_cost = table.assign(swing=swing).sort_values("swing", ascending=False)["group"].head(5).tolist()
            same = all(t == by_cost for t in tops.values())
            print(f"-- every step re-solved (--all): {total:.1f} s = {total / cold:.2f}x one cold solve, {len(runs) - 1} re-solves; "
                  f"its top five by total-cost swing {'are' if same else 'are NOT'} the proven ones")
    return 0


if __name__ == "__main__":
    sys.exit(main())
