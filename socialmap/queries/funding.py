"""Statements over the funding (HSDS funding) of initiatives."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, func, select
from sqlalchemy.orm import Session

from ..models import Funding
from .hsds import Scope

F = Funding.__table__


def of_service(conn: Connection, service_id: uuid.UUID) -> list[Any]:
    """A service's funding rows, the one that ends first first (open-ended last)."""
    return list(conn.execute(select(F.c.id, F.c.source, F.c.ends_on)
                             .where(F.c.service_id == service_id)
                             .order_by(F.c.ends_on.asc().nulls_last(), F.c.source, F.c.id)))


def first_entity(s: Session, service_id: uuid.UUID) -> Funding | None:
    """The funding row the edit form shows, as an ORM object (to change or delete it)."""
    return s.scalars(select(Funding).where(Funding.service_id == service_id)
                     .order_by(Funding.ends_on.asc().nulls_last(), Funding.source, Funding.id)
                     .limit(1)).first()


def for_export(scope: Scope) -> Select[Any]:
    """The funding rows of the services in an HSDS export's scope, in id order."""
    return (select(F.c.id, F.c.service_id, F.c.source, F.c.ends_on)
            .where(scope.has(F.c.service_id), func.length(func.trim(F.c.source)) > 0)
            .order_by(F.c.id))


def first_per_service(conn: Connection, service_ids: Sequence[uuid.UUID] | None = None
                      ) -> dict[uuid.UUID, Any]:
    """Service id -> its first funding row (the one that ends first), for all services or
    the given ones: what a registry file's funding columns carry."""
    stmt = (select(F.c.service_id, F.c.id, F.c.source, F.c.ends_on)
            .distinct(F.c.service_id)
            .order_by(F.c.service_id, F.c.ends_on.asc().nulls_last(), F.c.source, F.c.id))
    if service_ids is not None:
        stmt = stmt.where(F.c.service_id.in_(list(service_ids)))
    return {r.service_id: r for r in conn.execute(stmt)}
