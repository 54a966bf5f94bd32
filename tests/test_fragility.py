"""Fragility: reasons per initiative and per kern for crafted records, the at-risk API, the
printable list and the at-risk layer on the gap map; bad input answers 4xx naming the field."""
from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from socialmap.services.gaps import months_before

from .staff import CSRF, STEIN, Planted, make_user, plant, session_into

KERN = "GM0971-meers"


def providers(conn: Connection, category: str) -> int:
    """Visible providers of a top-level category located in or serving KERN."""
    return conn.execute(text("""
        WITH ids AS (
          SELECT sal.service_id FROM location l
            JOIN service_at_location sal ON sal.location_id = l.id WHERE l.kern_code = :k
          UNION SELECT service_id FROM service_area WHERE kern_code = :k)
        SELECT count(DISTINCT a.service_id) FROM attribute a
          JOIN ids ON ids.service_id = a.service_id
          JOIN service s ON s.id = a.service_id AND s.status IN ('active', 'temporarily closed')
          JOIN taxonomy_term t ON t.id = a.taxonomy_term_id
          LEFT JOIN taxonomy_term p ON p.id = t.parent_id
         WHERE coalesce(p.code, t.code) = :c"""), {"k": KERN, "c": category}).scalar_one()


def free_categories(conn: Connection) -> list[str]:
    """Top-level categories nothing in KERN provides yet."""
    codes = conn.execute(text(
        "SELECT t.code FROM taxonomy_term t JOIN taxonomy tx ON tx.id = t.taxonomy_id "
        "WHERE tx.facet = 'category' AND t.parent_id IS NULL ORDER BY t.position")).scalars()
    return [c for c in codes if providers(conn, c) == 0]


def with_category(conn: Connection, rec: Planted, category: str) -> None:
    conn.execute(text(
        "INSERT INTO attribute (service_id, taxonomy_term_id) SELECT :s, t.id "
        "FROM taxonomy_term t JOIN taxonomy tx ON tx.id = t.taxonomy_id "
        "WHERE tx.facet = 'category' AND t.code = :c"), {"s": rec.id, "c": category})


def funded(conn: Connection, rec: Planted, source: str, ends_on: date) -> None:
    conn.execute(text("INSERT INTO funding (service_id, source, ends_on) VALUES (:s, :f, :e)"),
                 {"s": rec.id, "f": source, "e": ends_on})


@pytest.fixture
def crafted(conn: Connection) -> dict[str, Any]:
    """In Meers: a sole provider, an unverified one, one whose funding ends, a closed one, and
    two that are fine; `alone` and `shared` are categories nothing else there provides."""
    alone, shared = free_categories(conn)[:2]
    today = date.today()
    fresh = today - timedelta(days=10)
    recs = {
        "sole": plant(conn, "Opvoedpunt Meers", KERN, assured=fresh),
        "stale": plant(conn, "Oud Koffiepunt Meers", KERN, assured=months_before(today, 13)),
        "funds": plant(conn, "Subsidiehuis Meers", KERN, assured=fresh, dx=300),
        "closed": plant(conn, "Gesloten Soos Meers", KERN, assured=fresh, dx=350),
        "fine": plant(conn, "Gewoon Goed Meers", KERN, assured=fresh, dx=400),
        "later": plant(conn, "Later Geld Meers", KERN, assured=fresh, dx=450),
    }
    with_category(conn, recs["sole"], alone)
    for key in ("stale", "funds", "closed", "fine", "later"):
        with_category(conn, recs[key], shared)
    conn.execute(text("UPDATE service SET status = 'temporarily closed' WHERE id = :s"),
                 {"s": recs["closed"].id})
    funded(conn, recs["funds"], "Provincie Limburg", today + timedelta(days=90))
    funded(conn, recs["later"], "Gemeente Stein", today + timedelta(days=400))
    return {"recs": recs, "alone": alone, "shared": shared, "today": today}


def by_id(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in body["initiatives"]}


def codes(item: dict[str, Any]) -> list[str]:
    return [r["code"] for r in item["reasons"]]


