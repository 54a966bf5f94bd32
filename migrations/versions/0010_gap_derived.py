"""Derived tables for the gap analysis: category points and areas, kept by triggers, and a
coverage table per kern and category that is recomputed on read where marked dirty.

- `gap_point`: one row per top-level category, service and (non-virtual) location, with what
  decides whether it counts (status, is_demo, assured_date). Its GiST indexes (below) make
  the nearest-neighbour scan from a kern point yield only points of the category.
- `gap_area`: one row per top-level category, service and kern in its service area.
- Both are kept by statement-level triggers (transition tables, so that a bulk import costs
  one set-based sync per statement) on service, location, service_at_location, attribute,
  service_area and taxonomy_term, through `gap_sync(ids)`, which writes only real differences.
- `gap_dirty`: (category, 10 km cell) marks written by triggers on gap_point and gap_area for
  every changed row (its point's cell and its kern point's cell).
- `gap_coverage`: per category, demo variant and kern the nearest distance, counts and the
  norm they were computed for. Reads turn dirty cells into stale rows (kernen within each
  row's search distance of the cell), recompute stale, missing or other-norm rows and store
  them (socialmap.services.gaps).
- Indexes: per top-level category a partial GiST index on gap_point (geom) of its active
  points (the statements name the category as a literal to use it), and one on
  (category, geom) with btree_gist for a category added later.

Revision ID: 0010_gap_derived
Revises: 0009_shown_point
Create Date: 2026-11-22
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import UUID

revision = "0010_gap_derived"
down_revision = "0009_shown_point"
branch_labels = None
depends_on = None

# Frozen copies of socialmap.queries.gaps.COUNTED_STATUS, NOWHERE and DIRTY_CELL_M.
COUNTED_STATUS = "active"
NOWHERE = "virtual"
DIRTY_CELL_M = 10_000

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

# Source tables: which services a changed set of rows touches ({rows}: new_rows or old_rows).
TOUCHED = {
    "attribute": "SELECT service_id FROM {rows}",
    "service_at_location": "SELECT service_id FROM {rows}",
    "service_area": "SELECT service_id FROM {rows}",
    "location": "SELECT sal.service_id FROM service_at_location sal "
                "WHERE sal.location_id IN (SELECT id FROM {rows})",
    "service": "SELECT id FROM {rows}",
    "taxonomy_term": "SELECT a.service_id FROM attribute a JOIN taxonomy_term t "
                     "ON t.id = a.taxonomy_term_id WHERE t.id IN (SELECT id FROM {rows}) "
                     "OR t.parent_id IN (SELECT id FROM {rows})",
}
# Updates that matter to the gap tables (others, such as a new description, sync nothing).
CHANGED = {
    "service": "(n.status, n.is_demo, n.assured_date) IS DISTINCT FROM "
               "(o.status, o.is_demo, o.assured_date)",
    "location": "(ST_AsEWKB(n.geom), n.kern_code, n.location_type) IS DISTINCT FROM "
                "(ST_AsEWKB(o.geom), o.kern_code, o.location_type)",
    "taxonomy_term": "(n.parent_id, n.code, n.taxonomy_id) IS DISTINCT FROM "
                     "(o.parent_id, o.code, o.taxonomy_id)",
}


def _source_trigger_function(table: str) -> str:
    touched = TOUCHED[table]
    if table in CHANGED:
        changed = (f"SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id "
                   f"WHERE {CHANGED[table]}")
        on_update = touched.format(rows=f"({changed}) AS changed")
    else:
        on_update = (f"{touched.format(rows='old_rows')} UNION "
                     f"{touched.format(rows='new_rows')}")
    return f"""
    CREATE FUNCTION gap_on_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
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


