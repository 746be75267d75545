"""Make the committed LibreOffice fixtures in tests/fixtures/libreoffice/ (issue 5).

Builds the tests' small case (``tests.conftest.small_case()``) as a workbook with openpyxl the
way planners' files look (formulas, dates, booleans, a blank row, a number typed as text, a
notes column), then has LibreOffice Calc open and save it. openpyxl stores formulas without a
saved value; LibreOffice recalculates on load and saves one, so the two files read differently.

    python scripts/make_libreoffice_fixtures.py [--soffice soffice] [--out-dir tests/fixtures/libreoffice]

Writes:
    small_case_source.xlsx                written by openpyxl: formulas without saved values
    small_case.xlsx                       the source opened and saved by LibreOffice (xlsx -> xlsx)
    small_case_from_ods.xlsx              the source saved as .ods by LibreOffice, then as .xlsx
                                          (blank rows come back as empty <row> elements)
    small_case_empty_text_formula.xlsx    the source plus a demand 'price' column holding
                                          =IF(D6>1000,99,""), saved by LibreOffice: a formula
                                          whose saved value is the empty text

Only this script needs LibreOffice (Debian: apt-get install libreoffice-calc); CI reads the
committed files. Re-running with the same LibreOffice rewrites a fixture only when something
other than its save timestamps changed, so an unchanged run leaves git clean.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import small_case  # noqa: E402

OUT_DIR = REPO / "tests" / "fixtures" / "libreoffice"

#: Cells typed as formulas: (sheet, Excel row, column) -> formula. Each evaluates to the small
#: case's own value so a correctly read file solves to the same plan; the tests name them.
FORMULAS: dict[tuple[str, int, str], str] = {
    ("capacity", 2, "hours"): "=100+40",  # 140
    ("demand", 3, "quantity"): "=SUM(50,70)",  # 120
    ("demand", 4, "quantity"): "=D2*1.5",  # 150, a reference to the cell above
    ("demand", 8, "quantity"): "=40*2",  # 80 (row 8: after the blank row 5)
}

#: A formula whose value is the empty text, as planners write to leave an optional cell blank;
#: only in its own fixture, since it trips the reader (see tests/test_libreoffice.py).
EMPTY_TEXT_FORMULA: dict[tuple[str, int, str], str] = {("demand", 6, "price"): '=IF(D6>1000,99,"")'}

#: Extra column the reader should ignore with a warning.
NOTES: dict[tuple[str, int], str] = {("demand", 3): "promo week 6", ("demand", 9): "new listing"}

#: Demand rows are written from Excel row 2; a blank row is left before this data row index.
DEMAND_BLANK_BEFORE = 3


def _period_date(name: str) -> dt.datetime:
    """'2027-01' as the date a spreadsheet turns it into when a planner types it."""
    y, m = map(int, name.split("-"))
    return dt.datetime(y, m, 1)


def build_source(path: Path, empty_text_formula: bool = False) -> Path:
    """Write the small case as openpyxl would save a planner's workbook (no formula values);
    ``empty_text_formula`` adds the demand 'price' column with EMPTY_TEXT_FORMULA."""
    from openpyxl import Workbook

    tables = small_case()
    formulas = {**FORMULAS, **(EMPTY_TEXT_FORMULA if empty_text_formula else {})}
    wb = Workbook()
    wb.remove(wb.active)
    for name, df in tables.items():
        df = df.copy()
        if name in ("periods", "demand"):
            df["period"] = [_period_date(p) if isinstance(p, str) else p for p in df["period"]]
        if name == "demand":
            if empty_text_formula:
                df["price"] = None  # the column the empty-text formula sits in
            df["notes"] = None
        ws = wb.create_sheet(name)
        header = list(df.columns)
        ws.append(header)
        rows = [list(r) for r in df.itertuples(index=False, name=None)]
        if name == "demand":
            rows.insert(DEMAND_BLANK_BEFORE, [None] * len(header))
        for r, row in enumerate(rows, start=2):
            for c, v in enumerate(row, start=1):
                col = header[c - 1]
                if (name, r, col) in formulas:
                    v = formulas[(name, r, col)]
                elif name == "demand" and col == "notes":
                    v = NOTES.get((name, r))
                elif name == "products" and col == "holding_rate" and r == 2:
                    v = "0.25"  # a number typed as text (left-aligned in the sheet)
                if v is None or (isinstance(v, float) and v != v):
                    continue
                v = v.item() if hasattr(v, "item") else v  # numpy scalars (incl. numpy bool) to Python
                cell = ws.cell(r, c, v)
                if isinstance(v, str) and not v.startswith("="):
                    cell.data_type = "s"  # text stays text, as Excel stores what was typed
    wb.save(path)
    return path


def convert(soffice: str, src: Path, fmt: str, outdir: Path, profile: Path) -> Path:
    """Have LibreOffice open ``src`` and save it as ``fmt`` in ``outdir``; return the new file."""
    outdir.mkdir(parents=True, exist_ok=True)
    cmd = [
        soffice,
        f"-env:UserInstallation={profile.as_uri()}",  # a fresh profile: runs as root, no desktop
        "--headless",
        "--norestore",
        "--calc",
        "--convert-to",
        fmt,
        "--outdir",
        str(outdir),
        str(src),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    out = outdir / (src.stem + "." + fmt)
    if done.returncode != 0 or not out.exists():
        raise SystemExit(f"LibreOffice failed ({done.returncode}): {' '.join(cmd)}\n{done.stdout}{done.stderr}")
    return out


def _parts(path: Path) -> dict[str, bytes]:
    """Zip members except the save timestamps and statistics LibreOffice rewrites every time."""
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n not in ("docProps/core.xml", "docProps/app.xml")}


def place(new: Path, dest: Path) -> str:
    """Copy ``new`` to ``dest`` unless only timestamps differ from the file already there."""
    if dest.exists() and _parts(dest) == _parts(new):
        return "unchanged"
    shutil.copyfile(new, dest)
    return "written"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--soffice", default=shutil.which("soffice") or shutil.which("libreoffice") or "soffice")
    ap.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = ap.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    version = subprocess.run([args.soffice, "--version"], capture_output=True, text=True, timeout=120).stdout.strip()
    print(f"using {version or args.soffice}")
    with tempfile.TemporaryDirectory(prefix="aop-lo-") as tmp_name:
        tmp = Path(tmp_name)
        profile = Path(tempfile.mkdtemp(prefix="lo-profile-", dir="/tmp"))
        try:
            src = build_source(tmp / "small_case.xlsx")
            lo = convert(args.soffice, src, "xlsx", tmp / "lo", profile)
            ods = convert(args.soffice, src, "ods", tmp / "ods", profile)
            ods_xlsx = convert(args.soffice, ods, "xlsx", tmp / "ods_xlsx", profile)
            (tmp / "empty").mkdir()  # same file name, so LibreOffice's output is named alike
            src_empty = build_source(tmp / "empty" / "small_case.xlsx", empty_text_formula=True)
            lo_empty = convert(args.soffice, src_empty, "xlsx", tmp / "lo_empty", profile)
            results = [
                (src, args.out_dir / "small_case_source.xlsx"),
                (lo, args.out_dir / "small_case.xlsx"),
                (ods_xlsx, args.out_dir / "small_case_from_ods.xlsx"),
                (lo_empty, args.out_dir / "small_case_empty_text_formula.xlsx"),
            ]
            for new, dest in results:
                # The openpyxl source also carries a timestamp; compare it the same way.
                state = place(new, dest)
                digest = hashlib.sha256(dest.read_bytes()).hexdigest()[:12]
                print(f"{state}: {dest.relative_to(REPO) if dest.is_relative_to(REPO) else dest} ({dest.stat().st_size:,} bytes, sha256 {digest})")
        finally:
            shutil.rmtree(profile, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
