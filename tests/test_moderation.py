"""Moderation: the queue per editor's gemeenten, decisions per field with reasons, approving a
new initiative or a change, verification, records not verified for a year, the archive, and the
edit form."""
from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from socialmap.services.moderation import stale_before, today

from .staff import CSRF, LEUDAL, STEIN, Staff, form_token, make_user, plant, session_into


@pytest.fixture
def resident(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def editor(conn: Connection) -> Staff:
    return make_user(conn, "red@stein.nl", "editor", (STEIN,), name="Redactie Stein")


@pytest.fixture
def desk(app: Flask, conn: Connection, editor: Staff) -> FlaskClient:
    """The Stein editor's browser, signed in."""
    client = app.test_client()
    session_into(client, conn, editor)
    return client


def propose(client: FlaskClient, **extra: Any) -> str:
    """A resident's proposal through the form; returns its reference."""
    data: dict[str, Any] = {
        "name": "Eetpunt De Kei", "kind": "maaltijdvoorziening",
        "description": "Samen eten op woensdag, voor wie niet graag alleen eet.",
        "categories": ["samen-eten"], "audiences": ["ouderen"], "place": "Meers, Stein",
        "url": "https://dekei.example", "phone": "046 765 43 21",
        "schedule_note": "Woensdag 12 uur",
    }
    data.update(extra)
    token = form_token(client.get("/aanmelden").get_data(True))
    resp = client.post("/aanmelden", data={**data, "csrf_token": token})
    assert resp.status_code == 303, resp.get_data(True)[:3000]
    return urlsplit(resp.headers["Location"]).path.rsplit("/", 1)[1]


def submission_id(conn: Connection, name: str) -> uuid.UUID:
    return conn.execute(text(
        "SELECT s.id FROM submission s JOIN submission_field f ON f.submission_id = s.id "
        "WHERE f.field = 'name' AND f.proposed = to_jsonb(CAST(:n AS text))"),
        {"n": name}).scalar_one()


def decide(client: FlaskClient, sid: uuid.UUID, decisions: dict[str, tuple[str, str]],
           **extra: str):  # noqa: ANN201
    page = client.get(f"/redactie/aanmelding/{sid}")
    assert page.status_code == 200, page.get_data(True)[:500]
    data = {"csrf_token": form_token(page.get_data(True)), **extra}
    for field, (decision, reason) in decisions.items():
        data[f"decision_{field}"] = decision
        data[f"reason_{field}"] = reason
    return client.post(f"/redactie/aanmelding/{sid}", data=data)


ALL_NEW = ("name", "kind", "description", "categories", "audiences", "location", "url",
           "phone", "schedule_note")


def test_the_queue_shows_only_the_editors_gemeenten(resident: FlaskClient, desk: FlaskClient,
                                                    app: Flask, conn: Connection) -> None:
    propose(resident, name="Eetpunt Meers")
    propose(resident, name="Eetpunt Roggel", place="Roggel")
    html = desk.get("/redactie").get_data(True)
    assert "Eetpunt Meers" in html and "Eetpunt Roggel" not in html
    assert "Stein (L.): 1" in html
    admin = app.test_client()
    session_into(admin, conn, make_user(conn, "beheer@gemeente.nl", "admin"))
    html = admin.get("/redactie").get_data(True)
    assert "Eetpunt Meers" in html and "Eetpunt Roggel" in html
    roggel = submission_id(conn, "Eetpunt Roggel")
    assert desk.get(f"/redactie/aanmelding/{roggel}").status_code == 403


def test_approving_a_new_initiative_puts_it_on_the_map(resident: FlaskClient, desk: FlaskClient,
                                                       conn: Connection) -> None:
    ref = propose(resident)
    sid = submission_id(conn, "Eetpunt De Kei")
    review = desk.get(f"/redactie/aanmelding/{sid}").get_data(True)
    assert "Samen eten" in review and "Meers" in review
    resp = decide(desk, sid, {f: ("approved", "") for f in ALL_NEW})
    assert resp.status_code == 303
    service_id = conn.execute(text("SELECT service_id FROM submission WHERE id = :i"),
                              {"i": sid}).scalar_one()
    svc = conn.execute(text("SELECT * FROM service WHERE id = :i"), {"i": service_id}).one()
    assert (svc.name, svc.kind, svc.status) == ("Eetpunt De Kei", "maaltijdvoorziening",
                                                "active")
    assert svc.assured_date == today() and svc.assurer == "Redactie Stein"
    loc = conn.execute(text(
        "SELECT l.* FROM location l JOIN service_at_location sal ON sal.location_id = l.id "
        "WHERE sal.service_id = :i"), {"i": service_id}).one()
    assert loc.kern_code == "GM0971-meers" and loc.precision == "kern"
    terms = conn.execute(text(
        "SELECT t.code FROM attribute a JOIN taxonomy_term t ON t.id = a.taxonomy_term_id "
        "WHERE a.service_id = :i ORDER BY 1"), {"i": service_id}).scalars().all()
    assert terms == ["ouderen", "samen-eten"]
    assert conn.execute(text("SELECT number FROM phone WHERE service_id = :i"),
                        {"i": service_id}).scalar_one() == "046 765 43 21"
    # Logged with the editor's name and the moderation path.
    log = conn.execute(text("SELECT DISTINCT changed_by, source FROM change "
                            "WHERE service_id = :i"), {"i": service_id}).all()
    assert [tuple(r) for r in log] == [("red@stein.nl", "moderation")]
    # Public now, and the resident sees the outcome.
    assert resident.get(f"/initiatief/{service_id}").status_code == 200
    status = resident.get(f"/aanmelding/{ref}").get_data(True)
    assert "Overgenomen" in status and f"/initiatief/{service_id}" in status


def test_a_field_can_be_rejected_with_a_reason_the_resident_sees(
        resident: FlaskClient, desk: FlaskClient, conn: Connection) -> None:
    ref = propose(resident)
    sid = submission_id(conn, "Eetpunt De Kei")
    decisions = {f: ("approved", "") for f in ALL_NEW}
    decisions["url"] = ("rejected", "")
    missing = decide(desk, sid, decisions)
    assert missing.status_code == 400
    assert "Schrijf waarom dit niet wordt overgenomen" in missing.get_data(True)
    decisions["url"] = ("rejected", "De website werkt niet.")
    assert decide(desk, sid, decisions).status_code == 303
    row = conn.execute(text("SELECT status, service_id FROM submission WHERE id = :i"),
                       {"i": sid}).one()
    assert row.status == "partial"
    assert conn.execute(text("SELECT url FROM service WHERE id = :i"),
                        {"i": row.service_id}).scalar_one() is None
    page = resident.get(f"/aanmelding/{ref}").get_data(True)
    assert "Voor een deel overgenomen" in page and "De website werkt niet." in page
    # Deciding twice (another tab, a second editor) is a conflict, not a second write.
    again = desk.post(f"/redactie/aanmelding/{sid}", data={
        "csrf_token": CSRF, **{f"decision_{f}": d for f, (d, _) in decisions.items()}})
    assert again.status_code == 409


def test_a_new_initiative_needs_its_core_fields(resident: FlaskClient, desk: FlaskClient,
                                                conn: Connection) -> None:
    propose(resident)
    sid = submission_id(conn, "Eetpunt De Kei")
    decisions = {f: ("approved", "") for f in ALL_NEW}
    decisions["location"] = ("rejected", "Plek onbekend")
    resp = decide(desk, sid, decisions)
    assert resp.status_code == 400 and "Een nieuw initiatief kan alleen met" in resp.get_data(True)
    before = conn.execute(text("SELECT count(*) FROM service")).scalar_one()
    assert decide(desk, sid, {f: ("rejected", "Bestaat al") for f in ALL_NEW}).status_code == 303
    assert conn.execute(text("SELECT status FROM submission WHERE id = :i"),
                        {"i": sid}).scalar_one() == "rejected"
    assert conn.execute(text("SELECT count(*) FROM service")).scalar_one() == before


def test_a_home_address_stays_private_after_approval(resident: FlaskClient, desk: FlaskClient,
                                                     conn: Connection) -> None:
    propose(resident, name="Burenhulp bij Mien thuis", kind="burenhulp", at_home="1",
            address="Geheimstraat 7", place="6171", categories=["burenhulp"])
    sid = submission_id(conn, "Burenhulp bij Mien thuis")
    fields = ("name", "kind", "description", "categories", "audiences", "location", "url",
              "phone", "schedule_note")
    assert decide(desk, sid, {f: ("approved", "") for f in fields}).status_code == 303
    service_id = conn.execute(text("SELECT service_id FROM submission WHERE id = :i"),
                              {"i": sid}).scalar_one()
    loc = conn.execute(text(
        "SELECT l.location_type, l.address FROM location l JOIN service_at_location s "
        "ON s.location_id = l.id WHERE s.service_id = :i"), {"i": service_id}).one()
    assert tuple(loc) == ("private", "Geheimstraat 7")
    assert "Geheimstraat" not in resident.get(f"/initiatief/{service_id}").get_data(True)
    assert "Geheimstraat" not in resident.get(f"/api/v1/initiatives/{service_id}").get_data(True)
    # Staff in scope see it on the internal page.
    assert "Geheimstraat 7" in desk.get(f"/initiatief/{service_id}/intern").get_data(True)


def test_approving_a_change_updates_the_record(resident: FlaskClient, desk: FlaskClient,
                                               conn: Connection, editor: Staff) -> None:
    rec = plant(conn, "Dorpshuis Testmeers", "GM0971-meers")
    token = form_token(resident.get(f"/initiatief/{rec.id}/wijziging").get_data(True))
    resident.post(f"/initiatief/{rec.id}/wijziging", data={
        "csrf_token": token, "name": "Dorpshuis Testmeers", "status": "temporarily closed",
        "description": "Dorpshuis Testmeers: koffie en ontmoeting",
        "fees_description": "€ 2 per keer", "email": "bestuur@testmeers.example"})
    sid = conn.execute(text("SELECT id FROM submission")).scalar_one()
    version = conn.execute(text("SELECT version FROM service WHERE id = :i"),
                           {"i": rec.id}).scalar_one()
    resp = decide(desk, sid, {"status": ("rejected", "Het is gewoon open"),
                              "fees_description": ("approved", ""),
                              "email": ("approved", "")})
    assert resp.status_code == 303
    svc = conn.execute(text("SELECT * FROM service WHERE id = :i"), {"i": rec.id}).one()
    assert svc.status == "active" and svc.fees_description == "€ 2 per keer"
    assert svc.email == "bestuur@testmeers.example" and svc.version == version + 1
    log = conn.execute(text("SELECT field, changed_by, source FROM change WHERE entity_id = :i "
                            "AND action = 'update' ORDER BY field"), {"i": rec.id}).all()
    assert [tuple(r) for r in log] == [("email", editor.email, "moderation"),
                                       ("fees_description", editor.email, "moderation")]


def test_mark_verified_sets_date_and_who(desk: FlaskClient, conn: Connection) -> None:
    rec = plant(conn, "Dorpshuis Testmeers", "GM0971-meers", assured=date(2020, 1, 1))
    resp = desk.post(f"/initiatief/{rec.id}/gecontroleerd",
                     data={"csrf_token": CSRF, "next": "/redactie/verouderd"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/redactie/verouderd"
    row = conn.execute(text("SELECT assured_date, assurer FROM service WHERE id = :i"),
                       {"i": rec.id}).one()
    assert tuple(row) == (today(), "Redactie Stein")
    api = desk.application.test_client().get(f"/api/v1/initiatives/{rec.id}").get_json()
    assert api["assured_date"] == today().isoformat() and api["assurer"] == "Redactie Stein"
    change = conn.execute(text("SELECT new_value, changed_by, source FROM change "
                               "WHERE entity_id = :i AND field = 'assured_date'"),
                          {"i": rec.id}).one()
    assert tuple(change) == (today().isoformat(), "red@stein.nl", "editor")


def test_the_dashboard_lists_records_not_verified_for_a_year(desk: FlaskClient,
                                                            conn: Connection) -> None:
    old = plant(conn, "Oud Testhuis", "GM0971-meers", assured=today() - timedelta(days=400))
    never = plant(conn, "Nooit Testhuis", "GM0971-stein", assured=None)
    fresh = plant(conn, "Vers Testhuis", "GM0971-meers", assured=today() - timedelta(days=30))
    elsewhere = plant(conn, "Roggel Testhuis", "GM1640-roggel", assured=None)
    html = desk.get("/redactie/verouderd").get_data(True)
    assert old.name in html and never.name in html
    assert fresh.name not in html and elsewhere.name not in html
    assert html.index(never.name) < html.index(old.name)  # never verified comes first
    assert stale_before(date(2025, 3, 1)) == date(2024, 3, 1)
    assert stale_before(date(2024, 2, 29)) == date(2023, 2, 28)


def test_archive_and_bring_back(resident: FlaskClient, desk: FlaskClient,
                                conn: Connection) -> None:
    rec = plant(conn, "Dorpshuis Archief", "GM0971-meers")
    conn.execute(text("UPDATE service SET status = 'temporarily closed' WHERE id = :i"),
                 {"i": rec.id})
    assert desk.post(f"/initiatief/{rec.id}/archiveren",
                     data={"csrf_token": CSRF, "reason": "Gestopt"}).status_code == 303
    row = conn.execute(text("SELECT s.status, a.previous_status, a.reason, a.archived_by "
                            "FROM service s JOIN service_archive a ON a.service_id = s.id "
                            "WHERE s.id = :i"), {"i": rec.id}).one()
    assert tuple(row) == ("inactive", "temporarily closed", "Gestopt", "red@stein.nl")
    hits = resident.get("/api/v1/search?near=Meers,%20Stein&radius=3000").get_data(True)
    assert "Dorpshuis Archief" not in hits
    assert desk.post(f"/initiatief/{rec.id}/archiveren",
                     data={"csrf_token": CSRF}).status_code == 409
    edit = desk.post(f"/initiatief/{rec.id}/bewerken", data={
        "csrf_token": CSRF, "name": rec.name, "kind": "dorpshuis", "status": "active"})
    assert edit.status_code == 400 and "staat in het archief" in edit.get_data(True)
    assert desk.post(f"/initiatief/{rec.id}/terugzetten",
                     data={"csrf_token": CSRF}).status_code == 303
    assert conn.execute(text("SELECT status FROM service WHERE id = :i"),
                        {"i": rec.id}).scalar_one() == "temporarily closed"
    assert conn.execute(text("SELECT count(*) FROM service_archive")).scalar_one() == 0
    log = conn.execute(text("SELECT entity_type, action, source FROM change WHERE service_id = :i "
                            "AND changed_by = 'red@stein.nl' ORDER BY id"), {"i": rec.id}).all()
    assert sorted(tuple(r) for r in log) == [
        ("service", "update", "editor"), ("service", "update", "editor"),
        ("service_archive", "create", "editor"), ("service_archive", "delete", "editor")]


def test_the_edit_form_saves_and_validates(desk: FlaskClient, conn: Connection) -> None:
    rec = plant(conn, "Dorpshuis Bewerk", "GM0971-meers")
    page = desk.get(f"/initiatief/{rec.id}/bewerken").get_data(True)
    token, version = form_token(page), conn.execute(text(
        "SELECT version FROM service WHERE id = :i"), {"i": rec.id}).scalar_one()
    assert f'name="version" value="{version}"' in page
    form = {"csrf_token": token, "version": str(version), "name": "Dorpshuis De Bewerking",
            "kind": "dorpshuis", "status": "active", "email": "geen mail",
            "description": "Dorpshuis Bewerk: koffie en ontmoeting"}
    bad = desk.post(f"/initiatief/{rec.id}/bewerken", data=form)
    assert bad.status_code == 400 and "Dit is geen e-mailadres" in bad.get_data(True)
    form["email"] = "post@bewerking.example"
    ok = desk.post(f"/initiatief/{rec.id}/bewerken", data=form)
    assert ok.status_code == 303
    row = conn.execute(text("SELECT name, email, version FROM service WHERE id = :i"),
                       {"i": rec.id}).one()
    assert tuple(row) == ("Dorpshuis De Bewerking", "post@bewerking.example", version + 1)
    log = conn.execute(text("SELECT field, old_value, new_value, changed_by, source FROM change "
                            "WHERE entity_id = :i AND action = 'update' ORDER BY field"),
                       {"i": rec.id}).all()
    assert [tuple(r) for r in log] == [
        ("email", None, "post@bewerking.example", "red@stein.nl", "editor"),
        ("name", "Dorpshuis Bewerk", "Dorpshuis De Bewerking", "red@stein.nl", "editor")]


def test_leudal_is_out_of_reach_for_a_stein_editor(desk: FlaskClient, conn: Connection) -> None:
    rec = plant(conn, "Dorpshuis Roggel", "GM1640-roggel")
    assert desk.get(f"/initiatief/{rec.id}/bewerken").status_code == 403
    resp = desk.post(f"/initiatief/{rec.id}/gecontroleerd", data={"csrf_token": CSRF})
    assert resp.status_code == 403 and "Geen toegang" in resp.get_data(True)
    assert conn.execute(text("SELECT assured_date FROM service WHERE id = :i"),
                        {"i": rec.id}).scalar_one() is None
    assert LEUDAL not in desk.get("/account").get_data(True)


def test_approve_all_but_what_is_rejected(resident: FlaskClient, desk: FlaskClient,
                                          conn: Connection) -> None:
    propose(resident)
    sid = submission_id(conn, "Eetpunt De Kei")
    page = desk.get(f"/redactie/aanmelding/{sid}").get_data(True)
    assert "Alles overnemen wat niet is afgewezen" in page
    assert page.index("Naam van het initiatief") < page.index("Telefoonnummer")  # form order
    resp = desk.post(f"/redactie/aanmelding/{sid}", data={
        "csrf_token": CSRF, "all": "approved", "decision_phone": "rejected",
        "reason_phone": "Privénummer"})
    assert resp.status_code == 303
    decisions = dict(conn.execute(text(
        "SELECT field, decision FROM submission_field WHERE submission_id = :i"),
        {"i": sid}).tuples().all())
    assert decisions.pop("phone") == "rejected"
    assert set(decisions.values()) == {"approved"}
