"""The schema comes only from Alembic, goes up and down cleanly, and matches the models."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from socialmap import migrate
from socialmap.models import Base

REGISTRY_TABLES = {
    "organization", "service", "location", "service_at_location", "service_area", "taxonomy",
    "taxonomy_term", "attribute", "schedule", "contact", "phone", "change", "kern", "pc4",
    "gemeente", "provincie", "dataset_load",
}


def test_upgrade_downgrade_upgrade(scratch_db: str) -> None:
    engine = create_engine(scratch_db)
    with engine.connect() as conn:
        migrate.upgrade(conn)
        conn.commit()
        assert set(inspect(conn).get_table_names()) >= REGISTRY_TABLES
        assert migrate.current_revision(conn) == migrate.head_revision()
        migrate.downgrade(conn, "base")
        conn.commit()
    with engine.connect() as conn:
        left = set(inspect(conn).get_table_names()) & REGISTRY_TABLES
        assert left == set()
        assert migrate.current_revision(conn) is None
        migrate.upgrade(conn)
        conn.commit()
        assert migrate.current_revision(conn) == migrate.head_revision()
        terms = conn.execute(text("SELECT count(*) FROM taxonomy_term")).scalar_one()
        assert terms > 20
    engine.dispose()


def test_models_match_migrations(conn) -> None:
    """Tables, columns, types and nullability agree; indexes and constraints live only in the
    migrations."""
    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    diff = []
    for d in compare_metadata(ctx, Base.metadata):
        op = d[0][0] if isinstance(d, list) else d[0]
        if op.endswith(("_index", "_constraint")):
            continue
        if op == "remove_table" and d[1].name == "spatial_ref_sys":  # PostGIS' own
            continue
        diff.append(d)
    assert diff == []


def test_geometry_columns_are_rd_new_with_gist(conn) -> None:
    rows = conn.execute(text(
        "SELECT f_table_name, f_geometry_column, srid, type FROM geometry_columns "
        "WHERE f_table_schema = 'public' ORDER BY 1, 2")).all()
    assert {r.srid for r in rows} == {28992}
    assert ("location", "geom", 28992, "POINT") in [tuple(r) for r in rows]
    gist = conn.execute(text(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'location' "
        "AND indexdef LIKE '%USING gist (geom)%'")).scalars().all()
    assert gist == ["ix_location_geom"]


@pytest.mark.parametrize("values, constraint", [
    ("('X', 'casino', 'active')", "ck_service_kind"),
    ("('X', 'dorpshuis', 'lost')", "ck_service_status"),
    ("('  ', 'dorpshuis', 'active')", "ck_service_name"),
])
def test_check_constraints_reject_bad_values(conn, values: str, constraint: str) -> None:
    with pytest.raises(IntegrityError, match=constraint):
        conn.execute(text(f"INSERT INTO service (name, kind, status) VALUES {values}"))


def test_timestamps_are_timezone_aware(conn) -> None:
    types = conn.execute(text(
        "SELECT DISTINCT data_type FROM information_schema.columns WHERE table_schema = 'public' "
        "AND data_type LIKE 'timestamp%'")).scalars().all()
    assert types == ["timestamp with time zone"]


def test_change_log_records_every_write_with_actor(conn) -> None:
    conn.execute(text("SELECT set_config('socialmap.actor', 'redacteur@stein', true), "
                      "set_config('socialmap.source', 'form', true)"))
    org = conn.execute(text("INSERT INTO organization (name) VALUES ('Stichting Meers') "
                            "RETURNING id")).scalar_one()
    conn.execute(text("UPDATE organization SET website = 'https://example.org', name = name "
                      "WHERE id = :id"), {"id": org})
    conn.execute(text("DELETE FROM organization WHERE id = :id"), {"id": org})
    rows = conn.execute(text(
        "SELECT action, field, old_value, new_value, changed_by, source FROM change "
        "WHERE entity_id = :id ORDER BY id"), {"id": org}).all()
    assert [(r.action, r.field) for r in rows] == [
        ("create", None), ("update", "website"), ("delete", None)]
    assert rows[0].new_value["name"] == "Stichting Meers"
    assert rows[1].old_value is None and rows[1].new_value == "https://example.org"
    assert rows[2].old_value["website"] == "https://example.org"
    assert {r.changed_by for r in rows} == {"redacteur@stein"}
    assert {r.source for r in rows} == {"form"}


def test_service_version_bumps_on_change_only(conn) -> None:
    sid = conn.execute(text("INSERT INTO service (name, kind) VALUES ('Dorpshuis', 'dorpshuis') "
                            "RETURNING id")).scalar_one()
    conn.execute(text("UPDATE service SET name = name WHERE id = :id"), {"id": sid})
    assert conn.execute(text("SELECT version FROM service WHERE id = :id"),
                        {"id": sid}).scalar_one() == 1
    conn.execute(text("UPDATE service SET description = 'Ontmoeting' WHERE id = :id"),
                 {"id": sid})
    assert conn.execute(text("SELECT version FROM service WHERE id = :id"),
                        {"id": sid}).scalar_one() == 2
