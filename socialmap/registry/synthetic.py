"""Deterministic generated registries on real kernen: the demo set and the benchmark sets.

The same kernen, plan and taxonomy give the same rows with the same ids (uuid5) every time.
Rows come out as COPY text lines per table, for the demo's bulk sync and the benchmark load.
"""
from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection

from ..queries import registry as q
from .record import NAMESPACE

# Assured dates are spread over the two years before this day (fixed, so the set is stable).
ANCHOR = date(2026, 11, 1)
EAST = frozenset({"PV22", "PV23", "PV25"})  # Drenthe, Overijssel, Gelderland: kulturhus, naober
CITY = 15_000  # a kern this large gets buurthuizen instead of one dorpshuis

COLUMNS: dict[str, tuple[str, ...]] = {
    "organization": ("id", "name", "description", "legal_form", "is_demo", "source"),
    "service": ("id", "organization_id", "name", "description", "kind", "status",
                "schedule_note", "assured_date", "assurer", "source", "is_demo"),
    "location": ("id", "name", "location_type", "city", "pc4", "kern_code", "precision", "geom",
                 "is_demo"),
    "service_at_location": ("id", "service_id", "location_id"),
    "attribute": ("id", "service_id", "taxonomy_term_id"),
    "schedule": ("id", "service_id", "weekday", "opens_at", "closes_at"),
    "service_area": ("id", "service_id", "kern_code"),
}
TABLES: tuple[str, ...] = tuple(COLUMNS)
ORGANIZATION_NAMES = {"stichting": "Stichting {name}", "vereniging": "Vereniging {name}",
                      "cooperatie": "{name} U.A.", "informele groep": "Werkgroep {name}"}
DAYS = ("ma", "di", "wo", "do", "vr", "za", "zo")


@dataclass(frozen=True)
class Profile:
    """A kind of initiative as generated: names, terms, opening hours, reach.

    Categories are the most specific terms that apply: a parent term (ontmoeting) already
    includes its children (inloop) in search, so both are never attached."""

    kind: str
    names: tuple[str, ...]  # templates with {kern}
    description: str
    categories: tuple[tuple[str, ...], ...]  # one set is chosen
    audiences: tuple[tuple[str, ...], ...]
    blocks: tuple[str, ...] = ()  # opening times to choose from, "09:00-12:00"
    days: tuple[int, ...] = (1, 2, 3, 4, 5)
    slots: tuple[int, ...] = (0,)  # how many weekly slots, one is chosen
    note: str | None = None
    home: bool = False  # help comes to the house: a service area of kernen
    legal_form: str | None = None  # an organization of this form runs it


