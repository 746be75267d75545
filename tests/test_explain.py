"""`aop explain DIR --exact`: a plan written with its what-ifs left out is re-opened from the
basis and case saved with it (not solved again) and its what-ifs settled, equal to a plan
given all the time it needed; a folder that cannot be re-opened is refused with a clear
message."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from aop import plan_of, reopen, solve_model
from aop import whatifs as W
from aop.cli import main
from aop.explain import reopen_plan
from aop.reopen import BASIS_FILE, reopened
from aop.report import PLAN_FILES

from tests.conftest import small_case, write_csvs, write_xlsx

FINANCE = [*W.FINANCE_TABLES, "bottlenecks"]


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> dict[str, Path]:
    """The small case (a workbook and a CSV folder) solved with no what-if time."""
    d = tmp_path_factory.mktemp("explain")
    book, folder = write_xlsx(small_case(), d / "c.xlsx"), write_csvs(small_case(), d / "csv")
    out = {"none": d / "none", "none_csv": d / "none_csv"}
    assert main(["solve", str(book), "--out", str(out["none"]), "--what-if-seconds", "0"]) == 0
    assert main(["solve", str(folder), "--out", str(out["none_csv"]), "--what-if-seconds", "0"]) == 0
    return out


@pytest.fixture(scope="module")
def given_the_time() -> dict[str, pd.DataFrame]:
    """The small case's plan with all the time its what-ifs need."""
    plan = plan_of(solve_model(small_case()), what_if_seconds=1000)
    assert plan.metric("what_ifs_left_out") == 0
    return plan.tables


def _copy(src: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(src, tmp_path / src.name))


def test_exact_settles_what_ifs_left_out_as_a_plan_given_the_time(plans, given_the_time, tmp_path, capsys):
    out = _copy(plans["none"], tmp_path)
    before = pd.read_csv(out / "ledger.csv")
    bounded = before["exact"] == "bounded"
    assert bounded.any() and before.loc[bounded, "value_of_step"].isna().all()  # left at its bounds
    capsys.readouterr()
    assert main(["explain", str(out), "--exact"]) == 0
    printed = capsys.readouterr().out
    assert "(0 simplex iterations)" in printed and "settled" in printed and "What the plan's constraints cost" in printed
    after = pd.read_csv(out / "ledger.csv")
    assert after.loc[after["re_solved"] == "yes", "value_of_step"].notna().all() and (after["re_solved"] == "yes").any()
    assert (after["exact"] != "bounded").all()  # every entry settled, not only the top ones
    for name in FINANCE:
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{name}.parquet"), given_the_time[name], rtol=1e-6, check_dtype=False, obj=name)
    pd.testing.assert_frame_equal(pd.read_csv(out / "ledger.csv"), pd.read_parquet(out / "ledger.parquet"), rtol=1e-12, check_dtype=False)
    summary = pd.read_csv(out / "summary.csv").set_index("metric")["value"]
    assert float(summary["what_ifs_left_out"]) == 0 and float(summary["what_if_resolves"]) > 0
    ledger_sheet = pd.read_excel(out / "plan.xlsx", sheet_name="ledger", header=None)
    assert ledger_sheet.astype(str).apply(lambda c: c.str.contains("would save|would cost")).any().any()
    assert "not re-solved: the what-if time was spent" not in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(("kind", "stored"), [("none", "solved_case.xlsx"), ("none_csv", "solved_case.zip")])
def test_the_saved_basis_is_the_optimal_one(plans, kind, stored):
    assert (plans[kind] / BASIS_FILE).exists() and (plans[kind] / stored).exists()
    with reopened(plans[kind]) as (saved, case):
        solved = reopen_plan(plans[kind], saved, case)
    assert solved.optimum.algorithm == "simplex (warm)" and solved.optimum.iterations["simplex"] == 0
    assert solved.optimum.objective == pytest.approx(saved.objective, rel=1e-12)


def _no_basis(out: Path) -> None:
    (out / BASIS_FILE).unlink()


def _edited_case(out: Path) -> None:
    book = out / "solved_case.xlsx"
    book.write_bytes(book.read_bytes() + b"\0")


def _other_model(out: Path) -> None:
    with np.load(out / BASIS_FILE) as z:
        kept = dict(z)
    np.savez_compressed(out / BASIS_FILE, **{**kept, "model": np.array("0" * 64)})


@pytest.mark.parametrize(("spoil", "words"), [(_no_basis, "holds no saved basis and case"), (_edited_case, "is not the workbook the plan was solved from"), (_other_model, "builds a different model")])
def test_a_plan_that_cannot_be_reopened_is_refused_and_left_as_it_was(plans, tmp_path, capsys, spoil, words):
    out = _copy(plans["none"], tmp_path)
    spoil(out)
    ledger = (out / "ledger.csv").read_bytes()
    capsys.readouterr()
    assert main(["explain", str(out), "--exact"]) == 2
    err = capsys.readouterr().err
    assert words in err and "solve the case again" in err and "Traceback" not in err
    assert (out / "ledger.csv").read_bytes() == ledger


def test_a_basis_highs_refuses_is_solved_cold_and_said(plans, given_the_time, tmp_path, capsys):
    out = _copy(plans["none"], tmp_path)
    with np.load(out / BASIS_FILE) as z:
        kept = dict(z)
    np.savez_compressed(out / BASIS_FILE, **{**kept, "col_status": kept["col_status"][:-1]})  # one column short
    capsys.readouterr()
    assert main(["explain", str(out), "--exact"]) == 0
    assert "HiGHS refused the saved basis: solved cold" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_parquet(out / "ledger.parquet"), given_the_time["ledger"], rtol=1e-6, check_dtype=False)


def test_a_plan_of_tables_in_memory_saves_no_basis_and_a_later_plan_drops_an_earlier_one(tmp_path):
    model = solve_model(small_case())
    plan = plan_of(model, finance=False)
    assert plan.basis is not None and plan.basis.model == model.lp.fingerprint()
    assert reopen.store(plan.basis, plan.tables["provenance"], tmp_path) == [] and not list(tmp_path.iterdir())
    assert reopen.FILES <= PLAN_FILES  # so a plan written without them removes an earlier plan's
