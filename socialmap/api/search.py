"""GET /api/v1/search: radius, nearest and kern search as a GeoJSON FeatureCollection."""
from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

import orjson
from flask import Response, current_app, request
from werkzeug.datastructures import MultiDict

from .. import db, settings
from ..cache import AnswerCache
from ..schedule import now_local
from ..services import demand
from ..services import search as svc
from ..web.answer_cache import KEEP_HEADER, answer_found, worker_cache
from ..web.refresh import kept_in, refreshing
from . import bp
from .params import Params, parse

GEOJSON = "application/geo+json"
# (cached body, the demand signal rows the search added): a repeated search that found few
# results is still counted.
Cached = tuple[bytes, list[dict[str, Any]]]

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


def _link(base: str, args: MultiDict[str, str], offset: int, rel: str) -> dict[str, str]:
    pairs = [(k, v) for k, v in args.items(multi=True) if k != "offset"]
    pairs.append(("offset", str(offset)))
    return {"rel": rel, "type": GEOJSON, "href": f"{base}?{urlencode(pairs)}"}


def feature_collection(result: svc.SearchResult, args: MultiDict[str, str]) -> dict[str, Any]:
    req = result.request
    returned = len(result.hits)
    base = request.base_url
    links = [_link(base, args, req.offset, "self")]
    more = (returned == req.limit if result.matched is None
            else req.offset + returned < result.matched)
    if more:
        links.append(_link(base, args, req.offset + req.limit, "next"))
    if req.offset > 0:
        links.append(_link(base, args, max(0, req.offset - req.limit), "prev"))
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


def _encode(cached: Cached) -> bytes:
    body, signals = cached
    return orjson.dumps(signals) + b"\n" + body


def _decode(data: bytes) -> Cached:
    head, _, body = data.partition(b"\n")
    signals = orjson.loads(head)
    for row in signals:
        row["month"] = date.fromisoformat(row["month"])
    return body, signals


def _answer(body: bytes, max_age: int) -> Response:
    resp = Response(body, mimetype=GEOJSON)
    if max_age > 0:
        # As old as the cache may serve it; observability adds the ETag of a public answer.
        resp.headers["Cache-Control"] = f"public, max-age={max_age}"
    return resp


@bp.get("/search")
def search():  # noqa: ANN201
    cfg = settings.current()
    # Only anonymous requests: a signed-in editor sees an approval in search at once.
    cache: AnswerCache[Cached] | None = (
        None if request.cookies else worker_cache(current_app, "search", lambda v: len(v[0]),
                                                  _encode, _decode))
    now = now_local()
    # An answer is fresh for answer_cache_seconds, its "open now" included: as old as the
    # max-age lets any browser or proxy reuse it anyway; then, for answer_stale_seconds, it is
    # still served (with its Age, so no browser keeps it) while it is made again.
    key = (request.host_url, request.full_path)
    remake = refreshing()
    if cache is not None and not remake and (found := cache.lookup(key)) is not None:
        body, signals = found.value
        demand.write(db.session(), signals)
        return answer_found(_answer(body, cfg.answer_cache_seconds), found, cache, key)
    req = parse(request.args, read_search)
    result = svc.search(db.session(), req, cfg, now)
    signals = demand.signal_rows(result, now.date())
    if not remake:  # a remake (web.refresh) is no resident's search
        demand.write(db.session(), signals)
    body = orjson.dumps(feature_collection(result, request.args))
    if cache is None:
        return _answer(body, 0)
    response = _answer(body, cfg.answer_cache_seconds)
    response.headers["X-Cache"] = "miss"
    if signals:
        # Kept here, where a repeat still counts its demand signals.
        if cache.put(key, (body, signals)):
            kept_in(request.environ, cache)
    elif request.method == "GET":
        # The same for every anonymous client: kept whole by the layer in front, which answers
        # the repeats itself (web.fast_answers). (It sees GETs only: on a HEAD the mark would
        # reach the client.)
        response.headers[KEEP_HEADER] = "1"
    return response
