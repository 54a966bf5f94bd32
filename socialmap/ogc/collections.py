"""What OGC API - Features offers: conformance classes, CRSs, the three collections and
their queryable properties, and features built from query rows. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from ..vocab import KINDS, VISIBLE_STATUSES

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
RD_NEW = "http://www.opengis.net/def/crs/EPSG/0/28992"
SRIDS = {CRS84: 4326, RD_NEW: 28992}
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000

CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
)


@dataclass(frozen=True)
class Queryable:
    """A property one may filter on by equality (`?name=value`)."""

    name: str
    description: str
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    geometry: str
    properties: tuple[str, ...]
    queryables: tuple[Queryable, ...]

    def queryable(self, name: str) -> Queryable | None:
        return next((q for q in self.queryables if q.name == name), None)


COLLECTIONS: dict[str, Collection] = {c.id: c for c in (
    Collection(
        "initiatives", "Initiatieven",
        "Informal care and welfare initiatives (active or temporarily closed), one feature "
        "per initiative and location. A private location (a volunteer's home) is published "
        "at the centre of its kern, without address.",
        "Point",
        ("service_id", "location_id", "name", "kind", "status", "url", "assured_date",
         "location_type", "precision", "address", "postal_code", "city", "kern_code",
         "kern_name", "gemeente_code", "gemeente_name", "categories", "audiences"),
        (Queryable("name", "Name of the initiative (case and accents ignored)"),
         Queryable("kind", "Kind of initiative", tuple(KINDS)),
         Queryable("status", "Status", VISIBLE_STATUSES),
         Queryable("category", "A category code (a parent includes its children)"),
         Queryable("audience", "An audience code"),
         Queryable("kern_code", "The kern the location lies in"),
         Queryable("gemeente_code", "CBS code of the gemeente"),
         Queryable("location_type", "physical or virtual", ("physical", "virtual"))),
    ),
    Collection(
        "kernen", "Kernen",
        "Village cores and districts: woonplaatsen and GeoNames places, their areas tiling "
        "each gemeente, with inhabitants (CBS).",
        "MultiPolygon",
        ("code", "name", "gemeente_code", "gemeente_name", "source", "inhabitants",
         "inhabitants_65plus", "inhabitants_75plus"),
        (Queryable("code", "Kern code"), Queryable("name", "Name (case and accents ignored)"),
         Queryable("gemeente_code", "CBS code of the gemeente"),
         Queryable("source", "woonplaats, geonames or gemeente",
                   ("woonplaats", "geonames", "gemeente"))),
    ),
    Collection(
        "gemeenten", "Gemeenten",
        "Dutch municipalities (CBS) with inhabitants and the share aged 65 and over.",
        "MultiPolygon",
        ("code", "name", "provincie_code", "provincie_name", "inhabitants", "pct_65plus"),
        (Queryable("code", "CBS code"), Queryable("name", "Name (case and accents ignored)"),
         Queryable("provincie_code", "CBS code of the provincie")),
    ),
)}


def feature(collection: Collection, row: Any) -> dict[str, Any]:
    """A GeoJSON Feature from a query row (geometry as GeoJSON text)."""
    props: dict[str, Any] = {}
    for name in collection.properties:
        value = getattr(row, name)
        if name in ("service_id", "location_id") and value is not None:
            value = str(value)
        elif name == "assured_date" and value is not None:
            value = value.isoformat()
        elif name in ("categories", "audiences"):
            value = sorted(value or [])
        props[name] = value
    return {"type": "Feature", "id": str(row.id),
            "geometry": orjson.loads(row.geometry) if row.geometry else None,
            "properties": props}
