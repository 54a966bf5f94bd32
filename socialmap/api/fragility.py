"""GET /api/v1/gaps/at-risk: initiatives at risk and the fragility of each kern of a gemeente
or provincie, with the reasons in Dutch."""
from __future__ import annotations

from typing import Any

from flask import request

from .. import db, settings
from ..services import fragility as svc
from . import bp
from .output import json_response
from .params import Params, parse


def read_request(p: Params) -> svc.FragilityRequest:
    """The parameters of the at-risk endpoint (and of the list page)."""
    return svc.FragilityRequest(
        gemeente=p.str("gemeente", max_length=6),
        provincie=p.str("provincie", max_length=4),
        category=p.str("category", max_length=40),
        demo=p.bool("demo") if "demo" in p.args else None,
    )


@bp.get("/gaps/at-risk")
def at_risk():  # noqa: ANN201
    req = parse(request.args, read_request)
    report = svc.fragility(db.session(), req, settings.current())
    return json_response(svc.report_dict(report))


_REASON_CODES = {"type": "string", "enum": list(svc.REASONS)}
_COUNTS = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
OPENAPI_PATHS: dict[str, Any] = {
    "/gaps/at-risk": {"get": {
        "summary": "Initiatives at risk (temporarily closed, funding ending within 6 months, "
                   "the only provider of a category in a kern, not verified for 12 months) "
                   "and the fragility of each kern, with the reasons in Dutch",
        "operationId": "getAtRisk",
        # The at-risk page's form sends the same parameters: an empty one counts as left out.
        "parameters": [p | {"allowEmptyValue": True} for p in (
            {"name": "gemeente", "in": "query", "required": False,
             "description": "CBS gemeente code (this or provincie is required).",
             "schema": {"type": "string", "pattern": "^GM[0-9]{4}$"}},
            {"name": "provincie", "in": "query", "required": False,
             "description": "CBS provincie code.",
             "schema": {"type": "string", "pattern": "^PV[0-9]{2}$"}},
            {"name": "category", "in": "query", "required": False,
             "description": "A top-level category: only its initiatives and sole providers.",
             "schema": {"type": "string", "maxLength": 40}},
            {"name": "demo", "in": "query", "required": False,
             "description": "Include demo records (default: the site setting).",
             "schema": {"type": "boolean"}},
        )],
        "responses": {
            "200": {"description": "Initiatives at risk and kernen", "content": {
                "application/json": {"schema": {
                    "type": "object",
                    "required": ["area", "options", "reasons", "totals", "kernen",
                                 "initiatives"],
                    "properties": {
                        "area": {"type": "object"}, "options": {"type": "object"},
                        "reasons": {"type": "object"}, "totals": _COUNTS,
                        "kernen": {"type": "array", "items": {
                            "type": "object",
                            "required": ["kern_code", "fragile", "at_risk", "reasons",
                                         "sole_categories", "initiatives"],
                            "properties": {"kern_code": {"type": "string"},
                                           "fragile": {"type": "boolean"},
                                           "at_risk": {"type": "integer"},
                                           "reasons": _COUNTS}}},
                        "initiatives": {"type": "array", "items": {
                            "type": "object", "required": ["id", "name", "reasons"],
                            "properties": {
                                "id": {"type": "string", "format": "uuid"},
                                "reasons": {"type": "array", "minItems": 1, "items": {
                                    "type": "object", "required": ["code", "label", "text"],
                                    "properties": {"code": _REASON_CODES}}}}}},
                    }}}}},
            "400": {"$ref": "#/components/responses/Error"},
        },
    }},
}
