"""What residents miss in their kern (needs, behoeften), moderated by the gemeente's editors,
and the support ("ik heb dit ook nodig", "ik wil helpen") on needs and on plans: one count per
browser, kept only as an HMAC of a random cookie token and the target."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ..config import Settings
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..models import Need
from ..models.voice import NEED_STATUSES, SUPPORT_KINDS
from ..queries import accounts as accounts_q
from ..queries import needs as q
from . import auth
from .auth import CurrentUser
from .submissions import FieldError, FieldErrors, clean_text, is_bot

# Five needs per client, then one every twelve minutes (as submissions).
NEED_LIMIT = (5.0, 5 / 3600)
# Thirty clicks per client, then one every two minutes: a household shares one address.
SUPPORT_LIMIT = (30.0, 30 / 3600)
TEXT_MIN, TEXT_MAX = 10, 500
# Retention (see docs/PRIVACY.md).
KEEP_REJECTED = timedelta(days=180)
KEEP_PENDING = timedelta(days=365)
KEEP_BUCKETS = timedelta(days=1)
# What the poster must not put in a public text: e-mail addresses and phone numbers (nine or
# more digits, with spaces, dots, dashes or brackets between them; a postcode has four).
_EMAIL = re.compile(r"[\w.%+'-]+@[\w-]+(?:\.[\w-]+)+"
                    # and written out to get past filters: jan (at) example (punt) nl
                    r"|[\w.%+'-]+\s*[(\[]\s*at\s*[)\]]\s*[\w-]+"
                    r"(?:\s*(?:\.|[(\[]\s*(?:dot|punt)\s*[)\]])\s*[A-Za-z]{2,})+",
                    re.IGNORECASE)
_PHONE = re.compile(r"(?:\+|\b)\d(?:[\s.()/-]{0,3}\d){8,}")
VOTER_TOKEN_BYTES = 24
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")


class RateLimited(auth.TooManyRequests):
    """Too many needs or supports from one client."""


def personal_data(text: str) -> str | None:
    """'email' or 'phone' when the text holds one, else None."""
    if _EMAIL.search(text):
        return "email"
    if _PHONE.search(text):
        return "phone"
    return None


# --- posting a need --------------------------------------------------------------------------

def _check(s: Session, form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, FieldError]]:
    errors: dict[str, FieldError] = {}
    conn = s.connection()
    categories = q.term_ids(conn, "category", top_only=True)
    audiences = q.term_ids(conn, "audience", top_only=False)
    category = clean_text(form.get("category"))
    audience = clean_text(form.get("audience"))
    text = re.sub(r"[ \t]+", " ", clean_text(form.get("text")))
    if not category:
        errors["category"] = FieldError("required")
    elif category not in categories:
        errors["category"] = FieldError("choice")
    if audience and audience not in audiences:
        errors["audience"] = FieldError("choice")
    if not text:
        errors["text"] = FieldError("required")
    elif len(text) < TEXT_MIN:
        errors["text"] = FieldError("too_short", {"min": TEXT_MIN})
    elif len(text) > TEXT_MAX:
        errors["text"] = FieldError("too_long", {"max": TEXT_MAX})
    elif (found := personal_data(text)) is not None:
        errors["text"] = FieldError(f"personal_{found}")
    values = {"category_id": categories.get(category), "text": text,
              "audience_id": audiences.get(audience) if audience else None}
    return values, errors


def _take(s: Session, scope: str, client: str, limit: tuple[float, float], secret: str,
          now: datetime) -> None:
    if not auth.take(s, secret, scope, client, limit, now):
        s.rollback()
        raise RateLimited("too many requests from this connection; try again later")


def kern_or_404(s: Session, kern_code: str) -> Any:
    """The kern with its gemeente; NotFound (field 'code') when unknown."""
    if len(kern_code) > 80 or not kern_code.isprintable():
        raise NotFound("no such kern", "code")
    kern = q.kern_gemeente(s.connection(), kern_code)
    if kern is None:
        raise NotFound(f"no kern with code '{kern_code}'", "code")
    return kern


def post_need(s: Session, kern_code: str, form: Mapping[str, Any], client: str,
              settings: Settings, now: datetime | None = None) -> uuid.UUID | None:
    """Validate and store a need as pending; None for a caught bot. Raises FieldErrors or
    RateLimited. Nothing about the poster is stored."""
    now = now or auth.utcnow()
    kern_or_404(s, kern_code)
    if is_bot(form):
        _take(s, "need", client, NEED_LIMIT, settings.secret_key, now)
        s.commit()
        return None
    values, errors = _check(s, form)
    if errors:
        raise FieldErrors(errors)
    _take(s, "need", client, NEED_LIMIT, settings.secret_key, now)
    need = Need(id=uuid.uuid4(), kern_code=kern_code, status="pending", created_at=now,
                **values)
    s.add(need)
    q.delete_stale_pending(s.connection(), now - KEEP_PENDING)
    accounts_q.purge_buckets(s.connection(), now - KEEP_BUCKETS)
    s.commit()
    return need.id


# --- what a kern page shows ------------------------------------------------------------------

def need_dict(row: Any) -> dict[str, Any]:
    """A need as shown to everyone: no poster, no reason, no moderation details."""
    return {"id": str(row.id), "kern": row.kern_code, "text": row.text, "status": row.status,
            "category": {"code": row.category, "name": row.category_name,
                         "name_en": row.category_name_en},
            "audience": ({"code": row.audience, "name": row.audience_name,
                          "name_en": row.audience_name_en} if row.audience else None),
            "created_at": row.created_at.date().isoformat(),
            "support": {"need": row.need_count, "help": row.help_count}}


def plan_dict(row: Any) -> dict[str, Any]:
    """A plan (a service with status 'proposed') with its support."""
    return {"id": str(row.id), "name": row.name, "description": row.description,
            "kind": row.kind, "status": "proposed",
            "support": {"need": row.need_count, "help": row.help_count}}


def kern_voice(s: Session, kern_code: str, show_demo: bool) -> dict[str, Any]:
    """Approved needs, recently resolved ones and plans of a kern, with their support."""
    conn = s.connection()
    needs = q.kern_needs(conn, kern_code, {"approved": 100, "resolved": 20})
    return {"needs": [need_dict(r) for r in needs["approved"]],
            "resolved": [need_dict(r) for r in needs["resolved"]],
            "plans": [plan_dict(r) for r in q.kern_plans(conn, kern_code, show_demo)]}


def plan_support(s: Session, service_id: uuid.UUID) -> dict[str, int] | None:
    """The support of a plan; None when the service is not a plan."""
    row = q.service_status(s.connection(), service_id)
    if row is None or row.status != "proposed":
        return None
    return q.support_counts(s.connection(), service_id=service_id)


# --- support -----------------------------------------------------------------------------------

def new_voter_token() -> str:
    """A random token for the voter cookie (192 bits)."""
    return secrets.token_urlsafe(VOTER_TOKEN_BYTES)


def valid_voter_token(token: str | None) -> bool:
    """True for a token this site could have made."""
    return bool(token) and _TOKEN.fullmatch(token or "") is not None


def voter_hash(secret: str, token: str, target: str) -> str:
    """HMAC-SHA256 of the browser's token and the target under the app's secret: the same
    browser gets the same hash for one target, and hashes of two targets cannot be linked."""
    return hmac.new(secret.encode(), f"support\x00{token}\x00{target}".encode(),
                    hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Supported:
    """The outcome of a support click: whether it counted, and the counts now."""

    counted: bool
    counts: dict[str, int]
    kern_code: str | None = None


def _kind(kind: str) -> str:
    if kind not in SUPPORT_KINDS:
        raise InvalidInput(f"'kind' must be one of {', '.join(SUPPORT_KINDS)}", "kind")
    return kind


def support_need(s: Session, need_id: uuid.UUID, kind: str, token: str, client: str,
                 settings: Settings, now: datetime | None = None) -> Supported:
    """Count this browser's support on an approved need (once per kind)."""
    now = now or auth.utcnow()
    _kind(kind)
    row = q.need_row(s.connection(), need_id)
    if row is None or row.status in ("pending", "rejected"):
        raise NotFound(f"no need with id {need_id}", "id")
    if row.status != "approved":
        raise Conflict("this need has been resolved; it takes no more support", "id")
    _take(s, "support", client, SUPPORT_LIMIT, settings.secret_key, now)
    counted = q.add_support(s.connection(), need_id=need_id, service_id=None, kind=kind,
                            voter_hash=voter_hash(settings.secret_key, token, f"need:{need_id}"),
                            now=now)
    counts = q.support_counts(s.connection(), need_id=need_id)
    s.commit()
    return Supported(counted, counts, row.kern_code)


