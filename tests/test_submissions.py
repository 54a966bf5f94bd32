"""Residents' submissions: the forms without JavaScript, field-level Dutch messages, CSRF, the
honeypot, the rate limit (no raw addresses kept), a location by map or by place, nothing public
before approval, the status page by reference, and hostile input."""
from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from socialmap.geo import to_wgs84
from socialmap.services import submissions as svc

from .staff import STEIN, form_token, kern_point, plant

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _new(name: str = "Koffieochtend De Kei", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name, "kind": "ontmoetingsplek",
        "description": "Elke dinsdag koffie en een praatje voor wie wil aanschuiven.",
        "categories": ["ontmoeting"], "audiences": ["ouderen"], "place": "6171",
        "schedule_note": "Dinsdag 10-12 uur", "fees_description": "Gratis",
        "url": "www.dekei.example", "email": "info@dekei.example", "phone": "046 123 45 67",
        "submitter_name": "Mien Janssen", "submitter_email": "mien@example.org",
        "note": "Ik ben vrijwilliger daar.",
    }
    data.update(extra)
    return data


def _post(client: FlaskClient, url: str, data: dict[str, Any], addr: str = "192.0.2.10"):  # noqa: ANN202
    token = form_token(client.get(url).get_data(True))
    return client.post(url, data={**data, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": addr})


def _ref(resp: Any) -> str:
    assert resp.status_code == 303, resp.get_data(True)[:2000]
    path = urlsplit(resp.headers["Location"]).path
    assert path.startswith("/aanmelding/")
    return path.rsplit("/", 1)[1]


def test_the_form_works_without_javascript(client: FlaskClient) -> None:
    resp = client.get("/aanmelden")
    html = resp.get_data(True)
    assert resp.status_code == 200
    for name in ("name", "kind", "description", "place", "address", "categories", "at_home"):
        assert f'name="{name}"' in html
    assert 'name="csrf_token"' in html and 'name="homepage"' in html
    assert '<div id="picker" class="picker" hidden' in html  # the map only with JavaScript
    assert "/static/vendor/leaflet/leaflet.js" in html and "/static/contribute/picker.js" in html
    assert not re.search(r"<script>(?!</script>)", html)  # no inline script (CSP)
    assert "https://" not in "".join(re.findall(r'<script src="([^"]+)"', html))
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]


def test_a_proposal_is_stored_pending_and_not_public(client: FlaskClient,
                                                     conn: Connection) -> None:
    services = conn.execute(text("SELECT count(*) FROM service")).scalar_one()
    ref = _ref(_post(client, "/aanmelden", _new()))
    assert len(ref) >= 24
    row = conn.execute(text("SELECT * FROM submission")).one()
    assert row.status == "pending" and row.kind == "new" and row.gemeente_code == STEIN
    assert row.ref_hash == hashlib.sha256(ref.encode()).hexdigest()
    assert ref not in str(row._mapping)  # only the hash is kept
    fields = dict(conn.execute(text("SELECT field, proposed FROM submission_field")).tuples().all())
    assert fields["name"] == "Koffieochtend De Kei"
    assert fields["categories"] == ["ontmoeting"]
    assert fields["url"] == "https://www.dekei.example"
    loc = fields["location"]
    assert loc["kern_code"].startswith("GM0971-") and loc["precision"] == "pc4"
    assert loc["location_type"] == "physical"
    # Nothing of it is on the map, in search, or in the registry.
    assert conn.execute(text("SELECT count(*) FROM service")).scalar_one() == services
    found = client.get("/api/v1/search?near=Stein&radius=5000&q=Kei").get_data(True)
    assert "Koffieochtend" not in found
    assert "Koffieochtend" not in client.get("/?near=Stein&radius=5000").get_data(True)


def test_the_status_page_follows_the_submission(client: FlaskClient) -> None:
    ref = _ref(_post(client, "/aanmelden", _new(at_home="1", address="Kerkstraat 99")))
    page = client.get(f"/aanmelding/{ref}?nieuw=1")
    html = page.get_data(True)
    assert page.status_code == 200
    assert "Dank u wel" in html and "Wacht op de redactie" in html
    assert f"/aanmelding/{ref}" in html  # the link to keep
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in page.headers["X-Robots-Tag"]
    assert "Kerkstraat 99" not in html  # a home address is not shown back either
    assert "Bij iemand thuis" in html
    missing = client.get("/aanmelding/" + "x" * 24)
    assert missing.status_code == 404 and "Aanmelding niet gevonden" in missing.get_data(True)


def test_a_point_picked_on_the_map_wins_over_the_place(client: FlaskClient,
                                                       conn: Connection) -> None:
    # A point just off Meers' centre (Stein); the place field says a postcode in Leudal.
    x, y = kern_point(conn, "GM0971-meers")
    lon, lat = to_wgs84(x + 100, y + 50)
    ref = _ref(_post(client, "/aanmelden", _new(place="6093", lat=f"{lat:.6f}",
                                                lon=f"{lon:.6f}")))
    assert ref
    loc = conn.execute(text("SELECT proposed FROM submission_field WHERE field = 'location'")
                       ).scalar_one()
    assert loc["precision"] == "address" and loc["kern_code"] == "GM0971-meers"
    assert abs(loc["x"] - (x + 100)) < 0.5 and abs(loc["y"] - (y + 50)) < 0.5


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"name": ""}, "name", "Vul dit in."),
    ({"name": "ab"}, "name", "Dit is te kort: schrijf minstens 3 tekens."),
    ({"kind": ""}, "kind", "Vul dit in."),
    ({"kind": "casino"}, "kind", "Kies een van de mogelijkheden."),
    ({"description": ""}, "description", "Vul dit in."),
    ({"description": "x" * 2001}, "description", "Dit is te lang: hoogstens 2000 tekens."),
    ({"categories": ["bestaat-niet"]}, "categories", "Kies een van de mogelijkheden."),
    ({"place": ""}, "place", "Vul dit in."),
    ({"place": "Nergensdorp aan de Maas"}, "place", "Deze plaats of postcode vinden we niet."),
    ({"place": "Bergen"}, "place", "Er zijn meer plaatsen met deze naam."),
    ({"place": "", "lat": "48.8566", "lon": "2.3522"}, "place",
     "Deze plek ligt niet in een Nederlandse gemeente."),
    ({"place": "", "lat": "noord", "lon": "5.7"}, "place", "De plek op de kaart kunnen we"),
    ({"email": "geen-adres"}, "email", "Dit is geen e-mailadres."),
    ({"url": "javascript:alert(1)"}, "url", "Dit is geen webadres."),
    ({"phone": "bel me"}, "phone", "Dit is geen telefoonnummer."),
    ({"submitter_email": "mien@"}, "submitter_email", "Dit is geen e-mailadres."),
])
def test_field_level_messages_in_dutch(client: FlaskClient, conn: Connection,
                                       data: dict[str, Any], field: str, message: str) -> None:
    resp = _post(client, "/aanmelden", _new(**data))
    html = resp.get_data(True)
    assert resp.status_code == 400
    assert message in html
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]+)</p>', html)
    assert error and message in error.group(1)
    if field not in ("categories",):
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', html, re.S)
    assert f'href="#{field}"' in html  # the summary links to the field
    if field != "name":  # what was typed stays in the form
        assert 'value="Koffieochtend De Kei"' in html
    assert conn.execute(text("SELECT count(*) FROM submission")).scalar_one() == 0


