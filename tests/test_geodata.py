"""The geography loader on the real CBS/GeoNames data (loaded once per session by conftest), its
idempotency and transactions, its command and its download path against a local HTTP server."""
from __future__ import annotations

import io
import json
import shutil
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text

from socialmap import create_app, migrate
from socialmap.config import Settings
from socialmap.geodata import GeodataError, load_geography
from socialmap.geodata.download import SOURCES

from .conftest import GEODATA

GEO_TABLES = ("provincie", "gemeente", "pc4", "kern", "dataset_load")


def rd(lon: float, lat: float) -> str:
    return f"ST_Transform(ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326), 28992)"


def scalar(conn: Connection, sql: str, **params: object) -> object:
    return conn.execute(text(sql), params).scalar_one()


def snapshot(conn: Connection) -> dict[str, list[tuple[str, str]]]:
    """Physical row versions of the geography tables: any write changes them."""
    return {t: [tuple(r) for r in conn.execute(text(
        f"SELECT ctid::text, xmin::text FROM {t} ORDER BY ctid"))] for t in GEO_TABLES}


def tiling_errors(conn: Connection) -> list[tuple]:
    """Gemeenten whose kernen do not tile them: area sum off by > 0.01 %, overlaps, or gaps."""
    return conn.execute(text("""
        WITH per AS (
          SELECT g.code, ST_Area(g.area) AS ga,
                 (SELECT sum(ST_Area(k.area)) FROM kern k WHERE k.gemeente_code = g.code) AS ka,
                 (SELECT ST_Area(ST_Difference(g.area, ST_Union(k.area)))
                    FROM kern k WHERE k.gemeente_code = g.code) AS gap,
                 (SELECT coalesce(sum(ST_Area(ST_Intersection(a.area, b.area))), 0)
                    FROM kern a JOIN kern b ON a.gemeente_code = b.gemeente_code
                     AND a.code < b.code AND ST_Intersects(a.area, b.area)
                   WHERE a.gemeente_code = g.code) AS overlap
            FROM gemeente g
        )
        SELECT code, ga, ka, gap, overlap FROM per
         WHERE ka IS NULL OR abs(ka - ga) > 0.0001 * ga OR gap > 1 OR overlap > 1
    """)).all()


# --- the real data -------------------------------------------------------------------------

def test_counts(conn: Connection) -> None:
    assert scalar(conn, "SELECT count(*) FROM gemeente") == 342
    assert scalar(conn, "SELECT count(*) FROM provincie") == 12
    assert scalar(conn, "SELECT count(*) FROM pc4") > 4000
    assert scalar(conn, "SELECT count(*) FROM gemeente g WHERE NOT EXISTS"
                        " (SELECT 1 FROM kern k WHERE k.gemeente_code = g.code)") == 0
    assert scalar(conn, "SELECT count(*) FROM kern WHERE source = 'woonplaats'") == 2518
    assert scalar(conn, "SELECT count(*) FROM kern WHERE source = 'geonames'") > 300
    assert scalar(conn, "SELECT checksum FROM dataset_load WHERE name = 'geography'")


def test_kern_areas_tile_their_gemeente(conn: Connection) -> None:
    assert tiling_errors(conn) == []
    assert scalar(conn, "SELECT count(*) FROM kern WHERE NOT ST_IsValid(area)"
                        " OR GeometryType(area) <> 'MULTIPOLYGON' OR ST_IsEmpty(area)") == 0
    # Every kern's point lies in its own area (points outside their gemeente were moved in).
    assert scalar(conn, "SELECT count(*) FROM kern WHERE NOT ST_Covers(area, point)") == 0


def test_meers_is_a_geonames_kern_in_stein(conn: Connection) -> None:
    # The brief says GM1883 for Stein; in CBS 2024 Stein (L.) is GM0971 (GM1883 is Sittard-Geleen).
    row = conn.execute(text(
        "SELECT k.name, k.source, k.geonameid, g.name AS gemeente, ST_Covers(k.area, k.point) AS"
        f" own, ST_Covers(k.area, {rd(5.74167, 50.96167)}) AS geonames_point_inside"
        " FROM kern k JOIN gemeente g ON g.code = k.gemeente_code WHERE k.code = 'GM0971-meers'"
    )).one()
    assert row.name == "Meers" and row.source == "geonames" and row.geonameid == 2751040
    assert row.gemeente == "Stein (L.)"
    assert row.own and row.geonames_point_inside


