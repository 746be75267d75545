"""One plan for many futures: the two-stage stochastic AOP (``aop stochastic``).

Each future is a scenario of the case (its rows of the ``scenarios`` table) with its
probability (the ``probabilities`` table); the base case takes what the scenarios leave of 1,
and is left out when they sum to 1. The plan commits some decisions now (the ``commitments``
table: the first stage, one value for every future), buys options ahead (the ``options`` table:
a reserved amount raises a limit in every future, at a fee per unit reserved, used or not), and
adapts everything else in each future (the recourse). The extensive form puts every future's
LP into one:

    min  (1 - lambda) [sum_s p_s c_s.x_s + F.r]  +  lambda [eta + sum_s p_s u_s / (1 - alpha)]
    s.t. A_s x_s  (<=, =, >=)  b_s + D_s r        every future s: its own rows; an option's
                                                  rows raised by delta per unit reserved
         x_s[k] - z[k] = 0                        every committed decision k, every future s
         r <= r_max                               the most each option can reserve
         u_s + eta - c_s.x_s - F.r >= 0,  u >= 0  the CVaR of cost (Rockafellar-Uryasev)

with x, z, r, u >= 0 and eta free (two columns). F_o = fee_o times the units of limit one unit
reserved adds (one per selected row and period). lambda = 0 (the default) minimises the
expected total cost.

Units: money in the case's currency; a future's cost is its LP's total cost plus the
reservations' fees. The expected shadow price of a limit is the change in expected total cost
per one-unit rise of that limit in every future (the sum of the extensive form's duals of its
rows); a future's own price is its dual over its probability. EVPI = the plan's expected cost
less the wait-and-see cost (each future planned in hindsight); VSS = the expected cost of
committing to the average future's plan (EEV) less the plan's.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from . import metrics
from .build import VARIABLES, Built, build, edit
from .edits import Edit, apply_edits, filter_parts, parse_filter
from .errors import InputError, Problem, SolveError
from .lp import LP, SENSE, Block, dot
from .results import Figures
from .scenarios import read_scenarios
from .schema import TABLES
from .solve import Solution, Solved, SolveOptions, solve
from .validate import Case

#: What a commitment's decision names: its variables in the plan.
DECISIONS: dict[str, tuple[str, ...]] = {
    "production": ("make",),
    "co_manufacturing": ("outsource",),
    "purchases": ("buy",),
    "shipments": ("ship", "deliver"),
    "overtime": ("overtime_hours",),
}
#: Filter columns a commitment may use, by decision, and where their values are known.
COMMIT_COLUMNS = {
    "production": ("site", "product", "family"),
    "co_manufacturing": ("site", "product", "family"),
    "purchases": ("site", "product", "family"),
    "shipments": ("site", "origin", "destination", "mode", "product", "family"),
    "overtime": ("site", "resource"),
}
#: The risk dial's lambdas the frontier is drawn at. Not 1: with no weight on the expected cost
#: every future but the worst is left free, and that degenerate LP took dual simplex 45 s
#: (36,828 iterations) on the example against 1-3 s for the others.
FRONTIER = (0.0, 0.25, 0.5, 0.75, 0.9)
#: Default CVaR level: the mean of the worst 10 % of outcomes.
ALPHA = 0.9
#: Probabilities may sum past 1 by this (typing 1/3 three times).
PROBABILITY_SLACK = 1e-6


@dataclass(frozen=True)
class Commitment:
    """Decisions fixed before the future is known: ``decision`` (a ``DECISIONS`` key), the
    filter's terms and the periods (empty: all), with the row of the commitments table."""

    decision: str
    terms: tuple[tuple[str, tuple[str, ...]], ...]
    periods: tuple[str, ...]
    words: str
    row: int | None = None


@dataclass(frozen=True)
class Option:
    """A limit raised by a reservation bought ahead: ``table.column`` of the rows ``terms``
    select, up to ``max_reserve`` units, at ``fee`` per unit reserved per row and period."""

    name: str
    table: str
    column: str
    terms: tuple[tuple[str, tuple[str, ...]], ...]
    max_reserve: float
    fee: float
    words: str
    row: int | None = None

    def edit(self, amount: float) -> Edit:
        """The case edit of ``amount`` units reserved."""
        return Edit(self.table, self.column, self.terms, "add", amount, "action", self.words)


@dataclass(frozen=True)
class Study:
    """What ``aop stochastic`` plans for: the futures (name, probability, edits), the
    commitments and the options."""

    futures: tuple[tuple[str, float, tuple[Edit, ...]], ...]
    commitments: tuple[Commitment, ...]
    options: tuple[Option, ...]


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or not str(v).strip()


def _period_range(case: Case, text: object) -> tuple[tuple[str, ...], str]:
    """The periods of ``a..b`` or of one period (all of them when blank), or what is wrong."""
    names = case.period_names
    if _blank(text):
        return (), ""
    t = str(text).strip()
    a, b = (x.strip() for x in t.split("..", 1)) if ".." in t else (t, t)
    if a not in names or b not in names or names.index(a) > names.index(b):
        return (), f"'{t}' is not a period of the plan or two periods in order (e.g. {names[0]}..{names[min(2, len(names) - 1)]})"
    return tuple(names[names.index(a) : names.index(b) + 1]), ""


def _known_values(case: Case, column: str) -> set[str]:
    """The values a commitment filter's column can take in this case."""
    where = {
        "site": [case.table("sites")["site"]],
        "product": [case.table("products")["product"]],
        "family": [case.table("products")["family"]],
        "resource": [case.table("capacity")["resource"]],
        "origin": [case.table("lanes")["origin"]],
        "destination": [case.table("lanes")["destination"]],
        "mode": [case.table("lanes")["mode"]],
    }[column]
    return {str(v) for s in where for v in s.dropna()}


def _commitment_terms(case: Case, decision: str, text: object) -> tuple[tuple[tuple[str, tuple[str, ...]], ...], list[str]]:
    """A commitment's filter terms (``edits.filter_parts``: the scenarios' syntax) on the
    columns its decision has, and what is wrong with it, each in words."""
    parts, wrong = filter_parts(text)
    terms = []
    allowed = COMMIT_COLUMNS[decision]
    for col, val in parts:
        if col not in allowed:
            wrong.append(f"filter column '{col}' does not apply to {decision} (one of: {', '.join(allowed)})")
            continue
        values = tuple(v.strip() for v in val.split("|"))
        known = _known_values(case, col)
        missing = [v for v in values if v not in known]
        if missing:
            wrong.append(f"filter {col}={'|'.join(missing)}: no such {col} in the case")
            continue
        terms.append((col, values))
    return tuple(terms), wrong


