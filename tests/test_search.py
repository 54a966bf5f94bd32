"""Search on a small hand-built registry on Ameland, with answers computed in the test."""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from pyproj import Geod, Transformer
from sqlalchemy import Connection, text

from socialmap.queries import search as q
from socialmap.schedule import AMSTERDAM

ORIGIN_KERN = "GM0060-nes"
TO_WGS84 = Transformer.from_crs(28992, 4326, always_xy=True)
GEOD = Geod(ellps="WGS84")
TODAY = date.today()


@dataclass
class Built:
    name: str
    id: uuid.UUID
    dx: float
    dy: float


def _term_ids(conn: Connection, codes: list[str]) -> list[uuid.UUID]:
    return list(conn.execute(text("SELECT id FROM taxonomy_term WHERE code = ANY(:c)"),
                             {"c": codes}).scalars())


def _add(conn: Connection, origin: tuple[float, float], name: str, kind: str, dx: float,
         dy: float, *, categories: list[str] = (), audiences: list[str] = (),  # type: ignore
         status: str = "active", demo: bool = False, description: str = "",
         assured: date | None = None, slots: list[tuple[int, str, str]] = (),  # type: ignore
         location_type: str = "physical", serves: list[str] = ()) -> Built:  # type: ignore
    sid = conn.execute(text(
        "INSERT INTO service (name, kind, status, is_demo, description, assured_date) "
        "VALUES (:n, :k, :s, :d, :desc, :a) RETURNING id"),
        {"n": name, "k": kind, "s": status, "d": demo, "desc": description,
         "a": assured}).scalar_one()
    lid = conn.execute(text(
        "INSERT INTO location (name, location_type, precision, geom, kern_code, is_demo) "
        "SELECT :n, :t, 'address', g, (SELECT code FROM kern WHERE ST_Covers(area, g)), :d "
        "FROM (SELECT ST_SetSRID(ST_MakePoint(:x, :y), 28992) AS g) p RETURNING id"),
        {"n": name, "t": location_type, "x": origin[0] + dx, "y": origin[1] + dy,
         "d": demo}).scalar_one()
    conn.execute(text("INSERT INTO service_at_location (service_id, location_id) "
                      "VALUES (:s, :l)"), {"s": sid, "l": lid})
    for term in _term_ids(conn, [*categories, *audiences]):
        conn.execute(text("INSERT INTO attribute (service_id, taxonomy_term_id) VALUES (:s, :t)"),
                     {"s": sid, "t": term})
    for day, opens, closes in slots:
        conn.execute(text("INSERT INTO schedule (service_id, weekday, opens_at, closes_at) "
                          "VALUES (:s, :d, :o, :c)"), {"s": sid, "d": day, "o": opens, "c": closes})
    for kern in serves:
        conn.execute(text("INSERT INTO service_area (service_id, kern_code) VALUES (:s, :k)"),
                     {"s": sid, "k": kern})
    return Built(name, sid, dx, dy)


@pytest.fixture
def origin(conn: Connection) -> tuple[float, float]:
    row = conn.execute(text("SELECT ST_X(point), ST_Y(point) FROM kern WHERE code = :c"),
                       {"c": ORIGIN_KERN}).one()
    return float(row[0]), float(row[1])


@pytest.fixture
def registry(conn: Connection, origin: tuple[float, float]) -> dict[str, Built]:
    hollum = conn.execute(text("SELECT code FROM kern WHERE gemeente_code = 'GM0060' "
                               "AND name = 'Hollum'")).scalar_one()
    built = [
        _add(conn, origin, "Dorpshuis De Pôlle", "dorpshuis", 400, 0,
             categories=["inloop"], audiences=["iedereen"], assured=TODAY - timedelta(days=30),
             slots=[(3, "09:00", "12:00")], description="Koffie en ontmoeting in het dorp"),
        _add(conn, origin, "Warme maaltijden Nes", "maaltijdvoorziening", 0, 1200,
             categories=["maaltijdbezorging"], audiences=["ouderen"],
             assured=TODAY - timedelta(days=400), description="Wij bezorgen maaltijden aan huis",
             slots=[(1, "11:00", "13:00"), (4, "11:00", "13:00")]),
        _add(conn, origin, "Vrijwillige chauffeurs Ameland", "vervoersdienst", -2500, 0,
             categories=["vrijwilligersvervoer"], audiences=["ouderen", "mensen-met-een-beperking"],
             serves=[hollum, ORIGIN_KERN]),
        _add(conn, origin, "Oude soos", "ontmoetingsplek", 800, 0, categories=["ontmoeting"],
             status="inactive"),
        _add(conn, origin, "Voorbeeld burenhulp", "burenhulp", 600, 0, categories=["burenhulp"],
             demo=True),
        _add(conn, origin, "Burenhulp bij Jan thuis", "burenhulp", 1700, 300,
             categories=["burenhulp"], location_type="private"),
        _add(conn, origin, "Klussendienst Oost", "vrijwilligersnetwerk", 3100, 0,
             categories=["klussen"]),
    ]
    return {b.name: b for b in built}


