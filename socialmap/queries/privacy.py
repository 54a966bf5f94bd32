"""Where a private location (a volunteer's home) may be shown: never at its exact point."""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, func

# Outside every kern (only possible outside the loaded geography) a private point is shown
# at the corner of its 1 km grid cell instead.
PRIVATE_GRID_M = 1000


def private_point(kern: Table | Any, location: Table | Any) -> ColumnElement[Any]:
    """The kern point of a private location, or its 1 km grid cell's corner point."""
    return func.coalesce(kern.c.point,
                         func.ST_SnapToGrid(location.c.geom, PRIVATE_GRID_M, PRIVATE_GRID_M))