PROFILES: dict[str, Profile] = {
    "dorpshuis": Profile(
        "dorpshuis", ("Dorpshuis {kern}", "Gemeenschapshuis {kern}", "MFC {kern}"),
        "Dorpshuis met inloop en koffie, activiteiten en ruimte voor verenigingen.",
        (("activiteiten", "inloop"), ("inloop",), ("activiteiten", "samen-eten")),
        (("iedereen",), ("iedereen", "ouderen")),
        ("09:00-12:00", "09:30-12:00", "13:30-17:00", "19:00-22:00", "19:30-23:00"),
        (1, 2, 3, 4, 5, 6), (1, 2, 3, 3), legal_form="stichting"),
    "kulturhus": Profile(
        "kulturhus", ("Kulturhus {kern}",),
        "Kulturhus: bibliotheek, verenigingen, zorg en welzijn onder één dak.",
        (("activiteiten", "informatie-advies"), ("inloop",)),
        (("iedereen",),),
        ("08:30-12:30", "09:00-17:00", "13:00-17:00", "19:00-22:00"),
        (1, 2, 3, 4, 5), (2, 3, 3), legal_form="stichting"),
    "buurthuis": Profile(
        "ontmoetingsplek", ("Buurthuis {kern}", "Wijkcentrum {kern}", "Huiskamer van {kern}"),
        "Ontmoetingsplek in de wijk: binnenlopen voor koffie, een praatje of een activiteit.",
        (("inloop",), ("activiteiten", "inloop")),
        (("eenzamen",), ("iedereen",), ("ouderen", "eenzamen")),
        ("09:00-12:00", "10:00-12:00", "13:30-16:00", "14:00-17:00"),
        (1, 2, 3, 4, 5), (1, 2, 3), legal_form="stichting"),
    "burenhulp": Profile(
        "burenhulp", ("Burenhulp {kern}", "Naoberhulp {kern}", "{kern} helpt elkaar"),
        "Dorpsgenoten helpen elkaar met kleine dingen: een boodschap, een klus, een praatje.",
        (("boodschappen", "klussen"), ("naoberschap",), ("bezoekdienst", "burenhulp")),
        (("iedereen",), ("ouderen",), ("ouderen", "mensen-met-een-beperking")),
        note="Hulp op afspraak; bel of mail het steunpunt.", home=True,
        legal_form="informele groep"),
    "vrijwilligersnetwerk": Profile(
        "vrijwilligersnetwerk", ("Vrijwilligers voor elkaar {kern}", "Vrijwilligerspunt {kern}"),
        "Netwerk van vrijwilligers dat bezoek aan huis en hulp bij praktische zaken regelt.",
        (("bezoekdienst", "vrijwilligerswerk"), ("burenhulp", "vrijwilligerswerk")),
        (("eenzamen", "ouderen"), ("iedereen",)),
        ("10:00-12:00", "13:30-15:30"), (1, 3, 5), (0, 1), home=True, legal_form="vereniging"),
    "vervoer": Profile(
        "vervoersdienst", ("Vervoer voor elkaar {kern}", "Vrijwillige vervoersdienst {kern}",
                           "Buurtbus {kern}"),
        "Vrijwillige chauffeurs rijden naar huisarts, ziekenhuis, winkel of familie.",
        (("vrijwilligersvervoer",), ("buurtbus",)),
        (("ouderen", "mensen-met-een-beperking"), ("ouderen",)),
        ("08:00-17:00", "09:00-16:00"), (1, 2, 3, 4, 5), (0, 0, 1),
        note="Ritten op afspraak, minstens twee dagen van tevoren aanvragen.", home=True,
        legal_form="stichting"),
    "samen-eten": Profile(
        "maaltijdvoorziening", ("Samen eten {kern}", "Eettafel {kern}", "Buurtrestaurant {kern}"),
        "Samen aan tafel voor een warme maaltijd tegen een kleine vergoeding.",
        (("samen-eten",),), (("ouderen", "eenzamen"), ("iedereen",)),
        ("12:00-13:30", "12:30-14:00", "17:30-19:00", "17:30-19:30"),
        (2, 3, 4, 5), (1, 1, 2)),
    "maaltijden-aan-huis": Profile(
        "maaltijdvoorziening", ("Maaltijden aan huis {kern}", "Maaltijdservice {kern}"),
        "Vrijwilligers brengen een warme maaltijd aan huis.",
        (("maaltijdbezorging",),), (("ouderen",), ("ouderen", "mantelzorgers")),
        ("11:00-13:00", "11:30-13:00"), (1, 2, 3, 4, 5), (2, 3), home=True,
        legal_form="stichting"),
    "dagbesteding": Profile(
        "zorginitiatief", ("Dagbesteding {kern}", "Dagbesteding De Ontmoeting {kern}"),
        "Dagbesteding in kleine groepen, ook voor mensen met dementie.",
        (("dagbesteding",), ("activiteiten", "dagbesteding")),
        (("mensen-met-dementie", "ouderen"), ("mensen-met-een-beperking",)),
        ("09:30-15:30", "10:00-16:00", "09:00-15:00"), (1, 2, 3, 4, 5), (2, 3, 3),
        legal_form="stichting"),
    "dorpsdagvoorziening": Profile(
        "dorpsdagvoorziening", ("Dorpsdagvoorziening {kern}",),
        "Inloop, koffie en dagbesteding in het eigen dorp, gedragen door vrijwilligers.",
        (("dagbesteding", "inloop"),), (("ouderen",), ("ouderen", "mensen-met-dementie")),
        ("09:30-15:30", "10:00-15:00"), (1, 2, 3, 4), (2, 3), legal_form="stichting"),
    "mantelzorg": Profile(
        "welzijnsorganisatie", ("Steunpunt mantelzorg {kern}", "Mantelzorgcafé {kern}"),
        "Advies, lotgenotencontact en even vrij voor wie voor een naaste zorgt.",
        (("mantelzorgondersteuning",), ("respijtzorg",)),
        (("mantelzorgers",),), ("09:00-12:00", "13:30-16:00", "19:30-21:30"),
        (1, 2, 3, 4), (1, 2), legal_form="stichting"),
    "zorgcooperatie": Profile(
        "zorgcooperatie", ("Zorgcoöperatie {kern}",),
        "Inwoners organiseren samen zorg en ondersteuning in hun dorp.",
        (("burenhulp", "zorgcooperatie"), ("klussen", "zorgcooperatie")),
        (("ouderen",), ("iedereen",)), ("10:00-12:00",), (2, 4), (0, 1), home=True,
        legal_form="cooperatie"),
    "dementie": Profile(
        "lotgenotengroep", ("Ontmoetingsgroep dementie {kern}", "Geheugencafé {kern}"),
        "Ontmoeting en uitleg voor mensen met dementie en hun naasten.",
        (("mantelzorgondersteuning", "ontmoeting"),),
        (("mantelzorgers", "mensen-met-dementie"),), ("14:00-16:00", "19:30-21:30"),
        (1, 2, 3, 4), (1,)),
    "informatiepunt": Profile(
        "welzijnsorganisatie", ("Informatiepunt {kern}", "Formulierenhulp {kern}"),
        "Vrijwilligers helpen met vragen over zorg, geld en formulieren.",
        (("formulierenhulp",), ("informatie-advies",)),
        (("iedereen",), ("ouderen", "nieuwkomers")), ("09:30-11:30", "13:30-15:30"),
        (1, 2, 3, 4, 5), (1, 2)),
    "bewegen": Profile(
        "ontmoetingsplek", ("Beweeggroep {kern}", "Samen in beweging {kern}"),
        "Wekelijks samen bewegen onder begeleiding, met koffie na afloop.",
        (("bewegen",), ("activiteiten", "bewegen")), (("ouderen",), ("iedereen",)),
        ("09:30-10:30", "10:00-11:00", "14:00-15:00"), (1, 2, 3, 4, 5), (1, 2)),
    "ouders": Profile(
        "vrijwilligersnetwerk", ("Ouders voor ouders {kern}", "Opvoedsteunpunt {kern}"),
        "Ouders steunen elkaar bij opvoeden en opgroeien.",
        (("ouders-helpen-ouders",),), (("gezinnen",), ("gezinnen", "jongeren")),
        ("09:00-11:00", "19:30-21:00"), (1, 2, 3, 4), (0, 1)),
    "sociaal-team": Profile(
        "gebiedsteam", ("Sociaal team {kern}", "Gebiedsteam {kern}"),
        "Het sociaal team van de gemeente denkt mee over zorg, welzijn, werk en geld.",
        (("sociaal-team",),), (("iedereen",),),
        ("09:00-12:00", "13:00-16:00"), (1, 2, 3, 4, 5), (1, 2, 3), home=True,
        legal_form="gemeente"),
}

