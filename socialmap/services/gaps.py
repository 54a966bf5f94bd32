"""The gap analysis: norms per category, a status per kern, people counted, and what-if.

A kern is covered for a category when at least two counted initiatives meet the category's
norm, thin when exactly one does (one volunteer stopping leaves a gap) and a gap when none
does. A distance norm is met by an initiative located within that distance of the kern point
or serving the kern through its service area; a must-serve norm only by one located in the
kern or serving it. Counted are active initiatives, optionally only those verified within N
months, with or without the demo records.
"""
from __future__ import annotations

import calendar
import csv
import io
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy.orm import Session

from ..config import Settings
from ..errors import InvalidInput, NotFound
from ..queries import gap_store as store
from ..queries import gaps as q

Status = Literal["gap", "thin", "covered"]
AreaKind = Literal["land", "provincie", "gemeente"]

STATUSES: tuple[Status, ...] = ("gap", "thin", "covered")  # worst first
STATUS_LABELS: dict[Status, str] = {
    "gap": "Witte vlek", "thin": "Kwetsbaar", "covered": "Gedekt",
}
STATUS_MEANING: dict[Status, str] = {
    "gap": "geen initiatief dat aan de norm voldoet",
    "thin": "één initiatief: valt het weg, dan is er niets",
    "covered": "twee of meer initiatieven",
}
# Counts stop here, deliberately: exact below it, and "5" means five or more (the row's
# `capped` says so). Statuses need only 0, 1 or 2+; a city kern costs no more than a village.
COUNT_CAP = 5
# The location of a private initiative (a volunteer's home) must not be found by distances.
PRIVATE_ROUNDING_M = 100
MAX_VERIFIED_MONTHS = 120
MAX_SITES = 10
WEIGHTS: dict[str, str] = {
    "75plus": "inhabitants_75plus", "65plus": "inhabitants_65plus", "inhabitants": "inhabitants",
}
WEIGHT_LABELS: dict[str, str] = {
    "75plus": "mensen van 75 jaar en ouder", "65plus": "mensen van 65 jaar en ouder",
    "inhabitants": "inwoners",
}
MIN_NORM_M, MAX_NORM_M = 100, 100_000
# The nearest initiative is looked for up to twice the norm (at least 5 km, at most 50 km);
# beyond that nearest_m is None ("further than ..."), so a rare category stays cheap.
SEARCH_FACTOR, SEARCH_MIN_M, SEARCH_MAX_M = 2, 5_000, 50_000
LAND_NAME = "Nederland"


@dataclass(frozen=True)
class Norm:
    """What a kern needs for one category: an initiative within `metres`, or (None) one that
    serves the kern (located in it or with the kern in its service area)."""

    category: str
    metres: int | None = None

    @property
    def serve(self) -> bool:
        return self.metres is None

    @property
    def kind(self) -> Literal["distance", "serve"]:
        return "serve" if self.serve else "distance"

    def label(self) -> str:
        """'binnen 2 km' or 'in of voor de kern'."""
        if self.metres is None:
            return "in of voor de kern"
        if self.metres % 1000 == 0:
            return f"binnen {self.metres // 1000} km"
        if self.metres > 1000:
            return f"binnen {self.metres / 1000:.1f} km".replace(".", ",")
        return f"binnen {self.metres} m"

    def search_m(self) -> int:
        """How far the nearest initiative is looked for."""
        if self.metres is None:
            return SEARCH_MIN_M
        return min(max(SEARCH_FACTOR * self.metres, SEARCH_MIN_M), SEARCH_MAX_M)

    def spec(self) -> str:
        """The norm as written in the setting: '2km', '750m' or 'serve'."""
        if self.metres is None:
            return "serve"
        return f"{self.metres // 1000}km" if self.metres % 1000 == 0 else f"{self.metres}m"


