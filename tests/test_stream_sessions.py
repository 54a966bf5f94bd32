"""Streamed answers (search downloads, HSDS ndjson and exports) read the database after the
view returned, over the session they took from the request. On an engine with a real pool
(not the tests' shared connection) every connection they used is back in the pool as soon as
the body ends, the client goes away mid-body, or the body is never read; not when the
garbage collector happens to find the session. More answers than the pool holds prove it."""
from __future__ import annotations

import gc
import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest
from flask import Flask, Response
from sqlalchemy import Engine, text
from werkzeug.serving import make_server

from socialmap import create_app, db
from socialmap.config import Settings
from socialmap.pgcluster import Cluster
from tests.conftest import GEODATA, TEST_DB

POOL = 2  # pool_size; the pool also lends as many again (max_overflow)
ROUNDS = 2 * POOL * 2 + 1  # more answers than the pool can lend at once
STREAMS = ["/api/v1/search.csv?near=Meers&radius=25000",
           "/api/v1/search.geojson?near=Meers&radius=25000",
           "/hsds/services?format=ndjson&kern=GM0971-meers",
           "/hsds/service_at_locations?format=ndjson&kern=GM0971-meers"]
EXPORT = "/hsds/export.json"  # seconds each (it sorts the registry first): asked for fewer times


@pytest.fixture(scope="module")
def real_app(cluster: Cluster, engine: Engine) -> Iterator[Flask]:
    """The app on an engine of its own, pooled as in production (smaller), over the test
    database (`engine` builds it)."""
    app = create_app(Settings(database_url=cluster.socket_url(TEST_DB), testing=True,
                              secret_key="x", geodata_dir=GEODATA, answer_cache_seconds=0,
                              pool_size=POOL))
    yield app
    with app.app_context():
        db.get_db().engine.dispose()


def _engine(app: Flask) -> Engine:
    with app.app_context():
        return db.get_db().engine


@pytest.fixture
def no_gc() -> Iterator[None]:
    """A leaked session (a cycle through its transaction) is then never collected."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.usefixtures("no_gc")
@pytest.mark.parametrize("path", STREAMS)
@pytest.mark.parametrize("how", ["read", "first chunk", "unread"])
def test_every_connection_is_back_when_the_response_closes(real_app: Flask, path: str,
                                                           how: str) -> None:
    pool = _engine(real_app).pool
    client = real_app.test_client()
    for _ in range(ROUNDS):
        with client.get(path) as resp:
            assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
            assert resp.is_streamed
            if how == "read":
                assert resp.get_data()
            elif how == "first chunk":  # the client went away after the first piece
                assert next(iter(resp.response))
        assert pool.checkedout() == 0, f"{path} ({how}) kept a connection"


@pytest.mark.usefixtures("no_gc")
@pytest.mark.parametrize("how", ["first chunk", "unread"])
def test_an_export_cut_off_returns_its_connection(real_app: Flask, how: str) -> None:
    pool = _engine(real_app).pool
    with real_app.test_client().get(EXPORT) as resp:
        assert resp.status_code == 200
        if how == "first chunk":
            assert next(iter(resp.response))
    assert pool.checkedout() == 0


def test_a_head_request_returns_its_connection(real_app: Flask) -> None:
    pool = _engine(real_app).pool
    client = real_app.test_client()
    for _ in range(ROUNDS):
        with client.head(STREAMS[0]) as resp:
            assert resp.status_code == 200
        assert pool.checkedout() == 0


def _cut_off(port: int, path: str) -> bytes:
    """Ask for `path`, read the head and the start of the body, then reset the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        got = sock.recv(4096)
        # An RST, not a FIN: the server's next write fails, as when a phone loses its signal.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return got


def test_clients_that_go_away_mid_body_leave_no_connection(real_app: Flask,
                                                           no_gc: None) -> None:
    """Over a real WSGI server, which closes the answer when its write fails."""
    server = make_server("127.0.0.1", 0, real_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    engine = _engine(real_app)
    try:
        for _ in range(ROUNDS):
            for path in STREAMS:
                assert _cut_off(server.port, path).startswith(b"HTTP/1.1 200")
        deadline = time.monotonic() + 10
        while engine.pool.checkedout() and time.monotonic() < deadline:
            time.sleep(0.05)  # the server's threads notice the reset as they write
        assert engine.pool.checkedout() == 0
        with engine.connect() as conn:  # nothing left idle in a transaction either
            assert conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = 'socialmap' AND state LIKE 'idle in transaction%'"
            )).scalar_one() == 0
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def failing_app(cluster: Cluster, engine: Engine) -> Iterator[Flask]:
    """The app as real_app, with an after_request hook that fails for every streamed answer:
    Flask then drops the streamed answer the view built, unclosed, for an error answer."""
    app = create_app(Settings(database_url=cluster.socket_url(TEST_DB), testing=True,
                              secret_key="x", geodata_dir=GEODATA, answer_cache_seconds=0,
                              pool_size=POOL))

    @app.after_request
    def _fail(response: Response) -> Response:
        if response.is_streamed:
            raise RuntimeError("a hook failed after the view")
        return response

    yield app
    with app.app_context():
        db.get_db().engine.dispose()


@pytest.mark.usefixtures("no_gc")
@pytest.mark.parametrize("path", STREAMS)
@pytest.mark.parametrize("how", ["answered", "propagated"])
def test_a_streamed_answer_dropped_for_an_error_returns_its_connection(
        failing_app: Flask, path: str, how: str) -> None:
    """Answered: the client gets the app's JSON 500. Propagated (Flask's testing and debug
    mode): the hook's error reaches the caller. Either way the teardown closes the session."""
    failing_app.config["PROPAGATE_EXCEPTIONS"] = how == "propagated"
    engine = _engine(failing_app)
    client = failing_app.test_client()
    for _ in range(ROUNDS):  # more than the pool lends: a leak would also end in a timeout
        if how == "answered":
            with client.get(path) as resp:
                assert resp.status_code == 500
                assert resp.mimetype == "application/json"
                assert resp.get_json()["error"]["code"] == "internal_server_error"
        else:
            with pytest.raises(RuntimeError, match="a hook failed after the view"):
                client.get(path)
        assert engine.pool.checkedout() == 0, f"{path} ({how}) kept a connection"
    with engine.connect() as conn:  # nothing left idle in a transaction either
        assert conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = 'socialmap' AND state LIKE 'idle in transaction%'"
        )).scalar_one() == 0
