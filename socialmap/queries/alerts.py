"""Statements of subscriptions (a staff member following a kern or a gemeente) and of what
changed there: change-log rows grouped per initiative and transaction, and approved needs."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

# The initiatives of the followed kernen: located in one of them or serving one.
_SCOPE = """
WITH kk AS (
  SELECT code FROM kern WHERE code = :kern OR gemeente_code = :gemeente
), svc_ids AS (
  SELECT sal.service_id FROM location l JOIN service_at_location sal ON sal.location_id = l.id
   WHERE l.kern_code IN (SELECT code FROM kk)
  UNION
  SELECT sa.service_id FROM service_area sa WHERE sa.kern_code IN (SELECT code FROM kk)
)
"""

_CHANGES = _SCOPE + """
SELECT c.service_id, c.txid, max(c.changed_at) AS changed_at, max(c.id) AS last_id,
       bool_or(c.entity_type = 'service' AND c.action = 'create') AS created,
       bool_or(c.entity_type = 'service_archive' AND c.action = 'create') AS archived,
       bool_or(c.entity_type = 'service_archive' AND c.action = 'delete') AS unarchived,
       array_agg(DISTINCT c.entity_type) AS entity_types,
       coalesce(array_agg(DISTINCT c.field) FILTER (
         WHERE c.entity_type = 'service' AND c.action = 'update'), '{}') AS fields,
       s.name, s.status, s.kind
  FROM change c JOIN service s ON s.id = c.service_id
 WHERE c.service_id IN (SELECT service_id FROM svc_ids) AND c.changed_at > :since
   AND (:demo OR NOT s.is_demo)
 GROUP BY c.service_id, c.txid, s.name, s.status, s.kind
 ORDER BY max(c.changed_at) DESC, max(c.id) DESC
 LIMIT :limit
"""

_NEEDS = """
SELECT n.id, n.kern_code, k.name AS kern_name, t.name AS category, n.text, n.decided_at
  FROM need n
  JOIN kern k ON k.code = n.kern_code
  JOIN taxonomy_term t ON t.id = n.category_id
 WHERE n.status = 'approved' AND n.decided_at > :since
   AND (n.kern_code = :kern OR k.gemeente_code = :gemeente)
 ORDER BY n.decided_at DESC, n.id
 LIMIT :limit
"""


def _target(kern: str | None, gemeente: str | None) -> dict[str, Any]:
    return {"kern": kern or "", "gemeente": gemeente or ""}


def changes(conn: Connection, *, kern: str | None, gemeente: str | None, since: datetime,
            include_demo: bool, limit: int) -> list[Any]:
    """What changed at the initiatives of a kern or a gemeente after `since`, newest first,
    one row per initiative and transaction."""
    return list(conn.execute(text(_CHANGES), {**_target(kern, gemeente), "since": since,
                                              "demo": include_demo, "limit": limit}))


def approved_needs(conn: Connection, *, kern: str | None, gemeente: str | None,
                   since: datetime, limit: int) -> list[Any]:
    """Needs of a kern or a gemeente approved after `since`, newest first."""
    return list(conn.execute(text(_NEEDS), {**_target(kern, gemeente), "since": since,
                                            "limit": limit}))


_SUBSCRIPTION = """
SELECT sub.id, sub.user_id, sub.kern_code, sub.gemeente_code, sub.digest, sub.last_digest_at,
       sub.created_at, k.name AS kern_name,
       coalesce(g.code, kg.code) AS target_gemeente, coalesce(g.name, kg.name) AS gemeente_name,
       u.email, u.display_name, u.role, u.is_active,
       coalesce((SELECT array_agg(ug.gemeente_code) FROM user_gemeente ug
                  WHERE ug.user_id = u.id), '{}') AS user_gemeenten
  FROM subscription sub
  JOIN app_user u ON u.id = sub.user_id
  LEFT JOIN kern k ON k.code = sub.kern_code
  LEFT JOIN gemeente kg ON kg.code = k.gemeente_code
  LEFT JOIN gemeente g ON g.code = sub.gemeente_code
"""


def by_token_hash(conn: Connection, token_hash: str) -> Any | None:
    """The subscription of a feed token's hash with its user and target names, or None."""
    return conn.execute(text(_SUBSCRIPTION + " WHERE sub.token_hash = :h"),
                        {"h": token_hash}).first()


