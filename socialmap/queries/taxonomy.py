"""The taxonomy: both facets with their terms."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from ..models import Taxonomy, TaxonomyTerm

T, TX = TaxonomyTerm.__table__, Taxonomy.__table__


def all_terms(conn: Connection) -> list[Any]:
    return conn.execute(
        select(TX.c.facet, TX.c.id.label("taxonomy_id"), TX.c.name.label("taxonomy_name"),
               T.c.id, T.c.code, T.c.name, T.c.name_en, T.c.description, T.c.parent_id)
        .join(TX, TX.c.id == T.c.taxonomy_id)
        .order_by(TX.c.facet, T.c.position)
    ).all()
