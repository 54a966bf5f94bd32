"""PostgreSQL restarts under load (bench/faults.py on its own throwaway cluster): 503 with a
clear body while it is away, recovery by itself, no stuck workers, no 500s, and every write
whole or absent."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import Engine, text

from bench.faults import FaultReport, drill
from socialmap import backup, create_app, db
from socialmap.config import Settings
from socialmap.pgcluster import Cluster

from .conftest import TEST_DB, new_cluster

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultReport]:
    """One drill: a copy of the test database on its own cluster, crashed once under load."""
    archive = tmp_path_factory.mktemp("faults") / "test.dump"
    backup.dump(engine.url.render_as_string(hide_password=False), archive)
    cluster = new_cluster("socialmap-faults-")
    try:
        cluster.psql("CREATE DATABASE drill")
        url = cluster.socket_url("drill")
        assert backup.restore(archive, url).ok
        yield drill(cluster, url, after=8, down=2, restart_after=4, clients=6, workers=2,
                    threads=4, mode="immediate", echo=lambda _line: None)
    finally:
        cluster.destroy()


def test_503_with_a_clear_body_while_the_database_is_away(report: FaultReport) -> None:
    assert report.count(503) > 0
    assert report.unclear_503 == 0
    assert report.count(0) == 0, "gunicorn itself must keep answering"
    assert set(report.statuses) <= {200, 500, 503}


def test_no_500(report: FaultReport) -> None:
    assert report.count(500) == 0, report.causes()
    assert report.causes() == {}


def test_recovers_by_itself_within_seconds(report: FaultReport) -> None:
    assert report.recovery_seconds < 5
    assert report.samples[-1].status == 200
    assert all(n > 0 for n in report.client_progress_after.values()), \
        report.client_progress_after


def test_no_stuck_workers(report: FaultReport) -> None:
    assert report.worker_timeouts == 0
    assert report.extra_workers == 0
    assert report.latency_after_ms["max"] < 10_000


def test_interrupted_writes_are_whole_or_absent(report: FaultReport) -> None:
    outcomes = {b.outcome for b in report.batches}
    assert "committed" in outcomes and outcomes - {"committed"}, outcomes
    assert report.torn_batches() == []
    assert report.lost_batches() == []
    assert report.ghost_batches() == []


def test_request_whose_connection_dies_is_not_a_500(cluster: Cluster, engine: Engine) -> None:
    """Deterministic form of the race: the backend is terminated after the view's query."""
    app: Flask = create_app(Settings(database_url=cluster.socket_url(TEST_DB), testing=True,
                                     secret_key="x"))

    @app.get("/_test/connection-dies")
    def connection_dies() -> str:
        pid = db.session().execute(text("SELECT pg_backend_pid()")).scalar_one()
        cluster.psql(f"SELECT pg_terminate_backend({pid})")
        return "ok"

    resp = app.test_client().get("/_test/connection-dies")
    assert resp.status_code in (200, 503)
