"""Errors as JSON for API clients and as a friendly Dutch page for people."""
from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from psycopg.errors import QueryCanceled
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, NotFound

from ..errors import AppError, QueryTimeout, Unavailable

log = logging.getLogger(__name__)

DUTCH_TITLES = {
    400: "Er klopt iets niet aan de vraag",
    403: "Geen toegang",
    404: "Niet gevonden",
    405: "Deze actie kan hier niet",
    409: "Iemand anders was u voor",
    429: "Even rustig aan",
    500: "Er ging iets mis",
    503: "De kaart is even niet bereikbaar",
    504: "Deze vraag duurde te lang",
}


def wants_json() -> bool:
    if request.path.startswith(("/api/", "/hsds", "/ogc", "/healthz")):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def render_error(err: AppError) -> tuple[Response | str, int]:
    if wants_json():
        return jsonify(err.to_dict()), err.status
    title = DUTCH_TITLES.get(err.status, "Er ging iets mis")
    return render_template("error.html", title=title, error=err), err.status


def register(app: Flask) -> None:
    @app.before_request
    def _reject_control_characters() -> None:
        # No route has a control character in its path, and PostgreSQL text cannot hold NUL:
        # answer 404 here rather than let a path segment reach a query.
        if any(ord(c) < 32 or ord(c) == 127 for c in request.path):
            raise NotFound()

    @app.errorhandler(AppError)
    def _app_error(err: AppError):  # noqa: ANN202
        return render_error(err)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):  # noqa: ANN202
        code = (err.name or "error").lower().replace(" ", "_")
        app_err = AppError(err.description or err.name, None)
        app_err.status, app_err.code = err.code or 500, code
        body, status = render_error(app_err)
        # Keep what the exception says beyond its body, such as the Allow header of a 405.
        headers = [(k, v) for k, v in err.get_headers() if k.lower() != "content-type"]
        return body, status, headers

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeout)
    def _db_down(err: Exception):  # noqa: ANN202
        if isinstance(getattr(err, "orig", None), QueryCanceled):
            return _too_long(err)
        log.warning("database unavailable: %s", err)
        resp = render_error(Unavailable("De database is tijdelijk niet bereikbaar. "
                                        "Probeer het over een minuut opnieuw."))
        return resp[0], 503, {"Retry-After": "5"}

    def _too_long(err: Exception) -> tuple[Response | str, int]:
        log.warning("statement timeout: %s", err)
        limit = app.extensions["socialmap.settings"].statement_timeout_ms / 1000
        return render_error(QueryTimeout(
            f"The question took longer than the {limit:g} s the database allows; narrow it: "
            "a smaller radius, one kern or gemeente, a category."))

    @app.errorhandler(DBAPIError)
    def _db_error(err: DBAPIError):  # noqa: ANN202
        if err.connection_invalidated:
            return _db_down(err)
        raise err