def test_reasons_per_initiative(client: FlaskClient, crafted: dict[str, Any]) -> None:
    resp = client.get(f"/api/v1/gaps/at-risk?gemeente={STEIN}")
    assert resp.status_code == 200
    body = resp.get_json()
    items, recs = by_id(body), crafted["recs"]
    assert codes(items[str(recs["sole"].id)]) == ["sole_provider"]
    assert codes(items[str(recs["stale"].id)]) == ["unverified"]
    assert codes(items[str(recs["funds"].id)]) == ["funding_ends"]
    assert codes(items[str(recs["closed"].id)]) == ["temporarily_closed"]
    # Three running providers share a category; funding ending in 13 months is not near.
    assert str(recs["fine"].id) not in items
    assert str(recs["later"].id) not in items
    ends = (crafted["today"] + timedelta(days=90)).strftime("%d-%m-%Y")
    funds = items[str(recs["funds"].id)]
    assert funds["reasons"][0]["text"] == f"Financiering (Provincie Limburg) loopt af op {ends}."
    assert funds["funding"] == [{"source": "Provincie Limburg",
                                 "ends_on": (crafted["today"] + timedelta(days=90)).isoformat()}]
    sole = items[str(recs["sole"].id)]
    assert sole["sole_provider"] == [{"kern_code": KERN, "category": crafted["alone"]}]
    assert sole["reasons"][0]["text"].startswith("Enige aanbieder van ")
    assert sole["reasons"][0]["text"].endswith(" in Meers.")
    assert items[str(recs["stale"].id)]["reasons"][0]["text"].startswith("Laatst gecontroleerd op ")
    assert body["area"] == {"kind": "gemeente", "code": STEIN, "name": "Stein (L.)"}


def test_kern_fragility(client: FlaskClient, crafted: dict[str, Any]) -> None:
    body = client.get(f"/api/v1/gaps/at-risk?gemeente={STEIN}").get_json()
    kern = next(k for k in body["kernen"] if k["kern_code"] == KERN)
    recs = crafted["recs"]
    assert kern["fragile"] is True
    assert crafted["alone"] in kern["sole_categories"]
    assert crafted["shared"] not in kern["sole_categories"]
    mine = {str(recs[k].id) for k in ("sole", "stale", "funds", "closed")}
    assert mine <= set(kern["initiatives"])
    assert str(recs["fine"].id) not in kern["initiatives"]
    assert kern["reasons"]["temporarily_closed"] >= 1
    assert kern["reasons"]["funding_ends"] >= 1
    assert {k["kern_code"] for k in body["kernen"]} >= {KERN, "GM0971-stein"}


def test_category_filter(client: FlaskClient, crafted: dict[str, Any]) -> None:
    body = client.get(f"/api/v1/gaps/at-risk?gemeente={STEIN}&category={crafted['alone']}"
                      ).get_json()
    ids = set(by_id(body))
    assert str(crafted["recs"]["sole"].id) in ids
    assert str(crafted["recs"]["stale"].id) not in ids
    assert body["options"]["category"] == crafted["alone"]


def test_closed_is_not_a_provider(conn: Connection, client: FlaskClient,
                                  crafted: dict[str, Any]) -> None:
    """With the other two running providers closed too, the last one is the only one."""
    recs = crafted["recs"]
    conn.execute(text("UPDATE service SET status = 'temporarily closed' WHERE id = ANY(:s)"),
                 {"s": [recs["stale"].id, recs["funds"].id, recs["later"].id]})
    items = by_id(client.get(f"/api/v1/gaps/at-risk?gemeente={STEIN}").get_json())
    assert codes(items[str(recs["fine"].id)]) == ["sole_provider"]


def test_provincie_and_demo(client: FlaskClient, crafted: dict[str, Any]) -> None:
    body = client.get("/api/v1/gaps/at-risk?provincie=PV31&demo=false").get_json()
    assert body["area"]["kind"] == "provincie"
    assert body["options"]["demo"] is False
    assert str(crafted["recs"]["sole"].id) in by_id(body)
    assert all("(demo)" not in i["name"] for i in body["initiatives"])


@pytest.mark.parametrize(("query", "field"), [
    ("", "gemeente"),
    ("gemeente=GM9999", "gemeente"),
    ("gemeente=Stein", "gemeente"),
    ("provincie=PV99", "provincie"),
    (f"gemeente={STEIN}&provincie=PV31", "provincie"),
    (f"gemeente={STEIN}&category=geen-soort", "category"),
    (f"gemeente={STEIN}&demo=misschien", "demo"),
    (f"gemeente={STEIN}&bogus=1", "bogus"),
    ("gemeente=" + "G" * 300, "gemeente"),
])
def test_bad_input(client: FlaskClient, query: str, field: str) -> None:
    resp = client.get(f"/api/v1/gaps/at-risk?{query}")
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == field


