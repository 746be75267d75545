"""Hostile and damaged workbooks: each is refused with exactly one problem that names the file
and says in plain words what is wrong, without reading local files or touching the network.

Each workbook is the small valid case with one part replaced or removed, or the file itself
damaged; the builders are shared with scripts/hostile_inputs.py, which measures time and
memory (never asserted here). Two tests per case: that it is refused with one problem and
leaks nothing (the safety property), and that the message says what is wrong (its quality),
so that a message still being improved cannot hide a regression in the refusal.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from aop import InputError, load_case
from aop.read import read_case

from scripts.hostile_inputs import (
    SHEET,
    STRINGS,
    WORKBOOK,
    build,
    external_entity,
    hostile_part,
    inject,
    read_part,
    rewrite_parts,
    source,
    with_shared_strings,
)
from tests.conftest import REPO

PARTS = {"sheet": SHEET, "strings": STRINGS, "workbook": WORKBOOK}
REFUSED = ("cannot be read as an Excel workbook", "is not a valid .xlsx workbook", "possible zip bomb", "a used range of")
#: Cases refused for one sheet: their problem names the sheet, as every sheet-level problem does.
SHEET_LEVEL = {"stray-cell-xfd1048576", "rows-padded-to-xfd"}

# name -> patterns (case-insensitive regular expressions), one from each group must be in a
# clear message; the refusal itself is checked for every case by test_refused_with_one_problem.
SAYS: dict[str, list[tuple[str, ...]]] = {}
for _label, _part in PARTS.items():
    for _attack in ("billion-laughs", "quadratic", "xxe-file", "xxe-http"):
        SAYS[f"{_attack}-{_label}"] = [("entit", "DTD")]
SAYS |= {
    "broken-xml-sheet": [(r"xl/worksheets/sheet1\.xml", "'periods'"), ("damaged", "invalid XML", "not well-formed", "corrupt")],
    "broken-xml-strings": [(r"sharedStrings\.xml",), ("damaged", "invalid XML", "not well-formed", "corrupt")],
    "broken-xml-workbook": [(r"xl/workbook\.xml",), ("damaged", "invalid XML", "not well-formed", "corrupt")],
    "broken-xml-styles": [(r"xl/styles\.xml",), ("damaged", "invalid XML", "not well-formed", "corrupt")],
    "missing-workbook": [(r"xl/workbook\.xml",), ("missing", "no item named", "not found")],
    "missing-sheet": [(r"xl/worksheets/sheet1\.xml", "'periods'"), ("missing", "no item named", "not found")],
    "missing-content-types": [(r"\[Content_Types\]\.xml",), ("missing", "no item named", "not found")],
    "truncated-zip": [(r"not a valid \.xlsx", r"not an \.xlsx", "damaged", "truncated")],
    "empty-file": [(r"not a valid \.xlsx", r"not an \.xlsx", "empty")],
    "legacy-xls": [(r"not a valid \.xlsx", r"not an \.xlsx"), (r"\.xls(?!x)",), ("password", "encrypt")],
    "encrypted-xlsx": [(r"not a valid \.xlsx", r"not an \.xlsx"), (r"\.xls(?!x)",), ("password", "encrypt")],
    "zip-bomb": [("zip bomb",)],
    "stray-cell-xfd1048576": [("'periods'",), ("column XFD and row 1,048,576",), (r"Ctrl\+End",)],
    "rows-padded-to-xfd": [("'periods'",), ("column XFD and row 1,000,099",)],
}
def _refusal(path: Path) -> str:
    with pytest.raises(InputError) as exc:
        read_case(path)
    assert len(exc.value.problems) == 1, [str(p) for p in exc.value.problems]
    return str(exc.value.problems[0])


def _secret_lines() -> list[str]:
    """Lines of /etc/passwd long enough not to turn up by chance (none when it cannot be read)."""
    try:
        return [line for line in Path("/etc/passwd").read_text().splitlines() if len(line) > 8]
    except OSError:
        return []


def test_every_case_has_its_expectations() -> None:
    from scripts.hostile_inputs import BUILDERS

    assert set(SAYS) == set(BUILDERS) - {"valid"}


def test_copies_that_change_nothing_else_still_read(tmp_path: Path) -> None:
    """Controls: the copying, the shared-strings part and plain text where the payloads go all read
    as the original, so each refusal below is the payload's doing."""
    base = source(tmp_path)
    periods = ["2027-01", "2027-02", "2027-03"]
    assert load_case(build("valid", tmp_path)).period_names == periods
    sst = with_shared_strings(base, tmp_path / "sst.xlsx")
    assert load_case(sst).period_names == periods
    for part in PARTS.values():
        src = sst if part == STRINGS else base
        q = rewrite_parts(src, tmp_path / "plain.xlsx", {part: inject(read_part(src, part), part, None, "period")})
        assert read_part(q, part) != read_part(src, part)
        assert load_case(q).period_names == periods, part


