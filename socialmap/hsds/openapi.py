"""The OpenAPI 3.1 document of /hsds and the machine-readable NL profile it names. Pure."""
from __future__ import annotations

from functools import cache
from typing import Any

from ..apidoc import DATABASE_ERRORS, ERROR_SCHEMA, error_responses, with_database_errors
from . import mapping as m
from . import profile
from .spec import VERSION

OFFICIAL = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"
MAX_PER_PAGE = 1000
MINIMAL_PER_PAGE = 10_000


def _param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


# HSDS 3.0's own query parameters, as the specification's openapi.json defines them.
HSDS_PARAMETERS = {
    "search": _param("search", "Full-text search (Dutch, accents ignored, prefix matching) on "
                     "names and descriptions.", {"type": "string", "maxLength": 200}),
    "page": _param("page", "Page number, from 1.", {"type": "integer", "minimum": 1}),
    "per_page": _param("per_page", f"Items per page (default 50, at most {MAX_PER_PAGE}; with "
                       f"minimal=true at most {MINIMAL_PER_PAGE}).",
                       {"type": "integer", "minimum": 1, "maximum": MINIMAL_PER_PAGE}),
    "format": _param("format", "`json` (default, paged) or `ndjson`: every match, one JSON "
                     "object per line, streamed without paging.",
                     {"type": "string", "enum": ["json", "ndjson"]}),
    "taxonomy_term_id": _param("taxonomy_term_id", "Services with this taxonomy term (or a "
                               "child of it).", {"type": "string", "format": "uuid"}),
    "taxonomy_id": _param("taxonomy_id", "Services with any term of this taxonomy.",
                          {"type": "string", "format": "uuid"}),
    "organization_id": _param("organization_id", "Services of this organization.",
                              {"type": "string", "format": "uuid"}),
    "modified_after": _param("modified_after", "Services modified on or after this date-time "
                             "(ISO 8601; without offset: Europe/Amsterdam).",
                             {"type": "string", "format": "date-time"}),
    "minimal": _param("minimal", "Only `id` and `last_modified` of each service.",
                      {"type": "boolean"}),
    "full": _param("full", "Fully nested objects.", {"type": "boolean"}),
    "full_service": _param("full_service", "Nested services fully nested too.",
                           {"type": "boolean"}),
    "postcode": _param("postcode", "A Dutch postcode (`9163` or `9163 GA`). Alone: what is "
                       "located in, or serves, the kern around the postcode's centre; with "
                       "`proximity`: within that many metres of the centre.",
                       {"type": "string", "maxLength": 7}),
    "proximity": _param("proximity", "Metres from the centre of `postcode`.",
                        {"type": "integer", "minimum": 1, "maximum": 100_000}),
    "top_only": _param("top_only", "Only terms without a parent.", {"type": "boolean"}),
    "parent_id": _param("parent_id", "Only children of this term.",
                        {"type": "string", "format": "uuid"}),
}

# The NL profile's extensions (docs/hsds-profile-nl/README.md).
PROFILE_PARAMETERS = {
    "kern": _param("kern", "Profile: a kern code (see /api/v1/kernen): what is located in the "
                   "kern's area or serves the kern.", {"type": "string", "maxLength": 80}),
    "lat": _param("lat", "Profile: WGS84 latitude of a centre; with `lon` and `radius`.",
                  {"type": "number", "minimum": -90, "maximum": 90}),
    "lon": _param("lon", "Profile: WGS84 longitude of a centre; with `lat` and `radius`.",
                  {"type": "number", "minimum": -180, "maximum": 180}),
    "radius": _param("radius", "Profile: metres from `lat`,`lon` (default 5000).",
                     {"type": "integer", "minimum": 1, "maximum": 100_000}),
    "open_now": _param("open_now", "Profile: only what is open now (Europe/Amsterdam), by "
                       "its weekly schedules.", {"type": "boolean"}),
    "gemeente": _param("gemeente", "Profile: only what is located in this gemeente (CBS "
                       "code).", {"type": "string", "pattern": "^GM[0-9]{4}$"}),
}

