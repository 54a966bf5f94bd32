"""Statements for residents' submissions: find by reference, the moderation queue, retention."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import Session

from ..models import (
    Gemeente,
    Kern,
    Service,
    Submission,
    SubmissionField,
    Taxonomy,
    TaxonomyTerm,
    User,
)

SUB, F, S = Submission.__table__, SubmissionField.__table__, Service.__table__
G, U, K = Gemeente.__table__, User.__table__, Kern.__table__
T, TX = TaxonomyTerm.__table__, Taxonomy.__table__


def by_ref_hash(s: Session, ref_hash: str) -> Submission | None:
    """The submission whose reference has this SHA-256."""
    return s.scalars(select(Submission).where(Submission.ref_hash == ref_hash)).first()


def by_id(s: Session, submission_id: uuid.UUID, lock: bool = False) -> Submission | None:
    """A submission by id, row-locked when `lock`."""
    stmt = select(Submission).where(Submission.id == submission_id)
    if lock:
        stmt = stmt.with_for_update()
    return s.scalars(stmt).first()


def queue(conn: Connection, gemeenten: Sequence[str] | None, status: str = "pending",
          limit: int = 200) -> list[Any]:
    """Submissions with this status, oldest first; only these gemeenten unless None (admin)."""
    proposed_name = (select(func.jsonb_build_array(F.c.proposed).op("->>")(0))
                     .where(F.c.submission_id == SUB.c.id, F.c.field == "name")
                     .scalar_subquery())
    fields = (select(func.count()).where(F.c.submission_id == SUB.c.id).scalar_subquery())
    stmt = (
        select(SUB.c.id, SUB.c.kind, SUB.c.status, SUB.c.created_at, SUB.c.decided_at,
               SUB.c.gemeente_code, G.c.name.label("gemeente_name"), SUB.c.service_id,
               S.c.name.label("service_name"), S.c.version.label("service_version"),
               SUB.c.base_version, proposed_name.label("proposed_name"),
               fields.label("fields"), U.c.display_name.label("decided_by_name"))
        .select_from(SUB.outerjoin(G, G.c.code == SUB.c.gemeente_code)
                     .outerjoin(S, S.c.id == SUB.c.service_id)
                     .outerjoin(U, U.c.id == SUB.c.decided_by))
        .where(SUB.c.status == status)
        .order_by(SUB.c.created_at if status == "pending" else SUB.c.decided_at.desc())
        .limit(limit)
    )
    if gemeenten is not None:
        stmt = stmt.where(SUB.c.gemeente_code.in_(list(gemeenten)))
    return list(conn.execute(stmt))


def counts_by_gemeente(conn: Connection, gemeenten: Sequence[str] | None) -> dict[str, int]:
    """Pending submissions per gemeente name."""
    stmt = (select(G.c.name, func.count()).select_from(SUB.join(G, G.c.code == SUB.c.gemeente_code))
            .where(SUB.c.status == "pending").group_by(G.c.name).order_by(G.c.name))
    if gemeenten is not None:
        stmt = stmt.where(SUB.c.gemeente_code.in_(list(gemeenten)))
    return {name: n for name, n in conn.execute(stmt)}


def purge_personal_data(conn: Connection, decided_before: datetime) -> int:
    """Clear the submitter's name and e-mail of submissions decided before the date."""
    return conn.execute(
        update(SUB).where(SUB.c.decided_at < decided_before,
                          or_(SUB.c.submitter_name.is_not(None),
                              SUB.c.submitter_email.is_not(None)))
        .values(submitter_name=None, submitter_email=None)).rowcount


def purge_private_addresses(conn: Connection, decided_before: datetime) -> int:
    """Drop the exact point and street of proposed private locations once decided."""
    loc = F.c.proposed
    return conn.execute(
        update(F).where(F.c.field == "location", F.c.decided_at < decided_before,
                        loc["location_type"].astext == "private",
                        or_(loc.has_key("x"), loc.has_key("address")))
        .values(proposed=loc.op("-")(array(["x", "y", "lon", "lat", "address"])))
    ).rowcount


def delete_rejected(conn: Connection, decided_before: datetime) -> int:
    """Delete rejected submissions decided before the date (their fields go with them)."""
    return conn.execute(delete(SUB).where(SUB.c.status == "rejected",
                                          SUB.c.decided_at < decided_before)).rowcount


def delete_stale_pending(conn: Connection, created_before: datetime) -> int:
    """Delete submissions that waited for an editor since before the date."""
    return conn.execute(delete(SUB).where(and_(SUB.c.status == "pending",
                                               SUB.c.created_at < created_before))).rowcount


def kern_with_gemeente(conn: Connection, code: str) -> dict[str, str]:
    """A kern's name with its gemeente's code and name."""
    row = conn.execute(select(K.c.name, G.c.code.label("gemeente_code"),
                              G.c.name.label("gemeente_name"))
                       .select_from(K.join(G, G.c.code == K.c.gemeente_code))
                       .where(K.c.code == code)).one()
    return dict(row._mapping)


def term_names(conn: Connection, facet: str) -> dict[str, str]:
    """Term code -> Dutch name, for one facet."""
    rows = conn.execute(select(T.c.code, T.c.name).join(TX, TX.c.id == T.c.taxonomy_id)
                        .where(TX.c.facet == facet))
    return {code: name for code, name in rows}
