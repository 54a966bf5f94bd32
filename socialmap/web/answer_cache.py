"""Public pages kept for a minute per worker: the search page, an initiative's page and its API
answer, asked again and again by residents and by area teams at home visits.

Only anonymous requests (no cookie at all: no session, no language choice, so Dutch) of the
listed endpoints, only 200 answers that set no cookie, are not marked private or no-store, and
counted no demand signal (a repeated search with few results is counted each time). The key
holds the minute, since "open now" and "opens at" hold for the minute they were written in.

A page's Content-Security-Policy nonce must differ per answer: the kept body has it replaced by a
placeholder, and every answer from the cache gets a fresh nonce in its body and header.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, g, request, session

from .. import settings
from ..cache import TtlCache
from ..schedule import now_local
from .security import NONCE_BYTES

V = TypeVar("V")
ENDPOINTS = frozenset({"pages.home", "pages.initiative", "pages.kern", "api.initiative"})
PLACEHOLDER = b"\x00csp-nonce\x00"
# Headers of the view's answer that a kept answer repeats.
REPEATED = ("Vary", "Content-Language")
# (body with the placeholder, mimetype, repeated headers)
Kept = tuple[bytes, str, tuple[tuple[str, str], ...]]


def worker_cache(app: Flask, name: str, size: Callable[[V], int]) -> TtlCache[V] | None:
    """This worker's cache `name` for public answers, made on first use; None when the
    setting turns caching off."""
    cfg = settings.current()
    if cfg.answer_cache_seconds <= 0:
        return None
    key = f"socialmap.answer_cache.{name}"
    cache = app.extensions.get(key)
    if cache is None:
        cache = app.extensions[key] = TtlCache[V](
            cfg.answer_cache_seconds, cfg.answer_cache_mb * 2**20, size)
    return cache


def _cache(app: Flask) -> TtlCache[Kept] | None:
    return worker_cache(app, "pages", lambda kept: len(kept[0]))


def _key() -> tuple[Any, ...]:
    return (request.host_url, request.full_path, now_local().replace(second=0, microsecond=0))


def _keepable(response: Response) -> bool:
    control = response.headers.get("Cache-Control", "")
    db_session = g.get("db_session")
    return (response.status_code == 200 and not response.direct_passthrough
            and "Set-Cookie" not in response.headers and not session.modified
            and "no-store" not in control and "private" not in control
            and not (db_session is not None and db_session.info.get("demand_written")))


def init_app(app: Flask) -> None:
    @app.before_request
    def _serve_kept() -> Response | None:
        if (request.method != "GET" or request.endpoint not in ENDPOINTS or request.cookies
                or (cache := _cache(app)) is None):
            return None
        key = _key()
        kept = cache.get(key)
        if kept is None:
            g.answer_cache_key = key
            return None
        body, mimetype, headers = kept
        if PLACEHOLDER in body:
            # The nonce the security hook puts in this answer's header.
            g.csp_nonce = secrets.token_urlsafe(NONCE_BYTES)
            body = body.replace(PLACEHOLDER, g.csp_nonce.encode())
        response = Response(body, mimetype=mimetype, headers=list(headers))
        response.headers["X-Cache"] = "hit"
        return response

    @app.after_request
    def _keep(response: Response) -> Response:
        key = g.pop("answer_cache_key", None)
        if key is None or not _keepable(response) or (cache := _cache(app)) is None:
            return response
        body = response.get_data()
        nonce = g.get("csp_nonce")
        if nonce:
            body = body.replace(nonce.encode(), PLACEHOLDER)
        headers = tuple((k, v) for k in REPEATED if (v := response.headers.get(k)))
        cache.put(key, (body, response.mimetype or "text/html", headers))
        response.headers["X-Cache"] = "miss"
        return response
