"""Staff pages: the moderation queue, decisions per field, edits, verification, the archive,
history and restore, the internal view with private data, and erasure on request."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import lazy_gettext

from .. import db
from ..errors import AppError, InvalidInput
from ..models.submissions import SUBMISSION_STATUSES
from ..services import auth as auth_svc
from ..services import erasure as erasure_svc
from ..services import funding as funding_svc
from ..services import history as history_svc
from ..services import moderation as svc
from ..services.initiatives import parse_id
from ..services.moderation import EditConflict
from ..services.submissions import FieldErrors
from ..vocab import KINDS, PRECISIONS, STATUSES
from .auth import current_user, protect, safe_next, signed_in
from .contribute import (
    DECISION_LABELS,
    FIELD_LABELS,
    STATUS_LABELS,
    SUBMISSION_STATUS_LABELS,
    field_messages,
    render_problem,
)
from .errors import wants_json

bp = Blueprint("editor", __name__)
protect(bp)

SOURCE_LABELS: dict[str, Any] = {
    "editor": lazy_gettext("redactie"), "moderation": lazy_gettext("aanmelding"),
    "restore": lazy_gettext("hersteld"), "import": lazy_gettext("import"),
    "seed": lazy_gettext("startbestand"), "erasure": lazy_gettext("verwijderverzoek"),
    "sql": lazy_gettext("database"), "demo": lazy_gettext("voorbeelden"),
    "hsds-import": lazy_gettext("HSDS-import"),
}
ENTITY_LABELS: dict[str, Any] = {
    "service": lazy_gettext("initiatief"), "location": lazy_gettext("plek"),
    "service_at_location": lazy_gettext("koppeling met plek"),
    "service_area": lazy_gettext("werkgebied"), "attribute": lazy_gettext("kenmerk"),
    "schedule": lazy_gettext("openingstijd"), "contact": lazy_gettext("contactpersoon"),
    "phone": lazy_gettext("telefoon"), "service_archive": lazy_gettext("archief"),
    "hsds_record": lazy_gettext("HSDS-gegevens"), "organization": lazy_gettext("organisatie"),
}
# Column names of the registry as the history shows them (the form's labels come first).
COLUMN_LABELS: dict[str, Any] = {
    "assured_date": lazy_gettext("Laatst gecontroleerd"),
    "assurer": lazy_gettext("Gecontroleerd door"), "source": lazy_gettext("Bron"),
    "source_url": lazy_gettext("Webadres van de bron"),
    "organization_id": lazy_gettext("Organisatie"), "is_demo": lazy_gettext("Voorbeeld"),
    "location_type": lazy_gettext("Soort plek"), "precision": lazy_gettext("Nauwkeurigheid"),
    "postal_code": lazy_gettext("Postcode"), "pc4": lazy_gettext("Postcodegebied"),
    "city": lazy_gettext("Plaats"), "kern_code": lazy_gettext("Kern"),
    "geom": lazy_gettext("Punt"), "title": lazy_gettext("Functie"),
    "number": lazy_gettext("Nummer"), "is_private": lazy_gettext("Niet openbaar"),
    "weekday": lazy_gettext("Dag"), "opens_at": lazy_gettext("Open vanaf"),
    "closes_at": lazy_gettext("Open tot"), "valid_from": lazy_gettext("Geldig vanaf"),
    "valid_to": lazy_gettext("Geldig tot"), "previous_status": lazy_gettext("Status ervoor"),
    "reason": lazy_gettext("Reden"), "archived_by": lazy_gettext("Gearchiveerd door"),
    "archived_at": lazy_gettext("Gearchiveerd op"), "term": lazy_gettext("Kenmerk"),
    "location_id": lazy_gettext("Plek"), "contact_id": lazy_gettext("Contactpersoon"),
    "taxonomy_term_id": lazy_gettext("Kenmerk"), "value": lazy_gettext("Waarde"),
    "name": lazy_gettext("Naam"), "email": lazy_gettext("E-mail"),
    "description": lazy_gettext("Beschrijving"), "address": lazy_gettext("Adres"),
    "kind": lazy_gettext("Soort"), "status": lazy_gettext("Status"),
}
ACTION_LABELS: dict[str, Any] = {"create": lazy_gettext("nieuw"),
                                 "update": lazy_gettext("gewijzigd"),
                                 "delete": lazy_gettext("verwijderd")}


@bp.errorhandler(AppError)
def _problem(err: AppError):  # noqa: ANN202
    return render_problem(err)


def _user() -> auth_svc.CurrentUser:
    user = current_user()
    assert user is not None  # @signed_in ran first
    return user


def _int(name: str) -> int | None:
    raw = request.form.get(name, "")
    try:
        return int(raw)
    except ValueError:
        return None


def _labels() -> dict[str, Any]:
    return {"labels": FIELD_LABELS, "status_labels": STATUS_LABELS,
            "submission_status_labels": SUBMISSION_STATUS_LABELS,
            "decision_labels": DECISION_LABELS, "kinds": KINDS, "statuses": STATUSES,
            "source_labels": SOURCE_LABELS, "entity_labels": ENTITY_LABELS,
            "column_labels": {**FIELD_LABELS, **COLUMN_LABELS}, "precisions": PRECISIONS,
            "action_labels": ACTION_LABELS}


# --- the queue -----------------------------------------------------------------------------

@bp.get("/redactie")
@signed_in
def queue():  # noqa: ANN201
    """Submissions waiting in the editor's gemeenten (or decided ones, by status)."""
    status = request.args.get("status", "pending")
    if status not in SUBMISSION_STATUSES:
        raise InvalidInput(f"unknown status '{status}'", "status")
    data = svc.queue(db.session(), _user(), status)
    stale = svc.unverified(db.session(), _user())
    return render_template("editor/queue.html", rows=data["rows"], counts=data["counts"],
                           status=status, stale_total=stale["total"], **_labels())


