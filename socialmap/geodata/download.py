"""Download the geography from the official sources and convert it to the loader's file layout.

CBS/Kadaster layers come from PDOK's OGC API Features as GeoJSON (WGS84); GeoNames comes as its
text dumps. What the official sources publish differs from `../shared/geodata` in vintage and in
some fields (see data/README.md); the conversions here are the simple ones: renaming fields,
grouping, and assigning points to the gemeente polygon that contains them.
"""
from __future__ import annotations

import csv
import io
import json
import os
import urllib.request
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.error import URLError

import shapely
from shapely.geometry import mapping, shape

from . import sources

PDOK = "https://api.pdok.nl/cbs"
GEONAMES = "https://download.geonames.org/export"
PROVINCIE_YEAR = 2022
MAX_PAGES = 100
TIMEOUT_S = 120
USER_AGENT = "socialmap geodata download"
# A GeoNames point this close to a gemeente (degrees, ~5 km) but outside every one (a coast,
# a border) still belongs to it.
NEAREST_GEMEENTE_DEG = 0.07


@dataclass(frozen=True)
class Source:
    """One official download: where it is, under what name a mirror serves it, its licence."""

    key: str
    title: str
    url: str
    filename: str
    licence: str

    def address(self, base_url: str | None) -> str:
        """The official URL, or the file's name under a mirror (or test server) base URL."""
        return f"{base_url.rstrip('/')}/{self.filename}" if base_url else self.url


SOURCES = (
    Source("gemeenten", "CBS Wijk- en Buurtkaart 2024: gemeenten (PDOK)",
           f"{PDOK}/wijken-en-buurten-2024/ogc/v1/collections/gemeenten/items?f=json&limit=1000",
           "gemeenten.json", "CC BY 4.0, Bron: CBS, Kadaster"),
    Source("provincies", "CBS Gebiedsindelingen: provincies, generalised (PDOK)",
           f"{PDOK}/gebiedsindelingen/ogc/v1/collections/provincie_gegeneraliseerd/items"
           "?f=json&limit=1000", "provincies.json", "CC BY 4.0, Bron: CBS, Kadaster"),
    Source("postcode4", "CBS statistics per 4-digit postcode (PDOK)",
           f"{PDOK}/postcode4/ogc/v1/collections/postcode4/items?f=json&limit=1000",
           "postcode4.json", "CC BY 4.0, Bron: CBS"),
    Source("places", "GeoNames populated places with 500+ inhabitants (cities500)",
           f"{GEONAMES}/dump/cities500.zip", "cities500.zip", "CC BY 4.0, GeoNames.org"),
    Source("postcodes", "GeoNames postal codes of the Netherlands (PC4 with place name)",
           f"{GEONAMES}/zip/NL.zip", "NL.zip", "CC BY 4.0, GeoNames.org"),
)


class DownloadError(Exception):
    """A source could not be fetched or did not have the expected shape."""


def describe_sources(base_url: str | None = None) -> list[str]:
    """Lines naming every source with its address and licence, for the download offer."""
    lines = []
    for s in SOURCES:
        lines += [f"  - {s.title} ({s.licence})", f"    {s.address(base_url)}"]
    return lines


def is_complete(directory: Path) -> bool:
    """True when `directory` holds every file the loader reads."""
    return all((directory / name).is_file() for name in sources.FILES)


def download(target: Path, base_url: str | None = None,
             echo: Callable[[str], None] = print) -> Path:
    """Fetch every source, convert, and write the loader's files into `target` (all or none)."""
    fetched: dict[str, Any] = {}
    for s in SOURCES:
        echo(f"  fetching {s.title} ...")
        url = s.address(base_url)
        fetched[s.key] = (_features(url, s) if s.url.startswith(PDOK) else _zip_text(url, s))
    provincies = convert_provincies(fetched["provincies"])
    gemeenten = convert_gemeenten(fetched["gemeenten"], provincies)
    pc4_areas, population = convert_postcode4(fetched["postcode4"])
    outputs = {
        sources.PROVINCIES: _geojson(provincies),
        sources.GEMEENTEN: _geojson(gemeenten),
        sources.PC4_AREAS: _geojson(pc4_areas),
        sources.PC4_POPULATION: population,
        sources.WOONPLAATSEN: _geojson(convert_woonplaatsen(
            fetched["postcodes"], gemeenten, population)),
        sources.GEONAMES: _geojson(convert_places(fetched["places"], gemeenten)),
    }
    target.mkdir(parents=True, exist_ok=True)
    for name, content in outputs.items():
        tmp = target / f".{name}.part"
        tmp.write_text(content, encoding="utf-8")
        os.replace(tmp, target / name)
    echo(f"  wrote {len(outputs)} files to {target}")
    return target


