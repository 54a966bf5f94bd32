"""Place resolution, the kernen endpoints and the PDOK adapter, on the real test geography."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import shapely
from flask.testing import FlaskClient
from pyproj import Transformer
from shapely.geometry import shape
from sqlalchemy import Connection, text

from socialmap import create_app, geocode
from socialmap.config import Settings
from socialmap.errors import InvalidInput, NotFound
from socialmap.geo import to_rd
from socialmap.geocode import (
    AmbiguousPlace,
    GeocoderUnavailable,
    PdokGeocoder,
    Place,
    PlaceNotFound,
    parse_near,
)
from socialmap.geocode.pdok import TYPES

FIXTURES = Path(__file__).parent / "fixtures" / "pdok"
ROGGEL = "GM1640-roggel"


def resolve(conn: Connection, settings: Settings, near: str) -> Place:
    return geocode.resolve(conn, near, settings)


def covers(conn: Connection, kern_code: str, x: float, y: float) -> bool:
    """Independent check: does the kern's area cover the RD point?"""
    return conn.execute(text(
        "SELECT ST_Covers(area, ST_SetSRID(ST_MakePoint(:x, :y), 28992)) FROM kern "
        "WHERE code = :code"), {"x": x, "y": y, "code": kern_code}).scalar_one()


