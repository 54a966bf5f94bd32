"""Signing in and out, the second factor, the signed-in user of each request, CSRF tokens and
the security headers of the pages that handle people's input."""
from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from .. import db, settings
from ..errors import AppError, Forbidden, InvalidInput
from ..services import auth as svc
from ..services.auth import CurrentUser, TooManyRequests, Unauthorized
from .errors import wants_json

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])
SESSION_KEY = "sid"
CSRF_KEY = "csrf"
CSRF_FIELD = "csrf_token"
MAX_BODY = 256 * 1024
# Headers every response gets; pages that take input add no caching.
BASE_HEADERS = {"X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "strict-origin-when-cross-origin"}
ROLE_LABELS = {"admin": lazy_gettext("beheerder"), "editor": lazy_gettext("redacteur"),
               "gebiedsteam": lazy_gettext("gebiedsteam")}


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    return default if not raw else raw in {"1", "true", "yes", "on", "ja"}


# --- the current user ----------------------------------------------------------------------

def current_user() -> CurrentUser | None:
    """The signed-in user of this request (None for residents)."""
    if "current_user" not in g:
        token = session.get(SESSION_KEY)
        g.current_user = svc.session_user(db.session(), token) if token else None
        if token and g.current_user is None:
            session.pop(SESSION_KEY, None)
    return g.current_user


def client_id() -> str:
    """The client's address (behind SOCIALMAP_PROXY_HOPS proxies); HMAC input only, not kept."""
    hops = current_app.config.get("SOCIALMAP_PROXY_HOPS", 0)
    if hops:
        forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",")
                     if a.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.remote_addr or "unknown"


def cheap_hashing() -> bool:
    """Tests hash passwords with small argon2id costs; production never does."""
    return bool(current_app.testing)


