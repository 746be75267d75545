"""A plan's costs traced along its flows: the average cost of a unit at each site, product and
period, by element (production, co-manufacturing, purchases, overtime, freight by mode, what
came from outside the plan, holding), and so the cost of every delivery and of the stock on
hand and in transit. The cost of goods sold (the P&L, the contribution margin) and the
allocated cost-to-serve read it. Money is in the case's currency, per unit or in total.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .build import Built
from .validate import Case

#: The part of a unit's cost that is the value of goods the plan did not buy or make: the
#: opening stock and scheduled receipts, at unit_value.
FROM_OUTSIDE = "opening stock and receipts (at unit value)"
#: The part of a unit's cost that is holding (the cost of capital, not cash).
HOLDING = "holding (cost of capital, not cash)"


@dataclass(frozen=True)
class Trace:
    """A plan's costs traced along its flows, by element (the P&L's lines: production,
    co-manufacturing, purchases, overtime, freight by mode, what came from outside the plan,
    and holding where traced). ``nodes``: site, product, t, inflow (units) and the average
    cost of a unit there by element (money per unit, one column per element); ``served``:
    product, customer, period (of arrival), units and the cost of those deliveries by element
    (money); ``transit``: goods on their way at each period end (site: where they go, or the
    site they left for a customer), by element (money): their cost where they left plus the
    freight paid when they left."""

    elements: list[str]
    nodes: pd.DataFrame
    served: pd.DataFrame
    transit: pd.DataFrame


def trace(built: Built, v: dict[str, pd.DataFrame], holding: bool = True) -> Trace:
    """The average cost of a unit at each site, product and period, by element, traced through
    the plan's flows: what came in (opening stock and receipts at unit_value, units made at
    their cost with their overtime share and their components' own average cost,
    co-manufactured, bought, arrived from another site at its cost there plus freight and,
    with ``holding``, holding in transit, carried from the last period with, with ``holding``,
    its holding) over the units that came in. Every unit leaving a node (delivered, shipped,
    consumed, carried) leaves at that average, so value is conserved along the flows: without
    holding, what the plan spends plus what came from outside equals the cost of what was
    delivered plus the change of stock valued at cost. A sparse linear system (components and
    same-period lanes tie nodes together), one right-hand side per element. ``v``: the
    variable tables with their values (``results.variable_values``)."""
    return trace_values(built, {n: df["value"].to_numpy(dtype=float) for n, df in v.items()}, {n: df["cost"].to_numpy(dtype=float) for n, df in v.items()}, holding)


def trace_values(built: Built, x: Mapping[str, np.ndarray], c: Mapping[str, np.ndarray], holding: bool = True) -> Trace:
    """``trace`` from the LP's arrays: ``x`` and ``c`` map each variable family to its values
    (units or hours, zero below 1e-9) and costs (money per unit), in its table's order."""
    tr = _Traced(built, x, c, holding)
    return Trace(tr.elements, tr.nodes(), tr.served(), tr.transit())


def cost_of_goods_sold(built: Built, x: Mapping[str, np.ndarray], c: Mapping[str, np.ndarray]) -> float:
    """The cost of the units delivered (money), holding apart: the sum of ``trace``'s
    ``served`` without holding, without making its tables."""
    return _Traced(built, x, c, holding=False, totals=True).served_total()


