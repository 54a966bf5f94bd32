"""Staff accounts, their gemeente scopes and sessions, and the rate-limit buckets."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Float, ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UUIDKey

ROLES: tuple[str, ...] = ("admin", "editor", "gebiedsteam")


class User(UUIDKey, Base):
    """A staff member: admin, editor (per gemeente) or area team (gebiedsteam)."""

    __tablename__ = "app_user"

    email: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(12))
    totp_secret: Mapped[str | None] = mapped_column(Text)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    gemeenten: Mapped[list[UserGemeente]] = relationship(cascade="all, delete-orphan",
                                                         lazy="selectin")

    @property
    def gemeente_codes(self) -> list[str]:
        """The CBS codes of the gemeenten this user works for."""
        return sorted(g.gemeente_code for g in self.gemeenten)


class UserGemeente(Base):
    """One gemeente an editor or area team works for."""

    __tablename__ = "user_gemeente"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    gemeente_code: Mapped[str] = mapped_column(ForeignKey("gemeente.code"), primary_key=True)


class UserSession(Base):
    """A signed-in browser, known by the SHA-256 of the random token in its cookie."""

    __tablename__ = "user_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                   server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    second_factor_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RateBucket(Base):
    """A token bucket, keyed by an HMAC of what it limits (never a raw address)."""

    __tablename__ = "rate_bucket"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(20))
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
