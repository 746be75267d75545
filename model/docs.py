"""The input contract and the formulation as Markdown tables, generated from the schema and
the family registry (the README carries them between markers; a test keeps them in step)."""

from __future__ import annotations

from .families import FAMILIES, review_order
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


def formulation_markdown() -> str:
    """One line per constraint family, as a reviewer reads them: its row, the limit's unit and
    what its shadow price means."""
    lines = ["| family | row | limit (unit) | shadow price means |", "|---|---|---|---|"]
    for name in review_order():
        f = FAMILIES[name]
        index = f"[{','.join(f.index)}]" if f.index else ""
        lines.append(f"| {name}{index} | {f.row} | {f.limit} | {f.price} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(contract_markdown())
    print()
    print(formulation_markdown())


def write_template(path) -> None:
    """A blank case workbook: a README sheet documenting every table and column, then one
    sheet per table with its header (required columns marked in the README)."""
    import os
    import tempfile
    from pathlib import Path

    from openpyxl import Workbook
    from openpyxl.styles import Font

    path = Path(path)
    wb = Workbook()
    readme = wb.active
    readme.title = "README"
    bold = Font(bold=True)
    readme.append(["aop case template: one sheet per table, header in row 1, one row per record. Bold = required table; see the columns below."])
    readme.append([])
    readme.append(["table", "column", "required", "default", "unit", "meaning"])
    for c in readme[3]:
        c.font = bold
    for t in TABLES.values():
        readme.append([t.name, "", "table required" if t.required else "optional table", "", "", t.meaning])
        readme.cell(readme.max_row, 1).font = bold
        for c in t.columns:
            meaning = c.meaning + ("; one of " + ", ".join(c.choices) if c.choices else "")
            readme.append([t.name, c.name, "yes" if c.required else "no", "" if c.required else _default(c), c.unit, meaning])
    readme.append([])
    readme.append(["settings keys (table settings: key, value)"])
    for k, (v, meaning) in SETTINGS.items():
        readme.append(["settings", k, "no", str(v), "", meaning])
    for col, width in zip("ABCDEF", (14, 22, 14, 12, 18, 90)):
        readme.column_dimensions[col].width = width
    readme.freeze_panes = "A4"
    for t in TABLES.values():
        ws = wb.create_sheet(t.name)
        ws.append(t.names)
        for i, c in enumerate(t.columns, start=1):
            ws.cell(1, i).font = bold
            ws.column_dimensions[ws.cell(1, i).column_letter].width = max(12, len(c.name) + 4)
        ws.freeze_panes = "A2"
    fd, tmp = tempfile.mkstemp(suffix=".xlsx", dir=path.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
