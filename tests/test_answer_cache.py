"""Public pages kept for a minute (web/answer_cache.py): anonymous requests only, a fresh CSP
nonce in every answer (and a CSRF token on the kern page), never a page that set a cookie for
another reason, counted demand or is private."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from socialmap import create_app
from socialmap.config import Settings

from .staff import form_token

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


def test_a_kern_page_is_kept_with_a_csrf_token_and_session_of_its_own_per_answer(
        cached: FlaskClient, settings: Settings, conn: Connection) -> None:
    # Each anonymous visitor gets the kept page with a token of their own in a session cookie
    # of their own; the browser is still told not to store it.
    app = cached.application
    visitors = [app.test_client() for _ in range(3)]
    pages = [v.get("/kern/GM0971-meers") for v in visitors]
    assert [p.headers.get("X-Cache") for p in pages] == ["miss", "hit", "hit"]
    tokens = [form_token(p.get_data(as_text=True)) for p in pages]
    assert len(set(tokens)) == 3 and all(len(t) > 30 for t in tokens)
    for page, token in zip(pages, tokens, strict=True):
        assert page.headers["Cache-Control"] == "no-store"
        assert "Set-Cookie" in page.headers and "\x00" not in page.get_data(as_text=True)
        assert page.get_data(as_text=True).count(token) >= 1
    bodies = [p.get_data(as_text=True) for p in pages]
    for i in (1, 2):
        assert (bodies[0].replace(tokens[0], "T").replace(nonce_of(pages[0]), "N")
                == bodies[i].replace(tokens[i], "T").replace(nonce_of(pages[i]), "N"))
    # The token of a kept answer posts with its own session, and not with another visitor's.
    form = {"category": "vervoer", "audience": "ouderen",
            "text": "Geen busje meer naar de huisarts sinds de lijn stopte, wie rijdt er mee?"}
    wrong = visitors[2].post("/kern/GM0971-meers/behoefte",
                             data={**form, "csrf_token": tokens[1]})
    assert wrong.status_code == 403
    posted = visitors[1].post("/kern/GM0971-meers/behoefte",
                              data={**form, "csrf_token": tokens[1]},
                              environ_base={"REMOTE_ADDR": "198.51.100.12"})
    assert posted.status_code == 303
    assert conn.execute(text("SELECT count(*) FROM need WHERE text LIKE 'Geen busje%'")
                        ).scalar_one() == 1
    # A visitor with a cookie (here: the one who posted) gets the page made for them.
    assert "X-Cache" not in visitors[1].get("/kern/GM0971-meers").headers


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


def test_map_data_is_kept_with_its_public_max_age(cached: FlaskClient) -> None:
    path = "/api/v1/map?bbox=5.80,50.99,5.86,51.03&zoom=14"
    first, second = cached.get(path), cached.get(path)
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("miss", "hit")
    assert second.mimetype == "application/geo+json" and first.data == second.data
    assert second.headers["Cache-Control"] == first.headers["Cache-Control"] == (
        "public, max-age=60")
    assert cached.get(path.replace("zoom=14", "zoom=13")).headers["X-Cache"] == "miss"


def test_errors_and_other_pages_are_not_kept(cached: FlaskClient) -> None:
    for _ in range(2):
        assert "X-Cache" not in cached.get("/initiatief/not-a-uuid").headers
        assert "X-Cache" not in cached.get("/privacy").headers
