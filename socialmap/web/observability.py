"""Request ids, structured (JSON lines) logs, and HTTP caching headers for static files and
stable API answers."""
from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, has_request_context, request

from .refresh import refreshing

REQUEST_ID_HEADER = "X-Request-Id"
# A client's id is kept only when it is short and plain, so it cannot forge log lines.
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
STATIC_MAX_AGE = 365 * 24 * 3600
# Static files asked for without the version stamp (or with a stale one) are revalidated often.
STATIC_UNVERSIONED_MAX_AGE = 300
# LogRecord attributes that are not extra fields.
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


def request_id() -> str | None:
    """The id of the current request, or None outside a request."""
    return g.get("request_id") if has_request_context() else None


def access_record(method: str, path: str, status: int, duration_ms: float,
                  rid: str | None, **extra: Any) -> dict[str, Any]:
    """The fields of one access-log line; shared by the app and the gunicorn logger."""
    return {"event": "request", "method": method, "path": path, "status": status,
            "duration_ms": round(duration_ms, 2), "request_id": rid, **extra}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id()
        if rid:
            body["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key != "request_id":
                body[key] = value
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str, ensure_ascii=False)


def json_handler(stream: Any = None) -> logging.Handler:
    """A stream handler (stderr by default) that writes JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    return handler


@lru_cache(maxsize=512)
def _file_version(path: str, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def static_version(static_folder: str, filename: str) -> str | None:
    """A short content hash of a static file, or None when there is no such file."""
    path = Path(static_folder, filename)
    try:
        stat = path.stat()
    except OSError:
        return None
    if not path.is_file():
        return None
    return _file_version(str(path), stat.st_mtime_ns)


def new_request_id(given: str | None) -> str:
    """The client's X-Request-Id when it is short and plain, else a new one."""
    return given if given and _CLIENT_ID.fullmatch(given) else uuid.uuid4().hex


def _start() -> None:
    g.request_started = time.perf_counter()
    g.request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))


def _cache_headers(app: Flask, response: Response) -> None:
    if response.status_code >= 500:
        # A proxy must never keep a 503 from a database restart.
        response.headers["Cache-Control"] = "no-store"
        return
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return
    if request.endpoint == "static":
        filename = (request.view_args or {}).get("filename", "")
        current = static_version(app.static_folder or "", filename)
        if current is not None and request.args.get("v") == current:
            response.headers["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE}, immutable"
        else:
            response.headers["Cache-Control"] = f"public, max-age={STATIC_UNVERSIONED_MAX_AGE}"
        return
    # Stable answers (their views set a public max-age) get a strong ETag, so that a client or
    # proxy revalidates with a 304 instead of downloading the document again.
    if "public" in response.headers.get("Cache-Control", "") and not response.direct_passthrough:
        if "ETag" not in response.headers:
            response.add_etag()
        response.make_conditional(request)


def init_app(app: Flask) -> None:
    """Install the request-id, access-log and caching hooks, and JSON logging for the app."""
    logger = logging.getLogger("socialmap")
    if not app.testing and not logger.handlers:
        logger.addHandler(json_handler())
        logger.setLevel(logging.INFO)
        logger.propagate = False
    access_log = logging.getLogger("socialmap.access")

    app.before_request(_start)

    @app.url_defaults
    def _static_version(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and values.get("filename") and "v" not in values:
            version = static_version(app.static_folder or "", values["filename"])
            if version:
                values["v"] = version

    @app.after_request
    def _finish(response: Response) -> Response:
        rid = g.get("request_id")
        if rid:
            response.headers[REQUEST_ID_HEADER] = rid
        _cache_headers(app, response)
        # Under gunicorn its access log writes this line (socialmap.gunicorn_conf), once.
        # A remake of a stale answer (web.refresh) is no client's request: no line.
        if ("gunicorn.socket" not in request.environ and access_log.isEnabledFor(logging.INFO)
                and not refreshing()):
            started = g.get("request_started", time.perf_counter())
            access_log.info("request", extra=access_record(
                request.method, request.path, response.status_code,
                (time.perf_counter() - started) * 1000, rid))
        return response
