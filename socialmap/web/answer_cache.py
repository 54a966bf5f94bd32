"""Public pages kept for a minute: the search page, a kern's page and an initiative's page,
asked again and again by residents and by area teams at home visits. Under gunicorn the workers
share them (socialmap.cache.SharedCache); otherwise each process keeps its own. An initiative's
API answer and the live map's data are the same for every anonymous client: they are only
marked here (KEEP_HEADER), and kept whole by the layer in front (web.fast_answers).

Only anonymous requests (no cookie at all: no session, no language choice, so Dutch) of the
listed endpoints, only 200 answers that set no cookie, are not marked private or no-store, and
counted no demand signal (a repeated search with few results is counted each time). A kept
answer is fresh for the setting's seconds, "open now" included; then, for answer_stale_seconds
more, it is still served (X-Cache "stale", its Age said) while it is made again in the
background (web.refresh). (The key held the minute once; then every kept answer expired at once
on the minute, and the site answered a burst of misses at every minute's start.)

A page's Content-Security-Policy nonce must differ per answer: the kept body has it replaced by a
placeholder, and every answer from the cache gets a fresh nonce in its body and header. The
same for a CSRF token, on a page whose view allows it (token_per_answer: the kern page, whose
forms an anonymous visitor may post): every answer gets a token and session cookie of its own.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

import orjson
from flask import Flask, Response, current_app, g, request, session
from sqlalchemy.orm import Session

from ..cache import GENERATION_FILE, AnswerCache, Found, SharedCache, TtlCache
from ..config import Settings
from ..schedule import now_local
from ..services import demand
from ..services.search import SearchResult
from .auth import CSRF_KEY, csrf_token
from .refresh import kept_in, refresher, refreshing
from .security import NONCE_BYTES

V = TypeVar("V")
ENDPOINTS = frozenset({"pages.home", "pages.initiative", "pages.kern"})
# Kept whole, final headers and all, by web.fast_answers.
WHOLE = frozenset({"api.initiative", "api.map_data"})
PLACEHOLDER = b"\x00csp-nonce\x00"
TOKEN_PLACEHOLDER = b"\x00csrf-token\x00"
# On an API answer that may be kept whole, final headers and all (web.fast_answers reads it and
# never sends it on).
KEEP_HEADER = "X-Socialmap-Keep"
# Headers of the view's answer that a kept answer repeats.
REPEATED = ("Vary", "Content-Language", "Cache-Control")
# (body with the placeholder, mimetype, repeated headers)
Kept = tuple[bytes, str, tuple[tuple[str, str], ...]]


def worker_cache(app: Flask, name: str, size: Callable[[V], int],
                 encode: Callable[[V], bytes], decode: Callable[[bytes], V]
                 ) -> AnswerCache[V] | None:
    """The cache `name` for public answers, made on first use: shared by the workers when the
    settings name a directory, else this process's own; None when caching is off."""
    cfg: Settings = app.extensions["socialmap.settings"]
    if cfg.answer_cache_seconds <= 0:
        return None
    key = f"socialmap.answer_cache.{name}"
    cache = app.extensions.get(key)
    if cache is None:
        limit = cfg.answer_cache_mb * 2**20
        stale = max(cfg.answer_stale_seconds, 0)
        if cfg.answer_cache_dir:
            top = Path(cfg.answer_cache_dir)
            cache = SharedCache[V](top / name, cfg.answer_cache_seconds, limit, encode, decode,
                                   stale_seconds=stale, generation_file=top / GENERATION_FILE)
        else:
            cache = TtlCache[V](cfg.answer_cache_seconds, limit, size, stale_seconds=stale)
        # Two threads' first requests may both get here: one cache wins, for both.
        cache = app.extensions.setdefault(key, cache)
    return cache


def found_headers(found: Found[Any]) -> list[tuple[str, str]]:
    """X-Cache and Age of an answer from the cache. Age (RFC 9111) is how long ago it was
    made: a browser then keeps it only for what is left of its max-age, a stale one not at
    all."""
    return [("X-Cache", "hit" if found.fresh else "stale"), ("Age", str(int(found.age)))]


