"""Statements for needs (behoeften), support on needs and plans, and their counts per kern."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, delete, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased

from ..models import (
    Gemeente,
    Kern,
    Location,
    Need,
    Service,
    ServiceArea,
    ServiceAtLocation,
    Support,
    Taxonomy,
    TaxonomyTerm,
    User,
)
from ..models.voice import NEED_STATUSES

N, SUP, K, G = Need.__table__, Support.__table__, Kern.__table__, Gemeente.__table__
S, L, SAL, SA = (Service.__table__, Location.__table__, ServiceAtLocation.__table__,
                 ServiceArea.__table__)
T, TX, U = TaxonomyTerm.__table__, Taxonomy.__table__, User.__table__
CAT, AUD = T.alias("cat"), T.alias("aud")


def kern_gemeente(conn: Connection, code: str) -> Any | None:
    """A kern's code, name and gemeente (code, name), or None when there is no such kern."""
    return conn.execute(select(K.c.code, K.c.name, G.c.code.label("gemeente_code"),
                               G.c.name.label("gemeente_name"))
                        .join(G, G.c.code == K.c.gemeente_code)
                        .where(K.c.code == code)).first()


def term_ids(conn: Connection, facet: str, top_only: bool) -> dict[str, uuid.UUID]:
    """Term code -> id of one facet; only the top level when `top_only`."""
    stmt = (select(T.c.code, T.c.id).join(TX, TX.c.id == T.c.taxonomy_id)
            .where(TX.c.facet == facet))
    if top_only:
        stmt = stmt.where(T.c.parent_id.is_(None))
    return {code: id_ for code, id_ in conn.execute(stmt)}


def _counts(target: Any) -> tuple[Any, Any]:
    """Correlated counts of "ik heb dit ook nodig" and "ik wil helpen" on a target column."""
    def count(kind: str) -> Any:
        return (select(func.count()).select_from(SUP)
                .where(target, SUP.c.kind == kind).scalar_subquery())
    return count("need"), count("help")


def _need_columns() -> list[Any]:
    need_n, help_n = _counts(SUP.c.need_id == N.c.id)
    return [N.c.id, N.c.kern_code, N.c.text, N.c.status, N.c.reason, N.c.created_at,
            N.c.decided_at, CAT.c.code.label("category"), CAT.c.name.label("category_name"),
            CAT.c.name_en.label("category_name_en"), AUD.c.code.label("audience"),
            AUD.c.name.label("audience_name"), AUD.c.name_en.label("audience_name_en"),
            need_n.label("need_count"), help_n.label("help_count")]


def _need_from() -> Any:
    return (N.join(CAT, CAT.c.id == N.c.category_id)
            .outerjoin(AUD, AUD.c.id == N.c.audience_id))


def _kern_needs() -> Any:
    cols = _need_columns()
    ranked = select(*cols, func.row_number().over(
        partition_by=N.c.status,
        order_by=((cols[-2] + cols[-1]).desc(), N.c.created_at.desc())).label("rank"),
    ).select_from(_need_from()).where(
        N.c.kern_code == bindparam("kern_code"),
        N.c.status.in_(bindparam("statuses", expanding=True))).subquery()
    return (select(*(c for c in ranked.c if c.name != "rank"))
            .where(ranked.c.rank <= case(*(
                (ranked.c.status == status, bindparam(f"limit_{status}"))
                for status in NEED_STATUSES), else_=0))
            .order_by(ranked.c.status, ranked.c.rank))


# Built once: every kern page runs it, and building it (and its cache key) cost about as much
# as the database's answer.
_KERN_NEEDS = _kern_needs()


def kern_needs(conn: Connection, kern_code: str,
               limits: dict[str, int]) -> dict[str, list[Any]]:
    """Needs of a kern per status (up to its limit), most supported first, with their counts;
    one statement for all the statuses."""
    found: dict[str, list[Any]] = {status: [] for status in limits}
    for row in conn.execute(_KERN_NEEDS, {
            "kern_code": kern_code, "statuses": list(limits),
            **{f"limit_{status}": limits.get(status, 0) for status in NEED_STATUSES}}):
        found[row.status].append(row)
    return found


def need_row(conn: Connection, need_id: uuid.UUID) -> Any | None:
    """One need with its kern, gemeente, terms and counts."""
    return conn.execute(
        select(*_need_columns(), K.c.name.label("kern_name"),
               K.c.gemeente_code, G.c.name.label("gemeente_name"))
        .select_from(_need_from().join(K, K.c.code == N.c.kern_code)
                     .join(G, G.c.code == K.c.gemeente_code))
        .where(N.c.id == need_id)).first()


def need_for_update(s: Session, need_id: uuid.UUID) -> Need | None:
    """A need, row-locked, for a decision."""
    return s.scalars(select(Need).where(Need.id == need_id).with_for_update()).first()


def queue(conn: Connection, gemeenten: Sequence[str] | None, status: str,
          limit: int = 200) -> list[Any]:
    """Needs with this status in these gemeenten (None: all), oldest first when pending."""
    stmt = (select(*_need_columns(), K.c.name.label("kern_name"), K.c.gemeente_code,
                   G.c.name.label("gemeente_name"), U.c.display_name.label("decided_by_name"))
            .select_from(_need_from().join(K, K.c.code == N.c.kern_code)
                         .join(G, G.c.code == K.c.gemeente_code)
                         .outerjoin(U, U.c.id == N.c.decided_by))
            .where(N.c.status == status)
            .order_by(N.c.created_at if status == "pending" else N.c.decided_at.desc())
            .limit(limit))
    if gemeenten is not None:
        stmt = stmt.where(K.c.gemeente_code.in_(list(gemeenten)))
    return list(conn.execute(stmt))


