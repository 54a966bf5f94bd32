"""Pure folium helpers: outlines, search point, radius and result features -> folium.Map.

No database and no Flask request in here. Every script and stylesheet the map needs is
served by the app itself (`assets_url`), never from folium's default CDN. The page's own
results (a screenful at most) are inlined as numbered pins drawn by /static/map.js; whatever
else matches the search in the view comes from the map data API (`hits_url`, /api/v1/map with
the search's filters) through /static/js/livemap.js, so the page never carries a large data set.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from html import escape
from math import cos, radians
from typing import Any, Literal

import folium
from branca.element import CssLink, JavascriptLink, MacroElement
from folium.features import DivIcon
from folium.template import Template

Bounds = tuple[tuple[float, float], tuple[float, float]]
OutlineKind = Literal["focus", "kern", "gemeente"]

NL_CENTER = (52.2, 5.3)
# Markers are clustered from this many on; below it every result keeps its own numbered pin.
CLUSTER_FROM = 30
# The searched kern: a thick solid line; other kernen: a thin solid line; gemeenten: dashed.
# The legend under each map says so in words, so that no line is told apart by colour alone.
OUTLINE_STYLES: dict[OutlineKind, dict[str, Any]] = {
    "focus": {"color": "#0b5394", "weight": 4, "fillColor": "#0b5394", "fillOpacity": 0.08},
    "kern": {"color": "#5c6b7a", "weight": 1.5, "fill": False},
    "gemeente": {"color": "#3b3b3b", "weight": 2.5, "dashArray": "8 6", "fill": False},
}


@dataclass(frozen=True)
class Tiles:
    """A raster tile source; an empty url draws the map without tiles (outlines only)."""

    url: str | None
    attribution: str


@dataclass(frozen=True)
class Outline:
    """A kern or gemeente area as a GeoJSON geometry in WGS84, with a point for its name."""

    kind: OutlineKind
    geometry: dict[str, Any]
    label: str
    point: tuple[float, float] | None = None


@dataclass(frozen=True)
class Origin:
    """The search point."""

    lat: float
    lon: float
    label: str


@dataclass(frozen=True)
class MapTexts:
    """The words the map speaks, already in the page's language."""

    map_label: str
    origin: str
    more: str
    cluster: str
    close: str
    zoom_in: str
    zoom_out: str
    initiative: str = "initiatief"
    zoom_in_cluster: str = "inzoomen"
    too_many: str = "Zoom in om te zien wat bij deze filters past."


@dataclass(frozen=True)
class MapSpec:
    """Everything one map shows."""

    assets_url: str
    tiles: Tiles
    data_attribution: str
    texts: MapTexts
    outlines: Sequence[Outline] = ()
    origin: Origin | None = None
    radius_m: int | None = None
    hits: dict[str, Any] | None = None
    # The map data endpoint with the search's filters (/api/v1/map?category=...): the map
    # fetches what else matches in its view, skipping the inlined `hits`.
    hits_url: str | None = None
    numbered: bool = True
    detail_url: str = "/initiatief/{id}"
    zoom_controls: bool = True
    max_zoom: int = 18
    extra_bounds: Sequence[tuple[float, float]] = field(default_factory=tuple)


@dataclass(frozen=True)
class MapEmbed:
    """The pieces of a rendered map to put into a page: asset tags, a div and a script."""

    assets: str
    html: str
    script: str


def _js(value: Any, separators: tuple[str, str] = (",", ":")) -> str:
    """JSON that is safe inside a <script> element."""
    return (json.dumps(value, ensure_ascii=False, separators=separators)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


class Accessible(MacroElement):
    """Names the map for assistive technology, adds the data attribution and a metric scale,
    and bounds the zoom (a map without tiles has no tile layer to take it from)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        SocialMap.prepare({{ this._parent.get_name() }}, {{ this.options }});
        {% endmacro %}
    """)

    def __init__(self, texts: MapTexts, attribution: str, tiles: bool, max_zoom: int) -> None:
        super().__init__()
        self._name = "Accessible"
        self.options = _js({"label": texts.map_label, "attribution": attribution,
                            "tiles": tiles, "close": texts.close, "zoomIn": texts.zoom_in,
                            "zoomOut": texts.zoom_out, "maxZoom": max_zoom})


