"""Needs (behoeften) and support: posting without an account on the kern page and through the
API, personal data refused, moderation by the gemeente's editors, showing on the kern page and
in the kern's JSON without personal data, one count per browser cookie (stored only as an HMAC),
the rate limit, and plans (status 'proposed') with their support, outside search, HSDS and the
gap coverage."""
from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from socialmap.services import needs as svc

from .staff import LEUDAL, STEIN, Staff, form_token, make_user, session_into

MEERS, ROGGEL = "GM0971-meers", "GM1640-roggel"
ADDR = "198.51.100.77"


def voter_cookie(app: Flask) -> str:
    """'__Host-voter' with secure cookies (the default), 'voter' for local http."""
    return "__Host-voter" if app.config["SESSION_COOKIE_SECURE"] else "voter"


@pytest.fixture
def resident(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def editor(conn: Connection) -> Staff:
    return make_user(conn, "red@stein.nl", "editor", (STEIN,), name="Redactie Stein")


@pytest.fixture
def desk(app: Flask, conn: Connection, editor: Staff) -> FlaskClient:
    client = app.test_client()
    session_into(client, conn, editor)
    return client


def post_need(client: FlaskClient, kern: str = MEERS, addr: str = ADDR,
              **data: Any) -> Any:
    """A need through the form on the kern page."""
    page = client.get(f"/kern/{kern}")
    assert page.status_code == 200, page.get_data(True)[:500]
    form = {"category": "vervoer", "audience": "ouderen",
            "text": "Geen busje meer naar de huisarts in Stein sinds de lijn stopte.",
            "csrf_token": form_token(page.get_data(True)), **data}
    return client.post(f"/kern/{kern}/behoefte", data=form, environ_base={"REMOTE_ADDR": addr})


def need_row(conn: Connection) -> Any:
    return conn.execute(text("SELECT * FROM need ORDER BY created_at DESC LIMIT 1")).one()


def approve(desk: FlaskClient, need_id: uuid.UUID, decision: str = "approved",
            reason: str = "") -> Any:
    page = desk.get("/redactie/behoeften")
    return desk.post(f"/redactie/behoefte/{need_id}",
                     data={"decision": decision, "reason": reason,
                           "csrf_token": form_token(page.get_data(True))})


def approved_need(resident: FlaskClient, desk: FlaskClient, conn: Connection) -> uuid.UUID:
    assert post_need(resident).status_code == 303
    need_id = need_row(conn).id
    assert approve(desk, need_id).status_code == 303
    return need_id


def support(client: FlaskClient, need_id: uuid.UUID, kind: str = "need",
            addr: str = ADDR) -> Any:
    page = client.get(f"/kern/{MEERS}")
    return client.post(f"/behoefte/{need_id}/steun",
                       data={"kind": kind, "csrf_token": form_token(page.get_data(True))},
                       environ_base={"REMOTE_ADDR": addr})


def counts(conn: Connection, need_id: uuid.UUID) -> dict[str, int]:
    rows = conn.execute(text("SELECT kind, count(*) FROM support WHERE need_id = :n "
                             "GROUP BY kind"), {"n": need_id}).tuples().all()
    return {"need": 0, "help": 0, **dict(rows)}


# --- posting -----------------------------------------------------------------------------------

def test_the_kern_page_has_a_need_form_that_works_without_javascript(
        resident: FlaskClient) -> None:
    resp = resident.get(f"/kern/{MEERS}")
    html = resp.get_data(True)
    assert resp.status_code == 200
    assert 'id="behoeften"' in html and "Wat inwoners missen in Meers" in html
    assert f'action="/kern/{MEERS}/behoefte"' in html
    for name in ("category", "audience", "text", "csrf_token", "homepage"):
        assert f'name="{name}"' in html
    assert resp.headers["Cache-Control"] == "no-store"  # a CSRF token and live counts


def test_a_need_is_stored_pending_without_anything_about_the_poster(
        resident: FlaskClient, conn: Connection) -> None:
    resp = post_need(resident)
    assert resp.status_code == 303
    assert urlsplit(resp.headers["Location"]).query == "behoefte=ontvangen"
    row = need_row(conn)
    assert row.status == "pending" and row.kern_code == MEERS
    assert row.text.startswith("Geen busje meer")
    assert set(row._mapping) == {"id", "kern_code", "category_id", "audience_id", "text",
                                 "status", "reason", "created_at", "decided_at", "decided_by"}
    assert ADDR not in str(row._mapping)
    # The bucket of the rate limit holds an HMAC, never the address.
    keys = conn.execute(text("SELECT key FROM rate_bucket WHERE scope = 'need'")).scalars().all()
    assert len(keys) == 1 and re.fullmatch(r"[0-9a-f]{64}", keys[0])
    assert "198.51.100" not in conn.execute(
        text("SELECT string_agg(t::text, ' ') FROM rate_bucket t")).scalar_one()
    # Not public before an editor approves it.
    page = resident.get(f"/kern/{MEERS}?behoefte=ontvangen").get_data(True)
    assert "Geen busje meer" not in page and "De redactie van de gemeente leest" in page
    assert "Geen busje" not in resident.get(f"/api/v1/kernen/{MEERS}").get_data(True)


@pytest.mark.parametrize(("text_", "message"), [
    ("Bel me op 06-12345678 als er iets komt", "Zet geen telefoonnummer in de tekst"),
    ("Bel me op 046 - 123 45 67", "Zet geen telefoonnummer in de tekst"),
    ("Mail naar jan.jansen@example.org voor info", "Zet geen e-mailadres in de tekst"),
    ("Mail naar jan (at) example . org", "Zet geen e-mailadres in de tekst"),
    ("kort", "Dit is te kort"),
    ("", "Vul dit in."),
])
def test_personal_data_and_bad_text_are_refused_in_dutch(
        resident: FlaskClient, conn: Connection, text_: str, message: str) -> None:
    resp = post_need(resident, text=text_)
    html = resp.get_data(True)
    assert resp.status_code == 400
    assert message in html and 'aria-invalid="true"' in html
    assert conn.execute(text("SELECT count(*) FROM need")).scalar_one() == 0


def test_a_postcode_or_a_year_is_not_taken_for_a_phone_number() -> None:
    assert svc.personal_data("Sinds 2024 geen pinautomaat meer in 6171 AB") is None
    assert svc.personal_data("Een bus om 8.15 en 17.30 uur") is None
    assert svc.personal_data("+31 6 1234 5678") == "phone"


def test_unknown_category_and_honeypot(resident: FlaskClient, conn: Connection) -> None:
    resp = post_need(resident, category="casino")
    assert resp.status_code == 400 and "Kies een van de mogelijkheden" in resp.get_data(True)
    assert post_need(resident, homepage="https://spam.example").status_code == 303
    assert conn.execute(text("SELECT count(*) FROM need")).scalar_one() == 0
    assert resident.get("/kern/GM0971-nergens/behoefte").status_code == 404


def test_the_api_takes_a_need_as_json(client: FlaskClient, conn: Connection) -> None:
    resp = client.post(f"/api/v1/kernen/{MEERS}/needs",
                       json={"category": "ontmoeting", "text": "Een plek om samen te eten."})
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["status"] == "pending" and body["kern"] == MEERS
    assert need_row(conn).id == uuid.UUID(body["id"])
    bad = client.post(f"/api/v1/kernen/{MEERS}/needs",
                      json={"category": "ontmoeting", "text": "Bel 0612345678 graag!"})
    assert bad.status_code == 400
    assert bad.get_json()["error"]["field"] == "text"
    assert bad.get_json()["error"]["fields"] == {"text": "personal_phone"}
    unknown = client.post(f"/api/v1/kernen/{MEERS}/needs", json={"name": "Jan"})
    assert unknown.status_code == 400 and unknown.get_json()["error"]["field"] == "name"
    form = client.post(f"/api/v1/kernen/{MEERS}/needs", data={"category": "ontmoeting"})
    assert form.status_code == 415
    assert form.get_json()["error"]["code"] == "unsupported_media_type"
    missing = client.post("/api/v1/kernen/GM0971-nergens/needs",
                          json={"category": "ontmoeting", "text": "Een plek om te eten."})
    assert missing.status_code == 404 and missing.get_json()["error"]["field"] == "code"
    assert conn.execute(text("SELECT count(*) FROM need")).scalar_one() == 1


def test_posting_is_rate_limited(client: FlaskClient, conn: Connection) -> None:
    statuses = [client.post(f"/api/v1/kernen/{MEERS}/needs",
                            json={"category": "ontmoeting", "text": f"Behoefte nummer {i}."},
                            environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code
                for i in range(6)]
    assert statuses == [201] * 5 + [429]
    assert conn.execute(text("SELECT count(*) FROM need")).scalar_one() == 5


# --- moderation and showing ------------------------------------------------------------------

def test_editors_decide_on_needs_in_their_gemeenten_only(
        resident: FlaskClient, desk: FlaskClient, conn: Connection, app: Flask) -> None:
    post_need(resident, text="Niemand doet de boodschappen voor mijn buurvrouw meer.")
    meers = need_row(conn).id
    post_need(resident, kern=ROGGEL, text="Geen ontmoetingsplek in Roggel na sluiting.")
    roggel = need_row(conn).id
    html = desk.get("/redactie/behoeften").get_data(True)
    assert "Niemand doet de boodschappen" in html and "Roggel na sluiting" not in html
    assert approve(desk, roggel).status_code == 403
    # Rejecting needs a reason; the decision is kept with who made it.
    refused = approve(desk, meers, "rejected")
    assert refused.status_code == 400 and "Schrijf waarom" in refused.get_data(True)
    assert conn.execute(text("SELECT status FROM need WHERE id = :i"),
                        {"i": meers}).scalar_one() == "pending"
    assert approve(desk, meers, "rejected", "Gaat over één persoon").status_code == 303
    row = conn.execute(text("SELECT * FROM need WHERE id = :i"), {"i": meers}).one()
    assert row.status == "rejected" and row.reason == "Gaat over één persoon"
    assert row.decided_by is not None and row.decided_at is not None
    assert approve(desk, meers, "approved").status_code == 409  # already decided
    admin = app.test_client()
    session_into(admin, conn, make_user(conn, "beheer@gemeente.nl", "admin"))
    assert "Roggel na sluiting" in admin.get("/redactie/behoeften").get_data(True)
    leudal = app.test_client()
    session_into(leudal, conn, make_user(conn, "team@leudal.nl", "gebiedsteam", (LEUDAL,)))
    assert leudal.get("/redactie/behoeften").status_code == 403


def test_an_approved_need_is_public_without_personal_data_and_can_be_resolved(
        resident: FlaskClient, desk: FlaskClient, conn: Connection) -> None:
    need_id = approved_need(resident, desk, conn)
    html = resident.get(f"/kern/{MEERS}").get_data(True)
    assert "Geen busje meer naar de huisarts" in html
    assert f'id="behoefte-{need_id}"' in html and "Ik heb dit ook nodig" in html
    assert "Redactie Stein" not in html and "red@stein.nl" not in html
    body = resident.get(f"/api/v1/kernen/{MEERS}").get_json()["properties"]
    (need,) = body["needs"]
    assert need["id"] == str(need_id) and need["category"]["code"] == "vervoer"
    assert need["audience"]["code"] == "ouderen"
    assert need["support"] == {"need": 0, "help": 0}
    assert set(need) == {"id", "kern", "text", "status", "category", "audience", "created_at",
                         "support"}  # no reason, no editor, no time of day
    listed = resident.get(f"/api/v1/kernen/{MEERS}/needs").get_json()
    assert [n["id"] for n in listed["needs"]] == [str(need_id)]
    assert approve(desk, need_id, "resolved", "Er rijdt nu een buurtbus").status_code == 303
    body = resident.get(f"/api/v1/kernen/{MEERS}").get_json()["properties"]
    assert body["needs"] == [] and [n["id"] for n in body["resolved"]] == [str(need_id)]
    assert support(resident, need_id).status_code == 409  # a resolved need takes no support


# --- support -----------------------------------------------------------------------------------

def test_one_count_per_cookie_and_a_new_cookie_counts_again(
        resident: FlaskClient, desk: FlaskClient, conn: Connection, app: Flask) -> None:
    need_id = approved_need(resident, desk, conn)
    first = support(resident, need_id)
    assert first.status_code == 303
    assert urlsplit(first.headers["Location"]).query == "steun=geteld"
    cookie = resident.get_cookie(voter_cookie(app))
    assert cookie is not None and len(cookie.value) >= 30
    set_cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and "Max-Age=" in set_cookie
    assert "Secure" in set_cookie and set_cookie.startswith("__Host-voter=")
    again = support(resident, need_id)
    assert urlsplit(again.headers["Location"]).query == "steun=al"
    assert "voter" not in again.headers.get("Set-Cookie", "")
    assert counts(conn, need_id) == {"need": 1, "help": 0}
    # "Ik wil helpen" is a second, separate count for the same browser.
    support(resident, need_id, "help")
    assert counts(conn, need_id) == {"need": 1, "help": 1}
    # Another browser (a new cookie) counts again.
    other = app.test_client()
    support(other, need_id)
    assert counts(conn, need_id) == {"need": 2, "help": 1}
    # Only HMACs are stored: neither the token nor the address is in the rows.
    rows = conn.execute(text("SELECT * FROM support WHERE need_id = :n"), {"n": need_id}).all()
    assert set(rows[0]._mapping) == {"id", "need_id", "service_id", "kind", "voter_hash",
                                     "created_at"}
    dump = " ".join(str(r._mapping) for r in rows)
    assert cookie.value not in dump and ADDR not in dump
    assert all(re.fullmatch(r"[0-9a-f]{64}", r.voter_hash) for r in rows)
    assert rows[0].voter_hash == svc.voter_hash("test-secret", cookie.value, f"need:{need_id}")
    html = resident.get(f"/kern/{MEERS}?steun=al").get_data(True)
    assert "2 mensen hebben dit ook nodig" in html and "1 persoon wil helpen" in html
    assert "U had dit al aangegeven" in html


def test_the_api_counts_once_per_cookie(resident: FlaskClient, desk: FlaskClient,
                                        conn: Connection, app: Flask) -> None:
    need_id = approved_need(resident, desk, conn)
    api = app.test_client()
    first = api.post(f"/api/v1/needs/{need_id}/support", json={"kind": "help"})
    assert first.status_code == 200
    assert first.get_json() == {"counted": True, "support": {"need": 0, "help": 1}}
    second = api.post(f"/api/v1/needs/{need_id}/support", json={"kind": "help"})
    assert second.get_json() == {"counted": False, "support": {"need": 0, "help": 1}}
    fresh = app.test_client().post(f"/api/v1/needs/{need_id}/support", json={"kind": "help"})
    assert fresh.get_json()["support"] == {"need": 0, "help": 2}
    # A forged or foreign cookie value is replaced by a new token, not trusted.
    odd = app.test_client()
    odd.set_cookie(voter_cookie(app), "<script>")
    assert odd.post(f"/api/v1/needs/{need_id}/support",
                    json={"kind": "help"}).get_json()["counted"] is True
    bad = api.post(f"/api/v1/needs/{need_id}/support", json={"kind": "vote"})
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "kind"
    assert api.post(f"/api/v1/needs/{uuid.uuid4()}/support",
                    json={"kind": "need"}).status_code == 404
    assert api.post("/api/v1/needs/not-a-uuid/support", json={"kind": "need"}).status_code == 400


def test_a_pending_need_takes_no_support(resident: FlaskClient, conn: Connection) -> None:
    post_need(resident)
    need_id = need_row(conn).id
    resp = resident.post(f"/api/v1/needs/{need_id}/support", json={"kind": "need"})
    assert resp.status_code == 404
    assert conn.execute(text("SELECT count(*) FROM support")).scalar_one() == 0


def test_support_is_rate_limited_per_client(resident: FlaskClient, desk: FlaskClient,
                                            conn: Connection, app: Flask) -> None:
    need_id = approved_need(resident, desk, conn)
    limit = int(svc.SUPPORT_LIMIT[0])
    statuses = [app.test_client().post(f"/api/v1/needs/{need_id}/support", json={"kind": "need"},
                                       environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code
                for _ in range(limit + 1)]
    assert statuses == [200] * limit + [429]
    assert counts(conn, need_id)["need"] == limit
    assert app.test_client().post(f"/api/v1/needs/{need_id}/support", json={"kind": "need"},
                                  environ_base={"REMOTE_ADDR": "203.0.113.10"}).status_code == 200
    dump = conn.execute(text("SELECT string_agg(t::text, ' ') FROM rate_bucket t")).scalar_one()
    assert "203.0.113" not in dump


def test_support_form_needs_the_csrf_token(resident: FlaskClient, desk: FlaskClient,
                                           conn: Connection) -> None:
    need_id = approved_need(resident, desk, conn)
    resp = resident.post(f"/behoefte/{need_id}/steun", data={"kind": "need"})
    assert resp.status_code == 403
    assert counts(conn, need_id)["need"] == 0


def test_purge_deletes_old_rejected_needs(conn: Connection) -> None:
    from datetime import timedelta

    from sqlalchemy.orm import Session

    from socialmap.services.auth import utcnow

    term = conn.execute(text("SELECT id FROM taxonomy_term WHERE code = 'vervoer'")).scalar_one()
    old = utcnow() - timedelta(days=200)
    conn.execute(text(
        "INSERT INTO need (kern_code, category_id, text, status, reason, created_at, "
        "decided_at) VALUES (:k, :t, 'Oude afgewezen behoefte', 'rejected', 'dubbel', :o, :o),"
        " (:k, :t, 'Recent afgewezen', 'rejected', 'dubbel', now(), now())"),
        {"k": MEERS, "t": term, "o": old})
    with Session(bind=conn, join_transaction_mode="create_savepoint") as s:
        done = svc.purge_expired(s)
        s.commit()
    assert done["rejected_needs_deleted"] == 1
    assert conn.execute(text("SELECT text FROM need")).scalars().all() == ["Recent afgewezen"]


def test_a_kern_shows_its_needs_per_status_most_supported_first(conn: Connection) -> None:
    """One statement gives each status its own limit and order: most support first, then the
    newest."""
    from datetime import timedelta

    from socialmap.queries import needs as q
    from socialmap.services.auth import utcnow

    term = conn.execute(text("SELECT id FROM taxonomy_term WHERE code = 'vervoer'")).scalar_one()
    now = utcnow()
    ids = {}
    for name, status, age in (("a1", "approved", 3), ("a2", "approved", 2),
                              ("a3", "approved", 1), ("r1", "resolved", 3),
                              ("r2", "resolved", 2), ("p1", "pending", 1)):
        ids[name] = conn.execute(text(
            "INSERT INTO need (kern_code, category_id, text, status, created_at) "
            "VALUES (:k, :t, :x, :s, :c) RETURNING id"),
            {"k": MEERS, "t": term, "x": f"Behoefte {name} in Meers", "s": status,
             "c": now - timedelta(days=age)}).scalar_one()
    conn.execute(text("INSERT INTO support (need_id, kind, voter_hash) VALUES "
                      "(:n, 'need', 'x1'), (:n, 'help', 'x2')"), {"n": ids["a1"]})
    found = q.kern_needs(conn, MEERS, {"approved": 2, "resolved": 20})
    assert [r.text for r in found["approved"]] == ["Behoefte a1 in Meers",
                                                   "Behoefte a3 in Meers"]
    assert [r.text for r in found["resolved"]] == ["Behoefte r2 in Meers",
                                                   "Behoefte r1 in Meers"]
    assert set(found) == {"approved", "resolved"}
    assert found["approved"][0].need_count == 1 and found["approved"][0].help_count == 1
