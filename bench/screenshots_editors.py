"""Screenshots of the submission form, the moderation queue and review, and a history page.

    .venv/bin/python -m bench.screenshots_editors [--out docs/screenshots]

Builds a throwaway PostGIS (as the tests do: the real geography and the seed), adds two staff
accounts, residents' submissions and a few edits, serves the app on a free localhost port over
plain http (SOCIALMAP_COOKIE_SECURE=false), signs in through the forms with a TOTP code, and
shoots the pages at desktop width (1366 px) and the form also at phone width. No map tiles:
there is no internet here. Needs /usr/bin/chromium.
"""
from __future__ import annotations

import argparse
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyotp
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from socialmap.config import PROJECT_ROOT, Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
PASSWORD = "lange zin als wachtwoord 42"


@contextmanager
def scratch_database() -> Iterator[str]:
    """A throwaway cluster with a migrated, loaded database; its URL."""
    from tests.conftest import build_test_database, create_database, new_cluster

    cluster = new_cluster("socialmap-shots-")
    try:
        url = create_database(cluster, "shots")
        engine = create_engine(url, poolclass=NullPool)
        build_test_database(engine)
        engine.dispose()
        yield url
    finally:
        cluster.destroy()


@contextmanager
def served(settings: Settings) -> Iterator[tuple[str, Any]]:
    from werkzeug.serving import make_server

    from socialmap import create_app

    os.environ["SOCIALMAP_COOKIE_SECURE"] = "false"
    app = create_app(settings)
    for name in ("werkzeug", "socialmap.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        thread.join(timeout=10)


def staff(url: str) -> str:
    """An editor of Stein with TOTP set up; returns the TOTP secret."""
    from sqlalchemy.orm import Session

    from socialmap.services import auth

    engine = create_engine(url, poolclass=NullPool)
    secret = pyotp.random_base32()
    with Session(engine) as s, s.begin():
        user = auth.create_user(s, "redactie@stein.nl", PASSWORD, "editor", ["GM0971"],
                                "Redactie Stein")
        user.totp_secret = secret
        user.totp_enabled_at = auth.utcnow()
        auth.create_user(s, "redactie@leudal.nl", PASSWORD, "editor", ["GM1640"],
                         "Redactie Leudal")
    engine.dispose()
    return secret


def submit(page: Any, fields: dict[str, str], checks: tuple[str, ...] = ()) -> None:
    """Fill in the resident's form and send it (as a resident would, without the map)."""
    page.goto("/aanmelden")
    for name, value in fields.items():
        if name == "kind":
            page.select_option("#kind", value)
        else:
            page.fill(f"#{name}", value)
    for value in checks:
        page.check(f"input[value='{value}']")
    page.click("button[type=submit].primary")
    page.wait_for_load_state("load")


def shoot(browser: Any, base: str, out: Path, secret: str, url: str) -> list[Path]:
    shots: list[Path] = []

    def snap(page: Any, name: str) -> None:
        path = out / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth"
                                 " - document.documentElement.clientWidth")
        if overflow > 0:
            print(f"{name}: {overflow}px sideways overflow")
        shots.append(path)

    def context(viewport: dict[str, int]) -> Any:
        ctx = browser.new_context(base_url=base, viewport=viewport, locale="nl-NL",
                                  timezone_id="Europe/Amsterdam")
        ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base)
                  else r.abort())
        return ctx

    resident = context(DESKTOP).new_page()
    resident.goto("/aanmelden")
    snap(resident, "submission-form-desktop")
    resident.click("button[type=submit].primary")  # empty: field-level messages
    resident.wait_for_load_state("load")
    snap(resident, "submission-errors-desktop")
    phone = context(PHONE).new_page()
    phone.goto("/aanmelden")
    snap(phone, "submission-form-phone")
    submit(resident, {"name": "Eetpunt De Kei", "kind": "maaltijdvoorziening",
                      "description": "Samen eten op woensdag in het dorpshuis, voor wie niet "
                                     "graag alleen eet. Aanmelden kan tot dinsdag.",
                      "place": "Meers, Stein", "schedule_note": "Woensdag 12.00 uur",
                      "fees_description": "€ 7,50 per maaltijd", "phone": "046 765 43 21",
                      "submitter_name": "Mien Janssen", "submitter_email": "mien@example.org",
                      "note": "Ik kook er zelf mee."}, ("maaltijden", "ouderen"))
    snap(resident, "submission-status-desktop")
    submit(resident, {"name": "Burenhulp Urmond", "kind": "burenhulp",
                      "description": "Buren helpen elkaar met boodschappen en klusjes.",
                      "place": "Urmond"}, ("burenhulp",))
    submit(resident, {"name": "Koffie-inloop Roggel", "kind": "ontmoetingsplek",
                      "description": "Elke vrijdag koffie in de pastorie.", "place": "Roggel"})

    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as c:
        # Some records of Stein that nobody looked at for a while, for the dashboard.
        c.execute(text(
            "UPDATE service SET assured_date = CASE WHEN random() < 0.3 THEN NULL "
            "ELSE current_date - 400 - (random() * 400)::int END WHERE id IN ("
            "SELECT s.id FROM service s JOIN service_at_location sal ON sal.service_id = s.id "
            "JOIN location l ON l.id = sal.location_id WHERE l.kern_code LIKE 'GM0971-%' "
            "AND NOT s.is_demo ORDER BY s.name OFFSET 1 LIMIT 6)"))
        sid, name = c.execute(text(
            "SELECT s.id, s.name FROM service s JOIN service_at_location sal ON "
            "sal.service_id = s.id JOIN location l ON l.id = sal.location_id WHERE "
            "l.kern_code LIKE 'GM0971-%' AND NOT s.is_demo ORDER BY s.name LIMIT 1")).one()
    engine.dispose()
    resident.goto(f"/initiatief/{sid}/wijziging")
    resident.fill("#fees_description", "€ 2 voor koffie en vlaai")
    resident.fill("#schedule_note", "Maandag tot en met vrijdag 9.00 tot 17.00 uur")
    resident.click("button[type=submit].primary")

    desk = context(DESKTOP).new_page()
    desk.goto("/inloggen")
    desk.fill("#email", "redactie@stein.nl")
    desk.fill("#password", PASSWORD)
    desk.click("button[type=submit].primary")
    desk.fill("#code", pyotp.TOTP(secret).now())
    desk.click("button[type=submit].primary")
    desk.wait_for_load_state("load")
    desk.goto("/redactie")
    snap(desk, "moderation-queue-desktop")
    desk.goto("/redactie/verouderd")
    snap(desk, "moderation-unverified-desktop")
    desk.locator("a", has_text=name).first.click()
    desk.wait_for_load_state("load")
    snap(desk, "moderation-review-change-desktop")
    desk.goto("/redactie")
    desk.locator("a", has_text="Eetpunt De Kei").first.click()
    desk.wait_for_load_state("load")
    snap(desk, "moderation-review-new-desktop")

    # Some history: an edit, a verification, a decision on the suggestion.
    desk.goto(f"/initiatief/{sid}/bewerken")
    desk.fill("#alternate_name", "Het Gemeenschapshuis")
    desk.click("form.form-stack button[type=submit].primary")
    desk.wait_for_load_state("load")
    desk.locator("button", has_text="Gecontroleerd").first.click()
    desk.wait_for_load_state("load")
    desk.goto("/redactie")
    desk.locator("a", has_text=name).first.click()
    desk.check("input[name=decision_fees_description][value=approved]")
    desk.check("input[name=decision_schedule_note][value=rejected]")
    desk.fill("#reason_schedule_note", "De tijden verschillen per dag; we laten de oude staan.")
    desk.click("button[type=submit].primary")
    desk.wait_for_load_state("load")
    desk.goto(f"/initiatief/{sid}/geschiedenis")
    snap(desk, "history-desktop")
    return shots


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with scratch_database() as url:
        secret = staff(url)
        settings = Settings(database_url=url, tile_url="", secret_key="screenshots",
                            show_demo=False)
        with served(settings) as (base, _app), sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                shots = shoot(browser, base, args.out, secret, url)
            finally:
                browser.close()
    for path in shots:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
