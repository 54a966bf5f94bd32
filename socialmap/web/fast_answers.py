"""Repeated API answers without Flask: a WSGI layer in front of the app.

An answer of the search, initiative or map API to an anonymous request is the same for every
client for as long as the answer cache keeps it (no nonce, no token, no cookie). The view marks
such an answer (KEEP_HEADER, never sent on); this layer keeps it with its final headers, made by
every hook of the app, and answers a repeat from them, with a request id of its own and a 304
for a matching If-None-Match. A hit then costs no request context, hooks or session: about a
tenth of the app's own hit. Whatever is not marked (pages, answers that counted demand, cookies,
errors) goes through the app as before. A stale answer is served the same way, and made again
once it is sent (web.refresh); the remake passes through here to the app.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson
from flask import Flask
from werkzeug.http import http_date, is_resource_modified, unquote_etag
from werkzeug.wsgi import ClosingIterator

from ..cache import AnswerCache, Found
from .answer_cache import KEEP_HEADER, found_headers, worker_cache
from .observability import REQUEST_ID_HEADER, new_request_id
from .refresh import REFRESH_KEY, kept_in, refresher

PREFIX = "/api/"
# Made anew for every answer, by this layer or by gunicorn.
_PER_ANSWER = frozenset({KEEP_HEADER.lower(), REQUEST_ID_HEADER.lower(), "x-cache", "date",
                         "set-cookie", "age"})
_CONTENT = frozenset({"content-type", "content-length"})
# (headers of the kept answer, its body)
Fast = tuple[tuple[tuple[str, str], ...], bytes]
StartResponse = Callable[..., Any]


def _encode(fast: Fast) -> bytes:
    headers, body = fast
    return orjson.dumps(headers) + b"\n" + body


def _decode(data: bytes) -> Fast:
    head, _, body = data.partition(b"\n")
    return tuple((k, v) for k, v in orjson.loads(head)), body


def _key(environ: dict[str, Any]) -> tuple[str, ...]:
    return (environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST", ""),
            environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""))


def _etag_matches(environ: dict[str, Any], headers: tuple[tuple[str, str], ...]) -> bool:
    etag = next((v for k, v in headers if k.lower() == "etag"), None)
    return etag is not None and not is_resource_modified(environ, unquote_etag(etag)[0])


class FastAnswers:
    """The WSGI layer; `app.wsgi_app = FastAnswers(app, app.wsgi_app)`."""

    def __init__(self, flask_app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.flask_app, self.wsgi_app = flask_app, wsgi_app

    def cache(self) -> AnswerCache[Fast] | None:
        return worker_cache(self.flask_app, "api", lambda fast: len(fast[1]), _encode, _decode)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        if (environ.get("REQUEST_METHOD") != "GET" or environ.get("HTTP_COOKIE")
                or not environ.get("PATH_INFO", "").startswith(PREFIX)
                or (cache := self.cache()) is None):
            return self.wsgi_app(environ, start_response)
        key = _key(environ)
        found = None if environ.get(REFRESH_KEY) else cache.lookup(key)
        if found is None:
            return self._through(cache, key, environ, start_response)
        answer = self._answer(found, environ, start_response)
        if found.fresh:
            return answer
        # Made again once this stale answer is sent.
        return ClosingIterator(answer, lambda: refresher(self.flask_app).schedule(
            cache, key, environ))

    def _answer(self, found: Found[Fast], environ: dict[str, Any],
                start_response: StartResponse) -> list[bytes]:
        headers, body = found.value
        own = [(REQUEST_ID_HEADER, new_request_id(environ.get("HTTP_X_REQUEST_ID"))),
               ("Date", http_date()), *found_headers(found)]
        if _etag_matches(environ, headers):
            start_response("304 NOT MODIFIED",
                           [h for h in headers if h[0].lower() not in _CONTENT] + own)
            return []
        start_response("200 OK", [*headers, *own])
        return [body]

    def _through(self, cache: AnswerCache[Fast], key: tuple[str, ...],
                 environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["keep"] = status.startswith("200 ") and any(
                k == KEEP_HEADER for k, _ in headers)
            seen["headers"] = headers
            return start_response(status, [h for h in headers if h[0] != KEEP_HEADER],
                                  exc_info)

        body_iter = self.wsgi_app(environ, capture)
        if not seen.get("keep"):
            return body_iter
        try:
            body = b"".join(body_iter)
        finally:
            close = getattr(body_iter, "close", None)
            if close is not None:
                close()
        if cache.put(key, (tuple((k, v) for k, v in seen["headers"]
                                 if k.lower() not in _PER_ANSWER), body)):
            kept_in(environ, cache)
        return [body]


def init_app(app: Flask) -> None:
    app.wsgi_app = FastAnswers(app, app.wsgi_app)  # type: ignore[method-assign]
