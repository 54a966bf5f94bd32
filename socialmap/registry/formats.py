"""Reading and writing the exchange format as CSV or GeoJSON, in WGS84 or RD New. Pure."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .record import COORD_COLUMNS, PROPERTIES, Record

Format = Literal["csv", "geojson"]
WGS84, RD_NEW = 4326, 28992
# Decimals written per CRS: 1e-7 degree is about 1 cm, as is 0.01 m.
DECIMALS = {WGS84: 7, RD_NEW: 2}


class FileError(ValueError):
    """The file as a whole cannot be read (not a row of it)."""


@dataclass(frozen=True)
class RawRow:
    """One row as read, before validation; `where` names it for the report."""

    where: str
    raw: dict[str, Any]
    coords: tuple[Any, Any] | None
    typed: bool
    coord_names: tuple[str, str]
    error: str | None = None  # the row cannot even be read as fields


def format_of(path: Path, fmt: str | None = None) -> Format:
    """The format named, or else the one the file name ends with."""
    name = (fmt or path.suffix.lstrip(".")).lower()
    if name in ("csv",):
        return "csv"
    if name in ("geojson", "json"):
        return "geojson"
    raise FileError(f"{path.name}: unknown format (use .csv or .geojson, or --format)")


def read_rows(path: Path, crs: int | None = None) -> tuple[int, list[RawRow]]:
    """The CRS (EPSG code) of the file and its rows."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileError(f"{path}: cannot read: {exc}") from exc
    if format_of(path) == "csv":
        return read_csv(text, crs)
    return read_geojson(text, crs)


def read_csv(text: str, crs: int | None = None) -> tuple[int, list[RawRow]]:
    """Rows of a comma-separated file with a header line; coordinates as lon/lat or x/y."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise FileError("the CSV file is empty") from None
    except csv.Error as exc:
        raise FileError(f"line 1: {exc}") from exc
    if len(header) == 1 and ";" in header[0]:
        raise FileError("line 1: the file is separated by ';'; export it comma-separated")
    if len(set(header)) < len(header):
        raise FileError("line 1: a column name appears twice")
    for cols in COORD_COLUMNS.values():
        if len(set(cols) & set(header)) == 1:
            raise FileError(f"line 1: give both coordinate columns {cols[0]} and {cols[1]}")
    pairs = [srid for srid, cols in COORD_COLUMNS.items() if set(cols) <= set(header)]
    if len(pairs) > 1:
        raise FileError("line 1: give either lon/lat or x/y columns, not both")
    coord_cols = COORD_COLUMNS[pairs[0]] if pairs else None
    srid = crs or (pairs[0] if pairs else WGS84)
    rows: list[RawRow] = []
    line = reader.line_num
    while True:
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise FileError(f"line {start}: {exc}") from exc
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        where = f"line {start}"
        if len(cells) != len(header):
            rows.append(RawRow(where, {}, None, False, ("lon", "lat"),
                               f"{len(cells)} cells for {len(header)} columns"))
            continue
        raw = dict(zip(header, cells, strict=True))
        coords = None
        if coord_cols:
            coords = (raw.pop(coord_cols[0]), raw.pop(coord_cols[1]))
        rows.append(RawRow(where, raw, coords, False, coord_cols or ("lon", "lat")))
    return srid, rows


def _crs_member(doc: dict[str, Any]) -> int | None:
    crs = doc.get("crs")
    if crs is None:
        return None
    name = str((crs.get("properties") or {}).get("name", "")) if isinstance(crs, dict) else ""
    if name.endswith("28992"):
        return RD_NEW
    if name.endswith(("4326", "CRS84")):
        return WGS84
    raise FileError(f"crs: unsupported {name or crs!r} (use EPSG:28992, or none for WGS84)")


def read_geojson(text: str, crs: int | None = None) -> tuple[int, list[RawRow]]:
    """Rows of a FeatureCollection of Point features (or features without geometry)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileError(f"not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise FileError("not a GeoJSON FeatureCollection")
    features = doc.get("features")
    if not isinstance(features, list):
        raise FileError("features: expected an array")
    srid = crs or _crs_member(doc) or WGS84
    rows: list[RawRow] = []
    names = ("geometry", "geometry")
    for i, feature in enumerate(features):
        where = f"features[{i}]"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            rows.append(RawRow(where, {}, None, True, names, "not a Feature"))
            continue
        props = feature.get("properties") or {}
        geom = feature.get("geometry")
        if not isinstance(props, dict):
            rows.append(RawRow(where, {}, None, True, names, "properties is not an object"))
            continue
        coords = None
        if geom is not None:
            c = geom.get("coordinates") if isinstance(geom, dict) else None
            if not isinstance(geom, dict) or geom.get("type") != "Point":
                rows.append(RawRow(where, {}, None, True, names,
                                   "geometry: must be a Point or null"))
                continue
            if not isinstance(c, list) or len(c) not in (2, 3):
                rows.append(RawRow(where, {}, None, True, names,
                                   "geometry: a Point needs [x, y] coordinates"))
                continue
            coords = (c[0], c[1])
        rows.append(RawRow(where, dict(props), coords, True, names))
    return srid, rows


def _coord(value: float | None, srid: int) -> float | None:
    return None if value is None else round(value, DECIMALS[srid])


def write_csv(records: Iterable[Record], srid: int) -> str:
    """The records as CSV text, one row per initiative and location."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*PROPERTIES, *COORD_COLUMNS[srid]])
    for rec in records:
        props = rec.to_properties(typed=False)
        coords = ["" if v is None else f"{v:.{DECIMALS[srid]}f}" for v in (rec.x, rec.y)]
        writer.writerow([*props.values(), *coords])
    return out.getvalue()


def write_geojson(records: Iterable[Record], srid: int) -> str:
    """The records as a GeoJSON FeatureCollection; RD New carries a named crs member."""
    doc: dict[str, Any] = {"type": "FeatureCollection"}
    if srid == RD_NEW:
        doc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}}
    doc["features"] = [
        {"type": "Feature",
         "geometry": None if rec.x is None else {
             "type": "Point", "coordinates": [_coord(rec.x, srid), _coord(rec.y, srid)]},
         "properties": rec.to_properties(typed=True)}
        for rec in records
    ]
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def write_file(path: Path, records: list[Record], fmt: Format, srid: int) -> None:
    text = write_csv(records, srid) if fmt == "csv" else write_geojson(records, srid)
    path.write_text(text, encoding="utf-8")
