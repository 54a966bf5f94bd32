"""Statements over the change log of one initiative, the archive, and unverified records."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from ..models import (
    Change,
    Location,
    Service,
    ServiceArchive,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from ..vocab import VISIBLE_STATUSES
from .accounts import services_in_gemeenten

CH, S, AR = Change.__table__, Service.__table__, ServiceArchive.__table__
T, TX = TaxonomyTerm.__table__, Taxonomy.__table__
L, SAL = Location.__table__, ServiceAtLocation.__table__

# Everything that belongs to a service: its own rows and rows carrying its id, the locations it
# was ever linked to, and the phones of its contacts (those carry the contact's id, not the
# service's).
_RELATED = """
WITH loc AS (
  SELECT DISTINCT (coalesce(new_value, old_value)->>'location_id')::uuid AS id
    FROM change WHERE entity_type = 'service_at_location' AND service_id = :sid
), con AS (
  SELECT DISTINCT entity_id AS id FROM change WHERE entity_type = 'contact' AND service_id = :sid
), pho AS (
  SELECT DISTINCT entity_id AS id FROM change
   WHERE entity_type = 'phone' AND action IN ('create', 'delete')
     AND (coalesce(new_value, old_value)->>'contact_id')::uuid IN (SELECT id FROM con)
)
SELECT id, txid, entity_type, entity_id, action, field, old_value, new_value, changed_by,
       source, changed_at
  FROM change
 WHERE (service_id = :sid
        OR (entity_type = 'location' AND entity_id IN (SELECT id FROM loc))
        OR (entity_type = 'phone' AND entity_id IN (SELECT id FROM pho)))
"""


def changes(conn: Connection, service_id: uuid.UUID, after_id: int = 0,
            limit: int = 2000) -> list[Any]:
    """The change-log rows of a service and what hangs off it, newest first."""
    return list(conn.execute(text(_RELATED + " AND id > :after ORDER BY id DESC LIMIT :limit"),
                             {"sid": service_id, "after": after_id, "limit": limit}))


def last_change_id(conn: Connection, service_id: uuid.UUID) -> int:
    """The id of the newest change-log row of the service (0 when none): a form's mark."""
    row = conn.execute(text(_RELATED + " ORDER BY id DESC LIMIT 1"), {"sid": service_id}).first()
    return int(row.id) if row else 0


def service_updates_after(conn: Connection, service_id: uuid.UUID, after_id: int) -> list[Any]:
    """Field updates of the service row itself after a change id, newest first."""
    return list(conn.execute(
        select(CH.c.id, CH.c.field, CH.c.old_value, CH.c.new_value)
        .where(CH.c.entity_type == "service", CH.c.entity_id == service_id,
               CH.c.action == "update", CH.c.id > after_id)
        .order_by(CH.c.id.desc())))


def change_belongs(conn: Connection, service_id: uuid.UUID, change_id: int) -> bool:
    """True when the change-log row is one of this service's (or of what hangs off it)."""
    return conn.execute(text(f"SELECT EXISTS ({_RELATED} AND id = :cid)"),
                        {"sid": service_id, "cid": change_id}).scalar_one()


def term_labels(conn: Connection) -> dict[str, str]:
    """Taxonomy term names by id (as text), for showing attribute rows."""
    return {str(r.id): r.name for r in conn.execute(select(T.c.id, T.c.name))}


def archive_row(conn: Connection, service_id: uuid.UUID) -> Any | None:
    """The archive row of a service, or None when it is not archived."""
    return conn.execute(select(AR).where(AR.c.service_id == service_id)).first()


def archive_entity(s: Session, service_id: uuid.UUID) -> ServiceArchive | None:
    """The archive row of a service as an ORM object (to delete it)."""
    return s.scalars(select(ServiceArchive).where(ServiceArchive.service_id == service_id)).first()


def unverified(conn: Connection, gemeenten: Sequence[str] | None, before: date,
               limit: int = 500) -> list[Any]:
    """Visible real records not verified since `before`, never-verified first; scoped."""
    stmt = (
        select(S.c.id, S.c.name, S.c.kind, S.c.status, S.c.assured_date, S.c.assurer,
               S.c.last_modified, S.c.version)
        .where(S.c.status.in_(VISIBLE_STATUSES), ~S.c.is_demo,
               (S.c.assured_date.is_(None)) | (S.c.assured_date < before))
        .order_by(S.c.assured_date.asc().nulls_first(), S.c.name)
        .limit(limit)
    )
    if gemeenten is not None:
        stmt = stmt.where(S.c.id.in_(services_in_gemeenten(list(gemeenten))))
    return list(conn.execute(stmt))


def count_unverified(conn: Connection, gemeenten: Sequence[str] | None, before: date) -> int:
    """How many records `unverified` would list without its limit."""
    stmt = (select(func.count()).select_from(S)
            .where(S.c.status.in_(VISIBLE_STATUSES), ~S.c.is_demo,
                   (S.c.assured_date.is_(None)) | (S.c.assured_date < before)))
    if gemeenten is not None:
        stmt = stmt.where(S.c.id.in_(services_in_gemeenten(list(gemeenten))))
    return conn.execute(stmt).scalar_one()


def exact_locations(conn: Connection, service_id: uuid.UUID) -> list[Any]:
    """A service's locations with their real address and point (for staff pages only)."""
    return list(conn.execute(
        select(L.c.id, L.c.name, L.c.location_type, L.c.address, L.c.postal_code, L.c.city,
               L.c.pc4, L.c.kern_code, L.c.precision,
               func.ST_X(func.ST_Transform(L.c.geom, 4326)).label("lon"),
               func.ST_Y(func.ST_Transform(L.c.geom, 4326)).label("lat"))
        .select_from(SAL.join(L, L.c.id == SAL.c.location_id))
        .where(SAL.c.service_id == service_id).order_by(L.c.name, L.c.id)))
