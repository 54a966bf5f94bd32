"""Screenshots of following a kern: the kern page with its Volgen button for an area team,
and /volgen with the feed link shown once.

    .venv/bin/python -m bench.alerts_screenshot [--out docs/screenshots]

Builds a throwaway PostGIS as the tests do (bench/screenshots_editors.py), adds an area-team
account for Stein, serves the app over plain http on localhost, signs in through the form and
follows Meers. Writes volgen-kern-desktop.png and volgen-desktop.png. Needs /usr/bin/chromium.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from socialmap.config import PROJECT_ROOT, Settings

from .screenshots_editors import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PASSWORD,
    scratch_database,
    served,
)

EMAIL = "gebiedsteam@stein.nl"


def area_team(url: str) -> None:
    from socialmap.services import auth

    engine = create_engine(url, poolclass=NullPool)
    with Session(engine) as s, s.begin():
        auth.create_user(s, EMAIL, PASSWORD, "gebiedsteam", ["GM0971"], "Gebiedsteam Stein")
    engine.dispose()


def shoot(browser: object, base: str, out: Path) -> list[Path]:
    ctx = browser.new_context(base_url=base, viewport=DESKTOP, locale="nl-NL",  # type: ignore[attr-defined]
                              timezone_id="Europe/Amsterdam")
    ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort())
    page = ctx.new_page()
    page.goto("/inloggen")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_load_state("load")
    page.goto("/kern/GM0971-meers")
    shots = [out / "volgen-kern-desktop.png"]
    page.screenshot(path=str(shots[0]), full_page=False)
    page.click("form.follow-form button[type=submit]")
    page.wait_for_load_state("load")
    shots.append(out / "volgen-desktop.png")
    page.screenshot(path=str(shots[1]), full_page=True)
    ctx.close()
    return shots


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with scratch_database() as url:
        area_team(url)
        settings = Settings(database_url=url, tile_url="", secret_key="screenshots",
                            show_demo=False)
        with served(settings) as (base, _app), sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                shots = shoot(browser, base, args.out)
            finally:
                browser.close()
    for path in shots:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
