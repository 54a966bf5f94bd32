"""Every page of the screenshot set, at phone and desktop width, fits without sideways
scrolling (`python -m bench.screenshots` takes the pictures into docs/screenshots)."""
from __future__ import annotations

from pathlib import Path

from bench.screenshots import PAGES, SIZES, shoot


def test_every_page_at_phone_and_desktop_width(browser, live_server, tmp_path: Path) -> None:  # noqa: ANN001
    shots = shoot(browser, live_server, tmp_path, capture=False)
    assert len(shots) == len(PAGES) * len(SIZES)
    for shot in shots:
        assert shot.overflow_px <= 0, (shot.path.name, shot.url, shot.overflow_px)
