"""Statements for staff accounts, their sessions and scopes, and the rate-limit buckets."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, text, update
from sqlalchemy.orm import Session

from ..models import (
    Gemeente,
    Kern,
    Location,
    ServiceArea,
    ServiceAtLocation,
    User,
    UserGemeente,
    UserSession,
)

L, K, G = Location.__table__, Kern.__table__, Gemeente.__table__
SAL, SA = ServiceAtLocation.__table__, ServiceArea.__table__


def user_by_email(s: Session, email: str) -> User | None:
    """The account with this e-mail address (any case), or None."""
    return s.scalars(select(User).where(User.email == email.strip().lower())).first()


def all_users(s: Session) -> Sequence[User]:
    """Every account, by role and e-mail."""
    return s.scalars(select(User).order_by(User.role, User.email)).all()


def unknown_gemeenten(conn: Connection, codes: Sequence[str]) -> list[str]:
    """The codes among `codes` that name no gemeente."""
    known = set(conn.execute(select(G.c.code).where(G.c.code.in_(codes))).scalars())
    return sorted(set(codes) - known)


def gemeente_names(conn: Connection, codes: Sequence[str]) -> dict[str, str]:
    """CBS code -> name of these gemeenten."""
    rows = conn.execute(select(G.c.code, G.c.name).where(G.c.code.in_(codes)))
    return {code: name for code, name in rows}


def set_gemeenten(s: Session, user: User, codes: Sequence[str]) -> None:
    """Replace the user's gemeente scope."""
    user.gemeenten[:] = [UserGemeente(user_id=user.id, gemeente_code=c) for c in sorted(set(codes))]


# --- sessions ------------------------------------------------------------------------------

def session_with_user(s: Session, token_hash: str, now: datetime
                      ) -> tuple[UserSession, User] | None:
    """The unexpired session with this token hash and its active user."""
    row = s.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == token_hash, UserSession.expires_at > now,
               User.is_active)
    ).first()
    return (row[0], row[1]) if row else None


def delete_session(s: Session, token_hash: str) -> None:
    """End one session."""
    s.execute(delete(UserSession).where(UserSession.token_hash == token_hash))


def delete_user_sessions(s: Session, user_id: uuid.UUID, keep: str | None = None) -> int:
    """End every session of the user, except the one whose token hash is `keep`."""
    stmt = delete(UserSession).where(UserSession.user_id == user_id)
    if keep is not None:
        stmt = stmt.where(UserSession.token_hash != keep)
    return s.execute(stmt).rowcount


def purge_sessions(s: Session, now: datetime) -> int:
    """Delete expired sessions; returns how many."""
    return s.execute(delete(UserSession).where(UserSession.expires_at <= now)).rowcount


def touch_session(s: Session, token_hash: str, now: datetime, expires_at: datetime) -> None:
    """Record activity and move the idle expiry."""
    s.execute(update(UserSession).where(UserSession.token_hash == token_hash)
              .values(last_seen_at=now, expires_at=expires_at))


# --- rate limits ---------------------------------------------------------------------------

# One statement: refill by the time passed, then take a token when at least one is left. No row
# back means the bucket is empty. Refill and take happen under the row lock of the upsert, so
# parallel requests cannot both take the last token.
_TAKE = text("""
INSERT INTO rate_bucket AS b (key, scope, tokens, updated_at)
VALUES (:key, :scope, :capacity - :cost, :now)
ON CONFLICT (key) DO UPDATE
   SET tokens = LEAST(:capacity, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM (:now - b.updated_at)))
                * :rate) - :cost,
       updated_at = GREATEST(b.updated_at, :now)
 WHERE LEAST(:capacity, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM (:now - b.updated_at)))
       * :rate) >= :cost
RETURNING tokens
""")

_PEEK = text("""
SELECT LEAST(:capacity, tokens + GREATEST(0, EXTRACT(EPOCH FROM (:now - updated_at))) * :rate)
  FROM rate_bucket WHERE key = :key
""")


def take_tokens(conn: Connection, key: str, scope: str, capacity: float, rate: float,
                now: datetime, cost: float = 1.0) -> bool:
    """Take `cost` tokens from the bucket (full when new); False when it has too few."""
    row = conn.execute(_TAKE, {"key": key, "scope": scope, "capacity": capacity, "rate": rate,
                               "now": now, "cost": cost}).first()
    return row is not None


def tokens_left(conn: Connection, key: str, capacity: float, rate: float,
                now: datetime) -> float:
    """How many tokens the bucket holds now (a new bucket is full)."""
    left = conn.execute(_PEEK, {"key": key, "capacity": capacity, "rate": rate,
                                "now": now}).scalar()
    return capacity if left is None else float(left)


def reset_bucket(conn: Connection, key: str) -> None:
    """Forget a bucket (it is full again)."""
    conn.execute(text("DELETE FROM rate_bucket WHERE key = :key"), {"key": key})


def purge_buckets(conn: Connection, before: datetime) -> int:
    """Forget buckets idle since `before` (they would be full again anyway)."""
    return conn.execute(text("DELETE FROM rate_bucket WHERE updated_at < :t"),
                        {"t": before}).rowcount


# --- scope ---------------------------------------------------------------------------------

def service_gemeenten(conn: Connection, service_id: uuid.UUID) -> set[str]:
    """The gemeenten a service is in or works for: of its locations' and its areas' kernen."""
    at = (select(K.c.gemeente_code)
          .select_from(SAL.join(L, L.c.id == SAL.c.location_id).join(K, K.c.code == L.c.kern_code))
          .where(SAL.c.service_id == service_id))
    serves = (select(K.c.gemeente_code).select_from(SA.join(K, K.c.code == SA.c.kern_code))
              .where(SA.c.service_id == service_id))
    return set(conn.execute(at.union(serves)).scalars())


def services_in_gemeenten(codes: Sequence[str]) -> Any:
    """A subquery of the ids of services in or working for any of these gemeenten."""
    at = (select(SAL.c.service_id)
          .select_from(SAL.join(L, L.c.id == SAL.c.location_id).join(K, K.c.code == L.c.kern_code))
          .where(K.c.gemeente_code.in_(codes)))
    serves = (select(SA.c.service_id).select_from(SA.join(K, K.c.code == SA.c.kern_code))
              .where(K.c.gemeente_code.in_(codes)))
    return at.union(serves)
