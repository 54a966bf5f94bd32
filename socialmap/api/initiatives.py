"""GET /api/v1/initiatives/{id} and GET /api/v1/taxonomy."""
from __future__ import annotations

from flask import request

from .. import db, settings
from ..services.initiatives import get_initiative, parse_id
from ..services.taxonomy import taxonomy_tree
from . import bp
from .output import json_response
from .params import parse


@bp.get("/initiatives/<ident>")
def initiative(ident: str):  # noqa: ANN201
    parse(request.args, lambda p: None)
    body = get_initiative(db.session(), parse_id(ident), include_private=False,
                          show_demo=settings.current().show_demo)
    return json_response(body)


@bp.get("/taxonomy")
def taxonomy():  # noqa: ANN201
    parse(request.args, lambda p: None)
    return json_response(taxonomy_tree(db.session()), max_age=300)
