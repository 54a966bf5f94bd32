"""Spatial SQL of the geography loader: staging, kern points and areas, population, merges.

The loader stages every layer in temporary tables (RD New), derives the kernen there set-based,
and then merges into the real tables, touching only rows whose values differ, so that a reload of
the same data changes nothing and rows referenced by the registry keep their keys.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

WGS84 = 4326
RD_NEW = 28992
# Seeds outside their gemeente are moved this far inside it, so they lie inside their own cell.
SNAP_INSET_M = 10.0
# Seeds closer than this are coincident for the Voronoi diagram and are moved apart by it.
COINCIDENT_M = 1.0


def _area_from_wkb(param: str) -> str:
    """SQL turning a WGS84 WKB parameter into a valid RD New MultiPolygon."""
    return (f"ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Transform("
            f"ST_GeomFromWKB(:{param}, {WGS84}), {RD_NEW})), 3))")


def _point_from_wkb(param: str) -> str:
    return f"ST_Transform(ST_GeomFromWKB(:{param}, {WGS84}), {RD_NEW})"


def _valid_multi(expr: str) -> str:
    return f"ST_Multi(ST_CollectionExtract(ST_MakeValid({expr}), 3))"


def relax_statement_timeout(conn: Connection, timeout: str = "15min") -> None:
    """Allow the long spatial statements of a load (this transaction only)."""
    conn.execute(text("SELECT set_config('statement_timeout', :t, true)"), {"t": timeout})


def set_audit_actor(conn: Connection, actor: str, source: str) -> None:
    """Name the writer in the change log for this transaction."""
    conn.execute(text("SELECT set_config('socialmap.actor', :actor, true),"
                      " set_config('socialmap.source', :source, true)"),
                 {"actor": actor, "source": source})


def dataset_checksum(conn: Connection, name: str) -> str | None:
    """The checksum stored by the last load of a dataset, if any."""
    return conn.execute(text("SELECT checksum FROM dataset_load WHERE name = :name"),
                        {"name": name}).scalar_one_or_none()


def record_dataset_load(conn: Connection, name: str, checksum: str, counts: dict[str, int]) -> None:
    """Store what a load put in the database."""
    conn.execute(text(
        "INSERT INTO dataset_load (name, checksum, counts, loaded_at)"
        " VALUES (:name, :checksum, CAST(:counts AS jsonb), now())"
        " ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum,"
        " counts = EXCLUDED.counts, loaded_at = EXCLUDED.loaded_at"
    ), {"name": name, "checksum": checksum, "counts": _json(counts)})


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


_STAGING = f"""
DROP TABLE IF EXISTS geo_stage_provincie, geo_stage_gemeente, geo_stage_pc4, geo_stage_kern;
CREATE TEMP TABLE geo_stage_provincie (
  code text PRIMARY KEY, name text NOT NULL, inhabitants integer,
  area geometry(MultiPolygon, {RD_NEW}) NOT NULL) ON COMMIT DROP;
CREATE TEMP TABLE geo_stage_gemeente (
  code text PRIMARY KEY, name text NOT NULL, provincie_code text NOT NULL, inhabitants integer,
  pct_65plus numeric(5, 1), area geometry(MultiPolygon, {RD_NEW}) NOT NULL) ON COMMIT DROP;
CREATE TEMP TABLE geo_stage_pc4 (
  code text PRIMARY KEY, inhabitants integer, inhabitants_65plus integer,
  inhabitants_75plus integer, area geometry(MultiPolygon, {RD_NEW}) NOT NULL,
  centroid geometry(Point, {RD_NEW})) ON COMMIT DROP;
