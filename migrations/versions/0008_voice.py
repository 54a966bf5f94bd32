"""The voice of demand and the fragility of supply: needs, support, demand signals, funding,
plans (status 'proposed') and subscriptions of area teams.

- `need` (behoefte): what a resident misses in a kern (category, short text, optionally for
  whom), moderated like submissions. No name, e-mail or address of the poster is kept.
- `support`: "ik heb dit ook nodig" / "ik wil helpen" on a need, and the same on a proposed
  service (draagvlak of a plan). One per person: `voter_hash` is an HMAC of a random browser
  token and the target, so the same browser cannot count twice and two targets cannot be linked.
- `demand_signal`: searches that found nothing or little, aggregated per month, kern, category
  and normalised filters; only counts, never a query text, an address or a single search.
- `funding` (HSDS funding): where an initiative's money comes from and until when; audited.
- `subscription`: a staff member follows a kern or a gemeente (Atom feed by secret token, digest
  e-mail); the token itself is not kept, only its SHA-256.
- service.status also allows 'proposed': a plan, not yet running (not shown in search).

Revision ID: 0008_voice
Revises: 0007_mapdata_lonlat
Create Date: 2026-11-22
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0008_voice"
down_revision = "0007_mapdata_lonlat"
branch_labels = None
depends_on = None

# Frozen copies of the vocabularies at this revision.
STATUSES = ("active", "inactive", "defunct", "temporarily closed")
STATUSES_WITH_PLANS = (*STATUSES, "proposed")
NEED_STATUSES = ("pending", "approved", "rejected", "resolved")
SUPPORT_KINDS = ("need", "help")
DIGESTS = ("none", "daily", "weekly")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _uuid_pk() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True,
                     server_default=sa.text("gen_random_uuid()"))


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(),
                     nullable=False)


def _status_check(table: str, column: str, values: tuple[str, ...]) -> None:
    op.drop_constraint(op.f(f"ck_{table}_{column}"), table, type_="check")
    op.create_check_constraint(column, table, _in(column, values))


def upgrade() -> None:
    _status_check("service", "status", STATUSES_WITH_PLANS)
    _status_check("service_archive", "previous_status", STATUSES_WITH_PLANS)

    op.create_table(
        "need",
        _uuid_pk(),
        sa.Column("kern_code", sa.String(80), sa.ForeignKey("kern.code"), nullable=False),
        sa.Column("category_id", UUID(as_uuid=True), sa.ForeignKey("taxonomy_term.id"),
                  nullable=False),
        sa.Column("audience_id", UUID(as_uuid=True), sa.ForeignKey("taxonomy_term.id")),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), server_default="pending", nullable=False),
        sa.Column("reason", sa.Text),
        _now("created_at"),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by", UUID(as_uuid=True),
                  sa.ForeignKey("app_user.id", ondelete="SET NULL")),
        sa.CheckConstraint(_in("status", NEED_STATUSES), name="status"),
        sa.CheckConstraint("length(trim(text)) BETWEEN 3 AND 500", name="text"),
    )
    op.create_index("ix_need_kern_code_status", "need", ["kern_code", "status"])
    op.create_index("ix_need_status_created_at", "need", ["status", "created_at"])

    op.create_table(
        "support",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("need_id", UUID(as_uuid=True), sa.ForeignKey("need.id", ondelete="CASCADE")),
        sa.Column("service_id", UUID(as_uuid=True),
                  sa.ForeignKey("service.id", ondelete="CASCADE")),
        sa.Column("kind", sa.String(4), nullable=False),
        sa.Column("voter_hash", sa.String(64), nullable=False),
        _now("created_at"),
        sa.CheckConstraint("num_nonnulls(need_id, service_id) = 1", name="target"),
        sa.CheckConstraint(_in("kind", SUPPORT_KINDS), name="kind"),
    )
    op.create_index("uq_support_need", "support", ["need_id", "kind", "voter_hash"],
                    unique=True, postgresql_where=sa.text("need_id IS NOT NULL"))
    op.create_index("uq_support_service", "support", ["service_id", "kind", "voter_hash"],
                    unique=True, postgresql_where=sa.text("service_id IS NOT NULL"))

    op.create_table(
        "demand_signal",
        sa.Column("month", sa.Date, primary_key=True),
        sa.Column("kern_code", sa.String(80), sa.ForeignKey("kern.code"), primary_key=True),
        # '' when the search named no category; a term code otherwise.
        sa.Column("category", sa.String(40), primary_key=True),
        # The other filters, normalised ('audience=ouderen;open_now'), '' for none.
        sa.Column("filters", sa.String(200), primary_key=True),
        sa.Column("searches", sa.Integer, server_default="0", nullable=False),
        sa.Column("empty", sa.Integer, server_default="0", nullable=False),
        sa.Column("few", sa.Integer, server_default="0", nullable=False),
        sa.CheckConstraint("searches >= empty + few AND empty >= 0 AND few >= 0",
                           name="counts"),
        sa.CheckConstraint("month = date_trunc('month', month)::date", name="month"),
    )
    op.create_index("ix_demand_signal_kern_code", "demand_signal", ["kern_code", "month"])

    op.create_table(
        "funding",
        _uuid_pk(),
        sa.Column("service_id", UUID(as_uuid=True),
                  sa.ForeignKey("service.id", ondelete="CASCADE"), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("ends_on", sa.Date),
        sa.CheckConstraint("length(trim(source)) > 0", name="source"),
    )
    op.create_index("ix_funding_service_id", "funding", ["service_id"])
    op.create_index("ix_funding_ends_on", "funding", ["ends_on"])
    op.execute("CREATE TRIGGER funding_audit AFTER INSERT OR UPDATE OR DELETE ON funding "
               "FOR EACH ROW EXECUTE FUNCTION sm_audit()")

    op.create_table(
        "subscription",
        _uuid_pk(),
        sa.Column("user_id", UUID(as_uuid=True),
                  sa.ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kern_code", sa.String(80), sa.ForeignKey("kern.code", ondelete="CASCADE")),
        sa.Column("gemeente_code", sa.String(6),
                  sa.ForeignKey("gemeente.code", ondelete="CASCADE")),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("digest", sa.String(6), server_default="weekly", nullable=False),
        sa.Column("last_digest_at", sa.DateTime(timezone=True)),
        _now("created_at"),
        sa.CheckConstraint("num_nonnulls(kern_code, gemeente_code) = 1", name="target"),
        sa.CheckConstraint(_in("digest", DIGESTS), name="digest"),
    )
    op.create_index("ix_subscription_user_id", "subscription", ["user_id"])


def downgrade() -> None:
    for table in ("subscription", "funding", "demand_signal", "support", "need"):
        op.drop_table(table)
    op.execute("UPDATE service SET status = 'inactive' WHERE status = 'proposed'")
    op.execute("UPDATE service_archive SET previous_status = 'inactive' "
               "WHERE previous_status = 'proposed'")
    _status_check("service_archive", "previous_status", STATUSES)
    _status_check("service", "status", STATUSES)
