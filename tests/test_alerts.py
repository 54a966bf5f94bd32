"""Alerts for area teams: following a kern or a gemeente within one's gemeenten, the Atom feed
by secret token (valid Atom, only what the subscriber may see), token rotation, unsubscribing,
and digest e-mails sent to a local SMTP test server started here (never anywhere else)."""
from __future__ import annotations

import hashlib
import re
import socket
import uuid
from collections.abc import Iterator
from dataclasses import replace
from email import message_from_bytes
from email.message import Message
from typing import Any
from xml.etree import ElementTree as ET

import feedparser
import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from socialmap import create_app
from socialmap.config import Settings

from .staff import CSRF, LEUDAL, STEIN, Staff, make_user, plant, session_into

MEERS = "GM0971-meers"
ATOM = "{http://www.w3.org/2005/Atom}"
JSON = {"Accept": "application/json"}


def signed_in(app: Flask, conn: Connection, staff: Staff) -> FlaskClient:
    client = app.test_client()
    session_into(client, conn, staff)
    return client


def follow(client: FlaskClient, **form: str) -> Any:
    return client.post("/volgen", data={"csrf_token": CSRF, **form})


def new_token(client: FlaskClient) -> str:
    """The feed link shown once after following or rotating."""
    html = client.get("/volgen").get_data(as_text=True)
    found = re.search(r'/volgen/feed\?token=([A-Za-z0-9_-]+)', html)
    assert found, "no feed link on the page"
    return found.group(1)


def meers_services(conn: Connection, n: int) -> list[uuid.UUID]:
    """Seed initiatives located in Meers."""
    return list(conn.execute(text(
        "SELECT DISTINCT sal.service_id FROM service_at_location sal "
        "JOIN location l ON l.id = sal.location_id JOIN service s ON s.id = sal.service_id "
        "WHERE l.kern_code = :k AND s.status = 'active' ORDER BY 1 LIMIT :n"),
        {"k": MEERS, "n": n}).scalars())


@pytest.fixture
def team(conn: Connection) -> Staff:
    return make_user(conn, "team@stein.example", "gebiedsteam", (STEIN,), totp=False,
                     name="Team Stein")


@pytest.fixture
def happenings(conn: Connection) -> dict[str, Any]:
    """In Meers: a new initiative (private address, private contact), a changed one, an
    archived one and an approved need; in Leudal a new one; a pending need in Meers."""
    conn.execute(text("SELECT set_config('socialmap.actor', 'test', true)"))
    # Two seed initiatives, chosen before the new one exists (its random id could be among them).
    changed, archived = meers_services(conn, 2)
    new = plant(conn, "Nieuwe Buurtkamer Meers", MEERS, location_type="private",
                address="Privéstraat 9")
    contact = conn.execute(text(
        "INSERT INTO contact (service_id, name, email, is_private) VALUES "
        "(:s, 'Geheime Gerda', 'gerda@prive.example', true) RETURNING id"),
        {"s": new.id}).scalar_one()
    conn.execute(text("INSERT INTO phone (contact_id, number) VALUES (:c, '06-12345678')"),
                 {"c": contact})
    conn.execute(text("UPDATE service SET description = 'Nu ook op zondag', "
                      "status = 'temporarily closed' WHERE id = :s"), {"s": changed})
    conn.execute(text("INSERT INTO service_archive (service_id, previous_status, reason, "
                      "archived_by) VALUES (:s, 'active', 'Vrijwilliger Jan is ziek', 'x')"),
                 {"s": archived})
    conn.execute(text("UPDATE service SET status = 'inactive' WHERE id = :s"), {"s": archived})
    elsewhere = plant(conn, "Buurtkamer Heythuysen", "GM1640-heythuysen")
    for status, words in (("approved", "Vervoer naar de huisarts in Roermond"),
                          ("pending", "Nog niet beoordeeld verzoek")):
        conn.execute(text(
            "INSERT INTO need (kern_code, category_id, text, status, decided_at) VALUES "
            "(:k, (SELECT id FROM taxonomy_term WHERE code = 'vervoer'), :t, cast(:s AS text), "
            " CASE WHEN cast(:s AS text) = 'approved' THEN now() END)"),
            {"k": MEERS, "t": words, "s": status})
    names = dict(conn.execute(text("SELECT id, name FROM service WHERE id = ANY(:i)"),
                              {"i": [changed, archived]}).all())
    return {"new": new, "changed": changed, "archived": archived, "elsewhere": elsewhere,
            "names": names}