@bp.route("/redactie/aanmelding/<ident>", methods=["GET", "POST"])
@signed_in
def review(ident: str):  # noqa: ANN201
    """One submission: approve or reject each field, with a reason."""
    submission_id = parse_id(ident)
    s, user = db.session(), _user()
    if request.method == "GET":
        return render_template("editor/review.html", sub=svc.review(s, user, submission_id),
                               errors={}, chosen={}, **_labels())
    data = svc.review(s, user, submission_id)
    # 'Alles overnemen' approves every field the editor did not decide otherwise.
    default = "approved" if request.form.get("all") == "approved" else ""
    chosen = {f["field"]: (request.form.get(f"decision_{f['field']}", default),
                           request.form.get(f"reason_{f['field']}", ""))
              for f in data["fields"]}
    try:
        result = svc.decide(s, user, submission_id, chosen, _int("version"),
                            _int("mark") or 0)
    except FieldErrors as err:
        return render_template("editor/review.html", sub=data, errors=field_messages(err),
                               chosen=chosen, **_labels()), 400
    except EditConflict as err:
        if wants_json():
            raise
        data = svc.review(s, user, submission_id)
        return render_template("editor/review.html", sub=data, errors={}, chosen=chosen,
                               conflict=err, **_labels()), 409
    return redirect(url_for("editor.queue", besloten=result["status"]), code=303)


@bp.get("/redactie/verouderd")
@signed_in
def unverified():  # noqa: ANN201
    """Records in the editor's gemeenten not verified for twelve months."""
    data = svc.unverified(db.session(), _user())
    return render_template("editor/unverified.html", **data, **_labels())


# --- one initiative ------------------------------------------------------------------------

