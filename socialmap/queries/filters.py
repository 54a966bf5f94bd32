"""Search filters over the registry's own tables (service, location), for the statements that
join them: OGC features, HSDS, map data. The search itself filters the same way on its
denormalised table (queries.search)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from sqlalchemy import ColumnElement, exists, func, literal_column, or_, select

from ..models import Attribute, Kern, Location, Schedule, Service, ServiceAtLocation
from ..vocab import VISIBLE_STATUSES
from .taxonomy import term_ids_of

S = Service.__table__
L = Location.__table__
SAL = ServiceAtLocation.__table__
K = Kern.__table__
A = Attribute.__table__
SC = Schedule.__table__


@dataclass(frozen=True)
class Filters:
    """Filters combined with AND; several values of one filter match any of them."""

    categories: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    gemeente: str | None = None
    statuses: tuple[str, ...] = VISIBLE_STATUSES
    open_at: tuple[int, time, date] | None = None
    tsquery: str | None = None
    verified_since: date | None = None
    include_demo: bool = True


def filter_clauses(f: Filters) -> list[ColumnElement[bool]]:
    """WHERE clauses on service (S) for the filters."""
    clauses: list[ColumnElement[bool]] = [S.c.status.in_(f.statuses)]
    if not f.include_demo:
        clauses.append(S.c.is_demo.is_(False))
    if f.kinds:
        clauses.append(S.c.kind.in_(f.kinds))
    for facet, codes in (("category", f.categories), ("audience", f.audiences)):
        if codes:
            # `= any(array(subquery))`: the term ids are resolved once per statement (an
            # InitPlan), so each hit costs one probe of (service_id, taxonomy_term_id); with
            # `in (subquery)` every hit re-scanned the facet's terms (2,000 hits within 10 km).
            term_ids = func.array(term_ids_of(facet, codes).scalar_subquery())
            clauses.append(exists().where(
                A.c.service_id == S.c.id, A.c.taxonomy_term_id == func.any(term_ids)))
    if f.open_at:
        day, at, on = f.open_at
        clauses.append(exists().where(
            SC.c.service_id == S.c.id, SC.c.weekday == day, SC.c.opens_at <= at,
            SC.c.closes_at > at,
            or_(SC.c.valid_from.is_(None), SC.c.valid_from <= on),
            or_(SC.c.valid_to.is_(None), SC.c.valid_to >= on)))
    if f.tsquery:
        clauses.append(S.c.search_vector.op("@@")(func.to_tsquery(
            literal_column("'dutch'::regconfig"), f.tsquery)))
    if f.verified_since:
        clauses.append(S.c.assured_date >= f.verified_since)
    return clauses


def gemeente_clause(f: Filters) -> list[ColumnElement[bool]]:
    if not f.gemeente:
        return []
    return [L.c.kern_code.in_(select(K.c.code).where(K.c.gemeente_code == f.gemeente))]
