"""Kern and gemeente outlines for the maps, drawn once per process and geography load.

An outline (an area simplified for the web as GeoJSON, its name, a kern's point) changes only
when the geography is reloaded, yet every map page had PostGIS simplify, transform and
serialize the same few dozen areas again and parsed them here again: about half of the time of
a detail page's SQL. The process now keeps each outline it has drawn under the checksum of
the geography load (`dataset_load`) it came from. Each statement that reads outlines returns
that checksum from the same snapshot, so a reload (a new checksum) empties the cache, and rows
that raced with a reload are used for their page but not kept under the wrong checksum.
Without a recorded load (no checksum) nothing is kept. At most the whole geography is kept:
some 3,400 areas, about 1.5 MB of GeoJSON.

A kern page's kern (its figures and area, `geocode.kernen.feature`) is geography of the same
load and is kept the same way, under the checksum read just before it.
"""
from __future__ import annotations

import threading
from typing import Any

import orjson
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from ..geocode import kernen
from ..geodata.loader import DATASET
from ..queries import geography as geography_q
from ..queries import outlines as q

Key = tuple[str, str]  # (kind, code): kind 'kern' or 'gemeente' (outlines), 'kern feature'


class OutlineCache:
    """Outline rows by (kind, code) and kern features, all from the geography load with
    checksum `version`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: str | None = None
        self._rows: dict[Key, dict[str, Any]] = {}

    def lookup(self, version: str, keys: list[Key]) -> dict[Key, dict[str, Any]]:
        """The cached rows among `keys`; forgets everything first when `version` is new."""
        with self._lock:
            if version != self._version:
                self._version, self._rows = version, {}
            return {k: self._rows[k] for k in keys if k in self._rows}

    def keep(self, version: str, rows: dict[Key, dict[str, Any]]) -> None:
        """Keep rows drawn from the load `version`, unless another load is current by now."""
        with self._lock:
            if version == self._version:
                self._rows.update(rows)


CACHE = OutlineCache()


def _row(r: Any) -> dict[str, Any]:
    return {"kind": r.kind, "code": r.code, "name": r.name,
            "geometry": orjson.loads(r.geometry), "lon": r.lon, "lat": r.lat}


def in_box(conn: Connection, box: tuple[float, float, float, float],
           cache: OutlineCache = CACHE) -> list[dict[str, Any]]:
    """Outlines of the gemeenten, then kernen, whose areas meet the RD box (queries/outlines.py
    says which and in what order): kind, code, name, geometry (GeoJSON), lon, lat.

    The rows (and their geometry) are shared with other requests: read them, never change them.
    """
    refs = q.areas_in_box(conn, box, DATASET)
    if not refs:
        return []
    keys = [(r.kind, r.code) for r in refs]
    version = refs[0].version
    found = cache.lookup(version, keys) if version is not None else {}
    missing = [k for k in keys if k not in found]
    if missing:
        drawn = q.outlines(conn, [c for kind, c in missing if kind == "kern"],
                           [c for kind, c in missing if kind == "gemeente"], DATASET)
        new = {(r.kind, r.code): _row(r) for r in drawn}
        found.update(new)
        # Rows of another load than the one the box was matched in belong to a reload that
        # committed in between: good enough for this page, never to be kept under `version`.
        if version is not None and all(r.version == version for r in drawn):
            cache.keep(version, new)
    return [found[k] for k in keys if k in found]


def kern_feature(s: Session, code: str, cache: OutlineCache = CACHE) -> dict[str, Any]:
    """`geocode.kernen.feature` (NotFound for an unknown code), kept per geography load.

    The feature is shared with other requests: read it, never change it.
    """
    version = geography_q.dataset_checksum(s.connection(), DATASET)
    if version is None:
        return kernen.feature(s, code)
    key = ("kern feature", code)
    found = cache.lookup(version, [key])
    if key in found:
        return found[key]
    feature = kernen.feature(s, code)
    # Read after the checksum: if a reload committed in between, this is the newer load's
    # kern kept under the older checksum, which the next request (reading the new checksum)
    # forgets with the rest.
    cache.keep(version, {key: feature})
    return feature