def test_the_honeypot_pretends_and_stores_nothing(client: FlaskClient,
                                                  conn: Connection) -> None:
    resp = _post(client, "/aanmelden", _new(homepage="https://spam.example"))
    assert resp.status_code == 200 and "Dank u wel" in resp.get_data(True)
    assert "/aanmelding/" not in resp.get_data(True)
    assert conn.execute(text("SELECT count(*) FROM submission")).scalar_one() == 0


def test_rate_limit_per_client_without_raw_addresses(client: FlaskClient,
                                                     conn: Connection) -> None:
    statuses = [_post(client, "/aanmelden", _new(f"Initiatief nummer {i}"),
                      addr="198.51.100.23").status_code for i in range(6)]
    assert statuses == [303] * 5 + [429]
    limited = _post(client, "/aanmelden", _new("Nog een"), addr="198.51.100.23")
    assert "Even rustig aan" in limited.get_data(True)
    assert _post(client, "/aanmelden", _new("Van elders"), addr="198.51.100.24").status_code == 303
    assert conn.execute(text("SELECT count(*) FROM submission")).scalar_one() == 6
    keys = conn.execute(text("SELECT key, scope FROM rate_bucket WHERE scope = 'submit'")).all()
    assert len(keys) == 2
    assert all(re.fullmatch(r"[0-9a-f]{64}", k.key) for k in keys)
    everything = conn.execute(text("SELECT string_agg(t::text, ' ') FROM rate_bucket t")
                              ).scalar_one()
    assert "198.51.100" not in everything


