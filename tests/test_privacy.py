"""Privacy (AVG): a volunteer's home address and point, private contacts and what residents
submit never reach a public response; a sweep over every GET route of the app without signing
in. Private contacts for area teams and editors only. An admin can remove a person's data on
request: nothing of it remains, the change log keeps only that a removal happened."""
from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from socialmap.geo import to_wgs84

from .staff import CSRF, STEIN, form_token, kern_point, make_user, plant, session_into

KERN = "GM0971-meers"
NAME = "Burenhulp Geheimtest"
ADDRESS, POSTCODE = "Geheimstraat 99", "6181 ZZ"
CONTACT, EMAIL = "Mevrouw Geheimzinnig", "geheim.adres@prive.example"
PHONE, SERVICE_PHONE = "06-98765432", "046-4339999"
SUBMITTED_ADDRESS, SUBMITTER = "Verstopstraat 5", "indiener@prive.example"
# Far enough from the kern point that no rounding of one gives the other.
OFFSET = (437.3, -291.7)


@dataclass
class Planted:
    """The private record and everything that must never be public about it."""

    service_id: uuid.UUID
    location_id: uuid.UUID
    sal_id: uuid.UUID
    submission_id: uuid.UUID
    lon: float
    lat: float
    x: float
    y: float

    def secrets(self) -> list[str]:
        """Every form in which the private data could show up in a response, as text."""
        return [ADDRESS, "Geheimstraat", POSTCODE, CONTACT, EMAIL, PHONE, "0698765432",
                "+31698765432", "06 98765432", SERVICE_PHONE, "0464339999", SUBMITTED_ADDRESS,
                SUBMITTER, "Verstopstraat", f"{self.lon:.6f}", f"{self.lat:.6f}",
                f"{self.x:.1f}", f"{self.y:.1f}"]

    def near_home(self, a: float, b: float) -> bool:
        """True when (a, b) is a point within 30 m of the home: lon/lat either way, or RD."""
        for lon, lat in ((a, b), (b, a)):
            dx = (lon - self.lon) * 70_000  # metres per degree of longitude here, roughly
            dy = (lat - self.lat) * 111_000
            if dx * dx + dy * dy < 30 ** 2:
                return True
        return (a - self.x) ** 2 + (b - self.y) ** 2 < 30 ** 2


@pytest.fixture
def planted(conn: Connection) -> Planted:
    """A burenhulp at a volunteer's home in Meers, with private contacts and a pending
    submission that proposes another home address."""
    kx, ky = kern_point(conn, KERN)
    rec = plant(conn, NAME, KERN, dx=OFFSET[0], dy=OFFSET[1], location_type="private",
                address=ADDRESS, postal_code=POSTCODE, kind="burenhulp")
    conn.execute(text("UPDATE location SET pc4 = '6181', city = 'Meers' WHERE id = :l"),
                 {"l": rec.location_id})
    conn.execute(text("INSERT INTO attribute (service_id, taxonomy_term_id) "
                      "SELECT :s, id FROM taxonomy_term WHERE code IN ('burenhulp', 'ouderen')"),
                 {"s": rec.id})
    contact = conn.execute(text(
        "INSERT INTO contact (service_id, name, email, is_private) VALUES (:s, :n, :e, true) "
        "RETURNING id"), {"s": rec.id, "n": CONTACT, "e": EMAIL}).scalar_one()
    conn.execute(text("INSERT INTO phone (contact_id, number, is_private) VALUES (:c, :p, true)"),
                 {"c": contact, "p": PHONE})
    conn.execute(text("INSERT INTO phone (service_id, number, is_private) VALUES (:s, :p, true)"),
                 {"s": rec.id, "p": SERVICE_PHONE})
    conn.execute(text("INSERT INTO contact (service_id, name, is_private) "
                      "VALUES (:s, 'Coördinator Openbaar', false)"), {"s": rec.id})
    sal = conn.execute(text("SELECT id FROM service_at_location WHERE service_id = :s"),
                       {"s": rec.id}).scalar_one()
    sub = conn.execute(text(
        "INSERT INTO submission (ref_hash, kind, service_id, gemeente_code, submitter_email, "
        "base_version) VALUES (repeat('a', 64), 'change', :s, :g, :e, 1) RETURNING id"),
        {"s": rec.id, "g": STEIN, "e": SUBMITTER}).scalar_one()
    conn.execute(text(
        "INSERT INTO submission_field (submission_id, field, proposed) VALUES "
        "(:i, 'schedule_note', to_jsonb(CAST(:v AS text)))"),
        {"i": sub, "v": f"Bij mij thuis, {SUBMITTED_ADDRESS}"})
    x, y = kx + OFFSET[0], ky + OFFSET[1]
    lon, lat = to_wgs84(x, y)
    return Planted(rec.id, rec.location_id, sal, sub, lon, lat, x, y)


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _leaks(body: str, planted: Planted) -> list[str]:
    """The secrets in a response, and any pair of numbers next to each other that is a point
    within 30 m of the home (whatever the precision, order or coordinate system)."""
    found = [s for s in planted.secrets() if s in body]
    numbers = [float(n) for n in _NUMBER.findall(body)]
    found += [f"point {a}, {b}" for a, b in itertools.pairwise(numbers)
              if planted.near_home(a, b)]
    return found


