"""The `aop` command: `aop solve CASE --out DIR`, `aop validate CASE`, `aop report DIR`, ...

Exit codes: 0 optimal, 2 bad input, 3 infeasible or unbounded (or no plan in the time
limit), 1 anything else (a run stopped by SIGTERM or Ctrl+C included).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import signal
import sys

from .errors import InputError, SolveError
from .version import __version__

EXIT_OK, EXIT_OTHER, EXIT_INPUT, EXIT_NO_PLAN = 0, 1, 2, 3
MAX_PRINTED = 200


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aop", description="Annual operating plan optimizer: a linear program solved by HiGHS.")
    p.add_argument("--version", action="version", version=f"aop {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("solve", help="solve a case and write the plan")
    s.add_argument("case", help="an .xlsx workbook or a folder of <table>.csv files")
    s.add_argument("--out", required=True, help="output folder for plan.xlsx and the CSV tables")
    s.add_argument("--solver", choices=["auto", "simplex", "hipo", "ipx", "pdlp"], help="HiGHS algorithm (default: the case's setting, else auto: simplex below 20,000 variables, HiPO with crossover above, IPX where HiPO cannot run; auto's simplex still running after 20 s is taken for numerical trouble and IPX solves again)")
    s.add_argument("--time-limit", type=float, help="solver time limit in seconds")
    s.add_argument("--threads", type=int, help="solver threads")
    s.add_argument("--log", action="store_true", default=None, help="print the HiGHS log")
    s.add_argument("--sheet-rows", type=int, default=None, help="most rows of a workbook sheet (default 20000; a longer grid keeps its largest rows, every table is whole in its CSV)")
    s.add_argument("--backend", choices=["matrix", "pyomo"], help="build the LP straight into a matrix (default) or through a Pyomo model")
    s.add_argument("--what-if-seconds", type=float, default=None, help="time the finance view's what-if re-solves may take together (default: as long as HiGHS took to solve the plan, at least 10 s; 0 leaves them out, their proven bounds stay)")
    s.add_argument("--verbose", action="store_true", help="print how long each stage took (read, validate, build, solve, results, finance, write)")
    s.add_argument("--base", help="a folder of an earlier plan (e.g. last year's): report.html shows each KPI's change against it")
    v = sub.add_parser("validate", help="check a case without solving it")
    v.add_argument("case")
    t = sub.add_parser("template", help="write a blank case workbook documenting every table and column")
    t.add_argument("path", help="where to write the .xlsx template")
    t.add_argument("--force", action="store_true", help="replace the file if it exists")
    e = sub.add_parser("explain", help="print what the constraints of a solved plan cost (its ledger) and its P&L")
    e.add_argument("dir", help="a folder aop solve wrote")
    e.add_argument("--top", type=int, default=10, help="how many ledger entries (default 10)")
    e.add_argument("--exact", action="store_true", help="first settle every what-if the plan left at its prediction: the plan is re-opened from the basis and case saved with it (not solved again), its what-ifs re-solved with no time budget and its finance tables, plan.xlsx and report.html rewritten")
    r = sub.add_parser("report", help="rebuild the browser report(s) of a results folder: report.html of a plan, <study>.html of a scenarios, sensitivity or compare run")
    r.add_argument("dir", help="a folder aop solve, scenarios, sensitivity or compare wrote")
    r.add_argument("--base", help="a folder of another plan: the plan's KPIs show their change against it")
    b = sub.add_parser("buffers", help="size safety stocks from variability and price a 10 %% inventory cut two ways")
    b.add_argument("case")
    b.add_argument("--out", required=True, help="the .xlsx to write: the inventory sheet to paste back, the buffers and the comparison")
    b.add_argument("--cut", type=float, default=0.10, help="the share of safety-stock dollars to cut in the comparison (default 0.10)")
    b.add_argument("--force", action="store_true", help="replace the file if it exists")
    st = sub.add_parser("stochastic", help="one plan for many futures: commit the decisions of the commitments table and buy the options of the options table now, adapt the rest in each scenario (two-stage stochastic program over the probabilities table)")
    st.add_argument("case")
    st.add_argument("--out", required=True, help="output folder for stochastic.xlsx, stochastic.html and its CSV tables")
    st.add_argument("--cvar", type=float, default=None, metavar="ALPHA", help="the CVaR level: the mean of the worst 1 - ALPHA of outcomes (default 0.9: the worst 10 %%)")
    st.add_argument("--weight", type=float, default=0.0, metavar="LAMBDA", help="minimise (1 - LAMBDA) expected cost + LAMBDA CVaR (default 0: the expected cost)")
    st.add_argument("--engine", choices=["ef", "mpi"], default="ef", help="ef: the extensive form, every future in one LP solved by HiGHS (default); mpi: decomposed by mpi-sppy over MPI")
    st.add_argument("--ranks", type=int, default=2, help="MPI ranks for --engine mpi (default 2)")
    st.add_argument("--solver", choices=["auto", "simplex", "hipo", "ipx", "pdlp"], help="HiGHS algorithm of the cold solves (default auto: IPX for a large extensive form)")
    for name, words in (
        ("scenarios", "solve the base and every scenario of the case's scenarios table (and each downside's shock alone, so the actions' value shows)"),
        ("sensitivity", "move each group of assumptions up and down by a step and rank them by the swing of cost and margin"),
        ("compare", "the KPI changes from plan A to plan B and a bridge attributing them to drivers"),
    ):
        c = sub.add_parser(name, help=words)
        if name == "compare":
            c.add_argument("case_a", help="plan A (e.g. last year's case)")
            c.add_argument("case_b", help="plan B (e.g. this year's case)")
        else:
            c.add_argument("case")
        c.add_argument("--out", required=True, help=f"output folder for {name}.xlsx and its CSV tables")
        if name == "sensitivity":
            c.add_argument("--step", type=float, default=0.10, help="the step up and down (default 0.10: 10 %%; service targets move one point per 10 %%)")
            c.add_argument("--top", type=int, default=5, help="how many assumptions to call the ones that matter (default 5)")
            c.add_argument("--all", action="store_true", help="re-solve every step of every group on the engine's workers and rank by margin swing (default: the top groups by total-cost swing, proven with as few re-solves as the bounds allow, on --workers processes)")
        c.add_argument("--engine", choices=["local", "dask"], default="local", help="local: a process pool on this machine (default); dask: a Dask cluster")
        c.add_argument("--workers", type=int, help="processes (local) or Dask workers to start (default: the cores)")
        c.add_argument("--scheduler", help="the Dask scheduler's address (tcp://host:8786); without it --engine dask starts a LocalCluster")
        c.add_argument("--solver", choices=["auto", "simplex", "hipo", "ipx", "pdlp"], help="HiGHS algorithm of each model's first solve (re-solves are warm dual simplex)")
    return p


def _print_problems(err: InputError) -> None:
    n = len(err.problems)
    print(f"aop: the case has {n} problem{'s' if n != 1 else ''}:", file=sys.stderr)
    for p in err.problems[:MAX_PRINTED]:
        print(f"  - {p}", file=sys.stderr)
    if n > MAX_PRINTED:
        print(f"  ... and {n - MAX_PRINTED} more", file=sys.stderr)


def _warn(warnings) -> None:
    for w in warnings:
        print(f"aop: warning: {w}", file=sys.stderr)


def _stop_on_signals(stop) -> dict:
    """SIGTERM (a scheduler or `kill` stopping the run) and Ctrl+C (SIGINT) stop the run: while
    HiGHS works they set ``stop`` (a ``solve.Stop``), which HiGHS polls at every iteration, and
    the solve ends there; otherwise they stop it at once. Either way temporary files are
    removed, the previous plan is left as it was and the exit code is 1. Returns the handlers it
    replaced, by signal (none when it cannot set them: not the main thread)."""
    names = {signal.SIGINT: "Ctrl+C", signal.SIGTERM: "SIGTERM"}

    def handle(signum, _frame):
        stop.request(names.get(signum, f"signal {signum}"))
        if not stop.solving:
            raise KeyboardInterrupt(stop.why)
        # else HiGHS stops at its next iteration and the solve raises KeyboardInterrupt

    previous = {}
    try:
        for sig in names:
            previous[sig] = signal.signal(sig, handle)
    except ValueError:  # not the main thread (main() called from a worker): leave handlers alone
        return {}
    return previous


def _explain(folder: str, top: int) -> int:
    """Print a solved plan's ledger (the sentences, most costly first) and its P&L for the year."""
    from pathlib import Path

    import pandas as pd

    path = Path(folder)
    if not (path / "ledger.csv").exists():
        print(f"aop: {folder} holds no ledger.csv: solve a case into it first (aop solve CASE --out {folder})", file=sys.stderr)
        return EXIT_INPUT
    summary = pd.read_csv(path / "summary.csv").set_index("metric")
    cur = summary.loc["total_cost", "unit"]
    led = pd.read_csv(path / "ledger.csv")
    print(f"What the plan's constraints cost ({len(led)} binding limits; the {min(top, len(led))} that cost the most):")
    for sentence in led["sentence"].head(top):
        print(f"  - {sentence}")
    if (path / "pnl.csv").exists():
        pnl = pd.read_csv(path / "pnl.csv")
        print(f"The plan's P&L for the year ({cur}):")
        for line, kind, year in zip(pnl["line"], pnl["kind"], pnl["year"]):
            shown = f"{year:.1%}" if kind == "percent" else f"{year:,.0f}"
            print(f"  {line:<58}{shown:>16}")
    return EXIT_OK


