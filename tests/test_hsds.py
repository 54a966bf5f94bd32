"""HSDS 3.0: export validates against the official schemas, round-trips, imports the official
examples, reports bad rows one by one, keeps private data out; the /hsds API and its paging."""
from __future__ import annotations

import io
import json
import uuid
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from frictionless import Package
from jsonschema import Draft202012Validator
from pyproj import Transformer
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.orm import Session

from socialmap import migrate
from socialmap.geodata import load_geography
from socialmap.hsds import export, mapping, tabular
from socialmap.hsds.export import collect
from socialmap.hsds.importer import import_path
from socialmap.hsds.spec import BY_NAME, TABLES
from socialmap.queries import hsds as q

from .conftest import GEODATA, HSDS

SCHEMA = HSDS / "schema"
EXAMPLES = HSDS / "examples"
TO_WGS84 = Transformer.from_crs(28992, 4326, always_xy=True)


@cache
def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA / name).read_text())


def _retrieve(uri: str) -> Resource:
    """The official schemas refer to each other by file name."""
    return Resource.from_contents(schema(uri.rsplit("/", 1)[-1]),
                                  default_specification=DRAFT202012)


def validate(instance: Any, name: str) -> None:
    """Validate against an official schema (Draft 2020-12, formats checked)."""
    validator = Draft202012Validator(schema(name), registry=Registry(retrieve=_retrieve),
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def export_json(conn: Connection, include_demo: bool) -> bytes:
    return b"".join(export.export_json(conn, include_demo))


def export_zip(conn: Connection, include_demo: bool) -> bytes:
    """The package as the download streams it (sizes after each file's data)."""
    return b"".join(export.export_zip(conn, include_demo))


# --- a small registry ---------------------------------------------------------------------

def _point(conn: Connection, kern: str, dx: float = 0, dy: float = 0) -> tuple[float, float]:
    row = conn.execute(text("SELECT ST_X(point), ST_Y(point) FROM kern WHERE code = :c"),
                       {"c": kern}).one()
    return float(row[0]) + dx, float(row[1]) + dy


def _term(conn: Connection, code: str) -> uuid.UUID:
    return conn.execute(text("SELECT id FROM taxonomy_term WHERE code = :c"),
                        {"c": code}).scalar_one()


PRIVATE_CONTACT = "Geheime Contactpersoon"
PRIVATE_PHONE = "06 99999999"
PRIVATE_ADDRESS = "Achterweg 13"


@pytest.fixture
def registry(conn: Connection) -> dict[str, Any]:
    """Two initiatives at Nes (Ameland), one at a volunteer's home, with contacts public and
    private, a schedule, a note, a kern served and categories."""
    org = conn.execute(text(
        "INSERT INTO organization (name, legal_form, website, email) VALUES "
        "('Stichting Dorpshuis Nes', 'stichting', 'https://dorpshuis-nes.example', "
        "'info@dorpshuis-nes.example') RETURNING id")).scalar_one()
    x, y = _point(conn, "GM0060-nes", 300, 0)
    loc = conn.execute(text(
        "INSERT INTO location (name, location_type, address, postal_code, city, pc4, kern_code, "
        "precision, geom) VALUES ('Dorpshuis De Pôlle', 'physical', 'Reeweg 10', '9163 GA', "
        "'Nes', '9163', 'GM0060-nes', 'address', ST_SetSRID(ST_MakePoint(:x, :y), 28992)) "
        "RETURNING id"), {"x": x, "y": y}).scalar_one()
    svc = conn.execute(text(
        "INSERT INTO service (organization_id, name, kind, description, url, accessibility, "
        "schedule_note, assured_date, assurer, source) VALUES (:o, 'Dorpshuis De Pôlle', "
        "'dorpshuis', 'Koffie en ontmoeting', 'https://dorpshuis-nes.example/pole', "
        "'Rolstoeltoegankelijk', 'In de zomer gesloten', '2026-01-15', "
        "'redactie@socialmap.example', 'test') RETURNING id"), {"o": org}).scalar_one()
    conn.execute(text("INSERT INTO service_at_location (service_id, location_id) "
                      "VALUES (:s, :l)"), {"s": svc, "l": loc})
    for code in ("inloop", "iedereen"):
        conn.execute(text("INSERT INTO attribute (service_id, taxonomy_term_id) VALUES (:s, :t)"),
                     {"s": svc, "t": _term(conn, code)})
    conn.execute(text("INSERT INTO schedule (service_id, weekday, opens_at, closes_at) "
                      "VALUES (:s, 3, '09:00', '12:00'), (:s, 5, '13:30', '17:00')"), {"s": svc})
    conn.execute(text("INSERT INTO service_area (service_id, kern_code) "
                      "VALUES (:s, 'GM0060-nes')"), {"s": svc})
    public = conn.execute(text("INSERT INTO contact (service_id, name, title, email) VALUES "
                               "(:s, 'Anna de Vries', 'Beheerder', 'anna@dorpshuis-nes.example')"
                               " RETURNING id"), {"s": svc}).scalar_one()
    conn.execute(text("INSERT INTO phone (contact_id, number) VALUES (:c, '0519 123456')"),
                 {"c": public})
    secret = conn.execute(text("INSERT INTO contact (service_id, name, is_private) VALUES "
                               "(:s, :n, true) RETURNING id"),
                          {"s": svc, "n": PRIVATE_CONTACT}).scalar_one()
    conn.execute(text("INSERT INTO phone (contact_id, number, is_private) VALUES (:c, :p, false)"),
                 {"c": secret, "p": PRIVATE_PHONE + "0"})
    conn.execute(text("INSERT INTO phone (service_id, number, is_private) VALUES (:s, :p, true)"),
                 {"s": svc, "p": PRIVATE_PHONE})
    conn.execute(text("INSERT INTO phone (service_id, number) VALUES (:s, '0519 654321')"),
                 {"s": svc})

    hx, hy = _point(conn, "GM0060-nes", 250, 150)
    home = conn.execute(text(
        "INSERT INTO location (name, location_type, address, postal_code, city, pc4, kern_code, "
        "precision, geom) SELECT 'Bij Jan thuis', 'private', :a, '9163 HH', 'Nes', '9163', "
        "(SELECT code FROM kern WHERE ST_Covers(area, g)), 'address', g FROM (SELECT "
        "ST_SetSRID(ST_MakePoint(:x, :y), 28992) AS g) p RETURNING id"),
        {"a": PRIVATE_ADDRESS, "x": hx, "y": hy}).scalar_one()
    assert conn.execute(text("SELECT kern_code FROM location WHERE id = :id"),
                        {"id": home}).scalar_one() == "GM0060-nes"
    help_ = conn.execute(text(
        "INSERT INTO service (name, kind, description) VALUES ('Burenhulp Nes', 'burenhulp', "
        "'Hulp van dorpsgenoten') RETURNING id")).scalar_one()
    conn.execute(text("INSERT INTO service_at_location (service_id, location_id) "
                      "VALUES (:s, :l)"), {"s": help_, "l": home})
    conn.execute(text("INSERT INTO attribute (service_id, taxonomy_term_id, value) "
                      "VALUES (:s, :t, 'op afspraak')"),
                 {"s": help_, "t": _term(conn, "burenhulp")})
    return {"org": org, "service": svc, "location": loc, "home": home, "home_xy": (hx, hy),
            "help": help_}


def without_ours(conn: Connection) -> None:
    """Remove every registry row but the demo set (which the exports here leave out)."""
    conn.execute(text("DELETE FROM hsds_record"))
    for table in ("service", "location", "organization"):
        conn.execute(text(f"DELETE FROM {table} WHERE NOT is_demo"))


def session(conn: Connection) -> Session:
    return Session(bind=conn, join_transaction_mode="create_savepoint")


# --- export ---------------------------------------------------------------------------------

def test_spec_matches_the_official_datapackage() -> None:
    official = json.loads((HSDS / "datapackage.json").read_text())
    assert [r["name"] for r in official["resources"]] == [t.name for t in TABLES]
    for resource in official["resources"]:
        table = BY_NAME[resource["name"]]
        assert table.path == resource["path"]
        fields = resource["schema"]["fields"]
        assert [f["name"] for f in fields] == list(table.names)
        for f in fields:
            ours = table.field(f["name"])
            assert ours is not None
            constraints = f.get("constraints", {})
            assert (ours.type, ours.required, ours.format, ours.unique) == (
                f["type"], constraints.get("required", False), f.get("format"),
                constraints.get("unique", False)), (table.name, f["name"])
            assert ours.enum == (tuple(constraints["enum"]) if "enum" in constraints else None)
        refs = {fk["fields"]: fk["reference"]["resource"]
                for fk in resource["schema"].get("foreignKeys", [])}
        assert refs == table.references


def test_json_export_validates_against_the_official_schema(conn, registry) -> None:
    doc = json.loads(export_json(conn, include_demo=False))
    assert set(doc) <= set(schema("compiled/tabular.json")["properties"])
    validate(doc, "compiled/tabular.json")
    assert {s["name"] for s in doc["service"]} >= {"Dorpshuis De Pôlle", "Burenhulp Nes"}


def _unzip(data: bytes, into: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        zf.extractall(into)


def test_package_validates_with_frictionless(conn, registry, tmp_path) -> None:
    _unzip(export_zip(conn, include_demo=False), tmp_path)
    own = Package(str(tmp_path / "datapackage.json"))
    report = own.validate()
    assert report.valid, report.flatten(["title", "message"])[:10]
    # The official descriptor over our files: the same tables, fields and keys.
    official = json.loads((HSDS / "datapackage.json").read_text())
    official["resources"] = [r for r in official["resources"] if r["name"] != "metadata"]
    report = Package(official, basepath=str(tmp_path)).validate()
    assert report.valid, report.flatten(["title", "message"])[:10]


def test_exports_hold_no_private_data(conn, registry) -> None:
    blobs = [export_json(conn, False)]
    with zipfile.ZipFile(io.BytesIO(export_zip(conn, False))) as zf:
        blobs += [zf.read(n) for n in zf.namelist()]
    everything = b"".join(blobs).decode()
    for secret in (PRIVATE_CONTACT, PRIVATE_PHONE, PRIVATE_ADDRESS, "9163 HH"):
        assert secret not in everything
    doc = json.loads(export_json(conn, False))
    home = next(loc for loc in doc["location"] if loc["id"] == str(registry["home"]))
    kx, ky = _point(conn, "GM0060-nes")
    klon, klat = TO_WGS84.transform(kx, ky)
    assert (home["latitude"], home["longitude"]) == (round(klat, 7), round(klon, 7))
    to_rd = Transformer.from_crs(4326, 28992, always_xy=True)
    hx, hy = registry["home_xy"]
    for loc in doc["location"]:
        x, y = to_rd.transform(loc["longitude"], loc["latitude"])
        assert ((x - hx) ** 2 + (y - hy) ** 2) ** 0.5 > 100
    assert not [a for a in doc["address"] if a.get("location_id") == str(registry["home"])]
    private = [a for a in doc["attribute"] if a["link_id"] == str(registry["home"])
               and a["taxonomy_term_id"] == mapping.FEATURE["prive"].id]
    assert len(private) == 1


# --- import ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "zip"])
def test_round_trip_gives_identical_files(conn, registry, tmp_path, fmt) -> None:
    export = export_json if fmt == "json" else export_zip
    first = export(conn, False)
    path = tmp_path / f"export.{fmt}"
    path.write_bytes(first)
    without_ours(conn)
    report = import_path(session(conn), path, "test")
    assert report.rejected == [], report.rejected
    assert report.count("created") > 0
    second = export(conn, False)
    if fmt == "json":
        assert json.loads(second) == json.loads(first)
    assert second == first


def test_round_trip_through_an_empty_registry(conn, registry, scratch_db, tmp_path) -> None:
    """Export, import into a new database with only the geography, export again: the same
    bytes, for JSON and for the package."""
    files = {"json": export_json(conn, False), "zip": export_zip(conn, False)}
    engine = create_engine(scratch_db)
    try:
        with engine.connect() as other:
            migrate.upgrade(other)
            other.commit()
        with engine.begin() as other:
            load_geography(other, GEODATA)
        for fmt, first in files.items():
            path = tmp_path / f"export.{fmt}"
            path.write_bytes(first)
            with engine.connect() as other:
                trans = other.begin()
                report = import_path(session(other), path, "test")
                assert report.rejected == [], report.rejected
                again = export_json(other, False) if fmt == "json" else export_zip(other, False)
                trans.rollback()
            assert again == first, fmt
    finally:
        engine.dispose()


def test_importing_an_export_into_its_own_registry_changes_nothing(conn, registry,
                                                                    tmp_path) -> None:
    """Not even what HSDS cannot carry (a place without street address, no organization)."""
    path = tmp_path / "export.json"
    path.write_bytes(export_json(conn, False))
    for _ in range(2):
        report = import_path(session(conn), path, "test")
        assert report.count("created") == report.count("updated") == 0, report.counts
        assert report.rejected == [] and report.warnings == []
    assert conn.execute(text("SELECT organization_id FROM service WHERE id = :id"),
                        {"id": registry["help"]}).scalar_one() is None


def test_reimport_keeps_the_exact_point_of_a_private_location(conn, registry, tmp_path) -> None:
    path = tmp_path / "export.json"
    path.write_bytes(export_json(conn, False))
    import_path(session(conn), path, "test")
    row = conn.execute(text("SELECT address, precision, ST_X(geom) x, ST_Y(geom) y "
                            "FROM location WHERE id = :id"), {"id": registry["home"]}).one()
    assert row.address == PRIVATE_ADDRESS and row.precision == "address"
    assert (round(row.x, 2), round(row.y, 2)) == tuple(round(v, 2) for v in registry["home_xy"])


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.json")) + ["csv"])
def test_official_examples_import_without_error(conn, name) -> None:
    report = import_path(session(conn), EXAMPLES / name, "test")
    assert report.rejected == [], report.rejected


def test_examples_land_in_our_tables_and_export_valid(conn) -> None:
    report = import_path(session(conn), EXAMPLES / "csv", "test")
    assert report.rejected == []
    svc = conn.execute(text("SELECT name, kind, status FROM service WHERE id = "
                            "'ac148810-d857-441c-9679-408f346de14b'")).one()
    assert (svc.name, svc.kind, svc.status) == ("Community Counselling", "overig", "active")
    # Latitude 100 is no place on earth: the location is kept, but not on the map.
    assert any("latitude" in w for w in report.warnings)
    doc = json.loads(export_json(conn, False))
    validate(doc, "compiled/tabular.json")
    ids = {r["id"] for r in doc["cost_option"]}
    assert "1fdf4d39-3d80-484d-9f92-a8ffa08621e7" in ids


def test_bad_rows_are_reported_and_the_rest_is_kept(conn, tmp_path) -> None:
    good, bad_status, no_org = (str(uuid.uuid4()) for _ in range(3))
    org = str(uuid.uuid4())
    doc = {
        "organization": [{"id": org, "name": "Stichting Goed", "description": "Goed"}],
        "service": [
            {"id": good, "organization_id": org, "name": "Goede dienst", "status": "active"},
            {"id": bad_status, "organization_id": org, "name": "Kapot", "status": "open"},
            {"id": no_org, "name": "Zonder naam van organisatie", "status": "active",
             "organization_id": str(uuid.uuid4())},
            {"id": "not-a-uuid", "name": "X", "status": "active"},
        ],
        "service_at_location": [{"id": str(uuid.uuid4()), "service_id": bad_status,
                                 "location_id": str(uuid.uuid4())}],
    }
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    report = import_path(session(conn), path, "test")
    where = {r.where: r.reasons for r in report.rejected}
    assert set(where) == {"service[1]", "service[3]", "service_at_location[0]"}
    assert "status" in where["service[1]"][0]
    assert "id" in where["service[3]"][0]
    names = set(conn.execute(text("SELECT name FROM service WHERE id IN (:a, :b, :c)"),
                             {"a": good, "b": bad_status, "c": no_org}).scalars())
    assert names == {"Goede dienst", "Zonder naam van organisatie"}
    assert any("organization_id" in w for w in report.warnings)


def test_import_writes_the_change_log_as_hsds_import(conn, tmp_path) -> None:
    report = import_path(session(conn), EXAMPLES / "service_full.json", "tester@gemeente")
    assert report.rejected == []
    rows = conn.execute(text("SELECT DISTINCT changed_by, source FROM change WHERE entity_id = "
                             "'ac148810-d857-441c-9679-408f346de14b'")).all()
    assert [tuple(r) for r in rows] == [("tester@gemeente", "hsds-import")]


def test_nested_json_is_flattened_with_parent_links() -> None:
    doc = json.loads((EXAMPLES / "service_full.json").read_text())
    source = tabular.read_json(json.dumps(doc).encode())
    phones = [r for r in source.rows if r.table == "phone"]
    assert {p.data.get("contact_id") for p in phones} >= {"1e7efce3-639b-4880-940c-b95cd30cdb50"}
    assert any(p.data.get("service_id") == doc["id"] for p in phones)
    terms = [r for r in source.rows if r.table == "taxonomy_term"]
    assert terms[0].data["taxonomy_id"] == "5c4d79d7-cc55-470e-9f1f-8cad074e4892"


def test_collect_for_some_services_only(conn, registry) -> None:
    tables = collect(conn, q.Scope([registry["help"]], False))
    assert [s["id"] for s in tables["service"]] == [str(registry["help"])]
    assert [loc["id"] for loc in tables["location"]] == [str(registry["home"])]


# --- the /hsds API --------------------------------------------------------------------------

def get(client, path: str, status: int = 200, **params: Any) -> Any:
    resp = client.get(path, query_string=params)
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    return resp.get_json()


def test_root_names_version_profile_and_openapi(client) -> None:
    body = get(client, "/hsds/")
    assert body["version"] == "3.0"
    for key in ("profile", "openapi_url"):
        assert body[key].startswith("http://localhost/hsds/")
        assert client.get(body[key].removeprefix("http://localhost")).status_code == 200
    doc = get(client, "/hsds/openapi.json")
    assert doc["openapi"].startswith("3.1") and "/service_at_locations" in doc["paths"]
    params = doc["components"]["parameters"]
    assert {"postcode", "proximity", "kern", "lat", "lon", "radius", "open_now"} <= set(params)


@pytest.fixture
def three(conn: Connection, registry: dict[str, Any]) -> list[str]:
    """Three services of the fixture's organization, by name."""
    for name in ("Zomerkamp Nes", "Avondklas Nes"):
        conn.execute(text("INSERT INTO service (organization_id, name, kind) "
                          "VALUES (:o, :n, 'overig')"), {"o": registry["org"], "n": name})
    return ["Avondklas Nes", "Dorpshuis De Pôlle", "Zomerkamp Nes"]


def test_page_envelope(client, registry, three) -> None:
    org = str(registry["org"])
    first = get(client, "/hsds/services", organization_id=org, per_page=2)
    assert {k: v for k, v in first.items() if k != "contents"} == {
        "total_items": 3, "total_pages": 2, "page_number": 1, "size": 2, "first_page": True,
        "last_page": False, "empty": False}
    second = get(client, "/hsds/services", organization_id=org, per_page=2, page=2)
    assert (second["size"], second["first_page"], second["last_page"]) == (1, False, True)
    assert [s["name"] for s in first["contents"] + second["contents"]] == three
    beyond = get(client, "/hsds/services", organization_id=org, per_page=2, page=3)
    assert (beyond["size"], beyond["empty"], beyond["contents"]) == (0, True, [])
    none = get(client, "/hsds/services", organization_id=str(uuid.uuid4()))
    assert (none["total_items"], none["total_pages"], none["empty"]) == (0, 0, True)
    for item in first["contents"]:
        validate(item, "compiled/service_list.json")


def test_service_fully_nested_validates(client, registry) -> None:
    body = get(client, f"/hsds/services/{registry['service']}")
    validate(body, "compiled/service.json")
    assert body["organization"]["name"] == "Stichting Dorpshuis Nes"
    [sal] = body["service_at_locations"]
    assert sal["location"]["addresses"][0]["postal_code"] == "9163 GA"
    assert {s["byday"] for s in body["schedules"] if "byday" in s} == {"WE", "FR"}
    assert [c["name"] for c in body["contacts"]] == ["Anna de Vries"]
    codes = {a["taxonomy_term"]["code"] for a in body["attributes"]}
    assert {"inloop", "iedereen", "soort/dorpshuis", "kenmerk/toegankelijkheid"} <= codes
    full = get(client, "/hsds/services", organization_id=str(registry["org"]), full="true")
    validate(full["contents"][0], "compiled/service.json")
    minimal = get(client, "/hsds/services", organization_id=str(registry["org"]),
                  minimal="true")
    assert set(minimal["contents"][0]) == {"id", "last_modified"}


def test_service_at_locations_by_postcode_and_proximity(client, registry) -> None:
    body = get(client, "/hsds/service_at_locations", postcode="9163", proximity=3000,
               per_page=1000)
    ours = {c["service_id"]: c for c in body["contents"]}
    assert {str(registry["service"]), str(registry["help"])} <= set(ours)
    distances = [c["distance"] for c in body["contents"]]
    assert distances == sorted(distances) and max(distances) <= 3000
    for item in body["contents"][:20]:
        validate(item, "compiled/service_at_location_list.json")
    home = ours[str(registry["help"])]["location"]
    assert "addresses" not in home and home["location_type"] == "physical"
    kern_only = get(client, "/hsds/service_at_locations", postcode="9163 GA", per_page=1000)
    assert str(registry["service"]) in {c["service_id"] for c in kern_only["contents"]}
    one = get(client, f"/hsds/service_at_locations/{ours[str(registry['service'])]['id']}")
    validate(one, "compiled/service_at_location.json")


def test_profile_extensions_kern_radius_open_now(client, registry, conn) -> None:
    x, y = _point(conn, "GM0060-nes", 300, 0)
    lon, lat = TO_WGS84.transform(x, y)
    near = get(client, "/hsds/services", lat=f"{lat:.6f}", lon=f"{lon:.6f}", radius=50,
               per_page=1000)
    assert str(registry["service"]) in {s["id"] for s in near["contents"]}
    assert str(registry["help"]) not in {s["id"] for s in near["contents"]}
    # A private location is found at its kern point only, never by its own.
    hx, hy = registry["home_xy"]
    hlon, hlat = TO_WGS84.transform(hx, hy)
    home = get(client, "/hsds/services", lat=f"{hlat:.6f}", lon=f"{hlon:.6f}", radius=100,
               per_page=1000)
    assert str(registry["help"]) not in {s["id"] for s in home["contents"]}
    klon, klat = TO_WGS84.transform(*_point(conn, "GM0060-nes"))
    centre = get(client, "/hsds/services", lat=f"{klat:.6f}", lon=f"{klon:.6f}", radius=10,
                 per_page=1000)
    assert str(registry["help"]) in {s["id"] for s in centre["contents"]}
    kern = get(client, "/hsds/services", kern="GM0060-nes", per_page=1000)
    assert {str(registry["service"]), str(registry["help"])} <= {s["id"] for s in kern["contents"]}
    opened = get(client, "/hsds/services", organization_id=str(registry["org"]),
                 open_now="true")
    assert opened["total_items"] in (0, 1)


def test_ndjson_streams_everything(client, registry, three) -> None:
    org = str(registry["org"])
    resp = client.get("/hsds/services", query_string={"organization_id": org,
                                                      "format": "ndjson", "full": "true"})
    assert resp.status_code == 200 and resp.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in resp.get_data(as_text=True).splitlines()]
    assert sorted(s["name"] for s in lines) == three
    for line in lines:
        validate(line, "compiled/service.json")
    sal = client.get("/hsds/service_at_locations", query_string={"format": "ndjson",
                                                                 "kern": "GM0060-nes"})
    rows = [json.loads(line) for line in sal.get_data(as_text=True).splitlines()]
    paged = get(client, "/hsds/service_at_locations", kern="GM0060-nes")
    assert len(rows) == paged["total_items"]


def test_organizations_and_taxonomies(client, registry) -> None:
    orgs = get(client, "/hsds/organizations", search="Dorpshuis Nes")
    assert [o["name"] for o in orgs["contents"]] == ["Stichting Dorpshuis Nes"]
    validate(orgs["contents"][0], "compiled/organization_list.json")
    org = get(client, f"/hsds/organizations/{registry['org']}", full_service="true")
    validate(org, "compiled/organization.json")
    assert [s["name"] for s in org["services"]] == ["Dorpshuis De Pôlle"]
    # A service without organization stands in for its own, as in the exports.
    svc = get(client, f"/hsds/services/{registry['help']}")
    standin = get(client, f"/hsds/organizations/{svc['organization_id']}")
    assert standin["name"] == "Burenhulp Nes"
    taxonomies = get(client, "/hsds/taxonomies")
    names = {t["name"] for t in taxonomies["contents"]}
    assert {"socialmap categorie", "socialmap doelgroep", "socialmap soort"} <= names
    category = next(t["id"] for t in taxonomies["contents"] if t["name"] == "socialmap categorie")
    top = get(client, "/hsds/taxonomy_terms", taxonomy_id=category, top_only="true",
              per_page=100)
    assert "ontmoeting" in {t["code"] for t in top["contents"]}
    assert all("parent_id" not in t for t in top["contents"])
    validate(top["contents"][0], "taxonomy_term.json")
    one = get(client, f"/hsds/taxonomy_terms/{top['contents'][0]['id']}")
    assert one["taxonomy_detail"]["id"] == category


@pytest.mark.parametrize(("params", "field"), [
    ({"colour": "red"}, "colour"),
    ({"per_page": "0"}, "per_page"),
    ({"per_page": "5000"}, "per_page"),
    ({"page": "x"}, "page"),
    ({"format": "csv"}, "format"),
    ({"format": "ndjson", "page": "2"}, "page"),
    ({"proximity": "100"}, "proximity"),
    ({"lat": "53.4"}, "lon"),
    ({"radius": "100"}, "radius"),
    ({"postcode": "Nes"}, "postcode"),
    ({"taxonomy_term_id": "abc"}, "taxonomy_term_id"),
    ({"modified_after": "gisteren"}, "modified_after"),
    ({"minimal": "true", "full": "true"}, "minimal"),
    ({"gemeente": "Ameland"}, "gemeente"),
    ({"search": "!!"}, "search"),
])
def test_strict_parameters(client, params, field) -> None:
    body = get(client, "/hsds/services", 400, **params)
    assert body["error"]["field"] == field


def test_not_found_and_bad_ids(client) -> None:
    assert get(client, f"/hsds/services/{uuid.uuid4()}", 404)["error"]["field"] == "id"
    assert get(client, "/hsds/services/nope", 400)["error"]["field"] == "id"
    assert get(client, "/hsds/services", 404, kern="GM0000-nergens")["error"]["field"] == "kern"


def test_no_private_data_in_any_answer(client, registry) -> None:
    sal = get(client, "/hsds/service_at_locations", kern="GM0060-nes", per_page=1000)
    paths = [f"/hsds/services/{registry['service']}", f"/hsds/services/{registry['help']}",
             f"/hsds/organizations/{registry['org']}?full_service=true",
             "/hsds/services?kern=GM0060-nes&full=true&per_page=1000",
             "/hsds/service_at_locations?kern=GM0060-nes&full=true&per_page=1000",
             "/hsds/service_at_locations?format=ndjson&full=true&kern=GM0060-nes",
             *(f"/hsds/service_at_locations/{c['id']}" for c in sal["contents"]
               if c["service_id"] in (str(registry["service"]), str(registry["help"])))]
    for path in paths:
        text_ = client.get(path).get_data(as_text=True)
        for secret in (PRIVATE_CONTACT, PRIVATE_PHONE, PRIVATE_ADDRESS, "9163 HH"):
            assert secret not in text_, path


def test_profile_deltas_match_the_docs(client) -> None:
    docs = Path(__file__).resolve().parent.parent / "docs" / "hsds-profile-nl" / "schema"
    profile_ = get(client, "/hsds/profile")
    assert set(profile_["schema_deltas"]) == {p.stem for p in docs.glob("*.json")}
    for name in profile_["schema_deltas"]:
        served = get(client, f"/hsds/profile/schema/{name}.json")
        assert served == json.loads((docs / f"{name}.json").read_text()), name


def test_cli_export_and_import(runner, registry, tmp_path) -> None:
    for fmt in ("json", "zip"):
        path = tmp_path / f"hsds.{fmt}"
        result = runner.invoke(args=["hsds", "export", str(path)])
        assert result.exit_code == 0, result.output
        assert path.stat().st_size > 0
    result = runner.invoke(args=["hsds", "import", str(EXAMPLES / "csv")])
    assert result.exit_code == 0, result.output
    assert "0 rejected" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"service": [{"id": str(uuid.uuid4()), "name": "X",
                                            "status": "maybe"}]}))
    result = runner.invoke(args=["hsds", "import", str(bad)])
    assert result.exit_code == 1 and "status" in result.output
    result = runner.invoke(args=["hsds", "export", str(tmp_path / "x.txt")])
    assert result.exit_code != 0


