"""The hand-over of the displayed picture's temporal stage, Qt-free.

`TemporalEngine` (core.temporal.engine: deflicker then keyframe propagation, the same code the
render runs, so an export is what the artist reviewed) runs in the temporal worker's thread only
(it owns a reader and the flow cache).  `ResultStore` is the thread-safe hand-over: the worker
puts a frame's temporal chroma in it, and the display worker's compose hook
(`ResultStore.hook`) takes it from there, so the display never computes flow itself and the GUI
thread never does either.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np


class ResultStore:
    """Temporal chroma per frame (LRU), written by the temporal worker, read by the display."""

    def __init__(self, max_items: int = 24):
        self._lock = threading.Lock()
        self._items: OrderedDict[int, tuple[int, np.ndarray, bool]] = OrderedDict()  # (version, ab, complete)
        self.max_items = max_items
        self.version = 0
        self.active = False

    def set_active(self, active: bool) -> None:
        with self._lock:
            self.active = bool(active)

    def set_version(self, version: int) -> None:
        with self._lock:
            self.version = int(version)

    def put(self, i: int, version: int, ab: np.ndarray, complete: bool) -> None:
        with self._lock:
            self._items[i] = (version, ab, complete)
            self._items.move_to_end(i)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)

    def fresh(self, i: int) -> bool:
        with self._lock:
            r = self._items.get(i)
            return r is not None and r[0] == self.version and r[2]

    def has_current(self, i: int) -> bool:
        with self._lock:
            r = self._items.get(i)
            return r is not None and r[0] == self.version

    def drop(self, indices: Iterable[int]) -> None:
        with self._lock:
            for i in indices:
                self._items.pop(i, None)

    def incomplete(self) -> list[int]:
        with self._lock:
            return [i for i, r in self._items.items() if not r[2]]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def affects(self, index: int) -> bool:
        """Whether `hook` may change frame `index` (it holds a result for it)."""
        with self._lock:
            return self.active and index in self._items

    def hook(self, index: int, ab: np.ndarray, L: np.ndarray) -> np.ndarray:
        """compose.ChromaOverride (display worker thread).  Until the worker has the frame, the
        last result it made for it (or the model's chroma) is shown; the GUI recomposes the
        frame when the current one arrives."""
        with self._lock:
            if not self.active:
                return ab
            r = self._items.get(index)
        if r is None or r[1].shape != ab.shape:
            return ab
        return r[1]


