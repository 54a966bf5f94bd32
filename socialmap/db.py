"""Engine and per-request sessions. Nothing connects until the first query."""
from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cached_property

import orjson
from flask import Flask, g
from psycopg.types.json import set_json_loads
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from .config import Settings
from .pgcluster import Cluster

log = logging.getLogger(__name__)

# jsonb columns (the search rows' display properties) are parsed by orjson, several times
# faster than the standard library for the 50 rows of a result page.
set_json_loads(orjson.loads)


def local_cluster(settings: Settings) -> Cluster:
    """The project's own cluster in var/, used when no database URL is configured."""
    return Cluster(root=settings.var_dir, port=settings.pg_port)


def database_url(settings: Settings) -> str:
    return settings.database_url or local_cluster(settings).url()


class Database:
    """Holds the engine (or a test connection) and makes sessions bound to it."""

    def __init__(self, settings: Settings, bind: Connection | None = None) -> None:
        self.settings = settings
        self._bind = bind

    @cached_property
    def engine(self) -> Engine:
        if self._bind is not None:
            return self._bind.engine
        return create_engine(
            database_url(self.settings),
            pool_size=self.settings.pool_size,
            max_overflow=self.settings.pool_size,
            pool_pre_ping=True,
            pool_timeout=5,
            pool_recycle=1800,
            connect_args={
                "connect_timeout": 5,
                "application_name": "socialmap",
                # Parallel workers cost more to start than our short statements take.
                "options": f"-c statement_timeout={self.settings.statement_timeout_ms}"
                           " -c timezone=Europe/Amsterdam -c max_parallel_workers_per_gather=0",
            },
        )

    @cached_property
    def sessionmaker(self) -> sessionmaker[Session]:
        if self._bind is not None:
            # Tests: every session works inside the test's outer transaction, in a savepoint.
            return sessionmaker(bind=self._bind, join_transaction_mode="create_savepoint",
                                expire_on_commit=False)
        return sessionmaker(bind=self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessionmaker()


def init_app(app: Flask, database: Database) -> None:
    app.extensions["socialmap.db"] = database

    @app.teardown_appcontext
    def _close(exc: BaseException | None) -> None:
        closers: list[Callable[[], None]] = g.pop("db_close_on_error", [])
        if exc is not None:
            # Something after the view failed (an after_request hook, a request_finished
            # receiver): Flask's wsgi_app passes that error here and serves an error answer
            # instead of the one the view built, which is dropped without being closed.
            # Without an error the answer is served and closes its session itself.
            for close in closers:
                try:
                    close()
                except Exception:
                    log.exception("closing a dropped answer's session failed")
        s = g.pop("db_session", None)
        if s is None:
            return
        try:
            s.close()
        except DBAPIError:
            # The connection died during the request (database restart): the pool drops it
            # and pre-ping replaces it; the answer already sent must not turn into a 500.
            log.warning("database connection lost while closing the request's session")


def get_db() -> Database:
    from flask import current_app

    return current_app.extensions["socialmap.db"]


def session() -> Session:
    """The session of the current request or CLI command."""
    if "db_session" not in g:
        g.db_session = get_db().session()
    return g.db_session


def take_session() -> Session:
    """The session of the current request, handed over: the request's teardown no longer
    closes it, the caller does. For a streamed body, which is read after the teardown; the
    caller also passes its closer to close_on_error(), for an answer that is never served."""
    return g.pop("db_session", None) or get_db().session()


def close_on_error(close: Callable[[], None]) -> None:
    """Have the request's teardown call `close` (which must be safe to call twice) if the
    request ends with an error: the answer holding a taken session is then dropped unclosed,
    and its connection would wait for the garbage collector."""
    g.setdefault("db_close_on_error", []).append(close)


_SET_ACTOR = text(
    "SELECT set_config('socialmap.actor', :actor, true),"
    " set_config('socialmap.source', :source, true)"
)


def set_actor(s: Session, actor: str, source: str) -> None:
    """Name who writes and through what, for the change log triggers (this transaction only)."""
    s.execute(_SET_ACTOR, {"actor": actor, "source": source})
