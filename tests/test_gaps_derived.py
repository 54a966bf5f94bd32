"""The derived gap tables (migration 0010) stay right: after inserts, moves, status and
category changes, deletes, service-area changes and a changed norm, the stored coverage the
API answers from equals the answer computed here by hand (tests/test_gaps.py's `expected`),
and gap_point/gap_area equal a recount from the registry. Also: counts stop at the cap with
`capped` saying so, an initiative with several locations is one provider, and a bad
SOCIALMAP_GAP_NORMS stops create_app."""
from __future__ import annotations

import csv
import io
from dataclasses import replace

import pytest
from sqlalchemy import Connection, text

from socialmap import create_app
from socialmap.queries import gap_store
from socialmap.services import gaps as svc

from . import test_gaps as hand
from .test_gaps import GEMEENTE, Built, KernInfo, _add, assert_matches, by_kern, expected, gaps

# The hand-built registry on Ameland and its kernen, as fixtures here too.
kernen = hand.kernen
registry = hand.registry

# What gap_point and gap_area must hold, recounted from the registry (as in migrations
# 0010 and 0012: a home at its published point).
RECOUNT_POINT = """
    SELECT DISTINCT coalesce(p.code, t.code) AS category, s.id, l.id, ST_AsEWKB(l.shown_geom),
           l.kern_code, l.location_type = 'private', s.status, s.is_demo, s.assured_date
    FROM service s JOIN attribute a ON a.service_id = s.id
    JOIN taxonomy_term t ON t.id = a.taxonomy_term_id
    JOIN taxonomy x ON x.id = t.taxonomy_id AND x.facet = 'category'
    LEFT JOIN taxonomy_term p ON p.id = t.parent_id
    JOIN service_at_location sal ON sal.service_id = s.id
    JOIN location l ON l.id = sal.location_id AND l.location_type <> 'virtual'"""
STORED_POINT = """SELECT category, service_id, location_id, ST_AsEWKB(geom), kern_code,
    private, status, is_demo, assured_date FROM gap_point"""
RECOUNT_AREA = """
    SELECT DISTINCT coalesce(p.code, t.code) AS category, s.id, sa.kern_code, s.status,
           s.is_demo, s.assured_date
    FROM service s JOIN attribute a ON a.service_id = s.id
    JOIN taxonomy_term t ON t.id = a.taxonomy_term_id
    JOIN taxonomy x ON x.id = t.taxonomy_id AND x.facet = 'category'
    LEFT JOIN taxonomy_term p ON p.id = t.parent_id
    JOIN service_area sa ON sa.service_id = s.id"""
STORED_AREA = "SELECT category, service_id, kern_code, status, is_demo, assured_date FROM gap_area"


def assert_derived_tables_match(conn: Connection) -> None:
    for stored, recount in ((STORED_POINT, RECOUNT_POINT), (STORED_AREA, RECOUNT_AREA)):
        extra = conn.execute(text(f"{stored} EXCEPT {recount}")).all()
        missing = conn.execute(text(f"{recount} EXCEPT {stored}")).all()
        assert (extra, missing) == ([], [])


def check(client, kernen: dict[str, KernInfo], registry: dict[str, Built],  # noqa: ANN001
          category: str, norm: int | None) -> dict[str, dict]:
    body = gaps(client, category=category)
    got = by_kern(body, category)
    assert_matches(got, expected(kernen, registry, category, norm))
    return got


def stored_rows(conn: Connection, category: str) -> dict[str, tuple]:
    return {r.kern_code: (r.norm_m, r.stale, r.within, r.serving, r.providers)
            for r in conn.execute(text(
                "SELECT c.* FROM gap_coverage c JOIN kern k ON k.code = c.kern_code "
                "WHERE k.gemeente_code = :g AND c.category = :c AND NOT c.with_demo"),
                {"g": GEMEENTE, "c": category})}


def set_status(conn: Connection, b: Built, status: str) -> None:
    conn.execute(text("UPDATE service SET status = :s WHERE id = :i"), {"s": status, "i": b.id})
    b.status = status


