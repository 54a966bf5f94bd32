"""Gap analysis on a small hand-built registry on Ameland, with every right answer computed
here from the kern points and people read from the database: RD New distances by plain
arithmetic, statuses by counting, people by summing.

Every question is asked without the demo records (the demo set covers the whole country), so
only the initiatives built here count; the nearest curated seed record is 100+ km away.
"""
from __future__ import annotations

import csv
import io
import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from socialmap.config import Settings
from socialmap.geo import to_wgs84
from socialmap.services import gaps as svc

GEMEENTE = "GM0060"  # Ameland: Nes, Buren, Ballum, Hollum
TODAY = date.today()
NORMS = {"ontmoeting": 2000, "vervoer": None, "dagbesteding": 10_000, "burenhulp": None}
CHILD_OF = {"bezoekdienst": "ontmoeting", "vrijwilligersvervoer": "vervoer",
            "buurtbus": "vervoer"}


@dataclass
class KernInfo:
    code: str
    name: str
    x: float
    y: float
    inhabitants: int
    inhabitants_65plus: int
    inhabitants_75plus: int


@dataclass
class Built:
    name: str
    id: uuid.UUID
    term: str
    x: float
    y: float
    kern_code: str | None
    status: str = "active"
    demo: bool = False
    assured: date | None = None
    private: bool = False
    serves: list[str] = field(default_factory=list)

    @property
    def category(self) -> str:
        return CHILD_OF.get(self.term, self.term)


@pytest.fixture
def kernen(conn: Connection) -> dict[str, KernInfo]:
    rows = conn.execute(text(
        "SELECT code, name, ST_X(point) AS x, ST_Y(point) AS y, inhabitants, "
        "inhabitants_65plus, inhabitants_75plus FROM kern WHERE gemeente_code = :g"),
        {"g": GEMEENTE}).all()
    return {r.name: KernInfo(**r._mapping) for r in rows}


def _add(conn: Connection, kernen: dict[str, KernInfo], name: str, term: str, at: str,
         dx: float, dy: float, *, status: str = "active", demo: bool = False,
         assured: date | None = TODAY, private: bool = False,
         serves: tuple[str, ...] = ()) -> Built:
    origin = kernen[at]
    x, y = origin.x + dx, origin.y + dy
    sid = conn.execute(text(
        "INSERT INTO service (name, kind, status, is_demo, assured_date) "
        "VALUES (:n, 'overig', :s, :d, :a) RETURNING id"),
        {"n": name, "s": status, "d": demo, "a": assured}).scalar_one()
    lid, kern_code = conn.execute(text(
        "INSERT INTO location (name, location_type, precision, geom, kern_code, is_demo) "
        "SELECT :n, :t, 'address', g, (SELECT code FROM kern WHERE ST_Covers(area, g)), :d "
        "FROM (SELECT ST_SetSRID(ST_MakePoint(:x, :y), 28992) AS g) p "
        "RETURNING id, kern_code"),
        {"n": name, "t": "private" if private else "physical", "x": x, "y": y,
         "d": demo}).one()
    conn.execute(text("INSERT INTO service_at_location (service_id, location_id) "
                      "VALUES (:s, :l)"), {"s": sid, "l": lid})
    conn.execute(text(
        "INSERT INTO attribute (service_id, taxonomy_term_id) "
        "SELECT :s, t.id FROM taxonomy_term t JOIN taxonomy x ON x.id = t.taxonomy_id "
        "WHERE x.facet = 'category' AND t.code = :c"), {"s": sid, "c": term})
    codes = [kernen[k].code for k in serves]
    for code in codes:
        conn.execute(text("INSERT INTO service_area (service_id, kern_code) VALUES (:s, :k)"),
                     {"s": sid, "k": code})
    return Built(name, sid, term, x, y, kern_code, status, demo, assured, private, codes)


