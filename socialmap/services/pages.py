"""Use cases of the site's pages: a search with facet counts and outlines, a kern, an initiative."""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ..config import Settings
from ..errors import NotFound
from ..geo import to_rd
from ..queries import contacts as contacts_q
from ..queries import facets as facets_q
from ..schedule import now_local
from . import outlines as outlines_svc
from . import search as search_svc
from .initiatives import get_initiative, parse_id
from .taxonomy import taxonomy_tree

# How far around a search or a location the map draws kern and gemeente outlines.
MARGIN_M = 1_500
KERN_MODE_REACH_M = 4_000
MAX_KERN_CODE = 80
# Counting every term over tens of thousands of hits (a city, 10 km) took longer than the rest
# of the page; beyond this the terms left uncounted show no number rather than a guess.
FACET_BUDGET_MS = 150


@dataclass
class SearchPage:
    """A search's hits, facet counts, the taxonomy to show them by, and outlines for the map."""

    result: search_svc.SearchResult
    counts: dict[str, dict[str, int]]
    taxonomy: dict[str, list[dict[str, Any]]]
    outlines: list[dict[str, Any]]
    contacts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass
class KernPage:
    """A kern with its figures and area, what lies in it and what serves it."""

    kern: dict[str, Any]
    result: search_svc.SearchResult
    taxonomy: dict[str, list[dict[str, Any]]]
    outlines: list[dict[str, Any]]
    contacts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass
class InitiativePage:
    """One initiative, public data only, with outlines around its locations."""

    initiative: dict[str, Any]
    outlines: list[dict[str, Any]]


def _outlines(s: Session, box: tuple[float, float, float, float]) -> list[dict[str, Any]]:
    return outlines_svc.in_box(s.connection(), box)


def _box_around(x: float, y: float, reach: float) -> tuple[float, float, float, float]:
    return x - reach, y - reach, x + reach, y + reach


def _contacts(s: Session, hits: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    ids = sorted({uuid.UUID(h["properties"]["service_id"]) for h in hits})
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in contacts_q.public_contacts(s.connection(), ids):
        entry = {k: getattr(row, k) for k in
                 ("kind", "name", "title", "email", "number", "description", "url")}
        if any(entry[k] for k in ("name", "email", "number", "url")):
            out[str(row.service_id)].append(entry)
    return dict(out)


def search_page(s: Session, req: search_svc.SearchRequest, settings: Settings,
                now: datetime | None = None, with_contacts: bool = False) -> SearchPage:
    """Run the search, count the facets over its hits and fetch the outlines around it."""
    now = now or now_local()
    result = search_svc.search(s, req, settings, now)
    # Over the search's own hits: the same place, mode and (resolved) filters.
    assert result.query is not None
    counts = (facets_q.facet_counts(s.connection(), result.query, FACET_BUDGET_MS)
              if result.mode != "nearest"
              else {"category": {}, "audience": {}})
    reach = (result.radius or KERN_MODE_REACH_M) + MARGIN_M
    outlines = _outlines(s, _box_around(result.place.x, result.place.y, reach))
    return SearchPage(result=result, counts=counts, taxonomy=taxonomy_tree(s),
                      outlines=outlines,
                      contacts=_contacts(s, result.hits) if with_contacts else {})


def kern_page(s: Session, code: str, settings: Settings, limit: int, offset: int = 0,
              now: datetime | None = None, with_contacts: bool = False) -> KernPage:
    """The kern's figures and area, and the search in mode kern (located in it, serving it)."""
    if len(code) > MAX_KERN_CODE or not code.isprintable():  # PostgreSQL text holds no NUL
        raise NotFound(f"no kern with code '{code[:MAX_KERN_CODE]}'", "code")
    kern = outlines_svc.kern_feature(s, code)
    req = search_svc.SearchRequest(kern=code, mode="kern", limit=limit, offset=offset)
    result = search_svc.search(s, req, settings, now)
    west, south, east, north = kern["bbox"]
    x0, y0 = to_rd(west, south)
    x1, y1 = to_rd(east, north)
    outlines = _outlines(s, (x0 - MARGIN_M, y0 - MARGIN_M, x1 + MARGIN_M, y1 + MARGIN_M))
    return KernPage(kern=kern, result=result, taxonomy=taxonomy_tree(s), outlines=outlines,
                    contacts=_contacts(s, result.hits) if with_contacts else {})


def initiative_page(s: Session, ident: str, settings: Settings) -> InitiativePage:
    """The initiative (public data only) and the outlines around its first location."""
    initiative = get_initiative(s, parse_id(ident), include_private=False,
                                show_demo=settings.show_demo)
    outlines: list[dict[str, Any]] = []
    located = [loc for loc in initiative["locations"] if loc.get("coordinates")]
    if located:
        x, y = to_rd(*located[0]["coordinates"])
        outlines = _outlines(s, _box_around(x, y, MARGIN_M))
    return InitiativePage(initiative=initiative, outlines=outlines)


def group_by_category(numbered: list[tuple[int, dict[str, Any]]],
                      taxonomy: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[Any]]]:
    """(top-level term, [(number, hit), ...]) in taxonomy order; a hit appears under each of its
    categories (a child term counts for its parent), uncategorised hits last."""
    parent_of = {child["code"]: top["code"] for top in taxonomy for child in top["children"]}
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for number, hit in numbered:
        codes = {parent_of.get(c, c) for c in hit["properties"]["categories"]} or {""}
        for code in codes:
            groups[code].append((number, hit))
    ordered: list[tuple[dict[str, Any], list[Any]]] = [
        (top, groups[top["code"]]) for top in taxonomy if groups.get(top["code"])]
    if groups.get(""):
        ordered.append(({"code": "", "name": "Overig", "name_en": "Other"}, groups[""]))
    return ordered
