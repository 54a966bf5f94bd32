"""One row of the exchange format (an initiative at one location) and its validation. Pure.

The layout is documented in data/README.md ("## Initiatives"). CSV holds every field as text
(lists ';'-joined, booleans true/false, empty = none); GeoJSON holds the same names as
properties with JSON types (lists as arrays, booleans, null) and the point as its geometry.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from ..names import name_key
from ..schedule import SHORT_NL, Slot
from ..vocab import KINDS, LOCATION_TYPES, ORGANIZATION_FORMS, PRECISIONS, STATUSES

NAMESPACE = uuid.UUID("0c7a3f5e-2d1b-5e8f-9a64-7b3c1d2e4f50")

SERVICE_COLUMNS: tuple[str, ...] = (
    "id", "name", "alternate_name", "description", "kind", "status",
    "organization_id", "organization_name", "organization_legal_form", "organization_description",
    "categories", "audiences", "schedule", "schedule_note", "service_area",
    "fees_description", "eligibility_description", "accessibility", "url", "email",
    "phone", "phone_private", "contact_name", "contact_title", "contact_email", "contact_phone",
    "contact_private", "assured_date", "assurer", "source", "source_url", "is_demo",
    "funding_source", "funding_ends_on",
)
LOCATION_COLUMNS: tuple[str, ...] = (
    "location_id", "location_name", "location_type", "address", "postal_code", "city", "pc4",
    "kern_code", "precision",
)
PROPERTIES: tuple[str, ...] = SERVICE_COLUMNS + LOCATION_COLUMNS
LIST_FIELDS = frozenset({"categories", "audiences", "schedule", "service_area"})
BOOL_FIELDS = frozenset({"phone_private", "contact_private", "is_demo"})
# The coordinate column names of a CSV file, by EPSG code.
COORD_COLUMNS: dict[int, tuple[str, str]] = {4326: ("lon", "lat"), 28992: ("x", "y")}

MAX_TEXT = 4000
MAX_NAME = 200
_SLOT = re.compile(r"^(ma|di|wo|do|vr|za|zo) ([0-2]\d):([0-5]\d)-([0-2]\d):([0-5]\d)$")
_POSTAL_CODE = re.compile(r"^([1-9]\d{3}) ?([A-Za-z]{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PC4 = re.compile(r"^[1-9]\d{3}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{5,38}$")
_URL = re.compile(r"^https?://\S+$")


def stable_id(*parts: str) -> uuid.UUID:
    """A UUID that is the same on every run and installation for the same parts."""
    return uuid.uuid5(NAMESPACE, "/".join(parts))


@dataclass(frozen=True)
class Record:
    """An initiative (service) at one location, with everything that hangs off it."""

    id: uuid.UUID
    name: str
    kind: str
    status: str = "active"
    alternate_name: str | None = None
    description: str | None = None
    organization_id: uuid.UUID | None = None
    organization_name: str | None = None
    organization_legal_form: str | None = None
    organization_description: str | None = None
    categories: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    schedule: tuple[Slot, ...] = ()
    schedule_note: str | None = None
    service_area: tuple[str, ...] = ()
    fees_description: str | None = None
    eligibility_description: str | None = None
    accessibility: str | None = None
    url: str | None = None
    email: str | None = None
    phone: str | None = None
    phone_private: bool = False
    contact_name: str | None = None
    contact_title: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    contact_private: bool = False
    assured_date: date | None = None
    assurer: str | None = None
    source: str | None = None
    source_url: str | None = None
    is_demo: bool = False
    funding_source: str | None = None
    funding_ends_on: date | None = None
    location_id: uuid.UUID | None = None
    location_name: str | None = None
    location_type: str | None = None
    address: str | None = None
    postal_code: str | None = None
    city: str | None = None
    pc4: str | None = None
    kern_code: str | None = None
    precision: str | None = None
    x: float | None = None  # in the CRS of the file
    y: float | None = None

    @property
    def has_location(self) -> bool:
        return self.location_id is not None

    @property
    def has_contact(self) -> bool:
        return any((self.contact_name, self.contact_title, self.contact_email, self.contact_phone))

    def service_part(self) -> tuple[Any, ...]:
        """The service-level values, which every row of one service must repeat unchanged."""
        return tuple(getattr(self, f) for f in SERVICE_COLUMNS if not f.startswith("organization"))

    def organization_part(self) -> tuple[Any, ...]:
        return (self.organization_name, self.organization_legal_form,
                self.organization_description, self.is_demo)

    def location_part(self) -> tuple[Any, ...]:
        return (*(getattr(self, f) for f in LOCATION_COLUMNS), self.x, self.y, self.is_demo)

    def to_properties(self, typed: bool) -> dict[str, Any]:
        """The row as export values: JSON types for GeoJSON, strings for CSV."""
        out: dict[str, Any] = {}
        for name in PROPERTIES:
            value = getattr(self, name)
            if name == "schedule":
                value = [s.short() for s in value]
            elif name in LIST_FIELDS:
                value = list(value)
            elif isinstance(value, uuid.UUID | date):
                value = str(value)
            if not typed:
                if name in LIST_FIELDS:
                    value = ";".join(value)
                elif name in BOOL_FIELDS:
                    value = "true" if value else "false"
                elif value is None:
                    value = ""
            elif name in LIST_FIELDS and not value:
                value = None
            out[name] = value
        return out


@dataclass(frozen=True)
class Problem:
    """Why a field of a row is rejected."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class _Reader:
    """Reads and checks the fields of one raw row, collecting problems instead of raising."""

    def __init__(self, raw: Mapping[str, Any], typed: bool) -> None:
        self.raw = raw
        self.typed = typed
        self.problems: list[Problem] = []

    def bad(self, name: str, message: str) -> None:
        self.problems.append(Problem(name, message))

    def text(self, name: str, max_length: int = MAX_TEXT) -> str | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            self.bad(name, f"expected text, got {type(value).__name__}")
            return None
        value = value.strip()
        if len(value) > max_length:
            self.bad(name, f"longer than {max_length} characters")
            return None
        return value or None

    def choice(self, name: str, allowed: tuple[str, ...] | Mapping[str, str],
               default: str | None = None) -> str | None:
        value = self.text(name)
        if value is None:
            return default
        if value not in allowed:
            self.bad(name, f"unknown value '{value}' (one of: {', '.join(allowed)})")
            return None
        return value

    def pattern(self, name: str, regex: re.Pattern[str], what: str,
                max_length: int = MAX_TEXT) -> str | None:
        value = self.text(name, max_length)
        if value is not None and not regex.match(value):
            self.bad(name, f"not {what}: '{value}'")
            return None
        return value

    def uuid(self, name: str) -> uuid.UUID | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return uuid.UUID(value)
        except ValueError:
            self.bad(name, f"not a UUID: '{value}'")
            return None

    def boolean(self, name: str) -> bool:
        value = self.raw.get(name)
        if value is None or value == "" or value is False or value == "false":
            return False
        if value is True or value == "true":
            return True
        self.bad(name, f"expected true or false, got '{value}'")
        return False

    def date(self, name: str) -> date | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            if not _DATE.match(value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            self.bad(name, f"not a date YYYY-MM-DD: '{value}'")
            return None

    def items(self, name: str) -> list[str]:
        value = self.raw.get(name)
        if value is None or value == "":
            return []
        if self.typed:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                self.bad(name, "expected an array of strings")
                return []
            parts = value
        elif isinstance(value, str):
            parts = value.split(";")
        else:
            self.bad(name, "expected text")
            return []
        items = [p.strip() for p in parts]
        if any(not p for p in items):
            self.bad(name, "empty item")
        return [p for p in items if p]

    def codes(self, name: str) -> tuple[str, ...]:
        items = self.items(name)
        if len(set(items)) < len(items):
            self.bad(name, "an item is given twice")
        return tuple(sorted(set(items)))

    def slots(self, name: str) -> tuple[Slot, ...]:
        out: set[Slot] = set()
        for item in self.items(name):
            m = _SLOT.match(item)
            if not m:
                self.bad(name, f"not a slot like 'ma 09:00-12:00': '{item}'")
                continue
            day, h1, m1, h2, m2 = m.groups()
            try:
                opens, closes = time(int(h1), int(m1)), time(int(h2), int(m2))
            except ValueError:
                self.bad(name, f"no such time in '{item}'")
                continue
            if opens >= closes:
                self.bad(name, f"closes before it opens: '{item}'")
                continue
            out.add(Slot(SHORT_NL.index(day) + 1, opens, closes))
        return tuple(sorted(out))

    def number(self, name: str, value: Any) -> float | None:
        if isinstance(value, bool):
            self.bad(name, "not a number")
            return None
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str) and value.strip():
            try:
                return float(value.strip())
            except ValueError:
                pass
        self.bad(name, f"not a number: '{value}'")
        return None


