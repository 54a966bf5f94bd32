"""Errors of place resolution, each with its HTTP status and a stable code."""
from __future__ import annotations

from typing import Any

from ..errors import InvalidInput, NotFound, Unavailable


class AmbiguousPlace(InvalidInput):
    """The name matches several kernen; `choices` lists them (400)."""

    code = "ambiguous"

    def __init__(self, message: str, choices: list[dict[str, Any]], field: str = "near") -> None:
        super().__init__(message, field, choices=choices)

    @property
    def choices(self) -> list[dict[str, Any]]:
        """The candidate kernen, most inhabitants first."""
        return self.extra["choices"]


class PlaceNotFound(NotFound):
    """Nothing matches; `suggestions` lists the closest kernen (404)."""

    code = "place_not_found"

    def __init__(self, message: str, suggestions: list[dict[str, Any]],
                 field: str = "near") -> None:
        super().__init__(message, field, suggestions=suggestions)

    @property
    def suggestions(self) -> list[dict[str, Any]]:
        """The closest kernen by name, best first."""
        return self.extra["suggestions"]


class GeocoderUnavailable(Unavailable):
    """The external geocoder did not answer in time or answered nonsense (503)."""

    code = "geocoder_unavailable"