class HitLayer(MacroElement):
    """Result markers drawn by map.js: numbered pins, clustered when many, popups with links."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        SocialMap.addHits({{ this._parent.get_name() }}, {{ this.source }}, {{ this.options }});
        {% endmacro %}
    """)

    def __init__(self, assets_url: str, source: dict[str, Any], options: dict[str, Any]) -> None:
        super().__init__()
        self._name = "HitLayer"
        self.source = _js(source)
        self.options = _js(options)
        self.assets_url = assets_url

    def render(self, **kwargs: Any) -> None:
        header = self.get_root().header
        for name, path in (("markercluster_css", "vendor/markercluster/MarkerCluster.css"),
                           ("markercluster_default_css",
                            "vendor/markercluster/MarkerCluster.Default.css")):
            header.add_child(CssLink(f"{self.assets_url}/{path}"), name=name)
        header.add_child(JavascriptLink(
            f"{self.assets_url}/vendor/markercluster/leaflet.markercluster.js"),
            name="markercluster")
        super().render(**kwargs)


class LiveLayer(MacroElement):
    """Everything else the search's filters match in the view: clusters or points from the
    map data API, drawn by livemap.js and fetched again as the map moves."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        SocialMap.live({{ this._parent.get_name() }}, {{ this.options }});
        {% endmacro %}
    """)

    def __init__(self, assets_url: str, options: dict[str, Any]) -> None:
        super().__init__()
        self._name = "LiveLayer"
        self.options = _js(options)
        self.assets_url = assets_url

    def render(self, **kwargs: Any) -> None:
        self.get_root().header.add_child(
            JavascriptLink(f"{self.assets_url}/js/livemap.js"), name="livemap")
        super().render(**kwargs)


def _positions(coords: Any) -> Iterator[tuple[float, float]]:
    """Every (lon, lat) pair in nested GeoJSON coordinates."""
    if coords and isinstance(coords[0], int | float):
        yield float(coords[0]), float(coords[1])
        return
    for part in coords or ():
        yield from _positions(part)


def _geometry_points(geometry: dict[str, Any] | None) -> Iterator[tuple[float, float]]:
    if not geometry:
        return
    if geometry.get("type") == "GeometryCollection":
        for g in geometry.get("geometries", ()):
            yield from _geometry_points(g)
        return
    yield from _positions(geometry.get("coordinates"))


def _circle_points(origin: Origin, radius_m: int) -> list[tuple[float, float]]:
    dlat = radius_m / 111_320
    dlon = radius_m / (111_320 * max(cos(radians(origin.lat)), 0.01))
    return [(origin.lon - dlon, origin.lat - dlat), (origin.lon + dlon, origin.lat + dlat)]


def bounds_of(spec: MapSpec) -> Bounds | None:
    """South-west and north-east corners (lat, lon) of all that the map should show at once."""
    points: list[tuple[float, float]] = []
    for outline in spec.outlines:
        if outline.kind == "focus":
            points.extend(_geometry_points(outline.geometry))
    if spec.origin is not None:
        points.append((spec.origin.lon, spec.origin.lat))
        if spec.radius_m:
            points.extend(_circle_points(spec.origin, spec.radius_m))
    for feature in (spec.hits or {}).get("features", ()):
        points.extend(_geometry_points(feature.get("geometry")))
    points.extend((lon, lat) for lat, lon in spec.extra_bounds)
    if not points:
        for outline in spec.outlines:
            points.extend(_geometry_points(outline.geometry))
    if not points:
        return None
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    return (min(lats), min(lons)), (max(lats), max(lons))


