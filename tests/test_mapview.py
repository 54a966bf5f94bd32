"""mapview: an outline's JSON is kept per geometry object, never served for another one."""
from __future__ import annotations

import copy
import itertools

import branca.element
import pytest

from socialmap import mapview

SQUARE = {"type": "Polygon", "coordinates": [[[5.78, 50.95], [5.80, 50.95], [5.80, 50.97],
                                              [5.78, 50.97], [5.78, 50.95]]]}
TEXTS = mapview.MapTexts("Kaart", "Zoekpunt", "Meer", "initiatieven", "Sluiten", "In", "Uit")


def _rendered(outlines: list[mapview.Outline],
              monkeypatch: pytest.MonkeyPatch) -> mapview.MapEmbed:
    ids = itertools.count()
    monkeypatch.setattr(branca.element.Element, "_generate_id",
                        classmethod(lambda cls: f"{next(ids):032x}"))
    spec = mapview.MapSpec(assets_url="/static", tiles=mapview.Tiles(None, ""),
                           data_attribution="CBS", texts=TEXTS, outlines=outlines)
    return mapview.embed(mapview.build_map(spec))


def test_kept_outline_json_is_what_writing_it_out_gives(
        monkeypatch: pytest.MonkeyPatch) -> None:
    outlines = [mapview.Outline("focus", SQUARE, "Meers", (50.96, 5.79)),
                mapview.Outline("kern", SQUARE, "Elsloo", (50.95, 5.78))]
    monkeypatch.setattr(mapview, "_OUTLINE_DATA", {})
    fresh = _rendered(outlines, monkeypatch)
    assert len(mapview._OUTLINE_DATA) == 2
    assert _rendered(outlines, monkeypatch) == fresh
    assert '"kind": "focus", "label": "Meers"' in fresh.script


def test_another_geometry_is_written_out_anew(monkeypatch: pytest.MonkeyPatch) -> None:
    """A geometry of the same kind and name (after a geography reload, say) is another object:
    its own coordinates are written, not those kept for the first."""
    monkeypatch.setattr(mapview, "_OUTLINE_DATA", {})
    _rendered([mapview.Outline("kern", SQUARE, "Meers")], monkeypatch)
    moved = copy.deepcopy(SQUARE)
    moved["coordinates"][0][0] = [5.70, 50.90]
    script = _rendered([mapview.Outline("kern", moved, "Meers")], monkeypatch).script
    assert "5.7, 50.9" in script and "5.78, 50.95], [5.8" not in script


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mapview, "_OUTLINE_DATA", {})
    monkeypatch.setattr(mapview, "OUTLINE_DATA_MAX", 3)
    shapes = [copy.deepcopy(SQUARE) for _ in range(5)]
    for shape in shapes:
        _rendered([mapview.Outline("kern", shape, "Meers")], monkeypatch)
    assert len(mapview._OUTLINE_DATA) <= 3