def read_study(case: Case) -> Study:
    """The futures, commitments and options of the case. Raises InputError listing every
    problem at once (an unknown scenario, a scenario without a probability, probabilities
    summing past 1, a filter naming what the case has not, an option on a column that is
    not a limit), with the rows as the user sees them."""
    problems: list[Problem] = []
    try:
        variants = [v for v in read_scenarios(case) if v.role == "scenario"]
    except InputError as err:
        problems.extend(err.problems)
        variants = []
    where_p = case.where.get("probabilities", "probabilities")
    prob = case.table("probabilities")
    known = {v.name for v in variants}
    probability: dict[str, float] = {}
    for r in prob.to_dict("records"):
        row = int(r["_row"]) if "_row" in r else None
        name = str(r["scenario"])
        if name not in known and not problems:
            problems.append(Problem(where_p, f"no scenario of this name in the scenarios table (its scenarios: {', '.join(sorted(known)) or 'none'})", row, "scenario", name))
            continue
        probability[name] = float(r["probability"])
    if variants and prob.empty:
        problems.append(Problem(where_p, "aop stochastic needs a probability for each scenario: add a probabilities sheet (scenario, probability); 0 leaves a scenario out"))
    elif not variants and not problems:
        problems.append(Problem(case.where.get("scenarios", "scenarios"), "aop stochastic needs scenarios: add a scenarios sheet and a probabilities sheet"))
    for v in variants:
        if not prob.empty and v.name not in probability:
            first = next((e.row for e in v.edits if e.row is not None), None)
            problems.append(Problem(case.where.get("scenarios", "scenarios"), f"scenario '{v.name}' has no probability in the probabilities table (0 leaves it out)", first, "scenario", v.name))
    total = sum(probability.values())
    if total > 1 + PROBABILITY_SLACK:
        problems.append(Problem(where_p, f"the probabilities sum to {total:.6g}: at most 1 (the base case takes what is left of 1)", None, "probability", round(total, 6)))
    futures: list[tuple[str, float, tuple[Edit, ...]]] = []
    if 1 - total > PROBABILITY_SLACK:
        futures.append(("base", 1 - total, ()))
    futures += [(v.name, probability[v.name], v.edits) for v in variants if probability.get(v.name, 0.0) > 0]

    commitments = []
    where_c = case.where.get("commitments", "commitments")
    for r in case.table("commitments").to_dict("records"):
        row = int(r["_row"]) if "_row" in r else None
        decision = str(r["decision"])
        terms, wrong = _commitment_terms(case, decision, r.get("filter"))
        problems += [Problem(where_c, w, row, "filter", r.get("filter")) for w in wrong]
        periods, bad = _period_range(case, r.get("periods"))
        if bad:
            problems.append(Problem(where_c, bad, row, "periods", r.get("periods")))
        if not wrong and not bad:
            note = "" if _blank(r.get("note")) else str(r["note"])
            scope = "; ".join(f"{c}={'|'.join(v)}" for c, v in terms)
            span = "" if not periods else periods[0] if len(periods) == 1 else f"{periods[0]}..{periods[-1]}"
            words = note or f"{decision.replace('_', '-')}{' of ' + scope if scope else ''}{' in ' + span if span else ' all year'}"
            commitments.append(Commitment(decision, terms, periods, words, row))

    options = []
    where_o = case.where.get("options", "options")
    names = set()
    for r in case.table("options").to_dict("records"):
        row = int(r["_row"]) if "_row" in r else None
        t, c, name = str(r["table"]), str(r["column"]), str(r["option"])
        if name in names:
            problems.append(Problem(where_o, "two options of this name", row, "option", name))
        names.add(name)
        if t not in TABLES or t in ("scenarios", "settings", "probabilities", "commitments", "options"):
            problems.append(Problem(where_o, "unknown table (a table of the case with a limit, e.g. production, capacity, lanes, supply)", row, "table", t))
            continue
        col = next((x for x in TABLES[t].columns if x.name == c), None)
        if col is None or col.kind != "float" or c in TABLES[t].key:
            numeric = [x.name for x in TABLES[t].columns if x.kind == "float" and x.name not in TABLES[t].key]
            problems.append(Problem(where_o, f"not a number column of table {t} (one of: {', '.join(numeric)})", row, "column", c))
            continue
        terms, wrong = parse_filter(case, t, r.get("filter"))
        problems += [Problem(where_o, w, row, "filter", r.get("filter")) for w in wrong]
        if float(r["max_reserve"]) <= 0:
            problems.append(Problem(where_o, "must be more than 0", row, "max_reserve", r["max_reserve"]))
        if wrong or float(r["max_reserve"]) <= 0:
            continue
        note = "" if _blank(r.get("note")) else str(r["note"])
        options.append(Option(name, t, c, terms, float(r["max_reserve"]), float(r["fee"]), note or name, row))
    if problems:
        raise InputError(problems)
    return Study(tuple(futures), tuple(commitments), tuple(options))


# --------------------------------------------------------------------------------------
# The futures on one index
# --------------------------------------------------------------------------------------


def _keyed(name: str, df: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """``name|v1|v2...``: a variable's or a row's business key as one string."""
    key = pd.Series(name, index=df.index, dtype=object)
    for c in columns:
        key = key + "|" + df[c].astype(str)
    return key


def column_table(built: Built) -> pd.DataFrame:
    """Every column of the plan with its variable, index columns and ``key``, in column order."""
    frames = []
    for name, index in VARIABLES.items():
        df = built.variables[name]
        if len(df):
            frames.append(df[[*index, "col"]].assign(variable=name, key=_keyed(name, df, index).to_numpy()))
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values("col", kind="stable").reset_index(drop=True)


def row_key_strings(lp: LP) -> np.ndarray:
    """Every row's family and key as one string, in row order."""
    parts = [_keyed(b.family, b.keys, tuple(b.keys.columns)).to_numpy(dtype=object) for b in lp.blocks]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=object)


@dataclass
class Future:
    """One future's plan: its LP (``built``, or an LP of its own for the average future), its
    probability, and where its columns and rows sit in the study's union of them."""

    name: str
    probability: float
    lp: LP
    cols: np.ndarray  # union column of each of its columns
    rows: np.ndarray  # union row of each of its rows
    built: Built | None = None


@dataclass
class Union:
    """Every column and row any future has: ``cols`` (variable, index columns, key), the
    rows' keys and families, and each option's delta on the union's rows."""

    cols: pd.DataFrame
    row_keys: np.ndarray
    row_family: np.ndarray
    row_sense: np.ndarray
    delta: list[np.ndarray]  # per option: units of limit per unit reserved, by union row


def _union_index(known: pd.Index, keys: np.ndarray) -> tuple[pd.Index, np.ndarray]:
    at = known.get_indexer(keys)
    new = at < 0
    if new.any():
        extra = pd.Index(keys[new])
        at[new] = len(known) + np.arange(len(extra))
        known = known.append(extra)
    return known, at


