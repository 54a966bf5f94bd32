"""A location's published point, stored and indexed: search filters and ranks on it.

A private location (a volunteer's home) is published at its kern point (or, outside every kern,
its 1 km grid corner). Searching on the exact point while showing
the kern point let anyone narrow a radius down onto the home (trilateration): the radius test,
the nearest order and the distance must all use the published point. `shown_geom` holds it,
kept by triggers (on the location's own writes and when a kern point moves), with its own GiST
index so that radius and nearest search stay index scans. For every other location it equals
`geom`. The change log skips it: it is derived, never edited.

Revision ID: 0009_shown_point
Revises: 0008_voice
Create Date: 2026-11-22
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0009_shown_point"
down_revision = "0008_voice"
branch_labels = None
depends_on = None

# A home outside every kern is published at the nearest point of a grid this coarse.
PRIVATE_GRID_M = 1000
SHOWN = (
    "CASE WHEN {l}.location_type = 'private' THEN coalesce("
    "(SELECT k.point FROM kern k WHERE k.code = {l}.kern_code), "
    f"ST_SnapToGrid({{l}}.geom, {PRIVATE_GRID_M}, {PRIVATE_GRID_M})) ELSE {{l}}.geom END"
)

AUDIT_BEFORE = """
    CREATE OR REPLACE FUNCTION sm_audit() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      o jsonb; n jsonb;
      skip text[] := ARRAY['search_vector', 'last_modified', 'created_at', 'version'];
      who text := coalesce(nullif(current_setting('socialmap.actor', true), ''), session_user);
      src text := coalesce(nullif(current_setting('socialmap.source', true), ''), 'sql');
    BEGIN
      IF current_setting('socialmap.audit', true) = 'off' THEN RETURN NULL; END IF;
      IF TG_OP IN ('UPDATE', 'DELETE') THEN o := to_jsonb(OLD) - skip; END IF;
      IF TG_OP IN ('UPDATE', 'INSERT') THEN n := to_jsonb(NEW) - skip; END IF;
      IF TG_OP = 'INSERT' THEN
        INSERT INTO change (entity_type, entity_id, service_id, action, new_value,
                            changed_by, source, txid)
        VALUES (TG_TABLE_NAME, (n->>'id')::uuid,
                CASE WHEN TG_TABLE_NAME = 'service' THEN (n->>'id')::uuid
                     ELSE (n->>'service_id')::uuid END,
                'create', n, who, src, txid_current());
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO change (entity_type, entity_id, service_id, action, old_value,
                            changed_by, source, txid)
        VALUES (TG_TABLE_NAME, (o->>'id')::uuid,
                CASE WHEN TG_TABLE_NAME = 'service' THEN (o->>'id')::uuid
                     ELSE (o->>'service_id')::uuid END,
                'delete', o, who, src, txid_current());
      ELSE
        INSERT INTO change (entity_type, entity_id, service_id, action, field, old_value,
                            new_value, changed_by, source, txid)
        SELECT TG_TABLE_NAME, (n->>'id')::uuid,
               CASE WHEN TG_TABLE_NAME = 'service' THEN (n->>'id')::uuid
                    ELSE (n->>'service_id')::uuid END,
               'update', e.key, o->e.key, e.value, who, src, txid_current()
          FROM jsonb_each(n) AS e
         WHERE o->e.key IS DISTINCT FROM e.value;
      END IF;
      RETURN NULL;
    END $$
"""
# The same function, with the derived column left out of the change log.
AUDIT_WITH_SKIP = AUDIT_BEFORE.replace(
    "'created_at', 'version']", "'created_at', 'version', 'shown_geom']")


def upgrade() -> None:
    op.execute(AUDIT_WITH_SKIP)
    op.add_column("location", sa.Column(
        "shown_geom", Geometry("POINT", srid=28992, spatial_index=False)))
    # One set-based pass without the audit and touch triggers: a derived column is no edit.
    op.execute("ALTER TABLE location DISABLE TRIGGER USER")
    op.execute(f"UPDATE location l SET shown_geom = {SHOWN.format(l='l')}")
    op.execute("ALTER TABLE location ENABLE TRIGGER USER")
    op.alter_column("location", "shown_geom", nullable=False)
    op.create_index("ix_location_shown_geom", "location", ["shown_geom"], postgresql_using="gist")
    op.execute(f"""
    CREATE FUNCTION sm_location_shown() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.shown_geom := {SHOWN.format(l='NEW')};
      RETURN NEW;
    END $$
    """)
    # Named to sort before location_touch and location_audit, which see the final row.
    op.execute("CREATE TRIGGER location_0shown BEFORE INSERT OR UPDATE OF geom, location_type, "
               "kern_code, shown_geom ON location "
               "FOR EACH ROW EXECUTE FUNCTION sm_location_shown()")
    op.execute("""
    CREATE FUNCTION sm_kern_point_moved() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF OLD.point IS NOT DISTINCT FROM NEW.point THEN RETURN NULL; END IF;
      UPDATE location SET shown_geom = NEW.point
       WHERE kern_code = NEW.code AND location_type = 'private'
         AND shown_geom IS DISTINCT FROM NEW.point;
      RETURN NULL;
    END $$
    """)
    # No WHEN clause: pg_restore recreates triggers with an empty search_path, where a
    # geometry comparison in WHEN cannot be resolved; the function body compares instead.
    op.execute("CREATE TRIGGER kern_point_moved AFTER UPDATE OF point ON kern "
               "FOR EACH ROW EXECUTE FUNCTION sm_kern_point_moved()")


def downgrade() -> None:
    op.execute("DROP TRIGGER kern_point_moved ON kern")
    op.execute("DROP FUNCTION sm_kern_point_moved()")
    op.execute("DROP TRIGGER location_0shown ON location")
    op.execute("DROP FUNCTION sm_location_shown()")
    op.drop_index("ix_location_shown_geom", "location")
    op.drop_column("location", "shown_geom")
    op.execute(AUDIT_BEFORE)
