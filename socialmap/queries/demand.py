"""Statements for demand signals: the one upsert per search, and the monthly aggregates."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, literal, select
from sqlalchemy.dialects.postgresql import insert

from ..models import DemandSignal, Gemeente, Kern, Taxonomy, TaxonomyTerm

D, K, G = DemandSignal.__table__, Kern.__table__, Gemeente.__table__
T, TX = TaxonomyTerm.__table__, Taxonomy.__table__


def record(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Add the rows' counts to their (month, kern, category, filters) cells in one statement."""
    stmt = insert(D).values(list(rows))
    conn.execute(stmt.on_conflict_do_update(
        index_elements=[D.c.month, D.c.kern_code, D.c.category, D.c.filters],
        set_={"searches": D.c.searches + stmt.excluded.searches,
              "empty": D.c.empty + stmt.excluded.empty,
              "few": D.c.few + stmt.excluded.few}))


def _top_category() -> Any:
    """The top-level category code of a signal's category ('' stays '')."""
    parent = T.alias("parent")
    top = (select(func.coalesce(parent.c.code, T.c.code))
           .select_from(T.join(TX, TX.c.id == T.c.taxonomy_id)
                        .outerjoin(parent, parent.c.id == T.c.parent_id))
           .where(TX.c.facet == "category", T.c.code == D.c.category)
           .scalar_subquery())
    return func.coalesce(top, D.c.category)


def monthly(conn: Connection, *, gemeenten: Sequence[str] | None = None,
            kern_codes: Sequence[str] | None = None, since: date,
            category: str | None = None, by_filters: bool = False,
            limit: int = 1000) -> list[Any]:
    """Signals per month, kern and top-level category (and filters when `by_filters`), in
    these gemeenten or kernen, newest month first, most searches first."""
    top = _top_category().label("category")
    filters = D.c.filters if by_filters else literal("")
    keys = [D.c.month, D.c.kern_code, K.c.name.label("kern_name"), K.c.gemeente_code,
            G.c.name.label("gemeente_name"), top, filters.label("filters")]
    stmt = (select(*keys, func.sum(D.c.searches).label("searches"),
                   func.sum(D.c.empty).label("empty"), func.sum(D.c.few).label("few"))
            .select_from(D.join(K, K.c.code == D.c.kern_code)
                         .join(G, G.c.code == K.c.gemeente_code))
            .where(D.c.month >= since)
            .group_by(*keys[:5], top, filters)
            .order_by(D.c.month.desc(), func.sum(D.c.searches).desc(), K.c.name)
            .limit(limit))
    if gemeenten is not None:
        stmt = stmt.where(K.c.gemeente_code.in_(list(gemeenten)))
    if kern_codes is not None:
        stmt = stmt.where(D.c.kern_code.in_(list(kern_codes)))
    if category is not None:
        stmt = stmt.where(_top_category() == category)
    return list(conn.execute(stmt))


def totals_by_kern(conn: Connection, kern_codes: Sequence[str], since: date) -> list[Any]:
    """Signals since the date per kern and top-level category, summed over months and filters."""
    top = _top_category().label("category")
    return list(conn.execute(
        select(D.c.kern_code, top, func.sum(D.c.searches).label("searches"),
               func.sum(D.c.empty).label("empty"), func.sum(D.c.few).label("few"))
        .where(D.c.month >= since, D.c.kern_code.in_(list(kern_codes)))
        .group_by(D.c.kern_code, top)))