def _settle(folder: str, stop) -> int:
    """``aop explain DIR --exact``: settle the plan's what-ifs (``explain.settle``) and say so."""
    from pathlib import Path

    from .explain import NotSaved, settle

    if not (Path(folder) / "ledger.csv").exists():
        return EXIT_OK  # _explain says the folder holds no plan
    try:
        done = settle(folder, lambda m: print(f"aop: {m}", flush=True), stop)
    except NotSaved as err:
        print(f"aop: {err}", file=sys.stderr)
        return EXIT_INPUT
    except InputError as err:
        _print_problems(err)
        return EXIT_INPUT
    except SolveError as err:
        print(f"aop: the stored case did not solve again: {err}", file=sys.stderr)
        return EXIT_OTHER
    except KeyboardInterrupt as err:
        print(f"aop: stopped ({err or 'Ctrl+C'}); the plan folder is as it was", file=sys.stderr)
        return EXIT_OTHER
    short = f"; {done.left_out} stopped at the case's time limit" if done.left_out else ""
    print(f"aop: settled {done.what_ifs} what-ifs exactly in {done.seconds:.2f} s (no time budget{short}; the plan had left {done.were_left_out} out); "
          f"rewrote {len(done.written)} files in {folder} (the finance tables, summary, provenance, plan.xlsx and report.html: aop report {folder} --base B adds a comparison back)", flush=True)
    return EXIT_OK


