"""Property: a broken case FILE (CSV folder or .xlsx workbook) makes `aop solve` exit 0 with a
plan, 2 with a list of problems, or 3 with no plan; never 1 and never a traceback.

tests/test_property.py breaks in-memory tables; this breaks the bytes the readers see. Each
hypothesis example is a list of small, printable mutation records applied to a freshly written
copy of the small case, so a falsifying example reads as a recipe.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import math
import re
import struct
import sys
import tempfile
import zipfile
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pandas as pd
import pytest
from aop import api
from aop.cli import main
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from tests.conftest import small_case, write_csvs, write_xlsx

TABLE_NAMES = list(small_case())  # sheetN.xml in write_xlsx order
CSV_NAMES = [f"{n}.csv" for n in TABLE_NAMES]

# derandomize: CI sees the same examples every run; database=None: nothing replays from a
# local .hypothesis folder, so a run here is the run CI does. How many examples comes from the
# hypothesis profile (tests/conftest.py): 100 in CI, 15 while developing.
COMMON = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}


@dataclass(frozen=True)
class Rep:
    """``text * n`` without printing a 200,000-character string in a falsifying example."""

    text: str
    n: int

    def __str__(self) -> str:
        return self.text * self.n


NASTY_TEXT = [
    "", " ", "   ", '"', '""', '"abc', 'abc"', "'", "=cmd|' /C calc'!A0", "=A1", "+1", "@SUM(1)",
    "\u202eLCP\u202c", "\u200f\u05e9\u05dc\u05d5\u05dd", "\U0001f4a9", "Müller", "café", "\u00a0",
    "\x00", "A\x00B", "\x01", "\x1b[31m", "\x7f", "\r", "\n", "a\r\nb", "\t",
    "1e400", "-1e400", "1e-400", "NaN", "nan", "inf", "-inf", "-0", "0", "-1", "1,5", "1.000,5",
    "0x10", "1_000", "31/12/2027", "2027-13", "2027-01-01", "2027-1", "true", "FALSE", "None", "null",
    "PL1", "DC1", "C1", "C2", "A", "B", "LINE", "2027-01", "plant", "dc", "gold",
    Rep("x", 2_000), Rep("x", 200_000), Rep("\U0001f600", 5_000),
]
# Text in a CSV (it becomes inf, refused); a number in a workbook cell (openpyxl returns an int).
HUGE_INTEGER = [Rep("9", 400)]
# Finite numbers a planner may type as "no limit" or by a unit slip, far outside what HiGHS handles.
EXTREME = ["1e14", "99999999999999", "1e20", "1e300", "-1e300", "1e308", "1.7976931348623157e308", "1e-9", "5e-324", "1e15"]


NASTY = st.one_of(st.sampled_from(NASTY_TEXT + HUGE_INTEGER + EXTREME), st.text(max_size=12))


def _s(v: str | Rep) -> str:
    return str(v)


def run_cli(case: Path, out: Path) -> tuple[int, str, str]:
    """Run `aop solve` in-process; an exception escaping main() fails the test with its traceback."""
    so, se = io.StringIO(), io.StringIO()
    with redirect_stdout(so), redirect_stderr(se):
        code = main(["solve", str(case), "--out", str(out)])
    return code, so.getvalue(), se.getvalue()


class SameCaseAsBefore(BaseException):
    """Ends an `aop solve` whose case, read and validated, equals one an earlier example solved,
    wrote and checked. A BaseException: the CLI's ``except Exception`` would make it exit 1."""


#: Digests (``case_digest``) of the validated cases `aop solve` solved and wrote, and
#: ``check_outcome`` passed, in this run: many damaged files read back as the same case (a BOM,
#: CRLF line ends, a stray extra file, another encoding of ASCII text).
CHECKED: set[str] = set()


def case_digest(case) -> str:
    """What build, solve and the writers read of a validated case: every table (columns, dtypes,
    each value's bits), the settings, where each table came from, the warnings and which inputs
    were read. Left out: the case's path and its files' checksums, text in the provenance that
    differs from example to example whatever the damage."""
    h = hashlib.sha256()
    for name, df in sorted(case.tables.items()):
        h.update(f"{name}|{list(df.columns)}|{[str(d) for d in df.dtypes]}|{len(df)}".encode())
        h.update(pd.util.hash_pandas_object(df, index=True, categorize=False).to_numpy().tobytes())
    h.update(repr((sorted(case.settings.items()), sorted(case.where.items()), [repr(w) for w in case.warnings], list(case.inputs.get("item", [])))).encode())
    return h.hexdigest()


