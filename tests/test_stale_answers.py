"""Stale answers served while they are made again (cache.py lookups and claims, web/refresh.py):
a kept answer past its fresh seconds still comes at once, marked stale with its Age; once sent,
it is made again, by one worker of all, without counting demand, and replaced; an answer that
is no longer keepable is dropped, and one the database could not make stays until its end."""
from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, text

from bench.tools import get, gunicorn
from socialmap import create_app
from socialmap.cache import CLAIM_SECONDS, SharedCache, TtlCache
from socialmap.config import Settings
from socialmap.web.refresh import REFRESH_KEY, Refresher, kept_in, refresher, replay_environ

MEERS = "GM0971-meers"
SEARCH = f"/api/v1/search?kern={MEERS}"


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- the caches ------------------------------------------------------------------------------

def caches(tmp_path: Path, clock: Clock) -> list[Any]:
    return [TtlCache[bytes](10, 1000, len, clock, stale_seconds=20),
            SharedCache[bytes](tmp_path, 10, 1000, bytes, bytes, clock, stale_seconds=20)]


def test_a_value_is_fresh_then_stale_then_gone(tmp_path: Path) -> None:
    clock = Clock()
    for cache in caches(tmp_path, clock):
        clock.now = 1000.0
        cache.put("a", b"1")
        clock.now += 4
        found = cache.lookup("a")
        assert found is not None and found.fresh and found.value == b"1" and found.age == 4
        assert cache.get("a") == b"1"
        clock.now += 7  # 11 s old: past its fresh seconds, within its stale ones
        found = cache.lookup("a")
        assert found is not None and not found.fresh and found.age == 11
        assert cache.get("a") is None, "get only gives fresh values"
        clock.now += 19  # 30 s old: gone
        assert cache.lookup("a") is None


def test_without_stale_seconds_a_value_ends_with_its_fresh_ones(tmp_path: Path) -> None:
    clock = Clock()
    for cache in (TtlCache[bytes](10, 1000, len, clock),
                  SharedCache[bytes](tmp_path, 10, 1000, bytes, bytes, clock)):
        clock.now = 1000.0
        cache.put("a", b"1")
        clock.now += 10.1
        assert cache.lookup("a") is None


def test_one_claim_per_key_across_workers_until_given_back_or_lapsed(tmp_path: Path) -> None:
    clock = Clock(time.time())
    one, two = (SharedCache[bytes](tmp_path, 10, 1000, bytes, bytes, clock, stale_seconds=20)
                for _ in range(2))
    assert one.claim("a") and not two.claim("a") and not one.claim("a")
    assert two.claim("b"), "claims are per key"
    one.put("a", b"new")  # a kept remake gives the claim back
    assert two.claim("a")
    two.delete("a")  # so does a dropped one
    assert one.claim("a")
    one.release("a")
    assert two.claim("a")
    # A claim nobody gives back (its worker died) lapses.
    clock.now += CLAIM_SECONDS + 1
    assert one.claim("a")
    memory = TtlCache[bytes](10, 1000, len, clock, stale_seconds=20)
    assert memory.claim("a") and not memory.claim("a")
    clock.now += CLAIM_SECONDS + 1
    assert memory.claim("a")
    memory.put("a", b"1")
    assert memory.claim("a")


def test_the_sweep_keeps_stale_values_and_fresh_claims(tmp_path: Path) -> None:
    clock = Clock(time.time())
    cache = SharedCache[bytes](tmp_path, 10, 1000, bytes, bytes, clock, stale_seconds=20)
    cache.put("a", b"1")
    assert cache.claim("b")
    clock.now += 15
    cache.sweep()
    assert cache.lookup("a") is not None and not cache.claim("b")
    clock.now += 20
    cache.sweep()
    assert list(tmp_path.iterdir()) == [], "the value past its stale seconds and the claim"


