"""Benchmark the full pipeline against a bare HiGHS solve of the same LP.

For each generated case size: run read -> validate -> build -> solve -> results -> finance ->
write in one subprocess, printing each stage's wall time and the process's peak memory after
it; export the built LP as MPS and solve it with highspy alone (same algorithm and options) in a
second subprocess. Prints the ratios pipeline / bare solve for time and memory. The pipeline's
time leaves out the finance view's what-if re-solves (printed apart with how many ran; its
statements and sheets are in write) and the process's start and imports: it shows the stages.
What a user waits for, the whole `aop solve` process against bare HiGHS in its own process, is
scripts/benchmark_process.py.

    python scripts/benchmark.py --size small            # about 10k variables
    python scripts/benchmark.py --size 1m               # about 1M variables (minutes)
    python scripts/benchmark.py --size all              # the scaling table for the README
    python scripts/benchmark.py --size 10k,88k          # several sizes
    python scripts/benchmark.py --case path/to/case     # an existing case
    python scripts/benchmark.py --size 300k,1m --solver hipo,ipx   # each size with each algorithm
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SIZES = {  # products, plants, dcs, customers, periods, modes, density -> about N variables
    "10k": (25, 2, 3, 12, 12, 3, 0.3),
    "30k": (60, 2, 4, 20, 12, 3, 0.3),
    "88k": (120, 3, 6, 40, 12, 3, 0.21),  # issue 23's reference size: 88,429 variables
    "100k": (120, 3, 6, 40, 12, 3, 0.3),
    "300k": (170, 3, 8, 70, 12, 3, 0.3),
    "1m": (1000, 3, 10, 150, 12, 3, 0.073),
}


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_pipeline(case: str, out: str, mps: str, solver: str) -> dict:
    """Child process: the pipeline stage by stage; returns timings, peak memory, LP size."""
    from aop.build import build
    from aop.plan import assemble
    from aop.read import read_case
    from aop.report import write_plan
    from aop.solve import SolveOptions, solve
    from aop.validate import validate

    stages = {}
    t = time.perf_counter()
    raw = read_case(case)
    stages["read"] = (time.perf_counter() - t, _peak_mib())
    t = time.perf_counter()
    c = validate(raw)
    stages["validate"] = (time.perf_counter() - t, _peak_mib())
    t = time.perf_counter()
    b = build(c)
    stages["build"] = (time.perf_counter() - t, _peak_mib())
    opts = SolveOptions.from_settings(c.settings, solver=solver)
    t = time.perf_counter()
    solved = solve(b, opts)
    sol = solved.optimum
    stages["solve"] = (time.perf_counter() - t, _peak_mib())
    timings: dict[str, float] = {}
    plan = assemble(solved, timings)  # the results, then the finance view, each timed
    stages["results"] = (timings["results"], _peak_mib())
    stages["finance"] = (timings["finance"], _peak_mib())
    t = time.perf_counter()
    write_plan(plan, out)
    stages["write"] = (time.perf_counter() - t, _peak_mib())
    options = solved.export(mps)  # not timed: only to export the same LP
    return {
        "stages": stages,
        "what_ifs": [int(plan.metric("what_if_resolves")), int(plan.metric("what_ifs_left_out"))],
        "objective": sol.objective,
        "highs_seconds": sol.seconds,
        "options": options,
        "algorithm": sol.algorithm,
        "variables": b.lp.num_col,
        "rows": b.lp.num_row,
        "nonzeros": int(b.lp.A.nnz),
    }


def run_bare(mps: str, options: dict) -> dict:
    """Child process: highspy alone on the exported LP."""
    import highspy

    h = highspy.Highs()
    for k, v in options.items():
        h.setOptionValue(k, v)
    t = time.perf_counter()
    h.readModel(mps)
    read = time.perf_counter() - t
    t = time.perf_counter()
    h.run()
    secs = time.perf_counter() - t
    return {"read_seconds": read, "solve_seconds": secs, "objective": h.getInfo().objective_function_value, "peak_mib": _peak_mib(), "status": h.modelStatusToString(h.getModelStatus())}


def _child(kind: str, payload: dict) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", kind, json.dumps(payload)], capture_output=True, text=True, cwd=REPO)
    if r.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def bench(case: str, solver: str, label: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        mps = os.path.join(tmp, "plan.mps")
        p = _child("pipeline", {"case": case, "out": os.path.join(tmp, "out"), "mps": mps, "solver": solver})
        bare = _child("bare", {"mps": mps, "options": p["options"]})
    total = sum(s for k, (s, _) in p["stages"].items() if k != "finance")
    peak = max(m for _, m in p["stages"].values())
    print(f"\n== {label}: {p['variables']:,} variables, {p['rows']:,} rows, {p['nonzeros']:,} nonzeros; HiGHS {p['algorithm']}")
    print(f"{'stage':<10}{'seconds':>10}{'peak MiB':>11}")
    for name, (s, m) in p["stages"].items():
        print(f"{name:<10}{s:>10.2f}{m:>11.0f}")
    print(f"{'pipeline':<10}{total:>10.2f}{peak:>11.0f}   (finance not counted: {p['what_ifs'][0]} what-if re-solves ran, {p['what_ifs'][1]} left out)")
    print(f"{'bare HiGHS':<10}{bare['solve_seconds']:>10.2f}{bare['peak_mib']:>11.0f}   (MPS read {bare['read_seconds']:.2f} s, not counted)")
    print(f"ratio pipeline / bare solve: time {total / bare['solve_seconds']:.2f}x, memory {peak / bare['peak_mib']:.2f}x")
    print(f"objective pipeline {p['objective']:.6f}, bare {bare['objective']:.6f}")
    return {"label": label, **{k: p[k] for k in ("variables", "rows", "nonzeros", "algorithm")}, "stages": p["stages"], "pipeline_seconds": total, "pipeline_peak_mib": peak, "bare": bare, "what_ifs": p["what_ifs"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="10k", help=f"one or more of {', '.join(SIZES)} (comma-separated) or all")
    ap.add_argument("--case", help="benchmark this case instead of a generated one")
    ap.add_argument("--solver", default="auto", help="auto, simplex, hipo, ipx or pdlp; several comma-separated run each size with each")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        kind, payload = a.child[0], json.loads(a.child[1])
        out = run_pipeline(**payload) if kind == "pipeline" else run_bare(**payload)
        print(json.dumps(out))
        return 0
    from scripts.generate_case import generate, write

    solvers = a.solver.split(",")
    if a.case:
        for solver in solvers:
            bench(a.case, solver, a.case)
        return 0
    rows = []
    for size in SIZES if a.size == "all" else a.size.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            pr, pl, dc, cu, pe, mo, de = SIZES[size]
            write(generate(pr, pl, dc, cu, pe, mo, de), Path(tmp) / "case")
            for solver in solvers:
                rows.append(bench(str(Path(tmp) / "case"), solver, f"{size} ({solver})"))
    if len(rows) > 1:
        print("\n| variables | rows | nonzeros | algorithm | read+validate s | build s | solve s | results+write s | pipeline s | bare HiGHS s | time ratio | peak MiB | bare peak MiB | finance s (what-ifs run/left out) |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            s = r["stages"]
            print(
                f"| {r['variables']:,} | {r['rows']:,} | {r['nonzeros']:,} | {r['algorithm']} | {s['read'][0] + s['validate'][0]:.1f} | {s['build'][0]:.1f} | {s['solve'][0]:.1f} | "
                f"{s['results'][0] + s['write'][0]:.1f} | {r['pipeline_seconds']:.1f} | {r['bare']['solve_seconds']:.1f} | "
                f"{r['pipeline_seconds'] / r['bare']['solve_seconds']:.2f} | {r['pipeline_peak_mib']:,.0f} | {r['bare']['peak_mib']:,.0f} | "
                f"{s['finance'][0]:.1f} ({r['what_ifs'][0]}/{r['what_ifs'][1]}) |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