# Defaults for every top-level category; see docs/GAPS.md for the reasoning.
DEFAULT_NORMS: dict[str, Norm] = {n.category: n for n in (
    Norm("ontmoeting", 2_000),
    Norm("vervoer"),
    Norm("maaltijden"),
    Norm("boodschappen"),
    Norm("klussen"),
    Norm("burenhulp"),
    Norm("mantelzorgondersteuning", 10_000),
    Norm("dagbesteding", 10_000),
    Norm("zorg", 5_000),
    Norm("informatie-advies", 10_000),
    Norm("opvoeden", 5_000),
    Norm("vrijwilligerswerk", 10_000),
)}
# A top-level category added later without a norm of its own.
FALLBACK_METRES = 5_000

_NORM_VALUE = re.compile(r"(\d+(?:\.\d+)?)\s*(km|m)?")


def parse_norm(category: str, value: str) -> Norm:
    """'2km', '2.5km', '750m', '1500' (metres) or 'serve' / 'bedienen'; ValueError otherwise."""
    text = value.strip().lower()
    if text in ("serve", "bedienen"):
        return Norm(category)
    m = _NORM_VALUE.fullmatch(text)
    if not m:
        raise ValueError(f"norm for '{category}' must be a distance like 2km or 750m, "
                         f"or 'serve'; got '{value}'")
    metres = round(float(m.group(1)) * (1000 if m.group(2) == "km" else 1))
    if not MIN_NORM_M <= metres <= MAX_NORM_M:
        raise ValueError(f"norm for '{category}' must lie between {MIN_NORM_M} m and "
                         f"{MAX_NORM_M // 1000} km; got '{value}'")
    return Norm(category, metres)


@lru_cache(maxsize=8)
def parse_norms(text: str) -> dict[str, Norm]:
    """'ontmoeting=3km, vervoer=serve' (commas or semicolons) -> {category: Norm}."""
    norms: dict[str, Norm] = {}
    for part in re.split(r"[;,]", text):
        if not part.strip():
            continue
        category, sep, value = part.partition("=")
        category = category.strip().lower()
        if not sep or not category:
            raise ValueError(f"SOCIALMAP_GAP_NORMS: '{part.strip()}' is not category=norm")
        try:
            norms[category] = parse_norm(category, value)
        except ValueError as exc:
            raise ValueError(f"SOCIALMAP_GAP_NORMS: {exc}") from exc
    return norms


def check_norm_setting(settings: Settings) -> None:
    """Raise ValueError naming SOCIALMAP_GAP_NORMS when the setting cannot be read (at app
    start; whether each category exists is known only with the database, at first use)."""
    parse_norms(settings.gap_norms)


def norm_table(settings: Settings) -> dict[str, Norm]:
    """The defaults with the overrides of the gap_norms setting applied."""
    return {**DEFAULT_NORMS, **parse_norms(settings.gap_norms)}


def status_of(providers: int) -> Status:
    if providers <= 0:
        return "gap"
    return "thin" if providers == 1 else "covered"


def months_before(day: date, months: int) -> date:
    """The same day `months` months earlier (clamped to the month's last day)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    month = month0 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def dutch_number(n: int) -> str:
    """1240 -> '1.240'."""
    return f"{n:,}".replace(",", ".")


@dataclass(frozen=True)
class GapRequest:
    """A gap question as asked: where, which categories, which initiatives count."""

    gemeente: str | None = None
    provincie: str | None = None
    categories: tuple[str, ...] = ()
    verified_within: int | None = None  # months
    demo: bool | None = None
    norm: str | None = None  # overrides the norm of the one category asked for


@dataclass(frozen=True)
class Area:
    kind: AreaKind
    code: str | None
    name: str


@dataclass(frozen=True)
class CategoryNorm:
    category: str
    name: str
    norm: Norm

    def as_dict(self) -> dict[str, Any]:
        return {"category": self.category, "name": self.name, "kind": self.norm.kind,
                "metres": self.norm.metres, "label": self.norm.label(),
                "nearest_search_m": self.norm.search_m()}


@dataclass(slots=True)
class KernCoverage:
    """One kern and one category: how far the nearest is, who counts, and the status.

    Not frozen: a country-wide answer builds tens of thousands of these, and a frozen
    dataclass's __init__ costs several times as much."""

    kern_code: str
    kern_name: str
    gemeente_code: str
    gemeente_name: str
    inhabitants: int
    inhabitants_65plus: int
    inhabitants_75plus: int
    category: str
    nearest_m: int | None
    within: int
    serving: int
    providers: int
    status: Status
    capped: bool = False  # a count reached COUNT_CAP: it means that many or more

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in KERN_COVERAGE_FIELDS}