def test_a_value_that_cannot_be_kept_takes_the_older_one_with_it(tmp_path: Path) -> None:
    clock = Clock()
    for cache in (TtlCache[bytes](10, 8, len, clock, stale_seconds=20),
                  SharedCache[bytes](tmp_path, 10, 8, bytes, bytes, clock, stale_seconds=20)):
        assert cache.put("a", b"old") is True
        clock.now += 11
        assert cache.claim("a")
        # Too big to keep: the stale one must not be served in its place, and the claim is
        # given back.
        assert cache.put("a", b"far too big") is False
        assert cache.lookup("a") is None and cache.claim("a")


def test_after_a_reload_the_old_workers_keep_nothing(tmp_path: Path) -> None:
    generation = tmp_path / "generation"
    generation.write_bytes(b"one")
    old = SharedCache[bytes](tmp_path / "api", 10, 1000, bytes, bytes,
                             generation_file=generation)
    assert old.put("a", b"1") and old.lookup("a") is not None
    generation.write_bytes(b"two")  # gunicorn_conf.on_reload
    new = SharedCache[bytes](tmp_path / "api", 10, 1000, bytes, bytes,
                             generation_file=generation)
    assert old.put("b", b"old code") is False and new.lookup("b") is None
    assert new.put("b", b"new code") and new.lookup("b").value == b"new code"  # type: ignore[union-attr]


def test_of_two_takers_of_a_lapsed_claim_one_wins(tmp_path: Path) -> None:
    clock = Clock(time.time())
    one, two = (SharedCache[bytes](tmp_path, 10, 1000, bytes, bytes, clock, stale_seconds=20)
                for _ in range(2))
    assert one.claim("a")
    clock.now += CLAIM_SECONDS + 1
    digest = one._digest("a")[1]
    path = one._claim_path(digest)
    # Both saw it lapsed; one took it over first (and holds it now, fresh)...
    assert one.claim("a")
    # ...so the other, late, must step down and leave that claim in place.
    assert two._take_over(path, digest, b"\0" * 8) is False
    assert path.exists() and not two.claim("a") and not one.claim("a")


def test_a_renewed_claim_runs_from_its_renewal(tmp_path: Path) -> None:
    clock = Clock(time.time())
    for cache in (TtlCache[bytes](10, 1000, len, clock),
                  SharedCache[bytes](tmp_path, 10, 1000, bytes, bytes, clock)):
        assert cache.claim("a")
        clock.now += CLAIM_SECONDS - 5
        cache.renew("a")
        clock.now += 10  # past the first moment's 30 s, not the renewal's
        assert not cache.claim("a")
        clock.now += CLAIM_SECONDS
        assert cache.claim("a")


# --- the refresher, on a plain WSGI app ------------------------------------------------------

