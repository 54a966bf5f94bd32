"""Caches of answers that may be a few seconds old: one per process (TtlCache) and one shared
by the worker processes of a server (SharedCache, files in a directory). Thread-safe.

A value is fresh for `seconds`, then stale for `stale_seconds` more: `lookup` still finds it
(Found.fresh False), for an answer that is served while it is made again (stale-while-
revalidate, web.refresh). One refresh per key at a time: `claim` takes the key, `put`,
`delete` or `release` give it back, and a claim not given back lapses after CLAIM_SECONDS.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

V = TypeVar("V")
# A claimed refresh not finished by then (the worker died, or the database was away and the
# stale answer stays) may be claimed again: the retries of one key are this far apart.
CLAIM_SECONDS = 30.0


@dataclass(frozen=True)
class Found(Generic[V]):
    """A kept value, its age in seconds, and whether it is still within its fresh seconds."""

    value: V
    age: float
    fresh: bool


class AnswerCache(Protocol[V]):
    """What the answer caches offer their users (api.search, web.answer_cache, web.refresh)."""

    def get(self, key: Hashable) -> V | None: ...

    def lookup(self, key: Hashable) -> Found[V] | None: ...

    def put(self, key: Hashable, value: V) -> bool: ...

    def renew(self, key: Hashable) -> None: ...

    def delete(self, key: Hashable) -> None: ...

    def claim(self, key: Hashable) -> bool: ...

    def release(self, key: Hashable) -> None: ...


class TtlCache(Generic[V]):
    """Values kept for `seconds` (and `stale_seconds` more for `lookup`), the least recently
    used dropped beyond `max_bytes` (as `size` measures them). One per process: gunicorn
    workers do not share it."""

    def __init__(self, seconds: float, max_bytes: int, size: Callable[[V], int],
                 clock: Callable[[], float] = time.monotonic, *,
                 stale_seconds: float = 0.0) -> None:
        self.seconds, self.max_bytes, self.size, self.clock = seconds, max_bytes, size, clock
        self.stale_seconds = stale_seconds
        # key: (made, value, bytes)
        self._items: OrderedDict[Hashable, tuple[float, V, int]] = OrderedDict()
        self._claims: dict[Hashable, float] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> V | None:
        found = self.lookup(key)
        return found.value if found is not None and found.fresh else None

    def lookup(self, key: Hashable) -> Found[V] | None:
        now = self.clock()
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] + self.seconds + self.stale_seconds <= now:
                if item is not None:
                    self._drop(key)
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            age = max(now - item[0], 0.0)
            return Found(item[1], age, age < self.seconds)

    def put(self, key: Hashable, value: V) -> bool:
        """Keep `value`; False when it cannot be kept (too big), and then no older value of
        `key` stays either: a stale answer is never served in place of one that is not kept."""
        nbytes = self.size(value)
        with self._lock:
            self._claims.pop(key, None)
            if key in self._items:
                self._drop(key)
            if nbytes > self.max_bytes:
                return False
            self._items[key] = (self.clock(), value, nbytes)
            self._bytes += nbytes
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._items)))
            return True

    def delete(self, key: Hashable) -> None:
        with self._lock:
            self._claims.pop(key, None)
            if key in self._items:
                self._drop(key)

    def claim(self, key: Hashable) -> bool:
        now = self.clock()
        with self._lock:
            since = self._claims.get(key)
            if since is not None and now - since < CLAIM_SECONDS:
                return False
            if len(self._claims) > 1024:
                # Claims left by remakes that failed (the database away) and never retried.
                self._claims = {k: t for k, t in self._claims.items()
                                if now - t < CLAIM_SECONDS}
            self._claims[key] = now
            return True

    def renew(self, key: Hashable) -> None:
        """The remake of a claimed key starts now: its claim runs from here."""
        with self._lock:
            if key in self._claims:
                self._claims[key] = self.clock()

    def release(self, key: Hashable) -> None:
        with self._lock:
            self._claims.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._claims.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def _drop(self, key: Hashable) -> None:
        _made, _value, nbytes = self._items.pop(key)
        self._bytes -= nbytes


# A kept file: when it was made (unix seconds, double), length of the key, the key, the value.
_HEAD = struct.Struct(">dI")
# A claim file: when the claim was made or renewed (the cache's clock, double).
_CLAIM = struct.Struct(">d")
# In the directory above the caches' own: a token that a server reload changes
# (socialmap.gunicorn_conf). A worker of the code before keeps nothing once it has changed.
GENERATION_FILE = "generation"


def read_generation(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


class SharedCache(Generic[V]):
    """Values kept for `seconds` (and `stale_seconds` more for `lookup`) as files in
    `directory`, shared by every process that uses the same directory (gunicorn's workers:
    socialmap.gunicorn_conf makes one per server, in memory-backed /dev/shm when there is one).

    With a cache per worker, a repeated question is answered from memory only when it reaches
    the worker that answered it before; shared, any worker answers it. A file is written aside
    and renamed into place, so a reader sees a whole answer or none. The directory is swept of
    expired files now and then, and of the oldest beyond `max_bytes`. A claim is a file of its
    own (".claim-" and the key's digest), made only if absent: one worker of all refreshes.
    With `generation_file`, a value is kept only while that file holds what it held when this
    cache was made: after a reload, the old code's workers, still finishing, keep nothing.
    """

    SWEEP_SECONDS = 5.0

    def __init__(self, directory: Path, seconds: float, max_bytes: int,
                 encode: Callable[[V], bytes], decode: Callable[[bytes], V],
                 clock: Callable[[], float] = time.time, *,
                 stale_seconds: float = 0.0, generation_file: Path | None = None) -> None:
        self.directory, self.seconds, self.max_bytes = directory, seconds, max_bytes
        self.encode, self.decode, self.clock = encode, decode, clock
        self.stale_seconds = stale_seconds
        self.generation_file = generation_file
        self.generation = read_generation(generation_file)
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._written = 0
        self._swept = clock()

    def _digest(self, key: Hashable) -> tuple[bytes, str]:
        key_bytes = repr(key).encode()
        return key_bytes, hashlib.blake2b(key_bytes, digest_size=16).hexdigest()

    def _claim_path(self, digest: str) -> Path:
        return self.directory / f".claim-{digest}"

    def _aside(self, name: str) -> Path:
        return self.directory / f".{name}.{os.getpid()}.{threading.get_ident()}"

    def get(self, key: Hashable) -> V | None:
        found = self.lookup(key)
        return found.value if found is not None and found.fresh else None

    def lookup(self, key: Hashable) -> Found[V] | None:
        key_bytes, digest = self._digest(key)
        try:
            with open(self.directory / digest, "rb") as f:
                data = f.read()
        except OSError:
            return None
        made, key_len = _HEAD.unpack_from(data)
        start = _HEAD.size + key_len
        age = max(self.clock() - made, 0.0)
        # The key is kept whole: a different key with the same digest is a miss, not its answer.
        if age >= self.seconds + self.stale_seconds or data[_HEAD.size:start] != key_bytes:
            return None
        return Found(self.decode(data[start:]), age, age < self.seconds)

    def put(self, key: Hashable, value: V) -> bool:
        """Keep `value`; False when it cannot be kept (too big, a full or vanished directory,
        a reload since this worker started), and then no older value of `key` stays either:
        a stale answer is never served in place of one that is not kept."""
        key_bytes, digest = self._digest(key)
        path = self.directory / digest
        try:
            body = self.encode(value)
            if (len(body) > self.max_bytes
                    or read_generation(self.generation_file) != self.generation):
                _unlink(path)
                return False
            aside = self._aside(digest)
            head = _HEAD.pack(self.clock(), len(key_bytes))
            if not _write(aside, head + key_bytes + body, self.directory):
                _unlink(path)
                return False
            os.replace(aside, path)
        except OSError:
            # A full or vanished directory costs the cache, never the answer.
            _unlink(path)
            return False
        finally:
            self._release(digest)
        with self._lock:
            self._written += len(body)
            due = (self._written > self.max_bytes // 8
                   or self.clock() - self._swept > self.SWEEP_SECONDS)
            if due:
                self._written, self._swept = 0, self.clock()
        if due:
            self.sweep()
        return True

    def delete(self, key: Hashable) -> None:
        _key_bytes, digest = self._digest(key)
        _unlink(self.directory / digest)
        self._release(digest)

    def claim(self, key: Hashable) -> bool:
        """Take `key` for a remake, unless another process or thread holds it; a claim older
        than CLAIM_SECONDS (by this cache's clock) has lapsed and may be taken over."""
        digest = self._digest(key)[1]
        path = self._claim_path(digest)
        stamp = _CLAIM.pack(self.clock())
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return self._take_over(path, digest, stamp)
        except OSError:
            return False  # a vanished directory: no remake, the answer is made anew later
        with os.fdopen(fd, "wb") as f:
            f.write(stamp)
        return True

    def _take_over(self, path: Path, digest: str, stamp: bytes) -> bool:
        if not self._lapsed(path):
            return False
        # Moved aside first: of two takers only one moves it. Had it been renewed or made
        # anew meanwhile, it is put back and this taker steps down.
        moved = self._aside(f"claim-{digest}")
        try:
            os.rename(path, moved)
        except OSError:
            return False
        if not self._lapsed(moved):
            with contextlib.suppress(OSError):
                os.link(moved, path)
            _unlink(moved)
            return False
        _unlink(moved)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except OSError:
            return False
        with os.fdopen(fd, "wb") as f:
            f.write(stamp)
        return True

    def _lapsed(self, path: Path) -> bool:
        try:
            (since,) = _CLAIM.unpack(path.read_bytes()[:_CLAIM.size])
        except (OSError, struct.error):
            return True  # gone, or half-written by a process that died
        return self.clock() - since >= CLAIM_SECONDS

    def renew(self, key: Hashable) -> None:
        """The remake of a claimed key starts now: its claim runs from here."""
        digest = self._digest(key)[1]
        aside = self._aside(f"renew-{digest}")
        if _write(aside, _CLAIM.pack(self.clock()), self.directory, again=False):
            with contextlib.suppress(OSError):
                os.replace(aside, self._claim_path(digest))
            _unlink(aside)

    def release(self, key: Hashable) -> None:
        self._release(self._digest(key)[1])

    def _release(self, digest: str) -> None:
        _unlink(self._claim_path(digest))

    def sweep(self) -> None:
        """Remove expired files, then the oldest while the rest is over `max_bytes`."""
        now, kept, total = self.clock(), [], 0
        lifetime = self.seconds + self.stale_seconds
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return
        for entry in entries:
            try:
                stat = entry.stat()
            except OSError:
                continue
            # Kept files past their time, files left aside by a killed worker, lapsed claims.
            aside = entry.name.startswith(".")
            if stat.st_mtime + (max(lifetime, CLAIM_SECONDS) if aside else lifetime) <= now:
                _unlink(Path(entry.path))
            elif not aside:
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


def _write(path: Path, data: bytes, directory: Path, again: bool = True) -> bool:
    """Write `data` to a new file `path`; False on an error (the file then removed)."""
    try:
        try:
            f = open(path, "wb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            if not again:
                return False
            # Emptied by a reload of the server (or by a clean-up of /dev/shm): again.
            directory.mkdir(parents=True, exist_ok=True)
            f = open(path, "wb")  # noqa: SIM115
        with f:
            f.write(data)
    except OSError:
        _unlink(path)
        return False
    return True


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
