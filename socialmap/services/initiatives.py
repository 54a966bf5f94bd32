"""Reading one initiative with everything that hangs off it."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from ..errors import InvalidInput, NotFound
from ..queries import initiatives as q
from ..schedule import Slot
from ..vocab import KINDS, PRECISIONS


def parse_id(value: str, field: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise InvalidInput(f"'{value}' is not a valid id (UUID)", field) from exc


def get_initiative(s: Session, service_id: uuid.UUID, include_private: bool = False,
                   show_demo: bool = True) -> dict[str, Any]:
    """The initiative as a plain dict, public data only unless `include_private`."""
    conn = s.connection()
    row = q.service_row(conn, service_id)
    if row is None or (row.is_demo and not show_demo):
        raise NotFound(f"no initiative with id {service_id}", "id")
    terms = q.terms(conn, service_id)
    return {
        "id": str(row.id),
        "name": row.name,
        "alternate_name": row.alternate_name,
        "description": row.description,
        "kind": row.kind,
        "kind_label": KINDS.get(row.kind, row.kind),
        "status": row.status,
        "url": row.url,
        "email": row.email,
        "fees_description": row.fees_description,
        "eligibility_description": row.eligibility_description,
        "accessibility": row.accessibility,
        "schedule_note": row.schedule_note,
        "assured_date": row.assured_date.isoformat() if row.assured_date else None,
        "assurer": row.assurer,
        "source": row.source,
        "source_url": row.source_url,
        "is_demo": row.is_demo,
        "version": row.version,
        "last_modified": row.last_modified.isoformat(),
        "organization": ({"id": str(row.organization_id), "name": row.organization_name,
                          "legal_form": row.organization_legal_form,
                          "website": row.organization_website}
                         if row.organization_id else None),
        "categories": [_term(t) for t in terms if t.facet == "category"],
        "audiences": [_term(t) for t in terms if t.facet == "audience"],
        "locations": [_location(loc) for loc in q.locations(conn, service_id)],
        "service_areas": [{"code": k.code, "name": k.name,
                           "gemeente": {"code": k.gemeente_code, "name": k.gemeente_name}}
                          for k in q.service_areas(conn, service_id)],
        "schedules": [_slot(r) for r in q.schedules(conn, service_id)],
        "contacts": [{"name": c.name, "title": c.title, "email": c.email,
                      "is_private": c.is_private, "phones": c.phones}
                     for c in q.contacts(conn, service_id, include_private)],
        "phones": [{"number": p.number, "description": p.description,
                    "is_private": p.is_private}
                   for p in q.service_phones(conn, service_id, include_private)],
    }


def _term(t: Any) -> dict[str, str]:
    return {"code": t.code, "name": t.name, "name_en": t.name_en, "id": str(t.id)}


def _slot(r: Any) -> dict[str, Any]:
    slot = Slot(r.weekday, r.opens_at, r.closes_at)
    return {"weekday": r.weekday, "opens_at": f"{r.opens_at:%H:%M}",
            "closes_at": f"{r.closes_at:%H:%M}", "label": slot.label("nl"),
            "label_en": slot.label("en"),
            "valid_from": r.valid_from.isoformat() if r.valid_from else None,
            "valid_to": r.valid_to.isoformat() if r.valid_to else None,
            "description": r.description}


def _location(loc: Any) -> dict[str, Any]:
    return {
        "id": str(loc.id),
        "name": loc.name,
        "location_type": loc.location_type,
        "precision": loc.precision,
        "precision_label": PRECISIONS.get(loc.precision, loc.precision),
        "address": loc.address,
        "postal_code": loc.postal_code,
        "pc4": loc.pc4,
        "city": loc.city,
        "kern": {"code": loc.kern_code, "name": loc.kern_name} if loc.kern_code else None,
        "gemeente": ({"code": loc.gemeente_code, "name": loc.gemeente_name}
                     if loc.gemeente_code else None),
        "coordinates": [round(loc.lon, 6), round(loc.lat, 6)],
    }