@dataclass(frozen=True)
class _Shape:
    """Where a plan's flows meet, by position: what depends only on which variables and rows
    exist, so it is made once per structure (``Context.memo``) and each plan of a study only
    multiplies by its values. Nodes are numbered among the candidates (``node_site``,
    ``node_product``, ``node_t``): every site, product and period a variable can reach."""

    node_site: np.ndarray  # object: each candidate node's site
    node_product: np.ndarray  # object
    node_t: np.ndarray  # int
    node_uv_at: np.ndarray  # each candidate's product's row in case.products (-1: none)
    fixed: np.ndarray  # candidates that are always nodes (make, outsource, buy, inv), in order
    is_fixed: np.ndarray  # bool per candidate
    at: dict[str, np.ndarray]  # make, outsource, buy, inv: each variable's candidate
    carry_to: np.ndarray  # inv: the candidate of the next period (-1: none)
    ship_row: np.ndarray  # each ship leg: its variable row, leg row, from and to candidates
    ship_leg: np.ndarray
    ship_from: np.ndarray
    ship_to: np.ndarray  # -1: arrives after the plan
    deliver_row: np.ndarray
    deliver_leg: np.ndarray
    deliver_from: np.ndarray  # -1: no candidate there
    served_group: np.ndarray  # each delivery leg's row of served (sorted as groupby sorts)
    served_keys: pd.DataFrame  # product, customer, period of each group
    mode: dict[str, np.ndarray]  # ship, deliver: mode code per variable row
    modes: np.ndarray  # object: the mode of each code
    bom_make: np.ndarray  # each (made, component) pair: make row, bom row, component candidate
    bom_row: np.ndarray
    bom_comp: np.ndarray
    route_make: np.ndarray  # each (made, resource) pair: make row, routing row, group, overtime row
    route_row: np.ndarray
    route_group: np.ndarray
    group_ot: np.ndarray  # each (site, resource, t) group: its overtime_hours row (-1: none)
    opening_at: np.ndarray  # case.inventory rows: candidate at t=0 (-1: none)
    receipt_row: np.ndarray  # case.receipts rows with a known period, their candidate
    receipt_at: np.ndarray


