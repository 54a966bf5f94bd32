"""Import rows of the exchange format: validate every row, then write each one whole or not at
all (a savepoint per row), updating by id and writing only what differs."""
from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Executable, Table, delete, insert, update
from sqlalchemy.orm import Session

from .. import geo
from ..db import set_actor
from ..models import (
    Attribute,
    Contact,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
)
from ..queries import funding as funding_q
from ..queries import registry as q
from ..queries.funding import F as FUNDING
from ..queries.upsert import upsert
from ..schedule import Slot
from .formats import RawRow, read_rows
from .record import Record, parse_row, stable_id

S, ORG, L = Service.__table__, Organization.__table__, Location.__table__
SAL, SA, A = ServiceAtLocation.__table__, ServiceArea.__table__, Attribute.__table__
SC, C, P = Schedule.__table__, Contact.__table__, Phone.__table__

# Points closer than this (metres, per axis) are the same: the exchange format rounds to 1 cm,
# so exporting and importing into the same registry changes nothing.
SAME_POINT_M = 0.01


@dataclass(frozen=True)
class Rejection:
    """A row that was not written, and why."""

    where: str
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.where}: {'; '.join(self.reasons)}"


@dataclass
class ImportReport:
    """What an import did, row by row."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def summary(self) -> str:
        """One line for the command line."""
        if self.rows and not self.changed and not self.rejected:
            return f"{self.rows} rows, nothing changed"
        return (f"{self.rows} rows: {self.created} created, {self.updated} updated, "
                f"{self.unchanged} unchanged, {len(self.rejected)} rejected")


@dataclass
class _Checked:
    """A valid row with what the database told about it."""

    where: str
    record: Record
    placed: q.PlacedPoint | None
    term_ids: tuple[uuid.UUID, ...]


def import_file(s: Session, path: Path, crs: int | None = None, actor: str = "import",
                source: str = "import") -> ImportReport:
    """Import a CSV or GeoJSON file into the session's transaction; the caller commits."""
    srid, rows = read_rows(path, crs)
    return import_rows(s, rows, srid, actor, source)


def import_rows(s: Session, rows: list[RawRow], srid: int, actor: str = "import",
                source: str = "import") -> ImportReport:
    """Validate all rows, then write the valid ones, each in its own savepoint."""
    set_actor(s, actor, source)
    report = ImportReport(rows=len(rows))
    checked = _check(s, rows, srid, report)
    stored = _load_stored(s, checked)
    written: dict[tuple[str, uuid.UUID], tuple[str, tuple[Any, ...]]] = {}
    for row in checked:
        clash = _inconsistent(row, written)
        if clash:
            report.rejected.append(Rejection(row.where, (clash,)))
            continue
        created = row.record.id not in stored.services
        plan = _plan(row, stored)
        if plan.statements:
            try:
                with s.begin_nested():
                    plan.run(s)
            except Exception as exc:  # noqa: BLE001 - any database error rejects just this row
                message = str(getattr(exc, "orig", None) or exc).splitlines()[0]
                report.rejected.append(Rejection(row.where, (f"database: {message}",)))
                continue
            plan.commit()
        outcome = "created" if created else "updated" if plan.statements else "unchanged"
        setattr(report, outcome, getattr(report, outcome) + 1)
        _remember(row, written)
    order = {row.where: i for i, row in enumerate(rows)}
    report.rejected.sort(key=lambda r: order[r.where])
    return report