def test_reads_are_stored_and_follow_every_kind_of_change(
        conn, client, kernen, registry) -> None:
    check(client, kernen, registry, "ontmoeting", 2000)
    check(client, kernen, registry, "vervoer", None)
    dirty = "SELECT count(*) FROM gap_dirty WHERE category IN ('ontmoeting', 'vervoer')"
    assert conn.execute(text(dirty)).scalar_one() == 0
    stored = stored_rows(conn, "ontmoeting")
    assert len(stored) == len(kernen)
    assert {(norm, stale) for norm, stale, *_ in stored.values()} == {(2000, False)}

    # insert: a second meeting place in Ballum
    added = _add(conn, kernen, "Soos Ballum", "ontmoeting", "Ballum", 150, -80)
    registry[added.name] = added
    assert conn.execute(text(dirty)).scalar_one() > 0
    after = check(client, kernen, registry, "ontmoeting", 2000)
    assert after["Ballum"]["status"] == "covered"

    # move: Koffie Buren's location goes 4 km east
    moved = registry["Koffie Buren"]
    conn.execute(text(
        "UPDATE location SET geom = ST_Translate(geom, 4000, 0) WHERE id IN "
        "(SELECT location_id FROM service_at_location WHERE service_id = :i)"), {"i": moved.id})
    moved.x += 4000
    check(client, kernen, registry, "ontmoeting", 2000)

    # status: a plan does not count, nor does a closed initiative; a reopened one does
    set_status(conn, registry["Dorpshuis Nes"], "proposed")
    set_status(conn, registry["Inloop Hollum"], "active")
    after = check(client, kernen, registry, "ontmoeting", 2000)
    assert after["Hollum"]["status"] == "thin"

    # category: Vervoer Ameland is retagged as a meeting place
    retagged = registry["Vervoer Ameland"]
    conn.execute(text(
        "UPDATE attribute SET taxonomy_term_id = (SELECT t.id FROM taxonomy_term t "
        "JOIN taxonomy x ON x.id = t.taxonomy_id WHERE x.facet = 'category' "
        "AND t.code = 'ontmoeting') WHERE service_id = :i"), {"i": retagged.id})
    retagged.term = "ontmoeting"
    check(client, kernen, registry, "ontmoeting", 2000)
    check(client, kernen, registry, "vervoer", None)

    # delete
    gone = registry.pop("Bezoekdienst Ameland")
    conn.execute(text("DELETE FROM service WHERE id = :i"), {"i": gone.id})
    check(client, kernen, registry, "ontmoeting", 2000)

    # service area: the Buurtbus starts serving Buren, and one area row goes
    bus = registry["Buurtbus Hollum"]
    conn.execute(text("INSERT INTO service_area (service_id, kern_code) VALUES (:s, :k)"),
                 {"s": bus.id, "k": kernen["Buren"].code})
    bus.serves.append(kernen["Buren"].code)
    retagged_area = kernen["Ballum"].code
    conn.execute(text("DELETE FROM service_area WHERE service_id = :s AND kern_code = :k"),
                 {"s": retagged.id, "k": retagged_area})
    retagged.serves.remove(retagged_area)
    after = check(client, kernen, registry, "vervoer", None)
    assert after["Buren"]["status"] == "thin"
    check(client, kernen, registry, "ontmoeting", 2000)

    # one statement changing many rows (a bulk import or an editor's batch)
    conn.execute(text("UPDATE service SET status = 'inactive' WHERE id = ANY(:ids)"),
                 {"ids": [registry["Soos Ballum"].id, registry["Buurtbus Hollum"].id]})
    registry["Soos Ballum"].status = registry["Buurtbus Hollum"].status = "inactive"
    check(client, kernen, registry, "ontmoeting", 2000)
    check(client, kernen, registry, "vervoer", None)
    assert_derived_tables_match(conn)


