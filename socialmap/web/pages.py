"""HTML pages for people."""
from __future__ import annotations

from flask import Blueprint, render_template

from .. import db
from ..queries import stats

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():  # noqa: ANN201
    counts = stats.registry_counts(db.session())
    return render_template("home.html", counts=counts)