def test_list_page(client: FlaskClient, crafted: dict[str, Any]) -> None:
    resp = client.get(f"/kwetsbaar?area={STEIN}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Kwetsbare initiatieven in Stein (L.)" in html
    assert "Subsidiehuis Meers" in html and "Financiering (Provincie Limburg) loopt af op" in html
    assert "Tijdelijk gesloten:</span> Is tijdelijk gesloten." in html
    assert "Gewoon Goed Meers" not in html
    assert client.get(f"/kwetsbaar?area={STEIN}&print=1").status_code == 200


@pytest.mark.parametrize("query", ["area=XX12", "area=GM9999", "area=GM0971&category=nee",
                                   "area=GM0971&onbekend=1", "area=GM0971&demo=misschien"])
def test_list_page_bad_input(client: FlaskClient, query: str) -> None:
    resp = client.get(f"/kwetsbaar?{query}")
    assert resp.status_code == 400
    assert 'class="error-summary"' in resp.get_data(as_text=True)


def test_gap_map_layer(client: FlaskClient, crafted: dict[str, Any]) -> None:
    html = client.get(f"/gaps?area={STEIN}&category={crafted['shared']}").get_data(as_text=True)
    assert "Kwetsbaar (laag)" in html
    assert 'class="gap-legend-risk"' in html
    assert '"risk-marker"' in html  # the badges' class in the map's script
    assert "Kwetsbaar: initiatieven op de tocht" in html  # the layer control's name
    assert f"/kwetsbaar?area={STEIN}" in html
    # A provincie or the whole country has no at-risk layer (too much for one page).
    for area in ("PV31", "NL"):
        page = client.get(f"/gaps?area={area}&category=ontmoeting").get_data(as_text=True)
        assert '"risk-marker"' not in page and 'class="gap-legend-risk"' not in page


# --- funding through the editor's form ------------------------------------------------------

def edit(client: FlaskClient, rec: Planted, **funding: str) -> Any:
    page = client.get(f"/initiatief/{rec.id}/bewerken").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    mark = re.search(r'name="mark" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    return client.post(f"/initiatief/{rec.id}/bewerken", data={
        "csrf_token": CSRF, "version": version, "mark": mark, "name": rec.name,
        "kind": "dorpshuis", "status": "active",
        "description": f"{rec.name}: koffie en ontmoeting", **funding})


def test_editor_sets_funding(app: Any, conn: Connection) -> None:
    editor = make_user(conn, "redactie@stein.example", "editor", (STEIN,))
    client = app.test_client()
    session_into(client, conn, editor)
    rec = plant(conn, "Fondshuis Meers", KERN, assured=date.today())
    ends = date.today() + timedelta(days=60)
    resp = edit(client, rec, funding_source="Oranje Fonds", funding_ends_on=ends.isoformat())
    assert resp.status_code == 303, resp.get_data(as_text=True)[:300]
    row = conn.execute(text("SELECT source, ends_on FROM funding WHERE service_id = :s"),
                       {"s": rec.id}).one()
    assert tuple(row) == ("Oranje Fonds", ends)
    actor = conn.execute(text("SELECT changed_by FROM change WHERE entity_type = 'funding' "
                              "AND service_id = :s"), {"s": rec.id}).scalar_one()
    assert actor == "redactie@stein.example"
    page = client.get(f"/initiatief/{rec.id}/bewerken").get_data(as_text=True)
    assert 'value="Oranje Fonds"' in page and f'value="{ends.isoformat()}"' in page
    items = by_id(client.get(f"/api/v1/gaps/at-risk?gemeente={STEIN}").get_json())
    assert "funding_ends" in codes(items[str(rec.id)])
    # Both fields empty: the funding is removed.
    assert edit(client, rec, funding_source="", funding_ends_on="").status_code == 303
    assert conn.execute(text("SELECT count(*) FROM funding WHERE service_id = :s"),
                        {"s": rec.id}).scalar_one() == 0


@pytest.mark.parametrize(("funding", "field"), [
    ({"funding_source": "Fonds", "funding_ends_on": "morgen"}, "funding_ends_on"),
    ({"funding_source": "Fonds", "funding_ends_on": "31-02-2027"}, "funding_ends_on"),
    ({"funding_source": "", "funding_ends_on": "2027-01-01"}, "funding_source"),
    ({"funding_source": "x" * 201, "funding_ends_on": ""}, "funding_source"),
])
def test_editor_funding_bad_input(app: Any, conn: Connection, funding: dict[str, str],
                                  field: str) -> None:
    editor = make_user(conn, "redactie2@stein.example", "editor", (STEIN,))
    client = app.test_client()
    session_into(client, conn, editor)
    rec = plant(conn, "Fondshuis Meers", KERN)
    resp = edit(client, rec, **funding)
    assert resp.status_code == 400
    assert f'id="{field}-error"' in resp.get_data(as_text=True)
    assert conn.execute(text("SELECT count(*) FROM funding WHERE service_id = :s"),
                        {"s": rec.id}).scalar_one() == 0
