"""Demand signals: a site or API search from a kern that found nothing or few results is counted
per month, kern, category and normalised filters with one upsert; free text, coordinates and
addresses never land; a failure to count is logged and the search still answers; the
aggregates appear beside the gaps (page and API) and, per filter, for the gemeente's staff.
Plans (status 'proposed'): outside search, HSDS and the gap coverage, listed on the kern page
with their support."""
from __future__ import annotations

import logging
import uuid
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from socialmap.services import demand

from .staff import LEUDAL, STEIN, form_token, make_user, plant, session_into

MEERS, ROGGEL = "GM0971-meers", "GM1640-roggel"
MONTH = date.today().replace(day=1)


def signals(conn: Connection) -> list[Any]:
    return conn.execute(text("SELECT * FROM demand_signal ORDER BY kern_code, category, filters")
                        ).all()


def no_opvoeden_in_meers(conn: Connection) -> None:
    """The tests count on nothing for 'opvoeden' in or around Meers (seed and demo data)."""
    found = conn.execute(text(
        "SELECT count(*) FROM attribute a JOIN taxonomy_term t ON t.id = a.taxonomy_term_id "
        "LEFT JOIN taxonomy_term p ON p.id = t.parent_id "
        "JOIN service_at_location sal ON sal.service_id = a.service_id "
        "JOIN location l ON l.id = sal.location_id "
        "WHERE 'opvoeden' IN (t.code, p.code) AND l.kern_code = :k"), {"k": MEERS}).scalar_one()
    assert found == 0


def test_an_empty_kern_search_is_counted_once_per_search(client: FlaskClient,
                                                         conn: Connection) -> None:
    no_opvoeden_in_meers(conn)
    for _ in range(2):
        resp = client.get(f"/api/v1/search?kern={MEERS}&category=opvoeden&audience=ouderen"
                          "&audience=jongeren&open_now=true")
        assert resp.status_code == 200 and resp.get_json()["numberReturned"] == 0
    (row,) = signals(conn)
    assert (row.month, row.kern_code, row.category) == (MONTH, MEERS, "opvoeden")
    assert row.filters == "audience=jongeren,ouderen;open_now"
    assert (row.searches, row.empty, row.few) == (2, 2, 0)


def test_the_site_search_counts_too_and_free_text_never_lands(client: FlaskClient,
                                                               conn: Connection) -> None:
    secret = "mevrouwjanssenkerkstraat"
    resp = client.get(f"/?near=Meers, Stein&q={secret}&category=vervoer")
    assert resp.status_code == 200
    (row,) = signals(conn)
    assert row.kern_code == MEERS and row.category == "vervoer"
    assert row.filters == "text" and row.empty == 1
    dump = conn.execute(text("SELECT string_agg(t::text, ' ') FROM demand_signal t")
                        ).scalar_one()
    assert secret not in dump and "Kerkstraat" not in dump
    assert set(row._mapping) == {"month", "kern_code", "category", "filters", "searches",
                                 "empty", "few"}  # no point, no address, no time, no client


def test_a_radius_search_from_a_point_counts_for_its_kern_without_the_point(
        client: FlaskClient, conn: Connection) -> None:
    x, y = conn.execute(text("SELECT ST_X(point), ST_Y(point) FROM kern WHERE code = :k"),
                        {"k": MEERS}).one()
    resp = client.get(f"/api/v1/search?near={x + 12.34:.2f},{y + 5.67:.2f}&radius=300"
                      "&category=opvoeden")
    assert resp.status_code == 200
    assert resp.get_json()["search"]["origin"]["kern"] == MEERS
    (row,) = signals(conn)
    assert row.kern_code == MEERS and row.category == "opvoeden"
    assert f"{x + 12.34:.2f}" not in str(row._mapping)


