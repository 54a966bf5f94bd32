"""Route modules of the API; each one adds its views to the blueprint."""
from __future__ import annotations

from . import downloads, gaps, initiatives, mapdata, openapi, places, search  # noqa: F401
