"""The map's pre-aggregated grid: record counts per nested RD cell, zoom and slice.

`map_grid` holds, for every zoom from 4 to 15, the cells of that zoom's grid (6000 m at zoom
10, halving per zoom, anchored at the RD origin) with the number of visible records in them,
the sums of their coordinates (for the centroid) and their extent, split by is_demo. Rows with
the empty slice count all records; up to zoom 12 there are also rows per kind
('kind:dorpshuis') and per category or audience term ('category:vervoer'), where a record
counts under its own terms and their parents, as a one-code facet filter matches. Rows are
written in (z, slice, cx, cy) order so that the rows of a view lie on a few pages.

A materialized view, so it is as fresh as its last refresh (socialmap.services.mapdata
.refresh_grid, after imports). The live registry answers every view the grid cannot.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""
from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Frozen copies of socialmap.queries.mapdata's constants and socialmap.vocab.VISIBLE_STATUSES.
CELL_AT_ZOOM_10 = 6000
MIN_ZOOM, MAX_ZOOM, SLICE_MAX_ZOOM = 4, 15, 12
VISIBLE_STATUSES = ("active", "temporarily closed")

AGGREGATE = ("count(*)::int AS n, sum(x) AS sx, sum(y) AS sy, min(x) AS minx, min(y) AS miny, "
             "max(x) AS maxx, max(y) AS maxy")
ROLL_UP = ("sum(n)::int AS n, sum(sx) AS sx, sum(sy) AS sy, min(minx) AS minx, "
           "min(miny) AS miny, max(maxx) AS maxx, max(maxy) AS maxy")


def _cell(zoom: int) -> str:
    return repr(CELL_AT_ZOOM_10 * 2.0 ** (10 - zoom))


def _levels(prefix: str, source: str, key: str, top: int) -> list[str]:
    """CTEs for the finest zoom from the hits, then each coarser zoom from the one below."""
    ctes = [f"{prefix}{top} AS (SELECT floor(x / {_cell(top)})::int AS cx, "
            f"floor(y / {_cell(top)})::int AS cy, {key} AS slice, is_demo, {AGGREGATE} "
            f"FROM {source} GROUP BY 1, 2, 3, 4)"]
    for z in range(top - 1, MIN_ZOOM - 1, -1):
        ctes.append(f"{prefix}{z} AS (SELECT cx >> 1 AS cx, cy >> 1 AS cy, slice, is_demo, "
                    f"{ROLL_UP} FROM {prefix}{z + 1} GROUP BY 1, 2, 3, 4)")
    return ctes


def grid_sql() -> str:
    statuses = ", ".join(f"'{s}'" for s in VISIBLE_STATUSES)
    # A private location counts at its kern's point, where the map and the search show it.
    shown = "CASE WHEN l.location_type = 'private' AND k.point IS NOT NULL THEN k.point " \
            "ELSE l.geom END"
    ctes = [
        f"""hit AS (
            SELECT sal.id AS sal_id, s.id AS service_id, s.kind, s.is_demo,
                   ST_X({shown}) AS x, ST_Y({shown}) AS y
            FROM service_at_location sal
            JOIN service s ON s.id = sal.service_id
            JOIN location l ON l.id = sal.location_id
            LEFT JOIN kern k ON k.code = l.kern_code
            WHERE s.status IN ({statuses}))""",
        """term_hit AS (
            SELECT DISTINCT h.sal_id, e.slice, h.is_demo, h.x, h.y
            FROM hit h
            JOIN attribute a ON a.service_id = h.service_id
            JOIN taxonomy_term t ON t.id = a.taxonomy_term_id
            JOIN taxonomy f ON f.id = t.taxonomy_id
            LEFT JOIN taxonomy_term p ON p.id = t.parent_id
            CROSS JOIN LATERAL (VALUES (f.facet || ':' || t.code), (f.facet || ':' || p.code))
                AS e(slice)
            WHERE e.slice IS NOT NULL)""",
        *_levels("a", "hit", "''", MAX_ZOOM),
        *_levels("k", "hit", "'kind:' || kind", SLICE_MAX_ZOOM),
        *_levels("t", "term_hit", "slice", SLICE_MAX_ZOOM),
    ]
    parts = [f"SELECT {z}::smallint AS z, slice, cx, cy, is_demo, n, sx, sy, minx, miny, "
             f"maxx, maxy FROM {prefix}{z}"
             for prefix, top in (("a", MAX_ZOOM), ("k", SLICE_MAX_ZOOM), ("t", SLICE_MAX_ZOOM))
             for z in range(MIN_ZOOM, top + 1)]
    return ("WITH " + ",\n".join(ctes) + "\nSELECT * FROM (" + "\nUNION ALL ".join(parts)
            + ") AS cells ORDER BY z, slice, cx, cy, is_demo")


def upgrade() -> None:
    op.execute(f"CREATE MATERIALIZED VIEW map_grid AS {grid_sql()}")
    # Unique, so that REFRESH ... CONCURRENTLY can keep the grid readable while it recounts.
    op.execute("CREATE UNIQUE INDEX uq_map_grid_cell ON map_grid (z, slice, cx, cy, is_demo)")


def downgrade() -> None:
    op.execute("DROP MATERIALIZED VIEW map_grid")
