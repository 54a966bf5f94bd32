"""Downloads of a search result: /api/v1/search.csv and .geojson, the same hits as the search,
with WGS84 and RD New coordinates, streamed across pages, capped, private points generalised."""
from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from pyproj import Transformer
from sqlalchemy import Connection, text

from socialmap.api.downloads import CSV_COLUMNS, DOWNLOAD_CAP

TO_RD = Transformer.from_crs(4326, 28992, always_xy=True)
KERN = "GM0060-nes"


def _add(conn: Connection, name: str, kind: str, dx: float, dy: float,
         location_type: str = "physical") -> str:
    sid = conn.execute(text("INSERT INTO service (name, kind) VALUES (:n, :k) RETURNING id"),
                       {"n": name, "k": kind}).scalar_one()
    lid = conn.execute(text(
        "INSERT INTO location (name, location_type, address, precision, geom, kern_code) "
        "SELECT :n, :t, 'Verborgen Pad 7', 'address', g, (SELECT code FROM kern WHERE "
        "ST_Covers(area, g)) FROM (SELECT ST_Translate(point, :dx, :dy) g FROM kern "
        "WHERE code = :k) p RETURNING id"),
        {"n": name, "t": location_type, "dx": dx, "dy": dy, "k": KERN}).scalar_one()
    conn.execute(text("INSERT INTO service_at_location (service_id, location_id) "
                      "VALUES (:s, :l)"), {"s": sid, "l": lid})
    return str(sid)


@pytest.fixture
def nes(conn: Connection) -> dict[str, str]:
    return {"public": _add(conn, "Dorpshuis Grutto", "dorpshuis", 200, 0),
            "formula": _add(conn, "=HYPERLINK(\"x\")", "overig", 300, 0),
            "home": _add(conn, "Burenhulp Grutto", "burenhulp", -200, 150, "private")}


SEARCH = {"kern": KERN, "mode": "radius", "radius": "1500", "demo": "false"}


def _csv(client, **params: Any) -> tuple[Any, list[dict[str, str]]]:
    resp = client.get("/api/v1/search.csv", query_string=params)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    return resp, rows


def test_csv_has_the_hits_of_the_search_with_both_coordinates(client, nes) -> None:
    found = client.get("/api/v1/search", query_string=SEARCH).get_json()
    resp, rows = _csv(client, **SEARCH)
    assert resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    assert resp.get_data(as_text=True).splitlines()[0].split(",") == list(CSV_COLUMNS)
    assert [r["service_id"] for r in rows] == [f["properties"]["service_id"]
                                                for f in found["features"]]
    assert resp.headers["X-Number-Matched"] == str(found["numberMatched"])
    for row in rows:
        x, y = TO_RD.transform(float(row["lon"]), float(row["lat"]))
        assert abs(x - float(row["x"])) < 0.5 and abs(y - float(row["y"])) < 0.5
    by_id = {r["service_id"]: r for r in rows}
    assert by_id[nes["formula"]]["name"].startswith("'=")
    home = by_id[nes["home"]]
    assert home["address"] == "" and home["precision"] == "kern"
    assert "Verborgen Pad" not in resp.get_data(as_text=True).replace(
        by_id[nes["public"]]["address"], "")


def test_private_home_is_at_its_kern_point(client, conn, nes) -> None:
    _, rows = _csv(client, **SEARCH)
    home = next(r for r in rows if r["service_id"] == nes["home"])
    kx, ky = conn.execute(text("SELECT ST_X(point), ST_Y(point) FROM kern WHERE code = :k"),
                          {"k": KERN}).one()
    assert (float(home["x"]), float(home["y"])) == (round(kx, 2), round(ky, 2))


def test_geojson_download(client, nes) -> None:
    resp = client.get("/api/v1/search.geojson", query_string=SEARCH)
    assert resp.status_code == 200 and resp.mimetype == "application/geo+json"
    body = json.loads(resp.get_data())
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == len(body["features"]) == body["numberMatched"]
    feature = next(f for f in body["features"] if f["properties"]["service_id"] == nes["public"])
    lon, lat = feature["geometry"]["coordinates"]
    x, y = TO_RD.transform(lon, lat)
    assert abs(x - feature["properties"]["x"]) < 0.5 and abs(y - feature["properties"]["y"]) < 0.5
    assert body["search"]["mode"] == "radius"


def test_more_than_one_page_is_streamed_in_order(client) -> None:
    params = {"near": "52.156,5.387", "radius": "100000", "demo": "true"}
    pages = []
    for offset in (0, 500, 1000):
        pages += client.get("/api/v1/search", query_string={
            **params, "limit": "500", "offset": str(offset)}).get_json()["features"]
    if len(pages) < 1200:
        pytest.skip("the test database has fewer than 1200 initiatives within 100 km")
    resp, rows = _csv(client, **params, limit="1200")
    assert [r["service_id"] for r in rows] == [f["properties"]["service_id"]
                                                for f in pages[:1200]]
    assert resp.headers.get("X-Truncated") == "at 1200 rows"


@pytest.mark.parametrize(("params", "field"), [
    ({"kern": KERN, "colour": "red"}, "colour"),
    ({"kern": KERN, "limit": str(DOWNLOAD_CAP + 1)}, "limit"),
    ({"kern": KERN, "offset": "-1"}, "offset"),
    ({"kern": KERN, "category": "casino"}, "category"),
    ({}, "near"),
])
def test_errors_come_before_the_stream(client, params, field) -> None:
    for path in ("/api/v1/search.csv", "/api/v1/search.geojson"):
        resp = client.get(path, query_string=params)
        assert resp.status_code == 400 and resp.get_json()["error"]["field"] == field


def test_documented_in_openapi(client) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert {"/search.csv", "/search.geojson"} <= set(doc["paths"])


def test_the_result_list_offers_its_search_as_downloads(client, conn) -> None:
    html = client.get("/?near=Meers&radius=10000&category=ontmoeting&limit=5&offset=5"
                      ).get_data(as_text=True)
    links = re.findall(r'href="(/api/v1/search\.(?:csv|geojson)\?[^"]+)"', html)
    assert len(links) == 2
    for link in links:
        url = link.replace("&amp;", "&")
        assert "near=Meers" in url and "radius=10000" in url and "category=ontmoeting" in url
        assert "limit=" not in url and "offset=" not in url
        resp = client.get(url)
        assert resp.status_code == 200
        assert "attachment" in resp.headers["Content-Disposition"]
        assert resp.get_data()  # read the stream to its end
    rows = list(csv.reader(io.StringIO(client.get(
        links[0].replace("&amp;", "&")).get_data(as_text=True))))
    listed = client.get("/api/v1/search?near=Meers&radius=10000&category=ontmoeting&limit=100"
                        ).get_json()
    assert len(rows) - 1 == len(listed["features"]) > 0
