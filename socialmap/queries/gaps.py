"""Gap statements: coverage of kernen per category, what-if impacts and best new sites.

Coverage is one statement over all kernen of the scope times all categories asked for: a
LATERAL nearest-neighbour scan on the GiST index of location.geom from each kern point, plus
two LATERAL lookups on indexed kern codes (service areas, and locations in the kern). Every
count stops at `cap`, so that a kern in a city with hundreds of initiatives costs no more than
one with ten. The category of a service is a term or a child of it, as in search.
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    Date,
    Float,
    Integer,
    Select,
    Text,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID, aggregate_order_by
from sqlalchemy.sql.selectable import CTE, Subquery

from ..models import (
    Attribute,
    Gemeente,
    Kern,
    Location,
    Provincie,
    Service,
    ServiceArea,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from .taxonomy import term_ids_of

S = Service.__table__
L = Location.__table__
SAL = ServiceAtLocation.__table__
SA = ServiceArea.__table__
A = Attribute.__table__
K = Kern.__table__
G = Gemeente.__table__
P = Provincie.__table__
T = TaxonomyTerm.__table__
TX = Taxonomy.__table__

# Only what runs now counts: a temporarily closed initiative leaves a gap while it is closed.
COUNTED_STATUS = "active"
# A virtual location (a website, a phone line) is nowhere; it cannot be near a kern.
NOWHERE = "virtual"
PEOPLE = ("inhabitants", "inhabitants_65plus", "inhabitants_75plus")


@dataclass(frozen=True)
class NormRow:
    """One category and its norm: within `metres` of the kern point, or (`serve`) located in
    or serving the kern; the nearest initiative is looked for up to `search_m` away."""

    category: str
    metres: float | None
    serve: bool
    search_m: float


@dataclass(frozen=True)
class Options:
    """Which initiatives count."""

    verified_since: date | None = None
    include_demo: bool = True
    exclude_service: uuid.UUID | None = None


@dataclass(frozen=True)
class Scope:
    """Which kernen: one gemeente, one provincie, a list of kern codes, or (all None) all."""

    gemeente: str | None = None
    provincie: str | None = None
    kern_codes: tuple[str, ...] | None = None


def _norm_cte() -> CTE:
    """The norms from parallel array parameters, each with the ids of its category's terms
    (from the parallel arrays term_category and term_id), numbered in the order given."""
    given = func.unnest(
        bindparam("n_category", type_=ARRAY(Text)), bindparam("n_metres", type_=ARRAY(Float)),
        bindparam("n_serve", type_=ARRAY(Boolean)), bindparam("n_search", type_=ARRAY(Float)),
    ).table_valued("category", "metres", "serve", "search_m",
                   with_ordinality="position").render_derived("given")
    terms = func.unnest(
        bindparam("term_category", type_=ARRAY(Text)),
        bindparam("term_id", type_=ARRAY(UUID(as_uuid=True))),
    ).table_valued("category", "id").render_derived("term")
    grouped = (select(terms.c.category, func.array_agg(terms.c.id).label("term_ids"))
               .group_by(terms.c.category).subquery("terms"))
    return (
        select(given.c.position, given.c.category, given.c.metres, given.c.serve,
               given.c.search_m, grouped.c.term_ids)
        .join_from(given, grouped, grouped.c.category == given.c.category)
        .cte("norm")
    )


def _counted(opts: Options, term_ids: ColumnElement[Any],
             service_id: ColumnElement[Any]) -> list[ColumnElement[bool]]:
    """WHERE clauses on service (S): counted status, options, and one of the category terms.

    The category test is tied to `service_id` of the joined row (not to S), so that it can be
    checked on the attribute index before the service row is fetched.
    """
    clauses: list[ColumnElement[bool]] = [
        S.c.status == COUNTED_STATUS,
        exists().where(A.c.service_id == service_id,
                       A.c.taxonomy_term_id == func.any(term_ids)).correlate_except(A),
    ]
    if not opts.include_demo:
        clauses.append(S.c.is_demo.is_(False))
    if opts.verified_since is not None:
        clauses.append(S.c.assured_date >= bindparam("verified_since", type_=Date))
    if opts.exclude_service is not None:
        clauses.append(S.c.id != bindparam("exclude_service", type_=UUID(as_uuid=True)))
    return clauses


def _kernen(scope: Scope) -> list[ColumnElement[bool]]:
    if scope.kern_codes is not None:
        return [K.c.code == func.any(bindparam("kern_codes", type_=ARRAY(Text)))]
    if scope.gemeente:
        return [K.c.gemeente_code == bindparam("gemeente")]
    if scope.provincie:
        return [K.c.gemeente_code.in_(
            select(G.c.code).where(G.c.provincie_code == bindparam("provincie")))]
    return []


def _nearest(norm: CTE, opts: Options) -> Subquery:
    """Up to `cap` nearest counted locations of the norm's category (one for a must-serve
    norm), from the kern point, no further than the norm's search distance (so a rare
    category cannot make one kern walk the whole index)."""
    distance = L.c.geom.op("<->")(K.c.point)
    nearest = (
        select(SAL.c.service_id, L.c.location_type, cast(distance, Float).label("d"))
        .select_from(L.join(SAL, SAL.c.location_id == L.c.id).join(S, S.c.id == SAL.c.service_id))
        .where(func.ST_DWithin(L.c.geom, K.c.point, norm.c.search_m),
               L.c.location_type != NOWHERE,
               *_counted(opts, norm.c.term_ids, SAL.c.service_id))
        .order_by(distance)
        .correlate(K, norm)
        # A must-serve norm counts what is in or serves the kern; here it needs the nearest.
        .limit(case((norm.c.serve, 1), else_=bindparam("cap", type_=Integer)))
        .subquery("candidate")
    )
    within = nearest.c.d <= norm.c.metres
    return select(
        func.min(nearest.c.d).label("nearest_m"),
        (func.array_agg(aggregate_order_by(nearest.c.location_type, nearest.c.d))[1] == "private")
        .label("nearest_private"),
        func.coalesce(func.array_agg(nearest.c.service_id.distinct()).filter(within),
                      literal_column("'{}'::uuid[]")).label("ids"),
    ).lateral("near")


def _serving(norm: CTE, opts: Options) -> Subquery:
    """Up to `cap` counted services of the category that list the kern in their service area."""
    serving = (
        select(SA.c.service_id)
        .join(S, S.c.id == SA.c.service_id)
        .where(SA.c.kern_code == K.c.code, *_counted(opts, norm.c.term_ids, SA.c.service_id))
        .correlate(K, norm)
        .limit(bindparam("cap", type_=Integer))
        .subquery("serving_row")
    )
    return select(func.coalesce(func.array_agg(serving.c.service_id),
                                literal_column("'{}'::uuid[]")).label("ids")).lateral("serving")


def _located(norm: CTE, opts: Options) -> Subquery:
    """For a must-serve norm: up to `cap` counted services with a location in the kern."""
    located = (
        select(SAL.c.service_id)
        .select_from(L.join(SAL, SAL.c.location_id == L.c.id).join(S, S.c.id == SAL.c.service_id))
        .where(norm.c.serve, L.c.kern_code == K.c.code, L.c.location_type != NOWHERE,
               *_counted(opts, norm.c.term_ids, SAL.c.service_id))
        .correlate(K, norm)
        .limit(bindparam("cap", type_=Integer))
        .subquery("located_row")
    )
    return select(func.coalesce(func.array_agg(located.c.service_id.distinct()),
                                literal_column("'{}'::uuid[]")).label("ids")).lateral("located")


def _distinct_count(ids: ColumnElement[Any]) -> ColumnElement[int]:
    element = func.unnest(ids).table_valued("id").render_derived()
    return select(func.count(element.c.id.distinct())).scalar_subquery()


def coverage_statement(scope: Scope, opts: Options) -> Select[Any]:
    """Per kern of the scope and per norm: nearest distance and the providers that count.

    `within` counts the initiatives located within the norm distance (for a must-serve norm:
    located in the kern), `serving` those serving the kern through their service area, and
    `providers` both together, each initiative once.
    """
    norm = _norm_cte()
    near, serving, located = _nearest(norm, opts), _serving(norm, opts), _located(norm, opts)
    within_ids = case((norm.c.serve, located.c.ids), else_=near.c.ids)
    return (
        select(
            K.c.code.label("kern_code"), K.c.name.label("kern_name"),
            G.c.code.label("gemeente_code"), G.c.name.label("gemeente_name"),
            *(K.c[p] for p in PEOPLE),
            norm.c.category,
            near.c.nearest_m, near.c.nearest_private,
            func.cardinality(within_ids).label("within"),
            func.cardinality(serving.c.ids).label("serving"),
            _distinct_count(func.array_cat(within_ids, serving.c.ids)).label("providers"),
        )
        .select_from(
            K.join(G, G.c.code == K.c.gemeente_code)
            .join(norm, true())
            .outerjoin(near, true())
            .outerjoin(serving, true())
            .outerjoin(located, true())
        )
        .where(*_kernen(scope))
        .order_by(G.c.name, K.c.name, K.c.code, norm.c.position)
    )


def category_terms(conn: Connection, categories: Sequence[str]) -> list[Any]:
    """(category, term id) for each top-level category and each of its children."""
    parent = T.alias("parent")
    return conn.execute(
        select(func.coalesce(parent.c.code, T.c.code).label("category"), T.c.id)
        .outerjoin(parent, parent.c.id == T.c.parent_id)
        .where(T.c.id.in_(term_ids_of("category", list(categories))))
    ).all()


def bind_values(norms: Sequence[NormRow], terms: Sequence[Any], scope: Scope, opts: Options,
                cap: int) -> dict[str, Any]:
    values: dict[str, Any] = {
        "cap": cap,
        "n_category": [n.category for n in norms], "n_metres": [n.metres for n in norms],
        "n_serve": [n.serve for n in norms], "n_search": [n.search_m for n in norms],
        "term_category": [t.category for t in terms], "term_id": [t.id for t in terms],
    }
    if scope.kern_codes is not None:
        values["kern_codes"] = list(scope.kern_codes)
    elif scope.gemeente:
        values["gemeente"] = scope.gemeente
    elif scope.provincie:
        values["provincie"] = scope.provincie
    if opts.verified_since is not None:
        values["verified_since"] = opts.verified_since
    if opts.exclude_service is not None:
        values["exclude_service"] = opts.exclude_service
    return values


def coverage(conn: Connection, norms: Sequence[NormRow], scope: Scope, opts: Options,
             cap: int) -> list[Any]:
    """The coverage rows, ordered by gemeente, kern and the order of `norms`."""
    if not norms:
        return []
    terms = category_terms(conn, [n.category for n in norms])
    return conn.execute(coverage_statement(scope, opts),
                        bind_values(norms, terms, scope, opts, cap)).all()


def top_categories(conn: Connection) -> list[Any]:
    """The top-level category terms (code, Dutch name), in taxonomy order."""
    return conn.execute(
        select(T.c.code, T.c.name)
        .join(TX, TX.c.id == T.c.taxonomy_id)
        .where(TX.c.facet == "category", T.c.parent_id.is_(None))
        .order_by(T.c.position)
    ).all()


def gemeente(conn: Connection, code: str) -> Any:
    """Code, name and provincie of a gemeente, or None."""
    return conn.execute(
        select(G.c.code, G.c.name, G.c.provincie_code).where(G.c.code == code)).first()


def provincie(conn: Connection, code: str) -> Any:
    """Code and name of a provincie, or None."""
    return conn.execute(select(P.c.code, P.c.name).where(P.c.code == code)).first()


def areas(conn: Connection) -> tuple[list[Any], list[Any]]:
    """Every provincie and every gemeente (code, name, provincie_code), by name."""
    provincies = conn.execute(select(P.c.code, P.c.name).order_by(P.c.name)).all()
    gemeenten = conn.execute(
        select(G.c.code, G.c.name, G.c.provincie_code).order_by(G.c.name)).all()
    return provincies, gemeenten


def service_categories(conn: Connection, service_id: uuid.UUID) -> Any:
    """A service's name, status and top-level category codes, or None when it does not exist."""
    parent = T.alias("parent")
    codes = (
        select(func.array_agg(func.coalesce(parent.c.code, T.c.code).distinct()))
        .select_from(A.join(T, T.c.id == A.c.taxonomy_term_id)
                     .join(TX, TX.c.id == T.c.taxonomy_id)
                     .outerjoin(parent, parent.c.id == T.c.parent_id))
        .where(A.c.service_id == S.c.id, TX.c.facet == "category")
        .scalar_subquery()
    )
    return conn.execute(
        select(S.c.id, S.c.name, S.c.status, S.c.is_demo, S.c.assured_date,
               codes.label("categories"))
        .where(S.c.id == service_id)).first()


