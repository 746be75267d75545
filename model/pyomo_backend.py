"""The plan as a Pyomo model: the same term tables the matrix back end stacks, built into a
Pyomo model indexed by business keys and compiled by Pyomo's standard-form compiler.

Only this module imports Pyomo (about 0.4 s of a start), and only when the Pyomo back end is
asked for (``--backend pyomo``), or a model is wanted for inspection and export
(``pyomo_model(built).write("plan.lp")``). The tests check both back ends give the same LP.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from .build import VARIABLES, Built
from .lp import LP

# --------------------------------------------------------------------------------------


def pyomo_model(built: Built) -> tuple[pyo.ConcreteModel, list]:
    """The plan as a Pyomo model: one ``Var`` per variable family and one ``Constraint`` per
    family, both indexed by business keys (``m.ship['PL1', 'DC1', 'truck', 'A', '2027-01']``),
    objective ``m.total_cost``. Also returns the Pyomo variable of each matrix column.
    For inspection, export (``m.write('plan.lp')``) and other solvers."""
    m = pyo.ConcreteModel(name="aop")
    col_var: list = [None] * built.lp.num_col
    for name, index in VARIABLES.items():
        df = built.variables[name]
        keys = list(df[list(index)].itertuples(index=False, name=None))
        comp = pyo.Var(keys, domain=pyo.NonNegativeReals, dense=True)
        m.add_component(name, comp)
        for k, c in zip(keys, df["col"].to_numpy()):
            col_var[c] = comp[k]
    limit = built.lp.limit
    for b, sl in built.lp.rows():
        order = np.argsort(b.row, kind="stable")
        bounds = np.searchsorted(b.row[order], np.arange(len(b) + 1))
        cols, coefs = b.col[order], b.coef[order]
        keys = list(b.keys.itertuples(index=False, name=None))
        comp = pyo.Constraint(keys) if b.keys.shape[1] else pyo.Constraint()
        m.add_component(b.family, comp)
        for i, k in enumerate(keys):
            lo, hi = bounds[i], bounds[i + 1]
            body = LinearExpression(constant=0, linear_coefs=coefs[lo:hi].tolist(), linear_vars=[col_var[j] for j in cols[lo:hi]])
            lim = float(limit[sl.start + i])
            if not b.keys.shape[1]:
                comp.set_value(body <= lim if b.sense == 1 else body >= lim if b.sense == -1 else body == lim)
                continue
            comp[k] = body <= lim if b.sense == 1 else body >= lim if b.sense == -1 else body == lim
    nz = np.flatnonzero(built.lp.c)
    m.total_cost = pyo.Objective(expr=LinearExpression(constant=0, linear_coefs=built.lp.c[nz].tolist(), linear_vars=[col_var[j] for j in nz]), sense=pyo.minimize)
    return m, col_var


def compile_pyomo(built: Built) -> LP:
    """Compile ``pyomo_model(built)`` with Pyomo's standard-form compiler; return it as an LP in
    the matrix back end's row and column order, so results read the same way."""
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler
    from scipy.sparse import coo_array

    m, col_var = pyomo_model(built)
    info = LinearStandardFormCompiler().write(m, mixed_form=True)
    lp = built.lp
    col_of = {id(v): i for i, v in enumerate(col_var)}
    cols = np.array([col_of[id(v)] for v in info.columns], dtype=np.int64)
    row_of = {}
    for b, sl in lp.rows():
        for i, k in enumerate(b.keys.itertuples(index=False, name=None)):
            row_of[(b.family, k if b.keys.shape[1] else None)] = sl.start + i
    rows = np.array([row_of[(r.constraint.parent_component().local_name, r.constraint.index())] for r in info.rows], dtype=np.int64)
    A = info.A.tocoo()
    A = coo_array((A.data, (rows[A.row], cols[A.col])), shape=(lp.num_row, lp.num_col)).tocsc()
    c = np.zeros(lp.num_col)
    if info.c.shape[0]:
        c[cols] = np.asarray(info.c.toarray()).ravel()
    rhs = np.full(lp.num_row, np.nan)
    rhs[rows] = np.asarray(info.rhs, dtype=float)
    sense = np.zeros(lp.num_row, dtype=np.int8)
    sense[rows] = [r.bound_type for r in info.rows]
    return LP.of_rows(c, A, sense, rhs, lp.blocks, lp.offsets)