@pytest.fixture
def registry(conn: Connection, kernen: dict[str, KernInfo]) -> dict[str, Built]:
    long_ago = TODAY - timedelta(days=3 * 365)
    built = [
        # ontmoeting, within 2 km
        _add(conn, kernen, "Dorpshuis Nes", "ontmoeting", "Nes", 300, 0),
        _add(conn, kernen, "Koffie Buren", "ontmoeting", "Buren", -200, 100),
        _add(conn, kernen, "Bezoekdienst Ameland", "bezoekdienst", "Nes", -300, -400,
             serves=("Ballum",)),
        _add(conn, kernen, "Oude soos", "ontmoeting", "Hollum", 100, 0, status="inactive"),
        _add(conn, kernen, "Inloop Hollum", "ontmoeting", "Hollum", -100, 0,
             status="temporarily closed"),
        _add(conn, kernen, "Voorbeeld ontmoeting", "ontmoeting", "Hollum", 200, 0, demo=True),
        # vervoer, must serve
        _add(conn, kernen, "Vervoer Ameland", "vrijwilligersvervoer", "Nes", 100, 100,
             serves=("Hollum", "Ballum")),
        _add(conn, kernen, "Buurtbus Hollum", "buurtbus", "Hollum", 50, -50),
        # dagbesteding, within 10 km; verified recently, long ago, never
        _add(conn, kernen, "Dagbesteding De Boerderij", "dagbesteding", "Hollum", 0, 300,
             assured=TODAY - timedelta(days=30)),
        _add(conn, kernen, "Dagbesteding Nes", "dagbesteding", "Nes", -100, 0, assured=long_ago),
        _add(conn, kernen, "Zorgboerderij Buren", "dagbesteding", "Buren", 0, 50, assured=None),
        # burenhulp, must serve, at a volunteer's home
        _add(conn, kernen, "Burenhulp bij Jan thuis", "burenhulp", "Nes", 1234, 567,
             private=True),
    ]
    return {b.name: b for b in built}


# --- the answers, computed here ------------------------------------------------------------

def counted(b: Built, *, since: date | None = None, demo: bool = False) -> bool:
    return (b.status == "active" and (demo or not b.demo)
            and (since is None or (b.assured is not None and b.assured >= since)))


def published(kernen: dict[str, KernInfo], b: Built) -> tuple[float, float]:
    """Where a record is measured from: a home (private) at its kern's point, as it is shown."""
    if b.private:
        k = next(k for k in kernen.values() if k.code == b.kern_code)
        return k.x, k.y
    return b.x, b.y


def expected(kernen: dict[str, KernInfo], registry: dict[str, Built], category: str,
             norm: int | None, *, since: date | None = None,
             without: str | None = None) -> dict[str, dict]:
    """Kern name -> nearest, within, serving, providers and status, by hand."""
    out = {}
    for k in kernen.values():
        mine = [b for b in registry.values() if b.category == category
                and counted(b, since=since) and b.name != without]
        dist = {b.name: math.hypot(*(a - c for a, c in zip(published(kernen, b), (k.x, k.y),
                                                            strict=True)))
                for b in mine}
        if norm is None:
            within = {b.name for b in mine if b.kern_code == k.code}
        else:
            within = {b.name for b in mine if dist[b.name] <= norm}
        serving = {b.name for b in mine if k.code in b.serves}
        providers = within | serving
        search = 5000 if norm is None else min(max(2 * norm, 5000), 50_000)
        nearest = min((b for b in mine if dist[b.name] <= search), key=lambda b: dist[b.name],
                      default=None)
        nearest_m = None
        if nearest is not None:
            step = 100 if nearest.private else 1
            nearest_m = round(dist[nearest.name] / step) * step
        status = "gap" if not providers else "thin" if len(providers) == 1 else "covered"
        out[k.name] = {"nearest_m": nearest_m, "within": len(within), "serving": len(serving),
                       "providers": len(providers), "status": status}
    return out


def people(kernen: dict[str, KernInfo], names: list[str]) -> dict[str, int]:
    chosen = [kernen[n] for n in names]
    return {"kernen": len(chosen),
            "inhabitants": sum(k.inhabitants for k in chosen),
            "inhabitants_65plus": sum(k.inhabitants_65plus for k in chosen),
            "inhabitants_75plus": sum(k.inhabitants_75plus for k in chosen)}