def _shape(built: Built) -> _Shape:
    case, var = built.case, built.variables
    T = len(case.periods)
    legs = built.legs
    names = list(case.period_names)
    def objects(*arrays: pd.Series | np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(x, dtype=object) for x in arrays]) if arrays else np.zeros(0, dtype=object)

    # Names as integers: sites and products by their place among the names seen.
    ship, deliver, make, inv, ot = var["ship"], var["deliver"], var["make"], var["inv"], var["overtime_hours"]
    sites = pd.Index(pd.unique(objects(*(var[n]["site"] for n in ("make", "outsource", "buy", "inv")), ship["origin"], ship["destination"], deliver["origin"],
                                       case.inventory["site"], case.receipts["site"], case.bom["site"])), dtype=object)
    products = pd.Index(pd.unique(objects(case.products["product"], case.bom["component"])), dtype=object)
    P, span = len(products), T + 1

    def site(x: pd.Series | np.ndarray) -> np.ndarray:
        return sites.get_indexer(np.asarray(x, dtype=object)).astype(np.int64)

    def product(x: pd.Series | np.ndarray) -> np.ndarray:
        return products.get_indexer(np.asarray(x, dtype=object)).astype(np.int64)

    def code(s: np.ndarray, p: np.ndarray, t: np.ndarray) -> np.ndarray:
        """One integer per site, product and period (-1 where the site or product is unknown)."""
        return np.where((s >= 0) & (p >= 0), (s * P + p) * span + np.asarray(t, dtype=np.int64), -1)

    def pairs(left: pd.DataFrame, right: pd.DataFrame, on: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Row positions of ``left`` and ``right`` that match on ``on``, in ``merge``'s order."""
        lf = pd.DataFrame({k: left[k].to_numpy() for k in on}).assign(_l=np.arange(len(left)))
        m = lf.merge(pd.DataFrame({k: right[k].to_numpy() for k in on}).assign(_r=np.arange(len(right))), on=on)
        return m["_l"].to_numpy(dtype=np.int64), m["_r"].to_numpy(dtype=np.int64)

    fixed_codes = {n: code(site(var[n]["site"]), product(var[n]["product"]), var[n]["t"].to_numpy()) for n in ("make", "outsource", "buy", "inv")}
    dep, arr = legs["dep"].to_numpy(dtype=np.int64), legs["arr"].to_numpy(dtype=np.int64)
    s_row, s_leg = pairs(ship, legs, ["lane", "t"])
    ship_product = product(ship["product"])[s_row]
    s_from = code(site(ship["origin"])[s_row], ship_product, dep[s_leg])
    s_to = code(site(ship["destination"])[s_row], ship_product, arr[s_leg])
    arrives = arr[s_leg] < T
    cand = np.unique(np.concatenate([*fixed_codes.values(), s_from, s_to[arrives]]))

    def find(codes: np.ndarray) -> np.ndarray:
        """Each code's candidate (-1: none)."""
        if not len(cand):
            return np.full(len(codes), -1, dtype=np.int64)
        i = np.minimum(np.searchsorted(cand, codes), len(cand) - 1)
        return np.where(cand[i] == codes, i, -1)

    at = {n: find(cd) for n, cd in fixed_codes.items()}
    allfixed = np.concatenate([at[n] for n in ("make", "outsource", "buy", "inv")])
    _, first = np.unique(allfixed, return_index=True)
    fixed = allfixed[np.sort(first)]
    is_fixed = np.zeros(len(cand), dtype=bool)
    is_fixed[fixed] = True
    inv_s, inv_p, inv_t = site(inv["site"]), product(inv["product"]), inv["t"].to_numpy(dtype=np.int64)
    carry_to = find(code(inv_s, inv_p, inv_t + 1))
    d_row, d_leg = pairs(deliver, legs, ["lane", "t"])
    d_from = find(code(site(deliver["origin"])[d_row], product(deliver["product"])[d_row], dep[d_leg]))
    # served: the delivery legs grouped by product, customer and period of arrival, in the
    # order groupby sorts them (by name, period names too).
    pc, pu = pd.factorize(deliver["product"].to_numpy(dtype=object), sort=True)
    cc, cu = pd.factorize(deliver["destination"].to_numpy(dtype=object), sort=True)
    name_rank = np.argsort(np.argsort(np.array(names, dtype=object), kind="stable"), kind="stable")
    gcode = (pc.astype(np.int64)[d_row] * max(len(cu), 1) + cc[d_row]) * max(T, 1) + name_rank[arr[d_leg]] if len(d_leg) else np.zeros(0, dtype=np.int64)
    ucode, group = np.unique(gcode, return_inverse=True)
    rank_name = np.empty(T, dtype=np.int64)
    rank_name[name_rank] = np.arange(T)
    gp, rem = np.divmod(ucode, max(len(cu), 1) * max(T, 1))
    gc, gt = np.divmod(rem, max(T, 1))
    served_keys = pd.DataFrame({"product": np.asarray(pu, dtype=object)[gp], "customer": np.asarray(cu, dtype=object)[gc], "period": np.array(names, dtype=object)[rank_name[gt]]})
    modes = pd.Index(pd.unique(objects(ship["mode"], deliver["mode"])), dtype=object)
    mode = {n: modes.get_indexer(var[n]["mode"].to_numpy(dtype=object)).astype(np.int64) for n in ("ship", "deliver")}
    b_make, b_row = pairs(make, case.bom, ["site", "product"])
    make_s, make_t = site(make["site"]), make["t"].to_numpy(dtype=np.int64)
    b_comp = find(code(make_s[b_make], product(case.bom["component"])[b_row], make_t[b_make]))
    r_make, r_row = pairs(make, case.routings, ["site", "product"])
    # Overtime: each made unit's routing rows, grouped by site, resource and period.
    resources = pd.Index(pd.unique(objects(case.routings["resource"], ot["resource"])), dtype=object)
    R = max(len(resources), 1)
    rcode = (make_s[r_make] * R + resources.get_indexer(case.routings["resource"].to_numpy(dtype=object))[r_row]) * span + make_t[r_make]
    ugroup, r_group = np.unique(rcode, return_inverse=True)
    ocode = (site(ot["site"]) * R + resources.get_indexer(ot["resource"].to_numpy(dtype=object))) * span + ot["t"].to_numpy(dtype=np.int64)
    group_ot = np.full(len(ugroup), -1, dtype=np.int64)
    if len(ugroup) and len(ot):
        j = np.minimum(np.searchsorted(ugroup, ocode), len(ugroup) - 1)
        hit = ugroup[j] == ocode
        group_ot[j[hit]] = np.flatnonzero(hit)
    inventory = case.inventory
    opening_at = find(code(site(inventory["site"]), product(inventory["product"]), np.zeros(len(inventory), dtype=np.int64)))
    period_t = dict(zip(case.periods["period"], case.periods["t"], strict=True))
    rt = case.receipts["period"].map(period_t)
    known = rt.notna().to_numpy()
    rows = np.flatnonzero(known)
    receipt_t = rt.to_numpy()[known].astype(np.int64) if len(rows) else np.zeros(0, dtype=np.int64)
    receipt_at = find(code(site(case.receipts["site"])[rows], product(case.receipts["product"])[rows], receipt_t))
    cs, rest = np.divmod(cand, span)
    cs, cp = np.divmod(cs, P)
    return _Shape(
        node_site=sites.to_numpy(dtype=object)[cs], node_product=products.to_numpy(dtype=object)[cp], node_t=rest,
        node_uv_at=pd.Index(case.products["product"].to_numpy(dtype=object), dtype=object).get_indexer(products.to_numpy(dtype=object))[cp],
        fixed=fixed, is_fixed=is_fixed, at=at, carry_to=np.where(inv["t"].to_numpy() < T - 1, carry_to, -1),
        ship_row=s_row, ship_leg=s_leg, ship_from=find(s_from), ship_to=np.where(arrives, find(s_to), -1),
        deliver_row=d_row, deliver_leg=d_leg, deliver_from=d_from, served_group=group, served_keys=served_keys,
        mode=mode, modes=modes.to_numpy(dtype=object),
        bom_make=b_make, bom_row=b_row, bom_comp=b_comp,
        route_make=r_make, route_row=r_row, route_group=r_group, group_ot=group_ot,
        opening_at=opening_at, receipt_row=rows, receipt_at=receipt_at,
    )


class _Traced:
    """One plan's trace: the node costs solved from its values, and its tables on demand."""

    def __init__(self, built: Built, x: Mapping[str, np.ndarray], c: Mapping[str, np.ndarray], holding: bool, totals: bool = False):
        """``totals``: solve for each node's whole average cost alone (one right-hand side,
        enough for ``served_total``), not by element."""
        from scipy.sparse import coo_array
        from scipy.sparse.linalg import spsolve, spsolve_triangular

        ctx = built.context
        S = _shape(built) if ctx is None else ctx.memo("costing trace", lambda: _shape(built))
        self.S, self.holding = S, holding
        case, var = built.case, built.variables
        self.var = var
        T = len(case.periods)
        share = built.legs["share"].to_numpy(dtype=float)
        arr = built.legs["arr"].to_numpy(dtype=np.int64)
        dep = built.legs["dep"].to_numpy(dtype=np.int64)
        uv = case.products["unit_value"].to_numpy(dtype=float)
        uv_node = np.where(S.node_uv_at >= 0, uv[np.maximum(S.node_uv_at, 0)], np.nan)

        # Legs used: ship (all, then those arriving in the plan) and deliver, value > 0.
        xs, xd = x["ship"], x["deliver"]
        us = np.flatnonzero(xs[S.ship_row] > 0)
        ud = np.flatnonzero(xd[S.deliver_row] > 0)
        flow = us[S.ship_to[us] >= 0]
        # Nodes: every make/outsource/buy/inv key, then where used legs leave and arrive.
        extra = np.concatenate([S.ship_from[us], S.ship_to[flow]])
        extra = extra[~S.is_fixed[extra]]
        _, first = np.unique(extra, return_index=True)
        cands = np.concatenate([S.fixed, extra[np.sort(first)]])
        n = len(cands)
        node_of = np.full(len(S.is_fixed), -1, dtype=np.int64)
        node_of[cands] = np.arange(n)
        self.cands, self.n = cands, n

        # Freight lines: mode and premium of each flow variable.
        line_code = {}
        for name in ("ship", "deliver"):
            premium = var[name]["premium"].to_numpy(dtype=bool) if "premium" in var[name] else np.zeros(len(var[name]), dtype=bool)
            line_code[name] = S.mode[name] * 2 + premium
        used_lines = np.unique(np.concatenate([line_code["ship"][S.ship_row[us]], line_code["deliver"][S.deliver_row[ud]]]))
        line_names = {int(k): f"freight: {S.modes[k // 2]}" + (" (premium)" if k % 2 else "") for k in used_lines}
        freight_lines = sorted(set(line_names.values()))
        self.elements = elements = ["production", "co-manufacturing", "purchases", "overtime", *freight_lines, FROM_OUTSIDE] + ([HOLDING] if holding else [])
        col = {e: i for i, e in enumerate(elements)}
        E = len(elements)
        line_col = np.full(2 * len(S.modes), -1, dtype=np.int64)
        for k, name in line_names.items():
            line_col[k] = col[name]

        inflow = np.zeros(n)
        rhs = np.zeros((n, E))

        def add(to: np.ndarray, element: str, amount: np.ndarray) -> None:
            rhs[:, col[element]] += np.bincount(to, weights=amount, minlength=n)

        rows, cols, vals = [], [], []
        # Made: its unit cost, its overtime share (the resource's overtime spread over the
        # hours the units took), its components (from the same node's site).
        xm = x["make"]
        made = np.flatnonzero(xm > 0)
        i = node_of[S.at["make"][made]]
        inflow += np.bincount(i, weights=xm[made], minlength=n)
        add(i, "production", xm[made] * c["make"][made])
        xo = x["overtime_hours"]
        route = np.flatnonzero(xm[S.route_make] > 0)
        if len(route) and (xo > 0).any():
            rm, g = S.route_make[route], S.route_group[route]
            hours = xm[rm] * case.routings["hours_per_unit"].to_numpy(dtype=float)[S.route_row[route]]
            total = np.bincount(g, weights=hours, minlength=len(S.group_ot))
            o = S.group_ot[g]
            has = o >= 0
            oth = np.where(has, xo[np.maximum(o, 0)], 0.0)
            rate = np.where(has, c["overtime_hours"][np.maximum(o, 0)], 0.0)
            on = oth > 0
            spread = np.zeros(len(route))
            spread[on] = hours[on] / total[g[on]] * oth[on] * rate[on]
            add(node_of[S.at["make"][rm]], "overtime", spread)
        bom = np.flatnonzero(xm[S.bom_make] > 0)
        if len(bom):
            bm = S.bom_make[bom]
            comp = S.bom_comp[bom]
            comp = np.where(comp >= 0, node_of[np.maximum(comp, 0)], -1)
            if (comp < 0).any():
                raise ValueError("costing: a component made into a product is nowhere in the plan's nodes")
            rows.append(node_of[S.at["make"][bm]])
            cols.append(comp)
            vals.append(-xm[bm] * case.bom["quantity"].to_numpy(dtype=float)[S.bom_row[bom]])
        for name, element in (("outsource", "co-manufacturing"), ("buy", "purchases")):
            got = np.flatnonzero(x[name] > 0)
            i = node_of[S.at[name][got]]
            inflow += np.bincount(i, weights=x[name][got], minlength=n)
            add(i, element, x[name][got] * c[name][got])
        # Opening stock and receipts at unit value, where they reach a node.
        initial = case.inventory["initial"].to_numpy(dtype=float)
        quantity = case.receipts["quantity"].to_numpy(dtype=float)[S.receipt_row]
        for amount, at in ((initial, S.opening_at), (quantity, S.receipt_at)):
            i = np.where(at >= 0, node_of[np.maximum(at, 0)], -1)
            ok = (amount > 0) & (i >= 0)
            inflow += np.bincount(i[ok], weights=amount[ok], minlength=n)
            add(i[ok], FROM_OUTSIDE, amount[ok] * uv_node[cands[i[ok]]])
        # Carried: last period's stock (with its holding).
        xi = x["inv"]
        carry = np.flatnonzero((xi > 0) & (S.carry_to >= 0))
        to, frm = node_of[S.carry_to[carry]], node_of[S.at["inv"][carry]]
        inflow += np.bincount(to, weights=xi[carry], minlength=n)
        if holding:
            add(to, HOLDING, xi[carry] * c["inv"][carry])
        rows.append(to)
        cols.append(frm)
        vals.append(-xi[carry])
        # Arrived from another site: its cost where it left, freight (and holding in transit).
        transit_holding = {name: var[name]["transit_holding"].to_numpy(dtype=float) for name in ("ship", "deliver")}
        freight = {name: c[name] - transit_holding[name] for name in ("ship", "deliver")}
        r = S.ship_row[flow]
        units = xs[r] * share[S.ship_leg[flow]]
        to, frm = node_of[S.ship_to[flow]], node_of[S.ship_from[flow]]
        inflow += np.bincount(to, weights=units, minlength=n)
        rhs += np.bincount(to * E + line_col[line_code["ship"][r]], weights=units * freight["ship"][r], minlength=n * E).reshape(n, E)
        if holding:
            add(to, HOLDING, units * transit_holding["ship"][r])
        rows.append(to)
        cols.append(frm)
        vals.append(-units)
        diag = np.where(inflow > 0, inflow, 1.0)
        # A node draws only on nodes of its own period or earlier: numbered by period, the
        # system is (nearly always) lower triangular and solved by substitution; where
        # same-period flows or components run against that order, by LU.
        pos = np.empty(n, dtype=np.int64)
        pos[np.argsort(S.node_t[cands], kind="stable")] = np.arange(n)
        ij = np.arange(n)
        i, j = pos[np.concatenate([ij, *rows])], pos[np.concatenate([ij, *cols])]
        # A node nothing came into sends nothing on: its unit_value stands in, from outside.
        none = inflow <= 0
        rhs[none, :] = 0.0
        rhs[none, col[FROM_OUTSIDE]] = uv_node[cands[none]]
        self.inflow = inflow
        if totals:  # the system is linear: the elements' sum solves the sum of their sides
            rhs = rhs.sum(axis=1, keepdims=True)
        b = np.empty_like(rhs)
        b[pos] = rhs
        A = coo_array((np.concatenate([diag, *vals]), (i, j)), shape=(n, n))
        if not n:
            solved = np.zeros((0, rhs.shape[1]))
        elif (i >= j).all():
            solved = spsolve_triangular(A.tocsr(), b, lower=True)
        else:
            solved = spsolve(A.tocsc(), b)
        self.cost = np.asarray(solved, dtype=float).reshape(n, rhs.shape[1])[pos]
        self.T = T
        self._legs = {"ship": us, "deliver": ud}
        self._units = {"ship": xs[S.ship_row[us]] * share[S.ship_leg[us]], "deliver": xd[S.deliver_row[ud]] * share[S.deliver_leg[ud]]}
        self._dep = {"ship": dep[S.ship_leg[us]], "deliver": dep[S.deliver_leg[ud]]}
        self._arr = {"ship": arr[S.ship_leg[us]], "deliver": arr[S.deliver_leg[ud]]}
        rows_of = {"ship": S.ship_row[us], "deliver": S.deliver_row[ud]}
        self._freight = {k: freight[k][rows_of[k]] for k in rows_of}
        self._holding = {k: transit_holding[k][rows_of[k]] for k in rows_of}
        self._line = {k: line_col[line_code[k][rows_of[k]]] for k in rows_of}
        self._rows = rows_of
        d_from = S.deliver_from[ud]
        self._from = {"ship": node_of[S.ship_from[us]], "deliver": np.where(d_from >= 0, node_of[np.maximum(d_from, 0)], -1)}
        if (self._from["deliver"] < 0).any():
            raise ValueError("costing: goods delivered from a site, product and period nowhere in the plan's nodes")

    def leaving(self, kind: str) -> np.ndarray:
        """Each used leg's cost by element (money): the cost where it left, plus its freight
        (and holding in transit)."""
        units, E = self._units[kind], len(self.elements)
        out = self.cost[self._from[kind]] * units[:, None]
        m = len(units)
        out.reshape(-1)[np.arange(m) * E + self._line[kind]] += units * self._freight[kind]
        if self.holding:
            out[:, E - 1] += units * self._holding[kind]
        return out

    def nodes(self) -> pd.DataFrame:
        S, cands = self.S, self.cands
        out = pd.DataFrame({"site": pd.Series(S.node_site[cands], dtype=object), "product": pd.Series(S.node_product[cands], dtype=object),
                            "t": S.node_t[cands], "n": np.arange(self.n), "inflow": self.inflow})
        return pd.concat([out, pd.DataFrame(self.cost, columns=self.elements)], axis=1)

    def served(self) -> pd.DataFrame:
        S = self.S
        group = S.served_group[self._legs["deliver"]]
        present = np.zeros(len(S.served_keys), dtype=bool)
        present[group] = True
        row = np.cumsum(present) - 1
        R, g = int(present.sum()), row[group]
        units = np.bincount(g, weights=self._units["deliver"], minlength=R)
        lc = self.leaving("deliver")
        E = len(self.elements)
        by = np.zeros((R, E))
        for j in range(E):
            by[:, j] = np.bincount(g, weights=lc[:, j], minlength=R)
        keys = S.served_keys.take(np.flatnonzero(present)).reset_index(drop=True)
        out = pd.concat([keys.assign(units=units), pd.DataFrame(by, columns=self.elements)], axis=1)
        out["cost"] = by.sum(axis=1)
        return out

    def served_total(self) -> float:
        """The sum of ``served``'s elements (money)."""
        units = self._units["deliver"]
        total = float(self.cost.sum(axis=1)[self._from["deliver"]] @ units) + float(units @ self._freight["deliver"])
        return total + (float(units @ self._holding["deliver"]) if self.holding else 0.0)

    def transit(self) -> pd.DataFrame:
        """Goods on their way at each period end (site: where they go, or the site they left
        for a customer), by element (money), legs that left by then and arrive after."""
        sites, ts, parts = [], [], []
        for kind, site in (("ship", "destination"), ("deliver", "origin")):
            dep, arr = self._dep[kind], self._arr[kind]
            if not len(dep):
                continue
            lc = np.column_stack([self.leaving(kind), self._units[kind]])
            names = self.var[kind][site].to_numpy(dtype=object)[self._rows[kind]]
            for ahead in range(int((arr - dep).max())):
                on = np.flatnonzero((dep + ahead < arr) & (dep + ahead < self.T))
                sites.append(names[on])
                ts.append(dep[on] + ahead)
                parts.append(lc[on])
        if not parts:
            return pd.DataFrame(columns=["site", "t", "units", *self.elements])
        out = pd.DataFrame({"site": pd.Series(np.concatenate(sites), dtype=object), "t": np.concatenate(ts).astype(np.int64)})
        return pd.concat([out, pd.DataFrame(np.concatenate(parts), columns=[*self.elements, "units"])], axis=1)


def opening_stock(case: Case) -> pd.DataFrame:
    return case.inventory[case.inventory["initial"] > 0].assign(t=0, value=lambda d: d["initial"])


def receipts(case: Case) -> pd.DataFrame:
    return case.receipts.merge(case.periods[["period", "t"]]).assign(value=lambda d: d["quantity"])