def error_of(resp: Any, status: int, code: str) -> dict[str, Any]:
    """The error body of a response, checked for status, code, message and field."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()["error"]
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert "field" in body
    return body


# --- names -------------------------------------------------------------------------------

@pytest.mark.parametrize("near", ["westerhaar", "Westerhaar", "WESTERHAAR-vriezenveensewijk",
                                  "Westerhaar Vriezenveensewijk", "westerhaar, Twenterand"])
def test_word_prefix_ignoring_case_accents_and_hyphens(conn: Connection, settings: Settings,
                                                       near: str) -> None:
    place = resolve(conn, settings, near)
    assert place.kind == "kern"
    assert place.kern_code == "GM1700-westerhaar-vriezenveensewijk"
    assert place.kern_name == "Westerhaar-Vriezenveensewijk"
    assert place.gemeente_name == "Twenterand"


def test_meers_is_the_kern_in_stein(conn: Connection, settings: Settings) -> None:
    place = resolve(conn, settings, "Meers")
    assert (place.kind, place.kern_code, place.gemeente_code) == ("kern", "GM0971-meers", "GM0971")
    assert place.label == "Meers (Stein)"
    assert place.gemeente_name == "Stein (L.)"
    # The kern point, in both systems, agreeing with each other.
    assert 5.70 < place.lon < 5.78 and 50.94 < place.lat < 50.98
    x, y = to_rd(place.lon, place.lat)
    assert abs(x - place.x) < 0.1 and abs(y - place.y) < 0.1


def test_accents_are_ignored(conn: Connection, settings: Settings) -> None:
    assert resolve(conn, settings, "MÉERS").kern_code == "GM0971-meers"


def test_elsloo_is_ambiguous_with_both_gemeenten(conn: Connection, settings: Settings) -> None:
    with pytest.raises(AmbiguousPlace) as info:
        resolve(conn, settings, "Elsloo")
    err = info.value
    assert err.status == 400 and err.field == "near"
    gemeenten = {c["gemeente"]["code"]: c["gemeente"]["name"] for c in err.choices}
    assert gemeenten == {"GM0971": "Stein (L.)", "GM0085": "Ooststellingwerf"}
    assert [c["code"] for c in err.choices] == ["GM0971-elsloo", "GM0085-elsloo"]
    assert "Elsloo, Stein (L.)" in err.message


@pytest.mark.parametrize("near, code", [
    ("Elsloo, Stein", "GM0971-elsloo"),
    ("elsloo,stein (l.)", "GM0971-elsloo"),
    ("Elsloo, GM0971", "GM0971-elsloo"),
    ("Elsloo, Ooststellingwerf", "GM0085-elsloo"),
])
def test_a_gemeente_after_the_comma_picks_one(conn: Connection, settings: Settings, near: str,
                                              code: str) -> None:
    place = resolve(conn, settings, near)
    assert place.kind == "kern" and place.kern_code == code


def test_every_choice_resolves_to_itself(conn: Connection, settings: Settings) -> None:
    for ambiguous in ("Elsloo", "Hengelo"):
        with pytest.raises(AmbiguousPlace) as info:
            resolve(conn, settings, ambiguous)
        assert len(info.value.choices) >= 2
        for choice in info.value.choices:
            assert resolve(conn, settings, choice["near"]).kern_code == choice["code"]


def test_bag_qualifier_counts_as_exact(conn: Connection, settings: Settings) -> None:
    """'Elst' means Elst (Overbetuwe) or 'Elst Ut' (Rhenen), not a kern that starts with Elst."""
    with pytest.raises(AmbiguousPlace) as info:
        resolve(conn, settings, "Elst")
    assert {c["code"] for c in info.value.choices} == {"GM1734-elst", "GM0340-elst-ut"}


def test_unknown_name_suggests_the_intended_place(conn: Connection,
                                                  settings: Settings) -> None:
    with pytest.raises(PlaceNotFound) as info:
        resolve(conn, settings, "Lemelervelt")
    err = info.value
    assert err.status == 404 and err.code == "place_not_found" and err.field == "near"
    assert 1 <= len(err.suggestions) <= 5
    first = err.suggestions[0]
    assert (first["name"], first["gemeente"]["name"]) == ("Lemelerveld", "Dalfsen")
    assert first["label"] == "Lemelerveld (Dalfsen)"


def test_unknown_gemeente_suggests_kernen_of_that_name(conn: Connection,
                                                       settings: Settings) -> None:
    with pytest.raises(PlaceNotFound) as info:
        resolve(conn, settings, "Elsloo, Stien")
    assert "no gemeente called 'Stien'" in info.value.message
    assert {"GM0971-elsloo", "GM0085-elsloo"} <= {s["code"] for s in info.value.suggestions}


def test_a_gemeente_name_suggests_its_kernen(conn: Connection, settings: Settings) -> None:
    with pytest.raises(PlaceNotFound) as info:
        resolve(conn, settings, "Leudal")
    suggestions = info.value.suggestions
    assert len(suggestions) == 5
    assert {s["gemeente"]["code"] for s in suggestions} == {"GM1640"}
    assert ROGGEL in {s["code"] for s in suggestions}


def test_gibberish_is_not_found_without_suggestions(conn: Connection,
                                                    settings: Settings) -> None:
    with pytest.raises(PlaceNotFound) as info:
        resolve(conn, settings, "Qxzvbnkjwq")
    assert info.value.suggestions == []


def test_kern_place_by_code(conn: Connection) -> None:
    place = geocode.kern_place(conn, ROGGEL)
    assert (place.kind, place.kern_name, place.label) == ("kern", "Roggel", "Roggel (Leudal)")
    with pytest.raises(NotFound) as info:
        geocode.kern_place(conn, "GM1640-nergens")
    assert info.value.field == "kern"


# --- postcodes and points ------------------------------------------------------------------

@pytest.mark.parametrize("near", ["6088", "6088 AB", "6088ab", "6088 AB Roggel"])
def test_postcode_resolves_to_its_pc4_centroid_and_kern(conn: Connection, settings: Settings,
                                                        near: str) -> None:
    place = resolve(conn, settings, near)
    assert (place.kind, place.pc4, place.kern_code) == ("pc4", "6088", ROGGEL)
    assert place.label == "6088 Roggel (Leudal)"
    x, y = conn.execute(text("SELECT ST_X(centroid), ST_Y(centroid) FROM pc4 "
                             "WHERE code = '6088'")).one()
    assert (place.x, place.y) == (x, y)
    assert covers(conn, ROGGEL, place.x, place.y)


def test_unknown_postcode_is_not_found(conn: Connection, settings: Settings) -> None:
    assert conn.execute(text("SELECT count(*) FROM pc4 WHERE code = '1000'")).scalar_one() == 0
    with pytest.raises(PlaceNotFound) as info:
        resolve(conn, settings, "1000 AA")
    assert "1000" in info.value.message


@pytest.mark.parametrize("lat, lon", [(51.2478, 5.9260), (51.2668, 5.9258)])
def test_lat_lon_resolves_to_itself_with_its_covering_kern(conn: Connection, settings: Settings,
                                                           lat: float, lon: float) -> None:
    place = resolve(conn, settings, f"{lat},{lon}")
    assert place.kind == "point"
    assert (place.lat, place.lon) == (lat, lon)
    assert (place.x, place.y) == pytest.approx(to_rd(lon, lat), abs=1e-6)
    assert place.kern_code == ROGGEL and place.gemeente_code == "GM1640"
    assert place.label == f"{lat:.5f}, {lon:.5f} in Roggel (Leudal)"
    assert covers(conn, ROGGEL, place.x, place.y)


def test_rd_point_resolves_like_the_same_lat_lon(conn: Connection, settings: Settings) -> None:
    x, y = to_rd(5.9260, 51.2478)
    place = resolve(conn, settings, f"{x:.2f},{y:.2f}")
    assert place.kind == "point" and place.kern_code == ROGGEL
    assert place.label.startswith(f"RD {x:.0f}, {y:.0f} in Roggel")
    assert place.lat == pytest.approx(51.2478, abs=1e-6)


def test_every_rd_point_gets_the_kern_whose_area_covers_it(conn: Connection,
                                                            settings: Settings) -> None:
    for x, y in [(190000, 330000), (155000, 463000), (233000, 582000), (121000, 487000)]:
        place = resolve(conn, settings, f"{x},{y}")
        assert place.kern_code is not None, (x, y)
        assert covers(conn, place.kern_code, x, y)
        assert place.gemeente_name


def test_a_point_in_the_sea_has_no_kern(conn: Connection, settings: Settings) -> None:
    place = resolve(conn, settings, "53.5,4.0")
    assert place.kind == "point" and place.kern_code is None and place.gemeente_code is None
    assert place.label == "53.50000, 4.00000"


def test_field_name_is_passed_through(conn: Connection, settings: Settings) -> None:
    with pytest.raises(PlaceNotFound) as info:
        geocode.resolve(conn, "Lemelervelt", settings, field="waar")
    assert info.value.field == "waar"
    with pytest.raises(InvalidInput) as invalid:
        geocode.resolve(conn, "0123", settings, field="waar")
    assert invalid.value.field == "waar"


def test_unknown_geocoder_setting_is_a_configuration_error(conn: Connection,
                                                           settings: Settings) -> None:
    with pytest.raises(ValueError, match="offline' or 'pdok"):
        geocode.resolve(conn, "Meers", replace(settings, geocoder="google"))


def test_covering_kern_query_uses_the_spatial_index(conn: Connection) -> None:
    plan = "\n".join(conn.execute(text(
        "EXPLAIN SELECT code FROM kern WHERE ST_Covers(area, "
        "ST_SetSRID(ST_MakePoint(192619.4, 362190.1), 28992))")).scalars())
    assert "ix_kern_area" in plan


# --- the API -------------------------------------------------------------------------------

def test_resolve_endpoint(client: FlaskClient) -> None:
    resp = client.get("/api/v1/places/resolve?near=Meers")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["kind"] == "kern" and body["kern_code"] == "GM0971-meers"
    assert set(body) == {"kind", "label", "x", "y", "lon", "lat", "kern_code", "kern_name",
                         "gemeente_code", "gemeente_name", "pc4"}


def test_resolve_endpoint_errors(client: FlaskClient) -> None:
    body = error_of(client.get("/api/v1/places/resolve?near=Elsloo"), 400, "ambiguous")
    assert body["field"] == "near" and len(body["choices"]) == 2
    body = error_of(client.get("/api/v1/places/resolve?near=Lemelervelt"), 404,
                    "place_not_found")
    assert body["suggestions"][0]["code"] == "GM0148-lemelerveld"
    assert error_of(client.get("/api/v1/places/resolve"), 400, "invalid")["field"] == "near"
    assert error_of(client.get("/api/v1/places/resolve?near=0123"), 400,
                    "invalid")["field"] == "near"
    assert error_of(client.get("/api/v1/places/resolve?near=Meers&radius=3"), 400,
                    "invalid")["field"] == "radius"
    assert error_of(client.get("/api/v1/places/resolve?near=5.98,51.17"), 400,
                    "invalid")["field"] == "near"


def test_kernen_autocomplete(client: FlaskClient) -> None:
    resp = client.get("/api/v1/kernen?q=roggel")
    assert resp.status_code == 200
    kernen = resp.get_json()["kernen"]
    assert kernen[0]["code"] == ROGGEL
    first = kernen[0]
    assert first["gemeente"] == {"code": "GM1640", "name": "Leudal"}
    assert first["label"] == "Roggel (Leudal)"
    assert isinstance(first["inhabitants"], int) and first["inhabitants"] > 0
    assert 3.2 < first["lon"] < 7.3 and 50.6 < first["lat"] < 53.7


@pytest.mark.parametrize("q, first", [
    ("westerh", "GM1700-westerhaar-vriezenveensewijk"),
    ("Lemelervelt", "GM0148-lemelerveld"),
    ("vriezenveensewijk", "GM1700-westerhaar-vriezenveensewijk"),
    ("meers", "GM0971-meers"),
])
def test_kernen_autocomplete_first_hit(client: FlaskClient, q: str, first: str) -> None:
    kernen = client.get(f"/api/v1/kernen?q={q}").get_json()["kernen"]
    assert kernen and kernen[0]["code"] == first


def test_kernen_autocomplete_at_most_ten_prefix_hits_first(client: FlaskClient) -> None:
    kernen = client.get("/api/v1/kernen?q=ee").get_json()["kernen"]
    assert len(kernen) == 10
    assert kernen[0]["name"] == "Ee"  # the exact name first, however small
    prefix = [k for k in kernen[1:] if k["name"].lower().startswith("ee")]
    assert len(prefix) == 9
    inhabitants = [k["inhabitants"] for k in prefix]
    assert inhabitants == sorted(inhabitants, reverse=True)


def test_kernen_autocomplete_within_a_gemeente(client: FlaskClient) -> None:
    kernen = client.get("/api/v1/kernen?q=e&gemeente=GM0971").get_json()["kernen"]
    assert kernen and {k["gemeente"]["code"] for k in kernen} == {"GM0971"}
    assert "GM0971-elsloo" in {k["code"] for k in kernen}


def test_kernen_autocomplete_errors(client: FlaskClient) -> None:
    assert error_of(client.get("/api/v1/kernen"), 400, "invalid")["field"] == "q"
    assert error_of(client.get("/api/v1/kernen?q="), 400, "invalid")["field"] == "q"
    assert error_of(client.get("/api/v1/kernen?q=" + "a" * 101), 400, "invalid")["field"] == "q"
    assert error_of(client.get("/api/v1/kernen?q=--"), 400, "invalid")["field"] == "q"
    assert error_of(client.get("/api/v1/kernen?q=a&gemeente=Stein"), 400,
                    "invalid")["field"] == "gemeente"
    assert error_of(client.get("/api/v1/kernen?q=a&gemeente=GM9999"), 400,
                    "invalid")["field"] == "gemeente"
    assert error_of(client.get("/api/v1/kernen?q=a&limit=5"), 400, "invalid")["field"] == "limit"
    assert error_of(client.get("/api/v1/kernen?q=a&q=b"), 400, "invalid")["field"] == "q"


def test_kern_detail_is_a_valid_geojson_feature(client: FlaskClient, conn: Connection) -> None:
    resp = client.get("/api/v1/kernen/GM0971-meers")
    assert resp.status_code == 200
    assert resp.mimetype == "application/geo+json"
    feature = resp.get_json()
    assert feature["type"] == "Feature" and feature["id"] == "GM0971-meers"
    props = feature["properties"]
    assert props["name"] == "Meers" and props["source"] == "geonames"
    assert props["gemeente"] == {"code": "GM0971", "name": "Stein (L.)"}
    assert props["provincie"]["name"] == "Limburg"
    for name in ("inhabitants", "inhabitants_65plus", "inhabitants_75plus"):
        assert isinstance(props[name], int) and props[name] >= 0
    assert props["inhabitants"] >= props["inhabitants_65plus"] >= props["inhabitants_75plus"]

    geometry = feature["geometry"]
    assert geometry["type"] == "MultiPolygon"
    points = [p for polygon in geometry["coordinates"] for ring in polygon for p in ring]
    assert all(3.2 < lon < 7.3 and 50.6 < lat < 53.7 for lon, lat in points)
    assert all(len(str(c).split(".")[-1]) <= 6 for p in points for c in p)
    area = shape(geometry)
    assert area.is_valid
    # RFC 7946: exterior rings counter-clockwise.
    assert all(polygon.exterior.is_ccw for polygon in area.geoms)
    west, south, east, north = feature["bbox"]
    assert (west, south, east, north) == pytest.approx(area.bounds)
    assert west <= props["lon"] <= east and south <= props["lat"] <= north

    # Simplified for the web, still within 1% of the true area.
    to_rd_arrays = Transformer.from_crs(4326, 28992, always_xy=True).transform
    rd_area = shapely.transform(area, to_rd_arrays, interleaved=False).area
    true_area = conn.execute(text("SELECT ST_Area(area) FROM kern WHERE code = 'GM0971-meers'")
                             ).scalar_one()
    assert rd_area == pytest.approx(true_area, rel=0.01)


def test_unknown_kern_is_not_found(client: FlaskClient) -> None:
    body = error_of(client.get("/api/v1/kernen/GM0971-nergens"), 404, "not_found")
    assert body["field"] == "code"
    assert error_of(client.get("/api/v1/kernen/GM0971-meers?x=1"), 400,
                    "invalid")["field"] == "x"


# --- PDOK Locatieserver against recorded responses ----------------------------------------

class _Locatieserver(BaseHTTPRequestHandler):
    """Answers /free like the Locatieserver, from the fixtures, by what `q` asks for."""

    requests: list[dict[str, list[str]]] = []

    def do_GET(self) -> None:  # noqa: N802
        url = urlparse(self.path)
        params = parse_qs(url.query)
        type(self).requests.append(params)
        q = params.get("q", [""])[0]
        if url.path != "/free":
            return self._send(404, b"not found", "text/plain")
        if "Storing" in q:
            return self._send(500, b"<html><body>Internal Server Error</body></html>",
                              "text/html")
        if "Onzin" in q:
            return self._send(200, b"<html>maintenance</html>", "text/html")
        if "Traag" in q:
            time.sleep(1.0)
        name = ("adres" if "Markt" in q or "Traag" in q else "postcode" if q == "6088AB"
                else "weg" if "Schoolstraat" in q else "geen_resultaat")
        self._send(200, (FIXTURES / f"{name}.json").read_bytes(), "application/json")

    def _send(self, status: int, body: bytes, media_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def pdok_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Locatieserver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def pdok(pdok_url: str) -> Iterator[list[dict[str, list[str]]]]:
    """The requests the fake Locatieserver receives during one test."""
    _Locatieserver.requests = []
    yield _Locatieserver.requests


@pytest.fixture
def pdok_settings(settings: Settings, pdok_url: str) -> Settings:
    return replace(settings, geocoder="pdok", pdok_url=pdok_url)


def test_fixtures_are_consistent() -> None:
    """Each fixture's two centroids describe the same point."""
    for path in FIXTURES.glob("*.json"):
        for doc in json.loads(path.read_text())["response"]["docs"]:
            lon, lat = map(float, doc["centroide_ll"][6:-1].split())
            x, y = map(float, doc["centroide_rd"][6:-1].split())
            assert to_rd(lon, lat) == pytest.approx((x, y), abs=0.01), path.name


