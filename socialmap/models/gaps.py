"""Derived gap tables (migration 0010): category points and areas kept by triggers, dirty
cells, and the stored coverage per category, demo variant and kern."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from geoalchemy2 import WKBElement
from sqlalchemy import Boolean, Date, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, point_column


class GapPoint(Base):
    """A located service under one top-level category (non-virtual locations only)."""

    __tablename__ = "gap_point"

    category: Mapped[str] = mapped_column(Text, primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    location_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    geom: Mapped[WKBElement] = mapped_column(point_column())
    kern_code: Mapped[str | None] = mapped_column(String(80))
    private: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20))
    is_demo: Mapped[bool] = mapped_column(Boolean)
    assured_date: Mapped[date | None] = mapped_column(Date)


class GapArea(Base):
    """A kern in a service's service area, under one top-level category."""

    __tablename__ = "gap_area"

    category: Mapped[str] = mapped_column(Text, primary_key=True)
    kern_code: Mapped[str] = mapped_column(String(80), primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    is_demo: Mapped[bool] = mapped_column(Boolean)
    assured_date: Mapped[date | None] = mapped_column(Date)


class GapDirty(Base):
    """A 10 km cell where points or areas of a category changed since the last read."""

    __tablename__ = "gap_dirty"

    category: Mapped[str] = mapped_column(Text, primary_key=True)
    cx: Mapped[int] = mapped_column(Integer, primary_key=True)
    cy: Mapped[int] = mapped_column(Integer, primary_key=True)


class GapCoverage(Base):
    """Stored coverage of one kern for one category (with or without demo records)."""

    __tablename__ = "gap_coverage"

    category: Mapped[str] = mapped_column(Text, primary_key=True)
    with_demo: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    kern_code: Mapped[str] = mapped_column(ForeignKey("kern.code", ondelete="CASCADE"),
                                           primary_key=True)
    norm_m: Mapped[int | None] = mapped_column(Integer)
    search_m: Mapped[int] = mapped_column(Integer)
    nearest_m: Mapped[float | None] = mapped_column(Float)
    nearest_private: Mapped[bool | None] = mapped_column(Boolean)
    within: Mapped[int] = mapped_column(Integer)
    serving: Mapped[int] = mapped_column(Integer)
    providers: Mapped[int] = mapped_column(Integer)
    stale: Mapped[bool] = mapped_column(Boolean, server_default="false")
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
