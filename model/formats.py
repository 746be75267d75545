"""How every kind of column is shown: the one place the workbooks (plan, studies, buffers, plain
tables) and the browser pages read a column's number format, alignment, width and text.

Kinds (``KINDS``), each with its Excel number format and the text the page writes:

- ``units``: whole units ('12,345'); ``money``: whole amounts of the case's currency
  ('1,234,567'); ``price``: money per unit, two decimals ('12.50', a unit cost, a shadow price);
- ``rate``: a share shown as a percent with two decimals (0.9967 is '99.67%');
  ``points``: a change of a rate in percentage points ('+0.33 pts': the workbook writes the
  fraction's change times 100, so the cell holds the points it shows);
- ``hours`` (one decimal), ``count`` (whole), ``seconds`` (two decimals), ``number`` (a
  quantity without a kind of its own, two decimals), ``text``.

A column's kind comes from the unit ``metrics`` gives a KPI (``of_unit``) or from its name
(``kind_of``). Numbers are right-aligned under right-aligned headers, text left-aligned.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One kind of column. ``excel``: its number format; ``scale``: the factor from the value
    to the cell (100 for points); ``text``: the value as the page (and a width estimate) writes
    it; ``width``: the least width in characters of its cells."""

    name: str
    excel: str
    text: Callable[[float], str]
    width: int = 8
    scale: float = 1.0
    what: str = ""  # the columns of this kind, in words (docs/outputs.md)
    example: float = 1234.5678

    @property
    def align(self) -> str:
        return "left" if self.name == "text" else "right"

    def show(self, value) -> str:
        """The value as the page shows it: '' for blank, 'unlimited' for infinity."""
        if value is None or isinstance(value, str):
            return "" if value is None else value
        try:
            x = float(value)
        except (TypeError, ValueError):
            return str(value)
        if math.isnan(x):
            return ""
        if math.isinf(x):
            return "unlimited" if x > 0 else "-unlimited"
        return self.text(x)


def _zero(x: float, decimals: int) -> float:
    return 0.0 if abs(x) < 0.5 * 10 ** -decimals else x  # never '-0'


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("units", "#,##0", lambda x: f"{_zero(x, 0):,.0f}", what="units made, moved, bought, stocked, demanded, late or lost"),
    Kind("money", "#,##0", lambda x: f"{_zero(x, 0):,.0f}", width=10, what="amounts of the case's currency: costs, revenue, margin, values, cash, spend", example=1234567.89),
    Kind("price", "#,##0.00", lambda x: f"{_zero(x, 2):,.2f}", what="money per unit: unit costs and values, prices, cost per unit, shadow prices", example=12.5),
    Kind("rate", "0.00%", lambda x: f"{_zero(x, 4):.2%}", what="shares: fill rates, targets, utilization, margin %, service levels, probabilities, risk weights and CVaR levels", example=0.99667),
    Kind("points", '+0.00" pts";-0.00" pts";0.00" pts"', lambda x: f"{_zero(x * 100, 2):+.2f} pts".replace("+0.00", "0.00"), width=10, scale=100.0,
         what="a rate's change, in percentage points (the workbook's cell holds the points)", example=0.0033),
    Kind("hours", "#,##0.0", lambda x: f"{_zero(x, 1):,.1f}", what="line hours: available, used, overtime"),
    Kind("count", "#,##0", lambda x: f"{_zero(x, 0):,.0f}", width=6, what="counts: ranks, iterations, variables, rows", example=15670),
    Kind("seconds", "0.00", lambda x: f"{_zero(x, 2):.2f}", width=7, what="seconds a stage or a solve took", example=1.2345),
    Kind("number", "#,##0.00", lambda x: f"{_zero(x, 2):,.2f}", what="other quantities: a limit and its range (in the limit's own unit), components per unit, days"),
    Kind("text", "General", str, width=6, what="names, keys and sentences (long ones wrap)"),
)}

