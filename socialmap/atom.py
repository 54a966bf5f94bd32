"""Pure Atom (RFC 4287) writer: a feed and its entries -> UTF-8 XML bytes."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree as ET

NS = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml"


@dataclass(frozen=True)
class Entry:
    id: str  # a URN, stable for the same change
    title: str
    updated: datetime
    link: str
    summary: str


@dataclass(frozen=True)
class Feed:
    id: str
    title: str
    updated: datetime
    self_url: str
    alternate_url: str
    author: str
    entries: Sequence[Entry]


def _text(parent: ET.Element, tag: str, value: str, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{NS}}}{tag}", attrs)
    el.text = value
    return el


def _link(parent: ET.Element, href: str, rel: str = "alternate", kind: str | None = None
          ) -> None:
    attrs = {"href": href, "rel": rel}
    if kind:
        attrs["type"] = kind
    ET.SubElement(parent, f"{{{NS}}}link", attrs)


def render(feed: Feed) -> bytes:
    """The feed as an Atom document."""
    ET.register_namespace("", NS)
    root = ET.Element(f"{{{NS}}}feed", {"xml:lang": "nl"})
    _text(root, "id", feed.id)
    _text(root, "title", feed.title)
    _text(root, "updated", feed.updated.isoformat())
    _link(root, feed.self_url, "self", MEDIA_TYPE)
    _link(root, feed.alternate_url, "alternate", "text/html")
    author = ET.SubElement(root, f"{{{NS}}}author")
    _text(author, "name", feed.author)
    for entry in feed.entries:
        el = ET.SubElement(root, f"{{{NS}}}entry")
        _text(el, "id", entry.id)
        _text(el, "title", entry.title)
        _text(el, "updated", entry.updated.isoformat())
        _link(el, entry.link)
        _text(el, "summary", entry.summary, type="text")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
