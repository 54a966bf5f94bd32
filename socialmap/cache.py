"""Caches of answers that may be a few seconds old: one per process (TtlCache) and one shared
by the worker processes of a server (SharedCache, files in a directory). Thread-safe."""
from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Generic, Protocol, TypeVar

V = TypeVar("V")


class AnswerCache(Protocol[V]):
    """What the answer caches offer their users (api.search, web.answer_cache)."""

    def get(self, key: Hashable) -> V | None: ...

    def put(self, key: Hashable, value: V) -> None: ...


class TtlCache(Generic[V]):
    """Values kept for `seconds`, the least recently used dropped beyond `max_bytes` (as
    `size` measures them). One per process: gunicorn workers do not share it."""

    def __init__(self, seconds: float, max_bytes: int, size: Callable[[V], int],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.max_bytes, self.size, self.clock = seconds, max_bytes, size, clock
        self._items: OrderedDict[Hashable, tuple[float, V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> V | None:
        now = self.clock()
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] <= now:
                if item is not None:
                    self._drop(key)
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[1]

    def put(self, key: Hashable, value: V) -> None:
        nbytes = self.size(value)
        if nbytes > self.max_bytes:
            return
        with self._lock:
            if key in self._items:
                self._drop(key)
            self._items[key] = (self.clock() + self.seconds, value, nbytes)
            self._bytes += nbytes
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._items)))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def _drop(self, key: Hashable) -> None:
        _expires, _value, nbytes = self._items.pop(key)
        self._bytes -= nbytes


# A kept file: expiry (unix seconds, double), length of the key, the key, then the value.
_HEAD = struct.Struct(">dI")


class SharedCache(Generic[V]):
    """Values kept for `seconds` as files in `directory`, shared by every process that uses
    the same directory (gunicorn's workers: socialmap.gunicorn_conf makes one per server, in
    memory-backed /dev/shm when there is one).

    With a cache per worker, a repeated question is answered from memory only when it reaches
    the worker that answered it before; shared, any worker answers it. A file is written aside
    and renamed into place, so a reader sees a whole answer or none. The directory is swept of
    expired files now and then, and of the oldest beyond `max_bytes`.
    """

    SWEEP_SECONDS = 5.0

    def __init__(self, directory: Path, seconds: float, max_bytes: int,
                 encode: Callable[[V], bytes], decode: Callable[[bytes], V],
                 clock: Callable[[], float] = time.time) -> None:
        self.directory, self.seconds, self.max_bytes = directory, seconds, max_bytes
        self.encode, self.decode, self.clock = encode, decode, clock
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._written = 0
        self._swept = clock()
        self.hits = self.misses = 0

    def _path(self, key_bytes: bytes) -> Path:
        return self.directory / hashlib.blake2b(key_bytes, digest_size=16).hexdigest()

    def get(self, key: Hashable) -> V | None:
        key_bytes = repr(key).encode()
        try:
            with open(self._path(key_bytes), "rb") as f:
                data = f.read()
        except OSError:
            self.misses += 1
            return None
        expires, key_len = _HEAD.unpack_from(data)
        start = _HEAD.size + key_len
        # The key is kept whole: a different key with the same digest is a miss, not its answer.
        if expires <= self.clock() or data[_HEAD.size:start] != key_bytes:
            self.misses += 1
            return None
        self.hits += 1
        return self.decode(data[start:])

    def put(self, key: Hashable, value: V) -> None:
        key_bytes = repr(key).encode()
        body = self.encode(value)
        if len(body) > self.max_bytes:
            return
        path = self._path(key_bytes)
        aside = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        head = _HEAD.pack(self.clock() + self.seconds, len(key_bytes))
        try:
            try:
                f = open(aside, "wb")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                # Emptied by a reload of the server (or by a clean-up of /dev/shm): again.
                self.directory.mkdir(parents=True, exist_ok=True)
                f = open(aside, "wb")  # noqa: SIM115
            with f:
                f.write(head + key_bytes + body)
            os.replace(aside, path)
        except OSError:
            # A full or vanished directory costs the cache, never the answer.
            _unlink(aside)
            return
        with self._lock:
            self._written += len(body)
            due = (self._written > self.max_bytes // 8
                   or self.clock() - self._swept > self.SWEEP_SECONDS)
            if due:
                self._written, self._swept = 0, self.clock()
        if due:
            self.sweep()

    def sweep(self) -> None:
        """Remove expired files, then the oldest while the rest is over `max_bytes`."""
        now, kept, total = self.clock(), [], 0
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return
        for entry in entries:
            try:
                stat = entry.stat()
            except OSError:
                continue
            # Files left aside by a killed worker, and kept files past their minute.
            if stat.st_mtime + self.seconds <= now:
                _unlink(Path(entry.path))
            elif not entry.name.startswith("."):
                kept.append((stat.st_mtime, stat.st_size, entry.path))
                total += stat.st_size
        for _mtime, size, path in sorted(kept):
            if total <= self.max_bytes:
                break
            _unlink(Path(path))
            total -= size

    def clear(self) -> None:
        for entry in os.scandir(self.directory):
            _unlink(Path(entry.path))


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
