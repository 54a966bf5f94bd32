"""/gaps: the gap page for community organizers: choose an area and a category, see the kernen
by status on a map and in a sortable table, and download the same as CSV or GeoJSON."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import format_decimal, gettext, lazy_gettext, ngettext

from .. import db, gapmap, mapview, settings
from ..config import DATA_ATTRIBUTION
from ..errors import AppError, InvalidInput
from ..services import demand as demand_svc
from ..services import fragility as fragility_svc
from ..services import gaps as svc
from . import maps

bp = Blueprint("gaps", __name__)

DEFAULT_CATEGORY = "ontmoeting"
VERIFIED_CHOICES = (6, 12, 24, 36)
LAND = "NL"

MESSAGES = {
    "area": lazy_gettext("Deze gemeente of provincie kennen we niet. Kies er een uit de lijst."),
    "category": lazy_gettext("Deze soort hulp kennen we niet. Kies er een uit de lijst."),
    "verified_within": lazy_gettext("Kies hoe recent een initiatief gecontroleerd moet zijn: "
                                    "1 tot 120 maanden."),
    "demo": lazy_gettext("Voorbeelden meetellen kan alleen aan of uit staan."),
}
# The statuses in the page's language (the API and exports keep the Dutch labels).
STATUS_TEXT = {"gap": lazy_gettext("Witte vlek"), "thin": lazy_gettext("Kwetsbaar"),
               "covered": lazy_gettext("Gedekt")}
STATUS_MEANING_TEXT = {
    "gap": lazy_gettext("geen initiatief dat aan de norm voldoet"),
    "thin": lazy_gettext("één initiatief: valt het weg, dan is er niets"),
    "covered": lazy_gettext("twee of meer initiatieven"),
}


@dataclass
class GapForm:
    """The page's choices as given (strings), and the request made of them."""

    area: str = ""
    category: str = DEFAULT_CATEGORY
    verified_within: str = ""
    demo: bool = True
    errors: dict[str, str] = field(default_factory=dict)

    def request(self) -> svc.GapRequest:
        return svc.GapRequest(
            gemeente=self.area if self.area.startswith("GM") else None,
            provincie=self.area if self.area.startswith("PV") else None,
            categories=(self.category,),
            verified_within=int(self.verified_within) if self.verified_within else None,
            demo=self.demo)

    def api_query(self) -> dict[str, str]:
        """The same question as /api/v1/gaps parameters."""
        query: dict[str, str] = {"category": self.category}
        if self.area.startswith("GM"):
            query["gemeente"] = self.area
        elif self.area.startswith("PV"):
            query["provincie"] = self.area
        if self.verified_within:
            query["verified_within"] = self.verified_within
        query["demo"] = "true" if self.demo else "false"
        return query


def read_form(args: Any) -> GapForm:
    """The page's parameters; unknown names and bad values become Dutch messages."""
    # The form sends demo=false from a hidden field and demo=true after it when ticked.
    demos = args.getlist("demo")
    demo_raw = (demos[-1] if demos else "true").strip().lower()
    form = GapForm(area=(args.get("area") or "").strip().upper(),
                   category=(args.get("category") or DEFAULT_CATEGORY).strip(),
                   verified_within=(args.get("verified_within") or "").strip(),
                   demo=demo_raw in ("1", "true", "ja", "on"))
    for name in args:
        if name not in ("area", "category", "verified_within", "demo"):
            form.errors[name] = gettext("De link bevat een onderdeel dat we niet kennen "
                                        "(%(name)s). Kies opnieuw hieronder.", name=name)
    if form.area and form.area != LAND and form.area[:2] not in ("GM", "PV"):
        form.errors["area"] = MESSAGES["area"]
    if form.verified_within and not form.verified_within.isdigit():
        form.errors["verified_within"] = MESSAGES["verified_within"]
    if demo_raw not in ("1", "0", "true", "false", "ja", "nee", "on", "off"):
        form.errors["demo"] = MESSAGES["demo"]
    return form


def _message(err: AppError) -> tuple[str, str]:
    """(field on the page, Dutch sentence) for an error of the service."""
    page_field = {"gemeente": "area", "provincie": "area"}.get(err.field or "", err.field or "")
    return page_field, str(MESSAGES.get(page_field, gettext("Er klopt iets niet aan de keuze.")))


@dataclass(frozen=True)
class TableRow:
    row: svc.KernCoverage
    symbol: str
    label: str


