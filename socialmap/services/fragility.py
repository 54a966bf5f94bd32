"""Fragility (kwetsbaarheid): which initiatives of a gemeente are at risk, why, and per kern.

An initiative is at risk when it is temporarily closed, was not verified for twelve months,
its funding ends within six months (or has ended), or it is the only running provider of a
category in a kern it is located in or serves. A kern is fragile when one of its initiatives
is at risk; the reasons are counted per kern.
"""
from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from sqlalchemy.orm import Session

from ..config import Settings
from ..errors import InvalidInput
from ..queries import fragility as q
from ..vocab import KINDS
from . import gaps

Reason = Literal["sole_provider", "unverified", "funding_ends", "temporarily_closed"]

REASONS: tuple[Reason, ...] = ("temporarily_closed", "funding_ends", "sole_provider",
                               "unverified")
REASON_LABELS: dict[Reason, str] = {
    "temporarily_closed": "Tijdelijk gesloten",
    "funding_ends": "Financiering loopt af",
    "sole_provider": "Enige aanbieder",
    "unverified": "Niet gecontroleerd",
}
UNVERIFIED_MONTHS = 12
FUNDING_MONTHS = 6


@dataclass(frozen=True)
class FragilityRequest:
    """Where (a gemeente or a provincie), which category, with or without demo records."""

    gemeente: str | None = None
    provincie: str | None = None
    category: str | None = None
    demo: bool | None = None


@dataclass(frozen=True)
class ReasonItem:
    code: Reason
    text: str  # a Dutch sentence for organizers

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "label": REASON_LABELS[self.code], "text": self.text}


@dataclass
class AtRisk:
    """One initiative at risk, with its reasons in Dutch."""

    id: uuid.UUID
    name: str
    kind: str
    status: str
    assured_date: date | None
    kern_codes: list[str]
    categories: list[str]
    reasons: list[ReasonItem]
    sole: list[tuple[str, str]]  # (kern code, category)
    funding: list[dict[str, Any]]

    def codes(self) -> list[Reason]:
        return [r.code for r in self.reasons]


@dataclass
class KernFragility:
    """One kern: its initiatives at risk, and the categories with only one provider."""

    code: str
    name: str
    gemeente_code: str
    gemeente_name: str
    inhabitants: int
    inhabitants_75plus: int
    at_risk: list[AtRisk] = field(default_factory=list)
    sole_categories: list[str] = field(default_factory=list)

    @property
    def fragile(self) -> bool:
        return bool(self.at_risk)

    def reason_counts(self) -> dict[str, int]:
        counts = Counter(code for item in self.at_risk for code in item.codes())
        return {r: counts.get(r, 0) for r in REASONS}


@dataclass
class FragilityReport:
    area: gaps.Area
    category: str | None
    category_names: dict[str, str]
    include_demo: bool
    verified_before: date
    funding_before: date
    kernen: list[KernFragility]
    initiatives: list[AtRisk]

    def kern_names(self) -> dict[str, str]:
        return {k.code: k.name for k in self.kernen}

    def totals(self) -> dict[str, int]:
        counts = Counter(code for item in self.initiatives for code in item.codes())
        return {r: counts.get(r, 0) for r in REASONS}


def months_after(day: date, months: int) -> date:
    """The same day `months` months later (clamped to the month's last day)."""
    return gaps.months_before(day, -months)


def _date_nl(day: date) -> str:
    return day.strftime("%d-%m-%Y")


def _reasons(row: Any, today: date, verified_before: date, kern_names: dict[str, str],
             category_names: dict[str, str]) -> list[ReasonItem]:
    out: list[ReasonItem] = []
    if row.status == "temporarily closed":
        out.append(ReasonItem("temporarily_closed", "Is tijdelijk gesloten."))
    for f in row.funding:
        ends = date.fromisoformat(f["ends_on"])
        verb = "liep af op" if ends < today else "loopt af op"
        out.append(ReasonItem("funding_ends", f"Financiering ({f['source']}) {verb} "
                                              f"{_date_nl(ends)}."))
    by_category: dict[str, list[str]] = {}
    for s in row.sole:
        by_category.setdefault(s["category"], []).append(kern_names.get(s["kern_code"],
                                                                        s["kern_code"]))
    for category, kernen in by_category.items():
        name = category_names.get(category, category).lower()
        out.append(ReasonItem("sole_provider", f"Enige aanbieder van {name} in "
                                               f"{_join_nl(kernen)}."))
    if row.assured_date is None:
        out.append(ReasonItem("unverified", "Nooit gecontroleerd."))
    elif row.assured_date < verified_before:
        out.append(ReasonItem("unverified", f"Laatst gecontroleerd op "
                                            f"{_date_nl(row.assured_date)}, meer dan "
                                            f"{UNVERIFIED_MONTHS} maanden geleden."))
    return out