def test_pdok_address_hit(conn: Connection, pdok_settings: Settings, pdok: list) -> None:
    place = resolve(conn, pdok_settings, "Markt 1, Roggel")
    assert place.kind == "address" and place.label == "Markt 1, 6088BJ Roggel"
    assert (place.x, place.y) == (192195.098, 364595.285)
    assert (place.lon, place.lat) == (5.920174, 51.269447)
    assert (place.pc4, place.kern_code, place.gemeente_code) == ("6088", ROGGEL, "GM1640")
    assert covers(conn, ROGGEL, place.x, place.y)
    [request] = pdok
    assert request["q"] == ["Markt 1, Roggel"]
    assert request["rows"] == ["1"] and request["fq"] == [TYPES]
    assert "centroide_rd" in request["fl"][0]


def test_pdok_full_postcode_gets_its_own_centroid(conn: Connection, pdok_settings: Settings,
                                                  pdok: list) -> None:
    place = resolve(conn, pdok_settings, "6088 ab")
    assert place.kind == "address" and place.label == "Kerkstraat, 6088AB Roggel"
    assert (place.pc4, place.kern_code) == ("6088", ROGGEL)
    assert pdok[0]["q"] == ["6088AB"]


def test_pdok_street_when_no_kern_matches(conn: Connection, pdok_settings: Settings,
                                          pdok: list) -> None:
    place = resolve(conn, pdok_settings, "Schoolstraat, Roggel")
    assert place.kind == "address" and place.label == "Schoolstraat, Roggel"
    assert place.kern_code == ROGGEL and place.pc4 is None


