"""Registry statements for import, export and the generated sets: points, kernen, bulk sync.

Points are stored in RD New; a WGS84 point is transformed once, on the way in or out, never
the column in a predicate.
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    case,
    false,
    func,
    select,
    text,
    true,
)

from ..models import (
    RD_NEW,
    Attribute,
    Contact,
    Gemeente,
    Kern,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)

S, ORG, L = Service.__table__, Organization.__table__, Location.__table__
SAL, SA, K, G = (ServiceAtLocation.__table__, ServiceArea.__table__, Kern.__table__,
                 Gemeente.__table__)
A, T, TX = Attribute.__table__, TaxonomyTerm.__table__, Taxonomy.__table__
SC, C, P = Schedule.__table__, Contact.__table__, Phone.__table__


@dataclass(frozen=True)
class PlacedPoint:
    """A point in RD New with the kern and PC4 whose areas cover it (None when none does)."""

    x: float
    y: float
    kern_code: str | None
    pc4: str | None


def point_rd(x: float, y: float) -> ColumnElement[Any]:
    """An RD New point from coordinates in metres, for inserts and updates."""
    return func.ST_SetSRID(func.ST_MakePoint(bindparam("px", x), bindparam("py", y)), RD_NEW)


_PLACE = text("""
SELECT ST_X(p.g) AS x, ST_Y(p.g) AS y,
       (SELECT k.code FROM kern k WHERE ST_Covers(k.area, p.g) ORDER BY k.code LIMIT 1)
         AS kern_code,
       (SELECT c.code FROM pc4 c WHERE ST_Covers(c.area, p.g) ORDER BY c.code LIMIT 1) AS pc4
  FROM (SELECT i, ST_Transform(ST_SetSRID(ST_MakePoint(u.x, u.y), :srid), 28992) AS g
          FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY
               AS u(x, y, i)) AS p
 ORDER BY p.i
""")


def place_points(conn: Connection, points: Sequence[tuple[float, float]],
                 srid: int) -> list[PlacedPoint]:
    """Transform points to RD New and find the kern and PC4 of each, in one statement."""
    if not points:
        return []
    rows = conn.execute(_PLACE, {"srid": srid, "xs": [p[0] for p in points],
                                 "ys": [p[1] for p in points]}).all()
    return [PlacedPoint(r.x, r.y, r.kern_code, r.pc4) for r in rows]


def kern_codes(conn: Connection) -> set[str]:
    return set(conn.execute(select(K.c.code)).scalars())


def term_ids(conn: Connection) -> dict[tuple[str, str], uuid.UUID]:
    """Taxonomy term ids by (facet, code)."""
    rows = conn.execute(select(TX.c.facet, T.c.code, T.c.id).join(TX, TX.c.id == T.c.taxonomy_id))
    return {(r.facet, r.code): r.id for r in rows}


# --- what is stored for the ids of an import -------------------------------------------

def stored_rows(conn: Connection, table: str, columns: Sequence[str],
                ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """Rows of an organization or service table by id, as dicts of the given columns."""
    t = {"organization": ORG, "service": S}[table]
    rows = conn.execute(select(t.c.id, *(t.c[c] for c in columns)).where(t.c.id.in_(ids)))
    return {r.id: {c: getattr(r, c) for c in columns} for r in rows}


def stored_locations(conn: Connection, columns: Sequence[str],
                     ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """Locations by id with their point as RD New coordinates x and y."""
    rows = conn.execute(
        select(L.c.id, *(L.c[c] for c in columns), func.ST_X(L.c.geom).label("x"),
               func.ST_Y(L.c.geom).label("y"))
        .where(L.c.id.in_(ids)))
    return {r.id: {c: getattr(r, c) for c in (*columns, "x", "y")} for r in rows}


def stored_links(conn: Connection, service_ids: Sequence[uuid.UUID]
                 ) -> set[tuple[uuid.UUID, uuid.UUID]]:
    rows = conn.execute(select(SAL.c.service_id, SAL.c.location_id)
                        .where(SAL.c.service_id.in_(service_ids)))
    return {(r.service_id, r.location_id) for r in rows}


def stored_children(conn: Connection, table: str, column: str,
                    service_ids: Sequence[uuid.UUID]) -> list[Any]:
    """(id, service_id, value) of the attribute, service_area or schedule rows of services."""
    t = {"attribute": A, "service_area": SA, "schedule": SC}[table]
    values = ([t.c.weekday, t.c.opens_at, t.c.closes_at] if table == "schedule"
              else [t.c[column]])
    return conn.execute(select(t.c.id, t.c.service_id, *values)
                        .where(t.c.service_id.in_(service_ids)).order_by(t.c.id)).all()


def stored_primary_phones(conn: Connection, service_ids: Sequence[uuid.UUID]) -> list[Any]:
    """The first phone (by id) of each service, not counting contacts' phones."""
    return conn.execute(
        select(P.c.id, P.c.service_id, P.c.number, P.c.is_private)
        .where(P.c.service_id.in_(service_ids))
        .distinct(P.c.service_id).order_by(P.c.service_id, P.c.id)).all()


