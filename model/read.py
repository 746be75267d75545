"""Read a case (an .xlsx workbook or a folder of CSV files) into raw tables.

Nothing is interpreted here beyond the header: every value stays as the user typed it and
each row keeps ``_row``, the row number the user sees (Excel row or CSV line), so later
messages can point at it.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import InputError, Problem
from .schema import TABLES

ROW = "_row"

#: Refuse workbooks beyond these before parsing them (zip bombs, absurd sheets).
MAX_UNCOMPRESSED_BYTES = 2 * 1024**3
MAX_COMPRESSION_RATIO = 200.0
MAX_ZIP_MEMBERS = 10_000


def check_xml_defences() -> None:
    """openpyxl parses with defusedxml only when it is installed and not disabled: refuse to
    read workbooks otherwise (billion laughs, external entities)."""
    import openpyxl.xml

    if not openpyxl.xml.DEFUSEDXML:
        raise InputError([Problem("aop", "defusedxml is not active in openpyxl (install defusedxml; do not set OPENPYXL_DEFUSEDXML=False): refusing to read workbooks")])


def check_zip(path: Path) -> None:
    """Size limits on the workbook's zip container, read from its directory before any XML is parsed."""
    import zipfile

    name = path.name
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError([Problem(name, f"is not a valid .xlsx workbook (not a zip file: {exc})")]) from None
    if len(infos) > MAX_ZIP_MEMBERS:
        raise InputError([Problem(name, f"has {len(infos):,} parts; a workbook has far fewer (limit {MAX_ZIP_MEMBERS:,})")])
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise InputError([Problem(name, f"unpacks to {total / 1024**2:,.0f} MiB, over the {MAX_UNCOMPRESSED_BYTES / 1024**2:,.0f} MiB limit")])
    for i in infos:
        if i.file_size > 50 * 1024**2 and i.file_size > MAX_COMPRESSION_RATIO * max(i.compress_size, 1):
            raise InputError([Problem(name, f"part {i.filename} is compressed {i.file_size / max(i.compress_size, 1):,.0f} to 1 (limit {MAX_COMPRESSION_RATIO:.0f}): refusing a possible zip bomb")])


@dataclass
class RawCase:
    """Tables as read: column names normalised, values untouched, ``_row`` per row."""

    source: str
    tables: dict[str, pd.DataFrame]
    where: dict[str, str]  # table -> "sheet 'x'" or "x.csv"
    problems: list[Problem] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # file read -> SHA-256 of its bytes

    def table_hashes(self) -> dict[str, str]:
        """SHA-256 of each table as read (values as text, in order), for provenance."""
        return {name: hashlib.sha256(df.drop(columns=ROW).to_csv(index=False).encode()).hexdigest() for name, df in self.tables.items()}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def normalise_header(name: object) -> str:
    return str(name).strip().lower().replace(" ", "_") if name is not None else ""


def _frame(header: list, rows: list[tuple[int, list]]) -> pd.DataFrame:
    cols = [normalise_header(h) for h in header]
    keep = [i for i, c in enumerate(cols) if c]
    data = {cols[i]: [r[i] if i < len(r) else None for _, r in rows] for i in keep}
    df = pd.DataFrame(data, dtype=object)
    df[ROW] = [n for n, _ in rows]
    return df


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def read_workbook(path: Path) -> RawCase:
    """Read every sheet named after a known table; cached values only (no formula evaluation)."""
    from openpyxl import load_workbook

    check_xml_defences()
    check_zip(path)
    try:
        return _read_workbook(path)
    except InputError:
        raise
    except Exception as exc:  # zip, XML, entity and part errors all mean the same to the user
        raise InputError([Problem(path.name, f"cannot be read as an Excel workbook: {type(exc).__name__}: {exc}")]) from None


_DECIMAL_COMMA = re.compile(r"^\s*(-?\d+),(\d+)\s*$")
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


def merged_ranges(path: Path, part: str) -> list[tuple[str, int]]:
    """Merged ranges of a worksheet part, read by streaming the XML (they follow the data)."""
    import zipfile

    found: list[tuple[str, int]] = []
    with zipfile.ZipFile(path) as zf, zf.open(part.lstrip("/")) as fh:
        tail = b""
        for block in iter(lambda: fh.read(1 << 20), b""):
            text = tail + block
            for m in _MERGE.finditer(text):
                ref = m.group(1).decode() + m.group(2).decode()
                if m.group(3):
                    ref += ":" + m.group(3).decode() + m.group(4).decode()
                found.append((ref, int(m.group(2))))
            tail = text[-200:]
    return sorted(set(found), key=lambda x: x[1])


