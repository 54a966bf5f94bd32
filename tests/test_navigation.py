"""Every page of the site can be reached by following links from the start page, as a resident
and as signed-in staff; the header names who is signed in and offers to sign out."""
from __future__ import annotations

import re
from collections import deque
from html import unescape
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection
from werkzeug.exceptions import HTTPException

from tests.staff import STEIN, make_user, plant, session_into

# Reached by a form, a redirect or a reference the resident is given, not by a link
# (needs.post is the kern page's own form, shown there; alerts.feed is a follower's own link).
NOT_LINKED = {"contribute.status", "auth.second_factor", "auth.enrol", "editor.review",
              "health.healthz", "pages.language", "needs.post", "alerts.feed"}
PER_ENDPOINT = 3
MAX_PAGES = 150


def crawl(app: Flask, client: FlaskClient, start: str = "/?near=Meers") -> dict[str, str]:
    """Breadth-first over the site's links (GET, HTML only): endpoint -> first URL found."""
    adapter = app.url_map.bind("localhost")
    seen: dict[str, int] = {}
    reached: dict[str, str] = {}
    queue, visited = deque(["/", start]), set()
    while queue and len(visited) < MAX_PAGES:
        url = queue.popleft()
        if url in visited:
            continue
        visited.add(url)
        # Closed unread when not a page: a download link's answer is a stream that holds the
        # request's session until it is closed.
        with client.get(url) as resp:
            if resp.status_code != 200 or resp.mimetype != "text/html":
                continue
            html = resp.get_data(as_text=True)
        for href in re.findall(r'<a [^>]*href="([^"#]+)', html):
            href = unescape(href)
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path.startswith("/") \
                    or parts.path.startswith("/static/"):
                continue
            try:
                endpoint, _args = adapter.match(parts.path, method="GET")
            except HTTPException:
                continue
            reached.setdefault(endpoint, href)
            if seen.get(endpoint, 0) < PER_ENDPOINT and href not in visited:
                seen[endpoint] = seen.get(endpoint, 0) + 1
                queue.append(href)
    return reached


def _pages(app: Flask, prefixes: tuple[str, ...]) -> set[str]:
    """GET endpoints that answer people with HTML (the site, not the APIs)."""
    return {r.endpoint for r in app.url_map.iter_rules()
            if "GET" in (r.methods or ()) and r.endpoint.split(".")[0] in prefixes}


def test_a_resident_reaches_every_public_page(app: Flask, client: FlaskClient) -> None:
    reached = crawl(app, client)
    public = _pages(app, ("pages", "contribute", "gaps", "fragility", "about")) - NOT_LINKED
    assert public - set(reached) == set()
    for endpoint in ("auth.login", "api.openapi_page"):
        assert endpoint in reached
    html = client.get("/").get_data(as_text=True)
    assert 'href="/aanmelden"' in html and 'href="/inloggen"' in html
    assert "Uitloggen" not in html


def test_staff_reach_their_pages_and_see_who_is_signed_in(app: Flask, client: FlaskClient,
                                                          conn: Connection) -> None:
    editor = make_user(conn, "nav@stein.nl", "editor", (STEIN,), name="Redacteur Nav")
    session_into(client, conn, editor)
    html = client.get("/").get_data(as_text=True)
    assert "Ingelogd als Redacteur Nav" in html
    assert 'action="/uitloggen"' in html and 'name="csrf_token"' in html
    assert 'href="/redactie"' in html and 'href="/inloggen"' not in html
    reached = crawl(app, client, "/?near=Meers")
    staff = _pages(app, ("editor", "auth", "needs", "alerts")) - NOT_LINKED
    staff -= {"auth.login", "auth.logout", "editor.erase"}  # erase is for admins
    staff -= {r.endpoint for r in app.url_map.iter_rules() if "GET" not in (r.methods or ())}
    assert staff - set(reached) == set()


def test_a_staff_page_has_one_sign_out_control(client: FlaskClient, conn: Connection) -> None:
    """The header names who is signed in and signs out; the staff navigation repeats neither."""
    admin = make_user(conn, "nav-admin@stein.nl", "admin", (STEIN,), name="Beheerder Nav")
    rec = plant(conn, "Dorpshuis Meers (nav)", "GM0971-meers")
    session_into(client, conn, admin)
    for url in ("/redactie", "/redactie/verouderd", "/redactie/behoeften", "/redactie/vraag",
                "/volgen", "/account", "/beheer/verwijderen", f"/initiatief/{rec.id}/bewerken",
                f"/initiatief/{rec.id}/geschiedenis", f"/initiatief/{rec.id}/intern"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        html = resp.get_data(as_text=True)
        assert html.count('action="/uitloggen"') == 1, url
        assert html.count("Uitloggen") == 1, url
        header, body = html.split("</header>", 1)
        assert 'action="/uitloggen"' in header, url
        assert "Ingelogd als Beheerder Nav (beheerder)" in header, url
        staff_nav = re.search(r'<nav class="staff-nav".*?</nav>', body, re.S)
        assert staff_nav and "Beheerder Nav" not in staff_nav.group(0), url


def test_half_signed_in_staff_have_one_sign_out_control(client: FlaskClient,
                                                       conn: Connection) -> None:
    editor = make_user(conn, "nav-code@stein.nl", "editor", (STEIN,), name="Redacteur Code")
    session_into(client, conn, editor, second_factor=False)
    html = client.get("/inloggen/code").get_data(as_text=True)
    assert html.count('action="/uitloggen"') == 1
    assert 'action="/uitloggen"' in html.split("</header>")[0]


def test_an_area_team_member_sees_the_internal_view_link(client: FlaskClient,
                                                          conn: Connection) -> None:
    team = make_user(conn, "team@stein.nl", "gebiedsteam", (STEIN,), name="Team Stein")
    session_into(client, conn, team)
    html = client.get("/?near=Meers").get_data(as_text=True)
    detail = re.search(r'href="(/initiatief/[0-9a-f-]+)"', html)
    assert detail
    page = client.get(detail.group(1)).get_data(as_text=True)
    assert "/intern" in page and "/bewerken" not in page
    assert 'href="/account"' in client.get("/").get_data(as_text=True)


def test_the_detail_page_invites_a_correction(client: FlaskClient) -> None:
    html = client.get("/?near=Meers").get_data(as_text=True)
    detail = re.search(r'href="(/initiatief/[0-9a-f-]+)"', html)
    assert detail
    page = client.get(detail.group(1)).get_data(as_text=True)
    assert f'href="{detail.group(1)}/wijziging"' in page
    assert "/bewerken" not in page and "/intern" not in page
