"""How numbers, money and runs of periods are said in the sentences of every table and page."""

from __future__ import annotations

import datetime as dt
import math


def number(x: float | None) -> str:
    """A figure with thousands grouped and two decimals ('1,234.50'); 'unlimited' for
    infinity, '?' for unknown, never '-0.00'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "?"
    if math.isinf(x):
        return "unlimited" if x > 0 else "-unlimited"
    if abs(x) < 0.005:
        x = 0.0  # no "-0.00"
    return f"{x:,.2f}" if abs(x) < 1e15 else f"{x:.3g}"


def money(x: float) -> str:
    """An amount as a reader skims it: '1.25 M', '22 k', '5,458', '12.50'."""
    if abs(x) >= 1e6:
        return f"{x / 1e6:,.2f} M"
    if abs(x) >= 1e4:
        return f"{x / 1e3:,.0f} k"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def month_name(period: str) -> str:
    """A calendar month (YYYY-MM) by its name ('July'); any other period as it is."""
    try:
        return dt.datetime.strptime(str(period), "%Y-%m").strftime("%B")
    except ValueError:
        return str(period)


def periods_text(names: list[str], periods) -> str:
    """Periods as a reader says them: runs joined ('June-August', '2027-W03-2027-W07'),
    calendar months by their names; ``names`` are the plan's periods in order."""
    say = [month_name(p) for p in names]
    order = sorted({names.index(p) for p in periods})
    runs, start = [], order[0]
    for a, b in zip(order, order[1:] + [None]):
        if b != a + 1:
            runs.append(say[start] if start == a else f"{say[start]}-{say[a]}")
            if b is not None:  # else that was the last run
                start = b
    return ", ".join(runs[:-1]) + (" and " if len(runs) > 1 else "") + runs[-1]
