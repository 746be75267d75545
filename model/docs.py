"""The input contract and the formulation as Markdown tables, generated from the schema and
the family registry (the README carries them between markers; a test keeps them in step)."""

from __future__ import annotations

from .families import FAMILIES, review_order
from .schema import SETTINGS, TABLES


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