def test_elsloo_is_two_kernen_in_different_gemeenten(conn: Connection) -> None:
    rows = conn.execute(text(
        "SELECT k.code, g.name FROM kern k JOIN gemeente g ON g.code = k.gemeente_code"
        " WHERE k.name_key = 'elsloo' ORDER BY k.code")).all()
    assert [tuple(r) for r in rows] == [("GM0085-elsloo", "Ooststellingwerf"),
                                        ("GM0971-elsloo", "Stein (L.)")]


def test_pc4_6088_lies_in_kern_roggel(conn: Connection) -> None:
    rows = conn.execute(text(
        "SELECT k.code, k.name, g.name AS gemeente FROM pc4 p"
        " JOIN kern k ON ST_Covers(k.area, p.centroid)"
        " JOIN gemeente g ON g.code = k.gemeente_code WHERE p.code = '6088'")).all()
    assert [(r.name, r.gemeente) for r in rows] == [("Roggel", "Leudal")]


def test_hatert_is_a_kern_in_nijmegen(conn: Connection) -> None:
    row = conn.execute(text(
        "SELECT k.source, g.name FROM kern k JOIN gemeente g ON g.code = k.gemeente_code"
        " WHERE k.code = 'GM0268-hatert'")).one()
    assert tuple(row) == ("geonames", "Nijmegen")


def test_kern_inhabitants_add_up_to_the_gemeente(conn: Connection) -> None:
    """The kernen get PC4 figures of 1 January 2021 apportioned by area; the gemeente figure is
    CBS 2024. They differ by three years of growth (+2.7 % nationally, up to ~10 % in growing
    gemeenten such as Almere) and by PC4s that cross a gemeente border: their people are split by
    area, although they live where the houses are, which can move up to about one PC4's
    population (a few thousand) into a neighbouring gemeente (small Rozendaal gets ~5,000 of
    Arnhem's and Rheden's). Hence, per gemeente: within 12 % or 5,000 inhabitants, whichever is
    larger. Nationally nothing is lost: the kernen hold exactly the PC4 totals, which are within
    3 % of the 2024 gemeente total."""
    rows = conn.execute(text(
        "SELECT g.code, g.inhabitants AS gemeente, sum(k.inhabitants) AS kernen FROM gemeente g"
        " JOIN kern k ON k.gemeente_code = g.code GROUP BY g.code, g.inhabitants")).all()
    assert len(rows) == 342
    off = [(r.code, r.gemeente, r.kernen) for r in rows
           if abs(r.kernen - r.gemeente) > max(0.12 * r.gemeente, 5000)]
    assert off == []
    share_within_5pct = sum(abs(r.kernen - r.gemeente) <= 0.05 * r.gemeente for r in rows)
    assert share_within_5pct / len(rows) > 0.85
    totals = conn.execute(text(
        "SELECT (SELECT sum(inhabitants) FROM kern) AS k_all,"
        " (SELECT sum(inhabitants_65plus) FROM kern) AS k_65,"
        " (SELECT sum(inhabitants_75plus) FROM kern) AS k_75,"
        " (SELECT sum(inhabitants) FROM pc4) AS p_all,"
        " (SELECT sum(inhabitants_65plus) FROM pc4) AS p_65,"
        " (SELECT sum(inhabitants_75plus) FROM pc4) AS p_75,"
        " (SELECT sum(inhabitants) FROM gemeente) AS g_all")).one()
    assert (totals.k_all, totals.k_65, totals.k_75) == (totals.p_all, totals.p_65, totals.p_75)
    assert abs(totals.k_all - totals.g_all) / totals.g_all < 0.03


# --- idempotency and transactions ----------------------------------------------------------

def test_second_load_changes_nothing(conn: Connection) -> None:
    before = snapshot(conn)
    messages: list[str] = []
    report = load_geography(conn, GEODATA, echo=messages.append)
    assert report.unchanged and report.rows_changed == 0
    assert messages == ["geography unchanged, nothing to do"]
    assert snapshot(conn) == before


def test_forced_reload_of_the_same_data_rewrites_no_row(conn: Connection) -> None:
    before = snapshot(conn)
    report = load_geography(conn, GEODATA, force=True)
    assert not report.unchanged and report.rows_changed == 0
    after = snapshot(conn)
    for table in ("provincie", "gemeente", "pc4", "kern"):
        assert after[table] == before[table], table
    assert [s.name for s in report.steps][0] == "read and check files"