class OutlineLayer(MacroElement):
    """A kern or gemeente outline: a Leaflet GeoJSON layer in its fixed style, drawn under
    everything else and never clicked.

    The same layer folium.GeoJson draws, without what an outline does not use (a style
    function per feature, highlight, popups, per-feature handlers): folium built and rendered
    all that for each of the dozens of outlines on a map, most of a map's Python time.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.data }}, {{ this.options }});
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, outline: Outline) -> None:
        super().__init__()
        self._name = "GeoJson"
        self.data = _outline_data(outline)
        self.options = _js({"style": OUTLINE_STYLES[outline.kind], "interactive": False,
                            "smoothFactor": 1.5})


# The outlines' JSON by (geometry object, kind, label). The geometries come from the process's
# cache of outlines (services/outlines.py), the same objects for every page around them, and
# writing their coordinates out was a third of a map's time. An entry holds its geometry, so
# the id in its key cannot pass to another object while it is kept; a full memo is emptied.
_OUTLINE_DATA: dict[tuple[int, str, str], tuple[dict[str, Any], str]] = {}
OUTLINE_DATA_MAX = 8192


def _outline_data(outline: Outline) -> str:
    key = (id(outline.geometry), outline.kind, outline.label)
    kept = _OUTLINE_DATA.get(key)
    if kept is not None and kept[0] is outline.geometry:
        return kept[1]
    # Spaced as folium wrote it (and as pages are searched for '"kind": "focus"').
    data = _js({"type": "Feature", "geometry": outline.geometry,
                "properties": {"kind": outline.kind, "label": outline.label}},
               separators=(", ", ": "))
    if len(_OUTLINE_DATA) >= OUTLINE_DATA_MAX:
        _OUTLINE_DATA.clear()
    _OUTLINE_DATA[key] = (outline.geometry, data)
    return data


def build_map(spec: MapSpec) -> folium.Map:
    """A folium.Map with outlines, search point, radius circle and result markers."""
    bounds = bounds_of(spec)
    center = spec.origin and (spec.origin.lat, spec.origin.lon) or NL_CENTER
    m = folium.Map(location=center, zoom_start=13 if spec.origin else 7, tiles=None,
                   max_zoom=spec.max_zoom, control_scale=False, prefer_canvas=False,
                   zoom_control=spec.zoom_controls, font_size="1rem")
    # Serve Leaflet from the app; folium's jQuery, Bootstrap and icon fonts are not needed.
    m.default_js = [("leaflet", f"{spec.assets_url}/vendor/leaflet/leaflet.js"),
                    ("socialmap_map", f"{spec.assets_url}/map.js")]
    m.default_css = [("leaflet_css", f"{spec.assets_url}/vendor/leaflet/leaflet.css")]
    if spec.tiles.url:
        folium.TileLayer(tiles=spec.tiles.url, attr=spec.tiles.attribution,
                         max_zoom=spec.max_zoom, name="tiles").add_to(m)
    m.add_child(Accessible(spec.texts, spec.data_attribution, bool(spec.tiles.url),
                           spec.max_zoom))
    order: list[OutlineKind] = ["gemeente", "kern", "focus"]
    for outline in sorted(spec.outlines, key=lambda o: order.index(o.kind)):
        m.add_child(OutlineLayer(outline))
    if not spec.tiles.url:
        # Without a background map, name the kernen so that the outlines can be read.
        for outline in spec.outlines:
            if outline.kind != "gemeente" and outline.point is not None:
                folium.Marker(outline.point, icon=DivIcon(
                    html=f'<span aria-hidden="true">{escape(outline.label)}</span>',
                    class_name=f"area-label area-label-{outline.kind}", icon_size=(160, 20),
                    icon_anchor=(80, -16)), keyboard=False, interactive=False,
                    z_index_offset=-2000).add_to(m)
    if spec.origin is not None:
        if spec.radius_m:
            folium.Circle((spec.origin.lat, spec.origin.lon), radius=spec.radius_m,
                          color="#0b5394", weight=2, dash_array="2 6", fill=False).add_to(m)
        folium.Marker(
            (spec.origin.lat, spec.origin.lon),
            icon=DivIcon(html='<span aria-hidden="true">&#9733;</span>', class_name="origin-pin",
                         icon_size=(28, 28), icon_anchor=(14, 14)),
            title=f"{spec.texts.origin}: {spec.origin.label}", keyboard=False,
            interactive=False, z_index_offset=-1000,
        ).add_to(m)
    if spec.hits is not None:
        m.add_child(HitLayer(spec.assets_url, {"data": spec.hits}, {
            "numbered": spec.numbered, "clusterFrom": CLUSTER_FROM,
            "more": spec.texts.more, "cluster": spec.texts.cluster,
            "detailUrl": spec.detail_url,
        }))
    if spec.hits_url:
        t = spec.texts
        m.add_child(LiveLayer(spec.assets_url, {
            "url": spec.hits_url, "detailUrl": spec.detail_url,
            "skip": [f["id"] for f in (spec.hits or {}).get("features", ()) if f.get("id")],
            "texts": {"initiatives": t.cluster, "initiative": t.initiative,
                      "zoomIn": t.zoom_in_cluster, "more": t.more, "tooMany": t.too_many},
        }))
    if bounds is not None:
        m.fit_bounds([list(bounds[0]), list(bounds[1])], padding=(16, 16), max_zoom=16)
    return m


def embed(m: folium.Map) -> MapEmbed:
    """Render the map into the three pieces a page template places."""
    root = m.get_root()
    root.render()
    assets = "\n".join(child.render() for child in root.header._children.values()
                       if isinstance(child, JavascriptLink | CssLink))
    return MapEmbed(assets=assets, html=root.html.render(), script=root.script.render())


def hit_features(hits: Iterable[dict[str, Any]], first_number: int,
                 detail_url: str) -> dict[str, Any]:
    """A slim FeatureCollection for the markers: number, name, label lines and detail link.

    `detail_url` holds '{id}' where the service id goes.
    """
    features = []
    for number, hit in enumerate(hits, start=first_number):
        if not hit.get("geometry"):
            continue
        props = hit["properties"]
        features.append({
            "type": "Feature", "id": hit.get("id"), "geometry": hit["geometry"],
            "properties": {"n": number, "name": props["name"],
                           "lines": [line for line in props.get("lines", ()) if line],
                           "url": detail_url.replace("{id}", props["service_id"])},
        })
    return {"type": "FeatureCollection", "features": features}
