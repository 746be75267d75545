"""The finance view's what-ifs: what the plan's binding limits cost (the constraint cost
ledger), what each service promise costs, what forces premium freight, what a lead-time slip
does; and the finance view of a plan, its statements with them.

Every what-if is a variant of the solved model (``solve.Solved.variant``): limits or costs
moved, or a case edited, re-solved warm and undone, so the model is the plan again afterwards.
The what-ifs of one finance view share a time budget (``WhatIfs``). Which limits a what-if
moves, by how much and how it is said come from the family registry (``Family.step``,
``Family.trigger``, ``Family.worth``). Money is in the case's currency; a saving is negative.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .bounds import IN_RANGE, MET, RESOLVED, Bound, limit_step, top_k
from .families import TRIGGERS
from .results import Figures, binding_levers, deliveries, ledger_entries, object_keys
from .solve import Solution, Solved, Trial
from .statements import STATEMENT_TABLES, statements
from .words import money, number

#: The ledger proves this many of its entries exact and in order (``bounds.top_k``): re-solved
#: where their step leaves the ranges of their prices, each a warm re-solve.
LEDGER_TOP = 5
#: ``resolves`` that settles every entry of the ledger (``aop explain DIR --exact``).
EVERY_ENTRY = 1_000_000_000
#: The what-if re-solves of one finance view take together at most this share of the seconds
#: HiGHS took to solve the plan itself (``what_if_budget``): the view costs the user at most
#: about one more solve, and what its time does not settle stays proven bounds.
WHAT_IF_SHARE = 1.0
#: ... and at least these seconds, so a small plan (solved in a second) settles all, on a slow or
#: busy machine too: its what-ifs take a fraction of it.
WHAT_IF_FLOOR = 10.0


def what_if_budget(solution: Solution) -> float:
    """The default time of a plan's what-ifs: ``WHAT_IF_SHARE`` of its own HiGHS seconds, at
    least ``WHAT_IF_FLOOR``."""
    return max(WHAT_IF_FLOOR, WHAT_IF_SHARE * solution.seconds)


@dataclass
class WhatIfs:
    """The what-ifs of a finance view share one time budget, so a plan of a million variables
    gets its statements in seconds and as many what-ifs as fit; a what-if that does not fit is
    left out and said to be (``skipped``), never guessed."""

    seconds: float = math.inf
    ran: int = 0
    skipped: int = 0
    start: float = field(default_factory=time.perf_counter)

    def left(self) -> float:
        return self.seconds - (time.perf_counter() - self.start)

    @contextmanager
    def variant(self, solved: Solved, **change) -> Iterator[Trial | None]:
        """``solved.variant(**change)`` within what is left of the budget: the trial, or None
        when the budget was spent before it started. A trial stopped by the budget has status
        'time_limit' (and the lower bound its re-solve proved, ``Trial.lower``); any other
        trial whose ``solution`` is None found no plan that meets the change."""
        left = self.left()
        if left <= 0:
            self.skipped += 1
            yield None
            return
        with solved.variant(time_limit=left, **change) as trial:
            if trial.status == "time_limit":
                self.skipped += 1
            else:
                self.ran += 1
            yield trial


# --------------------------------------------------------------------------------------
# The constraint cost ledger
# --------------------------------------------------------------------------------------


def ledger(solved: Solved, resolves: int = LEDGER_TOP, what_ifs: WhatIfs | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Binding business limits grouped by what they limit over the periods (a line at a plant,
    a lane, a site's space, a supplier, a segment's promise, a budget), ranked by what a step
    of them is worth to the year; and the revenue each step recovers, by product family,
    customer, segment and period.

    For each entry: the periods it binds, its shadow prices (per unit of the limit, both sides
    where one-sided), the step (its family's ``Step``: 10 % more of the limit in those
    periods, one unit where a supply, production or co-manufacturing limit is 0; one point
    less of a fill-rate target), what the prices alone predict the step is worth, and what it
    is proven to be worth (``value_low``-``value_high``: money, negative saves; ``bounds``).
    A step inside the ranges where its prices hold is worth exactly what they say; the others
    are re-solved warm only while their best case can still enter the ``resolves`` entries
    worth the most (``bounds.top_k``), within ``what_ifs``'s time. ``value_of_step`` is the
    exact value where known, ``exact`` says how ('re-solved', 'inside the ranges',
    'bounded'), ``re_solved`` why an entry was not; the revenue a re-solved step recovers is
    read from its plan. One sentence per entry says it in words."""
    built, sol = solved.built, solved.optimum
    what_ifs = what_ifs or WhatIfs()
    cur = built.case.currency
    led = ledger_entries(built, sol)
    if led.empty:
        return _empty_ledger(), pd.DataFrame(columns=["constraint", "object", "family", "customer", "segment", "period", "revenue_recovered"])
    led = led.reset_index(drop=True)
    led["value_of_step"] = np.nan
    led["revenue_recovered"] = np.nan
    led["re_solved"] = "no: its bounds show it is not among the entries worth the most"
    base_rev = deliveries(solved)
    drivers = []
    bound = [_limit_bound(solved, e["_rows"], e["_new"]) for e in led.to_dict("records")]
    for i, b in enumerate(bound):
        if b.exact:
            led.at[i, "re_solved"] = f"no: exact, {_EXACT_WHY[b.how]}"

    def settle(i: int) -> Bound | None:
        e = led.loc[i]
        with what_ifs.variant(solved, limits=(e["_rows"], e["_new"])) as trial:
            if trial is None or trial.status == "time_limit":
                led.at[i, "re_solved"] = "no: the what-if time was spent"
                if trial is not None:
                    stopped[i] = trial.lower - sol.objective
                return None
            if trial.solution is None:
                led.at[i, "re_solved"] = "no: no plan meets the step"
                return Bound(math.inf, math.inf, RESOLVED)
            stepped = trial.solution
            led.at[i, "re_solved"] = "yes"
            rev = deliveries(solved, stepped)
            gain = _revenue_change(built, base_rev, rev)
            led.at[i, "revenue_recovered"] = float(gain["revenue_recovered"].sum())
            if len(gain):
                drivers.append(gain.assign(constraint=e["constraint"], object=e["object"]))
            return Bound.resolved(stepped.objective - sol.objective)

    stopped: dict[int, float] = {}  # entries whose re-solve the time stopped: the lower bound it proved
    bound, _n = top_k(bound, resolves, settle)
    # A top entry exact inside its ranges still needs its plan for the revenue it recovers:
    # re-solved from a basis that stays optimal, it takes no pivots, and checks the figure.
    top = sorted(range(len(bound)), key=lambda j: -abs(bound[j].value) if bound[j].exact else 0.0)[:resolves]
    for i in top:
        if bound[i].how == IN_RANGE and math.isnan(led.at[i, "revenue_recovered"]):
            known = bound[i]
            got = settle(i)
            led.at[i, "re_solved"] = "yes" if got is not None else led.at[i, "re_solved"]
            if got is not None and abs(got.value - known.value) > 1e-6 * max(1.0, abs(known.value), abs(sol.objective) * 1e-6):
                bound[i] = got  # the re-solved plan is the figure (the ranges were off by more than round-off)
    for i, low in stopped.items():
        bound[i] = bound[i].tighter(low=low)
    if what_ifs.left() <= 0:
        for i, b in enumerate(bound):
            if not b.exact and led.at[i, "re_solved"].startswith("no: its bounds"):
                led.at[i, "re_solved"] = "no: the what-if time was spent"
    led["value_low"] = [b.low for b in bound]
    led["value_high"] = [b.high for b in bound]
    led["exact"] = [b.how for b in bound]
    led["value_of_step"] = [b.value for b in bound]
    # Per unit of the limit over the step (a fill-rate step is in units of demand delivered).
    led["revenue_per_unit"] = led["revenue_recovered"] / led["step_size"].where(led["step_size"] > 0)
    # Ranked by what is known: the exact value, else the best case the bounds leave.
    led["rank_value"] = [b.value if b.exact else b.best for b in bound]
    led["rank_value"] = led["rank_value"].abs()
    led = led.sort_values("rank_value", ascending=False, kind="stable").drop(columns=["rank_value", "_rows", "_new"]).reset_index(drop=True)
    led["sentence"] = [_ledger_sentence(r, cur) for r in led.to_dict("records")]
    cols = ["constraint", "object", *[c for c in led.columns if c in object_keys(built.families)], "unit", "periods", "binding_periods", "price_low", "price_high",
            "one_sided", "step", "step_size", "predicted", "value_low", "value_high", "exact", "value_of_step", "revenue_recovered", "revenue_per_unit", "re_solved", "sentence"]
    by = pd.concat(drivers, ignore_index=True) if drivers else pd.DataFrame(columns=["constraint", "object", "family", "customer", "segment", "period", "revenue_recovered"])
    return led[cols], by