def _get(url: str, source: Source) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return response.read()
    except (URLError, OSError) as exc:
        raise DownloadError(f"{source.title}: cannot fetch {url}: {exc}") from None


def _features(url: str, source: Source) -> list[dict[str, Any]]:
    """All features of an OGC API Features collection, following its 'next' links."""
    features: list[dict[str, Any]] = []
    next_url: str | None = url
    for _ in range(MAX_PAGES):
        if next_url is None:
            return features
        try:
            page = json.loads(_get(next_url, source))
        except json.JSONDecodeError as exc:
            raise DownloadError(f"{source.title}: {next_url} is not JSON: {exc}") from None
        if not isinstance(page, dict) or not isinstance(page.get("features"), list):
            raise DownloadError(f"{source.title}: {next_url} is not a GeoJSON FeatureCollection")
        features += page["features"]
        next_url = next((link.get("href") for link in page.get("links", [])
                         if isinstance(link, dict) and link.get("rel") == "next"), None)
    raise DownloadError(f"{source.title}: more than {MAX_PAGES} pages at {url}")


def _zip_text(url: str, source: Source) -> list[list[str]]:
    """The tab-separated rows of the .txt member of a GeoNames zip."""
    try:
        with zipfile.ZipFile(io.BytesIO(_get(url, source))) as archive:
            member = next(n for n in archive.namelist() if n.endswith(".txt")
                          and not n.lower().startswith("readme"))
            text = archive.read(member).decode("utf-8")
    except (zipfile.BadZipFile, StopIteration, UnicodeDecodeError) as exc:
        raise DownloadError(f"{source.title}: {url} is not a GeoNames zip: {exc!r}") from None
    return [line.split("\t") for line in text.splitlines() if line.strip()]


def _prop(feature: dict[str, Any], key: str, source: str, index: int) -> Any:
    value = (feature.get("properties") or {}).get(key)
    if value is None:
        raise DownloadError(f"{source}: feature {index} has no {key!r}; the source's fields "
                            "have changed, see data/README.md")
    return value


def _count(value: Any) -> int | None:
    if value is None or value == "":
        return None
    number = float(value)
    # CBS marks suppressed or missing figures with large negative numbers (-99995 ... -99997).
    return None if number < 0 else int(number)


def _feature(geometry: Any, properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": mapping(geometry)}


def _geojson(features: Iterable[dict[str, Any]]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)},
                      ensure_ascii=False)


