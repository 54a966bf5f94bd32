"""foliumfast: the same map HTML with and without it; plain text rendered as Jinja would."""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import branca.element
import branca.utilities
import jinja2
import pytest
import xyzservices

from socialmap import foliumfast, mapview

SQUARE = {"type": "Polygon", "coordinates": [[[5.78, 50.95], [5.80, 50.95], [5.80, 50.97],
                                              [5.78, 50.97], [5.78, 50.95]]]}


@pytest.fixture
def uninstalled() -> Iterator[None]:
    """branca and xyzservices as they come; whatever the test installs is undone after it."""
    template, camelify = branca.element.Template, branca.element._camelify
    branca.element.Template = jinja2.Template  # type: ignore[misc]
    branca.element._camelify = branca.utilities._camelify
    xyzservices.providers.__dict__.pop("query_name", None)
    yield
    branca.element.Template = template  # type: ignore[misc]
    branca.element._camelify = camelify
    xyzservices.providers.__dict__.pop("query_name", None)


@pytest.mark.parametrize("source", [
    "", "\n", "a", "a\n", "a\n\n", "a\r\nb\rc\n", "\n  var x = {\"a\": [1, 2]};\n  }\n",
    "50% {x} #y { #z }", "<div id=\"m\">\r\n</div>\r\n",
])
def test_plain_text_renders_as_jinja(source: str) -> None:
    made = foliumfast.template(source)
    assert isinstance(made, foliumfast.PlainText)
    assert made.render(this=object(), kwargs={}) == jinja2.Template(source).render(
        this=object(), kwargs={})


def test_markup_is_compiled_once() -> None:
    source = "{{ this }} and {# a comment #}{% if 1 %}x{% endif %}"
    made = foliumfast.template(source)
    assert isinstance(made, jinja2.Template)
    assert made.render(this="it") == "it and x"
    assert foliumfast.template(source) is made


@pytest.mark.parametrize("name", [
    "OpenStreetMap Mapnik", "cartodbpositron", "CartoDB.Positron",
    "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "no such provider",
])
def test_query_name_as_xyzservices(name: str, uninstalled: None) -> None:
    try:
        want: Any = xyzservices.providers.query_name(name)
    except ValueError as e:
        with pytest.raises(ValueError, match="No matching provider"):
            foliumfast.query_name(name)
        assert str(e)
        return
    assert foliumfast.query_name(name) is want


def _spec(tiles: mapview.Tiles) -> mapview.MapSpec:
    return mapview.MapSpec(
        assets_url="/static", tiles=tiles, data_attribution="Bron: CBS",
        texts=mapview.MapTexts("Kaart", "Zoekpunt", "Meer", "initiatieven", "Sluiten", "In",
                               "Uit"),
        outlines=[mapview.Outline("focus", SQUARE, "Meers", (50.96, 5.79)),
                  mapview.Outline("kern", SQUARE, "Elsloo", (50.95, 5.78)),
                  mapview.Outline("gemeente", SQUARE, "Stein")],
        origin=mapview.Origin(50.96, 5.79, "Meers"), radius_m=3000,
        hits=mapview.hit_features([
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [5.79, 50.96]},
             "properties": {"service_id": "abc", "name": "A </script><b>", "lines": ["x"]}}],
            1, "/initiatief/{id}"),
        hits_url="/api/v1/map?category=vervoer")


def _rendered(spec: mapview.MapSpec, monkeypatch: pytest.MonkeyPatch) -> mapview.MapEmbed:
    ids = itertools.count()
    monkeypatch.setattr(branca.element.Element, "_generate_id",
                        classmethod(lambda cls: f"{next(ids):032x}"))
    return mapview.embed(mapview.build_map(spec))


@pytest.mark.parametrize("tiles", [
    mapview.Tiles(None, ""),
    mapview.Tiles("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "© OpenStreetMap"),
])
def test_map_html_is_the_same(tiles: mapview.Tiles, uninstalled: None,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    before = _rendered(_spec(tiles), monkeypatch)
    foliumfast.install()
    after = _rendered(_spec(tiles), monkeypatch)
    assert after == before
    assert before.script.count("L.geoJson(") == 3
