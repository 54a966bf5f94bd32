"""Gap statements: coverage of kernen per category, what-if impacts and best new sites.

Coverage is one statement over the kernen of the scope times the categories asked for, on the
derived tables of migration 0010: a LATERAL nearest-neighbour scan on the GiST index of
gap_point (category, geom) from each kern point, which yields only points of the category,
plus LATERAL lookups on (category, kern_code) for service areas and for locations in the kern.
Every count stops at `cap` (exact below it), so that a kern in a city with hundreds of
initiatives costs no more than one with ten. The stored coverage is in `gap_store`.
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
    func,
    literal,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID, aggregate_order_by
from sqlalchemy.sql.selectable import CTE, Subquery

from ..models import (
    Attribute,
    GapArea,
    GapPoint,
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
GP = GapPoint.__table__
GA = GapArea.__table__

# Only what runs now counts: a temporarily closed initiative leaves a gap while it is closed,
# and a plan ('proposed') is not help yet.
COUNTED_STATUS = "active"
# A virtual location (a website, a phone line) is nowhere; it cannot be near a kern.
NOWHERE = "virtual"
PEOPLE = ("inhabitants", "inhabitants_65plus", "inhabitants_75plus")
# As a literal, so that the planner can use the partial indexes on gap_point (status = ...).
_ACTIVE = literal_column(f"'{COUNTED_STATUS}'")


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


def norm_cte() -> CTE:
    """The norms from parallel array parameters, numbered in the order given."""
    given = func.unnest(
        bindparam("n_category", type_=ARRAY(Text)), bindparam("n_metres", type_=ARRAY(Float)),
        bindparam("n_serve", type_=ARRAY(Boolean)), bindparam("n_search", type_=ARRAY(Float)),
    ).table_valued("category", "metres", "serve", "search_m",
                   with_ordinality="position").render_derived("given")
    return select(given).cte("norm")


def _counted(table: Any, opts: Options, category: str) -> list[ColumnElement[bool]]:
    """WHERE clauses on gap_point or gap_area: the category, counted status and options.

    The category is written into the SQL as a literal, so that the planner can use the
    category's own partial index on gap_point (migration 0010)."""
    clauses: list[ColumnElement[bool]] = [
        table.c.category == literal(category, Text, literal_execute=True),
        table.c.status == _ACTIVE]
    if not opts.include_demo:
        clauses.append(table.c.is_demo.is_(False))
    if opts.verified_since is not None:
        clauses.append(table.c.assured_date >= bindparam("verified_since", type_=Date))
    if opts.exclude_service is not None:
        clauses.append(table.c.service_id
                       != bindparam("exclude_service", type_=UUID(as_uuid=True)))
    return clauses


def kernen_where(scope: Scope) -> list[ColumnElement[bool]]:
    """WHERE clauses on kern for the scope."""
    if scope.kern_codes is not None:
        return [K.c.code == func.any(bindparam("kern_codes", type_=ARRAY(Text)))]
    if scope.gemeente:
        return [K.c.gemeente_code == bindparam("gemeente")]
    if scope.provincie:
        return [K.c.gemeente_code.in_(
            select(G.c.code).where(G.c.provincie_code == bindparam("provincie")))]
    return []


def _empty() -> ColumnElement[Any]:
    return literal_column("'{}'::uuid[]")


def _nearest(norm: CTE, opts: Options, category: str) -> Subquery:
    """Up to `cap` nearest counted points of the norm's category (one for a must-serve
    norm), from the kern point, no further than the norm's search distance (so a rare
    category cannot make one kern walk the whole index)."""
    distance = GP.c.geom.op("<->")(K.c.point)
    nearest = (
        select(GP.c.service_id, GP.c.private, cast(distance, Float).label("d"))
        .where(func.ST_DWithin(GP.c.geom, K.c.point, norm.c.search_m),
               *_counted(GP, opts, category))
        .order_by(distance)
        .correlate(K, norm)
        # A must-serve norm counts what is in or serves the kern; here it needs the nearest.
        .limit(case((norm.c.serve, 1), else_=bindparam("cap", type_=Integer)))
        .subquery("candidate")
    )
    within = nearest.c.d <= norm.c.metres
    return select(
        func.min(nearest.c.d).label("nearest_m"),
        func.array_agg(aggregate_order_by(nearest.c.private, nearest.c.d))[1]
        .label("nearest_private"),
        func.count().filter(within).label("points"),
        func.coalesce(func.array_agg(nearest.c.service_id.distinct()).filter(within),
                      _empty()).label("ids"),
    ).lateral("near")


def _within_all(norm: CTE, near: Subquery, opts: Options, category: str) -> Subquery:
    """When the `cap` nearest points within the norm belong to fewer than `cap` initiatives
    (one with several locations), the initiatives among all points within the norm, up to
    `cap`; otherwise no row is read."""
    cap = bindparam("cap", type_=Integer)
    ids = (
        select(GP.c.service_id).distinct()
        .where(~norm.c.serve, near.c.points >= cap, func.cardinality(near.c.ids) < cap,
               func.ST_DWithin(GP.c.geom, K.c.point, norm.c.metres),
               *_counted(GP, opts, category))
        .correlate(K, norm, near)
        .limit(cap)
        .subquery("within_row")
    )
    return select(func.array_agg(ids.c.service_id).label("ids")).lateral("within_all")


