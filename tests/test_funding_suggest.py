"""Residents may suggest an initiative's funding (who pays, until when) in the change form and
in the proposal of a new initiative; an editor's approval writes it to the funding, where it can
mark the initiative as at risk."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from .staff import STEIN, form_token, make_user, plant, session_into
from .test_moderation import ALL_NEW, decide, propose, submission_id
from .test_submissions import _post, _ref


def test_suggested_funding_is_applied_on_approval(app: Flask, conn: Connection) -> None:
    rec = plant(conn, "Dorpshuis Fondsmeers", "GM0971-meers", assured=date.today())
    url = f"/initiatief/{rec.id}/wijziging"
    resident = app.test_client()
    page = resident.get(url).get_data(True)
    assert 'id="funding_source"' in page and 'type="date"' in page
    ends = date.today() + timedelta(days=45)
    _ref(_post(resident, url, {
        "name": rec.name, "status": "active",
        "description": f"{rec.name}: koffie en ontmoeting",
        "funding_source": "Gemeente Stein", "funding_ends_on": ends.strftime("%d-%m-%Y")}))
    fields = dict(conn.execute(text("SELECT field, proposed FROM submission_field")).all())
    assert fields == {"funding_source": "Gemeente Stein", "funding_ends_on": ends.isoformat()}
    sid = conn.execute(text("SELECT id FROM submission WHERE service_id = :s"),
                       {"s": rec.id}).scalar_one()
    editor = make_user(conn, "red@stein.example", "editor", (STEIN,))
    desk = app.test_client()
    session_into(desk, conn, editor)
    resp = decide(desk, sid, {"funding_source": ("approved", ""),
                              "funding_ends_on": ("approved", "")})
    assert resp.status_code == 303, resp.get_data(True)[:500]
    row = conn.execute(text("SELECT source, ends_on FROM funding WHERE service_id = :s"),
                       {"s": rec.id}).one()
    assert tuple(row) == ("Gemeente Stein", ends)
    body = desk.get(f"/api/v1/gaps/at-risk?gemeente={STEIN}").get_json()
    item = next(i for i in body["initiatives"] if i["id"] == str(rec.id))
    assert [r["code"] for r in item["reasons"]] == ["funding_ends"]


def test_bad_suggested_funding(client: FlaskClient, conn: Connection) -> None:
    rec = plant(conn, "Dorpshuis Fondsmeers", "GM0971-meers")
    url = f"/initiatief/{rec.id}/wijziging"
    base = {"name": rec.name, "status": "active",
            "description": f"{rec.name}: koffie en ontmoeting"}
    for extra, field in (({"funding_source": "Fonds", "funding_ends_on": "ooit"},
                          "funding_ends_on"),
                         ({"funding_ends_on": "2027-01-01"}, "funding_source")):
        resp = _post(client, url, {**base, **extra})
        assert resp.status_code == 400
        assert f'id="{field}-error"' in resp.get_data(True)
    assert conn.execute(text("SELECT count(*) FROM submission")).scalar_one() == 0


def _desk(app: Flask, conn: Connection) -> FlaskClient:
    desk = app.test_client()
    session_into(desk, conn, make_user(conn, "red@stein.example", "editor", (STEIN,)))
    return desk


def test_a_proposal_carries_its_funding_to_the_new_record(app: Flask, conn: Connection) -> None:
    resident = app.test_client()
    page = resident.get("/aanmelden").get_data(True)
    assert 'id="funding_source"' in page and 'name="funding_ends_on"' in page
    ends = date.today() + timedelta(days=45)
    ref = propose(resident, name="Eetpunt Fondskei", funding_source="Oranje Fonds",
                  funding_ends_on=ends.strftime("%d-%m-%Y"))
    sid = submission_id(conn, "Eetpunt Fondskei")
    fields = dict(conn.execute(text("SELECT field, proposed FROM submission_field "
                                    "WHERE submission_id = :s"), {"s": sid}).all())
    assert fields["funding_source"] == "Oranje Fonds"
    assert fields["funding_ends_on"] == ends.isoformat()
    desk = _desk(app, conn)
    review = desk.get(f"/redactie/aanmelding/{sid}").get_data(True)
    assert "Oranje Fonds" in review and "Financiering: wie betaalt" in review
    resp = decide(desk, sid, {f: ("approved", "")
                              for f in (*ALL_NEW, "funding_source", "funding_ends_on")})
    assert resp.status_code == 303, resp.get_data(True)[:500]
    service_id = conn.execute(text("SELECT service_id FROM submission WHERE id = :i"),
                              {"i": sid}).scalar_one()
    row = conn.execute(text("SELECT source, ends_on FROM funding WHERE service_id = :s"),
                       {"s": service_id}).one()
    assert tuple(row) == ("Oranje Fonds", ends)
    assert "Overgenomen" in resident.get(f"/aanmelding/{ref}").get_data(True)
    body = desk.get(f"/api/v1/gaps/at-risk?gemeente={STEIN}").get_json()
    item = next(i for i in body["initiatives"] if i["id"] == str(service_id))
    assert "funding_ends" in [r["code"] for r in item["reasons"]]


def test_a_proposal_without_funding_has_none(app: Flask, conn: Connection) -> None:
    propose(app.test_client(), name="Eetpunt Zonderfonds")
    sid = submission_id(conn, "Eetpunt Zonderfonds")
    fields = conn.execute(text("SELECT field FROM submission_field WHERE submission_id = :s"),
                          {"s": sid}).scalars().all()
    assert not {"funding_source", "funding_ends_on"} & set(fields)


def test_bad_funding_in_a_proposal(client: FlaskClient, conn: Connection) -> None:
    base = {"name": "Eetpunt Foutfonds", "kind": "maaltijdvoorziening",
            "description": "Samen eten op woensdag, voor wie niet graag alleen eet.",
            "place": "Meers, Stein"}
    for extra, field in (({"funding_source": "Fonds", "funding_ends_on": "ooit"},
                          "funding_ends_on"),
                         ({"funding_ends_on": "31-12-2027"}, "funding_source"),
                         ({"funding_source": "x" * 201}, "funding_source")):
        token = form_token(client.get("/aanmelden").get_data(True))
        resp = client.post("/aanmelden", data={**base, **extra, "csrf_token": token})
        assert resp.status_code == 400, extra
        assert f'id="{field}-error"' in resp.get_data(True), extra
    assert conn.execute(text("SELECT count(*) FROM submission")).scalar_one() == 0


def test_an_approved_end_date_needs_its_approved_source(app: Flask, conn: Connection) -> None:
    propose(app.test_client(), name="Eetpunt Halffonds", funding_source="Oranje Fonds",
            funding_ends_on="2027-06-30")
    sid = submission_id(conn, "Eetpunt Halffonds")
    desk = _desk(app, conn)
    decisions = {f: ("approved", "") for f in (*ALL_NEW, "funding_ends_on")}
    refused = decide(desk, sid, {**decisions, "funding_source": ("rejected", "Onbekend fonds")})
    assert refused.status_code == 400
    assert "Een einddatum van de financiering kan alleen samen met wie het betaalt" \
        in refused.get_data(True)
    assert conn.execute(text("SELECT service_id FROM submission WHERE id = :i"),
                        {"i": sid}).scalar_one() is None
    # The source without its date is fine: funding open-ended.
    ok = decide(desk, sid, {**decisions, "funding_source": ("approved", ""),
                            "funding_ends_on": ("rejected", "Datum niet bevestigd")})
    assert ok.status_code == 303, ok.get_data(True)[:500]
    row = conn.execute(text(
        "SELECT f.source, f.ends_on FROM funding f JOIN submission s ON s.service_id = "
        "f.service_id WHERE s.id = :i"), {"i": sid}).one()
    assert tuple(row) == ("Oranje Fonds", None)
