"""Classifying a `near` text without a database: postcode, WGS84 lat,lon, RD x,y or a place name."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ..errors import InvalidInput
from ..geo import NL_LAT, NL_LON, RD_X, RD_Y, in_nl_wgs84, in_rd_extent, to_rd, to_wgs84
from ..names import name_key

MAX_LENGTH = 200

# A postcode, optionally followed by the woonplaats as Dutch addresses write it ("6088 AB Roggel").
_POSTCODE = re.compile(r"([1-9][0-9]{3}) ?([A-Za-z]{2})?(?:(?:, ?| ).*[^\W\d_].*)?")
_NUMBER = r"[+-]?[0-9]{1,7}(?:\.[0-9]{1,20})?"
_NUMBER_DECIMAL_COMMA = r"[+-]?[0-9]{1,7}(?:[.,][0-9]{1,20})?"
# "51.17,5.98" and "51.17, 5.98"; with a ';' or a space between, a decimal comma is fine too.
_PAIR_COMMA = re.compile(rf"({_NUMBER}) ?, ?({_NUMBER})")
_PAIR_OTHER = re.compile(rf"({_NUMBER_DECIMAL_COMMA})(?: ?; ?| )({_NUMBER_DECIMAL_COMMA})")
_DIGITS_ONLY = re.compile(r"[0-9\s.,;:+-]+")

NEAR_HELP = ("a place name (optionally followed by ', gemeente'), a postcode such as 6181 or "
             "6181 AB, latitude,longitude such as 51.17,5.98, or RD x,y such as 190000,330000")


@dataclass(frozen=True)
class PostcodeQuery:
    """A postcode; only its four digits (PC4) are used to locate it offline."""

    pc4: str
    letters: str | None = None

    @property
    def postcode(self) -> str:
        """'6181 AB' or '6181'."""
        return f"{self.pc4} {self.letters}" if self.letters else self.pc4


@dataclass(frozen=True)
class PointQuery:
    """A point given as coordinates, in both reference systems."""

    x: float
    y: float
    lon: float
    lat: float
    crs: Literal["wgs84", "rd"]


@dataclass(frozen=True)
class NameQuery:
    """A place name, optionally with the gemeente it lies in ('Elsloo, Stein')."""

    text: str
    name: str
    gemeente: str | None = None

    @property
    def key(self) -> str:
        """The matching key of the name (see names.name_key)."""
        return name_key(self.name)

    @property
    def gemeente_key(self) -> str | None:
        """The matching key of the gemeente, if one was given."""
        return name_key(self.gemeente) if self.gemeente else None


Query = PostcodeQuery | PointQuery | NameQuery


def parse_near(text: str, field: str = "near") -> Query:
    """Classify `text` as a postcode, a coordinate pair or a place name; raise InvalidInput."""
    clean = " ".join(text.split())
    if not clean:
        raise InvalidInput(f"'{field}' is empty; give {NEAR_HELP}", field)
    if len(clean) > MAX_LENGTH:
        raise InvalidInput(f"'{field}' is longer than {MAX_LENGTH} characters", field)
    if not clean.isprintable():
        raise InvalidInput(f"'{field}' contains control characters", field)
    if m := _POSTCODE.fullmatch(clean):
        return PostcodeQuery(m.group(1), m.group(2).upper() if m.group(2) else None)
    if m := _PAIR_COMMA.fullmatch(clean) or _PAIR_OTHER.fullmatch(clean):
        a, b = (float(g.replace(",", ".")) for g in m.groups())
        return _point(a, b, field)
    if _DIGITS_ONLY.fullmatch(clean):
        raise InvalidInput(_number_message(clean, field), field)
    return _name(clean, field)


def _number_message(clean: str, field: str) -> str:
    """Say what is wrong with input made only of digits and punctuation."""
    if re.fullmatch(r"0[0-9]{3}", clean):
        return f"'{field}': a Dutch postcode does not start with 0"
    if re.fullmatch(r"[0-9]{1,6}", clean):
        return f"'{field}': a postcode has four digits, optionally followed by two letters"
    return f"'{field}' is not understood; give {NEAR_HELP}"


def _point(a: float, b: float, field: str) -> PointQuery:
    """Tell lat,lon in degrees from RD x,y in metres by magnitude, and check the extent."""
    if abs(a) <= 180 and abs(b) <= 180:
        lat, lon = a, b
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise InvalidInput(f"'{field}': latitude must lie between -90 and 90 and longitude "
                               "between -180 and 180", field)
        if not in_nl_wgs84(lon, lat):
            hint = (f"; did you mean {b},{a}? Give the latitude first" if in_nl_wgs84(lat, lon)
                    else "")
            raise InvalidInput(
                f"'{field}': {lat},{lon} lies outside the Netherlands (latitude {NL_LAT[0]} to "
                f"{NL_LAT[1]}, longitude {NL_LON[0]} to {NL_LON[1]}){hint}", field)
        x, y = to_rd(lon, lat)
        return PointQuery(x, y, lon, lat, "wgs84")
    if in_rd_extent(a, b):
        lon, lat = to_wgs84(a, b)
        return PointQuery(a, b, lon, lat, "rd")
    hint = "; did you swap x and y?" if in_rd_extent(b, a) else ""
    raise InvalidInput(
        f"'{field}': {a:g},{b:g} is neither latitude,longitude in the Netherlands nor RD x,y in "
        f"metres (x {RD_X[0]:.0f} to {RD_X[1]:.0f}, y {RD_Y[0]:.0f} to {RD_Y[1]:.0f}){hint}", field)


def _name(clean: str, field: str) -> NameQuery:
    """A place name; the text after the last comma names the gemeente."""
    name, _, gemeente = clean.rpartition(",") if "," in clean else (clean, "", "")
    name, gemeente = name.strip(), gemeente.strip()
    if not _has_letter(name):
        raise InvalidInput(f"'{field}': a place name needs letters; give {NEAR_HELP}", field)
    if gemeente and not _has_letter(gemeente):
        raise InvalidInput(f"'{field}': after the last comma comes the gemeente, as in "
                           "'Elsloo, Stein'", field)
    return NameQuery(clean, name, gemeente or None)


def _has_letter(text: str) -> bool:
    """Whether the matching key of `text` holds at least one letter."""
    return any(c.isalpha() for c in name_key(text))
