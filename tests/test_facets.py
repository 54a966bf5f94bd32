"""Facet counts are capped like the search's total and exact below the cap, whichever way they
are counted (one budgeted pass, or code by code beyond the budget)."""
from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from socialmap.config import Settings
from socialmap.queries import facets
from socialmap.queries import search as search_q
from socialmap.schedule import now_local
from socialmap.services import search as svc
from tests.test_pages import _add, _meers, page

MANY = search_q.COUNT_CAP + 5


@pytest.fixture
def crowded(conn: Connection) -> dict[str, Any]:
    """MANY transport initiatives and three meal initiatives for older people near Meers."""
    meers = _meers(conn)
    x, y = float(meers.x), float(meers.y)
    for i in range(MANY):
        _add(conn, (x + (i % 20) * 40, y + (i // 20) * 40), f"Rijdienst {i}", "vervoersdienst",
             categories=("vrijwilligersvervoer",), audiences=("mensen-met-een-beperking",))
    for i in range(3):
        _add(conn, (x - 200 - i * 30, y), f"Maaltijd {i}", "maaltijdvoorziening",
             categories=("maaltijden",), audiences=("ouderen",))
    return {"x": x, "y": y}


def _counts(conn: Connection, settings: Settings, **asked: Any) -> dict[str, dict[str, int]]:
    s = Session(bind=conn)
    req = svc.SearchRequest(near="Meers", demo=False, **asked)
    result = svc.search(s, req, settings)
    query = search_q.SearchQuery(
        mode=result.mode, x=result.place.x, y=result.place.y, radius=result.radius,
        kern_code=result.kern_code, filters=svc.build_filters(s, req, settings, now_local()))
    return facets.facet_counts(conn, query)


def _total(conn: Connection, settings: Settings, **asked: Any) -> int:
    """What the search itself reports for a filter: exact, or COUNT_CAP + 1 for "more"."""
    result = svc.search(Session(bind=conn), svc.SearchRequest(near="Meers", demo=False,
                                                              **asked), settings)
    return result.matched if result.matched is not None else search_q.COUNT_CAP + 1


@pytest.mark.parametrize("mode", [{"radius": 3000}, {}], ids=["radius", "kern"])
def test_each_count_is_what_ticking_the_box_gives(conn: Connection, settings: Settings,
                                                   crowded: dict[str, Any], mode: dict[str, Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    counted = _counts(conn, settings, **mode)
    assert counted["category"]["vrijwilligersvervoer"] == search_q.COUNT_CAP + 1
    assert counted["category"]["vervoer"] == search_q.COUNT_CAP + 1  # the parent term
    assert counted["category"]["maaltijden"] == 3
    assert counted["audience"]["ouderen"] >= 3
    for facet, name in (("category", "categories"), ("audience", "audiences")):
        for code, n in counted[facet].items():
            assert n == _total(conn, settings, **mode, **{name: (code,)}), (facet, code)
    # Counted code by code (a budget smaller than the hits) the answer is the same.
    monkeypatch.setattr(facets, "SCAN_BUDGET", 10)
    assert _counts(conn, settings, **mode) == counted


def test_a_facet_filter_leaves_its_own_counts_alone(conn: Connection, settings: Settings,
                                                    crowded: dict[str, Any],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    whole = _counts(conn, settings, radius=3000)
    meals = _counts(conn, settings, radius=3000, categories=("maaltijden",))
    assert meals["category"] == whole["category"]
    assert meals["audience"]["ouderen"] == 3
    assert "mensen-met-een-beperking" not in meals["audience"]
    monkeypatch.setattr(facets, "SCAN_BUDGET", 2)
    assert _counts(conn, settings, radius=3000, categories=("maaltijden",)) == meals


def test_the_page_shows_capped_counts(client: FlaskClient, crowded: dict[str, Any]) -> None:
    html = page(client, "/?near=Meers&radius=3000&demo=false")

    def shown(facet: str, code: str) -> str:
        m = re.search(rf'id="{facet}-{code}"[^>]*>\s*<label[^>]*>[^<]*<span class="count">'
                      r"\(([^)]*)\)", html)
        assert m, (facet, code)
        return m.group(1)

    assert shown("category", "vervoer") == f"{search_q.COUNT_CAP}+"
    assert shown("category", "maaltijden") == "3"
    assert "Meer dan 200 initiatieven" in html



def test_a_budget_leaves_codes_uncounted_never_guessed(conn: Connection, settings: Settings,
                                                       crowded: dict[str, Any],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Past its time budget the second statement is cancelled in a savepoint: the codes it
    would have counted are None (the page shows no number), the others stay exact, and the
    transaction goes on."""
    exact = _counts(conn, settings, radius=3000)
    monkeypatch.setattr(facets, "SCAN_BUDGET", 10)  # so that the second statement runs
    real = conn.exec_driver_sql

    def slow(sql: str, *args: Any) -> Any:  # the second statement, made to overrun 1 ms
        if sql.lstrip().startswith("SELECT c.code"):
            sql = sql.replace("SELECT c.code,", "SELECT c.code, pg_sleep(0.01) IS NULL,", 1)
            return [(code, hits) for code, _slept, hits in real(sql, *args)]
        return real(sql, *args)

    monkeypatch.setattr(conn, "exec_driver_sql", slow)
    query = search_q.SearchQuery(mode="radius", x=crowded["x"], y=crowded["y"], radius=3000,
                                 filters=search_q.Filters(include_demo=False))
    budgeted = facets.facet_counts(conn, query, budget_ms=1)
    monkeypatch.undo()
    for facet, counts in budgeted.items():
        for code, n in counts.items():
            assert n is None or n == exact[facet][code] == search_q.COUNT_CAP + 1, (code, n)
    assert None in budgeted["category"].values()
    # The savepoint is gone and the statement timeout is the connection's again.
    assert conn.exec_driver_sql("SHOW statement_timeout").scalar_one() != "1ms"
    assert conn.exec_driver_sql("SELECT count(*) FROM service").scalar_one() > 0


def test_the_page_shows_no_number_for_an_uncounted_code(client: FlaskClient,
                                                         crowded: dict[str, Any],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    real = facets.facet_counts

    def partly(conn: Connection, query: Any, budget_ms: int | None = None) -> Any:
        counts = real(conn, query, budget_ms)
        counts["category"]["maaltijden"] = None
        return counts

    monkeypatch.setattr(facets, "facet_counts", partly)
    html = page(client, "/?near=Meers&radius=3000&demo=false")
    label = re.search(r'id="category-maaltijden"[^>]*>\s*<label[^>]*>(.*?)</label>', html, re.S)
    assert label and "class=\"count\"" not in label.group(1)
    assert re.search(r'id="category-vervoer"[^>]*>\s*<label[^>]*>[^<]*<span class="count">',
                     html)


def test_a_hit_counts_once_for_a_parent_of_two_of_its_terms(
        conn: Connection, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pass groups hits by their term ids: a hit with two children of one parent is one
    hit of that parent, whichever way it is counted."""
    meers = _meers(conn)
    x, y = float(meers.x), float(meers.y)
    before = _counts(conn, settings, radius=3000)["category"]
    for i in range(4):
        _add(conn, (x + i * 30, y + 50), f"Vervoer {i}", "vervoersdienst",
             categories=("vrijwilligersvervoer", "buurtbus"), audiences=("ouderen",))
    _add(conn, (x, y + 80), "Buurtbus", "vervoersdienst", categories=("buurtbus",))
    counted = _counts(conn, settings, radius=3000)
    added = {code: n - before.get(code, 0) for code, n in counted["category"].items()}
    assert (added["vrijwilligersvervoer"], added["buurtbus"], added["vervoer"]) == (4, 5, 5)
    assert counted["category"]["vervoer"] == _total(conn, settings, radius=3000,
                                                    categories=("vervoer",))
    monkeypatch.setattr(facets, "SCAN_BUDGET", 2)
    assert _counts(conn, settings, radius=3000) == counted


def test_the_pass_leaves_the_planner_as_it_was(conn: Connection, settings: Settings,
                                               crowded: dict[str, Any]) -> None:
    """The pass is planned with index scans and sorts off; the statements after it are not."""
    conn.exec_driver_sql("SET LOCAL enable_sort = on")
    _counts(conn, settings, radius=3000)
    for name in ("enable_indexscan", "enable_sort"):
        assert conn.exec_driver_sql(f"SHOW {name}").scalar_one() == "on", name


def test_a_code_no_service_has_is_not_counted_over_the_hits(
        conn: Connection, settings: Settings, crowded: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond the pass, a code that no service has (a new term) has no hits without a count
    over all the hits; a code some service has is still counted."""
    conn.exec_driver_sql(
        "INSERT INTO taxonomy_term (taxonomy_id, code, name, name_en, parent_id) "
        "SELECT taxonomy_id, 'nog-ongebruikt', 'Nog ongebruikt', 'Not used yet', id "
        "FROM taxonomy_term WHERE code = 'vervoer'")
    exact = _counts(conn, settings, radius=3000)
    assert "nog-ongebruikt" not in exact["category"]
    monkeypatch.setattr(facets, "SCAN_BUDGET", 10)
    asked: list[str] = []
    real = facets._within

    def recording(conn: Connection, budget_ms: Any, sql: str, values: dict[str, Any]) -> Any:
        asked.extend(values["open"])
        return real(conn, budget_ms, sql, values)

    monkeypatch.setattr(facets, "_within", recording)
    assert _counts(conn, settings, radius=3000) == exact
    assert "nog-ongebruikt" not in asked and "maaltijden" in asked


def test_a_pass_past_the_statement_timeout_is_that_error(
        conn: Connection, settings: Settings, crowded: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The statement timeout's own error (a 504 for the page), not one of the failed
    transaction's next statement."""
    from psycopg.errors import QueryCanceled
    from sqlalchemy.exc import OperationalError

    monkeypatch.setattr(facets, "_scan_sql",
                        lambda *_args: "SELECT 'category', NULL, NULL FROM pg_sleep(1)")
    query = search_q.SearchQuery(mode="radius", x=crowded["x"], y=crowded["y"], radius=3000,
                                 filters=search_q.Filters(include_demo=False))
    savepoint = conn.begin_nested()
    conn.exec_driver_sql("SET LOCAL statement_timeout = '50ms'")
    with pytest.raises(OperationalError) as raised:
        facets.facet_counts(conn, query)
    savepoint.rollback()
    assert isinstance(raised.value.orig, QueryCanceled)
