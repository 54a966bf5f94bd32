"""Facet counts for a search: how many hits each category and audience term would give.

Each facet is counted over the hits of the search with every filter applied except that
facet's own, so the counts say what ticking one more box (an OR within the facet) yields.
A parent term counts the hits of its children too, as its filter includes them.

Counts are capped like the search's own total (COUNT_CAP, shown as "200+"). The first
statement counts every code over at most SCAN_BUDGET hits: that is exact when the facet has no
more hits than that, and settles every code already seen more than COUNT_CAP times. Only when
codes are left open does a second statement count those codes over all the hits. Facets whose
hits are the same (no facet filter chosen) share one scan. Both statements use the search's
spatial predicate and bound values.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Select, func, literal, null, select, union_all
from sqlalchemy.orm import aliased

from ..models import Attribute, Service, Taxonomy, TaxonomyTerm
from . import search
from .search import COUNT_CAP

A, S, T, TX = (Attribute.__table__, Service.__table__, TaxonomyTerm.__table__,
               Taxonomy.__table__)
FACET_FILTERS = {"category": "categories", "audience": "audiences"}
# Hits joined to their attributes in one pass before counting code by code.
SCAN_BUDGET = 2_000


def _pairs(facet: str) -> Any:
    """(code, id) for every term of the facet and (parent code, id) for every child term."""
    facet_id = select(TX.c.id).where(TX.c.facet == facet).scalar_subquery()
    parent = aliased(T)
    own = select(T.c.code, T.c.id).where(T.c.taxonomy_id == facet_id)
    inherited = (select(parent.c.code, T.c.id).join(parent, parent.c.id == T.c.parent_id)
                 .where(T.c.taxonomy_id == facet_id))
    return union_all(own, inherited).subquery(f"{facet}_pairs")


def _unfiltered(q: search.SearchQuery, facet: str) -> search.SearchQuery:
    return replace(q, filters=replace(q.filters, **{FACET_FILTERS[facet]: ()}))


def _hits(q: search.SearchQuery, name: str, limit: int | None) -> Any:
    """The hits of `q` (service ids, numbered), at most `limit` + 1 of them, as a CTE."""
    located, _where = search._located(q)
    hits: Any = located.with_only_columns(S.c.id.label("service_id"))
    if q.mode == "kern":
        serving = search._serving(q).subquery(f"{name}_serving")
        hits = union_all(hits, select(serving.c.service_id))
    if limit is not None:
        hits = hits.limit(limit + 1)
    scanned = hits.subquery(f"{name}_scanned")
    return select(scanned.c.service_id,
                  func.row_number().over().label("hit_no")).cte(name)


def _terms(hits: Any) -> Any:
    """(hit_no, term id) of every attribute of the hits, as a CTE both facets can count over."""
    return (select(hits.c.hit_no, A.c.taxonomy_term_id)
            .join(A, A.c.service_id == hits.c.service_id).cte(f"{hits.name}_terms"))


def _per_code(terms: Any, facet: str, only: list[str] | None = None) -> Select[Any]:
    """(facet, code, hits) for the codes of the facet (or `only` those) over the terms CTE."""
    pairs = _pairs(facet)
    # An equality join on the term id (hashed), not `= any(ids of the code)`: that one tests
    # every code's array against every attribute of every hit (55,000 hits within 10 km of a
    # city at 1M, 2.7 million array tests). A hit counts once per code however many of the
    # code's terms it has.
    stmt = (
        select(literal(facet).label("facet"), pairs.c.code,
               func.count(terms.c.hit_no.distinct()).label("hits"))
        .select_from(terms.join(pairs, terms.c.taxonomy_term_id == pairs.c.id))
        .group_by(pairs.c.code))
    return stmt if only is None else stmt.where(pairs.c.code.in_(only))


def _scans(queries: dict[str, search.SearchQuery], limit: int | None,
           only: dict[str, list[str]] | None = None) -> Any:
    """One statement: per facet its codes' counts, and (code NULL) how many hits were scanned.

    Facets with the same hits share their scan and the join to the hits' attributes."""
    ctes: dict[search.SearchQuery, Any] = {}
    parts = []
    for facet, query in queries.items():
        if query not in ctes:
            hits = _hits(query, f"{facet}_hits", limit)
            ctes[query] = _terms(hits)
            parts.append(select(literal(facet).label("facet"), null(), func.count())
                         .select_from(hits))
        parts.append(_per_code(ctes[query], facet, None if only is None else only[facet]))
    return union_all(*parts)


def facet_counts(conn: Connection, q: search.SearchQuery) -> dict[str, dict[str, int]]:
    """{'category': {code: hits}, 'audience': {code: hits}}; terms without hits are absent.

    A count of COUNT_CAP + 1 means "more than COUNT_CAP"."""
    queries = {facet: _unfiltered(q, facet) for facet in FACET_FILTERS}
    values = {k: v for k, v in search.bind_values(q).items() if k not in ("limit", "offset")}
    counts: dict[str, dict[str, int]] = {facet: {} for facet in FACET_FILTERS}
    scanned: dict[str, int] = {}
    for facet, code, hits in conn.execute(_scans(queries, SCAN_BUDGET), values):
        if code is None:
            scanned[facet] = int(hits)
        elif hits:
            counts[facet][code] = min(int(hits), COUNT_CAP + 1)
    # A facet that shares its scan shares its total too.
    over = {facet for facet, query in queries.items()
            if any(scanned.get(f, 0) > SCAN_BUDGET for f, other in queries.items()
                   if other == query)}
    # Beyond the budget a code seen no more than COUNT_CAP times may have more hits.
    open_codes = {facet: sorted(set(_all_codes(conn, facet)) - {
        code for code, n in counts[facet].items() if n > COUNT_CAP}) for facet in over}
    rest = {facet: query for facet, query in queries.items() if open_codes.get(facet)}
    if rest:
        for facet, code, hits in conn.execute(_scans(rest, None, open_codes), values):
            if code is not None:
                counts[facet][code] = min(int(hits), COUNT_CAP + 1)
    return counts


def _all_codes(conn: Connection, facet: str) -> list[str]:
    pairs = _pairs(facet)
    return list(conn.execute(select(pairs.c.code).distinct()).scalars())
