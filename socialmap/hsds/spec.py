"""The HSDS 3.0 tabular layout: tables, fields, types and references. Pure.

Written down from the specification's datapackage.json (Open Referral, CC BY-SA 4.0); the tests
compare it field by field with the official file so that the two never drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

VERSION = "3.0"
FieldType = Literal["string", "number", "date", "datetime", "time"]


@dataclass(frozen=True)
class Field:
    """One column of an HSDS table."""

    name: str
    type: FieldType = "string"
    required: bool = False
    format: str | None = None  # uuid, email or uri
    unique: bool = False
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Table:
    """One HSDS table (a resource of the Tabular Data Package)."""

    name: str
    path: str
    fields: tuple[Field, ...]
    references: dict[str, str]  # field -> referenced table (by id)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


def _table(name: str, path: str, layout: str, refs: dict[str, str] | None = None,
           enums: dict[str, tuple[str, ...]] | None = None) -> Table:
    """A table from a compact layout: `name!` required, `:type`, `@format`, `+unique`."""
    fields = []
    for token in layout.split():
        unique = token.endswith("+unique")
        token = token.removesuffix("+unique")
        token, _, fmt = token.partition("@")
        token, _, kind = token.partition(":")
        required = token.endswith("!")
        fname = token.rstrip("!")
        fields.append(Field(fname, (kind or "string"), required, fmt or None,  # type: ignore[arg-type]
                            unique or fname == "id", (enums or {}).get(fname)))
    return Table(name, path, tuple(fields), refs or {})


STATUSES = ("active", "inactive", "defunct", "temporarily closed")
PLACE_TYPES = ("physical", "postal", "virtual")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

TABLES: tuple[Table, ...] = (
    _table("organization", "organizations.csv",
           "id!@uuid name! alternate_name description! email@email website@uri tax_status tax_id "
           "year_incorporated:number legal_status logo uri@uri parent_organization_id@uuid"),
    _table("program", "programs.csv",
           "id!@uuid organization_id!@uuid+unique name! alternate_name description!",
           {"organization_id": "organization"}),
    _table("service", "services.csv",
           "id!@uuid organization_id!@uuid program_id@uuid name! alternate_name description "
           "url@uri email@email status! interpretation_services application_process "
           "fees_description wait_time fees accreditations eligibility_description "
           "minimum_age:number maximum_age:number assured_date:date assurer_email@email "
           "licenses alert last_modified:datetime",
           {"organization_id": "organization", "program_id": "program"}, {"status": STATUSES}),
    _table("attribute", "attributes.csv",
           "id!@uuid link_id!@uuid taxonomy_term_id!@uuid link_type link_entity! value",
           {"taxonomy_term_id": "taxonomy_term"}),
    _table("service_at_location", "service_at_location.csv",
           "id!@uuid service_id!@uuid location_id!@uuid description",
           {"service_id": "service", "location_id": "location"}),
    _table("location", "locations.csv",
           "id!@uuid location_type! url@uri organization_id@uuid name alternate_name description "
           "transportation latitude:number longitude:number external_identifier "
           "external_identifier_type",
           {"organization_id": "organization"}, {"location_type": PLACE_TYPES}),
    _table("phone", "phones.csv",
           "id!@uuid location_id@uuid service_id@uuid organization_id@uuid contact_id@uuid "
           "service_at_location_id@uuid number! extension:number type description",
           {"contact_id": "contact", "location_id": "location", "organization_id": "organization",
            "service_id": "service", "service_at_location_id": "service_at_location"}),
    _table("contact", "contacts.csv",
           "id!@uuid organization_id@uuid service_id@uuid service_at_location_id@uuid "
           "location_id@uuid name title department email@email",
           {"location_id": "location", "organization_id": "organization", "service_id": "service",
            "service_at_location_id": "service_at_location"}),
    _table("address", "addresses.csv",
           "id!@uuid location_id@uuid attention address_1! address_2 city! region "
           "state_province! postal_code! country! address_type!",
           {"location_id": "location"}, {"address_type": PLACE_TYPES}),
    _table("schedule", "schedules.csv",
           "id!@uuid service_id@uuid location_id@uuid service_at_location_id@uuid "
           "valid_from:date valid_to:date dtstart:date timezone:number until:date count:number "
           "wkst freq interval:number byday byweekno bymonthday byyearday description "
           "opens_at:time closes_at:time schedule_link@uri attending_type notes",
           {"location_id": "location", "service_id": "service",
            "service_at_location_id": "service_at_location"},
           {"wkst": WEEKDAYS, "freq": ("WEEKLY", "MONTHLY")}),
    _table("funding", "funding.csv", "id!@uuid organization_id@uuid service_id@uuid source",
           {"organization_id": "organization", "service_id": "service"}),
    _table("service_area", "service_areas.csv",
           "id!@uuid service_id@uuid name description extent extent_type uri",
           {"service_id": "service"}),
    _table("required_document", "required_documents.csv",
           "id!@uuid service_id@uuid document uri@uri", {"service_id": "service"}),
    _table("language", "languages.csv",
           "id!@uuid service_id@uuid location_id@uuid phone_id@uuid name code note",
           {"location_id": "location", "phone_id": "phone", "service_id": "service"}),
    _table("accessibility", "accessibility.csv",
           "id!@uuid location_id@uuid description details url@uri", {"location_id": "location"}),
    _table("taxonomy_term", "taxonomy_terms.csv",
           "id!@uuid code+unique name! description! parent_id@uuid taxonomy language "
           "taxonomy_id@uuid term_uri@uri",
           {"taxonomy_id": "taxonomy"}),
    _table("metadata", "metadata.csv",
           "id!@uuid resource_id!@uuid resource_type! last_action_date!:date last_action_type! "
           "field_name! previous_value! replacement_value! updated_by!"),
    _table("meta_table_description", "meta_table_descriptions.csv",
           "id!@uuid name language character_set"),
    _table("cost_option", "cost_options.csv",
           "id!@uuid service_id!@uuid valid_from:date valid_to:date option currency "
           "amount:number amount_description",
           {"service_id": "service"}),
    _table("organization_identifier", "organization_identifiers.csv",
           "id!@uuid organization_id!@uuid identifier_scheme identifier_type! identifier!",
           {"organization_id": "organization"}),
    _table("taxonomy", "taxonomies.csv", "id!@uuid name! description! uri@uri version"),
)

BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
BY_PATH: dict[str, Table] = {t.path: t for t in TABLES}

# Which table a nested array of an HSDS JSON object holds; a child points back at its parent
# by `<parent table>_id` (an attribute by link_id and link_entity).
NESTED: dict[str, str] = {
    "services": "service", "phones": "phone", "schedules": "schedule",
    "service_areas": "service_area", "service_at_locations": "service_at_location",
    "languages": "language", "funding": "funding", "cost_options": "cost_option",
    "required_documents": "required_document", "contacts": "contact",
    "attributes": "attribute", "metadata": "metadata", "addresses": "address",
    "accessibility": "accessibility", "locations": "location", "programs": "program",
    "organization_identifiers": "organization_identifier",
}
# One-to-one objects: the parent's field that holds the child's id.
NESTED_ONE: dict[str, tuple[str, str]] = {
    "organization": ("organization", "organization_id"),
    "program": ("program", "program_id"),
    "location": ("location", "location_id"),
    "service": ("service", "service_id"),
    "taxonomy_term": ("taxonomy_term", "taxonomy_term_id"),
    "taxonomy_detail": ("taxonomy", "taxonomy_id"),
}
