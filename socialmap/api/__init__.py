"""JSON API under /api/v1. Route modules attach their views to `bp`."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def load_routes() -> None:
    """Import the route modules so that their views register on `bp`."""
    from . import routes  # noqa: F401