# --- the pure parts, without a database -----------------------------------------------------

def test_weekly_slots_only_for_plain_weekly_hours() -> None:
    plain = {"freq": "WEEKLY", "byday": "MO,WE", "opens_at": "09:00", "closes_at": "12:30:00"}
    assert [s[0] for s in mapping.weekly_slots(plain)] == [1, 3]
    for extra in ({"interval": 2}, {"byweekno": "41"}, {"count": 3}, {"freq": "MONTHLY"},
                  {"byday": "1MO"}, {"closes_at": "08:00"}, {"opens_at": "09:00Z"}):
        assert mapping.weekly_slots({**plain, **extra}) is None, extra


def test_location_without_valid_point_is_kept_not_placed() -> None:
    row = {"id": str(uuid.uuid4()), "location_type": "physical", "latitude": 100,
           "longitude": 101}
    assert isinstance(mapping.location_in(row, None, {}), str)
    placed = mapping.location_in({**row, "latitude": 53.4, "longitude": 5.8,
                                  "location_type": "postal"},
                                 {"address_1": "Reeweg 1", "city": "Nes", "postal_code": "9163ga",
                                  "address_type": "physical", "country": "NL"},
                                 {"location_type": "private", "precision": "pc4"})
    assert not isinstance(placed, str)
    assert placed.values["location_type"] == "private" and placed.values["precision"] == "pc4"
    assert placed.values["postal_code"] == "9163 GA"
    assert placed.extra == {"location_type": "postal", "address": {"country": "NL"}}


