"""Statements behind the HSDS API, export and import.

Reads return our rows as they are published: public data only (no private contact or phone, a
private location at its kern point and without address). Points leave the database in WGS84.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Float,
    Select,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    false,
    func,
    insert,
    null,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID

from ..models import (
    Attribute,
    Contact,
    Gemeente,
    HsdsRecord,
    Kern,
    Location,
    Organization,
    Phone,
    Provincie,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from .filters import Filters, filter_clauses
from .upsert import upsert as upsert_row

S, ORG, L = Service.__table__, Organization.__table__, Location.__table__
SAL, SA, K, G, PV = (ServiceAtLocation.__table__, ServiceArea.__table__, Kern.__table__,
                     Gemeente.__table__, Provincie.__table__)
A, T, TX = Attribute.__table__, TaxonomyTerm.__table__, Taxonomy.__table__
SC, C, P = Schedule.__table__, Contact.__table__, Phone.__table__
R = HsdsRecord.__table__

# Our tables by HSDS table name.
OURS: dict[str, Table] = {
    "organization": ORG, "service": S, "location": L, "service_at_location": SAL,
    "service_area": SA, "attribute": A, "schedule": SC, "contact": C, "phone": P,
    "taxonomy": TX, "taxonomy_term": T,
}
PRIVATE = L.c.location_type == "private"


def uuids(name: str, values: Iterable[Any]) -> BindParameter[Any]:
    """A list of ids as one array parameter (no limit on how many)."""
    return bindparam(name, list(values), type_=ARRAY(PG_UUID(as_uuid=True)))


@dataclass(frozen=True)
class Scope:
    """Which services to read (None: the whole registry) and whether demo records count."""

    service_ids: Sequence[uuid.UUID] | None = None
    include_demo: bool = True
    organization_ids: Sequence[uuid.UUID] = ()

    def has(self, column: ColumnElement[Any]) -> ColumnElement[bool]:
        """`column` (a service id) is a service in scope."""
        if self.service_ids is None and self.include_demo:
            return true()
        return column.in_(select(S.c.id).where(self.chosen(S.c.id), self.demo(S.c.is_demo)))

    def chosen(self, column: ColumnElement[Any]) -> ColumnElement[bool]:
        return true() if self.service_ids is None else column == any_(self.ids())

    def ids(self) -> BindParameter[Any]:
        return uuids("scope_ids", self.service_ids or ())

    def demo(self, column: ColumnElement[Any]) -> ColumnElement[bool]:
        return true() if self.include_demo else column.is_(False)


# --- reading our rows -----------------------------------------------------------------------
# Statements, so that a page of the API fetches its rows at once and the full export streams
# them from a server-side cursor (`stream`).

def stream(conn: Connection, stmt: Select[Any], batch: int) -> Iterator[list[Any]]:
    """The rows of `stmt` in batches of `batch`, from a server-side cursor."""
    result = conn.execute(stmt, execution_options={"stream_results": True, "yield_per": batch})
    # partitions() needs the size: without it this result gave every row in one partition.
    for part in result.partitions(batch):
        yield list(part)


def services(scope: Scope) -> Select[Any]:
    """Services, with `organization_kept`: whether their organization is exported too."""
    cols = [c for c in S.c if c.name not in ("search_vector", "version", "created_at")]
    kept = exists().where(ORG.c.id == S.c.organization_id, scope.demo(ORG.c.is_demo))
    return (select(*cols, kept.label("organization_kept"))
            .where(scope.chosen(S.c.id), scope.demo(S.c.is_demo)).order_by(S.c.id))


def organizations(scope: Scope) -> Select[Any]:
    """Organizations: all of them, or those of the services in scope."""
    where = scope.demo(ORG.c.is_demo)
    if scope.service_ids is not None:
        where = and_(where, or_(ORG.c.id.in_(select(S.c.organization_id)
                                             .where(scope.chosen(S.c.id))),
                                ORG.c.id == any_(uuids("orgs", scope.organization_ids))))
    cols = [c for c in ORG.c if c.name not in ("created_at", "last_modified")]
    return select(*cols).where(where).order_by(ORG.c.id)


def locations(scope: Scope) -> Select[Any]:
    """Locations (all, or those of the services in scope) as published: a private one at its
    kern point without address, postcode or PC4; with the provincie of its kern."""
    shown = func.ST_Transform(L.c.shown_geom, 4326)
    where = scope.demo(L.c.is_demo)
    if scope.service_ids is not None:
        where = and_(where, L.c.id.in_(select(SAL.c.location_id)
                                       .where(scope.chosen(SAL.c.service_id))))
    return (
        select(L.c.id, L.c.name, L.c.location_type, L.c.kern_code, L.c.is_demo,
               case((PRIVATE, null()), else_=L.c.address).label("address"),
               case((PRIVATE, null()), else_=L.c.postal_code).label("postal_code"),
               case((PRIVATE, null()), else_=L.c.city).label("city"),
               case((PRIVATE, "kern"), else_=L.c.precision).label("precision"),
               PV.c.name.label("provincie_name"),
               func.ST_X(shown).label("lon"), func.ST_Y(shown).label("lat"))
        .select_from(L.outerjoin(K, K.c.code == L.c.kern_code)
                     .outerjoin(G, G.c.code == K.c.gemeente_code)
                     .outerjoin(PV, PV.c.code == G.c.provincie_code))
        .where(where).order_by(L.c.id)
    )


def service_at_locations(scope: Scope) -> Select[Any]:
    return select(SAL).where(scope.has(SAL.c.service_id)).order_by(SAL.c.id)


def schedules(scope: Scope) -> Select[Any]:
    return select(SC).where(scope.has(SC.c.service_id)).order_by(SC.c.id)


def service_areas(scope: Scope) -> Select[Any]:
    return (
        select(SA.c.id, SA.c.service_id, SA.c.kern_code, K.c.name.label("kern_name"),
               G.c.name.label("gemeente_name"))
        .select_from(SA.join(K, K.c.code == SA.c.kern_code).join(G, G.c.code == K.c.gemeente_code))
        .where(scope.has(SA.c.service_id)).order_by(SA.c.id)
    )


def attributes(scope: Scope) -> Select[Any]:
    return (
        select(A, TX.c.facet)
        .select_from(A.join(T, T.c.id == A.c.taxonomy_term_id).join(TX, TX.c.id == T.c.taxonomy_id))
        .where(scope.has(A.c.service_id)).order_by(A.c.id)
    )


def _public_contacts(scope: Scope) -> ColumnElement[bool]:
    """Contacts that are not private, of a service in scope or of its organization."""
    if scope.service_ids is None:
        return and_(~C.c.is_private, or_(C.c.organization_id.is_not(None),
                                         scope.has(C.c.service_id)))
    orgs = select(S.c.organization_id).where(scope.chosen(S.c.id))
    return and_(~C.c.is_private, or_(
        scope.has(C.c.service_id), C.c.organization_id.in_(orgs),
        C.c.organization_id == any_(uuids("orgs", scope.organization_ids))))


def contacts(scope: Scope) -> Select[Any]:
    """Public contacts of the services (and their organizations) in scope."""
    return select(C).where(_public_contacts(scope)).order_by(C.c.id)


def phones(scope: Scope) -> Select[Any]:
    """Public phones of the services in scope and of their public contacts; never a phone
    of a private contact, whatever its own flag says."""
    of_service = and_(P.c.service_id.is_not(None), scope.has(P.c.service_id))
    of_contact = P.c.contact_id.in_(select(C.c.id).where(_public_contacts(scope)))
    return select(P).where(~P.c.is_private, or_(of_service, of_contact)).order_by(P.c.id)


def taxonomies() -> Select[Any]:
    return select(TX).order_by(TX.c.id)


def taxonomy_terms() -> Select[Any]:
    return (select(T, TX.c.facet, TX.c.name.label("taxonomy_name"))
            .join(TX, TX.c.id == T.c.taxonomy_id).order_by(T.c.id))


def extras(conn: Connection, resource: str, ids: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """The extra HSDS fields of our rows of one table, by id."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = conn.execute(select(R.c.id, R.c.data).where(
        R.c.kind == "extra", R.c.resource == resource,
        R.c.id == any_(uuids("ids", wanted))))
    return {str(r.id): r.data for r in rows}