def search(client, **params) -> dict:  # noqa: ANN001
    params.setdefault("demo", "false")
    resp = client.get("/api/v1/search", query_string=params)
    assert resp.status_code == 200, resp.get_json()
    assert resp.mimetype == "application/geo+json"
    return resp.get_json()


def names(body: dict) -> list[str]:
    return [f["properties"]["name"] for f in body["features"]]


def ours(body: dict, registry: dict[str, Built]) -> list[str]:
    return [n for n in names(body) if n in registry]


def test_radius_sorted_by_distance_and_bounded(client, registry) -> None:
    body = search(client, kern=ORIGIN_KERN, mode="radius", radius=3000)
    assert ours(body, registry) == [
        "Dorpshuis De Pôlle", "Warme maaltijden Nes", "Burenhulp bij Jan thuis",
        "Vrijwillige chauffeurs Ameland"]
    distances = [f["properties"]["distance_m"] for f in body["features"]]
    assert distances == sorted(distances)
    assert all(d <= 3000 for d in distances)
    assert body["numberMatched"] == body["numberReturned"] == len(body["features"])
    assert body["search"]["mode"] == "radius" and body["search"]["radius_m"] == 3000


def test_distances_agree_with_geodesic(client, registry, origin) -> None:
    body = search(client, kern=ORIGIN_KERN, mode="radius", radius=3000)
    lon0, lat0 = TO_WGS84.transform(*origin)
    checked = 0
    for f in body["features"]:
        p = f["properties"]
        if p["name"] not in registry or p["location_type"] == "private":
            continue
        b = registry[p["name"]]
        lon, lat = TO_WGS84.transform(origin[0] + b.dx, origin[1] + b.dy)
        geodesic = GEOD.inv(lon0, lat0, lon, lat)[2]
        assert abs(p["distance_m"] - geodesic) <= 0.001 * geodesic + 0.5, p
        checked += 1
    assert checked == 3


def test_nearest_returns_limit_whatever_the_distance(client, registry) -> None:
    body = search(client, kern=ORIGIN_KERN, mode="nearest", limit=2, category="klussen")
    assert names(body)[0] == "Klussendienst Oost"
    assert body["features"][0]["properties"]["distance_m"] == 3100
    assert "numberMatched" not in body
    two = search(client, kern=ORIGIN_KERN, mode="nearest", limit=2)
    assert ours(two, registry)[:2] == ["Dorpshuis De Pôlle", "Warme maaltijden Nes"][:len(
        ours(two, registry))]


def test_kern_mode_says_located_or_serves(client, registry, conn) -> None:
    body = search(client, kern=ORIGIN_KERN, mode="kern")
    by_name = {f["properties"]["name"]: f["properties"] for f in body["features"]}
    in_nes = set(conn.execute(text(
        "SELECT s.name FROM service s JOIN service_at_location sal ON sal.service_id = s.id "
        "JOIN location l ON l.id = sal.location_id JOIN kern k ON k.code = :k "
        "WHERE ST_Covers(k.area, l.geom) AND s.status = 'active' AND NOT s.is_demo"),
        {"k": ORIGIN_KERN}).scalars())
    assert {n for n, p in by_name.items() if p["match"] == "located"} == in_nes
    chauffeurs = by_name["Vrijwillige chauffeurs Ameland"]
    expected_match = "located" if "Vrijwillige chauffeurs Ameland" in in_nes else "serves"
    assert chauffeurs["match"] == expected_match
    hollum = conn.execute(text("SELECT code FROM kern WHERE gemeente_code = 'GM0060' "
                               "AND name = 'Hollum'")).scalar_one()
    served = search(client, kern=hollum, mode="kern")
    hit = [f for f in served["features"]
           if f["properties"]["name"] == "Vrijwillige chauffeurs Ameland"]
    assert len(hit) == 1 and hit[0]["properties"]["match"] == "serves"


