"""Readers for the geodata files: parse, validate and turn each feature into a typed record.

Every error names the file and the feature (index and code or name) and the reason, so that a
malformed download can be found and fixed by hand.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape

PROVINCIES = "provincies_2022.geojson"
GEMEENTEN = "gemeenten_2024.geojson"
PC4_AREAS = "pc4_2020.geojson"
PC4_POPULATION = "pc4_population_2021.csv"
WOONPLAATSEN = "woonplaatsen_pc4.geojson"
GEONAMES = "geonames_places_nl.geojson"
FILES = (PROVINCIES, GEMEENTEN, PC4_AREAS, PC4_POPULATION, WOONPLAATSEN, GEONAMES)

# Generous WGS84 bounds of the Netherlands with its sea area: catches RD New or swapped axes.
NL_BOUNDS = (2.5, 50.5, 7.5, 54.0)
AREA_TYPES = ("Polygon", "MultiPolygon")

_PROVINCIE_CODE = re.compile(r"^PV[0-9]{2}$")
_GEMEENTE_CODE = re.compile(r"^GM[0-9]{4}$")
_PC4 = re.compile(r"^[1-9][0-9]{3}$")


class GeodataError(Exception):
    """Malformed or missing input; the message names the file and the feature."""


@dataclass(frozen=True)
class Provincie:
    code: str
    name: str
    inhabitants: int | None
    wkb: bytes


@dataclass(frozen=True)
class Gemeente:
    code: str
    name: str
    provincie_code: str
    inhabitants: int | None
    pct_65plus: float | None
    wkb: bytes


@dataclass(frozen=True)
class Pc4Area:
    code: str
    wkb: bytes


@dataclass(frozen=True)
class Pc4Population:
    code: str
    inhabitants: int | None
    inhabitants_65plus: int | None
    inhabitants_75plus: int | None


@dataclass(frozen=True)
class Place:
    """A named point in a gemeente: a woonplaats or a GeoNames populated place."""

    name: str
    gemeente_code: str
    wkb: bytes
    pc4_codes: tuple[str, ...] = ()
    geonameid: int | None = None
    population: int | None = None
    fcode: str | None = None


def checksum(directory: Path, version: str) -> str:
    """SHA-256 over the loader version and the name and content of every input file."""
    digest = hashlib.sha256(version.encode())
    for name in FILES:
        digest.update(name.encode())
        digest.update(hashlib.sha256(read_bytes(directory / name)).digest())
    return digest.hexdigest()


def read_bytes(path: Path) -> bytes:
    """The file's content, or a GeodataError naming it."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise GeodataError(f"{path}: file not found") from None
    except OSError as exc:
        raise GeodataError(f"{path}: cannot read: {exc.strerror}") from None


class _Feature:
    """One feature of a GeoJSON file, with helpers that raise errors naming it."""

    def __init__(self, filename: str, index: int, raw: Any, id_keys: tuple[str, ...]) -> None:
        self.filename = filename
        self.index = index
        self.label = ""
        if not isinstance(raw, dict) or not isinstance(raw.get("properties"), dict):
            raise self.error("not a GeoJSON feature with properties")
        self.props: dict[str, Any] = raw["properties"]
        self.raw = raw
        for key in id_keys:
            value = self.props.get(key)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if value not in (None, ""):
                self.label = str(value)
                break

    def error(self, reason: str) -> GeodataError:
        label = f" ({self.label})" if self.label else ""
        return GeodataError(f"{self.filename}: feature {self.index}{label}: {reason}")

    def text(self, key: str, pattern: re.Pattern[str] | None = None) -> str:
        value = self.props.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"missing {key!r}")
        if pattern is not None and not pattern.match(value):
            raise self.error(f"{key!r} is {value!r}, expected {pattern.pattern}")
        return value.strip()

    def number(self, key: str, required: bool = False) -> float | None:
        value = self.props.get(key)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(f"{key!r} is {value!r}, expected a number")
        return value

    def count(self, key: str) -> int | None:
        value = self.number(key)
        if value is None:
            return None
        if value < 0 or value != int(value):
            raise self.error(f"{key!r} is {value!r}, expected a count")
        return int(value)

    def geometry(self, types: tuple[str, ...]) -> bytes:
        """The geometry as WKB (WGS84), checked for type, parseability and plausible bounds."""
        wkb = self.optional_geometry(types)
        if wkb is None:
            raise self.error("no geometry")
        return wkb

    def optional_geometry(self, types: tuple[str, ...]) -> bytes | None:
        """Like geometry(), but None when the feature has none."""
        raw = self.raw.get("geometry")
        if raw is None:
            return None
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind not in types:
            raise self.error(f"geometry type {kind!r}, expected {' or '.join(types)}")
        try:
            geom = shape(raw)
        except Exception as exc:  # shapely raises several kinds on malformed coordinates
            raise self.error(f"unparseable geometry: {exc}") from None
        if geom.is_empty:
            raise self.error("empty geometry")
        minx, miny, maxx, maxy = geom.bounds
        west, south, east, north = NL_BOUNDS
        if not (west <= minx and maxx <= east and south <= miny and maxy <= north):
            raise self.error(
                f"geometry outside the Netherlands in WGS84 lon/lat (bounds {geom.bounds})")
        return shapely.to_wkb(geom)


def _features(path: Path, *id_keys: str) -> Iterator[_Feature]:
    try:
        data = json.loads(read_bytes(path))
    except json.JSONDecodeError as exc:
        raise GeodataError(f"{path.name}: invalid JSON at line {exc.lineno} column {exc.colno}: "
                           f"{exc.msg}") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise GeodataError(f"{path.name}: not a GeoJSON FeatureCollection")
    for index, raw in enumerate(features):
        yield _Feature(path.name, index, raw, id_keys)


