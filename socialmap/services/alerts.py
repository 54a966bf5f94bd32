"""Alerts for area teams: follow a kern or a gemeente, an Atom feed per subscription by a secret
token (only its SHA-256 is kept), and digest e-mails through the configured SMTP server.

What a feed or digest shows: initiatives of the followed kernen that are new, changed,
archived or brought back (from the change log), and needs approved there. It names fields,
never their values, except an initiative's name and status: contacts, phones and addresses
(private ones included) stay behind the link, which for staff leads to the internal view that
checks the reader's rights again. A feed answers only while its user is active and the
followed place lies in the user's gemeenten (admins: anywhere).
"""
from __future__ import annotations

import re
import secrets
import smtplib
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy.orm import Session

from .. import atom
from ..config import Settings
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..models.voice import DIGESTS
from ..queries import alerts as q
from . import auth
from .auth import CurrentUser

FEED_DAYS = 30
FEED_LIMIT = 100
DIGEST_LIMIT = 200
PERIODS: dict[str, timedelta] = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
# A digest run by cron a few minutes early still counts as due.
DIGEST_SLACK = timedelta(minutes=30)
DIGEST_LABELS: dict[str, str] = {"none": "geen e-mail", "daily": "elke dag",
                                 "weekly": "elke week"}
STATUS_WORDS: dict[str, str] = {
    "active": "actief", "temporarily closed": "tijdelijk gesloten", "inactive": "niet actief",
    "defunct": "opgeheven", "proposed": "plan",
}
# What the feed names when a field or a related record changed; values are never shown.
FIELD_WORDS: dict[str, str] = {
    "name": "naam", "alternate_name": "andere naam", "description": "beschrijving",
    "kind": "soort", "status": "status", "url": "website", "email": "e-mail",
    "fees_description": "kosten", "eligibility_description": "voor wie",
    "accessibility": "toegankelijkheid", "schedule_note": "openingstijden (toelichting)",
    "assured_date": "gecontroleerd", "assurer": "gecontroleerd door",
    "organization_id": "organisatie", "source": "bron", "source_url": "bron",
}
ENTITY_WORDS: dict[str, str] = {
    "service_at_location": "plek", "service_area": "werkgebied", "attribute": "kenmerken",
    "schedule": "openingstijden", "contact": "contactpersonen", "phone": "telefoon",
    "funding": "financiering", "hsds_record": "HSDS-gegevens",
}
# Bookkeeping columns that change with every write and say nothing to a reader.
QUIET_FIELDS = frozenset({"version", "last_modified", "created_at", "updated_at"})
_GEMEENTE = re.compile(r"GM\d{4}")


def token_pair() -> tuple[str, str]:
    """A new secret feed token and its SHA-256 (hex), which is all that is stored."""
    token = secrets.token_urlsafe(32)
    return token, auth.token_hash(token)


@dataclass(frozen=True)
class Created:
    """A subscription just made or given a new token: the token is shown once."""

    id: uuid.UUID
    token: str


# --- managing subscriptions ----------------------------------------------------------------

def _require_staff(user: CurrentUser | None) -> CurrentUser:
    if user is None:
        raise auth.Unauthorized("sign in first")
    if user.role not in auth.PRIVATE_DATA_ROLES or user.needs_second_factor:
        raise Forbidden("only area teams, editors and admins may follow a place")
    return user


def _check_digest(digest: str) -> str:
    if digest not in DIGESTS:
        raise InvalidInput(f"'digest' must be one of: {', '.join(DIGESTS)}", "digest")
    return digest


def _target_gemeente(s: Session, kern: str | None, gemeente: str | None) -> str:
    """The gemeente of what is to be followed; 400 naming the field when wrong."""
    conn = s.connection()
    if bool(kern) == bool(gemeente):
        raise InvalidInput("follow either a 'kern' or a 'gemeente'", "kern")
    if kern:
        row = q.kern(conn, kern[:80])
        if row is None:
            raise InvalidInput(f"unknown kern '{kern[:80]}'", "kern")
        return str(row.gemeente_code)
    assert gemeente is not None
    if not _GEMEENTE.fullmatch(gemeente) or q.gemeente(conn, gemeente) is None:
        raise InvalidInput("'gemeente' must be the CBS code of a gemeente, like GM1640",
                           "gemeente")
    return gemeente


def subscribe(s: Session, user: CurrentUser | None, *, kern: str | None = None,
              gemeente: str | None = None, digest: str = "weekly") -> Created:
    """Follow a kern or a gemeente within the user's gemeenten (admins: any)."""
    user = _require_staff(user)
    digest = _check_digest(digest)
    target = _target_gemeente(s, kern or None, gemeente or None)
    if not user.covers([target]):
        raise Forbidden("this place lies outside your gemeenten", "kern" if kern else "gemeente")
    conn = s.connection()
    if q.exists_for(conn, user.id, kern or None, gemeente or None):
        raise Conflict("you already follow this place", "kern" if kern else "gemeente")
    token, hashed = token_pair()
    sub_id = q.insert(conn, user.id, kern or None, gemeente or None, hashed, digest)
    s.commit()
    return Created(sub_id, token)


