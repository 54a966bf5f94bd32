"""Needs and support in the API: GET/POST /kernen/{code}/needs, POST /needs/{id}/support and
POST /initiatives/{id}/support (plans only). Posts take JSON, so no plain HTML form on another
site can send them."""
from __future__ import annotations

from typing import Any

from flask import request

from .. import db, settings
from ..errors import AppError, InvalidInput
from ..services import needs as svc
from ..services.initiatives import parse_id
from ..web.auth import client_id
from ..web.needs import keep_voter_token, voter_token
from . import bp
from .output import json_response
from .params import parse


class UnsupportedMediaType(AppError):
    """A post without a JSON body."""

    status = 415
    code = "unsupported_media_type"


def _body(allowed: tuple[str, ...]) -> dict[str, Any]:
    """The JSON object posted; unknown names are a 400 naming the field."""
    parse(request.args, lambda p: None)
    if not request.is_json:
        raise UnsupportedMediaType("send a JSON object with Content-Type: application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", None)
    for name, value in body.items():
        if name not in allowed:
            raise InvalidInput(f"unknown field '{name}'", name)
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"'{name}' must be a string", name)
    return body


@bp.get("/kernen/<code>/needs")
def kern_needs(code: str):  # noqa: ANN201
    parse(request.args, lambda p: None)
    svc.kern_or_404(db.session(), code)
    body = svc.kern_voice(db.session(), code, settings.current().show_demo)
    return json_response({"kern": code, **body}, max_age=60)


@bp.post("/kernen/<code>/needs")
def post_need(code: str):  # noqa: ANN201
    body = _body(("category", "audience", "text"))
    need_id = svc.post_need(db.session(), code, body, client_id(), settings.current())
    return json_response({"id": str(need_id), "kern": code, "status": "pending"}, status=201)


def _support(done: svc.Supported) -> dict[str, Any]:
    return {"counted": done.counted, "support": done.counts}


@bp.post("/needs/<ident>/support")
def support_need(ident: str):  # noqa: ANN201
    kind = _body(("kind",)).get("kind") or ""
    need_id = parse_id(ident)
    token, fresh = voter_token()
    done = svc.support_need(db.session(), need_id, kind, token, client_id(),
                            settings.current())
    return keep_voter_token(json_response(_support(done)), token, fresh)


@bp.post("/initiatives/<ident>/support")
def support_plan(ident: str):  # noqa: ANN201
    kind = _body(("kind",)).get("kind") or ""
    service_id = parse_id(ident)
    token, fresh = voter_token()
    done = svc.support_plan(db.session(), service_id, kind, token, client_id(),
                            settings.current())
    return keep_voter_token(json_response(_support(done)), token, fresh)


# --- the OpenAPI description of these routes (merged into /api/v1/openapi.json) -------------

_ERROR = {"$ref": "#/components/responses/Error"}
_SUPPORT = {"type": "object", "required": ["need", "help"],
            "properties": {"need": {"type": "integer", "description": "ik heb dit ook nodig"},
                           "help": {"type": "integer", "description": "ik wil helpen"}}}
_KIND_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["kind"], "additionalProperties": False,
    "properties": {"kind": {"type": "string", "enum": ["need", "help"]}}}}}}
_SUPPORTED = {"200": {
    "description": "Counted (or already counted for this browser: counted false). The "
                   "answer may set the voter cookie, a random token; send it back to be "
                   "counted once.",
    "content": {"application/json": {"schema": {
        "type": "object", "properties": {"counted": {"type": "boolean"},
                                         "support": _SUPPORT}}}}},
    "400": _ERROR, "404": _ERROR, "409": _ERROR, "415": _ERROR, "429": _ERROR}
_NEED = {"type": "object", "properties": {
    "id": {"type": "string", "format": "uuid"}, "kern": {"type": "string"},
    "text": {"type": "string"}, "status": {"type": "string", "enum": ["approved", "resolved"]},
    "category": {"type": "object"}, "audience": {"type": ["object", "null"]},
    "created_at": {"type": "string", "format": "date"}, "support": _SUPPORT}}
_PLAN = {"type": "object", "properties": {
    "id": {"type": "string", "format": "uuid"}, "name": {"type": "string"},
    "description": {"type": ["string", "null"]}, "kind": {"type": "string"},
    "status": {"const": "proposed"}, "support": _SUPPORT}}
VOICE = {"needs": {"type": "array", "items": _NEED}, "resolved": {"type": "array", "items": _NEED},
         "plans": {"type": "array", "items": _PLAN}}


def _path(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string"}}


OPENAPI_PATHS: dict[str, Any] = {
    "/kernen/{code}/needs": {
        "get": {
            "summary": "What residents miss in a kern (approved needs), resolved needs and "
                       "plans, with their support counts",
            "operationId": "listKernNeeds",
            "parameters": [_path("code", "Kern code")],
            "responses": {"200": {"description": "OK", "content": {"application/json": {
                "schema": {"type": "object", "properties": {"kern": {"type": "string"},
                                                            **VOICE}}}}},
                "404": _ERROR},
        },
        "post": {
            "summary": "Post a need (behoefte) for a kern, without an account; it waits for "
                       "the gemeente's editors. No name, e-mail or address is asked or kept; "
                       "a text with an e-mail address or phone number is refused.",
            "operationId": "postKernNeed",
            "parameters": [_path("code", "Kern code")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["category", "text"],
                "additionalProperties": False,
                "properties": {
                    "category": {"type": "string", "description": "Top-level category code"},
                    "audience": {"type": "string", "description": "Audience code (optional)"},
                    "text": {"type": "string", "minLength": 10, "maxLength": 500}}}}}},
            "responses": {"201": {"description": "Stored, pending moderation",
                                  "content": {"application/json": {"schema": {
                                      "type": "object", "properties": {
                                          "id": {"type": "string", "format": "uuid"},
                                          "kern": {"type": "string"},
                                          "status": {"const": "pending"}}}}}},
                          "400": _ERROR, "404": _ERROR, "415": _ERROR, "429": _ERROR},
        },
    },
    "/needs/{id}/support": {"post": {
        "summary": "\"Ik heb dit ook nodig\" (kind need) or \"ik wil helpen\" (kind help) on "
                   "an approved need; once per browser (voter cookie) and kind",
        "operationId": "supportNeed",
        "parameters": [_path("id", "Need id")],
        "requestBody": _KIND_BODY,
        "responses": _SUPPORTED,
    }},
    "/initiatives/{id}/support": {"post": {
        "summary": "Support a plan (an initiative with status proposed); once per browser "
                   "and kind",
        "operationId": "supportPlan",
        "parameters": [_path("id", "Initiative id")],
        "requestBody": _KIND_BODY,
        "responses": _SUPPORTED,
    }},
}