def _read_workbook(path: Path) -> RawCase:
    from openpyxl import load_workbook

    problems: list[Problem] = []
    wb_val = load_workbook(path, read_only=True, data_only=True)
    wb_fx = load_workbook(path, read_only=True, data_only=False)
    tables: dict[str, pd.DataFrame] = {}
    where: dict[str, str] = {}
    try:
        for ws in wb_val.worksheets:
            name = normalise_header(ws.title)
            if name not in TABLES:
                continue
            label = f"sheet '{ws.title}'"
            for ref, row in merged_ranges(path, ws._worksheet_path):
                problems.append(Problem(label, f"has merged cells {ref}: unmerge them and fill every cell (a merged range keeps its value only in its first cell)", row))
            # The declared used range may be absurd (A1:XFD1048576): read only what is there.
            ws.reset_dimensions()
            wb_fx[ws.title].reset_dimensions()
            fx_rows = wb_fx[ws.title].iter_rows(values_only=True)
            header: list | None = None
            rows: list[tuple[int, list]] = []
            for n, (vals, fx) in enumerate(zip(ws.iter_rows(values_only=True), fx_rows), start=1):
                if header is not None:
                    vals, fx = vals[: len(header)], fx[: len(header)]
                vals = list(vals)
                if header is None:
                    if all(_blank(v) for v in vals):
                        continue
                    header = vals
                    continue
                if all(_blank(v) for v in vals) and all(_blank(v) for v in fx):
                    continue
                for i, (v, f) in enumerate(zip(vals, fx)):
                    if v is None and isinstance(f, str) and f.startswith("="):
                        col = normalise_header(header[i]) if i < len(header) else f"#{i + 1}"
                        problems.append(Problem(label, "formula has no saved value: open and save the workbook in Excel, or type the value", n, col, f))
                rows.append((n, [_cell(v) for v in vals]))
            tables[name] = _frame(header or [], rows)
            where[name] = label
    finally:
        wb_val.close()
        wb_fx.close()
    return RawCase(str(path), tables, where, problems, {path.name: sha256_file(path)})


def _cell(v: object) -> object:
    # Excel turns "2027-01" typed by a planner into a date; read it back as the period name.
    if isinstance(v, dt.datetime):
        if v.time() == dt.time(0) and v.day == 1:
            return v.strftime("%Y-%m")
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.strftime("%Y-%m") if v.day == 1 else v.isoformat()
    return v


def read_csv_folder(path: Path) -> RawCase:
    """Read ``<table>.csv`` files; values stay text, converted during validation."""
    tables: dict[str, pd.DataFrame] = {}
    where: dict[str, str] = {}
    problems: list[Problem] = []
    for f in sorted(path.glob("*.csv")):
        name = normalise_header(f.stem)
        if name not in TABLES:
            continue
        try:
            with f.open(newline="", encoding="utf-8-sig") as fh:
                first = fh.readline()
                fh.seek(0)
                # Excel in comma-decimal locales saves "CSV" with semicolons (and 1,5 for 1.5).
                semicolon = first.count(";") > first.count(",")
                reader = csv.reader(fh, delimiter=";" if semicolon else ",")
                header = None
                rows: list[tuple[int, list]] = []
                for vals in reader:
                    line = reader.line_num
                    if all(_blank(v) for v in vals):
                        continue
                    if header is None:
                        header = vals
                        continue
                    if semicolon:
                        vals = [_DECIMAL_COMMA.sub(r"\1.\2", v) for v in vals]
                    rows.append((line, [v if v.strip() else None for v in vals]))
        except (UnicodeDecodeError, csv.Error) as exc:
            problems.append(Problem(f.name, f"cannot be read as UTF-8 CSV: {exc}"))
            continue
        tables[name] = _frame(header or [], rows)
        where[name] = f.name
    files = {f.name: sha256_file(f) for f in sorted(path.glob("*.csv")) if normalise_header(f.stem) in TABLES}
    return RawCase(str(path), tables, where, problems, files)


def read_case(path: str | Path) -> RawCase:
    """Read a case from an .xlsx workbook or a folder of CSV files."""
    p = Path(path)
    if not p.exists():
        raise InputError([Problem(str(p), "does not exist")])
    if p.is_dir():
        return read_csv_folder(p)
    if p.suffix.lower() in {".xlsx", ".xlsm"}:
        return read_workbook(p)
    raise InputError([Problem(str(p), "is neither an .xlsx workbook nor a folder of CSV files")])


def from_frames(tables: dict[str, pd.DataFrame], source: str = "<tables>") -> RawCase:
    """Wrap in-memory DataFrames (the notebook route) as a raw case; rows count from 2 like Excel."""
    out: dict[str, pd.DataFrame] = {}
    where: dict[str, str] = {}
    for name, df in tables.items():
        key = normalise_header(name)
        d = df.copy()
        d.columns = [normalise_header(c) for c in d.columns]
        d = d.astype(object).where(d.notna(), None)
        d[ROW] = range(2, len(d) + 2)
        out[key] = d.reset_index(drop=True)
        where[key] = f"table '{key}'"
    return RawCase(source, out, where)
