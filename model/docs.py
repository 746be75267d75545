"""The generated parts of the docs: the input contract, the formulation and the figures of a
plan as Markdown tables, from the schema, the family registry and the metrics, and why the
bundled example's top line binds, from a solve of it (``BLOCKS`` says which page carries each,
between ``<!-- name:start -->`` and ``<!-- name:end -->``).

    python -m aop.docs            # rewrite every generated block in place
    python -m aop.docs --check    # exit 1 naming each stale block (0 when all are current)
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from .bottlenecks import bottlenecks
from .build import build
from .families import FAMILIES, review_order
from .files import atomic_file
from .formats import formats_markdown
from .metrics import METRICS, PER_SEGMENT, Metric
from .read import read_case
from .schema import SETTINGS, TABLES
from .solve import SolveOptions, solve
from .validate import validate
from .words import month_name


def contract_markdown() -> str:
    lines = ["| table | column | default | unit | meaning |", "|---|---|---|---|---|"]
    for t in TABLES.values():
        for i, c in enumerate(t.columns):
            name = f"**{c.name}**" if c.required else c.name
            label = (f"**{t.name}**" if t.required else t.name) if i == 0 else ""
            meaning = c.meaning or (t.meaning if i == 0 else "")
            if c.choices:
                meaning = (meaning + "; " if meaning else "") + "one of " + ", ".join(c.choices)
            lines.append(f"| {label} | {name} | {c.default_words} | {c.unit} | {meaning} |")
    lines += ["", "| setting | default | meaning |", "|---|---|---|"]
    for k, (v, meaning) in SETTINGS.items():
        lines.append(f"| {k} | {v} | {meaning} |")
    return "\n".join(lines)


def formulation_markdown() -> str:
    """One line per constraint family, as a reviewer reads them: its row, the limit's unit and
    what its shadow price means."""
    lines = ["| family | row | limit (unit) | shadow price means |", "|---|---|---|---|"]
    for name in review_order():
        f = FAMILIES[name]
        index = f"[{','.join(f.index)}]" if f.index else ""
        lines.append(f"| {name}{index} | {f.row} | {f.limit} | {f.price} |")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _metric_row(name: str, label: str, m: Metric) -> str:
    return f"| `{name}` | {_cell(label)} | {m.unit} | {_cell(m.formula)} | {'yes' if m.kpi else ''} |"


def metrics_markdown() -> str:
    """Every figure of a plan's summary (``metrics.METRICS``, in the summary's order), each
    per-segment figure (``metrics.PER_SEGMENT``) after its plain one: name, label, unit, formula
    in words, and whether it is a KPI compared across plans."""
    lines = ["| name | label | unit | formula | KPI |", "|---|---|---|---|---|"]
    for name, m in METRICS.items():
        lines.append(_metric_row(name, m.label, m))
        if name in PER_SEGMENT:
            seg = PER_SEGMENT[name]
            lines.append(_metric_row(f"{name} <segment>", seg.label.format(segment="*segment*"), seg))
    return "\n".join(lines)


@functools.cache
def example_bottlenecks() -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The ``bottlenecks`` table of the bundled example (data/example.xlsx of this checkout) and
    its periods in order, solved once per process."""
    case = validate(read_case(_default_root() / "data" / "example.xlsx"))
    return bottlenecks(solve(build(case), SolveOptions.from_settings(case.settings))), tuple(case.period_names)


def bottlenecks_markdown(table: pd.DataFrame | None = None, periods: list[str] | None = None) -> str:
    """Why the example's top bottleneck binds: its sentence, then month by month its limit, what
    is used of it (overtime included), the stock built ahead because of it (all products) and
    how much of that is drawn down (where it falls); ``table`` and ``periods``: a
    ``bottlenecks`` table and its plan's periods (the example's by default)."""
    if table is None or periods is None:
        table, names = example_bottlenecks()
        periods = list(names)
    if table.empty:
        return "No line of the example runs at its limit."
    top = table[table["object"] == table["object"].iloc[0]]
    unit = str(top["unit"].iloc[0])
    per = top.drop_duplicates("period").set_index("period")
    ahead = top["build_ahead"].clip(lower=0.0).groupby(top["period"]).sum()
    lines = [f"> {top['sentence'].iloc[0]}", "", f"| month | limit ({unit}) | used ({unit}, overtime included) | at its limit | built ahead (units) | drawn down (units) |",
             "|---|---|---|---|---|---|"]
    before = 0.0
    for p in [p for p in periods if p in per.index]:
        r, held = per.loc[p], float(ahead.get(p, 0.0))
        lines.append(f"| {month_name(p)} | {r['limit']:,.0f} | {r['used']:,.0f} | {'yes' if bool(r['at_limit']) else ''} | {held:,.0f} | {max(before - held, 0.0):,.0f} |")
        before = held
    return "\n".join(lines)


#: Each generated block: the page that carries it and what writes it.
BLOCKS: dict[str, tuple[str, Callable[[], str]]] = {
    "contract": ("docs/input-contract.md", contract_markdown),
    "formulation": ("docs/formulation.md", formulation_markdown),
    "metrics": ("docs/outputs.md", metrics_markdown),
    "bottlenecks": ("docs/outputs.md", bottlenecks_markdown),
    "formats": ("docs/outputs.md", formats_markdown),
}


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def block_of(text: str, name: str) -> str | None:
    """The text between a block's markers (stripped), None when the page has no such block."""
    start, end = markers(name)
    if start not in text or end not in text.split(start, 1)[1]:
        return None
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def with_block(text: str, name: str, body: str) -> str:
    """``text`` with the block ``name`` holding ``body``."""
    start, end = markers(name)
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body.strip()}\n{end}{tail}"


def _default_root() -> Path:
    """The checkout this module runs from (an editable install), else the current folder."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "docs").is_dir() else Path.cwd()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m aop.docs", description="Rewrite the generated blocks of the docs (the contract, the formulation, the metrics, the example's bottleneck) in place.")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 naming each stale block")
    p.add_argument("--root", type=Path, default=None, help="the checkout whose docs/ to rewrite (default: this package's checkout, else the current folder)")
    a = p.parse_args(argv)
    root = a.root if a.root is not None else _default_root()
    stale: list[tuple[str, str]] = []
    missing: list[str] = []
    for name, (page, make) in BLOCKS.items():
        path = root / page
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        found = block_of(text, name)
        if found is None:
            missing.append(f"{page} has no {name} block ({' ... '.join(markers(name))})")
            continue
        body = make().strip()
        if found == body:
            continue
        stale.append((page, name))
        if not a.check:
            with atomic_file(path) as tmp:
                tmp.write_text(with_block(text, name, body), encoding="utf-8")
    for line in missing:
        print(f"aop.docs: {line}", file=sys.stderr)
    for page, name in stale:
        if a.check:
            print(f"aop.docs: the {name} block of {page} is stale: regenerate with python -m aop.docs", file=sys.stderr)
        else:
            print(f"aop.docs: rewrote the {name} block of {page}")
    return 1 if missing or (a.check and stale) else 0

if __name__ == "__main__":
    sys.exit(main())