def option_deltas(case: Case, options: tuple[Option, ...]) -> tuple[Case, Built, list[np.ndarray]]:
    """The case with every option reserved at its most, its plan, and each option's delta:
    the units of limit one unit reserved adds to each row (the limit is linear in the column, so
    half the reservation measures it). Raises InputError for an option that raises no limit
    (blank: unlimited) or raises a row that is not a '<=' limit."""
    full = apply_edits(case, [o.edit(o.max_reserve) for o in options]) if options else case
    ref = build(full)
    deltas, problems = [], []
    for i, o in enumerate(options):
        half = apply_edits(case, [p.edit(p.max_reserve / 2 if j == i else p.max_reserve) for j, p in enumerate(options)])
        b = edit(ref, half)
        where = case.where.get("options", "options")
        if b.lp.num_row != ref.lp.num_row or not np.array_equal(b.lp.row_sense, ref.lp.row_sense):
            problems.append(Problem(where, "half the reservation changes which rows the plan has: reserve on a limit that is not 0 at half of max_reserve", o.row, "max_reserve", o.max_reserve))
            deltas.append(np.zeros(ref.lp.num_row))
            continue
        d = np.nan_to_num((ref.lp.limit - b.lp.limit) / (o.max_reserve / 2), nan=0.0, posinf=0.0, neginf=0.0)
        d[np.abs(d) < 1e-12] = 0.0
        if not d.any():
            problems.append(Problem(where, f"raises no limit of the plan: {o.table}.{o.column} is blank (unlimited) on the rows it selects, or limits nothing", o.row, "column", o.column))
        elif (ref.lp.row_sense[d != 0] != SENSE["<="]).any():
            problems.append(Problem(where, f"{o.table}.{o.column} is not an upper limit of the plan (it moves a requirement): options raise limits", o.row, "column", o.column))
        deltas.append(d)
    if problems:
        raise InputError(problems)
    return full, ref, deltas


def futures_of(case: Case, study: Study) -> tuple[list[Future], Union]:
    """Each future's plan, built with every option reserved at its most (so the options' rows
    and variables exist in every future; the extensive form lowers the limits back by what is
    not reserved), on one index of columns and rows."""
    _full, ref, deltas = option_deltas(case, study.options)
    reserve = [o.edit(o.max_reserve) for o in study.options]
    builts = [ref if not edits and not reserve else edit(ref, apply_edits(case, [*edits, *reserve])) for _n, _p, edits in study.futures]
    known: pd.Index = pd.Index([], dtype=object)
    row_known: pd.Index = pd.Index([], dtype=object)
    futures, fam, sense, frames = [], [], [], []
    # A future whose plan ``edit`` made in place shares its base's structure memo (one object):
    # the same columns and rows, so they are keyed and placed in the union once per structure.
    placed: list[tuple[dict, np.ndarray, np.ndarray]] = []
    for (name, p, _e), b in zip(study.futures, builts):
        memo = b.context.structure if b.context is not None else None
        same = next(((cols, rows) for m, cols, rows in placed if m is memo), None)
        if same is not None:
            futures.append(Future(name, p, b.lp, *same, b))
            continue
        ct = column_table(b)
        n_before = len(known)
        known, cols = _union_index(known, ct["key"].to_numpy())
        frames.append(ct[cols >= n_before].drop(columns="col"))
        r_before = len(row_known)
        row_known, rows = _union_index(row_known, row_key_strings(b.lp))
        new = rows >= r_before
        fam.append(b.lp.row_family[new])
        sense.append(b.lp.row_sense[new])
        futures.append(Future(name, p, b.lp, cols, rows, b))
        if memo is not None:
            placed.append((memo, cols, rows))
    union_cols = pd.concat(frames, ignore_index=True)
    ref_memo = ref.context.structure if ref.context is not None else None
    ref_rows = next((rows for m, _c, rows in placed if m is ref_memo), None)
    if ref_rows is None:
        ref_rows = row_known.get_indexer(row_key_strings(ref.lp))
    union_delta = []
    for d in deltas:
        ud = np.zeros(len(row_known))
        ok = ref_rows >= 0
        ud[ref_rows[ok]] = d[ok]
        union_delta.append(ud)
    return futures, Union(union_cols, row_known.to_numpy(), np.concatenate(fam), np.concatenate(sense), union_delta)


def committed_columns(case: Case, union: Union, commitments: tuple[Commitment, ...]) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
    """The union columns each commitment fixes (``cols``; ``rule``: which commitment), each
    once (the first commitment naming it), and a problem for a commitment naming no decision."""
    cols, rule, problems = [], [], []
    taken = np.zeros(len(union.cols), dtype=bool)
    family = case.table("products").set_index("product")["family"].astype(str)
    for i, cm in enumerate(commitments):
        df = union.cols
        keep = df["variable"].isin(DECISIONS[cm.decision]).to_numpy().copy()
        for col, values in cm.terms:
            if col == "family":
                seen = df["product"].map(family)
            elif col == "site" and cm.decision == "shipments":
                seen = df["origin"]
            else:
                seen = df[col]
            keep &= seen.astype(str).isin(values).to_numpy()
        if cm.periods:
            keep &= df["period"].astype(str).isin(cm.periods).to_numpy()
        if not keep.any():
            problems.append(Problem(case.where.get("commitments", "commitments"), f"names no decision of the plan ({cm.words})", cm.row, "filter", None))
        keep &= ~taken
        taken |= keep
        at = np.flatnonzero(keep)
        cols.append(at)
        rule.append(np.full(len(at), i))
    return (np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)).astype(np.int64), (np.concatenate(rule) if rule else np.zeros(0, dtype=np.int64)).astype(np.int64), problems


def average_future(futures: list[Future], union: Union) -> Future:
    """The average future: every cost, coefficient and limit the probability-weighted mean over
    the futures that have it, on the union's columns and rows."""
    from scipy.sparse import coo_array

    nc, nr = len(union.cols), len(union.row_keys)
    wc, wr, c = np.zeros(nc), np.zeros(nr), np.zeros(nc)
    lo, hi = np.zeros(nr), np.zeros(nr)
    ri, ci, vals = [], [], []
    for f in futures:
        p, lp = f.probability, f.lp
        wc[f.cols] += p
        wr[f.rows] += p
        c[f.cols] += p * lp.c
        lo[f.rows] += p * lp.row_lower
        hi[f.rows] += p * lp.row_upper
        A = lp.A.tocoo()
        ri.append(f.rows[A.row])
        ci.append(f.cols[A.col])
        vals.append(p * A.data)
    A = coo_array((np.concatenate(vals), (np.concatenate(ri), np.concatenate(ci))), shape=(nr, nc)).tocsc()
    A.sum_duplicates()
    # A coefficient is averaged over the futures having its column (a missing column is no
    # evidence of a zero), a limit over the futures having its row.
    A = (A @ _diag(1 / wc)).tocsc()
    lp = LP(c=c / wc, A=A, row_lower=lo / wr, row_upper=hi / wr, col_lower=np.zeros(nc), col_upper=np.full(nc, math.inf),
            row_sense=union.row_sense.copy(), blocks=[Block("average", pd.DataFrame(index=range(nr)), 0, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))],
            offsets=np.array([0, nr]))
    return Future("average", 1.0, lp, np.arange(nc), np.arange(nr))


def _diag(v: np.ndarray):
    from scipy.sparse import diags_array

    return diags_array(np.asarray(v, dtype=float))


# --------------------------------------------------------------------------------------
# The extensive form
# --------------------------------------------------------------------------------------