def _check(s: Session, rows: list[RawRow], srid: int, report: ImportReport) -> list[_Checked]:
    """Field checks, then the checks that need the database (codes, kernen, points)."""
    conn = s.connection()
    kernen = q.kern_codes(conn)
    terms = q.term_ids(conn)
    valid: list[tuple[str, Record, list[str]]] = []
    for row in rows:
        if row.error:
            report.rejected.append(Rejection(row.where, (row.error,)))
            continue
        rec, problems = parse_row(row.raw, row.coords, row.typed, row.coord_names)
        if rec is None:
            report.rejected.append(Rejection(row.where, tuple(str(p) for p in problems)))
            continue
        reasons = _check_codes(rec, kernen, terms)
        if rec.has_location and not _in_extent(rec, srid):
            reasons.append(f"{row.coord_names[0]}: ({rec.x}, {rec.y}) lies outside the "
                           f"Netherlands (EPSG:{srid})")
        valid.append((row.where, rec, reasons))
    located = [rec for _, rec, reasons in valid if rec.has_location and not reasons]
    placed = dict(zip([id(r) for r in located],
                      q.place_points(conn, [(r.x, r.y) for r in located], srid), strict=True))
    out: list[_Checked] = []
    for where, rec, reasons in valid:
        point = placed.get(id(rec))
        if point is not None:
            reasons += _check_kern(rec, point)
        if reasons:
            report.rejected.append(Rejection(where, tuple(reasons)))
            continue
        ids = tuple(sorted({terms[("category", c)] for c in rec.categories}
                           | {terms[("audience", c)] for c in rec.audiences}))
        out.append(_Checked(where, rec, point, ids))
    return out


def _check_codes(rec: Record, kernen: set[str], terms: dict[tuple[str, str], uuid.UUID]
                 ) -> list[str]:
    reasons = []
    for facet, codes, name in (("category", rec.categories, "categories"),
                               ("audience", rec.audiences, "audiences")):
        unknown = [c for c in codes if (facet, c) not in terms]
        if unknown:
            reasons.append(f"{name}: unknown code(s) {', '.join(unknown)}")
    unknown = [c for c in rec.service_area if c not in kernen]
    if unknown:
        reasons.append(f"service_area: unknown kern code(s) {', '.join(unknown)}")
    if rec.kern_code and rec.kern_code not in kernen:
        reasons.append(f"kern_code: unknown kern code {rec.kern_code}")
    return reasons


def _in_extent(rec: Record, srid: int) -> bool:
    assert rec.x is not None and rec.y is not None
    if srid == geo.WGS84:
        return geo.in_nl_wgs84(rec.x, rec.y)
    return geo.in_rd_extent(rec.x, rec.y)


def _check_kern(rec: Record, point: q.PlacedPoint) -> list[str]:
    """The kern of a location is the one whose area covers its point; a given code must agree."""
    if point.kern_code is None:
        return ["geometry: the point lies in no kern (outside the Dutch gemeenten)"]
    if rec.kern_code and rec.kern_code != point.kern_code:
        return [f"kern_code: {rec.kern_code} given, but the point lies in {point.kern_code}"]
    return []


def _inconsistent(row: _Checked, written: dict[tuple[str, uuid.UUID], tuple[str, tuple[Any, ...]]]
                  ) -> str | None:
    """Rows of one file that share an id must agree on what that id holds."""
    rec = row.record
    parts = [("service", rec.id, rec.service_part())]
    if rec.organization_id:
        parts.append(("organization", rec.organization_id, rec.organization_part()))
    if rec.location_id:
        parts.append(("location", rec.location_id, rec.location_part()))
    for kind, key, values in parts:
        seen = written.get((kind, key))
        if seen and seen[1] != values:
            return f"{kind} {key}: fields differ from {seen[0]} with the same id"
    seen = written.get(("at", _at(rec)))
    if seen:
        return f"duplicate of {seen[0]} (same id and location_id)"
    return None


def _at(rec: Record) -> uuid.UUID:
    return stable_id(str(rec.id), "at", str(rec.location_id))


def _remember(row: _Checked, written: dict[tuple[str, uuid.UUID], tuple[str, tuple[Any, ...]]]
              ) -> None:
    rec = row.record
    written.setdefault(("service", rec.id), (row.where, rec.service_part()))
    if rec.organization_id:
        written.setdefault(("organization", rec.organization_id),
                           (row.where, rec.organization_part()))
    if rec.location_id:
        written.setdefault(("location", rec.location_id), (row.where, rec.location_part()))
    written[("at", _at(rec))] = (row.where, ())


# --- what is stored, and what a row changes ------------------------------------------

ORG_COLUMNS = ("name", "legal_form", "description", "is_demo")
SERVICE_COLUMNS = ("organization_id", "name", "alternate_name", "description", "kind", "status",
                   "url", "email", "fees_description", "eligibility_description",
                   "accessibility", "schedule_note", "assured_date", "assurer", "source",
                   "source_url", "is_demo")
