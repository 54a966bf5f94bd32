"""The map data endpoint on the real PostGIS: clusters that add up, filters that agree with the
search, the point cap, strict input, and plans on the spatial index."""
from __future__ import annotations

import json
import math
import uuid
from datetime import date, timedelta

import pytest
from pyproj import Transformer
from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from socialmap.queries import mapdata as q
from socialmap.queries.search import Filters
from socialmap.services import mapdata as svc

NES = "GM0060-nes"
TO_WGS84 = Transformer.from_crs(28992, 4326, always_xy=True)
TO_RD = Transformer.from_crs(4326, 28992, always_xy=True)
TODAY = date.today()
NL = (3.3, 50.7, 7.25, 53.6)
# A corner of the Wadden Sea south of Ameland where no other test puts anything.
BULK_ORIGIN = (176000.0, 598000.0)


def _add(conn: Connection, name: str, x: float, y: float, *, kind: str = "dorpshuis",
         categories: tuple[str, ...] = (), audiences: tuple[str, ...] = (),
         status: str = "active", demo: bool = False, private: bool = False,
         assured: date | None = None, slots: tuple[tuple[int, str, str], ...] = (),
         description: str = "") -> uuid.UUID:
    sid = conn.execute(text(
        "INSERT INTO service (name, kind, status, is_demo, assured_date, description) "
        "VALUES (:n, :k, :s, :d, :a, :desc) RETURNING id"),
        {"n": name, "k": kind, "s": status, "d": demo, "a": assured,
         "desc": description}).scalar_one()
    lid = conn.execute(text(
        "INSERT INTO location (name, location_type, precision, geom, kern_code) "
        "SELECT :n, :t, 'address', g, (SELECT code FROM kern WHERE ST_Covers(area, g)) "
        "FROM (SELECT ST_SetSRID(ST_MakePoint(:x, :y), 28992) AS g) p RETURNING id"),
        {"n": name, "t": "private" if private else "physical", "x": x, "y": y}).scalar_one()
    conn.execute(text("INSERT INTO service_at_location (service_id, location_id) VALUES (:s, :l)"),
                 {"s": sid, "l": lid})
    conn.execute(text(
        "INSERT INTO attribute (service_id, taxonomy_term_id) SELECT :s, t.id "
        "FROM taxonomy_term t WHERE t.code = ANY(:codes)"),
        {"s": sid, "codes": [*categories, *audiences]})
    for day, opens, closes in slots:
        conn.execute(text("INSERT INTO schedule (service_id, weekday, opens_at, closes_at) "
                          "VALUES (:s, :d, :o, :c)"), {"s": sid, "d": day, "o": opens, "c": closes})
    return sid


def refresh(conn: Connection) -> None:
    q.refresh_grid(conn, concurrently=False)