def solve_and_check(case: Path, out: Path) -> None:
    """`aop solve` on ``case`` in-process, its outcome checked (``check_outcome``). Every example
    is read and validated by the CLI; one whose validated case equals an earlier example's stops
    there: from validate on the run is a function of that case, and its outcome was checked."""
    real = api.load_case
    read: list[str] = []

    def load_case(source, timings=None):  # what the CLI calls (aop.api.load_case, looked up per run)
        validated = real(source, timings)
        key = case_digest(validated)
        if key in CHECKED:
            raise SameCaseAsBefore
        read.append(key)
        return validated

    with mock.patch.object(api, "load_case", load_case):
        try:
            result = run_cli(case, out)
        except SameCaseAsBefore:
            return
    check_outcome(*result, out)
    CHECKED.update(read)


def check_outcome(code: int, stdout: str, stderr: str, out: Path) -> None:
    """The contract of issue 5 for one run."""
    if currently_in_test_context():  # --hypothesis-show-statistics shows how deep the damage got
        event(f"exit {code}")
    shown = f"exit {code}\n--- stdout\n{stdout[-3000:]}\n--- stderr\n{stderr[-3000:]}"
    assert code in (0, 2, 3), shown  # 1 means an unexpected exception reached the user
    assert "Traceback" not in stderr and "Traceback" not in stdout, shown
    if code == 2:
        assert re.search(r"^  - ", stderr, re.MULTILINE), shown
        assert not out.exists(), shown  # no half-written plan next to a refusal
    if code == 0:
        summary = out / "summary.csv"
        assert summary.is_file(), shown
        with summary.open(newline="", encoding="utf-8") as fh:
            values = {r["metric"]: r["value"] for r in csv.DictReader(fh)}
        assert math.isfinite(float(values["total_cost"])), shown


# ----------------------------------------------------------------------------------- CSV folders

# Header texts that collide with what the reader adds or normalises: the row-number column,
# another column's name, case and spacing variants.
HEADERS = ["_row", "quantity", "product", "Product ", "PRODUCT", "period", "site"]

# Each record is a tuple (kind, file, *args); integer positions are taken modulo the current
# size at apply time, so earlier mutations never make a later one invalid.
csv_mutation = st.one_of(
    st.tuples(st.just("delete_line"), st.sampled_from(CSV_NAMES), st.integers(0, 50)),
    st.tuples(st.just("duplicate_line"), st.sampled_from(CSV_NAMES), st.integers(0, 50)),
    st.tuples(st.just("cell"), st.sampled_from(CSV_NAMES), st.integers(0, 50), st.integers(0, 10), NASTY, st.booleans()),
    st.tuples(st.just("cell"), st.sampled_from(CSV_NAMES), st.integers(0, 50), st.integers(0, 10), NASTY, st.booleans()),
    st.tuples(st.just("delimiter"), st.sampled_from(CSV_NAMES), st.sampled_from([";", "\t", "|"])),
    st.tuples(st.just("bom"), st.sampled_from(CSV_NAMES)),
    st.tuples(st.just("encoding"), st.sampled_from(CSV_NAMES), st.sampled_from(["latin-1", "utf-16", "utf-16-le", "cp1252"])),
    st.tuples(st.just("crlf"), st.sampled_from(CSV_NAMES)),
    st.tuples(st.just("truncate"), st.sampled_from(CSV_NAMES), st.integers(0, 10_000)),
    st.tuples(st.just("delete_file"), st.sampled_from(CSV_NAMES)),
    st.tuples(st.just("add_file"), st.sampled_from(["notes.csv", "README.txt", "Demand.csv", " lanes.csv", "demand.csv.bak", ".~lock.demand.csv#"]), st.binary(max_size=64)),
    st.tuples(st.just("rename_header"), st.sampled_from(CSV_NAMES), st.integers(0, 10), st.one_of(NASTY, st.sampled_from(HEADERS))),
    st.tuples(st.just("blank_lines"), st.sampled_from(CSV_NAMES), st.integers(0, 50), st.sampled_from(["", ",,,", " ", ";;"])),
    st.tuples(st.just("binary"), st.sampled_from(CSV_NAMES), st.binary(min_size=1, max_size=64)),
    st.tuples(st.sampled_from(["dir_for_file", "dangling_symlink"]), st.sampled_from(CSV_NAMES)),
)


