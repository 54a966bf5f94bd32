"""The WSGI layer in front of the app (web/fast_answers.py): a repeated anonymous API answer
that its view marked comes back whole, final headers and all, without the app; everything else
goes through the app."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from socialmap import create_app
from socialmap.config import Settings
from socialmap.web.answer_cache import KEEP_HEADER

MEERS = "GM0971-meers"
SEARCH = f"/api/v1/search?kern={MEERS}"


@pytest.fixture(params=["per-process", "shared"])
def app(request: pytest.FixtureRequest, settings: Settings, conn: Connection,
        tmp_path: Path) -> Flask:
    shared = str(tmp_path / "answers") if request.param == "shared" else ""
    return create_app(replace(settings, answer_cache_seconds=30, answer_cache_dir=shared),
                      bind=conn)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client(use_cookies=False)


def forget_in_app(app: Flask) -> None:
    """Empty the app's own caches: what still comes back as a hit came from the layer."""
    for name in ("search", "pages"):
        cache = app.extensions.get(f"socialmap.answer_cache.{name}")
        if cache is not None:
            cache.clear()


def own_headers(resp) -> dict[str, str]:  # noqa: ANN001
    return {k: v for k, v in resp.headers.items()
            if k not in ("X-Request-Id", "X-Cache", "Date", "Age")}


@pytest.mark.parametrize("path", [SEARCH, "/api/v1/map?bbox=5.80,50.99,5.86,51.03&zoom=14"])
def test_a_repeat_comes_back_whole_from_the_layer(app: Flask, client: FlaskClient,
                                                  path: str) -> None:
    first = client.get(path)
    assert first.status_code == 200 and first.headers["X-Cache"] == "miss"
    forget_in_app(app)
    again = client.get(path, headers={"X-Request-Id": "kaart-42"})
    assert again.status_code == 200 and again.headers["X-Cache"] == "hit"
    assert again.data == first.data
    assert own_headers(again) == own_headers(first)
    # Made within this second, as its Age says (a miss, made now, says none).
    assert again.headers["Age"] == "0" and "Age" not in first.headers
    assert again.headers["X-Request-Id"] == "kaart-42" and "Date" in again.headers
    assert first.headers["X-Request-Id"] != client.get(path).headers["X-Request-Id"]
    for resp in (first, again):
        assert KEEP_HEADER not in resp.headers
        assert resp.headers["Cache-Control"].startswith("public, max-age=")
        assert "Content-Security-Policy" in resp.headers and "ETag" in resp.headers
    # A conditional repeat: 304 without a body, with the validator and the cache headers.
    not_modified = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert not_modified.headers["ETag"] == first.headers["ETag"]
    assert not_modified.headers["X-Cache"] == "hit"
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_cookies_head_and_pages_go_through_the_app(app: Flask, client: FlaskClient,
                                                   conn: Connection) -> None:
    client.get(SEARCH)
    sid = client.get(SEARCH).get_json()["features"][0]["properties"]["service_id"]
    conn.execute(text("UPDATE service SET name = 'Nieuwe naam' WHERE id = :s"), {"s": sid})
    forget_in_app(app)
    with_cookie = app.test_client()
    with_cookie.set_cookie("lang", "nl")
    fresh = with_cookie.get(SEARCH)
    assert "X-Cache" not in fresh.headers
    assert fresh.get_json()["features"][0]["properties"]["name"] == "Nieuwe naam"
    head = client.head(SEARCH)
    assert head.headers.get("X-Cache") != "hit" and KEEP_HEADER not in head.headers
    # A page carries a nonce of its own: never answered by the layer.
    client.get(f"/kern/{MEERS}")
    forget_in_app(app)
    assert client.get(f"/kern/{MEERS}").headers["X-Cache"] == "miss"


def test_a_search_that_counted_demand_is_counted_each_time(app: Flask, client: FlaskClient,
                                                           conn: Connection) -> None:
    path = f"/api/v1/search?kern={MEERS}&category=opvoeden&audience=jongeren"
    for _ in range(3):
        resp = client.get(path)
        assert resp.status_code == 200 and KEEP_HEADER not in resp.headers
        forget_in_app(app)
    searches = conn.execute(text("SELECT searches FROM demand_signal WHERE kern_code = :k "
                                 "AND category = 'opvoeden'"), {"k": MEERS}).scalar_one()
    assert searches == 3


def test_errors_are_not_kept(app: Flask, client: FlaskClient) -> None:
    for _ in range(2):
        resp = client.get("/api/v1/search?kern=GM0971-nergens")
        assert resp.status_code == 404 and "X-Cache" not in resp.headers
