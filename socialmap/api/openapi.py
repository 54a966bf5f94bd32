"""The OpenAPI 3.1 document of /api/v1, and a page for people that renders it."""
from __future__ import annotations

from functools import cache
from typing import Any

from flask import render_template, request

from ..apidoc import DATABASE_ERRORS, ERROR_SCHEMA, error_responses, with_database_errors
from ..vocab import KINDS, STATUSES
from . import bp
from .fragility import OPENAPI_PATHS as FRAGILITY_PATHS
from .needs import OPENAPI_PATHS as NEEDS_PATHS
from .needs import VOICE as NEEDS_VOICE
from .output import json_response
from .params import parse

ERROR = {"$ref": "#/components/responses/Error"}


def _param(name: str, description: str, schema: dict[str, Any], *, required: bool = False,
           where: str = "query", example: Any = None) -> dict[str, Any]:
    p: dict[str, Any] = {"name": name, "in": where, "required": required,
                         "description": description, "schema": schema}
    if example is not None:
        p["example"] = example
    return p


def _form(params: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parameters an HTML form also sends: an empty value is the same as leaving it out."""
    return [p | {"allowEmptyValue": True} for p in params]


def _list(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


SEARCH_PARAMETERS = _form([
    _param("near", "Where the search starts: a kern or woonplaats name (`Meers`, "
           "`westerhaar`), a name with gemeente (`Elsloo, Stein`), a postcode (`6181` or "
           "`6181 AB`), WGS84 `lat,lon` (`50.97,5.78`) or RD New `x,y` (`179000,330000`). "
           "Give `near` or `kern`.", {"type": "string", "maxLength": 200}, example="Meers"),
    _param("kern", "A kern code (from /kernen) instead of `near`.",
           {"type": "string", "maxLength": 80}, example="GM1883-meers"),
    _param("mode", "`radius` (within `radius` metres, by distance), `nearest` (the `limit` "
           "nearest, whatever the distance) or `kern` (located in the kern's area plus what "
           "serves the kern). Default: `kern` when `near` names a kern and no radius is given, "
           "else `radius`.", {"type": "string", "enum": ["radius", "nearest", "kern"]}),
    _param("radius", "Metres, for mode radius (default 5000).",
           {"type": "integer", "minimum": 1, "maximum": 100000}),
    _param("category", "Category codes (comma-separated or repeated); a parent includes its "
           "children; several codes match any of them.", _list({"type": "string"}),
           example="vervoer"),
    _param("audience", "Audience codes (for whom), as `category`.", _list({"type": "string"})),
    _param("kind", "Kinds of initiative.", _list({"type": "string", "enum": list(KINDS)})),
    _param("gemeente", "CBS gemeente code.", {"type": "string", "pattern": "^GM[0-9]{4}$"}),
    _param("status", "Statuses to include (default: active and temporarily closed).",
           _list({"type": "string", "enum": list(STATUSES)})),
    _param("open_now", "Only what is open now (Europe/Amsterdam).", {"type": "boolean"}),
    _param("open_at", "Only what is open at a weekday and time, e.g. `wo 14:00` or `3 14:00`.",
           {"type": "string"}),
    _param("q", "Free text over names and descriptions (Dutch full-text search, accents "
           "ignored, prefix matching).", {"type": "string", "maxLength": 200}),
    _param("verified_within", "Only records verified by an editor within this many days.",
           {"type": "integer", "minimum": 0, "maximum": 36500}),
    _param("demo", "Include demo records (default: the site setting).", {"type": "boolean"}),
    _param("limit", "Page size.", {"type": "integer", "minimum": 1, "maximum": 500,
                                   "default": 50}),
    _param("offset", "Page start.", {"type": "integer", "minimum": 0, "default": 0}),
])

GAP_PARAMETERS = _form([
    _param("gemeente", "CBS gemeente code (or give provincie, or neither for the country).",
           {"type": "string", "pattern": "^GM[0-9]{4}$"}),
    _param("provincie", "CBS provincie code.", {"type": "string", "pattern": "^PV[0-9]{2}$"}),
    _param("category", "Top-level category codes (default: all).", _list({"type": "string"})),
    _param("verified_within", "Count only records verified within this many months.",
           {"type": "integer", "minimum": 1, "maximum": 120}),
    _param("demo", "Include demo records (default: the site setting).", {"type": "boolean"}),
    _param("norm", "Override the category's norm, e.g. `2000` metres or `serve`.",
           {"type": "string", "maxLength": 20}),
])

POINT = {"type": "object", "required": ["type", "coordinates"],
         "properties": {"type": {"const": "Point"},
                        "coordinates": {"type": "array", "items": {"type": "number"},
                                        "minItems": 2, "maxItems": 2}}}
NAMED = {"type": ["object", "null"], "properties": {"code": {"type": "string"},
                                                   "name": {"type": "string"}}}

SCHEMAS: dict[str, Any] = {
    "Error": ERROR_SCHEMA,
    "Hit": {
        "type": "object", "required": ["type", "id", "geometry", "properties"],
        "properties": {
            "type": {"const": "Feature"},
            "id": {"type": "string"},
            "geometry": {"oneOf": [POINT, {"type": "null"}]},
            "properties": {
                "type": "object",
                "required": ["service_id", "name", "kind", "status", "match", "distance_m"],
                "properties": {
                    "service_id": {"type": "string", "format": "uuid"},
                    "location_id": {"type": ["string", "null"]},
                    "name": {"type": "string"},
                    "kind": {"type": "string"}, "kind_label": {"type": "string"},
                    "status": {"type": "string", "enum": list(STATUSES)},
                    "match": {"type": "string", "enum": ["located", "serves"]},
                    "distance_m": {"type": ["integer", "null"]},
                    "kern": NAMED, "gemeente": NAMED,
                    "address": {"type": ["string", "null"]},
                    "location_type": {"type": ["string", "null"]},
                    "precision": {"type": ["string", "null"]},
                    "categories": _list({"type": "string"}),
                    "audiences": _list({"type": "string"}),
                    "open_now": {"type": ["boolean", "null"]},
                    "opening": {"type": ["string", "null"]},
                    "schedule": _list({"type": "string"}),
                    "assured_date": {"type": ["string", "null"], "format": "date"},
                    "is_demo": {"type": "boolean"},
                },
            },
        },
    },
    "SearchResult": {
        "type": "object", "required": ["type", "features", "numberReturned", "links", "search"],
        "properties": {
            "type": {"const": "FeatureCollection"},
            "features": _list({"$ref": "#/components/schemas/Hit"}),
            "numberMatched": {"type": "integer",
                              "description": "Absent for mode nearest, and when there are "
                                             "more than numberMatchedMoreThan."},
            "numberMatchedMoreThan": {"type": "integer",
                                      "description": "Given instead of numberMatched when "
                                                     "more than this many match (200)."},
            "numberReturned": {"type": "integer"},
            "links": _list({"type": "object", "required": ["rel", "href"],
                            "properties": {"rel": {"type": "string"},
                                           "href": {"type": "string"},
                                           "type": {"type": "string"}}}),
            "search": {"type": "object"},
        },
    },
    "Initiative": {
        "type": "object", "required": ["id", "name", "kind", "status", "locations"],
        "properties": {
            "id": {"type": "string", "format": "uuid"}, "name": {"type": "string"},
            "description": {"type": ["string", "null"]}, "kind": {"type": "string"},
            "status": {"type": "string"},
            "organization": {"type": ["object", "null"]},
            "categories": _list({"type": "object"}), "audiences": _list({"type": "object"}),
            "locations": _list({"type": "object"}), "service_areas": _list({"type": "object"}),
            "schedules": _list({"type": "object"}), "contacts": _list({"type": "object"}),
            "phones": _list({"type": "object"}),
            "assured_date": {"type": ["string", "null"]},
            "last_modified": {"type": "string", "format": "date-time"},
            "support": {"type": ["object", "null"],
                        "description": "A plan's (status proposed) support: `need` (ik heb dit "
                                       "ook nodig) and `help` (ik wil helpen); null otherwise"},
        },
    },
    "Taxonomy": {
        "type": "object", "required": ["category", "audience"],
        "properties": {"category": _list({"type": "object"}),
                       "audience": _list({"type": "object"})},
    },
    "KernSuggestion": {
        "type": "object", "required": ["code", "name", "gemeente"],
        "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                       "gemeente": NAMED},
    },
    "Kern": {
        "type": "object", "required": ["type", "id", "geometry", "properties"],
        "properties": {"type": {"const": "Feature"}, "id": {"type": "string"},
                       "geometry": {"type": "object"}, "properties": {
                           "type": "object",
                           "description": "Figures of the kern, and what residents miss "
                                          "(`needs`, `resolved`) and `plans`, with support",
                           "properties": NEEDS_VOICE}},
    },
    "MapView": {
        "type": "object", "required": ["type", "features", "numberReturned", "map"],
        "description": "Clusters (count, members' centroid and bbox) or, when at most 1000 "
                       "match in view from zoom 11, the points themselves; `zoom_in` (no "
                       "features) when filters the grid cannot count meet too many records.",
        "properties": {
            "type": {"const": "FeatureCollection"},
            "features": _list({"type": "object", "required": ["type", "geometry", "properties"],
                               "properties": {
                                   "type": {"const": "Feature"}, "id": {"type": "string"},
                                   "geometry": POINT,
                                   "properties": {"type": "object", "properties": {
                                       "cluster": {"type": "boolean"},
                                       "count": {"type": "integer"},
                                       "bbox": _list({"type": "number"}),
                                       "service_id": {"type": "string", "format": "uuid"},
                                       "name": {"type": "string"},
                                       "kind": {"type": "string"}}}}}),
            "numberMatched": {"type": "integer"}, "numberReturned": {"type": "integer"},
            "map": {"type": "object", "properties": {
                "zoom": {"type": "integer"},
                "kind": {"enum": ["clusters", "points", "zoom_in"]},
                "source": {"enum": ["grid", "live"]}, "cell_zoom": {"type": "integer"},
                "cell_m": {"type": "number"}, "bbox": _list({"type": "number"}),
                "bbox_rd": _list({"type": "number"})}},
        },
    },
    "Place": {"type": "object", "required": ["kind", "label"],
              "properties": {"kind": {"type": "string"}, "label": {"type": "string"}}},
}


def _ok(ref: str, media: str = "application/json") -> dict[str, Any]:
    return {"200": {"description": "OK",
                    "content": {media: {"schema": {"$ref": f"#/components/schemas/{ref}"}}}},
            "400": ERROR}


# On the answers the server keeps for anonymous clients (socialmap/web/answer_cache.py).
KEPT_HEADERS = {
    "X-Cache": {
        "description": "For a request without cookies: `miss` (made now), `hit` (kept, made "
                       "within the minute) or `stale` (kept past its minute, served while it "
                       "is made again).",
        "schema": {"type": "string", "enum": ["miss", "hit", "stale"]}},
    "Age": {
        "description": "Seconds since a kept answer was made (on `hit` and `stale`).",
        "schema": {"type": "string", "pattern": "^[0-9]+$"}},
}


def _kept(responses: dict[str, Any]) -> dict[str, Any]:
    """`responses` with the kept answers' headers on the 200."""
    return {**responses, "200": {**responses["200"], "headers": KEPT_HEADERS}}


@cache
def document() -> dict[str, Any]:
    doc = _document()
    with_database_errors(doc["paths"], DATABASE_ERRORS)
    doc["components"]["responses"].update(error_responses("#/components/schemas/Error"))
    return doc


def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "socialmap API",
            "version": "1.0.0",
            "description": "Informal care initiatives (informele sociale kaart) in the "
                           "Netherlands. GeoJSON in WGS84 lon/lat (RFC 7946), distances in "
                           "metres. Geography: CBS/Kadaster and GeoNames, CC BY 4.0.",
            "license": {"name": "Data: CC BY 4.0", "identifier": "CC-BY-4.0"},
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/search": {"get": {
                "summary": "Search initiatives by radius, nearest or kern, with filters",
                "operationId": "search",
                "parameters": SEARCH_PARAMETERS,
                "responses": {**_kept(_ok("SearchResult", "application/geo+json")),
                              "404": ERROR},
            }},
            # Downloads (api/downloads.py): the search's parameters, limit = rows in all.
            **{f"/search.{ext}": {"get": {
                "summary": f"The same search as a {label} download with WGS84 lon/lat and RD "
                           "New x/y, streamed (every hit up to 10000)",
                "operationId": f"searchDownload{label}",
                "parameters": [p for p in SEARCH_PARAMETERS if p["name"] != "limit"] + _form([
                    _param("limit", "Hits in all (default and maximum 10000).",
                           {"type": "integer", "minimum": 1, "maximum": 10000})]),
                "responses": {"200": {
                    "description": "Headers X-Number-Matched (or X-Number-Matched-More-Than) "
                                   "and, when cut off, X-Truncated",
                    "content": {media: {"schema": schema}}},
                    "400": ERROR, "404": ERROR},
            }} for ext, label, media, schema in (
                ("csv", "CSV", "text/csv", {"type": "string"}),
                ("geojson", "GeoJSON", "application/geo+json", {
                    "type": "object", "required": ["type", "features", "numberReturned"],
                    "properties": {
                        "type": {"const": "FeatureCollection"},
                        "features": _list({"$ref": "#/components/schemas/Hit"}),
                        "numberMatched": {"type": "integer"},
                        "numberMatchedMoreThan": {"type": "integer"},
                        "numberReturned": {"type": "integer"},
                        "search": {"type": "object"}}}))},
            "/initiatives/{id}": {"get": {
                "summary": "One initiative with locations, kernen served, schedule, contacts",
                "operationId": "getInitiative",
                "parameters": [_param("id", "Initiative id", {"type": "string",
                                                              "format": "uuid"},
                                      required=True, where="path")],
                "responses": {**_kept(_ok("Initiative")), "404": ERROR},
            }},
            "/kernen": {"get": {
                "summary": "Autocomplete kernen by name (at most 10)",
                "operationId": "listKernen",
                "parameters": [
                    _param("q", "Start of a kern name", {"type": "string", "minLength": 1,
                                                         "maxLength": 100}, required=True),
                    _param("gemeente", "CBS gemeente code",
                           {"type": "string", "pattern": "^GM[0-9]{4}$"}),
                ],
                "responses": {"200": {"description": "OK", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {
                        "kernen": _list({"$ref": "#/components/schemas/KernSuggestion"})}}}}},
                    "400": ERROR},
            }},
            "/kernen/{code}": {"get": {
                "summary": "A kern with its area (GeoJSON Feature)",
                "operationId": "getKern",
                "parameters": [_param("code", "Kern code", {"type": "string"}, required=True,
                                      where="path")],
                "responses": {**_ok("Kern", "application/geo+json"), "404": ERROR},
            }},
            "/places/resolve": {"get": {
                "summary": "Resolve a place name, postcode or coordinates",
                "operationId": "resolvePlace",
                "parameters": [SEARCH_PARAMETERS[0] | {
                    "required": True, "allowEmptyValue": False,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 200}}],
                "responses": {**_ok("Place"), "404": ERROR},
            }},
            "/map": {"get": {
                "summary": "What a map view shows: server-side clusters, or points when few",
                "operationId": "mapView",
                "parameters": [
                    _param("bbox", "The view, WGS84 `minlon,minlat,maxlon,maxlat`.",
                           {"type": "string"}, required=True, example="5.0,52.0,5.3,52.2"),
                    _param("zoom", "The map's zoom level.",
                           {"type": "integer", "minimum": 0, "maximum": 20}, required=True),
                    *(p for p in SEARCH_PARAMETERS if p["name"] not in (
                        "near", "kern", "mode", "radius", "limit", "offset")),
                ],
                "responses": _kept(_ok("MapView", "application/geo+json")),
            }},
            "/gaps": {"get": {
                "summary": "Coverage per kern and category: covered, thin or gap, with people",
                "operationId": "getGaps",
                "parameters": GAP_PARAMETERS + [
                    _param("format", "Answer format.", {"type": "string",
                                                        "enum": ["json", "csv", "geojson"]}),
                    _param("geometry", "Kern areas or points in GeoJSON.",
                           {"type": "string", "enum": ["area", "point"]}),
                ],
                "responses": {"200": {"description": "Coverage (JSON, CSV or GeoJSON)",
                                      "content": {
                                          "application/json": {"schema": {"type": "object"}},
                                          "text/csv": {"schema": {"type": "string"}},
                                          "application/geo+json": {"schema": {
                                              "type": "object"}}}}, "400": ERROR},
            }},
            "/gaps/what-if/stop": {"get": {
                "summary": "Which kernen lose coverage if this initiative stops",
                "operationId": "whatIfStop",
                "parameters": [
                    _param("service", "Initiative id", {"type": "string", "format": "uuid"},
                           required=True),
                    *GAP_PARAMETERS[2:4], GAP_PARAMETERS[4],
                ],
                "responses": {"200": {"description": "Kernen and people that lose coverage",
                                      "content": {"application/json": {"schema": {
                                          "type": "object"}}}}, "400": ERROR, "404": ERROR},
            }},
            "/gaps/what-if/new": {"get": {
                "summary": "Where new initiatives of a category would cover the most people",
                "operationId": "whatIfNew",
                "parameters": GAP_PARAMETERS + [
                    _param("sites", "How many sites to choose (greedy).",
                           {"type": "integer", "minimum": 1, "maximum": 10}),
                    _param("weight", "Whom to count.", {"type": "string"}),
                    _param("include_thin", "Also count people in thin kernen.",
                           {"type": "boolean"}),
                ],
                "responses": {"200": {"description": "Chosen kernen and the people covered",
                                      "content": {"application/json": {"schema": {
                                          "type": "object"}}}}, "400": ERROR},
            }},
            **FRAGILITY_PATHS,
            **NEEDS_PATHS,
            "/taxonomy": {"get": {
                "summary": "Categories and audiences, as trees",
                "operationId": "getTaxonomy",
                "responses": _ok("Taxonomy"),
            }},
        },
        "components": {
            "schemas": SCHEMAS,
            "responses": {"Error": {
                "description": "Invalid input (400) or not found (404). A request line longer "
                               "than 8,190 bytes is refused by the HTTP server itself "
                               "(gunicorn) before the app sees it: a 400 in text/html.",
                "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}},
                    "text/html": {"schema": {"type": "string"}}}}},
        },
    }


@bp.get("/openapi.json")
def openapi_json():  # noqa: ANN201
    parse(request.args, lambda p: None)
    return json_response(document(), media_type="application/vnd.oai.openapi+json",
                         max_age=3600)


@bp.get("/docs")
def openapi_page():  # noqa: ANN201
    return render_template("api_docs.html", doc=document())