def stored_primary_contacts(conn: Connection, service_ids: Sequence[uuid.UUID]) -> list[Any]:
    """The first contact (by id) of each service, with the id of its first phone."""
    phone = (select(P.c.id).where(P.c.contact_id == C.c.id).order_by(P.c.id).limit(1)
             .scalar_subquery())
    return conn.execute(
        select(C.c.id, C.c.service_id, C.c.name, C.c.title, C.c.email, C.c.is_private,
               phone.label("phone_id"))
        .where(C.c.service_id.in_(service_ids))
        .distinct(C.c.service_id).order_by(C.c.service_id, C.c.id)).all()


def stored_phones(conn: Connection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    rows = conn.execute(select(P.c.id, P.c.number, P.c.is_private).where(P.c.id.in_(ids)))
    return {r.id: {"number": r.number, "is_private": r.is_private} for r in rows}


# --- export ------------------------------------------------------------------------------

def export_services(conn: Connection, include_demo: bool) -> list[Any]:
    """Every service with its organization's exchange fields."""
    cols = [c for c in S.c if c.name not in ("search_vector", "version", "created_at",
                                             "last_modified")]
    query = (
        select(*cols, ORG.c.name.label("organization_name"),
               ORG.c.legal_form.label("organization_legal_form"),
               ORG.c.description.label("organization_description"))
        .select_from(S.outerjoin(ORG, ORG.c.id == S.c.organization_id))
    )
    if not include_demo:
        query = query.where(~S.c.is_demo)
    return conn.execute(query).all()


def _real(column: Any, include_demo: bool) -> ColumnElement[bool]:
    """Rows of non-demo services only, unless demo ones are wanted too."""
    return true() if include_demo else column.in_(select(S.c.id).where(~S.c.is_demo))


def export_locations(conn: Connection, srid: int, include_private: bool,
                     include_demo: bool) -> list[Any]:
    """Locations per service in the output CRS; unless private data is included, a private
    location shows only its kern point, without address, postcode or PC4."""
    hidden = false() if include_private else L.c.location_type == "private"
    shown = case((hidden, L.c.shown_geom), else_=L.c.geom)
    if srid != RD_NEW:
        shown = func.ST_Transform(shown, srid)
    return conn.execute(
        select(SAL.c.service_id, L.c.id, L.c.name, L.c.location_type,
               case((hidden, None), else_=L.c.address).label("address"),
               case((hidden, None), else_=L.c.postal_code).label("postal_code"),
               L.c.city,
               case((hidden, None), else_=L.c.pc4).label("pc4"),
               L.c.kern_code,
               case((hidden, "kern"), else_=L.c.precision).label("precision"),
               func.ST_X(shown).label("x"), func.ST_Y(shown).label("y"))
        .select_from(SAL.join(L, L.c.id == SAL.c.location_id)
                     .outerjoin(K, K.c.code == L.c.kern_code))
        .where(_real(SAL.c.service_id, include_demo))
    ).all()


def export_terms(conn: Connection, include_demo: bool) -> list[Any]:
    return conn.execute(
        select(A.c.service_id, TX.c.facet, T.c.code)
        .select_from(A.join(T, T.c.id == A.c.taxonomy_term_id).join(TX, TX.c.id == T.c.taxonomy_id))
        .where(_real(A.c.service_id, include_demo))
    ).all()


def export_slots(conn: Connection, include_demo: bool) -> list[Any]:
    return conn.execute(select(SC.c.service_id, SC.c.weekday, SC.c.opens_at, SC.c.closes_at)
                        .where(_real(SC.c.service_id, include_demo))).all()


def export_areas(conn: Connection, include_demo: bool) -> list[Any]:
    return conn.execute(select(SA.c.service_id, SA.c.kern_code)
                        .where(_real(SA.c.service_id, include_demo))).all()


def export_phones(conn: Connection, include_private: bool) -> list[Any]:
    """The primary (first by id) phone of each service, not counting contacts' phones."""
    query = (select(P.c.service_id, P.c.number, P.c.is_private)
             .where(P.c.service_id.is_not(None))
             .distinct(P.c.service_id).order_by(P.c.service_id, P.c.id))
    if not include_private:
        query = query.where(~P.c.is_private)
    return conn.execute(query).all()


def export_contacts(conn: Connection, include_private: bool) -> list[Any]:
    """The primary (first by id) contact of each service with the contact's first phone."""
    phone = (select(P.c.number).where(P.c.contact_id == C.c.id).order_by(P.c.id).limit(1)
             .scalar_subquery())
    query = (select(C.c.service_id, C.c.name, C.c.title, C.c.email, C.c.is_private,
                    phone.label("phone"))
             .where(C.c.service_id.is_not(None))
             .distinct(C.c.service_id).order_by(C.c.service_id, C.c.id))
    if not include_private:
        query = query.where(~C.c.is_private)
    return conn.execute(query).all()


# --- generated sets -----------------------------------------------------------------------

def kernen_for_generation(conn: Connection) -> list[Any]:
    """Every kern with its gemeente, provincie, inhabitants, point and area (as WKB)."""
    return conn.execute(
        select(K.c.code, K.c.name, K.c.gemeente_code, G.c.name.label("gemeente_name"),
               G.c.provincie_code, K.c.inhabitants, K.c.inhabitants_65plus,
               func.ST_X(K.c.point).label("x"), func.ST_Y(K.c.point).label("y"),
               func.ST_AsBinary(K.c.area).label("area"))
        .join(G, G.c.code == K.c.gemeente_code)
        .order_by(K.c.code)
    ).all()


def pc4_areas_for_generation(conn: Connection) -> list[Any]:
    """PC4 codes with their areas as WKB."""
    return conn.execute(
        text("SELECT code, ST_AsBinary(area) AS area FROM pc4 WHERE area IS NOT NULL "
             "ORDER BY code")
    ).all()


# --- bulk: COPY, the demo set's sync and removal --------------------------------------

# Tables of a generated set, parents first; each is synced by id.
GENERATED = ("organization", "service", "location", "service_at_location", "attribute",
             "schedule", "service_area")
_CHILDREN = GENERATED[3:]


def copy_lines(conn: Connection, table: str, columns: Sequence[str], lines: Sequence[str],
               piece: int = 50_000, freeze: bool = False) -> None:
    """COPY tab-separated text lines into `table` (a name from GENERATED or its stage);
    `freeze` writes the rows frozen, for a table truncated in this same transaction."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    options = " WITH (FREEZE)" if freeze else ""
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN{options}") as copy:
        for start in range(0, len(lines), piece):
            copy.write("\n".join(lines[start:start + piece]) + "\n")


def create_stage(conn: Connection, columns: dict[str, tuple[str, ...]]) -> None:
    """Empty temporary tables demo_stage_<table> with the given columns of each table."""
    for table in GENERATED:
        conn.execute(text(f"DROP TABLE IF EXISTS demo_stage_{table}"))
        conn.execute(text(f"CREATE TEMP TABLE demo_stage_{table} ON COMMIT DROP AS "
                          f"SELECT {', '.join(columns[table])} FROM {table} WITH NO DATA"))


def _row(alias: str, columns: Sequence[str]) -> str:
    return f"({', '.join(f'{alias}.{c}' for c in columns if c != 'id')})"


def _insert_unstored(conn: Connection, table: str, columns: Sequence[str]) -> int:
    return conn.execute(text(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} "
        f"FROM demo_stage_{table} s WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = s.id)"
    )).rowcount


def _update_changed(conn: Connection, table: str, columns: Sequence[str]) -> int:
    cols = [c for c in columns if c != "id"]
    return conn.execute(text(
        f"UPDATE {table} t SET ({', '.join(cols)}) = ROW{_row('s', columns)} "
        f"FROM demo_stage_{table} s "
        f"WHERE t.id = s.id AND {_row('t', columns)} IS DISTINCT FROM {_row('s', columns)}"
    )).rowcount


def _delete_unstaged(conn: Connection, table: str, columns: Sequence[str]) -> int:
    """Delete demo rows that are not staged; child rows also when they differ, because their
    content may move to another id and an update could collide on a unique key."""
    if table in _CHILDREN:
        scope = "t.service_id IN (SELECT id FROM service WHERE is_demo)"
        same = f" AND {_row('s', columns)} IS NOT DISTINCT FROM {_row('t', columns)}"
    else:
        scope, same = "t.is_demo", ""
    return conn.execute(text(
        f"DELETE FROM {table} t WHERE {scope} AND NOT EXISTS "
        f"(SELECT 1 FROM demo_stage_{table} s WHERE s.id = t.id{same})")).rowcount


def sync_stage(conn: Connection, columns: dict[str, tuple[str, ...]]) -> int:
    """Make the demo rows equal to the staged ones, writing only differences; rows changed."""
    changed = 0
    for table in GENERATED[:3]:
        changed += _update_changed(conn, table, columns[table])
        changed += _insert_unstored(conn, table, columns[table])
    for table in _CHILDREN:
        changed += _delete_unstaged(conn, table, columns[table])
        changed += _insert_unstored(conn, table, columns[table])
    for table in ("service", "location", "organization"):
        changed += _delete_unstaged(conn, table, columns[table])
    return changed


def remove_demo(conn: Connection) -> int:
    """Delete every demo service (with what hangs off it), location and organization."""
    removed = 0
    for table in ("service", "location", "organization"):
        removed += conn.execute(text(f"DELETE FROM {table} WHERE is_demo")).rowcount
    return removed


def count_demo(conn: Connection) -> int:
    return int(conn.execute(text("SELECT count(*) FROM service WHERE is_demo")).scalar_one())