def test_suggest_a_change_starts_from_the_public_values(client: FlaskClient,
                                                        conn: Connection) -> None:
    rec = plant(conn, "Dorpshuis Testmeers", "GM0971-meers")
    conn.execute(text("UPDATE service SET fees_description = 'Gratis' WHERE id = :i"),
                 {"i": rec.id})
    conn.execute(text("INSERT INTO contact (service_id, name, is_private) "
                      "VALUES (:s, 'Verborgen Vrijwilliger', true)"), {"s": rec.id})
    url = f"/initiatief/{rec.id}/wijziging"
    page = client.get(url).get_data(True)
    assert 'value="Dorpshuis Testmeers"' in page and 'value="Gratis"' in page
    assert "Verborgen Vrijwilliger" not in page
    version = conn.execute(text("SELECT version FROM service WHERE id = :i"),
                           {"i": rec.id}).scalar_one()
    same = _post(client, url, {"name": "Dorpshuis Testmeers", "status": "active",
                               "fees_description": "Gratis",
                               "description": "Dorpshuis Testmeers: koffie en ontmoeting"})
    assert same.status_code == 400 and "U heeft nog niets veranderd" in same.get_data(True)
    ref = _ref(_post(client, url, {"name": "Dorpshuis Testmeers", "status": "defunct",
                                   "fees_description": "€ 1 per keer",
                                   "description": "Dorpshuis Testmeers: koffie en ontmoeting"}))
    sub = conn.execute(text("SELECT * FROM submission")).one()
    assert sub.kind == "change" and sub.service_id == rec.id and sub.gemeente_code == STEIN
    assert sub.base_version == version
    fields = {r.field: r for r in conn.execute(text("SELECT * FROM submission_field"))}
    assert set(fields) == {"status", "fees_description"}
    assert fields["fees_description"].current == "Gratis"
    assert fields["fees_description"].proposed == "€ 1 per keer"
    # The record itself is untouched until an editor decides.
    assert conn.execute(text("SELECT fees_description FROM service WHERE id = :i"),
                        {"i": rec.id}).scalar_one() == "Gratis"
    assert "Nee, het bestaat niet meer" in client.get(f"/aanmelding/{ref}").get_data(True)


def test_suggesting_for_an_unknown_initiative_is_404(client: FlaskClient) -> None:
    resp = client.get("/initiatief/00000000-0000-0000-0000-000000000000/wijziging")
    assert resp.status_code == 404
    assert client.get("/initiatief/geen-id/wijziging").status_code == 400


def test_script_in_every_field_is_rendered_inert(client: FlaskClient,
                                                 conn: Connection) -> None:
    data = _new(name=XSS[:120], description=XSS * 3, schedule_note=XSS, fees_description=XSS,
                note=XSS, submitter_name=XSS[:100], address=XSS[:120])
    ref = _ref(_post(client, "/aanmelden", data))
    stored = conn.execute(text("SELECT proposed FROM submission_field WHERE field = 'name'")
                          ).scalar_one()
    assert stored == XSS[:120]  # kept as typed ...
    html = client.get(f"/aanmelding/{ref}").get_data(True)
    assert "<script>alert" not in html and "<img src=x" not in html  # ... shown as text
    assert "&lt;script&gt;alert(" in html
    bad = _post(client, "/aanmelden", _new(name=XSS[:120], place=XSS))
    assert bad.status_code == 400 and "<script>alert" not in bad.get_data(True)


@pytest.mark.parametrize("payload", [
    "Robert'); DROP TABLE service; --", "' OR '1'='1", "x\\'; SELECT pg_sleep(5); --"])
def test_sql_in_fields_is_just_text(client: FlaskClient, conn: Connection,
                                    payload: str) -> None:
    ref = _ref(_post(client, "/aanmelden", _new(name=f"Test {payload}"[:120],
                                                description=f"Omschrijving {payload}")))
    assert ref
    assert conn.execute(text("SELECT proposed FROM submission_field WHERE field = 'name'")
                        ).scalar_one() == f"Test {payload}"[:120]
    assert conn.execute(text("SELECT count(*) FROM service")).scalar_one() > 0
    bad_place = _post(client, "/aanmelden", _new(place=payload))
    assert bad_place.status_code == 400
    assert client.get(f"/aanmelding/{payload}").status_code == 404


def test_oversized_posts_get_413(client: FlaskClient) -> None:
    token = form_token(client.get("/aanmelden").get_data(True))
    resp = client.post("/aanmelden", data={"csrf_token": token, "description": "x" * 300_000})
    assert resp.status_code == 413


def test_text_is_cleaned_of_control_characters() -> None:
    assert svc.clean_text(" a\x00b\r\nc\x1b ") == "ab\nc"
    assert svc.clean_text("Cafe\u0301") == "Café"