@pytest.fixture(autouse=True)
def grid_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read the grid however small the registry, as at scale (one test turns this off)."""
    monkeypatch.setattr(svc, "GRID_FROM_HITS", 0)


@pytest.fixture
def nes(conn: Connection) -> tuple[float, float]:
    row = conn.execute(text("SELECT ST_X(point), ST_Y(point) FROM kern WHERE code = :c"),
                       {"c": NES}).one()
    return float(row[0]), float(row[1])


@pytest.fixture
def registry(conn: Connection, nes: tuple[float, float]) -> dict[str, uuid.UUID]:
    """A few dozen records around Nes on Ameland with every filter's cases, then the grid."""
    x0, y0 = nes
    built: dict[str, uuid.UUID] = {}
    kinds = ("dorpshuis", "burenhulp", "vervoersdienst", "maaltijdvoorziening")
    categories = (("inloop",), ("vrijwilligersvervoer",), ("maaltijdbezorging", "samen-eten"),
                  ("klussen",), ("ontmoeting", "activiteiten"), ())
    audiences = (("ouderen",), ("mantelzorgers", "ouderen"), (), ("jongeren",))
    for i in range(36):
        name = f"Kaartproef {i}"
        built[name] = _add(
            conn, name, x0 - 3000 + (i % 6) * 1100 + 37, y0 - 2500 + (i // 6) * 900 + 11,
            kind=kinds[i % 4], categories=categories[i % 6], audiences=audiences[i % 4],
            status=("active", "active", "temporarily closed", "inactive", "active",
                    "defunct")[i % 6] if i % 5 else "active",
            demo=i % 7 == 0, assured=TODAY - timedelta(days=20 * i) if i % 3 else None,
            slots=((3, "09:00", "12:00"),) if i % 2 else ((5, "14:00", "17:00"),),
            description="Koffie en maaltijden voor ouderen" if i % 4 == 1 else "Klussen")
    built["Thuis bij Anna"] = _add(conn, "Thuis bij Anna", x0 + 1450, y0 + 650,
                                   kind="burenhulp", categories=("burenhulp",), private=True)
    refresh(conn)
    return built


def get_map(client, **params) -> dict:  # noqa: ANN001
    resp = client.get("/api/v1/map", query_string=params)
    assert resp.status_code == 200, resp.get_json()
    assert resp.mimetype == "application/geo+json"
    return resp.get_json()


def bbox_around(x: float, y: float, half_w: float, half_h: float) -> str:
    w, s, e, n = TO_WGS84.transform_bounds(x - half_w, y - half_h, x + half_w, y + half_h)
    return f"{w:.6f},{s:.6f},{e:.6f},{n:.6f}"


FILTER_SQL = {
    "category": "EXISTS (SELECT 1 FROM attribute a JOIN taxonomy_term t ON t.id = "
                "a.taxonomy_term_id LEFT JOIN taxonomy_term p ON p.id = t.parent_id "
                "WHERE a.service_id = s.id AND :v IN (t.code, p.code))",
    "audience": "EXISTS (SELECT 1 FROM attribute a JOIN taxonomy_term t ON t.id = "
                "a.taxonomy_term_id WHERE a.service_id = s.id AND t.code = :v)",
    "kind": "s.kind = ANY(string_to_array(:v, ','))",
}


def plain_count(conn: Connection, box: list[float], demo: bool = True,
                **filters: str) -> int:
    """Visible records shown inside an RD box, counted without any of the app's SQL."""
    where = ["s.status IN ('active', 'temporarily closed')",
             "x >= :x0", "x < :x1", "y >= :y0", "y < :y1"]
    if not demo:
        where.append("NOT s.is_demo")
    params: dict[str, object] = dict(zip(("x0", "y0", "x1", "y1"), box, strict=True))
    for name, value in filters.items():
        where.append(FILTER_SQL[name])
        params["v"] = value
    return conn.execute(text(
        "SELECT count(*) FROM service_at_location sal JOIN service s ON s.id = sal.service_id "
        "JOIN location l ON l.id = sal.location_id LEFT JOIN kern k ON k.code = l.kern_code "
        "CROSS JOIN LATERAL (SELECT CASE WHEN l.location_type = 'private' AND k.point IS NOT "
        "NULL THEN k.point ELSE l.geom END AS g) shown "
        "CROSS JOIN LATERAL (SELECT ST_X(shown.g) AS x, ST_Y(shown.g) AS y) xy "
        f"WHERE {' AND '.join(where)}"), params).scalar_one()


def covers(outer: list[float], bbox: str) -> bool:
    """Whether an RD box covers a WGS84 bbox (its edges densely sampled)."""
    w, s, e, n = (float(v) for v in bbox.split(","))
    x0, y0, x1, y1 = TO_RD.transform_bounds(w, s, e, n, densify_pts=50)
    return outer[0] <= x0 and outer[1] <= y0 and x1 <= outer[2] and y1 <= outer[3]


@pytest.mark.parametrize("zoom, filters", [
    (7, {}), (7, {"category": "maaltijden"}), (9, {"audience": "ouderen"}),
    (9, {"kind": "dorpshuis,burenhulp"}), (7, {"demo": "false"}), (10, {}),
    (10, {"category": "ontmoeting"}),
])
def test_clusters_add_up_to_a_plain_count(client, conn, registry, nes, zoom, filters) -> None:
    bbox = ",".join(map(str, NL)) if zoom == 7 else bbox_around(*nes, 30_000, 20_000) \
        if zoom == 9 else bbox_around(*nes, 10_000, 7000)
    body = get_map(client, bbox=bbox, zoom=zoom, **filters)
    view = body["map"]
    assert view["kind"] == "clusters" and view["source"] == "grid"
    assert covers(view["bbox_rd"], bbox)
    counts = [f["properties"]["count"] for f in body["features"]]
    demo = filters.pop("demo", "true") == "true"
    expected = plain_count(conn, view["bbox_rd"], demo, **filters)
    assert sum(counts) == body["numberMatched"] == expected > 0
    for f in body["features"]:
        p = f["properties"]
        lon, lat = f["geometry"]["coordinates"]
        w, s, e, n = p["bbox"]
        assert p["cluster"] is True and p["count"] >= 1
        assert w - 1e-5 <= lon <= e + 1e-5 and s - 1e-5 <= lat <= n + 1e-5
    if not filters:
        # Every visible record in view lies in the bbox of a cluster.
        boxes = [f["properties"]["bbox"] for f in body["features"]]
        x0, y0, x1, y1 = view["bbox_rd"]
        members = conn.execute(text(
            "SELECT ST_X(ST_Transform(l.geom, 4326)), ST_Y(ST_Transform(l.geom, 4326)) "
            "FROM service_at_location sal JOIN service s ON s.id = sal.service_id "
            "JOIN location l ON l.id = sal.location_id "
            "WHERE s.status IN ('active', 'temporarily closed') "
            "AND l.location_type <> 'private' AND (:demo OR NOT s.is_demo) "
            "AND ST_X(l.geom) >= :x0 AND ST_X(l.geom) < :x1 "
            "AND ST_Y(l.geom) >= :y0 AND ST_Y(l.geom) < :y1"),
            {"demo": demo, "x0": x0, "y0": y0, "x1": x1, "y1": y1}).all()
        assert members
        for lon, lat in members:
            assert any(b[0] <= lon <= b[2] and b[1] <= lat <= b[3] for b in boxes), (lon, lat)


def test_low_zoom_is_clusters_high_zoom_is_points(client, registry, nes) -> None:
    low = get_map(client, bbox=",".join(map(str, NL)), zoom=7)
    assert low["map"]["kind"] == "clusters" and low["features"]
    assert all(f["properties"]["cluster"] for f in low["features"])
    high = get_map(client, bbox=bbox_around(*nes, 3500, 3000), zoom=14)
    assert high["map"]["kind"] == "points"
    names = {f["properties"]["name"] for f in high["features"]}
    assert "Kaartproef 0" in names and "Kaartproef 3" not in names  # inactive
    point = next(f for f in high["features"] if f["properties"]["name"] == "Kaartproef 0")
    assert point["properties"] == {"cluster": False, "service_id": str(registry["Kaartproef 0"]),
                                   "name": "Kaartproef 0", "kind": "dorpshuis"}
    assert uuid.UUID(point["id"])
    assert high["numberMatched"] == high["numberReturned"] == len(high["features"])


def test_the_grid_and_the_live_count_agree(conn, registry, nes) -> None:
    box = (nes[0] - 20_000, nes[1] - 15_000, nes[0] + 20_000, nes[1] + 15_000)
    cases = [Filters(), Filters(categories=("maaltijden",)), Filters(audiences=("ouderen",)),
             Filters(kinds=("dorpshuis", "vervoersdienst")), Filters(include_demo=False),
             Filters(categories=("inloop",), include_demo=False)]
    for zoom in (8, 10, 12):
        cells = q.Cells.covering(zoom, box)
        for f in cases:
            slices = q.grid_slices(f)
            assert slices is not None
            grid = {(r.gx, r.gy): r for r in q.grid_clusters(conn, cells, slices,
                                                             f.include_demo)}
            live = {(r.gx, r.gy): r for r in q.live_clusters(conn, f, cells)}
            assert grid.keys() == live.keys(), (zoom, f)
            for key, g in grid.items():
                lv = live[key]
                assert int(g.n) == int(lv.n)
                assert math.isclose(g.lon, lv.lon, abs_tol=1e-9)
                assert math.isclose(g.lat, lv.lat, abs_tol=1e-9)
                assert (g.west, g.south, g.east, g.north) == (lv.west, lv.south, lv.east,
                                                              lv.north)


def test_what_the_grid_cannot_answer_is_counted_live() -> None:
    assert q.grid_slices(Filters()) == ("",)
    assert q.grid_slices(Filters(kinds=("b", "a", "a"))) == ("kind:a", "kind:b")
    assert q.grid_slices(Filters(audiences=("ouderen",))) == ("audience:ouderen",)
    for f in (Filters(categories=("a", "b")), Filters(categories=("a",), audiences=("b",)),
              Filters(kinds=("a",), categories=("b",)), Filters(statuses=("inactive",)),
              Filters(tsquery="koffie:*"), Filters(gemeente="GM0060"),
              Filters(verified_since=TODAY)):
        assert q.grid_slices(f) is None


@pytest.mark.parametrize("filters", [
    {}, {"category": "maaltijden"}, {"category": "inloop,klussen"}, {"audience": "ouderen"},
    {"kind": "burenhulp"}, {"q": "koffie"}, {"open_at": "wo 10:00"}, {"verified_within": "100"},
    {"demo": "false"}, {"status": "inactive,defunct"}, {"gemeente": "GM0060"},
    {"category": "ontmoeting", "audience": "ouderen", "demo": "false"},
])
def test_filters_agree_with_the_search(client, conn, registry, nes, filters) -> None:
    radius = 3300  # no record within 60 m of the circle
    search = client.get("/api/v1/search", query_string={
        "kern": NES, "mode": "radius", "radius": radius, "limit": 500, **filters})
    assert search.status_code == 200, search.get_json()
    listed = {f["properties"]["service_id"] for f in search.get_json()["features"]
              if f["properties"]["location_type"] != "private"}
    body = get_map(client, bbox=bbox_around(*nes, radius + 500, radius + 500), zoom=13,
                   **filters)
    assert body["map"]["kind"] == "points"
    mapped = set()
    for f in body["features"]:
        x, y = TO_RD.transform(*f["geometry"]["coordinates"])
        if math.dist((x, y), nes) <= radius:
            mapped.add(f["properties"]["service_id"])
    # Private addresses are selected by their exact point in the search, by their kern's here.
    private = {str(i) for i in conn.execute(text(
        "SELECT sal.service_id FROM service_at_location sal JOIN location l "
        "ON l.id = sal.location_id WHERE l.location_type = 'private'")).scalars()}
    assert mapped - private == listed
    assert mapped, filters


def test_point_cap_and_cluster_cap(client, conn, monkeypatch) -> None:
    x, y = BULK_ORIGIN
    conn.execute(text(
        "WITH ids AS (SELECT i, gen_random_uuid() AS sid, gen_random_uuid() AS lid "
        "             FROM generate_series(0, 1199) AS i), "
        "s AS (INSERT INTO service (id, name, kind) SELECT sid, 'Bulkproef ' || i, 'burenhulp' "
        "      FROM ids), "
        "l AS (INSERT INTO location (id, precision, geom) SELECT lid, 'address', "
        "      ST_SetSRID(ST_MakePoint(:x + (i % 40) * 25, :y + (i / 40) * 25), 28992) "
        "      FROM ids) "
        "INSERT INTO service_at_location (service_id, location_id) SELECT sid, lid FROM ids"),
        {"x": x, "y": y})
    refresh(conn)
    everything = bbox_around(x + 500, y + 375, 1500, 1200)
    crowded = get_map(client, bbox=everything, zoom=16)
    assert crowded["map"]["kind"] == "clusters"
    assert crowded["numberMatched"] == 1200
    assert 1 < len(crowded["features"]) <= svc.POINT_CAP
    half = get_map(client, bbox=bbox_around(x + 250, y + 180, 240, 170), zoom=16)
    assert half["map"]["kind"] == "points"
    assert 0 < len(half["features"]) <= svc.POINT_CAP
    assert half["numberMatched"] == plain_count(conn, half["map"]["bbox_rd"])
    # Not in the grid until it is refreshed, and more than the cap: the live path clusters too.
    live = get_map(client, bbox=everything, zoom=16, q="bulkproef")
    assert live["map"] == crowded["map"] | {"source": "live"}
    assert live["numberMatched"] == 1200
    # A view far larger than its zoom is counted in coarser cells.
    wide = get_map(client, bbox=",".join(map(str, NL)), zoom=15)
    assert wide["map"]["kind"] == "clusters" and wide["map"]["cell_zoom"] < 15
    cells = q.Cells.covering(wide["map"]["cell_zoom"], wide["map"]["bbox_rd"])
    assert cells.count <= svc.MAX_CELLS
    # More clusters than markers allowed: coarser cells until they fit.
    monkeypatch.setattr(svc, "POINT_CAP", 10)
    few = get_map(client, bbox=everything, zoom=16)
    assert 1 < len(few["features"]) <= 10 and few["map"]["cell_zoom"] < 15
    assert few["numberMatched"] == 1200


def test_too_many_to_count_live_asks_to_zoom_in(client, registry, nes, monkeypatch) -> None:
    monkeypatch.setattr(svc, "LIVE_CLUSTER_BUDGET", 10)
    body = get_map(client, bbox=bbox_around(*nes, 10_000, 7000), zoom=10, q="koffie")
    assert body["map"]["kind"] == "zoom_in" and body["features"] == []
    assert "numberMatched" not in body and body["map"]["in_view"] > 10
    grid = get_map(client, bbox=bbox_around(*nes, 10_000, 7000), zoom=10, category="klussen")
    assert grid["map"]["kind"] == "clusters" and grid["map"]["source"] == "grid"


def test_a_private_address_is_shown_and_selected_at_its_kern(client, conn, registry,
                                                             nes) -> None:
    anna = str(registry["Thuis bij Anna"])
    exact = (nes[0] + 1450, nes[1] + 650)
    kern = conn.execute(text(
        "SELECT ST_X(k.point), ST_Y(k.point) FROM location l JOIN kern k ON k.code = l.kern_code "
        "WHERE l.name = 'Thuis bij Anna'")).one()
    assert math.dist(kern, exact) > 300  # more than a zoom-15 cell apart
    at_home = get_map(client, bbox=bbox_around(*exact, 40, 40), zoom=18)
    assert anna not in {f["properties"].get("service_id") for f in at_home["features"]}
    at_kern = get_map(client, bbox=bbox_around(*kern, 40, 40), zoom=18)
    shown = [f for f in at_kern["features"] if f["properties"].get("service_id") == anna]
    assert len(shown) == 1
    x, y = TO_RD.transform(*shown[0]["geometry"]["coordinates"])
    assert math.dist((x, y), kern) < 0.5
    # A one-record cluster is centred on its record: the grid must count it at the kern too.
    home_cell = q.Cells.covering(q.GRID_MAX_ZOOM, (*exact, *exact))
    assert q.grid_total(conn, home_cell, (q.ALL,), True) == 0
    kern_cell = q.Cells.covering(q.GRID_MAX_ZOOM, (*kern, *kern))
    assert q.grid_total(conn, kern_cell, (q.ALL,), True) >= 1


@pytest.mark.parametrize("params, field", [
    ({"zoom": 7}, "bbox"),
    ({"bbox": "5,52,6", "zoom": 7}, "bbox"),
    ({"bbox": "5,52,6,53,7", "zoom": 7}, "bbox"),
    ({"bbox": "5,52,zes,53", "zoom": 7}, "bbox"),
    ({"bbox": "5,52,nan,53", "zoom": 7}, "bbox"),
    ({"bbox": "5,52,190,53", "zoom": 7}, "bbox"),
    ({"bbox": "5,-95,6,53", "zoom": 7}, "bbox"),
    ({"bbox": "6,52,5,53", "zoom": 7}, "bbox"),
    ({"bbox": "5,53,6,52", "zoom": 7}, "bbox"),
    ({"bbox": "5,52,6,53"}, "zoom"),
    ({"bbox": "5,52,6,53", "zoom": -1}, "zoom"),
    ({"bbox": "5,52,6,53", "zoom": 21}, "zoom"),
    ({"bbox": "5,52,6,53", "zoom": "7.5"}, "zoom"),
    ({"bbox": "5,52,6,53", "zoom": 7, "near": "Nes"}, "near"),
    ({"bbox": "5,52,6,53", "zoom": 7, "limit": 10}, "limit"),
    ({"bbox": "5,52,6,53", "zoom": 7, "colour": "red"}, "colour"),
    ({"bbox": "5,52,6,53", "zoom": 7, "category": "zwemmen"}, "category"),
    ({"bbox": "5,52,6,53", "zoom": 7, "kind": "kasteel"}, "kind"),
    ({"bbox": "5,52,6,53", "zoom": 7, "open_now": "1", "open_at": "wo 10:00"}, "open_at"),
    ({"bbox": "5,52,6,53", "zoom": 7, "gemeente": "Ameland"}, "gemeente"),
])
def test_bad_input_is_400_naming_the_field(client, params, field) -> None:
    resp = client.get("/api/v1/map", query_string=params)
    assert resp.status_code == 400, resp.get_json()
    assert resp.get_json()["error"]["field"] == field


def test_answers_are_cacheable_for_a_short_while(client, registry, nes) -> None:
    resp = client.get("/api/v1/map", query_string={"bbox": bbox_around(*nes, 4000, 3000),
                                                   "zoom": 12})
    assert resp.headers["Cache-Control"] == f"public, max-age={svc.MAX_AGE}"
    again = client.get("/api/v1/map", query_string={"bbox": bbox_around(*nes, 4000, 3000),
                                                    "zoom": 12},
                       headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304


def test_outside_the_netherlands_is_empty(client) -> None:
    body = get_map(client, bbox="30,-5,31,-4", zoom=9)
    assert body["features"] == [] and body["numberMatched"] == 0


def _plan(conn: Connection, stmt) -> str:  # noqa: ANN001
    compiled = stmt.compile(conn, compile_kwargs={"render_postcompile": True})
    return json.dumps(conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled),
                                           compiled.params).scalar_one())


