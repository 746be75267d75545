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
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as exc:  # NotImplementedError: a damaged version field
        with open(path, "rb") as fh:
            head = fh.read(8)
        if head == bytes.fromhex("D0CF11E0A1B11AE1"):  # OLE2 compound file: Excel 97-2003, or any password-protected workbook
            why = "it is an old .xls workbook or a password-protected one: save it in Excel as .xlsx, without a password"
        else:
            why = "the file is empty" if not head else f"not a zip file: {exc}"
        raise InputError([Problem(name, f"is not a valid .xlsx workbook ({why})")]) from None
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
    others: dict[str, str] = field(default_factory=dict)  # "sheet 'Demands'" or "Demands.csv" -> its name normalised, not a table (for near misses)

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


def check_no_doctype(path: Path) -> None:
    """Refuse a part with a DOCTYPE, where every entity attack is declared (Excel never writes one),
    whichever parser openpyxl then uses: with lxml installed it parses workbook.xml, styles and the
    rels with lxml, not defusedxml. Each part is read only up to its root element."""
    import xml.parsers.expat
    import zipfile

    class Seen(Exception):
        pass

    def doctype(*_: object) -> None:
        raise Seen("doctype")

    def root(*_: object) -> None:
        raise Seen("root")

    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():  # every part: any name can be declared XML in [Content_Types].xml
            parser = xml.parsers.expat.ParserCreate()
            parser.StartDoctypeDeclHandler, parser.StartElementHandler = doctype, root
            try:
                with zf.open(name) as fh:
                    for block in iter(lambda: fh.read(1 << 14), b""):
                        parser.Parse(block, False)
            except Seen as seen:
                if seen.args[0] == "doctype":
                    raise InputError([Problem(path.name, f"cannot be read as an Excel workbook: part {name} declares a DTD (XML entities), which Excel never writes: refused for safety")]) from None
            except xml.parsers.expat.ExpatError:
                pass  # not XML (an image) or damaged XML, which the loader reports


def read_workbook(path: Path) -> RawCase:
    """Read every sheet named after a known table; cached values only (no formula evaluation)."""
    check_xml_defences()
    try:
        check_zip(path)
        check_no_doctype(path)
        return _read_workbook(path)
    except InputError:
        raise
    except Exception as exc:  # zip, XML, entity and part errors all mean the same to the user
        raise InputError([Problem(path.name, f"cannot be read as an Excel workbook: {_why(path, exc)}")]) from None


def _why(path: Path, exc: Exception) -> str:
    """A loader exception in one plain line. openpyxl wraps XML errors in a ValueError that asks to
    "see the exception" (suppressed here) and names no part: on this failure path only, the parts
    are parsed again to name the damaged one."""
    import zipfile
    import zlib
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    if isinstance(exc, KeyError):  # zipfile: "There is no item named 'x' in the archive"
        return f"a part is missing, the file is damaged ({exc.args[0]})"
    plain = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    try:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                try:
                    with zf.open(name) as fh:
                        if not name.endswith((".xml", ".rels")):
                            while fh.read(1 << 20):  # decompress: a damaged part fails here
                                pass
                            continue
                        for _, el in iterparse(fh):
                            el.clear()
                except DefusedXmlException:
                    return f"part {name} declares XML entities, which Excel never writes: refused for safety"
                except ParseError as bad:
                    return f"part {name} is damaged (invalid XML, {bad}): open the workbook in Excel and save it again"
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as bad:
                    return f"part {name} is damaged ({type(bad).__name__}: {bad}): open the workbook in Excel and save it again"
    except Exception as bad:
        return f"the file is damaged ({type(bad).__name__}: {bad}); {plain}"
    return plain


_DECIMAL_COMMA = re.compile(r"^\s*(-?\d+),(\d+)\s*$")
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_CELL_REF = re.compile(rb'<(?:\w+:)?c\s(?:[^>]*?\s)?r="([A-Z]{1,3})([0-9]{1,7})"')
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")

#: A sheet whose used range (last row x last column holding a cell) is larger than this is
#: refused before it is parsed: a stray cell at XFD1048576, or rows padded out to column XFD,
#: would otherwise cost minutes and gigabytes for a table of a few columns.
MAX_USED_CELLS = 50_000_000