@dataclass
class Extensive:
    """The extensive form of some futures, and where everything sits in it: each future's
    columns and rows (offsets), the committed decisions' columns ``z`` and their fixing rows,
    the non-anticipativity rows (future, decision), each option's reservation column, limit row
    and fixing row, the CVaR columns and rows."""

    lp: LP
    futures: list[Future]
    col_off: np.ndarray
    row_off: np.ndarray
    committed: np.ndarray  # union columns of the committed decisions
    rule: np.ndarray  # the commitment each belongs to
    z: np.ndarray  # their columns
    z_fix: np.ndarray  # rows fixing them (free unless fixed)
    na_rows: np.ndarray  # non-anticipativity rows
    na_future: np.ndarray  # each one's future
    na_decision: np.ndarray  # and decision (position in ``committed``)
    r: np.ndarray  # option columns
    r_max: np.ndarray  # rows r <= max
    r_fix: np.ndarray  # rows fixing r (free unless fixed)
    fees: np.ndarray  # money per unit reserved (F)
    eta: np.ndarray  # eta+ and eta-
    u: np.ndarray  # u_s
    cvar_rows: np.ndarray
    alpha: float

    def costs(self, weight: float) -> np.ndarray:
        """The objective at risk weight ``weight`` (lambda)."""
        c = np.zeros(self.lp.num_col)
        for s, f in enumerate(self.futures):
            c[self.col_off[s] : self.col_off[s] + f.lp.num_col] = (1 - weight) * f.probability * f.lp.c
        c[self.r] = (1 - weight) * self.fees
        if len(self.eta):
            c[self.eta] = [weight, -weight]
            c[self.u] = [weight * f.probability / (1 - self.alpha) for f in self.futures]
        elif weight:
            raise ValueError("this extensive form has no CVaR rows (built with risk=False)")
        return c

    def future_costs(self, x: np.ndarray) -> np.ndarray:
        """Each future's total cost at the extensive form's solution ``x``: its LP's cost and the fees."""
        fees = dot(self.fees, x[self.r])
        return np.array([dot(f.lp.c, x[self.col_off[s] : self.col_off[s] + f.lp.num_col]) + fees for s, f in enumerate(self.futures)])


def extensive_form(futures: list[Future], committed: np.ndarray, rule: np.ndarray, union: Union, options: tuple[Option, ...], alpha: float = ALPHA, weight: float = 0.0, risk: bool = True) -> Extensive:
    """The extensive form of ``futures`` (module docstring), the decisions ``committed``
    (union columns) shared, the options' reservations shared; with ``risk``, the CVaR columns
    and rows (each future's row holds all its costs: a dense row, which an interior point
    method pays for, so a plan for the expected cost alone leaves them out)."""
    from scipy.sparse import coo_array

    S, K, n_opt = len(futures), len(committed), len(options)
    col_off = np.concatenate([[0], np.cumsum([f.lp.num_col for f in futures])]).astype(np.int64)
    row_off = np.concatenate([[0], np.cumsum([f.lp.num_row for f in futures])]).astype(np.int64)
    n_x, m_x = int(col_off[-1]), int(row_off[-1])
    z = n_x + np.arange(K)
    r = n_x + K + np.arange(n_opt)
    n_risk = 2 + S if risk else 0
    eta = n_x + K + n_opt + np.arange(2 if risk else 0)
    u = n_x + K + n_opt + 2 + np.arange(S if risk else 0)
    n = n_x + K + n_opt + n_risk
    ri, ci, vals = [], [], []
    lo, hi, sense = [], [], []
    fees = np.zeros(n_opt)
    for s, f in enumerate(futures):
        A = f.lp.A.tocoo()
        ri.append(A.row + row_off[s])
        ci.append(A.col + col_off[s])
        vals.append(A.data)
        low, up = f.lp.row_lower.copy(), f.lp.row_upper.copy()
        for o, opt in enumerate(options):
            d = union.delta[o][f.rows]
            at = np.flatnonzero(d)
            up[at] -= d[at] * opt.max_reserve  # built with the most reserved: back to none reserved
            ri.append(at + row_off[s])
            ci.append(np.full(len(at), r[o]))
            vals.append(-d[at])
            if s == 0:
                fees[o] = opt.fee * float(union.delta[o].sum())
        lo.append(low)
        hi.append(up)
        sense.append(f.lp.row_sense)
    # non-anticipativity: x_s[k] - z[k] = 0 where future s has decision k
    na_f, na_k, na_col = [], [], []
    for s, f in enumerate(futures):
        own = np.full(len(union.cols), -1, dtype=np.int64)
        own[f.cols] = np.arange(f.lp.num_col)
        at = own[committed]
        has = np.flatnonzero(at >= 0)
        na_f.append(np.full(len(has), s))
        na_k.append(has)
        na_col.append(at[has] + col_off[s])
    na_future, na_decision, na_cols = (np.concatenate(a).astype(np.int64) if a else np.zeros(0, np.int64) for a in (na_f, na_k, na_col))
    m = m_x
    na_rows = m + np.arange(len(na_future))
    m += len(na_future)
    ri += [na_rows, na_rows]
    ci += [na_cols, z[na_decision]]
    vals += [np.ones(len(na_rows)), -np.ones(len(na_rows))]
    lo.append(np.zeros(len(na_rows)))
    hi.append(np.zeros(len(na_rows)))
    sense.append(np.zeros(len(na_rows), dtype=np.int8))
    z_fix = m + np.arange(K)
    m += K
    r_max = m + np.arange(n_opt)
    m += n_opt
    r_fix = m + np.arange(n_opt)
    m += n_opt
    ri += [z_fix, r_max, r_fix]
    ci += [z, r, r]
    vals += [np.ones(K), np.ones(n_opt), np.ones(n_opt)]
    lo += [np.full(K, -math.inf), np.full(n_opt, -math.inf), np.full(n_opt, -math.inf)]
    hi += [np.full(K, math.inf), np.array([o.max_reserve for o in options], dtype=float), np.full(n_opt, math.inf)]
    sense += [np.zeros(K, dtype=np.int8), np.ones(n_opt, dtype=np.int8), np.zeros(n_opt, dtype=np.int8)]
    # CVaR: u_s + eta+ - eta- - c_s.x_s - F.r >= 0
    S_risk = S if risk else 0
    cvar_rows = m + np.arange(S_risk)
    m += S_risk
    for s, f in enumerate(futures[:S_risk]):
        nz = np.flatnonzero(f.lp.c)
        row = cvar_rows[s]
        ri += [np.full(len(nz), row), np.full(n_opt, row), np.array([row, row, row])]
        ci += [nz + col_off[s], r, np.array([u[s], eta[0], eta[1]])]
        vals += [-f.lp.c[nz], -fees, np.array([1.0, 1.0, -1.0])]
    lo.append(np.zeros(S_risk))
    hi.append(np.full(S_risk, math.inf))
    sense.append(np.full(S_risk, -1, dtype=np.int8))
    A = coo_array((np.concatenate(vals), (np.concatenate(ri), np.concatenate(ci))), shape=(m, n)).tocsc()
    A.sum_duplicates()
    blocks = [Block(f"future {f.name}", pd.DataFrame(index=range(f.lp.num_row)), 0, *_no_terms()) for f in futures]
    blocks += [Block(name, pd.DataFrame(index=range(k)), 0, *_no_terms()) for name, k in (("nonanticipativity", len(na_rows)), ("commitment", K), ("reservation limit", n_opt), ("reservation", n_opt), ("cvar", S_risk))]
    ef = Extensive(
        lp=LP(c=np.zeros(n), A=A, row_lower=np.concatenate(lo), row_upper=np.concatenate(hi), col_lower=np.zeros(n), col_upper=np.full(n, math.inf),
              row_sense=np.concatenate(sense).astype(np.int8), blocks=blocks, offsets=np.concatenate([[0], np.cumsum([len(b) for b in blocks])]).astype(np.int64)),
        futures=futures, col_off=col_off, row_off=row_off, committed=committed, rule=rule, z=z, z_fix=z_fix, na_rows=na_rows, na_future=na_future,
        na_decision=na_decision, r=r, r_max=r_max, r_fix=r_fix, fees=fees, eta=eta, u=u, cvar_rows=cvar_rows, alpha=alpha,
    )
    ef.lp.c[:] = ef.costs(weight)
    return ef