def test_pdok_not_asked_for_kernen_pc4_and_points(conn: Connection, pdok_settings: Settings,
                                                 pdok: list) -> None:
    assert resolve(conn, pdok_settings, "Meers").kern_code == "GM0971-meers"
    assert resolve(conn, pdok_settings, "6088").kind == "pc4"
    assert resolve(conn, pdok_settings, "51.2478,5.9260").kern_code == ROGGEL
    with pytest.raises(AmbiguousPlace):
        resolve(conn, pdok_settings, "Elsloo")
    assert pdok == []


def test_pdok_no_hit(conn: Connection, pdok_settings: Settings, pdok: list) -> None:
    with pytest.raises(PlaceNotFound) as info:
        resolve(conn, pdok_settings, "Nergensstraat 12, Roggel")
    assert info.value.suggestions == []
    with pytest.raises(PlaceNotFound) as info:
        resolve(conn, pdok_settings, "Lemelervelt")
    assert info.value.suggestions[0]["code"] == "GM0148-lemelerveld"
    assert len(pdok) == 2


@pytest.mark.parametrize("near", ["Storing 1, Roggel", "Onzin 1, Roggel"])
def test_pdok_failure_is_503(client: FlaskClient, conn: Connection, pdok_settings: Settings,
                             pdok: list, near: str) -> None:
    with pytest.raises(GeocoderUnavailable):
        resolve(conn, pdok_settings, near)
    app = create_app(pdok_settings, bind=conn)
    resp = app.test_client().get("/api/v1/places/resolve", query_string={"near": near})
    body = error_of(resp, 503, "geocoder_unavailable")
    assert body["field"] == "near"