def _copy_geodata(tmp_path: Path) -> Path:
    target = tmp_path / "geodata"
    shutil.copytree(GEODATA, target)
    for f in target.iterdir():
        f.chmod(0o644)
    return target


def _edit_features(path: Path, edit) -> None:  # noqa: ANN001
    data = json.loads(path.read_text())
    edit(data["features"])
    path.write_text(json.dumps(data))


def _corrupt(directory: Path, kind: str) -> None:
    if kind == "missing code":
        _edit_features(directory / "gemeenten_2024.geojson",
                       lambda fs: fs[7]["properties"].pop("gemeentecode"))
    elif kind == "bad geometry":
        _edit_features(directory / "pc4_2020.geojson",
                       lambda fs: fs[12]["geometry"].update(coordinates=[[["x", 1]]]))
    elif kind == "invalid json":
        path = directory / "provincies_2022.geojson"
        path.write_text(path.read_text()[:5000])
    elif kind == "unknown gemeente":
        _edit_features(directory / "woonplaatsen_pc4.geojson",
                       lambda fs: fs[3]["properties"].update(gemeentecode="GM9999"))
    elif kind == "bad count":
        path = directory / "pc4_population_2021.csv"
        lines = path.read_text().splitlines()
        lines[5] = lines[5].split(",")[0] + ",veel,1,1"
        path.write_text("\n".join(lines) + "\n")
    elif kind == "missing file":
        (directory / "geonames_places_nl.geojson").unlink()


@pytest.mark.parametrize(("kind", "expected"), [
    ("missing code", "gemeenten_2024.geojson: feature 7 (Kampen): missing 'gemeentecode'"),
    ("bad geometry", "pc4_2020.geojson: feature 12 (1024): unparseable geometry"),
    ("invalid json", "provincies_2022.geojson: invalid JSON at line 1"),
    ("unknown gemeente", "woonplaatsen_pc4.geojson: feature 3 (Ter Aard): gemeentecode 'GM9999'"),
    ("bad count", "pc4_population_2021.csv: line 6 (pc4 1015): 'inwoners' is 'veel'"),
    ("missing file", "geonames_places_nl.geojson: file not found"),
])
def test_malformed_input_names_file_and_feature(conn: Connection, tmp_path: Path, kind: str,
                                                expected: str) -> None:
    directory = _copy_geodata(tmp_path)
    _corrupt(directory, kind)
    before = snapshot(conn)
    with pytest.raises(GeodataError) as failure:
        load_geography(conn, directory)
    assert expected in str(failure.value)
    assert snapshot(conn) == before


def _without_meers(tmp_path: Path) -> Path:
    directory = _copy_geodata(tmp_path)
    _edit_features(directory / "geonames_places_nl.geojson",
                   lambda fs: fs.__setitem__(slice(None), [
                       f for f in fs if f["properties"]["naam"] != "Meers"]))
    return directory


def test_failed_load_leaves_the_previous_data(conn: Connection, tmp_path: Path) -> None:
    """A kern that vanishes while a service area refers to it stops the load after the merge
    steps have run; the savepoint takes all of it back."""
    service = scalar(conn, "INSERT INTO service (name, kind) VALUES ('Dorpsdagvoorziening Meers',"
                           " 'dorpsdagvoorziening') RETURNING id")
    conn.execute(text("INSERT INTO service_area (service_id, kern_code)"
                      " VALUES (:s, 'GM0971-meers')"), {"s": service})
    before = snapshot(conn)
    with pytest.raises(GeodataError, match=r"GM0971-meers \(\d+ service areas"):
        load_geography(conn, _without_meers(tmp_path))
    assert snapshot(conn) == before
    assert scalar(conn, "SELECT count(*) FROM kern WHERE code = 'GM0971-meers'") == 1


def test_reload_moves_locations_to_the_new_kernen(conn: Connection, tmp_path: Path) -> None:
    """Locations are derived data and follow the new areas (the seed's service areas on Meers
    are removed first, or the load would stop as in the test above)."""
    conn.execute(text("DELETE FROM service_area WHERE kern_code = 'GM0971-meers'"))
    location = scalar(conn, "INSERT INTO location (name, precision, geom, kern_code, pc4)"
                            f" VALUES ('Meers', 'kern', {rd(5.74167, 50.96167)},"
                            " 'GM0971-meers', NULL) RETURNING id")
    report = load_geography(conn, _without_meers(tmp_path))
    assert report.changes["kern"]["deleted"] == 1
    assert report.changes["location"]["updated"] >= 1
    assert scalar(conn, "SELECT count(*) FROM location WHERE kern_code = 'GM0971-meers'") == 0
    row = conn.execute(text("SELECT kern_code, pc4 FROM location WHERE id = :id"),
                       {"id": location}).one()
    assert row.kern_code.startswith("GM0971-") and row.kern_code != "GM0971-meers"
    assert row.pc4 == "6181"
    assert tiling_errors(conn) == []