# The demo set: (profile, smallest kern, chance of one, one more per this many inhabitants).
DEMO_RULES: tuple[tuple[str, int, float, int | None], ...] = (
    ("burenhulp", 800, 0.35, 60_000),
    ("vrijwilligersnetwerk", 1_500, 0.25, 50_000),
    ("vervoer", 1_500, 0.35, 80_000),
    ("samen-eten", 1_000, 0.35, 25_000),
    ("maaltijden-aan-huis", 3_000, 0.3, 60_000),
    ("dorpsdagvoorziening", 1_000, 0.06, None),
    ("dagbesteding", 5_000, 0.6, 25_000),
    ("mantelzorg", 8_000, 0.7, 50_000),
    ("zorgcooperatie", 2_000, 0.12, None),
    ("dementie", 5_000, 0.3, 60_000),
    ("informatiepunt", 3_000, 0.25, 40_000),
    ("bewegen", 2_000, 0.2, 40_000),
    ("ouders", 5_000, 0.15, 40_000),
)
# The benchmark sets: how often each profile occurs (meeting places by kern size).
BENCH_WEIGHTS: dict[str, float] = {
    "dorpshuis": 14, "burenhulp": 10, "vrijwilligersnetwerk": 8, "vervoer": 8,
    "samen-eten": 9, "maaltijden-aan-huis": 6, "dagbesteding": 9, "dorpsdagvoorziening": 2,
    "mantelzorg": 7, "zorgcooperatie": 3, "dementie": 5, "informatiepunt": 7, "bewegen": 7,
    "ouders": 4, "sociaal-team": 1,
}


