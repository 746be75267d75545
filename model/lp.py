"""The LP in matrix form, and the one place that knows which row is which.

Every constraint family is a block of rows keyed by its index columns (``capacity`` by site,
resource and period ...). The LP holds each row's limit once (``row_lower``/``row_upper``,
read through ``limit``), and maps business keys to rows (``row_index``) and rows back to keys
(``row_keys``). Results, the infeasibility diagnosis and in-place edits all go through it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from scipy.sparse import csc_array

#: Row sense codes: 1 '<=', -1 '>=', 0 '=='.
SENSE = {"<=": 1, ">=": -1, "==": 0}
SENSE_TEXT = {1: "<=", -1: ">=", 0: "="}


@dataclass
class Block:
    """The rows of one constraint family: ``keys`` (its index columns, one row per
    constraint; no columns for a family with no index), its ``sense``, and the family's
    nonzeros as (row within the block, column, coefficient)."""

    family: str
    keys: pd.DataFrame
    sense: int
    row: np.ndarray
    col: np.ndarray
    coef: np.ndarray

    def __len__(self) -> int:
        return len(self.keys)


@dataclass
class LP:
    """min c x  s.t.  row_lower <= A x <= row_upper, col_lower <= x <= col_upper.

    Rows are the blocks' rows stacked in order; ``blocks[i]`` occupies rows
    ``offsets[i]:offsets[i + 1]``. Units: money for costs, the family's unit for limits."""

    c: np.ndarray
    A: csc_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_sense: np.ndarray  # -1 '>=', 0 '==', 1 '<='
    blocks: list[Block]
    offsets: np.ndarray
    _lookup: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of_rows(cls, c: np.ndarray, A: csc_array, sense: np.ndarray, limit: np.ndarray, blocks: list[Block], offsets: np.ndarray) -> LP:
        """An LP of nonnegative variables whose rows have these senses and limits."""
        lower, upper = bounds(sense, limit)
        n = len(c)
        return cls(c=c, A=A, row_lower=lower, row_upper=upper, col_lower=np.zeros(n), col_upper=np.full(n, math.inf), row_sense=sense, blocks=blocks, offsets=offsets)

    @property
    def num_col(self) -> int:
        return int(self.c.shape[0])

    @property
    def num_row(self) -> int:
        return int(self.row_lower.shape[0])

    @property
    def limit(self) -> np.ndarray:
        """Each row's limit (right-hand side): the upper bound of a '<=' row, else the lower."""
        return np.where(self.row_sense == 1, self.row_upper, self.row_lower)

    def fingerprint(self) -> str:
        """SHA-256 of the LP's numbers (costs, bounds, limits and the matrix, in its order): two
        LPs with the same fingerprint are the same model, so a basis saved with one fits the
        other and gives the same plan (``reopen``)."""
        A = self.A.tocsc()
        if not A.has_sorted_indices:
            A = A.copy()
            A.sort_indices()
        h = hashlib.sha256(f"{self.num_col} {self.num_row}".encode())
        for a in (self.c, self.col_lower, self.col_upper, self.row_lower, self.row_upper, A.indptr, A.indices, A.data):
            h.update(np.ascontiguousarray(a, dtype=np.int64 if a.dtype.kind in "iu" else np.float64).tobytes())
        return h.hexdigest()

    @property
    def row_family(self) -> np.ndarray:
        return np.repeat(np.array([b.family for b in self.blocks], dtype=object), np.diff(self.offsets))

    def rows(self) -> Iterator[tuple[Block, slice]]:
        """Each family's block with the global rows it occupies."""
        for b, off in zip(self.blocks, self.offsets):
            yield b, slice(int(off), int(off) + len(b))

    def block(self, family: str) -> tuple[Block, slice] | None:
        return next(((b, sl) for b, sl in self.rows() if b.family == family), None)

    def row_index(self, family: str, keys: pd.DataFrame | list[tuple] | tuple) -> np.ndarray:
        """Global row numbers of a family's rows named by their keys (a frame of the index
        columns, a list of key tuples, or one tuple); -1 where no such row exists (a limit
        that constrains nothing is not in the LP)."""
        found = self.block(family)
        if isinstance(keys, tuple):
            keys = [keys]
        n = len(keys)
        if found is None:
            return np.full(n, -1, dtype=np.int64)
        b, sl = found
        cols = list(b.keys.columns)
        if not cols:  # a family with no index has at most one row
            return np.full(n, sl.start if len(b) else -1, dtype=np.int64)
        if family not in self._lookup:
            self._lookup[family] = pd.MultiIndex.from_frame(b.keys.astype(object))
        wanted = keys[cols] if isinstance(keys, pd.DataFrame) else pd.DataFrame(list(keys), columns=cols)
        local = self._lookup[family].get_indexer(pd.MultiIndex.from_frame(wanted.astype(object)))
        return np.where(local >= 0, local + sl.start, -1).astype(np.int64)

    def row_keys(self, rows: np.ndarray) -> pd.DataFrame:
        """Family ('constraint'), index columns, sense, limit and ``_row`` of given global rows."""
        rows = np.asarray(rows, dtype=np.int64)
        frames = []
        limit = self.limit
        for b, sl in self.rows():
            inside = rows[(rows >= sl.start) & (rows < sl.stop)]
            if len(inside):
                df = b.keys.iloc[inside - sl.start].reset_index(drop=True)
                df.insert(0, "constraint", b.family)
                df["sense"] = SENSE_TEXT[b.sense]
                df["limit"] = limit[inside]
                df["_row"] = inside
                frames.append(df)
        if not frames:
            return pd.DataFrame(columns=["constraint", "sense", "limit", "_row"])
        return pd.concat(frames, ignore_index=True)


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """The dot product of two vectors, summed by numpy, not BLAS: OpenBLAS spreads a dot of more
    than a few thousand numbers over its threads, and while the cores are busy (HiGHS, the other
    workers of a many-solve run) waking them was measured at 16 ms a call against 0.01-0.4 ms."""
    return float(np.multiply(a, b).sum())


