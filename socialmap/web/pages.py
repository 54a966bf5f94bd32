"""HTML pages for people: search, initiative, kern, their print views and the language switch."""
from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext

from .. import db, mapview, settings
from ..api.params import Params, parse
from ..errors import AppError, NotFound
from ..i18n import COOKIE, COOKIE_MAX_AGE, LANGUAGES
from ..queries import stats
from ..services import needs as needs_svc
from ..services import pages as svc
from ..services.search import SearchResult
from . import answer_cache, maps
from .filters import distance
from .messages import PLACE_HELP_CODES, user_message
from .needs import LABELS as NEED_LABELS
from .search_form import RADII, SearchForm, empty_form, read_form

bp = Blueprint("pages", __name__)

KERN_PAGE_SIZE = 50
# A printed list for a home visit holds more than a screenful.
PRINT_SIZE = 50


def _summary(result: SearchResult) -> str:
    """One sentence: how many, where, how far; announced to screen readers."""
    n = result.matched if result.matched is not None else len(result.hits)
    place = result.place.label
    if result.more_than is not None:
        where = (result.place.kern_name or place) if result.mode == "kern" else place
        return _("Meer dan %(num)d initiatieven in of rond %(place)s; de dichtstbijzijnde eerst",
                 num=result.more_than, place=where)
    if result.mode == "kern":
        kern = result.place.kern_name or place
        return ngettext("%(num)d initiatief in of voor %(kern)s",
                        "%(num)d initiatieven in of voor %(kern)s", n, kern=kern)
    if result.mode == "nearest":
        return ngettext("Het dichtstbijzijnde initiatief bij %(place)s",
                        "De %(num)d dichtstbijzijnde initiatieven bij %(place)s", n, place=place)
    return ngettext("%(num)d initiatief binnen %(radius)s van %(place)s",
                    "%(num)d initiatieven binnen %(radius)s van %(place)s", n,
                    radius=distance(result.radius), place=place)


def _paging(result: SearchResult) -> dict[str, Any]:
    req = result.request
    shown = len(result.hits)
    more = (shown == req.limit if result.matched is None
            else req.offset + shown < result.matched)
    return {"first": req.offset + 1, "last": req.offset + shown,
            "prev": max(0, req.offset - req.limit) if req.offset > 0 else None,
            "next": req.offset + req.limit if more else None}


def _search_map(page: svc.SearchPage) -> mapview.MapEmbed:
    result = page.result
    place = result.place
    return maps.render(
        _("Kaart van de resultaten rond %(place)s", place=place.label),
        rows=page.outlines, focus=result.kern_code,
        origin=mapview.Origin(place.lat, place.lon, place.label),
        radius_m=result.radius if result.mode == "radius" else None,
        hits=maps.hit_collection(result.hits, result.request.offset + 1),
        hits_url=maps.live_url(request.args))


@bp.get("/")
def home():  # noqa: ANN201
    context: dict[str, Any] = {"radii": RADII, "print_size": PRINT_SIZE}
    try:
        form = read_form(request.args)
        page = None
        if form.request is not None:
            page = svc.search_page(db.session(), form.request, settings.current(),
                                   with_contacts=form.printing)
            if not form.printing:  # a printed list repeats a search already counted
                answer_cache.count_demand(db.session(), page.result)
    except AppError as err:
        form = empty_form(request.args)
        place_help = err.extra.get("choices") or err.extra.get("suggestions") or []
        return render_template(
            "home.html", form=form, error=err, message=user_message(err),
            place_help=place_help if err.code in PLACE_HELP_CODES else [], **context,
        ), err.status
    if page is None:
        # The registry's size, modestly on the start page only: counting is not free at 1M.
        counts = stats.registry_counts(db.session(), settings.current().show_demo)
        return render_template("home.html", form=form, counts=counts, **context)
    context.update(form=form, page=page, result=page.result, summary=_summary(page.result),
                   paging=_paging(page.result))
    if form.printing:
        return render_template("print.html", title=context["summary"], hits=page.result.hits,
                               contacts=page.contacts, back=form.url(drop=("print",)),
                               **context)
    return render_template("home.html", map=_search_map(page), **context)


