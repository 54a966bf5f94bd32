"""Resolving where a search starts (`near`), the same way for the API and the site.

`resolve(session_or_conn, near, settings)` parses the text and hands it to the geocoder chosen by
`settings.geocoder`: 'offline' (the loaded geography) or 'pdok' (adds full addresses).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Protocol

from ..config import Settings
from ..queries.places import Executor
from .errors import AmbiguousPlace, GeocoderUnavailable, PlaceNotFound
from .offline import OfflineGeocoder, kern_place
from .parse import NameQuery, PointQuery, PostcodeQuery, Query, parse_near
from .pdok import PdokGeocoder
from .place import KernRef, Place, kern_label

__all__ = [
    "AmbiguousPlace", "Geocoder", "GeocoderUnavailable", "KernRef", "NameQuery",
    "OfflineGeocoder", "PdokGeocoder", "Place", "PlaceNotFound", "PointQuery", "PostcodeQuery",
    "Query", "get_geocoder", "kern_label", "kern_place", "parse_near", "resolve",
]


class Geocoder(Protocol):
    """The pluggable seam: turns a parsed `near` into a Place."""

    def resolve(self, ex: Executor, query: Query) -> Place: ...


@lru_cache(maxsize=8)
def _geocoder(kind: str, pdok_url: str) -> Geocoder:
    if kind == "offline":
        return OfflineGeocoder()
    if kind == "pdok":
        return PdokGeocoder(pdok_url)
    raise ValueError(f"unknown geocoder {kind!r}; set SOCIALMAP_GEOCODER to 'offline' or 'pdok'")


def get_geocoder(settings: Settings) -> Geocoder:
    """The geocoder `settings.geocoder` names ('offline' or 'pdok')."""
    return _geocoder(settings.geocoder, settings.pdok_url)


def resolve(session_or_conn: Executor, near: str, settings: Settings,
            field: str = "near") -> Place:
    """Where `near` is: raises InvalidInput, AmbiguousPlace (400), PlaceNotFound (404) or
    GeocoderUnavailable (503), each naming `field`."""
    query = parse_near(near, field)
    try:
        return get_geocoder(settings).resolve(session_or_conn, query)
    except (AmbiguousPlace, PlaceNotFound, GeocoderUnavailable) as err:
        err.field = field
        raise