LOCATION_COLUMNS = ("name", "location_type", "address", "postal_code", "city", "pc4",
                    "kern_code", "precision", "is_demo")


@dataclass
class _Stored:
    """What the database holds for the ids of a file; kept current as rows are written."""

    orgs: dict[uuid.UUID, dict[str, Any]]
    services: dict[uuid.UUID, dict[str, Any]]
    locations: dict[uuid.UUID, dict[str, Any]]
    links: set[tuple[uuid.UUID, uuid.UUID]]
    terms: dict[uuid.UUID, dict[Any, uuid.UUID]]  # service -> term id -> attribute id
    areas: dict[uuid.UUID, dict[Any, uuid.UUID]]  # service -> kern code -> row id
    slots: dict[uuid.UUID, list[tuple[uuid.UUID, Slot]]]
    phones: dict[uuid.UUID, dict[str, Any]]  # service -> its primary phone
    contacts: dict[uuid.UUID, dict[str, Any]]  # service -> its primary contact
    contact_phones: dict[uuid.UUID, dict[str, Any]]  # phone id -> number, is_private
    fundings: dict[uuid.UUID, dict[str, Any]]  # service -> its first funding


def _load_stored(s: Session, rows: list[_Checked]) -> _Stored:
    """Everything the rows could change, in a few statements rather than a few per row."""
    conn = s.connection()
    services = sorted({r.record.id for r in rows}, key=str)
    orgs = sorted({r.record.organization_id for r in rows if r.record.organization_id}, key=str)
    locations = sorted({r.record.location_id for r in rows if r.record.location_id}, key=str)
    stored = _Stored(
        orgs=q.stored_rows(conn, "organization", ORG_COLUMNS, orgs),
        services=q.stored_rows(conn, "service", SERVICE_COLUMNS, services),
        locations=q.stored_locations(conn, LOCATION_COLUMNS, locations),
        links=q.stored_links(conn, services),
        terms=defaultdict(dict), areas=defaultdict(dict), slots=defaultdict(list),
        phones={}, contacts={}, contact_phones={}, fundings={},
    )
    for r in q.stored_children(conn, "attribute", "taxonomy_term_id", services):
        stored.terms[r.service_id].setdefault(r.taxonomy_term_id, r.id)
    for r in q.stored_children(conn, "service_area", "kern_code", services):
        stored.areas[r.service_id].setdefault(r.kern_code, r.id)
    for r in q.stored_children(conn, "schedule", "", services):
        stored.slots[r.service_id].append((r.id, Slot(r.weekday, r.opens_at, r.closes_at)))
    for r in q.stored_primary_phones(conn, services):
        stored.phones[r.service_id] = {"id": r.id, "number": r.number,
                                       "is_private": r.is_private}
    for r in q.stored_primary_contacts(conn, services):
        stored.contacts[r.service_id] = {"id": r.id, "name": r.name, "title": r.title,
                                         "email": r.email, "is_private": r.is_private,
                                         "phone_id": r.phone_id}
    phone_ids = [c["phone_id"] for c in stored.contacts.values() if c["phone_id"]]
    stored.contact_phones = q.stored_phones(conn, phone_ids) if phone_ids else {}
    for sid, r in funding_q.first_per_service(conn, services).items():
        stored.fundings[sid] = {"id": r.id, "source": r.source, "ends_on": r.ends_on}
    return stored


class _Plan:
    """The statements that bring one row into the database, and how the stored view changes
    once they ran."""

    def __init__(self) -> None:
        self.statements: list[Executable] = []
        self.updates: list[Callable[[], None]] = []

    def add(self, statement: Executable, update: Callable[[], None]) -> None:
        self.statements.append(statement)
        self.updates.append(update)

    def run(self, s: Session) -> None:
        for statement in self.statements:
            s.execute(statement)

    def commit(self) -> None:
        for apply in self.updates:
            apply()


