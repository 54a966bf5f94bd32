"""Indexes for the kern search and the kern page's plans at 1M initiatives.

- `ix_location_kern_code_shown_geom`: GiST on (kern_code, shown_geom) with btree_gist, so that
  a kern search ("located in the kern, nearest to its point first") walks the kern's locations
  in distance order and stops at the page, instead of joining and sorting every location of the
  kern (a town has 900 at 1M; kern search p50 51 -> 30 ms, p95 218 -> 49 ms on a loaded machine).
- `ix_service_proposed`: the few services with status 'proposed' (plans), so that the kern page
  starts its plans from them rather than from every service of the kern (20 ms -> 0.05 ms).

Revision ID: 0011_search_indexes
Revises: 0010_gap_derived
Create Date: 2026-11-22
"""
from __future__ import annotations

from alembic import op

revision = "0011_search_indexes"
down_revision = "0010_gap_derived"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute("CREATE INDEX IF NOT EXISTS ix_location_kern_code_shown_geom"
               " ON location USING gist (kern_code, shown_geom)")
    op.execute("CREATE INDEX IF NOT EXISTS ix_service_proposed ON service (id)"
               " WHERE status = 'proposed'")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_service_proposed")
    op.execute("DROP INDEX IF EXISTS ix_location_kern_code_shown_geom")
