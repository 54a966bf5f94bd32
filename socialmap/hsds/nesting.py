"""HSDS tables -> the nested objects of the HSDS API (fully nested service, list items). Pure."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from .spec import BY_NAME

Obj = dict[str, Any]


class Index:
    """Rows of HSDS tables by id and by the rows they point at."""

    def __init__(self, tables: Mapping[str, list[Obj]]) -> None:
        self.by_id: dict[str, dict[str, Obj]] = {
            name: {r["id"]: r for r in rows} for name, rows in tables.items()}
        self.children: dict[tuple[str, str, str], list[Obj]] = defaultdict(list)
        for name, rows in tables.items():
            pointers = [*BY_NAME[name].references, "link_id"] if name == "attribute" \
                else list(BY_NAME[name].references)
            for row in rows:
                for field in pointers:
                    if row.get(field):
                        self.children[(name, field, row[field])].append(row)

    def get(self, table: str, rid: str | None) -> Obj | None:
        return self.by_id.get(table, {}).get(rid) if rid else None

    def of(self, table: str, field: str, rid: str) -> list[Obj]:
        """Rows of `table` whose `field` is `rid`, by id."""
        return sorted(self.children.get((table, field, rid), ()), key=lambda r: r["id"])


def term(ix: Index, tid: str) -> Obj | None:
    """A taxonomy term with its taxonomy."""
    row = ix.get("taxonomy_term", tid)
    if row is None:
        return None
    out = dict(row)
    taxonomy = ix.get("taxonomy", row.get("taxonomy_id"))
    if taxonomy:
        out["taxonomy_detail"] = dict(taxonomy)
    return out


def attributes(ix: Index, rid: str) -> list[Obj]:
    out = []
    for attr in ix.of("attribute", "link_id", rid):
        item = dict(attr)
        found = term(ix, attr["taxonomy_term_id"])
        if found:
            item["taxonomy_term"] = found
        out.append(item)
    return out


def _phones(ix: Index, field: str, rid: str) -> list[Obj]:
    return [{**p, "languages": ix.of("language", "phone_id", p["id"])}
            for p in ix.of("phone", field, rid)]


def _contacts(ix: Index, field: str, rid: str) -> list[Obj]:
    return [{**c, "phones": _phones(ix, "contact_id", c["id"]), "attributes": attributes(
        ix, c["id"])} for c in ix.of("contact", field, rid)]


def location(ix: Index, lid: str) -> Obj | None:
    """A fully nested location."""
    row = ix.get("location", lid)
    if row is None:
        return None
    return {**row,
            "languages": ix.of("language", "location_id", lid),
            "addresses": ix.of("address", "location_id", lid),
            "contacts": _contacts(ix, "location_id", lid),
            "accessibility": ix.of("accessibility", "location_id", lid),
            "phones": _phones(ix, "location_id", lid),
            "schedules": ix.of("schedule", "location_id", lid),
            "attributes": attributes(ix, lid)}


def service_at_location(ix: Index, sal_id: str) -> Obj | None:
    """A fully nested service at location (with its location)."""
    row = ix.get("service_at_location", sal_id)
    if row is None:
        return None
    out = {**row,
           "contacts": _contacts(ix, "service_at_location_id", sal_id),
           "phones": _phones(ix, "service_at_location_id", sal_id),
           "schedules": ix.of("schedule", "service_at_location_id", sal_id),
           "attributes": attributes(ix, sal_id)}
    loc = location(ix, row["location_id"])
    if loc:
        out["location"] = loc
    return out


def service(ix: Index, sid: str) -> Obj | None:
    """A fully nested service: everything that hangs off it (HSDS compiled/service.json)."""
    row = ix.get("service", sid)
    if row is None:
        return None
    out = {**row,
           "phones": _phones(ix, "service_id", sid),
           "schedules": ix.of("schedule", "service_id", sid),
           "service_areas": ix.of("service_area", "service_id", sid),
           "service_at_locations": [service_at_location(ix, s["id"]) for s in
                                    ix.of("service_at_location", "service_id", sid)],
           "languages": ix.of("language", "service_id", sid),
           "funding": ix.of("funding", "service_id", sid),
           "cost_options": ix.of("cost_option", "service_id", sid),
           "required_documents": ix.of("required_document", "service_id", sid),
           "contacts": _contacts(ix, "service_id", sid),
           "attributes": attributes(ix, sid)}
    org = ix.get("organization", row.get("organization_id"))
    if org:
        out["organization"] = dict(org)
    program = ix.get("program", row.get("program_id"))
    if program:
        out["program"] = dict(program)
    return out


def service_item(ix: Index, sid: str) -> Obj | None:
    """A service as a list item: its own fields, its organization and program."""
    row = ix.get("service", sid)
    if row is None:
        return None
    out = dict(row)
    org = ix.get("organization", row.get("organization_id"))
    if org:
        out["organization"] = dict(org)
    program = ix.get("program", row.get("program_id"))
    if program:
        out["program"] = dict(program)
    return out


def service_at_location_item(ix: Index, sal_id: str) -> Obj | None:
    """A service at location as a list item: with its location's and service's own fields."""
    row = ix.get("service_at_location", sal_id)
    if row is None:
        return None
    out = dict(row)
    loc = ix.get("location", row["location_id"])
    if loc:
        out["location"] = dict(loc)
    svc = ix.get("service", row["service_id"])
    if svc:
        out["service"] = dict(svc)
    return out


def organization(ix: Index, oid: str, services: list[Obj]) -> Obj | None:
    """A fully nested organization with the given service objects."""
    row = ix.get("organization", oid)
    if row is None:
        return None
    return {**row,
            "funding": ix.of("funding", "organization_id", oid),
            "contacts": _contacts(ix, "organization_id", oid),
            "phones": _phones(ix, "organization_id", oid),
            "locations": [location(ix, r["id"]) for r in
                          ix.of("location", "organization_id", oid)],
            "programs": ix.of("program", "organization_id", oid),
            "organization_identifiers": ix.of("organization_identifier", "organization_id", oid),
            "attributes": attributes(ix, oid),
            "services": services}