def _base_plan(folder: str | None):
    """The tables of the plan in ``folder`` (for KPI changes), or an error message."""
    from pathlib import Path

    from .webreport import KPI_TABLES, read_plan_tables

    if folder is None:
        return None, ""
    if not (Path(folder) / "summary.csv").exists():
        return None, f"--base {folder}: the folder holds no plan (no summary.csv): solve a case into it first"
    return read_plan_tables(folder, KPI_TABLES), ""


def _report(folder: str, base: str | None) -> int:
    """Rebuild the browser reports of a results folder from its CSV tables."""
    from .webreport import rebuild

    try:
        written = rebuild(folder, base)
    except FileNotFoundError as err:
        print(f"aop: {err}", file=sys.stderr)
        return EXIT_INPUT
    except (KeyError, ValueError) as err:
        print(f"aop: {folder}: its tables are not ones aop wrote, or were changed ({type(err).__name__}: {err})", file=sys.stderr)
        return EXIT_INPUT
    for p in written:
        print(f"aop: wrote {p}")
    return EXIT_OK


def _buffers(args: argparse.Namespace) -> int:
    """Size safety stocks from variability; write the inventory sheet to paste back, the
    buffers and the comparison of two ways to cut inventory."""
    from pathlib import Path

    from .api import solve_model
    from .buffers import compare_cuts, inventory_sheet, proposed
    from .report import write_tables_file

    out = Path(args.out)
    if not 0.0 < args.cut < 1.0:
        print(f"aop: --cut {args.cut:g}: the share of safety-stock dollars to cut must be between 0 and 1 (0.10 is 10 %)", file=sys.stderr)
        return EXIT_INPUT
    if not out.parent.is_dir():
        print(f"aop: cannot write {out}: the folder {out.parent} does not exist", file=sys.stderr)
        return EXIT_INPUT
    if out.exists() and not args.force:
        print(f"aop: {out} already exists (--force replaces it)", file=sys.stderr)
        return EXIT_INPUT
    say = lambda m: print(f"aop: {m}", flush=True)
    solved = solve_model(args.case, progress=say)
    buffers = proposed(solved)
    say(f"sized {len(buffers)} buffers: {buffers['value'].sum():,.0f} {solved.built.case.currency} against {buffers['current_value'].sum():,.0f} now; comparing two ways to cut {args.cut:.0%} ...")
    compare = compare_cuts(solved, args.cut)
    write_tables_file({"inventory": inventory_sheet(solved, buffers), "buffers": buffers, "comparison": compare}, out)
    for row in compare.to_dict("records"):
        print(f"  - {row['approach']}: total cost {row['total_cost']:,.0f}, inventory {row['average_inventory_value']:,.0f} on average, "
              f"{row['short_of_original_targets_units']:,.0f} units short of today's targets, fill rate {row['fill_rate']:.2%}")
    print(f"aop: wrote {out} (sheet inventory: paste it over the case's inventory sheet)")
    return EXIT_OK


