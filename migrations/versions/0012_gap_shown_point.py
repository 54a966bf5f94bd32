"""The gap analysis measures a private location (a volunteer's home) from its published
point, as search does since 0009: gap_point holds location.shown_geom, not the exact point.

A kern's distance to its nearest provider is public (gap page, API, downloads). Measured from
a home's exact point, the distances of three kernen with that home as nearest provider would
pin it down (trilateration), even rounded to 100 m. The location trigger now also syncs when
only the published point moves (a kern point moved by a geography reload).

Revision ID: 0012_gap_shown_point
Revises: 0011_search_indexes
Create Date: 2026-11-22
"""
from __future__ import annotations

from alembic import op

revision = "0012_gap_shown_point"
down_revision = "0011_search_indexes"
branch_labels = None
depends_on = None

# Frozen copies from 0010_gap_derived (with its gap_sync and gap_on_location), so that this
# revision can swap the point column in both directions.
NOWHERE = "virtual"

# What a service should have in gap_point and gap_area; {ids} is a set of service ids.
WANT_POINT = f"""
    SELECT DISTINCT coalesce(p.code, t.code)::text AS category, s.id AS service_id,
           l.id AS location_id, l.geom, l.kern_code, l.location_type = 'private' AS private,
           s.status, s.is_demo, s.assured_date
    FROM service s
    JOIN attribute a ON a.service_id = s.id
    JOIN taxonomy_term t ON t.id = a.taxonomy_term_id
    JOIN taxonomy x ON x.id = t.taxonomy_id AND x.facet = 'category'
    LEFT JOIN taxonomy_term p ON p.id = t.parent_id
    JOIN service_at_location sal ON sal.service_id = s.id
    JOIN location l ON l.id = sal.location_id AND l.location_type <> '{NOWHERE}'
    {{where}}"""
WANT_AREA = """
    SELECT DISTINCT coalesce(p.code, t.code)::text AS category, s.id AS service_id,
           sa.kern_code, s.status, s.is_demo, s.assured_date
    FROM service s
    JOIN attribute a ON a.service_id = s.id
    JOIN taxonomy_term t ON t.id = a.taxonomy_term_id
    JOIN taxonomy x ON x.id = t.taxonomy_id AND x.facet = 'category'
    LEFT JOIN taxonomy_term p ON p.id = t.parent_id
    JOIN service_area sa ON sa.service_id = s.id
    {where}"""
ONLY_IDS = "WHERE s.id IN (SELECT unnest(ids))"
POINT_COLS = "category, service_id, location_id, geom, kern_code, private, status, is_demo, " \
             "assured_date"
AREA_COLS = "category, service_id, kern_code, status, is_demo, assured_date"

SYNC = f"""
CREATE FUNCTION gap_sync(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF ids IS NULL OR cardinality(ids) = 0 THEN RETURN; END IF;
  WITH want AS ({WANT_POINT.format(where=ONLY_IDS)})
  DELETE FROM gap_point g WHERE g.service_id IN (SELECT unnest(ids))
    AND NOT EXISTS (SELECT FROM want w WHERE w.category = g.category
                    AND w.service_id = g.service_id AND w.location_id = g.location_id);
  INSERT INTO gap_point ({POINT_COLS}) {WANT_POINT.format(where=ONLY_IDS)}
  ON CONFLICT (category, service_id, location_id) DO UPDATE
    SET geom = EXCLUDED.geom, kern_code = EXCLUDED.kern_code, private = EXCLUDED.private,
        status = EXCLUDED.status, is_demo = EXCLUDED.is_demo,
        assured_date = EXCLUDED.assured_date
    WHERE (ST_AsEWKB(gap_point.geom), gap_point.kern_code, gap_point.private, gap_point.status,
           gap_point.is_demo, gap_point.assured_date)
          IS DISTINCT FROM (ST_AsEWKB(EXCLUDED.geom), EXCLUDED.kern_code, EXCLUDED.private,
                            EXCLUDED.status, EXCLUDED.is_demo, EXCLUDED.assured_date);
  WITH want AS ({WANT_AREA.format(where=ONLY_IDS)})
  DELETE FROM gap_area g WHERE g.service_id IN (SELECT unnest(ids))
    AND NOT EXISTS (SELECT FROM want w WHERE w.category = g.category
                    AND w.service_id = g.service_id AND w.kern_code = g.kern_code);
  INSERT INTO gap_area ({AREA_COLS}) {WANT_AREA.format(where=ONLY_IDS)}
  ON CONFLICT (category, kern_code, service_id) DO UPDATE
    SET status = EXCLUDED.status, is_demo = EXCLUDED.is_demo,
        assured_date = EXCLUDED.assured_date
    WHERE (gap_area.status, gap_area.is_demo, gap_area.assured_date)
          IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.is_demo, EXCLUDED.assured_date);
END $$
"""


TOUCHED_LOCATION = ("SELECT sal.service_id FROM service_at_location sal "
                    "WHERE sal.location_id IN (SELECT id FROM {rows})")
CHANGED_EXACT = ("(ST_AsEWKB(n.geom), n.kern_code, n.location_type) IS DISTINCT FROM "
                 "(ST_AsEWKB(o.geom), o.kern_code, o.location_type)")
CHANGED_SHOWN = ("(ST_AsEWKB(n.shown_geom), n.kern_code, n.location_type) IS DISTINCT FROM "
                 "(ST_AsEWKB(o.shown_geom), o.kern_code, o.location_type)")


def _location_trigger_function(changed_sql: str) -> str:
    touched = TOUCHED_LOCATION
    changed = (f"SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id "
               f"WHERE {changed_sql}")
    on_update = touched.format(rows=f"({changed}) AS changed")
    return f"""
    CREATE OR REPLACE FUNCTION gap_on_location() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        PERFORM gap_sync(ARRAY(SELECT DISTINCT x FROM ({touched.format(rows='new_rows')}) t(x)));
      ELSIF TG_OP = 'DELETE' THEN
        PERFORM gap_sync(ARRAY(SELECT DISTINCT x FROM ({touched.format(rows='old_rows')}) t(x)));
      ELSE
        PERFORM gap_sync(ARRAY(SELECT DISTINCT x FROM ({on_update}) t(x)));
      END IF;
      RETURN NULL;
    END $$
    """


EXACT = "l.id AS location_id, l.geom, l.kern_code"
SHOWN = "l.id AS location_id, l.shown_geom AS geom, l.kern_code"


def _sync(point: str) -> str:
    return SYNC.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION").replace(EXACT, point)


def _repoint(column: str) -> None:
    # gap_point's own trigger marks the cells of every moved point dirty.
    op.execute(f"UPDATE gap_point g SET geom = l.{column} FROM location l "
               f"WHERE l.id = g.location_id AND g.private "
               f"AND ST_AsEWKB(g.geom) IS DISTINCT FROM ST_AsEWKB(l.{column})")


def upgrade() -> None:
    assert EXACT in SYNC
    op.execute(_sync(SHOWN))
    op.execute(_location_trigger_function(CHANGED_SHOWN))
    _repoint("shown_geom")


def downgrade() -> None:
    op.execute(_sync(EXACT))
    op.execute(_location_trigger_function(CHANGED_EXACT))
    _repoint("geom")