def _split_lines(text: str) -> list[str]:
    return text.split("\n")


@functools.cache
def pristine_csvs() -> dict[str, str]:
    """The small case's CSV files' texts as ``write_csvs`` writes them, made once."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_csvs(small_case(), Path(tmp) / "case")
        return {n: (folder / n).read_text(encoding="utf-8") for n in CSV_NAMES}


def apply_csv_mutations(folder: Path, mutations: list[tuple]) -> None:
    """Write the small case as CSVs into ``folder`` and damage it as ``mutations`` say."""
    folder.mkdir(parents=True, exist_ok=True)
    texts: dict[str, str] = dict(pristine_csvs())
    encoding: dict[str, str] = {}
    bom: set[str] = set()
    raw: dict[str, bytes] = {}  # files whose bytes are set directly (added files, binary junk)
    odd: dict[str, str] = {}  # table file -> "dir_for_file" | "dangling_symlink"
    for m in mutations:
        kind, name = m[0], m[1]
        if kind == "add_file":
            raw[name] = m[2]
            continue
        if name not in texts:  # deleted or turned to junk by an earlier mutation
            continue
        lines = _split_lines(texts[name])
        if kind == "delete_line":
            del lines[m[2] % len(lines)]
        elif kind == "duplicate_line":
            i = m[2] % len(lines)
            lines.insert(i, lines[i])
        elif kind == "cell":
            i = m[2] % len(lines)
            cells = lines[i].split(",")
            value = _s(m[4])
            # raw: typed as is (a stray quote stays unbalanced); else quoted the way a CSV writer would
            if not m[5]:
                buf = io.StringIO()
                csv.writer(buf, lineterminator="").writerow([value])
                value = buf.getvalue()
            cells[m[3] % len(cells)] = value
            lines[i] = ",".join(cells)
        elif kind == "delimiter":
            lines = [line.replace(",", m[2]) for line in lines]
        elif kind == "bom":
            bom.add(name)
        elif kind == "encoding":
            encoding[name] = m[2]
        elif kind == "crlf":
            lines = [line + "\r" for line in lines]
        elif kind == "truncate":
            text = "\n".join(lines)
            lines = _split_lines(text[: m[2] % (len(text) + 1)])
        elif kind == "delete_file":
            del texts[name]
            continue
        elif kind == "rename_header":
            cells = lines[0].split(",")
            cells[m[2] % len(cells)] = _s(m[3])
            lines[0] = ",".join(cells)
        elif kind == "blank_lines":
            i = m[2] % len(lines)
            lines[i:i] = [m[3]] * 3
        elif kind == "binary":
            del texts[name]
            raw[name] = m[2]
            continue
        elif kind in ("dir_for_file", "dangling_symlink"):
            del texts[name]
            odd[name] = kind
            continue
        texts[name] = "\n".join(lines)
    for name, text in texts.items():
        if name in bom:
            text = "\ufeff" + text
        # latin-1 cannot hold an emoji: a real latin-1 file would have '?' there too
        (folder / name).write_bytes(text.encode(encoding.get(name, "utf-8"), errors="replace"))
    for name, data in raw.items():
        (folder / name).write_bytes(data)
    for name, kind in odd.items():
        if kind == "dir_for_file":
            (folder / name).mkdir()
        else:
            (folder / name).symlink_to(folder / "gone" / name)


@given(st.lists(csv_mutation, min_size=1, max_size=4))
@pytest.mark.slow
@settings(**COMMON)
def test_broken_csv_folders_never_crash(mutations: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        case, out = Path(tmp) / "case", Path(tmp) / "out"
        apply_csv_mutations(case, mutations)
        solve_and_check(case, out)


# ------------------------------------------------------------------------------------ workbooks

SHEETS = [f"xl/worksheets/sheet{i}.xml" for i in range(1, len(TABLE_NAMES) + 1)]
CELL = re.compile(rb"<c [^>]*?(?:/>|>.*?</c>)", re.DOTALL)
CELL_TYPES = ["s", "n", "b", "e", "str", "inlineStr", "d", "bogus", ""]
FAR_CELL = b'<c r="XFD1048576"><v>1</v></c>'


def _xml_escape(text: str) -> bytes:
    # Escapes markup only: control characters stay, as a careless writer would leave them.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode("utf-8", errors="surrogatepass")


xlsx_mutation = st.one_of(
    # zip-level damage, applied to the finished file's bytes
    st.tuples(st.just("flip"), st.lists(st.tuples(st.integers(0, 40_000), st.integers(0, 255)), min_size=1, max_size=8)),
    st.tuples(st.just("overwrite"), st.integers(0, 40_000), st.binary(min_size=1, max_size=256)),
    st.tuples(st.just("truncate"), st.integers(0, 40_000)),
    # part-level damage: the zip stays valid (right CRCs), so the XML parser sees it
    st.tuples(st.just("drop_member"), st.integers(0, 40)),
    st.tuples(st.just("sheet_bytes"), st.sampled_from(SHEETS), st.binary(max_size=128)),
    st.tuples(st.just("sheet_truncate"), st.sampled_from(SHEETS), st.integers(0, 5_000)),
    st.tuples(st.just("member_flip"), st.integers(0, 40), st.integers(0, 20_000), st.integers(0, 255)),
    st.tuples(st.just("cell_type"), st.sampled_from(SHEETS), st.integers(0, 100), st.sampled_from(CELL_TYPES)),
    st.tuples(st.just("cell_type"), st.sampled_from(SHEETS), st.integers(0, 100), st.sampled_from(CELL_TYPES)),
    st.tuples(st.just("cell_value"), st.sampled_from(SHEETS), st.integers(0, 100), NASTY),
    # a cell styled as a date, time, duration or text: openpyxl then returns datetime, time or timedelta
    st.tuples(st.just("number_format"), st.sampled_from(SHEETS), st.integers(0, 100), st.sampled_from([14, 20, 22, 46, 47, 49])),
    st.tuples(st.just("far_cell"), st.sampled_from(SHEETS), st.sampled_from(["new_row", "in_row"])),
    st.tuples(st.just("rename_sheet"), st.integers(0, 11), st.sampled_from(["demand", "Demand ", "", "lanes", "x" * 40, "sheet", "PERIODS"])),
)


def _cells(xml: bytes) -> list[re.Match]:
    return list(CELL.finditer(xml))


@functools.cache
def pristine_xlsx() -> dict[str, bytes]:
    """The parts of the small case's workbook as ``write_xlsx`` writes it, made once."""
    with tempfile.TemporaryDirectory() as tmp:
        path = write_xlsx(small_case(), Path(tmp) / "case.xlsx")
        with zipfile.ZipFile(path) as zf:
            return {i.filename: zf.read(i.filename) for i in zf.infolist()}