def records(scope: Scope, location_ids: Sequence[Any] = ()) -> Select[Any]:
    """Foreign HSDS rows kept verbatim: all, or those tied to what is in scope (plus foreign
    taxonomies and terms, which attributes refer to)."""
    where: ColumnElement[bool] = true()
    if scope.service_ids is not None:
        where = or_(
            scope.chosen(R.c.service_id),
            R.c.organization_id.in_(select(S.c.organization_id).where(scope.chosen(S.c.id))),
            R.c.organization_id == any_(uuids("orgs", scope.organization_ids)),
            R.c.location_id == any_(uuids("locations", location_ids)),
            R.c.resource.in_(("taxonomy", "taxonomy_term")),
        )
    return (select(R.c.resource, R.c.id, R.c.data).where(R.c.kind == "record", where)
            .order_by(R.c.resource, R.c.id))


# --- listing for the API --------------------------------------------------------------------

@dataclass(frozen=True)
class Around:
    """A centre (RD New) and a distance in metres; no distance: the centre's kern."""

    x: float
    y: float
    metres: float | None = None
    kern_code: str | None = None


@dataclass(frozen=True)
class ServiceQuery:
    """What /hsds/services and /hsds/service_at_locations filter on."""

    filters: Filters
    taxonomy_term_id: uuid.UUID | None = None
    taxonomy_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    modified_after: datetime | None = None
    kern_code: str | None = None
    around: Around | None = None


