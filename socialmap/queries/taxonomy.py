"""The taxonomy: both facets with their terms."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, or_, select

from ..models import Taxonomy, TaxonomyTerm

T, TX = TaxonomyTerm.__table__, Taxonomy.__table__


def all_terms(conn: Connection) -> list[Any]:
    return conn.execute(
        select(TX.c.facet, TX.c.id.label("taxonomy_id"), TX.c.name.label("taxonomy_name"),
               T.c.id, T.c.code, T.c.name, T.c.name_en, T.c.description, T.c.parent_id)
        .join(TX, TX.c.id == T.c.taxonomy_id)
        .order_by(TX.c.facet, T.c.position)
    ).all()


def term_ids_of(facet: str, codes: Sequence[str]) -> Select[Any]:
    """Ids of the given terms of one facet and of their children (a parent includes them)."""
    facet_ids = select(TX.c.id).where(TX.c.facet == facet).scalar_subquery()
    chosen = select(T.c.id).where(T.c.taxonomy_id == facet_ids, T.c.code.in_(codes))
    return select(T.c.id).where(
        T.c.taxonomy_id == facet_ids,
        or_(T.c.code.in_(codes), T.c.parent_id.in_(chosen.scalar_subquery())),
    )