def apply_xlsx_mutations(path: Path, mutations: list[tuple]) -> None:
    """Write the small case as a workbook at ``path`` and damage it as ``mutations`` say."""
    parts = dict(pristine_xlsx())
    byte_level = [m for m in mutations if m[0] in ("flip", "overwrite", "truncate")]
    for m in mutations:
        kind = m[0]
        if kind == "drop_member" and parts:
            del parts[sorted(parts)[m[1] % len(parts)]]
        elif kind == "member_flip" and parts:
            name = sorted(parts)[m[1] % len(parts)]
            data = bytearray(parts[name])
            if data:
                data[m[2] % len(data)] = m[3]
            parts[name] = bytes(data)
        elif kind == "sheet_bytes" and m[1] in parts:
            parts[m[1]] = m[2]
        elif kind == "sheet_truncate" and m[1] in parts:
            parts[m[1]] = parts[m[1]][: m[2] % (len(parts[m[1]]) + 1)]
        elif kind in ("cell_type", "cell_value") and m[1] in parts:
            xml = parts[m[1]]
            cells = _cells(xml)
            if not cells:
                continue
            c = cells[m[2] % len(cells)]
            cell = c.group(0)
            if kind == "cell_type":
                cell = re.sub(rb' t="[^"]*"', b"", cell, count=1)
                if m[3]:
                    cell = cell.replace(b"<c ", b'<c t="' + m[3].encode() + b'" ', 1)
            else:
                # the value goes in the <v> (number) or <t> (inline text) element; a function as
                # replacement so backslashes in the value are not read as group references
                tag = b"v" if b"<v>" in cell else b"t"
                value = b"<" + tag + b">" + _xml_escape(_s(m[3])) + b"</" + tag + b">"
                cell = re.sub(rb"<" + tag + rb">.*?</" + tag + rb">", lambda _, v=value: v, cell, count=1, flags=re.DOTALL)
            parts[m[1]] = xml[: c.start()] + cell + xml[c.end() :]
        elif kind == "number_format" and m[1] in parts and "xl/styles.xml" in parts:
            styles = parts["xl/styles.xml"]
            head, sep, tail = styles.partition(b"</cellXfs>")
            cells = _cells(parts[m[1]])
            if not sep or not cells:
                continue
            index = head[head.rfind(b"<cellXfs") :].count(b"<xf ")  # the new style's number
            xf = b'<xf numFmtId="%d" fontId="0" fillId="0" borderId="0" applyNumberFormat="1" xfId="0"/>' % m[3]
            parts["xl/styles.xml"] = head + xf + sep + tail
            c = cells[m[2] % len(cells)]
            cell = re.sub(rb' s="[^"]*"', b"", c.group(0), count=1).replace(b"<c ", b'<c s="%d" ' % index, 1)
            parts[m[1]] = parts[m[1]][: c.start()] + cell + parts[m[1]][c.end() :]
        elif kind == "far_cell" and m[1] in parts:
            xml = parts[m[1]]
            if m[2] == "new_row":
                xml = xml.replace(b"</sheetData>", b'<row r="1048576">' + FAR_CELL + b"</row></sheetData>", 1)
            else:
                xml = xml.replace(b"</row>", FAR_CELL + b"</row>", 2)  # header row and first data row
            parts[m[1]] = xml
        elif kind == "rename_sheet" and "xl/workbook.xml" in parts:
            xml = parts["xl/workbook.xml"]
            names = re.findall(rb'<sheet name="([^"]*)"', xml)
            if names:
                old = names[m[1] % len(names)]
                parts["xl/workbook.xml"] = xml.replace(b'<sheet name="' + old + b'"', b'<sheet name="' + m[2].encode() + b'"', 1)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    data = bytearray(buf.getvalue())
    for m in byte_level:
        if not data and m[0] in ("flip", "overwrite"):
            continue  # truncated to nothing: no byte left to damage
        if m[0] == "flip":
            for pos, b in m[1]:
                data[pos % len(data)] = b
        elif m[0] == "overwrite":
            pos = m[1] % len(data)
            data[pos : pos + len(m[2])] = m[2]
        elif m[0] == "truncate":
            data = data[: m[1] % (len(data) + 1)]
    path.write_bytes(bytes(data))


