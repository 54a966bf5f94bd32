"""socialmap: an informal social map (informele sociale kaart) for Dutch municipalities."""
from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import Connection

from . import db
from .config import Settings


def create_app(config: Settings | dict[str, Any] | None = None,
               bind: Connection | None = None) -> Flask:
    """Build the Flask app; `bind` lets tests run every request inside their own transaction."""
    settings = config if isinstance(config, Settings) else Settings.from_env(**(config or {}))
    settings = settings.with_secret_key()
    from .services.gaps import check_norm_setting

    check_norm_setting(settings)  # a bad SOCIALMAP_GAP_NORMS stops the start, not a request
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.extensions["socialmap.settings"] = settings
    db.init_app(app, db.Database(settings, bind))
    from .web import observability

    observability.init_app(app)  # first, so that every later hook sees the request id

    from . import foliumfast, i18n
    from .api import bp as api_bp
    from .api import load_routes
    from .web import auth, filters, health, pages, security
    from .web import errors as error_pages

    foliumfast.install()  # map pages: less of folium's per-map work
    i18n.init_app(app)
    security.init_app(app)
    from .web import answer_cache

    answer_cache.init_app(app)  # after security: a kept page gets its nonce before the header
    from .web import fast_answers

    fast_answers.init_app(app)
    error_pages.register(app)
    load_routes()
    app.register_blueprint(health.bp)
    app.register_blueprint(pages.bp)
    from .web import fragility as fragility_pages
    from .web import gaps as gap_pages

    app.register_blueprint(gap_pages.bp)
    app.register_blueprint(fragility_pages.bp)
    from .web import alerts as alert_pages

    app.register_blueprint(alert_pages.bp)
    from .web import about

    app.register_blueprint(about.bp)
    app.register_blueprint(filters.bp)
    app.register_blueprint(api_bp)
    from .hsds.api import bp as hsds_bp
    from .ogc.api import bp as ogc_bp

    app.register_blueprint(hsds_bp)
    app.register_blueprint(ogc_bp)
    auth.init_app(app)  # accounts, residents' submissions and the editors' pages

    from .cli import register as register_cli

    register_cli(app)
    return app
