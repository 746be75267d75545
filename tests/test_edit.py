"""An edited case builds again only what the edit reaches (``build.edit``), and the LP it gives
equals a full build of the edited case, array for array: for every sensitivity group, every
kind of scenario row (each numeric column of the contract, moved and set to 0) and every
bridge driver, on the example and on a generated case with suppliers, backorders, bills of
materials and a working-capital cap."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from aop import load_case
from aop.build import build, edit
from aop.edits import Edit, apply_edits
from aop.errors import InputError
from aop.schema import TABLES
from aop.sensitivity import bridge_variants, relabel_periods, sensitivity_variants

from scripts.generate_case import generate
from tests.conftest import REPO


def generated_case():
    t = generate(products=10, plants=2, dcs=3, customers=8, periods=4, modes=3, suppliers=1, seed=3)
    # A bill of materials, a scheduled receipt and a working-capital cap on top of the generator's.
    comp = t["products"]["product"].iloc[-1]
    made = t["production"].iloc[0]
    t["bom"] = pd.DataFrame({"site": [made["site"]], "product": [made["product"]], "component": [comp], "quantity": [2.0]})
    t["supply"] = pd.concat([t.get("supply", pd.DataFrame()), pd.DataFrame({"site": ["SUP01"], "product": [comp], "unit_cost": [1.5], "max_units": [5000.0]})], ignore_index=True).drop_duplicates(["site", "product", "period"] if "period" in t.get("supply", pd.DataFrame()) else ["site", "product"])
    t["receipts"] = pd.DataFrame({"site": [made["site"]], "product": [made["product"]], "period": [t["periods"]["period"].iloc[1]], "quantity": [40.0]})
    t["inventory_budget"] = pd.DataFrame({"period": [None], "site": [None], "family": [None], "max_value": [5e6], "in_transit": [True]})
    t["service"] = pd.DataFrame({"segment": ["key_accounts", "retail", "online"], "fill_rate": [0.9, 0.8, 0.0], "backorder_cost": [None, 0.5, 0.2]})
    return load_case(t)


@pytest.fixture(scope="module")
def cases():
    return {"example": load_case(REPO / "data" / "example.xlsx"), "generated": generated_case()}


@pytest.fixture(scope="module")
def bases(cases):
    return {name: build(case) for name, case in cases.items()}


def assert_same_plan(edited, full, what: str) -> None:
    """The LP, the variables' numbers, demand per segment and what cannot hold: equal."""
    a, b = edited.lp, full.lp
    assert (a.num_row, a.num_col) == (b.num_row, b.num_col), what
    for name in ("c", "row_lower", "row_upper", "row_sense"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), f"{what}: {name}"
    assert np.array_equal(a.A.indptr, b.A.indptr) and np.array_equal(a.A.indices, b.A.indices), f"{what}: pattern"
    assert np.array_equal(a.A.data, b.A.data), f"{what}: coefficients"
    assert [blk.family for blk in a.blocks] == [blk.family for blk in b.blocks]
    for x, y in zip(a.blocks, b.blocks):
        assert x.keys.equals(y.keys), f"{what}: {x.family} keys"
    for name, df in full.variables.items():
        mine = edited.variables[name]
        for col in df.columns:
            if df[col].dtype.kind == "f":
                assert np.array_equal(mine[col].to_numpy(), df[col].to_numpy(), equal_nan=True), f"{what}: {name}.{col}"
    pd.testing.assert_frame_equal(edited.segment_demand.reset_index(drop=True), full.segment_demand.reset_index(drop=True), check_dtype=False)
    assert edited.empty_rows == full.empty_rows, what
    assert [str(w) for w in edited.warnings] == [str(w) for w in full.warnings], what


def in_place(edited, base) -> bool:
    """Whether ``edit`` kept the base's structure (index sets and rows) rather than building again."""
    return edited.context.sets is base.context.sets


