"""GET /api/v1/gaps/at-risk: initiatives at risk and the fragility of each kern of a gemeente
or provincie, with the reasons in Dutch."""
from __future__ import annotations

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