def subscriptions(s: Session, user: CurrentUser | None) -> list[Any]:
    """The user's subscriptions with the names of what they follow."""
    user = _require_staff(user)
    return q.of_user(s.connection(), user.id)


def unsubscribe(s: Session, user: CurrentUser | None, subscription_id: uuid.UUID) -> None:
    """Stop following; the feed's token stops working with it."""
    user = _require_staff(user)
    if not q.delete(s.connection(), subscription_id, user.id):
        raise NotFound("no such subscription of yours", "id")
    s.commit()


def rotate(s: Session, user: CurrentUser | None, subscription_id: uuid.UUID) -> Created:
    """A new feed token; the old one stops working at once."""
    user = _require_staff(user)
    token, token_hash = token_pair()
    if not q.set_token(s.connection(), subscription_id, user.id, token_hash):
        raise NotFound("no such subscription of yours", "id")
    s.commit()
    return Created(subscription_id, token)


def set_digest(s: Session, user: CurrentUser | None, subscription_id: uuid.UUID,
               digest: str) -> None:
    """Change how often the digest e-mail comes (daily, weekly or none)."""
    user = _require_staff(user)
    digest = _check_digest(digest)
    if not q.set_digest(s.connection(), subscription_id, user.id, digest):
        raise NotFound("no such subscription of yours", "id")
    s.commit()


def choices(s: Session, user: CurrentUser | None) -> dict[str, list[Any]]:
    """The gemeenten and kernen the user may follow."""
    user = _require_staff(user)
    scope = None if user.is_admin else sorted(user.gemeenten)
    conn = s.connection()
    return {"gemeenten": q.gemeenten(conn, scope), "kernen": q.kernen(conn, scope)}


# --- what changed --------------------------------------------------------------------------

def place_name(sub: Any) -> str:
    """'Meers (Stein)' or 'gemeente Leudal'."""
    if sub.kern_code:
        return f"{sub.kern_name} ({sub.gemeente_name})"
    return f"gemeente {sub.gemeente_name}"


def in_scope(sub: Any) -> bool:
    """Whether the subscriber may still read about this place."""
    if not sub.is_active or sub.role not in auth.PRIVATE_DATA_ROLES:
        return False
    return sub.role == "admin" or sub.target_gemeente in set(sub.user_gemeenten)


def _what_changed(row: Any) -> str:
    words = [FIELD_WORDS.get(f, f.replace("_", " ")) for f in row.fields
             if f not in QUIET_FIELDS]
    words += [ENTITY_WORDS[e] for e in row.entity_types if e in ENTITY_WORDS]
    words = list(dict.fromkeys(words))
    status = f"Status nu: {STATUS_WORDS.get(row.status, row.status)}."
    if not words:
        return status
    return f"Gewijzigd: {', '.join(words)}. {status}"


def _change_entry(row: Any, site: str, staff: bool) -> atom.Entry:
    name = row.name
    if row.created:
        title, summary = f"Nieuw: {name}", f"Nieuw in de kaart. {_what_changed(row)}"
    elif row.archived:
        title, summary = f"Gearchiveerd: {name}", "Van de kaart gehaald (gearchiveerd)."
    elif row.unarchived:
        title, summary = f"Teruggezet: {name}", f"Weer op de kaart. {_what_changed(row)}"
    else:
        title, summary = f"Gewijzigd: {name}", _what_changed(row)
    path = f"/initiatief/{row.service_id}" + ("/intern" if staff else "")
    return atom.Entry(id=f"urn:socialmap:change:{row.service_id}:{row.txid}", title=title,
                      updated=row.changed_at, link=site + path, summary=summary)


def _need_entry(row: Any, site: str) -> atom.Entry:
    return atom.Entry(id=f"urn:socialmap:need:{row.id}",
                      title=f"Nieuwe behoefte in {row.kern_name}: {row.category.lower()}",
                      updated=row.decided_at, link=f"{site}/kern/{row.kern_code}",
                      summary=row.text)


def entries(s: Session, sub: Any, since: datetime, settings: Settings,
            limit: int) -> list[atom.Entry]:
    """What changed in the subscription's place after `since`, newest first."""
    conn = s.connection()
    site = settings.site_url.rstrip("/")
    staff = sub.role in auth.PRIVATE_DATA_ROLES
    rows = q.changes(conn, kern=sub.kern_code, gemeente=sub.gemeente_code, since=since,
                     include_demo=settings.show_demo, limit=limit)
    needs = q.approved_needs(conn, kern=sub.kern_code, gemeente=sub.gemeente_code,
                             since=since, limit=limit)
    out = [_change_entry(r, site, staff) for r in rows] + [_need_entry(r, site) for r in needs]
    out.sort(key=lambda e: e.updated, reverse=True)
    return out[:limit]