SERVICE_FILTERS = ("search", "taxonomy_term_id", "taxonomy_id", "organization_id",
                   "modified_after", "postcode", "proximity", "kern", "lat", "lon", "radius",
                   "open_now", "gemeente")
PAGED = ("page", "per_page", "format")
ENDPOINTS: dict[str, tuple[str, ...]] = {
    "/services": (*SERVICE_FILTERS, *PAGED, "minimal", "full"),
    "/service_at_locations": (*SERVICE_FILTERS, *PAGED, "full"),
    "/organizations": ("search", *PAGED, "full", "full_service"),
    "/taxonomies": ("search", *PAGED),
    "/taxonomy_terms": ("search", *PAGED, "taxonomy_id", "top_only", "parent_id"),
}
LIST_SCHEMAS = {
    "/services": "compiled/service_list.json",
    "/service_at_locations": "compiled/service_at_location_list.json",
    "/organizations": "compiled/organization_list.json",
    "/taxonomies": "taxonomy.json",
    "/taxonomy_terms": "taxonomy_term.json",
}
ONE_SCHEMAS = {
    "/services/{id}": "compiled/service.json",
    "/service_at_locations/{id}": "compiled/service_at_location.json",
    "/organizations/{id}": "compiled/organization.json",
    "/taxonomies/{id}": "taxonomy.json",
    "/taxonomy_terms/{id}": "taxonomy_term.json",
}

PAGE = {
    "type": "object",
    "required": ["total_items", "total_pages", "page_number", "size", "first_page",
                 "last_page", "empty", "contents"],
    "properties": {
        "total_items": {"type": "integer"}, "total_pages": {"type": "integer"},
        "page_number": {"type": "integer"}, "size": {"type": "integer"},
        "first_page": {"type": "boolean"}, "last_page": {"type": "boolean"},
        "empty": {"type": "boolean"}, "contents": {"type": "array"},
    },
}
ERROR = {"description": "Invalid parameter (400, naming the field) or not found (404)",
         "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/parameters/{name}"}


@cache
def document() -> dict[str, Any]:
    """The OpenAPI document of this HSDS API."""
    paths: dict[str, Any] = {"/": {"get": {
        "summary": "HSDS version, profile and the address of this document",
        "operationId": "getAPIMetaInformation",
        "responses": {"200": {"description": "OK"}}}}}
    for path, names in ENDPOINTS.items():
        item = {"$ref": OFFICIAL + LIST_SCHEMAS[path]}
        paths[path] = {"get": {
            "summary": f"Paged list ({path.strip('/')})",
            "operationId": "list" + path.strip("/").title().replace("_", ""),
            "parameters": [_ref(n) for n in names],
            "responses": {
                "200": {"description": "HSDS Page, or ndjson with format=ndjson",
                        "content": {
                            "application/json": {"schema": {
                                "allOf": [{"$ref": "#/components/schemas/Page"}],
                                "properties": {"contents": {"type": "array", "items": item}}}},
                            "application/x-ndjson": {"schema": item}}},
                "400": ERROR}}}
    for path, schema in ONE_SCHEMAS.items():
        paths[path] = {"get": {
            "summary": f"One {path.split('/')[1].rstrip('s')}, fully nested",
            "operationId": "get" + path.split("/")[1].title().replace("_", ""),
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "string", "format": "uuid"}}]
                          + ([_ref("full_service")] if path.startswith("/organizations")
                             else []),
            "responses": {"200": {"description": "OK", "content": {"application/json": {
                "schema": {"$ref": OFFICIAL + schema}}}}, "400": ERROR, "404": ERROR}}}
    for kind, label, media, body in (
            ("json", "tabular JSON", "application/json",
             {"$ref": OFFICIAL + "compiled/tabular.json"}),
            ("zip", "Tabular Data Package (CSV)", "application/zip",
             {"type": "string", "contentMediaType": "application/zip"})):
        paths[f"/export.{kind}"] = {"get": {
            "summary": f"The whole registry as HSDS {label}, streamed",
            "operationId": f"export{kind.title()}",
            "responses": {"200": {"description": "A file (Content-Disposition: attachment)",
                                  "content": {media: {"schema": body}}}}}}
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "socialmap HSDS API",
            "version": f"{VERSION}.0+{profile.PROFILE_NAME}.{profile.PROFILE_VERSION}",
            "summary": "Informal care initiatives in the Netherlands as Open Referral HSDS 3.0",
            "description": "HSDS 3.0 with the socialmap-nl profile: see /hsds/profile. Private "
                           "data is never served: a private location appears at the centre "
                           "of its kern without address, private contacts and phones not at "
                           "all.",
            "license": {"name": "CC BY 4.0", "identifier": "CC-BY-4.0"},
        },
        "servers": [{"url": "/hsds"}],
        "paths": with_database_errors(paths, DATABASE_ERRORS),
        "components": {
            "schemas": {"Page": PAGE, "Error": ERROR_SCHEMA},
            "parameters": {**HSDS_PARAMETERS, **PROFILE_PARAMETERS},
            "responses": error_responses("#/components/schemas/Error"),
        },
    }