def parse_row(raw: Mapping[str, Any], coords: tuple[Any, Any] | None, typed: bool,
              coord_names: tuple[str, str] = ("lon", "lat"),
              today: date | None = None) -> tuple[Record | None, list[Problem]]:
    """Check one raw row (CSV strings or GeoJSON properties) and build its Record."""
    r = _Reader(raw, typed)
    unknown = sorted(set(raw) - set(PROPERTIES))
    for name in unknown:
        r.bad(name, "unknown field")
    name = r.text("name", MAX_NAME)
    if name is None and "name" not in {p.field for p in r.problems}:
        r.bad("name", "required")
    kind = r.choice("kind", KINDS)
    if kind is None and r.raw.get("kind") in (None, ""):
        r.bad("kind", "required")
    values: dict[str, Any] = {
        "name": name, "kind": kind,
        "status": r.choice("status", STATUSES, "active"),
        "alternate_name": r.text("alternate_name", MAX_NAME),
        "description": r.text("description"),
        "organization_name": r.text("organization_name", MAX_NAME),
        "organization_legal_form": r.choice("organization_legal_form", ORGANIZATION_FORMS),
        "organization_description": r.text("organization_description"),
        "categories": r.codes("categories"),
        "audiences": r.codes("audiences"),
        "schedule": r.slots("schedule"),
        "schedule_note": r.text("schedule_note"),
        "service_area": r.codes("service_area"),
        "fees_description": r.text("fees_description"),
        "eligibility_description": r.text("eligibility_description"),
        "accessibility": r.text("accessibility"),
        "url": r.pattern("url", _URL, "a web address (http:// or https://)"),
        "email": r.pattern("email", _EMAIL, "an e-mail address"),
        "phone": r.pattern("phone", _PHONE, "a phone number", 40),
        "phone_private": r.boolean("phone_private"),
        "contact_name": r.text("contact_name", MAX_NAME),
        "contact_title": r.text("contact_title", MAX_NAME),
        "contact_email": r.pattern("contact_email", _EMAIL, "an e-mail address"),
        "contact_phone": r.pattern("contact_phone", _PHONE, "a phone number", 40),
        "contact_private": r.boolean("contact_private"),
        "assured_date": r.date("assured_date"),
        "assurer": r.text("assurer", MAX_NAME),
        "source": r.text("source"),
        "source_url": r.pattern("source_url", _URL, "a web address (http:// or https://)"),
        "is_demo": r.boolean("is_demo"),
        "funding_source": r.text("funding_source", MAX_NAME),
        "funding_ends_on": r.date("funding_ends_on"),
    }
    if values["funding_ends_on"] and not values["funding_source"]:
        r.bad("funding_source", "required when funding_ends_on is given")
    if values["assured_date"] and values["assured_date"] > (today or date.today()):
        r.bad("assured_date", f"lies in the future: {values['assured_date']}")
    if values["phone"] is None and values["phone_private"]:
        r.bad("phone_private", "set without a phone number")

    org_id = r.uuid("organization_id")
    org_given = org_id or any(values[f] for f in (
        "organization_name", "organization_legal_form", "organization_description"))
    if org_given and not values["organization_name"]:
        r.bad("organization_name", "required when other organization fields are given")
    if values["organization_name"]:
        values["organization_legal_form"] = values["organization_legal_form"] or "overig"
        org_id = org_id or stable_id("organization", name_key(values["organization_name"]))
    values["organization_id"] = org_id

    location, has_location = _location(r, coords, coord_names)
    values.update(location)
    service_id = r.uuid("id")
    if service_id is None and "id" not in {p.field for p in r.problems} and name:
        # A new row without an id gets one from its name and point, so that importing the same
        # file twice still finds it again.
        at = f"{values['x']:.0f},{values['y']:.0f}" if values["x"] is not None else "-"
        service_id = stable_id("service", name_key(name), at)
    if values["location_id"] is None and service_id and has_location:
        values["location_id"] = stable_id(str(service_id), "location")
    if r.problems:
        return None, r.problems
    return Record(id=service_id, **values), []  # type: ignore[arg-type]


