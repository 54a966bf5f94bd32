"""GET /api/v1/map: what a map view shows, as server-side clusters or points (GeoJSON)."""
from __future__ import annotations

import math

from flask import request

from .. import db, settings
from ..errors import InvalidInput
from ..services import mapdata as svc
from . import bp
from .output import json_response
from .params import Params, parse
from .search import read_search

# Search parameters that place or page a list; a map view is placed by its bbox instead.
NOT_FOR_MAP = ("near", "kern", "mode", "radius", "limit", "offset")


def read_bbox(p: Params) -> svc.BBox:
    """'minlon,minlat,maxlon,maxlat' in WGS84 degrees."""
    raw = p.str("bbox", max_length=200)
    if raw is None:
        raise InvalidInput("'bbox' is required: minlon,minlat,maxlon,maxlat", "bbox")
    parts = raw.split(",")
    if len(parts) != 4:
        raise InvalidInput("'bbox' must be four numbers: minlon,minlat,maxlon,maxlat", "bbox")
    try:
        west, south, east, north = (float(part) for part in parts)
    except ValueError:
        raise InvalidInput("'bbox' must be four numbers: minlon,minlat,maxlon,maxlat",
                           "bbox") from None
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise InvalidInput("'bbox' must be four finite numbers", "bbox")
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        raise InvalidInput("'bbox' longitudes must lie between -180 and 180", "bbox")
    if not (-90 <= south <= 90 and -90 <= north <= 90):
        raise InvalidInput("'bbox' latitudes must lie between -90 and 90", "bbox")
    if west >= east or south >= north:
        raise InvalidInput("'bbox' minimum must be less than maximum "
                           "(minlon,minlat,maxlon,maxlat)", "bbox")
    return west, south, east, north


def read_map(p: Params) -> svc.MapRequest:
    """The map parameters: bbox and zoom, and the search's filters parsed as the search does."""
    bbox = read_bbox(p)
    zoom = p.int("zoom", minimum=0, maximum=20)
    if zoom is None:
        raise InvalidInput("'zoom' is required (0 to 20)", "zoom")
    for name in NOT_FOR_MAP:
        if name in p.args:
            raise InvalidInput(f"'{name}' does not apply to the map; give 'bbox' and 'zoom'",
                               name)
    return svc.MapRequest(bbox=bbox, zoom=zoom, filters=read_search(p))


@bp.get("/map")
def map_data():  # noqa: ANN201
    req = parse(request.args, read_map)
    body = svc.map_view(db.session(), req, settings.current())
    return json_response(body, media_type="application/geo+json", max_age=svc.MAX_AGE)