def table_rows(report: svc.GapReport) -> list[TableRow]:
    """Worst status first, then most people of 75+."""
    rows = sorted(report.rows, key=lambda r: (svc.STATUSES.index(r.status),
                                              -r.inhabitants_75plus, r.kern_name))
    return [TableRow(r, gapmap.SYMBOLS[r.status], str(STATUS_TEXT[r.status])) for r in rows]


def distance_text(metres: int) -> str:
    """'750 m', '2 km', '2,5 km' in the page's language."""
    if metres < 1000:
        return f"{format_decimal(metres)} m"
    return f"{format_decimal(round(metres / 1000, 1))} km"


def norm_text(norm: svc.Norm) -> str:
    """'binnen 2 km' or 'in of voor de kern', in the page's language."""
    if norm.metres is None:
        return gettext("in of voor de kern")
    return gettext("binnen %(distance)s", distance=distance_text(norm.metres))


def _feature_label(row: svc.KernCoverage) -> str:
    nearest = gettext("geen") if row.nearest_m is None else distance_text(row.nearest_m)
    return ngettext("%(status)s: %(num)d aanbieder; dichtstbijzijnde %(nearest)s; "
                    "%(people)s van 75+",
                    "%(status)s: %(num)d aanbieders; dichtstbijzijnde %(nearest)s; "
                    "%(people)s van 75+", row.providers, status=STATUS_TEXT[row.status],
                    nearest=nearest, people=format_decimal(row.inhabitants_75plus))


def fragility_of(form: GapForm, report: svc.GapReport
                 ) -> fragility_svc.FragilityReport | None:
    """The at-risk layer's data for a gemeente; a provincie or the country would cost the page
    too much on a large registry (the list and the API take a provincie)."""
    if report.area.kind != "gemeente":
        return None
    req = fragility_svc.FragilityRequest(gemeente=report.area.code, category=form.category,
                                         demo=form.demo)
    return fragility_svc.fragility(db.session(), req, settings.current())


def risk_features(risk: fragility_svc.FragilityReport | None, shapes: dict[str, Any]
                  ) -> list[gapmap.RiskFeature]:
    """One badge per fragile kern, with its reasons counted in words."""
    if risk is None:
        return []
    out = []
    for kern in risk.kernen:
        if not kern.fragile or kern.code not in shapes:
            continue
        counts = kern.reason_counts()
        words = "; ".join(f"{fragility_svc.REASON_LABELS[r].lower()}: {n}"  # type: ignore[index]
                          for r, n in counts.items() if n)
        label = gettext("%(num)d kwetsbaar (%(reasons)s)", num=len(kern.at_risk),
                        reasons=words)
        out.append(gapmap.RiskFeature(kern.code, kern.name,
                                      (shapes[kern.code].lat, shapes[kern.code].lon),
                                      len(kern.at_risk), label))
    return out


def gap_map(report: svc.GapReport, risk: fragility_svc.FragilityReport | None = None
            ) -> tuple[mapview.MapEmbed, bool]:
    """The folium map of the report's kernen, rendered into page pieces, and whether it
    shows a symbol at each kern point."""
    s = db.session()
    shapes = svc.kern_shapes(s, [r.kern_code for r in report.rows],
                             svc.TOLERANCE_M[report.area.kind])
    features = [
        gapmap.GapFeature(code=r.kern_code, name=r.kern_name, status=r.status,
                          label=_feature_label(r), geometry=json.loads(shapes[r.kern_code].area),
                          point=(shapes[r.kern_code].lat, shapes[r.kern_code].lon))
        for r in report.rows]
    config = settings.current()
    cn = report.norms[0]
    spec = gapmap.GapMapSpec(
        assets_url=url_for("static", filename="").rstrip("/"),
        tiles=mapview.Tiles(maps.tile_url(config.tile_url), config.tile_attribution),
        data_attribution=DATA_ATTRIBUTION,
        texts=maps.texts(gettext("Kaart: %(what)s %(norm)s per kern in %(area)s",
                                 what=cn.name.lower(), norm=norm_text(cn.norm),
                                 area=report.area.name)),
        features=features, at_risk=risk_features(risk, shapes))
    return gapmap.render(spec), gapmap.detailed(features)


def _choices() -> dict[str, Any]:
    s = db.session()
    provincies, gemeenten = svc.areas(s)
    return {"provincies": provincies, "gemeenten": gemeenten,
            "categories": svc.category_names(s), "verified_choices": VERIFIED_CHOICES,
            "statuses": svc.STATUSES, "status_labels": STATUS_TEXT,
            "status_meaning": STATUS_MEANING_TEXT, "symbols": gapmap.SYMBOLS,
            "pattern_ids": gapmap.PATTERN_IDS, "pattern_defs": gapmap.PATTERN_DEFS,
            "count_cap": svc.COUNT_CAP}


