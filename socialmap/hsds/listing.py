"""The use cases behind the /hsds API: pages of services, services at locations,
organizations and taxonomies, single objects, and streams of everything for ndjson."""
from __future__ import annotations

import math
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection

from ..errors import NotFound
from ..queries import hsds as q
from . import nesting
from .export import collect
from .profile import derived_id

Detail = Literal["list", "full", "minimal"]
STREAM_BATCH = 200


@dataclass(frozen=True)
class Paging:
    """Page number (from 1) and page size; no size: everything at once."""

    page: int = 1
    per_page: int | None = 50

    @property
    def offset(self) -> int:
        return 0 if self.per_page is None else (self.page - 1) * self.per_page


def envelope(contents: list[Any], total: int, paging: Paging) -> dict[str, Any]:
    """HSDS's Page: totals, this page's number and size, first/last/empty, contents."""
    pages = 1 if paging.per_page is None else math.ceil(total / paging.per_page)
    return {
        "total_items": total,
        "total_pages": pages,
        "page_number": paging.page,
        "size": len(contents),
        "first_page": paging.page == 1,
        "last_page": paging.page >= pages,
        "empty": not contents,
        "contents": contents,
    }


def _index(conn: Connection, service_ids: Sequence[uuid.UUID], include_demo: bool,
           organization_ids: Sequence[uuid.UUID] = ()) -> nesting.Index:
    return nesting.Index(collect(conn, q.Scope(list(service_ids), include_demo,
                                               list(organization_ids))))


def _service_objects(conn: Connection, ids: Sequence[uuid.UUID], detail: Detail,
                     include_demo: bool) -> list[dict[str, Any]]:
    if not ids:
        return []
    ix = _index(conn, ids, include_demo)
    build = nesting.service if detail == "full" else nesting.service_item
    out = []
    for sid in ids:
        obj = build(ix, str(sid))
        if obj is None:
            continue
        out.append({"id": obj["id"], "last_modified": obj.get("last_modified")}
                   if detail == "minimal" else obj)
    return out


# --- services -------------------------------------------------------------------------------

def services(conn: Connection, query: q.ServiceQuery, paging: Paging, detail: Detail,
             include_demo: bool) -> dict[str, Any]:
    ids, total = q.service_page(conn, query, paging.per_page, paging.offset)
    return envelope(_service_objects(conn, ids, detail, include_demo), total, paging)


def service_stream(conn: Connection, query: q.ServiceQuery, detail: Detail,
                   include_demo: bool) -> Iterator[dict[str, Any]]:
    """Every matching service, in id order, a batch of ids at a time (constant memory)."""
    after = None
    while True:
        ids = q.service_ids_after(conn, query, after, STREAM_BATCH)
        if not ids:
            return
        yield from _service_objects(conn, ids, detail, include_demo)
        after = ids[-1]


def service(conn: Connection, sid: uuid.UUID, include_demo: bool) -> dict[str, Any]:
    found = _service_objects(conn, [sid], "full", include_demo)
    if not found:
        raise NotFound(f"no service with id {sid}", "id")
    return found[0]


# --- services at locations ----------------------------------------------------------------

def _sal_objects(conn: Connection, rows: Sequence[Any], full: bool, include_demo: bool
                 ) -> list[dict[str, Any]]:
    if not rows:
        return []
    ix = _index(conn, sorted({r.service_id for r in rows}), include_demo)
    out = []
    for r in rows:
        build = nesting.service_at_location if full else nesting.service_at_location_item
        obj = build(ix, str(r.id))
        if obj is None:
            continue
        if full:
            svc = nesting.service_item(ix, str(r.service_id))
            if svc:
                obj["service"] = svc
        if r.distance is not None:
            obj["distance"] = int(r.distance)
        out.append(obj)
    return out


def service_at_locations(conn: Connection, query: q.ServiceQuery, paging: Paging, full: bool,
                         include_demo: bool) -> dict[str, Any]:
    rows, total = q.sal_page(conn, query, include_demo, paging.per_page, paging.offset)
    return envelope(_sal_objects(conn, rows, full, include_demo), total, paging)


def service_at_location_stream(conn: Connection, query: q.ServiceQuery, full: bool,
                               include_demo: bool) -> Iterator[dict[str, Any]]:
    """Every match, read from a server-side cursor in batches (constant memory)."""
    for batch in q.sal_stream(conn, query, include_demo, STREAM_BATCH):
        yield from _sal_objects(conn, batch, full, include_demo)


def service_at_location(conn: Connection, sal_id: uuid.UUID, include_demo: bool
                        ) -> dict[str, Any]:
    row = q.sal_by_id(conn, sal_id, include_demo)
    found = _sal_objects(conn, [row], True, include_demo) if row else []
    if not found:
        raise NotFound(f"no service_at_location with id {sal_id}", "id")
    return found[0]


# --- organizations ------------------------------------------------------------------------

