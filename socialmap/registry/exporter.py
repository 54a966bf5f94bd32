"""Export the registry in the exchange format: one row per initiative and location."""
from __future__ import annotations

import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from ..names import name_key
from ..queries import funding as funding_q
from ..queries import registry as q
from ..schedule import Slot
from .formats import Format, write_file
from .record import Record


def read_records(conn: Connection, srid: int, include_private: bool = False,
                 include_demo: bool = False) -> list[Record]:
    """The registry as records; without private data unless asked (editors' backups)."""
    services = q.export_services(conn, include_demo)
    locations: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in q.export_locations(conn, srid, include_private, include_demo):
        locations[row.service_id].append(row)
    terms: dict[tuple[uuid.UUID, str], list[str]] = defaultdict(list)
    for row in q.export_terms(conn, include_demo):
        terms[(row.service_id, row.facet)].append(row.code)
    slots: dict[uuid.UUID, list[Slot]] = defaultdict(list)
    for row in q.export_slots(conn, include_demo):
        slots[row.service_id].append(Slot(row.weekday, row.opens_at, row.closes_at))
    areas: dict[uuid.UUID, list[str]] = defaultdict(list)
    for row in q.export_areas(conn, include_demo):
        areas[row.service_id].append(row.kern_code)
    phones = {r.service_id: r for r in q.export_phones(conn, include_private)}
    contacts = {r.service_id: r for r in q.export_contacts(conn, include_private)}
    fundings = funding_q.first_per_service(conn)

    records = []
    for s in services:
        phone, contact, funding = phones.get(s.id), contacts.get(s.id), fundings.get(s.id)
        base = dict(
            id=s.id, name=s.name, kind=s.kind, status=s.status, alternate_name=s.alternate_name,
            description=s.description, organization_id=s.organization_id,
            organization_name=s.organization_name,
            organization_legal_form=s.organization_legal_form,
            organization_description=s.organization_description,
            categories=tuple(sorted(terms[(s.id, "category")])),
            audiences=tuple(sorted(terms[(s.id, "audience")])),
            schedule=tuple(sorted(set(slots[s.id]))), schedule_note=s.schedule_note,
            service_area=tuple(sorted(areas[s.id])), fees_description=s.fees_description,
            eligibility_description=s.eligibility_description, accessibility=s.accessibility,
            url=s.url, email=s.email,
            phone=phone.number if phone else None,
            phone_private=bool(phone and phone.is_private),
            contact_name=contact.name if contact else None,
            contact_title=contact.title if contact else None,
            contact_email=contact.email if contact else None,
            contact_phone=contact.phone if contact else None,
            contact_private=bool(contact and contact.is_private),
            assured_date=s.assured_date, assurer=s.assurer, source=s.source,
            source_url=s.source_url, is_demo=s.is_demo,
            funding_source=funding.source if funding else None,
            funding_ends_on=funding.ends_on if funding else None,
        )
        if not locations[s.id]:
            records.append(Record(**base))
        for loc in locations[s.id]:
            records.append(Record(
                **base, location_id=loc.id, location_name=loc.name,
                location_type=loc.location_type, address=loc.address,
                postal_code=loc.postal_code, city=loc.city, pc4=loc.pc4,
                kern_code=loc.kern_code, precision=loc.precision, x=loc.x, y=loc.y))
    records.sort(key=lambda r: (name_key(r.name), str(r.id), r.location_name or "",
                                str(r.location_id)))
    return records


def export_file(conn: Connection, path: Path, fmt: Format, srid: int,
                include_private: bool = False, include_demo: bool = False) -> int:
    """Write the registry to `path`; returns the number of rows written."""
    records = read_records(conn, srid, include_private, include_demo)
    write_file(path, records, fmt, srid)
    return len(records)
