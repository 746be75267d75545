"""The blank case workbook (``aop template``): a printable README sheet documenting every
table and column of the contract, then one sheet per table that guides the planner (required
columns marked, a comment on each header, drop-downs and number bounds), all from the schema."""

from __future__ import annotations

from pathlib import Path

from . import formats
from .files import atomic_file
from .schema import SETTINGS, TABLES

#: Drop-downs of the template: what a column names -> the sheet column listing the names.
LISTS = {"period": ("periods", "period"), "site": ("sites", "site"), "product": ("products", "product"), "customer": ("customers", "customer"), "family": ("products", "family")}
#: Columns whose values come from another sheet without being a checked reference.
FROM_SHEET = {("service", "segment"): ("customers", "segment"), ("lane_rates", "mode"): ("lanes", "mode"), ("lane_rates", "origin"): ("sites", "site")}
TEMPLATE_ROWS = 5000
#: The README sheet's columns (characters): table, column, required, default, unit, meaning.
README_WIDTHS = (16, 22, 16, 12, 16, 46)


def _validation(table: str, c) -> dict | None:
    """The data validation (drop-down or number bounds) of a template column, or None."""
    source = LISTS.get(c.ref) if c.ref else FROM_SHEET.get((table, c.name))
    if source and source[0] != table:
        sheet, column = source
        col = TABLES[sheet].names.index(column)
        letter = chr(ord("A") + col)
        return {"validate": "list", "source": f"={sheet}!${letter}$2:${letter}${TEMPLATE_ROWS + 1}", "error_type": "warning",
                "error_title": f"Not a {column} yet", "error_message": f"{c.name} should name a {column} listed in sheet {sheet}."}
    if c.choices:
        return {"validate": "list", "source": list(c.choices)}
    if c.kind == "bool":
        return {"validate": "list", "source": ["true", "false"]}
    if c.kind == "float" and (c.minimum is not None or c.maximum is not None):
        rule = {"validate": "decimal", "error_title": f"{c.name} is a number"}
        if c.minimum is not None and c.maximum is not None:
            rule.update(criteria="between", minimum=c.minimum, maximum=c.maximum, error_message=f"{c.name} must be between {c.minimum:g} and {c.maximum:g}{' (a fraction: 98 % is 0.98)' if c.maximum == 1 else ''}.")
        else:
            rule.update(criteria=">=", value=c.minimum, error_message=f"{c.name} must be a number of at least {c.minimum:g}.")
        return rule
    return None


def _meaning(c) -> str:
    """A column's meaning as the README says it, its choices after it ('one of plant, dc, supplier')."""
    parts = [c.meaning] + (["one of " + ", ".join(c.choices)] if c.choices else [])
    text = "; ".join(p for p in parts if p)
    return text[:1].upper() + text[1:]


def _comment(c) -> str:
    if c.required:
        head = "Required."
    elif c.default is None:
        head = "Optional: may be left blank."
    else:
        head = f"Optional; blank: {c.default_words}."
    parts = [head]
    if c.unit:
        parts.append(f"Unit: {c.unit}.")
    if c.meaning:
        parts.append(c.meaning[0].upper() + c.meaning[1:] + ".")
    if c.choices:
        parts.append("One of " + ", ".join(c.choices) + ".")
    return " ".join(parts)


def write_template(path, force: bool = False) -> None:
    """A blank case workbook that guides: a README sheet documenting every table and column
    (printable), then one sheet per table whose header marks required columns (bold, shaded)
    apart from optional ones, carries a comment with each column's unit and meaning, and
    offers drop-downs (periods, sites, products, customers, kinds, units, true/false) and
    number bounds. Written atomically; an existing file is kept unless ``force``."""
    import xlsxwriter

    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} already exists (aop template --force replaces it)")
    with atomic_file(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False})
        title = wb.add_format({"bold": True, "font_size": 14})
        head = wb.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"})
        wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        strong = wb.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        required = wb.add_format({"bold": True, "bg_color": "#FFF2CC", "border": 1})
        optional = wb.add_format({"italic": True, "font_color": "#595959", "border": 1})
        readme = wb.add_worksheet("README")
        widths = README_WIDTHS
        for col, width in enumerate(widths):
            readme.set_column(col, col, width)

        def row(r: int, values: list[str], fmt) -> None:  # as tall as its longest wrapped cell
            readme.write_row(r, 0, values, fmt)
            lines = max(formats.lines(str(v), w, bold=fmt is strong) for v, w in zip(values, widths))
            if lines > 1:
                readme.set_row(r, 15 * lines)

        readme.write(0, 0, "aop case template", title)
        intro = ("One sheet per table: header in row 1, one row per record. Required columns are bold and shaded in their sheets; "
                 "hover over a header for its unit and meaning. Blank optional cells take the default.")
        # The introduction spans the README's columns, as tall as its wrapped lines.
        readme.merge_range(1, 0, 1, len(widths) - 1, intro, wrap)
        readme.set_row(1, 15 * formats.lines(intro, sum(widths)))
        header = ["table", "column", "required", "default", "unit", "meaning"]
        readme.write_row(3, 0, header, head)
        r = 4
        for t in TABLES.values():
            row(r, [t.name, "", "required table" if t.required else "optional table", "", "", t.meaning], strong)
            r += 1
            for c in t.columns:
                row(r, [t.name, c.name, "yes" if c.required else "no", "" if c.required else c.default_words, c.unit, _meaning(c)], wrap)
                r += 1
        r += 1
        readme.merge_range(r, 0, r, 2, "settings keys (sheet settings: key, value)", strong)
        for k, (v, meaning) in SETTINGS.items():
            r += 1
            row(r, ["settings", k, "no", str(v), "", meaning], wrap)
        readme.freeze_panes(4, 0)
        landscape, wide = formats.page_layout(list(widths))
        if landscape:
            readme.set_landscape()
        readme.set_margins(left=formats.MARGIN_INCHES, right=formats.MARGIN_INCHES)
        readme.fit_to_pages(wide, 0)
        readme.repeat_rows(3)
        readme.set_footer("&Laop case template&RPage &P of &N")
        for t in TABLES.values():
            ws = wb.add_worksheet(t.name)
            sheet_widths = [max(12, len(c.name) + 4) for c in t.columns]
            for i, c in enumerate(t.columns):
                ws.write_string(0, i, c.name, required if c.required else optional)
                ws.write_comment(0, i, _comment(c), {"x_scale": 2, "y_scale": 1.5})
                ws.set_column(i, i, sheet_widths[i])
                rule = _validation(t.name, c)
                if rule:
                    ws.data_validation(1, i, TEMPLATE_ROWS, i, {"ignore_blank": True, **rule})
            ws.freeze_panes(1, 0)
            # Printed by its width like every workbook's sheet (no text below 8 pt).
            landscape, wide = formats.page_layout(list(sheet_widths), keys=1)
            if landscape:
                ws.set_landscape()
            ws.set_margins(left=formats.MARGIN_INCHES, right=formats.MARGIN_INCHES)
            ws.fit_to_pages(wide, 0)
            ws.repeat_rows(0)
        wb.close()