@given(st.lists(xlsx_mutation, min_size=1, max_size=4))
@pytest.mark.slow
@settings(**COMMON)
def test_broken_workbooks_never_crash(mutations: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        case, out = Path(tmp) / "case.xlsx", Path(tmp) / "out"
        apply_xlsx_mutations(case, mutations)
        solve_and_check(case, out)


# ---------------------------------------------------------- regressions, reduced by hand
# Each test is the smallest case hypothesis found that once made `aop solve` exit 1.


def _csv_case(tmp_path: Path, file: str, line: str, new: str) -> tuple[Path, Path]:
    """The small case as CSVs with one line of ``file`` replaced."""
    case = write_csvs(small_case(), tmp_path / "case")
    text = (case / file).read_text(encoding="utf-8")
    assert line + "\n" in text
    (case / file).write_text(text.replace(line + "\n", new + "\n"), encoding="utf-8")
    return case, tmp_path / "out"


def _rezip(path: Path, parts: dict[str, bytes]) -> None:
    """Write ``parts`` as a workbook with correct CRCs (the damage is in the XML, not the zip)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


# Was: read_csv_folder catches only UnicodeDecodeError and csv.Error; IsADirectoryError escapes
def test_table_file_that_is_a_folder_is_an_input_problem(tmp_path: Path) -> None:
    case, out = write_csvs(small_case(), tmp_path / "case"), tmp_path / "out"
    (case / "lanes.csv").unlink()
    (case / "lanes.csv").mkdir()
    check_outcome(*run_cli(case, out), out)


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
# Was: a dangling symlink lanes.csv (a file moved by a sync tool) raises FileNotFoundError in read_csv_folder
def test_table_file_that_is_a_dangling_symlink_is_an_input_problem(tmp_path: Path) -> None:
    case, out = write_csvs(small_case(), tmp_path / "case"), tmp_path / "out"
    (case / "lanes.csv").unlink()
    (case / "lanes.csv").symlink_to(tmp_path / "gone.csv")
    check_outcome(*run_cli(case, out), out)


# Was: a workbook number too big for a float (openpyxl returns a Python int) raises OverflowError in validate._convert
def test_workbook_integer_beyond_float_range_is_an_input_problem(tmp_path: Path) -> None:
    case, out = write_xlsx(small_case(), tmp_path / "case.xlsx"), tmp_path / "out"
    with zipfile.ZipFile(case) as zf:
        parts = {i.filename: zf.read(i.filename) for i in zf.infolist()}
    sheet = "xl/worksheets/sheet1.xml"  # periods
    assert b'<c r="B2" t="n"><v>31</v></c>' in parts[sheet]
    parts[sheet] = parts[sheet].replace(b'<c r="B2" t="n"><v>31</v></c>', b'<c r="B2" t="n"><v>' + b"9" * 400 + b"</v></c>")
    _rezip(case, parts)
    check_outcome(*run_cli(case, out), out)


# Was: a cost coefficient overflows to inf in build; solve.numeric_check's math.ceil(log10(inf)) raises OverflowError
def test_unit_value_1e308_is_an_input_problem(tmp_path: Path) -> None:
    case, out = _csv_case(tmp_path, "products.csv", "A,10.0,25.0,0.25", "A,1e308,25.0,0.25")
    check_outcome(*run_cli(case, out), out)


# Was: quantities rescaled by the largest limit push the others below HiGHS's tolerances: SolveError('numerical')
def test_storage_capacity_typed_as_no_limit_is_not_exit_1(tmp_path: Path) -> None:
    case, out = _csv_case(tmp_path, "sites.csv", "DC1,dc,500.0", "DC1,dc,99999999999999")
    check_outcome(*run_cli(case, out), out)


# Was: HiGHS drops |coefficient| <= 1e-9 with a warning and make_highs treats any non-OK status as 'HiGHS rejected the model'
def test_tiny_hours_per_unit_is_not_exit_1(tmp_path: Path) -> None:
    case, out = _csv_case(tmp_path, "routings.csv", "PL1,A,LINE,0.5", "PL1,A,LINE,1e-9")
    check_outcome(*run_cli(case, out), out)


# Was: read.check_no_doctype runs outside read_workbook's try and opens every part: BadZipFile escapes
def test_workbook_with_a_damaged_zip_header_is_an_input_problem(tmp_path: Path) -> None:
    case, out = write_xlsx(small_case(), tmp_path / "case.xlsx"), tmp_path / "out"
    data = bytearray(case.read_bytes())
    assert data[:4] == b"PK\x03\x04"
    data[0] = 0  # the first part's local header; the zip directory at the end is intact
    case.write_bytes(bytes(data))
    check_outcome(*run_cli(case, out), out)


# Was: read._why re-reads the parts to explain a loader error and lets the same zlib.error/BadZipFile escape
def test_workbook_with_a_damaged_compressed_sheet_is_an_input_problem(tmp_path: Path) -> None:
    tables = small_case()
    n = 3_000  # a sheet over 16 KiB, so check_no_doctype stops reading before the damage
    tables["demand"] = pd.DataFrame({"product": ["A"] * n, "customer": ["C1"] * n, "period": ["2027-01"] * n, "quantity": list(range(n))})
    case, out = write_xlsx(tables, tmp_path / "case.xlsx"), tmp_path / "out"
    with zipfile.ZipFile(case) as zf:
        info = zf.getinfo("xl/worksheets/sheet5.xml")
    data = bytearray(case.read_bytes())
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    data[info.header_offset + 30 + name_len + extra_len + info.compress_size - 50] ^= 0xFF  # near the end of its deflate data
    case.write_bytes(bytes(data))
    check_outcome(*run_cli(case, out), out)


# Was: read.check_zip catches BadZipFile, OSError and ValueError, but zipfile raises NotImplementedError for a damaged version field
def test_workbook_with_a_damaged_zip_directory_version_is_an_input_problem(tmp_path: Path) -> None:
    case, out = write_xlsx(small_case(), tmp_path / "case.xlsx"), tmp_path / "out"
    data = bytearray(case.read_bytes())
    end = data.rfind(b"PK\x05\x06")  # end of central directory record
    directory = struct.unpack("<I", data[end + 16 : end + 20])[0]
    assert data[directory : directory + 4] == b"PK\x01\x02"
    data[directory + 6] = 0xFF  # first entry's "version needed to extract": 25.5
    case.write_bytes(bytes(data))
    check_outcome(*run_cli(case, out), out)
