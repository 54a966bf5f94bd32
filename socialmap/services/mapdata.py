"""The map data use case: what a map view shows, as clusters or as at most POINT_CAP points."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from operator import itemgetter
from typing import Any

from pyproj import Transformer
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from ..config import Settings
from ..geo import NL_LAT, NL_LON, RD_NEW, WGS84
from ..queries import mapdata as q
from ..queries.search import Filters
from . import search as search_svc

# At most this many features (points or clusters, so markers) per answer.
POINT_CAP = 1000
POINTS_MIN_ZOOM = 11
# At most this many grid cells per view; a larger view is counted in coarser cells.
MAX_CELLS = 4096
# Filters the grid cannot answer are tested record by record (joins, schedule, text): points
# when at most LIVE_POINTS_BUDGET records lie in view, clusters up to LIVE_CLUSTER_BUDGET.
# Beyond that the answer asks to zoom in: counting live takes seconds there (docs/MAPDATA.md).
LIVE_POINTS_BUDGET = 5_000
LIVE_CLUSTER_BUDGET = 20_000
# The grid is read only for registries of more hits than this.
GRID_FROM_HITS = LIVE_CLUSTER_BUDGET
MAX_AGE = 60

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class MapRequest:
    """A map view (WGS84 bbox and Leaflet zoom) with the search's filters."""

    bbox: BBox
    zoom: int
    filters: search_svc.SearchRequest


@cache
def _transformer(source: int, target: int) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def rd_box(bbox: BBox) -> BBox | None:
    """The RD box that covers a WGS84 bbox clipped to the Netherlands, or None outside it."""
    west, south = max(bbox[0], NL_LON[0]), max(bbox[1], NL_LAT[0])
    east, north = min(bbox[2], NL_LON[1]), min(bbox[3], NL_LAT[1])
    if west >= east or south >= north:
        return None
    # Densified, because the edges of a lon/lat box bow outwards in RD.
    return tuple(_transformer(WGS84, RD_NEW).transform_bounds(
        west, south, east, north, densify_pts=21))  # type: ignore[return-value]


def wgs84_box(box: BBox) -> list[float]:
    """The lon/lat bbox that covers an RD box, rounded outwards to 1e-6 degrees."""
    w, s, e, n = _transformer(RD_NEW, WGS84).transform_bounds(*box, densify_pts=21)
    return [math.floor(w * 1e6) / 1e6, math.floor(s * 1e6) / 1e6,
            math.ceil(e * 1e6) / 1e6, math.ceil(n * 1e6) / 1e6]


def cells_for(zoom: int, box: BBox) -> q.Cells:
    """The cells of the view: the zoom's own, or coarser ones if there would be too many."""
    cells = q.Cells.covering(zoom, box)
    while cells.count > MAX_CELLS and cells.zoom > 0:
        cells = q.Cells.covering(cells.zoom - 1, box)
    return cells


def map_view(s: Session, req: MapRequest, settings: Settings,
             now: datetime | None = None) -> dict[str, Any]:
    """The GeoJSON FeatureCollection of a map view: clusters, or points when few enough, or
    (for filters the grid cannot count, over many records) nothing but a request to zoom in."""
    from ..schedule import now_local

    # check() wants a place to search from; the map has its bbox instead.
    search_svc.check(replace(req.filters, near="map"))
    filters = search_svc.build_filters(s, req.filters, settings, now or now_local())
    box = rd_box(req.bbox)
    if box is None:
        return _collection([], 0, req.zoom, "clusters", "grid", None)
    conn = s.connection()
    # A registry small enough to count live is always counted live: fresh without a refresh;
    # so is one whose grid is empty (just restored, until `flask map refresh`).
    grid_ready = q.grid_populated(conn)
    slices = (None if not grid_ready or q.hits_at_most(conn, GRID_FROM_HITS)
              else q.grid_slices(filters))
    # Points are drawn from the cells of the zoom (at most zoom 15's); clusters from the
    # cells the grid holds for the filters (zoom 12's for a slice).
    view = cells_for(min(req.zoom, q.GRID_MAX_ZOOM), box)
    wants_points = req.zoom >= POINTS_MIN_ZOOM
    if slices is None:
        # Every record in view must be tested against the filters: the grid says how many.
        in_view = (q.grid_total(conn, view, (q.ALL,), True) if grid_ready
                   else q.live_total(conn, view.box, LIVE_CLUSTER_BUDGET))
        if wants_points and in_view <= LIVE_POINTS_BUDGET:
            points = _points(conn, filters, view)
            if points is not None:
                return _collection(point_features(points), len(points), req.zoom, "points",
                                   "live", view)
        if in_view > LIVE_CLUSTER_BUDGET:
            body = _collection([], None, req.zoom, "zoom_in", "live", view)
            body["map"] |= {"in_view": in_view, "live_limit": LIVE_CLUSTER_BUDGET}
            return body
        rows, cells = _clusters(conn, filters, None, view)
        return _collection(cluster_features(rows, cells.zoom), sum(int(r.n) for r in rows),
                           req.zoom, "clusters", "live", cells)
    rows, cells = _clusters(conn, filters, slices,
                            cells_for(min(req.zoom, q.grid_max_zoom(slices)), box))
    matched = sum(int(r.n) for r in rows)
    if wants_points and (matched <= POINT_CAP or cells.zoom < view.zoom and q.grid_total(
            conn, view, (q.ALL,), True) <= LIVE_POINTS_BUDGET):
        # At most POINT_CAP match, or the grid's cells are coarser than the view and few
        # enough records lie in it to test them.
        points = _points(conn, filters, view)
        if points is not None:
            return _collection(point_features(points), len(points), req.zoom, "points", "live",
                               view)
    return _collection(cluster_features(rows, cells.zoom), matched, req.zoom, "clusters",
                       "grid", cells)


