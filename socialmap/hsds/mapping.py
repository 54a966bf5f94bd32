"""HSDS 3.0 rows <-> our rows, one table at a time. Pure: no database, no Flask.

Export functions take our rows (mappings with column names) plus the extra HSDS fields kept for
them, and return HSDS rows (dicts without empty values). Import functions take an HSDS row that
passed validation and return our column values plus the fields we keep as extras.
docs/OPEN_DATA.md has the field-by-field table.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from ..vocab import LOCATION_TYPES, ORGANIZATION_FORMS, PRECISIONS
from . import profile
from .profile import FEATURE, KIND_TERMS, Term, derived_id
from .spec import BY_NAME, WEEKDAYS
from .validate import valid_format

Row = Mapping[str, Any]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DUTCH_POSTCODE = re.compile(r"^([1-9][0-9]{3}) ?([A-Za-z]{2})$")
MAX_PHONE = 40

# HSDS fields we have no column for, kept as extras per table.
EXTRA_FIELDS: dict[str, tuple[str, ...]] = {
    "organization": ("alternate_name", "tax_status", "tax_id", "year_incorporated",
                     "legal_status", "logo", "uri", "parent_organization_id"),
    "service": ("program_id", "interpretation_services", "application_process", "wait_time",
                "fees", "accreditations", "minimum_age", "maximum_age", "licenses", "alert"),
    "location": ("url", "organization_id", "alternate_name", "description", "transportation",
                 "external_identifier", "external_identifier_type", "location_type"),
    "address": ("id", "attention", "address_2", "region", "state_province", "country",
                "address_type", "postal_code"),
    "service_at_location": ("description",),
    "schedule": ("location_id", "service_at_location_id", "dtstart", "timezone", "wkst",
                 "schedule_link", "attending_type", "notes"),
    "contact": ("organization_id", "service_at_location_id", "location_id", "department"),
    "phone": ("location_id", "service_id", "organization_id", "service_at_location_id",
              "extension", "type"),
    "attribute": ("link_type",),
}


def clean(table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """The row in the table's field order, without empty values; an optional e-mail or web
    address that is not valid is left out rather than published invalid."""
    out = {}
    for f in BY_NAME[table].fields:
        value = row.get(f.name)
        if value in (None, ""):
            continue
        if (f.format and not f.required and isinstance(value, str)
                and not valid_format(f.format, value)):
            continue
        out[f.name] = value
    return out


def text(value: Any) -> str | None:
    return None if value is None else str(value)


def hsds_datetime(value: datetime) -> str:
    """UTC with milliseconds and a Z, as the HSDS examples write it."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def hsds_time(value: time) -> str:
    return value.strftime("%H:%M:%S")


