"""Search statements: radius, nearest and kern, each one SQL statement over `search_doc`.

`search_doc` (migration 0013) is the registry denormalised for search: one row per
service_at_location with the published point, everything a filter tests and everything a list
shows (as jsonb), kept by triggers. A search is one GiST scan of that one table, in distance
order, that stops at the page: no joins and no aggregates per hit. The statements are plain
SQL text, one per shape of filters, so that psycopg prepares each on a connection after a few
uses and PostgreSQL stops planning them (planning cost more than running at 1M initiatives).

The query point arrives in RD New (EPSG:28992), the storage CRS, so no column is transformed
and every spatial predicate uses its index. One hit is one service_at_location; distances are
in metres, from the published point (a private location's kern point), never the real one.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import Connection, select

from ..models import Gemeente, Taxonomy, TaxonomyTerm
from .filters import Filters
from .taxonomy import term_ids_of

__all__ = ["COUNT_CAP", "Counted", "Filters", "Hit", "Mode", "SearchQuery", "run_search"]

T = TaxonomyTerm.__table__
TX = Taxonomy.__table__
G = Gemeente.__table__

Mode = Literal["radius", "nearest", "kern"]
# A private location (a volunteer's home) is shown at its kern point and its distance is
# rounded, so that neither reveals the address.
PRIVATE_DISTANCE_STEP = 100.0
# Counting every match of a dense radius costs a visit per match (26,000 within 3 km of central
# Amsterdam at 1M initiatives); beyond this many the total is reported as "more than", which is
# all a person paging through a list needs.
COUNT_CAP = 200


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


# A subquery (an InitPlan): the point is built once per statement, not again for every row a
# prepared (generic) plan tests in its filters.
ORIGIN = "(SELECT ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 28992))"
DOC = (f"d.doc_id, d.service_id, d.location_id, d.geom <-> {ORIGIN} AS distance, d.props, "
       "d.status, d.kind, d.is_demo, d.kern_code, d.gemeente_code")
# The display properties in the order of search_doc.props (migration 0013), then the row's own
# columns that a result shows too.
PROPS = ("name", "location_type", "precision", "city", "address", "kern_name", "gemeente_name",
         "lon", "lat", "categories", "audiences", "slots", "assured_date")
COLUMNS = ("status", "kind", "is_demo", "kern_code", "gemeente_code")
SELECTED = "doc_id, service_id, location_id, distance, props, " + ", ".join(COLUMNS)
SERVING = "d.serves_elsewhere @> ARRAY[%(kern)s::text]"


@dataclass(frozen=True)
class Shape:
    """Which filters a statement tests: the statement text depends on these only."""

    demo: bool
    kinds: bool
    categories: bool
    audiences: bool
    gemeente: bool
    open_at: bool
    text: bool
    verified: bool

    @classmethod
    def of(cls, f: Filters) -> Shape:
        return cls(not f.include_demo, bool(f.kinds), bool(f.categories), bool(f.audiences),
                   bool(f.gemeente), f.open_at is not None, bool(f.tsquery),
                   f.verified_since is not None)


def where(shape: Shape) -> str:
    """The filters as SQL over `search_doc d`, with named psycopg parameters."""
    parts = ["d.status = ANY(%(statuses)s)"]
    if shape.demo:
        parts.append("NOT d.is_demo")
    if shape.kinds:
        parts.append("d.kind = ANY(%(kinds)s)")
    if shape.categories:
        parts.append("d.terms && %(category_ids)s::uuid[]")
    if shape.audiences:
        parts.append("d.terms && %(audience_ids)s::uuid[]")
    if shape.gemeente:
        parts.append("d.gemeente_code = %(gemeente)s")
    if shape.open_at:
        # Undated weekly slots are minutes of the week in the row; slots valid between dates
        # (rare) are read from the schedule.
        parts.append(
            "(d.open_minutes @> %(week_minute)s::int OR (d.dated_slots AND EXISTS ("
            "SELECT 1 FROM schedule c WHERE c.service_id = d.service_id "
            "AND c.weekday = %(weekday)s AND c.opens_at <= %(at)s AND c.closes_at > %(at)s "
            "AND (c.valid_from IS NULL OR c.valid_from <= %(on)s) "
            "AND (c.valid_to IS NULL OR c.valid_to >= %(on)s))))")
    if shape.text:
        # A subquery, so the words are parsed and stemmed once, not for every row a prepared
        # (generic) plan tests.
        parts.append("d.search_vector @@ (SELECT to_tsquery('dutch'::regconfig, %(tsquery)s))")
    if shape.verified:
        parts.append("d.assured_date >= %(verified_since)s")
    return " AND ".join(parts)


def spatial(mode: Mode) -> str:
    if mode == "radius":
        return f"ST_DWithin(d.geom, {ORIGIN}, %(radius)s)"
    if mode == "kern":
        # kern_code is ST_Covers(kern.area, location) kept on every write and geography
        # reload; the GiST (kern_code, geom) walks one kern's rows in distance order.
        return "d.kern_code = %(kern)s"
    return "d.geom IS NOT NULL"


def serving_where(shape: Shape) -> str:
    """Services serving the kern (service area) that have no location in it. The gemeente
    filter is about where hits are located, so it does not apply to them."""
    return f"{SERVING} AND {where(replace(shape, gemeente=False))}"


def serving_count(shape: Shape) -> str:
    """How many services serve the kern from elsewhere, up to COUNT_CAP + 1: each counted at
    its first row (service_first), so that the count stops early without a DISTINCT."""
    return (f"(SELECT count(*) FROM (SELECT 1 FROM search_doc d WHERE {serving_where(shape)} "
            f"AND d.service_first LIMIT {COUNT_CAP + 1}) s)")


@lru_cache(maxsize=512)
def page_sql(mode: Mode, shape: Shape) -> str:
    """The page of hits nearest first, cut from the total order (distance, service, doc).

    Only the KNN operator may be in the index scan's ORDER BY (a tie-breaker makes PostgreSQL
    15 sort every match), and ties are common: every home of a kern is published at the kern
    point, services share an address. So the first `head` rows are read in KNN order; when the
    page's last row ties with the head's last row, the other rows at that point are read too,
    only the first offset + limit of them in (service, doc) order, in that order from
    ix_search_doc_point_order; the small set is ordered in full before the page is cut from it.
    (Two different points at exactly the same distance are left to the index's order.)
    `head` also covers COUNT_CAP + 1 rows for the modes that count, so the same scan counts.
    For kern search the number of services serving the kern from elsewhere comes along.
    """
    w = f"{spatial(mode)} AND {where(shape)}"
    serving = serving_count(shape) if mode == "kern" else "NULL::bigint"
    return f"""
WITH head AS MATERIALIZED (
  SELECT {DOC}, d.geom AS point FROM search_doc d WHERE {w}
   ORDER BY d.geom <-> {ORIGIN} LIMIT %(head)s),
edge AS MATERIALIZED (
  SELECT count(*) AS n, max(distance) AS last,
         (array_agg(distance ORDER BY distance))[%(edge)s] AS page_last,
         ST_X((array_agg(point ORDER BY distance DESC))[1]) AS x,
         ST_Y((array_agg(point ORDER BY distance DESC))[1]) AS y
    FROM head),
tied AS (
  SELECT {DOC} FROM search_doc d
   WHERE (SELECT n = %(head)s AND page_last = last FROM edge)
     AND ST_X(d.geom) = (SELECT x FROM edge) AND ST_Y(d.geom) = (SELECT y FROM edge)
     AND {w} AND d.doc_id NOT IN (SELECT doc_id FROM head)
   ORDER BY ST_X(d.geom), ST_Y(d.geom), d.service_id, d.doc_id
   LIMIT %(edge)s)
SELECT w.*, edge.n AS scanned, {serving} AS serving
  FROM (SELECT {SELECTED} FROM head
        UNION ALL SELECT * FROM tied) w, edge
 ORDER BY w.distance, w.service_id, w.doc_id
 LIMIT %(limit)s OFFSET %(offset)s"""


@lru_cache(maxsize=256)
def count_sql(mode: Mode, shape: Shape) -> str:
    """Hits (capped) when the page came back empty: an offset past the end."""
    located = (f"(SELECT count(*) FROM (SELECT 1 FROM search_doc d WHERE {spatial(mode)} "
               f"AND {where(shape)} LIMIT {COUNT_CAP + 1}) h)")
    serving = serving_count(shape) if mode == "kern" else "NULL::bigint"
    return f"SELECT {located} AS scanned, {serving} AS serving"


@lru_cache(maxsize=256)
def serving_sql(shape: Shape) -> str:
    """Services that serve the kern (service area) but are located elsewhere: one hit each, at
    their location nearest to the kern point (or none, for help without an address)."""
    return f"""
SELECT {SELECTED} FROM (
  SELECT DISTINCT ON (d.service_id) {DOC} FROM search_doc d
   WHERE {serving_where(shape)}
   ORDER BY d.service_id, d.geom <-> {ORIGIN} NULLS LAST) s
 ORDER BY distance NULLS LAST, service_id, doc_id
 LIMIT %(limit)s OFFSET %(offset)s"""


class Hit:
    """One hit: its ids, match ('located' or 'serves'), distance in metres (rounded to 100 m
    for a private location) and `props`, the row's display properties (name, kind, status,
    kern_code, kern_name, gemeente_code, lon, lat, categories, audiences, slots, ...), which
    also read as attributes."""

    __slots__ = ("sal_id", "service_id", "location_id", "match", "distance_m", "props")

    def __init__(self, row: Sequence[Any], match: str) -> None:
        doc_id, service_id, location_id, distance, values = row[:5]
        props = dict(zip(PROPS, values, strict=True))
        props.update(zip(COLUMNS, row[5:10], strict=True))
        self.sal_id = doc_id if location_id is not None else None
        self.service_id, self.location_id, self.match, self.props = (
            service_id, location_id, match, props)
        if distance is None:
            self.distance_m = None
        elif props["location_type"] == "private":
            self.distance_m = round(distance / PRIVATE_DISTANCE_STEP) * PRIVATE_DISTANCE_STEP
        else:
            self.distance_m = float(round(distance))

    def __getattr__(self, name: str) -> Any:
        try:
            return self.props[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class Counted:
    """The rows of a page and how many hits there are: exact, or more than COUNT_CAP."""

    rows: list[Hit]
    matched: int | None
    more_than: int | None = None


def bind_values(q: SearchQuery, conn: Connection | None = None) -> dict[str, Any]:
    """The statement's parameters; term codes are resolved to ids (with their children)."""
    f = q.filters
    values: dict[str, Any] = {
        "x": q.x, "y": q.y, "limit": q.limit, "offset": q.offset,
        "statuses": list(f.statuses), "radius": q.radius, "kern": q.kern_code,
        # Enough rows for the page and its edge, and to count up to the cap.
        "head": q.offset + q.limit + 1 if q.mode == "nearest"
        else max(q.offset + q.limit + 1, COUNT_CAP + 1),
        "edge": q.offset + q.limit,
    }
    if f.kinds:
        values["kinds"] = list(f.kinds)
    if f.categories or f.audiences:
        assert conn is not None, "term filters need a connection to resolve their codes"
        if f.categories:
            values["category_ids"] = term_ids(conn, "category", f.categories)
        if f.audiences:
            values["audience_ids"] = term_ids(conn, "audience", f.audiences)
    if f.gemeente:
        values["gemeente"] = f.gemeente
    if f.open_at:
        day, at, on = f.open_at
        values.update(weekday=day, at=at, on=on,
                      week_minute=(day - 1) * 1440 + at.hour * 60 + at.minute)
    if f.tsquery:
        values["tsquery"] = f.tsquery
    if f.verified_since:
        values["verified_since"] = f.verified_since
    return values