def test_category_parent_includes_children(client, registry) -> None:
    parent = search(client, kern=ORIGIN_KERN, mode="radius", radius=5000, category="maaltijden")
    assert ours(parent, registry) == ["Warme maaltijden Nes"]
    child = search(client, kern=ORIGIN_KERN, mode="radius", radius=5000,
                   category="samen-eten")
    assert ours(child, registry) == []
    either = search(client, kern=ORIGIN_KERN, mode="radius", radius=5000,
                    category="maaltijden,vervoer")
    assert set(ours(either, registry)) == {"Warme maaltijden Nes",
                                           "Vrijwillige chauffeurs Ameland"}


def test_filters_combine_with_and(client, registry) -> None:
    body = search(client, kern=ORIGIN_KERN, mode="radius", radius=5000, audience="ouderen",
                  kind="vervoersdienst")
    assert ours(body, registry) == ["Vrijwillige chauffeurs Ameland"]
    none = search(client, kern=ORIGIN_KERN, mode="radius", radius=5000, audience="ouderen",
                  kind="dorpshuis")
    assert ours(none, registry) == []
    gm = search(client, kern=ORIGIN_KERN, mode="radius", radius=5000, gemeente="GM0971")
    assert ours(gm, registry) == []
    # The gemeente filter keeps what lies in that gemeente (Ameland: all of ours here).
    everything = ours(search(client, kern=ORIGIN_KERN, mode="radius", radius=5000), registry)
    ameland = search(client, kern=ORIGIN_KERN, mode="radius", radius=5000, gemeente="GM0060")
    assert len(everything) >= 3
    assert ours(ameland, registry) == everything
    assert {f["properties"]["gemeente"]["code"] for f in ameland["features"]} == {"GM0060"}


def test_open_at_and_open_now(client, registry) -> None:
    wed = search(client, kern=ORIGIN_KERN, mode="radius", radius=5000, open_at="wo 10:30")
    assert ours(wed, registry) == ["Dorpshuis De Pôlle"]
    closed = search(client, kern=ORIGIN_KERN, mode="radius", radius=5000, open_at="wo 12:00")
    assert ours(closed, registry) == []
    thu = search(client, kern=ORIGIN_KERN, mode="radius", radius=5000, open_at="4 11:00")
    assert ours(thu, registry) == ["Warme maaltijden Nes"]
    now = datetime.now(AMSTERDAM)
    expect = []
    if now.isoweekday() == 3 and 9 <= now.hour < 12:
        expect.append("Dorpshuis De Pôlle")
    if now.isoweekday() in (1, 4) and 11 <= now.hour < 13:
        expect.append("Warme maaltijden Nes")
    live = search(client, kern=ORIGIN_KERN, mode="radius", radius=5000, open_now="true")
    assert ours(live, registry) == expect


def test_free_text_prefix_and_accents(client, registry) -> None:
    body = search(client, kern=ORIGIN_KERN, mode="radius", radius=5000, q="maaltijd")
    assert ours(body, registry) == ["Warme maaltijden Nes"]
    accent = search(client, kern=ORIGIN_KERN, mode="radius", radius=5000, q="polle")
    assert ours(accent, registry) == ["Dorpshuis De Pôlle"]
    two = search(client, kern=ORIGIN_KERN, mode="radius", radius=5000, q="koffie dorp")
    assert ours(two, registry) == ["Dorpshuis De Pôlle"]


def test_verified_within(client, registry) -> None:
    body = search(client, kern=ORIGIN_KERN, mode="radius", radius=5000, verified_within=365)
    assert ours(body, registry) == ["Dorpshuis De Pôlle"]


def test_demo_and_inactive_out_unless_asked(client, registry) -> None:
    default = search(client, kern=ORIGIN_KERN, mode="radius", radius=5000)
    assert "Voorbeeld burenhulp" not in names(default)
    assert "Oude soos" not in names(default)
    demo = search(client, kern=ORIGIN_KERN, mode="radius", radius=5000, demo="true")
    assert "Voorbeeld burenhulp" in names(demo)
    inactive = search(client, kern=ORIGIN_KERN, mode="radius", radius=5000,
                      status="active,inactive")
    assert "Oude soos" in names(inactive)