def test_few_results_count_as_few_and_enough_do_not_count(client: FlaskClient,
                                                          conn: Connection) -> None:
    # One initiative for 'opvoeden' in Meers: "few" (fewer than three).
    rec = plant(conn, "Opvoedsteunpunt Meers", MEERS)
    term = conn.execute(text("SELECT id FROM taxonomy_term WHERE code = 'opvoeden'")
                        ).scalar_one()
    conn.execute(text("INSERT INTO attribute (service_id, taxonomy_term_id) VALUES (:s, :t)"),
                 {"s": rec.id, "t": term})
    assert client.get(f"/api/v1/search?kern={MEERS}&category=opvoeden").get_json()[
        "numberReturned"] == 1
    (row,) = signals(conn)
    assert (row.searches, row.empty, row.few) == (1, 0, 1)
    # A search that finds plenty, a later page and a nearest search add nothing.
    assert client.get(f"/api/v1/search?kern={MEERS}").get_json()["numberReturned"] >= 3
    client.get(f"/api/v1/search?kern={MEERS}&category=zorg&offset=50")
    client.get("/api/v1/search?near=Meers&mode=nearest&limit=1&category=vervoer")
    assert [tuple(r)[1:] for r in signals(conn)] == [(MEERS, "opvoeden", "", 1, 0, 1)]


def test_several_categories_count_each_in_one_statement(client: FlaskClient,
                                                        conn: Connection) -> None:
    client.get(f"/api/v1/search?kern={MEERS}&category=opvoeden,vrijwilligerswerk&kind=burenhulp"
               "&q=xyzzy")
    rows = signals(conn)
    assert {r.category for r in rows} == {"opvoeden", "vrijwilligerswerk"}
    assert {r.filters for r in rows} == {"kind=burenhulp;text"}


def test_a_failure_to_count_is_logged_and_the_search_still_answers(
        client: FlaskClient, conn: Connection, caplog: pytest.LogCaptureFixture) -> None:
    # A real database refusal: a constraint that no row can meet (rolled back with the test).
    conn.execute(text("ALTER TABLE demand_signal ADD CONSTRAINT test_refuse CHECK (false) "
                      "NOT VALID"))
    with caplog.at_level(logging.WARNING, logger="socialmap.services.demand"):
        resp = client.get(f"/api/v1/search?kern={MEERS}&category=opvoeden")
    assert resp.status_code == 200 and resp.get_json()["numberReturned"] == 0
    assert any("demand signal not recorded" in r.getMessage() for r in caplog.records)
    page = client.get("/?near=Meers, Stein&category=opvoeden")
    assert page.status_code == 200
    assert conn.execute(text("SELECT count(*) FROM demand_signal")).scalar_one() == 0


def test_normalised_filters_and_months() -> None:
    assert demand.months_back(date(2026, 3, 15), 12) == date(2025, 4, 1)
    assert demand.months_back(date(2026, 1, 31), 1) == date(2026, 1, 1)
    assert demand.describe_filters("audience=ouderen;kind=dorpshuis;open_now;text",
                                   {"ouderen": "Ouderen"}) == (
        "voor ouderen; soort dorpshuis; nu open; met zoekwoorden")


def _signal(conn: Connection, kern: str, category: str, filters: str = "", empty: int = 1,
            few: int = 0, month: date = MONTH) -> None:
    conn.execute(text(
        "INSERT INTO demand_signal (month, kern_code, category, filters, searches, empty, few) "
        "VALUES (:m, :k, :c, :f, :s, :e, :w)"),
        {"m": month, "k": kern, "c": category, "f": filters, "s": empty + few, "e": empty,
         "w": few})