def _limit_bound(solved: Solved, rows: np.ndarray, limits: np.ndarray) -> Bound:
    """What setting ``rows``' limits to ``limits`` is proven to change, from the base plan alone."""
    sol, lp = solved.optimum, solved.lp
    return limit_step(lp, sol.row_dual, sol.row_value, rows, limits, sol.row_bound_lower, sol.row_bound_upper, sol.row_price_up, sol.row_price_down, x=sol.col_value)


def _empty_ledger() -> pd.DataFrame:
    return pd.DataFrame(columns=["constraint", "object", "unit", "periods", "binding_periods", "price_low", "price_high", "one_sided", "step", "step_size", "predicted",
                                 "value_low", "value_high", "exact", "value_of_step", "revenue_recovered", "revenue_per_unit", "re_solved", "sentence"])


def _revenue_change(built, before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Revenue recovered (delivered revenue gained), by product family, customer, segment and
    period; only where it changed."""
    k = ["product", "customer", "period"]
    m = before[k + ["revenue"]].merge(after[k + ["revenue"]], how="outer", on=k, suffixes=("_0", "_1")).fillna(0.0)
    m["revenue_recovered"] = m["revenue_1"] - m["revenue_0"]
    m = m[m["revenue_recovered"].abs() > 0.005]
    case = built.case
    m["family"] = m["product"].map(case.products.set_index("product")["family"]).fillna("")
    m["segment"] = m["customer"].map(case.customers.set_index("customer")["segment"])
    return m.groupby(["family", "customer", "segment", "period"], as_index=False)["revenue_recovered"].sum()



def _ledger_sentence(r: dict, cur: str) -> str:
    unit = r["unit"]
    one = {"units": "unit", "hours": "hour"}.get(unit, unit)
    lo, hi = r["price_low"], r["price_high"]
    price = f"{number(lo)}" if abs(hi - lo) < 0.005 else f"{number(lo)}-{number(hi)}"
    obj = r["object"][0].upper() + r["object"][1:]
    when = f" in {r['periods']}" if r["periods"] else ""
    text = f"{obj} binds{when}; {r['_worth'].format(one=one)} {price} {cur}"
    what = r["_doing"].format(unit=unit, periods="those periods" if r["binding_periods"] > 1 else "that period")
    if r["one_sided"]:
        text += " (a one-sided price in some periods: one more and one less are worth different amounts)"
    pred = r["predicted"]
    v = r.get("value_of_step")
    if isinstance(v, float) and not math.isnan(v):
        # Less than a cent is nothing: a limit whose price for a rise is 0 (it binds only
        # downwards) would otherwise read "would cost 0.00 USD", as if the step cost money.
        if r.get("exact") in _EXACT_WHY:
            text += f"; {what} would {_worth_words(v, cur)} (exact: {_EXACT_WHY[r['exact']]})"
        else:
            text += f"; {what} would {_worth_words(v, cur)} (the prices alone predicted {_worth_words(pred, cur, verb=False)})"
        rec = r.get("revenue_recovered")
        if isinstance(rec, float) and abs(rec) >= 0.5:
            text += f" and recover {money(rec)} {cur} of revenue" if rec > 0 else f" and give up {money(-rec)} {cur} of revenue"
    else:
        why = str(r.get("re_solved", "")).removeprefix("no: ") or "beyond the entries re-solved"
        text += f"; {what} would {_between(r.get('value_low', pred), r.get('value_high', math.inf), cur)} (not re-solved: {why})"
    return text + "."


#: Why a figure is exact without a re-solve, in words.
_EXACT_WHY = {IN_RANGE: "the step stays inside the range where the prices hold", MET: "what the prices prove and what the base plan still costs meet"}


def _between(low: float, high: float, cur: str) -> str:
    """A proven interval of a step's value in words: 'save between 120.00 and 400.00 USD'."""
    if math.isinf(low) and low > 0:
        return "find no plan"
    if high <= 0.005 and math.isfinite(low):
        a, b = -high, -low
        return f"save at most {money(b)} {cur}" if a < 0.005 else f"save between {money(a)} and {money(b)} {cur}"
    if low >= -0.005:
        return f"cost at least {money(max(low, 0.0))} {cur}" if math.isinf(high) else f"cost between {money(max(low, 0.0))} and {money(high)} {cur}"
    return f"change the cost by between {money(low)} and {money(high)} {cur}" if math.isfinite(low) and math.isfinite(high) else f"change the cost by at least {money(low)} {cur}"


def _worth_words(v: float, cur: str, verb: bool = True) -> str:
    """A step's value in words: 'save 12.50 USD', 'cost 3.00 USD', or 'save nothing' for less
    than a cent; without ``verb``, the amount alone ('12.50', 'nothing')."""
    if abs(v) < 0.005:
        return "save nothing" if verb else "nothing"
    return f"{'save' if v < 0 else 'cost'} {money(abs(v))} {cur}" if verb else money(abs(v))



# --------------------------------------------------------------------------------------
# Service costed
# --------------------------------------------------------------------------------------


def service_costs(solved: Solved, what_ifs: WhatIfs | None = None) -> pd.DataFrame:
    """For each segment's fill-rate target: what one more point costs (one point more in every
    period it applies), from the prices and proven, and what holding the target at all costs
    (the target removed): the price of that service promise. Each figure is exact where its
    step stays inside the ranges of its prices or a warm re-solve within ``what_ifs``'s time
    settles it; else its proven interval stands (``*_low``/``*_high``; ``*_how`` says which:
    're-solved', 'inside the ranges' or 'bounded'). A point no plan can meet costs inf."""
    built, sol = solved.built, solved.optimum
    what_ifs = what_ifs or WhatIfs()
    found = built.lp.block("service")
    if found is None or not len(found[0]):
        return pd.DataFrame(columns=SERVICE_COLUMNS)
    fam = built.families["service"]  # the family the LP's service rows were built from
    b, sl = found
    rows = np.arange(sl.start, sl.stop)
    keys = b.keys.assign(_row=rows, limit=built.lp.limit[rows], base=fam.base(built, b.keys))
    up = np.where(np.isnan(sol.row_price_up[rows]), sol.row_dual[rows], sol.row_price_up[rows])
    keys["up"] = up
    target = built.case.service.set_index("segment")["fill_rate"]
    out = []
    for seg, g in keys.groupby("segment", sort=True):
        r = g["_row"].to_numpy()
        point = -fam.step.amounts(g["limit"], g["base"])  # one point more
        entry: dict = {"segment": seg, "target": float(target.get(seg, np.nan)), "point_cost_predicted": float((g["up"] * point).sum())}
        one = _settled(solved, r, g["limit"].to_numpy() + point, what_ifs)
        drop = _settled(solved, r, np.zeros(len(r)), what_ifs)
        entry.update(point_cost=one.value, point_cost_low=one.low, point_cost_high=one.high, point_cost_how=one.how)
        # Holding the target costs what dropping it saves: the interval turns over.
        entry.update(target_cost=0.0 - drop.value, target_cost_low=0.0 - drop.high, target_cost_high=0.0 - drop.low, target_cost_how=drop.how)
        out.append(entry)
    return pd.DataFrame(out, columns=SERVICE_COLUMNS)


#: The columns of the service_costs table.
SERVICE_COLUMNS = ["segment", "target", "point_cost_predicted", "point_cost", "point_cost_low", "point_cost_high", "point_cost_how",
                   "target_cost", "target_cost_low", "target_cost_high", "target_cost_how"]


def _settled(solved: Solved, rows: np.ndarray, limits: np.ndarray, what_ifs: WhatIfs) -> Bound:
    """What ``rows`` at these limits change the total cost by: exact inside the ranges, else
    re-solved within ``what_ifs``'s time, else the bounds (a re-solve stopped by the time
    raising the lower one)."""
    bound = _limit_bound(solved, rows, limits)
    if bound.exact:
        return bound
    base = solved.optimum.objective
    with what_ifs.variant(solved, limits=(rows, limits)) as trial:
        if trial is None:
            return bound
        if trial.status == "time_limit":
            return bound.tighter(low=trial.lower - base)
        return Bound(math.inf, math.inf, RESOLVED) if trial.solution is None else Bound.resolved(trial.solution.objective - base)


# --------------------------------------------------------------------------------------
# Premium freight and its triggers
# --------------------------------------------------------------------------------------


def premium_triggers(solved: Solved, what_ifs: WhatIfs | None = None) -> pd.DataFrame:
    """Premium freight by lane, mode and period, and what forces it: each trigger's binding
    limits are relaxed (doubled, a promise dropped) in a warm re-solve; a trigger that takes
    the premium freight away (or most of it) is the cause. For the cause found, the step at
    which the premium freight would stop is searched (the limits raised by 10 %, 25 %, 50 %,
    100 %; a limit of 0, an outage, to that share of the units flown). An empty pipeline at the start (premium freight in the first period, where the
    standard mode's lead time cannot reach) is said as such. Re-solves beyond ``what_ifs``'s
    time are left out, and the sentences say so."""
    built, sol = solved.built, solved.optimum
    what_ifs = what_ifs or WhatIfs()
    if _premium_spend(built, sol).empty:
        return pd.DataFrame(columns=["origin", "destination", "mode", "departure_period", "units", "spend", "trigger", "stops_when", "sentence"])
    levers = binding_levers(built, sol)
    # Where premium freight ties with another way at the same cost, an optimum may use it or
    # not; charged 0.1 % more, the plan uses it only where it pays, so what is left after a
    # relaxation says what forced it, not which of several optima the solver found.
    cols = np.concatenate([f.loc[f["premium"].astype(bool), "col"].to_numpy() for f in (built.variables["ship"], built.variables["deliver"])])
    with what_ifs.variant(solved, costs=(cols, built.lp.c[cols] * (1 + PREMIUM_TIE_BREAK))) as trial:
        tied = None if trial is None else trial.solution
        if tied is None:
            spend = _premium_spend(built, sol)
            return spend.assign(trigger="", stops_when="", sentence=[
                f"{r['units']:,.0f} units by {r['mode']} {r['origin']} -> {r['destination']} leaving in {r['departure_period']}: what forces it was not searched (the what-if time was spent)"
                for r in spend.to_dict("records")])
        spend = _premium_spend(built, tied)
        out = _triggers(solved, levers, spend, what_ifs)
    return out


#: Premium freight is charged this much more while its triggers are searched (see premium_triggers).
PREMIUM_TIE_BREAK = 1e-3


def _triggers(solved: Solved, levers: pd.DataFrame, spend: pd.DataFrame, what_ifs: WhatIfs) -> pd.DataFrame:
    built = solved.built
    total = float(spend["spend"].sum())
    if total <= 0:
        return spend.assign(trigger="", stops_when="", sentence="premium freight that only ties with another way of serving (none is needed)")
    found, unsearched = [], []
    for group, words in TRIGGERS.items():
        names = [n for n, f in built.families.items() if f.trigger == group]
        rows = levers[levers["constraint"].isin(names)] if len(levers) else levers
        if not len(rows):
            continue
        r = rows["_row"].to_numpy()
        # Relaxed: a limit ('<=') raised, a promise ('>=') lowered, by k of itself; k = 1
        # doubles a limit and drops a promise. A limit of 0 (an outage) has no percentage: its
        # family's step (``Step.zero``) says it may be raised by an absolute amount, and the
        # amount that matters is what flies: k of the units flown (at least that step).
        sense = built.lp.row_sense[r]
        promise = bool((sense == -1).all())
        limit = rows["limit"].to_numpy()
        zero_step = rows["constraint"].map(lambda n: built.families[n].step.zero).to_numpy(dtype=float)
        at_zero = (limit == 0) & (sense != -1) & (zero_step > 0)
        flown = float(spend["units"].sum())

        def relaxed(k: float) -> np.ndarray:
            return np.where(at_zero, k * np.maximum(zero_step, flown), _relaxed(limit, sense, k))

        left = _premium_after(solved, r, relaxed(1.0), what_ifs)
        if left is None and what_ifs.left() <= 0:
            unsearched.append(words)
        if left is not None and left < total - 1e-6:
            stops = ""
            for k in (0.1, 0.25, 0.5, 1.0):
                after = _premium_after(solved, r, relaxed(k), what_ifs)
                if after is not None and after <= 1e-6 * max(total, 1.0):
                    stops = f"service targets {k:.0%} lower" if promise else f"those limits {k:.0%} higher"
                    if at_zero.any():
                        stops += f" (a limit of 0 raised to {k:.0%} of the {flown:,.0f} units flown)"
                    break
            if not stops:
                stops = "not within twice those limits" + (f" (a limit of 0 raised up to the {flown:,.0f} units flown)" if at_zero.any() else "")
            found.append((total - left, words, stops))
    found.sort(key=lambda x: -x[0])
    first = built.case.period_names[0]
    cur = built.case.currency
    out = spend.copy()
    if found:
        saved, words, stops = found[0]
        out["trigger"], out["stops_when"] = words, stops
        share = saved / total if total else 0.0
        out["sentence"] = [
            f"{r['units']:,.0f} units flown {r['origin']} -> {r['destination']} by {r['mode']} leaving in {r['departure_period']} ({money(r['spend'])} {cur}): "
            f"forced by {words} (relaxing it removes {share:.0%} of the premium freight; it stops with {stops})"
            for r in out.to_dict("records")
        ]
    elif unsearched:
        out["trigger"], out["stops_when"] = "", ""
        out["sentence"] = [
            f"{r['units']:,.0f} units by {r['mode']} {r['origin']} -> {r['destination']} leaving in {r['departure_period']} ({money(r['spend'])} {cur}): "
            f"not traced; {', '.join(unsearched)} not tried (the what-if time was spent)"
            for r in out.to_dict("records")
        ]
    else:
        out["trigger"] = np.where(out["departure_period"] == first, "an empty pipeline at the start", "the standard mode's lead time against the need date")
        out["stops_when"] = np.where(out["departure_period"] == first, "goods on the way into the first month (receipts)", "a shorter standard lead time")
        out["sentence"] = [
            f"{r['units']:,.0f} units by {r['mode']} {r['origin']} -> {r['destination']} leaving in {r['departure_period']} ({money(r['spend'])} {cur}): {r['trigger']}"
            for r in out.to_dict("records")
        ]
    return out


def _premium_spend(built, sol: Solution) -> pd.DataFrame:
    """Premium freight by lane, mode and departure period (units, money at the case's rates)."""
    flows = pd.concat([built.variables["ship"], built.variables["deliver"]], ignore_index=True)
    flows = flows.assign(value=sol.col_value[flows["col"].to_numpy()])
    flows = flows[flows["premium"].astype(bool) & (flows["value"] > 1e-9)]
    if flows.empty:
        return pd.DataFrame(columns=["origin", "destination", "mode", "departure_period", "units", "spend"])
    legs = flows.merge(built.legs, on=["lane", "t"])
    names = np.array(built.case.period_names, dtype=object)
    legs = legs.assign(units=legs["value"] * legs["share"], departure_period=names[legs["dep"].to_numpy()])
    legs["spend"] = legs["units"] * legs["freight"]
    return legs.groupby(["origin", "destination", "mode", "departure_period"], as_index=False)[["units", "spend"]].sum()


def _relaxed(limit: np.ndarray, sense: np.ndarray, k: float) -> np.ndarray:
    """Limits relaxed by ``k`` of themselves: a '<=' limit raised, a '>=' promise lowered."""
    return np.where(sense == -1, limit * (1 - k), limit * (1 + k))


def _premium_after(solved: Solved, rows: np.ndarray, limits: np.ndarray, what_ifs: WhatIfs) -> float | None:
    """Premium freight spend with ``rows`` at these limits; None when no plan meets them or
    the what-if time is spent."""
    with what_ifs.variant(solved, limits=(rows, limits)) as trial:
        if trial is None or trial.solution is None:
            return None
        return float(_premium_spend(solved.built, trial.solution)["spend"].sum())


def lead_time_slip(solved: Solved, mode: str, factor: float = 1.5) -> dict[str, str | float]:
    """What a slip of one mode's lead times by ``factor`` would do (the 8-week component lead
    time that becomes 12): the plan solved again with those lanes slower; the change in total
    cost, premium freight and revenue deferred and lost."""
    from .metrics import evaluate

    case = solved.built.case
    lanes = case.lanes.copy()
    hit = lanes["mode"] == mode
    lanes.loc[hit, "lead_time_days"] = lanes.loc[hit, "lead_time_days"] * factor
    keys = ("total_cost", "premium_freight_spend", "premium_freight_units", "revenue_deferred", "revenue_lost", "late_units")
    a = evaluate(Figures.of(solved), keys)
    with solved.variant(case.with_tables({"lanes": lanes})) as trial:
        if trial.solution is None:
            assert trial.error is not None  # a what-if without a plan carries its solver's error
            raise trial.error
        b = evaluate(Figures(trial.built, trial.solution), keys)
    return {"mode": mode, "factor": factor, "lanes": int(hit.sum()), **{f"{k}_change": float(b[k]) - float(a[k]) for k in keys}}


#: The finance tables a plan carries (results.PLAN_TABLES has them too, for the files).
FINANCE_TABLES = ("ledger", "revenue_drivers", *STATEMENT_TABLES, "service_costs", "premium_freight")


def finance_tables(solved: Solved, resolves: int = LEDGER_TOP, what_ifs: WhatIfs | None = None, figures: Figures | None = None) -> dict[str, pd.DataFrame]:
    """Every table of the finance view of a solved plan (``FINANCE_TABLES``); its what-if
    re-solves share ``what_ifs``'s time (none by default: as long as they take), which counts them."""
    what_ifs = what_ifs or WhatIfs()
    led, drivers = ledger(solved, resolves, what_ifs)
    return {
        "ledger": led,
        "revenue_drivers": drivers,
        **statements(figures or Figures.of(solved)),
        "service_costs": service_costs(solved, what_ifs),
        "premium_freight": premium_triggers(solved, what_ifs),
    }
