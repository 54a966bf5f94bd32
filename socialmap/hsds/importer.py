"""Import HSDS 3.0 (JSON or a Tabular Data Package): check every row, then write each one in
its own savepoint, upserting by id. A row that fails is reported and not written; the rest is.

Where each HSDS row goes (docs/OPEN_DATA.md has the table): rows that fit our model go to our
tables, with the HSDS fields we have no column for kept beside them ('extra'); rows of tables we
do not model, or that cannot be placed in ours (a location without valid coordinates, a
schedule that is more than weekly opening hours), are kept verbatim ('record') and exported
again. Nothing is deleted. Writes are logged in the change log as source 'hsds-import'.
"""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from ..db import set_actor
from ..queries import hsds as q
from ..queries.funding import F as FUNDING
from ..queries.registry import place_points
from . import mapping as m
from . import profile
from .spec import BY_NAME, TABLES
from .tabular import InRow, Source, read_path
from .validate import check_row

SOURCE = "hsds-import"
# Points closer than this (metres, per axis) are the same point: WGS84 with 7 decimals is
# about 1 cm, so exporting and importing again moves nothing.
SAME_POINT_M = 0.05
# The order of writing: what is pointed at before what points at it.
ORDER = ("taxonomy", "taxonomy_term", "organization", "program", "service", "location",
         "address", "service_at_location", "contact", "phone", "schedule", "service_area",
         "funding", "cost_option", "required_document", "organization_identifier", "language",
         "accessibility", "meta_table_description", "attribute")


@dataclass(frozen=True)
class Rejection:
    """A row that was not written, and why."""

    where: str
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.where}: {'; '.join(self.reasons)}"


@dataclass
class ImportReport:
    """What an import did: counts per table and outcome, rejected rows, warnings."""

    rows: int = 0
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    rejected: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(n for (_, o), n in self.counts.items() if o == outcome)

    def summary(self) -> str:
        """One line for the command line."""
        return (f"{self.rows} rows: {self.count('created')} created, "
                f"{self.count('updated')} updated, {self.count('unchanged')} unchanged, "
                f"{self.count('kept')} kept as HSDS records, {len(self.rejected)} rejected, "
                f"{len(self.warnings)} warnings")


@dataclass
class _Row:
    table: str
    where: str
    data: dict[str, Any]

    @property
    def id(self) -> uuid.UUID:
        return uuid.UUID(self.data["id"])


class RowError(Exception):
    """This row cannot be written; the message says why."""


def import_path(s: Session, path: Path, actor: str) -> ImportReport:
    """Import a .json file, a .zip package or a directory of CSV files; the caller commits."""
    return import_source(s, read_path(path), actor)


def import_source(s: Session, source: Source, actor: str) -> ImportReport:
    """Check and write all rows of `source` in the session's transaction."""
    set_actor(s, actor, SOURCE)
    report = ImportReport(rows=len(source.rows), warnings=list(source.notes))
    rows = _checked(source.rows, report)
    _Writer(s, rows, report).run()
    order = {r.where: i for i, r in enumerate(source.rows)}
    report.rejected.sort(key=lambda r: order.get(r.where, len(order)))
    return report


def _checked(raw: list[InRow], report: ImportReport) -> dict[str, dict[str, _Row]]:
    """Valid rows per table by id. A row given more than once (nested JSON repeats objects)
    is merged first, then checked; copies that disagree are rejected."""
    merged: dict[tuple[str, str], InRow] = {}
    skipped_metadata = 0
    for i, r in enumerate(raw):
        if "__error__" in r.data:
            report.rejected.append(Rejection(r.where, (r.data["__error__"],)))
            continue
        if r.table == "metadata":
            skipped_metadata += 1
            continue
        rid = r.data.get("id")
        key = (r.table, str(rid).lower() if isinstance(rid, str) else f"#{i}")
        seen = merged.get(key)
        if seen is None:
            merged[key] = InRow(r.table, r.where, dict(r.data))
            continue
        clash = sorted(k for k, v in r.data.items()
                       if seen.data.get(k) not in (None, "") and v not in (None, "")
                       and seen.data[k] != v)
        if clash:
            report.rejected.append(Rejection(r.where, (
                f"id {rid} was given before ({seen.where}) with another {', '.join(clash)}",)))
            continue
        seen.data.update({k: v for k, v in r.data.items() if v not in (None, "")})
    out: dict[str, dict[str, _Row]] = {t.name: {} for t in TABLES}
    unknown: set[tuple[str, str]] = set()
    for r in merged.values():
        data, problems, extra_names = check_row(r.table, r.data)
        unknown |= {(r.table, n) for n in extra_names}
        if problems:
            report.rejected.append(Rejection(r.where, tuple(problems)))
            continue
        out[r.table][data["id"]] = _Row(r.table, r.where, data)
    for table, name in sorted(unknown):
        report.warnings.append(f"{table}.{name}: not an HSDS 3.0 field, ignored")
    if skipped_metadata:
        report.warnings.append(f"metadata: {skipped_metadata} rows skipped; socialmap keeps "
                               "its own change log")
    return out