def of_user(conn: Connection, user_id: uuid.UUID) -> list[Any]:
    """A user's subscriptions, gemeenten first, then by name."""
    return list(conn.execute(text(
        _SUBSCRIPTION + " WHERE sub.user_id = :u "
        "ORDER BY sub.kern_code IS NOT NULL, coalesce(k.name, g.name), sub.id"), {"u": user_id}))


def one(conn: Connection, subscription_id: uuid.UUID) -> Any | None:
    return conn.execute(text(_SUBSCRIPTION + " WHERE sub.id = :i"),
                        {"i": subscription_id}).first()


def due_for_digest(conn: Connection, digest: str, before: datetime) -> list[Any]:
    """Subscriptions of active users with this digest whose last digest is older than `before`
    (or that never had one)."""
    return list(conn.execute(text(
        _SUBSCRIPTION + " WHERE sub.digest = :d AND u.is_active "
        "AND coalesce(sub.last_digest_at, sub.created_at) <= :b ORDER BY sub.id"),
        {"d": digest, "b": before}))


def exists_for(conn: Connection, user_id: uuid.UUID, kern: str | None,
               gemeente: str | None) -> bool:
    """True when the user already follows this kern or gemeente."""
    return conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM subscription WHERE user_id = :u "
        "AND kern_code IS NOT DISTINCT FROM :k AND gemeente_code IS NOT DISTINCT FROM :g)"),
        {"u": user_id, "k": kern, "g": gemeente}).scalar_one()


def insert(conn: Connection, user_id: uuid.UUID, kern: str | None, gemeente: str | None,
           token_hash: str, digest: str) -> uuid.UUID:
    return conn.execute(text(
        "INSERT INTO subscription (user_id, kern_code, gemeente_code, token_hash, digest) "
        "VALUES (:u, :k, :g, :h, :d) RETURNING id"),
        {"u": user_id, "k": kern, "g": gemeente, "h": token_hash, "d": digest}).scalar_one()


def delete(conn: Connection, subscription_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Remove a user's subscription; False when it is not theirs or not there."""
    return conn.execute(text("DELETE FROM subscription WHERE id = :i AND user_id = :u"),
                        {"i": subscription_id, "u": user_id}).rowcount == 1


def set_token(conn: Connection, subscription_id: uuid.UUID, user_id: uuid.UUID,
              token_hash: str) -> bool:
    return conn.execute(text("UPDATE subscription SET token_hash = :h "
                             "WHERE id = :i AND user_id = :u"),
                        {"h": token_hash, "i": subscription_id, "u": user_id}).rowcount == 1


def set_digest(conn: Connection, subscription_id: uuid.UUID, user_id: uuid.UUID,
               digest: str) -> bool:
    return conn.execute(text("UPDATE subscription SET digest = :d WHERE id = :i AND user_id = :u"),
                        {"d": digest, "i": subscription_id, "u": user_id}).rowcount == 1


def mark_digest(conn: Connection, subscription_ids: Sequence[uuid.UUID], at: datetime) -> None:
    conn.execute(text("UPDATE subscription SET last_digest_at = :t WHERE id = ANY(:i)"),
                 {"t": at, "i": list(subscription_ids)})


def kern(conn: Connection, code: str) -> Any | None:
    """Code, name and gemeente of a kern, or None."""
    return conn.execute(text("SELECT code, name, gemeente_code FROM kern WHERE code = :c"),
                        {"c": code}).first()


def gemeente(conn: Connection, code: str) -> Any | None:
    return conn.execute(text("SELECT code, name FROM gemeente WHERE code = :c"),
                        {"c": code}).first()


def gemeenten(conn: Connection, codes: Sequence[str] | None) -> list[Any]:
    """Code and name of the given gemeenten (all when None), by name."""
    if codes is None:
        return list(conn.execute(text("SELECT code, name FROM gemeente ORDER BY name")))
    return list(conn.execute(text("SELECT code, name FROM gemeente WHERE code = ANY(:c) "
                                  "ORDER BY name"), {"c": list(codes)}))


def kernen(conn: Connection, gemeente_codes: Sequence[str] | None) -> list[Any]:
    """Code, name and gemeente name of the kernen of the given gemeenten (all when None)."""
    where = "" if gemeente_codes is None else "WHERE k.gemeente_code = ANY(:c) "
    return list(conn.execute(text(
        "SELECT k.code, k.name, g.name AS gemeente_name FROM kern k "
        "JOIN gemeente g ON g.code = k.gemeente_code " + where + "ORDER BY g.name, k.name"),
        {"c": list(gemeente_codes or [])}))