@bp.get("/initiatief/<ident>")
def initiative(ident: str):  # noqa: ANN201
    supported = parse(request.args, lambda p: p.choice("steun", ("geteld", "al")))
    page = svc.initiative_page(db.session(), ident, settings.current())
    item = page.initiative
    located = [loc for loc in item["locations"] if loc.get("coordinates")]
    map_embed = None
    if located:
        features = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": loc["coordinates"]},
             "properties": {"n": None, "name": loc["name"] or item["name"],
                            "lines": [loc["address"] or ""], "url": "#waar"}}
            for loc in located]}
        kern_codes = {loc["kern"]["code"] for loc in located if loc.get("kern")}
        map_embed = maps.render(
            _("Kaart met de plek van %(name)s", name=item["name"]),
            rows=page.outlines, hits=features, numbered=False,
            focus=next(iter(kern_codes)) if len(kern_codes) == 1 else None,
            extra_bounds=[(loc["coordinates"][1], loc["coordinates"][0]) for loc in located])
    support = (needs_svc.plan_support(db.session(), uuid.UUID(item["id"]))
               if item["status"] == "proposed" else None)
    response = Response(render_template("detail.html", item=item, map=map_embed,
                                        support=support, supported=supported))
    if support is not None:  # a plan's page carries support forms and live counts
        response.headers["Cache-Control"] = "no-store"
    return response


def _read_kern_page(p: Params) -> tuple[int, bool, str | None, str | None]:
    offset = p.int("offset", 0, minimum=0, maximum=1_000_000) or 0
    # 'behoefte' and 'steun' say what a resident just did (posted a need, gave support).
    return (offset, p.bool("print"), p.choice("behoefte", ("ontvangen",)),
            p.choice("steun", ("geteld", "al")))


@bp.get("/kern/<code>")
def kern(code: str):  # noqa: ANN201
    offset, printing, posted, supported = parse(request.args, _read_kern_page)
    page = svc.kern_page(db.session(), code, settings.current(), KERN_PAGE_SIZE, offset,
                         with_contacts=printing)
    props = page.kern["properties"]
    result = page.result
    numbered = list(enumerate(result.hits, start=offset + 1))
    located = [(n, h) for n, h in numbered if h["properties"]["match"] == "located"]
    serving = [(n, h) for n, h in numbered if h["properties"]["match"] != "located"]
    context: dict[str, Any] = {
        "kern": props, "result": result, "paging": _paging(result),
        "located": svc.group_by_category(located, page.taxonomy["category"]),
        "serving": svc.group_by_category(serving, page.taxonomy["category"]),
        "summary": _summary(result),
        "form": SearchForm(request.args, None, printing),
    }
    if printing:
        return render_template("print.html", title=props["label"], hits=result.hits,
                               contacts=page.contacts, back=request.path, **context)
    context["map"] = maps.render(
        _("Kaart van kern %(name)s", name=props["label"]),
        rows=page.outlines, focus=props["code"],
        hits=maps.hit_collection(result.hits, offset + 1))
    context.update(voice=needs_svc.kern_voice(db.session(), code, settings.current().show_demo),
                   taxonomy=page.taxonomy, posted=posted, supported=supported,
                   need_labels=NEED_LABELS, text_max=needs_svc.TEXT_MAX)
    response = Response(render_template("kern.html", **context))
    # The page carries forms with this browser's CSRF token and live support counts: not for
    # the browser to store; kept a minute by the answer cache, with a token per answer.
    response.headers["Cache-Control"] = "no-store"
    answer_cache.token_per_answer()
    return response


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host) may be the place to go back to."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@bp.get("/taal/<lang>")
def language(lang: str) -> Response:
    """Choose the site's language; remembered for a year in a cookie."""
    if lang not in LANGUAGES:
        raise NotFound(f"no language '{lang}'", "lang")
    response = redirect(_safe_next(request.args.get("next")), code=303)
    response.set_cookie(COOKIE, lang, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True,
                        secure=request.is_secure)
    return response
