"""GET /api/v1/gaps (coverage per kern and category, as JSON, CSV or GeoJSON) and the two
what-if questions under /api/v1/gaps/what-if/."""
from __future__ import annotations

import uuid
from typing import Any

from flask import Response, request
from sqlalchemy.orm import Session

from .. import db, settings
from ..errors import InvalidInput
from ..services import demand
from ..services import gaps as svc
from . import bp
from .output import json_response
from .params import Params, parse

FORMATS = ("json", "csv", "geojson")


def read_request(p: Params) -> svc.GapRequest:
    """The gap parameters shared by every gap endpoint."""
    return svc.GapRequest(
        gemeente=p.str("gemeente", max_length=6),
        provincie=p.str("provincie", max_length=4),
        categories=p.list("category"),
        verified_within=p.int("verified_within", minimum=1, maximum=svc.MAX_VERIFIED_MONTHS),
        demo=p.bool("demo") if "demo" in p.args else None,
        norm=p.str("norm", max_length=20),
    )


def _uuid(p: Params, name: str) -> uuid.UUID:
    value = p.str(name, max_length=36)
    if value is None:
        raise InvalidInput(f"'{name}' is required (the id of an initiative)", name)
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise InvalidInput(f"'{name}' must be a UUID", name) from exc


def area_dict(area: svc.Area) -> dict[str, Any]:
    return {"kind": area.kind, "code": area.code, "name": area.name}


def options_dict(verified_since: Any, include_demo: bool, months: int | None) -> dict[str, Any]:
    return {"verified_within_months": months,
            "verified_since": verified_since.isoformat() if verified_since else None,
            "demo": include_demo, "count_cap": svc.COUNT_CAP}


def report_dict(report: svc.GapReport) -> dict[str, Any]:
    """The JSON body of a coverage report."""
    return {
        "area": area_dict(report.area),
        "options": options_dict(report.verified_since, report.include_demo,
                                report.request.verified_within),
        "norms": [n.as_dict() for n in report.norms],
        "statuses": {s: {"label": svc.STATUS_LABELS[s], "meaning": svc.STATUS_MEANING[s]}
                     for s in svc.STATUSES},
        "totals": [t.as_dict(report.sentence(t)) for t in report.totals],
        "gemeenten": [x.as_dict(report.sentence(x)) for x in report.summaries],
        "kernen": [svc.export_row(report, r) for r in report.rows],
    }


def filename(report: svc.GapReport, ext: str) -> str:
    """'witte-vlekken-GM1640-ontmoeting.csv'."""
    parts = ["witte-vlekken", report.area.code or "NL"]
    if len(report.norms) == 1:
        parts.append(report.norms[0].category)
    return "-".join(parts) + f".{ext}"


def download(body: str | bytes, media_type: str, name: str) -> Response:
    resp = Response(body, mimetype=media_type)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp


@bp.get("/gaps")
def gaps():  # noqa: ANN201
    def read(p: Params) -> tuple[svc.GapRequest, str, str]:
        return (read_request(p), p.choice("format", FORMATS, "json") or "json",
                p.choice("geometry", ("area", "point"), "area") or "area")

    req, fmt, geometry = parse(request.args, read)
    s = db.session()
    report = svc.coverage(s, req, settings.current())
    if fmt == "csv":
        return download(svc.to_csv(s, report), "text/csv", filename(report, "csv"))
    if fmt == "geojson":
        body = svc.to_geojson(s, report, geometry)  # type: ignore[arg-type]
        resp = json_response(body, media_type="application/geo+json")
        resp.headers["Content-Disposition"] = (
            f'attachment; filename="{filename(report, "geojson")}"')
        return resp
    return json_response(with_voice(s, report, report_dict(report)))


