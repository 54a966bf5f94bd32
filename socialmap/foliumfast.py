"""Two of folium's per-map costs made once per process; the maps' HTML stays the same.

- folium renders each map element's header, html and script parts, then wraps every result in a
  branca `Element(template=<the rendered text>)`, and branca compiles that text as a new Jinja
  template (about 1.3 ms each, some 20 per map: most of a map page's Python time) only to render
  it once more into the same text. Here branca's `Template` returns the text itself when it holds
  no Jinja markup, as Jinja would render it (newlines normalized, one trailing newline dropped);
  text with markup is still compiled, once per distinct source.
- `folium.TileLayer` looks its URL up among xyzservices' providers by name, which flattens and
  normalizes the names of a thousand providers on every call (about 5 ms per map); here that
  index is built once.
- branca names every element in the script by camel-casing its class name anew at each mention
  (some 270 per kern page, about 1.5 ms); the camel-cased form of a class name is kept.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import branca.element
import branca.utilities
import xyzservices
from jinja2 import Template
from xyzservices.lib import QUERY_NAME_TRANSLATION

# Jinja's own line-break pattern (jinja2.lexer.newline_re).
_NEWLINE = re.compile(r"(\r\n|\r|\n)")
_MARKUP = ("{{", "{%", "{#")


class PlainText:
    """A template without markup: renders to its text whatever the arguments."""

    __slots__ = ("text",)

    def __init__(self, source: str) -> None:
        lines = _NEWLINE.split(source)[::2]
        if lines[-1] == "":  # Jinja's keep_trailing_newline=False
            del lines[-1]
        self.text = "\n".join(lines)

    def render(self, *_args: Any, **_kwargs: Any) -> str:
        return self.text


@lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    return Template(source)


def template(source: str) -> Template | PlainText:
    """What branca's Element makes of a template string."""
    if any(mark in source for mark in _MARKUP):
        return _compiled(source)
    return PlainText(source)


def _clean(name: str) -> str:
    return name.translate(QUERY_NAME_TRANSLATION).lower()


@lru_cache(maxsize=1)
def _providers() -> dict[str, Any]:
    return {_clean(k): v for k, v in xyzservices.providers.flatten().items()}


def query_name(name: str) -> Any:
    """xyzservices.providers.query_name on an index built once (the providers are fixed data)."""
    try:
        return _providers()[_clean(name)]
    except KeyError:
        raise ValueError(f"No matching provider found for the query '{name}'.") from None


# The element names in a map's script: a pure function of the few class names there are.
camelify = lru_cache(maxsize=256)(branca.utilities._camelify)


def install() -> None:
    """Use the above for every folium map built in this process; idempotent."""
    branca.element.Template = template  # type: ignore[assignment,misc]
    branca.element._camelify = camelify
    # An instance attribute of the providers' Bunch (a dict) wins over the class's method.
    xyzservices.providers.query_name = query_name  # type: ignore[method-assign]
