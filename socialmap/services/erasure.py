"""Removing a person's data on request: an admin names an e-mail address, phone number, name or
address; every record holding it loses it, and the change log keeps only that it was removed."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.orm import Session

from ..errors import InvalidInput
from ..queries import erasure as q
from . import auth
from .auth import CurrentUser

MIN_TERM = 5
# A needle this long is also removed where it sits inside a longer text.
MIN_CONTAINED = 8
REMOVED = "[verwijderd]"
_PHONE_LIKE = re.compile(r"[0-9 ()+.-]{8,}")


@dataclass(frozen=True)
class Needles:
    """What to look for: exact texts (any case), phone digits, and address fragments."""

    exact: frozenset[str]
    digits: frozenset[str] = frozenset()
    fragments: frozenset[str] = frozenset()

    def hit(self, value: str) -> bool:
        """True when the text is, or holds, one of the needles (short ones only exactly)."""
        low = value.strip().lower()
        if low in self.exact or any(f in low for f in self.fragments):
            return True
        if any(len(n) >= MIN_CONTAINED and n in low for n in self.exact):
            return True
        if _PHONE_LIKE.fullmatch(value.strip()):
            digits = re.sub(r"\D", "", value)
            return any(d in digits for d in self.digits)
        return False

    def texts(self) -> list[str]:
        """Every needle as text, for the database's first, rough filter."""
        return sorted(self.exact | self.fragments | self.digits)


@dataclass
class Report:
    """What an erasure found or removed."""

    term: str
    matches: list[dict[str, Any]] = field(default_factory=list)
    log_rows: int = 0
    done: bool = False


def _phone_digits(term: str) -> str | None:
    digits = re.sub(r"\D", "", term)
    return digits if len(digits) >= 8 and not re.search(r"[A-Za-z@]", term) else None


def _check(term: str) -> str:
    term = (term or "").strip()
    if len(term) < MIN_TERM or len(term) > 200:
        raise InvalidInput(f"give at least {MIN_TERM} characters", "term")
    return term


def scrub(value: Any, needles: Needles) -> tuple[Any, bool]:
    """The JSON value with every string that holds personal data replaced; and whether any was."""
    if isinstance(value, str):
        return (REMOVED, True) if needles.hit(value) else (value, False)
    if isinstance(value, list):
        pairs = [scrub(v, needles) for v in value]
        return [p[0] for p in pairs], any(p[1] for p in pairs)
    if isinstance(value, dict):
        out, changed = {}, False
        for k, v in value.items():
            out[k], hit = scrub(v, needles)
            changed = changed or hit
        return out, changed
    return value, False


def preview(s: Session, user: CurrentUser, term: str) -> Report:
    """What an erasure of `term` would remove (nothing is changed)."""
    auth.require_admin(user)
    term = _check(term)
    conn = s.connection()
    rows = _with_contacts(conn, q.matching_rows(conn, term.lower(), _phone_digits(term)))
    needles = _needles(term, rows)
    report = Report(term, [dict(r._mapping) for r in rows])
    report.log_rows = sum(1 for r in q.json_rows(conn, needles.texts(), sorted(needles.digits))
                          if scrub(r.value, needles)[1])
    return report


def _with_contacts(conn: Any, rows: list[Any]) -> list[Any]:
    """The matches plus everything else a matched contact holds (it goes whole)."""
    contacts = sorted({r.id for r in rows if r.tbl == "contact"})
    seen = {(r.tbl, r.id, r.col) for r in rows}
    extra = [r for r in q.matching_rows_of_contacts(conn, contacts)
             if (r.tbl, r.id, r.col) not in seen] if contacts else []
    return [*rows, *extra]


def _needles(term: str, rows: Iterable[Any]) -> Needles:
    exact = {term.lower()}
    digits = {d for d in [_phone_digits(term)] if d}
    fragments = set()
    for r in rows:
        if r.value:
            exact.add(str(r.value).strip().lower())
            if r.col == "number":
                digits.add(re.sub(r"\D", "", r.value))
    if not digits and "@" not in term:
        fragments.add(term.lower())  # an address or name may sit inside a longer text
    return Needles(frozenset(exact), frozenset(digits), frozenset(fragments))


def erase(s: Session, user: CurrentUser, term: str) -> Report:
    """Remove `term` and what is tied to it from every record and from the change log."""
    auth.require_admin(user)
    term = _check(term)
    conn = s.connection()
    # A contact goes whole, with its phones: what they held becomes a needle too.
    rows = _with_contacts(conn, q.matching_rows(conn, term.lower(), _phone_digits(term)))
    contacts = sorted({r.id for r in rows if r.tbl == "contact"})
    phones = sorted({r.id for r in rows if r.tbl == "phone"})
    needles = _needles(term, rows)
    services = {("contact", c): q.service_of(conn, "contact", c) for c in contacts}
    services.update({("phone", p): q.service_of(conn, "phone", p) for p in phones})

    q.audit(conn, on=False)
    q.delete_rows(conn, "phone", phones)
    q.delete_rows(conn, "contact", contacts)
    cleared: list[tuple[str, str, str]] = []
    for r in rows:
        if r.tbl in ("contact", "phone"):
            continue  # deleted whole above
        q.clear_column(conn, r.tbl, r.id, r.col)
        if r.tbl == "location" and r.col == "address":
            q.move_to_kern_point(conn, r.id)
        cleared.append((r.tbl, r.id, r.col))
    scrubbed = 0
    for r in q.json_rows(conn, needles.texts(), sorted(needles.digits)):
        value, hit = scrub(r.value, needles)
        if hit:
            q.set_json(conn, r.tbl, r.key, r.col, orjson.dumps(value).decode())
            scrubbed += 1
    q.audit(conn, on=True)

    for (table, row_id), service_id in services.items():
        q.log_erasure(conn, table, row_id, service_id, "delete", None, user.actor)
    for table, row_id, column in cleared:
        if table in ("service", "organization", "location"):
            q.log_erasure(conn, table, row_id, q.service_of(conn, table, row_id), "update",
                          column, user.actor)
    s.commit()
    report = Report(term, [dict(r._mapping) for r in rows], scrubbed, done=True)
    return report
