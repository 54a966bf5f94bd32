"""Checking one HSDS row against the table's fields: types, required, enums, formats. Pure.

What passes here also passes the official JSON Schemas and the Tabular Data Package, so that
whatever an import keeps can be exported again as valid HSDS.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from .spec import BY_NAME, Field

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?"
                   r"(Z|[+-][0-9]{2}:?[0-9]{2})?$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def valid_format(fmt: str | None, value: str) -> bool:
    """Whether a string has the format (uuid, email, uri) a field asks for."""
    if fmt == "uuid":
        try:
            uuid.UUID(value)
        except ValueError:
            return False
        return bool(re.fullmatch(r"[0-9a-fA-F-]{36}", value))
    if fmt == "email":
        return bool(_EMAIL.match(value))
    if fmt == "uri":
        return bool(_URI.match(value))
    return True


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?[0-9]+", text):
            return int(text)
        try:
            number = float(text)
        except ValueError:
            return None
        return number if number == number and abs(number) != float("inf") else None
    return None


def _value(f: Field, value: Any) -> tuple[Any, str | None]:
    """The value in the field's type (numbers coerced from text and back), or a problem."""
    if isinstance(value, dict | list):
        return None, "expected a single value"
    if f.type == "number":
        number = _number(value)
        return (number, None) if number is not None else (None, f"not a number: {value!r}")
    if isinstance(value, bool):
        return None, f"expected text, got {value!r}"
    text = str(value) if isinstance(value, int | float) else value
    if f.type == "date":
        try:
            if not _DATE.match(text):
                raise ValueError(text)
            date.fromisoformat(text)
        except ValueError:
            return None, f"not a date YYYY-MM-DD: {text!r}"
    elif f.type == "datetime":
        try:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None, f"not a date and time (ISO 8601): {text!r}"
    elif f.type == "time" and not _TIME.match(text):
        return None, f"not a time HH:MM:SS: {text!r}"
    if f.enum and text not in f.enum:
        return None, f"{text!r} is not one of {', '.join(f.enum)}"
    if not valid_format(f.format, text):
        return None, f"not a valid {f.format}: {text!r}"
    if f.format == "uuid":
        text = str(uuid.UUID(text))
    return text, None


def check_row(table: str, raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[str], set[str]]:
    """The row with typed values, its problems ('field: why') and the unknown field names."""
    spec = BY_NAME[table]
    row: dict[str, Any] = {}
    problems: list[str] = []
    for f in spec.fields:
        value = raw.get(f.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if f.required:
                problems.append(f"{f.name}: required")
            continue
        typed, problem = _value(f, value)
        if problem:
            problems.append(f"{f.name}: {problem}")
        else:
            row[f.name] = typed
    return row, problems, set(raw) - set(spec.names)