def read_feed(app: Flask, token: str) -> Any:
    """The feed as a reader without a session fetches it."""
    return app.test_client().get(f"/volgen/feed?token={token}")


def test_follow_shows_token_once_and_stores_only_its_hash(app: Flask, conn: Connection,
                                                          team: Staff) -> None:
    client = signed_in(app, conn, team)
    resp = follow(client, kern=MEERS, digest="daily")
    assert resp.status_code == 303
    token = new_token(client)
    # Shown once: the next visit has no link any more.
    assert "token=" not in client.get("/volgen").get_data(as_text=True)
    row = conn.execute(text("SELECT * FROM subscription WHERE user_id = :u"),
                       {"u": team.id}).mappings().one()
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(dict(row))
    assert row["kern_code"] == MEERS and row["digest"] == "daily"


def test_feed_content_and_privacy(app: Flask, conn: Connection, team: Staff,
                                  happenings: dict[str, Any]) -> None:
    client = signed_in(app, conn, team)
    follow(client, kern=MEERS)
    resp = read_feed(app, new_token(client))
    assert resp.status_code == 200
    assert resp.mimetype == "application/atom+xml"
    body = resp.get_data()
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "Wat er verandert in Meers (Stein (L.))"
    root = ET.fromstring(body)
    assert root.tag == f"{ATOM}feed"
    for entry in root.findall(f"{ATOM}entry"):
        for tag in ("id", "title", "updated", "link", "summary"):
            assert entry.find(f"{ATOM}{tag}") is not None
    titles = [e.title for e in parsed.entries]
    names = happenings["names"]
    assert "Nieuw: Nieuwe Buurtkamer Meers" in titles
    assert f"Gewijzigd: {names[happenings['changed']]}" in titles
    assert f"Gearchiveerd: {names[happenings['archived']]}" in titles
    assert "Nieuwe behoefte in Meers: vervoer" in titles
    changed = next(e for e in parsed.entries
                   if e.title == f"Gewijzigd: {names[happenings['changed']]}")
    assert "beschrijving" in changed.summary and "tijdelijk gesloten" in changed.summary
    assert changed.link.endswith(f"/initiatief/{happenings['changed']}/intern")
    text_of_feed = body.decode()
    # Nothing outside the kern, nothing pending, no values of private data, no reasons.
    assert "Heythuysen" not in text_of_feed
    assert "Nog niet beoordeeld" not in text_of_feed
    for secret in ("Geheime Gerda", "gerda@prive.example", "06-12345678", "Privéstraat",
                   "Vrijwilliger Jan", "Nu ook op zondag"):
        assert secret not in text_of_feed
    assert "contactpersonen" in text_of_feed  # the change is named, not shown


def test_gemeente_feed_and_scope(app: Flask, conn: Connection, team: Staff,
                                 happenings: dict[str, Any]) -> None:
    client = signed_in(app, conn, team)
    assert follow(client, gemeente=STEIN).status_code == 303
    parsed = feedparser.parse(read_feed(app, new_token(client)).get_data())
    assert "Nieuw: Nieuwe Buurtkamer Meers" in [e.title for e in parsed.entries]
    assert all("Heythuysen" not in e.title for e in parsed.entries)
    # Leudal is not this team's gemeente; an admin may follow it.
    resp = client.post("/volgen", data={"csrf_token": CSRF, "gemeente": LEUDAL}, headers=JSON)
    assert resp.status_code == 403 and resp.get_json()["error"]["field"] == "gemeente"
    page = follow(client, gemeente=LEUDAL)
    assert page.status_code == 403
    assert "Deze plek ligt buiten uw gemeenten." in page.get_data(as_text=True)
    admin = make_user(conn, "admin@example.org", "admin")
    admin_client = signed_in(app, conn, admin)
    assert follow(admin_client, gemeente=LEUDAL).status_code == 303
    parsed = feedparser.parse(read_feed(app, new_token(admin_client)).get_data())
    assert "Nieuw: Buurtkamer Heythuysen" in [e.title for e in parsed.entries]


