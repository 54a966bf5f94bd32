"""The Content-Security-Policy in Chromium: the search, kern and gap pages draw their maps with
no violation reported, the search map fetches the rest of what matches from the map data API,
and the maps keep working when the tile server fails."""
from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, text
from werkzeug.serving import make_server

from socialmap import create_app
from socialmap.config import Settings
from tests.conftest import GEODATA, TEST_DB

from .conftest import DESKTOP

# Registers every violation the browser reports, before any script of the page runs.
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' +
                    (e.sourceFile || '') + ':' + e.lineNumber));
"""
FAILING_TILES = "https://tiles.example.invalid/{z}/{x}/{y}.png"


def _open(browser, base: str, path: str, *, with_map: bool = True):  # noqa: ANN001, ANN202
    """A page at `path` with the violations and console errors it reports."""
    context = browser.new_context(base_url=base, viewport=DESKTOP, locale="nl-NL")
    tile_requests: list[str] = []

    def route(r) -> None:  # noqa: ANN001
        if r.request.url.startswith(base):
            r.continue_()
        else:
            tile_requests.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    context.add_init_script(WATCH)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: console.append(str(exc)))
    page.goto(path)
    if with_map:
        page.wait_for_selector(".folium-map", state="attached")
    page.wait_for_load_state("networkidle")
    return context, page, console, tile_requests


def _violations(page, console: list[str]) -> list[str]:  # noqa: ANN001
    reported = page.evaluate("window.__csp")
    blocked = [m for m in console if "Content Security Policy" in m]
    return reported + blocked


@pytest.fixture(scope="module")
def gemeente_of_meers(site_conn: Connection, meers: dict[str, str]) -> str:
    return site_conn.execute(text("SELECT gemeente_code FROM kern WHERE code = :k"),
                             {"k": meers["kern"]}).scalar_one()


def test_search_page_map_without_violations(browser, live_server) -> None:  # noqa: ANN001
    context, page, console, _tiles = _open(browser, live_server, "/?near=Meers")
    try:
        assert _violations(page, console) == []
        assert console == []
        # The page's own results as numbered pins, and what else matches from the API.
        assert page.locator(".leaflet-marker-pane .hit-pin").count() >= 1
        page.wait_for_selector(".folium-map[data-live-markers]", state="attached")
        live = page.locator(".leaflet-marker-pane .sm-point, .leaflet-marker-pane .sm-cluster")
        assert live.count() >= 1
        assert int(page.get_attribute(".folium-map", "data-live-markers") or 0) == live.count()
        assert page.locator(".leaflet-overlay-pane path").count() >= 2  # kern outlines
    finally:
        context.close()


def test_kern_page_map_without_violations(browser, live_server, meers) -> None:  # noqa: ANN001
    context, page, console, _tiles = _open(browser, live_server, f"/kern/{meers['kern']}")
    try:
        assert _violations(page, console) == []
        assert console == []
        assert page.locator(".leaflet-marker-pane .hit-pin").count() >= 1
        assert page.locator(".leaflet-overlay-pane path").count() >= 1
    finally:
        context.close()


def test_gap_page_map_without_violations(browser, live_server,  # noqa: ANN001
                                         gemeente_of_meers: str) -> None:
    context, page, console, _tiles = _open(
        browser, live_server, f"/gaps?area={gemeente_of_meers}&category=ontmoeting")
    try:
        assert _violations(page, console) == []
        assert console == []
        assert page.locator(".leaflet-overlay-pane path").count() >= 2  # kern areas by status
        # The sortable table's script now comes from a file: sorting still works.
        head = page.locator("table[data-sortable] thead th button").first
        head.click()
        assert page.locator("table[data-sortable] thead th").first.get_attribute(
            "aria-sort") in ("ascending", "descending")
    finally:
        context.close()


@pytest.mark.parametrize("path", [
    "/initiatief/{service_id}", "/initiatief/{service_id}/wijziging", "/aanmelden",
    "/?near=Meers&print=1", "/kern/{kern}?print=1", "/inloggen", "/privacy", "/kwetsbaar",
    "/api/v1/docs", "/ogc/", "/bestaat-niet"])
def test_other_pages_without_violations(browser, live_server, meers, path: str) -> None:  # noqa: ANN001
    context, page, console, _tiles = _open(browser, live_server, path.format(**meers),
                                           with_map=False)
    try:
        assert _violations(page, console) == []
        assert [m for m in console if "404" not in m] == []
    finally:
        context.close()


@pytest.fixture(scope="module")
def tiled_server(cluster, site_conn: Connection) -> Iterator[str]:  # noqa: ANN001
    """The site with a tile server that never answers (the browser refuses every tile)."""
    settings = Settings(database_url=cluster.socket_url(TEST_DB), testing=True,
                        secret_key="browser-tests", geodata_dir=GEODATA,
                        tile_url=FAILING_TILES)
    server = make_server("127.0.0.1", 0, create_app(settings, bind=site_conn), threaded=False)
    thread = threading.Thread(target=server.serve_forever, name="tiled-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_maps_work_when_tiles_fail(browser, tiled_server: str, meers) -> None:  # noqa: ANN001
    for path in ("/?near=6171&radius=5000", f"/kern/{meers['kern']}"):
        context, page, console, tiles = _open(browser, tiled_server, path)
        try:
            assert tiles and all(t.startswith("https://tiles.example.invalid/") for t in tiles)
            assert _violations(page, console) == []
            assert page.locator(".leaflet-marker-pane .hit-pin").count() >= 1
            assert page.locator(".leaflet-overlay-pane path").count() >= 1
            if path.startswith("/?"):
                page.wait_for_selector(".folium-map[data-live-markers]", state="attached")
        finally:
            context.close()