def test_query_plans_use_the_indexes(conn, registry, nes) -> None:
    conn.execute(text("SET LOCAL enable_seqscan = off"))
    box = (nes[0] - 3000, nes[1] - 2000, nes[0] + 3000, nes[1] + 2000)
    for f in (Filters(), Filters(categories=("maaltijden",)), Filters(tsquery="koffie:*")):
        hits = q.shown_hits(f, box).subquery()
        assert "ix_location_geom" in _plan(conn, select(hits).limit(svc.POINT_CAP + 1))
    cells = q.Cells.covering(12, box)
    assert "uq_map_grid_cell" in _plan(conn, select(q.G.c.n).where(
        *q._grid_where(cells, (q.ALL,), True)))


def test_the_grid_counts_new_records_after_a_refresh(conn, registry, nes) -> None:
    def total() -> int:
        return conn.execute(text("SELECT sum(n) FROM map_grid WHERE z = 4 AND slice = ''"))\
            .scalar_one()

    before = total()
    _add(conn, "Nieuw", nes[0] + 10, nes[1] + 10)
    assert total() == before
    svc.refresh_grid(Session(bind=conn, join_transaction_mode="create_savepoint"))
    assert total() == before + 1


def test_a_small_registry_is_counted_live_and_fresh(client, conn, registry, nes,
                                                    monkeypatch) -> None:
    monkeypatch.setattr(svc, "GRID_FROM_HITS", svc.LIVE_CLUSTER_BUDGET)
    assert q.hits_at_most(conn, svc.GRID_FROM_HITS)
    before = get_map(client, bbox=",".join(map(str, NL)), zoom=7)
    assert before["map"]["source"] == "live"
    _add(conn, "Net binnen", nes[0] + 20, nes[1] + 20)  # the grid is not refreshed
    after = get_map(client, bbox=",".join(map(str, NL)), zoom=7)
    assert after["numberMatched"] == before["numberMatched"] + 1
    assert after["numberMatched"] == plain_count(conn, after["map"]["bbox_rd"])
    assert not q.hits_at_most(conn, 10)


def test_map_refresh_command_recounts_the_grid(runner, conn, registry, nes) -> None:
    def total() -> int:
        return conn.execute(text("SELECT sum(n) FROM map_grid WHERE z = 4 AND slice = ''"))\
            .scalar_one()

    before = total()
    _add(conn, "Via de opdracht", nes[0] + 30, nes[1] + 30)
    result = runner.invoke(args=["map", "refresh"])
    assert result.exit_code == 0, result.output
    assert "map grid refreshed in" in result.output
    assert total() == before + 1
