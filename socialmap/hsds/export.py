"""The registry as HSDS tables: streamed for the full export (memory bounded by a batch, the
rows sorted and reference-checked in temporary tables) and, per page of services, in memory
for the API."""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection

from ..queries import funding as funding_q
from ..queries import hsds as q
from ..queries import spill
from ..queries.geography import relax_statement_timeout
from . import mapping as m
from .spec import BY_NAME, TABLES
from .tabular import Tables, json_chunks, sorted_tables, write_zip_to, zip_chunks

BATCH = 2000
Row = dict[str, Any]
TableRows = Iterator[tuple[str, Iterator[Row]]]


def rows(conn: Connection, scope: q.Scope, batch: int = BATCH) -> Iterator[tuple[str, Row]]:
    """Our rows and the kept foreign rows in scope as (HSDS table, row), public data only,
    before the reference check; within a table always in the same order."""

    def read(stmt: Any, resource: str | None = None) -> Iterator[tuple[Any, Row | None]]:
        for part in q.stream(conn, stmt, batch):
            extra = q.extras(conn, resource, [r.id for r in part]) if resource else {}
            for r in part:
                yield r, extra.get(str(r.id))

    for org, ex in read(q.organizations(scope), "organization"):
        yield "organization", m.organization_out(org._mapping, ex)
        for attr in m.profile_attributes("organization", org._mapping):
            yield "attribute", attr
    for svc, ex in read(q.services(scope), "service"):
        row = m.service_out(svc._mapping, ex)
        if not svc.organization_kept:
            standin = m.standin_organization(svc._mapping)
            row["organization_id"] = standin["id"]
            yield "organization", standin
        yield "service", row
        note = m.schedule_note_out(svc._mapping)
        if note:
            yield "schedule", note
        for attr in m.profile_attributes("service", svc._mapping):
            yield "attribute", attr
    location_ids = []
    for loc, ex in read(q.locations(scope), "location"):
        if scope.service_ids is not None:
            location_ids.append(loc.id)
        yield "location", m.location_out(loc._mapping, ex)
        address = m.address_out(loc._mapping, ex)
        if address:
            yield "address", address
        for attr in m.profile_attributes("location", loc._mapping):
            yield "attribute", attr
    for sal, ex in read(q.service_at_locations(scope), "service_at_location"):
        yield "service_at_location", m.sal_out(sal._mapping, ex)
    for slot, ex in read(q.schedules(scope), "schedule"):
        yield "schedule", m.schedule_out(slot._mapping, ex)
    for area, _ in read(q.service_areas(scope)):
        yield "service_area", m.service_area_out(area._mapping)
    for fund, _ in read(funding_q.for_export(scope)):
        yield "funding", m.funding_out(fund._mapping)
        for attr in m.profile_attributes("funding", fund._mapping):
            yield "attribute", attr
    for contact, ex in read(q.contacts(scope), "contact"):
        yield "contact", m.contact_out(contact._mapping, ex)
    for phone, ex in read(q.phones(scope), "phone"):
        yield "phone", m.phone_out(phone._mapping, ex)
    for attr, ex in read(q.attributes(scope), "attribute"):
        yield "attribute", m.attribute_out(attr._mapping, ex)
    for tx, _ in read(q.taxonomies()):
        yield "taxonomy", m.taxonomy_out(tx._mapping)
    for profile_tx in m.profile_taxonomies():
        yield "taxonomy", profile_tx
    for term, _ in read(q.taxonomy_terms()):
        yield "taxonomy_term", m.term_out(term._mapping)
    for profile_term in m.profile_terms():
        yield "taxonomy_term", profile_term
    for rec, _ in read(q.records(scope, location_ids)):
        yield rec.resource, m.clean(rec.resource, rec.data)


def collect(conn: Connection, scope: q.Scope) -> Tables:
    """The rows in scope as HSDS tables in memory, references checked (a row that would point
    at something not exported loses that pointer, or is left out when the pointer is
    required). For the API's pages; the full export streams instead."""
    tables: dict[str, list[Row]] = {name: [] for name in BY_NAME}
    for table, row in rows(conn, scope):
        tables[table].append(row)
    return sorted_tables(referenced(tables))


