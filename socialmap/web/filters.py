"""Template filters: distances, dates and their age, kinds and opening hours, per language."""
from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache
from typing import Any

from flask import Blueprint, g, url_for
from flask_babel import format_date, format_decimal, format_timedelta, lazy_gettext
from markupsafe import Markup

from ..config import DATA_ATTRIBUTION
from ..i18n import current_language
from ..schedule import SHORT_NL, Slot, now_local, opening_label
from ..services.search import COUNT_CAP
from ..vocab import KINDS
from .messages import user_message

bp = Blueprint("filters", __name__)

KIND_LABELS: dict[str, Any] = {
    "dorpshuis": lazy_gettext("Dorpshuis"),
    "kulturhus": lazy_gettext("Kulturhus"),
    "dorpsdagvoorziening": lazy_gettext("Dorpsdagvoorziening"),
    "vrijwilligersnetwerk": lazy_gettext("Vrijwilligersnetwerk"),
    "burenhulp": lazy_gettext("Burenhulp"),
    "zorginitiatief": lazy_gettext("Zorginitiatief"),
    "zorgcooperatie": lazy_gettext("Zorgcoöperatie"),
    "ontmoetingsplek": lazy_gettext("Ontmoetingsplek"),
    "maaltijdvoorziening": lazy_gettext("Maaltijdvoorziening"),
    "vervoersdienst": lazy_gettext("Vervoersdienst"),
    "gebiedsteam": lazy_gettext("Gebiedsteam"),
    "wijkverpleging": lazy_gettext("Wijkverpleging"),
    "welzijnsorganisatie": lazy_gettext("Welzijnsorganisatie"),
    "lotgenotengroep": lazy_gettext("Lotgenotengroep"),
    "overig": lazy_gettext("Overig"),
}


# A page lists up to fifty hits, each with its kind and date: their words are kept per language
# (the catalogues do not change while the process runs) instead of being looked up each time.
@lru_cache(maxsize=256)
def _kind_label(kind: str, _language: str) -> str:
    return str(KIND_LABELS.get(kind, KINDS.get(kind, kind)))


@bp.app_template_filter("kind")
def kind_label(kind: str) -> str:
    """The kind of an initiative in the page's language."""
    return _kind_label(kind, current_language())


@bp.app_template_filter("distance")
def distance(metres: int | float | None) -> str:
    """'350 m', '1,2 km' (Dutch) or '1.2 km' (English), '' when unknown."""
    if metres is None:
        return ""
    if round(metres, -1) < 1000:
        return f"{int(round(metres, -1))} m"
    pattern = "#,##0.0" if metres < 10_000 and round(metres, -2) % 1000 else "#,##0"
    return f"{format_decimal(metres / 1000, pattern)} km"


def _as_date(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value[:10])


@lru_cache(maxsize=4096)
def _long_date(day: date, _language: str) -> str:
    return format_date(day, "long")


@bp.app_template_filter("long_date")
def long_date(value: str | date | None) -> str:
    """'12 maart 2025' / 'March 12, 2025'."""
    day = _as_date(value)
    return _long_date(day, current_language()) if day else ""


@bp.app_template_filter("age")
def age(value: str | date | None) -> str:
    """'3 maanden geleden' / '3 months ago'; 'vandaag' for today."""
    day = _as_date(value)
    if day is None:
        return ""
    today = now_local().date()
    if day >= today:
        return str(lazy_gettext("vandaag"))
    return format_timedelta(day - today, add_direction=True, threshold=1.1)


def slots_of(schedule: list[str]) -> list[Slot]:
    """Slots back from their short form 'wo 09:30-16:00' (as search hits carry them)."""
    out = []
    for short in schedule:
        day, _, hours = short.partition(" ")
        opens, _, closes = hours.partition("-")
        if day in SHORT_NL and opens and closes:
            out.append(Slot(SHORT_NL.index(day) + 1, time.fromisoformat(opens),
                            time.fromisoformat(closes)))
    return out


@bp.app_template_filter("opening")
def opening(props: dict[str, Any], when: datetime | None = None) -> str:
    """A hit's 'Nu open tot 16:00' or 'Open woensdag 09:30' in the page's language."""
    if current_language() == "nl" or not props.get("schedule"):
        return props.get("opening") or ""
    return opening_label(slots_of(props["schedule"]), when or now_local(), "en") or ""


@bp.app_template_filter("week")
def week(schedule: list[str]) -> list[str]:
    """A hit's weekly slots as 'woensdag 09:30–16:00' / 'Wednesday 09:30–16:00'."""
    return [slot.label(current_language()) for slot in slots_of(schedule)]


@bp.app_template_filter("slot")
def slot_label(slot: dict[str, Any]) -> str:
    """A weekly slot of the detail page: 'woensdag 09:30–16:00' / 'Wednesday 09:30–16:00'."""
    return slot["label_en"] if current_language() == "en" else slot["label"]


@bp.app_template_filter("term")
def term_name(term: dict[str, Any]) -> str:
    """A taxonomy term's name in the page's language."""
    return term.get("name_en") or term["name"] if current_language() == "en" else term["name"]


@bp.app_template_filter("nl_number")
def number(value: int | float | None) -> str:
    """A count with the language's thousands separator."""
    return "" if value is None else format_decimal(value)


@bp.app_template_filter("capped")
def capped(value: int) -> str:
    """A count as the search reports it: exact up to COUNT_CAP, else "200+"."""
    return f"{COUNT_CAP}+" if value > COUNT_CAP else str(value)


@bp.app_template_filter("web_url")
def web_url(url: str | None) -> str:
    """The URL when it is an http(s) address, else '' (no javascript: or data: links)."""
    if url and url.strip().lower().startswith(("https://", "http://")):
        return url.strip()
    return ""


@bp.app_template_global("initiative_url")
def initiative_url(service_id: str) -> str:
    """url_for('pages.initiative', ident=service_id) for a service id (a UUID, nothing to
    quote), from a pattern built once per request: a list of fifty cards built it fifty times."""
    pattern: str | None = g.get("_initiative_url")
    if pattern is None:
        pattern = g._initiative_url = url_for("pages.initiative", ident="{id}").replace(
            "%7Bid%7D", "{id}")
    return pattern.replace("{id}", service_id)


@bp.app_context_processor
def _page_globals() -> dict[str, Any]:
    return {"data_attribution": DATA_ATTRIBUTION, "user_message": user_message,
            "today": now_local().date()}


@bp.app_template_filter("tel")
def tel_href(number_text: str) -> Markup:
    """A phone number as a tel: URL."""
    digits = "".join(ch for ch in number_text if ch.isdigit() or ch == "+")
    return Markup(f"tel:{digits}")
