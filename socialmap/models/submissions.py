"""What residents propose (new initiatives, changes), decided field by field; and the archive."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UUIDKey

SUBMISSION_KINDS: tuple[str, ...] = ("new", "change")
SUBMISSION_STATUSES: tuple[str, ...] = ("pending", "approved", "partial", "rejected")
DECISIONS: tuple[str, ...] = ("pending", "approved", "rejected")


class Submission(UUIDKey, Base):
    """A proposal by a resident; never public before an editor approves it."""

    __tablename__ = "submission"

    ref_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    service_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("service.id", ondelete="SET NULL"))
    gemeente_code: Mapped[str | None] = mapped_column(ForeignKey("gemeente.code"))
    status: Mapped[str] = mapped_column(String(10), server_default="pending")
    base_version: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    submitter_name: Mapped[str | None] = mapped_column(Text)
    submitter_email: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="SET NULL"))

    fields: Mapped[list[SubmissionField]] = relationship(
        cascade="all, delete-orphan", order_by="SubmissionField.field", lazy="selectin")


class SubmissionField(Base):
    """One proposed value, with the editor's decision and reason."""

    __tablename__ = "submission_field"

    submission_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), primary_key=True)
    field: Mapped[str] = mapped_column(String(40), primary_key=True)
    proposed: Mapped[Any] = mapped_column(JSONB)
    current: Mapped[Any] = mapped_column(JSONB, nullable=True)
    decision: Mapped[str] = mapped_column(String(10), server_default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ServiceArchive(UUIDKey, Base):
    """A service taken off the map (status 'inactive'), with the status it returns to."""

    __tablename__ = "service_archive"

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), unique=True)
    previous_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    archived_by: Mapped[str] = mapped_column(Text)
    archived_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())