def test_a_changed_norm_setting_is_noticed(conn, client, settings, kernen, registry) -> None:
    check(client, kernen, registry, "ontmoeting", 2000)
    wider = create_app(replace(settings, gap_norms="ontmoeting=6km"), bind=conn).test_client()
    assert_matches(by_kern(gaps(wider, category="ontmoeting"), "ontmoeting"),
                   expected(kernen, registry, "ontmoeting", 6000))
    assert {norm for norm, *_ in stored_rows(conn, "ontmoeting").values()} == {6000}
    serve = create_app(replace(settings, gap_norms="ontmoeting=serve"), bind=conn).test_client()
    assert_matches(by_kern(gaps(serve, category="ontmoeting"), "ontmoeting"),
                   expected(kernen, registry, "ontmoeting", None))
    # and back: the default norm again, recomputed rather than read as stored for 'serve'
    check(client, kernen, registry, "ontmoeting", 2000)
    # a norm asked for in one request is computed for it and not stored
    assert_matches(by_kern(gaps(client, category="ontmoeting", norm="6km"), "ontmoeting"),
                   expected(kernen, registry, "ontmoeting", 6000))
    assert {norm for norm, *_ in stored_rows(conn, "ontmoeting").values()} == {2000}


def test_a_change_marks_only_nearby_kernen_stale(conn, client, kernen, registry) -> None:
    s_codes = conn.execute(text(
        "SELECT code FROM kern WHERE gemeente_code IN ('GM0935', :g)"), {"g": GEMEENTE}
    ).scalars().all()
    for gemeente in ("GM0935", GEMEENTE):  # Maastricht and Ameland
        gaps(client, gemeente=gemeente, category="ontmoeting")
    assert conn.execute(text(
        "SELECT count(*) FROM gap_coverage WHERE category = 'ontmoeting' AND NOT with_demo "
        "AND NOT stale AND kern_code = ANY(:c)"), {"c": list(s_codes)}).scalar_one() == len(
        s_codes)
    sid = conn.execute(text(
        "INSERT INTO service (name, kind) VALUES ('Inloop Vrijthof', 'overig') RETURNING id"
    )).scalar_one()
    lid = conn.execute(text(
        "INSERT INTO location (location_type, precision, geom, kern_code) SELECT 'physical', "
        "'address', point, code FROM kern WHERE code = 'GM0935-maastricht' RETURNING id"
    )).scalar_one()
    conn.execute(text("INSERT INTO service_at_location (service_id, location_id) "
                      "VALUES (:s, :l)"), {"s": sid, "l": lid})
    conn.execute(text(
        "INSERT INTO attribute (service_id, taxonomy_term_id) SELECT :s, t.id "
        "FROM taxonomy_term t WHERE t.code = 'bezoekdienst'"), {"s": sid})
    assert gap_store.claim_dirty(conn, ["ontmoeting"]) >= 1
    stale = dict(conn.execute(text(
        "SELECT k.gemeente_code, bool_or(c.stale) FROM gap_coverage c JOIN kern k "
        "ON k.code = c.kern_code WHERE c.category = 'ontmoeting' AND NOT c.with_demo "
        "AND k.gemeente_code IN ('GM0935', :g) GROUP BY 1"), {"g": GEMEENTE}).all())
    assert stale == {"GM0935": True, GEMEENTE: False}
    maastricht = by_kern(gaps(client, gemeente="GM0935", category="ontmoeting"), "ontmoeting")
    assert maastricht["Maastricht"]["within"] >= 1


def test_counts_stop_at_the_cap_and_say_so(conn, client, kernen) -> None:
    for i in range(svc.COUNT_CAP + 2):
        _add(conn, kernen, f"Ontmoeting {i}", "ontmoeting", "Nes", 100 * i, 50)
    nes = by_kern(gaps(client, category="ontmoeting"), "ontmoeting")["Nes"]
    assert (nes["within"], nes["providers"], nes["capped"]) == (svc.COUNT_CAP,
                                                                svc.COUNT_CAP, True)
    hollum = by_kern(gaps(client, category="ontmoeting"), "ontmoeting")["Hollum"]
    assert hollum["capped"] is False
    resp = client.get("/api/v1/gaps", query_string={
        "gemeente": GEMEENTE, "category": "ontmoeting", "demo": "false", "format": "csv"})
    rows = {r["kern_name"]: r for r in csv.DictReader(io.StringIO(resp.get_data(as_text=True)))}
    assert (rows["Nes"]["within"], rows["Nes"]["capped"]) == (str(svc.COUNT_CAP), "true")
    assert rows["Hollum"]["capped"] == "false"


