"""Map data statements: clusters from the pre-aggregated grid or live, and points, in RD New.

The grid is a nested square grid anchored at the RD origin: a cell of zoom z is
CELL_AT_ZOOM_10 * 2**(10 - z) metres wide, about 64 screen pixels at 52 degrees north, and
splits into exactly four cells of zoom z + 1. So the cells of any zoom are unions of the
cells of a finer one, and counts roll up by integer shifts (cx >> k).

`map_grid` (migrations 0005 and 0007) stores those cells for zooms GRID_MIN_ZOOM..GRID_MAX_ZOOM over
the visible records, split by is_demo, in slices: ALL (every record) and, up to
SLICE_MAX_ZOOM, one per kind ('kind:dorpshuis') and one per category or audience term
('category:vervoer'; a record counts under its terms and their parents, which is exactly what
a one-code facet filter matches). Any other filter is counted live from the registry with the
search's own filter clauses.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    CompoundSelect,
    Connection,
    Float,
    Integer,
    SmallInteger,
    Text,
    column,
    func,
    or_,
    select,
    table,
    text,
    union_all,
)

from ..vocab import VISIBLE_STATUSES
from .filters import SAL, Filters, K, L, S, filter_clauses
from .filters import gemeente_clause as _gemeente_clause

CELL_AT_ZOOM_10 = 6000.0
GRID_MIN_ZOOM = 4
GRID_MAX_ZOOM = 15
SLICE_MAX_ZOOM = 12
ALL = ""

G = table(
    "map_grid",
    column("z", SmallInteger), column("slice", Text),
    column("cx", Integer), column("cy", Integer), column("is_demo", Boolean),
    column("n", Integer), column("slon", Float), column("slat", Float),
    column("west", Float), column("south", Float), column("east", Float), column("north", Float),
)


def cell_size(zoom: int) -> float:
    """Width in metres of a grid cell of `zoom`."""
    return CELL_AT_ZOOM_10 * 2.0 ** (10 - zoom)


@dataclass(frozen=True)
class Cells:
    """A block of whole grid cells of one zoom: columns x0..x1 and rows y0..y1, inclusive."""

    zoom: int
    x0: int
    y0: int
    x1: int
    y1: int

    @classmethod
    def covering(cls, zoom: int, box: tuple[float, float, float, float]) -> Cells:
        """The cells of `zoom` that together cover an RD box (minx, miny, maxx, maxy)."""
        size = cell_size(zoom)
        x0, y0 = math.floor(box[0] / size), math.floor(box[1] / size)
        # An upper edge on a cell border needs no cell beyond it.
        return cls(zoom, x0, y0, max(x0, math.ceil(box[2] / size) - 1),
                   max(y0, math.ceil(box[3] / size) - 1))

    @property
    def count(self) -> int:
        return (self.x1 - self.x0 + 1) * (self.y1 - self.y0 + 1)

    @property
    def box(self) -> tuple[float, float, float, float]:
        """The RD box the cells cover: lower edges inside, upper edges outside."""
        size = cell_size(self.zoom)
        return (self.x0 * size, self.y0 * size, (self.x1 + 1) * size, (self.y1 + 1) * size)

    def at(self, zoom: int) -> Cells:
        """The same area in the cells of a finer (or equal) zoom."""
        k = 2 ** (zoom - self.zoom)
        return Cells(zoom, self.x0 * k, self.y0 * k, (self.x1 + 1) * k - 1, (self.y1 + 1) * k - 1)


def grid_slices(f: Filters) -> tuple[str, ...] | None:
    """The slices of the grid whose sum is what the filters match, or None if there are none.

    Kinds add up (a record has one kind); several facet codes do not (a record may have both).
    """
    if (set(f.statuses) != set(VISIBLE_STATUSES) or f.gemeente or f.open_at or f.tsquery
            or f.verified_since):
        return None
    codes = [*(f"category:{c}" for c in f.categories), *(f"audience:{c}" for c in f.audiences)]
    if f.kinds and codes or len(codes) > 1:
        return None
    if f.kinds:
        return tuple(sorted({f"kind:{k}" for k in f.kinds}))
    return tuple(codes) or (ALL,)


def grid_max_zoom(slices: Sequence[str]) -> int:
    """The finest zoom the grid holds for these slices."""
    return GRID_MAX_ZOOM if tuple(slices) == (ALL,) else SLICE_MAX_ZOOM


def _grid_where(cells: Cells, slices: Sequence[str],
                include_demo: bool) -> list[ColumnElement[bool]]:
    if cells.zoom > grid_max_zoom(slices):
        raise ValueError(f"the grid holds no cells of zoom {cells.zoom} for {slices}")
    fine = cells.at(max(cells.zoom, GRID_MIN_ZOOM))
    where = [G.c.z == fine.zoom, G.c.slice.in_(slices), G.c.cx.between(fine.x0, fine.x1),
             G.c.cy.between(fine.y0, fine.y1)]
    if not include_demo:
        where.append(G.c.is_demo.is_(False))
    return where


def grid_clusters(conn: Connection, cells: Cells, slices: Sequence[str],
                  include_demo: bool) -> Sequence[Any]:
    """Clusters per cell of `cells`, rolled up from the grid's cells of that zoom or finer."""
    shift = max(cells.zoom, GRID_MIN_ZOOM) - cells.zoom
    gx, gy = G.c.cx.op(">>")(shift), G.c.cy.op(">>")(shift)
    return conn.execute(
        select(gx.label("gx"), gy.label("gy"), func.sum(G.c.n).label("n"),
               (func.sum(G.c.slon) / func.sum(G.c.n)).label("lon"),
               (func.sum(G.c.slat) / func.sum(G.c.n)).label("lat"),
               func.min(G.c.west).label("west"), func.min(G.c.south).label("south"),
               func.max(G.c.east).label("east"), func.max(G.c.north).label("north"))
        .where(*_grid_where(cells, slices, include_demo)).group_by(gx, gy)).all()


