"""Accounts, roles and gemeente scopes, sessions, rate-limit buckets, submissions with per-field
decisions, and the archive of services.

- `app_user`: staff only (admin, editor, gebiedsteam); residents never have an account. The
  password is an argon2id hash; `totp_secret` is the second factor, `totp_last_step` stops a code
  from being used twice.
- `user_gemeente`: the gemeenten an editor or area team works for (an admin sees all).
- `user_session`: server-side sessions, keyed by the SHA-256 of the cookie's random token, so that
  logout and disabling an account end them at once.
- `rate_bucket`: token buckets for submissions and for login throttling, keyed by an HMAC of the
  client address or account: no raw IP address or e-mail is stored.
- `submission` / `submission_field`: what residents propose (a new initiative or a change), each
  field decided on its own, with a reason; the submitter follows it by a reference whose SHA-256
  is kept (the reference itself is not).
- `service_archive`: a service taken off the map by an editor (status 'inactive' plus this row,
  with the status it had); deleting the row brings it back. Audited like the registry.

Revision ID: 0006_accounts
Revises: 0005
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0006_accounts"
down_revision = "0005"
branch_labels = None
depends_on = None

ROLES = ("admin", "editor", "gebiedsteam")
SUBMISSION_KINDS = ("new", "change")
SUBMISSION_STATUSES = ("pending", "approved", "partial", "rejected")
DECISIONS = ("pending", "approved", "rejected")
STATUSES = ("active", "inactive", "defunct", "temporarily closed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _uuid_pk() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True,
                     server_default=sa.text("gen_random_uuid()"))


def _now(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(),
                     nullable=nullable)


def _user_fk(name: str) -> sa.Column:
    return sa.Column(name, UUID(as_uuid=True), sa.ForeignKey("app_user.id", ondelete="SET NULL"))


def upgrade() -> None:
    op.create_table(
        "app_user",
        _uuid_pk(),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.String(12), nullable=False),
        sa.Column("totp_secret", sa.Text),
        sa.Column("totp_enabled_at", sa.DateTime(timezone=True)),
        sa.Column("totp_last_step", sa.BigInteger),
        sa.Column("is_active", sa.Boolean, server_default="true", nullable=False),
        _now("created_at"),
        sa.Column("last_login_at", sa.DateTime(timezone=True)),
        sa.Column("disabled_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(_in("role", ROLES), name="role"),
        sa.CheckConstraint("email = lower(trim(email)) AND email LIKE '%_@_%'", name="email"),
        sa.CheckConstraint("length(trim(display_name)) > 0", name="display_name"),
    )
    op.create_index("uq_app_user_email", "app_user", ["email"], unique=True)
    op.create_table(
        "user_gemeente",
        sa.Column("user_id", UUID(as_uuid=True),
                  sa.ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("gemeente_code", sa.String(6), sa.ForeignKey("gemeente.code"),
                  primary_key=True),
    )
    op.create_table(
        "user_session",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", UUID(as_uuid=True),
                  sa.ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False),
        _now("created_at"),
        _now("last_seen_at"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("second_factor_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_user_session_user_id", "user_session", ["user_id"])
    op.create_index("ix_user_session_expires_at", "user_session", ["expires_at"])
    op.create_table(
        "rate_bucket",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("tokens", sa.Float, nullable=False),
        _now("updated_at"),
    )
    op.create_index("ix_rate_bucket_updated_at", "rate_bucket", ["updated_at"])

    op.create_table(
        "submission",
        _uuid_pk(),
        sa.Column("ref_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("service_id", UUID(as_uuid=True),
                  sa.ForeignKey("service.id", ondelete="SET NULL")),
        sa.Column("gemeente_code", sa.String(6), sa.ForeignKey("gemeente.code")),
        sa.Column("status", sa.String(10), server_default="pending", nullable=False),
        sa.Column("base_version", sa.Integer),
        sa.Column("note", sa.Text),
        sa.Column("submitter_name", sa.Text),
        sa.Column("submitter_email", sa.Text),
        _now("created_at"),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        _user_fk("decided_by"),
        sa.CheckConstraint(_in("kind", SUBMISSION_KINDS), name="kind"),
        sa.CheckConstraint(_in("status", SUBMISSION_STATUSES), name="status"),
    )
    op.create_index("ix_submission_status_gemeente", "submission", ["status", "gemeente_code"])
    op.create_index("ix_submission_service_id", "submission", ["service_id"])
    op.create_table(
        "submission_field",
        sa.Column("submission_id", UUID(as_uuid=True),
                  sa.ForeignKey("submission.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("field", sa.String(40), primary_key=True),
        sa.Column("proposed", JSONB, nullable=False),
        sa.Column("current", JSONB),
        sa.Column("decision", sa.String(10), server_default="pending", nullable=False),
        sa.Column("reason", sa.Text),
        _user_fk("decided_by"),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(_in("decision", DECISIONS), name="decision"),
        sa.CheckConstraint("decision = 'pending' OR decided_at IS NOT NULL", name="decided"),
    )

    op.create_table(
        "service_archive",
        _uuid_pk(),
        sa.Column("service_id", UUID(as_uuid=True),
                  sa.ForeignKey("service.id", ondelete="CASCADE"), nullable=False, unique=True),
        sa.Column("previous_status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("archived_by", sa.Text, nullable=False),
        _now("archived_at"),
        sa.CheckConstraint(_in("previous_status", STATUSES), name="previous_status"),
    )
    op.execute("CREATE TRIGGER service_archive_audit AFTER INSERT OR UPDATE OR DELETE "
               "ON service_archive FOR EACH ROW EXECUTE FUNCTION sm_audit()")


def downgrade() -> None:
    for table in ("service_archive", "submission_field", "submission", "rate_bucket",
                  "user_session", "user_gemeente", "app_user"):
        op.drop_table(table)
