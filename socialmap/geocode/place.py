"""A resolved search starting point, and the kern references used in choices and suggestions."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

from ..geo import to_wgs84
from ..names import name_key

Kind = Literal["kern", "pc4", "point", "address"]

_GEMEENTE_SUFFIX = re.compile(r"\s*\([^)]*\)$")
# BAG tells same-named woonplaatsen apart by a province (or gemeente) suffix: 'Bergen L',
# 'Elst Ut', 'Hengelo (Gld)', 'Haren Gn', 'Bavel AC'. As name keys these are trailing words.
QUALIFIERS = ("ac", "dr", "fl", "fr", "gld", "gn", "gr", "l", "lb", "nb", "nh", "o", "ov", "u",
              "ut", "z", "zh")


def exact_keys(key: str) -> list[str]:
    """The name keys that count as an exact match: 'elst' -> 'elst', 'elst ut', 'elst gld' ..."""
    return [key, *(f"{key} {q}" for q in QUALIFIERS)]


def base_key(key: str) -> str:
    """A name key without its BAG qualifier: 'bergen nh' -> 'bergen'."""
    head, _, last = key.rpartition(" ")
    return head if head and last in QUALIFIERS else key


def gemeente_short(gemeente_name: str) -> str:
    """'Stein (L.)' -> 'Stein': the gemeente name without its province qualifier."""
    return _GEMEENTE_SUFFIX.sub("", gemeente_name)


def kern_label(name: str, gemeente_name: str) -> str:
    """'Meers', 'Stein (L.)' -> 'Meers (Stein)'; a kern named as its gemeente -> 'Bergen (NH.)'."""
    short = gemeente_short(gemeente_name)
    if base_key(name_key(name)) == name_key(short):
        return gemeente_name
    return f"{name} ({short})"


@dataclass(frozen=True)
class KernRef:
    """A kern with its gemeente, as offered to choose from."""

    code: str
    name: str
    gemeente_code: str
    gemeente_name: str

    @property
    def label(self) -> str:
        """Display name with the gemeente."""
        return kern_label(self.name, self.gemeente_name)

    def to_dict(self) -> dict[str, Any]:
        """JSON form; `near` is the text that resolves to exactly this kern."""
        return {"code": self.code, "name": self.name,
                "gemeente": {"code": self.gemeente_code, "name": self.gemeente_name},
                "label": self.label, "near": f"{self.name}, {self.gemeente_name}"}


@dataclass(frozen=True)
class Place:
    """Where a search starts: RD New x, y in metres and WGS84 lon, lat (6 decimals)."""

    kind: Kind
    label: str
    x: float
    y: float
    lon: float
    lat: float
    kern_code: str | None = None
    kern_name: str | None = None
    gemeente_code: str | None = None
    gemeente_name: str | None = None
    pc4: str | None = None

    @classmethod
    def at(cls, kind: Kind, label: str, x: float, y: float, kern: KernRef | None = None,
           pc4: str | None = None, lonlat: tuple[float, float] | None = None) -> Place:
        """A place at RD x, y with the covering kern's names; lon, lat computed unless given."""
        lon, lat = lonlat or to_wgs84(x, y)
        return cls(kind, label, x, y, round(lon, 6), round(lat, 6),
                   kern.code if kern else None, kern.name if kern else None,
                   kern.gemeente_code if kern else None, kern.gemeente_name if kern else None,
                   pc4)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)
