"""The worker's cache of public search answers: kept for the configured seconds, bounded in
bytes, never for requests with cookies, and a repeated search with few results still counted."""
from __future__ import annotations

from dataclasses import replace

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from socialmap import create_app
from socialmap.cache import TtlCache
from socialmap.config import Settings

MEERS = "GM0971-meers"
SEARCH = f"/api/v1/search?kern={MEERS}"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_values_expire_after_their_seconds() -> None:
    clock = Clock()
    cache = TtlCache[bytes](10, 1000, len, clock)
    cache.put("a", b"x" * 10)
    clock.now += 9.9
    assert cache.get("a") == b"x" * 10
    clock.now += 0.2
    assert cache.get("a") is None and len(cache) == 0
    assert (cache.hits, cache.misses) == (1, 1)


def test_the_least_recently_used_go_beyond_the_byte_bound() -> None:
    cache = TtlCache[bytes](60, 100, len, Clock())
    for key in "abc":
        cache.put(key, b"x" * 40)
    assert cache.get("a") is None and cache.get("b") and cache.get("c")
    cache.get("b")
    cache.put("d", b"x" * 40)
    assert cache.get("c") is None and cache.get("b") and cache.get("d")
    cache.put("huge", b"x" * 101)  # larger than the whole cache: not kept, nothing dropped
    assert cache.get("huge") is None and len(cache) == 2


@pytest.fixture
def cached_client(settings: Settings, conn: Connection) -> FlaskClient:
    return create_app(replace(settings, answer_cache_seconds=30), bind=conn).test_client()


def test_a_repeated_search_is_answered_from_the_cache(cached_client: FlaskClient,
                                                      conn: Connection) -> None:
    first = cached_client.get(SEARCH)
    assert first.status_code == 200 and first.headers["X-Cache"] == "miss"
    assert first.headers["Cache-Control"] == "public, max-age=30"
    assert first.headers["Content-Type"] == "application/geo+json"
    name = first.get_json()["features"][0]["properties"]["name"]
    sid = first.get_json()["features"][0]["properties"]["service_id"]
    # A change within the seconds the answer may be old is not seen by the cached answer...
    conn.execute(text("UPDATE service SET name = 'Hernoemd' WHERE id = :s"), {"s": sid})
    again = cached_client.get(SEARCH)
    assert again.headers["X-Cache"] == "hit" and again.data == first.data
    assert again.get_json()["features"][0]["properties"]["name"] == name
    # ...but by another search, and by a client with cookies (a signed-in editor), at once.
    other = cached_client.get(SEARCH + "&limit=49")
    assert other.headers["X-Cache"] == "miss"
    assert other.get_json()["features"][0]["properties"]["name"] == "Hernoemd"
    cached_client.set_cookie("session", "x")
    fresh = cached_client.get(SEARCH)
    assert "X-Cache" not in fresh.headers and "Cache-Control" not in fresh.headers
    assert fresh.get_json()["features"][0]["properties"]["name"] == "Hernoemd"


def test_a_conditional_request_gets_304(cached_client: FlaskClient) -> None:
    etag = cached_client.get(SEARCH).headers["ETag"]
    resp = cached_client.get(SEARCH, headers={"If-None-Match": etag})
    assert resp.status_code == 304


def test_errors_are_not_kept(cached_client: FlaskClient) -> None:
    for _ in range(2):
        resp = cached_client.get("/api/v1/search?kern=GM0971-nergens")
        assert resp.status_code == 404 and "X-Cache" not in resp.headers


def test_a_cached_search_with_few_results_is_still_counted(cached_client: FlaskClient,
                                                           conn: Connection) -> None:
    path = (f"/api/v1/search?kern={MEERS}&category=opvoeden&audience=ouderen"
            "&audience=jongeren")
    states = [cached_client.get(path).headers["X-Cache"] for _ in range(3)]
    assert states == ["miss", "hit", "hit"]
    searches = conn.execute(text("SELECT searches FROM demand_signal WHERE kern_code = :k "
                                 "AND category = 'opvoeden'"), {"k": MEERS}).scalar_one()
    assert searches == 3