def _no_terms() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)


def solve_extensive(ef: Extensive, base: Built, opts: SolveOptions) -> Solved:
    """Solve the extensive form with HiGHS (``solve.solve``: the algorithm the case asks for,
    the independent check of the answer); duals without ranging (the prices are read per
    future; ranging the whole form is left out)."""
    from .solve import IPM_FROM_COLUMNS

    holder = replace(base, lp=ef.lp, variables={}, families={}, empty_rows=[], parts={}, context=None)
    if opts.solver == "auto" and IPM_FROM_COLUMNS <= ef.lp.num_col < IPX_BELOW_COLUMNS and len(ef.futures) > 1:
        opts = replace(opts, solver="ipx")
    return solve(holder, replace(opts, ranging=False, backend="matrix"))


#: Below this many columns ``auto`` solves a many-future form by IPX, above by HiPO (as a plan).
#: Measured (2 cores, expected cost, no CVaR rows): the example's five futures, 78,475 columns:
#: IPX 8.9 s, HiPO 14.8-30.6 s, dual simplex 36.6 s; ten futures of the 30k preset, 362,000
#: columns: HiPO 52.8 s, IPX 161.1 s.
IPX_BELOW_COLUMNS = 150_000
def block_lp(ef: Extensive, s: int) -> LP:
    """Future ``s``'s own rows and columns of the extensive form (its limits with nothing
    reserved), alone: no commitment, no option."""
    f = ef.futures[s]
    rows = slice(int(ef.row_off[s]), int(ef.row_off[s]) + f.lp.num_row)
    return replace(f.lp, c=f.lp.c.copy(), row_lower=ef.lp.row_lower[rows].copy(), row_upper=ef.lp.row_upper[rows].copy(), _lookup={})


def cvar(costs: np.ndarray, probabilities: np.ndarray, alpha: float) -> float:
    """CVaR_alpha of a discrete cost: the mean of the worst 1 - alpha of outcomes (the worst
    outcome when alpha is 1)."""
    order = np.argsort(-np.asarray(costs, dtype=float), kind="stable")
    c, p = np.asarray(costs, dtype=float)[order], np.asarray(probabilities, dtype=float)[order]
    tail = 1 - alpha
    if tail <= 1e-12:
        return float(c[0])
    taken = np.minimum(p, np.maximum(tail - np.concatenate([[0.0], np.cumsum(p)[:-1]]), 0.0))
    return float(dot(taken, c) / tail)


# --------------------------------------------------------------------------------------
# The study: the plan, hindsight, the average plan, what options and commitments are worth
# --------------------------------------------------------------------------------------


@dataclass
class StochasticPlan:
    """What ``aop stochastic`` found: its tables (``summary``, ``futures``, ``options``,
    ``commitments``, ``committed_plan``, ``shadow_prices``, ``frontier``, ``runs``) and the
    headline figures (money in the case's currency)."""

    tables: dict[str, pd.DataFrame]
    expected_cost: float
    wait_and_see: float
    average_plan_cost: float  # EEV: inf when the average future's commitments cannot be carried out
    evpi: float
    vss: float
    cvar: float
    alpha: float
    weight: float
    currency: str
    extensive: Extensive = field(repr=False)
    model: Solved = field(repr=False)
    average_fails_in: list[str] = field(default_factory=list)  # futures the average future's plan cannot be carried out in
    union: Union | None = field(default=None, repr=False)
    study: Study | None = field(default=None, repr=False)

    def committed_values(self) -> tuple[np.ndarray, np.ndarray]:
        """The plan's first stage: the committed decisions (``extensive.committed``'s order) and
        the options' reservations."""
        x = self.model.optimum.col_value
        return x[self.extensive.z], x[self.extensive.r]


#: A reservation or a price this small is taken for 0 when deciding that taking an option away
#: or freeing a commitment leaves the plan optimal (no re-solve): reservations relative to the
#: option's most, prices in money per unit.
SETTLED_TOL = 1e-9


def _tidy(x: float, tol: float = 1e-7) -> float:
    """A figure with the solver's crumbs (|x| below ``tol``, or a relative 1e-9 of a cost) taken as 0."""
    return 0.0 if abs(x) < tol else float(x)


def _runs_row(name: str, how: str, sol: Solution | None, status: str, seconds: float) -> dict:
    return {"run": name, "how": how, "status": status, "objective": sol.objective if sol else math.nan,
            "simplex_iterations": sol.iterations.get("simplex", 0) if sol else 0, "seconds": seconds}


def _resolve(model: Solved, name: str, runs: list[dict]) -> Solution | None:
    """Re-solve the changed extensive form warm; None (and said in ``runs``) when it has no plan."""
    t0 = time.perf_counter()
    try:
        sol = model.resolve(prices=False)
    except SolveError as err:
        runs.append(_runs_row(name, "re-solved warm", None, err.status, time.perf_counter() - t0))
        return None
    runs.append(_runs_row(name, "re-solved warm" if not sol.rechecked else "solved again cold (warm answer failed the check)", sol, "optimal", time.perf_counter() - t0))
    return sol


def _future_solution(ef: Extensive, s: int, sol: Solution) -> tuple[Built, Solution]:
    """Future ``s``'s plan as a plan of its own: its columns and rows of the extensive form, its
    limits as the reservations made them, its prices given the commitments (dual / probability)."""
    f = ef.futures[s]
    assert f.built is not None
    x = sol.col_value[ef.col_off[s] : ef.col_off[s] + f.lp.num_col]
    y = sol.row_dual[ef.row_off[s] : ef.row_off[s] + f.lp.num_row] / f.probability
    lp = replace(f.lp, row_upper=ef.lp.row_upper[ef.row_off[s] : ef.row_off[s] + f.lp.num_row].copy(), _lookup={})
    for j in ef.r:  # the form's limits hold none reserved: the reservation's own column adds it back
        d = ef.lp.A[:, [j]].toarray().ravel()[ef.row_off[s] : ef.row_off[s] + f.lp.num_row]
        lp.row_upper[:] -= d * sol.col_value[j]
    nan = np.full(f.lp.num_row, np.nan)
    own = Solution(status="optimal", objective=dot(f.lp.c, x), col_value=x, row_value=f.lp.A @ x, row_dual=y, col_dual=f.lp.c - f.lp.A.T @ y,
                   row_bound_lower=nan, row_bound_upper=nan.copy(), row_price_up=nan.copy(), row_price_down=nan.copy(), algorithm=sol.algorithm,
                   seconds=sol.seconds, solver=sol.solver, options=sol.options, iterations=sol.iterations)
    return replace(f.built, lp=lp), own


