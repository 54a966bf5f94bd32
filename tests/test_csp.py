"""The Content-Security-Policy of the whole app: on every page, no 'unsafe-inline', and every
inline script or style the page holds carries that answer's nonce (folium's map script too)."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, text


class Inline(HTMLParser):
    """Inline <script>/<style> elements with their nonce, style attributes and on* handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[tuple[str, str | None]] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "style" or tag == "script" and not a.get("src"):
            self.inline.append((tag, a.get("nonce")))
        self.attributes += [f"{tag}[{name}]" for name in a
                            if name == "style" or name.startswith("on")]


def _policy(header: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


@pytest.fixture
def places(conn: Connection) -> dict[str, str]:
    row = conn.execute(text(
        "SELECT s.id, l.kern_code, k.gemeente_code FROM service s "
        "JOIN service_at_location sal ON sal.service_id = s.id "
        "JOIN location l ON l.id = sal.location_id JOIN kern k ON k.code = l.kern_code "
        "WHERE s.name = 'Dorpsdagvoorziening Meers'")).one()
    return {"service": str(row.id), "kern": row.kern_code, "gemeente": row.gemeente_code}


PAGES = ("/", "/?near=Meers", "/?near=6171&radius=5000&category=vervoer",
         "/?near=Meers&print=1", "/initiatief/{service}", "/kern/{kern}", "/kern/{kern}?print=1",
         "/gaps", "/gaps?area={gemeente}&category=ontmoeting", "/aanmelden", "/inloggen",
         "/initiatief/{service}/wijziging", "/api/v1/docs", "/ogc/", "/ogc/collections",
         "/bestaat-niet", "/?near=Nergenshuizen")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_the_policy_and_nonced_inline_code(client: FlaskClient,
                                                          places: dict[str, str],
                                                          path: str) -> None:
    resp = client.get(path.format(**places), headers={"Accept": "text/html"})
    assert resp.mimetype == "text/html", resp.status
    policy = _policy(resp.headers["Content-Security-Policy"])
    assert "unsafe-inline" not in resp.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in resp.headers["Content-Security-Policy"]
    assert policy["object-src"] == "object-src 'none'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    parser = Inline()
    parser.feed(resp.get_data(as_text=True))
    assert parser.attributes == []
    nonce = re.search(r"'nonce-([^']+)'", policy["script-src"])
    for tag, given in parser.inline:
        assert nonce and given == nonce.group(1), (path, tag)
        assert f"'nonce-{given}'" in policy[f"{tag}-src"]


def test_the_nonce_changes_with_every_answer(client: FlaskClient) -> None:
    nonces = {re.search(r"'nonce-([^']+)'", client.get("/?near=Meers").headers[
        "Content-Security-Policy"]).group(1) for _ in range(3)}  # type: ignore[union-attr]
    assert len(nonces) == 3


def test_json_and_pages_without_inline_code_get_no_nonce(client: FlaskClient) -> None:
    resp = client.get("/api/v1/search?near=Meers")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "nonce" not in csp
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_tiles_are_the_only_foreign_images(app, client: FlaskClient) -> None:  # noqa: ANN001
    policy = _policy(client.get("/").headers["Content-Security-Policy"])
    assert policy["img-src"].startswith("img-src 'self' data:")
    assert policy["connect-src"] == "connect-src 'self'"
    assert policy["default-src"] == "default-src 'self'"


def test_the_search_map_fetches_the_rest_from_the_map_api(client: FlaskClient,
                                                          places: dict[str, str]) -> None:
    html = client.get("/?near=6171&radius=25000&category=vervoer&limit=5&offset=5"
                      "&demo=true").get_data(as_text=True)
    live = re.search(r'SocialMap\.live\([^,]+, (\{.*?\})\);', html)
    assert live, "no live map layer"
    options = json.loads(live.group(1))
    assert options["url"].startswith("/api/v1/map?")
    query = options["url"].split("?", 1)[1]
    assert "category=vervoer" in query and "demo=true" in query
    for placing in ("near=", "radius=", "limit=", "offset=", "mode="):
        assert placing not in query  # the map is placed by its own view
    # The page's own results are drawn as numbered pins and skipped by the live layer.
    inline = re.search(r"SocialMap\.addHits\([^,]+, (\{.*?\}), \{\"numbered\"", html, re.S)
    assert inline
    ids = [f["id"] for f in json.loads(inline.group(1))["data"]["features"]]
    assert ids and options["skip"] == ids
    assert client.get(options["url"] + "&bbox=5.5,50.8,6.2,51.3&zoom=12").status_code == 200
