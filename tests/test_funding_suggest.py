"""Residents may suggest an initiative's funding (who pays, until when) in the change form; an
editor's approval writes it to the funding, where it can mark the initiative as at risk."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from .staff import STEIN, make_user, plant, session_into
from .test_moderation import decide
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
