"""The registry as HSDS tables: for the full export and, per page of services, for the API."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from ..queries import hsds as q
from . import mapping as m
from .spec import BY_NAME
from .tabular import Tables, sorted_tables, write_json, write_zip


def collect(conn: Connection, scope: q.Scope) -> Tables:
    """Our rows and the kept foreign rows as HSDS tables, public data only, references
    checked (a row that would point at something not exported loses that pointer, or is left
    out when the pointer is required)."""
    services = q.services(conn, scope)
    organizations = q.organizations(conn, scope)
    locations = q.locations(conn, scope)
    sals = q.service_at_locations(conn, scope)
    schedules = q.schedules(conn, scope)
    contacts = q.contacts(conn, scope)
    phones = q.phones(conn, scope)
    attributes = q.attributes(conn, scope)

    def extra(resource: str, rows: Iterable[Any]) -> dict[str, dict[str, Any]]:
        return q.extras(conn, resource, [r.id for r in rows])

    ex = {name: extra(name, rows) for name, rows in (
        ("organization", organizations), ("service", services), ("location", locations),
        ("service_at_location", sals), ("schedule", schedules), ("contact", contacts),
        ("phone", phones), ("attribute", attributes))}

    def ext(resource: str, row: Any) -> dict[str, Any] | None:
        return ex[resource].get(str(row.id))

    t: dict[str, list[dict[str, Any]]] = {name: [] for name in BY_NAME}
    own_orgs = {str(o.id) for o in organizations}
    for org in organizations:
        t["organization"].append(m.organization_out(org._mapping, ext("organization", org)))
        t["attribute"] += m.profile_attributes("organization", org._mapping)
    for svc in services:
        row = m.service_out(svc._mapping, ext("service", svc))
        if svc.organization_id is None or str(svc.organization_id) not in own_orgs:
            standin = m.standin_organization(svc._mapping)
            row["organization_id"] = standin["id"]
            t["organization"].append(standin)
        t["service"].append(row)
        note = m.schedule_note_out(svc._mapping)
        if note:
            t["schedule"].append(note)
        t["attribute"] += m.profile_attributes("service", svc._mapping)
    for loc in locations:
        t["location"].append(m.location_out(loc._mapping, ext("location", loc)))
        address = m.address_out(loc._mapping, ext("location", loc))
        if address:
            t["address"].append(address)
        t["attribute"] += m.profile_attributes("location", loc._mapping)
    t["service_at_location"] += [m.sal_out(r._mapping, ext("service_at_location", r))
                                 for r in sals]
    t["schedule"] += [m.schedule_out(r._mapping, ext("schedule", r)) for r in schedules]
    t["service_area"] += [m.service_area_out(r._mapping) for r in q.service_areas(conn, scope)]
    t["contact"] += [m.contact_out(r._mapping, ext("contact", r)) for r in contacts]
    t["phone"] += [m.phone_out(r._mapping, ext("phone", r)) for r in phones]
    t["attribute"] += [m.attribute_out(r._mapping, ext("attribute", r)) for r in attributes]
    t["taxonomy"] += [m.taxonomy_out(r._mapping) for r in q.taxonomies(conn)]
    t["taxonomy"] += m.profile_taxonomies()
    t["taxonomy_term"] += [m.term_out(r._mapping) for r in q.taxonomy_terms(conn)]
    t["taxonomy_term"] += m.profile_terms()
    for rec in q.records(conn, scope, [loc.id for loc in locations]):
        t[rec.resource].append(m.clean(rec.resource, rec.data))
    return sorted_tables(referenced(t))


def referenced(tables: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Drop pointers at rows that are not in the tables; drop rows whose required pointer
    (or, for an attribute, whose described row) is missing. Repeats until nothing changes."""
    while True:
        ids = {name: {r["id"] for r in rows} for name, rows in tables.items()}
        changed = False
        for name, rows in tables.items():
            spec = BY_NAME[name]
            kept = []
            for row in rows:
                keep = True
                for fname, target in spec.references.items():
                    value = row.get(fname)
                    if value is None or value in ids[target]:
                        continue
                    if spec.field(fname).required:  # type: ignore[union-attr]
                        keep = False
                    else:
                        row = {k: v for k, v in row.items() if k != fname}
                        changed = True
                if name == "attribute" and row.get("link_entity") in ids \
                        and row.get("link_id") not in ids[row["link_entity"]]:
                    keep = False
                if keep:
                    kept.append(row)
                else:
                    changed = True
            tables[name] = kept
        if not changed:
            return tables


def export_json(conn: Connection, include_demo: bool) -> bytes:
    """The whole registry as HSDS tabular JSON."""
    return write_json(collect(conn, q.Scope(None, include_demo)))


def export_zip(conn: Connection, include_demo: bool) -> bytes:
    """The whole registry as an HSDS Tabular Data Package (zip)."""
    return write_zip(collect(conn, q.Scope(None, include_demo)))
