"""HSDS data without a column of its own: extra fields of our rows and whole foreign rows.

`hsds_record` holds two kinds of rows, keyed by HSDS table name and id:
- 'extra': the HSDS fields of one of our rows (a service, location, ...) that have no column,
  so that an imported record is exported again as it came in;
- 'record': a whole HSDS row of a table we do not model (program, funding, cost_option, ...)
  or one that cannot be placed in ours (a location without valid coordinates), kept verbatim.

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None

RESOURCES = (
    "organization", "program", "service", "attribute", "service_at_location", "location",
    "phone", "contact", "address", "schedule", "funding", "service_area", "required_document",
    "language", "accessibility", "taxonomy_term", "meta_table_description", "cost_option",
    "organization_identifier", "taxonomy",
)


def _owner(name: str, table: str) -> sa.Column:
    return sa.Column(name, UUID(as_uuid=True), sa.ForeignKey(f"{table}.id", ondelete="CASCADE"))


def upgrade() -> None:
    op.create_table(
        "hsds_record",
        sa.Column("resource", sa.String(40), primary_key=True),
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("kind", sa.String(6), nullable=False),
        _owner("service_id", "service"),
        _owner("organization_id", "organization"),
        _owner("location_id", "location"),
        sa.Column("data", JSONB, nullable=False),
        sa.CheckConstraint(f"resource IN ({', '.join(repr(r) for r in RESOURCES)})",
                           name="resource"),
        sa.CheckConstraint("kind IN ('extra', 'record')", name="kind"),
    )
    for column in ("service_id", "organization_id", "location_id"):
        op.create_index(f"ix_hsds_record_{column}", "hsds_record", [column])
    op.execute("CREATE TRIGGER hsds_record_audit AFTER INSERT OR UPDATE OR DELETE ON hsds_record "
               "FOR EACH ROW EXECUTE FUNCTION sm_audit()")


def downgrade() -> None:
    op.drop_table("hsds_record")
