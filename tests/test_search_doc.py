"""The search table (migration 0013) stays equal to what the registry says, whatever writes.

`search_doc` is derived: after every statement on a source table its rows must be exactly the
rows of the view `search_doc_source` computes from the registry. Each step below writes the
way some path of the app does (a form, moderation, an import, a geography reload) and checks
that equality, then what a search shows."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Connection, text

from socialmap.queries import places
from socialmap.queries import search as q

COLUMNS = ("doc_id, service_id, location_id, geom, status, kind, is_demo, kern_code, "
           "gemeente_code, terms, serves_elsewhere, located_in, assured_date, search_vector, "
           "open_minutes, dated_slots, service_first, props")


def differences(conn: Connection) -> int:
    """Rows in the table but not in the source, plus rows in the source but not the table."""
    return conn.execute(text(
        f"SELECT count(*) FROM ((SELECT {COLUMNS} FROM search_doc EXCEPT "
        f"SELECT {COLUMNS} FROM search_doc_source) UNION ALL (SELECT {COLUMNS} FROM "
        f"search_doc_source EXCEPT SELECT {COLUMNS} FROM search_doc)) x")).scalar_one()


def docs(conn: Connection, service_id: uuid.UUID) -> list[dict]:
    """The service's rows, their display properties by name."""
    rows = [dict(r._mapping) for r in conn.execute(text(
        "SELECT doc_id, location_id, kern_code, serves_elsewhere, located_in, service_first, props "
        "FROM search_doc WHERE service_id = :s ORDER BY doc_id"), {"s": service_id})]
    for row in rows:
        row["props"] = dict(zip(q.PROPS, row["props"], strict=True))
    return rows


@pytest.fixture
def kern_pair(conn: Connection) -> tuple[str, str, float, float]:
    """Two kernen of one gemeente and a point of the first."""
    row = conn.execute(text(
        "SELECT a.code, b.code, ST_X(a.point), ST_Y(a.point) FROM kern a JOIN kern b "
        "ON b.gemeente_code = a.gemeente_code AND b.code > a.code "
        "WHERE ST_Covers(a.area, a.point) ORDER BY a.code LIMIT 1")).one()
    return row[0], row[1], float(row[2]), float(row[3])


def test_every_write_path_keeps_the_rows_equal_to_the_registry(conn, kern_pair) -> None:
    kern, other, x, y = kern_pair
    assert differences(conn) == 0, "the seeded registry's rows"
    sid = conn.execute(text(
        "INSERT INTO service (name, kind, description) VALUES ('Soepbus Noord', "
        "'vrijwilligersnetwerk', 'maaltijden aan huis') RETURNING id")).scalar_one()
    assert docs(conn, sid)[0]["location_id"] is None, "help without an address: one row"
    lid = conn.execute(text(
        "INSERT INTO location (location_type, precision, geom, kern_code, address) VALUES "
        "('physical', 'address', ST_SetSRID(ST_MakePoint(:x, :y), 28992), :k, 'Dorpsstraat 1') "
        "RETURNING id"), {"x": x + 10, "y": y, "k": kern}).scalar_one()
    sal = conn.execute(text("INSERT INTO service_at_location (service_id, location_id) "
                            "VALUES (:s, :l) RETURNING id"), {"s": sid, "l": lid}).scalar_one()
    rows = docs(conn, sid)
    assert [r["doc_id"] for r in rows] == [sal] and rows[0]["located_in"] == [kern]
    assert rows[0]["props"]["address"] == "Dorpsstraat 1" and rows[0]["service_first"]
    assert differences(conn) == 0

    terms = conn.execute(text("SELECT id FROM taxonomy_term WHERE code IN ('maaltijden', "
                              "'ouderen')")).scalars().all()
    conn.execute(text("INSERT INTO attribute (service_id, taxonomy_term_id) "
                      "SELECT :s, unnest(CAST(:t AS uuid[]))"), {"s": sid, "t": list(terms)})
    conn.execute(text("INSERT INTO schedule (service_id, weekday, opens_at, closes_at) VALUES "
                      "(:s, 2, '10:00', '12:00'), (:s, 4, '14:00', '16:30')"), {"s": sid})
    conn.execute(text("INSERT INTO schedule (service_id, weekday, opens_at, closes_at, "
                      "valid_from, valid_to) VALUES (:s, 6, '09:00', '10:00', '2026-12-01', "
                      "'2026-12-31')"), {"s": sid})
    conn.execute(text("INSERT INTO service_area (service_id, kern_code) VALUES (:s, :k)"),
                 {"s": sid, "k": other})
    row = docs(conn, sid)[0]
    assert row["props"]["categories"] == ["maaltijden"]
    assert row["props"]["audiences"] == ["ouderen"] and row["serves_elsewhere"] == [other]
    assert len(row["props"]["slots"]) == 3
    assert differences(conn) == 0

    # An edit, a status change, a move onto another kern, a home (published at the kern point).
    conn.execute(text("UPDATE service SET name = 'Soepbus Noord en Zuid', status = "
                      "'temporarily closed' WHERE id = :s"), {"s": sid})
    conn.execute(text("UPDATE location SET location_type = 'private' WHERE id = :l"),
                 {"l": lid})
    row = docs(conn, sid)[0]
    assert row["props"]["name"] == "Soepbus Noord en Zuid"
    assert row["props"]["address"] is None and row["props"]["precision"] == "kern"
    assert differences(conn) == 0

    # A second location, then the first one goes: one row per location, first row moves on.
    lid2 = conn.execute(text(
        "INSERT INTO location (location_type, precision, geom, kern_code) SELECT 'physical', "
        "'address', point, code FROM kern WHERE code = :k RETURNING id"),
        {"k": other}).scalar_one()
    conn.execute(text("INSERT INTO service_at_location (service_id, location_id) "
                      "VALUES (:s, :l)"), {"s": sid, "l": lid2})
    assert sorted(docs(conn, sid)[0]["located_in"]) == sorted([kern, other])
    assert sum(r["service_first"] for r in docs(conn, sid)) == 1
    assert differences(conn) == 0
    conn.execute(text("DELETE FROM location WHERE id = :l"), {"l": lid})  # cascades to the link
    assert [r["location_id"] for r in docs(conn, sid)] == [lid2]
    assert differences(conn) == 0

    # Names shown in the rows: a kern and a gemeente renamed, a term recoded.
    conn.execute(text("UPDATE kern SET name = name || ' (nieuw)' WHERE code = :k"), {"k": other})
    assert docs(conn, sid)[0]["props"]["kern_name"].endswith(" (nieuw)")
    conn.execute(text("UPDATE gemeente SET name = name || ' (fusie)' WHERE code = "
                      "(SELECT gemeente_code FROM kern WHERE code = :k)"), {"k": other})
    assert docs(conn, sid)[0]["props"]["gemeente_name"].endswith(" (fusie)")
    conn.execute(text("UPDATE taxonomy_term SET code = 'maaltijden-thuis' "
                      "WHERE code = 'maaltijden'"))
    assert docs(conn, sid)[0]["props"]["categories"] == ["maaltijden-thuis"]
    assert differences(conn) == 0

    # Attributes, slots and the area removed, then the service itself.
    conn.execute(text("DELETE FROM attribute WHERE service_id = :s"), {"s": sid})
    conn.execute(text("DELETE FROM schedule WHERE service_id = :s AND weekday = 2"), {"s": sid})
    conn.execute(text("DELETE FROM service_area WHERE service_id = :s"), {"s": sid})
    row = docs(conn, sid)[0]
    assert row["props"]["categories"] == [] and row["serves_elsewhere"] == []
    assert differences(conn) == 0
    conn.execute(text("DELETE FROM service WHERE id = :s"), {"s": sid})
    assert docs(conn, sid) == []
    assert differences(conn) == 0


