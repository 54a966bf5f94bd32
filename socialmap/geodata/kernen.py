"""Which kernen there are: woonplaatsen, plus GeoNames places that are no woonplaats."""
from __future__ import annotations

from dataclasses import dataclass

from ..names import name_key, slug
from .sources import Gemeente, Place

# Capitals and seats of administration are always a woonplaats of their own; GeoNames may name
# them differently ('The Hague' for 's-Gravenhage, 'Bergen' for 'Bergen (NH)').
SEAT_FCODES = frozenset({"PPLC", "PPLG", "PPLA", "PPLA2"})


@dataclass(frozen=True)
class KernCandidate:
    """A kern before its area is drawn; `wkb` None means 'a point on the gemeente's surface'."""

    code: str
    name: str
    name_key: str
    gemeente_code: str
    source: str
    wkb: bytes | None
    geonameid: int | None = None
    pc4_codes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class KernSelection:
    kernen: list[KernCandidate]
    geonames_dropped: int
    woonplaatsen_dropped: int


def kern_code(gemeente_code: str, name: str) -> str:
    """'GM0971', 'Meers' -> 'GM0971-meers'."""
    return f"{gemeente_code}-{slug(name)}"


def select_kernen(gemeenten: list[Gemeente], woonplaatsen: list[Place],
                  geonames: list[Place]) -> KernSelection:
    """Woonplaatsen first, then GeoNames places by population, one kern per name per gemeente."""
    seen: set[tuple[str, str]] = set()
    kernen: list[KernCandidate] = []
    dropped = {"woonplaats": 0, "geonames": 0}

    def add(place: Place, source: str) -> None:
        key = name_key(place.name)
        if not key or (place.gemeente_code, key) in seen:
            dropped[source] += 1
            return
        seen.add((place.gemeente_code, key))
        kernen.append(KernCandidate(
            code=kern_code(place.gemeente_code, place.name), name=place.name, name_key=key,
            gemeente_code=place.gemeente_code, source=source, wkb=place.wkb,
            geonameid=place.geonameid,
            pc4_codes=place.pc4_codes if source == "woonplaats" else None,
        ))

    for place in woonplaatsen:
        add(place, "woonplaats")
    # The larger of two same-named GeoNames places in one gemeente is the one people mean.
    for place in sorted(geonames, key=lambda p: (-(p.population or 0), p.geonameid or 0)):
        if place.fcode in SEAT_FCODES:
            dropped["geonames"] += 1
        else:
            add(place, "geonames")
    covered = {k.gemeente_code for k in kernen}
    for g in gemeenten:
        if g.code not in covered:
            kernen.append(KernCandidate(
                code=kern_code(g.code, g.name), name=g.name, name_key=name_key(g.name),
                gemeente_code=g.code, source="gemeente", wkb=None,
            ))
    return KernSelection(kernen, dropped["geonames"], dropped["woonplaats"])
