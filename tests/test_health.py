"""/healthz reports the database, PostGIS and the migration head, and 503 when it is down."""
from __future__ import annotations

from sqlalchemy import create_engine

from socialmap import create_app, migrate
from socialmap.config import Settings

from .conftest import create_database, new_cluster


def test_healthz_ok(client) -> None:
    resp = client.get("/healthz")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["postgis"].startswith("3.")
    assert body["migration"] == body["migration_head"] == migrate.head_revision()


def test_healthz_503_while_database_stopped_and_recovers() -> None:
    cluster = new_cluster("socialmap-health-")
    try:
        url = create_database(cluster, "health")
        engine = create_engine(url)
        with engine.connect() as conn:
            migrate.upgrade(conn)
            conn.commit()
        engine.dispose()
        app = create_app(Settings(database_url=url, testing=True, secret_key="x"))
        client = app.test_client()
        assert client.get("/healthz").status_code == 200

        cluster.stop()
        resp = client.get("/healthz")
        assert resp.status_code == 503
        assert resp.get_json()["database"] == "unreachable"
        page = client.get("/", headers={"Accept": "text/html"})
        assert page.status_code == 503
        assert "niet bereikbaar" in page.get_data(as_text=True)
        api = client.get("/", headers={"Accept": "application/json"})
        assert api.status_code == 503
        assert api.get_json()["error"]["code"] == "unavailable"

        cluster.start()
        assert client.get("/healthz").status_code == 200
        assert client.get("/").status_code == 200
    finally:
        cluster.destroy()


def test_healthz_503_when_migration_pending(cluster) -> None:
    url = create_database(cluster, "pending")
    try:
        engine = create_engine(url)
        with engine.connect() as conn:
            migrate.upgrade(conn, "0001")
            conn.commit()
        engine.dispose()
        client = create_app(Settings(database_url=url, testing=True, secret_key="x")).test_client()
        resp = client.get("/healthz")
        assert resp.status_code == 503
        assert resp.get_json()["status"] == "migration_pending"
    finally:
        cluster.psql("DROP DATABASE IF EXISTS pending WITH (FORCE)")


def test_control_characters_in_a_path_are_a_404(client) -> None:
    for path in ("/api/v1/kernen/%00", "/kern/a%01b", "/api/v1/initiatives/%7F"):
        resp = client.get(path)
        assert resp.status_code == 404, path