def gaps(client, **params) -> dict:  # noqa: ANN001
    params.setdefault("gemeente", GEMEENTE)
    params.setdefault("demo", "false")
    resp = client.get("/api/v1/gaps", query_string=params)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def by_kern(body: dict, category: str) -> dict[str, dict]:
    return {r["kern_name"]: r for r in body["kernen"] if r["category"] == category}


def assert_matches(got: dict[str, dict], want: dict[str, dict]) -> None:
    assert set(got) == set(want)
    for name, w in want.items():
        g = got[name]
        assert g["status"] == w["status"], name
        assert (g["within"], g["serving"], g["providers"]) == (
            w["within"], w["serving"], w["providers"]), name
        if w["nearest_m"] is None:
            assert g["nearest_m"] is None, name
        else:
            assert abs(g["nearest_m"] - w["nearest_m"]) <= 1, name


# --- coverage ------------------------------------------------------------------------------

def test_distance_norm_counts_located_within_and_serving(client, kernen, registry) -> None:
    body = gaps(client, category="ontmoeting")
    want = expected(kernen, registry, "ontmoeting", 2000)
    assert_matches(by_kern(body, "ontmoeting"), want)
    # Hollum has an inactive, a temporarily closed and a demo meeting place: none counts.
    assert want["Hollum"]["status"] == "gap" and want["Ballum"]["status"] == "thin"
    assert want["Nes"]["status"] == want["Buren"]["status"] == "covered"
    assert body["norms"] == [{"category": "ontmoeting", "name": "Ontmoeting",
                              "kind": "distance", "metres": 2000, "label": "binnen 2 km",
                              "nearest_search_m": 5000}]


def test_serve_norm_ignores_distance(client, kernen, registry) -> None:
    body = gaps(client, category="vervoer")
    want = expected(kernen, registry, "vervoer", None)
    assert_matches(by_kern(body, "vervoer"), want)
    # Vervoer Ameland stands 1.7 km from Buren but does not serve it.
    assert want["Buren"]["status"] == "gap"
    assert by_kern(body, "vervoer")["Buren"]["nearest_m"] < 2000
    assert want["Hollum"]["status"] == "covered" and want["Nes"]["status"] == "thin"


def test_private_location_distance_is_rounded(client, kernen, registry) -> None:
    body = gaps(client, category="burenhulp")
    want = expected(kernen, registry, "burenhulp", None)
    assert_matches(by_kern(body, "burenhulp"), want)
    distances = [r["nearest_m"] for r in by_kern(body, "burenhulp").values()]
    assert distances.count(None) == 2  # Hollum and Ballum: nothing within 5 km
    assert all(d % 100 == 0 for d in distances if d is not None)


def test_verified_only_option_uncovers_stale_records(client, kernen, registry) -> None:
    everything = by_kern(gaps(client, category="dagbesteding"), "dagbesteding")
    assert_matches(everything, expected(kernen, registry, "dagbesteding", 10_000))
    assert {r["status"] for r in everything.values()} == {"covered"}
    body = gaps(client, category="dagbesteding", verified_within=12)
    since = svc.months_before(TODAY, 12)
    want = expected(kernen, registry, "dagbesteding", 10_000, since=since)
    assert_matches(by_kern(body, "dagbesteding"), want)
    assert want["Buren"]["status"] == "gap" and want["Nes"]["status"] == "thin"
    assert body["options"]["verified_since"] == since.isoformat()


def test_all_categories_and_people_per_gemeente(client, kernen, registry) -> None:
    body = gaps(client)
    categories = [n["category"] for n in body["norms"]]
    assert categories[:3] == ["ontmoeting", "vervoer", "maaltijden"] and len(categories) == 12
    assert len(body["kernen"]) == len(kernen) * len(categories)
    for category, norm in NORMS.items():
        want = expected(kernen, registry, category, norm)
        assert_matches(by_kern(body, category), want)
        summary = next(s for s in body["gemeenten"] if s["category"] == category)
        assert summary["gemeente_code"] == GEMEENTE
        for status in ("gap", "thin", "covered"):
            names = [n for n, w in want.items() if w["status"] == status]
            assert summary[status] == people(kernen, names), (category, status)
    # Nothing of ours for klussen: every kern is a gap and all of Ameland lives in one.
    klussen = next(t for t in body["totals"] if t["category"] == "klussen")
    assert klussen["gap"] == people(kernen, list(kernen))


