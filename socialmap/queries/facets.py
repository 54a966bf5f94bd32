"""Facet counts for a search: how many hits each category and audience term would give.

Each facet is counted over the hits of the search with every filter applied except that
facet's own, so the counts say what ticking one more box (an OR within the facet) yields.
A parent term counts the hits of its children too, as its filter includes them. One
statement, set-based, with the same spatial predicate and bound values as the search.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Select, func, literal, select, union_all
from sqlalchemy.orm import aliased

from ..models import Attribute, Taxonomy, TaxonomyTerm
from . import search

A, T, TX = Attribute.__table__, TaxonomyTerm.__table__, Taxonomy.__table__
FACET_FILTERS = {"category": "categories", "audience": "audiences"}


def _hits(q: search.SearchQuery, name: str) -> Any:
    """Every hit of the query (no paging), numbered, as a CTE."""
    located, _where = search._located(q)
    hits = union_all(located, search._serving(q)) if q.mode == "kern" else located
    numbered = hits.subquery(f"{name}_all")
    return select(numbered.c.service_id,
                  func.row_number().over().label("hit_no")).cte(name)


def _codes(facet: str) -> Any:
    """(term id, code) for every term of the facet, plus (child id, parent code)."""
    facet_id = select(TX.c.id).where(TX.c.facet == facet).scalar_subquery()
    parent = aliased(T)
    own = select(T.c.id.label("term_id"), T.c.code).where(T.c.taxonomy_id == facet_id)
    inherited = (select(T.c.id.label("term_id"), parent.c.code)
                 .join(parent, parent.c.id == T.c.parent_id)
                 .where(T.c.taxonomy_id == facet_id))
    return union_all(own, inherited).subquery(f"{facet}_codes")


def _unfiltered(q: search.SearchQuery, facet: str) -> search.SearchQuery:
    return replace(q, filters=replace(q.filters, **{FACET_FILTERS[facet]: ()}))


def _facet_counts(hits: Any, facet: str) -> Select[Any]:
    codes = _codes(facet)
    return (
        select(literal(facet).label("facet"), codes.c.code,
               func.count(hits.c.hit_no.distinct()).label("hits"))
        .select_from(hits.join(A, A.c.service_id == hits.c.service_id)
                     .join(codes, codes.c.term_id == A.c.taxonomy_term_id))
        .group_by(codes.c.code)
    )


def facet_counts(conn: Connection, q: search.SearchQuery) -> dict[str, dict[str, int]]:
    """{'category': {code: hits}, 'audience': {code: hits}}; terms without hits are absent."""
    queries = {facet: _unfiltered(q, facet) for facet in FACET_FILTERS}
    # Without a facet filter both facets count the same hits: find them once.
    ctes: dict[search.SearchQuery, Any] = {}
    for facet, query in queries.items():
        ctes.setdefault(query, _hits(query, f"{facet}_hits"))
    hits = {facet: ctes[query] for facet, query in queries.items()}
    stmt = union_all(*(_facet_counts(hits[facet], facet) for facet in FACET_FILTERS))
    values = {k: v for k, v in search.bind_values(q).items() if k not in ("limit", "offset")}
    counts: dict[str, dict[str, int]] = {facet: {} for facet in FACET_FILTERS}
    for row in conn.execute(stmt, values):
        counts[row.facet][row.code] = int(row.hits)
    return counts
