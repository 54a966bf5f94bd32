"""The history of an initiative from the change log, and restoring an earlier version."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ..db import set_actor
from ..errors import InvalidInput, NotFound
from ..queries import history as q
from ..queries import initiatives as initiatives_q
from . import auth
from .auth import CurrentUser
from .moderation import EDIT_FIELDS, flush_or_conflict, lock_service

SOURCE_RESTORE = "restore"
# Columns not worth a line in the history (ids, computed or internal).
HIDDEN_KEYS = frozenset({"id", "service_id", "search_vector", "created_at", "last_modified",
                         "version"})


@dataclass
class Entry:
    """One line of a version: what changed in which record."""

    entity_type: str
    entity_id: str
    action: str
    field: str | None
    old: Any
    new: Any


@dataclass
class Version:
    """All changes of one transaction: who, when, through what."""

    txid: int
    last_id: int
    changed_at: datetime
    changed_by: str
    source: str
    entries: list[Entry] = field(default_factory=list)

    @property
    def restorable(self) -> bool:
        """True when the version touched the initiative's own fields."""
        return any(e.entity_type == "service" for e in self.entries)


def _summary(values: dict[str, Any] | None, terms: dict[str, str]) -> dict[str, Any]:
    """The interesting values of a created or deleted row, with term ids named."""
    out: dict[str, Any] = {}
    for key, value in (values or {}).items():
        if key in HIDDEN_KEYS or value in (None, "", False):
            continue
        if key == "taxonomy_term_id":
            out["term"] = terms.get(str(value), value)
        elif key == "geom" and isinstance(value, dict):
            coords = value.get("coordinates") or []
            out["geom"] = "RD " + ", ".join(f"{c:.0f}" for c in coords)
        else:
            out[key] = value
    return out


def history(s: Session, user: CurrentUser, service_id: uuid.UUID) -> dict[str, Any]:
    """The initiative's versions, newest first, each with its field-level changes."""
    auth.require_service_scope(s, user, service_id)
    conn = s.connection()
    row = initiatives_q.service_row(conn, service_id)
    if row is None:
        raise NotFound(f"no initiative with id {service_id}", "id")
    terms = q.term_labels(conn)
    versions: list[Version] = []
    by_tx: dict[tuple[int, str, str], Version] = {}
    for r in q.changes(conn, service_id):
        key = (r.txid, r.changed_by, r.source)  # one transaction has one actor and source
        version = by_tx.get(key)
        if version is None:
            version = Version(r.txid, r.id, r.changed_at, r.changed_by, r.source)
            by_tx[key] = version
            versions.append(version)
        version.changed_at = min(version.changed_at, r.changed_at)
        old, new = r.old_value, r.new_value
        if r.action != "update":
            old, new = _summary(old, terms) or None, _summary(new, terms) or None
        version.entries.append(Entry(r.entity_type, str(r.entity_id), r.action, r.field, old,
                                     new))
    for version in versions:
        version.entries.reverse()
    return {"id": str(row.id), "name": row.name, "version": row.version, "status": row.status,
            "mark": versions[0].last_id if versions else 0, "versions": versions,
            "archive": q.archive_row(conn, service_id)}


def values_after(s: Session, service_id: uuid.UUID, last_id: int,
                 current: dict[str, Any]) -> dict[str, Any]:
    """The editable fields right after change `last_id`: later updates undone, newest first."""
    values = dict(current)
    for r in q.service_updates_after(s.connection(), service_id, last_id):
        if r.field in values:
            values[r.field] = r.old_value
    return values


def restore(s: Session, user: CurrentUser, service_id: uuid.UUID, upto: int,
            version: int | None, mark: int) -> list[str]:
    """Put the fields back as they were right after change `upto`, as a new logged change."""
    auth.require_service_scope(s, user, service_id)
    if not q.change_belongs(s.connection(), service_id, upto):
        raise InvalidInput("this version does not belong to the initiative", "upto")
    last_id = upto
    svc = lock_service(s, service_id, version, mark)
    current = {f: getattr(svc, f) for f in EDIT_FIELDS}
    target = values_after(s, service_id, last_id, current)
    if q.archive_row(s.connection(), service_id) is not None:
        target["status"] = current["status"]
    changed = [f for f in EDIT_FIELDS if target[f] != current[f]]
    if not changed:
        s.rollback()
        return []
    set_actor(s, user.actor, SOURCE_RESTORE)
    for name in changed:
        setattr(svc, name, target[name])
    flush_or_conflict(s, service_id, mark)
    s.commit()
    return changed