def _serving(norm: CTE, opts: Options, category: str) -> Subquery:
    """Up to `cap` counted services of the category that list the kern in their service area."""
    serving = (
        select(GA.c.service_id)
        .where(GA.c.kern_code == K.c.code, *_counted(GA, opts, category))
        .correlate(K, norm)
        .limit(bindparam("cap", type_=Integer))
        .subquery("serving_row")
    )
    return select(func.coalesce(func.array_agg(serving.c.service_id), _empty())
                  .label("ids")).lateral("serving")


def _located(norm: CTE, opts: Options, category: str) -> Subquery:
    """For a must-serve norm: up to `cap` counted services with a location in the kern."""
    located = (
        select(GP.c.service_id).distinct()
        .where(norm.c.serve, GP.c.kern_code == K.c.code, *_counted(GP, opts, category))
        .correlate(K, norm)
        .order_by(GP.c.service_id)
        .limit(bindparam("cap", type_=Integer))
        .subquery("located_row")
    )
    return select(func.coalesce(func.array_agg(located.c.service_id), _empty())
                  .label("ids")).lateral("located")


def _distinct_count(ids: ColumnElement[Any]) -> ColumnElement[int]:
    element = func.unnest(ids).table_valued("id").render_derived()
    return select(func.count(element.c.id.distinct())).scalar_subquery()


def coverage_statement(scope: Scope, opts: Options, category: str) -> Select[Any]:
    """Per kern of the scope, for the one norm given (of `category`): nearest distance and
    the providers that count.

    `within` counts the initiatives located within the norm distance (for a must-serve norm:
    located in the kern), `serving` those serving the kern through their service area, and
    `providers` both together, each initiative once; each stops at `cap`.
    """
    norm = norm_cte()
    near = _nearest(norm, opts, category)
    within_all = _within_all(norm, near, opts, category)
    serving, located = _serving(norm, opts, category), _located(norm, opts, category)
    within_ids = case((norm.c.serve, located.c.ids),
                      else_=func.coalesce(within_all.c.ids, near.c.ids))
    cap = bindparam("cap", type_=Integer)
    return (
        select(
            K.c.code.label("kern_code"), K.c.name.label("kern_name"),
            G.c.code.label("gemeente_code"), G.c.name.label("gemeente_name"),
            *(K.c[p] for p in PEOPLE),
            norm.c.category,
            near.c.nearest_m, near.c.nearest_private,
            func.cardinality(within_ids).label("within"),
            func.cardinality(serving.c.ids).label("serving"),
            func.least(cap, _distinct_count(func.array_cat(within_ids, serving.c.ids)))
            .label("providers"),
        )
        .select_from(
            K.join(G, G.c.code == K.c.gemeente_code)
            .join(norm, true())
            .outerjoin(near, true())
            .outerjoin(within_all, true())
            .outerjoin(serving, true())
            .outerjoin(located, true())
        )
        .where(*kernen_where(scope))
        .order_by(G.c.name, K.c.name, K.c.code, norm.c.position)
    )


def bind_values(norms: Sequence[NormRow], scope: Scope, opts: Options | None = None,
                cap: int | None = None) -> dict[str, Any]:
    """Values for the norm arrays, the scope, the options and the cap."""
    values: dict[str, Any] = {
        "n_category": [n.category for n in norms], "n_metres": [n.metres for n in norms],
        "n_serve": [n.serve for n in norms], "n_search": [n.search_m for n in norms],
    }
    if cap is not None:
        values["cap"] = cap
    if scope.kern_codes is not None:
        values["kern_codes"] = list(scope.kern_codes)
    elif scope.gemeente:
        values["gemeente"] = scope.gemeente
    elif scope.provincie:
        values["provincie"] = scope.provincie
    if opts is not None and opts.verified_since is not None:
        values["verified_since"] = opts.verified_since
    if opts is not None and opts.exclude_service is not None:
        values["exclude_service"] = opts.exclude_service
    return values


def coverage(conn: Connection, norms: Sequence[NormRow], scope: Scope, opts: Options,
             cap: int) -> list[Any]:
    """The coverage rows, computed now, ordered by gemeente, kern and the order of `norms`:
    one statement per category (each on its own index), interleaved kern by kern."""
    per_norm = [conn.execute(coverage_statement(scope, opts, norm.category),
                             bind_values([norm], scope, opts, cap)).all() for norm in norms]
    return [row for rows in zip(*per_norm, strict=True) for row in rows]


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
                     .join(K, func.ST_DWithin(K.c.point, L.c.shown_geom,
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
               func.ST_X(point).label("lon"), func.ST_Y(point).label("lat"),
               func.ST_X(K.c.point).label("x"), func.ST_Y(K.c.point).label("y"))
        .where(K.c.code == func.any(bindparam("codes", type_=ARRAY(Text))))
    )


def points(conn: Connection, codes: Sequence[str]) -> dict[str, Any]:
    """Kern code -> row with its point in WGS84 (`lon`, `lat`) and RD New (`x`, `y`)."""
    wgs84 = func.ST_Transform(K.c.point, 4326)
    rows = conn.execute(
        select(K.c.code, func.ST_X(wgs84).label("lon"), func.ST_Y(wgs84).label("lat"),
               func.ST_X(K.c.point).label("x"), func.ST_Y(K.c.point).label("y"))
        .where(K.c.code == func.any(bindparam("codes", type_=ARRAY(Text)))),
        {"codes": list(codes)})
    return {row.code: row for row in rows}


def shapes(conn: Connection, codes: Sequence[str], tolerance: float) -> dict[str, Any]:
    """Kern code -> row with `area` (GeoJSON text), `lon` and `lat`."""
    rows = conn.execute(shapes_statement(), {"codes": list(codes), "tolerance": tolerance})
    return {row.code: row for row in rows}
