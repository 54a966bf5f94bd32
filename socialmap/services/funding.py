"""Funding of an initiative (HSDS funding: its source, and when it ends) as editors edit it."""
from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from ..models import Funding
from ..queries import funding as q
from .submissions import FieldError, FieldErrors, clean_text

FIELDS: tuple[str, ...] = ("funding_source", "funding_ends_on")
SOURCE_MAX = 200
_DMY = re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})")


def parse_date(text: str) -> date:
    """'2027-03-31' (as a date field sends it) or '31-03-2027'; ValueError otherwise."""
    m = _DMY.fullmatch(text)
    if m:
        return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    return date.fromisoformat(text)


def check(form: Mapping[str, Any]) -> tuple[str | None, date | None]:
    """The form's funding source and end date; FieldErrors naming the field when wrong."""
    source = clean_text(form.get("funding_source")) or None
    raw = clean_text(form.get("funding_ends_on"))
    errors: dict[str, FieldError] = {}
    if source and len(source) > SOURCE_MAX:
        errors["funding_source"] = FieldError("too_long", {"max": SOURCE_MAX})
    ends_on = None
    if raw:
        try:
            ends_on = parse_date(raw)
        except ValueError:
            errors["funding_ends_on"] = FieldError("date")
        if ends_on is not None and not 2000 <= ends_on.year <= 2100:
            errors["funding_ends_on"] = FieldError("date")
    if ends_on is not None and not source and "funding_source" not in errors:
        errors["funding_source"] = FieldError("funding_source")
    if errors:
        raise FieldErrors(errors)
    return source, ends_on


def form_values(s: Session, service_id: uuid.UUID) -> dict[str, str]:
    """The edit form's funding fields: the row that ends first."""
    rows = q.of_service(s.connection(), service_id)
    if not rows:
        return {"funding_source": "", "funding_ends_on": ""}
    first = rows[0]
    return {"funding_source": first.source,
            "funding_ends_on": first.ends_on.isoformat() if first.ends_on else ""}


def save(s: Session, service_id: uuid.UUID, source: str | None, ends_on: date | None) -> None:
    """Write the form's funding into the row it showed: change, add, or (both empty) remove."""
    row = q.first_entity(s, service_id)
    if source is None:
        if row is not None:
            s.delete(row)
        return
    if row is None:
        s.add(Funding(service_id=service_id, source=source, ends_on=ends_on))
        return
    if (row.source, row.ends_on) != (source, ends_on):
        row.source, row.ends_on = source, ends_on
