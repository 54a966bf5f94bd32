"""Pure folium helper for the gap page: kern areas by status -> folium.Map.

No database and no Flask request in here; the page passes the features in. A status is never
told by colour alone: each has its own fill pattern (hatched, dotted, plain), its own outline
(thick, dashed, thin) and a symbol at the kern point, and the page repeats all three in a
legend in words. The patterns are SVG <pattern> elements that the page carries once
(`PATTERN_DEFS`); Leaflet's SVG renderer fills the areas with them by url(#id).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Literal

import folium
from folium.features import DivIcon

from . import mapview

Status = Literal["gap", "thin", "covered"]

NL_CENTER = (52.2, 5.3)
# Symbols and names at the kern points, and thick outlines, up to this many kernen (a
# gemeente); beyond it they would hide the map, which then tells status by pattern and outline.
DETAIL_UP_TO = 60

SYMBOLS: dict[Status, str] = {"gap": "\u2715", "thin": "!", "covered": "\u2713"}
PATTERN_IDS: dict[Status, str] = {
    "gap": "gap-pattern-gap", "thin": "gap-pattern-thin", "covered": "gap-pattern-covered",
}
STYLES: dict[Status, dict[str, Any]] = {
    "gap": {"fillColor": f"url(#{PATTERN_IDS['gap']})", "fillOpacity": 0.85,
            "color": "#8e0152", "weight": 3},
    "thin": {"fillColor": f"url(#{PATTERN_IDS['thin']})", "fillOpacity": 0.85,
             "color": "#a6611a", "weight": 2, "dashArray": "7 5"},
    "covered": {"fillColor": f"url(#{PATTERN_IDS['covered']})", "fillOpacity": 0.55,
                "color": "#276419", "weight": 1},
}

# Hatched (gap), dotted (thin), plain (covered); colour-blind safe magenta, ochre and green.
PATTERN_DEFS = f"""<svg class="gap-patterns" width="0" height="0" aria-hidden="true"
 focusable="false"><defs>
<pattern id="{PATTERN_IDS['gap']}" width="10" height="10" patternUnits="userSpaceOnUse"
 patternTransform="rotate(45)"><rect width="10" height="10" fill="#f7d4e8"/>