def test_pdok_timeout_is_503(conn: Connection, pdok_url: str, pdok: list) -> None:
    geocoder = PdokGeocoder(pdok_url, timeout=0.2)
    started = time.perf_counter()
    with pytest.raises(GeocoderUnavailable):
        geocoder.resolve(conn, parse_near("Traag 1, Roggel"))
    assert time.perf_counter() - started < 0.9


def test_pdok_unreachable_is_503_but_postcode_and_names_still_work(
        conn: Connection, settings: Settings) -> None:
    closed = replace(settings, geocoder="pdok", pdok_url="http://127.0.0.1:9/locatieserver")
    with pytest.raises(GeocoderUnavailable):
        resolve(conn, closed, "Markt 1, Roggel")
    place = resolve(conn, closed, "6088 AB")
    assert (place.kind, place.pc4, place.kern_code) == ("pc4", "6088", ROGGEL)
    with pytest.raises(PlaceNotFound) as info:
        resolve(conn, closed, "Lemelervelt")
    assert info.value.suggestions[0]["code"] == "GM0148-lemelerveld"


def test_pdok_through_the_api(conn: Connection, pdok_settings: Settings, pdok: list) -> None:
    client = create_app(pdok_settings, bind=conn).test_client()
    body = client.get("/api/v1/places/resolve", query_string={"near": "Markt 1, Roggel"}
                      ).get_json()
    assert body["kind"] == "address" and body["kern_code"] == ROGGEL
    body = error_of(client.get("/api/v1/places/resolve",
                               query_string={"near": "Nergensstraat 12"}), 404,
                    "place_not_found")
    assert body["field"] == "near"
