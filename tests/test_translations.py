"""The English catalogue is complete: every translatable string in the templates and the Python
code (extracted as `pybabel extract -F babel.cfg -k lazy_gettext` does) has an English text,
with every plural form and the same placeholders."""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from socialmap.config import PROJECT_ROOT

CATALOGUE = PROJECT_ROOT / "socialmap" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def extracted() -> dict[str | tuple[str, ...], list[str]]:
    """Message id -> where it is used, from the files babel.cfg names."""
    with (PROJECT_ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str | tuple[str, ...], list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(PROJECT_ROOT), method_map, options_map, keywords=KEYWORDS):
        found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_extraction_finds_the_site_strings() -> None:
    found = extracted()
    assert "Hulp en ontmoeting in uw buurt" in found
    assert ("%(num)d initiatief in of voor %(kern)s",
            "%(num)d initiatieven in of voor %(kern)s") in found
    assert any(str(Path(where[0])).startswith("socialmap/web/") for where in found.values())


def test_every_string_has_an_english_text() -> None:
    with CATALOGUE.open("rb") as f:
        catalogue = read_po(f, locale="en")
    missing, broken = [], []
    for message, where in extracted().items():
        key = message[0] if isinstance(message, tuple) else message
        if not key:
            continue
        entry = catalogue.get(key)
        strings = () if entry is None else (
            entry.string if isinstance(entry.string, tuple) else (entry.string,))
        if entry is None or entry.fuzzy or not all(strings) or \
                isinstance(message, tuple) != isinstance(entry.string, tuple):
            missing.append(f"{where[0]}: {key!r}")
            continue
        sources = message if isinstance(message, tuple) else (message,)
        wanted = set().union(*(_placeholders(s) for s in sources))
        for text in strings:
            if not _placeholders(text) <= wanted or \
                    not isinstance(message, tuple) and _placeholders(text) != wanted:
                broken.append(f"{where[0]}: {key!r} -> {text!r}")
    assert missing == [], f"{len(missing)} strings without English:\n" + "\n".join(missing)
    assert broken == [], "placeholders differ:\n" + "\n".join(broken)


def test_plural_entries_have_both_english_forms() -> None:
    with CATALOGUE.open("rb") as f:
        catalogue = read_po(f, locale="en")
    assert catalogue.num_plurals == 2
    for entry in catalogue:
        if entry.id and isinstance(entry.id, tuple) and entry.string and any(entry.string):
            assert len(entry.string) == 2 and all(entry.string), entry.id
