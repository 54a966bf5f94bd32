"""Insert a row, or update only the columns that differ: the one upsert of the registry and
HSDS imports, which compare against what they read before (row by row, or in batches)."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Executable, Table, insert, update


@dataclass(frozen=True)
class Upsert:
    """The statement (None: nothing differs), its outcome and the values it changes."""

    statement: Executable | None
    outcome: Literal["created", "updated"] | None
    changed: dict[str, Any] = field(default_factory=dict)


def upsert(table: Table, key: uuid.UUID, values: Mapping[str, Any],
           stored: Mapping[str, Any] | None,
           insert_only: Mapping[str, Any] | None = None) -> Upsert:
    """Bring row `key` of `table` to `values`, given its `stored` values (None: no such row).
    `insert_only` values are written on insert and never compared or updated; a geometry
    (`geom`) cannot be compared here, so it is written whenever it is given."""
    if stored is None:
        row = {**values, **(insert_only or {})}
        return Upsert(insert(table).values(id=key, **row), "created", dict(values))
    diff = {k: v for k, v in values.items() if k != "geom" and stored[k] != v}
    if "geom" in values:
        diff["geom"] = values["geom"]
    if not diff:
        return Upsert(None, None)
    return Upsert(update(table).where(table.c.id == key).values(**diff), "updated", diff)
