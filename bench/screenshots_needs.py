"""Screenshots of needs (behoeften), plans and support on a kern page, the editors' needs queue,
the gap page with needs and demand signals, and the staff's demand page.

    .venv/bin/python -m bench.screenshots_needs [--out docs/screenshots]

Builds a throwaway PostGIS as bench.screenshots_editors does, posts needs through the kern
page's form as a resident, lets the Stein editor approve them (one is rejected), adds a plan,
clicks "ik heb dit ook nodig" / "ik wil helpen" from several browsers (each its own voter
cookie), runs a few searches that find nothing, and shoots the pages. No map tiles: there is
no internet here. Needs /usr/bin/chromium.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pyotp
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench.screenshots_editors import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PASSWORD,
    PHONE,
    scratch_database,
    served,
    staff,
)
from socialmap.config import PROJECT_ROOT, Settings

KERN = "GM0971-meers"
NEEDS = [
    ("vervoer", "ouderen", "Sinds de buslijn is gestopt, kan ik niet meer zelf naar de "
                           "huisarts in Stein. Een belbus of vrijwillige chauffeurs zou helpen."),
    ("ontmoeting", "", "Er is geen plek meer om 's middags samen koffie te drinken sinds het "
                       "café dicht is."),
    ("maaltijden", "ouderen", "Een eetpunt waar je een keer per week samen warm eet."),
    ("klussen", "", "Iemand die helpt met kleine klusjes in huis, zoals een lamp ophangen."),
]


def plant_plan(url: str) -> str:
    """A plan (status 'proposed') in Meers, as an approved submission would leave it."""
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as c:
        c.execute(text("SELECT set_config('socialmap.actor', 'screenshots', true), "
                       "set_config('socialmap.source', 'sql', true)"))
        sid = c.execute(text(
            "INSERT INTO service (name, kind, status, description) VALUES ('Repaircafé Meers', "
            "'ontmoetingsplek', 'proposed', 'Een keer per maand samen kapotte spullen "
            "repareren in het dorpshuis, met koffie. We zoeken nog vrijwilligers en een "
            "ruimte.') RETURNING id")).scalar_one()
        lid = c.execute(text(
            "INSERT INTO location (name, location_type, precision, geom, kern_code, city) "
            "SELECT 'Repaircafé Meers', 'physical', 'kern', point, code, name FROM kern "
            "WHERE code = :k RETURNING id"), {"k": KERN}).scalar_one()
        c.execute(text("INSERT INTO service_at_location (service_id, location_id) "
                       "VALUES (:s, :l)"), {"s": sid, "l": lid})
    engine.dispose()
    return str(sid)


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
    for category, audience, words in NEEDS:
        resident.goto(f"/kern/{KERN}")
        resident.select_option("#need-category", category)
        if audience:
            resident.select_option("#need-audience", audience)
        resident.fill("#need-text", words)
        resident.locator("form.need-form button[type=submit]").click()
        resident.wait_for_load_state("load")
    snap(resident, "kern-needs-posted-desktop")
    resident.goto(f"/kern/{KERN}/behoefte")
    resident.select_option("#need-category", "vervoer")
    resident.fill("#need-text", "Bel mij op 06 12345678 als er een chauffeur is")
    resident.locator("form.need-form button[type=submit]").click()
    resident.wait_for_load_state("load")
    snap(resident, "kern-needs-error-desktop")

    desk = context(DESKTOP).new_page()
    desk.goto("/inloggen")
    desk.fill("#email", "redactie@stein.nl")
    desk.fill("#password", PASSWORD)
    desk.click("button[type=submit].primary")
    desk.fill("#code", pyotp.TOTP(secret).now())
    desk.click("button[type=submit].primary")
    desk.wait_for_load_state("load")
    desk.goto("/redactie/behoeften")
    snap(desk, "needs-queue-desktop")
    for _ in range(len(NEEDS) - 1):
        desk.locator("button[value=approved]").first.click()
        desk.wait_for_load_state("load")
    desk.locator("textarea[name=reason]").first.fill("Staat er al: de klussendienst van "
                                                     "Stein komt ook in Meers.")
    desk.locator("button[value=rejected]").first.click()
    desk.wait_for_load_state("load")

    plan_id = plant_plan(url)
    # Support from several browsers: each one has its own voter cookie.
    for n in range(5):
        page = context(PHONE).new_page()
        page.goto(f"/kern/{KERN}")
        page.locator(".voice-card:not(.plan) button[value=need]").first.click()
        page.wait_for_load_state("load")
        if n < 3:
            page.locator(".voice-card:not(.plan) button[value=need]").nth(1).click()
            page.wait_for_load_state("load")
        if n < 2:
            page.locator(f"#plan-{plan_id} button[value=help]").click()
            page.wait_for_load_state("load")
        if n == 0:
            page.locator(".voice-card:not(.plan) button[value=help]").first.click()
            page.wait_for_load_state("load")
        page.context.close()
    resident.goto(f"/kern/{KERN}?steun=geteld")
    snap(resident, "kern-needs-desktop")
    phone = context(PHONE).new_page()
    phone.goto(f"/kern/{KERN}")
    snap(phone, "kern-needs-phone")
    phone.goto(f"/initiatief/{plan_id}")
    snap(phone, "plan-support-phone")

    # Searches from Meers that find nothing: the demand signals beside the gaps.
    for query in ("category=opvoeden", "category=opvoeden&audience=ouderen",
                  "category=opvoeden&open_now=true", "category=vervoer&q=belbus"):
        resident.goto(f"/?near=Meers, Stein&{query}")
    resident.goto("/gaps?area=GM0971&category=vervoer")
    snap(resident, "gaps-needs-stein-desktop")
    desk.goto("/redactie/vraag")
    snap(desk, "demand-staff-desktop")
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
