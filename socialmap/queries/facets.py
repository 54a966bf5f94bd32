"""Facet counts for a search: how many hits each category and audience term would give.

Each facet is counted over the hits of the search with every filter applied except that
facet's own, so the counts say what ticking one more box (an OR within the facet) yields.
A parent term counts the hits of its children too, as its filter includes them.

Counts are capped like the search's own total (COUNT_CAP, shown as "200+"). The first
statement reads at most SCAN_BUDGET hits from `search_doc` (their term ids are in the row),
groups them by their term ids and counts every code over the groups: that is exact when the
facet has no more hits than that, and settles every code already seen more than COUNT_CAP
times. Only when codes are left open (beyond SCAN_BUDGET hits, a code in fewer than 1 % of
them) does a second statement count those codes, each up to the cap, over all the hits; not
the codes that no service has at all (a term nobody uses yet: no hits, found by its index).
Facets whose hits are the same (no facet filter chosen) share one scan.
"""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

from psycopg.errors import QueryCanceled
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from . import search
from .search import COUNT_CAP, Shape, serving_where, spatial, where

FACET_FILTERS = {"category": "categories", "audience": "audiences"}
# Hits read with their term ids in one pass before counting code by code: enough for every code
# seen in more than 1 % of the hits to pass COUNT_CAP, so that the pass settles most searches.
SCAN_BUDGET = 30_000
# For that pass: PostgreSQL expects a radius to hold a few dozen hits (ST_DWithin's selectivity
# on top of its box's) where it holds thousands, so it would fetch them tuple by tuple through
# the GiST and sort their term arrays to group them; a bitmap reads each heap page once and a
# hash groups them, at half the time (generic and custom plans alike).
SCAN_PLANNER = (("enable_indexscan", "off"), ("enable_sort", "off"))


def _pairs(facet: str) -> str:
    """(code, id) for every term of the facet and (parent code, id) for every child term."""
    return (
        "SELECT t.code, t.id FROM taxonomy_term t JOIN taxonomy x ON x.id = t.taxonomy_id "
        f"WHERE x.facet = '{facet}' UNION ALL "
        "SELECT p.code, t.id FROM taxonomy_term t JOIN taxonomy_term p ON p.id = t.parent_id "
        f"JOIN taxonomy x ON x.id = t.taxonomy_id WHERE x.facet = '{facet}'")


def _hits(mode: search.Mode, shape: Shape, extra: str = "") -> str:
    """The search's hits as (terms) rows: located ones, and for kern search the services
    serving the kern from elsewhere (one row each)."""
    located = (f"SELECT d.terms FROM search_doc d WHERE {spatial(mode)} "
               f"AND {where(shape)}{extra}")
    if mode != "kern":
        return located
    # A service's terms are the same in each of its rows: its first row stands for it.
    return (f"{located} UNION ALL SELECT d.terms FROM search_doc d "
            f"WHERE {serving_where(shape)} AND d.service_first{extra}")


@lru_cache(maxsize=256)
def _scan_sql(mode: search.Mode, shapes: tuple[tuple[str, Shape], ...]) -> str:
    """Per facet each of its codes with its count over at most SCAN_BUDGET + 1 hits (NULL for
    none), and (code NULL) how many hits were scanned.

    The hits are grouped by their term ids first: hits share a few hundred combinations of
    terms at most, so only those are joined to the codes, not every hit (the count per hit
    and code, DISTINCT over the hits, cost more than reading them)."""
    ctes, parts, named = [], [], {}
    for facet, shape in shapes:
        if shape not in named:
            named[shape] = f"h_{facet}"
            ctes.append(f"h_{facet} AS MATERIALIZED (SELECT terms, count(*) AS n "
                        f"FROM ({_hits(mode, shape)} LIMIT {SCAN_BUDGET + 1}) x GROUP BY terms)")
            parts.append(f"SELECT '{facet}' AS facet, NULL AS code, sum(n) AS hits "
                         f"FROM h_{facet}")
        h = named[shape]
        ctes.append(f"p_{facet} AS MATERIALIZED ({_pairs(facet)})")
        # Every code of the facet, with its hits (NULL for none). A hit counts once per code
        # however many of the code's terms it has.
        parts.append(
            f"SELECT '{facet}', a.code, c.n FROM (SELECT DISTINCT code FROM p_{facet}) a "
            f"LEFT JOIN (SELECT c.code, sum(h.n) AS n FROM {h} h CROSS JOIN LATERAL ("
            f"SELECT DISTINCT p.code FROM unnest(h.terms) AS u(id) JOIN p_{facet} p "
            "ON p.id = u.id) c GROUP BY c.code) c ON c.code = a.code")
    return f"WITH {', '.join(ctes)} " + " UNION ALL ".join(parts)


@lru_cache(maxsize=256)
def _open_sql(mode: search.Mode, facet: str, shape: Shape) -> str:
    """Each of the codes %(open)s counted up to COUNT_CAP + 1 over all the hits."""
    hits = _hits(mode, shape, " AND d.terms && c.ids")
    return (f"SELECT c.code, (SELECT count(*) FROM ({hits} LIMIT {COUNT_CAP + 1}) z) "
            f"FROM (SELECT code, array_agg(id) AS ids FROM ({_pairs(facet)}) p "
            "WHERE code = ANY(%(open)s) GROUP BY code) c")