def _join_nl(items: list[str]) -> str:
    """'a', 'a en b', 'a, b en c'."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} en {items[-1]}"


def resolve(s: Session, req: FragilityRequest) -> tuple[gaps.Area, list[str]]:
    """The area asked for and its gemeente codes; 400 naming the field when wrong."""
    if not req.gemeente and not req.provincie:
        raise InvalidInput("give a 'gemeente' (CBS code like GM1640) or a 'provincie'",
                           "gemeente")
    area = gaps.resolve_area(s, gaps.GapRequest(gemeente=req.gemeente,
                                                provincie=req.provincie))
    if area.kind == "gemeente":
        return area, [str(area.code)]
    return area, q.gemeenten_of_provincie(s.connection(), str(area.code))


def fragility(s: Session, req: FragilityRequest, settings: Settings,
              today: date | None = None) -> FragilityReport:
    """The initiatives at risk in the area and the fragility of each of its kernen."""
    from ..schedule import now_local

    today = today or now_local().date()
    area, gemeenten = resolve(s, req)
    names = gaps.category_names(s)
    if req.category is not None and req.category not in names:
        raise InvalidInput(f"unknown or not a top-level category '{req.category}' "
                           f"(one of: {', '.join(names)})", "category")
    include_demo = settings.show_demo if req.demo is None else (req.demo and settings.show_demo)
    verified_before = gaps.months_before(today, UNVERIFIED_MONTHS)
    funding_before = months_after(today, FUNDING_MONTHS)
    conn = s.connection()
    kern_rows = q.kernen(conn, gemeenten)
    kernen = {r.code: KernFragility(r.code, r.name, r.gemeente_code, r.gemeente_name,
                                    r.inhabitants or 0, r.inhabitants_75plus or 0)
              for r in kern_rows}
    kern_names = {code: k.name for code, k in kernen.items()}
    items: list[AtRisk] = []
    for row in q.at_risk(conn, gemeenten, verified_before=verified_before,
                         funding_before=funding_before, include_demo=include_demo,
                         category=req.category):
        item = AtRisk(id=row.id, name=row.name, kind=row.kind, status=row.status,
                      assured_date=row.assured_date, kern_codes=list(row.kern_codes or []),
                      categories=list(row.categories or []),
                      reasons=_reasons(row, today, verified_before, kern_names, names),
                      sole=[(x["kern_code"], x["category"]) for x in row.sole],
                      funding=list(row.funding))
        items.append(item)
        for code in item.kern_codes:
            if code in kernen:
                kernen[code].at_risk.append(item)
        for code, category in item.sole:
            if code in kernen and category not in kernen[code].sole_categories:
                kernen[code].sole_categories.append(category)
    items.sort(key=lambda x: (REASONS.index(x.reasons[0].code), x.name.lower(), str(x.id)))
    return FragilityReport(area=area, category=req.category, category_names=names,
                           include_demo=include_demo, verified_before=verified_before,
                           funding_before=funding_before, kernen=list(kernen.values()),
                           initiatives=items)


def kind_label(kind: str) -> str:
    return KINDS.get(kind, kind)


def initiative_dict(report: FragilityReport, item: AtRisk) -> dict[str, Any]:
    """An initiative at risk as the API gives it."""
    names = report.kern_names()
    return {"id": str(item.id), "name": item.name, "kind": item.kind, "status": item.status,
            "assured_date": item.assured_date.isoformat() if item.assured_date else None,
            "categories": item.categories,
            "kernen": [{"code": c, "name": names.get(c)} for c in item.kern_codes],
            "reasons": [r.as_dict() for r in item.reasons],
            "sole_provider": [{"kern_code": k, "category": c} for k, c in item.sole],
            "funding": [{"source": f["source"], "ends_on": f["ends_on"]} for f in item.funding]}


def kern_dict(kern: KernFragility) -> dict[str, Any]:
    """A kern's fragility as the API gives it."""
    return {"kern_code": kern.code, "kern_name": kern.name,
            "gemeente_code": kern.gemeente_code, "gemeente_name": kern.gemeente_name,
            "inhabitants": kern.inhabitants, "inhabitants_75plus": kern.inhabitants_75plus,
            "fragile": kern.fragile, "at_risk": len(kern.at_risk),
            "reasons": kern.reason_counts(), "sole_categories": kern.sole_categories,
            "initiatives": [str(i.id) for i in kern.at_risk]}


def report_dict(report: FragilityReport) -> dict[str, Any]:
    """The JSON body of a fragility report."""
    return {
        "area": {"kind": report.area.kind, "code": report.area.code, "name": report.area.name},
        "options": {"category": report.category, "demo": report.include_demo,
                    "verified_before": report.verified_before.isoformat(),
                    "funding_ends_before": report.funding_before.isoformat(),
                    "unverified_months": UNVERIFIED_MONTHS, "funding_months": FUNDING_MONTHS},
        "reasons": {r: REASON_LABELS[r] for r in REASONS},
        "totals": {"initiatives": len(report.initiatives),
                   "fragile_kernen": sum(1 for k in report.kernen if k.fragile),
                   "kernen": len(report.kernen), **report.totals()},
        "kernen": [kern_dict(k) for k in report.kernen],
        "initiatives": [initiative_dict(report, i) for i in report.initiatives],
    }
