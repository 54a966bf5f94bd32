"""Browser tests: the app served on a free localhost port in a thread, over the test database,
driven by one headless Chromium per session.

The server's app is session-scoped and bound to one connection inside a transaction that is
rolled back when the session ends, so the browser sees the geography and the seed registry
without any test committing anything. The server is single-threaded: the one connection is
never used by two requests at once. The site only reads, so browser tests cannot disturb
each other; tests that need their own rows use the rolled-back `conn` fixture instead.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from socialmap import create_app
from socialmap.config import PROJECT_ROOT, Settings
from tests.conftest import GEODATA, TEST_DB

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
AXE = PROJECT_ROOT / "socialmap" / "static" / "vendor" / "axe" / "axe.min.js"
SEED_FILE = PROJECT_ROOT / "data" / "initiatives.geojson"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder `browser`; skip them all when Chromium is missing,
    except in CI, where `make test` installs it and a missing browser is a failure."""
    here = Path(__file__).parent
    if not CHROMIUM.exists() and os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise pytest.UsageError(f"CI=true but {CHROMIUM} is missing: the browser tests would "
                                "be skipped (make test installs it: apt-get install chromium)")
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is not installed (apt-get install chromium)")
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists():
                item.add_marker(skip)


def ensure_seed(conn: Connection) -> None:
    """Import the seed registry into this transaction unless the test database has it."""
    found = conn.execute(text("SELECT count(*) FROM service WHERE name = "
                              "'Dorpsdagvoorziening Meers'")).scalar_one()
    if found:
        return
    from socialmap.registry.seed import seed

    session = Session(bind=conn, join_transaction_mode="create_savepoint")
    seed(session, SEED_FILE, demo=True, echo=lambda _line: None)
    session.flush()


@pytest.fixture(scope="session")
def site_conn(engine: Engine) -> Iterator[Connection]:
    """The server's one connection, in a transaction rolled back at the end of the session."""
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            ensure_seed(conn)
            yield conn
        finally:
            trans.rollback()


@pytest.fixture(scope="session")
def live_server(cluster, site_conn: Connection) -> Iterator[str]:  # noqa: ANN001
    """The site at http://127.0.0.1:<free port>, without map tiles (there is no internet)."""
    settings = Settings(database_url=cluster.socket_url(TEST_DB), testing=True,
                        secret_key="browser-tests", geodata_dir=GEODATA, tile_url="")
    app = create_app(settings, bind=site_conn)
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():  # noqa: ANN201
    """One headless Chromium for the whole session (never downloaded: the system's own)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Outside:
    """Requests the page tried to make to anywhere but the live server (all refused)."""

    def __init__(self) -> None:
        self.urls: list[str] = []


@pytest.fixture
def outside() -> Outside:
    return Outside()


def _context(browser, live_server: str, outside: Outside, viewport: dict[str, int]):  # noqa: ANN001, ANN202
    context = browser.new_context(base_url=live_server, viewport=viewport, locale="nl-NL",
                                  timezone_id="Europe/Amsterdam")

    def route(r) -> None:  # noqa: ANN001
        if r.request.url.startswith(live_server):
            r.continue_()
        else:
            outside.urls.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def page(browser, live_server: str, outside: Outside):  # noqa: ANN001, ANN201
    """A fresh desktop-sized page (own cookies) on the live server."""
    context = _context(browser, live_server, outside, DESKTOP)
    errors: list[str] = []
    pg = context.new_page()
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"
    assert outside.urls == [], f"requests that left the site: {outside.urls}"


@pytest.fixture
def phone_page(browser, live_server: str, outside: Outside):  # noqa: ANN001, ANN201
    """A fresh phone-sized page on the live server."""
    context = _context(browser, live_server, outside, PHONE)
    pg = context.new_page()
    yield pg
    context.close()


def run_axe(pg) -> list[dict]:  # noqa: ANN001
    """axe-core's serious and critical WCAG 2.0/2.1 A and AA violations on the page."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make assets`")
    # From the app's own static files: the Content-Security-Policy refuses an inline script.
    pg.add_script_tag(url="/static/vendor/axe/axe.min.js")
    result = pg.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


@pytest.fixture(scope="session")
def meers(site_conn: Connection) -> dict[str, str]:
    """The kern Meers and the seed's Dorpsdagvoorziening Meers."""
    row = site_conn.execute(text(
        "SELECT s.id, l.kern_code FROM service s JOIN service_at_location sal "
        "ON sal.service_id = s.id JOIN location l ON l.id = sal.location_id "
        "WHERE s.name = 'Dorpsdagvoorziening Meers'")).one()
    return {"service_id": str(row.id), "kern": row.kern_code}