def test_private_location_is_never_exact(client, registry, conn) -> None:
    body = search(client, kern=ORIGIN_KERN, mode="radius", radius=3000)
    hit = next(f for f in body["features"]
               if f["properties"]["name"] == "Burenhulp bij Jan thuis")
    kern_point = conn.execute(text(
        "SELECT ST_X(ST_Transform(k.point, 4326)), ST_Y(ST_Transform(k.point, 4326)) "
        "FROM location l JOIN kern k ON k.code = l.kern_code WHERE l.name = :n"),
        {"n": "Burenhulp bij Jan thuis"}).one()
    assert hit["geometry"]["coordinates"] == [round(kern_point[0], 6), round(kern_point[1], 6)]
    assert hit["properties"]["distance_m"] % 100 == 0
    assert hit["properties"]["address"] is None


def test_paging_links_and_counts(client, registry) -> None:
    full = search(client, kern=ORIGIN_KERN, mode="radius", radius=3000)
    first = search(client, kern=ORIGIN_KERN, mode="radius", radius=3000, limit=2)
    assert first["numberReturned"] == 2 and first["numberMatched"] == full["numberMatched"]
    rels = {link["rel"]: link["href"] for link in first["links"]}
    assert "next" in rels and "prev" not in rels and "offset=2" in rels["next"]
    second = search(client, kern=ORIGIN_KERN, mode="radius", radius=3000, limit=2, offset=2)
    assert names(first) + names(second) == names(full)[:4]
    assert "prev" in {link["rel"] for link in second["links"]}


def test_count_is_capped_but_paging_goes_on(client, registry, monkeypatch) -> None:
    monkeypatch.setattr(q, "COUNT_CAP", 2)
    body = search(client, kern=ORIGIN_KERN, mode="radius", radius=3000, limit=2)
    assert "numberMatched" not in body and body["numberMatchedMoreThan"] == 2
    assert "next" in {link["rel"] for link in body["links"]}
    kern = search(client, kern=ORIGIN_KERN, mode="kern", limit=1)
    assert "numberMatched" not in kern and kern["numberMatchedMoreThan"] == 2


def test_kern_pages_run_from_located_into_serving(client, registry) -> None:
    whole = search(client, kern=ORIGIN_KERN, mode="kern", limit=500)
    matches = [f["properties"]["match"] for f in whole["features"]]
    assert matches == sorted(matches)  # 'located' before 'serves'
    paged = []
    for offset in range(0, len(matches), 2):
        paged += names(search(client, kern=ORIGIN_KERN, mode="kern", limit=2, offset=offset))
    assert paged == names(whole)


@pytest.mark.parametrize("params, field", [
    ({"kern": ORIGIN_KERN, "colour": "red"}, "colour"),
    ({"kern": ORIGIN_KERN, "radius": "0"}, "radius"),
    ({"kern": ORIGIN_KERN, "radius": "100001"}, "radius"),
    ({"kern": ORIGIN_KERN, "radius": "drie"}, "radius"),
    ({"kern": ORIGIN_KERN, "limit": "501"}, "limit"),
    ({"kern": ORIGIN_KERN, "offset": "-1"}, "offset"),
    ({"kern": ORIGIN_KERN, "mode": "kern", "radius": "100"}, "radius"),
    ({"kern": ORIGIN_KERN, "mode": "teleport"}, "mode"),
    ({"kern": ORIGIN_KERN, "category": "astrologie"}, "category"),
    ({"kern": ORIGIN_KERN, "audience": "katten"}, "audience"),
    ({"kern": ORIGIN_KERN, "kind": "casino"}, "kind"),
    ({"kern": ORIGIN_KERN, "gemeente": "Stein"}, "gemeente"),
    ({"kern": ORIGIN_KERN, "gemeente": "GM9999"}, "gemeente"),
    ({"kern": ORIGIN_KERN, "status": "lost"}, "status"),
    ({"kern": ORIGIN_KERN, "open_at": "someday"}, "open_at"),
    ({"kern": ORIGIN_KERN, "open_now": "misschien"}, "open_now"),
    ({"kern": ORIGIN_KERN, "open_now": "true", "open_at": "wo 10:00"}, "open_at"),
    ({"kern": ORIGIN_KERN, "q": "!!!"}, "q"),
    ({"kern": ORIGIN_KERN, "near": "Meers"}, "kern"),
    ({}, "near"),
    ({"near": "100,100"}, "near"),
])
def test_bad_parameters_are_400_naming_the_field(client, params, field) -> None:
    resp = client.get("/api/v1/search", query_string=params)
    assert resp.status_code == 400, resp.get_json()
    err = resp.get_json()["error"]
    assert err["field"] == field
    assert err["code"] and err["message"]