@dataclass
class SheetScan:
    """What one streaming pass over a worksheet's XML tells before it is parsed."""

    merged: list[tuple[str, int]]  # (range, first row), e.g. ("A3:A4", 3)
    last_row: int  # largest row number of any cell (0: no cells)
    last_column: str  # letters of the rightmost column of any cell ("" when none)
    has_formulas: bool

    @property
    def used_cells(self) -> int:
        from openpyxl.utils import column_index_from_string

        return self.last_row * (column_index_from_string(self.last_column) if self.last_column else 0)


def scan_sheet(path: Path, part: str) -> SheetScan:
    """Merged ranges, used range and formula presence of a worksheet part, read by streaming its
    XML with regular expressions (no parser, constant memory)."""
    import zipfile

    merged: set[tuple[str, int]] = set()
    last_row, last_col, formulas = 0, b"", False
    with zipfile.ZipFile(path) as zf, zf.open(part.lstrip("/")) as fh:
        tail = b""
        for block in iter(lambda: fh.read(1 << 20), b""):
            text = tail + block
            for m in _MERGE.finditer(text):
                ref = m.group(1).decode() + m.group(2).decode()
                if m.group(3):
                    ref += ":" + m.group(3).decode() + m.group(4).decode()
                merged.add((ref, int(m.group(2))))
            refs = _CELL_REF.findall(text)
            if refs:
                last_row = max(last_row, max(int(r) for _, r in refs))
                last_col = max([last_col, *{c for c, _ in refs}], key=lambda c: (len(c), c))
            formulas = formulas or _FORMULA.search(text) is not None
            tail = text[-200:]  # a tag split between two blocks is seen whole in the next
    return SheetScan(sorted(merged, key=lambda x: x[1]), last_row, last_col.decode(), formulas)


def empty_text_formulas(path: Path, part: str) -> set[str]:
    """Cells (e.g. "E6") of a worksheet part whose formula's saved value is the empty text.

    Excel and LibreOffice save a formula showing nothing (=IF(x,"",y)) as t="str" with an empty
    <v>; openpyxl reads that as None, like a formula never calculated (which openpyxl itself
    writes without t="str"). Parsed only for sheets with such None formula cells.
    """
    import zipfile

    from defusedxml.ElementTree import iterparse

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    found: set[str] = set()
    with zipfile.ZipFile(path) as zf, zf.open(part.lstrip("/")) as fh:
        for _, el in iterparse(fh, events=("end",)):
            if el.tag == main + "c":
                v = el.find(main + "v")
                if el.get("t") == "str" and el.find(main + "f") is not None and v is not None and not v.text:
                    found.add(el.get("r"))
            elif el.tag == main + "row":
                el.clear()  # constant memory on long sheets
    return found


def _read_workbook(path: Path) -> RawCase:
    from openpyxl import load_workbook
    from openpyxl.reader.excel import ExcelReader

    problems: list[Problem] = []
    absurd: list[Problem] = []
    reader = ExcelReader(path, read_only=True, data_only=True)  # load_workbook's two lines, keeping the parser
    reader.read()
    wb_val = reader.wb
    # openpyxl skips a sheet whose part is absent; the user would be told the table is missing.
    missing = [f"sheet '{sh.name}' ({rel.target})" for sh, rel in reader.parser.find_sheets() if rel.target not in reader.valid_files]
    if missing:
        wb_val.close()
        raise InputError([Problem(path.name, f"cannot be read as an Excel workbook: a part is missing, the file is damaged ({', '.join(missing)})")])
    wb_fx = None  # formulas are read only from sheets that have any
    tables: dict[str, pd.DataFrame] = {}
    where: dict[str, str] = {}
    others: dict[str, str] = {}
    try:
        for ws in wb_val.worksheets:
            name = normalise_header(ws.title)
            if name not in TABLES:
                others[f"sheet '{ws.title}'"] = name
                continue
            label = f"sheet '{ws.title}'"
            scan = scan_sheet(path, ws._worksheet_path)
            for ref, row in scan.merged:
                problems.append(Problem(label, f"has merged cells {ref}: unmerge them and fill every cell (a merged range keeps its value only in its first cell)", row))
            if scan.used_cells > MAX_USED_CELLS:
                absurd.append(Problem(label, (
                    f"has cells as far as column {scan.last_column} and row {scan.last_row:,}, a used range of {scan.used_cells:,} cells "
                    f"(limit {MAX_USED_CELLS:,}): delete the stray cells beyond the table (Ctrl+End shows the last one) and save"
                )))
                continue
            fx = None
            if scan.has_formulas:
                wb_fx = wb_fx or load_workbook(path, read_only=True, data_only=False)
                fx = wb_fx[ws.title]
            unsaved: list[tuple[str, Problem]] = []
            header, rows = _sheet_rows(ws, fx, label, unsaved)
            if unsaved:  # None may also be a saved "": only those cells are worth a parse
                empty = empty_text_formulas(path, ws._worksheet_path)
                problems.extend(p for ref, p in unsaved if ref not in empty)
            tables[name] = _frame(header, rows)
            where[name] = label
    finally:
        wb_val.close()
        if wb_fx is not None:
            wb_fx.close()
    if absurd:  # the other tables are not worth validating against a sheet that was not read
        raise InputError(absurd + problems)
    return RawCase(str(path), tables, where, problems, {path.name: sha256_file(path)}, others)


