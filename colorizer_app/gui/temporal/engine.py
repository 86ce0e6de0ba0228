"""The temporal stage of the displayed picture, Qt-free.

    model chroma (chroma cache, upsampled like the display does)
        -> deflicker (core Deflicker: motion-compensated, within the shot)  [strength > 0]
        -> keyframe propagation (core FilmPropagator, never across a cut)   [keyframes]
        -> painted corrections (the display's ChromaOverride, applied after this stage)

`TemporalEngine` runs in the temporal worker's thread only (it owns a reader and the flow
cache).  `ResultStore` is the thread-safe hand-over: the worker puts a frame's temporal chroma in
it, and the display worker's compose hook (`ResultStore.hook`) takes it from there, so the
display never computes flow itself and the GUI thread never does either.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Optional

import numpy as np

from ...core import color
from ...core.temporal.deflicker import Deflicker
from ...core.temporal.flow import FlowCache
from ...core.temporal.propagate import FilmPropagator
from ...core.temporal.shots import ShotList
from .. import compose

DEFLICKER_RADIUS = 3


class MissingChroma(LookupError):
    """The model has not colorized this frame yet."""


class ResultStore:
    """Temporal chroma per frame (LRU), written by the temporal worker, read by the display."""

    def __init__(self, max_items: int = 24):
        self._lock = threading.Lock()
        self._items: OrderedDict = OrderedDict()     # i -> (version, ab, complete)
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

    def drop(self, indices) -> None:
        with self._lock:
            for i in indices:
                self._items.pop(i, None)

    def incomplete(self) -> list[int]:
        with self._lock:
            return [i for i, r in self._items.items() if not r[2]]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

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


class TemporalEngine:
    """Temporal chroma of any frame of one film.  ``read(i)`` gives its uint8 RGB frame."""

    def __init__(self, read: Callable[[int], np.ndarray], n_frames: int,
                 radius: int = DEFLICKER_RADIUS):
        self.read = read
        self.n = int(n_frames)
        self.radius = int(radius)
        self.flows = FlowCache(read, max_items=48)
        self.chroma = None
        self.shots = ShotList(self.n)
        self.keys: dict = {}
        self.strength = 0.0
        self._model: OrderedDict = OrderedDict()
        self._dfl: OrderedDict = OrderedDict()          # window (a, b) -> Deflicker
        self._prop: Optional[FilmPropagator] = None

    # ---- state -----------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return bool(self.keys) or self.strength > 0.0

    def set_chroma(self, chroma) -> None:
        self.chroma = chroma
        self._model.clear()
        self._dfl.clear()
        self._prop = None

    def set_shots(self, shots: ShotList) -> None:
        if shots == self.shots:
            return
        self.shots = shots
        self._dfl.clear()
        if self._prop is not None:
            self._prop.set_shots(shots)

    def set_keyframes(self, keys: dict) -> None:
        old, self.keys = self.keys, dict(keys)
        if self._prop is None:
            return
        for k in old:
            if k not in self.keys or self.keys[k] is not old[k]:
                self._prop.remove_keyframe(k)
        for k, kf in self.keys.items():
            if old.get(k) is not kf:
                self._prop.set_keyframe(k, kf)

    def set_strength(self, strength: float) -> None:
        strength = float(np.clip(strength, 0.0, 1.0))
        if strength == self.strength:
            return
        self.strength = strength
        for d in self._dfl.values():
            d.set_strength(strength)
        self.invalidate()

    def invalidate(self) -> None:
        """Model chroma around some frames changed: forget propagated results (chains stay)."""
        if self._prop is not None:
            self._prop.invalidate()

    # ---- chroma ----------------------------------------------------------------------------
    def has(self, i: int) -> bool:
        return self.chroma is not None and 0 <= i < self.n and self.chroma.has(i)

    def model_ab(self, j: int) -> np.ndarray:
        ab = self._model.get(j)
        if ab is not None:
            self._model.move_to_end(j)
            return ab
        ab_work = self.chroma.get(j) if self.chroma is not None else None
        if ab_work is None:
            raise MissingChroma(j)
        frame = self.read(j)
        L = color.luminance(frame)
        box = compose.letterbox(L.shape[0], L.shape[1], self.chroma.size)
        ab = color.upsample_ab(ab_work, box, L)
        self._model[j] = ab
        while len(self._model) > 2 * self.radius + 6:
            self._model.popitem(last=False)
        return ab

    def window(self, t: int) -> tuple[tuple[int, int], bool]:
        """Deflicker window of t: its shot's frames within the radius whose chroma exists and
        that are contiguous with t; complete when no wanted neighbour is missing."""
        s0, s1 = self.shots.shot_of(t)
        lo, hi = max(s0, t - self.radius), min(s1, t + self.radius + 1)
        a = t
        while a - 1 >= lo and self.has(a - 1):
            a -= 1
        b = t + 1
        while b < hi and self.has(b):
            b += 1
        return (a, b), (a == lo and b == hi)

    def deflickered(self, t: int) -> np.ndarray:
        if self.strength <= 0.0:
            return self.model_ab(t)
        (a, b), _ = self.window(t)
        d = self._dfl.get((a, b))
        if d is None:
            d = self._dfl[(a, b)] = Deflicker(self.flows, self.model_ab, (a, b), self.n,
                                               radius=self.radius, strength=self.strength)
            while len(self._dfl) > 4:
                self._dfl.popitem(last=False)
        self._dfl.move_to_end((a, b))
        return d.result(t)

    def result(self, t: int) -> tuple[np.ndarray, bool]:
        """(temporal ab of frame t, complete): complete is False while deflicker neighbours are
        still being colorized (the result then gets recomputed when they arrive)."""
        if not self.has(t):
            raise MissingChroma(t)
        complete = True if self.strength <= 0.0 else self.window(t)[1]
        if self.keys:
            if self._prop is None:
                self._prop = FilmPropagator(self.read, self.deflickered, self.shots, self.keys,
                                            flows=self.flows)
            ab = self._prop.ab(t)
        else:
            ab = self.deflickered(t)
        return np.ascontiguousarray(ab, np.float32), complete

    def picture(self, t: int, post=None) -> np.ndarray:
        """The frame as the viewer shows it (temporal stage, then corrections), uint8 RGB."""
        frame = self.read(t)
        L = color.luminance(frame)
        ab = self.result(t)[0] if self.active else self.model_ab(t)
        if post is not None:
            ab = post(t, ab, L)
        return color.to_uint8(color.recombine(L, ab))
