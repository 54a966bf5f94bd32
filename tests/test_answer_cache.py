"""Public pages kept per worker for a minute (web/answer_cache.py): anonymous requests only, a
fresh CSP nonce in every answer, never a page that set a cookie, counted demand or is private."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from socialmap import create_app
from socialmap.config import Settings

NONCE = re.compile(r"'nonce-([^']+)'")


@pytest.fixture
def cached(settings: Settings, conn: Connection) -> FlaskClient:
    return create_app(replace(settings, answer_cache_seconds=60), bind=conn).test_client()


@pytest.fixture
def service_id(conn: Connection) -> str:
    return str(conn.execute(text(
        "SELECT s.id FROM service s JOIN service_at_location sal ON sal.service_id = s.id "
        "WHERE s.status = 'active' AND NOT s.is_demo ORDER BY s.name LIMIT 1")).scalar_one())


def nonce_of(resp) -> str:  # noqa: ANN001
    (nonce,) = set(NONCE.findall(resp.headers["Content-Security-Policy"]))
    return nonce


def test_an_initiative_page_is_kept_with_a_fresh_nonce_each_time(cached: FlaskClient,
                                                                 conn: Connection,
                                                                 service_id: str) -> None:
    first = cached.get(f"/initiatief/{service_id}")
    second = cached.get(f"/initiatief/{service_id}")
    assert first.status_code == second.status_code == 200
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("miss", "hit")
    n1, n2 = nonce_of(first), nonce_of(second)
    assert n1 != n2
    html1, html2 = first.get_data(as_text=True), second.get_data(as_text=True)
    # The nonce of each answer's header is the one in its scripts, and nothing else differs.
    assert f'nonce="{n1}"' in html1 and f'nonce="{n2}"' in html2 and n1 not in html2
    assert html1.replace(n1, "N") == html2.replace(n2, "N")
    assert "\x00" not in html2
    # Kept: a change shows after the minute, or at once to a visitor with a cookie.
    conn.execute(text("UPDATE service SET name = 'Nieuwe naam' WHERE id = :s"),
                 {"s": service_id})
    assert "Nieuwe naam" not in cached.get(f"/initiatief/{service_id}").get_data(as_text=True)
    cached.set_cookie("lang", "nl")
    fresh = cached.get(f"/initiatief/{service_id}")
    assert "X-Cache" not in fresh.headers and "Nieuwe naam" in fresh.get_data(as_text=True)


def test_the_initiative_api_is_kept_with_its_vary(cached: FlaskClient, service_id: str) -> None:
    states = [cached.get(f"/api/v1/initiatives/{service_id}") for _ in range(2)]
    assert [r.headers["X-Cache"] for r in states] == ["miss", "hit"]
    assert states[0].get_json() == states[1].get_json()
    assert "Cookie" in states[1].headers["Vary"]


def test_a_kern_page_with_forms_is_never_kept(cached: FlaskClient) -> None:
    # It carries the visitor's CSRF token (a session cookie) and live support counts.
    for _ in range(2):
        resp = cached.get("/kern/GM0971-meers")
        assert resp.status_code == 200 and "X-Cache" not in resp.headers


def test_a_search_page_is_kept_unless_it_counted_demand(cached: FlaskClient,
                                                        conn: Connection) -> None:
    found = [cached.get("/?near=Meers").headers.get("X-Cache") for _ in range(2)]
    assert found == ["miss", "hit"]
    few = "/?near=Meers&category=opvoeden&audience=jongeren"
    for _ in range(3):
        assert "X-Cache" not in cached.get(few).headers
    searches = conn.execute(text("SELECT sum(searches) FROM demand_signal WHERE "
                                 "kern_code = 'GM0971-meers'")).scalar_one()
    assert searches == 3


def test_errors_and_other_pages_are_not_kept(cached: FlaskClient) -> None:
    for _ in range(2):
        assert "X-Cache" not in cached.get("/initiatief/not-a-uuid").headers
        assert "X-Cache" not in cached.get("/privacy").headers
