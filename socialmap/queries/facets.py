"""Facet counts for a search: how many hits each category and audience term would give.

Each facet is counted over the hits of the search with every filter applied except that
facet's own, so the counts say what ticking one more box (an OR within the facet) yields.
A parent term counts the hits of its children too, as its filter includes them.

Counts are capped like the search's own total (COUNT_CAP): joining every hit of a city to its
attributes costs seconds at 1M. So the first statement counts the codes over at most
SCAN_BUDGET hits, which is exact when the facet has no more hits than that and already "more
than COUNT_CAP" for the common codes; only the codes it leaves open are counted one by one,
each up to COUNT_CAP + 1 with a LIMIT. Both statements use the search's spatial predicate and
bound values.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Select, exists, func, literal, null, select, true, union_all
from sqlalchemy.orm import aliased

from ..models import Attribute, Service, Taxonomy, TaxonomyTerm
from . import search
from .search import COUNT_CAP

A, S, T, TX = (Attribute.__table__, Service.__table__, TaxonomyTerm.__table__,
               Taxonomy.__table__)
FACET_FILTERS = {"category": "categories", "audience": "audiences"}
# Hits joined to their attributes in one pass before counting code by code.
SCAN_BUDGET = 2_000


def _codes(facet: str) -> Any:
    """(code, ids of the term and its children) for every term of the facet."""
    facet_id = select(TX.c.id).where(TX.c.facet == facet).scalar_subquery()
    parent = aliased(T)
    own = select(T.c.code, T.c.id).where(T.c.taxonomy_id == facet_id)
    inherited = (select(parent.c.code, T.c.id).join(parent, parent.c.id == T.c.parent_id)
                 .where(T.c.taxonomy_id == facet_id))
    pairs = union_all(own, inherited).subquery(f"{facet}_pairs")
    return (select(pairs.c.code, func.array_agg(pairs.c.id).label("ids"))
            .group_by(pairs.c.code).subquery(f"{facet}_codes"))


def _unfiltered(q: search.SearchQuery, facet: str) -> search.SearchQuery:
    return replace(q, filters=replace(q.filters, **{FACET_FILTERS[facet]: ()}))


def _has_term(service_id: Any, ids: Any) -> Any:
    # The term ids come from the facet's codes, the row the LATERAL runs for.
    return exists(select(A.c.service_id).where(A.c.service_id == service_id,
                                               A.c.taxonomy_term_id == func.any(ids))
                  .correlate_except(A))


def _with_term(q: search.SearchQuery, ids: Any) -> Any:
    """A row per hit of `q` that carries one of the term ids."""
    located, _where = search._located(q)
    rows: Any = (located.with_only_columns(literal(1).label("one"))
                 .where(_has_term(S.c.id, ids)))
    if q.mode == "kern":
        serving = search._serving(q).subquery("serving_all")
        rows = union_all(rows, select(literal(1).label("one")).select_from(serving)
                         .where(_has_term(serving.c.service_id, ids)))
    return rows


def _budgeted(q: search.SearchQuery, facet: str) -> Select[Any]:
    """Per code, its hits among the first SCAN_BUDGET + 1 hits; code NULL: how many those are."""
    located, _where = search._located(q)
    hits: Any = located.with_only_columns(S.c.id.label("service_id"))
    if q.mode == "kern":
        serving = search._serving(q).subquery("serving_all")
        hits = union_all(hits, select(serving.c.service_id))
    scanned = hits.limit(SCAN_BUDGET + 1).subquery(f"{facet}_scanned")
    numbered = select(scanned.c.service_id,
                      func.row_number().over().label("hit_no")).cte(f"{facet}_hits")
    codes = _codes(facet)
    per_code = (
        select(literal(facet).label("facet"), codes.c.code,
               func.count(numbered.c.hit_no.distinct()).label("hits"))
        .select_from(numbered.join(A, A.c.service_id == numbered.c.service_id)
                     .join(codes, A.c.taxonomy_term_id == func.any(codes.c.ids)))
        .group_by(codes.c.code))
    total = select(literal(facet), null(), func.count()).select_from(numbered)
    return per_code.union_all(total)


def _one_by_one(q: search.SearchQuery, facet: str, open_codes: list[str]) -> Select[Any]:
    """Per code in `open_codes`, how many hits of `q` carry it, up to COUNT_CAP + 1."""
    codes = _codes(facet)
    capped = _with_term(q, codes.c.ids).limit(COUNT_CAP + 1).lateral(f"{facet}_capped")
    return (select(literal(facet).label("facet"), codes.c.code,
                   func.count(capped.c.one).label("hits"))
            .select_from(codes.outerjoin(capped, true()))
            .where(codes.c.code.in_(open_codes))
            .group_by(codes.c.code))


def facet_counts(conn: Connection, q: search.SearchQuery) -> dict[str, dict[str, int]]:
    """{'category': {code: hits}, 'audience': {code: hits}}; terms without hits are absent.

    A count of COUNT_CAP + 1 means "more than COUNT_CAP"."""
    queries = {facet: _unfiltered(q, facet) for facet in FACET_FILTERS}
    values = {k: v for k, v in search.bind_values(q).items() if k not in ("limit", "offset")}
    counts: dict[str, dict[str, int]] = {facet: {} for facet in FACET_FILTERS}
    over_budget = set()
    stmt = union_all(*(_budgeted(query, facet) for facet, query in queries.items()))
    for facet, code, hits in conn.execute(stmt, values):
        if code is None:
            if hits > SCAN_BUDGET:
                over_budget.add(facet)
        elif hits:
            counts[facet][code] = min(int(hits), COUNT_CAP + 1)
    rest = []
    for facet in sorted(over_budget):
        # Beyond the budget a code seen fewer than COUNT_CAP + 1 times may have more hits.
        open_codes = sorted(set(_all_codes(conn, facet)) - {
            code for code, n in counts[facet].items() if n > COUNT_CAP})
        if open_codes:
            rest.append(_one_by_one(queries[facet], facet, open_codes))
    if rest:
        for facet, code, hits in conn.execute(union_all(*rest), values):
            counts[facet].pop(code, None)
            if hits:
                counts[facet][code] = int(hits)
    return counts


def _all_codes(conn: Connection, facet: str) -> list[str]:
    return list(conn.execute(select(_codes(facet).c.code)).scalars())
