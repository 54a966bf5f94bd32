"""Editors' use cases: the queue, field-by-field decisions, edits under optimistic locking,
verification, the archive and the list of records not verified for a year."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from geoalchemy2 import WKTElement
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..db import set_actor
from ..errors import Conflict, Forbidden, NotFound
from ..models import (
    RD_NEW,
    Attribute,
    Location,
    Phone,
    Service,
    ServiceArchive,
    ServiceAtLocation,
    Submission,
)
from ..queries import history as history_q
from ..queries import registry as registry_q
from ..queries import submissions as q
from ..schedule import now_local
from ..vocab import KINDS, STATUSES
from . import auth, funding
from .auth import CurrentUser
from .initiatives import get_initiative
from .submissions import (
    FUNDING_FIELDS,
    NEW_REQUIRED,
    Checker,
    FieldError,
    FieldErrors,
    in_form_order,
    term_names,
)

EDIT_FIELDS: tuple[str, ...] = ("name", "alternate_name", "description", "kind", "status",
                                "url", "email", "fees_description", "eligibility_description",
                                "accessibility", "schedule_note")
STALE_AFTER_MONTHS = 12
SOURCE_EDIT = "editor"
SOURCE_MODERATION = "moderation"


class EditConflict(Conflict):
    """Someone else changed the record since the form was loaded; says what they changed."""

    def __init__(self, changes: list[dict[str, Any]], version: int, mark: int) -> None:
        super().__init__("someone else changed this initiative after you opened it; "
                         "see 'changes' and try again", "version", changes=changes,
                         version=version, mark=mark)
        self.changes = changes
        self.version = version
        self.mark = mark


def today() -> date:
    """Today in the Netherlands."""
    return now_local().date()


def stale_before(day: date | None = None) -> date:
    """The date before which a verification counts as older than twelve months."""
    day = day or today()
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _change_dict(r: Any) -> dict[str, Any]:
    return {"id": r.id, "entity_type": r.entity_type, "action": r.action, "field": r.field,
            "old": r.old_value, "new": r.new_value, "changed_by": r.changed_by,
            "source": r.source, "changed_at": r.changed_at.isoformat()}


def changes_since(s: Session, service_id: uuid.UUID, mark: int) -> list[dict[str, Any]]:
    """What was written to the record (and what hangs off it) after change id `mark`."""
    return [_change_dict(r) for r in reversed(history_q.changes(s.connection(), service_id,
                                                                after_id=mark, limit=200))]


def lock_service(s: Session, service_id: uuid.UUID, version: int | None,
                 mark: int) -> Service:
    """The service, row-locked; EditConflict when its version is not the one the form saw."""
    svc = s.get(Service, service_id, with_for_update=True, populate_existing=True)
    if svc is None:
        raise NotFound(f"no initiative with id {service_id}", "id")
    if version is not None and svc.version != version:
        changes = changes_since(s, service_id, mark)
        current, new_mark = svc.version, history_q.last_change_id(s.connection(), service_id)
        s.rollback()
        raise EditConflict(changes, current, new_mark)
    return svc


def flush_or_conflict(s: Session, service_id: uuid.UUID, mark: int) -> None:
    """Flush; the ORM's version check failing (a write slipped in) becomes an EditConflict."""
    try:
        s.flush()
    except StaleDataError:
        s.rollback()
        svc = s.get(Service, service_id, populate_existing=True)
        raise EditConflict(changes_since(s, service_id, mark), svc.version if svc else 0,
                           history_q.last_change_id(s.connection(), service_id)) from None


# --- the edit form -------------------------------------------------------------------------

def edit_form(s: Session, user: CurrentUser, service_id: uuid.UUID) -> dict[str, Any]:
    """The editable fields of a service with its version and change mark, for the edit form."""
    auth.require_service_scope(s, user, service_id)
    svc = s.get(Service, service_id, populate_existing=True)
    if svc is None:
        raise NotFound(f"no initiative with id {service_id}", "id")
    return {"id": str(svc.id), "name": svc.name,
            "values": {**{f: getattr(svc, f) for f in EDIT_FIELDS},
                       **funding.form_values(s, service_id)},
            "version": svc.version, "mark": history_q.last_change_id(s.connection(), service_id),
            "archived": history_q.archive_row(s.connection(), service_id) is not None,
            "assured_date": svc.assured_date, "assurer": svc.assurer}


