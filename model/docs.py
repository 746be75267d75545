"""The input contract as a Markdown table, generated from the schema (used in the README)."""

from __future__ import annotations

from .schema import SETTINGS, TABLES


def _default(c) -> str:
    if c.required:
        return "required"
    if c.default is None:
        return "blank"
    if c.kind == "bool":
        return str(bool(c.default)).lower()
    return f"{c.default:g}" if isinstance(c.default, float) else str(c.default)


def contract_markdown() -> str:
    lines = ["| table | column | default | unit | meaning |", "|---|---|---|---|---|"]
    for t in TABLES.values():
        for i, c in enumerate(t.columns):
            name = f"**{c.name}**" if c.required else c.name
            label = (f"**{t.name}**" if t.required else t.name) if i == 0 else ""
            meaning = c.meaning or (t.meaning if i == 0 else "")
            if c.choices:
                meaning = (meaning + "; " if meaning else "") + "one of " + ", ".join(c.choices)
            lines.append(f"| {label} | {name} | {_default(c)} | {c.unit} | {meaning} |")
    lines += ["", "| setting | default | meaning |", "|---|---|---|"]
    for k, (v, meaning) in SETTINGS.items():
        lines.append(f"| {k} | {v} | {meaning} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(contract_markdown())
