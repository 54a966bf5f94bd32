"""Languages of the site: Dutch by default, English by choice, remembered in a cookie."""
from __future__ import annotations

import logging
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request
from flask_babel import Babel, get_locale

log = logging.getLogger(__name__)

LANGUAGES: dict[str, str] = {"nl": "Nederlands", "en": "English"}
DEFAULT_LANGUAGE = "nl"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def select_language() -> str:
    """The language from the cookie, else Dutch (the site never guesses from the browser)."""
    chosen = request.cookies.get(COOKIE, "")
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def current_language() -> str:
    """'nl' or 'en' for the current request."""
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT_LANGUAGE


def compile_catalogues(root: Path = TRANSLATIONS) -> list[Path]:
    """Compile every .po into its .mo when the .mo is missing or older; return those written."""
    written = []
    for po_path in sorted(root.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalogue = read_po(po_file, locale=po_path.parts[-3])
        try:
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalogue)
        except OSError as exc:  # a read-only install keeps the committed .mo
            log.warning("cannot compile %s: %s", po_path, exc)
            continue
        written.append(mo_path)
    return written


def init_app(app: Flask) -> None:
    """Compile stale catalogues, install Flask-Babel and expose the language to templates."""
    compile_catalogues()
    Babel(app, default_locale=DEFAULT_LANGUAGE, locale_selector=select_language,
          default_translation_directories=str(TRANSLATIONS))

    @app.context_processor
    def _language() -> dict[str, object]:
        return {"current_language": current_language(), "languages": LANGUAGES}