def counting_app(statuses: list[int], cache: Any, gate: threading.Event | None = None
                 ) -> tuple[Callable[..., Iterable[bytes]], list[dict]]:
    """A WSGI app that answers with the next status and, on a 200, keeps 'made N' in `cache`
    as the app's layers keep an answer (once `gate` opens, when given)."""
    seen: list[dict] = []

    def wsgi(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        if gate is not None:
            assert gate.wait(10)
        seen.append(environ)
        status = statuses[len(seen) - 1]
        if status == 200:
            cache.put("k", f"made {len(seen)}".encode())
            kept_in(environ, cache)
        start(f"{status} X", [])
        return [b""]

    return wsgi, seen


def environ_for() -> dict[str, Any]:
    return {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/v1/search", "QUERY_STRING": "kern=x",
            "HTTP_HOST": "example.nl", "wsgi.url_scheme": "https", "HTTP_COOKIE": "",
            "HTTP_IF_NONE_MATCH": '"abc"', "HTTP_X_REQUEST_ID": "client-1",
            "HTTP_ACCEPT": "application/json", "wsgi.input": io.BytesIO(b"x")}


def test_a_remake_repeats_the_request_without_the_clients_conditions() -> None:
    replay = replay_environ({**environ_for(), "test.object": object()})
    assert replay[REFRESH_KEY] is True
    assert (replay["PATH_INFO"], replay["QUERY_STRING"], replay["HTTP_HOST"],
            replay["wsgi.url_scheme"], replay["HTTP_ACCEPT"]) == (
        "/api/v1/search", "kern=x", "example.nl", "https", "application/json")
    for gone in ("HTTP_IF_NONE_MATCH", "HTTP_X_REQUEST_ID", "HTTP_COOKIE", "test.object"):
        assert gone not in replay
    assert replay["wsgi.input"].read() == b""


def test_the_background_thread_remakes_once_and_replaces_the_value() -> None:
    clock = Clock()
    cache = TtlCache[bytes](10, 1000, len, clock, stale_seconds=20)
    cache.put("k", b"old")
    clock.now += 11
    gate = threading.Event()
    wsgi, seen = counting_app([200, 200], cache, gate)
    worker = Refresher(wsgi, background=True)
    # Two stale answers for the same key while it is being made: one remake.
    scheduled = [worker.schedule(cache, "k", environ_for()) for _ in range(2)]
    gate.set()
    assert scheduled == [True, False]
    assert worker.drain(10)
    assert len(seen) == 1 and seen[0][REFRESH_KEY] is True
    found = cache.lookup("k")
    assert found is not None and found.fresh and found.value == b"made 1"
    assert worker.done == 1 and worker._thread is not None and worker._thread.is_alive()


def test_a_remake_that_is_not_kept_drops_the_stale_value() -> None:
    clock = Clock()
    cache = TtlCache[bytes](10, 1000, len, clock, stale_seconds=20)
    cache.put("k", b"old")
    clock.now += 11
    wsgi, _seen = counting_app([404], cache)
    worker = Refresher(wsgi, background=False)
    assert worker.schedule(cache, "k", environ_for())
    assert cache.lookup("k") is None and worker.dropped == 1
    assert cache.claim("k"), "the claim was given back"


def test_a_remake_that_meets_the_database_away_keeps_the_stale_value() -> None:
    clock = Clock()
    cache = TtlCache[bytes](10, 1000, len, clock, stale_seconds=20)
    cache.put("k", b"old")
    clock.now += 11
    wsgi, seen = counting_app([503, 200], cache)
    worker = Refresher(wsgi, background=False)
    assert worker.schedule(cache, "k", environ_for())
    found = cache.lookup("k")
    assert found is not None and found.value == b"old" and worker.failed == 1
    # No retry at every request while the claim holds; one after it lapses.
    assert not worker.schedule(cache, "k", environ_for()) and len(seen) == 1
    clock.now += CLAIM_SECONDS / 2  # still within the stale seconds (11 + 15 < 30)
    assert not worker.schedule(cache, "k", environ_for())
    clock.now += CLAIM_SECONDS / 2 + 1
    cache.put("k", b"old")  # (a value of its own age again, to be stale, not gone)
    clock.now += 11
    assert worker.schedule(cache, "k", environ_for()) and len(seen) == 2
    assert cache.lookup("k").value == b"made 2"  # type: ignore[union-attr]


def test_a_failing_remake_never_stops_the_thread() -> None:
    cache = TtlCache[bytes](10, 1000, len, Clock(), stale_seconds=20)
    calls: list[str] = []

    def wsgi(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        calls.append(environ["PATH_INFO"])
        if len(calls) == 1:
            raise RuntimeError("boom")
        start("200 OK", [])
        return [b""]

    clock = cache.clock
    for key in ("a", "b"):
        cache.put(key, b"old")
    clock.now += 11
    worker = Refresher(wsgi, background=True)
    assert worker.schedule(cache, "a", environ_for())
    assert worker.drain(10)
    assert worker.schedule(cache, "b", environ_for())
    assert worker.drain(10)
    assert len(calls) == 2 and worker.failed == 1 and worker.dropped == 1


def stale_cache(*keys: str) -> TtlCache[bytes]:
    """A cache holding `keys`, each 11 s old: stale (fresh 10 s, stale 20 s more)."""
    clock = Clock()
    cache = TtlCache[bytes](10, 1000, len, clock, stale_seconds=20)
    for key in keys:
        cache.put(key, b"old")
    clock.now += 11
    return cache


def gated_app(status: str) -> tuple[Callable[..., Iterable[bytes]], list[str], threading.Event]:
    """A WSGI app that notes each path and answers `status` once the event is set."""
    calls: list[str] = []
    gate = threading.Event()

    def slow(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        calls.append(environ["PATH_INFO"])
        gate.wait(10)
        start(status, [])
        return [b""]

    return slow, calls, gate


def test_a_remake_made_meanwhile_by_a_request_is_skipped() -> None:
    cache = stale_cache("first", "k")
    slow, calls, gate = gated_app("404 NOT FOUND")
    worker = Refresher(slow, background=True)
    # The first remake holds the thread; "k" waits behind it and is made by a miss meanwhile.
    assert worker.schedule(cache, "first", {**environ_for(), "PATH_INFO": "/first"})
    assert worker.schedule(cache, "k", {**environ_for(), "PATH_INFO": "/k"})
    cache.put("k", b"made by a request")
    gate.set()
    assert worker.drain(10)
    assert calls == ["/first"] and worker.skipped == 1
    assert cache.lookup("k").value == b"made by a request"  # type: ignore[union-attr]


def test_a_stopped_refresher_gives_back_what_waits() -> None:
    cache = stale_cache("a", "b")
    slow, calls, gate = gated_app("200 OK")
    worker = Refresher(slow, background=True)
    assert worker.schedule(cache, "a", environ_for())
    assert worker.schedule(cache, "b", environ_for())
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.stop()  # gunicorn_conf.worker_exit: "b" waits, and is given back
    assert cache.claim("b") and not worker.schedule(cache, "a", environ_for())
    gate.set()
    assert worker.drain(10) and len(calls) == 1


# --- the app, with the test client (remakes run when the stale answer is closed) ------------

@pytest.fixture(params=["per-process", "shared"])
def app(request: pytest.FixtureRequest, settings: Settings, conn: Connection,
        tmp_path: Path) -> Flask:
    shared = str(tmp_path / "answers") if request.param == "shared" else ""
    return create_app(replace(settings, answer_cache_seconds=30, answer_stale_seconds=60,
                              answer_cache_dir=shared), bind=conn)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client(use_cookies=False)


def age_answers(app: Flask, seconds: float) -> None:
    """Make every kept answer `seconds` older, by moving the caches' clocks on."""
    for name in ("api", "pages", "search"):
        cache = app.extensions.get(f"socialmap.answer_cache.{name}")
        if cache is not None:
            clock = cache.clock
            cache.clock = lambda clock=clock: clock() + seconds


def stale_then_remade(client: FlaskClient, path: str) -> tuple[Any, Any]:
    stale = client.get(path)
    assert stale.headers["X-Cache"] == "stale" and int(stale.headers["Age"]) >= 31
    stale.close()  # the server closes it once sent; the remake follows
    return stale, client.get(path)


def test_a_stale_search_answer_comes_at_once_and_is_then_made_again(
        app: Flask, client: FlaskClient, conn: Connection) -> None:
    first = client.get(SEARCH)
    assert first.headers["X-Cache"] == "miss"
    sid = first.get_json()["features"][0]["properties"]["service_id"]
    conn.execute(text("UPDATE service SET name = 'Hernoemd' WHERE id = :s"), {"s": sid})
    age_answers(app, 31)
    stale, again = stale_then_remade(client, SEARCH)
    assert stale.data == first.data, "the stale answer is the kept one"
    assert again.headers["X-Cache"] == "hit" and int(again.headers["Age"]) <= 1
    assert again.get_json()["features"][0]["properties"]["name"] == "Hernoemd"
    assert refresher(app).done == 1
    # What the API's description says of these headers holds for all three answers.
    documented = client.get("/api/v1/openapi.json").get_json()[
        "paths"]["/search"]["get"]["responses"]["200"]["headers"]
    assert [r.headers["X-Cache"] for r in (first, stale, again)] == ["miss", "stale", "hit"]
    for resp in (first, stale, again):
        assert resp.headers["X-Cache"] in documented["X-Cache"]["schema"]["enum"]
        age = resp.headers.get("Age")
        assert age is None or re.fullmatch(documented["Age"]["schema"]["pattern"], age)


def test_a_stale_page_is_made_again_with_fresh_nonces(app: Flask, client: FlaskClient,
                                                      conn: Connection) -> None:
    page = f"/kern/{MEERS}"
    first = client.get(page)
    assert first.headers["X-Cache"] == "miss"
    sid = client.get(SEARCH).get_json()["features"][0]["properties"]["service_id"]
    conn.execute(text("UPDATE service SET name = 'Hernoemd initiatief' WHERE id = :s"),
                 {"s": sid})
    age_answers(app, 31)
    stale, again = stale_then_remade(client, page)
    assert "Hernoemd initiatief" not in stale.get_data(as_text=True)
    assert again.headers["X-Cache"] == "hit"
    assert "Hernoemd initiatief" in again.get_data(as_text=True)
    nonces = {r.headers["Content-Security-Policy"] for r in (first, stale, again)}
    assert len(nonces) == 3 and "\x00" not in again.get_data(as_text=True)


def test_a_gone_initiative_is_dropped_not_served_stale(app: Flask, client: FlaskClient,
                                                       conn: Connection) -> None:
    sid = str(conn.execute(text(
        "SELECT s.id FROM service s JOIN service_at_location sal ON sal.service_id = s.id "
        "WHERE s.status = 'active' AND NOT s.is_demo ORDER BY s.name LIMIT 1")).scalar_one())
    for path in (f"/api/v1/initiatives/{sid}", f"/initiatief/{sid}"):
        assert client.get(path).headers["X-Cache"] == "miss", path
    conn.execute(text("DELETE FROM service WHERE id = :s"), {"s": sid})
    age_answers(app, 31)
    for path in (f"/api/v1/initiatives/{sid}", f"/initiatief/{sid}"):
        _stale, again = stale_then_remade(client, path)
        assert again.status_code == 404 and "X-Cache" not in again.headers, path


def test_a_remake_counts_no_demand(app: Flask, client: FlaskClient, conn: Connection) -> None:
    def searches(category: str) -> int:
        return conn.execute(text(
            "SELECT coalesce(sum(searches), 0) FROM demand_signal WHERE kern_code = :k "
            "AND category = :c"), {"k": MEERS, "c": category}).scalar_one()

    # The search API keeps a search with few results with its signal: each answer counts it,
    # the stale one too, the remake not.
    few = f"{SEARCH}&category=opvoeden&audience=ouderen&audience=jongeren"
    assert client.get(few).headers["X-Cache"] == "miss"
    age_answers(app, 31)
    _stale, again = stale_then_remade(client, few)
    assert again.headers["X-Cache"] == "hit"
    assert searches("opvoeden") == 3
    # A search page that counted no demand is kept; when its remake would count (the
    # initiatives it found are gone), it counts nothing and is dropped, and the next resident's
    # search goes through and counts.
    page = "/?near=Meers"
    assert [client.get(page).headers.get("X-Cache") for _ in range(2)] == ["miss", "hit"]
    assert searches("") == 0
    conn.execute(text("UPDATE service SET status = 'inactive'"))
    age_answers(app, 31)
    _stale, again = stale_then_remade(client, page)
    assert "X-Cache" not in again.headers
    assert searches("") == 1, "the resident's search, not the remake"


# --- a real server: the remake runs in a worker's background thread --------------------------

@pytest.mark.slow
def test_under_gunicorn_a_stale_answer_is_made_again_in_the_background(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    env = {"SOCIALMAP_ANSWER_CACHE_SECONDS": "2", "SOCIALMAP_ANSWER_STALE_SECONDS": "60"}
    with gunicorn(url, workers=2, threads=2, env=env) as server:
        for path in (SEARCH, f"/kern/{MEERS}"):
            status, headers, body = get(server.port, path)
            assert (status, headers["x-cache"]) == (200, "miss"), path
            time.sleep(2.2)
            status, headers, stale = get(server.port, path)
            assert (status, headers["x-cache"]) == (200, "stale"), path
            assert int(headers["age"]) >= 2
            deadline = time.monotonic() + 15
            while True:
                status, headers, again = get(server.port, path)
                if headers["x-cache"] == "hit":
                    break
                assert time.monotonic() < deadline, f"{path} was not made again"
                time.sleep(0.1)
            assert status == 200 and int(headers["age"]) < 2, path
        assert server.count_cache()["stale"] >= 2
        assert server.tracebacks() == []