CREATE TEMP TABLE geo_stage_kern (
  code text PRIMARY KEY, name text NOT NULL, name_key text NOT NULL,
  gemeente_code text NOT NULL, source text NOT NULL, geonameid integer, pc4_codes jsonb,
  source_point geometry(Point, {RD_NEW}), point geometry(Point, {RD_NEW}),
  area geometry(MultiPolygon, {RD_NEW}), inhabitants integer NOT NULL DEFAULT 0,
  inhabitants_65plus integer NOT NULL DEFAULT 0, inhabitants_75plus integer NOT NULL DEFAULT 0
) ON COMMIT DROP;
"""


def create_staging(conn: Connection) -> None:
    """Empty temporary staging tables, dropped at the end of the transaction."""
    for statement in _STAGING.split(";"):
        if statement.strip():
            conn.execute(text(statement))


def stage_provincies(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Rows: code, name, inhabitants, wkb (WGS84)."""
    conn.execute(text(
        "INSERT INTO geo_stage_provincie (code, name, inhabitants, area)"
        f" VALUES (:code, :name, :inhabitants, {_area_from_wkb('wkb')})"
    ), list(rows))


def stage_gemeenten(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Rows: code, name, provincie_code, inhabitants, pct_65plus, wkb (WGS84)."""
    conn.execute(text(
        "INSERT INTO geo_stage_gemeente (code, name, provincie_code, inhabitants, pct_65plus, area)"
        " VALUES (:code, :name, :provincie_code, :inhabitants, :pct_65plus,"
        f" {_area_from_wkb('wkb')})"
    ), list(rows))


def stage_pc4(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Rows: code, inhabitants, inhabitants_65plus, inhabitants_75plus, wkb (WGS84)."""
    conn.execute(text(
        "INSERT INTO geo_stage_pc4 (code, inhabitants, inhabitants_65plus, inhabitants_75plus,"
        " area) VALUES (:code, :inhabitants, :inhabitants_65plus, :inhabitants_75plus,"
        f" {_area_from_wkb('wkb')})"
    ), list(rows))
    conn.execute(text("UPDATE geo_stage_pc4 SET centroid = ST_PointOnSurface(area)"))
    _index_and_analyze(conn, "geo_stage_pc4", "area")


def stage_kernen(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Rows: code, name, name_key, gemeente_code, source, geonameid, pc4_codes (JSON), wkb."""
    conn.execute(text(
        "INSERT INTO geo_stage_kern (code, name, name_key, gemeente_code, source, geonameid,"
        " pc4_codes, source_point) VALUES (:code, :name, :name_key, :gemeente_code, :source,"
        f" :geonameid, CAST(:pc4_codes AS jsonb), {_point_from_wkb('wkb')})"
    ), [{**row, "pc4_codes": _json(row["pc4_codes"])} for row in rows])


def _index_and_analyze(conn: Connection, table: str, column: str) -> None:
    # Autovacuum never analyzes temporary tables; without statistics the planner guesses badly.
    conn.execute(text(f"CREATE INDEX ON {table} USING gist ({column})"))
    conn.execute(text(f"ANALYZE {table}"))


_PLACE_POINTS = f"""
UPDATE geo_stage_kern k SET source_point = ST_PointOnSurface(g.area)
  FROM geo_stage_gemeente g WHERE g.code = k.gemeente_code AND k.source_point IS NULL;
UPDATE geo_stage_kern SET point = source_point;
WITH outside AS (
  SELECT k.code, k.gemeente_code FROM geo_stage_kern k
    JOIN geo_stage_gemeente g ON g.code = k.gemeente_code
   WHERE NOT ST_Covers(g.area, k.point)
), inset AS MATERIALIZED (
  SELECT g.code, g.area, ST_Buffer(g.area, -:inset) AS inner_area FROM geo_stage_gemeente g
   WHERE g.code IN (SELECT gemeente_code FROM outside)
)
UPDATE geo_stage_kern k
   SET point = CASE WHEN ST_IsEmpty(i.inner_area) THEN ST_PointOnSurface(i.area)
                    ELSE ST_ClosestPoint(i.inner_area, k.point) END
  FROM outside o JOIN inset i ON i.code = o.gemeente_code
 WHERE o.code = k.code;
WITH ranked AS (
  SELECT code, row_number() OVER (
           PARTITION BY gemeente_code, ST_SnapToGrid(point, {COINCIDENT_M})
           ORDER BY source <> 'woonplaats', code) - 1 AS n
    FROM geo_stage_kern
)
UPDATE geo_stage_kern k SET point = ST_Translate(k.point, r.n * {COINCIDENT_M}, 0)
  FROM ranked r WHERE r.code = k.code AND r.n > 0
"""

_POINT_MOVES = """
SELECT count(*) FILTER (WHERE NOT ST_Equals(point, source_point)) AS moved,
       coalesce(max(ST_Distance(point, source_point)), 0) AS max_metres
  FROM geo_stage_kern
"""


def place_kern_points(conn: Connection) -> tuple[int, float]:
    """Put every kern point inside its gemeente and apart from the others: (moved, max metres).

    A gemeente kern gets a point on the gemeente's surface; a point outside its gemeente moves to
    the nearest spot SNAP_INSET_M inside it; coincident points are spread by COINCIDENT_M.
    """
    for statement in _PLACE_POINTS.split(";"):
        conn.execute(text(statement), {"inset": SNAP_INSET_M})
    row = conn.execute(text(_POINT_MOVES)).one()
    return int(row.moved), float(row.max_metres)


_KERN_AREAS = f"""
WITH seeds AS (
  SELECT gemeente_code, ST_Collect(point) AS points FROM geo_stage_kern
   GROUP BY gemeente_code HAVING count(*) > 1
), cells AS (
  SELECT s.gemeente_code,
         (ST_Dump(ST_VoronoiPolygons(s.points, 0, ST_Envelope(g.area)))).geom AS cell
    FROM seeds s JOIN geo_stage_gemeente g ON g.code = s.gemeente_code
)
UPDATE geo_stage_kern k
   SET area = {_valid_multi('ST_Intersection(c.cell, g.area)')}
  FROM cells c JOIN geo_stage_gemeente g ON g.code = c.gemeente_code
 WHERE c.gemeente_code = k.gemeente_code AND ST_Intersects(c.cell, k.point);
UPDATE geo_stage_kern k SET area = g.area
  FROM geo_stage_gemeente g
 WHERE g.code = k.gemeente_code
   AND (SELECT count(*) FROM geo_stage_kern o WHERE o.gemeente_code = k.gemeente_code) = 1
"""


def draw_kern_areas(conn: Connection) -> list[str]:
    """Voronoi cells of the kern points per gemeente, clipped to it; returns kernen left empty."""
    for statement in _KERN_AREAS.split(";"):
        conn.execute(text(statement))
    missing = conn.execute(text(
        "SELECT code FROM geo_stage_kern WHERE area IS NULL OR ST_IsEmpty(area) ORDER BY code"
    )).scalars().all()
    _index_and_analyze(conn, "geo_stage_kern", "area")
    return list(missing)


_OVERLAP = """
CREATE TEMP TABLE geo_stage_overlap ON COMMIT DROP AS
SELECT p.code AS pc4, k.code AS kern,
       CASE WHEN ST_Covers(k.area, p.area) THEN ST_Area(p.area)
            ELSE ST_Area(ST_Intersection(p.area, k.area)) END AS a
  FROM geo_stage_pc4 p JOIN geo_stage_kern k ON ST_Intersects(p.area, k.area)
 WHERE coalesce(p.inhabitants, 0) + coalesce(p.inhabitants_65plus, 0)
       + coalesce(p.inhabitants_75plus, 0) > 0
"""

# Largest-remainder apportionment per PC4 and measure: each kern gets the floor of its
# area-proportional share, and the units left over go to the largest remainders, so the kernen
# of a PC4 add up to exactly its figure.
_APPORTION = """
WITH share AS (
  SELECT o.pc4, o.kern, o.a / sum(o.a) OVER (PARTITION BY o.pc4) AS share,
         p.inhabitants, p.inhabitants_65plus, p.inhabitants_75plus
    FROM geo_stage_overlap o JOIN geo_stage_pc4 p ON p.code = o.pc4
   WHERE o.a > 0
), exact AS (
  SELECT s.pc4, s.kern, m.measure, m.total, m.total * s.share AS exact,
         floor(m.total * s.share) AS base
    FROM share s CROSS JOIN LATERAL (VALUES ('all', s.inhabitants),
         ('65plus', s.inhabitants_65plus), ('75plus', s.inhabitants_75plus)) AS m(measure, total)
   WHERE m.total > 0
), ranked AS (
  SELECT kern, measure, base,
         total - sum(base) OVER (PARTITION BY pc4, measure) AS leftover,
         row_number() OVER (PARTITION BY pc4, measure ORDER BY exact - base DESC, kern) AS rank
    FROM exact
), per_kern AS (
  SELECT kern,
         sum(base + (rank <= leftover)::int) FILTER (WHERE measure = 'all') AS n_all,
         sum(base + (rank <= leftover)::int) FILTER (WHERE measure = '65plus') AS n_65,
         sum(base + (rank <= leftover)::int) FILTER (WHERE measure = '75plus') AS n_75
    FROM ranked GROUP BY kern
)
UPDATE geo_stage_kern k
   SET inhabitants = coalesce(p.n_all, 0), inhabitants_65plus = coalesce(p.n_65, 0),
       inhabitants_75plus = coalesce(p.n_75, 0)
  FROM per_kern p WHERE p.kern = k.code
"""

_UNAPPORTIONED = """
SELECT count(*) AS pc4s, coalesce(sum(p.inhabitants), 0) AS inhabitants FROM geo_stage_pc4 p
 WHERE coalesce(p.inhabitants, 0) > 0
   AND NOT EXISTS (SELECT 1 FROM geo_stage_overlap o WHERE o.pc4 = p.code AND o.a > 0)
"""


def apportion_population(conn: Connection) -> tuple[int, int]:
    """Kern inhabitants from the PC4 figures by area overlap; returns PC4s (and people) left out."""
    conn.execute(text("DROP TABLE IF EXISTS geo_stage_overlap"))
    conn.execute(text(_OVERLAP))
    conn.execute(text(_APPORTION))
    row = conn.execute(text(_UNAPPORTIONED)).one()
    return int(row.pc4s), int(row.inhabitants)


def _merge(conn: Connection, table: str, columns: Sequence[str], source: str | None = None) -> \
        tuple[int, int]:
    """Upsert staged rows, updating only those that differ; returns (inserted, updated)."""
    cols = ", ".join(columns)
    others = [c for c in columns if c != "code"]
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in others)
    old = ", ".join(f"{table}.{c}" for c in others)
    new = ", ".join(f"EXCLUDED.{c}" for c in others)
    rows = conn.execute(text(
        f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {source or 'geo_stage_' + table}"
        f" ORDER BY code ON CONFLICT (code) DO UPDATE SET {sets}"
        f" WHERE ({old}) IS DISTINCT FROM ({new}) RETURNING (xmax = 0) AS inserted"
    )).scalars().all()
    inserted = sum(1 for r in rows if r)
    return inserted, len(rows) - inserted


def merge_provincies(conn: Connection) -> tuple[int, int]:
    """Upsert provincies; returns (inserted, updated)."""
    return _merge(conn, "provincie", ("code", "name", "inhabitants", "area"))


def merge_gemeenten(conn: Connection) -> tuple[int, int]:
    """Upsert gemeenten; returns (inserted, updated)."""
    return _merge(conn, "gemeente",
                  ("code", "name", "provincie_code", "inhabitants", "pct_65plus", "area"))


def merge_pc4(conn: Connection) -> tuple[int, int]:
    """Upsert PC4 areas with population; returns (inserted, updated)."""
    return _merge(conn, "pc4", ("code", "inhabitants", "inhabitants_65plus",
                                "inhabitants_75plus", "area", "centroid"))


def merge_kernen(conn: Connection) -> tuple[int, int]:
    """Upsert kernen; returns (inserted, updated)."""
    return _merge(conn, "kern", (
        "code", "name", "name_key", "gemeente_code", "source", "geonameid", "pc4_codes",
        "inhabitants", "inhabitants_65plus", "inhabitants_75plus", "point", "area"))


def delete_vanished(conn: Connection, table: str) -> int:
    """Delete rows of provincie, gemeente, pc4 or kern that are not staged; returns the count."""
    if table not in ("provincie", "gemeente", "pc4", "kern"):
        raise ValueError(table)
    return len(conn.execute(text(
        f"DELETE FROM {table} t WHERE NOT EXISTS"
        f" (SELECT 1 FROM geo_stage_{table} s WHERE s.code = t.code) RETURNING t.code"
    )).all())


_DERIVE_LOCATIONS = """
WITH derived AS (
  SELECT l.id,
         (SELECT k.code FROM kern k
           WHERE ST_Covers(k.area, l.geom)
             AND EXISTS (SELECT 1 FROM geo_stage_kern s WHERE s.code = k.code)
           ORDER BY k.code LIMIT 1) AS kern_code,
         coalesce((SELECT p.code FROM pc4 p WHERE ST_Covers(p.area, l.geom)
                    ORDER BY p.code LIMIT 1), l.pc4) AS pc4
    FROM location l
)
UPDATE location l SET kern_code = d.kern_code, pc4 = d.pc4
  FROM derived d
 WHERE d.id = l.id AND (l.kern_code, l.pc4) IS DISTINCT FROM (d.kern_code, d.pc4)
RETURNING l.id
"""


def derive_location_geography(conn: Connection) -> int:
    """Set every location's kern and PC4 from the (new) areas that cover it; returns rows changed.

    A point on the border of two areas goes to the lower code; a location outside every PC4 area
    keeps the PC4 it had (its address knows better than a gap in the polygons).
    """
    return len(conn.execute(text(_DERIVE_LOCATIONS)).all())


_REFERENCED_VANISHED = """
SELECT k.code, count(sa.id) AS service_areas,
       (SELECT count(*) FROM location l WHERE l.kern_code = k.code) AS locations
  FROM kern k LEFT JOIN service_area sa ON sa.kern_code = k.code
 WHERE NOT EXISTS (SELECT 1 FROM geo_stage_kern s WHERE s.code = k.code)
 GROUP BY k.code
HAVING count(sa.id) > 0 OR (SELECT count(*) FROM location l WHERE l.kern_code = k.code) > 0
 ORDER BY k.code
"""


def referenced_vanished_kernen(conn: Connection) -> list[tuple[str, int, int]]:
    """Kernen absent from the new data that the registry still refers to: (code, areas, locs)."""
    return [(r.code, int(r.service_areas), int(r.locations))
            for r in conn.execute(text(_REFERENCED_VANISHED))]


_COUNTS = """
SELECT (SELECT count(*) FROM provincie) AS provincies,
       (SELECT count(*) FROM gemeente) AS gemeenten,
       (SELECT count(*) FROM pc4) AS pc4,
       (SELECT count(*) FROM kern) AS kernen,
       (SELECT count(*) FROM kern WHERE source = 'woonplaats') AS kernen_woonplaats,
       (SELECT count(*) FROM kern WHERE source = 'geonames') AS kernen_geonames,
       (SELECT count(*) FROM kern WHERE source = 'gemeente') AS kernen_gemeente
"""


def geography_counts(conn: Connection) -> dict[str, int]:
    """Rows per geography table, and kernen per source."""
    return {k: int(v) for k, v in conn.execute(text(_COUNTS)).one()._mapping.items()}
