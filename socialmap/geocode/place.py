"""A resolved search starting point, and the kern references used in choices and suggestions."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

from ..geo import to_wgs84
from ..names import name_key

Kind = Literal["kern", "pc4", "point", "address"]

_GEMEENTE_SUFFIX = re.compile(r"\s*\([^)]*\)$")


def kern_label(name: str, gemeente_name: str) -> str:
    """'Meers', 'Stein (L.)' -> 'Meers (Stein)'; a kern named as its gemeente -> 'Bergen (NH.)'."""
    short = _GEMEENTE_SUFFIX.sub("", gemeente_name)
    if name_key(name) == name_key(short):
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
        return {"code": self.code, "name": self.name, "gemeente_code": self.gemeente_code,
                "gemeente": self.gemeente_name, "label": self.label,
                "near": f"{self.name}, {self.gemeente_name}"}


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
           pc4: str | None = None) -> Place:
        """A place at RD x, y, with lon, lat computed and the covering kern's names."""
        lon, lat = to_wgs84(x, y)
        return cls(kind, label, x, y, round(lon, 6), round(lat, 6),
                   kern.code if kern else None, kern.name if kern else None,
                   kern.gemeente_code if kern else None, kern.gemeente_name if kern else None,
                   pc4)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)