class _Writer:
    """Writes checked rows table by table, remembering where each id went."""

    def __init__(self, s: Session, rows: dict[str, dict[str, _Row]], report: ImportReport
                 ) -> None:
        self.s = s
        self.conn: Connection = s.connection()
        self.rows = rows
        self.report = report
        self.placed: dict[tuple[str, str], str | None] = {}
        self.stored = self._stored()
        self.terms = {str(k): v for k, v in q.term_facets(self.conn).items()}
        self.taxonomies = {str(t) for t in q.taxonomy_ids(self.conn)} | set(
            profile.PROFILE_TAXONOMIES)
        attributes = [r.data for r in rows["attribute"].values()]
        self.features = m.profile_features(attributes)
        self.notes = self._notes()
        self.addresses = self._addresses()
        self.kernen = self._kernen()
        self.standins = self._standins()

    # --- what exists --------------------------------------------------------------------------

    def _stored(self) -> dict[tuple[str, str], set[str]]:
        """Where the ids this import names are stored: 'ours', 'record' and/or 'extra'."""
        wanted: dict[str, set[str]] = {t.name: set() for t in TABLES}
        for table, rows in self.rows.items():
            spec = BY_NAME[table]
            for row in rows.values():
                wanted[table].add(row.data["id"])
                for fname, target in spec.references.items():
                    if row.data.get(fname):
                        wanted[target].add(row.data[fname])
                if table == "attribute" and row.data.get("link_entity") in wanted:
                    wanted[row.data["link_entity"]].add(row.data["link_id"])
                if table == "location" and row.data.get("organization_id"):
                    wanted["organization"].add(row.data["organization_id"])
        found: dict[tuple[str, str], set[str]] = {}
        for table, ids in wanted.items():
            for key, kinds in q.existing_ids(self.conn, table,
                                             [uuid.UUID(i) for i in ids]).items():
                found[(table, str(key))] = kinds
        return found

    def where(self, table: str, rid: str | None) -> str | None:
        """'ours', 'record' or None (not known, or its row failed)."""
        if rid is None:
            return None
        if (table, rid) in self.placed:
            return self.placed[(table, rid)]
        if table == "taxonomy_term" and (rid in self.terms or rid in profile.TERMS_BY_ID):
            return "ours"
        if table == "taxonomy" and rid in self.taxonomies:
            return "ours"
        kinds = self.stored.get((table, rid), set())
        return "ours" if "ours" in kinds else "record" if "record" in kinds else None

    def _notes(self) -> dict[str, _Row]:
        notes: dict[str, _Row] = {}
        for row in self.rows["schedule"].values():
            if m.is_note(row.data):
                notes.setdefault(row.data["service_id"], row)
        return notes

    def _addresses(self) -> dict[str, _Row]:
        """The physical address of each location (the first one given)."""
        chosen: dict[str, _Row] = {}
        for row in self.rows["address"].values():
            if row.data.get("location_id") and row.data["address_type"] == "physical":
                chosen.setdefault(row.data["location_id"], row)
        return chosen

    def _standins(self) -> set[str]:
        """Organizations an export made up for services without one (id derived from the
        service's, same name): not imported, so the service stays without organization."""
        out = set()
        for svc in self.rows["service"].values():
            org_id = svc.data.get("organization_id")
            org = self.rows["organization"].get(org_id or "")
            if (org is not None and org_id == profile.derived_id(svc.data["id"], "organization")
                    and org.data["name"] == svc.data["name"]):
                out.add(org_id)
        return out

    def _kernen(self) -> set[str]:
        codes = {profile.kern_of_uri(r.data.get("uri")) for r in self.rows["service_area"].values()}
        return q.known_kernen(self.conn, {c for c in codes if c})

    # --- running --------------------------------------------------------------------------------

    def run(self) -> None:
        writers: dict[str, Callable[[_Row], str]] = {
            "taxonomy": self.taxonomy, "taxonomy_term": self.taxonomy_term,
            "organization": self.organization, "service": self.service,
            "location": self.location, "address": self.address,
            "service_at_location": self.service_at_location,
            "contact": self.contact, "phone": self.phone, "schedule": self.schedule,
            "service_area": self.service_area, "funding": self.funding,
            "attribute": self.attribute,
        }
        for table in ORDER:
            write = writers.get(table, self.record)
            for row in self.rows[table].values():
                self._one(row, write)

    def _one(self, row: _Row, write: Callable[[_Row], str]) -> None:
        key = (row.table, row.data["id"])
        try:
            with self.s.begin_nested():
                outcome = write(row)
        except RowError as exc:
            self.placed[key] = None
            self.report.rejected.append(Rejection(row.where, (str(exc),)))
            return
        except Exception as exc:  # noqa: BLE001 - a database error rejects just this row
            self.placed[key] = None
            message = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            self.report.rejected.append(Rejection(row.where, (f"database: {message}",)))
            return
        self.placed.setdefault(key, "record" if outcome == "kept" else "ours")
        self.report.counts[(row.table, outcome)] += 1

    def warn(self, row: _Row, message: str) -> None:
        self.report.warnings.append(f"{row.where}: {message}")

    def ref(self, row: _Row, fname: str, *, required: bool = False) -> str | None:
        """Where the row's pointer `fname` points ('ours' or 'record'); a pointer at nothing
        is dropped with a warning, or rejects the row when it is required."""
        value = row.data.get(fname)
        if value is None:
            return None
        target = BY_NAME[row.table].references[fname]
        found = self.where(target, value)
        if found is None:
            if required:
                raise RowError(f"{fname}: no {target} with id {value}")
            self.warn(row, f"{fname}: no {target} with id {value}; link dropped")
            del row.data[fname]
        return found

    def _ours(self, row: _Row, table: str, values: dict[str, Any], extra: dict[str, Any],
              owners: dict[str, Any], insert_only: dict[str, Any] | None = None) -> str:
        """Upsert into our table, keep the extras beside it, retire a verbatim copy."""
        key = row.id
        kept = self.stored.get((table, row.data["id"]), set())
        outcome = q.upsert(self.conn, q.OURS[table], key, values, insert_only)
        changed: str | bool | None = False
        if extra:
            changed = q.put_record(self.conn, table, key, "extra", extra, owners)
        elif "extra" in kept:
            changed = q.drop_record(self.conn, table, key, "extra")
        if "record" in kept:
            q.drop_record(self.conn, table, key, "record")
        return outcome or ("updated" if changed else "unchanged")

    def _record(self, row: _Row, owners: dict[str, Any]) -> str:
        if "ours" in self.stored.get((row.table, row.data["id"]), set()):
            raise RowError(f"{row.table} {row.data['id']} is in the registry, but this version "
                           "cannot be stored there")
        q.put_record(self.conn, row.table, row.id, "record", m.clean(row.table, row.data),
                     owners)
        return "kept"

    def _owners(self, row: _Row) -> dict[str, uuid.UUID | None]:
        """The registry rows a verbatim record belongs to (it goes when they go)."""
        out: dict[str, uuid.UUID | None] = {}
        for fname, target in (("service_id", "service"), ("organization_id", "organization"),
                              ("location_id", "location")):
            value = row.data.get(fname)
            if value and self.where(target, value) == "ours":
                out[fname] = uuid.UUID(value)
        return out

    # --- one writer per table -------------------------------------------------------------------

    def record(self, row: _Row) -> str:
        for fname in BY_NAME[row.table].references:
            spec = BY_NAME[row.table].field(fname)
            self.ref(row, fname, required=bool(spec and spec.required))
        return self._record(row, self._owners(row))

    def taxonomy(self, row: _Row) -> str:
        if row.data["id"] in self.taxonomies:
            return "unchanged"  # ours: reference data kept by the migrations
        return self._record(row, {})

    def taxonomy_term(self, row: _Row) -> str:
        if row.data["id"] in self.terms or row.data["id"] in profile.TERMS_BY_ID:
            return "unchanged"
        self.ref(row, "taxonomy_id")
        return self._record(row, {})

    def organization(self, row: _Row) -> str:
        if row.data["id"] in self.standins:
            self.placed[("organization", row.data["id"])] = "standin"
            return "unchanged"  # an export's stand-in for a service without organization
        mapped = m.organization_in(row.data, self.features.get(row.data["id"], {}))
        return self._ours(row, "organization", mapped.values, mapped.extra,
                          {"organization_id": row.id})

    def service(self, row: _Row) -> str:
        if row.data.get("organization_id") in self.standins:
            del row.data["organization_id"]
        org = row.data.get("organization_id") if self.ref(row, "organization_id") else None
        self.ref(row, "program_id")
        note_row = self.notes.get(row.data["id"])
        mapped = m.service_in(row.data, self.features.get(row.data["id"], {}),
                              uuid.UUID(org) if org else None,
                              note_row.data["description"] if note_row else None)
        outcome = self._ours(row, "service", mapped.values, mapped.extra,
                             {"service_id": row.id}, mapped.insert_only)
        if note_row is not None:
            self.placed[("schedule", note_row.data["id"])] = "ours"
        return outcome

    def location(self, row: _Row) -> str:
        self.ref(row, "organization_id")
        address = self.addresses.get(row.data["id"])
        features = self.features.get(row.data["id"], {})
        placed = m.location_in(row.data, address.data if address else None, features)
        if isinstance(placed, str):
            self.warn(row, placed)
            return self._record(row, {})
        point = place_points(self.conn, [(placed.lon, placed.lat)], 4326)[0]
        kept = placed.extra.get("address", {})
        if point.kern_code:  # in the Netherlands: provincie and country come from the kern
            kept.pop("state_province", None)
            kept.pop("country", None)
        if not kept:
            placed.extra.pop("address", None)
        values = {**placed.values, "kern_code": point.kern_code,
                  "pc4": m.pc4_of(placed.values["postal_code"]) or point.pc4}
        x, y = point.x, point.y
        now = q.location_now(self.conn, row.id)
        if now is not None and address is None:
            # No address given (HSDS has none without street, postcode and place): the stored
            # address stays, as import never deletes.
            for name in ("address", "postal_code", "city", "pc4"):
                values.pop(name)
        if now is not None and _public_copy_of_private(values, now, point.kern_code):
            # A public export shows a private location at its kern point only; importing it
            # back must not overwrite the exact point and address an editor knows.
            for name in ("address", "postal_code", "city", "pc4", "precision"):
                values.pop(name, None)
            x, y = now.x, now.y
        if now is None or q.point_moved(self.conn, row.id, x, y, SAME_POINT_M):
            values["geom"] = q.rd_point(x, y)
        outcome = self._ours(row, "location", values, placed.extra, {"location_id": row.id})
        if address is not None:
            self.placed[("address", address.data["id"])] = "ours"
        return outcome

    def address(self, row: _Row) -> str:
        if self.placed.get(("address", row.data["id"])) == "ours":
            return "unchanged"  # the columns of its location
        return self.record(row)

    def service_at_location(self, row: _Row) -> str:
        service = self.ref(row, "service_id", required=True)
        location = self.ref(row, "location_id", required=True)
        if service == location == "ours":
            pair = {"service_id": uuid.UUID(row.data["service_id"]),
                    "location_id": uuid.UUID(row.data["location_id"])}
            other = q.taken_pair(self.conn, q.SAL, row.id, pair)
            if other:
                raise RowError(f"service {pair['service_id']} is already at location "
                               f"{pair['location_id']} (as {other})")
            return self._ours(row, "service_at_location", pair,
                              m.extras_of("service_at_location", row.data),
                              {"service_id": pair["service_id"]})
        return self._record(row, self._owners(row))

    def _links(self, row: _Row, names: Iterable[str]) -> dict[str, str]:
        return {n: row.data[n] for n in names if row.data.get(n) and self.ref(row, n)}

    def contact(self, row: _Row) -> str:
        links = self._links(row, ("service_id", "organization_id", "service_at_location_id",
                                  "location_id"))
        if self.where("service", links.get("service_id")) == "ours":
            owner = {"service_id": uuid.UUID(links.pop("service_id")), "organization_id": None}
        elif self.where("organization", links.get("organization_id")) == "ours":
            owner = {"service_id": None,
                     "organization_id": uuid.UUID(links.pop("organization_id"))}
        else:
            return self._record(row, self._owners(row))
        mapped = m.contact_in(row.data, owner, links)
        return self._ours(row, "contact", mapped.values, mapped.extra,
                          {k: v for k, v in owner.items() if v})

    def phone(self, row: _Row) -> str:
        links = self._links(row, ("contact_id", "service_id", "organization_id", "location_id",
                                  "service_at_location_id"))
        if len(row.data["number"]) > m.MAX_PHONE:
            self.warn(row, f"number: longer than {m.MAX_PHONE} characters; kept as HSDS data")
            return self._record(row, self._owners(row))
        if self.where("contact", links.get("contact_id")) == "ours":
            owner = {"contact_id": uuid.UUID(links.pop("contact_id")), "service_id": None}
            service = q.contact_service(self.conn, owner["contact_id"])  # type: ignore[arg-type]
        elif self.where("service", links.get("service_id")) == "ours":
            owner = {"contact_id": None, "service_id": uuid.UUID(links.pop("service_id"))}
            service = owner["service_id"]
        else:
            return self._record(row, self._owners(row))
        mapped = m.phone_in(row.data, owner, links)
        return self._ours(row, "phone", mapped.values, mapped.extra,
                          {"service_id": service} if service else {})

    def schedule(self, row: _Row) -> str:
        if self.placed.get(("schedule", row.data["id"])) == "ours":
            return "unchanged"  # a note, written with its service
        links = self._links(row, ("service_id", "location_id", "service_at_location_id"))
        service = links.get("service_id") if self.where(
            "service", links.get("service_id")) == "ours" else None
        sal = links.get("service_at_location_id")
        if service is None and sal and self.where("service_at_location", sal) == "ours":
            found = q.service_owner_of_sal(self.conn, uuid.UUID(sal))
            service = str(found) if found else None
        if m.is_note(row.data) and service:
            return q.upsert(self.conn, q.S, uuid.UUID(service),
                            {"schedule_note": row.data["description"]}) or "unchanged"
        slots = m.weekly_slots(row.data)
        if not slots or not service:
            return self._record(row, self._owners(row))
        outcomes = []
        for i, slot in enumerate(slots):
            key = row.id if i == 0 else uuid.UUID(profile.derived_id(row.id, f"day-{slot[0]}"))
            mapped = m.schedule_in(row.data, uuid.UUID(service), slot)
            part = _Row("schedule", row.where, {**row.data, "id": str(key)})
            outcomes.append(self._ours(part, "schedule", mapped.values, mapped.extra,
                                       {"service_id": uuid.UUID(service)}))
        return "created" if "created" in outcomes else (
            "updated" if "updated" in outcomes else "unchanged")

    def service_area(self, row: _Row) -> str:
        service = self.ref(row, "service_id")
        kern = profile.kern_of_uri(row.data.get("uri"))
        if service == "ours" and kern in self.kernen:
            pair = {"service_id": uuid.UUID(row.data["service_id"]), "kern_code": kern}
            other = q.taken_pair(self.conn, q.SA, row.id, pair)
            if other:
                raise RowError(f"service {pair['service_id']} already serves kern {kern} "
                               f"(as {other})")
            return self._ours(row, "service_area", pair, {}, {"service_id": pair["service_id"]})
        return self._record(row, self._owners(row))

    def funding(self, row: _Row) -> str:
        """A service's funding into ours (its end date from the profile attribute)."""
        service = self.ref(row, "service_id")
        self.ref(row, "organization_id")
        if service == "ours" and str(row.data.get("source") or "").strip():
            try:
                values = m.funding_in(row.data, self.features.get(row.data["id"], {}))
            except ValueError as exc:
                raise RowError(f"ends_on (profile attribute): {exc}") from exc
            kept = self.stored.get(("funding", row.data["id"]), set())
            outcome = q.upsert(self.conn, FUNDING, row.id, values)
            if "record" in kept:
                q.drop_record(self.conn, "funding", row.id, "record")
            return outcome or "unchanged"
        return self._record(row, self._owners(row))

    def attribute(self, row: _Row) -> str:
        entity, link = row.data["link_entity"], row.data["link_id"]
        if m.is_profile_attribute(row.data):
            if entity in BY_NAME and self.where(entity, link) == "ours":
                return "unchanged"  # folded into the columns of the row it describes
            raise RowError(f"describes {entity} {link}, which is not in the registry")
        term = row.data["taxonomy_term_id"]
        if self.where("taxonomy_term", term) is None:
            raise RowError(f"taxonomy_term_id: no taxonomy term with id {term}")
        facet = self.terms.get(term)
        if entity == "service" and facet and self.where("service", link) == "ours":
            mapped = m.attribute_in(row.data, uuid.UUID(link), uuid.UUID(term), facet)
            pair = {"service_id": uuid.UUID(link), "taxonomy_term_id": uuid.UUID(term)}
            other = q.taken_pair(self.conn, q.A, row.id, pair)
            if other:
                raise RowError(f"service {link} already has term {term} (as {other})")
            return self._ours(row, "attribute", mapped.values, mapped.extra,
                              {"service_id": uuid.UUID(link)})
        owners = {}
        if entity in ("service", "organization", "location") and self.where(entity, link) == "ours":
            owners[f"{entity}_id"] = uuid.UUID(link)
        return self._record(row, owners)


def _public_copy_of_private(values: dict[str, Any], now: Any, kern_code: str | None) -> bool:
    return (values["location_type"] == now.location_type == "private"
            and values["precision"] == "kern" and now.precision != "kern"
            and kern_code == now.kern_code)