def test_feed_stops_for_disabled_account_and_lost_gemeente(app: Flask, conn: Connection,
                                                           team: Staff) -> None:
    client = signed_in(app, conn, team)
    follow(client, kern=MEERS)
    token = new_token(client)
    assert read_feed(app, token).status_code == 200
    conn.execute(text("DELETE FROM user_gemeente WHERE user_id = :u"), {"u": team.id})
    assert read_feed(app, token).status_code == 403
    conn.execute(text("INSERT INTO user_gemeente VALUES (:u, :g)"), {"u": team.id, "g": STEIN})
    conn.execute(text("UPDATE app_user SET is_active = false WHERE id = :u"), {"u": team.id})
    assert read_feed(app, token).status_code == 404


def test_rotate_and_unsubscribe(app: Flask, conn: Connection, team: Staff) -> None:
    client = signed_in(app, conn, team)
    follow(client, kern=MEERS)
    old = new_token(client)
    sub_id = conn.execute(text("SELECT id FROM subscription WHERE user_id = :u"),
                          {"u": team.id}).scalar_one()
    resp = client.post(f"/volgen/{sub_id}/nieuwe-link", data={"csrf_token": CSRF})
    assert resp.status_code == 303
    new = new_token(client)
    assert new != old
    assert read_feed(app, old).status_code == 404
    assert read_feed(app, new).status_code == 200
    resp = client.post(f"/volgen/{sub_id}/samenvatting", data={"csrf_token": CSRF,
                                                               "digest": "none"})
    assert resp.status_code == 303
    assert conn.execute(text("SELECT digest FROM subscription WHERE id = :i"),
                        {"i": sub_id}).scalar_one() == "none"
    resp = client.post(f"/volgen/{sub_id}/opzeggen", data={"csrf_token": CSRF})
    assert resp.status_code == 303
    assert read_feed(app, new).status_code == 404
    # Someone else's (or a gone) subscription is not found.
    resp = client.post(f"/volgen/{sub_id}/opzeggen", data={"csrf_token": CSRF}, headers=JSON)
    assert resp.status_code == 404 and resp.get_json()["error"]["field"] == "id"


@pytest.mark.parametrize(("form", "status", "field"), [
    ({"kern": "GM0971-nergens"}, 400, "kern"),
    ({"gemeente": "Stein"}, 400, "gemeente"),
    ({"gemeente": "GM9999"}, 400, "gemeente"),
    ({}, 400, "kern"),
    ({"kern": MEERS, "gemeente": STEIN}, 400, "kern"),
    ({"kern": MEERS, "digest": "hourly"}, 400, "digest"),
    ({"kern": "x" * 500}, 400, "kern"),
])
def test_follow_bad_input(app: Flask, conn: Connection, team: Staff, form: dict[str, str],
                          status: int, field: str) -> None:
    client = signed_in(app, conn, team)
    resp = client.post("/volgen", data={"csrf_token": CSRF, **form}, headers=JSON)
    assert resp.status_code == status
    assert resp.get_json()["error"]["field"] == field
    page = follow(client, **form)
    assert page.status_code == status
    assert 'class="error-summary"' in page.get_data(as_text=True)
    assert conn.execute(text("SELECT count(*) FROM subscription WHERE user_id = :u"),
                        {"u": team.id}).scalar_one() == 0


def test_other_bad_input(app: Flask, conn: Connection, team: Staff) -> None:
    client = signed_in(app, conn, team)
    follow(client, kern=MEERS)
    resp = client.post("/volgen", data={"csrf_token": CSRF, "kern": MEERS}, headers=JSON)
    assert resp.status_code == 409 and resp.get_json()["error"]["field"] == "kern"
    sub_id = conn.execute(text("SELECT id FROM subscription WHERE user_id = :u"),
                          {"u": team.id}).scalar_one()
    resp = client.post(f"/volgen/{sub_id}/samenvatting",
                       data={"csrf_token": CSRF, "digest": "soms"}, headers=JSON)
    assert resp.status_code == 400 and resp.get_json()["error"]["field"] == "digest"
    resp = client.post("/volgen/geen-id/opzeggen", data={"csrf_token": CSRF}, headers=JSON)
    assert resp.status_code == 400 and resp.get_json()["error"]["field"] == "id"
    resp = client.post("/volgen", data={"kern": MEERS}, headers=JSON)
    assert resp.status_code == 403 and resp.get_json()["error"]["field"] == "csrf_token"
    for query in ("", "?token=", "?token=onbekend", "?token=" + "x" * 500):
        resp = app.test_client().get(f"/volgen/feed{query}", headers=JSON)
        assert resp.status_code == 404 and resp.get_json()["error"]["field"] == "token"
    anonymous = app.test_client()
    with anonymous.session_transaction() as sess:
        sess["csrf"] = CSRF
    resp = anonymous.post("/volgen", data={"csrf_token": CSRF, "kern": MEERS}, headers=JSON)
    assert resp.status_code == 401