def _argument_values(client: FlaskClient, planted: Planted) -> dict[str, list[str]]:
    """Representative values for every path argument of the app's GET routes."""
    collections = ["initiatieven"]
    listing = client.get("/ogc/collections?f=json")
    if listing.status_code == 200 and listing.is_json:
        collections = [c["id"] for c in listing.get_json().get("collections", [])] or collections
    taxonomy = client.get("/api/v1/taxonomy").get_json()["category"][0]["id"]
    ids = [str(planted.service_id), str(planted.sal_id), str(planted.location_id),
           str(planted.submission_id), taxonomy]
    return {"ident": ids, "fid": ids, "cid": collections, "code": [KERN, STEIN],
            "ref": ["a" * 24], "lang": ["nl", "en"], "name": ["service", "location"],
            "kind": ["json"]}


def _queries(planted: Planted) -> list[str]:
    box = (f"{planted.lon - 0.02:.4f},{planted.lat - 0.02:.4f},"
           f"{planted.lon + 0.02:.4f},{planted.lat + 0.02:.4f}")
    # 150 m north-east of the home: a search may echo its own starting point, not the secret.
    lon, lat = to_wgs84(planted.x + 150, planted.y + 150)
    near = f"{lat:.6f},{lon:.6f}"
    return ["", f"near={near}&radius=2000", f"near={near}&print=1",
            "near=Meers%2C+Stein&radius=3000&print=1", f"kern={KERN}", f"kern={KERN}&print=1",
            f"bbox={box}&zoom=17", f"bbox={box}&zoom=12", f"bbox={box}&limit=1000",
            "gemeente=GM0971&full=true&per_page=1000", "search=Geheimtest&full=true",
            "format=ndjson&gemeente=GM0971&full=true", "postcode=6181&radius=3000&full=true",
            "f=html", "f=json", "q=Geheimtest", "full_service=true"]


def test_no_public_output_holds_private_data(app: Flask, planted: Planted) -> None:
    """Every GET route without signing in, with representative ids and queries."""
    client = app.test_client()
    values = _argument_values(client, planted)
    urls: list[str] = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint == "static":
            continue
        unknown = set(rule.arguments) - set(values)
        assert not unknown, f"{rule.rule}: give the privacy sweep values for {unknown}"
        names = sorted(rule.arguments)
        for combo in itertools.product(*(values[n] for n in names)):
            _, path = rule.build(dict(zip(names, combo, strict=True)), append_unknown=False)
            queries = _queries(planted) if not names else ["", "f=json", "f=html", "full=true",
                                                           "print=1", "full_service=true"]
            urls.extend(f"{path}?{q}" if q else path for q in queries)
    shown, statuses = [], {}
    for url in urls:
        resp = client.get(url)
        body = resp.get_data(True)
        statuses[url] = resp.status_code
        leaks = _leaks(body, planted)
        assert not leaks, f"{url} ({resp.status_code}) shows {leaks}"
        assert not _leaks(str(resp.headers), planted), f"{url}: headers"
        if NAME in body:
            shown.append(url)
    # The sweep is worth something only when the record itself is in the outputs.
    must = [f"/initiatief/{planted.service_id}", f"/api/v1/initiatives/{planted.service_id}",
            "/api/v1/search?near={:.6f},{:.6f}&radius=2000".format(
                *reversed(to_wgs84(planted.x + 150, planted.y + 150)))]
    missing = [u for u in must if u not in shown]
    assert not missing, f"the private record should be shown (safely) by {missing}"
    assert len(shown) >= 10, shown
    assert sum(1 for s in statuses.values() if s == 200) > 50
    assert f"/kern/{KERN}?print=1" in statuses
    assert "/hsds/services?gemeente=GM0971&full=true&per_page=1000" in statuses


