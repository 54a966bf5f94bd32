"""Kern, gemeente and PC4 look-ups for place resolution and the kernen endpoints.

Query points arrive in RD New; the table columns are never transformed or cast in a predicate,
so the GiST indexes on the areas and the trigram index on kern.name_key can be used.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    case,
    column,
    func,
    or_,
    select,
    table,
    true,
)
from sqlalchemy.orm import Session

from ..geo import RD_NEW, WGS84
from ..models import Gemeente, Kern, Pc4, Provincie

Executor = Session | Connection

K = Kern.__table__.c
G = Gemeente.__table__.c
P = Pc4.__table__.c
PV = Provincie.__table__.c

_KERN_REF = (K.code, K.name, K.gemeente_code, G.name.label("gemeente_name"))


def _like_escape(text: str) -> str:
    """Escape LIKE wildcards in user text (escape character '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _starts(prefix: str) -> ColumnElement[bool]:
    return K.name_key.like(f"{_like_escape(prefix)}%", escape="\\")


def _contains(part: str) -> ColumnElement[bool]:
    return K.name_key.like(f"%{_like_escape(part)}%", escape="\\")


def _in_gemeenten(codes: Sequence[str] | None) -> ColumnElement[bool]:
    return K.gemeente_code.in_(codes) if codes is not None else true()


def _rd_point(x: float, y: float) -> Any:
    """The query point as an RD New geometry built from bound parameters."""
    return func.ST_SetSRID(func.ST_MakePoint(x, y), RD_NEW)


def gemeenten(ex: Executor) -> Sequence[Row[Any]]:
    """Every gemeente's code and name (a few hundred rows)."""
    return ex.execute(select(G.code, G.name).order_by(G.code)).all()


def kern_candidates(ex: Executor, key: str, exact: Sequence[str],
                    gemeente_codes: Sequence[str] | None = None,
                    limit: int = 10) -> Sequence[Row[Any]]:
    """Kernen whose name key is one of `exact`, or starts with (word, then plain prefix) or
    contains `key`.

    Each row has `tier` (0 exact, 1 word prefix, 2 prefix, 3 contains) and `tier_count`, the
    number of kernen in its tier; the best tier comes first, most inhabitants first within it.
    """
    tier = case((K.name_key.in_(exact), 0), (_starts(f"{key} "), 1), (_starts(key), 2),
                else_=3)
    stmt = (
        select(*_KERN_REF, func.ST_X(K.point).label("x"), func.ST_Y(K.point).label("y"),
               tier.label("tier"), func.count().over(partition_by=tier).label("tier_count"))
        .join(Gemeente, G.code == K.gemeente_code)
        .where(_contains(key), _in_gemeenten(gemeente_codes))
        .order_by(tier, K.inhabitants.desc(), K.code)
        .limit(limit)
    )
    return ex.execute(stmt).all()


def kern_suggestions(ex: Executor, key: str, gemeente_codes: Sequence[str] | None = None,
                     limit: int = 5) -> Sequence[Row[Any]]:
    """Kernen with names similar to `key` (pg_trgm), those in the given gemeenten first."""
    order = [func.similarity(K.name_key, key).desc(), K.inhabitants.desc(), K.code]
    if gemeente_codes:
        order.insert(0, K.gemeente_code.in_(gemeente_codes).desc())
    stmt = (
        select(*_KERN_REF)
        .join(Gemeente, G.code == K.gemeente_code)
        .where(K.name_key.op("%")(key))
        .order_by(*order)
        .limit(limit)
    )
    return ex.execute(stmt).all()


def largest_kernen(ex: Executor, gemeente_codes: Sequence[str],
                   limit: int = 5) -> Sequence[Row[Any]]:
    """The most populous kernen of the given gemeenten."""
    stmt = (
        select(*_KERN_REF)
        .join(Gemeente, G.code == K.gemeente_code)
        .where(K.gemeente_code.in_(gemeente_codes))
        .order_by(K.inhabitants.desc(), K.code)
        .limit(limit)
    )
    return ex.execute(stmt).all()


def kern_by_code(ex: Executor, code: str) -> Row[Any] | None:
    """A kern with its gemeente and RD point, by code."""
    stmt = (
        select(*_KERN_REF, func.ST_X(K.point).label("x"), func.ST_Y(K.point).label("y"))
        .join(Gemeente, G.code == K.gemeente_code)
        .where(K.code == code)
    )
    return ex.execute(stmt).one_or_none()


# Every kern area cut into pieces of at most 64 vertices (migration 0013, kept by a trigger):
# testing a point against a few small pieces beats testing it against a large clipped cell.
KERN_PIECE = table("kern_piece", column("kern_code"), column("geom"))


def _covering_kern(point: Any) -> Any:
    """A lateral subquery: the kern whose area covers `point` (lowest code on a shared edge)."""
    return (
        select(*_KERN_REF)
        .select_from(KERN_PIECE)
        .join(Kern, K.code == KERN_PIECE.c.kern_code)
        .join(Gemeente, G.code == K.gemeente_code)
        .where(func.ST_Covers(KERN_PIECE.c.geom, point))
        .order_by(K.code)
        .limit(1)
    )


def kern_at(ex: Executor, x: float, y: float) -> Row[Any] | None:
    """The kern whose area covers the RD point x, y, if any."""
    # Asked by every search from coordinates: on the connection, without the ORM's overhead.
    conn = ex.connection() if isinstance(ex, Session) else ex
    return conn.execute(_covering_kern(_rd_point(x, y))).first()


def pc4_with_kern(ex: Executor, pc4: str) -> Row[Any] | None:
    """A PC4 area's centroid (RD) and the kern that covers it (kern columns null if none)."""
    kern = _covering_kern(P.centroid).lateral("k")
    stmt = (
        select(P.code.label("pc4"), func.ST_X(P.centroid).label("x"),
               func.ST_Y(P.centroid).label("y"), kern.c.code, kern.c.name,
               kern.c.gemeente_code, kern.c.gemeente_name)
        .select_from(Pc4.__table__.outerjoin(kern, true()))
        .where(P.code == pc4)
    )
    return ex.execute(stmt).one_or_none()


def kern_autocomplete(ex: Executor, key: str, gemeente_code: str | None = None,
                      limit: int = 10) -> Sequence[Row[Any]]:
    """Kernen for a search box: exact name, then prefix and word prefix by inhabitants, then
    trigram similarity."""
    prefix, word_prefix = _starts(key), K.name_key.like(f"% {_like_escape(key)}%", escape="\\")
    tier = case((K.name_key == key, 0), (prefix, 1), (word_prefix, 2), else_=3)
    stmt = (
        select(*_KERN_REF, K.inhabitants, func.ST_X(K.point).label("x"),
               func.ST_Y(K.point).label("y"))
        .join(Gemeente, G.code == K.gemeente_code)
        .where(or_(prefix, word_prefix, K.name_key.op("%")(key)),
               K.gemeente_code == gemeente_code if gemeente_code else true())
        .order_by(tier, case((tier < 3, K.inhabitants), else_=0).desc(),
                  func.similarity(K.name_key, key).desc(), K.code)
        .limit(limit)
    )
    return ex.execute(stmt).all()


def kern_feature(ex: Executor, code: str, tolerance_m: float = 10.0) -> Row[Any] | None:
    """A kern with gemeente, provincie, population and its area as WGS84 GeoJSON text
    (simplified in RD by `tolerance_m`, counter-clockwise outer rings, 6 decimals)."""
    area = func.ST_ForcePolygonCCW(func.ST_Transform(
        func.ST_Multi(func.ST_SimplifyPreserveTopology(K.area, tolerance_m)), WGS84))
    stmt = (
        select(*_KERN_REF, G.provincie_code, PV.name.label("provincie_name"), K.source,
               K.inhabitants, K.inhabitants_65plus, K.inhabitants_75plus,
               func.ST_X(K.point).label("x"), func.ST_Y(K.point).label("y"),
               func.ST_AsGeoJSON(area, 6).label("geometry"))
        .join(Gemeente, G.code == K.gemeente_code)
        .outerjoin(Provincie, PV.code == G.provincie_code)
        .where(K.code == code)
    )
    return ex.execute(stmt).one_or_none()