def test_sentence_names_people_kernen_and_norm(client, kernen, registry) -> None:
    body = gaps(client, category="ontmoeting")
    hollum = kernen["Hollum"].inhabitants_75plus
    assert body["totals"][0]["sentence"] == (
        f"{hollum} mensen van 75 jaar en ouder wonen in 1 kern zonder ontmoeting binnen 2 km.")


def test_norm_override_per_request_and_by_setting(client, app, kernen, registry) -> None:
    wide = by_kern(gaps(client, category="ontmoeting", norm="6km"), "ontmoeting")
    assert_matches(wide, expected(kernen, registry, "ontmoeting", 6000))
    settings = Settings(gap_norms="ontmoeting=serve; dagbesteding=500m")
    assert svc.norm_table(settings)["ontmoeting"] == svc.Norm("ontmoeting")
    assert svc.norm_table(settings)["dagbesteding"] == svc.Norm("dagbesteding", 500)
    assert svc.norm_table(settings)["vervoer"] == svc.DEFAULT_NORMS["vervoer"]


def test_norm_table_covers_every_top_level_category(conn) -> None:
    codes = set(conn.execute(text(
        "SELECT t.code FROM taxonomy_term t JOIN taxonomy x ON x.id = t.taxonomy_id "
        "WHERE x.facet = 'category' AND t.parent_id IS NULL")).scalars())
    assert codes == set(svc.DEFAULT_NORMS)


@pytest.mark.parametrize("value", ["ontmoeting", "ontmoeting=far", "ontmoeting=50m",
                                   "ontmoeting=200km", "=2km"])
def test_bad_norm_setting_is_named(value: str) -> None:
    with pytest.raises(ValueError, match="SOCIALMAP_GAP_NORMS"):
        svc.norm_table(Settings(gap_norms=value))


def test_norm_setting_for_an_unknown_category_is_named(conn) -> None:
    s = Session(bind=conn, join_transaction_mode="create_savepoint")
    with pytest.raises(ValueError, match="unknown category 'tuinieren'"):
        svc.resolve_norms(s, svc.GapRequest(), Settings(gap_norms="tuinieren=2km"))


def test_demo_records_count_only_when_asked(conn, kernen, registry, settings) -> None:
    s = Session(bind=conn, join_transaction_mode="create_savepoint")
    req = svc.GapRequest(gemeente=GEMEENTE, categories=("ontmoeting",), demo=True)

    def hollum(report: svc.GapReport) -> svc.KernCoverage:
        return next(r for r in report.rows if r.kern_name == "Hollum")

    with_ours = hollum(svc.coverage(s, req, settings))
    conn.execute(text("UPDATE service SET is_demo = false WHERE id = :i"),
                 {"i": registry["Voorbeeld ontmoeting"].id})
    conn.execute(text("UPDATE service SET status = 'inactive' WHERE id = :i"),
                 {"i": registry["Voorbeeld ontmoeting"].id})
    without_ours = hollum(svc.coverage(s, req, settings))
    assert without_ours.within < svc.COUNT_CAP
    assert with_ours.within == without_ours.within + 1
    hidden = Settings(show_demo=False)
    conn.execute(text("UPDATE service SET is_demo = true, status = 'active' WHERE id = :i"),
                 {"i": registry["Voorbeeld ontmoeting"].id})
    assert hollum(svc.coverage(s, req, hidden)).status == "gap"


# --- what-if ---------------------------------------------------------------------------------