def _origin(a: Around) -> ColumnElement[Any]:
    return func.ST_SetSRID(func.ST_MakePoint(bindparam("ox", a.x, type_=Float),
                                             bindparam("oy", a.y, type_=Float)), 28992)


def _record_attribute(term_or_taxonomy: str, value: str) -> ColumnElement[bool]:
    """A verbatim attribute links the service to a foreign term (or a term of a taxonomy)."""
    link = R.c.data["link_id"].astext == cast(S.c.id, Text)
    if term_or_taxonomy == "term":
        which = R.c.data["taxonomy_term_id"].astext == value
    else:
        foreign_terms = select(cast(R.c.id, Text)).where(
            R.c.kind == "record", R.c.resource == "taxonomy_term",
            R.c.data["taxonomy_id"].astext == value)
        which = R.c.data["taxonomy_term_id"].astext.in_(foreign_terms)
    return exists().where(R.c.kind == "record", R.c.resource == "attribute", link, which)


def _within(a: Around) -> ColumnElement[bool]:
    """The published point lies within the distance: a private location is tested at its
    kern point only, so that no radius can be narrowed down onto a home."""
    metres = bindparam("metres", a.metres, type_=Float)
    return func.ST_DWithin(L.c.shown_geom, _origin(a), metres)


def _in_kern(code: str, geom: ColumnElement[Any]) -> ColumnElement[bool]:
    area = select(K.c.area).where(K.c.code == code).scalar_subquery()
    return func.ST_Covers(area, geom)


def _serves(code: str) -> ColumnElement[bool]:
    return exists().where(SA.c.service_id == S.c.id, SA.c.kern_code == code)


def service_clauses(q: ServiceQuery) -> list[ColumnElement[bool]]:
    """WHERE clauses on service (S) shared by the service and service-at-location lists."""
    where = filter_clauses(q.filters)
    if q.filters.gemeente:
        located = select(SAL.c.id).join(L, L.c.id == SAL.c.location_id).join(
            K, K.c.code == L.c.kern_code).where(SAL.c.service_id == S.c.id,
                                                K.c.gemeente_code == q.filters.gemeente)
        where.append(exists(located))
    if q.taxonomy_term_id:
        term = str(q.taxonomy_term_id)
        ours = select(T.c.id).where(or_(T.c.id == q.taxonomy_term_id,
                                        T.c.parent_id == q.taxonomy_term_id))
        where.append(or_(exists().where(A.c.service_id == S.c.id,
                                        A.c.taxonomy_term_id.in_(ours)),
                         _record_attribute("term", term)))
    if q.taxonomy_id:
        ours = select(T.c.id).where(T.c.taxonomy_id == q.taxonomy_id)
        where.append(or_(exists().where(A.c.service_id == S.c.id,
                                        A.c.taxonomy_term_id.in_(ours)),
                         _record_attribute("taxonomy", str(q.taxonomy_id))))
    if q.organization_id:
        where.append(S.c.organization_id == q.organization_id)
    if q.modified_after:
        where.append(S.c.last_modified >= q.modified_after)
    return where