@pytest.mark.parametrize("name", ["example", "generated"])
def test_every_sensitivity_step_equals_a_full_build_and_stays_in_place(cases, bases, name):
    case, base = cases[name], bases[name]
    # Each group's step up, and down as well where a step may change the structure (a lead time
    # moving a leg): the step down of the others takes the same path with other numbers.
    variants = [v for v in sensitivity_variants(case) if v.role == "up" or v.name.startswith("lead times")]
    assert len(variants) >= 8
    for v in variants:
        edited_case = apply_edits(case, v.edits)
        edited = edit(base, edited_case)
        if in_place(edited, base):
            assert_same_plan(edited, build(edited_case), v.name)
        else:  # built again (build(case) itself); only a lead-time step may move a leg to another period
            assert v.name.startswith("lead times"), f"{v.name} built again"


def content_key(case) -> str:
    """A digest of every table of ``case``: names, columns, dtypes and each value's bits (so
    -0.0, 0.0 and NaN payloads differ: two cases with the same key are the same input)."""
    h = hashlib.sha256()
    for name, df in sorted(case.tables.items()):
        h.update(f"{name}|{list(df.columns)}|{[str(d) for d in df.dtypes]}|{len(df)}".encode())
        h.update(pd.util.hash_pandas_object(df, index=True, categorize=False).to_numpy().tobytes())
    return h.hexdigest()


def _scenario_rows(case):
    """Every numeric column of the contract the case has values in, as a scenario would edit it."""
    for t, spec in TABLES.items():
        if t in ("settings", "scenarios") or not len(case.tables[t]):
            continue
        for c in spec.columns:
            if c.kind in ("float", "bool") and c.name not in spec.key:
                yield t, c


@pytest.mark.slow
@pytest.mark.parametrize("name", ["example", "generated"])
def test_every_kind_of_scenario_row_equals_a_full_build(cases, bases, name):
    case, base = cases[name], bases[name]
    kinds, stayed = 0, 0
    # Full builds by the edited case's content: build is a function of the tables (the edited
    # cases differ from the base only in them), so an edit that leaves the tables as they were
    # (a scale of an empty column, a set to the value already there) or as an earlier edit left
    # them is compared with that full build instead of building the same tables again.
    full_builds = {content_key(case): base}
    for table, col in _scenario_rows(case):
        first = case.tables[table].iloc[0]
        one_row = tuple((k, (str(first[k]),)) for k in TABLES[table].key if k in case.tables[table] and pd.notna(first[k]))
        # One row set to 0 (a limit or quantity vanishing: often a new structure), every row
        # moved (numbers only, where the column allows it).
        edits = [Edit(table, col.name, one_row, "set", 0.0)]
        if col.kind == "float":
            edits.append(Edit(table, col.name, (), "scale", 0.9))
        for e in edits:
            try:
                edited_case = apply_edits(case, [e])
            except InputError:  # the value leaves what the column allows (a fill rate of 0.9 + 1)
                continue
            try:
                edited = edit(base, edited_case)
            except InputError:  # a size the edit made necessary is missing: the full build says so too
                with pytest.raises(InputError):
                    build(edited_case)
                continue
            kinds += 1
            if not in_place(edited, base):
                continue  # edit built the whole plan (build(case) itself): nothing to compare
            stayed += 1
            key = content_key(edited_case)
            if key not in full_builds:
                full_builds[key] = build(edited_case)
            assert_same_plan(edited, full_builds[key], f"{table}.{col.name} {e.operation} {e.value:g} {one_row if e.terms else ''}")
    assert kinds >= 25 and stayed >= kinds // 3, (kinds, stayed)


def test_every_bridge_driver_equals_a_full_build(cases, bases):
    a = cases["example"]
    b = relabel_periods(load_case(REPO / "data" / "example_2026.xlsx"), a.period_names)
    variants, drivers, _ = bridge_variants(a, b)
    assert len(drivers) >= 3
    for v in variants:
        assert_same_plan(edit(bases["example"], v.case), build(v.case), v.name)