def test_unknown_kern_is_404(client) -> None:
    resp = client.get("/api/v1/search", query_string={"kern": "GM0060-atlantis"})
    assert resp.status_code == 404
    assert resp.get_json()["error"]["field"] == "kern"


def test_near_by_name_defaults_to_kern_mode(client) -> None:
    body = search(client, near="Meers", demo="true")
    assert body["search"]["mode"] == "kern"
    assert body["search"]["kern"] == "GM0971-meers"
    radius = search(client, near="Meers", radius=2000)
    assert radius["search"]["mode"] == "radius"


def test_initiative_detail_and_404(client, registry) -> None:
    b = registry["Warme maaltijden Nes"]
    resp = client.get(f"/api/v1/initiatives/{b.id}")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["name"] == "Warme maaltijden Nes"
    assert [c["code"] for c in body["categories"]] == ["maaltijdbezorging"]
    assert [s["label"] for s in body["schedules"]] == ["maandag 11:00–13:00",
                                                      "donderdag 11:00–13:00"]
    assert body["locations"][0]["kern"]["code"] == ORIGIN_KERN
    assert client.get(f"/api/v1/initiatives/{uuid.uuid4()}").status_code == 404
    bad = client.get("/api/v1/initiatives/not-a-uuid")
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "id"


def test_private_contacts_never_in_public_detail(client, registry, conn) -> None:
    b = registry["Dorpshuis De Pôlle"]
    conn.execute(text("INSERT INTO contact (service_id, name, email, is_private) VALUES "
                      "(:s, 'Beheerder', 'beheer@example.org', false), "
                      "(:s, 'Privé coördinator', 'prive@example.org', true)"), {"s": b.id})
    conn.execute(text("INSERT INTO phone (service_id, number, is_private) VALUES "
                      "(:s, '0519 000000', true)"), {"s": b.id})
    body = client.get(f"/api/v1/initiatives/{b.id}").get_data(as_text=True)
    assert "beheer@example.org" in body
    assert "prive@example.org" not in body and "0519 000000" not in body


def test_taxonomy_tree(client) -> None:
    body = client.get("/api/v1/taxonomy").get_json()
    cats = {c["code"]: c for c in body["category"]}
    assert {c["code"] for c in cats["maaltijden"]["children"]} == {"samen-eten",
                                                                   "maaltijdbezorging"}
    assert any(a["code"] == "mantelzorgers" for a in body["audience"])


def test_openapi_describes_every_route(client, app) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    api_rules = {r.rule.removeprefix("/api/v1") for r in app.url_map.iter_rules()
                 if r.rule.startswith("/api/v1") and r.rule not in (
                     "/api/v1/openapi.json", "/api/v1/docs")}
    documented = {p.replace("{", "<").replace("}", ">") for p in doc["paths"]}
    assert {r.replace("<ident>", "<id>") for r in api_rules} <= documented
    search_params = {p["name"] for p in doc["paths"]["/search"]["get"]["parameters"]}
    from socialmap.api.search import SEARCH_PARAMS
    assert set(SEARCH_PARAMS) == search_params
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "/api/v1/search" in page.get_data(as_text=True)


@pytest.mark.parametrize("mode", ["radius", "nearest", "kern"])
def test_query_plans_use_the_gist_index(conn, origin, mode) -> None:
    # Default planner settings on the analysed test database (~9,000 records): the planner
    # itself picks the index, nothing is forced.
    query = q.SearchQuery(mode=mode, x=origin[0], y=origin[1],
                          radius=3000 if mode == "radius" else None,
                          kern_code=ORIGIN_KERN if mode == "kern" else None)
    sql = q.page_sql(mode, q.Shape.of(query.filters))
    plan = json.dumps(conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql,
                                            q.bind_values(query, conn)).scalar_one())
    # One table, read through a GiST index, never scanned whole.
    indexes = set(re.findall(r'"Index Name": "(\w+)"', plan))
    assert '"Relation Name": "search_doc"' in plan
    assert '"Node Type": "Seq Scan", "Parallel Aware": false, "Async Capable": false, ' \
           '"Relation Name": "search_doc"' not in plan
    if mode == "kern":
        # Membership is location.kern_code (ST_Covers, derived at write time), copied into the
        # row; the GiST (kern_code, geom) walks one kern in distance order.
        assert "ix_search_doc_kern_geom" in indexes
    else:
        # The published point (the kern point of a home) is what is searched, by its index.
        assert indexes & {"ix_search_doc_geom", "ix_search_doc_kern_geom"}, indexes
