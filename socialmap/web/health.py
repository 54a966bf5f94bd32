"""/healthz: database reachable, PostGIS version, migration head."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .. import db, migrate

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # noqa: ANN201
    head = migrate.head_revision()
    body: dict[str, object] = {"status": "ok", "migration_head": head}
    try:
        s = db.session()
        body["postgis"] = s.execute(text("SELECT postgis_lib_version()")).scalar_one()
        body["migration"] = migrate.current_revision(s.connection())
    except SQLAlchemyError as exc:
        body.update(status="unavailable", database="unreachable",
                    detail=str(exc.orig if hasattr(exc, "orig") else exc).strip()[:200])
        return jsonify(body), 503
    body["database"] = "ok"
    if body["migration"] != head:
        body["status"] = "migration_pending"
        return jsonify(body), 503
    return jsonify(body), 200
