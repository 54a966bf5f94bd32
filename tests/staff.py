"""Helpers for the tests of accounts, submissions, moderation, history and privacy: staff users,
signing in (through the forms or straight into a session), CSRF tokens and planted records."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyotp
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from socialmap import create_app
from socialmap.config import Settings
from socialmap.services import auth

PASSWORD = "lange zin als wachtwoord 42"
STEIN, LEUDAL = "GM0971", "GM1640"
CSRF = "test-csrf-token"


@dataclass
class Staff:
    """A staff account made for a test."""

    id: uuid.UUID
    email: str
    role: str
    totp_secret: str | None
    display_name: str


def make_user(conn: Connection, email: str, role: str, gemeenten: tuple[str, ...] = (),
              totp: bool = True, name: str | None = None) -> Staff:
    """An account with the test password and, for admins and editors, TOTP already set up."""
    with Session(bind=conn, join_transaction_mode="create_savepoint") as s:
        user = auth.create_user(s, email, PASSWORD, role, gemeenten, name or email.split("@")[0],
                                cheap_hash=True)
        secret = None
        if totp:
            secret = pyotp.random_base32()
            user.totp_secret = secret
            user.totp_enabled_at = datetime.now(UTC)
        s.commit()
        return Staff(user.id, user.email, role, secret, user.display_name)


def session_into(client: FlaskClient, conn: Connection, staff: Staff,
                 second_factor: bool = True) -> None:
    """Sign the client in as `staff` without the forms (a session row and the cookie)."""
    token = f"test-{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    conn.execute(text(
        "INSERT INTO user_session (token_hash, user_id, created_at, last_seen_at, expires_at, "
        "second_factor_at) VALUES (:h, :u, :n, :n, :e, :f)"),
        {"h": auth.token_hash(token), "u": staff.id, "n": now, "e": now + timedelta(hours=2),
         "f": now if second_factor else None})
    with client.session_transaction() as sess:
        sess["sid"] = token
        sess["csrf"] = CSRF


def with_csrf(client: FlaskClient) -> str:
    """Give the client a known CSRF token and return it."""
    with client.session_transaction() as sess:
        sess.setdefault("csrf", CSRF)
        return sess["csrf"]


def form_token(html: str) -> str:
    """The CSRF token a page put in its form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


_used_steps: dict[str, int] = {}


def totp_code(secret: str) -> str:
    """A code the server accepts once: each call uses a later time step (within the window)."""
    totp = pyotp.TOTP(secret)
    step = int(datetime.now(UTC).timestamp()) // totp.interval
    use = max(step - 1, _used_steps.get(secret, step - 2) + 1)
    assert use <= step + 1, "more sign-ins of one user than the TOTP window allows"
    _used_steps[secret] = use
    return totp.at(use * totp.interval)


def sign_in(client: FlaskClient, staff: Staff, password: str = PASSWORD) -> None:
    """The whole sign-in through the forms, second factor included."""
    page = client.get("/inloggen")
    resp = client.post("/inloggen", data={"email": staff.email, "password": password,
                                          "csrf_token": form_token(page.get_data(True))})
    assert resp.status_code == 303, resp.get_data(True)[:500]
    if staff.totp_secret:
        page = client.get("/inloggen/code")
        resp = client.post("/inloggen/code", data={"code": totp_code(staff.totp_secret),
                                                   "csrf_token": form_token(page.get_data(True))})
        assert resp.status_code == 303, resp.get_data(True)[:500]


@dataclass
class Planted:
    """A service planted for a test, with its location."""

    id: uuid.UUID
    location_id: uuid.UUID
    name: str


def kern_point(conn: Connection, code: str) -> tuple[float, float]:
    row = conn.execute(text("SELECT ST_X(point), ST_Y(point) FROM kern WHERE code = :c"),
                       {"c": code}).one()
    return float(row[0]), float(row[1])


def plant(conn: Connection, name: str, kern_code: str, *, dx: float = 250, dy: float = 120,
          location_type: str = "physical", address: str | None = "Dorpsstraat 1",
          postal_code: str | None = None, assured: date | None = None,
          kind: str = "dorpshuis", actor: str = "test-setup") -> Planted:
    """A visible service at a point near the kern's point, in that kern."""
    x, y = kern_point(conn, kern_code)
    conn.execute(text("SELECT set_config('socialmap.actor', :a, true), "
                      "set_config('socialmap.source', 'sql', true)"), {"a": actor})
    sid = conn.execute(text(
        "INSERT INTO service (name, kind, status, description, assured_date) "
        "VALUES (:n, :k, 'active', :d, :a) RETURNING id"),
        {"n": name, "k": kind, "d": f"{name}: koffie en ontmoeting", "a": assured}).scalar_one()
    lid = conn.execute(text(
        "INSERT INTO location (name, location_type, precision, geom, kern_code, address, "
        "postal_code, city) VALUES (:n, :t, 'address', ST_SetSRID(ST_MakePoint(:x, :y), 28992), "
        ":k, :a, :p, 'Testdorp') RETURNING id"),
        {"n": name, "t": location_type, "x": x + dx, "y": y + dy, "k": kern_code,
         "a": address, "p": postal_code}).scalar_one()
    conn.execute(text("INSERT INTO service_at_location (service_id, location_id) "
                      "VALUES (:s, :l)"), {"s": sid, "l": lid})
    return Planted(sid, lid, name)


class Live:
    """An app on the committed test database (every request its own transaction, as in
    production), with the records and accounts it made removed again afterwards."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.app = create_app(settings)
        with engine.connect() as c:
            self.mark = c.execute(text("SELECT coalesce(max(id), 0) FROM change")).scalar_one()
        self.services: list[uuid.UUID] = []
        self.locations: list[uuid.UUID] = []
        self.users: list[uuid.UUID] = []

    def plant(self, name: str, kern_code: str, **kw: Any) -> Planted:
        """A service, committed in its own transaction."""
        with self.engine.begin() as c:
            rec = plant(c, name, kern_code, **kw)
        self.services.append(rec.id)
        self.locations.append(rec.location_id)
        return rec

    def user(self, email: str, role: str, gemeenten: tuple[str, ...] = (),
             name: str | None = None) -> Staff:
        with self.engine.begin() as c:
            staff = make_user(c, email, role, gemeenten, name=name)
        self.users.append(staff.id)
        return staff

    def client(self, staff: Staff) -> FlaskClient:
        """A browser signed in as `staff` (its session committed)."""
        client = self.app.test_client()
        with self.engine.begin() as c:
            session_into(client, c, staff)
        return client

    def execute(self, sql: str, **params: Any) -> Any:
        with self.engine.begin() as c:
            return c.execute(text(sql), params).all()

    def cleanup(self) -> None:
        """Remove what the test made, change-log rows included, without logging the removal."""
        with self.engine.begin() as c:
            c.execute(text("SELECT set_config('socialmap.audit', 'off', true)"))
            c.execute(text("DELETE FROM submission WHERE service_id = ANY(:s)"),
                      {"s": self.services})
            c.execute(text("DELETE FROM service WHERE id = ANY(:s)"), {"s": self.services})
            c.execute(text("DELETE FROM location WHERE id = ANY(:l)"), {"l": self.locations})
            c.execute(text("DELETE FROM app_user WHERE id = ANY(:u)"), {"u": self.users})
            c.execute(text("DELETE FROM change WHERE id > :m"), {"m": self.mark})
            c.execute(text("DELETE FROM rate_bucket"))
        self.app.extensions["socialmap.db"].engine.dispose()