def test_a_private_location_is_shown_at_its_kern(client: FlaskClient, conn: Connection,
                                                 planted: Planted) -> None:
    kx, ky = kern_point(conn, KERN)
    klon, klat = to_wgs84(kx, ky)
    body = client.get(f"/api/v1/initiatives/{planted.service_id}").get_json()
    loc = body["locations"][0]
    assert loc["location_type"] == "private" and loc["address"] is None
    assert loc["postal_code"] is None
    assert loc["coordinates"] == [round(klon, 6), round(klat, 6)]
    assert [c["name"] for c in body["contacts"]] == ["Coördinator Openbaar"]
    assert body["phones"] == []


def _hit(client: FlaskClient, query: str) -> dict | None:
    body = client.get(f"/api/v1/search?{query}").get_json()
    return next((f for f in body["features"] if f["properties"]["name"] == NAME), None)


def test_search_finds_a_home_only_by_its_kern_point(client: FlaskClient, conn: Connection,
                                                    planted: Planted) -> None:
    kx, ky = kern_point(conn, KERN)
    # 150 m from the home, some 600 m from the kern point: a 300 m radius must not find it,
    # or shrinking radii would pin the home down (trilateration).
    lon, lat = to_wgs84(planted.x + 150, planted.y)
    assert _hit(client, f"near={lat:.6f},{lon:.6f}&radius=300") is None
    to_kern = ((planted.x + 150 - kx) ** 2 + (planted.y - ky) ** 2) ** 0.5
    hit = _hit(client, f"near={lat:.6f},{lon:.6f}&radius={int(to_kern) + 5}")
    assert hit is not None
    # Its distance is the rounded distance to the kern point, its precision the kern's.
    assert hit["properties"]["distance_m"] == round(to_kern / 100) * 100
    assert hit["properties"]["precision"] == "kern"
    assert not _leaks(str(hit), planted)
    # Whatever the radius, membership flips at the kern point's distance, never the home's.
    to_home = 150.0
    for radius in (int(to_home) + 1, int(to_kern) - 5):
        assert _hit(client, f"near={lat:.6f},{lon:.6f}&radius={radius}") is None


def test_nearest_ranks_a_home_by_its_kern_point(client: FlaskClient, conn: Connection,
                                               planted: Planted) -> None:
    kx, ky = kern_point(conn, KERN)
    # Right on top of the home, the nearest search reports the kern point's distance.
    lon, lat = to_wgs84(planted.x, planted.y)
    hit = _hit(client, f"near={lat:.6f},{lon:.6f}&mode=nearest&limit=100")
    assert hit is not None
    to_kern = ((planted.x - kx) ** 2 + (planted.y - ky) ** 2) ** 0.5
    assert hit["properties"]["distance_m"] == round(to_kern / 100) * 100
    shown = conn.execute(text("SELECT ST_X(shown_geom), ST_Y(shown_geom) FROM location "
                              "WHERE id = :l"), {"l": planted.location_id}).one()
    assert (round(shown[0], 3), round(shown[1], 3)) == (round(kx, 3), round(ky, 3))


def test_the_published_point_follows_writes_and_kern_moves(conn: Connection,
                                                           planted: Planted) -> None:
    def shown() -> tuple[float, float]:
        row = conn.execute(text("SELECT ST_X(shown_geom), ST_Y(shown_geom) FROM location "
                                "WHERE id = :l"), {"l": planted.location_id}).one()
        return round(row[0], 3), round(row[1], 3)

    kx, ky = kern_point(conn, KERN)
    conn.execute(text("UPDATE kern SET point = ST_Translate(point, 10, 20) WHERE code = :k"),
                 {"k": KERN})
    assert shown() == (round(kx + 10, 3), round(ky + 20, 3))
    conn.execute(text("UPDATE location SET location_type = 'physical' WHERE id = :l"),
                 {"l": planted.location_id})
    assert shown() == (round(planted.x, 3), round(planted.y, 3))
    # Outside every kern a home is published at its 1 km grid corner.
    conn.execute(text("UPDATE location SET location_type = 'private', kern_code = NULL "
                      "WHERE id = :l"), {"l": planted.location_id})
    assert shown() == (round(planted.x / 1000) * 1000, round(planted.y / 1000) * 1000)
    fields = conn.execute(text("SELECT DISTINCT field FROM change WHERE entity_id = :l "
                               "AND field IS NOT NULL"), {"l": planted.location_id}).scalars()
    assert "shown_geom" not in set(fields)