#: Headers in words, the workbooks' and the pages' alike; {cur} is the case's currency.
LABELS = {
    "site": "Site", "product": "Product", "customer": "Customer", "segment": "Segment", "resource": "Resource",
    "origin": "From", "destination": "To", "mode": "Mode", "premium": "Premium", "period": "Period", "family": "Product family",
    "supplier": "Supplier", "component": "Component", "measure": "Measure", "constraint": "Constraint",
    "limit": "Limit", "limit_unit": "Unit", "activity": "Used", "slack": "Slack", "shadow_price": "Shadow price ({cur})",
    "shadow_price_up": "For one more ({cur})", "shadow_price_down": "For one less ({cur})", "limit_lower": "Holds from",
    "limit_upper": "Holds up to", "meaning": "What it means",
    "new_backorders": "New backorders (units)", "late": "Delivered late (units)", "backlog": "Owed at period end (units)",
    "revenue_deferred": "Revenue deferred ({cur})", "departure_period": "Leaves in", "quantity": "Units", "unit_value": "Unit value ({cur})",
    "value": "Value ({cur})", "made": "Units made", "units_per_unit": "Component per unit", "component_units": "Component units",
    "kpi": "KPI", "plan_a": "Plan A", "plan_b": "Plan B", "base": "Base", "change": "Change", "driver": "Driver", "variant": "Plan",
    "unit_cost": "Unit cost ({cur})", "purchase_cost": "Purchase cost ({cur})", "item": "Item", "total": "Total", "average": "Average",
    # aop stochastic
    "future": "Future", "hindsight_cost": "Cost in hindsight", "regret": "Regret", "max_reserve": "Most that can be reserved", "reserved": "Reserved",
    "fee_per_unit": "Fee per unit ({cur})", "value_per_unit": "Saves per unit ({cur})", "gross_saving": "Saves before fees", "reserve_shadow_price": "Worth one more reservable unit ({cur})",
    "raises": "Raises", "decisions": "Decisions", "committed_units": "Committed", "value_of_flexibility": "Value of being free to change it",
    "expected_shadow_price": "Expected shadow price ({cur})", "weight": "Risk weight", "alpha": "CVaR level", "cvar": "CVaR",
    "worst_future_cost": "Worst future's cost", "insurance_premium": "Insurance premium", "tail_cost_removed": "Tail cost removed", "simplex_iterations": "Simplex iterations",
}

#: Figures of a study's summary (one per row) without a metric of their own, in words.
FIGURES = {
    "futures": "Futures", "expected_total_cost": "Expected total cost", "wait_and_see_cost": "Expected cost in hindsight (wait and see)",
    "evpi": "EVPI: what knowing the future is worth", "average_plan_expected_cost": "The average future's plan, expected cost (EEV)",
    "vss": "VSS: what planning for the futures saves", "risk_weight": "Risk weight (lambda)", "objective": "Objective", "reservation_cost": "Options' fees",
    "committed_decisions": "Decisions committed now", "extensive_form_variables": "Extensive form: variables", "extensive_form_rows": "Extensive form: rows",
    "seconds": "Seconds",
}


def figure_label(name: str) -> str:
    """A study summary's figure in words ('cvar_90' is 'CVaR 90 %'); others spelled out."""
    if name in FIGURES:
        return FIGURES[name]
    if name.startswith("cvar_") and name[5:].isdigit():
        return f"CVaR {name[5:]} %: mean cost of the worst {100 - int(name[5:])} %"
    return name.replace("_", " ").capitalize()



def label(column: str, currency: str = "") -> str:
    """A column's header in words ('Shadow price (USD)'); a column without one is its name
    spelled out ('cost_per_unit' -> 'Cost per unit'). Without a currency, '(USD)' is left out."""
    if column in LABELS:
        text = LABELS[column]
    elif column.startswith("shadow_price_"):  # a future's own price (aop stochastic): its name as written
        text = "Shadow price in " + column[13:].replace("{", "{{").replace("}", "}}") + " ({cur})"
    elif column != column.lower() or " " in column:
        return column  # a name from the case (a scenario, a period): as written
    else:
        text = column.replace("_", " ")
        text = text[:1].upper() + text[1:]
    return text.format(cur=currency) if currency else text.replace(" ({cur})", "").format(cur="")


#: A KPI's unit (``metrics.Metric.unit``, or the currency a summary writes) -> its kind.
UNIT_KINDS = {"money": "money", "fraction": "rate", "units": "units", "count": "count", "s": "seconds", "": "text"}


def of_unit(unit: str | None, change: bool = False) -> str:
    """The kind of a KPI's value by its unit ('fraction', 'units', 'money' or a currency code
    such as 'USD', 'count', 's'); ``change``: of its change (a rate's change is in points)."""
    u = "" if unit is None or unit != unit else str(unit)
    kind = UNIT_KINDS.get(u, "money" if len(u) == 3 and u.isalpha() and u.isupper() else "number")
    return "points" if change and kind == "rate" else kind


def label_unit(unit: str | None) -> str:
    """A KPI's unit as a header or cell says it: '%' for a fraction, 'seconds' for s."""
    u = "" if unit is None or unit != unit else str(unit)
    return {"fraction": "%", "s": "seconds"}.get(u, u)