# --- the command ---------------------------------------------------------------------------

def test_cli_load_unchanged(runner) -> None:  # noqa: ANN001
    result = runner.invoke(args=["geo", "load"])
    assert result.exit_code == 0, result.output
    assert "geography unchanged, nothing to do" in result.output


def test_cli_malformed_input_is_a_clean_error(runner, tmp_path: Path) -> None:  # noqa: ANN001
    directory = _copy_geodata(tmp_path)
    _corrupt(directory, "missing code")
    result = runner.invoke(args=["geo", "load", str(directory)])
    assert result.exit_code == 1
    expected = "Error: gemeenten_2024.geojson: feature 7 (Kampen): missing 'gemeentecode'"
    assert expected in result.output
    assert "Traceback" not in result.output
    missing = runner.invoke(args=["geo", "load", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "no such directory" in missing.output


def test_cli_offers_download_when_no_geodata(conn: Connection, tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql+psycopg://unused@/unused", testing=True,
                        secret_key="x", geodata_dir=tmp_path / "absent", var_dir=tmp_path)
    runner = create_app(settings, bind=conn).test_cli_runner()
    result = runner.invoke(args=["geo", "load"], input="n\n")
    assert result.exit_code == 1 and "Aborted" in result.output
    assert f"No geodata directory at {tmp_path / 'absent'}" in result.output
    for source in SOURCES:
        assert source.url in result.output
    assert not (tmp_path / "geodata").exists()


# --- download from a local HTTP server -----------------------------------------------------

def _square(x0: float, y0: float, x1: float, y1: float) -> dict:
    return {"type": "Polygon",
            "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def _collection(features: list[tuple[dict, dict]]) -> str:
    return json.dumps({"type": "FeatureCollection", "links": [], "features": [
        {"type": "Feature", "properties": p, "geometry": g} for p, g in features]})


def _zip(member: str, rows: list[list[object]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(member, "\n".join("\t".join(map(str, r)) for r in rows) + "\n")
    return buffer.getvalue()


def _geonames_row(geonameid: int, name: str, lat: float, lon: float, fclass: str = "P",
                  country: str = "NL", population: int = 600) -> list[object]:
    return [geonameid, name, name, "", lat, lon, fclass, "PPL", country, "", "09", "0999", "",
            "", population, "", 5, "Europe/Amsterdam", "2023-01-01"]


def write_fixture_sources(directory: Path) -> None:
    """Tiny stand-ins for the PDOK and GeoNames downloads: three gemeenten in a row (the second
    in a land and a water part, the third without any place), one with two coincident places."""
    directory.mkdir()
    (directory / "provincies.json").write_text(_collection([
        ({"statcode": "PV26", "statnaam": "Utrecht", "jaarcode": 2022},
         _square(4.9, 51.9, 5.4, 52.2)),
        ({"statcode": "PV26", "statnaam": "Utrecht", "jaarcode": 2021},
         _square(4.9, 51.9, 5.0, 52.0)),
    ]))
    (directory / "gemeenten.json").write_text(_collection([
        ({"gemeentecode": "GM9001", "gemeentenaam": "Oosterdorp", "water": "NEE",
          "aantal_inwoners": 3100, "percentage_personen_65_jaar_en_ouder": 20},
         _square(5.0, 52.0, 5.1, 52.1)),
        ({"gemeentecode": "GM9002", "gemeentenaam": "Westerdorp", "water": "NEE",
          "aantal_inwoners": 900, "percentage_personen_65_jaar_en_ouder": -99997},
         _square(5.1, 52.0, 5.2, 52.05)),
        ({"gemeentecode": "GM9002", "gemeentenaam": "Westerdorp", "water": "JA"},
         _square(5.1, 52.05, 5.2, 52.1)),
        ({"gemeentecode": "GM9003", "gemeentenaam": "Leeg Land", "water": "NEE",
          "aantal_inwoners": 10, "percentage_personen_65_jaar_en_ouder": 30},
         _square(5.2, 52.0, 5.3, 52.1)),
    ]))
    (directory / "postcode4.json").write_text(_collection([
        ({"postcode": "9001", "aantal_inwoners": 1000, "aantal_inwoners_65_jaar_en_ouder": 200},
         _square(5.0, 52.0, 5.05, 52.1)),
        ({"postcode": "9002", "aantal_inwoners": 2001, "aantal_inwoners_65_jaar_en_ouder": 401},
         _square(5.05, 52.0, 5.15, 52.1)),
        ({"postcode": "9003", "aantal_inwoners": 500, "aantal_inwoners_65_jaar_en_ouder": -99997},
         _square(5.15, 52.0, 5.3, 52.1)),
    ]))
    (directory / "NL.zip").write_bytes(_zip("NL.txt", [
        ["NL", "9001", "Oosterdorp", "Utrecht", "09", "", "", "", "", 52.05, 5.02, 6],
        ["NL", "9002", "Oosterdorp", "Utrecht", "09", "", "", "", "", 52.05, 5.08, 6],
        ["NL", "9002", "Westerdorp", "Utrecht", "09", "", "", "", "", 52.03, 5.12, 6],
        ["NL", "9003", "Westerdorp", "Utrecht", "09", "", "", "", "", 52.03, 5.17, 6],
    ]))
    (directory / "cities500.zip").write_bytes(_zip("cities500.txt", [
        _geonames_row(1, "Buurtje", 52.09, 5.01),
        _geonames_row(2, "Tweeling", 52.09, 5.01, population=550),
        _geonames_row(3, "Oosterdorp", 52.051, 5.021, population=3000),
        _geonames_row(4, "Gent", 51.05, 3.72, country="BE"),
        _geonames_row(5, "Hoge Heide", 52.02, 5.04, fclass="T"),
    ]))


@pytest.fixture
def fixture_server(tmp_path: Path) -> Iterator[str]:
    """A local HTTP server on 127.0.0.1 serving the fixture sources; yields its base URL."""
    root = tmp_path / "served"
    write_fixture_sources(root)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_download_and_load_from_local_server(scratch_db: str, tmp_path: Path,
                                             fixture_server: str) -> None:
    engine = create_engine(scratch_db)
    with engine.connect() as conn:
        migrate.upgrade(conn)
        conn.commit()
    settings = Settings(database_url=scratch_db, testing=True, secret_key="x",
                        geodata_dir=tmp_path / "absent", var_dir=tmp_path / "var")
    app = create_app(settings)
    result = app.test_cli_runner().invoke(
        args=["geo", "load", "--yes", "--base-url", fixture_server])
    assert result.exit_code == 0, result.output
    assert f"{fixture_server}cities500.zip" in result.output
    assert "geography loaded" in result.output
    downloaded = tmp_path / "var" / "geodata"
    gemeenten = json.loads((downloaded / "gemeenten_2024.geojson").read_text())["features"]
    assert [g["properties"]["provinciecode"] for g in gemeenten] == ["PV26"] * 3
    assert "9003,500,,\n" in (downloaded / "pc4_population_2021.csv").read_text()

    with engine.connect() as conn:
        kernen = {r.code: r for r in conn.execute(text(
            "SELECT code, source, inhabitants, ST_Covers(area, point) AS own FROM kern"))}
        assert set(kernen) == {"GM9001-oosterdorp", "GM9001-buurtje", "GM9001-tweeling",
                               "GM9002-westerdorp", "GM9003-leeg-land"}
        assert kernen["GM9003-leeg-land"].source == "gemeente"
        assert kernen["GM9001-tweeling"].source == "geonames"
        assert all(k.own for k in kernen.values())
        assert tiling_errors(conn) == []
        assert sum(k.inhabitants for k in kernen.values()) == 1000 + 2001 + 500
        assert scalar(conn, "SELECT count(*) FROM gemeente") == 3
        assert scalar(conn, "SELECT ST_NumGeometries(area) FROM gemeente"
                            " WHERE code = 'GM9002'") == 1
        assert scalar(conn, "SELECT pct_65plus FROM gemeente WHERE code = 'GM9002'") is None
    engine.dispose()

    again = create_app(settings).test_cli_runner().invoke(args=["geo", "load"])
    assert again.exit_code == 0, again.output
    assert f"using the download in {downloaded}" in again.output
    assert "geography unchanged, nothing to do" in again.output
