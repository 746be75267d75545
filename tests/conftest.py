"""Shared fixtures: one small valid case that invalid cases are derived from by mutation, and
the bundled example solved once for the session (read it, never change it)."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "data" / "example.xlsx"

# Property tests: the full run in CI (CI=true, as .ci/run sets it: 100 examples each), a small one
# while developing.
# Derandomized and without a local database, so a run here is the run CI does.
settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("dev", max_examples=15, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def example_model():
    """The bundled example, solved once for the session (``solve.Solved``): tests read it."""
    from aop import solve_model

    return solve_model(EXAMPLE)


@pytest.fixture(scope="session")
def example_plan(example_model):
    """The bundled example's plan with its finance view, made once for the session."""
    from aop import plan_of

    return plan_of(example_model)


@pytest.fixture(scope="session")
def small_studies(tmp_path_factory) -> Path:
    """A sensitivity run of the small case and a comparison of it (a.xlsx) with itself at 10 %
    more demand (b.xlsx), one worker each, written once for the session into one folder:
    tests read it (copy it to change it)."""
    from aop.cli import main

    out = tmp_path_factory.mktemp("small_studies")
    a = write_xlsx(small_case(), out / "a.xlsx")
    grown = small_case()
    grown["demand"]["quantity"] = grown["demand"]["quantity"] * 1.1
    b = write_xlsx(grown, out / "b.xlsx")
    assert main(["sensitivity", str(a), "--out", str(out), "--workers", "1"]) == 0
    assert main(["compare", str(a), str(b), "--out", str(out), "--workers", "1"]) == 0
    return out


def small_case() -> dict[str, pd.DataFrame]:
    """Two products, one plant with a bottleneck line, one DC, two customers, three periods."""
    per = ["2027-01", "2027-02", "2027-03"]
    return {
        "periods": pd.DataFrame({"period": per, "days": [31, 28, 31]}),
        "products": pd.DataFrame({"product": ["A", "B"], "unit_value": [10.0, 20.0], "price": [25.0, 45.0], "holding_rate": [0.25, 0.25]}),
        "sites": pd.DataFrame({"site": ["PL1", "DC1"], "kind": ["plant", "dc"], "storage_capacity": [None, 500.0]}),
        "customers": pd.DataFrame({"customer": ["C1", "C2"], "segment": ["gold", "silver"]}),
        "demand": pd.DataFrame(
            {
                "product": ["A", "A", "A", "B", "B", "B", "A"],
                "customer": ["C1", "C1", "C1", "C2", "C2", "C2", "C2"],
                "period": per + per + ["2027-02"],
                "quantity": [100, 120, 150, 50, 60, 80, 30],
            }
        ),
        "production": pd.DataFrame({"site": ["PL1", "PL1"], "product": ["A", "B"], "unit_cost": [6.0, 12.0], "outsource_cost": [11.0, None], "outsource_max_units": [40.0, None]}),
        "routings": pd.DataFrame({"site": ["PL1", "PL1"], "product": ["A", "B"], "resource": ["LINE", "LINE"], "hours_per_unit": [0.5, 1.0]}),
        "capacity": pd.DataFrame({"site": ["PL1"], "resource": ["LINE"], "period": [None], "hours": [140.0], "overtime_hours": [20.0], "overtime_cost": [8.0]}),
        "lanes": pd.DataFrame(
            {
                "origin": ["PL1", "PL1", "DC1", "DC1"],
                "destination": ["DC1", "DC1", "C1", "C2"],
                "mode": ["truck", "air", "truck", "truck"],
                "cost_per_unit": [1.0, 4.0, 0.5, 0.7],
                "lead_time_days": [15.0, 1.0, 2.0, 2.0],
                "premium": [False, True, False, False],
            }
        ),
        "inventory": pd.DataFrame({"site": ["DC1"], "product": ["A"], "initial": [20.0], "safety_stock": [10.0]}),
        "service": pd.DataFrame({"segment": ["gold", "silver"], "fill_rate": [0.95, 0.0], "shortage_cost": [None, 30.0]}),
        "settings": pd.DataFrame({"key": ["currency"], "value": ["EUR"]}),
    }


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    return copy.deepcopy(small_case())


def write_xlsx(tables: dict[str, pd.DataFrame], path: Path) -> Path:
    """Save tables as a workbook the way Excel stores typed values: text stays text."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, df in tables.items():
        ws = wb.create_sheet(name)
        ws.append(list(df.columns))
        for r, row in enumerate(df.itertuples(index=False, name=None), start=2):
            for c, v in enumerate(row, start=1):
                if v is None or (isinstance(v, float) and v != v):
                    continue
                cell = ws.cell(r, c, v.item() if hasattr(v, "item") else v)
                if isinstance(v, str):
                    cell.data_type = "s"
    wb.save(path)
    return path


def write_csvs(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_csv(folder / f"{name}.csv", index=False)
    return folder
