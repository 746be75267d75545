"""Why a line binds (``aop.bottlenecks``): the load by product and month, the stock built ahead
because of the limit (against the plan re-solved without it), the months it protects and the
sentence, on a case solved by hand; the what-if time; a family added at run time; the sheet,
the page and the CSV."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from aop import forks, load_case, solve_case, solve_model
from aop import plan as plan_module
from aop.bottlenecks import COLUMNS, bottlenecks, sentences
from aop.build import build
from aop.families import FAMILIES
from aop.plan import assemble
from aop.solve import solve
from aop.whatifs import WhatIfs

PER = ["2027-01", "2027-02", "2027-03", "2027-04"]
#: Holding a unit (worth 10, 12 % a year) for a 30-day month.
HOLD = 10.0 * 0.12 * 30 / 365


def line_case(hours: float = 100.0) -> dict[str, pd.DataFrame]:
    """One plant, one line of ``hours`` a month, A (1 hour a unit) and B (2 hours), both worth
    10 and held at 12 % a year, made at 1 a unit, sold at 100 (lost sales cost the price).
    Demand A 20, 20, 50, 50 and B 20, 20, 40, 40: 60, 60, 130, 130 hours against 100."""
    return {
        "periods": pd.DataFrame({"period": PER, "days": [30.0] * 4}),
        "products": pd.DataFrame({"product": ["A", "B"], "unit_value": [10.0, 10.0], "price": [100.0, 100.0], "holding_rate": [0.12, 0.12]}),
        "sites": pd.DataFrame({"site": ["PL"], "kind": ["plant"]}),
        "customers": pd.DataFrame({"customer": ["C"]}),
        "demand": pd.DataFrame({"product": ["A"] * 4 + ["B"] * 4, "customer": ["C"] * 8, "period": PER * 2, "quantity": [20.0, 20.0, 50.0, 50.0, 20.0, 20.0, 40.0, 40.0]}),
        "production": pd.DataFrame({"site": ["PL", "PL"], "product": ["A", "B"], "unit_cost": [1.0, 1.0]}),
        "routings": pd.DataFrame({"site": ["PL", "PL"], "product": ["A", "B"], "resource": ["LINE", "LINE"], "hours_per_unit": [1.0, 2.0]}),
        "capacity": pd.DataFrame({"site": ["PL"], "resource": ["LINE"], "period": [None], "hours": [hours]}),
        "lanes": pd.DataFrame({"origin": ["PL"], "destination": ["C"], "mode": ["truck"]}),
    }


def test_the_line_builds_b_ahead_in_january_and_february_for_march_and_april():
    # By hand: March and April need 30 hours more than the line has, 60 in all; February has 40
    # to spare and January 40. Building as late as possible, February gives all 40 and January
    # 20. Whatever is built ahead, the hour-months held are fixed (30 x 3 + 30 x 4 - 20 x 1 -
    # 40 x 2 = 110); B holds half as much value per hour as A (2 hours a unit), so all of it is
    # B: 10 units at January's end, 30 at February's, 15 at March's (15 drawn), 0 (15 drawn).
    # Without the limit each month makes its own demand and holds nothing.
    model = solve_model(line_case())
    assert model.optimum.objective == pytest.approx(260.0 + 55 * HOLD)  # 260 units made at 1
    t = bottlenecks(model)
    assert list(t.columns) == COLUMNS and set(t["object"]) == {"LINE at PL"}
    assert (t["relaxed"] == "yes").all() and (t["unit"] == "hours").all()
    by = t.set_index(["product", "period"])
    assert by["load"].to_dict() == pytest.approx({
        ("A", "2027-01"): 20.0, ("A", "2027-02"): 20.0, ("A", "2027-03"): 50.0, ("A", "2027-04"): 50.0,
        ("B", "2027-01"): 60.0, ("B", "2027-02"): 80.0, ("B", "2027-03"): 50.0, ("B", "2027-04"): 50.0,
    })
    per = t.drop_duplicates("period").set_index("period")
    assert per["used"].tolist() == pytest.approx([80.0, 100.0, 100.0, 100.0])
    assert per["limit"].tolist() == [100.0] * 4
    assert per["utilization"].tolist() == pytest.approx([0.8, 1.0, 1.0, 1.0])
    assert per["at_limit"].tolist() == [False, True, True, True]  # January has 20 hours to spare
    assert by.loc["B", "build_ahead"].tolist() == pytest.approx([10.0, 30.0, 15.0, 0.0])
    assert by.loc["A", "build_ahead"].tolist() == [0.0] * 4
    assert by.loc["B", "drawn_down"].tolist() == pytest.approx([0.0, 0.0, 15.0, 15.0])
    assert by.loc["B", "held_at"].tolist() == ["PL 10.00", "PL 30.00", "PL 15.00", ""]
    assert sentences(t) == ["LINE at PL runs at its limit from February; it builds 30 units ahead for March-April, all B, waiting at PL."]
    # The model is its own plan again after the what-if.
    assert model.optimum.objective == pytest.approx(260.0 + 55 * HOLD)


def test_a_line_with_room_is_no_bottleneck_and_one_that_cannot_build_ahead_says_so():
    # 140 hours a month: nothing binds (at 130, March and April would be at the limit, where
    # one hour less costs: a one-sided price, and a bottleneck).
    assert bottlenecks(solve_model(line_case(140.0))).empty
    # 65 hours: January and February have 5 to spare, March and April lack 65 each. A lost unit
    # costs its price, 100: 100 an hour of A, 50 of B, so March and April make all their A and
    # lose B. The 10 spare hours build 5 B ahead (2.5 in each month; an hour of A ahead would
    # save the same 50 but holds twice the value), and all 5 go in March, the sooner the
    # cheaper to hold: at the months' ends 2.5, 5, 0, 0.
    t = bottlenecks(solve_model(line_case(65.0)))
    b = t[t["product"] == "B"].set_index("period")
    assert t["at_limit"].all()  # every month is short
    assert b["load"].tolist() == pytest.approx([45.0, 45.0, 15.0, 15.0])
    assert b["build_ahead"].tolist() == pytest.approx([2.5, 5.0, 0.0, 0.0])
    assert b["drawn_down"].tolist() == pytest.approx([0.0, 0.0, 5.0, 0.0])
    assert sentences(t) == ["LINE at PL runs at its limit from January; it builds 5 units ahead for March, all B, waiting at PL."]


def test_with_no_what_if_time_left_the_build_ahead_is_not_guessed():
    t = bottlenecks(solve_model(line_case()), WhatIfs(0.0))
    assert (t["relaxed"] == "no: the what-if time was spent").all()
    assert t["build_ahead"].isna().all() and t["drawn_down"].isna().all()
    assert t["load"].sum() == pytest.approx(380.0)  # the load needs no re-solve
    assert sentences(t) == ["LINE at PL runs at its limit from February; what it builds ahead was not measured (the what-if time was spent)."]


def test_the_plan_carries_the_table_and_its_resolves_count_against_the_finance_view():
    plan = solve_case(line_case())
    t = plan.tables["bottlenecks"]
    assert sentences(t) == ["LINE at PL runs at its limit from February; it builds 30 units ahead for March-April, all B, waiting at PL."]
    assert plan.metric("what_if_resolves") >= 1
    without = assemble(solve_model(line_case()), finance=False)
    assert "bottlenecks" not in without.tables


def test_a_cap_of_the_plant_capacity_group_added_at_run_time_is_a_bottleneck():
    # A cap on B's production of 30 units a month, added to the registry at run time (the line
    # has 140 hours: room). B wants 20, 20, 40, 40: March and April lack 10 each, January and
    # February have 10 each to spare, so both build 10 ahead: 10, 20, 10, 0 at the months' ends.
    # Raised (to 120 a month), the cap lets each month make its own.
    from aop.lp import terms

    def b_cap(x):
        make = x.v["make"][x.v["make"]["product"] == "B"]
        k = ["site", "product", "period"]
        return terms(make, k), make[k].assign(limit=30.0)

    cap = replace(FAMILIES["production_max"], name="b_cap", build=b_cap, noun=lambda g: f"the cap on {g('product')} at {g('site')}", reads=None, limits=None, review=30)
    model = solve(build(load_case(line_case(140.0)), {**FAMILIES, "b_cap": cap}))
    t = bottlenecks(model)
    assert set(t["constraint"]) == {"b_cap"} and (t["unit"] == "units").all()
    b = t.set_index("period")
    assert b["load"].tolist() == pytest.approx([30.0] * 4)
    assert b["build_ahead"].tolist() == pytest.approx([10.0, 20.0, 10.0, 0.0])
    assert sentences(t) == ["The cap on B at PL runs at its limit from January; it builds 20 units ahead for March-April, all B, waiting at PL."]


def test_the_csv_the_sheet_and_the_page(tmp_path):
    from aop.report import write_plan
    from aop.webreport import bottleneck_figures, rebuild
    from openpyxl import load_workbook

    plan = solve_case(line_case())
    write_plan(plan, tmp_path)
    said = "LINE at PL runs at its limit from February; it builds 30 units ahead for March-April, all B, waiting at PL."
    back = pd.read_csv(tmp_path / "bottlenecks.csv")
    assert back["build_ahead"].sum() == pytest.approx(55.0) and set(back["sentence"]) == {said}
    ws = load_workbook(tmp_path / "plan.xlsx")["bottlenecks"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:4] == ("Bottleneck", "Measure", "Product", "2027-01")
    assert [r[0] for r in rows[-2:]] == ["Why the lines bind", said]
    grid = {r[:3]: r[3:7] for r in rows[1:6]}
    assert grid[("LINE at PL", "limit (hours)", "")] == (100, 100, 100, 100)
    assert grid[("LINE at PL", "load (hours)", "B")] == (60, 80, 50, 50)
    assert grid[("LINE at PL", "built ahead (units)", "B")] == (10, 30, 15, 0)
    # The chart: B's and A's load stacked, the limit, and the build-ahead on its own axis.
    fig = bottleneck_figures(plan.tables["bottlenecks"])[0]
    traces = {t["name"]: t for t in fig["data"]}
    assert list(traces) == ["B", "A", "limit", "built ahead (units)"]
    assert traces["built ahead (units)"]["y"] == pytest.approx([10.0, 30.0, 15.0, 0.0]) and traces["built ahead (units)"]["yaxis"] == "y2"
    # The page says it, and says it again when rebuilt from the CSVs alone.
    for _ in range(2):
        html = (tmp_path / "report.html").read_text()
        assert said in html and "LINE at PL: load by product against its limit" in html
        rebuild(tmp_path)


def test_the_docs_block_says_the_top_bottleneck_month_by_month():
    from aop.docs import bottlenecks_markdown

    text = bottlenecks_markdown(bottlenecks(solve_model(line_case())), PER)
    assert text.splitlines()[0] == "> LINE at PL runs at its limit from February; it builds 30 units ahead for March-April, all B, waiting at PL."
    assert text.splitlines()[4:] == [
        "| January | 100 | 80 |  | 10 | 0 |",
        "| February | 100 | 100 | yes | 30 | 0 |",
        "| March | 100 | 100 | yes | 15 | 15 |",
        "| April | 100 | 100 | yes | 0 | 15 |",
    ]


def test_the_build_ahead_waits_where_there_is_room():
    # The same line with a DC between it and the customer and no room at the plant (storage 0):
    # the stock built ahead waits at the DC, the same 10, 30, 15, 0 units of B.
    t = line_case()
    t["sites"] = pd.DataFrame({"site": ["PL", "DC"], "kind": ["plant", "dc"], "storage_capacity": [0.0, None]})
    t["lanes"] = pd.DataFrame({"origin": ["PL", "DC"], "destination": ["DC", "C"], "mode": ["truck", "truck"]})
    b = bottlenecks(solve_model(t))
    got = b[b["product"] == "B"].set_index("period")
    assert got["build_ahead"].tolist() == pytest.approx([10.0, 30.0, 15.0, 0.0])
    assert got["held_at"].tolist() == ["DC 10.00", "DC 30.00", "DC 15.00", ""]
    assert sentences(b) == ["LINE at PL runs at its limit from February; it builds 30 units ahead for March-April, all B, waiting at DC."]


def _in_child_only(parent: int, then):
    """A stand-in for ``bottlenecks`` that does ``then`` in a forked child and the real work in
    the parent."""
    import os

    def stand_in(*args, **kwargs):
        if os.getpid() != parent:
            then()
        return bottlenecks(*args, **kwargs)

    return stand_in


@pytest.mark.skipif(not forks.FORK, reason="children are forked on Linux only")
def test_the_bottlenecks_re_solved_in_a_child_beside_the_finance_view_are_those_re_solved_here(monkeypatch):
    alone = bottlenecks(solve_model(line_case()))
    made = []

    class Counted(forks.Child):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self.pid)

    monkeypatch.setattr(forks, "Child", Counted)
    plan = assemble(solve_model(line_case()), what_if_seconds=60.0)
    assert len(made) == 1 and made[0] > 0  # forked
    pd.testing.assert_frame_equal(plan.tables["bottlenecks"], alone)
    prov = plan.tables["provenance"].set_index("item")["value"]
    assert prov["bottlenecks re-solved"].startswith("in a child process") and plan.notes == []
    # The child's re-solves are counted with the finance view's own, as one process counts them.
    monkeypatch.setattr(forks, "FORK", False)
    in_turn = assemble(solve_model(line_case()), what_if_seconds=60.0)
    assert len(made) == 1 and in_turn.tables["provenance"].set_index("item")["value"]["bottlenecks re-solved"].startswith("in this process")
    assert plan.metric("what_if_resolves") == in_turn.metric("what_if_resolves") >= 2
    pd.testing.assert_frame_equal(in_turn.tables["bottlenecks"], alone)


@pytest.mark.skipif(not forks.FORK, reason="children are forked on Linux only")
def test_a_child_that_fails_or_overruns_is_ended_and_its_bottlenecks_are_worked_out_here(monkeypatch, tmp_path):
    import os
    import time

    model = solve_model(line_case())
    alone, none_left = bottlenecks(model), bottlenecks(model, WhatIfs(0.0))
    pids = tmp_path / "pids"

    def fail():
        pids.open("a").write(f"{os.getpid()}\n")
        raise RuntimeError("the child failed")

    def hang():
        pids.open("a").write(f"{os.getpid()}\n")
        time.sleep(600)

    monkeypatch.setattr(plan_module, "GRACE_SECONDS", 1.0)
    # A failed child's part is done here within the time; an overrun spends the time, so the
    # build-ahead is then said to be unmeasured, not guessed.
    for then, seconds, expected in ((fail, 30.0, alone), (hang, 2.0, none_left)):
        monkeypatch.setattr(plan_module, "bottlenecks", _in_child_only(os.getpid(), then))
        t0 = time.perf_counter()
        plan = assemble(solve_model(line_case()), what_if_seconds=seconds)
        assert time.perf_counter() - t0 < 30
        pd.testing.assert_frame_equal(plan.tables["bottlenecks"], expected)
        said = "RuntimeError: the child failed" if then is fail else "Late: the process re-solving the bottlenecks did not finish in time"
        assert plan.notes == [f"the bottlenecks were re-solved in this process, after the child process re-solving them failed ({said})"]
    children = [int(p) for p in pids.read_text().split()]
    assert len(children) == 2
    for pid in children:  # ended and reaped: no process left, not even a zombie
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
