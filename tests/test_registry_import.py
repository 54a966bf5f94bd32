"""Registry import and export on the real PostGIS of the test session: validation with line
and reason, a row whole or not at all, idempotency, update by id, CSV and GeoJSON in WGS84 and
RD New, the export round trip, and private data kept out of the public export."""
from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from socialmap import geo
from socialmap.registry import importer
from socialmap.registry.exporter import read_records
from socialmap.registry.formats import read_csv, read_geojson, write_csv, write_geojson
from socialmap.registry.importer import ImportReport, import_rows
from socialmap.registry.record import COORD_COLUMNS, PROPERTIES, stable_id

MEERS = (5.74167, 50.96167)  # the GeoNames point of Meers (gemeente Stein)
ROGGEL = (5.9258, 51.2668)


@pytest.fixture
def s(conn: Connection) -> Iterator[Session]:
    """A session inside the test's transaction (rolled back afterwards)."""
    with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
        yield session


def row(**fields: Any) -> dict[str, Any]:
    """A valid CSV row at Meers; keyword arguments override or add fields."""
    base: dict[str, Any] = {
        "id": str(uuid.uuid4()), "name": "Testhuis", "kind": "dorpshuis",
        "categories": "inloop;ontmoeting", "audiences": "ouderen",
        "schedule": "ma 09:00-12:00;wo 13:30-16:00", "precision": "kern",
        "lon": MEERS[0], "lat": MEERS[1],
    }
    base.update(fields)
    return base


