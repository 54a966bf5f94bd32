"""Search statements: radius, nearest and kern, each one SQL statement on the GiST index.

The query point arrives in RD New (EPSG:28992), the storage CRS, so no column is ever
transformed or cast and every spatial predicate can use its index. One hit is one
service_at_location; distances are in metres.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, time
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Select,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.sql import Subquery

from ..models import (
    Attribute,
    Gemeente,
    Kern,
    Location,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from ..vocab import VISIBLE_STATUSES
from .taxonomy import term_ids_of

S = Service.__table__
L = Location.__table__
SAL = ServiceAtLocation.__table__
K = Kern.__table__
G = Gemeente.__table__
A = Attribute.__table__
T = TaxonomyTerm.__table__
TX = Taxonomy.__table__
SC = Schedule.__table__
SA = ServiceArea.__table__

Mode = Literal["radius", "nearest", "kern"]
# A private location (a volunteer's home) is shown at its kern point and its distance is
# rounded, so that neither reveals the address.
PRIVATE_DISTANCE_STEP = 100.0
# Counting every match of a dense radius costs index and heap visits per match (26,000 within
# 3 km of central Amsterdam at 1M initiatives); beyond this many the total is reported as
# "more than", which is all a person paging through a list needs.
COUNT_CAP = 200


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


@dataclass(frozen=True)
class SearchQuery:
    mode: Mode
    x: float
    y: float
    radius: float | None = None
    kern_code: str | None = None
    limit: int = 50
    offset: int = 0
    filters: Filters = field(default_factory=Filters)
    # A kern search pages through what is located in the kern, then what serves it.
    side: Literal["located", "serving"] = "located"


def _origin() -> ColumnElement[Any]:
    return func.ST_SetSRID(func.ST_MakePoint(bindparam("x", type_=Float),
                                             bindparam("y", type_=Float)), 28992)


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


def _gemeente_clause(f: Filters) -> list[ColumnElement[bool]]:
    if not f.gemeente:
        return []
    return [L.c.kern_code.in_(select(K.c.code).where(K.c.gemeente_code == f.gemeente))]


def _located(q: SearchQuery) -> tuple[Select[Any], list[ColumnElement[bool]]]:
    """service_at_location rows by location, with the spatial predicate of the mode."""
    origin = _origin()
    where = [*filter_clauses(q.filters), *_gemeente_clause(q.filters)]
    if q.mode == "radius":
        where.append(func.ST_DWithin(L.c.shown_geom, origin, bindparam("radius", type_=Float)))
    elif q.mode == "kern":
        # location.kern_code is ST_Covers(kern.area, geom), derived on every write and on
        # every geography reload; the btree on it beats testing a large polygon per point.
        where.append(L.c.kern_code == bindparam("kern"))
    base = (
        select(
            SAL.c.id.label("sal_id"), S.c.id.label("service_id"), L.c.id.label("location_id"),
            func.ST_Distance(L.c.shown_geom, origin).label("distance"),
            literal("located").label("match"),
        )
        .select_from(SAL.join(S, S.c.id == SAL.c.service_id).join(L, L.c.id == SAL.c.location_id))
        .where(*where)
    )
    return base, where


def _serving(q: SearchQuery) -> Select[Any]:
    """Services that serve the kern through their service area but are not located in it:
    one hit each, at their nearest location (or none)."""
    origin = _origin()
    located_in_kern = (
        select(SAL.c.id).join(L, L.c.id == SAL.c.location_id)
        .where(SAL.c.service_id == S.c.id, L.c.kern_code == bindparam("kern"))
    )
    nearest_each = (
        select(
            SAL.c.id.label("sal_id"), S.c.id.label("service_id"), L.c.id.label("location_id"),
            func.ST_Distance(L.c.shown_geom, origin).label("distance"),
            literal("serves").label("match"),
        )
        .select_from(
            SA.join(S, S.c.id == SA.c.service_id)
            .outerjoin(SAL, SAL.c.service_id == S.c.id)
            .outerjoin(L, L.c.id == SAL.c.location_id)
        )
        .where(SA.c.kern_code == bindparam("kern"), ~exists(located_in_kern),
               *filter_clauses(q.filters))
        .distinct(S.c.id)
        .order_by(S.c.id, func.ST_Distance(L.c.shown_geom, origin).asc().nulls_last())
    ).subquery("serving")
    return select(nearest_each)


def _capped_count(*sides: Select[Any]) -> ColumnElement[Any]:
    """How many hits the sides have together, or -1 when one has more than COUNT_CAP."""
    counts = [
        select(func.count()).select_from(
            side.with_only_columns(literal(1), maintain_column_froms=True)
            .limit(COUNT_CAP + 1).subquery()
        ).scalar_subquery().label(f"n{i}")
        for i, side in enumerate(sides)
    ]
    # Each count once, in a subquery kept apart by OFFSET 0: written into the CASE directly,
    # a count at or under the cap was run twice (once to compare, once as the answer).
    n = select(*counts).offset(0).subquery("capped")
    over = or_(*[c > COUNT_CAP for c in n.c])
    total = n.c.n0 if len(counts) == 1 else n.c.n0 + n.c.n1
    return select(case((over, -1), else_=total)).select_from(n).scalar_subquery()


def _page(q: SearchQuery) -> tuple[Subquery, ColumnElement[Any]]:
    """The requested page of hits (ids, distance, match) and the capped number matched."""
    located, _where = _located(q)
    if q.mode == "nearest":
        # "The N nearest" has no bound to count within, so nearest reports no total.
        return _nearest_page(located), null()
    if q.mode == "radius":
        return _nearest_page(located), _capped_count(located)
    serving = _serving(q)
    if q.side == "located":
        return _nearest_page(located), _capped_count(located, serving)
    hits = serving.subquery("serving_all")
    page = (select(hits).order_by(hits.c.distance.asc().nulls_last(), hits.c.service_id)
            .limit(bindparam("limit")).offset(bindparam("offset")))
    return page.subquery("page"), _capped_count(located, serving)


def _nearest_page(located: Select[Any]) -> Subquery:
    """A page of `located` in the order (distance, service_id, sal_id), read by the GiST index.

    Only the KNN operator may be in the index scan's ORDER BY: a tie-breaker makes the planner
    sort every match instead. Ties are common (every home of a kern is published at the kern
    point, several services share an address), and cutting a KNN order between tied rows may
    repeat or skip one across pages. So the first offset + limit + 1 rows are read by KNN; only
    when the last two of them tie (the page's edge falls inside a tie) are the other rows at
    that point read too (~=, one GiST probe); and that small set is ordered in full before the
    page is cut from it. (Two different points at exactly the same distance are left to the
    index's order.)
    """
    origin = _origin()
    knn = L.c.shown_geom.op("<->")(origin)
    # A CTE, so that the KNN scan runs once; as a subquery it ran once per use.
    head = (located.order_by(knn)
            .limit(bindparam("limit") + bindparam("offset") + 1).cte("head"))
    edge = select(func.max(head.c.distance)).scalar_subquery()
    last = select(head.c.location_id).order_by(head.c.distance.desc()).limit(1)
    edge_point = select(L.c.shown_geom).where(L.c.id == last.scalar_subquery())
    cut_in_a_tie = select(func.count()).where(head.c.distance == edge).scalar_subquery() > 1
    tied = located.where(cut_in_a_tie, L.c.shown_geom.op("~=")(edge_point.scalar_subquery()))
    window = union(select(head), tied).subquery("window")
    return (select(window).order_by(window.c.distance, window.c.service_id, window.c.sal_id)
            .limit(bindparam("limit")).offset(bindparam("offset")).subquery("page"))


def _terms_of_page(page: Subquery) -> Any:
    """Category and audience codes of each hit, one LATERAL scan of its attributes."""
    facet = {f: select(TX.c.id).where(TX.c.facet == f).scalar_subquery()
             for f in ("category", "audience")}
    return (
        select(
            func.array_agg(T.c.code).filter(T.c.taxonomy_id == facet["category"])
            .label("categories"),
            func.array_agg(T.c.code).filter(T.c.taxonomy_id == facet["audience"])
            .label("audiences"),
        )
        .select_from(A.join(T, T.c.id == A.c.taxonomy_term_id))
        .where(A.c.service_id == page.c.service_id)
        .lateral("terms")
    )


def _slots(page: Subquery) -> ColumnElement[Any]:
    return (
        select(func.json_agg(func.json_build_array(SC.c.weekday, SC.c.opens_at, SC.c.closes_at)))
        .where(SC.c.service_id == page.c.service_id)
        .scalar_subquery()
    )


def search_statement(q: SearchQuery) -> Select[Any]:
    """One statement: the page of hits with everything a list or map shows, and the total."""
    page, total = _page(q)
    terms = _terms_of_page(page)
    is_private = L.c.location_type == "private"
    shown_wgs84 = func.ST_Transform(L.c.shown_geom, 4326)
    distance = case(
        (is_private, func.round(page.c.distance / PRIVATE_DISTANCE_STEP) * PRIVATE_DISTANCE_STEP),
        else_=func.round(cast(page.c.distance, Float)),
    )
    return (
        select(
            page.c.sal_id, page.c.service_id, page.c.location_id, page.c.match,
            distance.label("distance_m"),
            S.c.name, S.c.kind, S.c.status, S.c.assured_date, S.c.is_demo,
            S.c.organization_id,
            L.c.location_type, case((is_private, "kern"), else_=L.c.precision).label("precision"),
            L.c.city,
            case((is_private, null()), else_=L.c.address).label("address"),
            K.c.code.label("kern_code"), K.c.name.label("kern_name"),
            G.c.code.label("gemeente_code"), G.c.name.label("gemeente_name"),
            func.ST_X(shown_wgs84).label("lon"), func.ST_Y(shown_wgs84).label("lat"),
            terms.c.categories, terms.c.audiences,
            _slots(page).label("slots"),
            total.label("matched"),
        )
        .select_from(
            page.join(S, S.c.id == page.c.service_id)
            .outerjoin(L, L.c.id == page.c.location_id)
            .outerjoin(K, K.c.code == L.c.kern_code)
            .outerjoin(G, G.c.code == K.c.gemeente_code)
            .join(terms, true())
        )
        .order_by(page.c.match, page.c.distance.asc().nulls_last(), page.c.service_id,
                  page.c.sal_id)
    )


def bind_values(q: SearchQuery) -> dict[str, Any]:
    values: dict[str, Any] = {"x": q.x, "y": q.y, "limit": q.limit, "offset": q.offset}
    if q.mode == "radius":
        values["radius"] = q.radius
    if q.mode == "kern":
        values["kern"] = q.kern_code
    return values


@dataclass(frozen=True)
class Counted:
    """The rows of a page and how many hits there are: exact, or more than COUNT_CAP."""

    rows: list[Any]
    matched: int | None
    more_than: int | None = None


def _count(conn: Connection, q: SearchQuery) -> int:
    _rows, count = _page(q)
    return int(conn.execute(select(count), bind_values(q)).scalar_one())


def run_search(conn: Connection, q: SearchQuery) -> Counted:
    """The page of hits and the number matched (None for nearest, or above the cap)."""
    rows = list(conn.execute(search_statement(q), bind_values(q)).all())
    if q.mode == "nearest":
        return Counted(rows, None)
    total = int(rows[0].matched) if rows else _count(conn, q)
    if q.mode == "kern" and len(rows) < q.limit:
        # The located hits ran out on this page: fill it up with what serves the kern.
        located_total = q.offset + len(rows) if rows else _located_total(conn, q)
        serving = replace(q, side="serving", offset=max(0, q.offset - located_total),
                          limit=q.limit - len(rows))
        rows += conn.execute(search_statement(serving), bind_values(serving)).all()
    if total < 0:
        return Counted(rows, None, COUNT_CAP)
    return Counted(rows, total)


def _located_total(conn: Connection, q: SearchQuery) -> int:
    """Exact number of hits located in the kern (only asked when paging past them)."""
    located, _where = _located(q)
    return int(conn.execute(select(func.count()).select_from(located.subquery()),
                            bind_values(q)).scalar_one())


def unknown_terms(conn: Connection, facet: str, codes: Sequence[str]) -> list[str]:
    """The codes among `codes` that are no term of the facet."""
    if not codes:
        return []
    known = set(conn.execute(
        select(T.c.code).join(TX, TX.c.id == T.c.taxonomy_id)
        .where(TX.c.facet == facet, T.c.code.in_(codes))).scalars())
    return [c for c in codes if c not in known]


def gemeente_exists(conn: Connection, code: str) -> bool:
    return conn.execute(select(G.c.code).where(G.c.code == code)).first() is not None
