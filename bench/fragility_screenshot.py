"""Screenshot of the list of initiatives at risk (/kwetsbaar) for a gemeente, desktop width.

    .venv/bin/python -m bench.fragility_screenshot [--gemeente GM1640]

Serves the app over the configured database (the local cluster with the geography, the seed
and the demo set) and writes docs/screenshots/kwetsbaar-<gemeente name>.png. Needs
/usr/bin/chromium; never downloads a browser. The gap map with the at-risk layer is
`bench/gaps_screenshot.py --prefix gaps-at-risk`.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from socialmap.config import PROJECT_ROOT
from socialmap.names import slug

from .screenshots import CHROMIUM, CHROMIUM_ARGS, SIZES, served_app

OUT = PROJECT_ROOT / "docs" / "screenshots"


def shoot(base_url: str, gemeente: str, out: Path) -> Path:
    """Open the list and save a full-page screenshot."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=base_url, viewport=SIZES["desktop"],
                                          locale="nl-NL", timezone_id="Europe/Amsterdam")
            context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base_url)
                          else r.abort())
            page = context.new_page()
            page.goto(f"/kwetsbaar?area={gemeente}")
            name = page.locator("#area option:checked").inner_text()
            path = out / f"kwetsbaar-{slug(name)}.png"
            out.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(path), full_page=True)
            context.close()
        finally:
            browser.close()
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gemeente", default="GM1640", help="CBS code (default: Leudal)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with served_app() as base_url:
        print(shoot(base_url, args.gemeente, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