def support_plan(s: Session, service_id: uuid.UUID, kind: str, token: str, client: str,
                 settings: Settings, now: datetime | None = None) -> Supported:
    """Count this browser's support on a plan (a service with status 'proposed')."""
    now = now or auth.utcnow()
    _kind(kind)
    row = q.service_status(s.connection(), service_id)
    if row is None or (row.is_demo and not settings.show_demo):
        raise NotFound(f"no initiative with id {service_id}", "id")
    if row.status != "proposed":
        raise Conflict("only plans (status proposed) gather support", "id")
    _take(s, "support", client, SUPPORT_LIMIT, settings.secret_key, now)
    counted = q.add_support(s.connection(), need_id=None, service_id=service_id, kind=kind,
                            voter_hash=voter_hash(settings.secret_key, token,
                                                  f"service:{service_id}"), now=now)
    counts = q.support_counts(s.connection(), service_id=service_id)
    s.commit()
    return Supported(counted, counts)


# --- moderation ------------------------------------------------------------------------------

def _scope(user: CurrentUser) -> list[str] | None:
    return None if user.is_admin else sorted(user.gemeenten)


def queue(s: Session, user: CurrentUser, status: str = "pending") -> dict[str, Any]:
    """Needs with this status in the editor's gemeenten."""
    auth.require_moderator(user)
    if status not in NEED_STATUSES:
        raise InvalidInput(f"unknown status '{status}'", "status")
    return {"rows": q.queue(s.connection(), _scope(user), status)}