@dataclass
class KernInfo:
    """A kern as the generator needs it (RD New coordinates)."""

    code: str
    name: str
    gemeente_code: str
    gemeente_name: str
    provincie_code: str | None
    inhabitants: int
    x: float
    y: float
    area: Any  # shapely geometry, prepared
    yields_to: list[Any] = field(default_factory=list)  # overlapping areas of lower codes
    neighbours: list[str] = field(default_factory=list)  # same gemeente, within 8 km, nearest 2


@dataclass(frozen=True)
class Planned:
    """One initiative to generate: a profile in a kern, numbered within the kern."""

    kern: KernInfo
    profile: str
    number: int


def load_kernen(conn: Connection) -> list[KernInfo]:
    """All kernen with their areas, and for each the nearby kernen of its gemeente."""
    rows = q.kernen_for_generation(conn)
    areas = shapely.from_wkb([r.area for r in rows])
    shapely.prepare(areas)
    kernen = [KernInfo(r.code, r.name, r.gemeente_code, r.gemeente_name, r.provincie_code,
                       int(r.inhabitants or 0), r.x, r.y, areas[i]) for i, r in enumerate(rows)]
    # Gemeente polygons overlap a little along many borders. Where kern areas overlap, a point
    # belongs to the lowest code (ST_Covers ... ORDER BY code), so a kern yields there.
    for i, j in zip(*shapely.STRtree(areas).query(areas, predicate="intersects"), strict=True):
        if rows[j].code < rows[i].code and rows[j].gemeente_code != rows[i].gemeente_code:
            kernen[i].yields_to.append(areas[j])
    by_gemeente: dict[str, list[KernInfo]] = defaultdict(list)
    for k in kernen:
        by_gemeente[k.gemeente_code].append(k)
    for group in by_gemeente.values():
        xy = np.array([(k.x, k.y) for k in group])
        for i, k in enumerate(group):
            d = np.hypot(*(xy - xy[i]).T)
            order = [j for j in np.argsort(d, kind="stable") if j != i and d[j] <= 8_000]
            k.neighbours = [group[j].code for j in order[:2]]
    return kernen


def _seed(*parts: object) -> int:
    """A 64-bit seed from the parts, the same on every platform and run."""
    return int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:8], "big")


