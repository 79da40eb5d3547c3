"""What pages keep between requests: values computed from a stage's data, each under a key
that holds the data's stamp (engine/forms/stamp.py), so a changed stage is never served
from the cache - its stamp, hence its key, is new.

One cache per application (``init_app``), per process: web processes keep their own, and
since a key says which data a value was computed from, two processes never disagree on
what a key means. Bounded by the bytes of what it keeps (``AKSI_PAGE_CACHE_BYTES``,
default 64 MB; 0 turns it off), least recently used first out. A lock guards the order:
a WSGI server's threads share it; computing a missing value is done outside the lock, so
two threads missing the same key at once both compute it (the same value) and the second
simply replaces the first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

from flask import Flask, current_app

DEFAULT_BYTES = 64 * 1024 * 1024


class PageCache:
    def __init__(self, max_bytes: int = DEFAULT_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found[0]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        """Keep ``value`` (about ``size`` bytes); one larger than the whole cache is not kept."""
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped

    def get_or_compute(self, key: Hashable, compute: Callable[[], tuple[Any, int]]) -> Any:
        """The value kept under ``key``, else ``compute()``'s (value, size), then kept."""
        found = self.get(key)
        if found is None:
            found, size = compute()
            self.put(key, found, size)
        return found

    @property
    def size(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)


def init_app(app: Flask) -> None:
    app.extensions["aksi.page_cache"] = PageCache(
        int(app.config.get("PAGE_CACHE_BYTES", DEFAULT_BYTES)))


def page_cache() -> PageCache:
    return current_app.extensions["aksi.page_cache"]
