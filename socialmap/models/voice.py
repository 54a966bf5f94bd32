"""What residents say is missing and who backs it, demand signals, funding and subscriptions."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UUIDKey

NEED_STATUSES: tuple[str, ...] = ("pending", "approved", "rejected", "resolved")
# "ik heb dit ook nodig" and "ik wil helpen".
SUPPORT_KINDS: tuple[str, ...] = ("need", "help")
DIGESTS: tuple[str, ...] = ("none", "daily", "weekly")


class Need(UUIDKey, Base):
    """A need (behoefte) posted by a resident for a kern; nothing of the poster is kept."""

    __tablename__ = "need"

    kern_code: Mapped[str] = mapped_column(ForeignKey("kern.code"))
    category_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("taxonomy_term.id"))
    audience_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("taxonomy_term.id"))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), server_default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="SET NULL"))


class Support(Base):
    """One person's "me too" or "I want to help" on a need or a proposed service."""

    __tablename__ = "support"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    need_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("need.id", ondelete="CASCADE"))
    service_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(4))
    voter_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class DemandSignal(Base):
    """Searches per month, kern, category and filters that found nothing or few results."""

    __tablename__ = "demand_signal"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    kern_code: Mapped[str] = mapped_column(ForeignKey("kern.code"), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    filters: Mapped[str] = mapped_column(String(200), primary_key=True)
    searches: Mapped[int] = mapped_column(Integer, server_default="0")
    empty: Mapped[int] = mapped_column(Integer, server_default="0")
    few: Mapped[int] = mapped_column(Integer, server_default="0")


class Funding(UUIDKey, Base):
    """HSDS funding of a service: its source and, as an extension, when it ends."""

    __tablename__ = "funding"

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(Text)
    ends_on: Mapped[date | None] = mapped_column(Date)


class Subscription(UUIDKey, Base):
    """A staff member following a kern or a gemeente: Atom feed and digest e-mail."""

    __tablename__ = "subscription"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    kern_code: Mapped[str | None] = mapped_column(ForeignKey("kern.code", ondelete="CASCADE"))
    gemeente_code: Mapped[str | None] = mapped_column(
        ForeignKey("gemeente.code", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    digest: Mapped[str] = mapped_column(String(6), server_default="weekly")
    last_digest_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
