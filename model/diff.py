"""What separates two built plans, as data: the numbers an edit changes in place
(``ModelDiff``: limits, costs, coefficients) or why it needs a rebuild (``RebuildReason``).

In the manner of linopy's ``ModelDiff | RebuildReason``: ``diff(a, b)`` returns one of the two,
each with a ``summary()`` for people, and a caller branches on the type, never on the words.
``solve.Solved`` writes a ``ModelDiff`` into HiGHS and re-solves warm; a ``RebuildReason``
means the new plan is built and solved cold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .build import VARIABLES, Built
from .lp import LP


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class ModelDiff:
    """The numbers plan ``b``'s LP changes from plan ``a``'s, on the same rows, columns and
    nonzero pattern: the rows whose limits changed (``rows``), the columns whose costs changed
    (``cols``), the nonzeros whose coefficients changed (``coefficients``: positions in the
    column-wise ``A.data``), and the constraint families and variables they belong to."""

    rows: np.ndarray
    cols: np.ndarray
    coefficients: np.ndarray
    families: tuple[str, ...] = ()
    variables: tuple[str, ...] = ()
    built: Built = field(kw_only=True, repr=False, compare=False)  # plan b

    @property
    def empty(self) -> bool:
        return not (len(self.rows) or len(self.cols) or len(self.coefficients))

    def summary(self) -> str:
        """In words: 'in place: 12 limits (demand, service), 3 costs (make), 0 coefficients'."""
        parts = [
            _plural(len(self.rows), "limit") + (f" ({', '.join(self.families)})" if self.families else ""),
            _plural(len(self.cols), "cost") + (f" ({', '.join(self.variables)})" if self.variables else ""),
            _plural(len(self.coefficients), "coefficient"),
        ]
        return "changed in place: " + ", ".join(parts)


@dataclass(frozen=True)
class RebuildReason:
    """Why plan ``b`` cannot be reached from plan ``a``'s LP by changing numbers in place:
    ``kind`` is 'families' (other constraint families), 'rows' (a family's rows differ),
    'variables' (a variable family's variables differ), 'pattern' (a coefficient appeared or
    vanished) or 'sense'; ``name`` the family or variable; ``before`` and ``after`` its sizes."""

    kind: str
    name: str = ""
    before: int = 0
    after: int = 0
    built: Built | None = field(default=None, repr=False, compare=False)  # plan b

    def summary(self) -> str:
        if self.kind == "families":
            return f"rebuilt: the constraint families differ ({self.name})"
        if self.kind == "rows":
            return f"rebuilt: the {self.name} rows differ ({self.before:,} rows before, {self.after:,} now)"
        if self.kind == "variables":
            return f"rebuilt: the {self.name} variables differ ({self.before:,} before, {self.after:,} now)"
        if self.kind == "pattern":
            return "rebuilt: the pattern of nonzeros differs (a coefficient appeared or vanished)"
        return "rebuilt: a row's sense differs"


def structure(a: Built, b: Built) -> RebuildReason | None:
    """Why ``b``'s LP does not have ``a``'s rows, variables and nonzero pattern (None when it
    has). Tables ``b`` shares with ``a`` (a refreshed plan keeps them) are not compared."""
    fa, fb = [blk.family for blk in a.lp.blocks], [blk.family for blk in b.lp.blocks]
    if fa != fb:
        return RebuildReason("families", ", ".join(sorted(set(fa) ^ set(fb))), built=b)
    for x, y in zip(a.lp.blocks, b.lp.blocks):
        if x.keys is not y.keys and (len(x) != len(y) or not x.keys.equals(y.keys)):
            return RebuildReason("rows", x.family, len(x), len(y), built=b)
    for name, cols in VARIABLES.items():
        va, vb = a.variables[name], b.variables[name]
        if va is vb:
            continue
        ka, kb = va[list(cols)], vb[list(cols)]
        if len(ka) != len(kb) or not ka.reset_index(drop=True).equals(kb.reset_index(drop=True)):
            return RebuildReason("variables", name, len(ka), len(kb), built=b)
    A, B = a.lp.A, b.lp.A
    same_pattern = A.nnz == B.nnz and (A.indptr is B.indptr or np.array_equal(A.indptr, B.indptr)) and (A.indices is B.indices or np.array_equal(A.indices, B.indices))
    if not same_pattern:
        return RebuildReason("pattern", built=b)
    if not np.array_equal(a.lp.row_sense, b.lp.row_sense):
        return RebuildReason("sense", built=b)
    return None


def numbers(a: LP, b: LP) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows whose bounds, columns whose costs and nonzeros whose coefficients differ between
    two LPs of the same structure."""
    rows = np.flatnonzero((a.row_lower != b.row_lower) | (a.row_upper != b.row_upper))
    cols = np.flatnonzero(a.c != b.c)
    coefficients = np.flatnonzero(a.A.data != b.A.data)
    return rows, cols, coefficients


def diff(a: Built, b: Built) -> ModelDiff | RebuildReason:
    """What moving from plan ``a`` to plan ``b`` takes: a ``ModelDiff`` when only numbers
    differ, else a ``RebuildReason``."""
    reason = structure(a, b)
    if reason is not None:
        return reason
    rows, cols, coefficients = numbers(a.lp, b.lp)
    families = tuple(dict.fromkeys(b.lp.row_family[rows])) if len(rows) else ()
    owner = np.empty(b.lp.num_col, dtype=object)
    for name, df in b.variables.items():
        owner[df["col"].to_numpy()] = name
    changed = set(owner[cols]) | set(owner[np.repeat(np.arange(b.lp.num_col), np.diff(b.lp.A.indptr))[coefficients]])
    variables = tuple(n for n in VARIABLES if n in changed)
    return ModelDiff(rows=rows, cols=cols, coefficients=coefficients, families=families, variables=variables, built=b)