def grid_total(conn: Connection, cells: Cells, slices: Sequence[str],
               include_demo: bool) -> int:
    """The number of records the grid holds in `cells` (the sum of their clusters)."""
    return int(conn.execute(select(func.coalesce(func.sum(G.c.n), 0))
                            .where(*_grid_where(cells, slices, include_demo))).scalar_one())


def _in_box(x: ColumnElement[Any], y: ColumnElement[Any], geom: ColumnElement[Any],
            box: tuple[float, float, float, float]) -> list[ColumnElement[bool]]:
    # && on the envelope is the index condition; the strict upper edges make a point on a
    # cell border belong to one cell only, as floor() does in the grid.
    envelope = func.ST_MakeEnvelope(box[0], box[1], box[2], box[3], 28992)
    return [geom.op("&&")(envelope), x < box[2], y < box[3]]


def _lonlat(point: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    wgs84 = func.ST_Transform(point, 4326)
    return [func.ST_X(wgs84).label("lon"), func.ST_Y(wgs84).label("lat")]


def shown_hits(f: Filters, box: tuple[float, float, float, float]) -> CompoundSelect:
    """Visible hits (one per service_at_location) that pass the filters, shown inside `box`,
    with their shown point in RD (x, y) and WGS84 (lon, lat).

    A private location is shown at its kern's point, so it is also selected by that point:
    selecting by its own point would let a small box reveal the address.
    """
    where = [*filter_clauses(f), *_gemeente_clause(f)]
    joined = SAL.join(S, S.c.id == SAL.c.service_id).join(L, L.c.id == SAL.c.location_id)
    lx, ly = func.ST_X(L.c.geom), func.ST_Y(L.c.geom)
    exact = (
        select(SAL.c.id.label("sal_id"), S.c.id.label("service_id"), S.c.name, S.c.kind,
               lx.label("x"), ly.label("y"), *_lonlat(L.c.geom))
        .select_from(joined)
        .where(*_in_box(lx, ly, L.c.geom, box),
               or_(L.c.location_type != "private", L.c.kern_code.is_(None)), *where)
    )
    kx, ky = func.ST_X(K.c.point), func.ST_Y(K.c.point)
    at_kern = (
        select(SAL.c.id.label("sal_id"), S.c.id.label("service_id"), S.c.name, S.c.kind,
               kx.label("x"), ky.label("y"), *_lonlat(K.c.point))
        .select_from(joined.join(K, K.c.code == L.c.kern_code))
        .where(*_in_box(kx, ky, K.c.point, box), L.c.location_type == "private", *where)
    )
    return union_all(exact, at_kern)


def live_points(conn: Connection, f: Filters, box: tuple[float, float, float, float],
                limit: int) -> Sequence[Any]:
    """Up to `limit` hits in `box` with their shown point, in no particular order."""
    hit = shown_hits(f, box).subquery("hits")
    return conn.execute(select(hit).limit(limit)).all()


def live_clusters(conn: Connection, f: Filters, cells: Cells) -> Sequence[Any]:
    """Clusters per cell of `cells`, counted from the registry with the search's filters."""
    hit = shown_hits(f, cells.box).subquery("hits")
    size = cell_size(cells.zoom)
    gx = func.floor(hit.c.x / size).cast(Integer)
    gy = func.floor(hit.c.y / size).cast(Integer)
    return conn.execute(
        select(gx.label("gx"), gy.label("gy"), func.count().label("n"),
               func.avg(hit.c.lon).label("lon"), func.avg(hit.c.lat).label("lat"),
               func.min(hit.c.lon).label("west"), func.min(hit.c.lat).label("south"),
               func.max(hit.c.lon).label("east"), func.max(hit.c.lat).label("north"))
        .group_by(gx, gy)).all()


def hits_at_most(conn: Connection, limit: int) -> bool:
    """Whether service_at_location holds at most `limit` rows (all statuses)."""
    # The planner's estimate is trusted for "many"; "few" is counted (at most limit + 1 rows),
    # since the estimate lags behind a bulk load until the next analyse.
    estimate = conn.execute(text(
        "SELECT reltuples FROM pg_class WHERE oid = 'service_at_location'::regclass")).scalar()
    if estimate is not None and estimate > limit * 2:
        return False
    counted = conn.execute(text(
        "SELECT count(*) FROM (SELECT 1 FROM service_at_location LIMIT :n) AS few"),
        {"n": limit + 1}).scalar_one()
    return bool(counted <= limit)


def grid_populated(conn: Connection) -> bool:
    """Whether the grid holds data (a restore leaves it empty until its first refresh)."""
    return bool(conn.execute(text(
        "SELECT relispopulated FROM pg_class WHERE oid = 'map_grid'::regclass")).scalar_one())


def live_total(conn: Connection, box: tuple[float, float, float, float], limit: int) -> int:
    """How many visible records lie in `box`, counted from the registry up to `limit` + 1."""
    hit = shown_hits(Filters(), box).subquery("hits")
    return int(conn.execute(select(func.count()).select_from(
        select(hit.c.sal_id).limit(limit + 1).subquery())).scalar_one())


def refresh_grid(conn: Connection, *, concurrently: bool = True) -> None:
    """Recount the grid from the registry; concurrently keeps it readable meanwhile."""
    # The term rows expand every record to its terms and their parents; a generous work_mem
    # keeps that aggregation in memory instead of sorting on disk.
    conn.execute(text("SET LOCAL work_mem = '256MB'"))
    # An empty (never refreshed) grid cannot be refreshed concurrently, nor read meanwhile.
    concurrently = concurrently and grid_populated(conn)
    mode = "CONCURRENTLY " if concurrently else ""
    conn.execute(text(f"REFRESH MATERIALIZED VIEW {mode}map_grid"))



