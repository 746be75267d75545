"""The docs: their generated tables are current (``python -m aop.docs --check``), the script
rewrites a stale block and names it, and every relative link of README.md and docs/ leads to a
file (and heading) that exists."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from aop.docs import BLOCKS, block_of, main, metrics_markdown
from aop.metrics import KPIS, METRICS, PER_SEGMENT

from tests.conftest import REPO


def test_every_generated_block_is_current():
    # --root: under a plain (not editable) install the module does not sit in the checkout.
    run = subprocess.run([sys.executable, "-m", "aop.docs", "--check", "--root", str(REPO)], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stderr


def test_the_metrics_block_is_every_figure_of_the_summary():
    text = (REPO / "docs" / "outputs.md").read_text()
    assert block_of(text, "metrics") == metrics_markdown().strip(), "docs/outputs.md's metrics are stale: regenerate with python -m aop.docs"
    rows = [line for line in metrics_markdown().splitlines()[2:]]
    names = [re.match(r"\| `([^`]+)` \|", line).group(1) for line in rows]
    assert names == [n for m in METRICS for n in ([m, f"{m} <segment>"] if m in PER_SEGMENT else [m])]
    kpi = {n.split(" ")[0] for n, line in zip(names, rows) if line.endswith("| yes |")}
    assert kpi == set(KPIS)


def test_a_stale_block_is_named_and_rewritten(tmp_path, capsys):
    for page in {p for p, _ in BLOCKS.values()}:
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / page, tmp_path / page)
    page = tmp_path / "docs" / "formulation.md"
    text = page.read_text()
    page.write_text(text.replace("| capacity[", "| capacity_old[", 1))
    assert main(["--check", "--root", str(tmp_path)]) == 1
    assert "the formulation block of docs/formulation.md is stale" in capsys.readouterr().err
    assert page.read_text() != text  # --check changes nothing
    assert main(["--root", str(tmp_path)]) == 0
    assert page.read_text() == text  # the rest of the page as it was
    assert main(["--check", "--root", str(tmp_path)]) == 0


def test_a_page_without_its_block_fails_the_check(tmp_path, capsys):
    for page in {p for p, _ in BLOCKS.values()}:
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / page, tmp_path / page)
    (tmp_path / "docs" / "outputs.md").write_text("# Outputs\n")
    assert main(["--check", "--root", str(tmp_path)]) == 1
    assert "docs/outputs.md has no metrics block" in capsys.readouterr().err


def _anchors(path: Path) -> set[str]:
    """GitHub's anchors of a Markdown file's headings."""
    out = set()
    for line in path.read_text().splitlines():
        m = re.match(r"#{1,6} (.+)", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            out.add(slug)
    return out


def test_every_relative_link_leads_somewhere():
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # http(s), mailto: not checked here
            file, _, anchor = target.partition("#")
            dest = (page.parent / file).resolve() if file else page
            if not dest.exists():
                broken.append(f"{page.relative_to(REPO)}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
                broken.append(f"{page.relative_to(REPO)}: {target} (no such heading)")
    assert not broken, broken


def _python_blocks() -> list:
    """Every ```python block of README.md and docs/, as (page, number, code), unless the line
    before its fence marks it a fragment."""
    import pytest

    out = []
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        lines = page.read_text(encoding="utf-8").splitlines()
        n = 0
        for i, line in enumerate(lines):
            if line.strip() != "```python":
                continue
            n += 1
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
            if i and "fragment" in lines[i - 1]:
                continue
            out.append(pytest.param(page.name, "\n".join(lines[i + 1 : end]), id=f"{page.name}-{n}"))
    return out


def _expected(code: str) -> list[str]:
    """The figures a block's comments promise after a print: '# optimal 128058.1...' -> the
    words and numbers before the '...'."""
    found = []
    for line in code.splitlines():
        if "print(" in line and "#" in line:
            words = line.split("#", 1)[1].strip().split(":")[0].strip()
            if "..." in words:
                found.extend(w for w in words.split("...")[0].split() if w)
    return found


import pytest  # noqa: E402


@pytest.mark.parametrize(("page", "code"), _python_blocks())
def test_every_python_example_runs_as_a_saved_script_and_prints_what_it_says(page, code, tmp_path):
    # Saved as a script, not pasted into a notebook: the process pool's spawned workers import
    # the script again, so an example without the __main__ guard fails here as it would for a user.
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    run = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"{page}: the example fails as a script:\n{run.stderr[-3000:]}"
    for figure in _expected(code):
        assert figure in run.stdout, f"{page}: the example's comment promises {figure!r}; it printed:\n{run.stdout}"


def test_the_sheet_row_limit_the_docs_state_is_the_code_s():
    from aop.workbook import MAX_SHEET_ROWS

    text = (REPO / "docs" / "outputs.md").read_text(encoding="utf-8")
    stated = re.findall(r"longer than ([\d,]+) rows \(`--sheet-rows`\)", text.replace("\n", " "))
    assert stated == [f"{MAX_SHEET_ROWS:,}"]
