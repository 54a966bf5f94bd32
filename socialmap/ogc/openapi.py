"""The OpenAPI 3.0 definition of /ogc (OGC API - Features requires one: conformance oas30)."""
from __future__ import annotations

from functools import cache
from typing import Any

from ..apidoc import DATABASE_ERRORS, error_responses, with_database_errors
from .collections import COLLECTIONS, CRS84, DEFAULT_LIMIT, MAX_LIMIT, RD_NEW

OPENAPI_MEDIA = "application/vnd.oai.openapi+json;version=3.0"


def _q(name: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema, **extra}


PARAMETERS: dict[str, dict[str, Any]] = {
    "f": _q("f", "Output format (default: by the Accept header, else JSON).",
            {"type": "string", "enum": ["json", "html"]}),
    "bbox": _q("bbox", "minx,miny,maxx,maxy in bbox-crs (default CRS84 lon/lat).",
               {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
               style="form", explode=False),
    "bbox-crs": _q("bbox-crs", "CRS of bbox.", {"type": "string", "format": "uri",
                                                "enum": [CRS84, RD_NEW], "default": CRS84}),
    "crs": _q("crs", "CRS of the returned geometries.",
              {"type": "string", "format": "uri", "enum": [CRS84, RD_NEW], "default": CRS84}),
    "limit": _q("limit", f"Features per page; more than {MAX_LIMIT} counts as {MAX_LIMIT}.",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                 "default": DEFAULT_LIMIT}),
    "offset": _q("offset", "Features to skip.", {"type": "integer", "minimum": 0,
                                                 "default": 0}),
    "datetime": _q("datetime", "Accepted; the collections have no time, so it selects "
                   "nothing out.", {"type": "string"}),
}
# The error body in OpenAPI 3.0's schema dialect (no type lists).
OAS30_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message", "field"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                   "field": {"type": "string", "nullable": True}}}}}
ERROR = {"description": "Invalid parameter (400) or not found (404)",
         "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/parameters/{name}"}


def _ok(media: str, description: str = "OK") -> dict[str, Any]:
    return {"200": {"description": description, "content": {
        media: {"schema": {"type": "object"}}, "text/html": {"schema": {"type": "string"}}}},
        "400": ERROR}


@cache
def document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/": {"get": {"summary": "Landing page", "operationId": "getLandingPage",
                      "tags": ["Capabilities"], "parameters": [_ref("f")],
                      "responses": _ok("application/json")}},
        "/conformance": {"get": {"summary": "Conformance classes", "tags": ["Capabilities"],
                                 "operationId": "getConformance", "parameters": [_ref("f")],
                                 "responses": _ok("application/json")}},
        "/collections": {"get": {"summary": "The feature collections", "tags": ["Capabilities"],
                                 "operationId": "getCollections", "parameters": [_ref("f")],
                                 "responses": _ok("application/json")}},
    }
    for c in COLLECTIONS.values():
        base = f"/collections/{c.id}"
        queryables = [_q(q.name, q.description, {"type": "string", **(
            {"enum": list(q.enum)} if q.enum else {})}) for q in c.queryables]
        paths[base] = {"get": {"summary": c.title, "operationId": f"describe_{c.id}",
                               "tags": [c.title], "parameters": [_ref("f")],
                               "responses": _ok("application/json")}}
        paths[f"{base}/queryables"] = {"get": {
            "summary": f"Properties of {c.title} one may filter on",
            "operationId": f"queryables_{c.id}", "tags": [c.title],
            "responses": _ok("application/schema+json")}}
        paths[f"{base}/items"] = {"get": {
            "summary": f"Features of {c.title}", "operationId": f"getFeatures_{c.id}",
            "tags": [c.title],
            "parameters": [_ref(n) for n in ("f", "bbox", "bbox-crs", "crs", "limit", "offset",
                                             "datetime")] + queryables,
            "responses": {**_ok("application/geo+json", "A FeatureCollection"),
                          "404": ERROR}}}
        paths[f"{base}/items/{{featureId}}"] = {"get": {
            "summary": f"One feature of {c.title}", "operationId": f"getFeature_{c.id}",
            "tags": [c.title],
            "parameters": [{"name": "featureId", "in": "path", "required": True,
                            "schema": {"type": "string"}}, _ref("f"), _ref("crs")],
            "responses": {**_ok("application/geo+json", "A Feature"), "404": ERROR}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "socialmap OGC API - Features", "version": "1.0.0",
                 "description": "Initiatives, kernen and gemeenten for GIS (QGIS, ArcGIS): "
                                "GeoJSON in CRS84 or RD New (EPSG:28992).",
                 "license": {"name": "CC BY 4.0",
                             "url": "https://creativecommons.org/licenses/by/4.0/"}},
        "servers": [{"url": "/ogc"}],
        "paths": with_database_errors(paths, DATABASE_ERRORS),
        "components": {"parameters": PARAMETERS, "schemas": {"Error": OAS30_ERROR},
                       "responses": error_responses("#/components/schemas/Error")},
    }