def convert_provincies(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """PDOK provincie features (statcode, statnaam, jaarcode) -> provincies_2022 layout."""
    out = []
    for i, f in enumerate(raw):
        year = (f.get("properties") or {}).get("jaarcode")
        if year is not None and int(year) != PROVINCIE_YEAR:
            continue
        out.append(_feature(shape(f["geometry"]), {
            "provinciecode": _prop(f, "statcode", "provincies", i),
            "provincienaam": _prop(f, "statnaam", "provincies", i),
            "inwoners_2021": None,
        }))
    if not out:
        raise DownloadError(f"provincies: no features for {PROVINCIE_YEAR}")
    return out


def convert_gemeenten(raw: list[dict[str, Any]],
                      provincies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """PDOK wijk- en buurtkaart gemeenten -> gemeenten_2024 layout, with the provincie added.

    Land and water parts of one gemeente are merged; the provincie is the one that contains a
    point on the gemeente's surface.
    """
    parts: dict[str, list[Any]] = defaultdict(list)
    props: dict[str, dict[str, Any]] = {}
    for i, f in enumerate(raw):
        code = _prop(f, "gemeentecode", "gemeenten", i)
        parts[code].append(shape(f["geometry"]))
        if f["properties"].get("water") != "JA" or code not in props:
            props[code] = {
                "gemeentecode": code,
                "gemeentenaam": _prop(f, "gemeentenaam", "gemeenten", i),
                "aantal_inwoners": _count(f["properties"].get("aantal_inwoners")),
                "65plus": _count(f["properties"].get("percentage_personen_65_jaar_en_ouder")),
            }
    shapes = [shape(p["geometry"]) for p in provincies]
    tree = shapely.STRtree(shapes)
    out = []
    for code in sorted(parts):
        area = shapely.make_valid(shapely.union_all(parts[code]))
        hits = tree.query(area.point_on_surface(), predicate="within")
        if len(hits) == 0:
            raise DownloadError(f"gemeenten: {code} lies in no provincie")
        provincie = provincies[int(hits[0])]["properties"]
        out.append(_feature(area, {**props[code],
                                   "provinciecode": provincie["provinciecode"],
                                   "provincienaam": provincie["provincienaam"]}))
    return out


def convert_postcode4(raw: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    """PDOK postcode4 features -> the pc4 area layer and the population CSV (75+ unknown)."""
    areas = []
    lines = io.StringIO()
    writer = csv.writer(lines, lineterminator="\n")
    writer.writerow(["pc4", "inwoners", "inwoners_65plus", "inwoners_75plus"])
    for i, f in enumerate(sorted(raw, key=lambda f: str((f.get("properties") or {})
                                                        .get("postcode", "")))):
        value = _prop(f, "postcode", "postcode4", i)
        code = str(int(value)) if isinstance(value, int | float) else str(value).strip()
        if not code.isdigit():
            raise DownloadError(f"postcode4: feature {i} has postcode {code!r}")
        inhabitants = _count(f["properties"].get("aantal_inwoners"))
        if f.get("geometry"):
            areas.append(_feature(shape(f["geometry"]),
                                  {"postcode": int(code), "inwoners": inhabitants}))
        writer.writerow([code, _blank(inhabitants),
                         _blank(_count(f["properties"].get("aantal_inwoners_65_jaar_en_ouder"))),
                         ""])
    return areas, lines.getvalue()


def _blank(value: int | None) -> str:
    return "" if value is None else str(value)


class _Gemeenten:
    """Point-in-polygon lookup of gemeente code and name, with a short reach past the edge."""

    def __init__(self, gemeenten: list[dict[str, Any]]) -> None:
        self.props = [g["properties"] for g in gemeenten]
        self.tree = shapely.STRtree([shape(g["geometry"]) for g in gemeenten])

    def find(self, lon: float, lat: float) -> dict[str, Any] | None:
        point = shapely.Point(lon, lat)
        hits = self.tree.query(point, predicate="intersects")
        if len(hits) == 0:
            hits = self.tree.query_nearest(point, max_distance=NEAREST_GEMEENTE_DEG)
        return self.props[int(min(hits))] if len(hits) else None


def convert_places(rows: list[list[str]], gemeenten: list[dict[str, Any]]) -> \
        list[dict[str, Any]]:
    """GeoNames cities500 rows -> populated places in the Netherlands with their gemeente."""
    lookup = _Gemeenten(gemeenten)
    out = []
    for row in rows:
        if len(row) < 19 or row[8] != "NL" or row[6] != "P":
            continue
        lon, lat = float(row[5]), float(row[4])
        gemeente = lookup.find(lon, lat)
        if gemeente is None:
            continue
        out.append(_feature(shapely.Point(lon, lat), {
            "geonameid": int(row[0]), "naam": row[1], "fcode": row[7],
            "population": int(row[14] or 0), "geonames_admin2": row[11],
            "gemeentecode": gemeente["gemeentecode"], "gemeentenaam": gemeente["gemeentenaam"],
            "moddate": row[18],
        }))
    return out


def convert_woonplaatsen(rows: list[list[str]], gemeenten: list[dict[str, Any]],
                         population_csv: str) -> list[dict[str, Any]]:
    """GeoNames postal code rows -> woonplaats points per gemeente.

    A woonplaats is a place name within one gemeente; its point is the population-weighted
    centre of its PC4 centroids (plain mean when none has inhabitants).
    """
    population = {r["pc4"]: int(r["inwoners"] or 0)
                  for r in csv.DictReader(io.StringIO(population_csv))}
    lookup = _Gemeenten(gemeenten)
    groups: dict[tuple[str, str], list[tuple[str, float, float]]] = defaultdict(list)
    names: dict[str, str] = {}
    for row in rows:
        if len(row) < 11 or row[0] != "NL":
            continue
        pc4, place, lat, lon = row[1].strip()[:4], row[2].strip(), float(row[9]), float(row[10])
        gemeente = lookup.find(lon, lat)
        if gemeente is None or not place:
            continue
        names[gemeente["gemeentecode"]] = gemeente["gemeentenaam"]
        groups[(gemeente["gemeentecode"], place)].append((pc4, lon, lat))
    out = []
    for (code, place), members in sorted(groups.items()):
        weights = [population.get(pc4, 0) for pc4, _, _ in members]
        if sum(weights) == 0:
            weights = [1] * len(members)
        total = sum(weights)
        lon = sum(w * m[1] for w, m in zip(weights, members, strict=True)) / total
        lat = sum(w * m[2] for w, m in zip(weights, members, strict=True)) / total
        pc4s = sorted({pc4 for pc4, _, _ in members})
        out.append(_feature(shapely.Point(round(lon, 5), round(lat, 5)), {
            "naam": place, "pc4": pc4s,
            "inwoners_pc4_2021": sum(population.get(p, 0) for p in pc4s),
            "gemeentecode": code, "gemeentenaam": names[code],
        }))
    return out
