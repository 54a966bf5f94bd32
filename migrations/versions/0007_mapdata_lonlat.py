"""The map's grid keeps its members' centroid and extent in WGS84 lon/lat instead of RD.

A cluster is answered in lon/lat; with the sums and extent stored in lon/lat it needs no
coordinate transformation per request, which was most of an answer's cost, and its bbox is
the exact lon/lat extent of its members. Cells stay cells of the RD grid (see 0005).

Revision ID: 0007_mapdata_lonlat
Revises: 0006_accounts
Create Date: 2026-11-22
"""
from __future__ import annotations

from alembic import op

revision = "0007_mapdata_lonlat"
down_revision = "0006_accounts"
branch_labels = None
depends_on = None

# Frozen copies of socialmap.queries.mapdata's constants and socialmap.vocab.VISIBLE_STATUSES.
CELL_AT_ZOOM_10 = 6000
MIN_ZOOM, MAX_ZOOM, SLICE_MAX_ZOOM = 4, 15, 12
VISIBLE_STATUSES = ("active", "temporarily closed")

# Per coordinate system: what a hit carries besides x, y (RD, for its cell), how the finest
# cells aggregate it, how coarser cells roll it up, and the columns of the view.
COORDS = {
    "lonlat": (
        "ST_X(ST_Transform({shown}, 4326)) AS lon, ST_Y(ST_Transform({shown}, 4326)) AS lat",
        "count(*)::int AS n, sum(lon) AS slon, sum(lat) AS slat, min(lon) AS west, "
        "min(lat) AS south, max(lon) AS east, max(lat) AS north",
        "sum(n)::int AS n, sum(slon) AS slon, sum(slat) AS slat, min(west) AS west, "
        "min(south) AS south, max(east) AS east, max(north) AS north",
        "n, slon, slat, west, south, east, north",
        "lon, lat",
    ),
    "rd": (
        "NULL AS unused",
        "count(*)::int AS n, sum(x) AS sx, sum(y) AS sy, min(x) AS minx, min(y) AS miny, "
        "max(x) AS maxx, max(y) AS maxy",
        "sum(n)::int AS n, sum(sx) AS sx, sum(sy) AS sy, min(minx) AS minx, "
        "min(miny) AS miny, max(maxx) AS maxx, max(maxy) AS maxy",
        "n, sx, sy, minx, miny, maxx, maxy",
        "unused",
    ),
}


def _cell(zoom: int) -> str:
    return repr(CELL_AT_ZOOM_10 * 2.0 ** (10 - zoom))


def _levels(coords: str, prefix: str, source: str, key: str, top: int) -> list[str]:
    """CTEs for the finest zoom from the hits, then each coarser zoom from the one below."""
    _carry, aggregate, roll_up, _columns, _hit = COORDS[coords]
    ctes = [f"{prefix}{top} AS (SELECT floor(x / {_cell(top)})::int AS cx, "
            f"floor(y / {_cell(top)})::int AS cy, {key} AS slice, is_demo, {aggregate} "
            f"FROM {source} GROUP BY 1, 2, 3, 4)"]
    for z in range(top - 1, MIN_ZOOM - 1, -1):
        ctes.append(f"{prefix}{z} AS (SELECT cx >> 1 AS cx, cy >> 1 AS cy, slice, is_demo, "
                    f"{roll_up} FROM {prefix}{z + 1} GROUP BY 1, 2, 3, 4)")
    return ctes


def grid_sql(coords: str) -> str:
    carry, _aggregate, _roll_up, columns, hit_columns = COORDS[coords]
    statuses = ", ".join(f"'{s}'" for s in VISIBLE_STATUSES)
    # A private location counts at its kern's point, where the map and the search show it.
    shown = "CASE WHEN l.location_type = 'private' AND k.point IS NOT NULL THEN k.point " \
            "ELSE l.geom END"
    ctes = [
        f"""hit AS (
            SELECT sal.id AS sal_id, s.id AS service_id, s.kind, s.is_demo,
                   ST_X({shown}) AS x, ST_Y({shown}) AS y, {carry.format(shown=shown)}
            FROM service_at_location sal
            JOIN service s ON s.id = sal.service_id
            JOIN location l ON l.id = sal.location_id
            LEFT JOIN kern k ON k.code = l.kern_code
            WHERE s.status IN ({statuses}))""",
        f"""term_hit AS (
            SELECT DISTINCT h.sal_id, e.slice, h.is_demo, h.x, h.y, {hit_columns}
            FROM hit h
            JOIN attribute a ON a.service_id = h.service_id
            JOIN taxonomy_term t ON t.id = a.taxonomy_term_id
            JOIN taxonomy f ON f.id = t.taxonomy_id
            LEFT JOIN taxonomy_term p ON p.id = t.parent_id
            CROSS JOIN LATERAL (VALUES (f.facet || ':' || t.code), (f.facet || ':' || p.code))
                AS e(slice)
            WHERE e.slice IS NOT NULL)""",
        *_levels(coords, "a", "hit", "''", MAX_ZOOM),
        *_levels(coords, "k", "hit", "'kind:' || kind", SLICE_MAX_ZOOM),
        *_levels(coords, "t", "term_hit", "slice", SLICE_MAX_ZOOM),
    ]
    parts = [f"SELECT {z}::smallint AS z, slice, cx, cy, is_demo, {columns} FROM {prefix}{z}"
             for prefix, top in (("a", MAX_ZOOM), ("k", SLICE_MAX_ZOOM), ("t", SLICE_MAX_ZOOM))
             for z in range(MIN_ZOOM, top + 1)]
    return ("WITH " + ",\n".join(ctes) + "\nSELECT * FROM (" + "\nUNION ALL ".join(parts)
            + ") AS cells ORDER BY z, slice, cx, cy, is_demo")


def _create(coords: str) -> None:
    op.execute("DROP MATERIALIZED VIEW map_grid")
    op.execute(f"CREATE MATERIALIZED VIEW map_grid AS {grid_sql(coords)}")
    # Unique, so that REFRESH ... CONCURRENTLY can keep the grid readable while it recounts.
    op.execute("CREATE UNIQUE INDEX uq_map_grid_cell ON map_grid (z, slice, cx, cy, is_demo)")


def upgrade() -> None:
    _create("lonlat")


def downgrade() -> None:
    _create("rd")