def plan_for_futures(case: Case, opts: SolveOptions | None = None, alpha: float = ALPHA, weight: float = 0.0, frontier: tuple[float, ...] = FRONTIER, progress=None) -> StochasticPlan:
    """The two-stage stochastic plan of ``case`` (module docstring): the extensive form solved,
    then the wait-and-see plans (each future alone, in hindsight), the average future's plan
    carried out in every future (EEV), each option and each commitment taken away in turn,
    and the risk frontier at ``frontier``'s weights. Raises InputError for a study the case
    does not state right, SolveError when the plan has no answer."""
    opts = opts or SolveOptions()
    say = progress or (lambda _m: None)
    if not 0 <= alpha < 1:
        raise ValueError("alpha must be in [0, 1)")
    if not 0 <= weight <= 1:
        raise ValueError("the risk weight must be in [0, 1]")
    t_start = time.perf_counter()
    study = read_study(case)
    futures, union = futures_of(case, study)
    committed, rule, problems = committed_columns(case, union, study.commitments)
    if problems:
        raise InputError(problems)
    for f in futures:
        assert f.built is not None
        if f.built.empty_rows:
            fam, key, lim = f.built.empty_rows[0]
            raise SolveError("infeasible", f"future '{f.name}': {fam} {key} requires {lim:g} but nothing in the network can contribute to it")
    runs: list[dict] = []
    ef = extensive_form(futures, committed, rule, union, study.options, alpha, weight, risk=weight > 0)
    say(f"solving the extensive form of {len(futures)} futures ({ef.lp.num_col:,} variables, {ef.lp.num_row:,} rows; {len(committed):,} decisions committed, {len(study.options)} options) ...")
    t0 = time.perf_counter()
    model = solve_extensive(ef, futures[0].built, opts)  # type: ignore[arg-type]
    sol = model.optimum
    runs.append(_runs_row("the plan (extensive form)", f"solved cold by {sol.algorithm}", sol, "optimal", time.perf_counter() - t0))
    p = np.array([f.probability for f in futures])
    costs = ef.future_costs(sol.col_value)
    expected = dot(p, costs)
    tail = cvar(costs, p, alpha)

    # The average future's plan (its commitments and reservations) is carried out in each future
    # by that future's hindsight model, re-solved warm with them fixed: once they are fixed the
    # futures share nothing, so this is the extensive form's EEV in re-solves of one future's
    # size (the whole form re-solved warm took 31 s of dual simplex on ten 36k futures).
    say("solving the average future ...")
    avg = extensive_form([average_future(futures, union)], committed, rule, union, study.options, alpha, 0.0, risk=False)
    t0 = time.perf_counter()
    avg_model = solve_extensive(avg, futures[0].built, opts)  # type: ignore[arg-type]
    runs.append(_runs_row("the average future", f"solved cold by {avg_model.optimum.algorithm}", avg_model.optimum, "optimal", time.perf_counter() - t0))
    z_avg, r_avg = avg_model.optimum.col_value[avg.z], avg_model.optimum.col_value[avg.r]

    # Wait and see: each future planned alone, knowing it (its options bought for it alone).
    say(f"solving each future in hindsight and carrying the average future's plan out in it ({len(futures)} futures) ...")
    hindsight, carried = np.zeros(len(futures)), np.zeros(len(futures))
    for s, f in enumerate(futures):
        one = extensive_form([replace(f, probability=1.0)], committed, rule, union, study.options, alpha, 0.0, risk=False)
        t0 = time.perf_counter()
        alone = solve_extensive(one, f.built, opts)  # type: ignore[arg-type]
        hindsight[s] = alone.optimum.objective
        runs.append(_runs_row(f"{f.name} in hindsight", f"solved cold by {alone.optimum.algorithm}", alone.optimum, "optimal", time.perf_counter() - t0))
        with alone.trial():
            alone.set_row_bounds_at(one.z_fix, z_avg, z_avg)
            alone.set_row_bounds_at(one.r_fix, r_avg, r_avg)
            got = _resolve(alone, f"{f.name}: the average future's plan carried out", runs)
        # No plan from the warm start: solved cold, which tells an infeasible future (inf) from trouble (raised).
        carried[s] = got.objective if got is not None else carry_out([f], committed, rule, union, study.options, z_avg, r_avg, opts)[0]
    wait_and_see = dot(p, hindsight)
    eev = dot(p, carried)
    cannot = [f.name for f, c in zip(futures, carried) if not math.isfinite(c)]

    # Each option taken away, each commitment made free in every future.
    objective = sol.objective
    y = sol.row_dual
    option_rows = []
    for o, opt in enumerate(study.options):
        reserved = float(sol.col_value[ef.r[o]])
        if abs(reserved) <= SETTLED_TOL * max(1.0, opt.max_reserve):
            # The plan reserves none: it stays feasible, so optimal, without the option.
            without: Solution | None = sol
            runs.append(_runs_row(f"without option {opt.name}", "not re-solved: the plan reserves none of it, so it stays optimal without it", sol, "optimal", 0.0))
        else:
            with model.trial():
                model.set_row_bounds_at(ef.r_fix[o : o + 1], np.zeros(1), np.zeros(1))
                without = _resolve(model, f"without option {opt.name}", runs)
        saving = _tidy(-sum(dot(union.delta[o][f.rows], y[ef.row_off[s] : ef.row_off[s] + f.lp.num_row]) for s, f in enumerate(futures)))
        net = _tidy((without.objective if without is not None else math.inf) - objective)
        option_rows.append({
            "option": opt.name, "raises": f"{opt.table}.{opt.column}" + (f" where {'; '.join(f'{c}={chr(124).join(v)}' for c, v in opt.terms)}" if opt.terms else ""),
            "max_reserve": opt.max_reserve, "reserved": reserved, "fee_per_unit": float(ef.fees[o]), "reservation_cost": float(ef.fees[o]) * reserved,
            "value_per_unit": saving, "net_value": net, "gross_saving": net + float(ef.fees[o]) * reserved,
            "price": _tidy(float(y[ef.r_max[o]])), "note": opt.words,
        })
    commitment_rows = []
    for i, cm in enumerate(study.commitments):
        rows = ef.na_rows[rule[ef.na_decision] == i]
        if not (np.abs(y[rows]) > SETTLED_TOL).any():
            # Every row tying the futures to this commitment has price 0: freed, the prices stay
            # dual feasible with the plan, so the plan stays optimal (flexibility worth nothing).
            free: Solution | None = sol
            runs.append(_runs_row(f"free to change: {cm.words}", "not re-solved: no future would pay to change it (every price 0), so the plan stays optimal", sol, "optimal", 0.0))
        else:
            with model.trial():
                model.set_row_bounds_at(rows, np.full(len(rows), -math.inf), np.full(len(rows), math.inf))
                free = _resolve(model, f"free to change: {cm.words}", runs)
        at = np.flatnonzero(rule == i)
        commitment_rows.append({
            "commitment": cm.words, "decision": cm.decision, "decisions": len(at), "committed_units": float(sol.col_value[ef.z[at]].sum()),
            "value_of_flexibility": objective - free.objective if free is not None else math.nan,
        })

    # The risk frontier.
    frontier_rows = []
    weights = sorted(frontier)
    if weights:
        say(f"drawing the risk frontier (CVaR {alpha:.0%}, {len(weights)} weights) ...")
    if weights and weights[0] == 0 and weight == 0:  # the plan itself is the frontier's first point
        frontier_rows.append({"weight": 0.0, "alpha": alpha, "expected_cost": expected, "cvar": tail, "worst_future_cost": float(costs.max())})
        weights = weights[1:]
    risky, risky_ef = (model, ef) if weight > 0 else (None, None)
    for lam in weights:
        if risky is None:  # the CVaR rows in a form of their own, solved cold once, then warm
            risky_ef = extensive_form(futures, committed, rule, union, study.options, alpha, lam, risk=True)
            t0 = time.perf_counter()
            try:
                risky = solve_extensive(risky_ef, futures[0].built, opts)  # type: ignore[arg-type]
            except SolveError as err:
                runs.append(_runs_row(f"risk weight {lam:g}", "solved cold", None, err.status, time.perf_counter() - t0))
                break
            point: Solution | None = risky.optimum
            runs.append(_runs_row(f"risk weight {lam:g}", f"solved cold by {risky.optimum.algorithm}", risky.optimum, "optimal", time.perf_counter() - t0))
        else:
            assert risky_ef is not None
            risky.set_costs_at(np.arange(risky_ef.lp.num_col), risky_ef.costs(lam))  # from the last weight's basis
            point = _resolve(risky, f"risk weight {lam:g}", runs)
        if point is None:
            continue
        assert risky_ef is not None
        c_l = risky_ef.future_costs(point.col_value)
        frontier_rows.append({"weight": lam, "alpha": alpha, "expected_cost": dot(p, c_l), "cvar": cvar(c_l, p, alpha), "worst_future_cost": float(c_l.max())})
    if weight > 0:  # the plan's own model served the frontier: back to the plan
        model.set_costs_at(np.arange(ef.lp.num_col), ef.costs(weight))
        model.solution = sol
    fr = pd.DataFrame(frontier_rows, columns=["weight", "alpha", "expected_cost", "cvar", "worst_future_cost"])
    if len(fr):
        fr["insurance_premium"] = fr["expected_cost"] - fr["expected_cost"].iloc[0]
        fr["tail_cost_removed"] = fr["cvar"].iloc[0] - fr["cvar"]

    # Each future's plan and KPIs, given the commitments.
    future_rows = []
    for s, f in enumerate(futures):
        built, own = _future_solution(ef, s, sol)
        k = metrics.kpis(Figures(built, own))
        future_rows.append({"future": f.name, "probability": f.probability, "total_cost": float(costs[s]), "hindsight_cost": float(hindsight[s]),
                            "regret": float(costs[s] - hindsight[s]), **{n: v for n, v in k.items() if n != "total_cost"}})

    tables = {
        "summary": _summary(case, futures, ef, expected, wait_and_see, eev, tail, alpha, weight, len(committed), objective, time.perf_counter() - t_start, dot(ef.fees, sol.col_value[ef.r]), cannot),
        "futures": pd.DataFrame(future_rows),
        "options": pd.DataFrame(option_rows, columns=["option", "raises", "max_reserve", "reserved", "fee_per_unit", "reservation_cost", "value_per_unit", "net_value", "gross_saving", "price", "note"]),
        "commitments": pd.DataFrame(commitment_rows, columns=["commitment", "decision", "decisions", "committed_units", "value_of_flexibility"]),
        "committed_plan": committed_plan(case, ef, union, study.commitments, sol),
        "shadow_prices": expected_prices(ef, union, sol, futures),
        "frontier": fr,
        "runs": pd.DataFrame(runs),
    }
    return StochasticPlan(tables, expected, wait_and_see, eev, expected - wait_and_see, eev - expected, tail, alpha, weight, case.currency, ef, model, cannot, union, study)


