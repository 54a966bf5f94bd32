"""Fast JSON responses (orjson) for the read paths."""
from __future__ import annotations

from typing import Any

import orjson
from flask import Response


def json_response(body: Any, status: int = 200, *, media_type: str = "application/json",
                  max_age: int | None = None) -> Response:
    resp = Response(orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS), status=status,
                    mimetype=media_type)
    if max_age is not None:
        resp.headers["Cache-Control"] = f"public, max-age={max_age}"
    return resp
