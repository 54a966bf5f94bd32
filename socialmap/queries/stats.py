"""Counts of what is loaded."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Gemeente, Kern, Service


def registry_counts(s: Session) -> dict[str, int]:
    """Numbers of gemeenten, kernen, initiatives and demo initiatives, in one round trip."""
    row = s.execute(
        select(
            select(func.count()).select_from(Gemeente).scalar_subquery().label("gemeenten"),
            select(func.count()).select_from(Kern).scalar_subquery().label("kernen"),
            select(func.count()).select_from(Service).scalar_subquery().label("initiatives"),
            select(func.count()).where(Service.is_demo).scalar_subquery().label("demo"),
        )
    ).one()
    return dict(row._mapping)
