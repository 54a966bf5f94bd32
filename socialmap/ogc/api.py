"""OGC API - Features (Part 1 Core, GeoJSON, HTML; Part 2 CRS for EPSG:28992) under /ogc.

JSON or HTML by `f=json|html`, else by the Accept header; GeoJSON in CRS84 (lon/lat) unless
`crs` asks for RD New; strict parameters (400 naming the field, as OGC Core requires for
unknown ones); `limit` above the maximum counts as the maximum, as the standard says.
"""
from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, render_template, request, url_for

from .. import db, settings
from ..api.output import json_response
from ..api.params import Params, parse
from ..errors import InvalidInput, NotFound
from ..queries import ogc as q
from ..queries.search import Filters, unknown_terms
from ..vocab import VISIBLE_STATUSES
from .collections import (
    COLLECTIONS,
    CONFORMANCE,
    CRS84,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    RD_NEW,
    SRIDS,
    Collection,
    feature,
)
from .openapi import OPENAPI_MEDIA, document

bp = Blueprint("ogc", __name__, url_prefix="/ogc")
GEOJSON = "application/geo+json"
_NUMBER = re.compile(r"[+-]?[0-9]{1,9}(\.[0-9]{1,15})?")


# --- reading parameters -------------------------------------------------------------------

def _format(p: Params) -> str:
    """'json' or 'html': the f parameter, else what the Accept header prefers."""
    chosen = p.choice("f", ("json", "html"))
    if chosen:
        return chosen
    best = request.accept_mimetypes.best_match(
        ["application/json", GEOJSON, "text/html"], default="application/json")
    return "html" if best == "text/html" else "json"


def _crs(p: Params, name: str) -> int:
    value = p.str(name, max_length=200, empty_ok=False)
    if value is None:
        return SRIDS[CRS84]
    if value not in SRIDS:
        raise InvalidInput(f"'{name}' must be one of: {', '.join(SRIDS)}", name)
    return SRIDS[value]


def _bbox(p: Params) -> q.Box | None:
    value = p.str("bbox", max_length=200, empty_ok=False)
    srid = _crs(p, "bbox-crs")
    if value is None:
        return None
    parts = [v.strip() for v in value.split(",")]
    if len(parts) != 4 or not all(_NUMBER.fullmatch(v) for v in parts):
        raise InvalidInput("'bbox' must be four numbers: minx,miny,maxx,maxy", "bbox")
    minx, miny, maxx, maxy = (float(v) for v in parts)
    if minx > maxx or miny > maxy:
        raise InvalidInput("'bbox' must give the lower corner first", "bbox")
    if srid == 4326 and not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidInput("'bbox' in CRS84 must be longitudes and latitudes", "bbox")
    return q.Box(minx, miny, maxx, maxy, srid)


def _filters(c: Collection, p: Params) -> tuple[dict[str, str], Filters | None]:
    """Property filters: equality on a queryable; initiatives' also as search filters."""
    equals: dict[str, str] = {}
    for queryable in c.queryables:
        value = p.str(queryable.name, max_length=200, empty_ok=not queryable.enum)
        if value is None:
            continue
        if queryable.enum and value not in queryable.enum:
            raise InvalidInput(f"'{queryable.name}' must be one of: "
                               f"{', '.join(queryable.enum)}", queryable.name)
        equals[queryable.name] = value
    if c.id != "initiatives":
        return equals, None
    conn = db.session().connection()
    for facet in ("category", "audience"):
        if facet in equals and unknown_terms(conn, facet, [equals[facet]]):
            raise InvalidInput(f"unknown {facet} '{equals[facet]}'", facet)
    filters = Filters(
        categories=(equals.pop("category"),) if "category" in equals else (),
        audiences=(equals.pop("audience"),) if "audience" in equals else (),
        kinds=(equals.pop("kind"),) if "kind" in equals else (),
        statuses=(equals.pop("status"),) if "status" in equals else VISIBLE_STATUSES,
        include_demo=settings.current().show_demo,
    )
    return equals, filters


