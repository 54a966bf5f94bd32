"""The search table: one denormalised row per searchable hit, kept by triggers; and kern pieces.

`search_doc` holds, per service_at_location (or per service without a location), everything a
search filters on and everything a result list shows: the published point, status, kind, demo
flag, kern and gemeente, term ids, the kernen it serves without being located there and those
it is located in, verification date, text vector,
undated opening minutes, and the display properties as jsonb. A search is then one index scan
of one table: no joins per hit, no aggregates per hit (at 1M initiatives the joined search spent
most of its time in five index probes per hit and in planning a large statement).

The rows are derived, never edited: statement-level triggers on every source table refresh the
docs of the services a statement touched (`sm_search_doc_refresh`), in the same transaction, so
a search sees a change as soon as it is committed. `sm_search_doc_rebuild()` recomputes every
row (after bulk loads that bypass triggers). The published point only: a private location's
real point never enters this table.

`kern_piece` holds every kern area cut into pieces of at most 64 vertices (ST_Subdivide), so
that "which kern covers this point" tests a few small polygons instead of a large clipped
Voronoi cell (2.5 ms -> well under 1 ms per search that starts from coordinates).

Revision ID: 0013_search_doc
Revises: 0012_gap_shown_point
Create Date: 2026-11-22
"""
from __future__ import annotations

from alembic import op

revision = "0013_search_doc"
down_revision = "0012_gap_shown_point"
branch_labels = None
depends_on = None

# Minutes since Monday 00:00 of a weekday and a time of day.
WEEK_MINUTE = "((({d}) - 1) * 1440 + (extract(epoch FROM {t}) / 60)::int)"

SOURCE = f"""
CREATE VIEW search_doc_source AS
SELECT coalesce(sal.id, s.id) AS doc_id, s.id AS service_id, l.id AS location_id,
       l.shown_geom AS geom, s.status::text AS status, s.kind::text AS kind, s.is_demo,
       l.kern_code::text AS kern_code, k.gemeente_code::text AS gemeente_code,
       coalesce(t.terms, '{{}}') AS terms, coalesce(sa.serves, '{{}}') AS serves_elsewhere,
       coalesce(li.kernen, '{{}}') AS located_in, s.assured_date, s.search_vector,
       sc.open_minutes, coalesce(sc.dated, false) AS dated_slots,
       (sal.id IS NULL OR sal.id = (SELECT s3.id FROM service_at_location s3
                                     WHERE s3.service_id = s.id ORDER BY s3.id LIMIT 1))
         AS service_first,
       -- Positional (queries.search.PROPS), not an object: the keys repeated in every row were
       -- half its size, and the size is what a restore copies.
       jsonb_build_array(
         s.name, l.location_type,
         CASE WHEN l.location_type = 'private' THEN 'kern' ELSE l.precision END,
         l.city, CASE WHEN l.location_type = 'private' THEN NULL ELSE l.address END,
         k.name, g.name,
         round(ST_X(ST_Transform(l.shown_geom, 4326))::numeric, 6),
         round(ST_Y(ST_Transform(l.shown_geom, 4326))::numeric, 6),
         coalesce(t.categories, '[]'), coalesce(t.audiences, '[]'), coalesce(sc.slots, '[]'),
         s.assured_date) AS props
  FROM service s
  LEFT JOIN service_at_location sal ON sal.service_id = s.id
  LEFT JOIN location l ON l.id = sal.location_id
  LEFT JOIN kern k ON k.code = l.kern_code
  LEFT JOIN gemeente g ON g.code = k.gemeente_code
  LEFT JOIN LATERAL (
    SELECT array_agg(a.taxonomy_term_id ORDER BY a.taxonomy_term_id) AS terms,
           jsonb_agg(tt.code ORDER BY tt.code) FILTER (WHERE tx.facet = 'category')
             AS categories,
           jsonb_agg(tt.code ORDER BY tt.code) FILTER (WHERE tx.facet = 'audience')
             AS audiences
      FROM attribute a
      JOIN taxonomy_term tt ON tt.id = a.taxonomy_term_id
      JOIN taxonomy tx ON tx.id = tt.taxonomy_id
     WHERE a.service_id = s.id) t ON true
  LEFT JOIN LATERAL (
    SELECT array_agg(DISTINCT a.kern_code::text) AS serves
      FROM service_area a WHERE a.service_id = s.id
       AND NOT EXISTS (SELECT 1 FROM service_at_location s2
                         JOIN location l2 ON l2.id = s2.location_id
                        WHERE s2.service_id = s.id AND l2.kern_code = a.kern_code)) sa ON true
  LEFT JOIN LATERAL (
    SELECT array_agg(DISTINCT l2.kern_code::text) AS kernen
      FROM service_at_location s2 JOIN location l2 ON l2.id = s2.location_id
     WHERE s2.service_id = s.id AND l2.kern_code IS NOT NULL) li ON true
  LEFT JOIN LATERAL (
    SELECT range_agg(int4range({WEEK_MINUTE.format(d='c.weekday', t='c.opens_at')},
                               {WEEK_MINUTE.format(d='c.weekday', t='c.closes_at')}))
             FILTER (WHERE c.valid_from IS NULL AND c.valid_to IS NULL
                     AND c.closes_at > c.opens_at) AS open_minutes,
           bool_or(c.valid_from IS NOT NULL OR c.valid_to IS NOT NULL) AS dated,
           jsonb_agg(jsonb_build_array(c.weekday, c.opens_at, c.closes_at)
                     ORDER BY c.weekday, c.opens_at, c.closes_at) AS slots
      FROM schedule c WHERE c.service_id = s.id) sc ON true
"""