def test_what_if_stop_lists_status_changes_and_people(client, kernen, registry) -> None:
    stopping = registry["Bezoekdienst Ameland"]
    resp = client.get("/api/v1/gaps/what-if/stop",
                      query_string={"service": str(stopping.id), "demo": "false"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    before = expected(kernen, registry, "ontmoeting", 2000)
    after = expected(kernen, registry, "ontmoeting", 2000, without=stopping.name)
    changed = {n for n in kernen if before[n]["status"] != after[n]["status"]}
    assert changed == {"Ballum"}
    assert [(c["kern_name"], c["status_before"], c["status_after"]) for c in body["changes"]] == [
        ("Ballum", before["Ballum"]["status"], after["Ballum"]["status"])]
    assert body["lost"]["ontmoeting"] == people(kernen, ["Ballum"])
    assert body["service"] == {"id": str(stopping.id), "name": stopping.name, "counted": True}


def test_what_if_stop_covered_to_thin(client, kernen, registry) -> None:
    stopping = registry["Koffie Buren"]
    body = client.get("/api/v1/gaps/what-if/stop", query_string={
        "service": str(stopping.id), "demo": "false"}).get_json()
    before = expected(kernen, registry, "ontmoeting", 2000)
    after = expected(kernen, registry, "ontmoeting", 2000, without=stopping.name)
    want = {n: (before[n]["status"], after[n]["status"]) for n in kernen
            if before[n]["status"] != after[n]["status"]}
    assert {c["kern_name"]: (c["status_before"], c["status_after"])
            for c in body["changes"]} == want == {"Buren": ("covered", "thin")}
    assert body["thinner"]["ontmoeting"] == people(kernen, ["Buren"])
    assert body["lost"]["ontmoeting"]["kernen"] == 0


def test_what_if_stop_of_an_uncounted_initiative_changes_nothing(client, registry) -> None:
    body = client.get("/api/v1/gaps/what-if/stop", query_string={
        "service": str(registry["Oude soos"].id), "demo": "false"}).get_json()
    assert body["service"]["counted"] is False and body["changes"] == []
    stale = client.get("/api/v1/gaps/what-if/stop", query_string={
        "service": str(registry["Dagbesteding Nes"].id), "demo": "false",
        "verified_within": 12}).get_json()
    assert stale["service"]["counted"] is False


def brute_force_sites(kernen: dict[str, KernInfo], targets: set[str], norm: int,
                      sites: int) -> list[tuple[str, list[str]]]:
    """Greedy by hand: the kern point reaching the most 75+ in the targets, ties as documented."""
    chosen = []
    left = set(targets)
    while left and len(chosen) < sites:
        options = []
        for c in kernen.values():
            reach = sorted(n for n in left
                           if math.hypot(kernen[n].x - c.x, kernen[n].y - c.y) <= norm)
            if reach:
                key = (-sum(kernen[n].inhabitants_75plus for n in reach), -len(reach),
                       -sum(kernen[n].inhabitants for n in reach), c.code)
                options.append((key, c.name, reach))
        if not options:
            break
        _key, name, reach = min(options)
        chosen.append((name, reach))
        left -= set(reach)
    return chosen


@pytest.mark.parametrize(("norm", "include_thin", "sites"),
                         [("2km", False, 1), ("2km", True, 3), ("4km", True, 2),
                          ("12km", True, 1)])
def test_best_new_site_is_the_greedy_choice(client, kernen, registry, norm: str,
                                            include_thin: bool, sites: int) -> None:
    metres = svc.parse_norm("ontmoeting", norm).metres
    assert metres is not None
    want_status = expected(kernen, registry, "ontmoeting", metres)
    open_statuses = {"gap", "thin"} if include_thin else {"gap"}
    targets = {n for n, w in want_status.items() if w["status"] in open_statuses}
    resp = client.get("/api/v1/gaps/what-if/new", query_string={
        "gemeente": GEMEENTE, "category": "ontmoeting", "norm": norm, "demo": "false",
        "include_thin": str(include_thin).lower(), "sites": sites})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    want = brute_force_sites(kernen, targets, metres, sites)
    got = [(s["kern_name"], sorted(kernen[c["kern_name"]].name for c in s["covers"]))
           for s in body["sites"]]
    assert got == [(name, sorted(reach)) for name, reach in want]
    assert body["targets"] == people(kernen, sorted(targets))
    reached = [n for _name, reach in want for n in reach]
    assert body["remaining"] == people(kernen, sorted(targets - set(reached)))
    for site, (_name, reach) in zip(body["sites"], want, strict=True):
        assert site["people"] == people(kernen, reach)


# --- API errors ------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "params", "field"), [
    ("/api/v1/gaps", {"gemeente": "Ameland"}, "gemeente"),
    ("/api/v1/gaps", {"gemeente": "GM9999"}, "gemeente"),
    ("/api/v1/gaps", {"provincie": "PV99"}, "provincie"),
    ("/api/v1/gaps", {"gemeente": GEMEENTE, "provincie": "PV21"}, "provincie"),
    ("/api/v1/gaps", {"category": "tuinieren"}, "category"),
    ("/api/v1/gaps", {"category": "inloop"}, "category"),
    ("/api/v1/gaps", {"verified_within": "0"}, "verified_within"),
    ("/api/v1/gaps", {"verified_within": "twaalf"}, "verified_within"),
    ("/api/v1/gaps", {"demo": "misschien"}, "demo"),
    ("/api/v1/gaps", {"format": "xlsx"}, "format"),
    ("/api/v1/gaps", {"norm": "2km"}, "norm"),
    ("/api/v1/gaps", {"category": "ontmoeting", "norm": "ver"}, "norm"),
    ("/api/v1/gaps", {"radius": "5"}, "radius"),
    ("/api/v1/gaps/what-if/stop", {}, "service"),
    ("/api/v1/gaps/what-if/stop", {"service": "abc"}, "service"),
    ("/api/v1/gaps/what-if/new", {"gemeente": GEMEENTE}, "category"),
    ("/api/v1/gaps/what-if/new", {"category": "ontmoeting", "sites": "11"}, "sites"),
    ("/api/v1/gaps/what-if/new", {"category": "ontmoeting", "weight": "kinderen"}, "weight"),
])
def test_bad_input_is_a_400_naming_the_field(client, path: str, params: dict,
                                             field: str) -> None:
    resp = client.get(path, query_string=params)
    assert resp.status_code == 400, resp.get_json()
    assert resp.get_json()["error"]["field"] == field


