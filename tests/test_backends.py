"""The matrix back end and the Pyomo model describe the same LP."""

from __future__ import annotations

import numpy as np
import pytest
from aop import load_case, solve_case
from aop.build import build
from aop.pyomo_backend import compile_pyomo, pyomo_model

from scripts.generate_case import generate
from tests.conftest import small_case


@pytest.mark.parametrize(
    "tables",
    [small_case(), generate(products=12, plants=2, dcs=3, customers=8, periods=4, suppliers=1, seed=3)],
    ids=["small", "generated-with-suppliers-and-backorders"],
)
def test_pyomo_compiles_to_the_same_matrix(tables):
    built = build(load_case(tables))
    a, b = built.lp, compile_pyomo(built)
    assert (a.A != b.A).nnz == 0
    np.testing.assert_array_equal(a.c, b.c)
    np.testing.assert_array_equal(a.row_lower, b.row_lower)
    np.testing.assert_array_equal(a.row_upper, b.row_upper)
    assert solve_case(tables).total_cost == pytest.approx(solve_case(tables, backend="pyomo").total_cost, rel=1e-9)


def test_pyomo_model_is_indexed_by_business_keys():
    m, _ = pyomo_model(build(load_case(small_case())))
    assert ("PL1", "LINE", "2027-01") in m.capacity
    assert ("PL1", "DC1", "truck", "A", "2027-01") in m.ship
    assert m.capacity["PL1", "LINE", "2027-01"].upper == 140.0


def test_solver_choice_from_settings_or_options_gives_the_same_plan_prices():
    import pandas as pd

    tables = small_case()
    simplex = solve_case(tables, solver="simplex")
    tables["settings"] = pd.DataFrame({"key": ["currency", "solver", "threads", "random_seed"], "value": ["EUR", "ipx", "1", "3"]})
    ipm = solve_case(tables)
    assert ipm.summary.set_index("metric").loc["algorithm", "value"] == "ipx"
    assert ipm.total_cost == pytest.approx(simplex.total_cost, rel=1e-9)
    # Crossover ends on a basis: binding rows and their prices agree with simplex.
    a = simplex.shadow_prices.set_index(["constraint", "period"]).query("constraint == 'capacity'")["shadow_price"]
    b = ipm.shadow_prices.set_index(["constraint", "period"]).query("constraint == 'capacity'")["shadow_price"]
    pd.testing.assert_series_equal(a.sort_index(), b.sort_index(), rtol=1e-6)