#: Name rules, first match wins: (kind, words a column's name holds or ends with).
_EXACT = {
    "shadow_price": "price", "shadow_price_up": "price", "shadow_price_down": "price", "price_low": "price", "price_high": "price",
    "limit": "number", "activity": "number", "slack": "number", "limit_lower": "number", "limit_upper": "number", "step_size": "number",
    "target": "rate", "share": "rate", "z": "number", "days_of_inventory": "number", "units_per_unit": "number",
    "rank": "count", "order": "count", "iterations": "count", "binding_periods": "count", "scenario": "count",
    "seconds": "seconds", "solver_seconds": "seconds",
    "initial": "units", "made": "units", "late": "units", "backlog": "units", "short": "units", "ontime": "units", "reachable": "units",
    "used": "hours", "objective": "money", "predicted_change": "money", "predicted": "money", "fill_rate_protected": "points",
    # aop stochastic: a future's probability, the risk dial, what an option reserves
    "probability": "rate", "weight": "rate", "alpha": "rate", "risk_weight": "rate", "regret": "money", "cvar": "money", "insurance_premium": "money",
    "gross_saving": "money", "max_reserve": "units", "reserved": "units", "decisions": "count",
}
_ENDS = (
    ("_units", "units"), ("_seconds", "seconds"), ("_pct", "rate"), ("_per_unit", "price"), ("_per_period", "units"),
    ("_periods", "number"), ("_iterations", "count"), ("_std", "units"), ("_hours", "hours"), ("_used", "hours"), ("_protected", "money"), ("_penalty", "price"),
)
_HOLDS = (
    ("fill_rate", "rate"), ("utilization", "rate"), ("service_level", "rate"),
    ("unit_cost", "price"), ("unit_value", "price"), ("price", "price"), ("rate", "price"),
    ("cost", "money"), ("revenue", "money"), ("value", "money"), ("spend", "money"), ("margin", "money"), ("cash", "money"),
    ("receivables", "money"), ("payables", "money"), ("collected", "money"), ("spent", "money"), ("paid", "money"),
    ("working_capital", "money"), ("recovered", "money"), ("swing", "money"),
    ("hours", "hours"), ("units", "units"), ("quantity", "units"), ("on_hand", "units"), ("backorders", "units"),
    ("safety_stock", "units"), ("demand", "units"), ("ending_min", "units"), ("outsource", "units"), ("make", "units"),
)


def kind_of(column: str, numeric: bool = True) -> str:
    """The kind of a column by its name ('text' when it holds no numbers): a column that holds
    a fill rate, utilization or share is a rate; a unit cost or price is a price; other costs,
    revenue, values and margins are money; units, quantities and stock are units."""
    if not numeric:
        return "text"
    c = str(column).lower()
    if c in _EXACT:
        return _EXACT[c]
    for end, kind in _ENDS:
        if c.endswith(end):
            return kind
    for word, kind in _HOLDS:
        if word in c:
            return kind
    return "number"


def width(kind: str, values: Iterable, header: str = "", most: int = 50) -> int:
    """The width in characters a column of one kind needs (see ``width_of_cells``)."""
    values = list(values)
    return width_of_cells(values, [kind] * len(values), header, most)


def width_of_cells(values: Iterable, kinds: Iterable[str], header: str = "", most: int = 50) -> int:
    """The width in characters a column needs: its widest cell as shown (each by its kind),
    at least its kinds' least width, at most ``most``; the header wraps, so only its longest
    word counts. A character of width is a digit of the sheet's font: numbers get a tenth
    more (bold totals are wider), text a fifth (capitals and bold are wider than digits)."""
    widest, least = 0.0, 0
    kinds = list(kinds)
    numbers = any(k != "text" for k in kinds)
    values = list(values)
    cells: Iterable = zip(values, kinds)
    try:  # each distinct cell measured once (a grid repeats its zeros and its keys); the type
        # and a zero's text are in the key, so True and 1, or 0.0 and -0.0, stay apart
        cells = [(v, kind) for _, v, kind, _ in dict.fromkeys((type(v), v, kind, v == 0 and str(v)) for v, kind in cells)]
    except TypeError:  # an unhashable value (or pd.NA): measure every cell
        cells = zip(values, kinds)
    for v, kind in cells:
        k = KINDS[kind]
        least = max(least, k.width)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if isinstance(v, str) and numbers:  # words among numbers (a KPI given in words) wrap in their width
            widest = max(widest, min(text_width(v) * 1.1, 16))
        elif kind == "text" or isinstance(v, str):
            widest = max(widest, text_width(str(v)) * 1.1)
        else:
            widest = max(widest, len(k.show(v)) * 1.1)
    word = max((text_width(w) for w in str(header).split()), default=0) * 1.1  # bold
    return int(min(max(math.ceil(max(widest, word)) + 1, least), most))