def test_private_contacts_for_signed_in_area_teams_and_editors(app: Flask, conn: Connection,
                                                               planted: Planted) -> None:
    team = make_user(conn, "team@stein.nl", "gebiedsteam", (STEIN,), totp=False)
    client = app.test_client()
    session_into(client, conn, team)
    api = client.get(f"/api/v1/initiatives/{planted.service_id}")
    body = api.get_data(True)
    assert CONTACT in body and EMAIL in body and PHONE in body and SERVICE_PHONE in body
    assert api.headers["Cache-Control"] == "private, no-store"
    assert "Cookie" in api.headers["Vary"]
    internal = client.get(f"/initiatief/{planted.service_id}/intern").get_data(True)
    assert ADDRESS in internal and CONTACT in internal
    # The public page stays public, even for staff; and nobody else gets the private answer.
    public = app.test_client().get(f"/api/v1/initiatives/{planted.service_id}")
    assert CONTACT not in public.get_data(True)
    assert "private" not in public.headers.get("Cache-Control", "")
    half = app.test_client()
    editor = make_user(conn, "red@stein.nl", "editor", (STEIN,))
    session_into(half, conn, editor, second_factor=False)
    assert CONTACT not in half.get(f"/api/v1/initiatives/{planted.service_id}").get_data(True)


# --- erasure on request --------------------------------------------------------------------


