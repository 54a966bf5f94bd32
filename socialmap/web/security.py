"""The Content-Security-Policy of every answer: scripts and styles from this site only, plus
the inline ones a page marks with this request's nonce (folium writes its map as a script)."""
from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, g

from .. import settings

NONCE_BYTES = 18


def csp_nonce() -> str:
    """This request's nonce, made when a template first asks for it."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(NONCE_BYTES)
    return str(g.csp_nonce)


def tile_origin(tile_url: str | None) -> str:
    """The origin map tiles come from ('' without tiles); '{s}.' subdomains as a wildcard."""
    parts = urlsplit(tile_url or "")
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}".replace("{s}.", "*.")


def content_security_policy(nonce: str | None = None) -> str:
    """No foreign or inline script except what carries the nonce; tiles from their server only."""
    inline = f" 'nonce-{nonce}'" if nonce else ""
    tiles = tile_origin(settings.current().tile_url)
    return (f"default-src 'self'; script-src 'self'{inline}; style-src 'self'{inline}; "
            f"img-src 'self' data: {tiles}".rstrip() + "; connect-src 'self'; font-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def init_app(app: Flask) -> None:
    """The nonce for templates and the policy on every response."""
    @app.context_processor
    def _nonce() -> dict[str, object]:
        return {"csp_nonce": csp_nonce}

    @app.after_request
    def _policy(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = content_security_policy(
            g.get("csp_nonce"))
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response
