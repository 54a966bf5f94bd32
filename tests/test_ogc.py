"""OGC API - Features: landing, conformance, collections, items with bbox/limit/offset/
property filters in CRS84 and RD New, single items, HTML and JSON; and a real client (OWSLib)
against the app served on a loopback port."""
from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from owslib.ogcapi.features import Features
from pyproj import Transformer
from sqlalchemy import Connection, text
from werkzeug.serving import make_server

from .conftest import free_port

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
RD = "http://www.opengis.net/def/crs/EPSG/0/28992"
TO_WGS84 = Transformer.from_crs(28992, 4326, always_xy=True)
KERN = "GM0060-nes"


def _kern_point(conn: Connection) -> tuple[float, float]:
    row = conn.execute(text("SELECT ST_X(point), ST_Y(point) FROM kern WHERE code = :c"),
                       {"c": KERN}).one()
    return float(row[0]), float(row[1])


def _initiative(conn: Connection, name: str, kind: str, x: float, y: float,
                location_type: str = "physical") -> uuid.UUID:
    sid = conn.execute(text("INSERT INTO service (name, kind) VALUES (:n, :k) RETURNING id"),
                       {"n": name, "k": kind}).scalar_one()
    lid = conn.execute(text(
        "INSERT INTO location (name, location_type, address, precision, geom, kern_code) "
        "SELECT :n, :t, 'Geheimweg 1', 'address', g, (SELECT code FROM kern WHERE "
        "ST_Covers(area, g)) FROM (SELECT ST_SetSRID(ST_MakePoint(:x, :y), 28992) g) p "
        "RETURNING id"), {"n": name, "t": location_type, "x": x, "y": y}).scalar_one()
    return conn.execute(text("INSERT INTO service_at_location (service_id, location_id) "
                             "VALUES (:s, :l) RETURNING id"), {"s": sid, "l": lid}).scalar_one()


@pytest.fixture
def nes(conn: Connection) -> dict[str, Any]:
    """A dorpshuis 200 m east of the centre of Nes and a private address 250 m north-west."""
    x, y = _kern_point(conn)
    public = _initiative(conn, "Dorpshuis Zwaluwstaart", "dorpshuis", x + 200, y)
    home = _initiative(conn, "Burenhulp Zwaluwstaart", "burenhulp", x - 200, y + 150,
                       "private")
    return {"public": str(public), "home": str(home), "x": x, "y": y}


def get(client, path: str, status: int = 200, **params: Any) -> Any:
    resp = client.get(path, query_string=params)
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    return resp


def test_landing_conformance_and_api(client) -> None:
    body = get(client, "/ogc/").get_json()
    rels = {link["rel"] for link in body["links"]}
    assert {"self", "alternate", "service-desc", "conformance", "data"} <= rels
    conf = get(client, "/ogc/conformance").get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf
    api = get(client, "/ogc/api").get_json()
    assert api["openapi"].startswith("3.0")
    assert "/collections/initiatives/items" in api["paths"]


def test_collections_declare_both_crs(client) -> None:
    body = get(client, "/ogc/collections").get_json()
    assert [c["id"] for c in body["collections"]] == ["initiatives", "kernen", "gemeenten"]
    for c in body["collections"]:
        assert c["crs"] == [CRS84, RD] and c["storageCrs"] == RD
        lon0, lat0, lon1, lat1 = c["extent"]["spatial"]["bbox"][0]
        assert 3 < lon0 < lon1 < 8 and 50 < lat0 < lat1 < 54


def test_items_bbox_crs84_and_rd(client, nes) -> None:
    x, y = nes["x"], nes["y"]
    lon0, lat0 = TO_WGS84.transform(x + 100, y - 100)
    lon1, lat1 = TO_WGS84.transform(x + 300, y + 100)
    resp = get(client, "/ogc/collections/initiatives/items",
               bbox=f"{lon0},{lat0},{lon1},{lat1}")
    assert resp.mimetype == "application/geo+json"
    assert resp.headers["Content-Crs"] == f"<{CRS84}>"
    body = resp.get_json()
    assert nes["public"] in [f["id"] for f in body["features"]]
    assert body["numberReturned"] == len(body["features"]) <= body["numberMatched"]
    rd = get(client, "/ogc/collections/initiatives/items", bbox=f"{x+100},{y-100},{x+300},{y+100}",
             **{"bbox-crs": RD, "crs": RD})
    assert rd.headers["Content-Crs"] == f"<{RD}>"
    feature = next(f for f in rd.get_json()["features"] if f["id"] == nes["public"])
    assert feature["geometry"]["coordinates"] == [round(x + 200, 2), round(y, 2)]


def test_private_location_only_at_its_kern_point(client, nes) -> None:
    x, y = nes["x"], nes["y"]
    around_home = get(client, "/ogc/collections/initiatives/items",
                      bbox=f"{x-250},{y+100},{x-150},{y+200}", **{"bbox-crs": RD}).get_json()
    assert nes["home"] not in [f["id"] for f in around_home["features"]]
    at_centre = get(client, "/ogc/collections/initiatives/items",
                    bbox=f"{x-1},{y-1},{x+1},{y+1}", **{"bbox-crs": RD, "crs": RD}).get_json()
    home = next(f for f in at_centre["features"] if f["id"] == nes["home"])
    assert home["geometry"]["coordinates"] == [round(x, 2), round(y, 2)]
    assert home["properties"]["address"] is None
    assert home["properties"]["location_type"] == "physical"
    single = get(client, f"/ogc/collections/initiatives/items/{nes['home']}").get_data(
        as_text=True)
    assert "Geheimweg" not in single


