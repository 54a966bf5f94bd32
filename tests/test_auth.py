"""Accounts and roles: argon2id passwords, sign-in with TOTP, throttling, sessions and cookies,
CSRF, the users CLI, and the scope matrix of roles by routes (an editor of Stein cannot touch a
record in Leudal)."""
from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from socialmap import create_app
from socialmap.config import Settings
from socialmap.services import auth

from .staff import (
    CSRF,
    LEUDAL,
    PASSWORD,
    STEIN,
    Staff,
    form_token,
    make_user,
    plant,
    session_into,
    sign_in,
    totp_code,
    with_csrf,
)

# --- passwords -----------------------------------------------------------------------------


def test_passwords_are_hashed_with_argon2id_at_rfc9106_cost() -> None:
    stored = auth.hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "correct horse" not in stored
    assert auth.verify_password(stored, "correct horse battery staple")
    assert not auth.verify_password(stored, "correct horse battery stapler")
    assert not auth.verify_password(None, "anything at all")
    assert not auth.verify_password("not a hash", "anything at all")


@pytest.mark.parametrize(("password", "rule"), [
    ("kort", "too_short"), ("aaaaaaaaaaaaaaaa", "too_plain"),
    ("redacteur-geheim-123", "too_plain"), ("x" * 300, "too_long")])
def test_password_rules(password: str, rule: str) -> None:
    with pytest.raises(Exception) as info:
        auth.check_password_rules(password, "redacteur@stein.nl")
    assert info.value.extra["rule"] == rule  # type: ignore[attr-defined]


# --- the users CLI -------------------------------------------------------------------------


def _users(conn: Connection) -> dict[str, Any]:
    rows = conn.execute(text(
        "SELECT u.email, u.role, u.password_hash, u.is_active, "
        "array_remove(array_agg(g.gemeente_code ORDER BY g.gemeente_code), NULL) AS gemeenten "
        "FROM app_user u LEFT JOIN user_gemeente g ON g.user_id = u.id GROUP BY u.id")).all()
    return {r.email: r for r in rows}


