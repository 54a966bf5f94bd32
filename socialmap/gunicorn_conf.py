"""gunicorn settings for `make serve`: `gunicorn -c python:socialmap.gunicorn_conf app:app`.

Environment: SOCIALMAP_BIND (127.0.0.1:8000), SOCIALMAP_WORKERS (2 per core + 1, at most 8),
SOCIALMAP_THREADS (4), SOCIALMAP_ACCESS_LOG ("-" for stdout, a file, or "off"),
SOCIALMAP_ANSWER_CACHE_DIR (the answers the workers share; by default a fresh directory in
/dev/shm made at start, emptied on a HUP and removed at exit). The database
pool of each worker is sized by SOCIALMAP_POOL_SIZE (see socialmap.config); keep it at least
the thread count plus one (the thread that remakes stale answers, socialmap.web.refresh), so
that no thread waits for a connection.
Graceful restart: `kill -HUP <master pid>` starts new workers with fresh code and lets the old
ones finish their requests (up to graceful_timeout); `kill -TERM` stops the same way.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger

from socialmap.cache import GENERATION_FILE
from socialmap.web.observability import REQUEST_ID_HEADER, JsonFormatter, access_record


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def default_workers(cores: int | None = None) -> int:
    """Two per core plus one: requests wait on PostgreSQL about half their time."""
    return min(2 * (cores or os.cpu_count() or 1) + 1, 8)


bind = os.environ.get("SOCIALMAP_BIND", "127.0.0.1:8000")
workers = _int("SOCIALMAP_WORKERS", _int("WEB_CONCURRENCY", default_workers()))
# Threads overlap the waits on the database within one process; the GIL caps the gain, so few.
worker_class = "gthread"
threads = _int("SOCIALMAP_THREADS", 4)
# A request that takes longer than this is stuck: the worker is killed and replaced.
timeout = 30
graceful_timeout = 20
keepalive = 5
# gunicorn's longest request line: a search with several filters and a long place name in
# percent-encoded UTF-8 passes 4 KiB; longer lines get gunicorn's own (HTML) 400.
limit_request_line = 8190
# Recycle workers now and then (staggered), so a slow leak can never take the site down.
# A worker's idle keep-alive connections close when it goes, and a client that sends on one at
# that moment sees a reset (browsers retry, wrk counts a read error): at 20,000 requests, cached
# answers at 2,500/s recycled a worker every 40 s. 200,000 is hours for a gemeente's site.
max_requests = 200_000
max_requests_jitter = 20_000
# The app is loaded in each worker: a HUP then reloads the code too, and no database
# connection can ever be shared across a fork.
preload_app = False
proc_name = "socialmap"
forwarded_allow_ips = "127.0.0.1"
_access = os.environ.get("SOCIALMAP_ACCESS_LOG", "-")
accesslog = None if _access == "off" else _access
errorlog = "-"
loglevel = os.environ.get("SOCIALMAP_LOG_LEVEL", "info")


def answer_cache_dir() -> str:
    """A fresh directory for the answers the workers share (socialmap.cache.SharedCache): in
    memory-backed /dev/shm when the machine has it, else in the system's temporary folder."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return tempfile.mkdtemp(prefix="socialmap-answers-", dir=base)


def on_starting(server: Any) -> None:
    # One shared answer cache per server, unless the environment names one (or turns caching
    # off): the workers inherit the variable and each reads it as SOCIALMAP_ANSWER_CACHE_DIR.
    if not os.environ.get("SOCIALMAP_ANSWER_CACHE_DIR"):
        os.environ["SOCIALMAP_ANSWER_CACHE_DIR"] = answer_cache_dir()
        os.environ["_SOCIALMAP_ANSWER_CACHE_MADE"] = "1"
    new_generation(os.environ["SOCIALMAP_ANSWER_CACHE_DIR"])


def on_reload(server: Any) -> None:
    # New code may answer differently: the new workers start with an empty cache, and the old
    # ones, finishing their requests and remakes, keep nothing more (a new generation).
    directory = os.environ.get("SOCIALMAP_ANSWER_CACHE_DIR", "")
    _empty(directory, remove=False)
    new_generation(directory)


def new_generation(directory: str) -> None:
    """A new token in the cache directory's generation file (socialmap.cache.SharedCache)."""
    if not directory or not Path(directory).is_dir():
        return
    path = Path(directory) / GENERATION_FILE
    aside = path.with_name(f".{GENERATION_FILE}.{os.getpid()}")
    aside.write_bytes(secrets.token_bytes(16))
    os.replace(aside, path)


def worker_exit(server: Any, worker: Any) -> None:
    # A worker that stops (graceful stop, reload, max_requests) starts no more remakes and
    # gives back the claims of those still waiting, so that another worker takes them at once.
    from socialmap.web.refresh import stop_all

    stop_all()


def on_exit(server: Any) -> None:
    if os.environ.pop("_SOCIALMAP_ANSWER_CACHE_MADE", None):
        _empty(os.environ.get("SOCIALMAP_ANSWER_CACHE_DIR", ""), remove=True)


def _empty(directory: str, remove: bool) -> None:
    if not directory or not Path(directory).is_dir():
        return
    if remove:
        shutil.rmtree(directory, ignore_errors=True)
        return
    for child in Path(directory).iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


class JsonLogger(Logger):
    """gunicorn's logger with JSON lines: access lines with the app's fields, errors as JSON."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.cfg.accesslog:
            return
        rid = cache = None
        for name, value in resp.headers:
            if name.lower() == REQUEST_ID_HEADER.lower():
                rid = value
            elif name.lower() == "x-cache":
                cache = value
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        # The path without its query: a query may hold the address a resident searched from.
        record = access_record(
            environ.get("REQUEST_METHOD", "-"), environ.get("PATH_INFO", ""), int(status),
            request_time.total_seconds() * 1000, rid,
            bytes=getattr(resp, "sent", None), pid=os.getpid(),
            # "hit", "stale" or "miss" for the answers the cache may keep; absent for others.
            **({"cache": cache} if cache else {}))
        line = json.dumps({"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), **record},
                          ensure_ascii=False)
        try:
            self.access_log.info(line)
        except Exception:  # noqa: BLE001 - a log failure must never fail the request
            self.error("access log write failed")


logger_class = JsonLogger