def _located_near(q: ServiceQuery) -> ColumnElement[bool] | None:
    """A service has a location near the centre, in the kern, or serves the kern."""
    clauses = []
    if q.kern_code:
        located = select(SAL.c.id).join(L, L.c.id == SAL.c.location_id).where(
            SAL.c.service_id == S.c.id, _in_kern(q.kern_code, L.c.geom))
        clauses.append(or_(exists(located), _serves(q.kern_code)))
    a = q.around
    if a is not None:
        if a.metres is not None:
            clauses.append(exists(
                select(SAL.c.id).join(L, L.c.id == SAL.c.location_id)
                .outerjoin(K, K.c.code == L.c.kern_code)
                .where(SAL.c.service_id == S.c.id, _within(a))))
        elif a.kern_code:
            located = select(SAL.c.id).join(L, L.c.id == SAL.c.location_id).where(
                SAL.c.service_id == S.c.id, _in_kern(a.kern_code, L.c.geom))
            clauses.append(or_(exists(located), _serves(a.kern_code)))
    return and_(*clauses) if clauses else None


def service_page(conn: Connection, q: ServiceQuery, limit: int | None, offset: int
                 ) -> tuple[list[uuid.UUID], int]:
    """Ids of one page of services (by name, then id) and how many match."""
    where = service_clauses(q)
    near = _located_near(q)
    if near is not None:
        where.append(near)
    base = select(S.c.id).where(*where)
    total = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    page = base.order_by(func.lower(S.c.name), S.c.id).offset(offset)
    if limit is not None:
        page = page.limit(limit)
    return list(conn.execute(page).scalars()), int(total)


def service_ids_after(conn: Connection, q: ServiceQuery, after: uuid.UUID | None, size: int
                      ) -> list[uuid.UUID]:
    """The next `size` matching service ids after `after`, in id order (for streaming)."""
    where = service_clauses(q)
    near = _located_near(q)
    if near is not None:
        where.append(near)
    if after is not None:
        where.append(S.c.id > after)
    return list(conn.execute(select(S.c.id).where(*where).order_by(S.c.id).limit(size))
                .scalars())


def sal_statement(q: ServiceQuery, include_demo: bool) -> Select[Any]:
    """Service-at-location rows that match, nearest first when there is a centre; a private
    location is placed (and its distance measured) at its kern point."""
    where = service_clauses(q)
    where.append(true() if include_demo else L.c.is_demo.is_(False))
    shown = L.c.shown_geom
    distance: ColumnElement[Any] = null()
    order: list[Any] = [func.lower(S.c.name), SAL.c.id]
    if q.kern_code:
        where.append(or_(_in_kern(q.kern_code, L.c.geom), _serves(q.kern_code)))
    a = q.around
    if a is not None:
        origin = _origin(a)
        distance = func.round(func.ST_Distance(shown, origin))
        if a.metres is not None:
            where.append(_within(a))
        elif a.kern_code:
            where.append(or_(_in_kern(a.kern_code, L.c.geom), _serves(a.kern_code)))
        order = [func.ST_Distance(shown, origin), SAL.c.id]
    return (
        select(SAL.c.id, SAL.c.service_id, SAL.c.location_id, distance.label("distance"))
        .select_from(SAL.join(S, S.c.id == SAL.c.service_id)
                     .join(L, L.c.id == SAL.c.location_id)
                     .outerjoin(K, K.c.code == L.c.kern_code))
        .where(*where).order_by(*order)
    )


def sal_page(conn: Connection, q: ServiceQuery, include_demo: bool, limit: int | None,
             offset: int) -> tuple[list[Any], int]:
    stmt = sal_statement(q, include_demo)
    total = conn.execute(select(func.count()).select_from(stmt.order_by(None).subquery())
                         ).scalar_one()
    page = stmt.offset(offset)
    if limit is not None:
        page = page.limit(limit)
    return conn.execute(page).all(), int(total)