def _sheet_rows(ws, fx, label: str, unsaved: list[tuple[str, Problem]]) -> tuple[list, list[tuple[int, list]]]:
    """Header (the first non-blank row) and data rows of a read-only sheet, each row cut to the
    header's width; formula cells without a saved value (``fx``: the same sheet with formulas)
    are listed in ``unsaved`` with their cell reference. The declared dimension is not trusted: rows are read as far as cells go."""
    from openpyxl.utils import get_column_letter

    for sheet in (ws, fx):
        if sheet is not None:
            sheet.reset_dimensions()
    header: list = []
    start = 1
    for n, vals in enumerate(ws.iter_rows(values_only=True), start=1):
        if not all(_blank(v) for v in vals):
            header, start = list(vals), n + 1
            break
    while header and _blank(header[-1]):
        header.pop()
    if not header:
        return [], []
    width = len(header)
    values = ws.iter_rows(min_row=start, max_col=width, values_only=True)
    formulas = fx.iter_rows(min_row=start, max_col=width, values_only=True) if fx is not None else None
    rows: list[tuple[int, list]] = []
    for n, vals in enumerate(values, start=start):
        f_vals = next(formulas, ()) if formulas is not None else ()
        vals = list(vals)
        if all(_blank(v) for v in vals) and all(_blank(f) for f in f_vals):
            continue
        for i, (v, f) in enumerate(zip(vals, f_vals)):
            if v is None and isinstance(f, str) and f.startswith("="):
                col = normalise_header(header[i]) or f"#{i + 1}"
                unsaved.append((f"{get_column_letter(i + 1)}{n}", Problem(label, "formula has no saved value: open and save the workbook in Excel or LibreOffice, or type the value", n, col, f)))
        rows.append((n, [_cell(v) for v in vals]))
    return header, rows


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
    files: dict[str, str] = {}
    others: dict[str, str] = {}
    for f in sorted(path.glob("*.csv")):
        name = normalise_header(f.stem)
        if name not in TABLES:
            others[f.name] = name
            continue
        if name in where:  # Demand.csv beside demand.csv: which one is meant cannot be guessed
            problems.append(Problem(f.name, f"holds table '{name}' like {where[name]}: keep one of the two"))
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
        except UnicodeDecodeError as exc:
            problems.append(Problem(f.name, f"is not UTF-8 text (save it as 'CSV UTF-8'): {exc}"))
            continue
        except csv.Error as exc:
            problems.append(Problem(f.name, f"cannot be read as CSV, line {reader.line_num}: {exc}"))
            continue
        except OSError as exc:  # a folder named like a table, a link to a moved file, no permission
            problems.append(Problem(f.name, f"cannot be opened: {exc.strerror or exc}"))
            continue
        tables[name] = _frame(header or [], rows)
        where[name] = f.name
        files[f.name] = sha256_file(f)
    return RawCase(str(path), tables, where, problems, files, others)


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
    others: dict[str, str] = {}
    for name, df in tables.items():
        key = normalise_header(name)
        if key not in TABLES:
            others[f"table '{name}'"] = key
        d = df.copy()
        d.columns = [normalise_header(c) for c in d.columns]
        d = d.astype(object).where(d.notna(), None)
        d[ROW] = range(2, len(d) + 2)
        out[key] = d.reset_index(drop=True)
        where[key] = f"table '{key}'"
    return RawCase(source, out, where, others=others)
