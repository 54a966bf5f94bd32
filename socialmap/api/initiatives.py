"""GET /api/v1/initiatives/{id} and GET /api/v1/taxonomy."""
from __future__ import annotations

from flask import request

from .. import db, settings
from ..services.auth import may_see_private
from ..services.initiatives import get_initiative, parse_id
from ..services.needs import plan_support
from ..services.taxonomy import taxonomy_tree
from ..web.auth import current_user
from . import bp
from .output import json_response
from .params import parse


@bp.get("/initiatives/<ident>")
def initiative(ident: str):  # noqa: ANN201
    parse(request.args, lambda p: None)
    service_id = parse_id(ident)
    # Private contacts only for signed-in area teams and editors of the initiative's gemeenten.
    private = may_see_private(db.session(), current_user(), service_id)
    body = get_initiative(db.session(), service_id, include_private=private,
                          show_demo=settings.current().show_demo)
    # A plan (status proposed) shows its draagvlak; other initiatives take no support.
    body["support"] = (plan_support(db.session(), service_id)
                       if body["status"] == "proposed" else None)
    response = json_response(body)
    if private:
        response.headers["Cache-Control"] = "private, no-store"
    response.vary.add("Cookie")
    return response


@bp.get("/taxonomy")
def taxonomy():  # noqa: ANN201
    parse(request.args, lambda p: None)
    return json_response(taxonomy_tree(db.session()), max_age=300)
