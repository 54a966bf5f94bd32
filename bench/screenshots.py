"""Screenshots of every page of the site at phone (390x844) and desktop (1366x900) width.

    .venv/bin/python -m bench.screenshots [--out docs/screenshots] [--base-url URL]

Without --base-url the app is served on a free localhost port over the configured database
(the local cluster with the geography and the seed), without map tiles, as there is no
internet here: the maps show the kern and gemeente outlines only. Needs /usr/bin/chromium.
"""
from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from socialmap.config import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}
# (name, how to get there): a URL, or a link text to follow from the Meers search.
PAGES: list[tuple[str, str]] = [
    ("search-start", "/"),
    ("search-meers", "/?near=Meers"),
    ("search-postcode", "/?near=6171&radius=5000"),
    ("search-filtered", "/?near=6171&radius=5000&category=ontmoeting&audience=ouderen"),
    ("search-ambiguous", "/?near=Beek"),
    ("detail", "link:Dorpsdagvoorziening Meers"),
    ("kern", "link:Alles in en voor kern Meers"),
    ("print-search", "/?near=Meers&print=1"),
    ("print-kern", "kern-print"),
    ("search-english", "english:/?near=Meers"),
    ("search-many", "/?near=6171&radius=25000"),
    ("kern-english", "english:/kern/GM0971-meers"),
    ("contribute", "/aanmelden"),
    ("login", "/inloggen"),
]


@dataclass(frozen=True)
class Shot:
    path: Path
    url: str
    overflow_px: int


def _open(page: Any, how: str) -> None:
    if how.startswith("link:"):
        page.goto("/?near=Meers")
        page.locator("a", has_text=how.removeprefix("link:")).first.click()
    elif how == "kern-print":
        page.goto("/?near=Meers")
        page.locator("a.kern-link, .kern-link a").first.click()
        # Let the kern page finish (its map's requests too) before leaving it for print.
        page.wait_for_url("**/kern/**")
        page.wait_for_load_state("networkidle")
        page.goto(page.url + "?print=1")
    elif how.startswith("english:"):
        page.goto("/taal/en?next=" + how.removeprefix("english:").replace("?", "%3F")
                  .replace("=", "%3D").replace("&", "%26"))
    else:
        page.goto(how)
    # The search map fetches what else matches in its view after the page has loaded.
    page.wait_for_load_state("networkidle")


def shoot(browser: Any, base_url: str, out: Path, capture: bool = True) -> list[Shot]:
    """Take every page at both sizes; return where each went and its sideways overflow
    (`capture=False` only measures the overflow)."""
    out.mkdir(parents=True, exist_ok=True)
    shots = []
    for size, viewport in SIZES.items():
        for name, how in PAGES:
            context = browser.new_context(base_url=base_url, viewport=viewport,
                                          locale="nl-NL", timezone_id="Europe/Amsterdam")
            context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base_url)
                          else r.abort())
            page = context.new_page()
            _open(page, how)
            overflow = page.evaluate("document.documentElement.scrollWidth"
                                     " - document.documentElement.clientWidth")
            path = out / f"{name}-{size}.png"
            if capture:
                page.screenshot(path=str(path), full_page=True)
            shots.append(Shot(path, page.url, int(overflow)))
            context.close()
    return shots


@contextmanager
def served_app() -> Iterator[str]:
    """The app over the configured database on a free port, without tiles."""
    from werkzeug.serving import make_server

    from socialmap import create_app

    app = create_app({"tile_url": ""})
    for name in ("werkzeug", "socialmap.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "screenshots")
    parser.add_argument("--base-url", help="a running site instead of serving one here")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            if args.base_url:
                shots = shoot(browser, args.base_url.rstrip("/"), args.out)
            else:
                with served_app() as base_url:
                    shots = shoot(browser, base_url, args.out)
        finally:
            browser.close()
    for shot in shots:
        note = f"  (sideways overflow {shot.overflow_px}px)" if shot.overflow_px > 0 else ""
        print(f"{shot.path}  {shot.url}{note}")
    return 1 if any(s.overflow_px > 0 for s in shots) else 0


if __name__ == "__main__":
    raise SystemExit(main())