def referenced(tables: dict[str, list[Row]]) -> dict[str, list[Row]]:
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


# --- the full export, streamed ----------------------------------------------------------------

def _key(value: Any) -> str:
    """A value as the text the spill tables compare: a string as itself, anything else
    marked, so that the number 5 never matches the id "5" (as in Python)."""
    return value if isinstance(value, str) else "\x01" + json.dumps(value)


def _pointers(seq: int, table: str, row: Row) -> Iterator[tuple[int, str, str, str | None,
                                                                 bool]]:
    """The pointers of a row that `referenced` checks, as spill references."""
    spec = BY_NAME[table]
    for fname, target in spec.references.items():
        value = row.get(fname)
        if value is not None:
            yield seq, fname, target, _key(value), spec.field(fname).required  # type: ignore[union-attr]
    entity = row.get("link_entity")
    if table == "attribute" and isinstance(entity, str) and entity in BY_NAME:
        link = row.get("link_id")
        yield seq, "link_id", entity, None if link is None else _key(link), True


def _spill(conn: Connection, scope: q.Scope, batch: int) -> None:
    produced = enumerate(rows(conn, scope, batch))
    while chunk := list(islice(produced, batch * 4)):
        spill.add(conn,
                  [(seq, table, _key(row["id"]),
                    json.dumps(row, ensure_ascii=False, separators=(",", ":")))
                   for seq, (table, row) in chunk],
                  [ref for seq, (table, row) in chunk for ref in _pointers(seq, table, row)])


def _table_rows(conn: Connection, table: str, batch: int) -> Iterator[Row]:
    bodies = spill.read(conn, table, batch)
    try:
        for body, leave_out in bodies:
            row = json.loads(body)
            for name in leave_out or ():
                row.pop(name, None)
            yield row
    finally:
        bodies.close()


def stream_tables(conn: Connection, include_demo: bool, batch: int = BATCH) -> TableRows:
    """Every exported table in specification order, each with its rows in id order and
    references checked, as `collect` gives them; memory holds a few batches of rows.
    The rows are written and checked now (so that a failure comes before any output), and
    read as the result is consumed."""
    spill.create(conn)
    _spill(conn, q.Scope(None, include_demo), batch)
    spill.check_references(conn)
    return _read_tables(conn, batch)


def _read_tables(conn: Connection, batch: int) -> TableRows:
    """The tables one after the other; closed early (a download cut off), they close their
    cursor and drop the spill (which the transaction's end would drop too)."""
    current: Iterator[Row] | None = None
    try:
        for table in TABLES:
            if table.name != "metadata":
                current = _table_rows(conn, table.name, batch)
                yield table.name, current
                current.close()
    finally:
        if current is not None:
            current.close()
        spill.drop(conn)


def export_json(conn: Connection, include_demo: bool) -> Iterator[bytes]:
    """The whole registry as HSDS tabular JSON, in pieces."""
    return json_chunks(stream_tables(conn, include_demo))


def export_zip(conn: Connection, include_demo: bool) -> Iterator[bytes]:
    """The whole registry as an HSDS Tabular Data Package (zip), in pieces, for a stream that
    cannot seek (sizes follow each file's data)."""
    return zip_chunks(stream_tables(conn, include_demo))


def export_file(conn: Connection, include_demo: bool, kind: str, path: Path) -> int:
    """Write the export to `path` ('json' or 'zip'); returns its size in bytes."""
    # A registry of a million records takes minutes of sorting in its temporary tables.
    relax_statement_timeout(conn, "2h")
    with path.open("wb") as out:
        if kind == "zip":
            write_zip_to(out, stream_tables(conn, include_demo))
        else:
            _write_all(out, export_json(conn, include_demo))
        return out.tell()


def _write_all(out: IO[bytes], chunks: Iterable[bytes]) -> None:
    for chunk in chunks:
        out.write(chunk)