def csv_text(rows: list[dict[str, Any]], srid: int = 4326) -> str:
    cols = [*PROPERTIES, *COORD_COLUMNS[srid]]
    out = io.StringIO()
    writer = csv.DictWriter(out, cols, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def import_csv(s: Session, rows: list[dict[str, Any]], srid: int = 4326) -> ImportReport:
    file_srid, raw = read_csv(csv_text(rows, srid))
    return import_rows(s, raw, file_srid, actor="test")


def import_geojson(s: Session, doc: dict[str, Any]) -> ImportReport:
    srid, raw = read_geojson(json.dumps(doc))
    return import_rows(s, raw, srid, actor="test")


def count(s: Session, sql: str, **params: Any) -> int:
    return int(s.execute(text(sql), params).scalar_one())


def changes(s: Session) -> int:
    return count(s, "SELECT count(*) FROM change")


def reasons(report: ImportReport) -> dict[str, str]:
    return {r.where: "; ".join(r.reasons) for r in report.rejected}


def test_each_kind_of_bad_csv_row_is_rejected_with_line_and_reason(s: Session) -> None:
    good_ids = [str(uuid.uuid4()), str(uuid.uuid4())]
    rows = [
        row(id=good_ids[0]),
        row(name=""),
        row(kind="dorphuis"),
        row(status="open"),
        row(location_type="thuis"),
        row(precision="exact"),
        row(categories="inloop;zwemmen"),
        row(audiences="katten"),
        row(service_area="GM0971-meers;GM9999-nergens"),
        row(lon=2.35, lat=48.85),  # Paris
        row(lon=4.35, lat=50.85),  # Brussels: inside the box, but in no Dutch kern
        row(assured_date="22-11-2026"),
        row(schedule="ma 9-12"),
        row(schedule="di 12:00-09:00"),
        row(id="not-a-uuid"),
        row(kern_code="GM1640-roggel"),  # the point is in Meers
        row(lon="", lat=""),
        row(precision=""),
        row(assured_date="2999-01-01"),
        row(email="niet-een-adres"),
        row(id=good_ids[1], kern_code="GM0971-meers", pc4="6181"),
    ]
    # A malformed first data line shifts the rows above to lines 3 and on.
    text_ = csv_text(rows).replace("\n", "\nextra,cells\n", 1)
    srid, raw = read_csv(text_)
    report = import_rows(s, raw, srid, actor="test")
    got = reasons(report)
    expected = {
        "line 2": "2 cells for",
        "line 4": "name: required",
        "line 5": "kind: unknown value 'dorphuis'",
        "line 6": "status: unknown value 'open'",
        "line 7": "location_type: unknown value 'thuis'",
        "line 8": "precision: unknown value 'exact'",
        "line 9": "categories: unknown code(s) zwemmen",
        "line 10": "audiences: unknown code(s) katten",
        "line 11": "service_area: unknown kern code(s) GM9999-nergens",
        "line 12": "lon: (2.35, 48.85) lies outside the Netherlands",
        "line 13": "geometry: the point lies in no kern",
        "line 14": "assured_date: not a date YYYY-MM-DD",
        "line 15": "schedule: not a slot like 'ma 09:00-12:00': 'ma 9-12'",
        "line 16": "schedule: closes before it opens",
        "line 17": "id: not a UUID",
        "line 18": "kern_code: GM1640-roggel given, but the point lies in GM0971-meers",
        "line 19": "lon: a location needs coordinates",
        "line 20": "precision: required for a location",
        "line 21": "assured_date: lies in the future",
        "line 22": "email: not an e-mail address",
    }
    assert set(got) == set(expected)
    for where, reason in expected.items():
        assert reason in got[where], (where, got[where])
    assert report.created == 2
    for good in good_ids:
        assert count(s, "SELECT count(*) FROM service WHERE id = :i", i=good) == 1
    # The rejected rows left nothing behind.
    assert count(s, "SELECT count(*) FROM service WHERE name = 'Testhuis'") == 2


def test_bad_geojson_features_are_rejected_by_index(s: Session) -> None:
    def feature(geometry: Any = None, **props: Any) -> dict[str, Any]:
        p = {"id": str(uuid.uuid4()), "name": "Testpunt", "kind": "burenhulp",
             "precision": "kern", **props}
        g = geometry if geometry is not None else {"type": "Point", "coordinates": list(MEERS)}
        return {"type": "Feature", "geometry": g, "properties": p}

    doc = {"type": "FeatureCollection", "features": [
        feature(),
        feature({"type": "LineString", "coordinates": [list(MEERS), list(ROGGEL)]}),
        feature(categories="burenhulp"),              # a list must be an array in GeoJSON
        feature(is_demo="ja"),
        feature(unknown_field=1),
        {"type": "Thing"},
        feature(service_area=["GM1640-roggel"], audiences=["ouderen"]),
    ]}
    report = import_geojson(s, doc)
    got = reasons(report)
    assert set(got) == {"features[1]", "features[2]", "features[3]", "features[4]",
                        "features[5]"}
    assert "geometry: must be a Point" in got["features[1]"]
    assert "categories: expected an array of strings" in got["features[2]"]
    assert "is_demo: expected true or false" in got["features[3]"]
    assert "unknown_field: unknown field" in got["features[4]"]
    assert "not a Feature" in got["features[5]"]
    assert report.created == 2


def test_a_row_that_fails_in_its_third_part_leaves_nothing_of_itself(
        s: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    doomed, fine = str(uuid.uuid4()), str(uuid.uuid4())
    real = importer._plan_location

    def failing_after_location(plan, rec, placed, stored) -> None:  # noqa: ANN001
        real(plan, rec, placed, stored)
        if str(rec.id) == doomed:
            plan.add(text("SELECT 1 / 0"), lambda: None)

    monkeypatch.setattr(importer, "_plan_location", failing_after_location)
    report = import_csv(s, [
        row(id=doomed, organization_name="Stichting Mislukt", organization_legal_form="stichting"),
        row(id=fine),
    ])
    assert [str(r) for r in report.rejected] == ["line 2: database: division by zero"]
    assert report.created == 1
    assert count(s, "SELECT count(*) FROM service WHERE id = :i", i=doomed) == 0
    assert count(s, "SELECT count(*) FROM organization WHERE name = 'Stichting Mislukt'") == 0
    assert count(s, "SELECT count(*) FROM location WHERE id = :i",
                 i=stable_id(doomed, "location")) == 0
    assert count(s, "SELECT count(*) FROM change WHERE service_id = :i OR entity_id = :i",
                 i=doomed) == 0
    assert count(s, "SELECT count(*) FROM service WHERE id = :i", i=fine) == 1


def test_second_import_changes_nothing_and_duplicates_nothing(s: Session) -> None:
    rows = [row(), row(name="Eettafel", kind="maaltijdvoorziening", categories="samen-eten",
                       organization_name="Vereniging Eten", organization_legal_form="vereniging",
                       phone="046 123 45 67", contact_name="Secretariaat", contact_private="true",
                       service_area="GM0971-meers")]
    first = import_csv(s, rows)
    assert (first.created, first.rejected) == (2, [])
    services = count(s, "SELECT count(*) FROM service")
    logged = changes(s)
    second = import_csv(s, rows)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert second.summary() == "2 rows, nothing changed"
    assert count(s, "SELECT count(*) FROM service") == services
    assert changes(s) == logged  # no no-op updates in the change log


def test_import_updates_by_id_and_logs_only_what_changed(s: Session) -> None:
    first = row()
    import_csv(s, [first])
    last = count(s, "SELECT coalesce(max(id), 0) FROM change")
    changed = {**first, "name": "Testhuis De Linde", "categories": "inloop",
               "schedule": "ma 09:00-12:00;vr 09:00-12:00"}
    report = import_csv(s, [changed])
    assert (report.created, report.updated) == (0, 1)
    assert count(s, "SELECT count(*) FROM service WHERE id = :i", i=first["id"]) == 1
    name = s.execute(text("SELECT name FROM service WHERE id = :i"), {"i": first["id"]}).scalar()
    assert name == "Testhuis De Linde"
    log = s.execute(text(
        "SELECT entity_type, action, field, source FROM change WHERE id > :n ORDER BY id"),
        {"n": last}).all()
    assert {(r.entity_type, r.action, r.field) for r in log} == {
        ("service", "update", "name"), ("attribute", "delete", None),
        ("schedule", "delete", None), ("schedule", "create", None)}
    assert {r.source for r in log} == {"import"}


def test_the_same_point_in_wgs84_and_rd_new_lands_within_a_metre(s: Session) -> None:
    lon, lat = 5.7453, 50.9628
    x, y = geo.to_rd(lon, lat)
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    assert not import_csv(s, [row(id=a, lon=lon, lat=lat)]).rejected
    rd = row(id=b)
    del rd["lon"], rd["lat"]
    assert not import_csv(s, [{**rd, "x": round(x, 2), "y": round(y, 2)}], srid=28992).rejected
    doc = {"type": "FeatureCollection",
           "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}},
           "features": [{"type": "Feature",
                         "geometry": {"type": "Point", "coordinates": [x, y]},
                         "properties": {"id": c, "name": "RD", "kind": "overig",
                                        "precision": "address"}}]}
    assert not import_geojson(s, doc).rejected
    gap = s.execute(text(
        "SELECT max(ST_Distance(l1.geom, l2.geom)) FROM service_at_location s1 "
        "JOIN location l1 ON l1.id = s1.location_id, service_at_location s2 "
        "JOIN location l2 ON l2.id = s2.location_id "
        "WHERE s1.service_id = :a AND s2.service_id IN (:b, :c)"), {"a": a, "b": b, "c": c}
    ).scalar_one()
    assert gap < 1.0
    kern = s.execute(text("SELECT DISTINCT l.kern_code FROM location l JOIN service_at_location x "
                          "ON x.location_id = l.id WHERE x.service_id IN (:a, :b, :c)"),
                     {"a": a, "b": b, "c": c}).scalars().all()
    assert kern == ["GM0971-meers"]


def _private_rows() -> list[dict[str, Any]]:
    return [
        row(name="Burenhulp thuis", kind="burenhulp", location_type="private",
            precision="address", address="Dorpsstraat 1", postal_code="6181 AA",
            lon=5.7446, lat=50.9631, phone="046 000 00 01", phone_private="true",
            contact_name="Coördinator", contact_email="coordinator@example.org",
            contact_phone="06 00000000", contact_private="true"),
        row(name="Openbare huiskamer", email="huiskamer@example.org", phone="046 000 00 02",
            contact_name="Balie", contact_title="baliemedewerker"),
    ]


def test_default_export_leaves_out_private_points_and_contacts(s: Session) -> None:
    private, public = _private_rows()
    assert not import_csv(s, [private, public]).rejected
    conn = s.connection()
    kern_point = s.execute(text(
        "SELECT ST_X(ST_Transform(point, 4326)), ST_Y(ST_Transform(point, 4326)) FROM kern "
        "WHERE code = 'GM0971-meers'")).one()
    shown = {str(r.id): r for r in read_records(conn, 4326)}
    p = shown[private["id"]]
    assert (p.x, p.y) == pytest.approx(tuple(kern_point), abs=1e-9)
    assert (p.address, p.postal_code, p.pc4, p.precision) == (None, None, None, "kern")
    assert (p.phone, p.contact_name, p.contact_email, p.contact_phone) == (None,) * 4
    text_ = write_csv(read_records(conn, 4326), 4326) + write_geojson(
        read_records(conn, 28992), 28992)
    for secret in ("Dorpsstraat", "6181 AA", "coordinator@example.org", "06 00000000",
                   "046 000 00 01", "5.7446", "50.9631"):
        assert secret not in text_
    assert "046 000 00 02" in text_ and "baliemedewerker" in text_  # public contact stays
    full = {str(r.id): r for r in read_records(conn, 4326, include_private=True)}[private["id"]]
    assert (round(full.x, 7), round(full.y, 7)) == (5.7446, 50.9631)
    assert (full.address, full.contact_phone, full.phone) == (
        "Dorpsstraat 1", "06 00000000", "046 000 00 01")
    # Importing the public export back must not move the exact point to the kern point.
    srid, raw = read_csv(write_csv(read_records(conn, 4326), 4326))
    report = import_rows(s, raw, srid, actor="test")
    assert not report.rejected and not report.created
    again = {str(r.id): r for r in read_records(conn, 4326, include_private=True)}
    assert (round(again[private["id"]].x, 7), again[private["id"]].address) == (
        5.7446, "Dorpsstraat 1")


def _empty_registry(s: Session) -> None:
    s.execute(text("SELECT set_config('socialmap.audit', 'off', true)"))  # test setup only
    for table in ("service", "location", "organization"):
        s.execute(text(f"DELETE FROM {table}"))


@pytest.mark.parametrize(("fmt", "srid", "include_private"), [
    ("csv", 4326, False), ("csv", 28992, True), ("geojson", 4326, True),
    ("geojson", 28992, False)])
def test_export_import_export_gives_identical_files(
        runner, app, tmp_path: Path, fmt: str, srid: int, include_private: bool) -> None:
    with app.app_context():
        from socialmap.db import session
        s = session()
        assert not import_csv(s, _private_rows()).rejected
        s.commit()
    flags = ["--crs", str(srid)] + (["--include-private"] if include_private else [])
    first, second = tmp_path / f"first.{fmt}", tmp_path / f"second.{fmt}"
    result = runner.invoke(args=["registry", "export", str(first), *flags])
    assert result.exit_code == 0, result.output
    with app.app_context():
        from socialmap.db import session
        s = session()
        _empty_registry(s)
        s.commit()
    result = runner.invoke(args=["registry", "import", str(first)])
    assert result.exit_code == 0, result.output
    assert "17 created" in result.output  # 15 curated rows and the 2 above
    result = runner.invoke(args=["registry", "export", str(second), *flags])
    assert result.exit_code == 0, result.output
    assert second.read_text() == first.read_text()


def test_cli_dry_run_writes_nothing_and_report_file_lists_rejections(
        runner, app, tmp_path: Path) -> None:
    good, bad = row(), row(kind="zwembad")
    path = tmp_path / "in.csv"
    path.write_text(csv_text([good, bad]))
    report_file = tmp_path / "rejected.txt"
    result = runner.invoke(args=["registry", "import", str(path), "--dry-run",
                                 "--report", str(report_file)])
    assert result.exit_code == 1
    assert "dry run, nothing written: 2 rows: 1 created" in result.output
    assert report_file.read_text().startswith("line 3: kind: unknown value 'zwembad'")
    with app.app_context():
        from socialmap.db import session
        assert session().execute(text("SELECT count(*) FROM service WHERE id = :i"),
                                 {"i": good["id"]}).scalar_one() == 0
    result = runner.invoke(args=["registry", "import", str(path)])
    assert "1 created" in result.output and result.exit_code == 1
    with app.app_context():
        from socialmap.db import session
        assert session().execute(text("SELECT count(*) FROM service WHERE id = :i"),
                                 {"i": good["id"]}).scalar_one() == 1


def test_rows_sharing_an_id_must_agree(s: Session) -> None:
    first = row()
    second_location = {**first, "location_id": str(uuid.uuid4()), "lon": ROGGEL[0],
                       "lat": ROGGEL[1]}
    clash = {**first, "location_id": str(uuid.uuid4()), "name": "Anders"}
    report = import_csv(s, [first, second_location, clash, first])
    got = reasons(report)
    assert report.created == 1 and report.updated == 1  # one service at two locations
    assert "fields differ from line 2" in got["line 4"]
    assert "duplicate of line 2" in got["line 5"]