COLUMNS = ("doc_id, service_id, location_id, geom, status, kind, is_demo, kern_code, "
           "gemeente_code, terms, serves_elsewhere, located_in, assured_date, search_vector, "
           "open_minutes, dated_slots, service_first, props")
UPDATE_SET = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS.split(", ")[1:])

FUNCTIONS = f"""
CREATE FUNCTION sm_search_doc_refresh(ids uuid[]) RETURNS void LANGUAGE sql AS $$
  DELETE FROM search_doc WHERE service_id = ANY(ids);
  -- ON CONFLICT: a concurrent refresh of the same service may have inserted a doc that this
  -- statement's DELETE did not see; the later writer's rows win, computed from a snapshot
  -- taken after the other committed.
  INSERT INTO search_doc ({COLUMNS})
  SELECT {COLUMNS} FROM search_doc_source WHERE service_id = ANY(ids)
  ON CONFLICT (doc_id) DO UPDATE SET {UPDATE_SET};
$$;

CREATE FUNCTION sm_search_doc_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  TRUNCATE search_doc;
  -- In kern order: the rows of one neighbourhood share pages, which a radius scan reads.
  INSERT INTO search_doc ({COLUMNS})
  SELECT {COLUMNS} FROM search_doc_source ORDER BY kern_code, service_id;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;

-- Which services a statement on a source table touched, from its transition tables.
CREATE FUNCTION sm_search_doc_touch() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids uuid[];
BEGIN
  IF TG_TABLE_NAME = 'service' THEN
    IF TG_OP = 'INSERT' THEN SELECT array_agg(id) INTO ids FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN SELECT array_agg(id) INTO ids FROM old_rows;
    ELSE SELECT array_agg(id) INTO ids FROM new_rows; END IF;
  ELSIF TG_TABLE_NAME = 'location' THEN
    IF TG_OP = 'DELETE' THEN
      SELECT array_agg(DISTINCT service_id) INTO ids FROM search_doc
       WHERE location_id IN (SELECT id FROM old_rows);
    ELSE
      SELECT array_agg(DISTINCT sal.service_id) INTO ids
        FROM service_at_location sal JOIN new_rows r ON r.id = sal.location_id;
    END IF;
  ELSIF TG_OP = 'INSERT' THEN SELECT array_agg(DISTINCT service_id) INTO ids FROM new_rows;
  ELSIF TG_OP = 'DELETE' THEN SELECT array_agg(DISTINCT service_id) INTO ids FROM old_rows;
  ELSE
    SELECT array_agg(DISTINCT x) INTO ids FROM (
      SELECT service_id AS x FROM new_rows UNION SELECT service_id FROM old_rows) u;
  END IF;
  IF ids IS NOT NULL THEN PERFORM sm_search_doc_refresh(ids); END IF;
  RETURN NULL;
END $$;

-- Names and codes shown in the rows: a renamed kern or gemeente, a kern moved to another
-- gemeente, a recoded taxonomy term.
CREATE FUNCTION sm_search_doc_names() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids uuid[];
BEGIN
  IF TG_TABLE_NAME = 'kern' THEN
    SELECT array_agg(DISTINCT d.service_id) INTO ids FROM search_doc d
     WHERE d.kern_code IN (SELECT n.code FROM new_rows n JOIN old_rows o ON o.code = n.code
                            WHERE (n.name, n.gemeente_code) IS DISTINCT FROM
                                  (o.name, o.gemeente_code));
  ELSIF TG_TABLE_NAME = 'gemeente' THEN
    SELECT array_agg(DISTINCT d.service_id) INTO ids FROM search_doc d
     WHERE d.gemeente_code IN (SELECT n.code FROM new_rows n JOIN old_rows o ON o.code = n.code
                                WHERE n.name IS DISTINCT FROM o.name);
  ELSE
    SELECT array_agg(DISTINCT a.service_id) INTO ids FROM attribute a
     WHERE a.taxonomy_term_id IN (SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
                                   WHERE n.code IS DISTINCT FROM o.code);
  END IF;
  IF ids IS NOT NULL THEN PERFORM sm_search_doc_refresh(ids); END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION sm_kern_pieces() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND ST_Equals(OLD.area, NEW.area) THEN RETURN NULL; END IF;
  DELETE FROM kern_piece WHERE kern_code = NEW.code;
  INSERT INTO kern_piece (kern_code, geom)
  SELECT NEW.code, ST_Subdivide(NEW.area, 64) WHERE NEW.area IS NOT NULL;
  RETURN NULL;
END $$;
"""