def pending_count(s: Session, user: CurrentUser) -> int:
    """How many needs wait in the editor's gemeenten."""
    return q.pending_count(s.connection(), _scope(user))


DECISIONS: dict[str, tuple[str, ...]] = {
    # decision -> the statuses it may follow
    "approved": ("pending",), "rejected": ("pending",), "resolved": ("approved",),
    "reopened": ("resolved",),
}


def decide(s: Session, user: CurrentUser, need_id: uuid.UUID, decision: str,
           reason: str | None, now: datetime | None = None) -> str:
    """Approve, reject (with a reason), resolve or reopen a need; returns its new status."""
    now = now or auth.utcnow()
    auth.require_moderator(user)
    if decision not in DECISIONS:
        raise FieldErrors({"decision": FieldError("choice")})
    need = q.need_for_update(s, need_id)
    if need is None:
        raise NotFound(f"no need with id {need_id}", "id")
    kern = q.kern_gemeente(s.connection(), need.kern_code)
    if not user.covers([kern.gemeente_code]):
        raise Forbidden("this need lies outside your gemeenten", "id")
    if need.status not in DECISIONS[decision]:
        raise Conflict(f"a need that is {need.status} cannot be {decision}", "decision")
    reason = clean_text(reason)[:500] or None
    if decision == "rejected" and not reason:
        raise FieldErrors({"reason": FieldError("reason")})
    need.status = "approved" if decision == "reopened" else decision
    need.reason = reason if decision in ("rejected", "resolved") else need.reason
    need.decided_at, need.decided_by = now, user.id
    s.commit()
    return need.status


def purge_expired(s: Session, now: datetime | None = None) -> dict[str, int]:
    """Retention of needs (docs/PRIVACY.md); the caller commits."""
    now = now or auth.utcnow()
    conn = s.connection()
    return {"rejected_needs_deleted": q.delete_decided(conn, "rejected", now - KEEP_REJECTED),
            "stale_pending_needs_deleted": q.delete_stale_pending(conn, now - KEEP_PENDING)}