def _collection(cid: str) -> Collection:
    found = COLLECTIONS.get(cid)
    if found is None:
        raise NotFound(f"no collection '{cid}'; there are {', '.join(COLLECTIONS)}",
                       "collectionId")
    return found


# --- answers ------------------------------------------------------------------------------

def _link(endpoint: str, rel: str, media: str, title: str | None = None,
          **args: Any) -> dict[str, Any]:
    link = {"href": url_for(endpoint, _external=True, **args), "rel": rel, "type": media}
    if title:
        link["title"] = title
    return link


def _self_links(endpoint: str, fmt: str, media: str = "application/json",
                **args: Any) -> list[dict[str, Any]]:
    """self and alternate links of a page in JSON and HTML."""
    json_args, html_args = {**args, "f": "json"}, {**args, "f": "html"}
    return [
        _link(endpoint, "self" if fmt == "json" else "alternate", media, "This document as JSON",
              **json_args),
        _link(endpoint, "self" if fmt == "html" else "alternate", "text/html",
              "This document as HTML", **html_args),
    ]


def _answer(body: dict[str, Any], fmt: str, template: str, media: str = "application/json",
            crs: int | None = None, **context: Any) -> Response:
    if fmt == "html":
        resp = Response(render_template(template, body=body, **context), mimetype="text/html")
    else:
        resp = json_response(body, media_type=media)
    if crs is not None:
        resp.headers["Content-Crs"] = f"<{CRS84 if crs == 4326 else RD_NEW}>"
    return resp


