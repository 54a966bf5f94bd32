"""OpenAPI pieces the three documents (/api/v1, /hsds, /ogc) share: the error body and the
responses every operation that reads the database may give. Pure."""
from __future__ import annotations

from typing import Any

# OpenAPI 3.1 (JSON Schema 2020-12); /ogc's 3.0 document has its own spelling of null.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message", "field"],
        "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "field": {"type": ["string", "null"]},
            "choices": {"type": "array", "items": {"type": "object"}},
            "suggestions": {"type": "array", "items": {"type": "object"}},
        }}},
}

# Every operation reads the database, so each may answer these two.
DATABASE_ERRORS = {"503": {"$ref": "#/components/responses/Unavailable"},
                   "504": {"$ref": "#/components/responses/QueryTimeout"}}


def error_responses(schema_ref: str) -> dict[str, Any]:
    """The 503 (database away, with Retry-After) and 504 (statement timeout) responses."""
    content = {"application/json": {"schema": {"$ref": schema_ref}}}
    return {
        "Unavailable": {
            "description": "The database is not reachable (a restart, a full pool): error "
                           "code `unavailable`; ask again after Retry-After seconds.",
            "headers": {"Retry-After": {"description": "Seconds to wait",
                                        "schema": {"type": "integer"}}},
            "content": content},
        "QueryTimeout": {
            "description": "The question took longer than the statement timeout (15 s by "
                           "default): error code `query_timeout`. Asking again gives the same; "
                           "narrow it (a smaller radius, one kern or gemeente, a category).",
            "content": content},
    }


def with_database_errors(paths: dict[str, Any], responses: dict[str, Any]) -> dict[str, Any]:
    """`paths` with `responses` added to every operation that does not name them."""
    for item in paths.values():
        for op in item.values():
            op["responses"] = {**op["responses"],
                               **{k: v for k, v in responses.items() if k not in op["responses"]}}
    return paths
