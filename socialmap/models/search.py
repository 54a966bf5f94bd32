"""Derived search tables (migration 0013): the registry denormalised for search, one row per
hit, and the kern areas cut into small pieces. Both are kept by triggers; never written here."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, INT4MULTIRANGE, JSONB, TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from .base import RD_NEW, Base


class SearchDoc(Base):
    """One searchable hit: a service at a location (or a service without one), with its
    published point, what filters test and what a result list shows (`props`)."""

    __tablename__ = "search_doc"

    doc_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    location_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    geom: Mapped[WKBElement | None] = mapped_column(
        Geometry("POINT", srid=RD_NEW, spatial_index=False))
    status: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    is_demo: Mapped[bool] = mapped_column(Boolean)
    kern_code: Mapped[str | None] = mapped_column(Text)
    gemeente_code: Mapped[str | None] = mapped_column(Text)
    terms: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    serves_elsewhere: Mapped[list[str]] = mapped_column(ARRAY(Text))
    located_in: Mapped[list[str]] = mapped_column(ARRAY(Text))
    assured_date: Mapped[date | None] = mapped_column(Date)
    search_vector: Mapped[Any] = mapped_column(TSVECTOR, nullable=True)
    open_minutes: Mapped[Any] = mapped_column(INT4MULTIRANGE, nullable=True)
    dated_slots: Mapped[bool] = mapped_column(Boolean)
    service_first: Mapped[bool] = mapped_column(Boolean)
    props: Mapped[dict[str, Any]] = mapped_column(JSONB)


class KernPiece(Base):
    """A piece of a kern's area of at most 64 vertices (ST_Subdivide)."""

    __tablename__ = "kern_piece"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kern_code: Mapped[str] = mapped_column(
        String(80), ForeignKey("kern.code", ondelete="CASCADE"))
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("GEOMETRY", srid=RD_NEW, spatial_index=False))
