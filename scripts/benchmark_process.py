"""The whole `aop solve` process against bare HiGHS of the same LP and algorithm, each in its own process.

What a user waits for is the process, start to exit: Python starting, the imports, reading,
building, solving, the finance view (its what-if re-solves included) and writing every file.
For each generated case size (seeded, ``scripts/generate_case.py``):

1. a child (not timed) builds and solves the case as `aop solve` does and writes the LP as HiGHS
   holds it (``Solved.export``, MPS) with the HiGHS options of that solve: the algorithm aop
   chose, presolve, threads, seed;
2. bare HiGHS: a Python process that imports only highspy, reads that MPS, sets those options
   and runs; it reports HiGHS's own run time, and the parent the process's wall time;
3. `aop solve CASE --out DIR --what-if-seconds 0` (the plan without the what-if re-solves) and
   `aop solve CASE --out DIR` (the defaults, finance view included), each timed from start to
   exit, with the stage timings it prints (``--verbose``).

Prints per size the seconds and peak memory of each process, aop's stages, and the ratios
aop / bare HiGHS (process against process, and against HiGHS's run alone), with issue 23's
targets where it sets one (88k: 1.5x defaults, 1.3x without what-ifs; 1.2M: 1.2x and 1.1x).

    python scripts/benchmark_process.py                     # 10k and 88k (about a minute)
    python scripts/benchmark_process.py --size 300k,1m      # minutes; 1m about 10 minutes
    python scripts/benchmark_process.py --repeat 3          # the median of 3 runs of each process
    python scripts/benchmark_process.py --docs              # also write this run's rows into the scale
                                                            # blocks of README.md and docs/benchmarks.md
                                                            # (rows of other sizes stay)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scripts.benchmark import SIZES  # noqa: E402

#: Issue 23's targets by size: (defaults, --what-if-seconds 0), each a most for aop / bare HiGHS.
TARGETS = {"88k": (1.5, 1.3), "1m": (1.2, 1.1)}

#: The bare run: nothing but highspy, the MPS and aop's HiGHS options.
BARE = """
import json, sys, time
import highspy
h = highspy.Highs()
for k, v in json.loads(sys.argv[2]).items():
    h.setOptionValue(k, v)
t = time.perf_counter()
h.readModel(sys.argv[1])
read = time.perf_counter() - t
t = time.perf_counter()
h.run()
run = time.perf_counter() - t
print(json.dumps({"read": read, "run": run, "status": h.modelStatusToString(h.getModelStatus()), "objective": h.getInfo().objective_function_value}))
"""

#: The export (not timed): the LP and options of the solve `aop solve` makes of this case.
EXPORT = """
import json, sys
from aop import load_case, solve_model
solved = solve_model(load_case(sys.argv[1]), solver=sys.argv[3])
options = solved.export(sys.argv[2])
lp = solved.built.lp
print(json.dumps({"options": options, "algorithm": solved.optimum.algorithm, "objective": solved.optimum.objective,
                  "cost_scale": solved.options.get("cost_scale", 1.0), "variables": int(lp.num_col), "rows": int(lp.num_row), "nonzeros": int(lp.A.nnz)}))
"""


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Run ``cmd`` to its exit: (wall seconds from start to exit, peak MiB, stdout)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=REPO)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if p.returncode != 0:
            raise SystemExit(f"{' '.join(cmd[:4])} ... exited {p.returncode}:\n{err.read()[-3000:]}")
        return wall, usage.ru_maxrss / 1024.0, out.read()


def stages_of(stdout: str) -> dict[str, float]:
    """The stage timings `aop solve --verbose` prints ('aop: stage timings: read 0.01 s, ...')."""
    line = next((ln for ln in stdout.splitlines() if "stage timings:" in ln), "")
    return {k: float(v) for k, v in re.findall(r"(\w+) ([\d.]+) s", line.split("stage timings:", 1)[-1])}


def what_ifs_of(out_dir: Path) -> tuple[int, int]:
    """(what-if re-solves run, left out) from the plan's summary.csv."""
    import csv

    with open(out_dir / "summary.csv", newline="") as f:
        s = {r["metric"]: r["value"] for r in csv.DictReader(f)}
    return int(float(s.get("what_if_resolves", 0))), int(float(s.get("what_ifs_left_out", 0)))


