"""Backup and restore: every record and every change-log row comes back, into a new database;
the foreign keys hold for writes at once and are checked against the restored rows after ready."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from socialmap import backup as bk
from socialmap import create_app, migrate
from socialmap.config import Settings
from socialmap.pgcluster import Cluster
from socialmap.queries import mapdata as map_queries

from .conftest import create_database

SUFFIX = os.getpid()
SOURCE = f"backup_src_{SUFFIX}"
TARGET = f"backup_dst_{SUFFIX}"
ROLE = "socialmap_restorer"  # a plain role, as in production: no superuser, no CREATEDB

# Text that the COPY format has to escape: tabs, newlines, backslashes, quotes, accents.
AWKWARD = "Koffie\tthee\nen \\ 'gezelligheid' in Ĳsselmuiden, café “De Pôlle”"


def _square(x: float, y: float, half: float) -> str:
    return (f"ST_Multi(ST_MakeEnvelope({x - half}, {y - half}, {x + half}, {y + half}, "
            "28992))")


def populate(conn: Connection) -> None:
    """A small registry that touches every registry table, with updates and deletes logged."""
    conn.execute(text("SELECT set_config('socialmap.actor', 'redacteur@test', true), "
                      "set_config('socialmap.source', 'form', true)"))
    conn.execute(text(f"INSERT INTO provincie (code, name, inhabitants, area) VALUES "
                      f"('PV99', 'Testland', 1000, {_square(150000, 450000, 5000)})"))
    conn.execute(text(f"INSERT INTO gemeente (code, name, provincie_code, inhabitants, area) "
                      f"VALUES ('GM9999', 'Testmeer', 'PV99', 1000, "
                      f"{_square(150000, 450000, 4000)})"))
    for i, name in enumerate(("Oosterend", "Westerend")):
        x = 148000 + 4000 * i
        conn.execute(text(
            "INSERT INTO kern (code, name, name_key, gemeente_code, source, inhabitants, point, "
            f"area) VALUES (:c, :n, lower(:n), 'GM9999', 'woonplaats', 500, "
            f"ST_SetSRID(ST_MakePoint({x}, 450000), 28992), {_square(x, 450000, 2000)})"),
            {"c": f"GM9999-{name.lower()}", "n": name})
    org = conn.execute(text("INSERT INTO organization (name, description, legal_form) VALUES "
                            "('Stichting Testmeer', :d, 'stichting') RETURNING id"),
                       {"d": AWKWARD}).scalar_one()
    terms = conn.execute(text("SELECT id FROM taxonomy_term ORDER BY code LIMIT 3")).scalars()
    term_ids = list(terms)
    for i in range(12):
        sid = conn.execute(text(
            "INSERT INTO service (organization_id, name, description, kind, status, "
            "assured_date) VALUES (:o, :n, :d, 'dorpshuis', 'active', current_date) "
            "RETURNING id"), {"o": org, "n": f"Dorpshuis {i}", "d": AWKWARD}).scalar_one()
        lid = conn.execute(text(
            "INSERT INTO location (name, address, pc4, kern_code, precision, geom) VALUES "
            "(:n, 'Dorpsstraat 1', '9999', 'GM9999-oosterend', 'address', "
            "ST_SetSRID(ST_MakePoint(:x, 450000), 28992)) RETURNING id"),
            {"n": f"Locatie {i}", "x": 147000 + 100 * i}).scalar_one()
        conn.execute(text("INSERT INTO service_at_location (service_id, location_id) "
                          "VALUES (:s, :l)"), {"s": sid, "l": lid})
        conn.execute(text("INSERT INTO service_area (service_id, kern_code) "
                          "VALUES (:s, 'GM9999-westerend')"), {"s": sid})
        conn.execute(text("INSERT INTO attribute (service_id, taxonomy_term_id) VALUES (:s, :t)"),
                     {"s": sid, "t": term_ids[i % len(term_ids)]})
        conn.execute(text("INSERT INTO schedule (service_id, weekday, opens_at, closes_at) "
                          "VALUES (:s, :d, '09:00', '12:00')"), {"s": sid, "d": i % 7 + 1})
        cid = conn.execute(text("INSERT INTO contact (service_id, name, is_private) "
                                "VALUES (:s, 'Jannie', :p) RETURNING id"),
                           {"s": sid, "p": i % 2 == 0}).scalar_one()
        conn.execute(text("INSERT INTO phone (contact_id, number) VALUES (:c, '0511-123456')"),
                     {"c": cid})
        if i % 3 == 0:
            conn.execute(text("UPDATE service SET status = 'inactive', description = :d "
                              "WHERE id = :s"), {"s": sid, "d": AWKWARD + " (gesloten)"})
        if i % 4 == 0:
            conn.execute(text("DELETE FROM service WHERE id = :s"), {"s": sid})


def user_tables(conn: Connection) -> list[str]:
    return list(conn.execute(text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT EXISTS (SELECT 1 FROM pg_depend d "
        "WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') "
        "ORDER BY 1")).scalars())


def foreign_keys(conn: Connection) -> dict[str, bool]:
    """The foreign keys of schema public as table.name, each with whether it is validated."""
    return dict(conn.execute(text(
        "SELECT conrelid::regclass::text || '.' || conname, convalidated FROM pg_constraint "
        "WHERE contype = 'f' AND connamespace = 'public'::regnamespace")).all())


def indexes(conn: Connection) -> set[str]:
    return set(conn.execute(text(
        "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")).scalars())


def table_rows(conn: Connection, table: str) -> list[str]:
    """Every row of a table as its text form, sorted: equal lists mean equal contents."""
    return list(conn.execute(text(f'SELECT t::text FROM public."{table}" t ORDER BY 1')).scalars())


@pytest.fixture(scope="module")
def source(cluster: Cluster) -> Iterator[str]:
    url = create_database(cluster, SOURCE)
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        migrate.upgrade(conn)
        conn.commit()
    with engine.begin() as conn:
        populate(conn)
    engine.dispose()
    yield url
    cluster.psql(f"DROP DATABASE IF EXISTS {SOURCE} WITH (FORCE)")


@pytest.fixture(scope="module")
def archive(source: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The source database backed up through the CLI."""
    path = tmp_path_factory.mktemp("backup") / "socialmap.dump"
    app = create_app(Settings(database_url=source, testing=True, secret_key="x"))
    result = app.test_cli_runner().invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    assert path.is_file() and not path.with_name(path.name + ".partial").exists()
    return path