def _plan(row: _Checked, stored: _Stored) -> _Plan:
    """Compare the row with what is stored and list only the writes that differ."""
    rec, plan = row.record, _Plan()
    if rec.organization_id:
        _upsert(plan, ORG, stored.orgs, rec.organization_id, {
            "name": rec.organization_name, "legal_form": rec.organization_legal_form,
            "description": rec.organization_description, "is_demo": rec.is_demo})
    _upsert(plan, S, stored.services, rec.id, {c: getattr(rec, c) for c in SERVICE_COLUMNS})
    if row.placed is not None:
        _plan_location(plan, rec, row.placed, stored)
        link = (rec.id, rec.location_id)
        if link not in stored.links:
            plan.add(insert(SAL).values(id=_at(rec), service_id=rec.id,
                                        location_id=rec.location_id),
                     lambda: stored.links.add(link))  # type: ignore[arg-type]
    _plan_set(plan, A, "taxonomy_term_id", stored.terms[rec.id], rec.id, set(row.term_ids))
    _plan_set(plan, SA, "kern_code", stored.areas[rec.id], rec.id, set(rec.service_area))
    _plan_slots(plan, stored.slots, rec.id, set(rec.schedule))
    _plan_phone(plan, rec, stored)
    _plan_contact(plan, rec, stored)
    _plan_funding(plan, rec, stored)
    return plan


def _upsert(plan: _Plan, table: Table, store: dict[uuid.UUID, dict[str, Any]],
            key: uuid.UUID, values: dict[str, Any]) -> None:
    """Insert the row, or update only the columns that differ from the stored view."""
    change = upsert(table, key, values, store.get(key))
    if change.statement is not None:
        plan.add(change.statement,
                 lambda: store.setdefault(key, {}).update(change.changed))


def _plan_location(plan: _Plan, rec: Record, placed: q.PlacedPoint, stored: _Stored) -> None:
    assert rec.location_id is not None
    key = rec.location_id
    values: dict[str, Any] = {
        "name": rec.location_name, "location_type": rec.location_type, "address": rec.address,
        "postal_code": rec.postal_code, "city": rec.city, "pc4": placed.pc4 or rec.pc4,
        "kern_code": placed.kern_code, "precision": rec.precision, "is_demo": rec.is_demo,
    }
    point = {"x": placed.x, "y": placed.y}
    current = stored.locations.get(key)
    if current is None:
        plan.add(insert(L).values(id=key, geom=q.point_rd(placed.x, placed.y), **values),
                 lambda: stored.locations.__setitem__(key, {**values, **point}))
        return
    if _public_copy_of_private(rec, current, placed):
        # A public export shows a private location at its kern point only; importing it back
        # must not overwrite the exact point an editor knows.
        for k in ("address", "postal_code", "pc4", "precision"):
            values[k] = current[k]
        point = {"x": current["x"], "y": current["y"]}
    diff: dict[str, Any] = {k: v for k, v in values.items() if current[k] != v}
    moved = (abs(current["x"] - point["x"]) > SAME_POINT_M
             or abs(current["y"] - point["y"]) > SAME_POINT_M)
    if not diff and not moved:
        return
    columns = {**diff, **({"geom": q.point_rd(point["x"], point["y"])} if moved else {})}
    plan.add(update(L).where(L.c.id == key).values(**columns),
             lambda: current.update({**diff, **(point if moved else {})}))


def _public_copy_of_private(rec: Record, current: dict[str, Any], placed: q.PlacedPoint) -> bool:
    return (rec.location_type == current["location_type"] == "private"
            and rec.precision == "kern" and current["precision"] != "kern"
            and rec.address is None and placed.kern_code == current["kern_code"])


def _plan_set(plan: _Plan, table: Table, column: str, have: dict[Any, uuid.UUID],
              service_id: uuid.UUID, wanted: set[Any]) -> None:
    """Make the service's rows in `table` hold exactly the `wanted` values of `column`."""
    extra = {v: i for v, i in have.items() if v not in wanted}

    def forget() -> None:
        for value in extra:
            del have[value]

    if extra:
        plan.add(delete(table).where(table.c.id.in_(list(extra.values()))), forget)
    for value in sorted(wanted - set(have), key=str):
        row_id = stable_id(str(service_id), column, str(value))
        plan.add(insert(table).values(id=row_id, service_id=service_id, **{column: value}),
                 lambda v=value, i=row_id: have.__setitem__(v, i))


