"""Residents' submissions: a new initiative or a change to one, validated, rate-limited, kept
out of sight until an editor decides, and followed by the submitter through a reference."""
from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from .. import geocode
from ..config import Settings
from ..errors import InvalidInput, NotFound
from ..geo import to_wgs84
from ..models import Submission, SubmissionField
from ..queries import accounts as accounts_q
from ..queries import funding as funding_q
from ..queries import initiatives as initiatives_q
from ..queries import registry as registry_q
from ..queries import submissions as q
from ..vocab import KINDS
from . import auth

# Five submissions per client, then one every twelve minutes.
SUBMIT_LIMIT = (5.0, 5 / 3600)
# Retention (see docs/PRIVACY.md).
KEEP_SUBMITTER = timedelta(days=90)
KEEP_REJECTED = timedelta(days=180)
KEEP_PENDING = timedelta(days=365)
KEEP_BUCKETS = timedelta(days=1)

TEXT_LIMITS: dict[str, tuple[int, int]] = {
    "name": (3, 120), "alternate_name": (0, 120), "description": (10, 2000),
    "schedule_note": (0, 500), "fees_description": (0, 300),
    "eligibility_description": (0, 500), "accessibility": (0, 500), "address": (0, 120),
    "submitter_name": (0, 100), "note": (0, 1000), "funding_source": (0, 200),
}
NEW_FIELDS: tuple[str, ...] = ("name", "kind", "description", "categories", "audiences",
                               "location", "schedule_note", "fees_description", "url", "email",
                               "phone", "funding_source", "funding_ends_on")
NEW_REQUIRED: tuple[str, ...] = ("name", "kind", "description", "location")
CHANGE_FIELDS: tuple[str, ...] = ("name", "description", "schedule_note", "fees_description",
                                  "eligibility_description", "accessibility", "url", "email",
                                  "status")
# What a resident may say about the status of an initiative.
SUGGESTED_STATUSES: tuple[str, ...] = ("active", "temporarily closed", "defunct")
PRECISION_OF_PLACE = {"kern": "kern", "pc4": "pc4", "point": "address", "address": "address"}

_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{7,18}[0-9]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class FieldError:
    """Why one field was refused: a code and what the message needs (min, max ...)."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)


class FieldErrors(InvalidInput):
    """Several fields were refused; `errors` maps each to its reason."""

    def __init__(self, errors: dict[str, FieldError]) -> None:
        first = next(iter(errors))
        super().__init__(f"{len(errors)} field(s) are not right: {', '.join(errors)}", first,
                         fields={k: v.code for k, v in errors.items()})
        self.errors = errors


class RateLimited(auth.TooManyRequests):
    """Too many submissions from one client."""


def clean_text(value: Any) -> str:
    """Trimmed NFC text without control characters (line breaks are kept)."""
    text = unicodedata.normalize("NFC", str(value or "")).replace("\r\n", "\n")
    return _CONTROL.sub("", text).strip()


def ref_hash(ref: str) -> str:
    """SHA-256 of a reference, as stored."""
    return hashlib.sha256(ref.encode()).hexdigest()


def new_ref() -> str:
    """An unguessable reference (144 random bits), shown once to the submitter."""
    return secrets.token_urlsafe(18)


class Checker:
    """Collects cleaned values and field errors of one form."""

    def __init__(self, form: Mapping[str, Any]) -> None:
        self.form = form
        self.values: dict[str, Any] = {}
        self.errors: dict[str, FieldError] = {}

    def text(self, name: str, required: bool = False) -> str | None:
        """Clean text within the field's length limits."""
        value = clean_text(self.form.get(name))
        low, high = TEXT_LIMITS[name]
        if not value:
            if required:
                self.errors[name] = FieldError("required")
            return None
        if len(value) < low:
            self.errors[name] = FieldError("too_short", {"min": low})
        elif len(value) > high:
            self.errors[name] = FieldError("too_long", {"max": high})
        return value

    def choice(self, name: str, options: Any, required: bool = False) -> str | None:
        """One of the options."""
        value = clean_text(self.form.get(name))
        if not value:
            if required:
                self.errors[name] = FieldError("required")
            return None
        if value not in options:
            self.errors[name] = FieldError("choice")
        return value

    def email(self, name: str) -> str | None:
        """An e-mail address, lower case."""
        value = clean_text(self.form.get(name)).lower()
        if not value:
            return None
        if len(value) > 200 or not _EMAIL.fullmatch(value):
            self.errors[name] = FieldError("email")
        return value

    def url(self, name: str) -> str | None:
        """An http(s) web address; 'www.x.nl' gets https:// in front."""
        value = clean_text(self.form.get(name))
        if not value:
            return None
        if "://" not in value and "." in value and " " not in value:
            value = "https://" + value
        parts = urlsplit(value)
        if (len(value) > 300 or parts.scheme not in ("http", "https") or "." not in parts.netloc
                or any(c.isspace() for c in value)):
            self.errors[name] = FieldError("url")
        return value

    def phone(self, name: str) -> str | None:
        """A phone number of 10 to 13 digits, as typed."""
        value = clean_text(self.form.get(name))
        if not value:
            return None
        digits = re.sub(r"\D", "", value)
        if not _PHONE.fullmatch(value) or not 10 <= len(digits) <= 13:
            self.errors[name] = FieldError("phone")
        return value

    def terms(self, name: str, known: set[str]) -> list[str]:
        """Known taxonomy codes, at most ten."""
        raw = self.form.get(name) or []
        codes = sorted({clean_text(c) for c in (raw if isinstance(raw, list) else [raw]) if c})
        if any(c not in known for c in codes) or len(codes) > 10:
            self.errors[name] = FieldError("choice")
        return codes