def _extras(table: str, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    allowed = EXTRA_FIELDS.get(table, ())
    return {k: v for k, v in (extra or {}).items() if k in allowed}


def _with(table: str, base: Mapping[str, Any], extra: Mapping[str, Any] | None
          ) -> dict[str, Any]:
    """Our values, with the kept extras filling in what we have no value for."""
    row = _extras(table, extra)
    row.update({k: v for k, v in base.items() if v not in (None, "")})
    return clean(table, row)


# --- export: ours -> HSDS ---------------------------------------------------------------------

def organization_out(org: Row, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """HSDS requires a description; an organization without one is described by its name."""
    legal = (extra or {}).get("legal_status") or org["legal_form"]
    return _with("organization", {"id": text(org["id"]), "name": org["name"],
                                  "description": org["description"] or org["name"],
                                  "email": org["email"], "website": org["website"],
                                  "legal_status": legal}, extra)


def standin_organization(service: Row) -> dict[str, Any]:
    """The organization a service without one gets in an export (HSDS tables require one)."""
    return clean("organization", {"id": derived_id(service["id"], "organization"),
                                  "name": service["name"], "description": service["name"],
                                  "legal_status": "overig"})


def service_out(svc: Row, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    assurer = svc["assurer"]
    row = {
        "id": text(svc["id"]),
        "organization_id": text(svc["organization_id"]) or derived_id(svc["id"], "organization"),
        "name": svc["name"], "alternate_name": svc["alternate_name"],
        "description": svc["description"], "url": svc["url"], "email": svc["email"],
        # A plan is not in HSDS's vocabulary: it does not run (yet), so it is 'inactive'.
        "status": "inactive" if svc["status"] == "proposed" else svc["status"],
        "fees_description": svc["fees_description"],
        "eligibility_description": svc["eligibility_description"],
        "assured_date": svc["assured_date"].isoformat() if svc["assured_date"] else None,
        # An assurer is published only as an e-mail address (HSDS assurer_email), never a name.
        "assurer_email": assurer if assurer and EMAIL.match(assurer) else None,
        "last_modified": hsds_datetime(svc["last_modified"]) if svc["last_modified"] else None,
    }
    return _with("service", row, extra)


def schedule_note_out(svc: Row) -> dict[str, Any] | None:
    """A service's free-text opening note as a schedule with only a description."""
    if not svc["schedule_note"]:
        return None
    return clean("schedule", {"id": derived_id(svc["id"], "schedule-note"),
                              "service_id": text(svc["id"]), "description": svc["schedule_note"]})


def location_out(loc: Row, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A private location is published as 'physical', at its kern point (the query puts it
    there), without address; the profile attribute 'kenmerk/prive' says it is private."""
    kind = loc["location_type"]
    if kind == "private":
        kind = "physical"
    elif (extra or {}).get("location_type") == "postal":
        kind = "postal"
    return _with("location", {"id": text(loc["id"]), "name": loc["name"], "location_type": kind,
                              "latitude": round(loc["lat"], 7),
                              "longitude": round(loc["lon"], 7)}, extra)


def address_out(loc: Row, extra: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The address of a location, when it has every part HSDS requires; never for a private
    one. In the Netherlands the provincie and country come from the kern."""
    if loc["location_type"] == "private":
        return None
    kept = dict((extra or {}).get("address") or {})
    row = {**kept, "id": kept.get("id") or derived_id(loc["id"], "address"),
           "location_id": text(loc["id"]), "address_1": loc["address"], "city": loc["city"],
           "postal_code": loc["postal_code"] or kept.get("postal_code")}
    if loc["kern_code"] and loc["provincie_name"]:
        row["state_province"], row["country"] = loc["provincie_name"], profile.COUNTRY
    row.setdefault("address_type", "physical")
    out = clean("address", row)
    required = [f.name for f in BY_NAME["address"].fields if f.required]
    return out if all(out.get(f) for f in required) else None


def sal_out(sal: Row, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return _with("service_at_location", {"id": text(sal["id"]),
                                         "service_id": text(sal["service_id"]),
                                         "location_id": text(sal["location_id"])}, extra)


def schedule_out(slot: Row, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One weekly slot as an RRULE-style schedule: freq WEEKLY, one day, local times."""
    return _with("schedule", {
        "id": text(slot["id"]),
        "service_id": text(slot["service_id"]),
        "valid_from": slot["valid_from"].isoformat() if slot["valid_from"] else None,
        "valid_to": slot["valid_to"].isoformat() if slot["valid_to"] else None,
        "freq": "WEEKLY", "byday": WEEKDAYS[slot["weekday"] - 1],
        "opens_at": hsds_time(slot["opens_at"]), "closes_at": hsds_time(slot["closes_at"]),
        "description": slot["description"],
    }, extra)


def service_area_out(area: Row) -> dict[str, Any]:
    """A kern served, named and pointed at by the profile's kern URN."""
    return clean("service_area", {
        "id": text(area["id"]), "service_id": text(area["service_id"]),
        "name": area["kern_name"], "description": f"{area['kern_name']}, gemeente "
                                                  f"{area['gemeente_name']}",
        "uri": profile.kern_uri(area["kern_code"]),
    })


def contact_out(contact: Row, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return _with("contact", {"id": text(contact["id"]),
                             "service_id": text(contact["service_id"]),
                             "organization_id": text(contact["organization_id"]),
                             "name": contact["name"], "title": contact["title"],
                             "email": contact["email"]}, extra)


def phone_out(phone: Row, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return _with("phone", {"id": text(phone["id"]), "number": phone["number"],
                           "contact_id": text(phone["contact_id"]),
                           "service_id": text(phone["service_id"]),
                           "description": phone["description"]}, extra)


def attribute_out(attr: Row, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return _with("attribute", {"id": text(attr["id"]), "link_id": text(attr["service_id"]),
                               "taxonomy_term_id": text(attr["taxonomy_term_id"]),
                               "link_type": (extra or {}).get("link_type") or attr["facet"],
                               "link_entity": "service", "value": attr["value"]}, extra)


def taxonomy_out(tx: Row) -> dict[str, Any]:
    return clean("taxonomy", {"id": text(tx["id"]), "name": tx["name"],
                              "description": tx["description"] or tx["name"],
                              "version": tx["version"]})


def term_out(term: Row) -> dict[str, Any]:
    """Our category and audience terms: Dutch names; HSDS requires a description."""
    return clean("taxonomy_term", {
        "id": text(term["id"]), "code": term["code"], "name": term["name"],
        "description": term["description"] or term["name"],
        "parent_id": text(term["parent_id"]), "taxonomy": term["taxonomy_name"],
        "language": profile.LANGUAGE, "taxonomy_id": text(term["taxonomy_id"]),
    })


def profile_taxonomies() -> list[dict[str, Any]]:
    """The two taxonomies of the profile (kind and features)."""
    return [clean("taxonomy", {"id": tid, **values})
            for tid, values in profile.PROFILE_TAXONOMIES.items()]


def profile_terms() -> list[dict[str, Any]]:
    out = []
    for taxonomy_id, term in profile.TERMS_BY_ID.values():
        out.append(clean("taxonomy_term", {
            "id": term.id, "code": term.code, "name": term.name, "description": term.description,
            "taxonomy": profile.PROFILE_TAXONOMIES[taxonomy_id]["name"],
            "language": profile.LANGUAGE, "taxonomy_id": taxonomy_id}))
    return out


def _attribute(entity: str, entity_id: Any, term: Term, value: Any = None) -> dict[str, Any]:
    link_type = "kind" if term.code.startswith("soort/") else "feature"
    return clean("attribute", {"id": derived_id(entity_id, term.code), "link_id": text(entity_id),
                               "taxonomy_term_id": term.id, "link_type": link_type,
                               "link_entity": entity, "value": text(value)})


def profile_attributes(entity: str, row: Row) -> list[dict[str, Any]]:
    """Attributes of the profile for what HSDS has no field for."""
    rid = row["id"]
    out = []
    if entity == "service":
        out.append(_attribute(entity, rid, KIND_TERMS[row["kind"]]))
        for name in ("toegankelijkheid", "bron", "bron-url"):
            term = FEATURE[name]
            if row[term.field]:
                out.append(_attribute(entity, rid, term, row[term.field]))
    if entity == "location":
        if row["location_type"] == "private":
            out.append(_attribute(entity, rid, FEATURE["prive"]))
        out.append(_attribute(entity, rid, FEATURE["precisie"], row["precision"]))
        if row["kern_code"]:
            out.append(_attribute(entity, rid, FEATURE["kern"], row["kern_code"]))
    if entity == "funding" and row["ends_on"]:
        out.append(_attribute(entity, rid, FEATURE["financiering-tot"],
                              row["ends_on"].isoformat()))
    if row.get("is_demo"):
        out.append(_attribute(entity, rid, FEATURE["demo"]))
    return out


def funding_out(row: Row) -> dict[str, Any]:
    """HSDS funding of a service; its end date goes as a profile attribute."""
    return clean("funding", {"id": text(row["id"]), "service_id": text(row["service_id"]),
                             "source": row["source"]})


def funding_in(row: Row, features: Mapping[str, Any]) -> dict[str, Any]:
    """Our funding columns from an HSDS funding row and its profile attributes."""
    return {"service_id": uuid.UUID(str(row["service_id"])), "source": row["source"],
            "ends_on": parse_date(features.get("ends_on"))}


# --- import: HSDS -> ours ---------------------------------------------------------------------

@dataclass
class Mapped:
    """Our column values for an HSDS row, and the HSDS fields we keep beside them."""

    values: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)
    insert_only: dict[str, Any] = field(default_factory=dict)


def extras_of(table: str, row: Mapping[str, Any], fields: Iterable[str] | None = None
              ) -> dict[str, Any]:
    names = EXTRA_FIELDS[table] if fields is None else fields
    return {f: row[f] for f in names if row.get(f) not in (None, "")}


def parse_date(value: Any) -> date | None:
    return None if value in (None, "") else date.fromisoformat(str(value))


def parse_datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_time(value: Any) -> time | None:
    if value in (None, ""):
        return None
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", str(value).strip())
    if not match:
        return None
    return time(int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))


def organization_in(row: Row, features: Mapping[str, Any]) -> Mapped:
    legal = row.get("legal_status")
    extra = extras_of("organization", row)
    if legal in ORGANIZATION_FORMS:
        extra.pop("legal_status")
    # An export describes an organization without description by its name; that is no
    # description to keep.
    description = row.get("description")
    values = {"name": row["name"],
              "description": None if description == row["name"] else description,
              "website": row.get("website"), "email": row.get("email"),
              "legal_form": legal if legal in ORGANIZATION_FORMS else "overig"}
    if "is_demo" in features:
        values["is_demo"] = True
    return Mapped(values, extra)


def service_in(row: Row, features: Mapping[str, Any], organization_id: uuid.UUID | None,
               note: str | None) -> Mapped:
    """Fields the HSDS row lacks keep their stored values on update, except the plain HSDS
    ones, which the row states in full."""
    values: dict[str, Any] = {
        "organization_id": organization_id, "name": row["name"],
        "alternate_name": row.get("alternate_name"), "description": row.get("description"),
        "url": row.get("url"), "email": row.get("email"), "status": row["status"],
        "fees_description": row.get("fees_description"),
        "eligibility_description": row.get("eligibility_description"),
        "assured_date": parse_date(row.get("assured_date")),
    }
    if row.get("assurer_email"):
        values["assurer"] = row["assurer_email"]
    for name in ("kind", "accessibility", "source", "source_url", "is_demo"):
        if name in features:
            values[name] = features[name]
    if note is not None:
        values["schedule_note"] = note
    insert_only: dict[str, Any] = {}
    if "kind" not in values:
        insert_only["kind"] = "overig"
    modified = parse_datetime(row.get("last_modified"))
    if modified is not None:
        insert_only["last_modified"] = modified
    return Mapped(values, extras_of("service", row), insert_only)


@dataclass
class LocationIn:
    """A location we can place: its columns, its WGS84 point, and extras."""

    values: dict[str, Any]
    lon: float
    lat: float
    extra: dict[str, Any]


def valid_point(row: Row) -> tuple[float, float] | None:
    lat, lon = row.get("latitude"), row.get("longitude")
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return None
    if isinstance(lat, bool) or isinstance(lon, bool):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return float(lon), float(lat)


def address_in(address: Row | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Columns (street, postcode, place) and the address fields we keep beside them."""
    if address is None:
        return {"address": None, "postal_code": None, "city": None}, {}
    kept = extras_of("address", address)
    postal = address.get("postal_code")
    match = DUTCH_POSTCODE.match(postal or "")
    if match:
        postal = f"{match.group(1)} {match.group(2).upper()}"
        kept.pop("postal_code", None)
    else:
        postal = None
    if kept.get("address_type") == "physical":
        kept.pop("address_type")
    return {"address": address.get("address_1"), "postal_code": postal,
            "city": address.get("city")}, kept


def location_in(row: Row, address: Row | None, features: Mapping[str, Any]
                ) -> LocationIn | str:
    """Our location for an HSDS location, or why it cannot be one (it is then kept as is)."""
    point = valid_point(row)
    if point is None:
        return "no valid latitude and longitude: kept as HSDS data, not on the map"
    extra = extras_of("location", row)
    kind = row["location_type"]
    if kind == "postal":
        extra["location_type"] = "postal"
        kind = "physical"
    else:
        extra.pop("location_type", None)
    if features.get("location_type") == "private":
        kind = "private"
    columns, kept = address_in(address)
    if kept.get("id") == derived_id(row["id"], "address"):
        del kept["id"]
    if kept:
        extra["address"] = kept
    precision = features.get("precision")
    values = {"name": row.get("name"), "location_type": kind, **columns,
              "precision": precision if precision in PRECISIONS else "address"}
    if "is_demo" in features:
        values["is_demo"] = True
    assert kind in LOCATION_TYPES
    return LocationIn(values, point[0], point[1], extra)


def pc4_of(postal_code: str | None) -> str | None:
    return postal_code[:4] if postal_code else None


def weekly_slots(row: Row) -> list[tuple[int, time, time]] | None:
    """The weekly slots a schedule stands for, or None when it is more than plain weekly
    opening hours (monthly, every other week, a count, week numbers, ...)."""
    if row.get("freq") != "WEEKLY" or row.get("interval") not in (None, 1):
        return None
    if any(row.get(f) not in (None, "") for f in ("until", "count", "byweekno", "bymonthday",
                                                  "byyearday")):
        return None
    opens, closes = parse_time(row.get("opens_at")), parse_time(row.get("closes_at"))
    days = [d.strip() for d in str(row.get("byday") or "").split(",") if d.strip()]
    if opens is None or closes is None or opens >= closes or not days:
        return None
    if any(d not in WEEKDAYS for d in days) or len(set(days)) < len(days):
        return None
    return [(WEEKDAYS.index(d) + 1, opens, closes) for d in days]


def is_note(row: Row) -> bool:
    """A schedule that is only a free-text description of a service's opening hours."""
    allowed = {"id", "service_id", "description"}
    return bool(row.get("description")) and bool(row.get("service_id")) and all(
        row.get(f) in (None, "") for f in BY_NAME["schedule"].names if f not in allowed)


def schedule_in(row: Row, service_id: uuid.UUID, slot: tuple[int, time, time]) -> Mapped:
    day, opens, closes = slot
    return Mapped({"service_id": service_id, "weekday": day, "opens_at": opens,
                   "closes_at": closes, "valid_from": parse_date(row.get("valid_from")),
                   "valid_to": parse_date(row.get("valid_to")),
                   "description": row.get("description")},
                  extras_of("schedule", row))


def contact_in(row: Row, owner: dict[str, uuid.UUID | None], links: Mapping[str, Any]
               ) -> Mapped:
    extra = extras_of("contact", {**row, **links}, ("department", *links))
    return Mapped({**owner, "name": row.get("name"), "title": row.get("title"),
                   "email": row.get("email")}, extra)


def phone_in(row: Row, owner: dict[str, uuid.UUID | None], links: Mapping[str, Any]) -> Mapped:
    extra = extras_of("phone", {**row, **links}, ("extension", "type", *links))
    return Mapped({**owner, "number": row["number"], "description": row.get("description")},
                  extra)


def attribute_in(row: Row, service_id: uuid.UUID, term_id: uuid.UUID, facet: str) -> Mapped:
    extra = {} if row.get("link_type") in (None, facet) else {"link_type": row["link_type"]}
    return Mapped({"service_id": service_id, "taxonomy_term_id": term_id,
                   "value": row.get("value")}, extra)


def profile_features(attributes: Iterable[Row]) -> dict[str, dict[str, Any]]:
    """Column values that profile attributes carry, by the id of the row they describe."""
    out: dict[str, dict[str, Any]] = {}
    for attr in attributes:
        found = profile.TERMS_BY_ID.get(str(attr.get("taxonomy_term_id")))
        if found is None:
            continue
        term = found[1]
        values = out.setdefault(str(attr.get("link_id")), {})
        if term.field == "kind":
            values["kind"] = term.code.removeprefix("soort/")
        elif term.field == "location_type":
            values["location_type"] = "private"
        elif term.field == "is_demo":
            values["is_demo"] = True
        elif term.has_value and attr.get("value") not in (None, ""):
            values[term.field] = attr["value"]
    return out


def is_profile_attribute(row: Row) -> bool:
    return str(row.get("taxonomy_term_id")) in profile.TERMS_BY_ID