def test_gap_api_and_page_show_needs_and_demand_beside_the_gaps(client: FlaskClient,
                                                                conn: Connection) -> None:
    _signal(conn, MEERS, "opvoeden", "audience=ouderen", empty=3)
    _signal(conn, MEERS, "opvoeden", "", empty=1, few=2)
    # A child term counts for its parent; an old month and another category do not.
    child = conn.execute(text(
        "SELECT t.code FROM taxonomy_term t JOIN taxonomy_term p ON p.id = t.parent_id "
        "WHERE p.code = 'opvoeden' LIMIT 1")).scalar()
    if child:
        _signal(conn, MEERS, child, "", empty=1)
    _signal(conn, MEERS, "opvoeden", "", empty=9, month=date(2020, 1, 1))
    _signal(conn, MEERS, "vervoer", "", empty=5)
    term = conn.execute(text("SELECT id FROM taxonomy_term WHERE code = 'opvoeden'")
                        ).scalar_one()
    need = conn.execute(text(
        "INSERT INTO need (kern_code, category_id, text, status) VALUES "
        "(:k, :t, 'Geen opvoedsteun in het dorp', 'approved') RETURNING id"),
        {"k": MEERS, "t": term}).scalar_one()
    conn.execute(text("INSERT INTO need (kern_code, category_id, text, status) VALUES "
                      "(:k, :t, 'Nog niet besloten behoefte', 'pending')"),
                 {"k": MEERS, "t": term})
    conn.execute(text("INSERT INTO support (need_id, kind, voter_hash) VALUES "
                      "(:n, 'need', repeat('a', 64)), (:n, 'need', repeat('b', 64)), "
                      "(:n, 'help', repeat('c', 64))"), {"n": need})
    body = client.get(f"/api/v1/gaps?gemeente={STEIN}&category=opvoeden").get_json()
    meers = next(k for k in body["kernen"] if k["kern_code"] == MEERS)
    assert meers["needs"] == {"open": 1, "me_too": 2, "helpers": 1}
    assert meers["demand"] == {"searches": 6 + (1 if child else 0),
                               "empty": 4 + (1 if child else 0), "few": 2}
    other = next(k for k in body["kernen"] if k["kern_code"] != MEERS)
    assert other["needs"] == {"open": 0, "me_too": 0, "helpers": 0}
    assert body["demand"]["few_below"] == 3
    months = [r for r in body["demand"]["rows"] if r["kern_code"] == MEERS]
    assert [(r["month"], r["category"], r["empty"], r["few"]) for r in months] == [
        (MONTH.isoformat()[:7], "opvoeden", 4 + (1 if child else 0), 2)]
    assert all(r["filters"] is None for r in body["demand"]["rows"])  # filters: staff only
    html = client.get(f"/gaps?area={STEIN}&category=opvoeden").get_data(True)
    assert "Gezocht, niet gevonden" in html and "(+2 ook)" in html
    assert f'href="/kern/{MEERS}#behoeften"' in html


def test_staff_see_signals_per_filter_in_their_gemeenten_only(app: Flask,
                                                              conn: Connection) -> None:
    _signal(conn, MEERS, "opvoeden", "audience=ouderen;open_now", empty=2)
    _signal(conn, ROGGEL, "vervoer", "", empty=1)
    editor = app.test_client()
    session_into(editor, conn, make_user(conn, "red@stein.nl", "editor", (STEIN,)))
    html = editor.get("/redactie/vraag").get_data(True)
    assert "Meers" in html and "voor ouderen; nu open" in html and "Roggel" not in html
    team = app.test_client()
    session_into(team, conn, make_user(conn, "team@leudal.nl", "gebiedsteam", (LEUDAL,)))
    html = team.get("/redactie/vraag").get_data(True)
    assert "Roggel" in html and "Meers" not in html
    assert app.test_client().get("/redactie/vraag").status_code == 302  # sign in first


# --- plans -------------------------------------------------------------------------------------

def propose_plan(client: FlaskClient) -> None:
    data = {"name": "Repaircafé Meers", "kind": "ontmoetingsplek", "plan": "1",
            "description": "We willen elke maand samen spullen repareren in het dorpshuis.",
            "categories": ["klussen"], "place": "Meers, Stein"}
    token = form_token(client.get("/aanmelden").get_data(True))
    resp = client.post("/aanmelden", data={**data, "csrf_token": token})
    assert resp.status_code == 303, resp.get_data(True)[:2000]