def carry_out(futures: list[Future], committed: np.ndarray, rule: np.ndarray, union: Union, options: tuple[Option, ...], z: np.ndarray, r: np.ndarray, opts: SolveOptions) -> np.ndarray:
    """Each future's total cost with these commitments ``z`` and reservations ``r`` fixed and
    the rest planned for that future alone (its fees included); inf where they cannot be
    carried out."""
    out = np.full(len(futures), math.inf)
    for s, f in enumerate(futures):
        one = extensive_form([replace(f, probability=1.0)], committed, rule, union, options, risk=False)
        one.lp.row_lower[one.z_fix], one.lp.row_upper[one.z_fix] = z, z
        one.lp.row_lower[one.r_fix], one.lp.row_upper[one.r_fix] = r, r
        try:
            out[s] = solve_extensive(one, f.built, opts).optimum.objective  # type: ignore[arg-type]
        except SolveError as err:
            if err.status != "infeasible":
                raise
    return out


def _summary(case: Case, futures: list[Future], ef: Extensive, expected: float, ws: float, eev: float, tail: float, alpha: float, weight: float, committed: int, objective: float, seconds: float, reservation: float, cannot: list[str]) -> pd.DataFrame:
    cur = case.currency
    rows = [
        ("futures", len(futures), "count", "futures planned for (the base case takes what the scenarios leave of probability 1)"),
        ("expected_total_cost", expected, cur, "the plan's total cost, probability-weighted over the futures (fees of the options included)"),
        ("wait_and_see_cost", ws, cur, "the expected cost had each future been known in advance (each planned in hindsight)"),
        ("evpi", expected - ws, cur, "expected value of perfect information: what knowing the future in advance would be worth"),
        ("average_plan_expected_cost", eev, cur, "the expected cost of committing to the average future's plan (EEV)" + (f"; infinite: it cannot be carried out in {', '.join(cannot)}" if cannot else "")),
        ("vss", eev - expected, cur, "value of the stochastic solution: what planning for the average future would cost"),
        (f"cvar_{round(alpha * 100):d}", tail, cur, f"the mean cost of the worst {1 - alpha:.0%} of outcomes (CVaR)"),
        ("risk_weight", weight, "fraction", "lambda: the weight of CVaR against the expected cost in the objective"),
        ("objective", objective, cur, "(1 - lambda) expected cost + lambda CVaR"),
        ("reservation_cost", reservation, cur, "the fees of the options reserved, paid in every future"),
        ("committed_decisions", committed, "count", "decisions fixed now, the same in every future"),
        ("extensive_form_variables", ef.lp.num_col, "count", "columns of the extensive form"),
        ("extensive_form_rows", ef.lp.num_row, "count", "rows of the extensive form"),
        ("seconds", seconds, "s", "the whole study: the plan, hindsight, the average plan, options, commitments, frontier"),
    ]
    return pd.DataFrame(rows, columns=["metric", "value", "unit", "meaning"])


def _split_keys(keys: np.ndarray) -> tuple[list[str], list[str]]:
    """``family|v1|v2`` keys as (family, 'v1, v2')."""
    parts = [str(k).split("|") for k in keys]
    return [p[0] for p in parts], [", ".join(p[1:]) for p in parts]