KERN_COVERAGE_FIELDS = tuple(f.name for f in fields(KernCoverage))


@dataclass
class People:
    """Kernen and the people living in them."""

    kernen: int = 0
    inhabitants: int = 0
    inhabitants_65plus: int = 0
    inhabitants_75plus: int = 0

    def add(self, row: KernCoverage) -> None:
        self.kernen += 1
        self.inhabitants += row.inhabitants
        self.inhabitants_65plus += row.inhabitants_65plus
        self.inhabitants_75plus += row.inhabitants_75plus

    def of(self, weight: str) -> int:
        return int(getattr(self, WEIGHTS[weight]))


@dataclass
class Summary:
    """People per status for one category, in one gemeente or (gemeente None) the area."""

    category: str
    gemeente_code: str | None
    gemeente_name: str | None
    by_status: dict[Status, People] = field(
        default_factory=lambda: {s: People() for s in STATUSES})

    def as_dict(self, sentence: str) -> dict[str, Any]:
        return {"category": self.category, "gemeente_code": self.gemeente_code,
                "gemeente_name": self.gemeente_name,
                **{s: asdict(p) for s, p in self.by_status.items()}, "sentence": sentence}


@dataclass
class GapReport:
    area: Area
    norms: list[CategoryNorm]
    verified_since: date | None
    include_demo: bool
    rows: list[KernCoverage]
    summaries: list[Summary]
    totals: list[Summary]
    request: GapRequest

    def norm_of(self, category: str) -> CategoryNorm:
        return next(n for n in self.norms if n.category == category)

    def sentence(self, summary: Summary, weight: str = "75plus") -> str:
        """'1.240 mensen van 75 jaar en ouder wonen in 6 kernen zonder ontmoeting binnen 2 km.'"""
        return gap_sentence(summary.by_status["gap"], self.norm_of(summary.category), weight)


def gap_sentence(people: People, cn: CategoryNorm, weight: str = "75plus") -> str:
    what = f"{cn.name.lower()} {cn.norm.label()}"
    if people.kernen == 0:
        return f"Geen kern zonder {what}."
    kernen = "1 kern" if people.kernen == 1 else f"{dutch_number(people.kernen)} kernen"
    verb = "woont" if people.of(weight) == 1 else "wonen"
    return (f"{dutch_number(people.of(weight))} {WEIGHT_LABELS[weight]} {verb} in {kernen} "
            f"zonder {what}.")


# --- resolving a request -------------------------------------------------------------------

def resolve_area(s: Session, req: GapRequest) -> Area:
    """The area asked for, checked against the geography; 400 naming the field when unknown."""
    conn = s.connection()
    if req.gemeente and req.provincie:
        raise InvalidInput("give either 'gemeente' or 'provincie', not both", "provincie")
    if req.gemeente:
        if not re.fullmatch(r"GM\d{4}", req.gemeente):
            raise InvalidInput("'gemeente' must be a CBS code like GM1640", "gemeente")
        row = q.gemeente(conn, req.gemeente)
        if row is None:
            raise InvalidInput(f"unknown gemeente '{req.gemeente}'", "gemeente")
        return Area("gemeente", row.code, row.name)
    if req.provincie:
        if not re.fullmatch(r"PV\d{2}", req.provincie):
            raise InvalidInput("'provincie' must be a CBS code like PV31", "provincie")
        row = q.provincie(conn, req.provincie)
        if row is None:
            raise InvalidInput(f"unknown provincie '{req.provincie}'", "provincie")
        return Area("provincie", row.code, row.name)
    return Area("land", None, LAND_NAME)


def areas(s: Session) -> tuple[list[Any], list[Any]]:
    """Every provincie and every gemeente, to choose from."""
    return q.areas(s.connection())


