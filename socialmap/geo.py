"""Pure CRS helpers: WGS84 lon/lat <-> RD New x/y (EPSG:28992) with cached pyproj transformers."""
from __future__ import annotations

from functools import cache

from pyproj import Transformer

RD_NEW = 28992
WGS84 = 4326

# Rough extents of the Netherlands, for telling a plausible search point from a mistake.
NL_LAT = (50.6, 53.7)
NL_LON = (3.2, 7.3)
RD_X = (0.0, 300_000.0)
RD_Y = (289_000.0, 629_000.0)


@cache
def _transformer(source: int, target: int) -> Transformer:
    """One thread-safe transformer per direction, built on first use."""
    return Transformer.from_crs(source, target, always_xy=True)


def to_rd(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 lon, lat -> RD New x, y in metres."""
    x, y = _transformer(WGS84, RD_NEW).transform(lon, lat)
    return float(x), float(y)


def to_wgs84(x: float, y: float) -> tuple[float, float]:
    """RD New x, y in metres -> WGS84 lon, lat in degrees."""
    lon, lat = _transformer(RD_NEW, WGS84).transform(x, y)
    return float(lon), float(lat)


def in_nl_wgs84(lon: float, lat: float) -> bool:
    """Whether lon, lat lies in (or near) the Netherlands' extent."""
    return NL_LAT[0] <= lat <= NL_LAT[1] and NL_LON[0] <= lon <= NL_LON[1]


def in_rd_extent(x: float, y: float) -> bool:
    """Whether x, y lies in the area where RD New is defined for the Netherlands."""
    return RD_X[0] <= x <= RD_X[1] and RD_Y[0] <= y <= RD_Y[1]