def test_restore_into_new_database_finds_every_record_and_change(
        cluster: Cluster, source: str, archive: Path) -> None:
    app = create_app(Settings(database_url=source, testing=True, secret_key="x"))
    try:
        result = app.test_cli_runner().invoke(args=["restore", str(archive), "--into", TARGET])
        assert result.exit_code == 0, result.output
        assert "Verified" in result.output and "Built in" in result.output
        src = create_engine(source, poolclass=NullPool)
        dst = create_engine(cluster.socket_url(TARGET), poolclass=NullPool)
        with src.connect() as a, dst.connect() as b:
            tables = user_tables(a)
            assert {"service", "change", "kern", "alembic_version"} <= set(tables)
            assert user_tables(b) == tables
            for table in tables:
                assert table_rows(b, table) == table_rows(a, table), table
            changes = a.execute(text("SELECT action, count(*) FROM change GROUP BY 1")).all()
            assert {r[0] for r in changes} == {"create", "update", "delete"}
            assert migrate.current_revision(b) == migrate.head_revision()
        # The restored database works: triggers log, and the change id sequence continues.
        with dst.begin() as b:
            before = b.execute(text("SELECT max(id) FROM change")).scalar_one()
            b.execute(text("INSERT INTO organization (name) VALUES ('Na het herstel')"))
            after = b.execute(text("SELECT max(id) FROM change")).scalar_one()
            assert after > before
        src.dispose()
        dst.dispose()

        again = app.test_cli_runner().invoke(args=["restore", str(archive), "--into", TARGET])
        assert again.exit_code != 0
        assert "not empty" in again.output
    finally:
        cluster.psql(f"DROP DATABASE IF EXISTS {TARGET} WITH (FORCE)")