SOURCES = ("service", "location", "service_at_location", "attribute", "schedule", "service_area")


def _statement_triggers(table: str) -> None:
    """One AFTER ... FOR EACH STATEMENT trigger per event (transition tables allow only one)."""
    for event, refs in (("INSERT", "NEW TABLE AS new_rows"),
                        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                        ("DELETE", "OLD TABLE AS old_rows")):
        op.execute(f"CREATE TRIGGER {table}_search_{event.lower()} AFTER {event} ON {table} "
                   f"REFERENCING {refs} FOR EACH STATEMENT "
                   "EXECUTE FUNCTION sm_search_doc_touch()")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute("""
    CREATE TABLE search_doc (
      doc_id uuid CONSTRAINT pk_search_doc PRIMARY KEY,
      service_id uuid NOT NULL,
      location_id uuid,
      geom geometry(Point, 28992),
      status text NOT NULL,
      kind text NOT NULL,
      is_demo boolean NOT NULL,
      kern_code text,
      gemeente_code text,
      terms uuid[] NOT NULL,
      serves_elsewhere text[] NOT NULL,
      located_in text[] NOT NULL,
      assured_date date,
      search_vector tsvector,
      open_minutes int4multirange,
      dated_slots boolean NOT NULL,
      service_first boolean NOT NULL,
      props jsonb NOT NULL
    )""")
    op.execute("""
    CREATE TABLE kern_piece (
      id bigserial CONSTRAINT pk_kern_piece PRIMARY KEY,
      kern_code varchar(80) NOT NULL CONSTRAINT fk_kern_piece_kern_code_kern
        REFERENCES kern (code) ON DELETE CASCADE,
      geom geometry(Geometry, 28992) NOT NULL
    )""")
    op.execute(SOURCE)
    op.execute(FUNCTIONS)
    op.execute("SELECT sm_search_doc_rebuild()")
    op.execute("INSERT INTO kern_piece (kern_code, geom) "
               "SELECT code, ST_Subdivide(area, 64) FROM kern WHERE area IS NOT NULL")
    for stmt in (
        "CREATE INDEX ix_search_doc_service_id ON search_doc (service_id)",
        "CREATE INDEX ix_search_doc_geom ON search_doc USING gist (geom)",
        "CREATE INDEX ix_search_doc_kern_geom ON search_doc USING gist (kern_code, geom)",
        "CREATE INDEX ix_search_doc_location_id ON search_doc (location_id)",
        # The rows at one point in (service, doc) order: a page whose edge falls among the
        # thousands of homes published at a city's kern point reads only the page's worth.
        "CREATE INDEX ix_search_doc_point_order ON search_doc "
        "(ST_X(geom), ST_Y(geom), service_id, doc_id)",
        "CREATE INDEX ix_search_doc_serves ON search_doc USING gin (serves_elsewhere)",
        # No GIN on terms or search_vector: with a spatial predicate the planner took them for
        # selective and ANDed bitmaps of 150,000-500,000 rows (65-150 ms), where walking the
        # GiST in distance order and testing each row stops after the page (a few ms).
        "CREATE INDEX ix_kern_piece_geom ON kern_piece USING gist (geom)",
        "CREATE INDEX ix_kern_piece_kern_code ON kern_piece (kern_code)",
    ):
        op.execute(stmt)
    for table in SOURCES:
        _statement_triggers(table)
    for table in ("kern", "gemeente", "taxonomy_term"):
        op.execute(f"CREATE TRIGGER {table}_search_names AFTER UPDATE ON {table} "
                   "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
                   "EXECUTE FUNCTION sm_search_doc_names()")
    op.execute("CREATE TRIGGER kern_pieces AFTER INSERT OR UPDATE OF area ON kern "
               "FOR EACH ROW EXECUTE FUNCTION sm_kern_pieces()")
    op.execute("ANALYZE search_doc")
    op.execute("ANALYZE kern_piece")


def downgrade() -> None:
    op.execute("DROP TRIGGER kern_pieces ON kern")
    for table in ("kern", "gemeente", "taxonomy_term"):
        op.execute(f"DROP TRIGGER {table}_search_names ON {table}")
    for table in SOURCES:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {table}_search_{event} ON {table}")
    op.execute("DROP FUNCTION sm_kern_pieces()")
    op.execute("DROP FUNCTION sm_search_doc_names()")
    op.execute("DROP FUNCTION sm_search_doc_touch()")
    op.execute("DROP FUNCTION sm_search_doc_rebuild()")
    op.execute("DROP FUNCTION sm_search_doc_refresh(uuid[])")
    op.execute("DROP VIEW search_doc_source")
    op.execute("DROP TABLE kern_piece")
    op.execute("DROP TABLE search_doc")