def algorithm_of(out_dir: Path) -> str:
    """The algorithm the timed run used (its provenance): it may differ from the export's when
    `auto` abandons dual simplex for IPX after its patience ran out."""
    import csv

    with open(out_dir / "provenance.csv", newline="") as f:
        return next((r["value"] for r in csv.DictReader(f) if r["item"] == "option algorithm"), "?")


def median_run(cmd: list[str], repeat: int) -> tuple[float, float, str]:
    """The run of median wall time among ``repeat`` runs."""
    runs = sorted((timed(cmd) for _ in range(repeat)), key=lambda r: r[0])
    return runs[(len(runs) - 1) // 2]


def bench(case: Path, label: str, solver: str, repeat: int, work: Path) -> dict:
    mps = work / "plan.mps"
    _, _, text = timed([sys.executable, "-c", EXPORT, str(case), str(mps), solver])
    lp = json.loads(text.strip().splitlines()[-1])
    bare_runs = []
    for _ in range(repeat):
        wall, peak, text = timed([sys.executable, "-c", BARE, str(mps), json.dumps(lp["options"])])
        bare_runs.append((wall, peak, json.loads(text.strip().splitlines()[-1])))
    bare_runs.sort(key=lambda r: r[0])
    b_wall, b_peak, bare = bare_runs[(len(bare_runs) - 1) // 2]
    rows = {}
    for name, extra in (("no_what_ifs", ["--what-if-seconds", "0"]), ("defaults", [])):
        out = work / name
        solver_args = [] if solver == "auto" else ["--solver", solver]
        wall, peak, text = median_run([sys.executable, "-m", "aop.cli", "solve", str(case), "--out", str(out), "--verbose", *solver_args, *extra], repeat)
        rows[name] = {"wall": wall, "peak": peak, "stages": stages_of(text), "what_ifs": what_ifs_of(out), "algorithm": algorithm_of(out)}
    r = {"label": label, **{k: lp[k] for k in ("variables", "rows", "nonzeros", "algorithm")}, "bare": {"wall": b_wall, "peak": b_peak, **bare}, **rows,
         "objective": lp["objective"], "bare_objective": bare["objective"] * lp["cost_scale"]}
    report(r)
    return r


def report(r: dict) -> None:
    b, size = r["bare"], r["label"].split(" ")[0]
    print(f"\n== {r['label']}: {r['variables']:,} variables, {r['rows']:,} rows, {r['nonzeros']:,} nonzeros; HiGHS {r['algorithm']}")
    print(f"bare HiGHS            process {b['wall']:7.2f} s  (its run {b['run']:.2f} s, MPS read {b['read']:.2f} s)  peak {b['peak']:6.0f} MiB  {b['status']}")
    for name, title in (("no_what_ifs", "aop solve, 0 what-ifs"), ("defaults", "aop solve (defaults)")):
        a = r[name]
        target = TARGETS.get(size)
        aim = f"  target {target[0 if name == 'defaults' else 1]:.1f}x" if target else ""
        warn = "" if a["algorithm"] == r["algorithm"] else f"  (this run used {a['algorithm']}, the export {r['algorithm']})"
        print(f"{title:<22}process {a['wall']:7.2f} s = {a['wall'] / b['wall']:.2f}x the bare process, {a['wall'] / b['run']:.2f}x its run{aim};"
              f"  peak {a['peak']:6.0f} MiB; what-ifs run/left out {a['what_ifs'][0]}/{a['what_ifs'][1]}{warn}")
        st = a["stages"]
        if st:
            inside = sum(st.values())
            print(" " * 22 + "stages: " + ", ".join(f"{k} {v:.2f}" for k, v in st.items()) + f"; outside them (start, imports, exit) {a['wall'] - inside:.2f} s")
    rel = abs(r["objective"] - r["bare_objective"]) / max(1.0, abs(r["objective"]))
    print(f"objective aop {r['objective']:.6f}, bare HiGHS {r['bare_objective']:.6f} (relative difference {rel:.1e})")


def table(rows: list[dict]) -> str:
    """The scale table (markdown) of the docs."""
    lines = [
        "| variables | rows | nonzeros | algorithm | bare HiGHS: process s (its run s) | `aop solve --what-if-seconds 0` s | ratio | `aop solve` s (defaults) | ratio | what-ifs run / left out | peak MiB: aop / bare |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        b, n, d = r["bare"], r["no_what_ifs"], r["defaults"]
        lines.append(
            f"| {r['variables']:,} | {r['rows']:,} | {r['nonzeros']:,} | {r['algorithm']} | {b['wall']:.1f} ({b['run']:.1f}) | {n['wall']:.1f} | {n['wall'] / b['wall']:.2f}x | "
            f"{d['wall']:.1f} | {d['wall'] / b['wall']:.2f}x | {d['what_ifs'][0]} / {d['what_ifs'][1]} | {d['peak']:,.0f} / {b['peak']:,.0f} |"
        )
    return "\n".join(lines)


def merged(old: str, new: str) -> str:
    """The table ``new`` with the rows of ``old`` of other sizes kept (a run of --size 1m adds
    its row to the table of the smaller sizes), by number of variables."""
    def rows(text: str) -> dict[int, str]:
        return {int(ln.split("|")[1].strip().replace(",", "")): ln for ln in text.splitlines() if re.match(r"\|\s*[\d,]+\s*\|", ln)}

    kept = {**rows(old), **rows(new)}
    return "\n".join(new.splitlines()[:2] + [kept[k] for k in sorted(kept)])


def write_docs(body: str) -> list[str]:
    """Rewrite the ``scale`` block of README.md and docs/benchmarks.md with ``body``'s rows."""
    from aop.docs import block_of, with_block
    from aop.files import atomic_file

    done = []
    for page in ("README.md", "docs/benchmarks.md"):
        path = REPO / page
        text = path.read_text(encoding="utf-8")
        old = block_of(text, "scale")
        if old is None:
            print(f"{page} has no scale block (<!-- scale:start --> ... <!-- scale:end -->): left alone", file=sys.stderr)
            continue
        with atomic_file(path) as tmp:
            tmp.write_text(with_block(text, "scale", merged(old, body)), encoding="utf-8")
        done.append(page)
    return done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="10k,88k", help=f"comma-separated, of {', '.join(SIZES)} (default 10k,88k; 300k and 1m take minutes)")
    ap.add_argument("--case", help="time this case instead of generated ones")
    ap.add_argument("--solver", default="auto", help="the HiGHS algorithm of aop's solve (auto, simplex, hipo, ipx, pdlp)")
    ap.add_argument("--repeat", type=int, default=1, help="run each timed process this many times and keep the median")
    ap.add_argument("--docs", action="store_true", help="write this run's rows into the scale blocks of README.md and docs/benchmarks.md (rows of other sizes stay)")
    a = ap.parse_args(argv)
    from scripts.generate_case import generate, write

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cases = [(Path(a.case), a.case)] if a.case else []
        for size in [] if a.case else a.size.split(","):
            if size not in SIZES:
                raise SystemExit(f"unknown size {size!r}: one of {', '.join(SIZES)}")
            write(generate(*SIZES[size]), work / f"case_{size}")
            cases.append((work / f"case_{size}", size))
        for case, label in cases:
            rows.append(bench(case, f"{label} ({a.solver})", a.solver, max(1, a.repeat), work))
    load = os.getloadavg()
    body = table(rows)
    print(f"\n{body}\n\n(load average at the end: {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} on {os.cpu_count()} cores)")
    if a.docs:
        for page in write_docs(body):
            print(f"rewrote the scale block of {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
