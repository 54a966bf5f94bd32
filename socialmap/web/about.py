"""The privacy page: what the map keeps about people, and why, for residents."""
from __future__ import annotations

from flask import Blueprint, render_template

from ..i18n import current_language

bp = Blueprint("about", __name__)


@bp.get("/privacy")
def privacy():  # noqa: ANN201
    """What is kept, why, for how long, and how to have it removed (docs/PRIVACY.md in short)."""
    return render_template("privacy.html", english=current_language() == "en")