def safe_next(target: str | None, default: str = "/redactie") -> str:
    """Only a path on this site may be where a sign-in continues."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return default
    return target


def _continue_signing_in(user: CurrentUser) -> str:
    if user.needs_second_factor:
        return url_for("auth.enrol" if not user.totp_enrolled else "auth.second_factor")
    return ""


def signed_in(view: F) -> F:
    """Only for a signed-in user who passed the second factor where their role needs it."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            if wants_json():
                raise Unauthorized("sign in first")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        step = _continue_signing_in(user)
        if step:
            if wants_json():
                raise Unauthorized("finish signing in with the second factor")
            return redirect(step)
        return view(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


# --- CSRF ----------------------------------------------------------------------------------

def csrf_token() -> str:
    """This browser's CSRF token (kept in the signed session cookie)."""
    token = session.get(CSRF_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_KEY] = token
    return token


def check_csrf() -> None:
    """Refuse a form post without this browser's token (403)."""
    sent = request.form.get(CSRF_FIELD, "")
    token = session.get(CSRF_KEY, "")
    if not token or not sent or not hmac.compare_digest(sent, token):
        raise Forbidden(_("Het formulier is verlopen. Laad de pagina opnieuw en probeer het "
                          "nog eens."), CSRF_FIELD)


def protect(blueprint: Blueprint) -> None:
    """CSRF checks on every post of the blueprint, and no caching of its answers (the
    Content-Security-Policy is the app's, socialmap.web.security)."""
    @blueprint.before_request
    def _csrf() -> None:
        if request.method == "POST":
            check_csrf()

    @blueprint.after_request
    def _headers(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.vary.add("Cookie")
        return response


# --- the app hooks -------------------------------------------------------------------------

def init_app(app: Flask) -> None:
    """Cookies, body limit, template globals, base headers, and the three blueprints."""
    secure = _env_bool("SOCIALMAP_COOKIE_SECURE", True)
    app.config.update(
        SESSION_COOKIE_SECURE=secure,
        # '__Host-' makes the browser refuse the cookie unless secure, host-only and path /.
        SESSION_COOKIE_NAME="__Host-session" if secure else "session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_REFRESH_EACH_REQUEST=False,
        SOCIALMAP_PROXY_HOPS=int(os.environ.get("SOCIALMAP_PROXY_HOPS", "0") or 0),
    )
    app.config.setdefault("MAX_CONTENT_LENGTH", MAX_BODY)
    if app.config["MAX_CONTENT_LENGTH"] is None:
        app.config["MAX_CONTENT_LENGTH"] = MAX_BODY

    @app.context_processor
    def _template_globals() -> dict[str, Any]:
        return {"current_user": current_user, "csrf_token": csrf_token,
                "role_labels": ROLE_LABELS}

    @app.after_request
    def _base_headers(response: Response) -> Response:
        for name, value in BASE_HEADERS.items():
            response.headers.setdefault(name, value)
        if g.get("current_user") is not None:
            # A signed-in answer may hold private data: never in a shared cache.
            response.headers["Cache-Control"] = "private, no-store"
            response.vary.add("Cookie")
        return response

    from . import contribute, editor, needs

    app.register_blueprint(bp)
    app.register_blueprint(contribute.bp)
    app.register_blueprint(editor.bp)
    app.register_blueprint(needs.bp)


# --- views ---------------------------------------------------------------------------------

protect(bp)  # CSRF on every post here too: a forged sign-in is an attack as well

LOGIN_MESSAGES = {
    "password": lazy_gettext("Het e-mailadres of het wachtwoord klopt niet."),
    "email": lazy_gettext("Te veel mislukte pogingen. Wacht een paar minuten en probeer het "
                          "opnieuw."),
    "code": lazy_gettext("De code klopt niet of is al gebruikt. Neem de nieuwste code uit uw "
                         "app."),
    "code_throttled": lazy_gettext("Te veel verkeerde codes. Wacht een paar minuten."),
    "current_password": lazy_gettext("Uw huidige wachtwoord klopt niet."),
    "too_short": lazy_gettext("Een wachtwoord heeft minstens 12 tekens."),
    "too_long": lazy_gettext("Dit wachtwoord is te lang."),
    "too_plain": lazy_gettext("Dit wachtwoord is te makkelijk te raden. Kies een zin van een "
                              "paar woorden."),
}


def _start_session(token: str) -> None:
    """A fresh session cookie for a new sign-in (no fixation), with a new CSRF token."""
    session.clear()
    session[SESSION_KEY] = token
    session[CSRF_KEY] = secrets.token_urlsafe(32)


@bp.route("/inloggen", methods=["GET", "POST"])
def login():  # noqa: ANN201
    """Sign in with e-mail and password (throttled)."""
    next_url = safe_next(request.values.get("next"))
    user = current_user()
    if user is not None and request.method == "GET":
        return redirect(_continue_signing_in(user) or next_url)
    if request.method == "GET":
        return render_template("auth/login.html", next=next_url, email="")
    email = request.form.get("email", "")
    try:
        result = svc.login(db.session(), email, request.form.get("password", ""), client_id(),
                           settings.current().secret_key, cheap_hash=cheap_hashing())
    except (Unauthorized, TooManyRequests) as err:
        message = LOGIN_MESSAGES["email" if isinstance(err, TooManyRequests) else "password"]
        return render_template("auth/login.html", next=next_url, email=email[:200],
                               error=message), err.status
    _start_session(result.token)
    g.current_user = result.user
    return redirect(_continue_signing_in(result.user) or next_url, code=303)


def _token_or_login() -> str | Response:
    token = session.get(SESSION_KEY)
    if not token or current_user() is None:
        return redirect(url_for("auth.login"))
    return token


@bp.route("/inloggen/code", methods=["GET", "POST"])
def second_factor():  # noqa: ANN201
    """The TOTP step of signing in."""
    token = _token_or_login()
    if isinstance(token, Response):
        return token
    user = current_user()
    assert user is not None
    if not user.totp_enrolled:
        return redirect(url_for("auth.enrol"))
    if request.method == "GET":
        return render_template("auth/code.html")
    try:
        svc.verify_second_factor(db.session(), token, request.form.get("code", ""),
                                 settings.current().secret_key)
    except (InvalidInput, TooManyRequests) as err:
        key = "code_throttled" if isinstance(err, TooManyRequests) else "code"
        return render_template("auth/code.html", error=LOGIN_MESSAGES[key]), err.status
    return redirect(url_for("editor.queue"), code=303)


@bp.route("/account/tweestaps", methods=["GET", "POST"])
def enrol():  # noqa: ANN201
    """Set up TOTP: the secret as text and as otpauth URI, confirmed by a first code."""
    token = _token_or_login()
    if isinstance(token, Response):
        return token
    user = current_user()
    assert user is not None
    if user.totp_enrolled:
        return redirect(url_for("auth.account"))
    secret, uri = svc.begin_enrolment(db.session(), token)
    context = {"secret": secret, "grouped": " ".join(secret[i:i + 4]
                                                      for i in range(0, len(secret), 4)),
               "uri": uri}
    if request.method == "GET":
        return render_template("auth/enrol.html", **context)
    try:
        svc.confirm_enrolment(db.session(), token, request.form.get("code", ""),
                              settings.current().secret_key)
    except (InvalidInput, TooManyRequests) as err:
        key = "code_throttled" if isinstance(err, TooManyRequests) else "code"
        return render_template("auth/enrol.html", error=LOGIN_MESSAGES[key],
                               **context), err.status
    return redirect(url_for("auth.account", ingesteld=1), code=303)


@bp.post("/uitloggen")
def logout():  # noqa: ANN201
    """End the session on the server and in the browser."""
    svc.logout(db.session(), session.get(SESSION_KEY))
    session.clear()
    g.current_user = None
    return redirect(url_for("pages.home"), code=303)


@bp.route("/account", methods=["GET", "POST"])
@signed_in
def account():  # noqa: ANN201
    """Role, gemeenten and second factor of the signed-in user; change the password."""
    user = current_user()
    assert user is not None
    names = svc.gemeente_names(db.session(), user.gemeenten)
    context = {"gemeenten": names, "done": request.args.get("ingesteld") or
               request.args.get("gewijzigd")}
    if request.method == "GET":
        return render_template("auth/account.html", **context)
    try:
        if request.form.get("new_password", "") != request.form.get("repeat_password", ""):
            raise InvalidInput("the passwords differ", "repeat_password", rule="differ")
        svc.change_password(db.session(), session[SESSION_KEY],
                            request.form.get("current_password", ""),
                            request.form.get("new_password", ""), cheap_hash=cheap_hashing())
    except AppError as err:
        rule = err.extra.get("rule")
        message = (_("De twee nieuwe wachtwoorden verschillen.") if rule == "differ"
                   else LOGIN_MESSAGES.get(rule or err.field or "", LOGIN_MESSAGES["password"]))
        return render_template("auth/account.html", error=message, **context), err.status
    return redirect(url_for("auth.account", gewijzigd=1), code=303)