def _place_location(s: Session, form: Mapping[str, Any], settings: Settings,
                    check: Checker) -> dict[str, Any] | None:
    """Where the initiative is: a point picked on the map, else the place or postcode typed."""
    private = str(form.get("at_home") or "") in ("1", "on", "true", "ja")
    address = check.text("address")
    lat, lon = clean_text(form.get("lat")), clean_text(form.get("lon"))
    place_text = clean_text(form.get("place"))
    placed: dict[str, Any] | None = None
    if lat and lon:
        try:
            point = registry_q.place_points(s.connection(), [(float(lon), float(lat))], 4326)[0]
        except ValueError:
            check.errors["place"] = FieldError("point")
            return None
        if point.kern_code is None:
            check.errors["place"] = FieldError("outside")
            return None
        placed = {"x": round(point.x, 2), "y": round(point.y, 2), "kern_code": point.kern_code,
                  "pc4": point.pc4, "precision": "address"}
    elif place_text:
        try:
            place = geocode.resolve(s, place_text, settings, field="place")
        except geocode.AmbiguousPlace:
            check.errors["place"] = FieldError("ambiguous")
            return None
        except geocode.PlaceNotFound:
            check.errors["place"] = FieldError("place_not_found")
            return None
        except geocode.GeocoderUnavailable:
            check.errors["place"] = FieldError("geocoder_unavailable")
            return None
        except InvalidInput:
            check.errors["place"] = FieldError("place_not_found")
            return None
        if place.kern_code is None:
            check.errors["place"] = FieldError("outside")
            return None
        placed = {"x": round(place.x, 2), "y": round(place.y, 2), "kern_code": place.kern_code,
                  "pc4": place.pc4, "precision": PRECISION_OF_PLACE[place.kind],
                  "place": place.label}
    else:
        check.errors["place"] = FieldError("required")
        return None
    kern = q.kern_with_gemeente(s.connection(), placed["kern_code"])
    lon_, lat_ = to_wgs84(placed["x"], placed["y"])
    placed.update(location_type="private" if private else "physical", address=address,
                  kern_name=kern["name"], gemeente_code=kern["gemeente_code"],
                  gemeente_name=kern["gemeente_name"], lon=round(lon_, 6), lat=round(lat_, 6))
    return placed


def _term_codes(s: Session) -> dict[str, set[str]]:
    by_facet: dict[str, set[str]] = {"category": set(), "audience": set()}
    for (facet, code) in registry_q.term_ids(s.connection()):
        by_facet.setdefault(facet, set()).add(code)
    return by_facet


def _submitter(check: Checker) -> tuple[str | None, str | None, str | None]:
    return check.text("submitter_name"), check.email("submitter_email"), check.text("note")


def _take_token(s: Session, client: str, secret: str, now: datetime) -> None:
    if not auth.take(s, secret, "submit", client, SUBMIT_LIMIT, now):
        s.rollback()
        raise RateLimited("too many submissions from this connection; try again later")


@dataclass(frozen=True)
class Received:
    """A stored submission: the reference to give the submitter (None for a caught bot)."""

    ref: str | None


def is_bot(form: Mapping[str, Any]) -> bool:
    """The honeypot: a field hidden from people that only robots fill in."""
    return bool(clean_text(form.get("homepage")))


def is_plan(form: Mapping[str, Any]) -> bool:
    """True when the resident says the initiative does not run yet (a plan)."""
    return clean_text(form.get("plan")) in ("1", "on", "true", "ja")