def sal_stream(conn: Connection, q: ServiceQuery, include_demo: bool, batch: int
               ) -> Iterator[list[Any]]:
    """Every matching service-at-location row, in batches from a server-side cursor."""
    result = conn.execute(sal_statement(q, include_demo),
                          execution_options={"stream_results": True, "yield_per": batch})
    for part in result.partitions(batch):
        yield list(part)


def sal_by_id(conn: Connection, sal_id: uuid.UUID, include_demo: bool) -> Any | None:
    return conn.execute(
        select(SAL.c.id, SAL.c.service_id, SAL.c.location_id, null().label("distance"))
        .select_from(SAL.join(S, S.c.id == SAL.c.service_id).join(L, L.c.id == SAL.c.location_id))
        .where(SAL.c.id == sal_id, true() if include_demo else and_(
            S.c.is_demo.is_(False), L.c.is_demo.is_(False)))
    ).first()


def organization_exists(conn: Connection, oid: uuid.UUID, include_demo: bool) -> bool:
    return conn.execute(select(ORG.c.id).where(
        ORG.c.id == oid, true() if include_demo else ORG.c.is_demo.is_(False))).first() is not None


def organization_page(conn: Connection, search: str | None, include_demo: bool,
                      limit: int | None, offset: int) -> tuple[list[Any], int]:
    """One page of organizations (by name, then id) and how many match: our organizations,
    and a service without one, which stands in for its own organization (as in exports).
    Rows have the id, and `standin` set when the id is that of the service."""
    orgs = select(ORG.c.id, ORG.c.name, false().label("standin")).where(
        true() if include_demo else ORG.c.is_demo.is_(False))
    standins = select(S.c.id, S.c.name, true().label("standin")).where(
        S.c.organization_id.is_(None), true() if include_demo else S.c.is_demo.is_(False))
    if search:
        pattern = func.sm_unaccent(f"%{search}%")
        orgs = orgs.where(func.sm_unaccent(ORG.c.name).ilike(pattern))
        standins = standins.where(func.sm_unaccent(S.c.name).ilike(pattern))
    both = union_all(orgs, standins).subquery("orgs")
    total = conn.execute(select(func.count()).select_from(both)).scalar_one()
    page = select(both).order_by(func.lower(both.c.name), both.c.id).offset(offset)
    if limit is not None:
        page = page.limit(limit)
    return conn.execute(page).all(), int(total)


