"""Re-opening a solved plan without solving it again: its optimal basis and the case it was
solved from, written with the plan (``store``) and read back (``reopened``).

A plan folder holds ``basis.npz`` (HiGHS's column and row status of the optimal basis, the
LP's fingerprint, the back end and the objective) and a byte-for-byte copy of the input it was
read from: ``solved_case.xlsx`` (or ``.xlsm``) for a workbook, ``solved_case.zip`` holding the
``<table>.csv`` files of a folder. The copy is checked against the SHA-256 the plan's
provenance records for each input file when it is written and again when it is read, so a case
edited while it was solved, or since, is never taken for the one solved. Rebuilt from the copy,
the model's fingerprint must equal the saved one (the same aop builds the same LP); then the
saved basis is optimal as it stands and HiGHS re-opens the plan in no simplex iterations
(``aop explain DIR --exact``)."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .files import read_csv

BASIS_FILE = "basis.npz"
#: The stored case: a workbook's copy (by its suffix) or a CSV folder's files in a zip.
CASE_FILES = ("solved_case.xlsx", "solved_case.xlsm", "solved_case.zip")
#: Every file of a plan folder this module writes (the writer owns them: ``report.PLAN_FILES``).
FILES = frozenset({BASIS_FILE, *CASE_FILES})
#: Bumped when basis.npz changes form; an unknown form is refused, not guessed.
FORM = 1


@dataclass(frozen=True)
class SavedBasis:
    """What re-opens a solved plan: the optimal basis (``Solved.basis()``: HiGHS's status
    numbers of each column and row), the fingerprint of the LP it is a basis of
    (``LP.fingerprint``), the back end that built it and the plan's objective."""

    col_status: np.ndarray
    row_status: np.ndarray
    model: str
    backend: str
    objective: float


class NotSaved(Exception):
    """The folder cannot be re-opened: no saved basis or case, or one that does not match."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _inputs(provenance: pd.DataFrame) -> tuple[str, dict[str, str]]:
    """The case's path and the SHA-256 of each input file, as the provenance records them."""
    prov = dict(zip(provenance["item"].astype(str), provenance["value"].astype(str)))
    return prov.get("case", ""), {k.removeprefix("input file "): v for k, v in prov.items() if k.startswith("input file ")}


def store(saved: SavedBasis, provenance: pd.DataFrame | None, folder: Path) -> list[str]:
    """Write ``basis.npz`` and the stored case into ``folder`` (a staging folder); return the
    names written. Nothing is written (and [] returned) when the case was not read from files
    (tables in memory) or its files no longer hold what was solved (edited while it was
    solved): a basis without its case re-opens nothing."""
    if provenance is None or not len(provenance):
        return []
    source, inputs = _inputs(provenance)
    path = Path(source)
    if not inputs or not source or not path.exists():
        return []
    name = "solved_case.zip" if path.is_dir() else f"solved_case{path.suffix.lower()}"
    try:
        if path.is_dir():
            kept = _zip_inputs(path, inputs, folder / name)
        else:
            kept = name in CASE_FILES and path.name in inputs
            if kept:
                shutil.copyfile(path, folder / name)
                kept = _sha256((folder / name).read_bytes()) == inputs[path.name]
    except OSError:  # moved or unreadable since it was read: the plan is written without it
        kept = False
    if not kept:
        (folder / name).unlink(missing_ok=True)
        return []
    np.savez_compressed(
        folder / BASIS_FILE, col_status=saved.col_status, row_status=saved.row_status, model=np.array(saved.model),
        backend=np.array(saved.backend), objective=np.array(saved.objective), form=np.array(FORM),
    )
    return [name, BASIS_FILE]


def _zip_inputs(path: Path, inputs: dict[str, str], to: Path) -> bool:
    """The CSV files of the case folder ``path`` into the zip ``to``; False when one no longer
    holds what was read."""
    # Files of a few MB each: fast deflate, most of the saving at a fraction of the time.
    with zipfile.ZipFile(to, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for f, sha in inputs.items():
            data = (path / f).read_bytes()
            if _sha256(data) != sha:
                return False
            zf.writestr(f, data)
    return True


def _load_basis(path: Path) -> SavedBasis:
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["form"]) != FORM:
                raise NotSaved(f"{path} is of another form ({int(z['form'])}) than this aop reads ({FORM})")
            return SavedBasis(z["col_status"], z["row_status"], str(z["model"]), str(z["backend"]), float(z["objective"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise NotSaved(f"{path} cannot be read ({type(err).__name__}: {err})") from None


@contextmanager
def reopened(folder: str | Path) -> Iterator[tuple[SavedBasis, Path]]:
    """The saved basis of the plan in ``folder`` and the path of its stored case (a workbook,
    or a temporary folder of the CSV files, removed when the block ends), checked against the
    provenance. Raises ``NotSaved`` (saying why, and to solve again) when they are missing,
    damaged or not what the plan was solved from."""
    folder = Path(folder)
    again = f"solve the case again (aop solve CASE --out {folder})"
    cases = [folder / n for n in CASE_FILES if (folder / n).exists()]
    if not (folder / BASIS_FILE).exists() or not cases:
        raise NotSaved(
            f"{folder} holds no saved basis and case ({BASIS_FILE}, solved_case.xlsx or solved_case.zip), so its what-ifs cannot be settled without "
            f"solving it again: it was written by an older aop, from tables in memory, by PDLP (which ends on no basis), or its case changed while it was solved; {again}"
        )
    saved = _load_basis(folder / BASIS_FILE)
    if not (folder / "provenance.csv").exists():
        raise NotSaved(f"{folder} holds no provenance.csv, which says what the stored case must hold; {again}")
    _, inputs = _inputs(read_csv(folder / "provenance.csv"))
    case = cases[0]
    if case.suffix != ".zip":
        if _sha256(case.read_bytes()) not in inputs.values():
            raise NotSaved(f"{case} is not the workbook the plan was solved from (its SHA-256 differs from the provenance's); {again}")
        yield saved, case
        return
    with tempfile.TemporaryDirectory(prefix="aop-case-") as tmp:
        try:
            with zipfile.ZipFile(case) as zf:
                names = zf.namelist()
                # Only the plain file names it was written with (no folders: nothing lands outside tmp).
                if sorted(names) != sorted(inputs) or any(Path(n).name != n or not n.endswith(".csv") for n in names):
                    raise NotSaved(f"{case} does not hold the CSV files the provenance lists; {again}")
                for n in names:
                    data = zf.read(n)
                    if _sha256(data) != inputs[n]:
                        raise NotSaved(f"{case}: {n} is not the file the plan was solved from (its SHA-256 differs from the provenance's); {again}")
                    (Path(tmp) / n).write_bytes(data)
        except (OSError, zipfile.BadZipFile) as err:
            raise NotSaved(f"{case} cannot be read ({type(err).__name__}: {err}); {again}") from None
        yield saved, Path(tmp)