def _plan_slots(plan: _Plan, stored: dict[uuid.UUID, list[tuple[uuid.UUID, Slot]]],
                service_id: uuid.UUID, wanted: set[Slot]) -> None:
    """Weekly slots as in the row; other fields of a kept slot (validity, note) stay."""
    kept: list[tuple[uuid.UUID, Slot]] = []
    extra: list[uuid.UUID] = []
    for row_id, slot in stored[service_id]:
        if slot in wanted and slot not in {k[1] for k in kept}:
            kept.append((row_id, slot))
        else:
            extra.append(row_id)
    missing = sorted(wanted - {k[1] for k in kept})
    if not extra and not missing:
        return
    added = [(stable_id(str(service_id), "schedule", slot.short()), slot) for slot in missing]
    if extra:
        plan.add(delete(SC).where(SC.c.id.in_(extra)), lambda: None)
    for row_id, slot in added:
        plan.add(insert(SC).values(id=row_id, service_id=service_id, weekday=slot.weekday,
                                   opens_at=slot.opens_at, closes_at=slot.closes_at),
                 lambda: None)
    plan.updates.append(lambda: stored.__setitem__(service_id, kept + added))


def _plan_phone(plan: _Plan, rec: Record, stored: _Stored) -> None:
    """The service's primary phone; a row without one leaves phones alone."""
    if rec.phone is None:
        return
    current = stored.phones.get(rec.id)
    key = current["id"] if current else stable_id(str(rec.id), "phone")
    values = {"number": rec.phone, "is_private": rec.phone_private}
    if current is None:
        plan.add(insert(P).values(id=key, service_id=rec.id, **values),
                 lambda: stored.phones.__setitem__(rec.id, {"id": key, **values}))
    elif any(current[k] != v for k, v in values.items()):
        plan.add(update(P).where(P.c.id == key).values(**values),
                 lambda: current.update(values))


def _plan_funding(plan: _Plan, rec: Record, stored: _Stored) -> None:
    """The service's first funding; a row without a funding source leaves funding alone."""
    if rec.funding_source is None:
        return
    current = stored.fundings.get(rec.id)
    key = current["id"] if current else stable_id(str(rec.id), "funding")
    values = {"source": rec.funding_source, "ends_on": rec.funding_ends_on}
    if current is None:
        plan.add(insert(FUNDING).values(id=key, service_id=rec.id, **values),
                 lambda: stored.fundings.__setitem__(rec.id, {"id": key, **values}))
    elif any(current[k] != v for k, v in values.items()):
        plan.add(update(FUNDING).where(FUNDING.c.id == key).values(**values),
                 lambda: current.update(values))


def _plan_contact(plan: _Plan, rec: Record, stored: _Stored) -> None:
    """The service's primary contact and its phone; a row without one leaves contacts alone."""
    if not rec.has_contact:
        return
    current = stored.contacts.get(rec.id)
    key = current["id"] if current else stable_id(str(rec.id), "contact")
    values = {"name": rec.contact_name, "title": rec.contact_title, "email": rec.contact_email,
              "is_private": rec.contact_private}
    if current is None:
        current = {"id": key, "phone_id": None, **values}
        plan.add(insert(C).values(id=key, service_id=rec.id, **values),
                 lambda: stored.contacts.__setitem__(rec.id, current))
    elif any(current[k] != v for k, v in values.items()):
        plan.add(update(C).where(C.c.id == key).values(**values),
                 lambda: current.update(values))
    if rec.contact_phone is None:
        return
    phone_values = {"number": rec.contact_phone, "is_private": rec.contact_private}
    phone_id = current["phone_id"]
    if phone_id is None:
        new_id = stable_id(str(rec.id), "contact-phone")
        plan.add(insert(P).values(id=new_id, contact_id=key, **phone_values),
                 lambda: stored.contact_phones.__setitem__(new_id, phone_values))
        plan.updates.append(lambda: current.__setitem__("phone_id", new_id))
    elif stored.contact_phones.get(phone_id) != phone_values:
        plan.add(update(P).where(P.c.id == phone_id).values(**phone_values),
                 lambda: stored.contact_phones.__setitem__(phone_id, phone_values))