def _study(args: argparse.Namespace) -> int:
    """aop scenarios / sensitivity / compare: many plans from one built model per worker."""
    from pathlib import Path

    from .api import load_case
    from .report import write_study
    from .scenarios import read_scenarios, scenario_tables, solve_variants
    from .sensitivity import SHAPLEY_MAX, bridge_table, bridge_variants, kpi_changes, relabel_periods, sensitivity_table, sensitivity_variants
    from .solve import SolveOptions

    say = lambda m: print(f"aop: {m}", flush=True)
    if args.workers is not None and args.workers < 1:
        print("aop: --workers must be at least 1", file=sys.stderr)
        return EXIT_INPUT
    if args.engine == "dask" and importlib.util.find_spec("distributed") is None:
        print('aop: --engine dask needs Dask: pip install ".[dask]" in the project (or pip install "dask[distributed]")', file=sys.stderr)
        return EXIT_INPUT
    if args.command == "compare":
        case, b = load_case(args.case_a), load_case(args.case_b)
        if case.period_names != b.period_names:
            try:
                case = relabel_periods(case, b.period_names)
            except ValueError as err:
                print(f"aop: {err}", file=sys.stderr)
                return EXIT_INPUT
            say(f"plan A's periods are read as plan B's, in order ({case.period_names[0]} ... {case.period_names[-1]})")
        variants, drivers, shapley = bridge_variants(case, b)
        if not drivers:
            say("the two plans have the same inputs: nothing to bridge")
        title = f"{Path(args.case_a).name} to {Path(args.case_b).name}"
    else:
        case = load_case(args.case)
        title = Path(args.case).name
        if args.command == "scenarios":
            variants = read_scenarios(case)
            if not variants:
                print(f"aop: {args.case} has no scenarios (add a scenarios sheet: aop template shows its columns)", file=sys.stderr)
                return EXIT_INPUT
        else:
            if not 0 < args.step < 1:
                print(f"aop: --step {args.step:g}: the step must be between 0 and 1 (0.10 is 10 %)", file=sys.stderr)
                return EXIT_INPUT
            variants = sensitivity_variants(case, args.step)
    _warn(case.warnings)
    opts = SolveOptions.from_settings(case.settings, **({"solver": args.solver} if args.solver else {}))
    if args.command == "sensitivity" and not args.all:
        return _proven(args, case, opts, title, say)
    say(f"solving {len(variants) + 1} plans ({args.engine}{f', {args.workers} workers' if args.workers else ''}) ...")
    results = solve_variants(case, variants, opts, engine=args.engine, workers=args.workers, scheduler=args.scheduler, progress=say)
    cur = case.currency
    if args.command == "scenarios":
        tables = scenario_tables(results, cur)
        base = results.iloc[0]
        for r in results.iloc[1:].to_dict("records"):
            if r["status"] != "optimal":
                print(f"  - {r['variant']}: {r['status']}")
                continue
            print(f"  - {r['variant']}: cash cost-to-serve {r['cash_cost_to_serve'] - base['cash_cost_to_serve']:+,.0f} {cur}, margin {r['contribution_margin'] - base['contribution_margin']:+,.0f}, "
                  f"revenue lost {r['revenue_lost']:,.0f}, fill rate {r['fill_rate']:.2%}, premium freight {r['premium_freight_spend']:,.0f} ({r['how']}, {r['seconds']:.1f} s)")
        for r in tables["playbook"].to_dict("records"):
            print(f"  - {r['scenario']}, {r['actions']}: against the shock alone, {r['total_cost_protected']:+,.0f} {cur} of total cost protected "
                  f"({r['cash_cost_protected']:+,.0f} cash cost-to-serve, {r['margin_protected']:+,.0f} margin, {r['revenue_protected']:+,.0f} revenue)")
    elif args.command == "sensitivity":
        table = sensitivity_table(results, args.top)
        done = scenario_tables(results, cur)
        tables = {"sensitivity": table, "base_kpis": done["comparison"][["kpi", "unit", "base"]], "runs": done["runs"]}
        print(f"aop: the {min(args.top, len(table))} assumptions the plan is most sensitive to (a {args.step:.0%} step down / up, re-solved; margin, then cash cost-to-serve):")
        for r in table.head(args.top).to_dict("records"):
            print(f"  {r['rank']}. {r['group']}: margin {r['margin_down']:+,.0f} / {r['margin_up']:+,.0f} {cur}; cash cost-to-serve {r['cost_down']:+,.0f} / {r['cost_up']:+,.0f} "
                  f"(the prices predicted total cost {r['predicted_total_cost_down']:+,.0f} / {r['predicted_total_cost_up']:+,.0f}, re-solved {r['total_cost_down']:+,.0f} / {r['total_cost_up']:+,.0f})")
    else:
        bridge = bridge_table(results, drivers, shapley)
        tables = {"kpi_changes": kpi_changes(results, drivers, cur), "bridge": bridge, "runs": scenario_tables(results, cur)["runs"]}
        how = f"the Shapley average over every order of the {len(drivers)} drivers" if shapley else f"switched in this order (more than {SHAPLEY_MAX} drivers: no Shapley average)"
        by = f"; by driver ({how}):" if drivers else " (no driver differs)"
        print(f"aop: total cost {bridge['total_cost'].iloc[0]:,.0f} -> {bridge['total_cost'].iloc[-1]:,.0f} {cur}{by}")
        col = "total_cost_shapley" if shapley else "total_cost_in_order"
        for r in bridge.iloc[1:-1].to_dict("records"):
            print(f"  - {r['driver']}: {r[col]:+,.0f} {cur} (in order: {r['total_cost_in_order']:+,.0f})")
    paths = write_study(args.command, tables, args.out, cur, title)
    print(f"aop: wrote {len(paths)} files to {args.out} ({args.command}.xlsx, {args.command}.html and one CSV per table)")
    return EXIT_OK


