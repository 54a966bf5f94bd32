"""The HSDS 3.0 API under /hsds: paged lists in HSDS's Page envelope, fully nested objects,
ndjson streams; strict parameters (an unknown or malformed one is a 400 naming it)."""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import orjson
from flask import Blueprint, Response, request, url_for
from sqlalchemy import Connection

from .. import db, geocode, settings
from ..api.output import json_response, streamed_response
from ..api.params import Params, parse
from ..errors import InvalidInput, NotFound
from ..geo import to_rd
from ..queries import hsds as q
from ..queries.search import Filters
from ..schedule import AMSTERDAM, now_local
from ..services.search import tsquery
from ..vocab import STATUSES
from . import export, listing
from .listing import Detail, Paging
from .openapi import MAX_PER_PAGE, MINIMAL_PER_PAGE, SCHEMA_DELTAS, document, profile_document
from .spec import VERSION

bp = Blueprint("hsds", __name__, url_prefix="/hsds")
DEFAULT_RADIUS = 5000
MAX_DISTANCE = 100_000


def _conn() -> Connection:
    return db.session().connection()


def _demo() -> bool:
    return settings.current().show_demo


def _uuid(p: Params, name: str) -> uuid.UUID | None:
    value = p.str(name, max_length=36, empty_ok=False)
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise InvalidInput(f"'{name}' must be an id (UUID)", name) from exc


def _path_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise InvalidInput(f"'{value}' is not an id (UUID)", "id") from exc


def _number(p: Params, name: str, low: float, high: float) -> float | None:
    value = p.str(name, max_length=30, empty_ok=False)
    if value is None:
        return None
    if not re.fullmatch(r"[+-]?[0-9]{1,3}(\.[0-9]{1,15})?", value):
        raise InvalidInput(f"'{name}' must be a number", name)
    number = float(value)
    if not low <= number <= high:
        raise InvalidInput(f"'{name}' must be between {low:g} and {high:g}", name)
    return number


def _datetime(p: Params, name: str) -> datetime | None:
    value = p.str(name, max_length=40, empty_ok=False)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"'{name}' must be an ISO 8601 date or date-time", name) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=AMSTERDAM)


def _paging(p: Params, stream: bool, minimal: bool = False) -> Paging:
    page = p.int("page", minimum=1, maximum=10_000_000)
    limit = MINIMAL_PER_PAGE if minimal else MAX_PER_PAGE
    per_page = p.int("per_page", minimum=1, maximum=limit)
    if stream:
        for name, value in (("page", page), ("per_page", per_page)):
            if value is not None:
                raise InvalidInput(f"'{name}' does not apply to format=ndjson, which streams "
                                   "every match", name)
        return Paging(1, None)
    return Paging(page or 1, per_page or (limit if minimal else 50))


def _stream(p: Params) -> bool:
    return p.choice("format", ("json", "ndjson"), "json") == "ndjson"


def _around(p: Params) -> q.Around | None:
    """The centre of a search: HSDS's postcode (+ proximity) or the profile's lat/lon/radius."""
    postcode = p.str("postcode", max_length=7)
    proximity = p.int("proximity", minimum=1, maximum=MAX_DISTANCE)
    lat = _number(p, "lat", -90, 90)
    lon = _number(p, "lon", -180, 180)
    radius = p.int("radius", minimum=1, maximum=MAX_DISTANCE)
    if proximity is not None and postcode is None:
        raise InvalidInput("'proximity' needs a 'postcode' to measure from", "proximity")
    if (lat is None) != (lon is None):
        raise InvalidInput("give both 'lat' and 'lon'", "lat" if lat is None else "lon")
    if radius is not None and lat is None:
        raise InvalidInput("'radius' needs 'lat' and 'lon' to measure from", "radius")
    if postcode is not None and lat is not None:
        raise InvalidInput("give either 'postcode' or 'lat' and 'lon', not both", "lat")
    if lat is not None and lon is not None:
        x, y = to_rd(lon, lat)
        return q.Around(x, y, float(radius or DEFAULT_RADIUS))
    if postcode is None:
        return None
    query = geocode.parse_near(postcode, "postcode")
    if not isinstance(query, geocode.PostcodeQuery):
        raise InvalidInput("'postcode' must be a Dutch postcode like 9163 or 9163 GA",
                           "postcode")
    place = geocode.resolve(db.session(), postcode, settings.current(), "postcode")
    if proximity is None and place.kern_code is None:
        raise NotFound(f"postcode {postcode} lies in no kern", "postcode")
    return q.Around(place.x, place.y, float(proximity) if proximity else None,
                    None if proximity else place.kern_code)


