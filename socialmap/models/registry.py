"""The registry: organizations, services (initiatieven), locations and what hangs off them."""
from __future__ import annotations

import uuid
from datetime import date, time

from geoalchemy2 import WKBElement
from sqlalchemy import (
    Boolean,
    Computed,
    Date,
    FetchedValue,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamps, UUIDKey, point_column

SEARCH_VECTOR = (
    "setweight(to_tsvector('dutch'::regconfig, sm_unaccent("
    "coalesce(name, '') || ' ' || coalesce(alternate_name, ''))), 'A') || "
    "setweight(to_tsvector('dutch'::regconfig, sm_unaccent("
    "coalesce(description, ''))), 'B')"
)


class Organization(UUIDKey, Timestamps, Base):
    __tablename__ = "organization"

    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    legal_form: Mapped[str] = mapped_column(String(20), server_default="overig")
    website: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    is_demo: Mapped[bool] = mapped_column(Boolean, server_default="false")
    source: Mapped[str | None] = mapped_column(Text)

    services: Mapped[list[Service]] = relationship(back_populates="organization")


class Service(UUIDKey, Timestamps, Base):
    """An initiative: what is offered, by whom, for whom."""

    __tablename__ = "service"

    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organization.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(Text)
    alternate_name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20), server_default="active")
    url: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    fees_description: Mapped[str | None] = mapped_column(Text)
    eligibility_description: Mapped[str | None] = mapped_column(Text)
    accessibility: Mapped[str | None] = mapped_column(Text)
    schedule_note: Mapped[str | None] = mapped_column(Text)
    assured_date: Mapped[date | None] = mapped_column(Date)
    assurer: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    source_url: Mapped[str | None] = mapped_column(Text)
    is_demo: Mapped[bool] = mapped_column(Boolean, server_default="false")
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    search_vector: Mapped[str | None] = mapped_column(
        TSVECTOR, Computed(SEARCH_VECTOR, persisted=True), deferred=True
    )

    organization: Mapped[Organization | None] = relationship(back_populates="services")
    at_locations: Mapped[list[ServiceAtLocation]] = relationship(
        back_populates="service", cascade="all, delete-orphan"
    )
    areas: Mapped[list[ServiceArea]] = relationship(cascade="all, delete-orphan")
    attributes: Mapped[list[Attribute]] = relationship(cascade="all, delete-orphan")
    schedules: Mapped[list[Schedule]] = relationship(cascade="all, delete-orphan")
    contacts: Mapped[list[Contact]] = relationship(cascade="all, delete-orphan")

    # The sm_touch trigger bumps the version; the ORM only checks it (optimistic locking).
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class Location(UUIDKey, Timestamps, Base):
    __tablename__ = "location"

    name: Mapped[str | None] = mapped_column(Text)
    location_type: Mapped[str] = mapped_column(String(10), server_default="physical")
    address: Mapped[str | None] = mapped_column(Text)
    postal_code: Mapped[str | None] = mapped_column(String(7))
    city: Mapped[str | None] = mapped_column(Text)
    pc4: Mapped[str | None] = mapped_column(String(4))
    kern_code: Mapped[str | None] = mapped_column(ForeignKey("kern.code"))
    precision: Mapped[str] = mapped_column(String(10))
    geom: Mapped[WKBElement] = mapped_column(point_column())
    # The published point (the kern point of a private location), kept by a trigger; searched
    # on so that no radius can be narrowed down onto a home (migration 0009).
    shown_geom: Mapped[WKBElement] = mapped_column(point_column(), server_default=FetchedValue(),
                                                   server_onupdate=FetchedValue())
    is_demo: Mapped[bool] = mapped_column(Boolean, server_default="false")


class ServiceAtLocation(UUIDKey, Base):
    __tablename__ = "service_at_location"

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE")
    )
    location_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("location.id", ondelete="CASCADE")
    )

    service: Mapped[Service] = relationship(back_populates="at_locations")
    location: Mapped[Location] = relationship()


class ServiceArea(UUIDKey, Base):
    """A kern that a service serves (help that comes to the house)."""

    __tablename__ = "service_area"

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE")
    )
    kern_code: Mapped[str] = mapped_column(ForeignKey("kern.code"))


class Taxonomy(UUIDKey, Base):
    __tablename__ = "taxonomy"

    name: Mapped[str] = mapped_column(Text)
    facet: Mapped[str] = mapped_column(String(10), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(Text)


class TaxonomyTerm(UUIDKey, Base):
    __tablename__ = "taxonomy_term"

    taxonomy_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("taxonomy.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("taxonomy_term.id"))
    position: Mapped[int] = mapped_column(SmallInteger, server_default="0")


class Attribute(UUIDKey, Base):
    """A taxonomy term attached to a service (HSDS attribute with link_type 'service')."""

    __tablename__ = "attribute"

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE")
    )
    taxonomy_term_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("taxonomy_term.id"))
    value: Mapped[str | None] = mapped_column(Text)


class Schedule(UUIDKey, Base):
    """One weekly opening slot; ISO weekday 1 (Monday) to 7 (Sunday), Europe/Amsterdam time."""

    __tablename__ = "schedule"

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE")
    )
    weekday: Mapped[int] = mapped_column(SmallInteger)
    opens_at: Mapped[time] = mapped_column(Time)
    closes_at: Mapped[time] = mapped_column(Time)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)


class Contact(UUIDKey, Base):
    __tablename__ = "contact"

    service_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE")
    )
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE")
    )
    name: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    is_private: Mapped[bool] = mapped_column(Boolean, server_default="false")

    phones: Mapped[list[Phone]] = relationship(cascade="all, delete-orphan")


class Phone(UUIDKey, Base):
    __tablename__ = "phone"

    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE")
    )
    service_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE")
    )
    number: Mapped[str] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    is_private: Mapped[bool] = mapped_column(Boolean, server_default="false")