def test_unknown_initiative_is_a_404(client) -> None:
    resp = client.get("/api/v1/gaps/what-if/stop", query_string={"service": str(uuid.uuid4())})
    assert resp.status_code == 404
    assert resp.get_json()["error"]["field"] == "service"


# --- downloads -------------------------------------------------------------------------------

def test_csv_download_parses_back(client, kernen, registry) -> None:
    resp = client.get("/api/v1/gaps", query_string={
        "gemeente": GEMEENTE, "category": "vervoer", "demo": "false", "format": "csv"})
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert 'filename="witte-vlekken-GM0060-vervoer.csv"' in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [r["kern_name"] for r in rows] == sorted(kernen)
    want = expected(kernen, registry, "vervoer", None)
    for r in rows:
        assert r["status"] == want[r["kern_name"]]["status"]
        assert int(r["providers"]) == want[r["kern_name"]]["providers"]
        assert int(r["inhabitants_75plus"]) == kernen[r["kern_name"]].inhabitants_75plus
        assert r["norm"] == "serve"
        assert r["status_label"] in {"Witte vlek", "Kwetsbaar", "Gedekt"}
        # The kern's point in RD New and in WGS84, the one transformed from the other.
        k = kernen[r["kern_name"]]
        assert abs(float(r["x"]) - k.x) <= 0.1 and abs(float(r["y"]) - k.y) <= 0.1
        lon, lat = to_wgs84(k.x, k.y)
        assert abs(float(r["lon"]) - lon) < 1e-5 and abs(float(r["lat"]) - lat) < 1e-5


@pytest.mark.parametrize("geometry", ["area", "point"])
def test_geojson_download_parses_back(client, kernen, registry, geometry: str) -> None:
    resp = client.get("/api/v1/gaps", query_string={
        "gemeente": GEMEENTE, "category": "ontmoeting", "demo": "false", "format": "geojson",
        "geometry": geometry})
    assert resp.status_code == 200
    assert resp.mimetype == "application/geo+json"
    body = json.loads(resp.get_data(as_text=True))
    assert body["type"] == "FeatureCollection" and len(body["features"]) == len(kernen)
    want = expected(kernen, registry, "ontmoeting", 2000)
    for f in body["features"]:
        props = f["properties"]
        assert props["status"] == want[props["kern_name"]]["status"]
        kinds = {"area": {"Polygon", "MultiPolygon"}, "point": {"Point"}}[geometry]
        assert f["geometry"]["type"] in kinds
        lon, lat = _first_position(f["geometry"]["coordinates"])
        assert 5.5 < lon < 6.0 and 53.3 < lat < 53.6  # WGS84 on Ameland
        k = kernen[props["kern_name"]]
        assert abs(props["x"] - k.x) <= 0.1 and abs(props["y"] - k.y) <= 0.1  # and RD New