def _service_query(p: Params) -> q.ServiceQuery:
    search = p.str("search", max_length=200)
    kern = p.str("kern", max_length=80)
    gemeente = p.str("gemeente", max_length=6, empty_ok=False)
    if gemeente is not None and not re.fullmatch(r"GM[0-9]{4}", gemeente):
        raise InvalidInput("'gemeente' must be a CBS code like GM0060", "gemeente")
    open_now = p.bool("open_now")
    words = None
    if search:
        try:
            words = tsquery(search)
        except InvalidInput as exc:
            raise InvalidInput("'search' has no words to search for", "search") from exc
    open_at = None
    if open_now:
        now = now_local()
        open_at = (now.isoweekday(), now.time().replace(tzinfo=None, microsecond=0), now.date())
    query = q.ServiceQuery(
        filters=Filters(statuses=STATUSES, include_demo=_demo(), tsquery=words,
                        open_at=open_at, gemeente=gemeente),
        taxonomy_term_id=_uuid(p, "taxonomy_term_id"),
        taxonomy_id=_uuid(p, "taxonomy_id"),
        organization_id=_uuid(p, "organization_id"),
        modified_after=_datetime(p, "modified_after"),
        kern_code=kern,
        around=_around(p),
    )
    if kern is not None:
        geocode.kern_place(db.session(), kern)  # NotFound (404, field 'kern') when unknown
    return query


def _ndjson(objects: Callable[[Connection], Iterable[Any]]) -> Response:
    """Every object `objects` reads, one JSON document a line. `objects` runs now (a generator
    expression reads its first iterable at once), so what it does first fails as an error
    answer; the rest streams over the request's session (see streamed_response)."""
    return streamed_response((orjson.dumps(obj) + b"\n" for obj in objects(_conn())),
                             "application/x-ndjson")


# --- meta -----------------------------------------------------------------------------------

@bp.get("/")
def root():  # noqa: ANN201
    parse(request.args, lambda p: None)
    return json_response({
        "version": VERSION,
        "profile": url_for("hsds.profile", _external=True),
        "openapi_url": url_for("hsds.openapi", _external=True),
    }, max_age=3600)


@bp.get("/openapi.json")
def openapi():  # noqa: ANN201
    parse(request.args, lambda p: None)
    return json_response(document(), media_type="application/vnd.oai.openapi+json",
                         max_age=3600)


# --- the whole registry as files ------------------------------------------------------------

EXPORT_MEDIA = {"json": "application/json", "zip": "application/zip"}


@bp.get("/export.<kind>")
def export_file(kind: str):  # noqa: ANN201
    """The full export (as `flask hsds export`), streamed: rows are sorted and checked in
    temporary tables first, so a failure is an error answer rather than a cut-off file."""
    if kind not in EXPORT_MEDIA:
        raise NotFound(f"no export as .{kind}: use export.json or export.zip", "kind")
    parse(request.args, lambda p: None)
    write = export.export_json if kind == "json" else export.export_zip
    demo = _demo()
    return streamed_response(write(_conn(), demo), EXPORT_MEDIA[kind], {
        "Content-Disposition": f'attachment; filename="socialmap-hsds.{kind}"'})


@bp.get("/profile")
def profile():  # noqa: ANN201
    parse(request.args, lambda p: None)
    body = dict(profile_document())
    body["schema_deltas"] = {name: url_for("hsds.profile_schema", name=name, _external=True)
                             for name in body["schema_deltas"]}
    return json_response(body, max_age=3600)


@bp.get("/profile/schema/<name>.json")
def profile_schema(name: str):  # noqa: ANN201
    parse(request.args, lambda p: None)
    if name not in SCHEMA_DELTAS:
        raise NotFound(f"the profile changes no schema '{name}'", "name")
    return json_response(SCHEMA_DELTAS[name], media_type="application/merge-patch+json",
                         max_age=3600)


# --- services -------------------------------------------------------------------------------

def _read_services(p: Params) -> tuple[q.ServiceQuery, Paging, Detail, bool]:
    query = _service_query(p)
    stream = _stream(p)
    minimal, full = p.bool("minimal"), p.bool("full")
    if minimal and full:
        raise InvalidInput("give either 'minimal' or 'full', not both", "minimal")
    detail: Detail = "minimal" if minimal else "full" if full else "list"
    return query, _paging(p, stream, minimal), detail, stream