def demo_plan(kernen: Sequence[KernInfo]) -> list[Planned]:
    """A meeting place in most kernen of 300+, and more help in bigger kernen, by rule."""
    plan: list[Planned] = []
    for k in kernen:
        rng = random.Random(_seed("demo", k.code))
        n = k.inhabitants
        picks: list[str] = []
        if n >= CITY:
            picks += ["buurthuis"] * min(n // 12_000, 12)
        elif n >= 300 and rng.random() < 0.85:
            east_kulturhus = k.provincie_code in EAST and rng.random() < 0.35
            picks.append("kulturhus" if east_kulturhus else "dorpshuis")
        for profile, least, chance, per in DEMO_RULES:
            if n >= least:
                picks += [profile] * (int(rng.random() < chance) + (n // per if per else 0))
        if n >= 20_000 and rng.random() < 0.5:
            picks.append("sociaal-team")
        seen: dict[str, int] = defaultdict(int)
        for p in picks:
            seen[p] += 1
            plan.append(Planned(k, p, seen[p]))
    return plan


def bench_plan(kernen: Sequence[KernInfo], size: int, seed: str = "bench") -> list[Planned]:
    """`size` initiatives over the kernen in proportion to inhabitants (largest remainder)."""
    people = np.array([max(k.inhabitants, 0) for k in kernen], dtype=float)
    share = people / people.sum() * size
    counts = np.floor(share).astype(int)
    rest = size - int(counts.sum())
    order = sorted(range(len(kernen)), key=lambda i: (-(share[i] - counts[i]), kernen[i].code))
    for i in order[:rest]:
        counts[i] += 1
    names = list(BENCH_WEIGHTS)
    weights = [BENCH_WEIGHTS[p] for p in names]
    plan: list[Planned] = []
    for k, n in zip(kernen, counts, strict=True):
        if not n:
            continue
        rng = random.Random(_seed(seed, size, k.code))
        seen: dict[str, int] = defaultdict(int)
        for p in rng.choices(names, weights, k=int(n)):
            if p == "dorpshuis" and k.inhabitants >= CITY:
                p = "buurthuis"
            seen[p] += 1
            plan.append(Planned(k, p, seen[p]))
    return plan


_NS_SHA1 = hashlib.sha1(NAMESPACE.bytes)
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_VERSION_5 = (0x5000 << 64) | (0x8000 << 48)


def uuid5_int(name: str) -> int:
    """uuid.uuid5(NAMESPACE, name).int, without building a UUID object (this runs 1M times)."""
    h = _NS_SHA1.copy()
    h.update(name.encode())
    return (int.from_bytes(h.digest()[:16], "big") & _CLEAR) | _VERSION_5


def _text(value: str | None) -> str:
    if value is None:
        return r"\N"
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


class Pc4Finder:
    """Which PC4 area covers a point (the lowest code on a border), for many points at once."""

    def __init__(self, conn: Connection) -> None:
        rows = q.pc4_areas_for_generation(conn)
        self.codes = [r.code for r in rows]
        self.tree = shapely.STRtree(shapely.from_wkb([r.area for r in rows]))

    def find(self, xs: np.ndarray, ys: np.ndarray) -> list[str | None]:
        points = shapely.points(xs, ys)
        pairs = self.tree.query(points, predicate="covered_by")
        out: list[str | None] = [None] * len(points)
        for p, a in zip(pairs[0], pairs[1], strict=True):
            code = self.codes[a]
            if out[p] is None or code < out[p]:  # type: ignore[operator]
                out[p] = code
        return out


def _points(k: KernInfo, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points near the kern point and inside the kern's area."""
    sigma = min(150.0 + 12.0 * np.sqrt(max(k.inhabitants, 0)), 2_500.0)
    xs = np.full(n, k.x)
    ys = np.full(n, k.y)
    todo = np.arange(n)
    for _ in range(6):
        if not len(todo):
            break
        cx = k.x + rng.normal(0, sigma, len(todo))
        cy = k.y + rng.normal(0, sigma, len(todo))
        inside = shapely.contains_xy(k.area, cx, cy)
        for other in k.yields_to:
            inside &= ~shapely.intersects_xy(other, cx, cy)
        xs[todo[inside]] = cx[inside]
        ys[todo[inside]] = cy[inside]
        todo = todo[~inside]
        sigma /= 2
    return np.round(xs, 2), np.round(ys, 2)


# Rows that hang off a service get ids derived from the service's uuid5 by flipping low bits
# (one SHA-1 per initiative instead of ten): still unique, stable and valid UUIDs.
_LOCATION, _AT, _ORGANIZATION, _ATTRIBUTE, _SCHEDULE, _AREA = 1, 2, 3, 0x10, 0x20, 0x30
_ASSURED = tuple((ANCHOR - timedelta(days=d)).isoformat() for d in range(730))
_NULL = r"\N"


@dataclass
class Generator:
    """Turns planned initiatives into COPY lines, kern by kern."""

    terms: dict[tuple[str, str], Any]
    pc4: Pc4Finder
    demo: bool
    tag: str  # 'demo' or the benchmark's seed and size: part of every id
    _orgs: set[int] = field(default_factory=set)  # gemeente organizations already written

    def __post_init__(self) -> None:
        self._term = {key: str(value) for key, value in self.terms.items()}
        self._flag = "t" if self.demo else "f"
        self._suffix = " (demo)" if self.demo else ""
        note = " Dit is een verzonnen voorbeeld (demo), geen bestaand initiatief."
        self._description = {key: _text(p.description + (note if self.demo else ""))
                             for key, p in PROFILES.items()}
        self._source = _text("Gegenereerd voorbeeld (demo) op een willekeurig punt in de kern"
                             if self.demo else "Synthetisch (bench/generate.py)")

    def lines(self, plan: Sequence[Planned], chunk: int = 20_000
              ) -> Iterator[dict[str, list[str]]]:
        """COPY text lines per table, kern by kern, in chunks of about `chunk` initiatives."""
        by_kern: dict[str, list[Planned]] = defaultdict(list)
        for p in plan:
            by_kern[p.kern.code].append(p)
        batch: list[list[Planned]] = []
        size = 0
        for code in sorted(by_kern):
            batch.append(by_kern[code])
            size += len(by_kern[code])
            if size >= chunk:
                yield self._batch(batch)
                batch, size = [], 0
        if batch:
            yield self._batch(batch)

    def _batch(self, groups: list[list[Planned]]) -> dict[str, list[str]]:
        """Points for every kern of the batch, their PC4 in one query, then the rows."""
        points = []
        for items in groups:
            k = items[0].kern
            points.append(_points(k, len(items), np.random.default_rng(
                _seed(self.tag, "points", k.code))))
        pc4s = self.pc4.find(np.concatenate([p[0] for p in points]),
                             np.concatenate([p[1] for p in points]))
        out: dict[str, list[str]] = {t: [] for t in TABLES}
        i = 0
        for items, (xs, ys) in zip(groups, points, strict=True):
            rng = random.Random(_seed(self.tag, "kern", items[0].kern.code))
            for j, p in enumerate(items):
                self._one(p, float(xs[j]), float(ys[j]), pc4s[i], rng, out)
                i += 1
        return out

    def _one(self, p: Planned, x: float, y: float, pc4: str | None, rng: random.Random,
             out: dict[str, list[str]]) -> None:
        k, prof = p.kern, PROFILES[p.profile]
        sid = uuid5_int(f"{self.tag}/{k.code}/{p.profile}/{p.number}")
        service, location = f"{sid:032x}", f"{sid ^ _LOCATION:032x}"
        name = rng.choice(prof.names).format(kern=k.name)
        if p.number > 1:
            name += f" {p.number}"
        name = _text(name + self._suffix)
        flag, source = self._flag, self._source
        org = _NULL
        if prof.legal_form == "gemeente":
            oid = uuid5_int(f"{self.tag}/gemeente/{k.gemeente_code}")
            org = f"{oid:032x}"
            if oid not in self._orgs:
                self._orgs.add(oid)
                org_name = _text(f"Gemeente {k.gemeente_name}{self._suffix}")
                out["organization"].append(
                    f"{org}\t{org_name}\t{_NULL}\tgemeente\t{flag}\t{source}")
        elif prof.legal_form:
            org = f"{sid ^ _ORGANIZATION:032x}"
            org_name = ORGANIZATION_NAMES[prof.legal_form].format(name=name)
            out["organization"].append(
                f"{org}\t{org_name}\t{_NULL}\t{prof.legal_form}\t{flag}\t{source}")
        roll = rng.random()
        status = ("active" if roll < 0.95 else "inactive" if roll < 0.98
                  else "temporarily closed")
        if rng.random() < 0.12:
            assured = assurer = _NULL
        else:
            assured, assurer = _ASSURED[rng.randrange(730)], "redactie"
        note = _NULL if prof.note is None else prof.note
        out["service"].append(
            f"{service}\t{org}\t{name}\t{self._description[p.profile]}\t{prof.kind}\t"
            f"{status}\t{note}\t{assured}\t{assurer}\t{source}\t{flag}")
        private = prof.home and rng.random() < 0.3
        out["location"].append(
            f"{location}\t{_NULL if private else name}\t"
            f"{'private' if private else 'physical'}\t{_text(k.name)}\t{pc4 or _NULL}\t"
            f"{k.code}\taddress\tSRID=28992;POINT({x:.2f} {y:.2f})\t{flag}")
        out["service_at_location"].append(f"{sid ^ _AT:032x}\t{service}\t{location}")
        attributes = out["attribute"]
        j = 0
        for facet, codes in (("category", rng.choice(prof.categories)),
                             ("audience", rng.choice(prof.audiences))):
            for c in codes:
                attributes.append(
                    f"{sid ^ (_ATTRIBUTE + j):032x}\t{service}\t{self._term[(facet, c)]}")
                j += 1
        n_slots = rng.choice(prof.slots)
        if n_slots:
            days = sorted(rng.sample(prof.days, min(n_slots, len(prof.days))))
            for j, d in enumerate(days):
                opens, closes = rng.choice(prof.blocks).split("-")
                out["schedule"].append(
                    f"{sid ^ (_SCHEDULE + j):032x}\t{service}\t{d}\t{opens}\t{closes}")
        if prof.home:
            for j, code in enumerate([k.code, *k.neighbours[:rng.randrange(3)]]):
                out["service_area"].append(f"{sid ^ (_AREA + j):032x}\t{service}\t{code}")
