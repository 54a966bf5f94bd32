"""Route modules of the API; each one adds its views to the blueprint."""
from __future__ import annotations

from . import (  # noqa: F401
    downloads,
    fragility,
    gaps,
    initiatives,
    mapdata,
    needs,
    openapi,
    places,
    search,
)