def test_paging_links_and_property_filters(client, nes) -> None:
    first = get(client, "/ogc/collections/kernen/items", gemeente_code="GM0060",
                limit=2).get_json()
    assert first["numberReturned"] == 2 and first["numberMatched"] > 2
    rels = {link["rel"]: link["href"] for link in first["links"]}
    assert "next" in rels and "prev" not in rels
    second = client.get(rels["next"].removeprefix("http://localhost")).get_json()
    assert second["features"][0]["id"] != first["features"][0]["id"]
    assert "prev" in {link["rel"] for link in second["links"]}
    assert all(f["properties"]["gemeente_code"] == "GM0060" for f in first["features"])
    kinds = get(client, "/ogc/collections/initiatives/items", kind="burenhulp",
                kern_code=KERN, limit=1000).get_json()
    assert nes["home"] in [f["id"] for f in kinds["features"]]
    assert nes["public"] not in [f["id"] for f in kinds["features"]]
    named = get(client, "/ogc/collections/gemeenten/items", name="ameland").get_json()
    assert [f["id"] for f in named["features"]] == ["GM0060"]
    assert named["features"][0]["geometry"]["type"] in ("MultiPolygon", "Polygon")
    big = get(client, "/ogc/collections/gemeenten/items", limit=100000).get_json()
    assert big["numberReturned"] == big["numberMatched"]


def test_single_items_and_404(client, nes) -> None:
    kern = get(client, f"/ogc/collections/kernen/items/{KERN}", crs=RD).get_json()
    assert kern["properties"]["code"] == KERN and kern["id"] == KERN
    get(client, "/ogc/collections/kernen/items/GM9999-nergens", 404)
    get(client, f"/ogc/collections/initiatives/items/{uuid.uuid4()}", 404)
    get(client, "/ogc/collections/rivers", 404)


@pytest.mark.parametrize(("params", "field"), [
    ({"bbox": "1,2,3"}, "bbox"),
    ({"bbox": "5,53,4,52"}, "bbox"),
    ({"crs": "EPSG:4326"}, "crs"),
    ({"bbox": "1,2,3,4", "bbox-crs": "urn:x"}, "bbox-crs"),
    ({"limit": "0"}, "limit"),
    ({"offset": "-1"}, "offset"),
    ({"kind": "casino"}, "kind"),
    ({"category": "nope"}, "category"),
    ({"colour": "red"}, "colour"),
    ({"f": "xml"}, "f"),
])
def test_strict_parameters(client, params, field) -> None:
    body = get(client, "/ogc/collections/initiatives/items", 400, **params).get_json()
    assert body["error"]["field"] == field


def test_html_by_f_and_by_accept(client, nes) -> None:
    html = get(client, "/ogc/collections/initiatives/items", f="html", kern_code=KERN)
    assert html.mimetype == "text/html" and "Dorpshuis Zwaluwstaart" in html.get_data(as_text=True)
    browser = client.get("/ogc/collections", headers={"Accept": "text/html,*/*;q=0.8"})
    assert browser.mimetype == "text/html"
    for path in ("/ogc/", "/ogc/conformance", "/ogc/collections/kernen",
                 f"/ogc/collections/kernen/items/{KERN}"):
        assert get(client, path, f="html").mimetype == "text/html"
    assert client.get("/ogc/collections", headers={"Accept": "application/json"}).is_json


@pytest.fixture
def served(app) -> Iterator[str]:
    """The app on a free loopback port, in a thread."""
    server = make_server("127.0.0.1", free_port(), app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/ogc/"
    finally:
        server.shutdown()
        thread.join(5)


def test_owslib_reads_collections_and_items_in_both_crs(served, nes) -> None:
    api = Features(served)
    assert {c["id"] for c in api.collections()["collections"]} == {
        "initiatives", "kernen", "gemeenten"}
    assert set(api.feature_collections()) == {"initiatives", "kernen", "gemeenten"}
    assert api.api()["openapi"].startswith("3.0")
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in \
        api.conformance()["conformsTo"]
    x, y = nes["x"], nes["y"]
    lon0, lat0 = TO_WGS84.transform(x - 500, y - 500)
    lon1, lat1 = TO_WGS84.transform(x + 500, y + 500)
    wgs = api.collection_items("initiatives", bbox=[lon0, lat0, lon1, lat1], limit=500)
    ids = {f["id"] for f in wgs["features"]}
    assert {nes["public"], nes["home"]} <= ids
    assert api.response_headers["Content-Crs"] == f"<{CRS84}>"
    point = next(f for f in wgs["features"] if f["id"] == nes["public"])
    lon, lat = TO_WGS84.transform(x + 200, y)
    assert point["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-6)
    rd = api.collection_items("initiatives", bbox=[x - 500, y - 500, x + 500, y + 500],
                              limit=500, **{"bbox-crs": RD, "crs": RD})
    assert {f["id"] for f in rd["features"]} == ids
    assert api.response_headers["Content-Crs"] == f"<{RD}>"
    point = next(f for f in rd["features"] if f["id"] == nes["public"])
    assert point["geometry"]["coordinates"] == [round(x + 200, 2), round(y, 2)]
    kernen = api.collection_items("kernen", bbox=[x - 10, y - 10, x + 10, y + 10],
                                  **{"bbox-crs": RD})
    assert [f["id"] for f in kernen["features"]] == [KERN]
    assert api.collection_item("kernen", KERN)["properties"]["name"]