def _organization_objects(conn: Connection, rows: Sequence[Any], full: bool,
                          full_service: bool, include_demo: bool) -> list[dict[str, Any]]:
    """Organizations (and services standing in for theirs) as list items or nested."""
    real = [r.id for r in rows if not r.standin]
    standins = [r.id for r in rows if r.standin]
    by_org = q.services_of(conn, real, include_demo) if full else {}
    service_ids = sorted({*standins, *(s for ids in by_org.values() for s in ids)})
    ix = _index(conn, service_ids, include_demo, real)
    out = []
    for r in rows:
        oid = derived_id(r.id, "organization") if r.standin else str(r.id)
        owned = [r.id] if r.standin else by_org.get(r.id, [])
        if full:
            detail = nesting.service if full_service else nesting.service_item
            services_ = [s for s in (detail(ix, str(sid)) for sid in owned) if s]
            obj = nesting.organization(ix, oid, services_)
        else:
            obj = ix.get("organization", oid)
        if obj is not None:
            out.append(dict(obj))
    return out


def organizations(conn: Connection, search: str | None, paging: Paging, full: bool,
                  full_service: bool, include_demo: bool) -> dict[str, Any]:
    rows, total = q.organization_page(conn, search, include_demo, paging.per_page,
                                      paging.offset)
    return envelope(_organization_objects(conn, rows, full, full_service, include_demo),
                    total, paging)


def organization_stream(conn: Connection, search: str | None, full: bool, full_service: bool,
                        include_demo: bool) -> Iterator[dict[str, Any]]:
    offset = 0
    while True:
        rows, _ = q.organization_page(conn, search, include_demo, STREAM_BATCH, offset)
        if not rows:
            return
        yield from _organization_objects(conn, rows, full, full_service, include_demo)
        offset += STREAM_BATCH


@dataclass(frozen=True)
class _OrgRow:
    id: uuid.UUID
    standin: bool


def organization(conn: Connection, oid: uuid.UUID, full_service: bool, include_demo: bool
                 ) -> dict[str, Any]:
    """A fully nested organization; also one that a service without organization stands
    in for (its id derived from the service's)."""
    row: _OrgRow | None = None
    if q.organization_exists(conn, oid, include_demo):
        row = _OrgRow(oid, False)
    else:
        for sid in q.orgless_services(conn, include_demo):
            if derived_id(sid, "organization") == str(oid):
                row = _OrgRow(sid, True)
                break
    found = _organization_objects(conn, [row], True, full_service, include_demo) if row else []
    if not found:
        raise NotFound(f"no organization with id {oid}", "id")
    return found[0]


# --- taxonomies -----------------------------------------------------------------------------

def _taxonomy_tables(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    return collect(conn, q.Scope([], False))


def _matches(row: dict[str, Any], search: str | None, *fields: str) -> bool:
    if not search:
        return True
    needle = search.casefold()
    return any(needle in str(row.get(f) or "").casefold() for f in fields)


def _page_of(rows: list[dict[str, Any]], paging: Paging) -> dict[str, Any]:
    end = None if paging.per_page is None else paging.offset + paging.per_page
    return envelope(rows[paging.offset:end], len(rows), paging)


def taxonomies(conn: Connection, search: str | None, paging: Paging | None
               ) -> dict[str, Any] | list[dict[str, Any]]:
    rows = [r for r in _taxonomy_tables(conn)["taxonomy"]
            if _matches(r, search, "name", "description")]
    rows.sort(key=lambda r: (r["name"].casefold(), r["id"]))
    return rows if paging is None else _page_of(rows, paging)


def taxonomy(conn: Connection, tid: uuid.UUID) -> dict[str, Any]:
    for row in _taxonomy_tables(conn)["taxonomy"]:
        if row["id"] == str(tid):
            return row
    raise NotFound(f"no taxonomy with id {tid}", "id")


def taxonomy_terms(conn: Connection, search: str | None, taxonomy_id: uuid.UUID | None,
                   parent_id: uuid.UUID | None, top_only: bool, paging: Paging | None
                   ) -> dict[str, Any] | list[dict[str, Any]]:
    tables = _taxonomy_tables(conn)
    ix = nesting.Index(tables)
    rows = []
    for row in tables["taxonomy_term"]:
        if taxonomy_id and row.get("taxonomy_id") != str(taxonomy_id):
            continue
        if parent_id and row.get("parent_id") != str(parent_id):
            continue
        if top_only and row.get("parent_id"):
            continue
        if _matches(row, search, "name", "code", "description"):
            rows.append(nesting.term(ix, row["id"]))
    rows.sort(key=lambda r: (r.get("taxonomy") or "", r.get("code") or "", r["id"]))
    return rows if paging is None else _page_of(rows, paging)


def taxonomy_term(conn: Connection, tid: uuid.UUID) -> dict[str, Any]:
    found = nesting.term(nesting.Index(_taxonomy_tables(conn)), str(tid))
    if found is None:
        raise NotFound(f"no taxonomy term with id {tid}", "id")
    return found