<rect width="4" height="10" fill="#8e0152"/></pattern>
<pattern id="{PATTERN_IDS['thin']}" width="10" height="10" patternUnits="userSpaceOnUse">
<rect width="10" height="10" fill="#fbe8c8"/><circle cx="5" cy="5" r="2.4" fill="#a6611a"/>
</pattern>
<pattern id="{PATTERN_IDS['covered']}" width="10" height="10" patternUnits="userSpaceOnUse">
<rect width="10" height="10" fill="#a6d96a"/></pattern>
</defs></svg>"""


@dataclass(frozen=True)
class GapFeature:
    """One kern: its area (GeoJSON, WGS84), point (lat, lon), status and words for it."""

    code: str
    name: str
    status: Status
    label: str
    geometry: dict[str, Any]
    point: tuple[float, float]


@dataclass(frozen=True)
class RiskFeature:
    """A fragile kern for the at-risk layer: its point, how many initiatives are at risk, and
    the reasons in words."""

    code: str
    name: str
    point: tuple[float, float]
    count: int
    label: str


@dataclass(frozen=True)
class GapMapSpec:
    assets_url: str
    tiles: mapview.Tiles
    data_attribution: str
    texts: mapview.MapTexts
    features: Sequence[GapFeature]
    max_zoom: int = 18
    at_risk: Sequence[RiskFeature] = ()


def _positions(coords: Any) -> Iterator[tuple[float, float]]:
    if coords and isinstance(coords[0], int | float):
        yield float(coords[0]), float(coords[1])
        return
    for part in coords or ():
        yield from _positions(part)


def bounds_of(features: Sequence[GapFeature]) -> list[list[float]] | None:
    """[[south, west], [north, east]] of all areas."""
    points = [p for f in features for p in _positions(f.geometry.get("coordinates"))]
    if not points:
        return None
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


def _style(status: Status, many: bool) -> dict[str, Any]:
    """The status style; with many small areas the outlines are thinner, the order the same."""
    style = STYLES[status]
    if not many:
        return style
    return {**style, "weight": style["weight"] / 3,
            **({"dashArray": "3 2"} if "dashArray" in style else {})}


def _areas(features: Sequence[GapFeature]) -> folium.GeoJson:
    many = not detailed(features)
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": f.geometry,
         "properties": {"status": f.status, "name": f.name, "label": f.label}}
        for f in features]}
    return folium.GeoJson(
        collection, name="kernen",
        style_function=lambda feature: _style(feature["properties"]["status"], many),
        highlight_function=lambda _f: {"weight": 4},
        tooltip=folium.GeoJsonTooltip(fields=["name", "label"], labels=False, sticky=True),
        smooth_factor=1.0,
    )


def detailed(features: Sequence[GapFeature]) -> bool:
    """Whether the map carries symbols and names at the kern points."""
    return len(features) <= DETAIL_UP_TO


def _symbol(feature: GapFeature) -> folium.Marker:
    name = f'<span class="gap-symbol-name">{escape(feature.name)}</span>'
    html = (f'<span class="gap-symbol gap-symbol-{feature.status}" aria-hidden="true">'
            f"{SYMBOLS[feature.status]}</span>{name}")
    return folium.Marker(
        feature.point,
        icon=DivIcon(html=html, class_name="gap-marker", icon_size=(22, 22),
                     icon_anchor=(11, 11)),
        keyboard=False, interactive=False)


RISK_SYMBOL = "\u26a0"
RISK_LAYER = "Kwetsbaar: initiatieven op de tocht"


def _risk_marker(feature: RiskFeature) -> folium.Marker:
    # Above the status symbol, so that both stay readable at the same kern point.
    html = (f'<span class="risk-badge"><span aria-hidden="true">{RISK_SYMBOL}</span> '
            f"{feature.count}</span>")
    return folium.Marker(
        feature.point,
        icon=DivIcon(html=html, class_name="risk-marker", icon_size=(44, 22),
                     icon_anchor=(22, 34)),
        tooltip=f"{escape(feature.name)}: {escape(feature.label)}", keyboard=False)


def risk_layer(features: Sequence[RiskFeature]) -> folium.FeatureGroup:
    """The at-risk layer: a warning badge with the count at each fragile kern's point."""
    group = folium.FeatureGroup(name=RISK_LAYER, show=True)
    for feature in features:
        _risk_marker(feature).add_to(group)
    return group


def build_map(spec: GapMapSpec) -> folium.Map:
    """A folium.Map with the kern areas styled by status and a symbol at each kern point."""
    m = folium.Map(location=NL_CENTER, zoom_start=7, tiles=None, max_zoom=spec.max_zoom,
                   control_scale=False, prefer_canvas=False, font_size="1rem", zoom_snap=0.25)
    # Leaflet and map.js from the app; folium's CDN scripts are not needed.
    m.default_js = [("leaflet", f"{spec.assets_url}/vendor/leaflet/leaflet.js"),
                    ("socialmap_map", f"{spec.assets_url}/map.js")]
    m.default_css = [("leaflet_css", f"{spec.assets_url}/vendor/leaflet/leaflet.css")]
    if spec.tiles.url:
        folium.TileLayer(tiles=spec.tiles.url, attr=spec.tiles.attribution,
                         max_zoom=spec.max_zoom, name="tiles").add_to(m)
    m.add_child(mapview.Accessible(spec.texts, spec.data_attribution, bool(spec.tiles.url),
                                   spec.max_zoom))
    if spec.features:
        _areas(spec.features).add_to(m)
    if detailed(spec.features):
        for feature in spec.features:
            _symbol(feature).add_to(m)
    if spec.at_risk:
        risk_layer(spec.at_risk).add_to(m)
        folium.LayerControl(collapsed=False, position="topright").add_to(m)
    bounds = bounds_of(spec.features)
    if bounds is not None:
        m.fit_bounds(bounds, padding=(12, 12))
    return m


def render(spec: GapMapSpec) -> mapview.MapEmbed:
    """Build the map and render it into the pieces the page template places."""
    return mapview.embed(build_map(spec))