#: Printing: the page width (inches) left for a sheet's columns, the smaller of A4 and Letter
#: within 0.4-inch side margins, and the smallest print scale a sheet may take (0.78: 11 pt
#: text prints at 8.6 pt). A sheet that fits a portrait page at that scale prints portrait,
#: one page wide; one that fits a landscape page prints landscape, one page wide; a wider one
#: prints landscape on as few pages wide as keep that scale, its key columns on each.
PORTRAIT_INCHES, LANDSCAPE_INCHES, MARGIN_INCHES, LEAST_SCALE = 8.27, 11.0, 0.4, 0.78


def points(chars: float) -> float:
    """A column's printed width at full size (points) from its width in characters: a
    character is the default font's digit, 5.25 pt in Excel's Calibri and 7.1 pt in the
    DejaVu Sans LibreOffice draws where Calibri is missing; the wider one is taken."""
    return 7.1 * chars + 3


def page_layout(chars: Sequence[float], keys: int = 0) -> tuple[bool, int]:
    """(landscape, pages wide) of a sheet whose columns are ``chars`` wide (characters), the
    first ``keys`` of them repeated on each page when it needs more than one page wide."""
    total = sum(points(c) for c in chars)
    portrait = (PORTRAIT_INCHES - 2 * MARGIN_INCHES) * 72 / LEAST_SCALE
    landscape = (LANDSCAPE_INCHES - 2 * MARGIN_INCHES) * 72 / LEAST_SCALE
    if total <= portrait:
        return False, 1
    if total <= landscape:
        return True, 1
    key = sum(points(c) for c in chars[:keys]) if keys else 0.0
    # Pages break between columns: a tenth of a page is kept for the column that does not fit.
    return True, math.ceil((total - key) / (max(landscape - key, landscape / 2) * 0.9))


def text_width(text: str) -> float:
    """How wide ``text`` is drawn, in characters of width (the font's digit): in DejaVu Sans
    (what LibreOffice draws where Calibri is missing, and wider than it) a capital is about 1.1
    digits, a small letter 0.9, a space 0.5; a tenth more for bold."""
    return sum(0.5 if c == " " else 1.1 if c.isupper() else 0.9 if c.isalpha() else 1.0 for c in str(text))


def lines(text: str, chars: float, bold: bool = False) -> int:
    """How many lines ``text`` takes wrapped at its spaces in a column ``chars`` wide (one
    character of it is the cell's margins; bold text is a tenth wider)."""
    room = max(chars - 1, 1) / (1.1 if bold else 1.0)
    count, used = 1, 0.0
    for word in str(text).split():
        w = text_width(word)
        if used and used + 0.5 + w > room:
            count, used = count + 1, 0.0
        used += (0.5 if used else 0.0) + w
        while used > room:  # a word longer than the line breaks where it must
            count, used = count + 1, used - room
    return count


def formats_markdown() -> str:
    """Each kind of column as the docs show it: what it holds, its Excel number format and an
    example as the workbook and the page write it."""
    rows = ["| kind | columns | Excel number format | a value | is shown as | aligned |", "|---|---|---|---|---|---|"]
    for k in KINDS.values():
        if k.name == "text":
            rows.append(f"| {k.name} | {k.what} | `{k.excel}` | | as written | left |")
        else:
            rows.append(f"| {k.name} | {k.what} | `{k.excel}` | {k.example} | {k.show(k.example)} | right, and its header |")
    return "\n".join(rows)


#: What an infinite figure of ``aop stochastic`` means, by its column or its summary figure;
#: an infinite value elsewhere is 'unlimited' (``Kind.show``).
INFINITE_WORDS = {
    "average_plan_expected_cost": "cannot be carried out",
    "vss": "infinite: the average future's plan cannot be carried out",
    "net_value": "no plan without it",
    "gross_saving": "no plan without it",
    "value_per_unit": "no plan without it",
    "total_cost": "cannot be carried out",
    "expected_cost": "cannot be carried out",
    "cvar": "cannot be carried out",
}


def infinite_in_words(df, figure: str = ""):
    """``df`` (a DataFrame) with its infinite numbers as the words that say what they mean
    (``INFINITE_WORDS``, by column, or in a summary, by the row's figure named in column
    ``figure``); the other cells untouched. Words never 'inf', in a page or a workbook."""
    out = df
    for c in df.columns:
        if df[c].dtype.kind not in "fO":
            continue
        bad = [isinstance(v, float) and math.isinf(v) for v in df[c]]
        if not any(bad):
            continue
        if out is df:
            out = df.copy()
        keys = list(df[figure]) if figure else [c] * len(df)
        out[c] = [(INFINITE_WORDS.get(str(k), "unlimited" if v > 0 else "-unlimited") if b else v) for v, b, k in zip(df[c], bad, keys)]
    return out