def submit_new(s: Session, form: Mapping[str, Any], client: str, settings: Settings,
               now: datetime | None = None) -> Received:
    """Validate and store a proposed initiative; raises FieldErrors or RateLimited."""
    now = now or auth.utcnow()
    if is_bot(form):
        _take_token(s, client, settings.secret_key, now)
        s.commit()
        return Received(None)
    check = Checker(form)
    terms = _term_codes(s)
    values: dict[str, Any] = {
        "name": check.text("name", required=True),
        "kind": check.choice("kind", KINDS, required=True),
        "description": check.text("description", required=True),
        "categories": check.terms("categories", terms["category"]),
        "audiences": check.terms("audiences", terms["audience"]),
        "location": _place_location(s, form, settings, check),
        "schedule_note": check.text("schedule_note"),
        "fees_description": check.text("fees_description"),
        "url": check.url("url"),
        "email": check.email("email"),
        "phone": check.phone("phone"),
        # Who pays and until when, as editors record funding (the funding table on approval).
        "funding_source": check.text("funding_source"),
        "funding_ends_on": _iso_date(check, "funding_ends_on"),
        # A plan that does not run yet becomes a service with status 'proposed'.
        "status": "proposed" if is_plan(form) else None,
    }
    if values["funding_ends_on"] and not values["funding_source"]:
        check.errors.setdefault("funding_source", FieldError("funding_source"))
    name, email, note = _submitter(check)
    if check.errors:
        raise FieldErrors(check.errors)
    location = values["location"]
    return _store(s, client, settings, now, kind="new", service_id=None,
                  gemeente_code=location["gemeente_code"], base_version=None,
                  fields={k: (v, None) for k, v in values.items() if v not in (None, [], "")},
                  submitter=(name, email, note))


def _store(s: Session, client: str, settings: Settings, now: datetime, *, kind: str,
           service_id: uuid.UUID | None, gemeente_code: str | None, base_version: int | None,
           fields: dict[str, tuple[Any, Any]], submitter: tuple[str | None, ...]) -> Received:
    _take_token(s, client, settings.secret_key, now)
    ref = new_ref()
    name, email, note = submitter
    sub = Submission(id=uuid.uuid4(), ref_hash=ref_hash(ref), kind=kind, service_id=service_id,
                     gemeente_code=gemeente_code, status="pending", base_version=base_version,
                     note=note, submitter_name=name, submitter_email=email, created_at=now)
    sub.fields = [SubmissionField(field=k, proposed=v, current=cur)
                  for k, (v, cur) in fields.items()]
    s.add(sub)
    q.delete_stale_pending(s.connection(), now - KEEP_PENDING)
    accounts_q.purge_buckets(s.connection(), now - KEEP_BUCKETS)
    s.commit()
    return Received(ref)


def change_form_values(s: Session, service_id: uuid.UUID) -> dict[str, Any]:
    """The public values a change suggestion starts from, with the record's version."""
    row = initiatives_q.service_row(s.connection(), service_id)
    if row is None:
        raise NotFound(f"no initiative with id {service_id}", "id")
    values = {f: getattr(row, f) for f in CHANGE_FIELDS}
    # The funding that ends first, as the editor's form shows it (funding is public data).
    fundings = funding_q.of_service(s.connection(), service_id)
    values["funding_source"] = fundings[0].source if fundings else None
    values["funding_ends_on"] = (fundings[0].ends_on.isoformat()
                                 if fundings and fundings[0].ends_on else None)
    return {"values": values, "version": row.version, "name": row.name, "status": row.status,
            "is_demo": row.is_demo}


def suggest_change(s: Session, service_id: uuid.UUID, form: Mapping[str, Any], client: str,
                   settings: Settings, now: datetime | None = None) -> Received:
    """Validate and store a suggested change to an existing initiative."""
    now = now or auth.utcnow()
    current = change_form_values(s, service_id)
    if is_bot(form):
        _take_token(s, client, settings.secret_key, now)
        s.commit()
        return Received(None)
    check = Checker(form)
    proposed: dict[str, Any] = {
        "name": check.text("name", required=True),
        "description": check.text("description"),
        "schedule_note": check.text("schedule_note"),
        "fees_description": check.text("fees_description"),
        "eligibility_description": check.text("eligibility_description"),
        "accessibility": check.text("accessibility"),
        "url": check.url("url"),
        "email": check.email("email"),
        "status": check.choice("status", SUGGESTED_STATUSES),
        "funding_source": check.text("funding_source"),
        "funding_ends_on": _iso_date(check, "funding_ends_on"),
    }
    if proposed["funding_ends_on"] and not (proposed["funding_source"]
                                            or current["values"]["funding_source"]):
        check.errors.setdefault("funding_source", FieldError("funding_source"))
    if proposed["status"] is None:  # not asked (an archived record): no change of status
        del proposed["status"]
    name, email, note = _submitter(check)
    if check.errors:
        raise FieldErrors(check.errors)
    old = current["values"]
    changed = {k: (v, old[k]) for k, v in proposed.items() if (v or None) != (old[k] or None)}
    if not changed:
        raise FieldErrors({"form": FieldError("unchanged")})
    gemeenten = sorted(accounts_q.service_gemeenten(s.connection(), service_id))
    return _store(s, client, settings, now, kind="change", service_id=service_id,
                  gemeente_code=gemeenten[0] if gemeenten else None,
                  base_version=current["version"], fields=changed,
                  submitter=(name, email, note))