def with_voice(s: Session, report: svc.GapReport, body: dict[str, Any]) -> dict[str, Any]:
    """Add what residents say beside the supply: per kern the open needs and their support
    and the searches that found nothing or few; per month the demand signals."""
    codes = [r.kern_code for r in report.rows]
    voice = demand.for_gaps(s, codes)
    for row, kern in zip(report.rows, body["kernen"], strict=True):
        kern.update(voice.get((row.kern_code, row.category), demand.Voice()).as_dict())
    categories = [n.category for n in report.norms]
    body["demand"] = {
        "months": demand.MONTHS_SHOWN, "few_below": demand.FEW,
        "rows": [r for r in demand.monthly_for_kernen(
            s, codes, categories[0] if len(categories) == 1 else None)
            if r["category"] in categories]}
    return body


def change_dict(change: svc.Change) -> dict[str, Any]:
    b, a = change.before, change.after
    return {"kern_code": b.kern_code, "kern_name": b.kern_name,
            "gemeente_code": b.gemeente_code, "gemeente_name": b.gemeente_name,
            "category": b.category, "status_before": b.status, "status_after": a.status,
            "providers_before": b.providers, "providers_after": a.providers,
            "nearest_m_before": b.nearest_m, "nearest_m_after": a.nearest_m,
            "inhabitants": b.inhabitants, "inhabitants_65plus": b.inhabitants_65plus,
            "inhabitants_75plus": b.inhabitants_75plus}


def impact_dict(impact: svc.StopImpact, months: int | None) -> dict[str, Any]:
    return {
        "service": {"id": str(impact.service_id), "name": impact.name,
                    "counted": impact.counted},
        "options": options_dict(impact.verified_since, impact.include_demo, months),
        "norms": [n.as_dict() for n in impact.norms],
        "changes": [change_dict(c) for c in impact.changes],
        "lost": {c: vars(p) for c, p in impact.lost.items()},
        "thinner": {c: vars(p) for c, p in impact.thinner.items()},
    }


@bp.get("/gaps/what-if/stop")
def what_if_stop():  # noqa: ANN201
    def read(p: Params) -> tuple[uuid.UUID, svc.GapRequest]:
        return _uuid(p, "service"), svc.GapRequest(
            categories=p.list("category"),
            verified_within=p.int("verified_within", minimum=1,
                                  maximum=svc.MAX_VERIFIED_MONTHS),
            demo=p.bool("demo") if "demo" in p.args else None)

    service_id, req = parse(request.args, read)
    impact = svc.what_if_stop(db.session(), service_id, req, settings.current())
    return json_response(impact_dict(impact, req.verified_within))


def site_report_dict(report: svc.SiteReport, months: int | None) -> dict[str, Any]:
    return {
        "area": area_dict(report.area),
        "options": options_dict(report.verified_since, report.include_demo, months),
        "norm": report.norm.as_dict(),
        "weight": report.weight,
        "include_thin": report.include_thin,
        "targets": vars(report.targets),
        "sites": [{"step": site.step, "kern_code": site.kern_code, "kern_name": site.kern_name,
                   "gemeente_code": site.gemeente_code, "people": vars(site.people),
                   "covers": [{"kern_code": r.kern_code, "kern_name": r.kern_name,
                               "status": r.status, "inhabitants": r.inhabitants,
                               "inhabitants_65plus": r.inhabitants_65plus,
                               "inhabitants_75plus": r.inhabitants_75plus}
                              for r in site.covers]}
                  for site in report.sites],
        "remaining": vars(report.remaining),
    }


@bp.get("/gaps/what-if/new")
def what_if_new():  # noqa: ANN201
    def read(p: Params) -> tuple[svc.GapRequest, int, str, bool]:
        return (read_request(p), p.int("sites", 1, minimum=1, maximum=svc.MAX_SITES) or 1,
                p.choice("weight", tuple(svc.WEIGHTS), "75plus") or "75plus",
                p.bool("include_thin"))

    req, sites, weight, include_thin = parse(request.args, read)
    report = svc.best_sites(db.session(), req, settings.current(), sites=sites, weight=weight,
                            include_thin=include_thin)
    return json_response(site_report_dict(report, req.verified_within))
