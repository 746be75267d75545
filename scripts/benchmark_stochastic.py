"""Benchmark the two-stage stochastic plan: the extensive form of N futures against N separate
solves of the same futures, and the whole ``aop stochastic`` study.

Each future scales the generated case's demand (0.8-1.2) and its plants' hours (0.85-1.0) at
random (seeded), with probability 1/N; the first quarter's production is committed and one
option reserves plant hours. Every measurement runs in a process of its own, so its peak memory
(``ru_maxrss``) is its own:

- ``separate``: each future's case edited, built and solved cold, one after another (what N
  ``aop solve`` runs of the futures would spend in HiGHS and building);
- ``extensive``: the futures built, the extensive form assembled and solved (the plan alone);
- ``study``: the whole ``plan_for_futures`` (the plan, hindsight, the average plan, options,
  commitments, the frontier), with ``--study``;
- ``mpi``: the decomposition by mpi-sppy on ``--ranks`` ranks, with ``--mpi``.

    python scripts/benchmark_stochastic.py --size 30k --futures 10
    python scripts/benchmark_stochastic.py --size 100k --futures 20
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scripts.benchmark import SIZES  # noqa: E402
from scripts.generate_case import generate, write  # noqa: E402


def stochastic_case(size: str, futures: int, seed: int = 11) -> dict[str, pd.DataFrame]:
    """The generated case of ``size`` with ``futures`` scenarios, their probabilities, the first
    quarter's production committed and an option on plant hours."""
    t = generate(*SIZES[size])
    rng = np.random.default_rng(seed)
    rows, probs = [], []
    for i in range(futures):
        name = f"future {i + 1:02d}"
        rows.append((name, "shock", "demand", "quantity", None, "scale", round(float(rng.uniform(0.8, 1.2)), 3)))
        rows.append((name, "shock", "capacity", "hours", None, "scale", round(float(rng.uniform(0.85, 1.0)), 3)))
        probs.append((name, 1.0 / futures))
    t["scenarios"] = pd.DataFrame(rows, columns=["scenario", "kind", "table", "column", "filter", "operation", "value"])
    t["probabilities"] = pd.DataFrame(probs, columns=["scenario", "probability"])
    periods = t["periods"]["period"].tolist()
    t["commitments"] = pd.DataFrame({"decision": ["production"], "periods": [f"{periods[0]}..{periods[2]}"]})
    t["options"] = pd.DataFrame({"option": ["plant hours"], "table": ["capacity"], "column": ["hours"], "max_reserve": [float(t["capacity"]["hours"].median() * 0.1)], "fee": [5.0]})
    return t


def _measure(kind: str, case_dir: str, ranks: int) -> dict:
    """One measurement in this process (run as a child): seconds and what was solved."""
    from dataclasses import replace

    from aop.api import load_case
    from aop.build import build, edit
    from aop.edits import apply_edits
    from aop.scenarios import read_scenarios
    from aop.solve import SolveOptions, solve
    from aop.stochastic import committed_columns, extensive_form, futures_of, plan_for_futures, read_study, solve_extensive

    case = load_case(case_dir)
    opts = SolveOptions()
    t0 = time.perf_counter()
    out: dict = {}
    if kind == "separate":
        base = build(case)
        hs = 0.0
        for v in read_scenarios(case):
            model = solve(edit(base, apply_edits(case, v.edits)), replace(opts, ranging=False))
            hs += model.optimum.seconds
        out["highs_seconds"] = hs
        out["variables_each"] = base.lp.num_col
    elif kind == "extensive":
        study = read_study(case)
        futures, union = futures_of(case, study)
        committed, rule, _ = committed_columns(case, union, study.commitments)
        ef = extensive_form(futures, committed, rule, union, study.options, risk=False)  # as aop stochastic plans for the expected cost
        t1 = time.perf_counter()
        model = solve_extensive(ef, futures[0].built, opts)  # type: ignore[arg-type]
        out.update(build_seconds=t1 - t0, highs_seconds=model.optimum.seconds, algorithm=model.optimum.algorithm, variables=ef.lp.num_col, rows=ef.lp.num_row, objective=model.optimum.objective)
    elif kind == "study":
        plan = plan_for_futures(case, opts)
        out.update(objective=plan.expected_cost, evpi=plan.evpi, vss=plan.vss)
    elif kind == "mpi":
        from aop.stochastic import decompose_case

        res, _tables = decompose_case(case, opts, ranks=ranks)
        out.update(lower_bound=res.lower_bound, upper_bound=res.upper_bound, gap=res.gap, iterations=res.iterations, method=res.method)
    out["seconds"] = time.perf_counter() - t0
    return out


def measure(kind: str, case_dir: str, ranks: int = 2) -> dict:
    """``_measure`` in a child process; adds its peak memory in MB."""
    code = (f"import json, resource, sys; sys.path.insert(0, {str(REPO)!r}); from scripts.benchmark_stochastic import _measure; r = _measure({kind!r}, {case_dir!r}, {ranks}); "
            "r['peak_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; print('RESULT ' + json.dumps(r))")
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    line = next((x for x in p.stdout.splitlines() if x.startswith("RESULT ")), None)
    if p.returncode or line is None:
        raise SystemExit(f"{kind} failed:\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")
    r = json.loads(line[7:])
    r["process_seconds"] = wall
    return r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="30k", help=f"a size of scripts/benchmark.py ({', '.join(SIZES)})")
    ap.add_argument("--futures", type=int, default=10)
    ap.add_argument("--study", action="store_true", help="also time the whole aop stochastic study")
    ap.add_argument("--mpi", action="store_true", help="also time the decomposition by mpi-sppy")
    ap.add_argument("--ranks", type=int, default=2)
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        case_dir = str(Path(tmp) / "case")
        write(stochastic_case(a.size, a.futures), Path(case_dir))
        print(f"{a.size} preset, {a.futures} futures (2 cores; every figure a process of its own, imports and reading included)")
        sep = measure("separate", case_dir)
        print(f"  {a.futures} separate solves ({sep['variables_each']:,} variables each): {sep['process_seconds']:.1f} s (HiGHS {sep['highs_seconds']:.1f} s), peak {sep['peak_mb']:,.0f} MB")
        ef = measure("extensive", case_dir)
        print(f"  extensive form ({ef['variables']:,} variables, {ef['rows']:,} rows, {ef['algorithm']}): {ef['process_seconds']:.1f} s (build {ef['build_seconds']:.1f} s, HiGHS {ef['highs_seconds']:.1f} s), "
              f"peak {ef['peak_mb']:,.0f} MB; {ef['process_seconds'] / sep['process_seconds']:.2f}x the separate solves")
        if a.study:
            st = measure("study", case_dir)
            print(f"  whole study (plan, hindsight, average plan, options, commitments, frontier): {st['process_seconds']:.1f} s, peak {st['peak_mb']:,.0f} MB")
        if a.mpi:
            mp = measure("mpi", case_dir, a.ranks)
            print(f"  decomposition ({mp['method']}, {a.ranks} ranks): {mp['process_seconds']:.1f} s, bounds {mp['lower_bound']:,.2f} .. {mp['upper_bound']:,.2f} (gap {mp['gap']:.3%}, "
                  f"{mp['iterations']} iterations), peak {mp['peak_mb']:,.0f} MB (rank 0); {mp['process_seconds'] / ef['process_seconds']:.2f}x the extensive form")
    return 0


if __name__ == "__main__":
    sys.exit(main())
