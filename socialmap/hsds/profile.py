"""The socialmap HSDS profile for the Netherlands: our taxonomies and stable ids. Pure.

What HSDS has no field for (the kind of initiative, a private location, how exact a point is,
the kern, when funding ends) travels as HSDS attributes with terms of two profile taxonomies,
so that an export is plain HSDS 3.0 that validates against the official schemas and still
round-trips.
docs/hsds-profile-nl/README.md describes the profile for people.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import lru_cache

from ..vocab import KINDS

PROFILE_NAME = "socialmap-nl"
PROFILE_VERSION = "1.0"
# The same namespace as migration 0002 uses for the category and audience terms.
NAMESPACE = uuid.UUID("5b1f2a44-8a57-4c1e-9e55-50c1a1b0cafe")
# A service area that is a kern: its `uri`.
KERN_URN = "urn:socialmap:kern:"
COUNTRY = "NL"
LANGUAGE = "nld"


# Bounded: the profile's own ids repeat, but every exported row derives ids of its own, and an
# unbounded cache grew with the registry (150 MB per 100k initiatives in an export).
@lru_cache(maxsize=4096)
def stable_id(*parts: str) -> uuid.UUID:
    """A UUID that is the same on every run and installation for the same parts."""
    return uuid.uuid5(NAMESPACE, "/".join(parts))


def derived_id(owner: uuid.UUID | str, what: str) -> str:
    """The id of an HSDS row we derive from one of ours (an address from a location, ...)."""
    return str(stable_id(str(owner), what))


@dataclass(frozen=True)
class Term:
    """A term of a profile taxonomy."""

    code: str
    name: str
    description: str
    entities: tuple[str, ...]  # the HSDS tables it may describe
    field: str  # the column it fills
    has_value: bool = False

    @property
    def id(self) -> str:
        return str(stable_id("profile", self.code))


CATEGORY_TAXONOMY = str(stable_id("taxonomy", "category"))
AUDIENCE_TAXONOMY = str(stable_id("taxonomy", "audience"))
KIND_TAXONOMY = str(stable_id("taxonomy", "kind"))
FEATURE_TAXONOMY = str(stable_id("taxonomy", "feature"))

# The two profile taxonomies that exist only in exchange files (the database keeps the values
# in columns); the category and audience taxonomies are rows of the database.
PROFILE_TAXONOMIES: dict[str, dict[str, str]] = {
    KIND_TAXONOMY: {
        "name": "socialmap soort",
        "description": "Soort initiatief (socialmap-profiel NL): dorpshuis, burenhulp, ...",
        "version": PROFILE_VERSION,
    },
    FEATURE_TAXONOMY: {
        "name": "socialmap kenmerken",
        "description": "Kenmerken zonder HSDS-veld (socialmap-profiel NL): privé-locatie, "
                       "precisie van het punt, kern, toegankelijkheid, herkomst, demo",
        "version": PROFILE_VERSION,
    },
}

KIND_TERMS: dict[str, Term] = {
    kind: Term(f"soort/{kind}", label, f"Soort initiatief: {label}", ("service",), "kind")
    for kind, label in KINDS.items()
}
FEATURE_TERMS: tuple[Term, ...] = (
    Term("kenmerk/prive", "Privé-locatie",
         "Een privéadres (zoals het huis van een vrijwilliger): het punt is het midden van de "
         "kern, zonder adres", ("location",), "location_type"),
    Term("kenmerk/precisie", "Precisie",
         "Hoe precies het punt is: address, pc4, district, kern of gemeente", ("location",),
         "precision", has_value=True),
    Term("kenmerk/kern", "Kern",
         "De kern (dorp of wijk) waarin de locatie ligt, als socialmap-code", ("location",),
         "kern_code", has_value=True),
    Term("kenmerk/toegankelijkheid", "Toegankelijkheid",
         "Toegankelijkheid van het initiatief, als tekst", ("service",), "accessibility",
         has_value=True),
    Term("kenmerk/bron", "Bron", "Waar het gegeven vandaan komt", ("service",), "source",
         has_value=True),
    Term("kenmerk/bron-url", "Bron-URL", "Webadres van de bron", ("service",), "source_url",
         has_value=True),
    Term("kenmerk/demo", "Demo", "Een verzonnen voorbeeld, geen echt initiatief",
         ("organization", "service", "location"), "is_demo"),
    Term("kenmerk/financiering-tot", "Financiering tot",
         "Tot wanneer de financiering loopt (datum, JJJJ-MM-DD)", ("funding",), "ends_on",
         has_value=True),
)
TERMS_BY_ID: dict[str, tuple[str, Term]] = {
    **{t.id: (KIND_TAXONOMY, t) for t in KIND_TERMS.values()},
    **{t.id: (FEATURE_TAXONOMY, t) for t in FEATURE_TERMS},
}
FEATURE = {t.code.removeprefix("kenmerk/"): t for t in FEATURE_TERMS}


def kern_uri(code: str) -> str:
    return f"{KERN_URN}{code}"


def kern_of_uri(uri: str | None) -> str | None:
    """The kern code of a service area's `uri`, or None when it names no kern."""
    if uri and uri.startswith(KERN_URN) and len(uri) > len(KERN_URN):
        return uri[len(KERN_URN):]
    return None