def test_cli_creates_the_first_admin_from_a_password_file(runner, conn: Connection,
                                                          tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("een lang wachtwoord voor de admin\n")
    result = runner.invoke(args=["users", "create-admin", "Beheer@Gemeente.NL",
                                 "--password-file", str(secret), "--name", "Beheer"])
    assert result.exit_code == 0, result.output
    assert "created admin beheer@gemeente.nl" in result.output
    user = _users(conn)["beheer@gemeente.nl"]
    assert user.role == "admin" and user.gemeenten == []
    assert user.password_hash.startswith("$argon2id$")
    assert auth.verify_password(user.password_hash, "een lang wachtwoord voor de admin")


def test_cli_asks_the_password_twice_when_no_file_is_given(runner, conn: Connection) -> None:
    result = runner.invoke(args=["users", "create-admin", "tweede@gemeente.nl"],
                           input="nog een lange zin hier\nnog een lange zin hier\n")
    assert result.exit_code == 0, result.output
    assert "nog een lange zin" not in result.output  # hidden input
    assert "tweede@gemeente.nl" in _users(conn)


def test_cli_adds_lists_and_disables_scoped_accounts(runner, conn: Connection,
                                                     tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD)
    ok = runner.invoke(args=["users", "add", "red@stein.nl", "--role", "editor", "--gemeente",
                             "gm0971", "--gemeente", LEUDAL, "--password-file", str(secret)])
    assert ok.exit_code == 0, ok.output
    team = runner.invoke(args=["users", "add", "team@stein.nl", "--role", "gebiedsteam",
                               "--gemeente", STEIN, "--password-file", str(secret)])
    assert team.exit_code == 0, team.output
    users = _users(conn)
    assert users["red@stein.nl"].gemeenten == [STEIN, LEUDAL]
    assert users["team@stein.nl"].role == "gebiedsteam"

    bad = runner.invoke(args=["users", "add", "x@y.nl", "--role", "editor", "--gemeente",
                              "GM9999", "--password-file", str(secret)])
    assert bad.exit_code != 0 and "GM9999" in bad.output
    dup = runner.invoke(args=["users", "add", "RED@stein.nl", "--role", "editor", "--gemeente",
                              STEIN, "--password-file", str(secret)])
    assert dup.exit_code != 0 and "already" in dup.output

    listed = runner.invoke(args=["users", "list"])
    assert re.search(r"red@stein.nl\teditor\tGM0971,GM1640\tno totp\tactive", listed.output)

    off = runner.invoke(args=["users", "disable", "red@stein.nl"])
    assert off.exit_code == 0
    assert _users(conn)["red@stein.nl"].is_active is False
    assert "disabled" in runner.invoke(args=["users", "list"]).output


# --- signing in ----------------------------------------------------------------------------


def test_editor_signs_in_with_password_then_totp(client: FlaskClient, conn: Connection) -> None:
    editor = make_user(conn, "red@stein.nl", "editor", (STEIN,))
    page = client.get("/inloggen")
    token = form_token(page.get_data(True))
    resp = client.post("/inloggen", data={"email": "Red@Stein.nl ", "password": PASSWORD,
                                          "csrf_token": token})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/inloggen/code")
    # Between the two steps nothing of the editors' pages is open.
    held = client.get("/redactie")
    assert held.status_code == 302 and held.headers["Location"].endswith("/inloggen/code")
    code_page = client.get("/inloggen/code")
    wrong = client.post("/inloggen/code", data={"code": "000000",
                                                "csrf_token": form_token(code_page.get_data(True))})
    assert wrong.status_code == 400
    assert "klopt niet" in wrong.get_data(True)
    assert editor.totp_secret
    ok = client.post("/inloggen/code", data={"code": totp_code(editor.totp_secret),
                                             "csrf_token": form_token(code_page.get_data(True))})
    assert ok.status_code == 303
    assert client.get("/redactie").status_code == 200


def test_first_sign_in_sets_up_totp_shown_as_text_and_uri(client: FlaskClient,
                                                          conn: Connection) -> None:
    make_user(conn, "nieuw@stein.nl", "editor", (STEIN,), totp=False)
    page = client.get("/inloggen")
    resp = client.post("/inloggen", data={"email": "nieuw@stein.nl", "password": PASSWORD,
                                          "csrf_token": form_token(page.get_data(True))})
    assert resp.headers["Location"].endswith("/account/tweestaps")
    assert client.get("/redactie").headers["Location"].endswith("/account/tweestaps")
    enrol = client.get("/account/tweestaps").get_data(True)
    secret = conn.execute(text("SELECT totp_secret FROM app_user WHERE email = 'nieuw@stein.nl'")
                          ).scalar_one()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    grouped = " ".join(secret[i:i + 4] for i in range(0, 32, 4))
    assert grouped in enrol
    assert "otpauth://totp/socialmap:nieuw%40stein.nl?secret=" + secret in enrol
    assert "<img" not in enrol  # no QR code image: the secret is text
    # Asking again keeps the same secret (until it is confirmed).
    assert grouped in client.get("/account/tweestaps").get_data(True)
    done = client.post("/account/tweestaps", data={"code": pyotp.TOTP(secret).now(),
                                                   "csrf_token": form_token(enrol)})
    assert done.status_code == 303
    assert client.get("/redactie").status_code == 200
    enabled = conn.execute(text("SELECT totp_enabled_at FROM app_user "
                                "WHERE email = 'nieuw@stein.nl'")).scalar_one()
    assert enabled is not None


def test_a_totp_code_works_only_once(app: Flask, conn: Connection) -> None:
    editor = make_user(conn, "red@stein.nl", "editor", (STEIN,))
    assert editor.totp_secret
    code = pyotp.TOTP(editor.totp_secret).now()
    outcomes = []
    for _ in range(2):
        client = app.test_client()
        page = client.get("/inloggen")
        client.post("/inloggen", data={"email": editor.email, "password": PASSWORD,
                                       "csrf_token": form_token(page.get_data(True))})
        resp = client.post("/inloggen/code", data={"code": code, "csrf_token": form_token(
            client.get("/inloggen/code").get_data(True))})
        outcomes.append(resp.status_code)
    assert outcomes == [303, 400]


def test_area_team_needs_no_totp_but_cannot_moderate(client: FlaskClient,
                                                     conn: Connection) -> None:
    team = make_user(conn, "team@stein.nl", "gebiedsteam", (STEIN,), totp=False)
    sign_in(client, team)
    assert client.get("/account").status_code == 200
    assert client.get("/redactie").status_code == 403


def test_wrong_password_and_unknown_account_look_the_same(client: FlaskClient,
                                                          conn: Connection) -> None:
    make_user(conn, "red@stein.nl", "editor", (STEIN,))
    token = form_token(client.get("/inloggen").get_data(True))
    wrong = client.post("/inloggen", data={"email": "red@stein.nl",
                                           "password": "verkeerd wachtwoord",
                                           "csrf_token": token})
    unknown = client.post("/inloggen", data={"email": "niemand@stein.nl",
                                             "password": "verkeerd wachtwoord",
                                             "csrf_token": token})
    assert wrong.status_code == unknown.status_code == 401
    message = "Het e-mailadres of het wachtwoord klopt niet."
    assert message in wrong.get_data(True) and message in unknown.get_data(True)


def test_sign_in_is_throttled_per_account_and_keeps_no_raw_address(client: FlaskClient,
                                                                   conn: Connection) -> None:
    make_user(conn, "red@stein.nl", "editor", (STEIN,))
    token = form_token(client.get("/inloggen").get_data(True))
    statuses = [client.post("/inloggen", data={"email": "red@stein.nl", "password": f"fout {i}",
                                               "csrf_token": token},
                            environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code
                for i in range(6)]
    assert statuses == [401] * 5 + [429]
    # Locked even with the right password, from another address too.
    right = client.post("/inloggen", data={"email": "red@stein.nl", "password": PASSWORD,
                                           "csrf_token": token},
                        environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert right.status_code == 429
    assert "Te veel mislukte pogingen" in right.get_data(True)
    rows = conn.execute(text("SELECT key, scope FROM rate_bucket")).all()
    assert {r.scope for r in rows} >= {"login-account", "login-client"}
    dump = " ".join(r.key for r in rows)
    assert all(re.fullmatch(r"[0-9a-f]{64}", r.key) for r in rows)
    assert "192.0.2.7" not in dump and "red@stein.nl" not in dump


def test_sign_in_is_throttled_per_client(client: FlaskClient, conn: Connection) -> None:
    token = form_token(client.get("/inloggen").get_data(True))
    statuses = [client.post("/inloggen", data={"email": f"iemand{i}@stein.nl",
                                               "password": "fout", "csrf_token": token},
                            environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code
                for i in range(21)]
    assert statuses[:20] == [401] * 20 and statuses[20] == 429


def test_logout_ends_the_session_on_the_server(app: Flask, client: FlaskClient,
                                               conn: Connection) -> None:
    editor = make_user(conn, "red@stein.nl", "editor", (STEIN,))
    sign_in(client, editor)
    with client.session_transaction() as sess:
        stolen = dict(sess)
    assert conn.execute(text("SELECT count(*) FROM user_session")).scalar_one() == 1
    page = client.get("/account").get_data(True)
    resp = client.post("/uitloggen", data={"csrf_token": form_token(page)})
    assert resp.status_code == 303
    assert conn.execute(text("SELECT count(*) FROM user_session")).scalar_one() == 0
    # A copy of the old cookie is worth nothing now.
    thief = app.test_client()
    with thief.session_transaction() as sess:
        sess.update(stolen)
    assert thief.get("/redactie").status_code == 302


def test_disabling_an_account_ends_its_sessions(runner, client: FlaskClient,
                                                conn: Connection) -> None:
    editor = make_user(conn, "red@stein.nl", "editor", (STEIN,))
    sign_in(client, editor)
    assert client.get("/redactie").status_code == 200
    assert runner.invoke(args=["users", "disable", editor.email]).exit_code == 0
    assert client.get("/redactie").status_code == 302
    token = form_token(client.get("/inloggen").get_data(True))
    again = client.post("/inloggen", data={"email": editor.email, "password": PASSWORD,
                                           "csrf_token": token})
    assert again.status_code == 401


def test_password_change_checks_the_old_one(client: FlaskClient, conn: Connection) -> None:
    editor = make_user(conn, "red@stein.nl", "editor", (STEIN,))
    sign_in(client, editor)
    token = form_token(client.get("/account").get_data(True))
    wrong = client.post("/account", data={"current_password": "niet goed", "csrf_token": token,
                                          "new_password": "een nieuwe lange zin",
                                          "repeat_password": "een nieuwe lange zin"})
    assert wrong.status_code == 400
    ok = client.post("/account", data={"current_password": PASSWORD, "csrf_token": token,
                                       "new_password": "een nieuwe lange zin",
                                       "repeat_password": "een nieuwe lange zin"})
    assert ok.status_code == 303
    stored = conn.execute(text("SELECT password_hash FROM app_user WHERE id = :i"),
                          {"i": editor.id}).scalar_one()
    assert auth.verify_password(stored, "een nieuwe lange zin")


def test_session_cookie_is_secure_httponly_samesite(client: FlaskClient,
                                                    conn: Connection) -> None:
    make_user(conn, "red@stein.nl", "editor", (STEIN,))
    page = client.get("/inloggen")
    resp = client.post("/inloggen", data={"email": "red@stein.nl", "password": PASSWORD,
                                          "csrf_token": form_token(page.get_data(True))})
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/" in cookie and "Domain" not in cookie
    assert "Expires" not in cookie  # a browser-session cookie; the server ends it after 12 h


def test_cookie_security_can_be_relaxed_for_local_http(settings: Settings, conn: Connection,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALMAP_COOKIE_SECURE", "false")
    app = create_app(settings, bind=conn)
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["SESSION_COOKIE_NAME"] == "session"
    resp = app.test_client().get("/inloggen")
    assert "Secure" not in resp.headers["Set-Cookie"]


def test_posts_without_the_csrf_token_are_refused(client: FlaskClient,
                                                  conn: Connection) -> None:
    make_user(conn, "red@stein.nl", "editor", (STEIN,))
    client.get("/inloggen")
    assert client.post("/inloggen", data={"email": "red@stein.nl",
                                          "password": PASSWORD}).status_code == 403
    assert client.post("/inloggen", data={"email": "red@stein.nl", "password": PASSWORD,
                                          "csrf_token": "geraden"}).status_code == 403
    assert client.post("/aanmelden", data={"name": "X"}).status_code == 403


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/",
                                    "/\\evil.example", "javascript:alert(1)"])
def test_sign_in_never_redirects_off_site(client: FlaskClient, conn: Connection,
                                          target: str) -> None:
    make_user(conn, "team@stein.nl", "gebiedsteam", (STEIN,), totp=False)
    token = form_token(client.get("/inloggen").get_data(True))
    resp = client.post("/inloggen", data={"email": "team@stein.nl", "password": PASSWORD,
                                          "next": target, "csrf_token": token})
    assert resp.status_code == 303 and resp.headers["Location"] == "/redactie"


def test_staff_pages_carry_strict_headers(client: FlaskClient, conn: Connection) -> None:
    editor = make_user(conn, "red@stein.nl", "editor", (STEIN,))
    session_into(client, conn, editor)
    resp = client.get("/redactie")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "no-store" in resp.headers["Cache-Control"]
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in resp.get_data(True)  # no inline script on these pages


# --- the scope matrix: roles by routes -----------------------------------------------------

PRIVATE_NAME = "Geheime Contactpersoon"


def _submission(conn: Connection, service_id: uuid.UUID, gemeente: str) -> uuid.UUID:
    sid = conn.execute(text(
        "INSERT INTO submission (ref_hash, kind, service_id, gemeente_code, base_version) "
        "VALUES (md5(random()::text) || md5(random()::text), 'change', :s, :g, 1) RETURNING id"),
        {"s": service_id, "g": gemeente}).scalar_one()
    conn.execute(text("INSERT INTO submission_field (submission_id, field, proposed, current) "
                      "VALUES (:i, 'fees_description', '\"Gratis\"', NULL)"), {"i": sid})
    return sid


@pytest.fixture
def world(conn: Connection) -> dict[str, Any]:
    """Two records (Stein, Leudal) with private contacts and pending suggestions, and staff."""
    stein = plant(conn, "Dorpshuis Meers (test)", "GM0971-meers")
    leudal = plant(conn, "Dorpshuis Roggel (test)", "GM1640-roggel")
    for rec in (stein, leudal):
        conn.execute(text("INSERT INTO contact (service_id, name, email, is_private) "
                          "VALUES (:s, :n, 'geheim@example.org', true)"),
                     {"s": rec.id, "n": PRIVATE_NAME})
    return {
        "svc": {STEIN: stein.id, LEUDAL: leudal.id},
        "sub": {STEIN: _submission(conn, stein.id, STEIN),
                LEUDAL: _submission(conn, leudal.id, LEUDAL)},
        "users": {
            "gebiedsteam_stein": make_user(conn, "team@stein.nl", "gebiedsteam", (STEIN,),
                                           totp=False),
            "editor_stein": make_user(conn, "red@stein.nl", "editor", (STEIN,)),
            "editor_leudal": make_user(conn, "red@leudal.nl", "editor", (LEUDAL,)),
            "admin": make_user(conn, "beheer@gemeente.nl", "admin"),
        },
    }


ROLES = ["anonymous", "gebiedsteam_stein", "editor_stein", "editor_leudal", "admin"]
# (method, path, what the path names, data, the roles that may use it)
MODERATORS = {"editor", "admin"}
ROUTES: list[tuple[str, str, dict[str, str], set[str]]] = [
    ("GET", "/redactie", {}, MODERATORS),
    ("GET", "/redactie/verouderd", {}, MODERATORS),
    ("GET", "/redactie/aanmelding/{sub}", {}, MODERATORS),
    ("POST", "/redactie/aanmelding/{sub}", {"decision_fees_description": "approved"},
     MODERATORS),
    ("GET", "/initiatief/{svc}/bewerken", {}, MODERATORS),
    ("POST", "/initiatief/{svc}/bewerken",
     {"name": "Nieuwe naam", "kind": "dorpshuis", "status": "active"}, MODERATORS),
    ("POST", "/initiatief/{svc}/gecontroleerd", {}, MODERATORS),
    ("POST", "/initiatief/{svc}/archiveren", {"reason": "test"}, MODERATORS),
    ("POST", "/initiatief/{svc}/terugzetten", {}, MODERATORS),
    ("GET", "/initiatief/{svc}/geschiedenis", {}, MODERATORS),
    ("POST", "/initiatief/{svc}/herstellen", {"upto": "1"}, MODERATORS),
    ("GET", "/initiatief/{svc}/intern", {}, MODERATORS | {"gebiedsteam"}),
    ("GET", "/beheer/verwijderen", {}, {"admin"}),
    ("POST", "/beheer/verwijderen", {"term": "niemand@example.org"}, {"admin"}),
    ("GET", "/api/v1/initiatives/{svc}", {}, MODERATORS | {"gebiedsteam"}),
    ("GET", "/redactie/behoeften", {}, MODERATORS),
    ("GET", "/redactie/vraag", {}, MODERATORS | {"gebiedsteam"}),
    ("GET", "/volgen", {}, MODERATORS | {"gebiedsteam"}),
]


def _version(conn: Connection, service_id: uuid.UUID) -> tuple[int, str]:
    row = conn.execute(text("SELECT version, status FROM service WHERE id = :i"),
                       {"i": service_id}).one()
    return row.version, row.status


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path", "data", "allowed"), ROUTES,
                         ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_scope_matrix(app: Flask, conn: Connection, world: dict[str, Any], role: str,
                      method: str, path: str, data: dict[str, str], allowed: set[str]) -> None:
    """Every staff route, for every role, on a record in Stein and one in Leudal."""
    client = app.test_client()
    staff: Staff | None = world["users"].get(role)
    if staff is not None:
        session_into(client, conn, staff)
    else:
        with_csrf(client)
    for gemeente in (STEIN, LEUDAL):
        url = path.format(svc=world["svc"][gemeente], sub=world["sub"][gemeente])
        before = _version(conn, world["svc"][gemeente])
        if method == "GET":
            resp = client.get(url)
        else:
            resp = client.post(url, data={**data, "csrf_token": CSRF})
        may = staff is not None and staff.role in allowed and (
            staff.role == "admin" or "{" not in path or gemeente == {
                "gebiedsteam_stein": STEIN, "editor_stein": STEIN,
                "editor_leudal": LEUDAL}[role])
        label = f"{role} {method} {path} on {gemeente}: {resp.status_code}"
        if path.startswith("/api/"):
            # The API answers everyone, but private contacts only to staff in scope.
            assert resp.status_code == 200, label
            assert (PRIVATE_NAME in resp.get_data(True)) is may, label
            continue
        if staff is None:
            assert resp.status_code == 302 and "/inloggen" in resp.headers["Location"], label
        elif may:
            assert resp.status_code in (200, 303, 400, 409), label
        else:
            assert resp.status_code == 403, label
            assert _version(conn, world["svc"][gemeente]) == before, label
            assert PRIVATE_NAME not in resp.get_data(True), label
