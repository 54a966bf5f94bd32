"""Fast JSON responses (orjson) for the read paths, and streamed answers."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson
from flask import Response
from sqlalchemy.exc import DBAPIError

from .. import db

log = logging.getLogger(__name__)


def json_response(body: Any, status: int = 200, *, media_type: str = "application/json",
                  max_age: int | None = None) -> Response:
    resp = Response(orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS), status=status,
                    mimetype=media_type)
    if max_age is not None:
        resp.headers["Cache-Control"] = f"public, max-age={max_age}"
    return resp


def streamed_response(chunks: Iterable[bytes] | Iterable[str], mimetype: str,
                      headers: Mapping[str, str] | None = None) -> Response:
    """A body read from `chunks` after the view returned, over the request's session, taken
    over (db.take_session()) since the request's teardown runs before the body is read.
    `chunks`, then the session, close once: when the body ends or fails, or when the server
    closes the response (the client went away mid-body, the body was never read, a HEAD), or
    at the request's teardown when the request failed after the view (see db.close_on_error)."""
    # Not stream_with_context: its second teardown finds no session in `g` to close, so a
    # stream's connection stayed checked out until the garbage collector found the session.
    s = db.take_session()
    parts = iter(chunks)
    closed = False

    def close() -> None:
        nonlocal closed
        if closed:
            return
        closed = True
        try:
            stop = getattr(parts, "close", None)
            if stop is not None:
                stop()  # a cut-off export closes its cursor and drops its spill first
        except DBAPIError:
            log.warning("database connection lost while closing a streamed answer")
        finally:
            try:
                s.close()
            except DBAPIError:
                log.warning("database connection lost while closing a streamed answer's"
                            " session")

    def body() -> Iterator[bytes] | Iterator[str]:
        try:
            yield from parts
        finally:
            close()

    response = Response(body(), mimetype=mimetype, headers=dict(headers or {}))
    # The server closes the response when done, also when the body was never started.
    response.call_on_close(close)
    # Unless a later step (an after_request hook) fails: Flask then serves an error answer
    # and drops this one, unclosed; the request's teardown closes it instead.
    db.close_on_error(close)
    return response