def test_restore_as_plain_role_into_empty_database(cluster: Cluster, source: str,
                                                   archive: Path) -> None:
    """The app's own role (no superuser) restores; the extensions were made for it. Ready, it
    serves search, detail and writes; the foreign keys hold for writes; rebuild_deferred then
    checks the restored rows against them and builds the deferred indexes."""
    name = f"backup_plain_{SUFFIX}"
    if not cluster.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}'"):
        cluster.psql(f"CREATE ROLE {ROLE} LOGIN")
    create_database(cluster, name)
    cluster.psql(f"ALTER DATABASE {name} OWNER TO {ROLE}; ALTER SCHEMA public OWNER TO {ROLE}",
                 db=name)
    try:
        report = bk.restore(archive, cluster.socket_url(name, user=ROLE), jobs=2)
        assert report.ok, report.problems
        assert report.counts["service"] == 9  # 12 made, 3 deleted
        assert report.counts["change"] > 100
        owners = cluster.psql("SELECT DISTINCT tableowner FROM pg_tables "
                              "WHERE schemaname = 'public' AND tablename <> 'spatial_ref_sys'",
                              db=name)
        assert owners == ROLE
        # The map's grid is derived: left empty by the restore, the map counts live meanwhile.
        url = cluster.socket_url(name, user=ROLE)
        engine = create_engine(url, poolclass=NullPool)
        with engine.connect() as conn:
            # ANALYZE (on two connections) left statistics for every table that has rows.
            assert not conn.execute(text(
                "SELECT relname FROM pg_class c WHERE relnamespace = 'public'::regnamespace "
                "AND relkind = 'r' AND reltuples > 0 AND relname <> 'spatial_ref_sys' "
                "AND NOT EXISTS (SELECT 1 FROM pg_stats s WHERE s.schemaname = 'public' "
                "AND s.tablename = c.relname)")).scalars().all()
            assert not map_queries.grid_populated(conn)
            visible = conn.execute(text(
                "SELECT count(*) FROM service_at_location sal JOIN service s "
                "ON s.id = sal.service_id WHERE s.status IN ('active', 'temporarily closed')"
            )).scalar_one()
        client = create_app(Settings(database_url=url, testing=True, secret_key="x")).test_client()
        answer = client.get("/api/v1/map?bbox=3.2,50.7,7.3,53.6&zoom=7")
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert answer.get_json()["map"]["source"] == "live"
        assert answer.get_json()["numberMatched"] == visible > 0
        # Ready: every foreign key of the source is there, not yet validated against the restored
        # rows, but enforced for every write, with its actions.
        src = create_engine(source, poolclass=NullPool)
        with src.connect() as conn:
            source_fks = foreign_keys(conn)
        src.dispose()
        assert len(source_fks) > 20 and all(source_fks.values())
        with engine.connect() as conn:
            assert foreign_keys(conn) == dict.fromkeys(source_fks, False)
            assert sorted(f"{t.removeprefix('public.')}.{n}" for t, n in report.unvalidated) \
                == sorted(source_fks)
            with pytest.raises(IntegrityError, match="fk_attribute_service_id_service"):
                conn.execute(text("INSERT INTO attribute (service_id, taxonomy_term_id) "
                                  "SELECT gen_random_uuid(), id FROM taxonomy_term LIMIT 1"))
            conn.rollback()
            sid = conn.execute(text("SELECT service_id FROM schedule LIMIT 1")).scalar_one()
            conn.execute(text("DELETE FROM service WHERE id = :s"), {"s": sid})
            assert not conn.execute(text("SELECT count(*) FROM schedule WHERE service_id = :s"),
                                    {"s": sid}).scalar_one()
            conn.rollback()
        # Writes work, triggers included: a new initiative is in the search table at once.
        with engine.connect() as conn:
            new = conn.execute(text(
                "INSERT INTO service (name, kind) VALUES ('Na het herstel', 'dorpshuis') "
                "RETURNING id")).scalar_one()
            assert conn.execute(text("SELECT count(*) FROM search_doc WHERE service_id = :s"),
                                {"s": new}).scalar_one() == 1
            conn.rollback()
        # Search and detail pages answer before the deferred indexes exist, and the same after.
        deferred = set(bk.DEFERRED_INDEXES)
        with engine.connect() as conn:
            assert not deferred & indexes(conn)
        with engine.connect() as conn:
            kern, x, y = conn.execute(text(
                "SELECT kern_code, ST_X(geom), ST_Y(geom) FROM search_doc WHERE kern_code "
                "IS NOT NULL AND status = 'active' ORDER BY doc_id LIMIT 1")).one()
        searches = [f"/api/v1/search?kern={kern}",
                    f"/api/v1/search?near={x:.1f},{y:.1f}&radius=3000"]
        before = [client.get(p).get_json()["features"] for p in searches]
        assert all(before)
        detail = client.get(f"/api/v1/initiatives/{sid}")
        assert detail.status_code == 200, detail.get_data(as_text=True)
        assert client.get(f"/initiatief/{sid}").status_code == 200
        bk.rebuild_deferred(url, report)
        assert report.ok, report.problems
        with engine.connect() as conn:
            assert deferred <= indexes(conn)
            # Built CONCURRENTLY (writes go on meanwhile), and every one of them usable.
            assert not conn.execute(text("SELECT indexrelid::regclass FROM pg_index "
                                         "WHERE NOT indisvalid OR NOT indisready")).all()
            assert foreign_keys(conn) == source_fks
        assert [client.get(p).get_json()["features"] for p in searches] == before
        assert client.get(f"/api/v1/initiatives/{sid}").get_json() == detail.get_json()
        with engine.connect() as conn:
            assert map_queries.grid_populated(conn)
            in_grid = conn.execute(text(
                "SELECT sum(n) FROM map_grid WHERE z = 4 AND slice = ''")).scalar_one()
            assert in_grid == visible
        engine.dispose()
    finally:
        cluster.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_restored_rows_that_break_a_foreign_key_are_reported(cluster: Cluster,
                                                             archive: Path) -> None:
    """The check after ready finds rows that no foreign key let in before."""
    name = f"backup_orphan_{SUFFIX}"
    url = create_database(cluster, name)
    try:
        report = bk.restore(archive, url, jobs=2)
        assert report.ok, report.problems
        engine = create_engine(url, poolclass=NullPool)
        with engine.begin() as conn:
            # As if the backup held it: past the foreign key's triggers (a superuser's switch).
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("INSERT INTO schedule (service_id, weekday, opens_at, closes_at) "
                              "VALUES (gen_random_uuid(), 1, '09:00', '10:00')"))
        bk.rebuild_deferred(url, report)
        assert [p for p in report.problems if "fk_schedule_service_id_service" in p]
        assert len(report.problems) == 1
        with engine.connect() as conn:
            assert [k for k, valid in foreign_keys(conn).items() if not valid] == [
                "schedule.fk_schedule_service_id_service"]
        engine.dispose()
    finally:
        cluster.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_rows_are_counted_per_copy_block_in_any_chunks() -> None:
    """A row ends at a newline; a block at the line `\\.`, not at `\\.` inside a value."""
    script = (b"SET client_encoding = 'UTF8';\n\nCOPY public.t (a, b) FROM stdin;\n"
              b"x\\\\.\n\\N\t.\n\\.\n\n"
              b'COPY public."u" (a) FROM stdin;\n\\.\n'
              b"COPY public.v (a) FROM stdin;\n\\\\.\n\\.\n\nSELECT 1;\n")
    for size in range(1, len(script) + 1):
        chunks = (script[i:i + size] for i in range(0, len(script), size))
        assert bk.count_copy_rows(chunks) == {"t": 2, "u": 0, "v": 1}, size


def test_truncated_archive_fails_clearly(cluster: Cluster, archive: Path,
                                         tmp_path: Path) -> None:
    broken = tmp_path / "broken.dump"
    data = archive.read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    name = f"backup_broken_{SUFFIX}"
    url = create_database(cluster, name)
    try:
        with pytest.raises(bk.BackupError):
            bk.restore(broken, url)
    finally:
        cluster.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