def _cells(rows: str, point: str) -> str:
    """(category, cx, cy) of each row's point and of its kern's point."""
    return f"""
      SELECT r.category, floor(ST_X(c.g) / {DIRTY_CELL_M})::int,
             floor(ST_Y(c.g) / {DIRTY_CELL_M})::int
      FROM {rows} r
      CROSS JOIN LATERAL (SELECT {point} AS g
                          UNION SELECT k.point FROM kern k WHERE k.code = r.kern_code) c
      WHERE c.g IS NOT NULL"""


def _dirty_trigger_function(table: str, key: str, compared: str) -> str:
    """Marks the cells of inserted, deleted and materially updated rows of gap_point/area."""
    point = "r.geom" if table == "gap_point" else "NULL::geometry"
    updated_old = (f"(SELECT o.* FROM old_rows o JOIN new_rows n USING ({key}) "
                   f"WHERE {compared})")
    updated_new = (f"(SELECT n.* FROM new_rows n JOIN old_rows o USING ({key}) "
                   f"WHERE {compared})")
    insert = "INSERT INTO gap_dirty (category, cx, cy) SELECT DISTINCT * FROM ("
    conflict = ") d ON CONFLICT DO NOTHING;"
    return f"""
    CREATE FUNCTION {table}_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        {insert}{_cells('new_rows', point)}{conflict}
      ELSIF TG_OP = 'DELETE' THEN
        {insert}{_cells('old_rows', point)}{conflict}
      ELSE
        {insert}{_cells(updated_old + ' ', point)}
                UNION {_cells(updated_new + ' ', point)}{conflict}
      END IF;
      RETURN NULL;
    END $$
    """


POINT_COMPARED = ("(ST_AsEWKB(o.geom), o.kern_code, o.private, o.status, o.is_demo) "
                  "IS DISTINCT FROM (ST_AsEWKB(n.geom), n.kern_code, n.private, n.status, "
                  "n.is_demo)")
AREA_COMPARED = "(o.status, o.is_demo) IS DISTINCT FROM (n.status, n.is_demo)"


def category_index(code: str) -> str:
    """The name of a category's partial index on gap_point, e.g. ix_gap_point_geom_vervoer."""
    return "ix_gap_point_geom_" + re.sub(r"[^a-z0-9]+", "_", code.lower())[:40]


