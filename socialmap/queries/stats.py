"""Counts of what is loaded."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Gemeente, Kern, Service
from ..vocab import VISIBLE_STATUSES


def registry_counts(s: Session, show_demo: bool = True) -> dict[str, int]:
    """Numbers of gemeenten, kernen, and the initiatives a search can find (active or
    temporarily closed) and the demo ones among them, in one round trip."""
    visible = Service.status.in_(VISIBLE_STATUSES)
    if not show_demo:
        visible = visible & ~Service.is_demo
    row = s.execute(
        select(
            select(func.count()).select_from(Gemeente).scalar_subquery().label("gemeenten"),
            select(func.count()).select_from(Kern).scalar_subquery().label("kernen"),
            select(func.count()).where(visible).scalar_subquery().label("initiatives"),
            select(func.count()).where(visible, Service.is_demo).scalar_subquery()
            .label("demo"),
        )
    ).one()
    return dict(row._mapping)