def bounds(sense: np.ndarray, limit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row bounds (lower, upper) of rows with these senses (``SENSE`` codes) and limits: a
    '<=' row is bounded above by its limit, a '>=' row below, an '=' row both ways."""
    sense, limit = np.asarray(sense), np.asarray(limit, dtype=float)
    return np.where(sense == 1, -math.inf, limit), np.where(sense == -1, math.inf, limit)


def terms(df: pd.DataFrame, keys: list[str], coef: object = 1.0) -> pd.DataFrame:
    """Terms (row key columns, ``coef``, ``col``) of one variable family in a constraint
    family: ``coef`` a number, an array, or the name of a column of ``df``."""
    c = df[coef] if isinstance(coef, str) else coef
    out = df[keys].copy()
    out["coef"] = c
    out["col"] = df["col"].to_numpy()
    return out


def assemble(blocks: list[Block], limits: list[np.ndarray], c: np.ndarray, A: csc_array | None = None) -> LP:
    """Stack the blocks into one sparse matrix (CSC) with row bounds from limits and senses;
    ``A``: the matrix they stack to, when the caller has it already."""
    from scipy.sparse import coo_array

    sizes = np.array([len(b) for b in blocks], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    if A is None:
        rows = np.concatenate([b.row + off for b, off in zip(blocks, offsets)]) if blocks else np.zeros(0, dtype=np.int64)
        cols = np.concatenate([b.col for b in blocks]) if blocks else np.zeros(0, dtype=np.int64)
        vals = np.concatenate([b.coef for b in blocks]) if blocks else np.zeros(0)
        A = coo_array((vals, (rows, cols)), shape=(int(offsets[-1]), len(c))).tocsc()
        A.sum_duplicates()
    limit = np.concatenate(limits) if limits else np.zeros(0)
    sense = np.repeat(np.array([b.sense for b in blocks], dtype=np.int8), sizes)
    return LP.of_rows(c, A, sense, limit, blocks, offsets)
