"""/kwetsbaar: the printable list for organizers of initiatives at risk in a gemeente or
provincie, with the reasons per initiative in Dutch and the fragile kernen."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for

from .. import db, settings
from ..errors import InvalidInput
from ..services import fragility as svc
from ..services import gaps as gap_svc

bp = Blueprint("fragility", __name__)

MESSAGES = {
    "area": "Deze gemeente of provincie kennen we niet. Kies er een uit de lijst.",
    "gemeente": "Deze gemeente of provincie kennen we niet. Kies er een uit de lijst.",
    "provincie": "Deze gemeente of provincie kennen we niet. Kies er een uit de lijst.",
    "category": "Deze soort hulp kennen we niet. Kies er een uit de lijst.",
    "demo": "Voorbeelden meetellen kan alleen aan of uit staan.",
}
KNOWN = ("area", "category", "demo", "print")


def read_form(args: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The page's choices and Dutch messages for what is wrong with them."""
    demos = args.getlist("demo")
    demo_raw = (demos[-1] if demos else "true").strip().lower()
    form = {"area": (args.get("area") or "").strip().upper(),
            "category": (args.get("category") or "").strip(),
            "demo": demo_raw in ("1", "true", "ja", "on"),
            "print": (args.get("print") or "") == "1"}
    errors: dict[str, str] = {}
    for name in args:
        if name not in KNOWN:
            errors[name] = (f"De link bevat een onderdeel dat we niet kennen ({name}). "
                            "Kies opnieuw hieronder.")
    if form["area"] and form["area"][:2] not in ("GM", "PV"):
        errors["area"] = MESSAGES["area"]
    if demo_raw not in ("1", "0", "true", "false", "ja", "nee", "on", "off"):
        errors["demo"] = MESSAGES["demo"]
    return form, errors


def _request(form: dict[str, Any]) -> svc.FragilityRequest:
    area = form["area"]
    return svc.FragilityRequest(gemeente=area if area.startswith("GM") else None,
                                provincie=area if area.startswith("PV") else None,
                                category=form["category"] or None, demo=form["demo"])


@bp.get("/kwetsbaar")
def page():  # noqa: ANN201
    form, errors = read_form(request.args)
    s = db.session()
    provincies, gemeenten = gap_svc.areas(s)
    context: dict[str, Any] = {
        "form": form, "errors": errors, "provincies": provincies, "gemeenten": gemeenten,
        "categories": gap_svc.category_names(s), "reason_labels": svc.REASON_LABELS,
        "reasons": svc.REASONS, "kind_label": svc.kind_label,
        "unverified_months": svc.UNVERIFIED_MONTHS, "funding_months": svc.FUNDING_MONTHS}
    if errors:
        return render_template("fragility.html", **context), 400
    if not form["area"]:
        return render_template("fragility.html", **context)
    try:
        report = svc.fragility(s, _request(form), settings.current())
    except InvalidInput as err:
        errors[err.field or "area"] = MESSAGES.get(err.field or "area",
                                                   "Er klopt iets niet aan de keuze.")
        return render_template("fragility.html", **context), 400
    query = {k: v for k, v in (("gemeente" if form["area"].startswith("GM") else "provincie",
                                form["area"]), ("category", form["category"]),
                               ("demo", "true" if form["demo"] else "false")) if v}
    fragile = sorted((k for k in report.kernen if k.fragile),
                     key=lambda k: (-len(k.sole_categories), -len(k.at_risk), k.name))
    return render_template(
        "fragility.html", report=report, fragile=fragile, kern_names=report.kern_names(),
        json_url=url_for("api.at_risk", **query),
        print_url=url_for("fragility.page", **{**request.args.to_dict(), "print": "1"}),
        **context)