@bp.route("/initiatief/<ident>/bewerken", methods=["GET", "POST"])
@signed_in
def edit(ident: str):  # noqa: ANN201
    """Edit an initiative's fields; a stale form gets a 409 with what the other editor wrote."""
    service_id = parse_id(ident)
    s, user = db.session(), _user()
    data = svc.edit_form(s, user, service_id)
    if request.method == "GET":
        return render_template("editor/edit.html", item=data, form=data["values"], errors={},
                               saved=request.args.get("opgeslagen"), **_labels())
    form = {k: request.form.get(k, "") for k in (*svc.EDIT_FIELDS, *funding_svc.FIELDS)}
    try:
        svc.save_edit(s, user, service_id, form, _int("version"), _int("mark") or 0)
    except FieldErrors as err:
        return render_template("editor/edit.html", item=data, form=form,
                               errors=field_messages(err), **_labels()), 400
    except EditConflict as err:
        if wants_json():
            raise
        fresh = svc.edit_form(s, user, service_id)
        return render_template("editor/edit.html", item=fresh, form=form, errors={},
                               conflict=err, **_labels()), 409
    return redirect(url_for("editor.edit", ident=ident, opgeslagen=1), code=303)


def _back(ident: str) -> str:
    return safe_next(request.form.get("next"), url_for("editor.edit", ident=ident))


@bp.post("/initiatief/<ident>/gecontroleerd")
@signed_in
def verify(ident: str):  # noqa: ANN201
    """Mark the record verified today by this editor."""
    svc.mark_verified(db.session(), _user(), parse_id(ident))
    return redirect(_back(ident), code=303)


@bp.post("/initiatief/<ident>/archiveren")
@signed_in
def archive(ident: str):  # noqa: ANN201
    """Take the record off the map (it can come back)."""
    svc.archive(db.session(), _user(), parse_id(ident), request.form.get("reason"),
                _int("version"))
    return redirect(_back(ident), code=303)


@bp.post("/initiatief/<ident>/terugzetten")
@signed_in
def unarchive(ident: str):  # noqa: ANN201
    """Bring an archived record back with its old status."""
    svc.unarchive(db.session(), _user(), parse_id(ident), _int("version"))
    return redirect(_back(ident), code=303)


@bp.get("/initiatief/<ident>/geschiedenis")
@signed_in
def history(ident: str):  # noqa: ANN201
    """Who changed what and when, per version, with restore buttons."""
    data = history_svc.history(db.session(), _user(), parse_id(ident))
    return render_template("editor/history.html", item=data,
                           restored=request.args.get("hersteld"), **_labels())


@bp.post("/initiatief/<ident>/herstellen")
@signed_in
def restore(ident: str):  # noqa: ANN201
    """Put the fields back as they were after one version (a new, logged change)."""
    upto = _int("upto")
    if upto is None:
        raise InvalidInput("give the version to restore", "upto")
    changed = history_svc.restore(db.session(), _user(), parse_id(ident), upto,
                                  _int("version"), _int("mark") or 0)
    return redirect(url_for("editor.history", ident=ident, hersteld=len(changed)), code=303)


@bp.get("/initiatief/<ident>/intern")
@signed_in
def internal(ident: str):  # noqa: ANN201
    """The initiative with private contacts and exact addresses (area teams and editors)."""
    item = svc.internal_view(db.session(), _user(), parse_id(ident))
    return render_template("editor/internal.html", item=item, **_labels())


# --- erasure on request --------------------------------------------------------------------

@bp.route("/beheer/verwijderen", methods=["GET", "POST"])
@signed_in
def erase():  # noqa: ANN201
    """Remove a person's data on request: preview first, then confirm."""
    s, user = db.session(), _user()
    auth_svc.require_admin(user)
    # The term is personal data: it only travels in a POST body, never in a URL (or a log).
    term = request.form.get("term", "").strip()
    if request.method == "GET" or not term:
        return render_template("editor/erase.html", term="", report=None)
    try:
        if request.method == "POST" and request.form.get("confirm") == "ja":
            report = erasure_svc.erase(s, user, term)
        else:
            report = erasure_svc.preview(s, user, term)
    except InvalidInput:
        return render_template("editor/erase.html", term=term, report=None,
                               error=True), 400
    return render_template("editor/erase.html", term=term, report=report)