def services_of(conn: Connection, organization_ids: Sequence[uuid.UUID], include_demo: bool
                ) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Service ids per organization."""
    rows = conn.execute(
        select(S.c.organization_id, S.c.id)
        .where(S.c.organization_id == any_(uuids("orgs", organization_ids)),
               true() if include_demo else S.c.is_demo.is_(False))
        .order_by(S.c.organization_id, S.c.id))
    out: dict[uuid.UUID, list[uuid.UUID]] = {}
    for r in rows:
        out.setdefault(r.organization_id, []).append(r.id)
    return out


def orgless_services(conn: Connection, include_demo: bool) -> list[uuid.UUID]:
    return list(conn.execute(select(S.c.id).where(
        S.c.organization_id.is_(None), true() if include_demo else S.c.is_demo.is_(False))
    ).scalars())


# --- writing ----------------------------------------------------------------------------------

def existing_ids(conn: Connection, resource: str, ids: Sequence[uuid.UUID]
                 ) -> dict[uuid.UUID, set[str]]:
    """Where each of `ids` is stored: 'ours' (our table), 'record', 'extra' (hsds_record)."""
    if not ids:
        return {}
    found: dict[uuid.UUID, set[str]] = {}
    table = OURS.get(resource)
    if table is not None:
        for rid in conn.execute(select(table.c.id).where(table.c.id == any_(uuids("ids", ids)))
                                ).scalars():
            found.setdefault(rid, set()).add("ours")
    rows = conn.execute(select(R.c.id, R.c.kind).where(R.c.resource == resource,
                                                       R.c.id == any_(uuids("ids", ids))))
    for rid, kind in rows:
        found.setdefault(rid, set()).add(kind)
    return found


def current(conn: Connection, table: Table, key: uuid.UUID, columns: Iterable[str]) -> Any | None:
    return conn.execute(select(*(table.c[c] for c in columns)).where(table.c.id == key)
                        ).mappings().first()


def upsert(conn: Connection, table: Table, key: uuid.UUID, values: dict[str, Any],
           insert_only: dict[str, Any] | None = None) -> str | None:
    """Insert, or update only the columns that differ, reading the row first: 'created',
    'updated' or None."""
    now = current(conn, table, key, [k for k in values if k != "geom"])
    change = upsert_row(table, key, values, now, insert_only)
    if change.statement is not None:
        conn.execute(change.statement)
    return change.outcome


def point_moved(conn: Connection, key: uuid.UUID, x: float, y: float, tolerance: float) -> bool:
    """Whether the stored point of location `key` lies farther than `tolerance` (m) per axis."""
    row = conn.execute(select(func.ST_X(L.c.geom).label("x"), func.ST_Y(L.c.geom).label("y"))
                       .where(L.c.id == key)).first()
    return row is None or abs(row.x - x) > tolerance or abs(row.y - y) > tolerance


def location_now(conn: Connection, key: uuid.UUID) -> Any | None:
    """A stored location with its point in RD New."""
    return conn.execute(select(L.c.location_type, L.c.precision, L.c.kern_code,
                               func.ST_X(L.c.geom).label("x"), func.ST_Y(L.c.geom).label("y"))
                        .where(L.c.id == key)).first()


def rd_point(x: float, y: float) -> ColumnElement[Any]:
    return func.ST_SetSRID(func.ST_MakePoint(bindparam("px", x, type_=Float),
                                             bindparam("py", y, type_=Float)), 28992)


def put_record(conn: Connection, resource: str, key: uuid.UUID, kind: str, data: dict[str, Any],
               owners: dict[str, uuid.UUID | None]) -> str | None:
    """Insert or update one hsds_record row; 'created', 'updated' or None."""
    values = {"kind": kind, "data": data, "service_id": owners.get("service_id"),
              "organization_id": owners.get("organization_id"),
              "location_id": owners.get("location_id")}
    now = conn.execute(select(R.c.kind, R.c.data, R.c.service_id, R.c.organization_id,
                              R.c.location_id)
                       .where(R.c.resource == resource, R.c.id == key)).mappings().first()
    if now is None:
        conn.execute(insert(R).values(resource=resource, id=key, **values))
        return "created"
    diff = {k: v for k, v in values.items() if now[k] != v}
    if not diff:
        return None
    conn.execute(update(R).where(R.c.resource == resource, R.c.id == key).values(**diff))
    return "updated"


def drop_record(conn: Connection, resource: str, key: uuid.UUID, kind: str) -> bool:
    return bool(conn.execute(delete(R).where(R.c.resource == resource, R.c.id == key,
                                             R.c.kind == kind)).rowcount)


def taken_pair(conn: Connection, table: Table, key: uuid.UUID, columns: dict[str, Any]
               ) -> uuid.UUID | None:
    """The id of another row of `table` that already holds this unique pair of values."""
    return conn.execute(select(table.c.id).where(
        *(table.c[k] == v for k, v in columns.items()), table.c.id != key)).scalar()


def known_kernen(conn: Connection, codes: set[str]) -> set[str]:
    """The codes among `codes` that are kernen."""
    if not codes:
        return set()
    return set(conn.execute(select(K.c.code).where(K.c.code.in_(sorted(codes)))).scalars())


def term_facets(conn: Connection) -> dict[uuid.UUID, str]:
    """Our taxonomy terms: id -> facet."""
    return {r.id: r.facet for r in conn.execute(
        select(T.c.id, TX.c.facet).join(TX, TX.c.id == T.c.taxonomy_id))}


def taxonomy_ids(conn: Connection) -> set[uuid.UUID]:
    return set(conn.execute(select(TX.c.id)).scalars())


def service_owner_of_sal(conn: Connection, sal_id: uuid.UUID) -> uuid.UUID | None:
    return conn.execute(select(SAL.c.service_id).where(SAL.c.id == sal_id)).scalar()


def contact_service(conn: Connection, contact_id: uuid.UUID) -> uuid.UUID | None:
    return conn.execute(select(C.c.service_id).where(C.c.id == contact_id)).scalar()
