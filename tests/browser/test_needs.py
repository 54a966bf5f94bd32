"""A kern page with needs and a plan in Chromium: the cards and counts, axe without serious
violations, "ik heb dit ook nodig" counted once per browser, no sideways scrolling on a phone.

Uses Elsloo (Stein), so that the rows it adds to the session's transaction leave the Meers
pages of the other browser tests as they were."""
from __future__ import annotations

import pytest
from sqlalchemy import Connection, text

from .conftest import run_axe

KERN = "GM0971-elsloo"


@pytest.fixture(scope="module")
def voice(site_conn: Connection) -> dict[str, str]:
    """An approved need and a plan in Elsloo (kept until the session's rollback)."""
    term = site_conn.execute(text("SELECT id FROM taxonomy_term WHERE code = 'vervoer'")
                             ).scalar_one()
    need = site_conn.execute(text(
        "INSERT INTO need (kern_code, category_id, text, status) VALUES (:k, :t, "
        "'Geen vervoer meer naar de markt in Stein op dinsdag.', 'approved') RETURNING id"),
        {"k": KERN, "t": term}).scalar_one()
    plan = site_conn.execute(text(
        "INSERT INTO service (name, kind, status, description) VALUES ('Belbus Elsloo', "
        "'vervoersdienst', 'proposed', 'Vrijwilligers rijden ouderen naar de markt.') "
        "RETURNING id")).scalar_one()
    site_conn.execute(text("INSERT INTO service_area (service_id, kern_code) VALUES (:s, :k)"),
                      {"s": plan, "k": KERN})
    return {"need": str(need), "plan": str(plan)}


def test_a_kern_page_with_needs_and_a_plan(page, voice) -> None:  # noqa: ANN001
    page.goto(f"/kern/{KERN}")
    card = page.locator(f"#behoefte-{voice['need']}")
    assert "Geen vervoer meer naar de markt" in card.inner_text()
    assert "0 mensen hebben dit ook nodig" in card.inner_text()
    assert "Belbus Elsloo" in page.locator(f"#plan-{voice['plan']}").inner_text()
    assert page.locator("#need-text").is_visible()
    assert run_axe(page) == []
    card.locator("button[value=need]").click()
    page.wait_for_load_state()
    assert "Uw steun is geteld" in page.locator(".voice-notice").inner_text()
    card = page.locator(f"#behoefte-{voice['need']}")
    assert "1 persoon heeft dit ook nodig" in card.inner_text()
    card.locator("button[value=need]").click()  # the same browser again: not counted
    page.wait_for_load_state()
    assert "U had dit al aangegeven" in page.locator(".voice-notice").inner_text()
    assert "1 persoon heeft dit ook nodig" in page.locator(
        f"#behoefte-{voice['need']}").inner_text()


def test_the_kern_page_with_needs_fits_a_phone(phone_page, voice) -> None:  # noqa: ANN001
    phone_page.goto(f"/kern/{KERN}")
    assert phone_page.locator(f"#behoefte-{voice['need']} button[value=help]").is_visible()
    overflow = phone_page.evaluate("document.documentElement.scrollWidth"
                                   " - document.documentElement.clientWidth")
    assert overflow <= 0
