"""Reference geography: provincies, gemeenten, PC4 areas and kernen (RD New)."""
from __future__ import annotations

from datetime import datetime

from geoalchemy2 import WKBElement
from sqlalchemy import DateTime, ForeignKey, Integer, Numeric, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, area_column, point_column


class Provincie(Base):
    __tablename__ = "provincie"

    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    inhabitants: Mapped[int | None] = mapped_column(Integer)
    area: Mapped[WKBElement] = mapped_column(area_column())


class Gemeente(Base):
    __tablename__ = "gemeente"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    provincie_code: Mapped[str | None] = mapped_column(ForeignKey("provincie.code"))
    inhabitants: Mapped[int | None] = mapped_column(Integer)
    pct_65plus: Mapped[float | None] = mapped_column(Numeric(5, 1))
    area: Mapped[WKBElement] = mapped_column(area_column())


class Pc4(Base):
    __tablename__ = "pc4"

    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    inhabitants: Mapped[int | None] = mapped_column(Integer)
    inhabitants_65plus: Mapped[int | None] = mapped_column(Integer)
    inhabitants_75plus: Mapped[int | None] = mapped_column(Integer)
    area: Mapped[WKBElement | None] = mapped_column(area_column(), nullable=True)
    centroid: Mapped[WKBElement] = mapped_column(point_column())


class Kern(Base):
    """A village core or district: a woonplaats or a GeoNames place, with a tiled area."""

    __tablename__ = "kern"

    code: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_key: Mapped[str] = mapped_column(Text)
    gemeente_code: Mapped[str] = mapped_column(ForeignKey("gemeente.code"))
    source: Mapped[str] = mapped_column(String(16))
    geonameid: Mapped[int | None] = mapped_column(Integer)
    pc4_codes: Mapped[list[str] | None] = mapped_column(JSONB)
    inhabitants: Mapped[int] = mapped_column(Integer, server_default="0")
    inhabitants_65plus: Mapped[int] = mapped_column(Integer, server_default="0")
    inhabitants_75plus: Mapped[int] = mapped_column(Integer, server_default="0")
    point: Mapped[WKBElement] = mapped_column(point_column())
    area: Mapped[WKBElement] = mapped_column(area_column())


class DatasetLoad(Base):
    """What a loader last put in the database, so that a second run can say 'nothing changed'."""

    __tablename__ = "dataset_load"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    checksum: Mapped[str] = mapped_column(String(64))
    counts: Mapped[dict] = mapped_column(JSONB)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
