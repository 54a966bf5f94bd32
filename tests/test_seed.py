"""The seed registry of every test session: the curated file where it belongs, with provenance,
and the demo set flagged, inside its kernen, and the same on every run."""
from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from socialmap.config import PROJECT_ROOT
from socialmap.db import set_actor
from socialmap.registry.demo import demo_lines, remove_demo, sync_demo
from socialmap.registry.record import NAMESPACE
from socialmap.registry.seed import seed
from socialmap.registry.synthetic import bench_plan, load_kernen, uuid5_int
from socialmap.vocab import KINDS

SEED_FILE = PROJECT_ROOT / "data" / "initiatives.geojson"


@pytest.fixture
def s(conn: Connection) -> Iterator[Session]:
    with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
        yield session


def located(conn: Connection, name: str) -> list:
    """Kern, gemeente and precision of each location of the curated initiative `name`."""
    return conn.execute(text(
        "SELECT l.kern_code, k.gemeente_code, g.name AS gemeente, l.precision "
        "FROM service s JOIN service_at_location x ON x.service_id = s.id "
        "JOIN location l ON l.id = x.location_id JOIN kern k ON k.code = l.kern_code "
        "JOIN gemeente g ON g.code = k.gemeente_code "
        "WHERE s.name = :n AND NOT s.is_demo"), {"n": name}).all()


def test_dorpsdagvoorziening_meers_lies_in_kern_meers_in_stein(conn: Connection) -> None:
    rows = located(conn, "Dorpsdagvoorziening Meers")
    assert [(r.kern_code, r.gemeente_code, r.precision) for r in rows] == [
        ("GM0971-meers", "GM0971", "kern")]
    assert rows[0].gemeente.startswith("Stein")


def test_naoberzorgpunt_roggel_lies_in_and_serves_kern_roggel(conn: Connection) -> None:
    assert [r.kern_code for r in located(conn, "NaoberzorgPunt Roggel")] == ["GM1640-roggel"]
    areas = conn.execute(text(
        "SELECT a.kern_code FROM service_area a JOIN service s ON s.id = a.service_id "
        "WHERE s.name = 'NaoberzorgPunt Roggel'")).scalars().all()
    assert areas == ["GM1640-roggel"]


def test_arnhem_district_nurses_are_placed_at_district_precision(conn: Connection) -> None:
    rows = conn.execute(text(
        "SELECT s.name, l.precision, k.gemeente_code FROM service s "
        "JOIN service_at_location x ON x.service_id = s.id JOIN location l ON l.id = x.location_id "
        "JOIN kern k ON k.code = l.kern_code WHERE s.name LIKE '%Zichtbare Schakel%'")).all()
    assert sorted(r.name.rsplit(" ", 1)[-1] for r in rows) == [
        "Broek", "Klarendal", "Malburgen", "Presikhaaf"]
    assert {(r.precision, r.gemeente_code) for r in rows} == {("district", "GM0202")}


def test_every_curated_record_is_in_the_database_with_its_source(conn: Connection) -> None:
    features = json.loads(SEED_FILE.read_text())["features"]
    curated = conn.execute(text(
        "SELECT id::text, source, kind, assured_date FROM service WHERE NOT is_demo")).all()
    by_id = {r.id: r for r in curated}
    assert {f["properties"]["id"] for f in features} <= set(by_id)
    for f in features:
        rec = by_id[f["properties"]["id"]]
        assert rec.source and rec.source.strip(), f["properties"]["name"]
        assert "Plaatsing:" in rec.source and "Beschrijving:" in rec.source
        assert rec.kind in KINDS
        assert rec.assured_date is None  # nobody has verified them yet
    assert len(features) >= 15


def test_curated_file_invents_no_contact_details(conn: Connection) -> None:
    for f in json.loads(SEED_FILE.read_text())["features"]:
        p = f["properties"]
        for field in ("address", "postal_code", "phone", "email", "url", "contact_name",
                      "contact_email", "contact_phone"):
            assert not p.get(field), (p["name"], field)


def test_demo_records_are_all_flagged(conn: Connection) -> None:
    mixed = conn.execute(text(
        "SELECT count(*) FROM service s JOIN service_at_location x ON x.service_id = s.id "
        "JOIN location l ON l.id = x.location_id LEFT JOIN organization o "
        "ON o.id = s.organization_id "
        "WHERE s.is_demo <> l.is_demo OR s.is_demo <> coalesce(o.is_demo, s.is_demo)"
    )).scalar_one()
    assert mixed == 0
    names = conn.execute(text("SELECT name FROM service WHERE is_demo")).scalars().all()
    assert len(names) > 5000
    assert all(n.endswith("(demo)") for n in names)
    counts = conn.execute(text(
        "SELECT count(*) FILTER (WHERE status <> 'active') AS closed, "
        "count(*) FILTER (WHERE assured_date IS NULL) AS unverified, "
        "min(assured_date) AS first, max(assured_date) AS last FROM service WHERE is_demo")).one()
    assert 0 < counts.closed < len(names) / 10
    assert 0 < counts.unverified < len(names) / 4
    assert (counts.last - counts.first).days > 600


def test_categories_are_the_most_specific_terms(conn: Connection) -> None:
    """A parent term includes its children in search; no record carries both."""
    both = conn.execute(text(
        "SELECT count(*) FROM attribute a JOIN taxonomy_term t ON t.id = a.taxonomy_term_id "
        "JOIN attribute b ON b.service_id = a.service_id AND b.taxonomy_term_id = t.parent_id"
    )).scalar_one()
    assert both == 0


