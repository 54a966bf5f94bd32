"""Each migration in turn, up and down, on a database that holds data: rows survive every step
wherever the schema keeps their table, except what a downgrade removes by design."""
from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from socialmap import migrate
from socialmap.pgcluster import Cluster

from .conftest import create_database

# table -> (column names, {primary key: row as text})
Snapshot = dict[str, tuple[tuple[str, ...], dict[str, str]]]

# What a revision's downgrade deletes on purpose (0002 seeded the taxonomy; its attributes go
# with it). Any other loss is a bug in the migration.
DOWNGRADE_REMOVES: dict[str, set[str]] = {
    "0002": {"taxonomy", "taxonomy_term", "attribute"},
}


def _square(x: float, y: float, half: float) -> str:
    return (f"ST_Multi(ST_MakeEnvelope({x - half}, {y - half}, {x + half}, {y + half}, "
            "28992))")


def seed_0001(conn: Connection) -> None:
    """Geography, an organization, services with locations, schedules, contacts; an update and
    a delete, so the change log holds every action."""
    conn.execute(text(f"INSERT INTO provincie (code, name, area) VALUES "
                      f"('PV98', 'Stapland', {_square(120000, 480000, 5000)})"))
    conn.execute(text(f"INSERT INTO gemeente (code, name, provincie_code, area) VALUES "
                      f"('GM9998', 'Stapmeer', 'PV98', {_square(120000, 480000, 4000)})"))
    conn.execute(text(f"INSERT INTO pc4 (code, inhabitants, area, centroid) VALUES ('9998', 800, "
                      f"{_square(120000, 480000, 1000)}, "
                      "ST_SetSRID(ST_MakePoint(120000, 480000), 28992))"))
    conn.execute(text(
        "INSERT INTO kern (code, name, name_key, gemeente_code, source, point, area) VALUES "
        "('GM9998-stap', 'Stap', 'stap', 'GM9998', 'woonplaats', "
        f"ST_SetSRID(ST_MakePoint(120000, 480000), 28992), {_square(120000, 480000, 2000)})"))
    conn.execute(text("INSERT INTO dataset_load (name, checksum, counts) "
                      "VALUES ('stap', 'abc', '{}')"))
    org = conn.execute(text("INSERT INTO organization (name) VALUES ('Stichting Stap') "
                            "RETURNING id")).scalar_one()
    for i in range(4):
        sid = conn.execute(text(
            "INSERT INTO service (organization_id, name, kind) VALUES (:o, :n, 'dorpshuis') "
            "RETURNING id"), {"o": org, "n": f"Stap {i}"}).scalar_one()
        lid = conn.execute(text(
            "INSERT INTO location (kern_code, precision, geom) VALUES ('GM9998-stap', 'address', "
            "ST_SetSRID(ST_MakePoint(:x, 480000), 28992)) RETURNING id"),
            {"x": 119500 + 200 * i}).scalar_one()
        conn.execute(text("INSERT INTO service_at_location (service_id, location_id) "
                          "VALUES (:s, :l)"), {"s": sid, "l": lid})
        conn.execute(text("INSERT INTO service_area (service_id, kern_code) "
                          "VALUES (:s, 'GM9998-stap')"), {"s": sid})
        conn.execute(text("INSERT INTO schedule (service_id, weekday, opens_at, closes_at) "
                          "VALUES (:s, 2, '10:00', '12:00')"), {"s": sid})
        cid = conn.execute(text("INSERT INTO contact (service_id, name) VALUES (:s, 'Piet') "
                                "RETURNING id"), {"s": sid}).scalar_one()
        conn.execute(text("INSERT INTO phone (contact_id, number) VALUES (:c, '0512-1')"),
                     {"c": cid})
    conn.execute(text("UPDATE service SET description = 'Bijgewerkt' WHERE name = 'Stap 1'"))
    conn.execute(text("DELETE FROM service WHERE name = 'Stap 3'"))


def seed_0002(conn: Connection) -> None:
    """Every service gets a category and an audience from the seeded taxonomy."""
    conn.execute(text(
        "INSERT INTO attribute (service_id, taxonomy_term_id) "
        "SELECT s.id, t.id FROM service s, taxonomy_term t "
        "WHERE t.code IN ('ontmoeting', 'ouderen') ON CONFLICT DO NOTHING"))


