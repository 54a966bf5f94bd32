"""A small in-process cache of answers that may be a few seconds old. Pure, thread-safe."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


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