def test_export_rows_publish_no_assurer_name_and_no_invalid_address() -> None:
    svc = {"id": uuid.uuid4(), "organization_id": None, "name": "X", "alternate_name": None,
           "description": None, "url": "not a url", "email": "jan@@example", "status": "active",
           "fees_description": None, "eligibility_description": None, "assured_date": None,
           "assurer": "Jan Jansen", "last_modified": None}
    row = mapping.service_out(svc)
    assert "assurer_email" not in row and "url" not in row and "email" not in row
    assert row["organization_id"] == mapping.standin_organization(svc)["id"]


def test_json_kinds_are_told_apart() -> None:
    for name, kind in (("service_full.json", "service"), ("location.json", "location"),
                       ("organization_full.json", "organization"),
                       ("service_at_location_full.json", "service_at_location"),
                       ("taxonomy.json", "taxonomy"), ("taxonomy_term.json", "taxonomy_term")):
        assert tabular.kind_of(json.loads((EXAMPLES / name).read_text())) == kind, name


def test_page_envelope_values() -> None:
    from socialmap.hsds.listing import Paging, envelope

    assert envelope([1, 2], 5, Paging(1, 2)) == {
        "total_items": 5, "total_pages": 3, "page_number": 1, "size": 2, "first_page": True,
        "last_page": False, "empty": False, "contents": [1, 2]}
    last = envelope([5], 5, Paging(3, 2))
    assert (last["last_page"], last["first_page"], last["size"]) == (True, False, 1)
    assert envelope([], 0, Paging(1, 50))["total_pages"] == 0


def test_service_filters_modified_after_and_taxonomy_term(client, registry, conn) -> None:
    org = str(registry["org"])
    assert get(client, "/hsds/services", organization_id=org,
               modified_after="2000-01-01")["total_items"] == 1
    assert get(client, "/hsds/services", organization_id=org,
               modified_after="2999-01-01T00:00:00Z")["total_items"] == 0
    parent = str(_term(conn, "ontmoeting"))  # the fixture has its child 'inloop'
    found = get(client, "/hsds/services", taxonomy_term_id=parent, kern="GM0060-nes",
                per_page=1000)
    assert str(registry["service"]) in {s["id"] for s in found["contents"]}
    other = get(client, "/hsds/services", taxonomy_term_id=str(_term(conn, "vervoer")),
                organization_id=org)
    assert other["total_items"] == 0