def _location(r: _Reader, coords: tuple[Any, Any] | None,
              coord_names: tuple[str, str]) -> tuple[dict[str, Any], bool]:
    """The location fields of a row and whether it has a location at all."""
    loc = {
        "location_id": r.uuid("location_id"),
        "location_name": r.text("location_name", MAX_NAME),
        "location_type": r.choice("location_type", LOCATION_TYPES),
        "address": r.text("address", MAX_NAME),
        "postal_code": r.pattern("postal_code", _POSTAL_CODE, "a postcode like 1234 AB", 7),
        "city": r.text("city", MAX_NAME),
        "pc4": r.pattern("pc4", _PC4, "a 4-digit postcode", 4),
        "kern_code": r.text("kern_code", 80),
        "precision": r.choice("precision", PRECISIONS),
        "x": None, "y": None,
    }
    if loc["postal_code"]:
        m = _POSTAL_CODE.match(loc["postal_code"])
        assert m is not None
        loc["postal_code"] = f"{m.group(1)} {m.group(2).upper()}"
    given = any(v is not None for v in loc.values()) or any(
        r.raw.get(f) not in (None, "") for f in LOCATION_COLUMNS)
    has_coords = coords is not None and any(c not in (None, "") for c in coords)
    if not given and not has_coords:
        return loc, False
    if not has_coords:
        r.bad(coord_names[0], "a location needs coordinates")
    else:
        assert coords is not None
        loc["x"] = r.number(coord_names[0], coords[0])
        loc["y"] = r.number(coord_names[1], coords[1])
    if loc["precision"] is None and r.raw.get("precision") in (None, ""):
        r.bad("precision", "required for a location")
    loc["location_type"] = loc["location_type"] or "physical"
    return loc, True

