"""The temporal stage of a film's chroma, shared by the review app and the render.

    model chroma (network output, upsampled against L as every export does)
        -> deflicker (Deflicker: motion-compensated, within the shot)        [strength > 0]
        -> keyframe propagation (FilmPropagator, never across a cut)         [keyframes]
        -> (painted corrections: applied by the caller after this stage)

One class for both so that an export renders exactly what the artist reviewed: the GUI runs
it in its temporal worker thread over the chroma cache; core.pipeline.render runs it on its encode
thread over the frames the pipeline has just decoded and colorized (see render.py).
Qt-free; not thread-safe (one owner thread).
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from .. import color, compose
from ..flow import FlowCache
from .deflicker import Deflicker
from .propagate import FilmPropagator
from .shots import ShotList

DEFLICKER_RADIUS = 3


class ChromaSource(Protocol):
    """Where the engine reads the model's chroma (work size): a ChromaCache, a RenderTemporal."""

    @property
    def size(self) -> int: ...
    def has(self, j: int, /) -> bool: ...
    def get(self, j: int, /) -> np.ndarray | None: ...


class MissingChroma(LookupError):
    """The model has not colorized this frame yet."""


class TemporalEngine:
    """Temporal chroma of any frame of one film.  ``read(i)`` gives its uint8 RGB frame."""

    def __init__(self, read: Callable[[int], np.ndarray], n_frames: int,
                 radius: int = DEFLICKER_RADIUS):
        self.read = read
        self.n = int(n_frames)
        self.radius = int(radius)
        self.flows = FlowCache(read, max_items=48)
        self.chroma: ChromaSource | None = None
        self.shots = ShotList(self.n)
        self.keys: dict[int, Any] = {}            # frame -> its Keyframe (or ab)
        self.strength = 0.0
        self._model: OrderedDict[int, np.ndarray] = OrderedDict()
        self._dfl: OrderedDict[tuple[int, int], Deflicker] = OrderedDict()  # window (a, b)
        self._prop: FilmPropagator | None = None

    # ---- state -----------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return bool(self.keys) or self.strength > 0.0

    def set_chroma(self, chroma: ChromaSource | None) -> None:
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

    def set_keyframes(self, keys: dict[int, Any]) -> None:
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
        chroma = self.chroma
        ab_work = chroma.get(j) if chroma is not None else None
        if ab_work is None or chroma is None:
            raise MissingChroma(j)
        frame = self.read(j)
        L = color.luminance(frame)
        box = color.letterbox_for(L.shape[0], L.shape[1], chroma.size)
        ab = compose.model_chroma(ab_work, box, L)
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

    def picture(self, t: int, post: compose.ChromaStage | None = None) -> np.ndarray:
        """The frame as the viewer shows it (temporal stage, then the ``post`` stages: the
        corrections), uint8 RGB: compose.compose_picture over this engine's chroma."""
        frame = self.read(t)
        L = color.luminance(frame)
        ab = self.result(t)[0] if self.active else self.model_ab(t)
        return compose.compose_picture(frame, None, None, L, t, post, ab_full=ab)
