"""Controlled vocabularies of the registry; the database enforces the same lists by CHECK."""
from __future__ import annotations

# What kind of initiative a service is (shown to users in Dutch).
KINDS: dict[str, str] = {
    "dorpshuis": "Dorpshuis",
    "kulturhus": "Kulturhus",
    "dorpsdagvoorziening": "Dorpsdagvoorziening",
    "vrijwilligersnetwerk": "Vrijwilligersnetwerk",
    "burenhulp": "Burenhulp",
    "zorginitiatief": "Zorginitiatief",
    "zorgcooperatie": "Zorgcoöperatie",
    "ontmoetingsplek": "Ontmoetingsplek",
    "maaltijdvoorziening": "Maaltijdvoorziening",
    "vervoersdienst": "Vervoersdienst",
    "gebiedsteam": "Gebiedsteam",
    "wijkverpleging": "Wijkverpleging",
    "welzijnsorganisatie": "Welzijnsorganisatie",
    "lotgenotengroep": "Lotgenotengroep",
    "overig": "Overig",
}

# HSDS 3.0 service status values, plus 'proposed': a plan that is not running yet (exported
# to HSDS as 'inactive').
STATUSES: tuple[str, ...] = ("active", "inactive", "defunct", "temporarily closed", "proposed")
VISIBLE_STATUSES: tuple[str, ...] = ("active", "temporarily closed")

# HSDS location_type plus 'private': a volunteer's home, never shown exactly.
LOCATION_TYPES: tuple[str, ...] = ("physical", "virtual", "private")

# How exactly a location's point is known.
PRECISIONS: dict[str, str] = {
    "address": "adres",
    "pc4": "postcodegebied",
    "district": "wijkcentrum",
    "kern": "kerncentrum",
    "gemeente": "gemeentecentrum",
}

ORGANIZATION_FORMS: tuple[str, ...] = (
    "stichting", "vereniging", "cooperatie", "informele groep", "gemeente", "bedrijf", "overig",
)

FACETS: tuple[str, ...] = ("category", "audience")

CHANGE_ACTIONS: tuple[str, ...] = ("create", "update", "delete")
