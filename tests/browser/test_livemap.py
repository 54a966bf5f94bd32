"""The live map's cache and prefetch in Chromium (livemap.js): while the map is still it fetches
the areas around the view with the page's filters, a pan into them is drawn from the cache
without a request, and the map never holds more markers than it says, nor more than 1,000."""
from __future__ import annotations

from .conftest import DESKTOP

# Pan by (dx, dy) pixels and wait for the drawing: [drawn from the cache, map requests sent
# during the pan, markers in the DOM, the container's data-live-markers].
PAN = """async ([dx, dy]) => {
  const el = document.querySelector(".folium-map"), map = el.socialmapLive.map;
  const count = () => performance.getEntriesByType("resource")
    .filter(e => e.name.includes("/api/v1/map")).length;
  const before = count();
  const drawn = new Promise(r => el.addEventListener("socialmap:livemap", e => r(e.detail),
                                                     {once: true}));
  map.panBy([dx, dy], {animate: false});
  const detail = await drawn;
  return [Boolean(detail.cached), count() - before];
}"""

MARKERS = """() => {
  const el = document.querySelector(".folium-map");
  return [el.querySelectorAll(".leaflet-marker-pane .sm-point, .leaflet-marker-pane .sm-cluster")
            .length, Number(el.dataset.liveMarkers)];
}"""


def test_a_pan_into_the_prefetched_area_draws_from_the_cache(browser, live_server) -> None:  # noqa: ANN001
    context = browser.new_context(base_url=live_server, viewport=DESKTOP, locale="nl-NL")
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(live_server)
                  else r.abort())
    page = context.new_page()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/map" in r.url else None)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto("/?near=Meers&category=ontmoeting")
        page.wait_for_selector(".folium-map[data-live-markers]", state="attached")
        page.wait_for_load_state("networkidle")
        # The view, then the blocks around it: every request carries the search's filter.
        assert len(asked) > 1
        assert all("category=ontmoeting" in url for url in asked)
        size = page.evaluate("() => document.querySelector('.folium-map').socialmapLive"
                             ".map.getSize()")
        cached, sent = page.evaluate(PAN, [size["x"] * 1.5, 0])
        assert cached and sent == 0
        cached, sent = page.evaluate(PAN, [0, -size["y"] * 1.5])
        assert cached and sent == 0
        # Far beyond what was prefetched: a request, then drawn.
        cached, sent = page.evaluate(PAN, [size["x"] * 6, 0])
        assert not cached and sent >= 1
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(300)  # the margin's markers are added in idle time
        in_dom, said = page.evaluate(MARKERS)
        assert in_dom == said <= 1000
        assert errors == []
    finally:
        context.close()