def _first_position(coords: list) -> tuple[float, float]:
    while isinstance(coords[0], list):
        coords = coords[0]
    return coords[0], coords[1]


# --- CLI -------------------------------------------------------------------------------------

def test_cli_prints_a_table_and_writes_csv(runner, kernen, registry, tmp_path) -> None:
    result = runner.invoke(args=["gaps", "coverage", "--gemeente", GEMEENTE,
                                 "--category", "ontmoeting", "--no-demo"])
    assert result.exit_code == 0, result.output
    assert "Witte vlek" in result.output and "Hollum" in result.output
    assert "wonen in 1 kern zonder ontmoeting binnen 2 km" in result.output
    out = tmp_path / "gaps.csv"
    result = runner.invoke(args=["gaps", "coverage", "--gemeente", GEMEENTE, "--no-demo",
                                 "--category", "dagbesteding", "--verified-within", "12",
                                 "--format", "csv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    since = svc.months_before(TODAY, 12)
    want = expected(kernen, registry, "dagbesteding", 10_000, since=since)
    assert {r["kern_name"]: r["status"] for r in rows} == {
        n: w["status"] for n, w in want.items()}


def test_cli_geojson_and_what_ifs(runner, kernen, registry, tmp_path) -> None:
    out = tmp_path / "gaps.geojson"
    result = runner.invoke(args=["gaps", "coverage", "--gemeente", GEMEENTE, "--no-demo",
                                 "--category", "vervoer", "--format", "geojson", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert len(json.loads(out.read_text())["features"]) == len(kernen)
    result = runner.invoke(args=["gaps", "stop", str(registry["Bezoekdienst Ameland"].id),
                                 "--no-demo"])
    assert result.exit_code == 0, result.output
    assert "Ballum" in result.output and "worden een witte vlek" in result.output
    result = runner.invoke(args=["gaps", "new-site", "--gemeente", GEMEENTE, "--no-demo",
                                 "--category", "ontmoeting"])
    assert result.exit_code == 0, result.output
    assert "1. Hollum" in result.output


def test_cli_bad_input_is_an_error(runner) -> None:
    result = runner.invoke(args=["gaps", "coverage", "--gemeente", "GM9999"])
    assert result.exit_code != 0
    assert "unknown gemeente" in result.output


# --- page ------------------------------------------------------------------------------------

def test_page_shows_map_legend_and_table(client, kernen, registry) -> None:
    resp = client.get("/gaps", query_string={"area": GEMEENTE, "category": "ontmoeting",
                                             "demo": "false"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    for label in ("Witte vlek", "Kwetsbaar", "Gedekt", "geen initiatief"):
        assert label in html
    for name in kernen:
        assert f'<th scope="row">{name}</th>' in html or f">{name}</a></th>" in html
    assert "leaflet" in html.lower()
    assert "format=csv" in html and "format=geojson" in html
    assert f"{kernen['Hollum'].inhabitants_75plus} mensen van 75 jaar en ouder" in html


def test_page_demo_checkbox_after_hidden_field(client, kernen, registry) -> None:
    def hollum_row(*demo: str) -> str:
        html = client.get("/gaps", query_string=[("area", GEMEENTE), ("category", "ontmoeting"),
                                                 *(("demo", d) for d in demo)]).get_data(
            as_text=True)
        return html.split(">Hollum</a></th>")[1].split("</tr>")[0]

    assert "Witte vlek" in hollum_row("false")
    assert "Witte vlek" not in hollum_row("false", "true")  # ticked: the demo counts


def test_page_without_choice_shows_the_form(client) -> None:
    resp = client.get("/gaps")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Witte vlekken" in html and "<select" in html


def test_page_bad_gemeente_is_a_dutch_error(client) -> None:
    resp = client.get("/gaps", query_string={"area": "GM9999", "category": "ontmoeting"})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "Deze gemeente of provincie kennen we niet" in html
