"""Kern and gemeente outlines around a map's extent, simplified for the web, as GeoJSON text.

The box arrives in RD New (EPSG:28992); the area columns are never transformed in the
predicate, so `&&` and ST_Intersects use the GiST indexes.

Finding the areas in a box and drawing them are two statements: the drawing (simplify,
transform, GeoJSON) is most of the cost and only changes with a geography load, so the page
services keep drawn outlines per process (services/outlines.py). Both statements also return
the checksum of that load (`dataset_load`), read in the same snapshot as the rows, so that a
caller can tell which load the rows belong to.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Float,
    Row,
    String,
    bindparam,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)

from ..geo import RD_NEW, WGS84
from ..models import DatasetLoad, Gemeente, Kern

K = Kern.__table__.c
G = Gemeente.__table__.c
D = DatasetLoad.__table__.c


def _box() -> Any:
    return func.ST_MakeEnvelope(bindparam("xmin", type_=Float), bindparam("ymin", type_=Float),
                                bindparam("xmax", type_=Float), bindparam("ymax", type_=Float),
                                RD_NEW)


def _version() -> Any:
    """The checksum of the named dataset's last load (NULL when it was never loaded)."""
    return (select(D.checksum).where(D.name == bindparam("dataset", type_=String))
            .scalar_subquery().label("version"))


def _web(area: Any, tolerance_m: float) -> Any:
    """An area simplified in metres, then as WGS84 GeoJSON text with 5 decimals (about 1 m)."""
    simple = func.ST_SimplifyPreserveTopology(area, tolerance_m)
    return func.ST_AsGeoJSON(func.ST_Transform(simple, WGS84), 5)


# At most this many outlines per map: the largest kernen first, gemeenten by code.
MAX_KERNEN = 80
MAX_GEMEENTEN = 12


def _areas_in_box_statement() -> Any:
    box_geom = _box()
    kernen = (
        select(literal("kern").label("kind"), K.code)
        .where(K.area.op("&&")(box_geom), func.ST_Intersects(K.area, box_geom))
        .order_by(K.inhabitants.desc(), K.code)
        .limit(MAX_KERNEN)
    )
    gemeenten = (
        select(literal("gemeente").label("kind"), G.code)
        .where(G.area.op("&&")(box_geom), func.ST_Intersects(G.area, box_geom))
        .order_by(G.code)
        .limit(MAX_GEMEENTEN)
    )
    both = union_all(gemeenten.subquery().select(), kernen.subquery().select()).subquery()
    return select(both.c.kind, both.c.code, _version())


def areas_in_box(conn: Connection, box: tuple[float, float, float, float],
                 dataset: str) -> Sequence[Row[Any]]:
    """Gemeenten, then kernen, whose areas meet the RD box: kind, code and the checksum
    (`version`) of `dataset`'s load.

    Gemeenten come by code; kernen largest first, when more than MAX_KERNEN meet the box.
    """
    xmin, ymin, xmax, ymax = box
    return conn.execute(_AREAS_IN_BOX,
                        {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax,
                         "dataset": dataset}).all()


def _outlines_statement() -> Any:
    kern_point = func.ST_Transform(K.point, WGS84)
    kernen = (
        select(literal("kern").label("kind"), K.code, K.name,
               _web(K.area, 15.0).label("geometry"),
               func.ST_X(kern_point).label("lon"), func.ST_Y(kern_point).label("lat"))
        .where(K.code.in_(bindparam("kernen", expanding=True)))
    )
    gemeenten = (
        select(literal("gemeente").label("kind"), G.code, G.name,
               _web(G.area, 60.0).label("geometry"),
               cast(null(), Float).label("lon"), cast(null(), Float).label("lat"))
        .where(G.code.in_(bindparam("gemeenten", expanding=True)))
    )
    both = union_all(gemeenten, kernen).subquery()
    return select(both, _version())


# Built once: the statements are the same for every request, only their parameters differ.
_AREAS_IN_BOX = _areas_in_box_statement()
_OUTLINES = _outlines_statement()


def outlines(conn: Connection, kernen: Collection[str], gemeenten: Collection[str],
             dataset: str) -> Sequence[Row[Any]]:
    """These kernen and gemeenten drawn for the web: kind, code, name, geometry (GeoJSON text;
    kernen simplified by 15 m, gemeenten by 60 m), lon and lat of a kern's point (NULL for a
    gemeente), and the checksum (`version`) of `dataset`'s load. In no particular order."""
    return conn.execute(_OUTLINES, {"kernen": list(kernen), "gemeenten": list(gemeenten),
                                    "dataset": dataset}).all()