def _proven(args: argparse.Namespace, case, opts, title: str, say) -> int:
    """aop sensitivity: the top assumption groups by total-cost swing, proven (``sensitivity.proven_sensitivity``)."""
    import os

    from .report import write_study
    from .scenarios import scenario_tables
    from .sensitivity import proven_sensitivity

    cur = case.currency
    say(f"solving the base, then each assumption group a {args.step:.0%} step down and up, re-solving only what the bounds cannot settle ...")
    run = proven_sensitivity(case, args.step, args.top, opts, progress=say, workers=args.workers or os.cpu_count() or 1)
    table = run.table
    done = scenario_tables(run.results, cur)
    tables = {"sensitivity": table, "base_kpis": done["comparison"][["kpi", "unit", "base"]], "runs": done["runs"]}
    top = table[table["matters"]]
    others = table[~table["matters"]]
    print(f"aop: the {len(top)} assumptions the plan's total cost is most sensitive to (a {args.step:.0%} step down / up), proven with {run.resolves} of {run.steps} steps re-solved in {run.seconds:.1f} s:")
    for r in top.to_dict("records"):
        margin = f"; margin {r['margin_down']:+,.0f} / {r['margin_up']:+,.0f}" if r["margin_down"] == r["margin_down"] and r["margin_up"] == r["margin_up"] else ""
        print(f"  {r['rank']}. {r['group']}: total cost {r['total_cost_down']:+,.0f} / {r['total_cost_up']:+,.0f} {cur} (swing {r['total_cost_swing']:,.0f}){margin}")
    kept = others[(others["how_down"].astype(str).str.startswith("the base plan")) & (others["margin_swing"] > 0.5)]
    for r in kept.to_dict("records"):
        print(f"  - {r['group']}: the plan stays the same (total cost unchanged), the margin moves {r['margin_down']:+,.0f} / {r['margin_up']:+,.0f} {cur}")
    bounded = others[others["exact"] == "bounded"]
    if len(bounded):
        print(f"aop: {len(bounded)} other groups were bounded, not re-solved: each swing is at most {bounded['swing_high'].max():,.0f} {cur}, below the top {len(top)}'s smallest ({top['total_cost_swing'].min():,.0f})")
    paths = write_study(args.command, tables, args.out, cur, title)
    print(f"aop: wrote {len(paths)} files to {args.out} ({args.command}.xlsx, {args.command}.html and one CSV per table)")
    return EXIT_OK


