"""The site's maps: page data -> mapview.MapSpec -> the pieces a template embeds."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlencode

from flask import url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from .. import mapview, settings
from ..api import mapdata
from ..config import DATA_ATTRIBUTION
from .filters import distance, kind_label, opening


def tile_url(configured: str | None) -> str | None:
    """The tile URL, or None for a map without tiles ('', 'none' or 'off')."""
    if not configured or configured.strip().lower() in ("none", "off"):
        return None
    return configured


def texts(label: str) -> mapview.MapTexts:
    """The map's words in the page's language."""
    return mapview.MapTexts(
        map_label=label, origin=_("Zoekpunt"), more=_("Meer over dit initiatief"),
        cluster=_("initiatieven"), close=_("Sluiten"), zoom_in=_("Inzoomen"),
        zoom_out=_("Uitzoomen"), initiative=_("initiatief"), zoom_in_cluster=_("inzoomen"),
        too_many=_("Zoom in om te zien wat bij deze filters past."))


def outlines(rows: Iterable[dict[str, Any]], focus: str | None = None) -> list[mapview.Outline]:
    """Outline rows of the page service; the kern `focus` is drawn as the searched area."""
    out = []
    for row in rows:
        kind = "focus" if row["code"] == focus else row["kind"]
        out.append(mapview.Outline(kind=kind, geometry=row["geometry"], label=row["name"],
                                   point=(row["lat"], row["lon"]) if row["lon"] else None))
    return out


def marker_lines(props: dict[str, Any]) -> list[str]:
    """The lines under a marker's name in its popup."""
    first = " · ".join(p for p in (kind_label(props["kind"]), distance(props.get("distance_m")))
                       if p)
    return [first, opening(props)]


def hit_collection(hits: Sequence[dict[str, Any]], first_number: int) -> dict[str, Any]:
    """The hits of a page as the slim FeatureCollection the markers are drawn from."""
    slim = [{**hit, "properties": {**hit["properties"],
                                   "lines": marker_lines(hit["properties"])}} for hit in hits]
    return mapview.hit_features(slim, first_number, detail_url())


# What places or pages the list (and print); the map is placed by its own view instead.
NOT_FOR_MAP = (*mapdata.NOT_FOR_MAP, "print")


def live_url(args: MultiDict[str, str]) -> str:
    """The map data endpoint with the search's filters, for the rest of what matches in view."""
    pairs = [(k, v) for k, v in args.items(multi=True) if k not in NOT_FOR_MAP]
    return url_for("api.map_data") + (f"?{urlencode(pairs)}" if pairs else "")


def detail_url() -> str:
    """The detail page's URL with '{id}' where the service id goes."""
    return url_for("pages.initiative", ident="{id}").replace("%7Bid%7D", "{id}")


def render(label: str, *, rows: Iterable[dict[str, Any]] = (), focus: str | None = None,
           origin: mapview.Origin | None = None, radius_m: int | None = None,
           hits: dict[str, Any] | None = None, hits_url: str | None = None,
           numbered: bool = True,
           extra_bounds: Sequence[tuple[float, float]] = ()) -> mapview.MapEmbed:
    """Build and render one map with the app's tiles, attribution and assets."""
    config = settings.current()
    spec = mapview.MapSpec(
        assets_url=url_for("static", filename="").rstrip("/"),
        tiles=mapview.Tiles(tile_url(config.tile_url), config.tile_attribution),
        data_attribution=DATA_ATTRIBUTION, texts=texts(label),
        outlines=outlines(rows, focus), origin=origin, radius_m=radius_m, hits=hits,
        hits_url=hits_url, numbered=numbered, detail_url=detail_url(), extra_bounds=extra_bounds)
    return mapview.embed(mapview.build_map(spec))