def _new(f: _Feature, code: str, seen: set[str]) -> str:
    """`code`, after checking that no earlier feature of the file had it."""
    if code in seen:
        raise f.error(f"duplicate code {code}")
    seen.add(code)
    return code


def read_provincies(directory: Path) -> list[Provincie]:
    """Provincies with code, name, inhabitants (2021) and area."""
    seen: set[str] = set()
    return [
        Provincie(_new(f, f.text("provinciecode", _PROVINCIE_CODE), seen),
                  f.text("provincienaam"), f.count("inwoners_2021"), f.geometry(AREA_TYPES))
        for f in _features(directory / PROVINCIES, "provinciecode", "provincienaam")
    ]


def read_gemeenten(directory: Path, provincie_codes: set[str]) -> list[Gemeente]:
    """Gemeenten with code, name, provincie, inhabitants, share of 65+ and area."""
    rows = []
    seen: set[str] = set()
    for f in _features(directory / GEMEENTEN, "gemeentecode", "gemeentenaam"):
        provincie = f.text("provinciecode", _PROVINCIE_CODE)
        if provincie not in provincie_codes:
            raise f.error(f"provinciecode {provincie!r} is not in {PROVINCIES}")
        pct = f.number("65plus")
        if pct is not None and not 0 <= pct <= 100:
            raise f.error(f"'65plus' is {pct!r}, expected a percentage")
        rows.append(Gemeente(_new(f, f.text("gemeentecode", _GEMEENTE_CODE), seen),
                             f.text("gemeentenaam"), provincie, f.count("aantal_inwoners"), pct,
                             f.geometry(AREA_TYPES)))
    return rows


def read_pc4_areas(directory: Path) -> tuple[list[Pc4Area], list[str]]:
    """PC4 polygons, and the codes of the features that have no geometry (skipped)."""
    rows: list[Pc4Area] = []
    without_area: list[str] = []
    seen: set[str] = set()
    for f in _features(directory / PC4_AREAS, "postcode"):
        code = f.number("postcode", required=True)
        text = str(int(code)) if code is not None and code == int(code) else str(code)
        if not _PC4.match(text):
            raise f.error(f"'postcode' is {code!r}, expected four digits")
        _new(f, text, seen)
        wkb = f.optional_geometry(AREA_TYPES)
        if wkb is None:
            without_area.append(text)
        else:
            rows.append(Pc4Area(text, wkb))
    return rows, without_area


def read_pc4_population(directory: Path) -> dict[str, Pc4Population]:
    """Inhabitants, 65+ and 75+ per PC4; an empty cell is unknown."""
    path = directory / PC4_POPULATION
    try:
        text = read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GeodataError(f"{path.name}: not UTF-8 ({exc.reason})") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = ("pc4", "inwoners", "inwoners_65plus", "inwoners_75plus")
    missing = [c for c in columns if c not in (reader.fieldnames or ())]
    if missing:
        raise GeodataError(f"{path.name}: missing column(s) {', '.join(missing)}")
    rows: dict[str, Pc4Population] = {}
    for row in reader:
        line = reader.line_num
        code = (row["pc4"] or "").strip()
        where = f"{path.name}: line {line} (pc4 {code or '?'})"
        if not _PC4.match(code):
            raise GeodataError(f"{where}: 'pc4' is {code!r}, expected four digits")
        if code in rows:
            raise GeodataError(f"{where}: duplicate pc4")
        values: list[int | None] = []
        for column in columns[1:]:
            cell = (row[column] or "").strip()
            if cell and not cell.isdigit():
                raise GeodataError(f"{where}: {column!r} is {cell!r}, expected a count")
            values.append(int(cell) if cell else None)
        rows[code] = Pc4Population(code, *values)
    return rows


def read_woonplaatsen(directory: Path, gemeente_codes: set[str]) -> list[Place]:
    """Woonplaats points with their gemeente and PC4 list."""
    rows = []
    for f in _features(directory / WOONPLAATSEN, "naam"):
        pc4 = f.props.get("pc4")
        if not isinstance(pc4, list) or not all(isinstance(c, str) and _PC4.match(c)
                                               for c in pc4):
            raise f.error(f"'pc4' is {pc4!r}, expected a list of four-digit codes")
        rows.append(Place(f.text("naam"), _gemeente(f, gemeente_codes),
                          f.geometry(("Point",)), pc4_codes=tuple(pc4)))
    return rows


def read_geonames(directory: Path, gemeente_codes: set[str]) -> list[Place]:
    """GeoNames populated places with their gemeente, geonameid and population."""
    rows = []
    for f in _features(directory / GEONAMES, "naam", "geonameid"):
        geonameid = f.count("geonameid")
        if geonameid is None:
            raise f.error("missing 'geonameid'")
        fcode = f.props.get("fcode")
        rows.append(Place(f.text("naam"), _gemeente(f, gemeente_codes),
                          f.geometry(("Point",)), geonameid=geonameid,
                          population=f.count("population"),
                          fcode=fcode if isinstance(fcode, str) else None))
    return rows


def _gemeente(f: _Feature, gemeente_codes: set[str]) -> str:
    code = f.text("gemeentecode", _GEMEENTE_CODE)
    if code not in gemeente_codes:
        raise f.error(f"gemeentecode {code!r} is not in {GEMEENTEN}")
    return code
