"""The cache of public search answers, per process and shared by workers (files): kept for the
configured seconds, bounded in bytes, never for requests with cookies, and a repeated search
with few results still counted."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from socialmap import create_app
from socialmap.cache import SharedCache, TtlCache
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


def test_shared_values_expire_and_a_digest_twin_is_a_miss(tmp_path: Path) -> None:
    clock = Clock()
    cache = SharedCache[bytes](tmp_path, 10, 1000, bytes, bytes, clock)
    cache.put(("a", 1), b"x" * 10)
    # Another process with the same directory (another worker) reads what this one kept.
    other = SharedCache[bytes](tmp_path, 10, 1000, bytes, bytes, clock)
    assert other.get(("a", 1)) == b"x" * 10 and other.get(("a", 2)) is None
    clock.now += 10.1
    assert other.get(("a", 1)) is None
    # A file whose digest matches but whose key differs is not the answer for this key.
    cache.put("b", b"value of b")
    (path,) = [p for p in tmp_path.iterdir() if p.stat().st_size == 8 + 4 + 3 + 10]
    path.write_bytes(path.read_bytes().replace(b"'b'", b"'c'"))
    assert cache.get("b") is None
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # nothing left aside


def test_the_shared_directory_is_swept_to_its_byte_bound(tmp_path: Path) -> None:
    cache = SharedCache[bytes](tmp_path, 60, 1000, bytes, bytes)
    for i in range(30):
        cache.put(i, b"x" * 100)
    cache.sweep()
    kept = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert 0 < kept <= 1000
    assert cache.get(29) == b"x" * 100  # the newest stay
    cache.put("huge", b"x" * 1001)  # larger than the whole cache: not kept
    assert cache.get("huge") is None


@pytest.fixture(params=["per-process", "shared"])
def cached_client(request: pytest.FixtureRequest, settings: Settings, conn: Connection,
                  tmp_path: Path) -> FlaskClient:
    shared = str(tmp_path / "answers") if request.param == "shared" else ""
    return create_app(replace(settings, answer_cache_seconds=30, answer_cache_dir=shared),
                      bind=conn).test_client()


def test_workers_share_answers_through_the_directory(settings: Settings, conn: Connection,
                                                    tmp_path: Path) -> None:
    shared = replace(settings, answer_cache_seconds=30, answer_cache_dir=str(tmp_path))
    first, second = (create_app(shared, bind=conn).test_client() for _ in range(2))
    a = first.get(SEARCH)
    b = second.get(SEARCH)
    assert (a.headers["X-Cache"], b.headers["X-Cache"]) == ("miss", "hit")
    assert a.data == b.data
    page = f"/kern/{MEERS}"
    assert [c.get(page).headers.get("X-Cache") for c in (first, second)] == ["miss", "hit"]


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


def test_a_shared_directory_emptied_by_a_reload_is_made_again(tmp_path: Path) -> None:
    cache = SharedCache[bytes](tmp_path / "search", 60, 1000, bytes, bytes)
    cache.put("a", b"1")
    (tmp_path / "search" / next(p.name for p in (tmp_path / "search").iterdir())).unlink()
    (tmp_path / "search").rmdir()
    cache.put("b", b"2")
    assert cache.get("b") == b"2" and cache.get("a") is None


def test_the_place_a_search_starts_from_is_kept_as_long_as_answers(
        cached_client: FlaskClient, conn: Connection) -> None:
    # Reference geography changes only with a reload; within the answer cache's seconds a
    # search with other filters (not a kept answer) starts from the place found before.
    label = cached_client.get(SEARCH).get_json()["search"]["origin"]["label"]
    assert label.startswith("Meers") and "Nieuw" not in label
    conn.execute(text("UPDATE kern SET name = 'Meers-Nieuw' WHERE code = :k"), {"k": MEERS})
    other = cached_client.get(SEARCH + "&limit=7")
    assert other.headers["X-Cache"] == "miss"
    assert other.get_json()["search"]["origin"]["label"] == label
    # A place that is not found is never kept.
    for _ in range(2):
        assert cached_client.get("/api/v1/search?kern=GM0971-nergens").status_code == 404


def test_without_the_answer_cache_a_place_is_looked_up_every_time(
        client: FlaskClient, conn: Connection) -> None:
    client.get(SEARCH)
    conn.execute(text("UPDATE kern SET name = 'Meers-Nieuw' WHERE code = :k"), {"k": MEERS})
    assert client.get(SEARCH).get_json()["search"]["origin"]["label"].startswith("Meers-Nieuw")
