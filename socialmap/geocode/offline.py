"""The default resolver: kern and woonplaats names, PC4 areas and points, from the database."""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..errors import NotFound
from ..names import name_key
from ..queries import places
from ..queries.places import Executor
from .errors import AmbiguousPlace, PlaceNotFound
from .parse import NameQuery, PointQuery, PostcodeQuery, Query
from .place import KernRef, Place, exact_keys

_GEMEENTE_CODE = re.compile(r"GM[0-9]{4}", re.IGNORECASE)


class OfflineGeocoder:
    """Resolves parsed `near` queries against the loaded reference geography."""

    def resolve(self, ex: Executor, query: Query) -> Place:
        """The place a parsed query stands for; raise AmbiguousPlace or PlaceNotFound."""
        if isinstance(query, PostcodeQuery):
            return resolve_postcode(ex, query)
        if isinstance(query, PointQuery):
            return resolve_point(ex, query)
        return resolve_name(ex, query)


def kern_ref(row: Any) -> KernRef | None:
    """A KernRef from a row with code, name, gemeente_code and gemeente_name (code may be null)."""
    if row is None or row.code is None:
        return None
    return KernRef(row.code, row.name, row.gemeente_code, row.gemeente_name)


def kern_place(ex: Executor, code: str, field: str = "kern") -> Place:
    """The place of a kern given by its code; raise NotFound for an unknown code."""
    row = places.kern_by_code(ex, code)
    kern = kern_ref(row)
    if kern is None:
        raise NotFound(f"no kern with code '{code}'", field)
    return Place.at("kern", kern.label, row.x, row.y, kern)


def resolve_postcode(ex: Executor, query: PostcodeQuery) -> Place:
    """A postcode's PC4 centroid, with the kern that covers it."""
    row = places.pc4_with_kern(ex, query.pc4)
    if row is None:
        raise PlaceNotFound(f"postcode area {query.pc4} is not known", [])
    kern = kern_ref(row)
    label = f"{query.pc4} {kern.label}" if kern else query.pc4
    return Place.at("pc4", label, row.x, row.y, kern, pc4=query.pc4)


def resolve_point(ex: Executor, query: PointQuery) -> Place:
    """A coordinate pair as itself, with the kern that covers it (if any)."""
    kern = kern_ref(places.kern_at(ex, query.x, query.y))
    coords = (f"{query.lat:.5f}, {query.lon:.5f}" if query.crs == "wgs84"
              else f"RD {query.x:.0f}, {query.y:.0f}")
    label = f"{coords} in {kern.label}" if kern else coords
    return Place.at("point", label, query.x, query.y, kern, lonlat=(query.lon, query.lat))


def match_gemeenten(rows: Sequence[Any], text: str) -> list[Any]:
    """Gemeenten named by `text`: a CBS code, the name's key, or its first words
    ('Stein' finds 'Stein (L.)'; 'Bergen' finds both Bergens)."""
    text = text.strip()
    if _GEMEENTE_CODE.fullmatch(text):
        return [r for r in rows if r.code == text.upper()]
    key = name_key(text)
    exact = [r for r in rows if name_key(r.name) == key]
    return exact or [r for r in rows if name_key(r.name).startswith(f"{key} ")]


def suggestions(ex: Executor, key: str, gemeente_codes: Sequence[str] | None) -> list[dict]:
    """Up to five kernen with a similar name, those in the given gemeenten first."""
    return [KernRef(*row).to_dict() for row in places.kern_suggestions(ex, key, gemeente_codes)]


def _best(rows: Sequence[Any]) -> list[Any]:
    """The rows of the best tier; exact matches once per gemeente ('Bergen' and 'Bergen (NH)'
    in one gemeente are one village named twice), the most populous kept."""
    best = [r for r in rows if r.tier == rows[0].tier]
    if rows[0].tier != 0:
        return best
    seen: set[str] = set()
    unique = []
    for row in best:
        if row.gemeente_code not in seen:
            seen.add(row.gemeente_code)
            unique.append(row)
    return unique


def resolve_name(ex: Executor, query: NameQuery) -> Place:
    """A kern by name: exact key, then word prefix, prefix, contains; within a gemeente if given."""
    codes: list[str] | None = None
    if query.gemeente:
        matched = match_gemeenten(places.gemeenten(ex), query.gemeente)
        if not matched:
            raise PlaceNotFound(f"there is no gemeente called '{query.gemeente}'",
                                suggestions(ex, query.key, None))
        codes = [g.code for g in matched]
    rows = places.kern_candidates(ex, query.key, exact_keys(query.key), codes)
    if rows:
        best = _best(rows)
        if len(best) == 1:
            kern = kern_ref(best[0])
            assert kern is not None
            return Place.at("kern", kern.label, best[0].x, best[0].y, kern)
        choices = [r.to_dict() for r in map(kern_ref, best) if r is not None]
        count = rows[0].tier_count - (len([r for r in rows if r.tier == rows[0].tier]) - len(best))
        raise AmbiguousPlace(
            f"'{query.name}' matches {count} kernen; choose one, or add the gemeente after a "
            f"comma, as in '{choices[0]['near']}'", choices)
    if codes is None:
        gemeente = match_gemeenten(places.gemeenten(ex), query.name)
        if gemeente:
            largest = places.largest_kernen(ex, [g.code for g in gemeente])
            raise PlaceNotFound(f"'{query.name}' is a gemeente; choose one of its kernen",
                                [KernRef(*row).to_dict() for row in largest])
    where = f" in gemeente '{query.gemeente}'" if query.gemeente else ""
    raise PlaceNotFound(f"there is no kern or woonplaats called '{query.name}'{where}",
                        suggestions(ex, query.key, codes))