def reach_statement() -> Select[Any]:
    """Codes of the kernen a service can count for: near one of its locations (within
    `metres`), holding one of its locations, or in its service area."""
    near = (
        select(K.c.code)
        .select_from(SAL.join(L, L.c.id == SAL.c.location_id)
                     .join(K, func.ST_DWithin(K.c.point, L.c.geom,
                                              bindparam("metres", type_=Float))
                           | (K.c.code == L.c.kern_code)))
        .where(SAL.c.service_id == bindparam("service_id"), L.c.location_type != NOWHERE)
    )
    served = select(SA.c.kern_code).where(SA.c.service_id == bindparam("service_id"))
    return near.union(served)


def reach(conn: Connection, service_id: uuid.UUID, metres: float) -> list[str]:
    return list(conn.execute(reach_statement(),
                             {"service_id": service_id, "metres": metres}).scalars())


def best_site_statement(serve: bool, weight: str) -> Select[Any]:
    """The candidate kern whose point, as the site of one new initiative, would cover the
    most people (`weight`) in the target kernen: within `metres`, or for a must-serve norm
    the kern itself. Ties go to more kernen, then more inhabitants, then the code."""
    site, target = K.alias("site"), K.alias("target")
    reaches = (site.c.code == target.c.code if serve else
               func.ST_DWithin(site.c.point, target.c.point, bindparam("metres", type_=Float)))
    gained = func.sum(target.c[weight])
    return (
        select(
            site.c.code.label("kern_code"), site.c.name.label("kern_name"),
            site.c.gemeente_code,
            func.array_agg(aggregate_order_by(target.c.code, target.c.code)).label("covers"),
            func.count().label("kernen"),
            *(func.sum(target.c[p]).label(p) for p in PEOPLE),
        )
        .select_from(site.join(target, reaches))
        .where(site.c.code == func.any(bindparam("candidates", type_=ARRAY(Text))),
               target.c.code == func.any(bindparam("targets", type_=ARRAY(Text))))
        .group_by(site.c.code, site.c.name, site.c.gemeente_code)
        .order_by(gained.desc(), func.count().desc(), func.sum(target.c.inhabitants).desc(),
                  site.c.code)
        .limit(1)
    )