@pytest.mark.parametrize("stored", [True, False])
def test_one_initiative_with_many_locations_is_one_provider(
        conn, client, kernen, stored: bool) -> None:
    """Its locations fill the nearest `cap`; another initiative beyond them still counts."""
    many = _add(conn, kernen, "Overal", "ontmoeting", "Hollum", 50, 0)
    for i in range(1, svc.COUNT_CAP + 1):
        lid = conn.execute(text(
            "INSERT INTO location (location_type, precision, geom, kern_code) "
            "SELECT 'physical', 'address', ST_Translate(point, :dx, 0), code FROM kern "
            "WHERE code = :k RETURNING id"),
            {"dx": 50 + 100 * i, "k": kernen["Hollum"].code}).scalar_one()
        conn.execute(text("INSERT INTO service_at_location (service_id, location_id) "
                          "VALUES (:s, :l)"), {"s": many.id, "l": lid})
    _add(conn, kernen, "Verderop", "ontmoeting", "Hollum", -1500, 0)
    extra = {} if stored else {"verified_within": 120}
    hollum = by_kern(gaps(client, category="ontmoeting", **extra), "ontmoeting")["Hollum"]
    assert (hollum["within"], hollum["providers"], hollum["status"]) == (2, 2, "covered")


@pytest.mark.parametrize("value", ["ontmoeting", "ontmoeting=far", "ontmoeting=50m"])
def test_a_bad_norm_setting_stops_the_app_start(settings, value: str) -> None:
    with pytest.raises(ValueError, match="SOCIALMAP_GAP_NORMS"):
        create_app(replace(settings, gap_norms=value))
    assert create_app(replace(settings, gap_norms="ontmoeting=3km")) is not None


def test_refresh_fills_the_stored_coverage(conn, runner, kernen, registry) -> None:
    result = runner.invoke(args=["gaps", "refresh"])
    assert result.exit_code == 0, result.output
    total = conn.execute(text("SELECT count(*) FROM kern")).scalar_one()
    categories = len(svc.DEFAULT_NORMS)
    assert conn.execute(text(
        "SELECT count(*) FROM gap_coverage WHERE NOT stale")).scalar_one() == (
        2 * total * categories)
    assert f"{2 * total * categories} " in result.output



def test_the_page_in_english(client, kernen, registry) -> None:
    client.set_cookie("lang", "en")
    resp = client.get("/gaps", query_string={"area": GEMEENTE, "category": "ontmoeting",
                                             "demo": "false"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    hollum = kernen["Hollum"].inhabitants_75plus
    assert (f"{hollum} people aged 75 and over live in 1 village without ontmoeting within 2 km."
            in html)
    for text_ in ("Legend", "Per village", "Nearest", "hatched area, thick outline",
                  "Counts stop at 5"):
        assert text_ in html, text_
    assert "Witte vlek" not in html and "Legenda" not in html


def test_rebuild_after_a_load_that_bypassed_the_triggers(conn, runner, kernen, registry
                                                         ) -> None:
    conn.execute(text("DELETE FROM gap_point WHERE service_id = :i"),
                 {"i": registry["Dorpshuis Nes"].id})
    conn.execute(text("INSERT INTO gap_dirty (category, cx, cy) VALUES ('x', 0, 0)"))
    result = runner.invoke(args=["gaps", "refresh", "--rebuild"])
    assert result.exit_code == 0, result.output
    assert_derived_tables_match(conn)
    assert conn.execute(text("SELECT count(*) FROM gap_dirty")).scalar_one() == 0