def test_kern_page_has_follow_button(app: Flask, conn: Connection, team: Staff) -> None:
    html = signed_in(app, conn, team).get(f"/kern/{MEERS}").get_data(as_text=True)
    assert 'action="/volgen"' in html and f'value="{MEERS}"' in html
    other = signed_in(app, conn, team).get("/kern/GM1640-heythuysen").get_data(as_text=True)
    assert 'action="/volgen"' not in other
    assert 'action="/volgen"' not in app.test_client().get(f"/kern/{MEERS}").get_data(True)


# --- digest e-mails against a local SMTP server ------------------------------------------

class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_digest_sent_to_local_smtp(settings: Settings, conn: Connection, team: Staff,
                                   happenings: dict[str, Any],
                                   smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    app = create_app(replace(settings, smtp_host="127.0.0.1", smtp_port=port,
                             smtp_from="kaart@gemeente.example",
                             site_url="https://kaart.example"), bind=conn)
    client = signed_in(app, conn, team)
    follow(client, kern=MEERS, digest="daily")
    follow(client, gemeente=STEIN, digest="none")
    # Made two days ago, so the daily digest is due; the changes are newer.
    conn.execute(text("UPDATE subscription SET created_at = now() - interval '2 days' "
                      "WHERE user_id = :u"), {"u": team.id})
    result = app.test_cli_runner().invoke(args=["alerts", "send-digests"])
    assert result.exit_code == 0, result.output
    assert "1 due, 1 sent" in result.output
    assert len(inbox.messages) == 1
    rcpt, msg = inbox.messages[0]
    assert rcpt == ["team@stein.example"]
    assert msg["Subject"] == "Wat er veranderde in Meers (Stein (L.))"
    assert msg["From"] == "kaart@gemeente.example"
    body = msg.get_payload(decode=True).decode()
    assert "Beste Team Stein," in body
    assert "Nieuw: Nieuwe Buurtkamer Meers" in body
    assert "Nieuwe behoefte in Meers: vervoer" in body
    assert "https://kaart.example/volgen" in body
    for secret in ("Geheime Gerda", "06-12345678", "Privéstraat", "Heythuysen"):
        assert secret not in body
    assert conn.execute(text("SELECT count(*) FROM subscription WHERE user_id = :u "
                             "AND last_digest_at IS NOT NULL"), {"u": team.id}).scalar_one() == 1
    # Not due again until tomorrow.
    again = app.test_cli_runner().invoke(args=["alerts", "send-digests"])
    assert "0 due, 0 sent" in again.output
    assert len(inbox.messages) == 1


def test_digest_skips_disabled_account(settings: Settings, conn: Connection, team: Staff,
                                       happenings: dict[str, Any],
                                       smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    app = create_app(replace(settings, smtp_host="127.0.0.1", smtp_port=port), bind=conn)
    follow(signed_in(app, conn, team), kern=MEERS, digest="weekly")
    conn.execute(text("UPDATE subscription SET created_at = now() - interval '8 days' "
                      "WHERE user_id = :u"), {"u": team.id})
    conn.execute(text("UPDATE app_user SET is_active = false WHERE id = :u"), {"u": team.id})
    result = app.test_cli_runner().invoke(args=["alerts", "send-digests"])
    assert result.exit_code == 0 and "0 sent" in result.output
    assert inbox.messages == []


def test_digest_without_smtp_sends_nothing(app: Flask, conn: Connection, team: Staff,
                                           happenings: dict[str, Any]) -> None:
    follow(signed_in(app, conn, team), kern=MEERS, digest="daily")
    conn.execute(text("UPDATE subscription SET created_at = now() - interval '2 days' "
                      "WHERE user_id = :u"), {"u": team.id})
    result = app.test_cli_runner().invoke(args=["alerts", "send-digests"])
    assert result.exit_code == 0
    assert "No SMTP server configured" in result.output
    assert conn.execute(text("SELECT last_digest_at FROM subscription WHERE user_id = :u"),
                        {"u": team.id}).scalar_one() is None
