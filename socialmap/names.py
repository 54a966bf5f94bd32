"""Normalising place names for matching: case, accents, hyphens and apostrophes ignored."""
from __future__ import annotations

import re
import unicodedata

_SEPARATORS = re.compile(r"[\s\-‐‑–—'’`´.,/()]+")


def name_key(name: str) -> str:
    """'Westerhaar-Vriezenveensewijk' -> 'westerhaar vriezenveensewijk'; 'Gieten' stays 'gieten'."""
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", ascii_only.casefold()).strip()


def slug(name: str) -> str:
    """URL-safe form of a name: 'Het Broek' -> 'het-broek'."""
    return name_key(name).replace(" ", "-")
