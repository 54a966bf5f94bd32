"""Residents' needs and support on the site: post a need for a kern, "ik heb dit ook nodig" and
"ik wil helpen" on needs and plans, and the editors' pages for needs and demand signals."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_babel import lazy_gettext

from .. import db, settings
from ..errors import AppError
from ..models.voice import NEED_STATUSES, SUPPORT_KINDS
from ..services import auth as auth_svc
from ..services import demand as demand_svc
from ..services import needs as svc
from ..services.initiatives import parse_id
from ..services.submissions import FieldError, FieldErrors, RateLimited
from ..services.taxonomy import taxonomy_tree
from .auth import client_id, current_user, protect, safe_next, signed_in
from .contribute import message, render_problem

bp = Blueprint("needs", __name__)
protect(bp)

VOTER_MAX_AGE = timedelta(days=365)

LABELS: dict[str, Any] = {
    "category": lazy_gettext("Wat mist u?"),
    "audience": lazy_gettext("Voor wie"),
    "text": lazy_gettext("Vertel het kort"),
    "reason": lazy_gettext("Reden"),
    "decision": lazy_gettext("Besluit"),
}
MESSAGES: dict[str, Any] = {
    "personal_email": lazy_gettext("Zet geen e-mailadres in de tekst: iedereen kan die lezen. "
                                   "Beschrijf alleen wat u mist."),
    "personal_phone": lazy_gettext("Zet geen telefoonnummer in de tekst: iedereen kan die "
                                   "lezen. Beschrijf alleen wat u mist."),
    "reason": lazy_gettext("Schrijf waarom deze behoefte niet op de kaart komt."),
}
NEED_STATUS_LABELS: dict[str, Any] = {
    "pending": lazy_gettext("Wacht op de redactie"), "approved": lazy_gettext("Op de kaart"),
    "rejected": lazy_gettext("Afgewezen"), "resolved": lazy_gettext("Opgelost"),
}


@bp.errorhandler(AppError)
def _problem(err: AppError):  # noqa: ANN202
    return render_problem(err)


def field_messages(err: FieldErrors) -> dict[str, str]:
    """Field name -> Dutch sentence, with the messages of this page first."""
    return {name: str(MESSAGES[e.code]) if e.code in MESSAGES else message(e)
            for name, e in err.errors.items()}


# --- the voter cookie --------------------------------------------------------------------------

def voter_cookie_name() -> str:
    """'__Host-voter' over HTTPS (host-only, path /, secure), 'voter' in local development."""
    return "__Host-voter" if current_app.config.get("SESSION_COOKIE_SECURE") else "voter"


def voter_token() -> tuple[str, bool]:
    """This browser's voter token, and whether it is new (then the answer must set it)."""
    token = request.cookies.get(voter_cookie_name())
    if token and svc.valid_voter_token(token):
        return token, False
    return svc.new_voter_token(), True


