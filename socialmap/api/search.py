"""GET /api/v1/search: radius, nearest and kern search as a GeoJSON FeatureCollection."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import request
from werkzeug.datastructures import MultiDict

from .. import db, settings
from ..services import demand
from ..services import search as svc
from . import bp
from .output import json_response
from .params import Params, parse

SEARCH_PARAMS = (
    "near", "kern", "mode", "radius", "limit", "offset", "category", "audience", "kind",
    "gemeente", "status", "open_now", "open_at", "q", "verified_within", "demo",
)


def read_search(p: Params) -> svc.SearchRequest:
    """The search parameters, shared by the API and the site."""
    return svc.SearchRequest(
        near=p.str("near"),
        kern=p.str("kern", max_length=80),
        mode=p.choice("mode", ("radius", "nearest", "kern")),  # type: ignore[arg-type]
        radius=p.int("radius", minimum=1, maximum=svc.MAX_RADIUS),
        limit=p.int("limit", 50, minimum=1, maximum=svc.MAX_LIMIT) or 50,
        offset=p.int("offset", 0, minimum=0, maximum=1_000_000) or 0,
        categories=p.list("category"),
        audiences=p.list("audience"),
        kinds=p.list("kind"),
        gemeente=p.str("gemeente", max_length=6),
        statuses=p.list("status"),
        open_now=p.bool("open_now"),
        open_at=p.weekday_time("open_at"),
        text=p.str("q", max_length=200),
        verified_within=p.int("verified_within", minimum=0, maximum=36_500),
        demo=p.bool("demo") if "demo" in p.args else None,
    )


def _link(args: MultiDict[str, str], offset: int, rel: str) -> dict[str, str]:
    pairs = [(k, v) for k, v in args.items(multi=True) if k != "offset"]
    pairs.append(("offset", str(offset)))
    return {"rel": rel, "type": "application/geo+json",
            "href": f"{request.base_url}?{urlencode(pairs)}"}


def feature_collection(result: svc.SearchResult, args: MultiDict[str, str]) -> dict[str, Any]:
    req = result.request
    returned = len(result.hits)
    links = [_link(args, req.offset, "self")]
    more = (returned == req.limit if result.matched is None
            else req.offset + returned < result.matched)
    if more:
        links.append(_link(args, req.offset + req.limit, "next"))
    if req.offset > 0:
        links.append(_link(args, max(0, req.offset - req.limit), "prev"))
    place = result.place
    body: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": result.hits,
        "numberReturned": returned,
    }
    if result.matched is not None:
        body["numberMatched"] = result.matched
    elif result.more_than is not None:
        body["numberMatchedMoreThan"] = result.more_than
    body["links"] = links
    body["search"] = {
        "mode": result.mode,
        "radius_m": result.radius,
        "kern": result.kern_code,
        "origin": {"label": place.label, "kind": place.kind,
                   "coordinates": [place.lon, place.lat], "kern": place.kern_code},
    }
    return body


@bp.get("/search")
def search():  # noqa: ANN201
    req = parse(request.args, read_search)
    result = svc.search(db.session(), req, settings.current())
    demand.record(db.session(), result)
    return json_response(feature_collection(result, request.args),
                         media_type="application/geo+json")