def category_names(s: Session) -> dict[str, str]:
    """Top-level category code -> Dutch name, in taxonomy order."""
    return {row.code: row.name for row in q.top_categories(s.connection())}


def resolve_norms(s: Session, req: GapRequest, settings: Settings) -> list[CategoryNorm]:
    """The categories asked for (all top-level ones when none) with their norms."""
    names = category_names(s)
    for code in req.categories:
        if code not in names:
            raise InvalidInput(f"unknown or not a top-level category '{code}' "
                               f"(one of: {', '.join(names)})", "category")
    table = norm_table(settings)
    unknown = [c for c in table if c not in names and c not in DEFAULT_NORMS]
    if unknown:
        raise ValueError(f"SOCIALMAP_GAP_NORMS: unknown category '{unknown[0]}' "
                         f"(one of: {', '.join(names)})")
    chosen = list(dict.fromkeys(req.categories)) or list(names)
    norms = [CategoryNorm(c, names[c], table.get(c, Norm(c, FALLBACK_METRES))) for c in chosen]
    if req.norm is not None:
        if len(norms) != 1:
            raise InvalidInput("'norm' applies to exactly one category", "norm")
        try:
            norms = [replace(norms[0], norm=parse_norm(norms[0].category, req.norm))]
        except ValueError as exc:
            raise InvalidInput(str(exc).replace("norm for", "'norm' for"), "norm") from exc
    return norms


def check_options(req: GapRequest) -> None:
    months = req.verified_within
    if months is not None and not 1 <= months <= MAX_VERIFIED_MONTHS:
        raise InvalidInput(f"'verified_within' must be between 1 and {MAX_VERIFIED_MONTHS} "
                           "months", "verified_within")


def query_options(req: GapRequest, settings: Settings, today: date) -> q.Options:
    """Which initiatives count: demo by request and setting, verified since N months ago."""
    include_demo = settings.show_demo if req.demo is None else (req.demo and settings.show_demo)
    since = (months_before(today, req.verified_within)
             if req.verified_within is not None else None)
    return q.Options(verified_since=since, include_demo=include_demo)


def _scope(area: Area) -> q.Scope:
    if area.kind == "gemeente":
        return q.Scope(gemeente=area.code)
    if area.kind == "provincie":
        return q.Scope(provincie=area.code)
    return q.Scope()


def _norm_rows(norms: Sequence[CategoryNorm]) -> list[q.NormRow]:
    return [q.NormRow(n.category, None if n.norm.metres is None else float(n.norm.metres),
                      n.norm.serve, float(n.norm.search_m())) for n in norms]


def _kern_coverage(row: Any) -> KernCoverage:
    (kern_code, kern_name, gemeente_code, gemeente_name, inhabitants, inhabitants_65plus,
     inhabitants_75plus, category, nearest, nearest_private, within, serving,
     providers) = row[:13]
    if nearest is not None:
        step = PRIVATE_ROUNDING_M if nearest_private else 1
        nearest = int(round(nearest / step) * step)
    return KernCoverage(
        kern_code, kern_name, gemeente_code, gemeente_name, inhabitants or 0,
        inhabitants_65plus or 0, inhabitants_75plus or 0, category, nearest, within, serving,
        providers, status_of(providers), max(within, serving, providers) >= COUNT_CAP)


def _coverage_rows(s: Session, norms: Sequence[CategoryNorm], scope: q.Scope,
                   opts: q.Options) -> list[KernCoverage]:
    """Coverage computed now, for any options."""
    rows = q.coverage(s.connection(), _norm_rows(norms), scope, opts, COUNT_CAP)
    return [_kern_coverage(row) for row in rows]


