"""GET /api/v1/search.csv and /api/v1/search.geojson: any search result as a download, with
WGS84 and RD New coordinates, streamed page by page up to DOWNLOAD_CAP rows.

The parameters are those of /api/v1/search; `limit` defaults to everything (at most the cap)
instead of one page. A private location is at its kern point, as in every answer. The search
is resolved and its first page read in the view (so an error is an error answer); the rest is
read as the body is sent, over the request's session, handed to the stream.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson
from flask import request
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from .. import db, settings
from ..queries import ogc as ogc_q
from ..queries import search as q
from ..schedule import now_local
from ..services import search as svc
from . import bp
from .output import streamed_response
from .params import Params
from .search import read_search

DOWNLOAD_CAP = 10_000
CSV_COLUMNS = (
    "service_id", "location_id", "name", "kind", "kind_label", "status", "match", "distance_m",
    "address", "location_type", "precision", "kern_code", "kern_name", "gemeente_code",
    "gemeente_name", "categories", "audiences", "schedule", "opening", "assured_date",
    "is_demo", "lon", "lat", "x", "y",
)
# Cells a spreadsheet would run as a formula (OWASP CSV injection).
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _read(args: MultiDict[str, str]) -> tuple[svc.SearchRequest, int]:
    """The search parameters, with limit and offset for a download; the request's limit is
    how many rows in all."""
    rest = MultiDict([(k, v) for k, v in args.items(multi=True) if k not in ("limit", "offset")])
    p = Params(rest)
    req = read_search(p)
    p.reject_unknown()
    paging = Params(MultiDict([(k, v) for k, v in args.items(multi=True)
                               if k in ("limit", "offset")]))
    limit = paging.int("limit", DOWNLOAD_CAP, minimum=1, maximum=DOWNLOAD_CAP) or DOWNLOAD_CAP
    offset = paging.int("offset", 0, minimum=0, maximum=1_000_000) or 0
    return replace(req, offset=offset, limit=min(svc.MAX_LIMIT, limit)), limit


class _Download:
    """A search resolved once, then read a page at a time."""

    def __init__(self, s: Session, req: svc.SearchRequest, wanted: int) -> None:
        svc.check(req)
        cfg = settings.current()
        self.s, self.req, self.wanted = s, req, wanted
        self.now = now_local()
        self.place = svc.resolve_origin(s, req, cfg)
        self.mode, self.radius, self.kern = svc.choose_mode(req, self.place)
        self.filters = svc.build_filters(s, req, cfg, self.now)
        first = self._page(req.offset, min(req.limit, wanted))
        self.first, self.matched, self.more_than = first.rows, first.matched, first.more_than
        # Counts stop at the search's cap, so ask directly whether a hit lies beyond the last.
        self.truncated = bool(self._page(req.offset + wanted, 1).rows)

    def _page(self, offset: int, limit: int) -> q.Counted:
        query = q.SearchQuery(mode=self.mode, x=self.place.x, y=self.place.y,
                              radius=self.radius, kern_code=self.kern, limit=limit,
                              offset=offset, filters=self.filters)
        return q.run_search(self.s.connection(), query)

    def rows(self) -> Iterator[dict[str, Any]]:
        """Hits as features with x and y (RD New) added, page by page."""
        rows, offset, sent = self.first, self.req.offset, 0
        while rows:
            points = ogc_q.published_points(self.s.connection(),
                                            [r.location_id for r in rows if r.location_id])
            for row in rows:
                hit = svc.hit_feature(row, self.now)
                if row.location_type == "private":
                    hit["properties"]["precision"] = "kern"  # the point given is the kern's
                xy = points.get(row.location_id)
                hit["properties"]["x"], hit["properties"]["y"] = (
                    (round(xy[0], 2), round(xy[1], 2)) if xy else (None, None))
                yield hit
            sent += len(rows)
            offset += len(rows)
            if len(rows) < self.req.limit or sent >= self.wanted:
                return
            rows = self._page(offset, min(self.req.limit, self.wanted - sent)).rows

    def headers(self, name: str) -> dict[str, str]:
        out = {"Content-Disposition": f'attachment; filename="{name}"'}
        if self.matched is not None:
            out["X-Number-Matched"] = str(self.matched)
        elif self.more_than is not None:
            out["X-Number-Matched-More-Than"] = str(self.more_than)
        if self.truncated:
            out["X-Truncated"] = f"at {self.wanted} rows"
        return out

    def search(self) -> dict[str, Any]:
        return {"mode": self.mode, "radius_m": self.radius, "kern": self.kern,
                "origin": {"label": self.place.label, "kind": self.place.kind,
                           "coordinates": [self.place.lon, self.place.lat],
                           "kern": self.place.kern_code}}


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return "" if value is None else value


def csv_row(hit: dict[str, Any]) -> list[Any]:
    """One hit as CSV cells in CSV_COLUMNS order."""
    p = hit["properties"]
    lon, lat = hit["geometry"]["coordinates"] if hit["geometry"] else (None, None)
    values = {**p, "kern_code": (p["kern"] or {}).get("code"),
              "kern_name": (p["kern"] or {}).get("name"),
              "gemeente_code": (p["gemeente"] or {}).get("code"),
              "gemeente_name": (p["gemeente"] or {}).get("name"),
              "categories": ";".join(p["categories"]), "audiences": ";".join(p["audiences"]),
              "schedule": ";".join(p["schedule"]),
              "is_demo": "true" if p["is_demo"] else "false", "lon": lon, "lat": lat}
    return [_cell(values.get(c)) for c in CSV_COLUMNS]


def _name(ext: str) -> str:
    return f"socialmap-zoekresultaat-{datetime.now():%Y%m%d}.{ext}"


@bp.get("/search.csv")
def search_csv():  # noqa: ANN201
    req, wanted = _read(request.args)
    download = _Download(db.session(), req, wanted)

    def lines() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for hit in download.rows():
            writer.writerow(csv_row(hit))
            if out.tell() > 64_000:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    return streamed_response(lines(), "text/csv", download.headers(_name("csv")))


@bp.get("/search.geojson")
def search_geojson():  # noqa: ANN201
    req, wanted = _read(request.args)
    download = _Download(db.session(), req, wanted)

    def pieces() -> Iterator[bytes]:
        head: dict[str, Any] = {"type": "FeatureCollection"}
        if download.matched is not None:
            head["numberMatched"] = download.matched
        elif download.more_than is not None:
            head["numberMatchedMoreThan"] = download.more_than
        head["search"] = download.search()
        yield orjson.dumps(head)[:-1] + b',"features":['
        count = 0
        for hit in download.rows():
            yield (b"," if count else b"") + orjson.dumps(hit)
            count += 1
        yield b'],"numberReturned":' + str(count).encode() + b"}\n"

    return streamed_response(pieces(), "application/geo+json",
                             download.headers(_name("geojson")))
