"""The site in headless Chromium: searches, the map agreeing with the list, the pages,
language, keyboard-only use, zoom and axe-core."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import run_axe

MARKERS = ".leaflet-marker-pane .hit-pin"
LIST_NAMES = "ol.hits .hit-name a"


def list_names(page) -> list[str]:  # noqa: ANN001
    return [re.sub(r"^\d+\.\s*", "", t).strip() for t in page.locator(LIST_NAMES).all_inner_texts()]


def marker_labels(page) -> list[str]:  # noqa: ANN001
    page.wait_for_selector(".folium-map[data-markers]", state="attached")
    return [page.locator(MARKERS).nth(i).get_attribute("aria-label") or ""
            for i in range(page.locator(MARKERS).count())]


def without_number(label: str) -> str:
    return re.sub(r"^\d+\.\s*", "", label)


def test_search_meers_lists_dorpsdagvoorziening_with_a_marker(page, meers) -> None:  # noqa: ANN001
    page.goto("/?near=Meers")
    assert "Dorpsdagvoorziening Meers" in list_names(page)
    labels = marker_labels(page)
    assert any(without_number(label) == "Dorpsdagvoorziening Meers" for label in labels)
    # The marker's popup links to the detail page.
    page.locator(f'{MARKERS}[aria-label*="Dorpsdagvoorziening Meers"]').first.click()
    link = page.locator(".leaflet-popup-content a").first
    assert link.get_attribute("href") == f"/initiatief/{meers['service_id']}"
    # The kern outline is drawn (no tiles here: outlines are all the map has).
    assert page.locator(".leaflet-overlay-pane path").count() >= 2
    attribution = page.locator(".leaflet-control-attribution").inner_text()
    assert "CBS" in attribution and "GeoNames" in attribution


def test_postcode_search(page) -> None:  # noqa: ANN001
    page.goto("/")
    page.fill("#near", "6171")
    page.select_option("#radius", "5000")
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"near=6171"))
    expect(page.locator("#result-count")).to_contain_text("binnen 5 km van 6171")
    assert "q=" not in page.url  # empty fields stay out of the bookmarkable URL
    names = list_names(page)
    assert names
    labels = [without_number(label) for label in marker_labels(page)]
    assert set(labels) <= set(names) and labels
    assert page.locator(".leaflet-overlay-pane path").count() >= 3  # circle, kern, gemeente


def test_a_filter_changes_list_and_map_alike(page) -> None:  # noqa: ANN001
    page.goto("/?near=6171&radius=5000")
    before = list_names(page)
    matched = int(re.match(r"\d+", page.locator("#result-count").text_content() or "").group())
    counts = {}
    for box in page.locator("input[name=category]").all():
        label = page.locator(f"label[for='{box.get_attribute('id')}']").inner_text()
        counts[box.get_attribute("value")] = int(re.search(r"\((\d+)\)", label).group(1))
    chosen = next(code for code, n in counts.items() if 0 < n < matched)
    page.check(f"#category-{chosen}")
    page.click("text=Filters toepassen")
    page.wait_for_url(re.compile(rf"category={chosen}"))
    after = list_names(page)
    assert len(after) == min(counts[chosen], 20) and after != before
    expect(page.locator("#result-count")).to_contain_text(f"{counts[chosen]} initiatie")
    labels = [without_number(label) for label in marker_labels(page)]
    assert sorted(labels) == sorted(after)  # every result with a place has its marker
    assert page.is_checked(f"#category-{chosen}")


def test_detail_page(page, meers) -> None:  # noqa: ANN001
    page.goto(f"/initiatief/{meers['service_id']}")
    assert page.locator("h1").inner_text() == "Dorpsdagvoorziening Meers"
    for heading in ("Wat", "Voor wie", "Wanneer", "Kosten", "Toegankelijkheid", "Contact",
                    "Werkgebied", "Waar"):
        assert page.locator("h2", has_text=heading).count() >= 1, heading
    assert page.locator(".leaflet-marker-pane .hit-pin").count() == 1


def test_kern_page(page, meers) -> None:  # noqa: ANN001
    page.goto(f"/kern/{meers['kern']}")
    assert page.locator("h1").inner_text().startswith("Meers")
    assert page.locator(".figures dt", has_text="Inwoners").count() == 1
    assert page.locator(".figures dt", has_text="75 jaar en ouder").count() == 1
    assert "Dorpsdagvoorziening Meers" in [
        re.sub(r"^\d+\.\s*", "", t).strip()
        for t in page.locator(".hits .hit-name a").all_inner_texts()]
    assert page.locator(".group-heading").count() >= 1
    assert page.locator(".leaflet-overlay-pane path").count() >= 1


def test_print_views(page, meers) -> None:  # noqa: ANN001
    page.goto("/?near=Meers")
    page.click("text=Afdrukken")
    page.wait_for_url(re.compile(r"print=1"))
    assert page.locator(".print-item").count() >= 1
    assert "Dorpsdagvoorziening Meers" in page.locator(".print-list").inner_text()
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.locator(".print-actions").is_visible()
    page.emulate_media(media="screen")
    page.goto(f"/kern/{meers['kern']}?print=1")
    assert page.locator(".print-item").count() >= 1


def test_language_switch_is_remembered(page, meers) -> None:  # noqa: ANN001
    page.goto("/?near=Meers")
    page.click("a[hreflang=en]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Help and meeting places near you"
    expect(page.locator("#result-count")).to_contain_text("in or for Meers")
    page.goto(f"/kern/{meers['kern']}")  # another page: still English
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator(".figures dt").first.inner_text() == "Inhabitants"
    page.click("a[hreflang=nl]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.locator(".figures dt").first.inner_text() == "Inwoners"


def _tab_to(page, predicate: str, limit: int = 80) -> None:  # noqa: ANN001
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return {predicate}; }}"):
            return
    pytest.fail(f"Tab never reached {predicate}")


def test_keyboard_only_search(page, meers) -> None:  # noqa: ANN001
    page.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    _tab_to(page, "el.id === 'near'")
    page.keyboard.type("Meers")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"near=Meers"))
    # Through the filters to the first result, and into it.
    _tab_to(page, "el.matches('ol.hits .hit-name a')")
    first = page.evaluate("document.activeElement.textContent")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/initiatief/"))
    assert re.sub(r"^\d+\.\s*", "", first).strip() == page.locator("h1").inner_text()
    # The map is usable by keyboard too: its container, then its markers; Enter opens a popup
    # and moves focus to the popup's link.
    page.go_back()
    _tab_to(page, "el.classList.contains('leaflet-container')")
    _tab_to(page, "el.classList.contains('hit-pin')")
    page.keyboard.press("Enter")
    page.wait_for_selector(".leaflet-popup-content a")
    assert page.evaluate("document.activeElement.closest('.leaflet-popup') !== null")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/initiatief/"))


def test_kern_autocomplete_combobox(page) -> None:  # noqa: ANN001
    page.goto("/")
    page.click("#near")
    page.keyboard.type("Meer")
    page.wait_for_selector("#near-listbox [role=option]")
    assert page.get_attribute("#near", "aria-expanded") == "true"
    options = page.locator("#near-listbox [role=option]").all_inner_texts()
    index = next(i for i, o in enumerate(options) if o.startswith("Meers ("))
    for _ in range(index + 1):
        page.keyboard.press("ArrowDown")
    active = page.get_attribute("#near", "aria-activedescendant")
    assert active and page.get_attribute(f"#{active}", "aria-selected") == "true"
    page.keyboard.press("Enter")
    assert page.input_value("#near").startswith("Meers, ")
    assert page.get_attribute("#near", "aria-expanded") == "false"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"near=Meers%2C"))
    assert "Dorpsdagvoorziening Meers" in list_names(page)


def test_my_location_fills_the_field_and_searches(browser, live_server, outside) -> None:  # noqa: ANN001
    context = browser.new_context(base_url=live_server, geolocation={"latitude": 50.9684,
                                  "longitude": 5.7853}, permissions=["geolocation"])
    try:
        pg = context.new_page()
        pg.goto("/")
        pg.click("button.locate")
        pg.wait_for_url(re.compile(r"near=50\.96"))
        expect(pg.locator("#result-count")).to_contain_text("binnen")
    finally:
        context.close()


def test_markers_are_clustered_when_many(page) -> None:  # noqa: ANN001
    page.goto("/?near=6171&radius=25000&limit=100")
    page.wait_for_selector(".folium-map[data-markers]", state="attached")
    assert page.locator(".marker-cluster").count() >= 1
    assert page.locator(".marker-cluster").first.get_attribute("tabindex") == "0"


def test_the_list_works_without_javascript(browser, live_server) -> None:  # noqa: ANN001
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    try:
        pg = context.new_page()
        pg.goto("/")
        pg.fill("#near", "Meers")
        pg.click("button[type=submit].primary")
        pg.wait_for_url(re.compile(r"near=Meers"))
        assert "Dorpsdagvoorziening Meers" in list_names(pg)
        assert not pg.locator("button.locate").is_visible()  # needs JavaScript: hidden
    finally:
        context.close()


@pytest.mark.parametrize("width", [320, 683])
def test_reflows_at_narrow_width_and_200_percent_zoom(browser, live_server, width) -> None:  # noqa: ANN001
    """320 CSS px (WCAG 1.4.10) and 1366 px at 200% zoom: no sideways scrolling."""
    context = browser.new_context(base_url=live_server, viewport={"width": width, "height": 700})
    try:
        pg = context.new_page()
        for url in ("/?near=Meers", "/"):
            pg.goto(url)
            overflow = pg.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, (url, overflow)
    finally:
        context.close()


AXE_PAGES = {
    "search": "/?near=Meers",
    "start": "/",
    "error": "/?near=Beek",
    "print": "/?near=Meers&print=1",
}


@pytest.mark.parametrize("name", ["search", "start", "error", "print", "detail", "kern",
                                  "kern-print"])
def test_axe_finds_no_serious_violations(page, meers, name) -> None:  # noqa: ANN001
    url = AXE_PAGES.get(name) or {
        "detail": f"/initiatief/{meers['service_id']}",
        "kern": f"/kern/{meers['kern']}",
        "kern-print": f"/kern/{meers['kern']}?print=1",
    }[name]
    page.goto(url)
    page.wait_for_load_state("networkidle")
    violations = run_axe(page)
    assert violations == [], violations
