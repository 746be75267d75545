"""Files: writing them so a run that fails or is stopped leaves nothing half-written, and
reading back the tables of a results folder.

A results folder is written through a staging folder inside it (``staging``): every file is
written there, flushed to disk, and only then moved into place with ``os.replace``
(``commit``; Ctrl+C and SIGTERM wait until every file is moved), so a run that fails or is
stopped never leaves a half-written, clobbered or mixed folder. The moves are one rename per
file, not one for the folder: a SIGKILL or power cut in the microseconds between two of them
is the one case that can leave files of two runs. A single file is written the same way
(``atomic_file``). CSV cells a spreadsheet would run as formulas are defused
(``inert_for_csv``) and read back as written (``read_csv``).
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd


@contextmanager
def atomic_file(path: str | Path):
    """Write one file atomically: yields a temporary path beside ``path``; when the block ends
    without an error it is flushed to disk and moved over ``path``, else removed, so a failed
    run leaves any earlier file as it was."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        _fsync(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; this is an ordinary file
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


#: A cell starting with one of these is a formula to spreadsheet programs (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert_for_csv(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe (OWASP's
    advice for CSV injection); numbers are left alone."""
    out = df
    for c in df.columns:
        if df[c].dtype.kind == "O":
            col = df[c]
            # Each distinct value tested once: keys repeat down a column (a test per cell took
            # 0.23 s for the tables of 88k variables, this 0.06 s).
            bad = [v for v in col.unique() if isinstance(v, str) and v.startswith(FORMULA_START)]
            if bad:
                risky = col.isin(bad)
                if out is df:
                    out = df.copy()
                out[c] = col.where(~risky, "'" + col.astype(str))
    return out


def _as_text(v: object) -> str | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """A table as Parquet; mixed-type columns (the summary's values) are stored as text."""
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if col.dtype != object:
            continue
        distinct = col.unique()  # the types from the distinct values: a call per cell took 0.5 s at 300k variables
        types = {type(v) for v in distinct}
        if len(types) <= 1:
            continue
        if types <= {str, type(None), float} and all(type(v) is str or _as_text(v) is None for v in distinct):
            # Text with blanks (a key a row does not have): blanks as None, typed as map would type them.
            out[c] = col.where(col.notna(), None).infer_objects()
        else:
            out[c] = col.map(_as_text)
    out.to_parquet(path, index=False)

STAGING_PREFIX = ".aop-"


def staging(out: Path) -> Path:
    """A fresh temporary folder inside ``out`` (same file system, so moves are atomic), named
    after this process. Folders left by a run that was killed are removed first: those whose
    process is gone, or (where that cannot be told) that are more than an hour old."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(STAGING_PREFIX + "*"):
        try:
            if old.is_dir() and _abandoned(old):
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
    return Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=out))


def _abandoned(folder: Path) -> bool:
    pid = folder.name[len(STAGING_PREFIX) :].split("-", 1)[0]
    if os.name == "posix" and pid.isdigit():
        if int(pid) == os.getpid():
            return False
        try:
            os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return True
        except OSError:
            return False  # exists, owned by someone else
        return False
    return time.time() - folder.stat().st_mtime > 3600


def _fsync(path: Path) -> None:
    """Flush a file or folder to disk (best effort where the platform cannot)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def _signals_deferred():
    """Ctrl+C and SIGTERM arriving inside the block take effect when it ends, so the files in
    the output folder are never left half old, half new. Only the main thread can set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    sigs = [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])
    old = {s: signal.getsignal(s) for s in sigs}
    for s in sigs:
        signal.signal(s, lambda num, _frame: caught.append(num))
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
        for num in dict.fromkeys(caught):
            signal.raise_signal(num)


def commit(tmp: Path, out: Path, names: list[str], owned: frozenset[str]) -> list[Path]:
    """Move the staged files ``names`` into ``out`` and remove the files in ``owned`` that this run
    did not write. Files are flushed to disk first and the folder after, so a power cut leaves
    either the old or the new file under each name."""
    for n in names:
        _fsync(tmp / n)
    with _signals_deferred():
        for n in names:
            os.replace(tmp / n, out / n)
        for n in owned - set(names):
            (out / n).unlink(missing_ok=True)
    _fsync(out)
    return [out / n for n in names]




# --------------------------------------------------------------------------------------
# Reading a results folder back
# --------------------------------------------------------------------------------------


def read_csv(path: Path) -> pd.DataFrame:
    """A table aop wrote, read back: text columns stay text, and the apostrophe that defused a
    formula-looking cell (report.inert_for_csv) is taken off again."""
    df = pd.read_csv(path, keep_default_na=True)
    for c in df.columns:
        if df[c].dtype == object or str(df[c].dtype).startswith("str"):
            col = df[c]
            mask = col.map(lambda v: isinstance(v, str) and len(v) > 1 and v[0] == "'" and v[1:].startswith(FORMULA_START))
            if mask.any():
                df[c] = col.where(~mask, col.str[1:])
    return df


def read_tables(folder: str | Path, names: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """The tables ``names`` of a results folder (``<table>.csv``) that it holds, by name, with
    period columns as text."""
    folder = Path(folder)
    tables = {name: read_csv(folder / f"{name}.csv") for name in names if (folder / f"{name}.csv").exists()}
    for key in ("period", "departure_period"):
        for df in tables.values():
            if key in df.columns:
                df[key] = df[key].astype(str)
    return tables


def read_study_tables(folder: str | Path, study: str) -> dict[str, pd.DataFrame]:
    """The tables of a study (``<study>_<table>.csv``), by table name."""
    folder = Path(folder)
    prefix = f"{study}_"
    return {p.stem[len(prefix):]: read_csv(p) for p in sorted(folder.glob(f"{prefix}*.csv"))}