# What the profile changes in the HSDS schemas: JSON Merge Patches (RFC 7396) over the
# official schema/<table>.json; the same files are in docs/hsds-profile-nl/schema/.
SCHEMA_DELTAS: dict[str, dict[str, Any]] = {
    "service_at_location": {"properties": {"distance": {
        "name": "distance", "type": "integer", "title": "Distance",
        "description": "socialmap-nl: metres from the centre of a postcode/proximity or "
                       "lat/lon/radius search; a private location is measured at its kern "
                       "centre, rounded.", "constraints": {"unique": False}}}},
    "location": {"properties": {
        "latitude": {"description": "WGS84 latitude. socialmap-nl: for a private location "
                                    "(attribute kenmerk/prive) the centre of its kern."},
        "longitude": {"description": "WGS84 longitude. socialmap-nl: for a private location "
                                     "(attribute kenmerk/prive) the centre of its kern."},
    }},
    "schedule": {"properties": {
        "opens_at": {"description": "socialmap-nl: local time in Europe/Amsterdam, HH:MM:SS. "
                                    "A weekly slot is one schedule with freq WEEKLY and one "
                                    "day in byday."},
        "closes_at": {"description": "socialmap-nl: local time in Europe/Amsterdam, HH:MM:SS."},
    }},
    "service_area": {"properties": {"uri": {
        "description": f"socialmap-nl: {profile.KERN_URN}<kern code> for a kern served."}}},
    "attribute": {"properties": {"link_type": {
        "description": "socialmap-nl: category, audience (our two facets), kind or feature "
                       "(the profile taxonomies)."}}},
}


@cache
def profile_document() -> dict[str, Any]:
    """The profile, machine-readable: extensions, taxonomies with their terms, deltas."""
    return {
        "name": profile.PROFILE_NAME,
        "version": profile.PROFILE_VERSION,
        "hsds_version": VERSION,
        "title": "socialmap HSDS profile for the Netherlands",
        "description": "Informal care initiatives (informele zorg en welzijn) in Dutch kernen. "
                       "What HSDS has no field for travels as attributes of two profile "
                       "taxonomies; the API adds search by kern, lat/lon/radius, open now and "
                       "gemeente. Documentation: docs/hsds-profile-nl/README.md.",
        "parameters": PROFILE_PARAMETERS,
        "taxonomies": m.profile_taxonomies(),
        "taxonomy_terms": m.profile_terms(),
        "schema_deltas": sorted(SCHEMA_DELTAS),
    }