def _check_edit(form: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    check = Checker(form)
    values: dict[str, Any] = {
        "name": check.text("name", required=True),
        "alternate_name": check.text("alternate_name"),
        "description": check.text("description"),
        "kind": check.choice("kind", KINDS, required=True),
        "status": check.choice("status", STATUSES, required=True),
        "url": check.url("url"),
        "email": check.email("email"),
        "fees_description": check.text("fees_description"),
        "eligibility_description": check.text("eligibility_description"),
        "accessibility": check.text("accessibility"),
        "schedule_note": check.text("schedule_note"),
    }
    # Only what the editor changed has to pass: older records may hold shorter texts.
    errors = {k: v for k, v in check.errors.items() if values.get(k) != current.get(k)}
    if errors:
        raise FieldErrors(errors)
    return values


def save_edit(s: Session, user: CurrentUser, service_id: uuid.UUID, form: Mapping[str, Any],
              version: int | None, mark: int) -> int:
    """Write the edit form under optimistic locking; returns the new version."""
    auth.require_service_scope(s, user, service_id)
    svc = lock_service(s, service_id, version, mark)
    current = {f: getattr(svc, f) for f in EDIT_FIELDS}
    source, ends_on, funding_errors = None, None, {}
    try:
        source, ends_on = funding.check(form)
    except FieldErrors as err:
        funding_errors = err.errors
    try:
        values = _check_edit(form, current)
    except FieldErrors as err:
        raise FieldErrors({**err.errors, **funding_errors}) from None
    if funding_errors:
        raise FieldErrors(funding_errors)
    archived = history_q.archive_row(s.connection(), service_id) is not None
    if archived and values["status"] != "inactive":
        raise FieldErrors({"status": FieldError("archived")})
    set_actor(s, user.actor, SOURCE_EDIT)
    for name, value in values.items():
        if value != current[name]:
            setattr(svc, name, value)
    funding.save(s, service_id, source, ends_on)
    flush_or_conflict(s, service_id, mark)
    s.commit()
    return svc.version


# --- verification and the archive ----------------------------------------------------------

def mark_verified(s: Session, user: CurrentUser, service_id: uuid.UUID,
                  day: date | None = None) -> None:
    """Record that the editor checked the record today (assured_date and assurer)."""
    auth.require_service_scope(s, user, service_id)
    svc = lock_service(s, service_id, None, 0)
    set_actor(s, user.actor, SOURCE_EDIT)
    svc.assured_date = day or today()
    svc.assurer = user.display_name
    s.flush()
    s.commit()


def archive(s: Session, user: CurrentUser, service_id: uuid.UUID, reason: str | None,
            version: int | None = None) -> None:
    """Take a record off the map: status 'inactive' and an archive row with the old status."""
    auth.require_service_scope(s, user, service_id)
    svc = lock_service(s, service_id, version, 0)
    if history_q.archive_row(s.connection(), service_id) is not None:
        raise Conflict("this initiative is already archived", "id")
    set_actor(s, user.actor, SOURCE_EDIT)
    s.add(ServiceArchive(service_id=service_id, previous_status=svc.status,
                         reason=(reason or "").strip()[:500] or None, archived_by=user.actor))
    svc.status = "inactive"
    s.flush()
    s.commit()


def unarchive(s: Session, user: CurrentUser, service_id: uuid.UUID,
              version: int | None = None) -> None:
    """Bring an archived record back with the status it had."""
    auth.require_service_scope(s, user, service_id)
    svc = lock_service(s, service_id, version, 0)
    row = history_q.archive_entity(s, service_id)
    if row is None:
        raise Conflict("this initiative is not archived", "id")
    set_actor(s, user.actor, SOURCE_EDIT)
    svc.status = row.previous_status
    s.delete(row)
    s.flush()
    s.commit()


def unverified(s: Session, user: CurrentUser, day: date | None = None) -> dict[str, Any]:
    """Records in the user's gemeenten not verified for twelve months, oldest first."""
    auth.require_moderator(user)
    before = stale_before(day)
    scope = None if user.is_admin else sorted(user.gemeenten)
    return {"before": before, "rows": history_q.unverified(s.connection(), scope, before),
            "total": history_q.count_unverified(s.connection(), scope, before)}


def internal_view(s: Session, user: CurrentUser, service_id: uuid.UUID) -> dict[str, Any]:
    """The initiative with private contacts and exact private addresses, for staff in scope."""
    auth.require_service_scope(s, user, service_id, roles=auth.PRIVATE_DATA_ROLES)
    item = get_initiative(s, service_id, include_private=True)
    item["exact_locations"] = [dict(r._mapping) for r in
                               history_q.exact_locations(s.connection(), service_id)]
    item["archive"] = history_q.archive_row(s.connection(), service_id)
    return item


# --- the queue and decisions ---------------------------------------------------------------

def queue(s: Session, user: CurrentUser, status: str = "pending") -> dict[str, Any]:
    """Submissions waiting (or decided) in the user's gemeenten."""
    auth.require_moderator(user)
    scope = None if user.is_admin else sorted(user.gemeenten)
    conn = s.connection()
    return {"rows": q.queue(conn, scope, status), "counts": q.counts_by_gemeente(conn, scope)}


def _submission(s: Session, user: CurrentUser, submission_id: uuid.UUID,
                lock: bool = False) -> Submission:
    auth.require_moderator(user)
    sub = q.by_id(s, submission_id, lock=lock)
    if sub is None:
        raise NotFound(f"no submission with id {submission_id}", "id")
    if not user.is_admin and (sub.gemeente_code is None
                              or sub.gemeente_code not in user.gemeenten):
        raise Forbidden("this submission lies outside your gemeenten", "id")
    return sub


def review(s: Session, user: CurrentUser, submission_id: uuid.UUID) -> dict[str, Any]:
    """A submission with, for a change, the record's values now and since the suggestion."""
    sub = _submission(s, user, submission_id)
    conn = s.connection()
    svc = s.get(Service, sub.service_id, populate_existing=True) if sub.service_id else None
    fields = []
    for f in in_form_order(sub.fields):
        now_value = getattr(svc, f.field, None) if (svc is not None and sub.kind == "change") \
            else None
        label = None
        if f.field in ("categories", "audiences"):
            label = term_names(s, f.field, f.proposed)
        fields.append({"field": f.field, "proposed": f.proposed, "label": label,
                       "at_suggestion": f.current, "now": now_value,
                       "moved": sub.kind == "change" and now_value != f.current,
                       "decision": f.decision, "reason": f.reason})
    return {"id": str(sub.id), "kind": sub.kind, "status": sub.status,
            "created_at": sub.created_at, "decided_at": sub.decided_at,
            "gemeente_code": sub.gemeente_code, "note": sub.note,
            "submitter_name": sub.submitter_name, "submitter_email": sub.submitter_email,
            "service_id": str(sub.service_id) if sub.service_id else None,
            "service_name": svc.name if svc else None,
            "version": svc.version if svc else None,
            "base_version": sub.base_version,
            "mark": history_q.last_change_id(conn, svc.id) if svc else 0,
            "fields": fields}


def _check_decisions(sub: Submission, decisions: Mapping[str, tuple[str, str]]
                     ) -> dict[str, tuple[str, str | None]]:
    errors: dict[str, FieldError] = {}
    out: dict[str, tuple[str, str | None]] = {}
    for f in sub.fields:
        decision, reason = decisions.get(f.field, ("", ""))
        reason = (reason or "").strip()[:500] or None
        if decision not in ("approved", "rejected"):
            errors[f"decision_{f.field}"] = FieldError("choice")
        elif decision == "rejected" and not reason:
            errors[f"reason_{f.field}"] = FieldError("reason")
        out[f.field] = (decision, reason)
    if sub.kind == "new" and not errors:
        core = {out[f][0] for f in NEW_REQUIRED if f in out}
        extra = any(d == "approved" for f, (d, _) in out.items() if f not in NEW_REQUIRED)
        if core != {"approved"} and (extra or "approved" in core):
            errors["form"] = FieldError("needs_core")
        # A new record has no funding of its own to keep, so an end date needs its source.
        if out.get("funding_ends_on", ("",))[0] == "approved" \
                and out.get("funding_source", ("",))[0] != "approved":
            errors["decision_funding_ends_on"] = FieldError("funding_without_source")
    if errors:
        raise FieldErrors(errors)
    return out


def decide(s: Session, user: CurrentUser, submission_id: uuid.UUID,
           decisions: Mapping[str, tuple[str, str]], version: int | None = None, mark: int = 0,
           now: datetime | None = None) -> dict[str, Any]:
    """Approve or reject each field with a reason and apply what is approved, in one go."""
    now = now or auth.utcnow()
    sub = _submission(s, user, submission_id, lock=True)
    if sub.status != "pending":
        raise Conflict("this submission has already been decided", "id")
    chosen = _check_decisions(sub, decisions)
    approved = {f.field: f.proposed for f in sub.fields if chosen[f.field][0] == "approved"}
    set_actor(s, user.actor, SOURCE_MODERATION)
    if approved and sub.kind == "change":
        if sub.service_id is None:
            raise Conflict("the initiative of this suggestion no longer exists", "id")
        auth.require_service_scope(s, user, sub.service_id)
        svc = lock_service(s, sub.service_id, version, mark)
        if "status" in approved and history_q.archive_row(s.connection(), svc.id) is not None:
            raise FieldErrors({"decision_status": FieldError("archived")})
        suggested_funding = {k: approved.pop(k) for k in FUNDING_FIELDS if k in approved}
        for name, value in approved.items():
            setattr(svc, name, value)
        if suggested_funding:
            _apply_funding(s, svc.id, suggested_funding)
        flush_or_conflict(s, svc.id, mark)
    elif approved:
        sub.service_id = _create_service(s, user, approved)
    for f in sub.fields:
        f.decision, f.reason = chosen[f.field]
        f.decided_by, f.decided_at = user.id, now
    outcomes = {d for d, _ in chosen.values()}
    sub.status = ("approved" if outcomes == {"approved"} else
                  "rejected" if outcomes <= {"rejected"} else "partial")
    sub.decided_at, sub.decided_by = now, user.id
    s.commit()
    return {"status": sub.status, "service_id": str(sub.service_id) if sub.service_id else None}


def _apply_funding(s: Session, service_id: uuid.UUID, suggested: Mapping[str, Any]) -> None:
    """An approved funding suggestion, merged with the funding the form showed."""
    shown = funding.form_values(s, service_id)
    source = suggested.get("funding_source", shown["funding_source"]) or None
    ends = suggested.get("funding_ends_on", shown["funding_ends_on"]) or None
    funding.save(s, service_id, source, date.fromisoformat(ends) if ends else None)


def _create_service(s: Session, user: CurrentUser, values: Mapping[str, Any]) -> uuid.UUID:
    """A new initiative from the approved fields of a submission; verified by the approval."""
    svc = Service(id=uuid.uuid4(), name=values["name"], kind=values["kind"],
                  description=values.get("description"),
                  status=values.get("status") or "active",
                  schedule_note=values.get("schedule_note"),
                  fees_description=values.get("fees_description"), url=values.get("url"),
                  email=values.get("email"), source="aanmelding", assured_date=today(),
                  assurer=user.display_name)
    s.add(svc)
    loc = values["location"]
    location = Location(id=uuid.uuid4(), location_type=loc["location_type"],
                        address=loc.get("address"), city=loc.get("kern_name"),
                        pc4=loc.get("pc4"), kern_code=loc["kern_code"],
                        precision=loc["precision"],
                        geom=WKTElement(f"POINT({loc['x']} {loc['y']})", srid=RD_NEW))
    s.add(location)
    s.flush()
    s.add(ServiceAtLocation(service_id=svc.id, location_id=location.id))
    ids = registry_q.term_ids(s.connection())
    for facet, key in (("category", "categories"), ("audience", "audiences")):
        for code in values.get(key) or []:
            s.add(Attribute(service_id=svc.id, taxonomy_term_id=ids[(facet, code)]))
    if values.get("phone"):
        s.add(Phone(service_id=svc.id, number=values["phone"], is_private=False))
    if values.get("funding_source"):
        ends = values.get("funding_ends_on")
        funding.save(s, svc.id, values["funding_source"],
                     date.fromisoformat(ends) if ends else None)
    s.flush()
    return svc.id