def seed_0004(conn: Connection) -> None:
    """Kept HSDS data: an extra field of one of our services and a whole foreign record."""
    conn.execute(text(
        "INSERT INTO hsds_record (resource, id, kind, service_id, data) "
        "SELECT 'service', id, 'extra', id, '{\"interpretation_services\": \"Fries\"}' "
        "FROM service ORDER BY name LIMIT 1"))
    conn.execute(text(
        "INSERT INTO hsds_record (resource, id, kind, data) VALUES "
        "('funding', gen_random_uuid(), 'record', '{\"source\": \"gemeente\"}')"))


def seed_0006(conn: Connection) -> None:
    """An editor with a gemeente, a session and a rate bucket; a submission with a field under
    review; an archived service."""
    user = conn.execute(text(
        "INSERT INTO app_user (email, display_name, password_hash, role) VALUES "
        "('redactie@stap.nl', 'Redactie Stap', 'argon2-hash', 'editor') RETURNING id")).scalar_one()
    conn.execute(text("INSERT INTO user_gemeente (user_id, gemeente_code) VALUES (:u, 'GM9998')"),
                 {"u": user})
    conn.execute(text("INSERT INTO user_session (token_hash, user_id, expires_at) "
                      "VALUES (repeat('a', 64), :u, now() + interval '1 day')"), {"u": user})
    conn.execute(text("INSERT INTO rate_bucket (key, scope, tokens) "
                      "VALUES (repeat('b', 64), 'submit', 3)"))
    service = conn.execute(text("SELECT id FROM service ORDER BY name LIMIT 1")).scalar_one()
    sub = conn.execute(text(
        "INSERT INTO submission (ref_hash, kind, service_id, gemeente_code, note) VALUES "
        "(repeat('c', 64), 'change', :s, 'GM9998', 'Nieuwe tijden') RETURNING id"),
        {"s": service}).scalar_one()
    conn.execute(text("INSERT INTO submission_field (submission_id, field, proposed) "
                      "VALUES (:s, 'schedule_note', '\"di 10-12\"')"), {"s": sub})
    conn.execute(text(
        "INSERT INTO service_archive (service_id, previous_status, archived_by) "
        "SELECT id, status, 'redactie@stap.nl' FROM service ORDER BY name DESC LIMIT 1"))


def seed_0008(conn: Connection) -> None:
    """The voice tables: a need with support, support for a service, a demand signal, funding
    and an area team's subscription."""
    need = conn.execute(text(
        "INSERT INTO need (kern_code, category_id, audience_id, text, status) "
        "SELECT 'GM9998-stap', c.id, a.id, 'Geen vervoer naar de huisarts', 'approved' "
        "FROM taxonomy_term c, taxonomy_term a WHERE c.code = 'vervoer' AND a.code = 'ouderen' "
        "RETURNING id")).scalar_one()
    service = conn.execute(text("SELECT id FROM service ORDER BY name LIMIT 1")).scalar_one()
    conn.execute(text(
        "INSERT INTO support (need_id, service_id, kind, voter_hash) VALUES "
        "(:n, NULL, 'need', repeat('d', 64)), (NULL, :s, 'help', repeat('e', 64))"),
        {"n": need, "s": service})
    conn.execute(text(
        "INSERT INTO demand_signal (month, kern_code, category, filters, searches, empty, few) "
        "VALUES ('2026-11-01', 'GM9998-stap', 'vervoer', 'audience=ouderen', 3, 1, 2)"))
    conn.execute(text("INSERT INTO funding (service_id, source, ends_on) "
                      "VALUES (:s, 'Gemeente Stapmeer', '2027-06-30')"), {"s": service})
    conn.execute(text(
        "INSERT INTO subscription (user_id, kern_code, token_hash, digest) "
        "SELECT id, 'GM9998-stap', repeat('f', 64), 'daily' FROM app_user "
        "WHERE email = 'redactie@stap.nl'"))


def seed_0010(conn: Connection) -> None:
    """A stored coverage row and a dirty cell (the point and area rows come from the backfill
    and the triggers)."""
    conn.execute(text(
        "INSERT INTO gap_coverage (category, with_demo, kern_code, norm_m, search_m, nearest_m, "
        "within, serving, providers) VALUES ('ontmoeting', true, 'GM9998-stap', 2000, 5000, "
        "300, 2, 0, 2)"))
    conn.execute(text("INSERT INTO gap_dirty (category, cx, cy) VALUES ('ontmoeting', 12, 48) "
                      "ON CONFLICT DO NOTHING"))