FIELD_ORDER: tuple[str, ...] = ("name", "kind", "status", "description", "categories",
                                 "audiences", "location", "schedule_note",
                                 "eligibility_description", "fees_description", "accessibility",
                                 "url", "email", "phone", "funding_source", "funding_ends_on")
# Suggested funding goes to the funding table, not to a column of the service.
FUNDING_FIELDS: tuple[str, ...] = ("funding_source", "funding_ends_on")


def _iso_date(check: Checker, name: str) -> str | None:
    """A date as YYYY-MM-DD (what a date field sends; 31-12-2027 also), or a field error."""
    raw = clean_text(check.form.get(name))
    if not raw:
        return None
    m = re.fullmatch(r"(\d{1,2})-(\d{1,2})-(\d{4})", raw)
    try:
        day = (datetime(int(m.group(3)), int(m.group(2)), int(m.group(1))).date() if m
               else datetime.strptime(raw, "%Y-%m-%d").date())
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 2100:
        check.errors[name] = FieldError("date")
        return None
    return day.isoformat()


def in_form_order(fields: Any) -> list[Any]:
    """Submission fields in the order the form asks them."""
    return sorted(fields, key=lambda f: (FIELD_ORDER.index(f.field)
                                         if f.field in FIELD_ORDER else len(FIELD_ORDER),
                                         f.field))


def term_names(s: Session, field: str, codes: list[str]) -> list[str]:
    """The names of proposed category or audience codes (a code when unknown)."""
    facet = "category" if field == "categories" else "audience"
    names = q.term_names(s.connection(), facet)
    return [names.get(c, c) for c in codes]


def status(s: Session, ref: str) -> dict[str, Any]:
    """What the submitter may see of their submission: state, decisions and reasons."""
    if not ref or len(ref) > 64:
        raise NotFound("no submission with this reference", "ref")
    sub = q.by_ref_hash(s, ref_hash(ref))
    if sub is None:
        raise NotFound("no submission with this reference", "ref")
    fields = []
    for f in in_form_order(sub.fields):
        proposed = f.proposed
        if f.field == "location" and isinstance(proposed, dict):
            proposed = public_location(proposed)
        elif f.field in ("categories", "audiences"):
            proposed = term_names(s, f.field, proposed)
        fields.append({"field": f.field, "proposed": proposed, "decision": f.decision,
                       "reason": f.reason})
    return {"kind": sub.kind, "status": sub.status, "created_at": sub.created_at,
            "decided_at": sub.decided_at, "service_id": str(sub.service_id)
            if sub.service_id and sub.status in ("approved", "partial") else None,
            "fields": fields}


def public_location(loc: Mapping[str, Any]) -> dict[str, Any]:
    """A proposed location as the submitter's status page shows it: a private one only by kern."""
    shown = {k: loc.get(k) for k in ("location_type", "kern_name", "gemeente_name", "precision")}
    if loc.get("location_type") != "private":
        shown.update(address=loc.get("address"), place=loc.get("place"), pc4=loc.get("pc4"))
    return shown


def purge_expired(s: Session, now: datetime | None = None) -> dict[str, int]:
    """Apply the retention periods of docs/PRIVACY.md; the caller commits."""
    now = now or auth.utcnow()
    conn = s.connection()
    return {
        "submitter_details_cleared": q.purge_personal_data(conn, now - KEEP_SUBMITTER),
        "private_addresses_cleared": q.purge_private_addresses(conn, now),
        "rejected_deleted": q.delete_rejected(conn, now - KEEP_REJECTED),
        "stale_pending_deleted": q.delete_stale_pending(conn, now - KEEP_PENDING),
        "rate_buckets_deleted": accounts_q.purge_buckets(conn, now - KEEP_BUCKETS),
        "sessions_deleted": accounts_q.purge_sessions(s, now),
    }
