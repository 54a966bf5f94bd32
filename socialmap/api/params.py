"""Strict query-string parsing: unknown names, wrong types and out-of-range values are 400s
that name the field."""
from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import time
from typing import Any, TypeVar

from werkzeug.datastructures import MultiDict

from ..errors import InvalidInput

T = TypeVar("T")

# C0 control characters other than tab; PostgreSQL text cannot even hold NUL.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _check_text(name: str, value: str) -> str:
    if _CONTROL.search(value):
        raise InvalidInput(f"'{name}' contains control characters", name)
    return value

WEEKDAYS = {"ma": 1, "di": 2, "wo": 3, "do": 4, "vr": 5, "za": 6, "zo": 7,
            "mo": 1, "tu": 2, "we": 3, "th": 4, "fr": 5, "sa": 6, "su": 7}


class Params:
    """Reads typed values from a MultiDict and remembers which names were read.

    An empty value counts as left out, as an HTML form sends an empty field; with
    `strict_empty` (endpoints no form sends to) it is a 400 naming the field unless the
    parameter is free text, for which the empty string is a valid value."""

    def __init__(self, args: MultiDict[str, str] | Mapping[str, str],
                 strict_empty: bool = False) -> None:
        self.args = args if isinstance(args, MultiDict) else MultiDict(args)
        self.known: set[str] = set()
        self.strict_empty = strict_empty

    def _raw(self, name: str, empty_ok: bool = False) -> str | None:
        self.known.add(name)
        values = self.args.getlist(name)
        if len(values) > 1:
            raise InvalidInput(f"'{name}' may be given once", name)
        if not values:
            return None
        value = _check_text(name, values[0]).strip()
        if not value and self.strict_empty and not empty_ok:
            raise InvalidInput(f"'{name}' is empty: give a value or leave it out", name)
        return value or None

    def str(self, name: str, default: str | None = None, max_length: int = 200,
            empty_ok: bool = True) -> str | None:
        """Text; `empty_ok=False` for text with a pattern or format, which '' does not meet."""
        value = self._raw(name, empty_ok)
        if value is None:
            return default
        if len(value) > max_length:
            raise InvalidInput(f"'{name}' is longer than {max_length} characters", name)
        return value

    def int(self, name: str, default: int | None = None, *, minimum: int | None = None,
            maximum: int | None = None) -> int | None:
        value = self._raw(name)
        if value is None:
            return default
        if not re.fullmatch(r"[+-]?\d{1,12}", value):
            raise InvalidInput(f"'{name}' must be a whole number", name)
        number = int(value)
        if minimum is not None and number < minimum or maximum is not None and number > maximum:
            raise InvalidInput(f"'{name}' must be between {minimum} and {maximum}", name)
        return number

    def bool(self, name: str, default: bool = False) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in {"1", "true", "yes", "ja", "on"}:
            return True
        if lowered in {"0", "false", "no", "nee", "off"}:
            return False
        raise InvalidInput(f"'{name}' must be true or false", name)

    def choice(self, name: str, choices: Iterable[str], default: str | None = None) -> str | None:
        value = self._raw(name)
        if value is None:
            return default
        allowed = list(choices)
        if value not in allowed:
            raise InvalidInput(f"'{name}' must be one of: {', '.join(allowed)}", name)
        return value

    def list(self, name: str, item: Callable[[str], T] = builtins.str) -> tuple[T, ...]:  # type: ignore[assignment]
        """Comma-separated and/or repeated values."""
        self.known.add(name)
        out: list[T] = []
        for raw in self.args.getlist(name):
            for part in _check_text(name, raw).split(","):
                part = part.strip()
                if part:
                    try:
                        out.append(item(part))
                    except ValueError as exc:
                        raise InvalidInput(f"'{name}': {exc}", name) from exc
        return tuple(out)

    def weekday_time(self, name: str) -> tuple[int, time] | None:
        """'wo 14:00' or '3 14:00' or 'wed 14:00' -> (3, 14:00)."""
        value = self._raw(name)
        if value is None:
            return None
        m = re.fullmatch(r"([a-zA-Z]{2,3}|[1-7])[ T,]+(\d{1,2}):(\d{2})", value)
        day = None
        if m:
            word = m.group(1).lower()
            day = int(word) if word.isdigit() else WEEKDAYS.get(word[:2])
        if not m or day is None or int(m.group(2)) > 23 or int(m.group(3)) > 59:
            raise InvalidInput(f"'{name}' must look like 'wo 14:00' (weekday and time)", name)
        return day, time(int(m.group(2)), int(m.group(3)))

    def reject_unknown(self, extra_allowed: Iterable[str] = ()) -> None:
        allowed = self.known | set(extra_allowed)
        for name in self.args:
            if name not in allowed:
                raise InvalidInput(f"unknown parameter '{name}'", name)


def parse(args: MultiDict[str, str], reader: Callable[[Params], Any],
          strict_empty: bool = False) -> Any:
    """Run `reader` over the arguments, then reject names it did not read."""
    p = Params(args, strict_empty)
    result = reader(p)
    p.reject_unknown()
    return result