def _stored_rows(s: Session, norms: Sequence[CategoryNorm], scope: q.Scope,
                 include_demo: bool) -> list[KernCoverage]:
    """Coverage for all active initiatives (with or without demo) from gap_coverage: rows
    near changes since the last read, missing rows and rows of another norm are recomputed,
    stored and committed first; the rest is read as stored."""
    conn = s.connection()
    norm_rows = _norm_rows(norms)
    categories = [n.category for n in norm_rows]
    rows = store.stored(conn, norm_rows, scope, include_demo)
    if all(r.fresh for r in rows) and not store.has_dirty(conn, categories):
        return [_kern_coverage(r) for r in rows]
    store.lock(conn, categories)
    store.claim_dirty(conn, categories)
    rows = store.stored(conn, norm_rows, scope, include_demo)
    todo: dict[str, list[str]] = {}
    for row in rows:
        if not row.fresh:
            todo.setdefault(row.category, []).append(row.kern_code)
    fresh: dict[tuple[str, str], Any] = {}
    opts = q.Options(include_demo=include_demo)
    for norm in sorted(norm_rows, key=lambda n: n.category):
        if norm.category not in todo:
            continue
        # One category per statement keeps a full recount within the statement timeout.
        computed = q.coverage(conn, [norm], q.Scope(kern_codes=tuple(todo[norm.category])),
                              opts, COUNT_CAP)
        store.store(conn, norm, include_demo, computed)
        fresh.update({(r.kern_code, r.category): r for r in computed})
    s.commit()  # also releases the lock
    return [_kern_coverage(fresh.get((r.kern_code, r.category), r)) for r in rows]


def refresh(s: Session, settings: Settings, rebuild: bool = False) -> int:
    """Recompute the stored coverage of every kern and category, with and without the demo
    records (after a large import, or to have the first reads fast); returns the rows. With
    `rebuild`, first recount the category points and areas from the registry (after a load
    that bypassed the triggers)."""
    norms = resolve_norms(s, GapRequest(), settings)
    if rebuild:
        store.rebuild(s.connection())
    store.forget(s.connection())
    count = 0
    for norm in norms:
        for with_demo in (True, False):
            count += len(_stored_rows(s, [norm], q.Scope(), with_demo))
    s.commit()
    return count


def summarize(rows: Iterable[KernCoverage], categories: Sequence[str]
              ) -> tuple[list[Summary], list[Summary]]:
    """People per status: per gemeente and category, and per category over all rows."""
    per: dict[tuple[str, str], Summary] = {}
    totals = {c: Summary(c, None, None) for c in categories}
    for row in rows:
        key = (row.gemeente_code, row.category)
        if key not in per:
            per[key] = Summary(row.category, row.gemeente_code, row.gemeente_name)
        per[key].by_status[row.status].add(row)
        totals[row.category].by_status[row.status].add(row)
    order = {c: i for i, c in enumerate(categories)}
    summaries = sorted(per.values(), key=lambda x: (x.gemeente_name or "", order[x.category]))
    return summaries, list(totals.values())


def coverage(s: Session, req: GapRequest, settings: Settings,
             today: date | None = None) -> GapReport:
    """Coverage of every kern of the area for the categories asked for, with people counts."""
    from ..schedule import now_local

    check_options(req)
    today = today or now_local().date()
    area = resolve_area(s, req)
    norms = resolve_norms(s, req, settings)
    opts = query_options(req, settings, today)
    if opts.verified_since is None and req.norm is None:
        rows = _stored_rows(s, norms, _scope(area), opts.include_demo)
    else:
        rows = _coverage_rows(s, norms, _scope(area), opts)
    summaries, totals = summarize(rows, [n.category for n in norms])
    return GapReport(area=area, norms=norms, verified_since=opts.verified_since,
                     include_demo=opts.include_demo, rows=rows, summaries=summaries,
                     totals=totals, request=req)


# --- what if an initiative stops -----------------------------------------------------------

@dataclass(frozen=True)
class Change:
    before: KernCoverage
    after: KernCoverage


@dataclass
class StopImpact:
    service_id: uuid.UUID
    name: str
    counted: bool
    norms: list[CategoryNorm]
    changes: list[Change]
    lost: dict[str, People]  # per category: kernen that become a gap
    thinner: dict[str, People]  # per category: kernen that go from covered to thin
    verified_since: date | None
    include_demo: bool


def _counts(service: Any, opts: q.Options) -> bool:
    """Whether the service counts at all under the options (then its stopping matters)."""
    since = opts.verified_since
    return (service.status == q.COUNTED_STATUS and (opts.include_demo or not service.is_demo)
            and (since is None or (service.assured_date is not None
                                   and service.assured_date >= since)))