@bp.get("/gaps")
def page():  # noqa: ANN201
    form = read_form(request.args)
    context = {"form": form, **_choices()}
    if form.errors:
        return render_template("gaps.html", **context), 400
    if not form.area:
        return render_template("gaps.html", **context)
    try:
        report = svc.coverage(db.session(), form.request(), settings.current())
    except InvalidInput as err:
        page_field, message = _message(err)
        form.errors[page_field] = message
        return render_template("gaps.html", **context), 400
    total = report.totals[0]
    query = form.api_query()
    downloads = {fmt: url_for("api.gaps", **query, format=fmt)
                 for fmt in ("csv", "geojson", "json")}
    best = svc.plan_sites(db.session(), report).sites
    risk = fragility_of(form, report)
    embed, symbols_shown = gap_map(report, risk)
    kern_codes = [r.kern_code for r in report.rows]
    voice = demand_svc.for_gaps(db.session(), kern_codes)
    demand_rows = demand_svc.monthly_for_kernen(db.session(), kern_codes,
                                                report.norms[0].category)
    return render_template(
        "gaps.html", report=report, norm=report.norms[0], total=total,
        best_site=best[0] if best else None,
        gap_sentence=gap_sentence(total, report.norms[0]),
        thin_sentence=thin_sentence(total, report.norms[0]),
        norm_label=norm_text(report.norms[0].norm),
        rows=table_rows(report), map=embed, symbols_shown=symbols_shown, downloads=downloads,
        per_gemeente=per_gemeente(report), risk=risk, risk_symbol=gapmap.RISK_SYMBOL,
        voice=voice, voice_empty=demand_svc.Voice(), demand_rows=demand_rows,
        demand_months=demand_svc.MONTHS_SHOWN,
        risk_url=url_for("fragility.page", area=form.area, category=form.category,
                         demo="true" if form.demo else "false"),
        **context)


def gap_sentence(total: svc.Summary, cn: svc.CategoryNorm) -> str:
    """'1.240 mensen van 75 jaar en ouder wonen in 6 kernen zonder ontmoeting binnen 2 km.'
    (as svc.gap_sentence, in the page's language)."""
    gap = total.by_status["gap"]
    what = f"{cn.name.lower()} {norm_text(cn.norm)}"
    if not gap.kernen:
        return gettext("Geen kern zonder %(what)s.", what=what)
    # ngettext keeps `num` for the count itself; `count` carries it with separators.
    kernen = ngettext("%(count)s kern", "%(count)s kernen", gap.kernen,
                      count=format_decimal(gap.kernen))
    return ngettext("%(count)s mens van 75 jaar en ouder woont in %(kernen)s zonder %(what)s.",
                    "%(count)s mensen van 75 jaar en ouder wonen in %(kernen)s zonder "
                    "%(what)s.", gap.inhabitants_75plus,
                    count=format_decimal(gap.inhabitants_75plus), kernen=kernen, what=what)


def thin_sentence(total: svc.Summary, cn: svc.CategoryNorm) -> str:
    """'Daarnaast wonen 310 mensen van 75 jaar en ouder in 2 kwetsbare kernen (...)'."""
    thin = total.by_status["thin"]
    if not thin.kernen:
        return gettext("Er zijn geen kwetsbare kernen (met maar één aanbieder).")
    kernen = ngettext("%(count)s kwetsbare kern", "%(count)s kwetsbare kernen", thin.kernen,
                      count=format_decimal(thin.kernen))
    return gettext("Daarnaast wonen %(people)s mensen van 75 jaar en ouder in %(kernen)s: "
                   "daar is maar één initiatief voor %(what)s.",
                   people=format_decimal(thin.inhabitants_75plus), kernen=kernen,
                   what=cn.name.lower())


def per_gemeente(report: svc.GapReport) -> list[svc.Summary]:
    """Gemeenten with kernen that are a gap or thin, most people of 75+ in a gap first."""
    if report.area.kind == "gemeente":
        return []
    open_ = [x for x in report.summaries
             if x.by_status["gap"].kernen or x.by_status["thin"].kernen]
    return sorted(open_, key=lambda x: (-x.by_status["gap"].inhabitants_75plus,
                                        -x.by_status["thin"].inhabitants_75plus,
                                        x.gemeente_name or ""))