def keep_voter_token(response: Response, token: str, fresh: bool) -> Response:
    """Set a new voter token as a long-lived cookie; only a random value, nothing else."""
    if fresh:
        response.set_cookie(voter_cookie_name(), token,
                            max_age=int(VOTER_MAX_AGE.total_seconds()), httponly=True,
                            samesite="Lax", path="/",
                            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response


# --- posting a need ----------------------------------------------------------------------------

def need_form_context(code: str) -> dict[str, Any]:
    """What the need form needs: the kern, the categories and audiences, the labels."""
    kern = svc.kern_or_404(db.session(), code)
    return {"kern": kern, "taxonomy": taxonomy_tree(db.session()), "need_labels": LABELS,
            "text_max": svc.TEXT_MAX}


@bp.route("/kern/<code>/behoefte", methods=["GET", "POST"])
def post(code: str):  # noqa: ANN201
    """Tell what you miss in this kern: category, for whom, a short text; no account."""
    context = need_form_context(code)
    if request.method == "GET":
        return render_template("needs/new.html", form={}, errors={}, **context)
    form = {k: request.form.get(k, "") for k in ("category", "audience", "text", "homepage")}
    try:
        svc.post_need(db.session(), code, form, client_id(), settings.current())
    except FieldErrors as err:
        return render_template("needs/new.html", form=form, errors=field_messages(err),
                               **context), 400
    except RateLimited as err:
        return render_template("needs/new.html", form=form, errors={}, limited=True,
                               **context), err.status
    return redirect(url_for("pages.kern", code=code, behoefte="ontvangen") + "#behoeften",
                    code=303)


# --- support -----------------------------------------------------------------------------------

def _kind() -> str:
    kind = request.form.get("kind", "")
    if kind not in SUPPORT_KINDS:
        raise FieldErrors({"kind": FieldError("choice")})
    return kind


@bp.post("/behoefte/<ident>/steun")
def support_need(ident: str):  # noqa: ANN201
    """Count "ik heb dit ook nodig" or "ik wil helpen" once per browser."""
    need_id = parse_id(ident)
    token, fresh = voter_token()
    done = svc.support_need(db.session(), need_id, _kind(), token, client_id(),
                            settings.current())
    target = url_for("pages.kern", code=done.kern_code,
                     steun="geteld" if done.counted else "al") + f"#behoefte-{need_id}"
    return keep_voter_token(redirect(target, code=303), token, fresh)


@bp.post("/initiatief/<ident>/steun")
def support_plan(ident: str):  # noqa: ANN201
    """Support a plan (an initiative that does not run yet), once per browser."""
    service_id = parse_id(ident)
    token, fresh = voter_token()
    done = svc.support_plan(db.session(), service_id, _kind(), token, client_id(),
                            settings.current())
    back = safe_next(request.form.get("next"),
                     url_for("pages.initiative", ident=ident)).split("?")[0].split("#")[0]
    mark = "geteld" if done.counted else "al"
    target = f"{back}?steun={mark}#plan-{service_id}"
    return keep_voter_token(redirect(target, code=303), token, fresh)


# --- editors -----------------------------------------------------------------------------------

def _user() -> auth_svc.CurrentUser:
    user = current_user()
    assert user is not None  # @signed_in ran first
    return user


@bp.get("/redactie/behoeften")
@signed_in
def queue():  # noqa: ANN201
    """Needs waiting (or decided) in the editor's gemeenten."""
    status = request.args.get("status", "pending")
    data = svc.queue(db.session(), _user(), status)
    return render_template("needs/queue.html", rows=data["rows"], status=status,
                           statuses=NEED_STATUSES, status_labels=NEED_STATUS_LABELS,
                           done=request.args.get("besloten"), errors={}, labels=LABELS)


@bp.post("/redactie/behoefte/<ident>")
@signed_in
def decide(ident: str):  # noqa: ANN201
    """Approve, reject with a reason, resolve or reopen one need."""
    need_id = parse_id(ident)
    status = request.form.get("status", "pending")
    try:
        new = svc.decide(db.session(), _user(), need_id, request.form.get("decision", ""),
                         request.form.get("reason"))
    except FieldErrors as err:
        data = svc.queue(db.session(), _user(), status if status in NEED_STATUSES else "pending")
        return render_template("needs/queue.html", rows=data["rows"], status=status,
                               statuses=NEED_STATUSES, status_labels=NEED_STATUS_LABELS,
                               errors={str(need_id): field_messages(err)}, labels=LABELS,
                               done=None), 400
    return redirect(url_for("needs.queue", status=status if status in NEED_STATUSES
                            else "pending", besloten=new), code=303)


@bp.get("/redactie/vraag")
@signed_in
def demand():  # noqa: ANN201
    """Searches that found nothing or little, per month, kern, category and filters."""
    data = demand_svc.for_staff(db.session(), _user())
    tree = taxonomy_tree(db.session())
    audiences = {t["code"]: t["name"] for top in tree["audience"]
                 for t in (top, *top["children"])}
    categories = {t["code"]: t["name"] for t in tree["category"]}
    for row in data["rows"]:
        row["filters_text"] = demand_svc.describe_filters(row["filters"], audiences)
    return render_template("needs/demand.html", categories=categories, **data)
