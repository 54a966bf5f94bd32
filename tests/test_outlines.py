"""Map outlines: drawn once per process, the same as drawn anew, forgotten on a geography load."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from socialmap.errors import NotFound
from socialmap.geocode import kernen
from socialmap.geodata.loader import DATASET
from socialmap.queries import outlines as q
from socialmap.services import outlines as svc

KERN = "GM0971-meers"


def _box_around_kern(conn: Connection, code: str, reach: float = 1500.0
                     ) -> tuple[float, float, float, float]:
    x, y = conn.execute(text("SELECT ST_X(point), ST_Y(point) FROM kern WHERE code = :c"),
                        {"c": code}).one()
    return x - reach, y - reach, x + reach, y + reach


def _drawn_anew(conn: Connection, box: tuple[float, float, float, float]
                ) -> list[dict[str, Any]]:
    """What a page got before the cache: every outline drawn by PostGIS, in the box's order."""
    return svc.in_box(conn, box, cache=svc.OutlineCache())


def test_cached_outlines_are_the_ones_drawn_anew(conn: Connection) -> None:
    box = _box_around_kern(conn, KERN)
    cache = svc.OutlineCache()
    first = svc.in_box(conn, box, cache)
    assert {(o["kind"], o["code"]) for o in first} >= {("kern", KERN), ("gemeente", "GM0971")}
    assert [o["kind"] for o in first] == sorted((o["kind"] for o in first),
                                                key=["gemeente", "kern"].index)
    again = svc.in_box(conn, box, cache)
    assert again == first == _drawn_anew(conn, box)
    assert all(a is b for a, b in zip(again, first, strict=True))  # from the cache
    # A wider box shares some outlines with the first and draws only the new ones.
    wide = _box_around_kern(conn, KERN, 6000.0)
    assert svc.in_box(conn, wide, cache) == _drawn_anew(conn, wide)


def test_a_geography_load_empties_the_cache(conn: Connection) -> None:
    box = _box_around_kern(conn, KERN)
    cache = svc.OutlineCache()
    svc.in_box(conn, box, cache)
    # A reload writes the areas and a new checksum in one transaction.
    conn.execute(text("UPDATE kern SET name = 'Meers aan de Maas' WHERE code = :c"), {"c": KERN})
    conn.execute(text("UPDATE dataset_load SET checksum = 'reloaded' WHERE name = :n"),
                 {"n": DATASET})
    names = {o["code"]: o["name"] for o in svc.in_box(conn, box, cache)}
    assert names[KERN] == "Meers aan de Maas"


def test_without_a_recorded_load_nothing_is_kept(conn: Connection) -> None:
    box = _box_around_kern(conn, KERN)
    conn.execute(text("DELETE FROM dataset_load WHERE name = :n"), {"n": DATASET})
    cache = svc.OutlineCache()
    first = svc.in_box(conn, box, cache)
    assert first and first == svc.in_box(conn, box, cache)
    assert all(a is not b for a, b in zip(svc.in_box(conn, box, cache), first, strict=True))


def test_rows_of_another_load_are_not_kept() -> None:
    cache = svc.OutlineCache()
    assert cache.lookup("v1", [("kern", KERN)]) == {}
    cache.keep("v1", {("kern", KERN): {"name": "Meers"}})
    assert cache.lookup("v1", [("kern", KERN)]) == {("kern", KERN): {"name": "Meers"}}
    assert cache.lookup("v2", [("kern", KERN)]) == {}  # a new load: all forgotten
    cache.keep("v1", {("kern", KERN): {"name": "Meers"}})  # drawn from the old load: not kept
    assert cache.lookup("v2", [("kern", KERN)]) == {}


def test_areas_in_box_and_outlines_report_the_load(conn: Connection) -> None:
    box = _box_around_kern(conn, KERN)
    checksum = conn.execute(text("SELECT checksum FROM dataset_load WHERE name = :n"),
                            {"n": DATASET}).scalar_one()
    refs = q.areas_in_box(conn, box, DATASET)
    assert refs and {r.version for r in refs} == {checksum}
    drawn = q.outlines(conn, [KERN], [], DATASET)
    assert [(r.kind, r.code, r.version) for r in drawn] == [("kern", KERN, checksum)]
    assert q.outlines(conn, [], [], DATASET) == []


def test_kern_feature_is_kept_per_geography_load(conn: Connection) -> None:
    cache = svc.OutlineCache()
    with Session(bind=conn) as s:
        first = svc.kern_feature(s, KERN, cache)
        assert first == kernen.feature(s, KERN)
        assert svc.kern_feature(s, KERN, cache) is first
        conn.execute(text("UPDATE kern SET inhabitants = 12345 WHERE code = :c"), {"c": KERN})
        conn.execute(text("UPDATE dataset_load SET checksum = 'reloaded' WHERE name = :n"),
                     {"n": DATASET})
        assert svc.kern_feature(s, KERN, cache)["properties"]["inhabitants"] == 12345
        with pytest.raises(NotFound):
            svc.kern_feature(s, "GM0000-nergens", cache)