def _by_token(s: Session, token: str | None) -> Any:
    if not token or len(token) > 200:
        raise NotFound("no feed with this token", "token")
    sub = q.by_token_hash(s.connection(), auth.token_hash(token))
    if sub is None or not sub.is_active:
        raise NotFound("no feed with this token", "token")
    if not in_scope(sub):
        raise Forbidden("this feed's place is no longer in your gemeenten", "token")
    return sub


def feed(s: Session, token: str | None, settings: Settings, self_url: str,
         now: datetime | None = None) -> atom.Feed:
    """The Atom feed of a subscription by its secret token: the last 30 days."""
    now = now or auth.utcnow()
    sub = _by_token(s, token)
    items = entries(s, sub, now - timedelta(days=FEED_DAYS), settings, FEED_LIMIT)
    site = settings.site_url.rstrip("/")
    alternate = (f"{site}/kern/{sub.kern_code}" if sub.kern_code
                 else f"{site}/kwetsbaar?area={sub.gemeente_code}")
    return atom.Feed(id=f"urn:uuid:{sub.id}", title=f"Wat er verandert in {place_name(sub)}",
                     updated=items[0].updated if items else sub.created_at,
                     self_url=self_url, alternate_url=alternate, author="socialmap",
                     entries=items)


# --- digest e-mails ------------------------------------------------------------------------

class SmtpNotConfigured(Exception):
    """SOCIALMAP_SMTP_HOST is empty: digests are not sent."""


@dataclass
class DigestReport:
    due: int = 0
    sent: int = 0
    empty: int = 0
    skipped: int = 0  # users out of scope
    recipients: list[str] = field(default_factory=list)


def digest_message(sub: Any, items: Sequence[atom.Entry], since: datetime,
                   settings: Settings) -> EmailMessage:
    """A plain-text Dutch digest of what changed in the subscription's place."""
    site = settings.site_url.rstrip("/")
    msg = EmailMessage()
    msg["Subject"] = f"Wat er veranderde in {place_name(sub)}"
    msg["From"] = settings.smtp_from
    msg["To"] = sub.email
    lines = [f"Beste {sub.display_name},", "",
             f"Sinds {since.strftime('%d-%m-%Y %H:%M')} (UTC) veranderde dit in "
             f"{place_name(sub)}:", ""]
    for item in items:
        lines += [f"- {item.title} ({item.updated.strftime('%d-%m-%Y')})",
                  f"  {item.summary}", f"  {item.link}", ""]
    lines += ["U krijgt dit bericht omdat u deze plek volgt op socialmap "
              f"({DIGEST_LABELS.get(sub.digest, sub.digest)}).",
              f"Volgen, de samenvatting of afmelden regelt u op {site}/volgen"]
    msg.set_content("\n".join(lines))
    return msg


@contextmanager
def smtp_connection(settings: Settings) -> Iterator[smtplib.SMTP]:
    """A connection to the configured SMTP server (STARTTLS and login when set)."""
    if not settings.smtp_host:
        raise SmtpNotConfigured("SOCIALMAP_SMTP_HOST is not set")
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        yield smtp


def send_digests(s: Session, settings: Settings, now: datetime | None = None,
                 connect: Callable[[Settings], Any] = smtp_connection) -> DigestReport:
    """Send every due digest (daily ones after a day, weekly after a week), each with what
    changed since the previous one; a subscription with nothing new gets no mail but its
    window moves on. Raises SmtpNotConfigured, before anything is read, without a server."""
    if not settings.smtp_host:
        raise SmtpNotConfigured("SOCIALMAP_SMTP_HOST is not set")
    now = now or auth.utcnow()
    conn = s.connection()
    due = [sub for digest, period in PERIODS.items()
           for sub in q.due_for_digest(conn, digest, now - period + DIGEST_SLACK)]
    report = DigestReport(due=len(due))
    if not due:
        return report
    with connect(settings) as smtp:
        for sub in due:
            if not in_scope(sub):
                report.skipped += 1
                continue
            since = sub.last_digest_at or sub.created_at
            items = entries(s, sub, since, settings, DIGEST_LIMIT)
            if items:
                smtp.send_message(digest_message(sub, items, since, settings))
                report.sent += 1
                report.recipients.append(sub.email)
            else:
                report.empty += 1
            # Marked one by one, so that a failure halfway does not send the first ones twice.
            q.mark_digest(s.connection(), [sub.id], now)
            s.commit()
    return report