def test_a_bulk_update_of_many_services_is_one_refresh(conn) -> None:
    """An import or a moderation batch touches many services in one statement."""
    before = conn.execute(text("SELECT count(*) FROM search_doc WHERE status = 'active'"))
    conn.execute(text("UPDATE service SET status = 'inactive' WHERE id IN "
                      "(SELECT id FROM service WHERE status = 'active' ORDER BY id LIMIT 300)"))
    after = conn.execute(text("SELECT count(*) FROM search_doc WHERE status = 'active'"))
    assert before.scalar_one() - after.scalar_one() >= 300
    assert differences(conn) == 0


def test_rebuild_gives_the_same_rows(conn) -> None:
    count = conn.execute(text("SELECT count(*) FROM search_doc")).scalar_one()
    assert conn.execute(text("SELECT sm_search_doc_rebuild()")).scalar_one() == count
    assert differences(conn) == 0


def test_search_sees_a_change_at_once(conn, kern_pair) -> None:
    kern, _other, x, y = kern_pair
    sid = conn.execute(text(
        "INSERT INTO service (name, kind) VALUES ('Klusjesdienst Test', 'vrijwilligersnetwerk') "
        "RETURNING id")).scalar_one()
    lid = conn.execute(text(
        "INSERT INTO location (location_type, precision, geom, kern_code) VALUES ('physical', "
        "'address', ST_SetSRID(ST_MakePoint(:x, :y), 28992), :k) RETURNING id"),
        {"x": x + 3, "y": y + 4, "k": kern}).scalar_one()
    conn.execute(text("INSERT INTO service_at_location (service_id, location_id) "
                      "VALUES (:s, :l)"), {"s": sid, "l": lid})

    def nearest() -> list[q.Hit]:
        return [h for h in q.run_search(conn, q.SearchQuery(mode="nearest", x=x, y=y,
                                                            limit=500)).rows
                if h.service_id == sid]

    (hit,) = nearest()
    assert hit.name == "Klusjesdienst Test" and hit.distance_m == 5
    conn.execute(text("UPDATE service SET status = 'defunct' WHERE id = :s"), {"s": sid})
    assert nearest() == []


def test_kern_pieces_answer_like_the_kern_areas(conn) -> None:
    """The kern covering a point, read from the pieces, is the kern whose area covers it."""
    points = conn.execute(text(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT (ST_Dump(ST_GeneratePoints("
        "ST_Envelope(ST_Collect(area)), 300, 7))).geom AS p FROM kern WHERE gemeente_code = "
        "(SELECT gemeente_code FROM kern GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)) g")).all()
    for x, y in points:
        expected = conn.execute(text(
            "SELECT code FROM kern WHERE ST_Covers(area, ST_SetSRID(ST_MakePoint(:x, :y), "
            "28992)) ORDER BY code LIMIT 1"), {"x": x, "y": y}).scalar()
        found = places.kern_at(conn, x, y)
        assert (found.code if found else None) == expected


def test_a_changed_kern_area_gets_new_pieces(conn, kern_pair) -> None:
    kern, _other, x, y = kern_pair
    conn.execute(text("UPDATE kern SET area = ST_Multi(ST_Buffer(point, 50)) WHERE code = :k"),
                 {"k": kern})
    assert places.kern_at(conn, x + 40, y).code == kern
    inside = conn.execute(text("SELECT bool_and(ST_Within(geom, ST_Buffer(k.point, 51))) "
                               "FROM kern_piece p JOIN kern k ON k.code = p.kern_code "
                               "WHERE k.code = :k"), {"k": kern}).scalar_one()
    assert inside
