"""Kernen for the search box (autocomplete) and as GeoJSON Features with their area."""
from __future__ import annotations

from typing import Any

import orjson

from ..errors import InvalidInput, NotFound
from ..geo import to_wgs84
from ..names import name_key
from ..queries import places
from ..queries.places import Executor
from ..queries.search import gemeente_exists
from .place import kern_label

MAX_SUGGESTIONS = 10
SIMPLIFY_M = 10.0


def _lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = to_wgs84(x, y)
    return round(lon, 6), round(lat, 6)


def autocomplete(ex: Executor, q: str, gemeente: str | None = None) -> list[dict[str, Any]]:
    """Up to ten kernen for what someone is typing, the likeliest first."""
    key = name_key(q)
    if not any(c.isalnum() for c in key):
        raise InvalidInput("'q' needs letters or digits", "q")
    if gemeente is not None and not gemeente_exists(ex, gemeente):  # type: ignore[arg-type]
        raise InvalidInput(f"unknown gemeente '{gemeente}'", "gemeente")
    out = []
    for row in places.kern_autocomplete(ex, key, gemeente, MAX_SUGGESTIONS):
        lon, lat = _lonlat(row.x, row.y)
        out.append({"code": row.code, "name": row.name,
                    "gemeente": {"code": row.gemeente_code, "name": row.gemeente_name},
                    "label": kern_label(row.name, row.gemeente_name),
                    "inhabitants": row.inhabitants, "lon": lon, "lat": lat})
    return out


def _bbox(geometry: dict[str, Any]) -> list[float]:
    """[west, south, east, north] of a (Multi)Polygon's coordinates."""
    points = [p for polygon in geometry["coordinates"] for ring in polygon for p in ring]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return [min(lons), min(lats), max(lons), max(lats)]


def feature(ex: Executor, code: str) -> dict[str, Any]:
    """A kern as a GeoJSON Feature (RFC 7946): its area simplified for the web, and its figures."""
    row = places.kern_feature(ex, code, SIMPLIFY_M)
    if row is None:
        raise NotFound(f"no kern with code '{code}'", "code")
    geometry = orjson.loads(row.geometry)
    lon, lat = _lonlat(row.x, row.y)
    return {
        "type": "Feature",
        "id": row.code,
        "bbox": _bbox(geometry),
        "geometry": geometry,
        "properties": {
            "code": row.code,
            "name": row.name,
            "label": kern_label(row.name, row.gemeente_name),
            "gemeente": {"code": row.gemeente_code, "name": row.gemeente_name},
            "provincie": ({"code": row.provincie_code, "name": row.provincie_name}
                          if row.provincie_code else None),
            "inhabitants": row.inhabitants,
            "inhabitants_65plus": row.inhabitants_65plus,
            "inhabitants_75plus": row.inhabitants_75plus,
            "source": row.source,
            "lon": lon,
            "lat": lat,
        },
    }