def _clusters(conn: Connection, filters: Filters, slices: tuple[str, ...] | None,
              cells: q.Cells) -> tuple[Sequence[Any], q.Cells]:
    """Clusters of the cells, from the grid or live, in coarser cells until they fit."""
    while True:
        if slices is not None:
            rows = q.grid_clusters(conn, cells, slices, filters.include_demo)
        else:
            rows = q.live_clusters(conn, filters, cells)
        if len(rows) <= POINT_CAP or cells.zoom == 0:
            return rows, cells
        cells = q.Cells.covering(cells.zoom - 1, cells.box)


def _points(conn: Connection, filters: Filters, view: q.Cells) -> list[Any] | None:
    """The points in view if there are at most POINT_CAP, else None."""
    rows = q.live_points(conn, filters, view.box, POINT_CAP + 1)
    return list(rows) if len(rows) <= POINT_CAP else None


def point_features(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Hits as GeoJSON points (lon/lat) with what a marker and its popup need, by id."""
    features = [
        {"type": "Feature", "id": str(r.sal_id),
         "geometry": {"type": "Point", "coordinates": [round(r.lon, 6), round(r.lat, 6)]},
         "properties": {"cluster": False, "service_id": str(r.service_id), "name": r.name,
                        "kind": r.kind}}
        for r in rows
    ]
    # In a stable order, so that the same view gives the same answer (and ETag).
    features.sort(key=itemgetter("id"))
    return features


def cluster_features(rows: Sequence[Any], zoom: int) -> list[dict[str, Any]]:
    """Cells as GeoJSON points at their members' centroid, with count and members' bbox."""
    return [
        {"type": "Feature", "id": f"{zoom}/{r.gx}/{r.gy}",
         "geometry": {"type": "Point", "coordinates": [round(r.lon, 5), round(r.lat, 5)]},
         "properties": {"cluster": True, "count": int(r.n),
                        "bbox": [_down(r.west), _down(r.south), _up(r.east), _up(r.north)]}}
        for r in rows
    ]


def _down(degrees: float) -> float:
    return math.floor(degrees * 1e5) / 1e5


def _up(degrees: float) -> float:
    return math.ceil(degrees * 1e5) / 1e5


def _collection(features: list[dict[str, Any]], matched: int | None, zoom: int, kind: str,
                source: str, cells: q.Cells | None) -> dict[str, Any]:
    view: dict[str, Any] = {"zoom": zoom, "kind": kind, "source": source}
    if cells is not None:
        view |= {"cell_zoom": cells.zoom, "cell_m": q.cell_size(cells.zoom),
                 "bbox": wgs84_box(cells.box), "bbox_rd": list(cells.box)}
    body: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if matched is not None:
        body["numberMatched"] = matched
    return body | {"numberReturned": len(features), "map": view}


def refresh_grid(s: Session, *, concurrently: bool = True) -> None:
    """Recount the map's grid from the registry (after imports; commits)."""
    q.refresh_grid(s.connection(), concurrently=concurrently)
    s.commit()


def grid_populated(s: Session) -> bool:
    """Whether the map's grid holds data (it does not right after a restore)."""
    return q.grid_populated(s.connection())