def _everywhere(conn: Connection, needle: str) -> dict[str, int]:
    """Rows of every table of the schema whose text holds the needle."""
    tables = conn.execute(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename NOT IN ('spatial_ref_sys')")).scalars().all()
    found = {}
    for table in tables:
        n = conn.execute(text(f'SELECT count(*) FROM "{table}" t WHERE t::text ILIKE :n'),
                         {"n": f"%{needle}%"}).scalar_one()
        if n:
            found[table] = n
    return found


@pytest.fixture
def admin(app: Flask, conn: Connection) -> FlaskClient:
    client = app.test_client()
    session_into(client, conn, make_user(conn, "beheer@gemeente.nl", "admin", name="Beheer"))
    return client


def test_erasure_previews_then_removes_everything_but_the_fact(admin: FlaskClient,
                                                               conn: Connection,
                                                               planted: Planted) -> None:
    # Some history to scrub: the contact's e-mail was changed once.
    conn.execute(text("UPDATE contact SET email = 'oud.' || email WHERE name = :n"),
                 {"n": CONTACT})
    conn.execute(text("UPDATE contact SET email = :e WHERE name = :n"),
                 {"n": CONTACT, "e": EMAIL})
    assert "change" in _everywhere(conn, CONTACT)
    form = admin.get("/beheer/verwijderen").get_data(True)
    preview = admin.post("/beheer/verwijderen", data={"csrf_token": form_token(form),
                                                      "term": EMAIL.upper()})
    html = preview.get_data(True)
    assert preview.status_code == 200 and "Definitief verwijderen" in html and CONTACT in html
    assert _everywhere(conn, CONTACT)  # a preview changes nothing
    done = admin.post("/beheer/verwijderen", data={"csrf_token": CSRF, "term": EMAIL,
                                                   "confirm": "ja"})
    assert done.status_code == 200 and "Verwijderd" in done.get_data(True)
    for needle in (CONTACT, EMAIL, PHONE, "98765432"):
        assert _everywhere(conn, needle) == {}, needle
    markers = conn.execute(text(
        "SELECT entity_type, action, new_value, changed_by FROM change WHERE source = 'erasure' "
        "ORDER BY entity_type")).all()
    assert [tuple(r) for r in markers] == [
        ("contact", "delete", "verwijderd op verzoek", "beheer@gemeente.nl"),
        ("phone", "delete", "verwijderd op verzoek", "beheer@gemeente.nl")]
    # The rest of the record is untouched.
    assert conn.execute(text("SELECT count(*) FROM contact WHERE service_id = :s"),
                        {"s": planted.service_id}).scalar_one() == 1
    assert conn.execute(text("SELECT number FROM phone WHERE service_id = :s"),
                        {"s": planted.service_id}).scalar_one() == SERVICE_PHONE


def test_erasure_of_a_home_address_and_a_submitter(admin: FlaskClient, conn: Connection,
                                                   planted: Planted) -> None:
    for term in (ADDRESS, SUBMITTER, "046 433 9999"):
        resp = admin.post("/beheer/verwijderen", data={"csrf_token": CSRF, "term": term,
                                                       "confirm": "ja"})
        assert resp.status_code == 200
    for needle in ("Geheimstraat", SUBMITTER, "4339999"):
        assert _everywhere(conn, needle) == {}, needle
    loc = conn.execute(text(
        "SELECT l.address, l.precision, ST_Equals(l.geom, k.point) AS at_kern FROM location l "
        "JOIN kern k ON k.code = l.kern_code WHERE l.id = :l"), {"l": planted.location_id}).one()
    assert tuple(loc) == (None, "kern", True)
    kinds = conn.execute(text("SELECT entity_type, field FROM change WHERE source = 'erasure' "
                              "ORDER BY 1, 2")).all()
    assert ("location", "address") in [tuple(k) for k in kinds]
    assert ("phone", None) in [tuple(k) for k in kinds]


def test_erasure_needs_a_real_term_and_an_admin(admin: FlaskClient, app: Flask,
                                                conn: Connection, planted: Planted) -> None:
    short = admin.post("/beheer/verwijderen", data={"csrf_token": CSRF, "term": "abc"})
    assert short.status_code == 400
    editor = app.test_client()
    session_into(editor, conn, make_user(conn, "red@stein.nl", "editor", (STEIN,)))
    assert editor.post("/beheer/verwijderen", data={"csrf_token": CSRF, "term": EMAIL,
                                                    "confirm": "ja"}).status_code == 403
    assert _everywhere(conn, EMAIL)


def test_the_privacy_doc_names_what_is_kept(app: Flask) -> None:
    from socialmap.config import PROJECT_ROOT

    doc = (PROJECT_ROOT / "docs" / "PRIVACY.md").read_text(encoding="utf-8")
    for table in ("app_user", "user_session", "rate_bucket", "submission", "contact", "phone",
                  "location", "change"):
        assert f"`{table}`" in doc, table
    assert re.search(r"90 dagen|90 days", doc)


def test_paging_through_homes_tied_at_the_kern_point(client: FlaskClient, conn: Connection) -> None:
    # Five homes published at the same kern point tie on distance: every page must still
    # hold the next ones, none twice and none skipped.
    names = {f"Thuishulp {i}" for i in range(5)}
    for i, name in enumerate(sorted(names)):
        plant(conn, name, KERN, dx=100 + 40 * i, dy=-60 * i, location_type="private",
              kind="burenhulp")
    kx, ky = kern_point(conn, KERN)
    lon, lat = to_wgs84(kx + 5, ky + 5)
    query = f"near={lat:.6f},{lon:.6f}&radius=300&demo=false"
    whole = client.get(f"/api/v1/search?{query}&limit=100").get_json()["features"]
    order = [f["properties"]["name"] for f in whole]
    assert names <= set(order)
    paged = []
    for offset in range(len(order)):
        page = client.get(f"/api/v1/search?{query}&limit=1&offset={offset}").get_json()
        paged += [f["properties"]["name"] for f in page["features"]]
    assert paged == order
    pairs = [client.get(f"/api/v1/search?{query}&limit=2&offset={o}").get_json()["features"]
             for o in range(0, len(order), 2)]
    assert [f["properties"]["name"] for p in pairs for f in p] == order


def test_gap_analysis_measures_a_home_from_its_kern_point(conn: Connection,
                                                          planted: Planted) -> None:
    # Public gap distances from several kernen would otherwise pin the home down.
    def gap_points() -> set[tuple[float, float]]:
        rows = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM gap_point "
                                 "WHERE location_id = :l"), {"l": planted.location_id}).all()
        return {(round(x, 3), round(y, 3)) for x, y in rows}

    kx, ky = kern_point(conn, KERN)
    assert gap_points() == {(round(kx, 3), round(ky, 3))}
    conn.execute(text("UPDATE location SET location_type = 'physical' WHERE id = :l"),
                 {"l": planted.location_id})
    assert gap_points() == {(round(planted.x, 3), round(planted.y, 3))}