def what_if_stop(s: Session, service_id: uuid.UUID, req: GapRequest, settings: Settings,
                 today: date | None = None) -> StopImpact:
    """Which kernen change status, and how many people live there, if this initiative stops.

    Only kernen the initiative can count for are computed (near its locations, holding one,
    or in its service area), twice: as things are, and without it.
    """
    from ..schedule import now_local

    check_options(req)
    today = today or now_local().date()
    conn = s.connection()
    service = q.service_categories(conn, service_id)
    if service is None:
        raise NotFound(f"no initiative with id {service_id}", "service")
    own = list(service.categories or [])
    asked = req.categories or tuple(own)
    all_norms = resolve_norms(s, replace(req, categories=tuple(asked)), settings)
    norms = [n for n in all_norms if n.category in own]
    opts = query_options(req, settings, today)
    impact = StopImpact(service_id=service.id, name=service.name, counted=_counts(service, opts),
                        norms=norms, changes=[], lost={n.category: People() for n in norms},
                        thinner={n.category: People() for n in norms},
                        verified_since=opts.verified_since, include_demo=opts.include_demo)
    if not norms or not impact.counted:
        return impact
    reach_m = max((n.norm.metres or 0) for n in norms)
    kernen = q.reach(conn, service.id, float(reach_m))
    if not kernen:
        return impact
    scope = q.Scope(kern_codes=tuple(kernen))
    before = _coverage_rows(s, norms, scope, opts)
    after = {(r.kern_code, r.category): r for r in
             _coverage_rows(s, norms, scope, replace(opts, exclude_service=service.id))}
    for row in before:
        other = after[(row.kern_code, row.category)]
        if other.status == row.status:
            continue
        impact.changes.append(Change(row, other))
        if other.status == "gap":
            impact.lost[row.category].add(row)
        elif other.status == "thin":
            impact.thinner[row.category].add(row)
    impact.changes.sort(key=lambda c: (STATUSES.index(c.after.status),
                                       -c.before.inhabitants_75plus, c.before.kern_name))
    return impact


# --- where one new initiative helps most ---------------------------------------------------

@dataclass
class Site:
    """A kern point as the site of one new initiative, and the target kernen it would reach."""

    step: int
    kern_code: str
    kern_name: str
    gemeente_code: str
    covers: list[KernCoverage]
    people: People


@dataclass
class SiteReport:
    area: Area
    norm: CategoryNorm
    weight: str
    include_thin: bool
    targets: People
    sites: list[Site]
    remaining: People
    verified_since: date | None
    include_demo: bool


def best_sites(s: Session, req: GapRequest, settings: Settings, *, sites: int = 1,
               weight: str = "75plus", include_thin: bool = False,
               today: date | None = None) -> SiteReport:
    """Greedy: the kern point where one new initiative of the category would reach the most
    people (by `weight`) in kernen with a gap (and thin ones, if asked); then the next best for
    the kernen still open, up to `sites` sites."""
    if len(req.categories) != 1:
        raise InvalidInput("give exactly one 'category' for a new initiative", "category")
    if weight not in WEIGHTS:
        raise InvalidInput(f"'weight' must be one of: {', '.join(WEIGHTS)}", "weight")
    if not 1 <= sites <= MAX_SITES:
        raise InvalidInput(f"'sites' must be between 1 and {MAX_SITES}", "sites")
    return plan_sites(s, coverage(s, req, settings, today), sites=sites, weight=weight,
                      include_thin=include_thin)


