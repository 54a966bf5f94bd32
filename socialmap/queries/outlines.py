"""Kern and gemeente outlines around a map's extent, simplified for the web, as GeoJSON text.

The box arrives in RD New (EPSG:28992); the area columns are never transformed in the
predicate, so `&&` and ST_Intersects use the GiST indexes.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Float,
    Row,
    bindparam,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)

from ..geo import RD_NEW, WGS84
from ..models import Gemeente, Kern

K = Kern.__table__.c
G = Gemeente.__table__.c


def _box() -> Any:
    return func.ST_MakeEnvelope(bindparam("xmin", type_=Float), bindparam("ymin", type_=Float),
                                bindparam("xmax", type_=Float), bindparam("ymax", type_=Float),
                                RD_NEW)


def _web(area: Any, tolerance_m: float) -> Any:
    """An area simplified in metres, then as WGS84 GeoJSON text with 5 decimals (about 1 m)."""
    simple = func.ST_SimplifyPreserveTopology(area, tolerance_m)
    return func.ST_AsGeoJSON(func.ST_Transform(simple, WGS84), 5)


def outlines_in_box(conn: Connection, box: tuple[float, float, float, float],
                    max_kernen: int = 80, max_gemeenten: int = 12) -> Sequence[Row[Any]]:
    """Kernen and gemeenten whose areas meet the RD box: kind, code, name, geometry, lon, lat.

    Kernen are simplified by 15 m, gemeenten by 60 m; the largest kernen come first when more
    than `max_kernen` meet the box.
    """
    box_geom = _box()
    kern_point = func.ST_Transform(K.point, WGS84)
    kernen = (
        select(literal("kern").label("kind"), K.code, K.name, _web(K.area, 15.0).label("geometry"),
               func.ST_X(kern_point).label("lon"), func.ST_Y(kern_point).label("lat"))
        .where(K.area.op("&&")(box_geom), func.ST_Intersects(K.area, box_geom))
        .order_by(K.inhabitants.desc(), K.code)
        .limit(max_kernen)
    )
    gemeenten = (
        select(literal("gemeente").label("kind"), G.code, G.name,
               _web(G.area, 60.0).label("geometry"),
               cast(null(), Float).label("lon"), cast(null(), Float).label("lat"))
        .where(G.area.op("&&")(box_geom), func.ST_Intersects(G.area, box_geom))
        .order_by(G.code)
        .limit(max_gemeenten)
    )
    xmin, ymin, xmax, ymax = box
    stmt = union_all(gemeenten.subquery().select(), kernen.subquery().select())
    return conn.execute(stmt, {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax}).all()