def _stochastic(args: argparse.Namespace, stop=None) -> int:
    """aop stochastic: the two-stage plan over the case's futures, written as a study."""
    from pathlib import Path

    from .api import load_case
    from .report import write_study
    from .solve import SolveOptions
    from .stochastic import ALPHA, plan_for_futures

    alpha = ALPHA if args.cvar is None else args.cvar
    if not 0 <= alpha < 1:
        print(f"aop: --cvar {alpha:g}: ALPHA must be at least 0 and below 1 (0.9: the mean of the worst 10 %)", file=sys.stderr)
        return EXIT_INPUT
    if not 0 <= args.weight <= 1:
        print(f"aop: --weight {args.weight:g}: LAMBDA must be between 0 and 1", file=sys.stderr)
        return EXIT_INPUT
    say = lambda m: print(f"aop: {m}", flush=True)
    case = load_case(args.case)
    _warn(case.warnings)
    opts = SolveOptions.from_settings(case.settings, stop=stop, **({"solver": args.solver} if args.solver else {}))
    if args.engine == "mpi":
        from .stochastic import decompose_case
        from .stochastic_mpi import missing

        if (need := missing()) is not None:
            print(f"aop: {need}", file=sys.stderr)
            return EXIT_INPUT
        if args.weight:
            print("aop: --engine mpi plans for the expected cost: --weight (CVaR) needs the extensive form (--engine ef)", file=sys.stderr)
            return EXIT_INPUT
        say(f"decomposing the plan by mpi-sppy's L-shaped method on {args.ranks} rank{'s' if args.ranks != 1 else ''} ...")
        try:
            result, tables = decompose_case(case, opts, ranks=args.ranks)
        except ValueError as err:
            print(f"aop: {err}", file=sys.stderr)
            return EXIT_INPUT
        except RuntimeError as err:
            print(f"aop: the decomposition failed: {err}", file=sys.stderr)
            return EXIT_OTHER
        print(f"aop: expected total cost between {result.lower_bound:,.2f} and {result.upper_bound:,.2f} {case.currency} (gap {result.gap:.4%}; {result.method}, {result.iterations} iterations, {result.ranks} ranks, {result.seconds:.1f} s)")
        paths = write_study("stochastic", tables, args.out, case.currency, Path(args.case).name)
        print(f"aop: wrote {len(paths)} files to {args.out}")
        return EXIT_OK
    plan = plan_for_futures(case, opts, alpha, args.weight, progress=say)
    cur = case.currency
    money = lambda v: "infinite" if not math.isfinite(v) else f"{v:,.0f} {cur}"
    print(f"aop: one plan for {len(plan.tables['futures'])} futures: expected total cost {money(plan.expected_cost)}; in hindsight {money(plan.wait_and_see)} (EVPI {money(plan.evpi)})")
    print(f"aop: committing to the average future's plan would cost {money(plan.average_plan_cost)} in expectation (VSS {money(plan.vss)})"
          + (f": it cannot be carried out in {', '.join(plan.average_fails_in)}" if plan.average_fails_in else ""))
    print(f"aop: CVaR {plan.alpha:.0%} (the mean of the worst {1 - plan.alpha:.0%} of outcomes) {money(plan.cvar)}")
    for r in plan.tables["options"].to_dict("records"):
        bought = f"reserve {r['reserved']:,.0f} of {r['max_reserve']:,.0f}" if r["reserved"] > 1e-9 else "not worth its fee"
        print(f"  - option {r['option']}: {bought}; one unit reserved saves {r['value_per_unit']:,.2f} {cur} against a fee of {r['fee_per_unit']:,.2f}; net value {money(r['net_value'])}")
    for r in plan.tables["commitments"].to_dict("records"):
        print(f"  - commitment {r['commitment']}: {r['decisions']} decisions, {r['committed_units']:,.0f} units; free to change it in each future would save {money(r['value_of_flexibility'])}")
    paths = write_study("stochastic", plan.tables, args.out, cur, Path(args.case).name)
    print(f"aop: wrote {len(paths)} files to {args.out} (stochastic.xlsx, stochastic.html and one CSV per table)")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # first: --help and a wrong flag need none of the heavy imports below
    from .solve import Stop  # HiGHS, pandas and scipy: about 0.6 s

    stop = Stop()
    previous = _stop_on_signals(stop)
    try:
        return _run(args, stop)
    finally:
        for sig, handler in previous.items():  # main() called in-process (a notebook, a test) leaves no trace
            signal.signal(sig, handler)


