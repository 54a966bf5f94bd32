"""Full addresses through the PDOK Locatieserver (v3.1 'free' endpoint), on top of the offline
resolver: coordinates, PC4 postcodes and kern names never leave the machine."""
from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from ..geo import in_rd_extent, to_rd
from ..queries import places
from ..queries.places import Executor
from .errors import GeocoderUnavailable, PlaceNotFound
from .offline import OfflineGeocoder, kern_ref
from .parse import PointQuery, PostcodeQuery, Query
from .place import Place

log = logging.getLogger(__name__)

Fetch = Callable[[str, float], bytes]

TIMEOUT_S = 2.0
TYPES = "type:(adres OR postcode OR weg)"
FIELDS = ("id,type,weergavenaam,centroide_ll,centroide_rd,postcode,woonplaatsnaam,"
          "gemeentecode,gemeentenaam,score")
_POINT = re.compile(r"POINT\(\s*(-?[0-9.]+)\s+(-?[0-9.]+)\s*\)")
# Solr query syntax characters; an address never needs them.
_SOLR_SPECIAL = re.compile(r'[+\-&|!(){}\[\]^"~*?:\\/]')
_UNAVAILABLE = ("the address search (PDOK Locatieserver) is not available right now; "
                "try a place name or a postcode")


def fetch_url(url: str, timeout: float) -> bytes:
    """GET `url` and return the body; raises OSError (URLError, HTTPError, timeout) on failure."""
    request = urllib.request.Request(url, headers={"Accept": "application/json",
                                                   "User-Agent": "socialmap geocoder"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


class PdokGeocoder:
    """Postcodes with letters and texts with a house number go to PDOK; the rest offline."""

    def __init__(self, base_url: str, *, timeout: float = TIMEOUT_S,
                 fetch: Fetch = fetch_url) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.fetch = fetch
        self.offline = OfflineGeocoder()

    def resolve(self, ex: Executor, query: Query) -> Place:
        """The place a parsed query stands for; raise GeocoderUnavailable if PDOK fails."""
        if isinstance(query, PointQuery):
            return self.offline.resolve(ex, query)
        if isinstance(query, PostcodeQuery):
            return self._postcode(ex, query)
        if any(c.isdigit() for c in query.name):
            place = self._address(ex, query.text)
            if place is None:
                raise PlaceNotFound(f"no address found for '{query.text}'", [])
            return place
        try:
            return self.offline.resolve(ex, query)
        except PlaceNotFound as not_found:
            # A street or other name that is no kern; the offline suggestions stand if PDOK
            # cannot help, or is down (a 404 with suggestions serves better than a 503 here).
            try:
                place = self._address(ex, query.text)
            except GeocoderUnavailable:
                log.warning("PDOK unavailable; answering %r offline", query.text)
                place = None
            if place is None:
                raise not_found from None
            return place

    def _postcode(self, ex: Executor, query: PostcodeQuery) -> Place:
        """A full postcode (PC6) at its own centroid if PDOK knows it, else its PC4."""
        if query.letters:
            try:
                place = self._address(ex, f"{query.pc4}{query.letters}")
            except GeocoderUnavailable:
                log.warning("PDOK unavailable; %s resolved to its PC4", query.postcode)
                place = None
            if place is not None:
                return place
        return self.offline.resolve(ex, query)

    def search(self, text: str) -> dict[str, Any] | None:
        """The best Locatieserver document for `text`, or None when nothing matches."""
        q = " ".join(_SOLR_SPECIAL.sub(" ", text).split())
        params = {"q": q, "rows": 1, "fq": TYPES, "fl": FIELDS}
        url = f"{self.base_url}/free?{urlencode(params)}"
        try:
            body = json.loads(self.fetch(url, self.timeout))
            found = body["response"]["numFound"]
            docs = body["response"]["docs"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("PDOK Locatieserver failed for %r: %s", text, exc)
            raise GeocoderUnavailable(_UNAVAILABLE, "near") from exc
        if not found or not docs:
            return None
        return docs[0]

    def _address(self, ex: Executor, text: str) -> Place | None:
        """An address-level place from PDOK's best match, with the kern that covers it."""
        doc = self.search(text)
        if doc is None:
            return None
        try:
            x, y, lonlat = _coordinates(doc)
            label = str(doc["weergavenaam"])
        except (KeyError, ValueError) as exc:
            log.warning("PDOK document without usable coordinates: %s", doc)
            raise GeocoderUnavailable(_UNAVAILABLE, "near") from exc
        kern = kern_ref(places.kern_at(ex, x, y))
        postcode = str(doc.get("postcode") or "")
        place = Place.at("address", label, x, y, kern, pc4=postcode[:4] or None, lonlat=lonlat)
        if kern is None and doc.get("gemeentecode"):
            # No kern covers the point (water, a border): keep PDOK's gemeente.
            place = replace(place, gemeente_code=f"GM{doc['gemeentecode']}",
                            gemeente_name=doc.get("gemeentenaam"))
        return place


def _coordinates(doc: dict[str, Any]) -> tuple[float, float, tuple[float, float] | None]:
    """RD x, y and WGS84 lon, lat of a document's centroid (RD computed if absent)."""
    ll = _POINT.fullmatch(str(doc.get("centroide_ll", "")).strip())
    rd = _POINT.fullmatch(str(doc.get("centroide_rd", "")).strip())
    lonlat = (float(ll.group(1)), float(ll.group(2))) if ll else None
    if rd:
        x, y = float(rd.group(1)), float(rd.group(2))
    elif lonlat:
        x, y = to_rd(*lonlat)
    else:
        raise ValueError("no centroid")
    if not in_rd_extent(x, y):
        raise ValueError("centroid outside the Netherlands")
    return x, y, lonlat