def test_demo_locations_lie_in_their_kern(conn: Connection) -> None:
    wrong = conn.execute(text(
        "SELECT count(*) FROM location l WHERE l.is_demo AND l.kern_code IS DISTINCT FROM "
        "(SELECT k.code FROM kern k WHERE ST_Covers(k.area, l.geom) ORDER BY k.code LIMIT 1)"
    )).scalar_one()
    assert wrong == 0


def test_most_kernen_of_some_size_have_a_meeting_place(conn: Connection) -> None:
    row = conn.execute(text(
        "SELECT count(*) AS kernen, count(*) FILTER (WHERE EXISTS ("
        "  SELECT 1 FROM location l JOIN service_at_location x ON x.location_id = l.id "
        "  JOIN service s ON s.id = x.service_id WHERE l.kern_code = k.code AND s.is_demo "
        "  AND s.kind IN ('dorpshuis', 'kulturhus', 'ontmoetingsplek'))) AS with_place "
        "FROM kern k WHERE k.inhabitants BETWEEN 1000 AND 15000")).one()
    assert row.with_place / row.kernen > 0.8


def test_demo_set_is_deterministic_and_a_second_seed_changes_nothing(
        s: Session, conn: Connection) -> None:
    first, second = demo_lines(conn), demo_lines(conn)
    assert first == second
    ids = {line.split("\t", 1)[0] for line in first["service"]}
    stored = set(conn.execute(text(
        "SELECT replace(id::text, '-', '') FROM service WHERE is_demo")).scalars())
    assert ids == stored
    before = conn.execute(text("SELECT count(*) FROM change")).scalar_one()
    curated, demo = seed(s, SEED_FILE, echo=lambda _line: None)
    assert not curated.changed and curated.unchanged >= 15
    assert demo is not None and demo.rows_changed == 0
    assert conn.execute(text("SELECT count(*) FROM change")).scalar_one() == before


def test_demo_remove_then_sync_restores_the_same_ids(s: Session, conn: Connection) -> None:
    set_actor(s, "test", "seed")
    ids = set(conn.execute(text("SELECT id FROM service WHERE is_demo")).scalars())
    curated = conn.execute(text("SELECT count(*) FROM service WHERE NOT is_demo")).scalar_one()
    assert remove_demo(conn) > len(ids)
    assert conn.execute(text(
        "SELECT (SELECT count(*) FROM service WHERE is_demo) + "
        "(SELECT count(*) FROM location WHERE is_demo) + "
        "(SELECT count(*) FROM organization WHERE is_demo)")).scalar_one() == 0
    assert conn.execute(text("SELECT count(*) FROM service")).scalar_one() == curated
    report = sync_demo(conn)
    assert report.rows_changed > 0
    assert set(conn.execute(text("SELECT id FROM service WHERE is_demo")).scalars()) == ids


def test_cli_demo_remove(runner, app) -> None:
    result = runner.invoke(args=["registry", "demo", "--remove"])
    assert result.exit_code == 0, result.output
    assert "removed the demo set" in result.output
    with app.app_context():
        from socialmap.db import session
        assert session().execute(text(
            "SELECT count(*) FROM service WHERE is_demo")).scalar_one() == 0


def test_bench_plan_follows_inhabitants_and_is_deterministic(conn: Connection) -> None:
    kernen = load_kernen(conn)
    plan = bench_plan(kernen, 10_000)
    assert len(plan) == 10_000
    assert [(p.kern.code, p.profile) for p in plan] == [
        (p.kern.code, p.profile) for p in bench_plan(kernen, 10_000)]
    per_kern = Counter(p.kern.code for p in plan)
    people = sum(k.inhabitants for k in kernen)
    for k in sorted(kernen, key=lambda k: -k.inhabitants)[:20]:
        assert per_kern[k.code] == pytest.approx(10_000 * k.inhabitants / people, abs=1)
    assert len({p.profile for p in plan}) >= 12


def test_fast_uuid5_is_uuid5() -> None:
    for name in ("", "demo/GM0971-meers/dorpshuis/1", "bench/1000000/GM0363-amsterdam/ouders/7"):
        assert uuid.UUID(int=uuid5_int(name)) == uuid.uuid5(NAMESPACE, name)


def test_demo_sync_repairs_rows_whose_content_moved_between_ids(
        s: Session, conn: Connection) -> None:
    set_actor(s, "test", "seed")
    a, b = conn.execute(text(
        "SELECT a.id, a.service_id, a.taxonomy_term_id FROM attribute a JOIN service s "
        "ON s.id = a.service_id WHERE s.is_demo AND (SELECT count(*) FROM attribute x "
        "WHERE x.service_id = a.service_id) >= 2 ORDER BY a.service_id, a.id LIMIT 2")).all()
    assert a.service_id == b.service_id
    conn.execute(text("DELETE FROM attribute WHERE id IN (:a, :b)"), {"a": a.id, "b": b.id})
    conn.execute(text("INSERT INTO attribute (id, service_id, taxonomy_term_id) VALUES "
                      "(:a, :s, :tb), (:b, :s, :ta)"),
                 {"a": a.id, "b": b.id, "s": a.service_id, "ta": a.taxonomy_term_id,
                  "tb": b.taxonomy_term_id})
    assert sync_demo(conn).rows_changed == 4  # both swapped rows deleted and written again
    restored = dict(conn.execute(text(
        "SELECT id, taxonomy_term_id FROM attribute WHERE id IN (:a, :b)"),
        {"a": a.id, "b": b.id}).all())
    assert restored == {a.id: a.taxonomy_term_id, b.id: b.taxonomy_term_id}