def _run(args: argparse.Namespace, stop=None) -> int:
    if args.command == "template":
        from .template import write_template

        try:
            write_template(args.path, force=args.force)
        except (FileExistsError, OSError) as err:
            print(f"aop: {err}", file=sys.stderr)
            return EXIT_INPUT
        print(f"aop: wrote the blank case template {args.path}")
        return EXIT_OK
    if args.command == "explain":
        if args.exact and (code := _settle(args.dir, stop)) != EXIT_OK:
            return code
        return _explain(args.dir, args.top)
    if args.command == "report":
        return _report(args.dir, args.base)
    from .api import check_case, load_case, plan_of, solve_model
    from .report import PlanWriter

    case = None
    timings: dict[str, float] = {}
    try:
        if args.command == "validate":
            case, built = check_case(args.case)
            _warn([*case.warnings, *built.warnings])
            for fam, key, lim in built.empty_rows[:MAX_PRINTED]:
                print(f"aop: warning: no plan can meet {fam} {key}: it requires {lim:g} but nothing in the network can contribute to it", file=sys.stderr)
            from .scenarios import read_scenarios

            scenarios = read_scenarios(case)
            if any(not case.table(t).empty for t in ("probabilities", "commitments", "options")):
                from .stochastic import read_study

                read_study(case)  # aop stochastic's tables: every problem, as aop stochastic would say it
            print(f"aop: {args.case} is valid ({f'{len(scenarios)} scenario plans, ' if scenarios else ''}{len(case.demand)} demand rows, {len(case.lanes)} lanes, {len(case.periods)} periods; {built.lp.num_col:,} variables, {built.lp.num_row:,} rows)")
            return EXIT_OK
        if args.command == "buffers":
            return _buffers(args)
        if args.command in ("scenarios", "sensitivity", "compare"):
            return _study(args)
        if args.command == "stochastic":
            return _stochastic(args, stop)
        base, problem = _base_plan(args.base)
        if problem:
            print(f"aop: {problem}", file=sys.stderr)
            return EXIT_INPUT
        case = load_case(args.case, timings)
        _warn(case.warnings)
        print(f"aop: read and validated {args.case} in {timings['read'] + timings['validate']:.2f} s", flush=True)
        say = lambda m: print(f"aop: {m}", flush=True)
        solved = solve_model(case, timings, say, solver=args.solver, time_limit=args.time_limit, threads=args.threads, log=args.log, backend=args.backend, stop=stop)
        # The plan's own tables are written while the finance view re-solves (PlanWriter).
        with PlanWriter(args.out, **({"max_sheet_rows": args.sheet_rows} if args.sheet_rows else {})) as writer:
            plan = plan_of(solved, timings, tables_ready=writer.start, **({} if args.what_if_seconds is None else {"what_if_seconds": max(0.0, args.what_if_seconds)}))
            paths = writer.write(plan, timings=timings, base=base, base_label=args.base if base is not None else "")
    except InputError as err:
        _print_problems(err)
        return EXIT_INPUT
    except SolveError as err:
        print(f"aop: no plan: {err}", file=sys.stderr)
        report = err.report
        for line in report.lines() if hasattr(report, "lines") else [str(report)] if report else []:
            print(f"aop: {line}", file=sys.stderr)
        if args.command == "solve":
            from .report import write_no_plan
            from .results import provenance

            record = provenance(case, err.solver, err.options, timings=timings) if case is not None else None
            written = write_no_plan(err.status, err.detail, report, args.out, record)
            print(f"aop: wrote {', '.join(p.name for p in written)} to {args.out}", file=sys.stderr)
        return EXIT_NO_PLAN if err.status in ("infeasible", "unbounded", "time_limit") else EXIT_OTHER
    except KeyboardInterrupt as err:
        print(f"aop: stopped ({err or 'Ctrl+C'})", file=sys.stderr)
        return EXIT_OTHER
    except Exception as err:
        print(f"aop: unexpected error: {type(err).__name__}: {err}", file=sys.stderr)
        return EXIT_OTHER
    for note in plan.notes:
        print(f"aop: note: {note}", file=sys.stderr)
    s = plan.summary.set_index("metric")["value"]
    cur = plan.currency
    print(f"aop: optimal plan, total cost {float(s['total_cost']):,.2f} {cur}; revenue {float(s['revenue']):,.2f} {cur}; fill rate {float(s['fill_rate']):.1%}")
    print(f"aop: premium freight {float(s['premium_freight_spend']):,.2f} {cur}; solved by {s['solver']} ({s['algorithm']}) in {float(s['solve_seconds']):.2f} s")
    top = plan.shadow_prices
    top = top[top["constraint"].isin([n for n, f in solved.built.families.items() if f.lever])]
    top = top.reindex(top["shadow_price"].abs().sort_values(ascending=False).index).head(5)
    if len(top):
        print("aop: most costly binding limits:")
        for m in top["meaning"]:
            print(f"  - {m}")
    ledger = plan.tables.get("ledger")
    if ledger is not None and len(ledger):
        print(f"aop: what the limits cost the year (all {len(ledger)} in the ledger: aop explain {args.out}):")
        for m in ledger["sentence"].head(3):
            print(f"  - {m}")
    if "what_ifs_left_out" in s and float(s["what_ifs_left_out"]) > 0:
        print(f"aop: {int(float(s['what_ifs_left_out']))} what-if re-solves of the finance view were left out once their time was spent ({int(float(s['what_if_resolves']))} ran; their figures stay proven bounds: aop explain {args.out} --exact settles them, --what-if-seconds gives them more time)")
    print(f"aop: wrote {len(paths)} files to {args.out} in {timings['write']:.2f} s (plan.xlsx, report.html and one CSV per table)")
    if args.verbose:
        print("aop: stage timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