def term_ids(conn: Connection, facet: str, codes: Sequence[str]) -> list[UUID]:
    """Ids of the facet's terms with these codes and of their children."""
    return list(conn.execute(term_ids_of(facet, codes)).scalars())


def run_search(conn: Connection, q: SearchQuery) -> Counted:
    """The page of hits and the number matched (None for nearest, or above the cap)."""
    shape = Shape.of(q.filters)
    values = bind_values(q, conn)
    raw = conn.exec_driver_sql(page_sql(q.mode, shape), values).all()
    rows = [Hit(r, "located") for r in raw]
    if q.mode == "nearest":
        return Counted(rows, None)
    if raw:
        scanned, serving = raw[0].scanned, raw[0].serving
    else:
        scanned, serving = conn.exec_driver_sql(count_sql(q.mode, shape), values).one()
    over = scanned > COUNT_CAP or (serving or 0) > COUNT_CAP
    if q.mode == "kern" and len(rows) < q.limit and serving:
        # The located hits ran out on this page: fill it up with what serves the kern. A page
        # that is not full means the head held every located hit, so it counted them all;
        # only an offset past them leaves the capped count to go by.
        located_total = (scanned if raw or scanned <= COUNT_CAP
                         else _located_total(conn, q.mode, shape, values))
        fill = {**values, "offset": max(0, q.offset - located_total),
                "limit": q.limit - len(rows)}
        rows += [Hit(r, "serves") for r in conn.exec_driver_sql(serving_sql(shape), fill)]
    if over:
        return Counted(rows, None, COUNT_CAP)
    return Counted(rows, scanned + (serving or 0))


def _located_total(conn: Connection, mode: Mode, shape: Shape, values: dict[str, Any]) -> int:
    """Exact number of hits located in the kern (only asked when paging past them)."""
    return int(conn.exec_driver_sql(
        f"SELECT count(*) FROM search_doc d WHERE {spatial(mode)} AND {where(shape)}",
        values).scalar_one())


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
