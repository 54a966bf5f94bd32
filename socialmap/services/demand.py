"""Demand signals: searches that found nothing or few results, counted anonymously per month,
kern, category and normalised filters, and shown beside the gaps.

Only counts are kept: never the words typed (`q`), never the point or the address searched
from, never anything about who searched. A failure to count never breaks the search."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..errors import Forbidden
from ..queries import demand as q
from ..queries import needs as needs_q
from ..schedule import now_local
from ..vocab import KINDS
from . import auth
from .auth import CurrentUser
from .search import SearchResult

log = logging.getLogger(__name__)

# A search with fewer hits than this is "few": the resident had hardly anything to choose from.
FEW = 3
MONTHS_SHOWN = 12
MAX_FILTERS = 200


def month_of(day: date) -> date:
    """The first day of the day's month."""
    return day.replace(day=1)


def months_back(day: date, months: int) -> date:
    """The first day of the month `months - 1` months before the day's month (so 12 is a
    year including the current month)."""
    index = day.year * 12 + day.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)


def normalise_filters(result: SearchResult) -> str:
    """'audience=mantelzorgers,ouderen;kind=dorpshuis;open_now;text': sorted, codes only; free
    text is reduced to the word 'text' and a time to 'open_at'."""
    req = result.request
    parts = []
    if req.audiences:
        parts.append("audience=" + ",".join(sorted(set(req.audiences))))
    if req.kinds:
        parts.append("kind=" + ",".join(sorted(set(req.kinds))))
    if req.open_now:
        parts.append("open_now")
    if req.open_at:
        parts.append("open_at")
    if req.text:
        parts.append("text")
    return ";".join(parts)[:MAX_FILTERS]


def signal_rows(result: SearchResult, today: date) -> list[dict[str, Any]]:
    """The counts one search adds: one row per category asked (or one with ''), or none when
    the search found enough, was a later page, a nearest search or started outside any kern."""
    req = result.request
    kern = result.kern_code or result.place.kern_code
    if req.offset or result.mode == "nearest" or kern is None or result.more_than is not None:
        return []
    found = result.matched if result.matched is not None else len(result.hits)
    if found >= FEW:
        return []
    filters = normalise_filters(result)
    return [{"month": month_of(today), "kern_code": kern, "category": category[:40],
             "filters": filters, "searches": 1, "empty": int(found == 0),
             "few": int(found > 0)}
            for category in sorted(set(req.categories)) or [""]]


def record(s: Session, result: SearchResult, today: date | None = None) -> bool:
    """Count the search when it found nothing or few; True when a signal was written. A
    database error is logged and swallowed: the resident still gets their results."""
    return write(s, signal_rows(result, today or now_local().date()))


def write(s: Session, rows: list[dict[str, Any]]) -> bool:
    """Add signal rows (see signal_rows); True when written, False when none or on an error."""
    if not rows:
        return False
    try:
        with s.begin_nested():
            q.record(s.connection(), rows)
        s.commit()
        # A page that counted demand is not kept for others (web.answer_cache): each repeat of
        # a search with few results counts.
        s.info["demand_written"] = True
    except SQLAlchemyError:
        log.warning("demand signal not recorded (kern %s)", rows[0]["kern_code"],
                    exc_info=True)
        s.rollback()
        return False
    return True


# --- what organizers and editors see --------------------------------------------------------

@dataclass(frozen=True)
class Demand:
    """Searches with nothing or few results, summed."""

    searches: int = 0
    empty: int = 0
    few: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"searches": self.searches, "empty": self.empty, "few": self.few}


def by_kern(s: Session, kern_codes: Sequence[str], months: int = MONTHS_SHOWN,
            today: date | None = None) -> dict[tuple[str, str], Demand]:
    """(kern, top-level category or '') -> the signals of the last `months` months."""
    if not kern_codes:
        return {}
    since = months_back(today or now_local().date(), months)
    return {(r.kern_code, r.category): Demand(int(r.searches), int(r.empty), int(r.few))
            for r in q.totals_by_kern(s.connection(), kern_codes, since)}


def row_dict(r: Any) -> dict[str, Any]:
    return {"month": r.month.isoformat()[:7], "kern_code": r.kern_code, "kern_name": r.kern_name,
            "gemeente_code": r.gemeente_code, "gemeente_name": r.gemeente_name,
            "category": r.category or None, "filters": r.filters or None,
            "searches": int(r.searches), "empty": int(r.empty), "few": int(r.few)}


def monthly_for_kernen(s: Session, kern_codes: Sequence[str], category: str | None,
                       months: int = MONTHS_SHOWN, today: date | None = None
                       ) -> list[dict[str, Any]]:
    """Signals per month and kern for a gap report's kernen (filters summed)."""
    if not kern_codes:
        return []
    since = months_back(today or now_local().date(), months)
    return [row_dict(r) for r in q.monthly(s.connection(), kern_codes=kern_codes, since=since,
                                           category=category, limit=500)]


def for_staff(s: Session, user: CurrentUser, months: int = MONTHS_SHOWN,
              today: date | None = None) -> dict[str, Any]:
    """Signals per month, kern, category and filters in the user's gemeenten (editors, area
    teams; admins see all)."""
    if user.role not in auth.PRIVATE_DATA_ROLES or user.needs_second_factor:
        raise Forbidden("only editors and area teams may see this")
    since = months_back(today or now_local().date(), months)
    scope = None if user.is_admin else sorted(user.gemeenten)
    return {"since": since, "months": months,
            "rows": [row_dict(r) for r in q.monthly(s.connection(), gemeenten=scope,
                                                    since=since, by_filters=True)]}


def describe_filters(filters: str | None, audience_names: dict[str, str]) -> str:
    """Normalised filters in Dutch words: 'voor ouderen; nu open; met zoekwoorden'."""
    words = []
    for part in (filters or "").split(";"):
        name, _, value = part.partition("=")
        codes = value.split(",") if value else []
        if name == "audience":
            words.append("voor " + ", ".join(audience_names.get(c, c).lower() for c in codes))
        elif name == "kind":
            words.append("soort " + ", ".join(KINDS.get(c, c).lower() for c in codes))
        elif name == "open_now":
            words.append("nu open")
        elif name == "open_at":
            words.append("open op een gekozen dag en tijd")
        elif name == "text":
            words.append("met zoekwoorden")
    return "; ".join(words)


# --- beside the gaps ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Voice:
    """For one kern and category: open needs with their support, and the demand signals."""

    needs: int = 0
    me_too: int = 0
    helpers: int = 0
    demand: Demand = Demand()

    def as_dict(self) -> dict[str, Any]:
        return {"needs": {"open": self.needs, "me_too": self.me_too, "helpers": self.helpers},
                "demand": self.demand.as_dict()}


def for_gaps(s: Session, kern_codes: Sequence[str], months: int = MONTHS_SHOWN,
             today: date | None = None) -> dict[tuple[str, str], Voice]:
    """(kern, top-level category) -> open needs and the last `months` months of signals."""
    if not kern_codes:
        return {}
    demand = by_kern(s, kern_codes, months, today)
    needs = {(r.kern_code, r.category): r
             for r in needs_q.open_needs_by_kern(s.connection(), kern_codes)}
    out: dict[tuple[str, str], Voice] = {}
    for key in set(demand) | set(needs):
        n = needs.get(key)
        out[key] = Voice(needs=int(n.needs) if n else 0, me_too=int(n.me_too) if n else 0,
                         helpers=int(n.helpers) if n else 0,
                         demand=demand.get(key, Demand()))
    return out