def answer_found(response: Response, found: Found[Any], cache: AnswerCache[Any],
                 key: Hashable) -> Response:
    """`response`, made from a kept answer, with found_headers; a stale one is made again
    once it is sent (web.refresh)."""
    response.headers.extend(found_headers(found))
    if not found.fresh:
        remaker = refresher(current_app._get_current_object())
        environ = request.environ
        response.call_on_close(lambda: remaker.schedule(cache, key, environ))
    return response


def count_demand(s: Session, result: SearchResult) -> None:
    """Count a search page's demand signal, or, in a remake (web.refresh), which is no
    resident's search, count nothing and keep nothing when it would have counted: the next
    resident's request then goes through and counts."""
    if not refreshing():
        demand.record(s, result)
    elif demand.signal_rows(result, now_local().date()):
        g.answer_cache_refused = True


def _encode(kept: Kept) -> bytes:
    body, mimetype, headers = kept
    return orjson.dumps([mimetype, headers]) + b"\n" + body


def _decode(data: bytes) -> Kept:
    head, _, body = data.partition(b"\n")
    mimetype, headers = orjson.loads(head)
    return body, mimetype, tuple((k, v) for k, v in headers)


def _cache(app: Flask) -> AnswerCache[Kept] | None:
    return worker_cache(app, "pages", lambda kept: len(kept[0]), _encode, _decode)


def _key() -> tuple[Any, ...]:
    return (request.host_url, request.full_path)


def token_per_answer() -> None:
    """Say that this page may be kept although it carries a CSRF token (and so sets a session
    cookie, and is no-store for the browser): each answer from the cache gets a token of its
    own, made as the view would have made it. For pages whose forms need only that token."""
    g.answer_cache_token_per_answer = True


def _fresh_token_only() -> bool:
    """The page set a session only to hold a new CSRF token, and its view allows that."""
    return bool(g.get("answer_cache_token_per_answer")) and set(session.keys()) == {CSRF_KEY}


def _keepable(response: Response) -> bool:
    control = response.headers.get("Cache-Control", "")
    db_session = g.get("db_session")
    token_only = _fresh_token_only()
    return (response.status_code == 200 and not response.direct_passthrough
            and not g.get("answer_cache_refused")
            and "Set-Cookie" not in response.headers and (not session.modified or token_only)
            and (token_only or ("no-store" not in control and "private" not in control))
            and not (db_session is not None and db_session.info.get("demand_written")))


def init_app(app: Flask) -> None:
    @app.before_request
    def _serve_kept() -> Response | None:
        if (request.method != "GET" or request.cookies
                or request.endpoint not in ENDPOINTS | WHOLE or (cache := _cache(app)) is None):
            return None
        if request.endpoint in WHOLE:
            # Its repeats never reach the app: the layer in front answers them.
            g.answer_cache_whole = True
            return None
        key = _key()
        found = None if refreshing() else cache.lookup(key)
        if found is None:
            g.answer_cache_key = key
            return None
        body, mimetype, headers = found.value
        if PLACEHOLDER in body:
            # The nonce the security hook puts in this answer's header.
            g.csp_nonce = secrets.token_urlsafe(NONCE_BYTES)
            body = body.replace(PLACEHOLDER, g.csp_nonce.encode())
        if TOKEN_PLACEHOLDER in body:
            # A token of this browser's own, in a session cookie set as the view sets it.
            body = body.replace(TOKEN_PLACEHOLDER, csrf_token().encode())
        return answer_found(Response(body, mimetype=mimetype, headers=list(headers)), found,
                            cache, key)

    @app.after_request
    def _keep(response: Response) -> Response:
        if g.pop("answer_cache_whole", False):
            if _keepable(response):
                response.headers["X-Cache"] = "miss"
                response.headers[KEEP_HEADER] = "1"
            return response
        key = g.pop("answer_cache_key", None)
        if key is None or not _keepable(response) or (cache := _cache(app)) is None:
            return response
        body = response.get_data()
        nonce = g.get("csp_nonce")
        if nonce:
            body = body.replace(nonce.encode(), PLACEHOLDER)
        if (token := session.get(CSRF_KEY)) is not None:
            body = body.replace(token.encode(), TOKEN_PLACEHOLDER)
        headers = tuple((k, v) for k in REPEATED if (v := response.headers.get(k)))
        if cache.put(key, (body, response.mimetype or "text/html", headers)):
            kept_in(request.environ, cache)
        response.headers["X-Cache"] = "miss"
        return response
