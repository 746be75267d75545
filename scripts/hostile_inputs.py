"""Measure how hostile workbooks are refused: outcome, wall time and peak memory per case.

Most cases are the small valid workbook of ``tests.conftest`` with one part replaced or
removed (XML entity attacks, broken XML, missing parts, a zip bomb: a sheet of 60 MB of
zeros, a stray cell at XFD1048576, a million rows padded out to column XFD); the others are not a workbook at all (a truncated zip, an empty file, an old .xls or a
password-protected workbook renamed .xlsx). Each case is loaded with ``aop.load_case`` in a fresh interpreter so that its peak
memory is its own; ``valid`` is the untouched workbook, the baseline. Nothing is asserted:
the tests (tests/test_hostile_workbooks.py) check the messages, this shows the cost.

    python scripts/hostile_inputs.py                     # every case
    python scripts/hostile_inputs.py quadratic-sheet zip-bomb
    python scripts/hostile_inputs.py --list

The builders here are also used by tests/test_hostile_workbooks.py.
"""

from __future__ import annotations

import argparse
import json
import re
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Parts of the workbook that tests.conftest.write_xlsx(small_case()) writes (openpyxl's layout).
SHEET = "xl/worksheets/sheet1.xml"  # the 'periods' sheet
STRINGS = "xl/sharedStrings.xml"  # not written by openpyxl (it uses inline strings): added by with_shared_strings
WORKBOOK = "xl/workbook.xml"
STYLES = "xl/styles.xml"
CONTENT_TYPES = "[Content_Types].xml"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

XXE_FILE = "file:///etc/passwd"
XXE_HTTP = "http://127.0.0.1:9/x"  # discard port: nothing should ever connect to it
CFB_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")  # OLE2 compound file: .xls, and encrypted .xlsx
CHILD_MEMORY_LIMIT = 4 * 1024**3  # address space of each measured child: a blowup fails instead of swapping


def valid_workbook(path: Path) -> Path:
    """The small valid case of the tests, as openpyxl writes it."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.conftest import small_case, write_xlsx

    return write_xlsx(small_case(), path)


def rewrite_parts(src: Path, dst: Path, parts: dict[str, bytes | None]) -> Path:
    """Copy workbook ``src`` to ``dst`` with the given parts replaced (``None``: removed); parts
    not in ``src`` are added at the end. Every other part is copied byte for byte."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            if item.filename not in parts:
                zout.writestr(item, zin.read(item.filename))
            elif parts[item.filename] is not None:
                zout.writestr(item, parts[item.filename])
        for name, data in parts.items():
            if name not in zin.namelist() and data is not None:
                zout.writestr(name, data)
    return dst


def read_part(path: Path, part: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(part)


def shared_strings_xml(text: str = "period") -> bytes:
    return f'<sst xmlns="{MAIN_NS}" count="1" uniqueCount="1"><si><t>{text}</t></si></sst>'.encode()


def with_shared_strings(src: Path, dst: Path, sst: bytes | None = None) -> Path:
    """Copy ``src`` with a shared-strings part (``sst``, default a valid one holding "period")
    that cell A1 of the first sheet uses, as Excel stores text: attacks on that part are then
    parsed by every load, and the valid copy reads the same as ``src``."""
    types = read_part(src, CONTENT_TYPES).replace(
        b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
    )
    rels = read_part(src, "xl/_rels/workbook.xml.rels").replace(
        b"</Relationships>", b'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml" Id="rIdSst"/></Relationships>'
    )
    sheet, n = re.subn(rb'<c r="A1" t="inlineStr"><is><t>period</t></is></c>', b'<c r="A1" t="s"><v>0</v></c>', read_part(src, SHEET))
    assert n == 1, "the first sheet's A1 is no longer the inline string 'period'"
    parts = {CONTENT_TYPES: types, "xl/_rels/workbook.xml.rels": rels, SHEET: sheet, STRINGS: sst if sst is not None else shared_strings_xml()}
    return rewrite_parts(src, dst, parts)


def inject(xml: bytes, part: str, declarations: str | None, body: str) -> bytes:
    """Part ``xml`` with a DOCTYPE holding ``declarations`` (none when ``None``) and ``body`` (entity
    references) as the text of an element the reader parses: the first ``<t>`` of a sheet or of the
    shared strings, a defined name in the workbook. The rest of the part is left as it was."""
    root = re.search(rb"<([A-Za-z][\w:]*)[\s>]", re.sub(rb"<\?xml[^>]*\?>", b"", xml)).group(1).decode()  # type: ignore[union-attr]
    if part == WORKBOOK:
        out, n = re.subn(rb"<definedNames\s*/>", f'<definedNames><definedName name="x">{body}</definedName></definedNames>'.encode(), xml)
    else:
        out, n = re.subn(rb"<t>[^<]*</t>", f"<t>{body}</t>".encode(), xml, count=1)
    assert n == 1, f"no place for the payload in {part}"
    out = re.sub(rb"<\?xml[^>]*\?>", b"", out)
    doctype = "" if declarations is None else f"<!DOCTYPE {root} [{declarations}]>\n"
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}'.encode() + out


def billion_laughs() -> tuple[str, str]:
    """Ten levels of ten references: 10**9 copies of "lol" (3 GB) from under 1 KB."""
    decl = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    return decl, "&lol9;"


def quadratic_blowup() -> tuple[str, str]:
    """One 100 KB entity referenced 30,000 times: 3 GB once expanded, with no nesting to detect."""
    return f'<!ENTITY a "{"A" * 100_000}">', "&a;" * 30_000


def external_entity(url: str) -> tuple[str, str]:
    """A reference whose expansion is the content of ``url`` (a local file or a network fetch)."""
    return f'<!ENTITY x SYSTEM "{url}">', "&x;"


def hostile_part(src: Path, dst: Path, part: str, payload: tuple[str, str]) -> Path:
    """Copy valid workbook ``src`` with ``part`` carrying an entity ``payload`` (declarations, body)."""
    if part == STRINGS:
        with tempfile.TemporaryDirectory() as tmp:
            base = with_shared_strings(src, Path(tmp) / "sst.xlsx")
            return rewrite_parts(base, dst, {STRINGS: inject(read_part(base, STRINGS), STRINGS, *payload)})
    return rewrite_parts(src, dst, {part: inject(read_part(src, part), part, *payload)})


def broken_part(src: Path, dst: Path, part: str) -> Path:
    """Copy ``src`` with ``part`` cut in the middle of its XML (unclosed tags), as a crashed
    writer or a bad copy leaves it."""
    if part == STRINGS:
        with tempfile.TemporaryDirectory() as tmp:
            base = with_shared_strings(src, Path(tmp) / "sst.xlsx")
            xml = read_part(base, STRINGS)
            return rewrite_parts(base, dst, {STRINGS: xml[: xml.index(b"<t>") + 5]})
    xml = read_part(src, part)
    return rewrite_parts(src, dst, {part: xml[: len(xml) // 2]})


def compound_file(streams: list[str]) -> bytes:
    """A minimal OLE2 compound file (the container of .xls and of password-protected .xlsx) whose
    directory names ``streams`` (all empty): header, one FAT sector, one directory sector."""
    end, free, fat_sector = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    header = CFB_SIGNATURE + bytes(16) + struct.pack("<HHHHH6sIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, bytes(6), 0, 1, 1, 0, 4096, end, 0, end, 0)
    header += struct.pack("<I", 0) + struct.pack("<I", free) * 108  # DIFAT: the FAT is sector 0
    fat = struct.pack("<II", fat_sector, end) + struct.pack("<I", free) * 126
    entries = []
    for i, name in enumerate(["Root Entry", *streams]):
        raw = name.encode("utf-16-le") + b"\0\0"
        kind = 5 if i == 0 else 2
        child = 1 if i == 0 and streams else free
        right = i + 1 if 0 < i < len(streams) else free  # siblings chained to the right: a valid (degenerate) tree
        entries.append(raw.ljust(64, b"\0") + struct.pack("<HBBIII16sIQQIQ", len(raw), kind, 1, free, right, child, bytes(16), 0, 0, 0, end, 0))
    directory = b"".join(entries).ljust(512, b"\0")
    assert len(header) == 512 and len(fat) == 512 and len(directory) == 512
    return header + fat + directory


def zip_bomb(src: Path, dst: Path) -> Path:
    """The first sheet replaced by 60 MB of zeros (about 60 KB compressed), written in blocks so
    the building process never holds it (see ``main`` on why its memory matters)."""
    rewrite_parts(src, dst, {SHEET: None})
    with zipfile.ZipFile(dst, "a", zipfile.ZIP_DEFLATED) as zf, zf.open(SHEET, "w") as fh:
        for _ in range(60):
            fh.write(bytes(1024**2))
    return dst


def far_cells(src: Path, dst: Path, rows: range) -> Path:
    """The first sheet with one cell at column XFD in each of ``rows``, streamed into the zip:
    one row at 1,048,576 is a stray cell; a million rows is a 5 MB file that openpyxl, left to
    itself, pads out to 16,384 cells a row."""
    xml = read_part(src, SHEET)
    head, tail = xml.split(b"</sheetData>")
    rewrite_parts(src, dst, {SHEET: None})
    with zipfile.ZipFile(dst, "a", zipfile.ZIP_DEFLATED) as zf, zf.open(SHEET, "w") as fh:
        fh.write(head)
        for start in range(rows.start, rows.stop, 10_000):
            fh.write("".join(f'<row r="{i}"><c r="XFD{i}"><v>1</v></c></row>' for i in range(start, min(start + 10_000, rows.stop))).encode())
        fh.write(b"</sheetData>" + tail)
    return dst


def _truncated(src: Path, dst: Path) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


def _written(data: bytes) -> Callable[[Path, Path], Path]:
    def make(src: Path, dst: Path) -> Path:
        dst.write_bytes(data)
        return dst

    return make


#: name -> builder(valid workbook, destination); every destination is named <name>.xlsx.
BUILDERS: dict[str, Callable[[Path, Path], Path]] = {"valid": lambda src, dst: rewrite_parts(src, dst, {})}
for _label, _part in (("sheet", SHEET), ("strings", STRINGS), ("workbook", WORKBOOK)):
    BUILDERS[f"billion-laughs-{_label}"] = lambda s, d, p=_part: hostile_part(s, d, p, billion_laughs())
    BUILDERS[f"quadratic-{_label}"] = lambda s, d, p=_part: hostile_part(s, d, p, quadratic_blowup())
    BUILDERS[f"xxe-file-{_label}"] = lambda s, d, p=_part: hostile_part(s, d, p, external_entity(XXE_FILE))
    BUILDERS[f"xxe-http-{_label}"] = lambda s, d, p=_part: hostile_part(s, d, p, external_entity(XXE_HTTP))
BUILDERS["missing-workbook"] = lambda s, d: rewrite_parts(s, d, {WORKBOOK: None})
BUILDERS["missing-sheet"] = lambda s, d: rewrite_parts(s, d, {SHEET: None})
BUILDERS["missing-content-types"] = lambda s, d: rewrite_parts(s, d, {CONTENT_TYPES: None})
for _label, _part in (("sheet", SHEET), ("strings", STRINGS), ("workbook", WORKBOOK), ("styles", STYLES)):
    BUILDERS[f"broken-xml-{_label}"] = lambda s, d, p=_part: broken_part(s, d, p)
BUILDERS["truncated-zip"] = _truncated
BUILDERS["empty-file"] = _written(b"")
BUILDERS["legacy-xls"] = _written(compound_file(["Workbook", "\x05SummaryInformation"]))
BUILDERS["encrypted-xlsx"] = _written(compound_file(["EncryptionInfo", "EncryptedPackage"]))
BUILDERS["zip-bomb"] = zip_bomb
BUILDERS["stray-cell-xfd1048576"] = lambda s, d: far_cells(s, d, range(1_048_576, 1_048_577))
BUILDERS["rows-padded-to-xfd"] = lambda s, d: far_cells(s, d, range(100, 1_000_100))


def build(name: str, folder: Path) -> Path:
    """Write case ``name`` as ``folder/<name>.xlsx`` (the valid workbook it derives from is
    written once per folder)."""
    return BUILDERS[name](source(folder), folder / f"{name}.xlsx")


def source(folder: Path, fresh_process: bool = False) -> Path:
    """The valid workbook every case derives from, written once per folder; ``fresh_process``
    writes it from another interpreter, so that this one never imports pandas."""
    base = folder / "_valid_source.xlsx"
    if not base.exists():
        if fresh_process:
            subprocess.run([sys.executable, __file__, "--write-valid", str(base)], check=True, cwd=REPO)
        else:
            valid_workbook(base)
    return base


def child(path: str) -> dict:
    """In the fresh interpreter: load the case once; imports are done first so they are not timed."""
    import resource  # POSIX only: imported here so that the tests, which use the builders, run anywhere

    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_LIMIT, CHILD_MEMORY_LIMIT))
    from aop import InputError, load_case

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    try:
        case = load_case(path)
        outcome, problems = f"read: {len(case.demand)} demand rows", 0
    except InputError as exc:
        outcome, problems = str(exc), len(exc.problems)
    except BaseException as exc:
        outcome, problems = f"CRASH {type(exc).__name__}: {exc}", -1
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"outcome": outcome, "problems": problems, "seconds": seconds, "peak_mib": peak, "import_mib": before}


def measure(path: Path, timeout: float) -> dict:
    try:
        r = subprocess.run([sys.executable, __file__, "--child", str(path)], capture_output=True, text=True, cwd=REPO, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"outcome": f"TIMEOUT after {timeout:.0f} s", "problems": -1, "seconds": timeout, "peak_mib": float("nan"), "import_mib": float("nan")}
    if r.returncode != 0 or not r.stdout.strip():
        tail = (r.stderr.strip().splitlines() or ["no output"])[-1]
        return {"outcome": f"CHILD DIED (exit {r.returncode}): {tail}", "problems": -1, "seconds": float("nan"), "peak_mib": float("nan"), "import_mib": float("nan")}
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cases", nargs="*", metavar="CASE", help="cases to run (default: all; see --list)")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds allowed per case (default 20)")
    ap.add_argument("--keep", metavar="DIR", help="write the workbooks to DIR and keep them")
    ap.add_argument("--child", metavar="PATH", help=argparse.SUPPRESS)
    ap.add_argument("--write-valid", metavar="PATH", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(child(a.child)))
        return 0
    if a.write_valid:
        valid_workbook(Path(a.write_valid))
        return 0
    if a.list:
        print("\n".join(BUILDERS))
        return 0
    names = a.cases or list(BUILDERS)
    unknown = [n for n in names if n not in BUILDERS]
    if unknown:
        ap.error(f"unknown case(s) {', '.join(unknown)}; --list shows them")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(a.keep) if a.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        # A child's getrusage peak starts from this process's RSS when it is forked (Linux keeps
        # the high-water mark across exec): this process stays small (no pandas, no 60 MB
        # buffers) so every figure is the child's own.
        source(folder, fresh_process=True)
        print(f"{'case':<24}{'KiB':>7}{'seconds':>9}{'peak MiB':>10}{'+MiB':>7}  outcome (problems: first 80 characters of the message)")
        t0 = time.perf_counter()
        for name in ["valid", *[n for n in names if n != "valid"]]:  # the baseline first
            path = build(name, folder)
            r = measure(path, a.timeout)
            outcome = " ".join(r["outcome"].split())[:80]  # one line: the message may hold several
            count = f"{r['problems']}: " if r["problems"] > 0 else ""
            print(f"{name:<24}{path.stat().st_size / 1024:>7.0f}{r['seconds']:>9.3f}{r['peak_mib']:>10.0f}{r['peak_mib'] - r['import_mib']:>7.0f}  {count}{outcome}", flush=True)
        import resource

        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"({time.perf_counter() - t0:.0f} s in all. seconds: load_case alone, in a fresh interpreter; peak MiB: that interpreter's peak RSS, "
              f"+MiB: over its peak after imports. This process peaked at {own:.0f} MiB, a floor under every peak shown.)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