def best_site(conn: Connection, *, serve: bool, metres: float | None, weight: str,
              candidates: Sequence[str], targets: Sequence[str]) -> Any:
    """The best site among `candidates` for covering `targets`, or None when none reaches."""
    if weight not in PEOPLE:
        raise ValueError(f"weight must be one of {PEOPLE}")
    values: dict[str, Any] = {"candidates": list(candidates), "targets": list(targets)}
    if not serve:
        values["metres"] = metres
    return conn.execute(best_site_statement(serve, weight), values).first()


def shapes_statement() -> Select[Any]:
    """Kern areas (simplified by `tolerance` metres) and points as WGS84 GeoJSON text."""
    area = func.ST_SimplifyPreserveTopology(K.c.area, bindparam("tolerance", type_=Float))
    point = func.ST_Transform(K.c.point, 4326)
    return (
        select(K.c.code, func.ST_AsGeoJSON(func.ST_Transform(area, 4326), 5).label("area"),
               func.ST_X(point).label("lon"), func.ST_Y(point).label("lat"))
        .where(K.c.code == func.any(bindparam("codes", type_=ARRAY(Text))))
    )


def shapes(conn: Connection, codes: Sequence[str], tolerance: float) -> dict[str, Any]:
    """Kern code -> row with `area` (GeoJSON text), `lon` and `lat`."""
    rows = conn.execute(shapes_statement(), {"codes": list(codes), "tolerance": tolerance})
    return {row.code: row for row in rows}
