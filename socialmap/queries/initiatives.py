"""Everything about one initiative (service), for its detail page and API answer.

The statements are built once: only the service id (a bind parameter) differs between requests,
and building a statement and its cache key anew cost about as much Python time per request as
the database took to answer the detail page's simplest queries.
"""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, select

from ..models import (
    Attribute,
    Contact,
    Gemeente,
    Kern,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)

S, ORG, L = Service.__table__, Organization.__table__, Location.__table__
SAL, SA, K, G = (ServiceAtLocation.__table__, ServiceArea.__table__, Kern.__table__,
                 Gemeente.__table__)
A, T, TX = Attribute.__table__, TaxonomyTerm.__table__, Taxonomy.__table__
SC, C, P = Schedule.__table__, Contact.__table__, Phone.__table__


SERVICE_ID = bindparam("service_id")


def _service_row() -> Any:
    cols = [c for c in S.c if c.name != "search_vector"]
    return (select(*cols, ORG.c.name.label("organization_name"),
                   ORG.c.legal_form.label("organization_legal_form"),
                   ORG.c.website.label("organization_website"))
            .select_from(S.outerjoin(ORG, ORG.c.id == S.c.organization_id))
            .where(S.c.id == SERVICE_ID))


def _locations() -> Any:
    private = L.c.location_type == "private"
    shown = func.ST_Transform(L.c.shown_geom, 4326)
    return (
        select(
            L.c.id, L.c.name, L.c.location_type, L.c.precision, L.c.city, L.c.pc4,
            case((private, None), else_=L.c.address).label("address"),
            case((private, None), else_=L.c.postal_code).label("postal_code"),
            K.c.code.label("kern_code"), K.c.name.label("kern_name"),
            G.c.code.label("gemeente_code"), G.c.name.label("gemeente_name"),
            func.ST_X(shown).label("lon"), func.ST_Y(shown).label("lat"),
        )
        .select_from(SAL.join(L, L.c.id == SAL.c.location_id)
                     .outerjoin(K, K.c.code == L.c.kern_code)
                     .outerjoin(G, G.c.code == K.c.gemeente_code))
        .where(SAL.c.service_id == SERVICE_ID)
        .order_by(L.c.name, L.c.id)
    )


def _service_areas() -> Any:
    return (
        select(K.c.code, K.c.name, G.c.code.label("gemeente_code"),
               G.c.name.label("gemeente_name"))
        .select_from(SA.join(K, K.c.code == SA.c.kern_code).join(G, G.c.code == K.c.gemeente_code))
        .where(SA.c.service_id == SERVICE_ID)
        .order_by(K.c.name)
    )


def _terms() -> Any:
    return (
        select(TX.c.facet, T.c.id, T.c.code, T.c.name, T.c.name_en)
        .select_from(A.join(T, T.c.id == A.c.taxonomy_term_id).join(TX, TX.c.id == T.c.taxonomy_id))
        .where(A.c.service_id == SERVICE_ID)
        .order_by(TX.c.facet, T.c.position)
    )


def _schedules() -> Any:
    return (
        select(SC.c.weekday, SC.c.opens_at, SC.c.closes_at, SC.c.valid_from, SC.c.valid_to,
               SC.c.description)
        .where(SC.c.service_id == SERVICE_ID)
        .order_by(SC.c.weekday, SC.c.opens_at)
    )


def _contacts(include_private: bool) -> Any:
    agg = func.json_agg(func.json_build_object(
        "number", P.c.number, "description", P.c.description, "is_private", P.c.is_private))
    if not include_private:
        agg = agg.filter(~P.c.is_private)
    phones = (
        select(func.coalesce(agg, func.json_build_array()))
        .where(P.c.contact_id == C.c.id)
        .scalar_subquery()
    )
    where = [C.c.service_id == SERVICE_ID]
    if not include_private:
        where.append(~C.c.is_private)
    return (select(C.c.id, C.c.name, C.c.title, C.c.email, C.c.is_private,
                   phones.label("phones"))
            .where(*where).order_by(C.c.name))


def _service_phones(include_private: bool) -> Any:
    where = [P.c.service_id == SERVICE_ID]
    if not include_private:
        where.append(~P.c.is_private)
    return select(P.c.number, P.c.description, P.c.is_private).where(*where)


_SERVICE_ROW, _LOCATIONS, _SERVICE_AREAS = _service_row(), _locations(), _service_areas()
_TERMS, _SCHEDULES = _terms(), _schedules()
# By include_private.
_CONTACTS = {False: _contacts(False), True: _contacts(True)}
_SERVICE_PHONES = {False: _service_phones(False), True: _service_phones(True)}


def service_row(conn: Connection, service_id: uuid.UUID) -> Any | None:
    return conn.execute(_SERVICE_ROW, {"service_id": service_id}).first()


def locations(conn: Connection, service_id: uuid.UUID) -> list[Any]:
    """Locations of a service; a private one only as its kern point, without address."""
    return conn.execute(_LOCATIONS, {"service_id": service_id}).all()


def service_areas(conn: Connection, service_id: uuid.UUID) -> list[Any]:
    return conn.execute(_SERVICE_AREAS, {"service_id": service_id}).all()


def terms(conn: Connection, service_id: uuid.UUID) -> list[Any]:
    return conn.execute(_TERMS, {"service_id": service_id}).all()


def schedules(conn: Connection, service_id: uuid.UUID) -> list[Any]:
    return conn.execute(_SCHEDULES, {"service_id": service_id}).all()


def contacts(conn: Connection, service_id: uuid.UUID, include_private: bool) -> list[Any]:
    """Contacts with their phones; private ones only when the caller may see them."""
    return conn.execute(_CONTACTS[include_private], {"service_id": service_id}).all()


def service_phones(conn: Connection, service_id: uuid.UUID, include_private: bool) -> list[Any]:
    return conn.execute(_SERVICE_PHONES[include_private], {"service_id": service_id}).all()