def expected_prices(ef: Extensive, union: Union, sol: Solution, futures: list[Future]) -> pd.DataFrame:
    """The binding business limits (families a reviewer acts on): each row's expected shadow
    price (the change in expected total cost per one-unit rise of its limit in every future:
    the sum of its rows' duals over the futures) and its price in each future given the
    commitments (that future's dual over its probability)."""
    levers = {n for f in futures if f.built is not None for n, fam in f.built.families.items() if fam.lever}
    total = np.zeros(len(union.row_keys))
    own = np.full((len(futures), len(union.row_keys)), np.nan)
    for s, f in enumerate(futures):
        y = sol.row_dual[ef.row_off[s] : ef.row_off[s] + f.lp.num_row]
        total[f.rows] += y
        own[s, f.rows] = y / f.probability
    keep = np.flatnonzero(np.isin(union.row_family, list(levers)) & (np.abs(total) > 1e-9))
    keep = keep[np.argsort(-np.abs(total[keep]), kind="stable")]
    family, key = _split_keys(union.row_keys[keep])
    out = pd.DataFrame({"constraint": family, "key": key, "expected_shadow_price": total[keep]})
    for s, f in enumerate(futures):
        out[f"shadow_price_{f.name}"] = own[s, keep]
    return out


def committed_plan(case: Case, ef: Extensive, union: Union, commitments: tuple[Commitment, ...], sol: Solution) -> pd.DataFrame:
    """The decisions committed now, as a planning grid: one row per commitment and decision
    (variable and its key but the period), one column per period, in the variable's unit."""
    cols = union.cols.iloc[ef.committed].reset_index(drop=True)
    if not len(cols):
        return pd.DataFrame(columns=["commitment", "variable", "what"])
    index = [c for c in ("site", "resource", "origin", "destination", "mode", "product") if c in cols.columns]
    what = cols[index].astype(object).where(cols[index].notna(), None)
    words = [" ".join(str(v) for v in r if v is not None) for r in what.itertuples(index=False, name=None)]
    long = pd.DataFrame({"commitment": [commitments[i].words for i in ef.rule], "variable": cols["variable"].to_numpy(), "what": words,
                         "period": cols["period"].astype(str).to_numpy(), "quantity": sol.col_value[ef.z]})
    grid = long.pivot_table(index=["commitment", "variable", "what"], columns="period", values="quantity", aggfunc="sum", sort=False)
    grid = grid.reindex(columns=[p for p in case.period_names if p in grid.columns]).reset_index()
    grid.columns.name = None
    return grid


# --------------------------------------------------------------------------------------
# Beyond one machine: the same plan decomposed by mpi-sppy
# --------------------------------------------------------------------------------------


def scenario_lps(ef: Extensive, union: Union, options: tuple[Option, ...]):
    """Each future as ``stochastic_mpi.ScenarioLP``: its block of the extensive form, a zero
    column for a committed decision it does not have, and the options' reservations (cost the
    fee, bounded by max_reserve); first stage: the committed decisions (``ef.committed``'s
    order), then the reservations. The expected cost is the extensive form's at weight 0."""
    from scipy.sparse import csc_array, hstack

    from .stochastic_mpi import ScenarioLP

    out = []
    n_opt = len(options)
    for s, f in enumerate(ef.futures):
        lp = block_lp(ef, s)
        own = np.full(len(union.cols), -1, dtype=np.int64)
        own[f.cols] = np.arange(f.lp.num_col)
        at = own[ef.committed]
        missing = np.flatnonzero(at < 0)
        at[missing] = lp.num_col + np.arange(len(missing))
        n_x = lp.num_col + len(missing)
        reserve = np.column_stack([-union.delta[o][f.rows] for o in range(n_opt)]) if n_opt else np.zeros((lp.num_row, 0))
        A = hstack([lp.A, csc_array((lp.num_row, len(missing))), csc_array(reserve)], format="csc")
        first = np.concatenate([at, n_x + np.arange(n_opt)]).astype(np.int64)
        cost = np.concatenate([np.zeros(len(at)), ef.fees])
        out.append(ScenarioLP(
            name=f.name, probability=f.probability, c=np.concatenate([lp.c, np.zeros(len(missing) + n_opt)]), A=A,
            row_lower=lp.row_lower, row_upper=lp.row_upper, col_lower=np.zeros(n_x + n_opt),
            col_upper=np.concatenate([np.full(n_x, math.inf), [o.max_reserve for o in options]]), first_stage=first, first_stage_cost=cost,
        ))
    return out


def decompose_case(case: Case, opts: SolveOptions | None = None, ranks: int = 1, method: str = "lshaped", rel_gap: float = 1e-4, time_limit: float = 600.0, max_iterations: int = 200):
    """The expected-cost plan of ``case`` by mpi-sppy (``stochastic_mpi.decompose``): the same
    futures, commitments and options as the extensive form, each future a scenario of its own,
    ``ranks`` MPI ranks (1: in this process). Returns the decomposition's result (both bounds
    and their gap) and the tables of its plan (summary, committed_plan, options)."""
    from .stochastic_mpi import decompose

    study = read_study(case)
    futures, union = futures_of(case, study)
    committed, rule, problems = committed_columns(case, union, study.commitments)
    if problems:
        raise InputError(problems)
    ef = extensive_form(futures, committed, rule, union, study.options)
    result = decompose(scenario_lps(ef, union, study.options), method=method, ranks=ranks, rel_gap=rel_gap, max_iterations=max_iterations, time_limit=time_limit)
    first = np.asarray(result.first_stage_values, dtype=float)
    z, r = first[: len(committed)], first[len(committed) :]
    x = np.zeros(ef.lp.num_col)
    x[ef.z], x[ef.r] = z, r
    shown = replace(Solution("optimal", result.upper_bound, x, np.zeros(0), np.zeros(0), np.zeros(0), *(np.zeros(0),) * 4, result.method, result.seconds, "mpi-sppy"))
    cur = case.currency
    summary = pd.DataFrame([
        ("futures", len(futures), "count", "futures planned for"),
        ("lower_bound", result.lower_bound, cur, "the expected total cost is at least this (proved by the decomposition)"),
        ("upper_bound", result.upper_bound, cur, "the expected total cost of the best plan found (its first stage carried out in every future)"),
        ("gap", result.gap, "fraction", "(upper - lower) / |upper|"),
        ("iterations", result.iterations, "count", f"iterations of {result.method}"),
        ("ranks", result.ranks, "count", "MPI ranks"),
        ("seconds", result.seconds, "s", "the decomposition, start to end"),
        ("reservation_cost", dot(ef.fees, r), cur, "the fees of the options reserved"),
    ], columns=["metric", "value", "unit", "meaning"])
    options = pd.DataFrame({"option": [o.name for o in study.options], "max_reserve": [o.max_reserve for o in study.options], "reserved": r,
                            "fee_per_unit": ef.fees, "reservation_cost": ef.fees * r})
    return result, {"summary": summary, "committed_plan": committed_plan(case, ef, union, study.commitments, shown), "options": options}
