"""The search use case: where a search starts, which mode, which filters, and the hits."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from .. import geocode
from ..cache import TtlCache
from ..config import Settings
from ..errors import InvalidInput
from ..geocode import Place
from ..names import name_key
from ..queries import search as q
from ..schedule import is_open, opening_label, slots_from_rows
from ..vocab import KINDS, STATUSES, VISIBLE_STATUSES

MAX_RADIUS = 100_000
DEFAULT_RADIUS = 5_000
MAX_LIMIT = 500
MAX_QUERY_WORDS = 8
# Totals and facet counts beyond this are shown as "more than" (see queries.search).
COUNT_CAP = q.COUNT_CAP


@dataclass(frozen=True)
class SearchRequest:
    """A search as the user asked for it, validated but not yet resolved."""

    near: str | None = None
    kern: str | None = None
    mode: q.Mode | None = None
    radius: int | None = None
    limit: int = 50
    offset: int = 0
    categories: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    gemeente: str | None = None
    statuses: tuple[str, ...] = ()
    open_now: bool = False
    open_at: tuple[int, time] | None = None
    text: str | None = None
    verified_within: int | None = None
    demo: bool | None = None


@dataclass
class SearchResult:
    request: SearchRequest
    place: Place
    mode: q.Mode
    radius: int | None
    kern_code: str | None
    hits: list[dict[str, Any]] = field(default_factory=list)
    matched: int | None = None
    more_than: int | None = None
    # The query as run (place, mode, resolved filters), for what else counts over its hits.
    query: q.SearchQuery | None = None


def tsquery(text: str) -> str:
    """Words of free text as a prefix tsquery: 'Maaltijd  aan huis' -> 'maaltijd:* & aan:* & ...'.

    Only word characters survive, so user text can never break the tsquery syntax.
    """
    words = re.findall(r"\w+", name_key(text))[:MAX_QUERY_WORDS]
    if not words:
        raise InvalidInput("'q' has no words to search for", "q")
    return " & ".join(f"{w}:*" for w in words)


def _next_date_of(day: int, today: date) -> date:
    return today + timedelta(days=(day - today.isoweekday()) % 7)


def check(req: SearchRequest) -> None:
    """Contradictions between parameters, each a 400 naming the field."""
    if req.near is None and req.kern is None:
        raise InvalidInput("give 'near' (a place, postcode or coordinates) or 'kern'", "near")
    if req.near is not None and req.kern is not None:
        raise InvalidInput("give either 'near' or 'kern', not both", "kern")
    if req.mode in ("kern", "nearest") and req.radius is not None:
        raise InvalidInput(f"'radius' does not apply to mode '{req.mode}'", "radius")
    if req.open_now and req.open_at:
        raise InvalidInput("give either 'open_now' or 'open_at', not both", "open_at")
    for kind in req.kinds:
        if kind not in KINDS:
            raise InvalidInput(f"unknown kind '{kind}'", "kind")
    for status in req.statuses:
        if status not in STATUSES:
            raise InvalidInput(f"unknown status '{status}'", "status")
    if req.gemeente is not None and not re.fullmatch(r"GM\d{4}", req.gemeente):
        raise InvalidInput("'gemeente' must be a CBS code like GM1883", "gemeente")


def build_filters(s: Session, req: SearchRequest, settings: Settings,
                  now: datetime) -> q.Filters:
    conn = s.connection()
    for facet, name, codes in (("category", "category", req.categories),
                               ("audience", "audience", req.audiences)):
        unknown = q.unknown_terms(conn, facet, codes)
        if unknown:
            raise InvalidInput(f"unknown {facet} '{unknown[0]}'", name)
    if req.gemeente and not q.gemeente_exists(conn, req.gemeente):
        raise InvalidInput(f"unknown gemeente '{req.gemeente}'", "gemeente")
    open_at = None
    if req.open_now:
        open_at = (now.isoweekday(), now.time().replace(tzinfo=None, microsecond=0), now.date())
    elif req.open_at:
        day, at = req.open_at
        open_at = (day, at, _next_date_of(day, now.date()))
    include_demo = settings.show_demo if req.demo is None else (req.demo and settings.show_demo)
    return q.Filters(
        categories=req.categories, audiences=req.audiences, kinds=req.kinds,
        gemeente=req.gemeente, statuses=req.statuses or VISIBLE_STATUSES, open_at=open_at,
        tsquery=tsquery(req.text) if req.text else None,
        verified_since=(now.date() - timedelta(days=req.verified_within)
                        if req.verified_within is not None else None),
        include_demo=include_demo,
    )


# Where a search starts depends on the reference geography only, which changes when it is
# reloaded: places found are kept as long as public answers are (answer_cache_seconds), so a
# reload shows in search within the same minute as any other change. Per process; a kern's
# place is about 300 bytes, so 2 MiB keep every kern and thousands of points and postcodes.
_PLACES: dict[tuple[Any, ...], TtlCache[Place]] = {}
_PLACES_LOCK = threading.Lock()


def _place_cache(settings: Settings) -> TtlCache[Place] | None:
    if settings.answer_cache_seconds <= 0:
        return None
    key = (settings.database_url, settings.var_dir, settings.geocoder,
           settings.answer_cache_seconds)
    with _PLACES_LOCK:
        cache = _PLACES.get(key)
        if cache is None:
            cache = _PLACES[key] = TtlCache[Place](settings.answer_cache_seconds, 2 * 2**20,
                                                   lambda _place: 300)
    return cache


def resolve_origin(s: Session, req: SearchRequest, settings: Settings) -> Place:
    """The place a search starts from; a question that found no place is never kept."""
    cache = _place_cache(settings)
    key = (req.kern, req.near)
    if cache is not None and (place := cache.get(key)) is not None:
        return place
    if req.kern is not None:
        place = geocode.kern_place(s, req.kern)
    else:
        assert req.near is not None
        place = geocode.resolve(s, req.near, settings)
    if cache is not None:
        cache.put(key, place)
    return place


def choose_mode(req: SearchRequest, place: Place) -> tuple[q.Mode, int | None, str | None]:
    """Mode, radius and kern: a kern name searches its kern unless a radius is asked for."""
    mode = req.mode or ("kern" if place.kind == "kern" and req.radius is None else "radius")
    if mode == "radius":
        return mode, req.radius or DEFAULT_RADIUS, None
    if mode == "kern":
        if not place.kern_code:
            raise InvalidInput("this place lies in no kern; search by radius instead", "mode")
        return mode, None, place.kern_code
    return mode, None, None


def search(s: Session, req: SearchRequest, settings: Settings,
           now: datetime | None = None) -> SearchResult:
    """Resolve where, pick the mode, run the one statement, and shape the hits."""
    from ..schedule import now_local

    check(req)
    now = now or now_local()
    place = resolve_origin(s, req, settings)
    mode, radius, kern_code = choose_mode(req, place)
    filters = build_filters(s, req, settings, now)
    query = q.SearchQuery(mode=mode, x=place.x, y=place.y, radius=radius, kern_code=kern_code,
                          limit=req.limit, offset=req.offset, filters=filters)
    counted = q.run_search(s.connection(), query)
    hits = [hit_feature(row, now) for row in counted.rows]
    return SearchResult(request=req, place=place, mode=mode, radius=radius,
                        kern_code=kern_code, hits=hits, matched=counted.matched,
                        more_than=counted.more_than, query=query)


@lru_cache(maxsize=4096)
def _opening(slots: tuple[tuple[int, str, str], ...], minute: datetime,
             lang: str) -> tuple[bool | None, str | None, list[str]]:
    """Open now, the opening label and the short slots of one weekly schedule at a minute.

    Hits share schedules and a page is answered within a minute, so each pattern is worked
    out once a minute rather than once a hit (it was the largest cost of a result page)."""
    parsed = slots_from_rows(slots)
    if not parsed:
        return None, None, []
    return is_open(parsed, minute), opening_label(parsed, minute, lang), [
        slot.short() for slot in parsed]


def hit_feature(row: q.Hit, now: datetime, lang: str = "nl") -> dict[str, Any]:
    """One hit as a GeoJSON Feature (lon/lat)."""
    p = row.props
    slots = p["slots"]
    open_now, opening, schedule = _opening(
        tuple((d, o, c) for d, o, c in slots), now.replace(second=0, microsecond=0), lang
    ) if slots else (None, None, [])
    lon = p["lon"]
    kern_code, gemeente_code = p["kern_code"], p["gemeente_code"]
    return {
        "type": "Feature",
        "id": str(row.sal_id or row.service_id),
        "geometry": None if lon is None else {
            "type": "Point", "coordinates": [round(lon, 6), round(p["lat"], 6)]},
        "properties": {
            "service_id": str(row.service_id),
            "location_id": str(row.location_id) if row.location_id else None,
            "name": p["name"],
            "kind": p["kind"],
            "kind_label": KINDS.get(p["kind"], p["kind"]),
            "status": p["status"],
            "match": row.match,
            "distance_m": None if row.distance_m is None else int(row.distance_m),
            "kern": {"code": kern_code, "name": p["kern_name"]} if kern_code else None,
            "gemeente": ({"code": gemeente_code, "name": p["gemeente_name"]}
                         if gemeente_code else None),
            "address": p["address"],
            "location_type": p["location_type"],
            "precision": p["precision"],
            "categories": p["categories"],
            "audiences": p["audiences"],
            "open_now": open_now,
            "opening": opening,
            "schedule": list(schedule),
            "assured_date": p["assured_date"],
            "is_demo": p["is_demo"],
        },
    }


def with_page(req: SearchRequest, offset: int) -> SearchRequest:
    return replace(req, offset=offset)
