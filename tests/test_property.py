"""Property: any broken case gives an InputError (exit 2), a SolveError (exit 3) or a valid plan,
never another exception (a traceback)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from aop import InputError, SolveError, solve_case
from aop.results import COST_COMPONENTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import small_case

NASTY = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.integers(-(10**7), 10**7),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(["PL1", "DC1", "C1", "C2", "A", "B", "LINE", "2027-01", "plant", "dc", "supplier", "-1", "1e400", "=A1", " ", "0", "1,5", "true"]),
)


@st.composite
def broken_cases(draw):
    t = small_case()
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(sorted(t)))
        df = t[name].astype(object)
        action = draw(st.sampled_from(["cell", "cell", "cell", "drop_row", "drop_column", "drop_table", "duplicate_row"]))
        if action == "cell" and len(df):
            r = draw(st.integers(0, len(df) - 1))
            c = draw(st.sampled_from(list(df.columns)))
            df.iloc[r, df.columns.get_loc(c)] = draw(NASTY)
        elif action == "drop_row" and len(df):
            df = df.drop(index=df.index[draw(st.integers(0, len(df) - 1))])
        elif action == "drop_column":
            df = df.drop(columns=draw(st.sampled_from(list(df.columns))))
        elif action == "duplicate_row" and len(df):
            df = pd.concat([df, df.iloc[[draw(st.integers(0, len(df) - 1))]]], ignore_index=True)
        elif action == "drop_table":
            t.pop(name)
            continue
        t[name] = df.reset_index(drop=True)
    return t


@given(broken_cases())
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
def test_broken_cases_never_crash(tables):
    try:
        plan = solve_case(tables)
    except InputError as err:
        # Every problem says where it is and what is wrong.
        assert err.problems and all(p.where and p.message for p in err.problems)
        return
    except SolveError as err:
        assert err.status in ("infeasible", "unbounded", "time_limit") and err.detail
        return
    # A plan from a broken case is still a plan: its costs add up, its figures are in range.
    assert plan.status == "optimal" and math.isfinite(plan.total_cost)
    assert sum(plan.metric(c) for c in COST_COMPONENTS) == pytest.approx(plan.total_cost, rel=1e-6, abs=1e-6)
    fill = plan.metric("fill_rate")
    assert math.isnan(fill) or -1e-9 <= fill <= 1 + 1e-9
    for name in ("production", "shipments", "inventory"):
        numbers = plan.tables[name].select_dtypes("number")
        assert (numbers.fillna(0) >= -1e-6).all().all(), name