def _collection_info(c: Collection) -> dict[str, Any]:
    conn = db.session().connection()
    filters = Filters(statuses=VISIBLE_STATUSES, include_demo=settings.current().show_demo)
    box = q.extent(conn, c.id, filters if c.id == "initiatives" else None)
    info: dict[str, Any] = {
        "id": c.id, "title": c.title, "description": c.description, "itemType": "feature",
        "crs": [CRS84, RD_NEW], "storageCrs": RD_NEW,
        "links": [
            _link("ogc.collection", "self", "application/json", c.title, cid=c.id, f="json"),
            _link("ogc.collection", "alternate", "text/html", c.title, cid=c.id, f="html"),
            _link("ogc.items", "items", GEOJSON, f"{c.title} (GeoJSON)", cid=c.id, f="json"),
            _link("ogc.items", "items", "text/html", f"{c.title} (HTML)", cid=c.id, f="html"),
            _link("ogc.queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                  "application/schema+json", "Queryables", cid=c.id),
        ],
    }
    if box:
        info["extent"] = {"spatial": {"bbox": [box], "crs": CRS84}}
    return info


@bp.get("/")
def landing():  # noqa: ANN201
    fmt = parse(request.args, _format, strict_empty=True)
    body = {
        "title": "socialmap OGC API - Features",
        "description": "Informal care initiatives, kernen and gemeenten of the Netherlands "
                       "for GIS: GeoJSON in CRS84 or RD New (EPSG:28992).",
        "links": [
            *_self_links("ogc.landing", fmt),
            _link("ogc.api", "service-desc", OPENAPI_MEDIA, "The API definition (OpenAPI 3.0)"),
            _link("ogc.conformance", "conformance", "application/json", "Conformance classes",
                  f="json"),
            _link("ogc.collections", "data", "application/json", "The collections", f="json"),
        ],
    }
    return _answer(body, fmt, "ogc_landing.html")


@bp.get("/api")
def api():  # noqa: ANN201
    parse(request.args, lambda p: p.choice("f", ("json",)), strict_empty=True)
    return json_response(document(), media_type=OPENAPI_MEDIA, max_age=3600)


@bp.get("/conformance")
def conformance():  # noqa: ANN201
    fmt = parse(request.args, _format, strict_empty=True)
    return _answer({"conformsTo": list(CONFORMANCE)}, fmt, "ogc_conformance.html")


@bp.get("/collections")
def collections():  # noqa: ANN201
    fmt = parse(request.args, _format, strict_empty=True)
    body = {"links": _self_links("ogc.collections", fmt),
            "collections": [_collection_info(c) for c in COLLECTIONS.values()]}
    return _answer(body, fmt, "ogc_collections.html")


@bp.get("/collections/<cid>")
def collection(cid: str):  # noqa: ANN201
    c = _collection(cid)
    fmt = parse(request.args, _format, strict_empty=True)
    return _answer(_collection_info(c), fmt, "ogc_collection.html", collection=c)


@bp.get("/collections/<cid>/queryables")
def queryables(cid: str):  # noqa: ANN201
    c = _collection(cid)
    parse(request.args, lambda p: p.choice("f", ("json",)), strict_empty=True)
    props = {qb.name: {"title": qb.description, "type": "string",
                       **({"enum": list(qb.enum)} if qb.enum else {})} for qb in c.queryables}
    body = {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": url_for("ogc.queryables", cid=c.id, _external=True),
            "type": "object", "title": c.title, "properties": props}
    return json_response(body, media_type="application/schema+json")


def _read_items(c: Collection, p: Params) -> tuple[str, q.ItemQuery]:
    fmt = _format(p)
    srid = _crs(p, "crs")
    box = _bbox(p)
    limit = p.int("limit", DEFAULT_LIMIT, minimum=1, maximum=10**12) or DEFAULT_LIMIT
    offset = p.int("offset", 0, minimum=0, maximum=10**9) or 0
    p.str("datetime", max_length=100)  # accepted: the collections have no time
    equals, filters = _filters(c, p)
    return fmt, q.ItemQuery(srid=srid, box=box, equals=equals, filters=filters,
                            limit=min(limit, MAX_LIMIT), offset=offset)


@bp.get("/collections/<cid>/items")
def items(cid: str):  # noqa: ANN201
    c = _collection(cid)
    fmt, query = parse(request.args, lambda p: _read_items(c, p), strict_empty=True)
    rows, matched = q.page(db.session().connection(), c.id, query)
    features = [feature(c, r) for r in rows]
    args = {k: v for k, v in request.args.items() if k not in ("f", "offset")}
    links = _self_links("ogc.items", fmt, GEOJSON, cid=c.id, **args,
                        **({"offset": query.offset} if query.offset else {}))
    if query.limit is not None and query.offset + len(features) < matched:
        links.append(_link("ogc.items", "next", GEOJSON, "Next page", cid=c.id, **args,
                           offset=query.offset + query.limit, f=fmt))
    if query.offset > 0:
        links.append(_link("ogc.items", "prev", GEOJSON, "Previous page", cid=c.id, **args,
                           offset=max(0, query.offset - (query.limit or 0)), f=fmt))
    links.append(_link("ogc.collection", "collection", "application/json", c.title, cid=c.id))
    body = {"type": "FeatureCollection", "features": features, "numberMatched": matched,
            "numberReturned": len(features),
            "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "links": links}
    return _answer(body, fmt, "ogc_items.html", GEOJSON, query.srid, collection=c,
                   query=query)


@bp.get("/collections/<cid>/items/<fid>")
def item(cid: str, fid: str):  # noqa: ANN201
    c = _collection(cid)

    def read(p: Params) -> tuple[str, int]:
        return _format(p), _crs(p, "crs")

    fmt, srid = parse(request.args, read, strict_empty=True)
    ident: Any = fid
    if c.id == "initiatives":
        ident = _uuid_or_404(fid)
    filters = Filters(statuses=VISIBLE_STATUSES, include_demo=settings.current().show_demo)
    row = q.one(db.session().connection(), c.id, ident,
                q.ItemQuery(srid=srid, filters=filters if c.id == "initiatives" else None))
    if row is None:
        raise NotFound(f"no feature '{fid}' in {c.id}", "featureId")
    body = feature(c, row)
    body["links"] = [
        *_self_links("ogc.item", fmt, GEOJSON, cid=c.id, fid=fid),
        _link("ogc.collection", "collection", "application/json", c.title, cid=c.id),
    ]
    return _answer(body, fmt, "ogc_item.html", GEOJSON, srid, collection=c)


def _uuid_or_404(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise NotFound(f"no feature '{value}'", "featureId") from exc
