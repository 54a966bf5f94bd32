"""Statements behind OGC API - Features: pages of features of the three collections, one
feature, their extents. Geometry leaves the database as GeoJSON text in the asked CRS; a
bounding box is turned into RD New once, so every spatial predicate can use its GiST index.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Select,
    any_,
    bindparam,
    case,
    func,
    literal_column,
    null,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID

from ..models import (
    Attribute,
    Gemeente,
    Kern,
    Location,
    Provincie,
    Service,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from .filters import Filters, filter_clauses

S, L, SAL = Service.__table__, Location.__table__, ServiceAtLocation.__table__
K, G, PV = Kern.__table__, Gemeente.__table__, Provincie.__table__
A, T, TX = Attribute.__table__, TaxonomyTerm.__table__, Taxonomy.__table__
RD_NEW, WGS84 = 28992, 4326
DECIMALS = {RD_NEW: 2, WGS84: 7}  # about 1 cm either way
PRIVATE = L.c.location_type == "private"


@dataclass(frozen=True)
class Box:
    """A bounding box and the EPSG code of its coordinates."""

    minx: float
    miny: float
    maxx: float
    maxy: float
    srid: int


@dataclass(frozen=True)
class ItemQuery:
    """Which features of a collection: a box, equality filters, a page; output CRS."""

    srid: int = WGS84
    box: Box | None = None
    equals: dict[str, str] = field(default_factory=dict)
    filters: Filters | None = None  # initiatives only
    limit: int | None = 10
    offset: int = 0


def _geojson(geom: ColumnElement[Any], srid: int) -> ColumnElement[Any]:
    shown = geom if srid == RD_NEW else func.ST_Transform(geom, srid)
    return func.ST_AsGeoJSON(shown, DECIMALS[srid])


def _envelope(box: Box) -> ColumnElement[Any]:
    """The box as an RD New polygon; a WGS84 box is densified first so that its edges stay
    lines of latitude and longitude after the transformation."""
    env = func.ST_MakeEnvelope(bindparam("bx0", box.minx, type_=Float),
                               bindparam("by0", box.miny, type_=Float),
                               bindparam("bx1", box.maxx, type_=Float),
                               bindparam("by1", box.maxy, type_=Float), box.srid)
    if box.srid == RD_NEW:
        return env
    return func.ST_Transform(func.ST_Segmentize(env, 0.01), RD_NEW)


def _codes(facet: str) -> ColumnElement[Any]:
    facet_id = select(TX.c.id).where(TX.c.facet == facet).scalar_subquery()
    return (select(func.coalesce(func.array_agg(T.c.code.distinct()),
                                 literal_column("'{}'::varchar[]")))
            .select_from(A.join(T, T.c.id == A.c.taxonomy_term_id))
            .where(A.c.service_id == S.c.id, T.c.taxonomy_id == facet_id)
            .scalar_subquery())


# --- the three collections ----------------------------------------------------------------

INITIATIVE_EQUALS = {"kern_code": K.c.code, "gemeente_code": K.c.gemeente_code,
                     "location_type": L.c.location_type}
KERN_EQUALS = {"code": K.c.code, "gemeente_code": K.c.gemeente_code, "source": K.c.source}
GEMEENTE_EQUALS = {"code": G.c.code, "provincie_code": G.c.provincie_code}


def _equals(columns: dict[str, ColumnElement[Any]], wanted: dict[str, str]
            ) -> list[ColumnElement[bool]]:
    """Property filters: the property equals the value (a name: case and accents ignored)."""
    out = []
    for name, value in wanted.items():
        if name == "name":
            continue
        column = columns[name]
        if name == "location_type" and value == "physical":
            out.append(column.in_(("physical", "private")))  # private is published as physical
        else:
            out.append(column == value)
    return out


def _name_equals(column: ColumnElement[Any], wanted: dict[str, str]) -> list[ColumnElement[bool]]:
    if "name" not in wanted:
        return []
    return [func.lower(func.sm_unaccent(column)) == func.lower(func.sm_unaccent(wanted["name"]))]


def initiatives(q: ItemQuery) -> tuple[Select[Any], list[ColumnElement[bool]]]:
    """Services at locations; a private location at its kern point, without address, and
    found by a bounding box only at that point."""
    shown = L.c.shown_geom
    where = [*filter_clauses(q.filters or Filters()), *_equals(INITIATIVE_EQUALS, q.equals),
             *_name_equals(S.c.name, q.equals)]
    if q.box is not None:
        env = _envelope(q.box)
        # shown_geom is the published point (migration 0009), with its own GiST index.
        where.append(func.ST_Intersects(L.c.shown_geom, env))
    stmt = (
        select(
            SAL.c.id, SAL.c.service_id, SAL.c.location_id, S.c.name, S.c.kind, S.c.status,
            S.c.url, S.c.assured_date,
            case((PRIVATE, "physical"), else_=L.c.location_type).label("location_type"),
            case((PRIVATE, "kern"), else_=L.c.precision).label("precision"),
            case((PRIVATE, null()), else_=L.c.address).label("address"),
            case((PRIVATE, null()), else_=L.c.postal_code).label("postal_code"),
            L.c.city, K.c.code.label("kern_code"), K.c.name.label("kern_name"),
            G.c.code.label("gemeente_code"), G.c.name.label("gemeente_name"),
            _codes("category").label("categories"), _codes("audience").label("audiences"),
            _geojson(shown, q.srid).label("geometry"),
        )
        .select_from(SAL.join(S, S.c.id == SAL.c.service_id)
                     .join(L, L.c.id == SAL.c.location_id)
                     .outerjoin(K, K.c.code == L.c.kern_code)
                     .outerjoin(G, G.c.code == K.c.gemeente_code))
        .where(*where)
        .order_by(SAL.c.id)
    )
    return stmt, where


def kernen(q: ItemQuery) -> tuple[Select[Any], list[ColumnElement[bool]]]:
    where = [*_equals(KERN_EQUALS, q.equals), *_name_equals(K.c.name, q.equals)]
    if q.box is not None:
        where.append(func.ST_Intersects(K.c.area, _envelope(q.box)))
    stmt = (
        select(K.c.code.label("id"), K.c.code, K.c.name, K.c.gemeente_code,
               G.c.name.label("gemeente_name"), K.c.source, K.c.inhabitants,
               K.c.inhabitants_65plus, K.c.inhabitants_75plus,
               _geojson(K.c.area, q.srid).label("geometry"))
        .select_from(K.join(G, G.c.code == K.c.gemeente_code))
        .where(*where).order_by(K.c.code)
    )
    return stmt, where


def gemeenten(q: ItemQuery) -> tuple[Select[Any], list[ColumnElement[bool]]]:
    where = [*_equals(GEMEENTE_EQUALS, q.equals), *_name_equals(G.c.name, q.equals)]
    if q.box is not None:
        where.append(func.ST_Intersects(G.c.area, _envelope(q.box)))
    stmt = (
        select(G.c.code.label("id"), G.c.code, G.c.name, G.c.provincie_code,
               PV.c.name.label("provincie_name"), G.c.inhabitants,
               func.cast(G.c.pct_65plus, Float).label("pct_65plus"),
               _geojson(G.c.area, q.srid).label("geometry"))
        .select_from(G.outerjoin(PV, PV.c.code == G.c.provincie_code))
        .where(*where).order_by(G.c.code)
    )
    return stmt, where


STATEMENTS = {"initiatives": initiatives, "kernen": kernen, "gemeenten": gemeenten}
ID_COLUMNS = {"initiatives": SAL.c.id, "kernen": K.c.code, "gemeenten": G.c.code}


def page(conn: Connection, collection: str, q: ItemQuery) -> tuple[list[Any], int]:
    """One page of features (rows with `geometry` as GeoJSON text) and how many match."""
    stmt, _where = STATEMENTS[collection](q)
    total = conn.execute(select(func.count()).select_from(
        stmt.order_by(None).with_only_columns(ID_COLUMNS[collection]).subquery())).scalar_one()
    paged = stmt.offset(q.offset)
    if q.limit is not None:
        paged = paged.limit(q.limit)
    return conn.execute(paged).all(), int(total)


def one(conn: Connection, collection: str, ident: Any, q: ItemQuery) -> Any | None:
    stmt, _where = STATEMENTS[collection](q)
    return conn.execute(stmt.where(ID_COLUMNS[collection] == ident)).first()


def published_points(conn: Connection, location_ids: list[Any]) -> dict[Any, tuple[float, float]]:
    """RD New x, y of locations as published (a private one at its kern point), by id."""
    if not location_ids:
        return {}
    shown = L.c.shown_geom
    rows = conn.execute(
        select(L.c.id, func.ST_X(shown).label("x"), func.ST_Y(shown).label("y"))
        .select_from(L.outerjoin(K, K.c.code == L.c.kern_code))
        .where(L.c.id == any_(bindparam("ids", location_ids,
                                        type_=ARRAY(PG_UUID(as_uuid=True))))))
    return {r.id: (float(r.x), float(r.y)) for r in rows}


def extent(conn: Connection, collection: str, filters: Filters | None) -> list[float] | None:
    """The WGS84 bounding box of a collection's features (lon/lat)."""
    if collection == "initiatives":
        shown = L.c.shown_geom
        inner = (select(func.ST_Extent(shown).label("box"))
                 .select_from(SAL.join(S, S.c.id == SAL.c.service_id)
                              .join(L, L.c.id == SAL.c.location_id)
                              .outerjoin(K, K.c.code == L.c.kern_code))
                 .where(*filter_clauses(filters or Filters())))
    else:
        table = K if collection == "kernen" else G
        inner = select(func.ST_Extent(table.c.area).label("box")).where(true())
    box = inner.subquery()
    # The RD New box, densified, in WGS84: its edges curve a little on the way.
    envelope = func.ST_Transform(func.ST_Segmentize(
        func.ST_SetSRID(func.cast(box.c.box, Geometry), RD_NEW), 1000.0), WGS84)
    row = conn.execute(select(func.ST_XMin(envelope), func.ST_YMin(envelope),
                              func.ST_XMax(envelope), func.ST_YMax(envelope))).first()
    if row is None or row[0] is None:
        return None
    return [round(float(v), 6) for v in row]
