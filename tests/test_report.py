"""Writing a plan's folder in parts side by side (``report.PlanWriter``): the plan's own tables
while the finance view runs, the page beside the workbook. The files are those a write in turn
makes, and a run that fails or is stopped on the way commits none of them."""

from __future__ import annotations

import io
import os
import re
import time
import zipfile
from pathlib import Path

import pytest
from aop import plan as plan_module
from aop import plan_of, report, solve_model
from aop.report import PlanWriter, write_plan

from tests.conftest import small_case


@pytest.fixture(scope="module")
def model():
    """The small case solved once for these tests (they read it)."""
    return solve_model(small_case())


def _previous_plan(out: Path) -> dict[str, bytes]:
    """A folder holding an earlier plan (a file of each kind a plan run replaces or removes)."""
    out.mkdir()
    for name in ("summary.csv", "production.parquet", "plan.xlsx", "no_plan.txt"):
        (out / name).write_text(f"the previous run's {name}")
    return _raw(out)


def _raw(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _files(folder: Path) -> dict[str, bytes]:
    """Every file of a folder, with what a write puts in at its own time taken out: the
    workbook's creation date and the page's 'page written' minute."""
    out = {}
    for p in sorted(folder.iterdir()):
        data = p.read_bytes()
        if p.name == "plan.xlsx":
            z = zipfile.ZipFile(io.BytesIO(data))
            data = b"".join(n.encode() + z.read(n) for n in z.namelist() if n != "docProps/core.xml")
        elif p.name == "report.html":
            data = re.sub(rb"page written [0-9: -]+UTC", b"", data)
        out[p.name] = data
    return out


def test_the_folder_written_beside_the_finance_view_is_the_one_written_after_it(model, tmp_path, monkeypatch):
    with PlanWriter(tmp_path / "side_by_side") as writer:
        plan = plan_of(model, what_if_seconds=0.0, tables_ready=writer.start)  # the finance tables without re-solves
        writer.write(plan)
    monkeypatch.setattr(report, "FORK", False)  # every part in this process, one after another
    write_plan(plan, tmp_path / "in_turn")
    a, b = _files(tmp_path / "side_by_side"), _files(tmp_path / "in_turn")
    assert list(a) == list(b) and {"plan.xlsx", "report.html", "production.csv", "ledger.csv", "production.parquet"} <= set(a)
    assert [n for n in a if a[n] != b[n]] == []


def test_a_finance_view_that_fails_commits_nothing_and_ends_the_writing(model, tmp_path, monkeypatch):
    out = tmp_path / "plan"
    before = _previous_plan(out)
    started = []

    def fails(*_args, **_kwargs):
        started.extend(c.pid for c in writer._children)
        raise RuntimeError("the finance view failed")

    monkeypatch.setattr(plan_module, "finance_tables", fails)
    for folder in (out, tmp_path / "new"):
        with pytest.raises(RuntimeError, match="finance view failed"), PlanWriter(folder) as writer:
            writer.write(plan_of(model, tables_ready=writer.start))
    assert _raw(out) == before and not list(out.glob(".aop-*"))
    assert not (tmp_path / "new").exists(), "a folder the run made stays only if it wrote its plan"
    if report.FORK:  # the tables' child and the workbook's, for each folder
        assert len(started) == 4 and all(started)
        for pid in started:  # ended and reaped: no process left, not even a zombie
            with pytest.raises(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)


def test_an_error_writing_the_tables_is_raised_and_nothing_is_committed(model, tmp_path, monkeypatch):
    out = tmp_path / "plan"
    before = _previous_plan(out)

    def full(*_args, **_kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(report, "inert_for_csv", full)  # the child writing the tables has it too
    with pytest.raises(OSError, match="No space left") as err, PlanWriter(out) as writer:
        writer.write(plan_of(model, what_if_seconds=0.0, tables_ready=writer.start))
    if report.FORK:
        assert "in the process writing the plan's files" in "".join(getattr(err.value, "__notes__", []))
    assert _raw(out) == before and not list(out.glob(".aop-*"))


@pytest.mark.parametrize("part", ["end_plan_workbook", "begin_plan_workbook"])
def test_an_error_in_the_workbook_s_child_is_raised_and_nothing_is_committed(model, tmp_path, monkeypatch, part):
    # Ending the book fails once the child is handed the rest; beginning it fails before, so the
    # child has ended (not yet reaped) when the parent hands it the rest: its own error is raised.
    out = tmp_path / "plan"
    before = _previous_plan(out)

    def broken(*_args, **_kwargs):
        raise ValueError("a sheet could not be written")

    monkeypatch.setattr(report, part, broken)  # the workbook's child has it too
    monkeypatch.setattr(report, "write_plan_workbook", broken)
    with pytest.raises(ValueError, match="could not be written") as err, PlanWriter(out) as writer:
        plan = plan_of(model, what_if_seconds=0.0, tables_ready=writer.start)
        if report.FORK and part == "begin_plan_workbook":
            stat = Path(f"/proc/{writer._book.pid}/stat")
            deadline = time.monotonic() + 30
            while stat.read_text().split(") ")[1][0] != "Z" and time.monotonic() < deadline:
                time.sleep(0.02)
        writer.write(plan)
    if report.FORK:
        assert "in the process writing the plan's files" in "".join(getattr(err.value, "__notes__", []))
    assert _raw(out) == before and not list(out.glob(".aop-*"))


def test_a_workbook_begun_with_other_sheet_rows_is_written_again_with_the_rows_asked(model, tmp_path, monkeypatch):
    with PlanWriter(tmp_path / "side_by_side", max_sheet_rows=3) as writer:
        plan = plan_of(model, what_if_seconds=0.0, tables_ready=writer.start)
        writer.write(plan, max_sheet_rows=5)
    monkeypatch.setattr(report, "FORK", False)
    write_plan(plan, tmp_path / "in_turn", max_sheet_rows=5)
    a, b = _files(tmp_path / "side_by_side"), _files(tmp_path / "in_turn")
    assert a["plan.xlsx"] == b["plan.xlsx"] and [n for n in a if a[n] != b[n]] == []
