"""Languages of the site: Dutch by default, English by choice, remembered in a cookie."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, has_request_context, request
from flask_babel import Babel, get_locale, get_translations

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
    """'nl' or 'en' for the current request (found once per request: the filters of a kern
    page ask some 300 times)."""
    if not has_request_context():
        locale = get_locale()
        return locale.language if locale is not None else DEFAULT_LANGUAGE
    found: str | None = g.get("_language")
    if found is None:
        locale = get_locale()
        found = g._language = locale.language if locale is not None else DEFAULT_LANGUAGE
    return found


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


def request_translations() -> Any:
    """The catalogue of the request's language, found once per request.

    Flask-Babel's own template gettext walks its request context, the locale and its cache of
    catalogues at every call: some 300 times on a kern page. A request has one language
    (Flask-Babel keeps the locale for the whole request too), so its catalogue is kept in `g`.
    """
    if not has_request_context():
        return get_translations()
    found = g.get("_translations")
    if found is None:
        found = g._translations = get_translations()
    return found


def init_app(app: Flask) -> None:
    """Compile stale catalogues, install Flask-Babel and expose the language to templates."""
    compile_catalogues()
    Babel(app, default_locale=DEFAULT_LANGUAGE, locale_selector=select_language,
          default_translation_directories=str(TRANSLATIONS))
    # The same callables as Flask-Babel installs, on the request's catalogue.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
        newstyle=True)

    @app.context_processor
    def _language() -> dict[str, object]:
        return {"current_language": current_language(), "languages": LANGUAGES}