def pending_count(conn: Connection, gemeenten: Sequence[str] | None) -> int:
    """How many needs wait for a decision in these gemeenten."""
    stmt = (select(func.count()).select_from(N.join(K, K.c.code == N.c.kern_code))
            .where(N.c.status == "pending"))
    if gemeenten is not None:
        stmt = stmt.where(K.c.gemeente_code.in_(list(gemeenten)))
    return conn.execute(stmt).scalar_one()


def _in_or_serving(kern_code: Any) -> Any:
    """The service (S) is located in the kern or serves it through its service area."""
    located = exists().where(SAL.c.service_id == S.c.id, L.c.id == SAL.c.location_id,
                             L.c.kern_code == kern_code)
    serving = exists().where(SA.c.service_id == S.c.id, SA.c.kern_code == kern_code)
    return or_(located, serving)


def _kern_plans(include_demo: bool) -> Any:
    need_n, help_n = _counts(SUP.c.service_id == S.c.id)
    # From the few proposed services (a partial index, migration 0011) to their kern, not from
    # every service of the kern (1,500 in a town at 1M) to its status.
    stmt = (select(S.c.id, S.c.name, S.c.description, S.c.kind, need_n.label("need_count"),
                   help_n.label("help_count"))
            .where(S.c.status == "proposed", _in_or_serving(bindparam("kern_code")))
            .order_by((need_n + help_n).desc(), S.c.name).limit(bindparam("limit")))
    if not include_demo:
        stmt = stmt.where(S.c.is_demo.is_(False))
    return stmt


# Built once (each kern page runs one), by include_demo.
_KERN_PLANS = {False: _kern_plans(False), True: _kern_plans(True)}


def kern_plans(conn: Connection, kern_code: str, include_demo: bool,
               limit: int = 50) -> list[Any]:
    """Services with status 'proposed' located in or serving the kern, with support counts."""
    return list(conn.execute(_KERN_PLANS[include_demo],
                             {"kern_code": kern_code, "limit": limit}))


def service_status(conn: Connection, service_id: uuid.UUID) -> Any | None:
    """A service's status and demo flag, or None."""
    return conn.execute(select(S.c.status, S.c.is_demo).where(S.c.id == service_id)).first()


def add_support(conn: Connection, *, need_id: uuid.UUID | None, service_id: uuid.UUID | None,
                kind: str, voter_hash: str, now: datetime) -> bool:
    """Count one person's support; False when this voter already gave it (a no-op)."""
    column = "need_id" if need_id is not None else "service_id"
    stmt = (insert(SUP).values(need_id=need_id, service_id=service_id, kind=kind,
                               voter_hash=voter_hash, created_at=now)
            .on_conflict_do_nothing(index_elements=[column, "kind", "voter_hash"],
                                    index_where=SUP.c[column].is_not(None))
            .returning(SUP.c.id))
    return conn.execute(stmt).first() is not None


def support_counts(conn: Connection, *, need_id: uuid.UUID | None = None,
                   service_id: uuid.UUID | None = None) -> dict[str, int]:
    """{'need': n, 'help': m} for one need or one service."""
    target = SUP.c.need_id == need_id if need_id is not None else SUP.c.service_id == service_id
    rows = conn.execute(select(SUP.c.kind, func.count()).where(target).group_by(SUP.c.kind))
    counts = {"need": 0, "help": 0}
    counts.update({kind: n for kind, n in rows})
    return counts


def open_needs_by_kern(conn: Connection, kern_codes: Sequence[str]) -> list[Any]:
    """Approved (open) needs per kern and top-level category: needs, me-too and helpers."""
    top = func.coalesce(T.c.parent_id, T.c.id)
    parent = aliased(TaxonomyTerm)
    need_n = (select(func.count()).select_from(SUP)
              .where(SUP.c.need_id == N.c.id, SUP.c.kind == "need").scalar_subquery())
    help_n = (select(func.count()).select_from(SUP)
              .where(SUP.c.need_id == N.c.id, SUP.c.kind == "help").scalar_subquery())
    per_need = (select(N.c.kern_code, top.label("term_id"), need_n.label("need_n"),
                       help_n.label("help_n"))
                .join(T, T.c.id == N.c.category_id)
                .where(N.c.status == "approved", N.c.kern_code.in_(list(kern_codes)))
                .subquery())
    return list(conn.execute(
        select(per_need.c.kern_code, parent.code.label("category"),
               func.count().label("needs"), func.sum(per_need.c.need_n).label("me_too"),
               func.sum(per_need.c.help_n).label("helpers"))
        .join(parent, parent.id == per_need.c.term_id)
        .group_by(per_need.c.kern_code, parent.code)))


def delete_decided(conn: Connection, status: str, decided_before: datetime) -> int:
    """Delete needs with this status decided before the date (their support goes with them)."""
    return conn.execute(delete(N).where(N.c.status == status,
                                        N.c.decided_at < decided_before)).rowcount


def delete_stale_pending(conn: Connection, created_before: datetime) -> int:
    """Delete needs that waited for an editor since before the date."""
    return conn.execute(delete(N).where(and_(N.c.status == "pending",
                                             N.c.created_at < created_before))).rowcount