def approve_all(conn: Connection, app: Flask) -> uuid.UUID:
    desk = app.test_client()
    session_into(desk, conn, make_user(conn, "red@stein.nl", "editor", (STEIN,)))
    sid = conn.execute(text("SELECT id FROM submission")).scalar_one()
    page = desk.get(f"/redactie/aanmelding/{sid}")
    assert "Een plan: het draait nog niet" in page.get_data(True)
    resp = desk.post(f"/redactie/aanmelding/{sid}",
                     data={"all": "approved", "csrf_token": form_token(page.get_data(True))})
    assert resp.status_code == 303
    return conn.execute(text("SELECT service_id FROM submission")).scalar_one()


def test_an_approved_plan_gathers_support_but_is_not_searched_or_counted(
        client: FlaskClient, conn: Connection, app: Flask) -> None:
    propose_plan(client)
    service_id = approve_all(conn, app)
    assert conn.execute(text("SELECT status FROM service WHERE id = :i"),
                        {"i": service_id}).scalar_one() == "proposed"
    # Listed on the kern page and in the kern's JSON with support counts and buttons.
    html = client.get(f"/kern/{MEERS}").get_data(True)
    assert "Plannen voor Meers" in html and "Repaircafé Meers" in html
    assert f'action="/initiatief/{service_id}/steun"' in html
    plans = client.get(f"/api/v1/kernen/{MEERS}").get_json()["properties"]["plans"]
    assert [(p["id"], p["support"]) for p in plans] == [(str(service_id),
                                                         {"need": 0, "help": 0})]
    # Support through the kern page, once per browser.
    for _ in range(2):
        page = client.get(f"/kern/{MEERS}")
        resp = client.post(f"/initiatief/{service_id}/steun",
                           data={"kind": "help", "next": f"/kern/{MEERS}",
                                 "csrf_token": form_token(page.get_data(True))})
        assert resp.status_code == 303
        assert resp.headers["Location"].startswith(f"/kern/{MEERS}?steun=")
    api = app.test_client().post(f"/api/v1/initiatives/{service_id}/support",
                                 json={"kind": "need"})
    assert api.get_json() == {"counted": True, "support": {"need": 1, "help": 1}}
    item = client.get(f"/api/v1/initiatives/{service_id}").get_json()
    assert item["status"] == "proposed" and item["support"] == {"need": 1, "help": 1}
    detail = client.get(f"/initiatief/{service_id}?steun=geteld").get_data(True)
    assert "Dit is een plan" in detail and "1 persoon wil helpen" in detail
    # Not in a default search, nor on the OGC and map answers, nor in the gap coverage.
    found = client.get(f"/api/v1/search?kern={MEERS}&limit=500").get_json()
    assert str(service_id) not in {f["properties"]["service_id"] for f in found["features"]}
    asked = client.get(f"/api/v1/search?kern={MEERS}&status=proposed").get_json()
    assert str(service_id) in {f["properties"]["service_id"] for f in asked["features"]}
    ogc = client.get("/ogc/collections/initiatives/items?limit=1000&kern=" + MEERS)
    if ogc.status_code == 200:
        assert str(service_id) not in ogc.get_data(True)
    assert client.get(f"/api/v1/gaps/what-if/stop?service={service_id}").get_json()[
        "service"]["counted"] is False
    # HSDS has no 'proposed': the export says 'inactive'.
    hsds = client.get(f"/hsds/services/{service_id}")
    assert hsds.status_code == 200 and hsds.get_json()["status"] == "inactive"
    # A running initiative takes no support.
    other = plant(conn, "Dorpshuis Test", MEERS)
    refused = client.post(f"/api/v1/initiatives/{other.id}/support", json={"kind": "need"})
    assert refused.status_code == 409 and refused.get_json()["error"]["field"] == "id"
    assert client.get(f"/api/v1/initiatives/{other.id}").get_json()["support"] is None
