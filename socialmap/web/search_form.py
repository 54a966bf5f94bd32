"""The search form's state: read from the query string with the API's own parser, and URLs
that change one thing (a page, a place, print) while keeping the rest of the search."""
from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlencode

from flask import url_for
from werkzeug.datastructures import MultiDict

from ..api.params import Params, parse
from ..api.search import read_search
from ..errors import InvalidInput
from ..services.search import SearchRequest

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
RADII = (1_000, 2_000, 5_000, 10_000, 25_000)
SITE_PARAMS = ("print",)


@dataclass(frozen=True)
class SearchForm:
    """What the person asked for, as the query string says it."""

    args: MultiDict[str, str]
    request: SearchRequest | None
    printing: bool = False

    @property
    def searched(self) -> bool:
        """Whether there is a place to search from (otherwise the page shows only the form)."""
        return self.request is not None

    def value(self, name: str) -> str:
        """The raw text of a field, for refilling the form."""
        return self.args.get(name, "")

    def chosen(self, name: str) -> set[str]:
        """The codes ticked in a multi-valued field ('category', 'audience')."""
        return {part.strip() for raw in self.args.getlist(name) for part in raw.split(",")
                if part.strip()}

    def url(self, endpoint: str = "pages.home", drop: tuple[str, ...] = (),
            **values: str | int | None) -> str:
        """This search's URL with some values changed (None removes them) or dropped."""
        pairs = [(k, v) for k, v in self.args.items(multi=True)
                 if k not in values and k not in drop and k != "offset"]
        pairs += [(k, str(v)) for k, v in values.items() if v is not None and k != "offset"]
        offset = values.get("offset")
        if offset:
            pairs.append(("offset", str(offset)))
        query = urlencode(pairs)
        base = url_for(endpoint)
        return f"{base}?{query}" if query else base

    def place_url(self, near: str) -> str:
        """The same search from another place (a suggestion or a choice)."""
        return self.url(near=near, drop=("kern", "offset"))

    def page_url(self, offset: int) -> str:
        return self.url(offset=offset or None, drop=("print",))


def _read(p: Params) -> tuple[SearchRequest, bool]:
    req = read_search(p)
    return req, p.bool("print")


def read_form(args: MultiDict[str, str]) -> SearchForm:
    """Parse the query string strictly (unknown or malformed values are InvalidInput)."""
    req, printing = parse(args, _read)
    if "limit" not in args:
        req = replace(req, limit=PAGE_SIZE)
    elif req.limit > MAX_PAGE_SIZE:
        raise InvalidInput(f"'limit' must be between 1 and {MAX_PAGE_SIZE}", "limit")
    if req.near is None and req.kern is None:
        if any(k not in SITE_PARAMS for k in args):
            raise InvalidInput("give 'near' (a place, postcode or coordinates) or 'kern'",
                               "near")
        return SearchForm(args, None, printing)
    return SearchForm(args, req, printing)


def empty_form(args: MultiDict[str, str]) -> SearchForm:
    """The form refilled from the query string without interpreting it (after an error)."""
    return SearchForm(args, None, False)