def facet_counts(conn: Connection, q: search.SearchQuery,
                 budget_ms: int | None = None) -> dict[str, dict[str, int | None]]:
    """{'category': {code: hits}, 'audience': {code: hits}}; terms without hits are absent.

    A count of COUNT_CAP + 1 means "more than COUNT_CAP". With `budget_ms`, the second
    statement (codes left open by the first, only where the hits are more than SCAN_BUDGET)
    may take that long: beyond it those codes are None, "not counted", never a guess."""
    queries = {facet: replace(q, filters=replace(q.filters, **{attr: ()}))
               for facet, attr in FACET_FILTERS.items()}
    shapes = tuple((facet, Shape.of(query.filters)) for facet, query in queries.items())
    values = search.bind_values(q, conn)
    counts: dict[str, dict[str, int | None]] = {facet: {} for facet in FACET_FILTERS}
    scanned: dict[str, int] = {}
    codes: dict[str, set[str]] = {facet: set() for facet in FACET_FILTERS}
    for facet, code, hits in _planned(conn, SCAN_PLANNER, _scan_sql(q.mode, shapes), values):
        if code is None:
            scanned[facet] = int(hits or 0)
            continue
        codes[facet].add(code)
        if hits:
            counts[facet][code] = min(int(hits), COUNT_CAP + 1)
    shape_of = dict(shapes)
    # A facet that shares its scan shares its total too.
    over = {facet for facet in FACET_FILTERS
            if any(scanned.get(f, 0) > SCAN_BUDGET for f, shape in shapes
                   if shape == shape_of[facet])}
    for facet in sorted(over):
        # Beyond the budget a code seen no more than COUNT_CAP times may have more hits.
        settled = {code for code, n in counts[facet].items() if n is not None and n > COUNT_CAP}
        open_codes = sorted(codes[facet] - settled)
        if open_codes:
            open_codes = _used(conn, facet, open_codes)
        if not open_codes:
            continue
        rows = _within(conn, budget_ms, _open_sql(q.mode, facet, shape_of[facet]),
                       {**values, "open": open_codes})
        if rows is None:
            counts[facet].update(dict.fromkeys(open_codes))
            continue
        for code, hits in rows:
            if hits:
                counts[facet][code] = min(int(hits), COUNT_CAP + 1)
    return counts


def _used(conn: Connection, facet: str, codes: list[str]) -> list[str]:
    """The codes among `codes` that some service has. search_doc.terms are the services'
    attributes, kept by the triggers of the statement that writes them, so a code that no
    service has (a term nobody uses yet) has no hits, without counting them."""
    return list(conn.exec_driver_sql(
        f"SELECT code FROM ({_pairs(facet)}) p WHERE code = ANY(%(codes)s) GROUP BY code "
        "HAVING bool_or(EXISTS (SELECT 1 FROM attribute x WHERE x.taxonomy_term_id = p.id)) "
        "ORDER BY code", {"codes": codes}).scalars())


def _planned(conn: Connection, planner: tuple[tuple[str, str], ...], sql: str,
             values: dict[str, Any]) -> list[Any]:
    """The statement's rows, planned with these planner settings; the transaction's own are
    set back afterwards. (When the statement fails, so does the transaction, and its rollback
    sets them back: a statement to do so would only hide the error.)"""
    names = [name for name, _value in planner]
    setting = ", ".join(f"current_setting('{name}'), set_config('{name}', '{value}', true)"
                        for name, value in planner)
    previous = conn.exec_driver_sql(f"SELECT {setting}").one()[::2]
    rows = list(conn.exec_driver_sql(sql, values))
    conn.exec_driver_sql("SELECT " + ", ".join(
        f"set_config('{name}', %(v{i})s, true)" for i, name in enumerate(names)),
        {f"v{i}": value for i, value in enumerate(previous)})
    return rows


def _within(conn: Connection, budget_ms: int | None, sql: str,
            values: dict[str, Any]) -> list[Any] | None:
    """The statement's rows, or None when it ran past `budget_ms` (cancelled in a savepoint,
    the rest of the transaction untouched)."""
    if budget_ms is None:
        return list(conn.exec_driver_sql(sql, values))
    try:
        with conn.begin_nested():
            # Local to the savepoint's transaction; set back below whether it ends or not.
            previous = conn.exec_driver_sql(
                "SELECT current_setting('statement_timeout'), "
                "set_config('statement_timeout', %(t)s, true)",
                {"t": f"{budget_ms}ms"}).scalar_one()
            rows = list(conn.exec_driver_sql(sql, values))
            conn.exec_driver_sql("SELECT set_config('statement_timeout', %(t)s, true)",
                                 {"t": previous})
            return rows
    except OperationalError as err:
        if not isinstance(err.orig, QueryCanceled):
            raise
        return None