def plan_sites(s: Session, report: GapReport, *, sites: int = 1, weight: str = "75plus",
               include_thin: bool = False) -> SiteReport:
    """The greedy choice of `best_sites` on a coverage report of one category."""
    cn = report.norms[0]
    wanted = {"gap", "thin"} if include_thin else {"gap"}
    open_rows = {r.kern_code: r for r in report.rows if r.status in wanted}
    targets = People()
    for row in open_rows.values():
        targets.add(row)
    candidates = [r.kern_code for r in report.rows]
    chosen: list[Site] = []
    conn = s.connection()
    while open_rows and len(chosen) < sites:
        best = q.best_site(conn, serve=cn.norm.serve, metres=cn.norm.metres,
                           weight=WEIGHTS[weight], candidates=candidates,
                           targets=list(open_rows))
        if best is None:
            break
        covered = [open_rows.pop(code) for code in best.covers]
        people = People()
        for row in covered:
            people.add(row)
        chosen.append(Site(len(chosen) + 1, best.kern_code, best.kern_name, best.gemeente_code,
                           covered, people))
    remaining = People()
    for row in open_rows.values():
        remaining.add(row)
    return SiteReport(area=report.area, norm=cn, weight=weight, include_thin=include_thin,
                      targets=targets, sites=chosen, remaining=remaining,
                      verified_since=report.verified_since, include_demo=report.include_demo)


# --- exports -------------------------------------------------------------------------------

CSV_COLUMNS = (
    "kern_code", "kern_name", "gemeente_code", "gemeente_name", "category", "norm",
    "status", "status_label", "nearest_m", "within", "serving", "providers",
    "inhabitants", "inhabitants_65plus", "inhabitants_75plus", "capped",
    "lon", "lat", "x", "y",
)
GeometryKind = Literal["area", "point"]
# Simplification of kern areas for export and map, by how much is shown.
TOLERANCE_M: dict[AreaKind, float] = {"gemeente": 5.0, "provincie": 25.0, "land": 200.0}


def export_row(report: GapReport, row: KernCoverage) -> dict[str, Any]:
    """A coverage row with the norm and the Dutch status label, as exported."""
    return {**row.as_dict(), "norm": report.norm_of(row.category).norm.spec(),
            "status_label": STATUS_LABELS[row.status]}


def kern_points(s: Session, report: GapReport) -> dict[str, dict[str, float]]:
    """Kern code -> its point in WGS84 (lon, lat) and RD New (x, y), for the downloads."""
    rows = q.points(s.connection(), list(dict.fromkeys(r.kern_code for r in report.rows)))
    return {code: {"lon": round(r.lon, 6), "lat": round(r.lat, 6), "x": round(r.x, 1),
                   "y": round(r.y, 1)} for code, r in rows.items()}


def to_csv(s: Session, report: GapReport) -> str:
    """One line per kern and category (RFC 4180, UTF-8), with the kern's point in WGS84 and
    RD New."""
    where = kern_points(s, report)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n",
                            extrasaction="ignore")
    writer.writeheader()
    for row in report.rows:
        values = {**export_row(report, row), **where.get(row.kern_code, {})}
        writer.writerow({k: str(v).lower() if isinstance(v, bool) else v
                         for k, v in values.items()})
    return out.getvalue()


def kern_shapes(s: Session, codes: Sequence[str], tolerance: float) -> dict[str, Any]:
    """Kern code -> row with its simplified area (GeoJSON text, WGS84) and point (lon, lat)."""
    return q.shapes(s.connection(), codes, tolerance)


def to_geojson(s: Session, report: GapReport, geometry: GeometryKind = "area"
               ) -> dict[str, Any]:
    """A FeatureCollection, one feature per kern and category, in WGS84 (RFC 7946)."""
    shapes = kern_shapes(s, list(dict.fromkeys(r.kern_code for r in report.rows)),
                         TOLERANCE_M[report.area.kind])
    features = []
    for row in report.rows:
        shape = shapes[row.kern_code]
        geom = (json.loads(shape.area) if geometry == "area" else
                {"type": "Point", "coordinates": [round(shape.lon, 6), round(shape.lat, 6)]})
        # RFC 7946 geometry is WGS84; the kern point in RD New rides along for Dutch GIS.
        rd = {"x": round(shape.x, 1), "y": round(shape.y, 1)}
        features.append({"type": "Feature", "id": f"{row.kern_code}/{row.category}",
                         "geometry": geom, "properties": {**export_row(report, row), **rd}})
    return {"type": "FeatureCollection", "features": features}
