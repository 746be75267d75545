"""Typed errors carrying every problem found, each with its location as the user sees it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input.

    where: the sheet or file as the user sees it (``sheet 'demand'`` or ``demand.csv``).
    row: the Excel row number or CSV line number (None for table-level problems).
    """

    where: str
    message: str
    row: int | None = None
    column: str | None = None
    value: object = None

    def __str__(self) -> str:
        loc = self.where
        if self.row is not None:
            loc += f" line {self.row}" if self.where.endswith(".csv") else f" row {self.row}"
        if self.column:
            loc += f", column '{self.column}'"
        val = "" if self.value is None else f" (value: {self.value!r})"
        return f"{loc}: {self.message}{val}"


class InputError(Exception):
    """The case cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class SolveError(Exception):
    """The solver did not return an optimal plan (infeasible, unbounded, time limit ...)."""

    def __init__(self, status: str, detail: str = "", report: object = None, solver: str = "", options: dict | None = None, handle: object = None):
        self.status = status
        self.handle = handle  # solve.Solved holding the LP HiGHS gave up on (for diagnose), if any
        self.detail = detail
        self.report = report  # e.g. diagnose.Infeasibility for an infeasible plan
        self.solver = solver  # e.g. "HiGHS 1.12.0", for the record
        self.options = dict(options or {})  # the HiGHS options the solve ran with
        super().__init__(f"{status}: {detail}" if detail else status)