@pytest.fixture(scope="module")
def refused(tmp_path_factory):
    """Each hostile workbook built and refused once for the module, by name: (path, the one
    problem's text). The two tests below check different things of the same refusal."""
    seen: dict[str, tuple[Path, str]] = {}

    def get(name: str) -> tuple[Path, str]:
        if name not in seen:
            path = build(name, tmp_path_factory.mktemp(name))
            seen[name] = (path, _refusal(path))
        return seen[name]

    return get


@pytest.mark.parametrize("name", list(SAYS))
def test_refused_with_one_problem(name: str, refused) -> None:
    path, msg = refused(name)
    assert msg.startswith("sheet 'periods':" if name in SHEET_LEVEL else path.name + ":"), msg
    assert any(r in msg for r in REFUSED), msg
    assert "Traceback" not in msg
    assert not any(line in msg for line in _secret_lines()), "the contents of /etc/passwd are in the message"


@pytest.mark.parametrize("name", list(SAYS))
def test_message_says_what_is_wrong(name: str, refused) -> None:
    _, msg = refused(name)
    assert "\n" not in msg, "a problem is one line (the CLI prints one bullet per problem)"
    assert "see the exception" not in msg.lower(), "refers to an exception the user is never shown"
    for group in SAYS[name]:
        assert any(re.search(p, msg, re.IGNORECASE) for p in group), f"none of {group} in: {msg}"


# A fresh interpreter with an audit hook that records, during read_case only, every open of the
# secret file and every socket or URL request; last, a deliberate open of the secret shows the
# hook works (otherwise its silence would prove nothing).
_AUDIT_CHILD = r"""
import json, os, sys
from aop import InputError
from aop.read import read_case

secret, paths, seen = sys.argv[1], sys.argv[2:], []

def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes)) and os.fsdecode(args[0]) == secret:
        seen.append("open " + secret)
    elif event.startswith(("socket.", "urllib.")):
        seen.append(event)

sys.addaudithook(hook)
out = {}
for p in paths:
    seen.clear()
    try:
        read_case(p)
        outcome = "read"
    except InputError as exc:
        outcome = str(exc)
    out[p] = {"outcome": outcome, "touched": list(seen)}
seen.clear()
open(secret).close()
out["control"] = list(seen)
print(json.dumps(out))
"""


def test_external_entities_open_no_file_and_no_socket(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("AOP-SECRET-7f3c9e\n")
    base = source(tmp_path)
    urls = {"file": secret.as_uri(), "http": "http://127.0.0.1:9/x"}
    paths = [hostile_part(base, tmp_path / f"xxe-{kind}-{label}.xlsx", part, external_entity(url)) for kind, url in urls.items() for label, part in PARTS.items()]
    # An external DTD (no entity declared) is another way to make a parser fetch a URL.
    sheet = read_part(base, SHEET)
    for kind, url in urls.items():
        paths.append(rewrite_parts(base, tmp_path / f"dtd-{kind}.xlsx", {SHEET: f'<!DOCTYPE worksheet SYSTEM "{url}">'.encode() + sheet}))
    r = subprocess.run([sys.executable, "-c", _AUDIT_CHILD, str(secret), *map(str, paths)], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out.pop("control") == [f"open {secret}"]
    for p, res in out.items():
        assert res["touched"] == [], (Path(p).name, res)
        assert "AOP-SECRET" not in res["outcome"]
        if Path(p).name.startswith("xxe-"):
            assert res["outcome"] != "read", Path(p).name


@pytest.mark.parametrize("name", ["quadratic-sheet", "xxe-file-workbook", "broken-xml-styles", "missing-content-types", "legacy-xls"])
def test_cli_exits_2_with_one_problem_and_writes_nothing(name: str, tmp_path: Path) -> None:
    path = build(name, tmp_path)
    out = tmp_path / "plan"
    r = subprocess.run([sys.executable, "-m", "aop.cli", "solve", str(path), "--out", str(out)], capture_output=True, text=True, cwd=REPO, timeout=120)
    text = r.stdout + r.stderr
    assert r.returncode == 2, text
    assert "Traceback" not in text
    assert "the case has 1 problem:" in r.stderr and path.name in r.stderr, r.stderr
    assert not any(line in text for line in _secret_lines())
    assert not out.exists() or not any(out.iterdir())