def _statement_triggers(table: str, function: str) -> None:
    """One AFTER ... FOR EACH STATEMENT trigger per event, with its transition tables."""
    for event, refs in (("INSERT", "NEW TABLE AS new_rows"),
                        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                        ("DELETE", "OLD TABLE AS old_rows")):
        op.execute(f"CREATE TRIGGER {table}_gap_{event.lower()} AFTER {event} ON {table} "
                   f"REFERENCING {refs} FOR EACH STATEMENT EXECUTE FUNCTION {function}()")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "gap_point",
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("service_id", UUID(as_uuid=True), nullable=False),
        sa.Column("location_id", UUID(as_uuid=True), nullable=False),
        sa.Column("geom", Geometry("POINT", srid=28992, spatial_index=False), nullable=False),
        sa.Column("kern_code", sa.String(80)),
        sa.Column("private", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("is_demo", sa.Boolean, nullable=False),
        sa.Column("assured_date", sa.Date),
        sa.PrimaryKeyConstraint("category", "service_id", "location_id"),
    )
    op.create_table(
        "gap_area",
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("service_id", UUID(as_uuid=True), nullable=False),
        sa.Column("kern_code", sa.String(80), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("is_demo", sa.Boolean, nullable=False),
        sa.Column("assured_date", sa.Date),
        sa.PrimaryKeyConstraint("category", "kern_code", "service_id"),
    )
    op.create_table(
        "gap_dirty",
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("cx", sa.Integer, nullable=False),
        sa.Column("cy", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("category", "cx", "cy"),
    )
    op.create_table(
        "gap_coverage",
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("with_demo", sa.Boolean, nullable=False),
        sa.Column("kern_code", sa.String(80),
                  sa.ForeignKey("kern.code", ondelete="CASCADE"), nullable=False),
        sa.Column("norm_m", sa.Integer),  # NULL: a must-serve norm
        sa.Column("search_m", sa.Integer, nullable=False),
        sa.Column("nearest_m", sa.Float),
        sa.Column("nearest_private", sa.Boolean),
        sa.Column("within", sa.Integer, nullable=False),
        sa.Column("serving", sa.Integer, nullable=False),
        sa.Column("providers", sa.Integer, nullable=False),
        sa.Column("stale", sa.Boolean, server_default="false", nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.PrimaryKeyConstraint("category", "with_demo", "kern_code"),
    )
    op.create_index("ix_gap_coverage_kern_code", "gap_coverage", ["kern_code"])

    # Backfill in two statements, before the indexes and triggers exist.
    op.execute(f"INSERT INTO gap_point ({POINT_COLS}) {WANT_POINT.format(where='')}")
    op.execute(f"INSERT INTO gap_area ({AREA_COLS}) {WANT_AREA.format(where='')}")
    # Per top-level category a partial GiST index: the nearest scan of a country-wide
    # question is several times faster on it than on the (category, geom) index, which stays
    # for a category added later (a later migration should give it its own, named like these).
    op.execute(f"CREATE INDEX ix_gap_point_category_geom ON gap_point USING gist "
               f"(category, geom) WHERE status = '{COUNTED_STATUS}'")
    categories = op.get_bind().execute(sa.text(
        "SELECT t.code FROM taxonomy_term t JOIN taxonomy x ON x.id = t.taxonomy_id "
        "WHERE x.facet = 'category' AND t.parent_id IS NULL ORDER BY t.code")).scalars().all()
    for code in categories:
        literal = code.replace("'", "''")
        op.execute(f"CREATE INDEX {category_index(code)} ON gap_point USING gist (geom) "
                   f"WHERE status = '{COUNTED_STATUS}' AND category = '{literal}'")
    op.execute(f"CREATE INDEX ix_gap_point_category_kern ON gap_point "
               f"(category, kern_code, service_id) WHERE status = '{COUNTED_STATUS}'")
    op.create_index("ix_gap_point_service_id", "gap_point", ["service_id"])
    op.create_index("ix_gap_area_service_id", "gap_area", ["service_id"])
    op.execute("ANALYZE gap_point")
    op.execute("ANALYZE gap_area")

    op.execute(SYNC)
    for table in TOUCHED:
        op.execute(_source_trigger_function(table))
        _statement_triggers(table, f"gap_on_{table}")
    op.execute(_dirty_trigger_function("gap_point", "category, service_id, location_id",
                                       POINT_COMPARED))
    _statement_triggers("gap_point", "gap_point_dirty")
    op.execute(_dirty_trigger_function("gap_area", "category, kern_code, service_id",
                                       AREA_COMPARED))
    _statement_triggers("gap_area", "gap_area_dirty")
    # A moved kern point changes that kern's distances: its stored coverage goes.
    op.execute("""
    CREATE FUNCTION gap_on_kern() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM gap_coverage c USING new_rows n JOIN old_rows o USING (code)
       WHERE c.kern_code = n.code
         AND ST_AsEWKB(n.point) IS DISTINCT FROM ST_AsEWKB(o.point);
      RETURN NULL;
    END $$
    """)
    op.execute("CREATE TRIGGER kern_gap_update AFTER UPDATE ON kern REFERENCING OLD TABLE AS "
               "old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "
               "gap_on_kern()")


def downgrade() -> None:
    op.execute("DROP TRIGGER kern_gap_update ON kern")
    op.execute("DROP FUNCTION gap_on_kern()")
    for table in TOUCHED:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {table}_gap_{event} ON {table}")
        op.execute(f"DROP FUNCTION gap_on_{table}()")
    op.execute("DROP FUNCTION gap_sync(uuid[])")
    for table in ("gap_coverage", "gap_dirty", "gap_area", "gap_point"):
        op.drop_table(table)
    op.execute("DROP FUNCTION gap_point_dirty()")
    op.execute("DROP FUNCTION gap_area_dirty()")
