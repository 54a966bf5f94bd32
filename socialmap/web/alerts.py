"""/volgen: staff follow a kern or a gemeente, see their feed links once, choose the digest,
get a new link or stop; /volgen/feed?token=... is the Atom feed (the token stays out of the
path, which the access log records)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext

from .. import atom, db, settings
from ..errors import AppError, Conflict, Forbidden
from ..services import alerts as svc
from ..services.initiatives import parse_id
from .auth import current_user, protect, signed_in
from .contribute import render_problem
from .errors import wants_json

bp = Blueprint("alerts", __name__)
protect(bp)

NEW_FEED = "new_feed"
MESSAGES: dict[str, Any] = {
    "kern": lazy_gettext("Deze kern kennen we niet. Kies er een uit de lijst."),
    "gemeente": lazy_gettext("Deze gemeente kennen we niet. Kies er een uit de lijst."),
    "digest": lazy_gettext("Kies hoe vaak u een e-mail wilt: elke dag, elke week of nooit."),
    "forbidden": lazy_gettext("Deze plek ligt buiten uw gemeenten."),
    "conflict": lazy_gettext("Deze plek volgt u al."),
}
DIGEST_CHOICES: dict[str, Any] = {"weekly": lazy_gettext("elke week"),
                                  "daily": lazy_gettext("elke dag"),
                                  "none": lazy_gettext("geen e-mail")}


@bp.errorhandler(AppError)
def _problem(err: AppError):  # noqa: ANN202
    return render_problem(err)


def feed_url(token: str) -> str:
    return url_for("alerts.feed", token=token, _external=True)


def _page(errors: dict[str, Any] | None = None, status: int = 200,
          form: dict[str, str] | None = None) -> tuple[str, int]:
    s, user = db.session(), current_user()
    new = session.pop(NEW_FEED, None)
    return render_template(
        "alerts/follow.html", subs=svc.subscriptions(s, user), choices=svc.choices(s, user),
        new=new, new_url=feed_url(new["token"]) if new else None, errors=errors or {},
        form=form or {}, digests=DIGEST_CHOICES, place_name=svc.place_name), status


def _remember(created: svc.Created) -> None:
    # Shown once on the next page; only its hash is in the database.
    session[NEW_FEED] = {"id": str(created.id), "token": created.token}


@bp.get("/volgen")
@signed_in
def follow_page():  # noqa: ANN201
    """The user's subscriptions and the form to follow a kern or a gemeente."""
    return _page()


@bp.post("/volgen")
@signed_in
def follow():  # noqa: ANN201
    """Follow the kern or gemeente in the form."""
    form = {k: (request.form.get(k) or "").strip() for k in ("kern", "gemeente", "digest")}
    try:
        created = svc.subscribe(db.session(), current_user(), kern=form["kern"] or None,
                                gemeente=form["gemeente"] or None,
                                digest=form["digest"] or "weekly")
    except AppError as err:
        if wants_json():
            raise
        db.session().rollback()
        key = ("forbidden" if isinstance(err, Forbidden) else
               "conflict" if isinstance(err, Conflict) else err.field or "kern")
        return _page({err.field or "kern": MESSAGES.get(key, MESSAGES["kern"])},
                     err.status, form)
    _remember(created)
    return redirect(url_for("alerts.follow_page"), code=303)


@bp.post("/volgen/<ident>/opzeggen")
@signed_in
def unfollow(ident: str):  # noqa: ANN201
    """Stop following; the feed link stops working."""
    svc.unsubscribe(db.session(), current_user(), parse_id(ident))
    return redirect(url_for("alerts.follow_page"), code=303)


@bp.post("/volgen/<ident>/nieuwe-link")
@signed_in
def rotate(ident: str):  # noqa: ANN201
    """A new feed link; the old one stops working."""
    _remember(svc.rotate(db.session(), current_user(), parse_id(ident)))
    return redirect(url_for("alerts.follow_page"), code=303)


@bp.post("/volgen/<ident>/samenvatting")
@signed_in
def digest(ident: str):  # noqa: ANN201
    """How often the digest e-mail comes."""
    choice = (request.form.get("digest") or "").strip()
    try:
        svc.set_digest(db.session(), current_user(), parse_id(ident), choice)
    except AppError as err:
        if wants_json() or err.field != "digest":
            raise
        db.session().rollback()
        return _page({"digest": MESSAGES["digest"]}, err.status)
    return redirect(url_for("alerts.follow_page"), code=303)


@bp.get("/volgen/feed")
def feed():  # noqa: ANN201
    """The Atom feed of one subscription, by its secret token."""
    token = request.args.get("token")
    body = atom.render(svc.feed(db.session(), token, settings.current(),
                                self_url=feed_url(token or "")))
    resp = Response(body, mimetype=atom.MEDIA_TYPE)
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp
