"""Test database recipe: one throwaway PostGIS cluster per test session, on a private socket
directory with no TCP listener; one database migrated and loaded once; every test in a
transaction that is rolled back."""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from socialmap import create_app, migrate
from socialmap.config import PROJECT_ROOT, Settings
from socialmap.pgcluster import Cluster, ensure_installed

SHARED = PROJECT_ROOT.parent / "shared"
GEODATA = SHARED / "geodata"
HSDS = SHARED / "hsds-3.0"
TEST_DB = "socialmap_test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_cluster(prefix: str) -> Cluster:
    """A started throwaway cluster in /tmp, reachable only through its socket directory."""
    ensure_installed()
    root = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(root, 0o755)
    cluster = Cluster(root=root, port=free_port(), listen="")
    cluster.init()
    cluster.start()
    return cluster


def create_database(cluster: Cluster, name: str) -> str:
    """Create a database with the extensions and return its SQLAlchemy URL."""
    cluster.psql(f"DROP DATABASE IF EXISTS {name}")
    cluster.psql(f"CREATE DATABASE {name}")
    cluster.psql("CREATE EXTENSION postgis; CREATE EXTENSION unaccent; CREATE EXTENSION pg_trgm",
                 db=name)
    return cluster.socket_url(name)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    c = new_cluster("socialmap-test-")
    try:
        yield c
    finally:
        c.destroy()


def build_test_database(engine: Engine) -> None:
    """Migrate, then load what every test may rely on: the real geography and the seed."""
    from sqlalchemy.orm import Session

    from socialmap.geodata import load_geography
    from socialmap.registry.seed import seed

    with engine.connect() as conn:
        migrate.upgrade(conn)
        conn.commit()
    with engine.begin() as conn:
        load_geography(conn, GEODATA)
    with Session(engine) as s, s.begin():
        seed(s, PROJECT_ROOT / "data" / "initiatives.geojson", echo=lambda _line: None)
    with engine.connect() as conn:
        # Plans as in production: statistics of what was just loaded.
        conn.execute(text("ANALYZE"))
        conn.commit()


@pytest.fixture(scope="session")
def engine(cluster: Cluster) -> Iterator[Engine]:
    url = create_database(cluster, TEST_DB)
    eng = create_engine(url, poolclass=NullPool)
    build_test_database(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that is rolled back after the test."""
    with engine.connect() as c:
        trans = c.begin()
        try:
            yield c
        finally:
            trans.rollback()


@pytest.fixture
def settings(cluster: Cluster) -> Settings:
    # No search answer cache: tests write and search again at once (tests/test_search_cache.py
    # turns it on).
    return Settings(database_url=cluster.socket_url(TEST_DB), testing=True,
                    secret_key="test-secret", geodata_dir=GEODATA, answer_cache_seconds=0)


@pytest.fixture
def app(settings: Settings, conn: Connection) -> Flask:
    return create_app(settings, bind=conn)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # noqa: ANN201
    return app.test_cli_runner()


@pytest.fixture
def scratch_db(cluster: Cluster) -> Iterator[str]:
    """An empty database with the extensions, dropped after the test."""
    name = f"scratch_{os.getpid()}"
    url = create_database(cluster, name)
    yield url
    cluster.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def pytest_report_header() -> list[str]:
    return [f"geodata: {GEODATA} ({'found' if GEODATA.exists() else 'MISSING'})",
            f"chromium: {shutil.which('chromium') or 'not installed'}"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tests last. Their server shares one session-long transaction, and gap
    reads store recomputed coverage in it: rows a later test's write would wait on until the
    session ends."""
    items[:] = sorted(items, key=lambda item: "browser" in Path(item.fspath).parts)
