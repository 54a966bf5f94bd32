"""Screenshot of the gap page for a real gemeente at desktop width (1366 px).

    .venv/bin/python -m bench.gaps_screenshot [--gemeente GM1640] [--category ontmoeting]

Serves the app over the configured database (the local cluster with the geography, the seed
and the demo set) without map tiles, as there is no internet here, and writes
docs/screenshots/gaps-<gemeente name>.png (with `--prefix gaps-at-risk`: the same page,
named for its at-risk layer, the warning badges of fragile kernen on the map). Needs
/usr/bin/chromium; never downloads a browser.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from socialmap.config import PROJECT_ROOT
from socialmap.names import slug

from .screenshots import CHROMIUM, CHROMIUM_ARGS, SIZES, served_app

OUT = PROJECT_ROOT / "docs" / "screenshots"


def shoot(base_url: str, gemeente: str, category: str, out: Path,
          prefix: str = "gaps") -> Path:
    """Open the gap page, wait for the map, and save a full-page screenshot."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=base_url, viewport=SIZES["desktop"],
                                          locale="nl-NL", timezone_id="Europe/Amsterdam")
            context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base_url)
                          else r.abort())
            page = context.new_page()
            page.goto(f"/gaps?area={gemeente}&category={category}")
            page.wait_for_selector(".leaflet-overlay-pane path")
            name = page.locator("#area option:checked").inner_text()
            path = out / f"{prefix}-{slug(name)}.png"
            out.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(path), full_page=True)
            context.close()
        finally:
            browser.close()
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gemeente", default="GM1640", help="CBS code (default: Leudal)")
    parser.add_argument("--category", default="ontmoeting")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--prefix", default="gaps", help="file name prefix")
    parser.add_argument("--base-url", help="a running site instead of serving one here")
    args = parser.parse_args()
    if args.base_url:
        path = shoot(args.base_url.rstrip("/"), args.gemeente, args.category, args.out,
                     args.prefix)
    else:
        with served_app() as base_url:
            path = shoot(base_url, args.gemeente, args.category, args.out, args.prefix)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