SEEDERS: dict[str, Callable[[Connection], None]] = {
    "0001": seed_0001, "0002": seed_0002, "0004": seed_0004, "0006_accounts": seed_0006,
    "0008_voice": seed_0008, "0010_gap_derived": seed_0010,
}


def revisions() -> list[str]:
    """Revision ids from the first to the head; the history must be a single line."""
    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(script.get_heads()) == 1, "migrations have several heads: merge them"
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def snapshot(conn: Connection) -> Snapshot:
    tables = conn.execute(text(
        "SELECT c.oid::regclass::text, c.relname FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
        "AND c.relkind = 'r' AND c.relname NOT IN ('spatial_ref_sys', 'alembic_version')")).all()
    snap: Snapshot = {}
    for regclass, name in tables:
        columns = tuple(conn.execute(text(
            "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"), {"t": regclass}).scalars())
        pk = list(conn.execute(text(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = CAST(:t AS regclass) "
            "AND i.indisprimary ORDER BY a.attnum"), {"t": regclass}).scalars())
        key = " || '/' || ".join(f'"{c}"::text' for c in pk) if pk else "t::text"
        rows = conn.execute(text(f"SELECT {key}, t::text FROM {regclass} t")).all()
        snap[name] = (columns, {k: row for k, row in rows})
    return snap


def assert_kept(before: Snapshot, after: Snapshot, step: str, removed: set[str]) -> None:
    """Rows of `before` are in `after` for every table the schema still has."""
    for table, (columns, rows) in before.items():
        if table not in after or table in removed:
            continue
        after_columns, after_rows = after[table]
        missing = rows.keys() - after_rows.keys()
        assert not missing, f"{step}: {len(missing)} rows of {table} lost"
        if columns == after_columns:
            changed = [k for k in rows if rows[k] != after_rows[k]]
            assert not changed, f"{step}: rows of {table} changed: {changed[:3]}"


@pytest.fixture
def db(cluster: Cluster) -> Iterator[Connection]:
    name = f"stepwise_{os.getpid()}"
    engine = create_engine(create_database(cluster, name), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()
        cluster.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _move(conn: Connection, target: str, *, up: bool) -> None:
    (migrate.upgrade if up else migrate.downgrade)(conn, target)
    conn.commit()
    assert migrate.current_revision(conn) == (None if target == "base" else target)


def _seed(conn: Connection, revision: str) -> None:
    seeder = SEEDERS.get(revision)
    if seeder is not None:
        seeder(conn)
        conn.commit()


def test_each_revision_up_and_down_keeps_data(db: Connection) -> None:
    revs = revisions()
    assert revs, "no migrations"
    _move(db, revs[0], up=True)
    _seed(db, revs[0])
    for prev, rev in zip(revs, revs[1:], strict=False):
        before = snapshot(db)
        _move(db, rev, up=True)
        assert_kept(before, snapshot(db), f"upgrade {prev}->{rev}", set())
        _seed(db, rev)
        at_rev = snapshot(db)
        empty = sorted(t for t, (_, rows) in at_rev.items() if not rows)
        if empty:
            warnings.warn(f"at {rev} these tables hold no rows, so their migrations are not "
                          f"tested with data: {', '.join(empty)}; add a seeder", stacklevel=1)
        removed = DOWNGRADE_REMOVES.get(rev, set())
        _move(db, prev, up=False)
        at_prev = snapshot(db)
        assert_kept(at_rev, at_prev, f"downgrade {rev}->{prev}", removed)
        # Tables this revision creates come back empty; the rest must come back whole.
        removed = removed | (at_rev.keys() - at_prev.keys())
        _move(db, rev, up=True)
        assert_kept(at_rev, snapshot(db), f"round trip {prev}->{rev}", removed)
        if removed:  # put back what the downgrade removed on purpose
            _seed(db, rev)

    # All the way down, one revision at a time, with the data of every revision in place.
    assert snapshot(db)["change"][1], "the change log should hold rows"
    for rev, prev in zip(reversed(revs), [*reversed(revs[:-1]), "base"], strict=True):
        before = snapshot(db)
        _move(db, prev, up=False)
        assert_kept(before, snapshot(db), f"downgrade {rev}->{prev}",
                    DOWNGRADE_REMOVES.get(rev, set()))
    assert snapshot(db) == {}
