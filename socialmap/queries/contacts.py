"""Public ways to get in touch with many initiatives at once (for printed lists)."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, literal, null, select, union_all

from ..models import Contact, Phone, Service

S, C, P = Service.__table__, Contact.__table__, Phone.__table__


def public_contacts(conn: Connection, service_ids: Sequence[uuid.UUID]) -> Sequence[Row[Any]]:
    """Service email and website, public service phones and public contacts with their public
    phones: (service_id, kind, name, title, email, number, description, url), in that order."""
    if not service_ids:
        return []
    service = (
        select(S.c.id.label("service_id"), literal("service").label("kind"),
               null().label("name"), null().label("title"), S.c.email,
               null().label("number"), null().label("description"), S.c.url,
               literal(0).label("rank"))
        .where(S.c.id.in_(service_ids))
    )
    phones = (
        select(P.c.service_id, literal("phone"), null(), null(), null(), P.c.number,
               P.c.description, null(), literal(1))
        .where(P.c.service_id.in_(service_ids), ~P.c.is_private)
    )
    contact_phones = (
        select(C.c.service_id, literal("contact"), C.c.name, C.c.title, C.c.email, P.c.number,
               P.c.description, null(), literal(2))
        .select_from(C.outerjoin(P, (P.c.contact_id == C.c.id) & ~P.c.is_private))
        .where(C.c.service_id.in_(service_ids), ~C.c.is_private)
    )
    both = union_all(service, phones, contact_phones).subquery("contacts")
    return conn.execute(
        select(both).order_by(both.c.service_id, both.c.rank, both.c.name, both.c.number)
    ).all()
