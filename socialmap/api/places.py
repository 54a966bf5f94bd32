"""GET /api/v1/kernen (autocomplete), /kernen/{code} (GeoJSON with area), /places/resolve."""
from __future__ import annotations

import re

from flask import request

from .. import db, geocode, settings
from ..errors import InvalidInput
from ..geocode import kernen
from ..services.needs import kern_voice
from . import bp
from .output import json_response
from .params import Params, parse

MAX_NEAR = 200


def _read_kernen(p: Params) -> tuple[str, str | None]:
    q = p.str("q", max_length=100)
    gemeente = p.str("gemeente", max_length=6, empty_ok=False)
    if q is None:
        raise InvalidInput("'q' is required: the start of a kern name", "q")
    if gemeente is not None and not re.fullmatch(r"GM[0-9]{4}", gemeente):
        raise InvalidInput("'gemeente' must be a CBS code like GM1883", "gemeente")
    return q, gemeente


@bp.get("/kernen")
def kernen_autocomplete():  # noqa: ANN201
    q, gemeente = parse(request.args, _read_kernen, strict_empty=True)
    return json_response({"kernen": kernen.autocomplete(db.session(), q, gemeente)},
                         max_age=300)


@bp.get("/kernen/<code>")
def kern_detail(code: str):  # noqa: ANN201
    parse(request.args, lambda p: None)
    body = kernen.feature(db.session(), code)
    # What residents miss and the plans here, with their support (see /kernen/{code}/needs).
    body["properties"].update(kern_voice(db.session(), code, settings.current().show_demo))
    return json_response(body, media_type="application/geo+json", max_age=60)


def _read_near(p: Params) -> str:
    near = p.str("near", max_length=MAX_NEAR)
    if near is None:
        raise InvalidInput("'near' is required: a place name, postcode or coordinates", "near")
    return near


@bp.get("/places/resolve")
def resolve_place():  # noqa: ANN201
    near = parse(request.args, _read_near, strict_empty=True)
    place = geocode.resolve(db.session(), near, settings.current())
    return json_response(place.to_dict())