@bp.get("/services")
def services():  # noqa: ANN201
    query, paging, detail, stream = parse(request.args, _read_services, strict_empty=True)
    if stream:
        demo = _demo()
        return _ndjson(lambda conn: listing.service_stream(conn, query, detail, demo))
    return json_response(listing.services(_conn(), query, paging, detail, _demo()))


@bp.get("/services/<ident>")
def service(ident: str):  # noqa: ANN201
    parse(request.args, lambda p: None)
    return json_response(listing.service(_conn(), _path_id(ident), _demo()))


def _read_sals(p: Params) -> tuple[q.ServiceQuery, Paging, bool, bool]:
    query = _service_query(p)
    stream = _stream(p)
    return query, _paging(p, stream), p.bool("full"), stream


@bp.get("/service_at_locations")
def service_at_locations():  # noqa: ANN201
    query, paging, full, stream = parse(request.args, _read_sals, strict_empty=True)
    if stream:
        demo = _demo()
        return _ndjson(lambda conn: listing.service_at_location_stream(conn, query, full,
                                                                       demo))
    return json_response(listing.service_at_locations(_conn(), query, paging, full, _demo()))


@bp.get("/service_at_locations/<ident>")
def service_at_location(ident: str):  # noqa: ANN201
    parse(request.args, lambda p: None)
    return json_response(listing.service_at_location(_conn(), _path_id(ident), _demo()))


# --- organizations --------------------------------------------------------------------------

def _read_organizations(p: Params) -> tuple[str | None, Paging, bool, bool, bool]:
    search = p.str("search", max_length=200)
    stream = _stream(p)
    return search, _paging(p, stream), p.bool("full"), p.bool("full_service"), stream


@bp.get("/organizations")
def organizations():  # noqa: ANN201
    search, paging, full, full_service, stream = parse(request.args, _read_organizations,
                                                       strict_empty=True)
    if stream:
        demo = _demo()
        return _ndjson(lambda conn: listing.organization_stream(conn, search, full,
                                                                full_service, demo))
    return json_response(listing.organizations(_conn(), search, paging, full, full_service,
                                               _demo()))


@bp.get("/organizations/<ident>")
def organization(ident: str):  # noqa: ANN201
    full_service = parse(request.args, lambda p: p.bool("full_service"), strict_empty=True)
    return json_response(listing.organization(_conn(), _path_id(ident), full_service,
                                              _demo()))


# --- taxonomies -----------------------------------------------------------------------------

def _read_taxonomies(p: Params) -> tuple[str | None, Paging, bool]:
    search = p.str("search", max_length=200)
    stream = _stream(p)
    return search, _paging(p, stream), stream


@bp.get("/taxonomies")
def taxonomies():  # noqa: ANN201
    search, paging, stream = parse(request.args, _read_taxonomies, strict_empty=True)
    if stream:
        return _ndjson(lambda conn: listing.taxonomies(conn, search, None))
    return json_response(listing.taxonomies(_conn(), search, paging), max_age=300)


@bp.get("/taxonomies/<ident>")
def taxonomy(ident: str):  # noqa: ANN201
    parse(request.args, lambda p: None)
    return json_response(listing.taxonomy(_conn(), _path_id(ident)), max_age=300)


def _read_terms(p: Params) -> dict[str, Any]:
    search = p.str("search", max_length=200)
    stream = _stream(p)
    return {"search": search, "taxonomy_id": _uuid(p, "taxonomy_id"),
            "parent_id": _uuid(p, "parent_id"), "top_only": p.bool("top_only"),
            "paging": _paging(p, stream), "stream": stream}


@bp.get("/taxonomy_terms")
def taxonomy_terms():  # noqa: ANN201
    args = parse(request.args, _read_terms, strict_empty=True)
    stream = args.pop("stream")
    if stream:
        args["paging"] = None
        return _ndjson(lambda conn: listing.taxonomy_terms(conn, **args))
    return json_response(listing.taxonomy_terms(_conn(), **args), max_age=300)


@bp.get("/taxonomy_terms/<ident>")
def taxonomy_term(ident: str):  # noqa: ANN201
    parse(request.args, lambda p: None)
    return json_response(listing.taxonomy_term(_conn(), _path_id(ident)), max_age=300)
