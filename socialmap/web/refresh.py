"""Stale answers while they are made again (stale-while-revalidate).

A kept answer is fresh for answer_cache_seconds. For answer_stale_seconds after that, a request
still gets it at once (X-Cache "stale", with its Age), and once that answer is sent the
request is made again in the background: the same request through the whole app, with the
cache lookups skipped (REFRESH_KEY), whose answer replaces the stale one. One worker of all
remakes a key (the cache's claim); the others go on serving the stale answer meanwhile.

Why: without it every kept answer ends at a fixed moment and the next request for it waits for
a remake; when many end together (after a burst of new questions, after a restart) the remakes
pile up on the workers and every request queues behind them, hits included. With it a resident
never waits for a remake of a page someone asked within the last minutes, and the remakes run
one per worker, beside the requests.

What a remake may not do: count a demand signal (it is no resident's search; see
web.answer_cache.count_demand), or keep an answer that is no longer keepable (an error, a
search that now counts demand): then the stale answer is dropped, so that the next request goes
through the app. A remake that meets the database away (5xx) keeps the stale answer until its
stale seconds end, and tries again when the claim lapses (cache.CLAIM_SECONDS).
"""
from __future__ import annotations

import io
import logging
import queue
import sys
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from flask import Flask, request

from ..cache import AnswerCache

log = logging.getLogger(__name__)

# Set on a remake's environ: the caches are not asked, the answer is made and kept.
REFRESH_KEY = "socialmap.refresh"
# Set by the layer that kept the remade answer: the cache object it went to.
KEPT_IN_KEY = "socialmap.kept_in"
# Request headers not repeated by a remake: conditions of this client (a 304 is never kept),
# its request id (a remake has its own) and cookies (a kept answer never had any).
_NOT_REPEATED = frozenset({
    "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_IF_RANGE", "HTTP_RANGE", "HTTP_X_REQUEST_ID", "HTTP_COOKIE", "CONTENT_LENGTH",
    "CONTENT_TYPE",
})
# Remakes waiting in one worker; beyond that a stale answer waits for a later request. At
# 20-40 ms a remake, what waits here is done well within the claim's CLAIM_SECONDS.
QUEUE_SIZE = 256
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Job = tuple[AnswerCache[Any], Hashable, dict[str, Any]]


def replay_environ(environ: dict[str, Any]) -> dict[str, Any]:
    """The environ of a GET made again: the request line, host, scheme and headers of the
    original (what the answer and its key were made from), an empty body, REFRESH_KEY set."""
    replay = {k: v for k, v in environ.items()
              if isinstance(v, str) and k not in _NOT_REPEATED}
    replay.update({
        "REQUEST_METHOD": "GET", "wsgi.version": (1, 0),
        "wsgi.url_scheme": environ.get("wsgi.url_scheme", "http"),
        "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
        REFRESH_KEY: True,
    })
    return replay


def refreshing() -> bool:
    """The current request is a remake of a kept answer, not a client's."""
    return bool(request.environ.get(REFRESH_KEY))


def kept_in(environ: dict[str, Any], cache: AnswerCache[Any]) -> None:
    """Note, on a remake's environ, the cache its answer was kept in."""
    if environ.get(REFRESH_KEY):
        environ[KEPT_IN_KEY] = cache


class Refresher:
    """Remakes claimed keys, one at a time, in a thread of this process (started on first
    use, so after gunicorn's fork); or at once in the caller's thread when not `background`
    (the test client, whose database connection serves one thread)."""

    def __init__(self, wsgi_app: WsgiApp, background: bool = True) -> None:
        self.wsgi_app, self.background = wsgi_app, background
        self._queue: queue.Queue[Job] = queue.Queue(QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.stopped = False
        self.done = self.dropped = self.failed = self.skipped = 0
        _ALL.add(self)

    def schedule(self, cache: AnswerCache[Any], key: Hashable, environ: dict[str, Any]
                 ) -> bool:
        """Remake `key` unless another worker or thread already does; True when this one will.
        Called once a stale answer is sent: it never raises into the server."""
        if self.stopped:
            return False
        try:
            if not cache.claim(key):
                return False
        except Exception:  # noqa: BLE001 - the answer is sent; the cache must not fail it
            log.exception("claiming a stale answer's remake failed")
            return False
        try:
            job: Job = (cache, key, replay_environ(environ))
            if not self.background:
                self._run_one(job)
                return True
            self._queue.put_nowait(job)
            self._start()
        except queue.Full:
            cache.release(key)  # a later request for it tries again
            return False
        except Exception:  # noqa: BLE001
            log.exception("scheduling a stale answer's remake failed")
            cache.release(key)
            return False
        return True

    def stop(self) -> None:
        """Start no more remakes; give back the claims of those still waiting."""
        self.stopped = True
        while True:
            try:
                cache, key, _environ = self._queue.get_nowait()
            except queue.Empty:
                return
            try:
                cache.release(key)
            finally:
                self._queue.task_done()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every scheduled remake is done (tests, benchmarks); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="socialmap-refresh",
                                                daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if self.stopped:
                    job[0].release(job[1])
                else:
                    self._run_one(job)
            except Exception:  # noqa: BLE001 - a failed remake must never stop the thread
                log.exception("remaking a kept answer failed")
            finally:
                self._queue.task_done()

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def _run_one(self, job: Job) -> None:
        cache, key, environ = job
        # Waited in the queue: made meanwhile (a request's miss) or past its stale seconds?
        found = cache.lookup(key)
        if found is None or found.fresh:
            cache.release(key)
            self._count("skipped")
            return
        cache.renew(key)  # its claim runs from now, not from when it was queued
        status = 0

        def start_response(line: str, _headers: list[tuple[str, str]],
                           _exc_info: Any = None) -> Callable[[bytes], None]:
            nonlocal status
            status = int(line.split(None, 1)[0])
            return lambda _data: None

        try:
            body = self.wsgi_app(environ, start_response)
            try:
                for _part in body:
                    pass
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()
        except Exception:  # noqa: BLE001 - a failed remake must never stop the thread
            log.exception("remaking a kept answer failed")
            status = 500
        if environ.get(KEPT_IN_KEY) is cache:
            self._count("done")  # kept: the put gave the claim back
        elif status >= 500:
            # The database is away: the stale answer serves on; the claim holds retries off.
            self._count("failed")
        else:
            # Not keepable now (or kept by another layer): the next request goes through.
            cache.delete(key)
            self._count("dropped")


_ALL: weakref.WeakSet[Refresher] = weakref.WeakSet()


def stop_all() -> None:
    """Stop every Refresher of this process (gunicorn_conf.worker_exit)."""
    for found in list(_ALL):
        found.stop()


def refresher(app: Flask) -> Refresher:
    """This process's Refresher for `app`, made on first use."""
    found: Refresher | None = app.extensions.get("socialmap.refresher")
    if found is None:
        testing = app.extensions["socialmap.settings"].testing
        # The outermost WSGI app at the time of the remake, layers in front included.
        found = Refresher(lambda environ, start: app.wsgi_app(environ, start),
                          background=not testing)
        found = app.extensions.setdefault("socialmap.refresher", found)
    return found
