"""Keyframe propagation: an artist's chroma (or a painted mask) flows through its shot.

How it works
- A ChainTracker anchored at frame k gives, for any frame i of the shot, the composed flow
  F(i->k) and a confidence, built by chaining adjacent-frame flows outwards from k:
  F(i->k) = f(i->j) + F(j->k)(x + f(i->j)), conf(i) = c(i->j) * conf(j)(x + f(i->j)),
  j being the neighbour of i towards k and c the forward-backward test of that step.  The source
  (keyframe ab or mask) is sampled ONCE through the composed flow, so chroma does not blur as it
  travels.  Composition happens at the flow's work resolution; only the final sampling is
  full-resolution.
- A KeyframePropagator blends, for frame i, the nearest keyframe before and after i in the shot,
  weighted by temporal distance and by confidence, and lets the model's chroma fill in where
  confidence is low (occlusion, flow failure, picture entering the frame).
- Nothing crosses a cut: a propagator only ever looks at frames of its own shot.

Everything is lazy (ask for frame i) with caching; ``iter_results`` is the export path.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping

import cv2
import numpy as np

from .flow import FlowCache, compose, photometric_confidence, resize_map, sample_full, warp
from .shots import ShotList

AbFn = Callable[[int], np.ndarray]


@dataclass
class Keyframe:
    """Chroma an artist set on one frame.  ab: (H, W, 2) float32 LAB units, full resolution.
    mask: optional (H, W) float32 in [0, 1], where the keyframe's colour applies (elsewhere the
    model's chroma stays).  weight: relative trust when two keyframes overlap."""
    ab: np.ndarray
    mask: np.ndarray | None = None
    weight: float = 1.0


def as_keyframe(kf) -> Keyframe:
    return kf if isinstance(kf, Keyframe) else Keyframe(np.ascontiguousarray(kf, np.float32))


class ChainTracker:
    """Composed flow and confidence from any frame of ``shot`` to the ``anchor`` frame.

    States are cached: an LRU of recent ones, plus checkpoints every ``checkpoint_every`` steps
    from the anchor that the LRU does not evict, so reaching any frame costs at most that many
    chain steps once the shot has been walked (playback in either direction stays smooth).
    At most ``max_checkpoints`` are kept (6 MB each at 1080p): on a long shot their spacing
    doubles rather than memory growing without bound."""

    def __init__(self, flows: FlowCache, anchor: int, shot: tuple[int, int],
                 max_states: int = 24, checkpoint_every: int = 16, max_checkpoints: int = 32,
                 l_check: bool = True):
        start, stop = shot
        if not start <= anchor < stop:
            raise ValueError(f"anchor {anchor} outside shot {shot}")
        self.flows, self.anchor, self.shot = flows, anchor, (start, stop)
        self.max_states = max(max_states, checkpoint_every + 2)
        self.checkpoint_every = checkpoint_every
        self.max_checkpoints = max_checkpoints
        self.l_check = l_check
        self._lru: OrderedDict = OrderedDict()
        self._ckpt: dict = {}

    def _get(self, i):
        if i in self._ckpt:
            return self._ckpt[i]
        s = self._lru.get(i)
        if s is not None:
            self._lru.move_to_end(i)
        return s

    def _put(self, i, s):
        if abs(i - self.anchor) % self.checkpoint_every == 0:
            self._ckpt[i] = s
            if len(self._ckpt) > self.max_checkpoints:
                self.checkpoint_every *= 2
                self._ckpt = {k: v for k, v in self._ckpt.items()
                              if abs(k - self.anchor) % self.checkpoint_every == 0}
            return
        self._lru[i] = s
        self._lru.move_to_end(i)
        while len(self._lru) > self.max_states:
            self._lru.popitem(last=False)

    def state(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(flow i->anchor, chain confidence on frame i), both at work resolution."""
        start, stop = self.shot
        if not start <= i < stop:
            raise ValueError(f"frame {i} outside shot {self.shot}: propagation never crosses a cut")
        if i == self.anchor:
            self.flows.gray(i)                       # sets the work shape
            h, w = self.flows.work_shape
            return np.zeros((h, w, 2), np.float32), np.ones((h, w), np.float32)
        step = 1 if i > self.anchor else -1
        j = i
        while j != self.anchor and self._get(j) is None:
            j -= step                                # nearest known state towards the anchor
        F, c = self.state(j) if j == self.anchor else self._get(j)
        while j != i:
            nxt = j + step
            f, cf = self.flows.step(nxt, j)          # flow from the further frame back to j
            F, c = compose(f, cf, F, c)
            j = nxt
            self._put(j, (F, c))
        return F, c

    def confidence(self, i: int, F: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Chain confidence times a direct photometric check against the anchor: the gray of
        frame i must match the anchor's gray seen through the composed flow.  This catches drift
        that every single step passed.  A global offset is removed first (exposure flicker)."""
        if not self.l_check or i == self.anchor:
            return c
        gk = warp(self.flows.gray(self.anchor), F)
        return c * photometric_confidence(self.flows.gray(i), gk, c > 0.5)

    def sample(self, src: np.ndarray, i: int, border: int = cv2.BORDER_REPLICATE,
               with_conf: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """(full-res ``src`` of the anchor brought onto frame i, full-res confidence or None)."""
        F, c = self.state(i)
        out = sample_full(src, F, border=border)
        if not with_conf:
            return out, None
        conf = self.confidence(i, F, c)
        return out, np.clip(resize_map(conf, src.shape[:2]), 0.0, 1.0)


class KeyframePropagator:
    """Propagated chroma for the frames of ONE shot.  ``result(i) -> (ab, confidence)``."""

    def __init__(self, flows: FlowCache, model_ab: AbFn, shot: tuple[int, int],
                 keyframes: Mapping[int, object] | None = None, max_results: int = 8,
                 **tracker_kw):
        self.flows, self.model_ab, self.shot = flows, model_ab, tuple(shot)
        self.max_results = max_results
        self._tracker_kw = tracker_kw
        self._keys: dict[int, Keyframe] = {}
        self._trackers: dict[int, ChainTracker] = {}
        self._results: OrderedDict = OrderedDict()
        for k, kf in (keyframes or {}).items():
            if self.shot[0] <= k < self.shot[1]:     # keyframes of other shots are ignored
                self._keys[int(k)] = as_keyframe(kf)

    @property
    def keys(self) -> list[int]:
        return sorted(self._keys)

    def set_keyframe(self, k: int, kf) -> None:
        if not self.shot[0] <= k < self.shot[1]:
            raise ValueError(f"keyframe {k} outside shot {self.shot}")
        self._invalidate_around(k)
        self._keys[k] = as_keyframe(kf)

    def remove_keyframe(self, k: int) -> None:
        self._invalidate_around(k)
        self._keys.pop(k, None)
        self._trackers.pop(k, None)

    def _invalidate_around(self, k: int) -> None:
        # only frames between k's neighbouring keyframes can change
        lo = max([x for x in self._keys if x < k], default=self.shot[0])
        hi = min([x for x in self._keys if x > k], default=self.shot[1])
        for i in [i for i in self._results if lo <= i <= hi]:
            del self._results[i]

    def invalidate(self) -> None:
        """Forget cached results (the model's chroma changed); chains and flows stay valid."""
        self._results.clear()

    def _tracker(self, k: int) -> ChainTracker:
        t = self._trackers.get(k)
        if t is None:
            t = self._trackers[k] = ChainTracker(self.flows, k, self.shot, **self._tracker_kw)
        return t

    def _from_key(self, k: int, i: int) -> tuple[np.ndarray, np.ndarray]:
        kf = self._keys[k]
        tr = self._tracker(k)
        ab, conf = tr.sample(kf.ab, i)
        if kf.mask is not None:
            m, _ = tr.sample(kf.mask.astype(np.float32), i, border=cv2.BORDER_CONSTANT,
                             with_conf=False)
            conf = conf * np.clip(m, 0.0, 1.0)
        return ab, conf

    def result(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(ab (H, W, 2) float32, confidence (H, W) in [0,1] = share of keyframe chroma)."""
        r = self._results.get(i)
        if r is not None:
            self._results.move_to_end(i)
            return r
        if not self.shot[0] <= i < self.shot[1]:
            raise ValueError(f"frame {i} outside shot {self.shot}")
        model = np.asarray(self.model_ab(i), np.float32)
        keys = self.keys
        prev = max([k for k in keys if k <= i], default=None)
        nxt = min([k for k in keys if k >= i], default=None)
        sides = [k for k in (prev, nxt) if k is not None]
        if not sides:
            r = (model, np.zeros(model.shape[:2], np.float32))
        else:
            sides = sorted(set(sides))
            if len(sides) == 2:                      # linear in time between the two keyframes
                tw = {prev: (nxt - i) / (nxt - prev), nxt: (i - prev) / (nxt - prev)}
            else:
                tw = {sides[0]: 1.0}
            num = np.zeros_like(model)
            den = np.zeros(model.shape[:2], np.float32)
            best = np.zeros(model.shape[:2], np.float32)
            for k in sides:
                ab, conf = self._from_key(k, i)
                w = max(tw[k], 1e-3) * self._keys[k].weight
                num += (w * conf)[..., None] * ab
                den += w * conf
                best = np.maximum(best, conf)
            # keyframe colour: time-weighted where both sides see the pixel, the one that sees
            # it where the other is occluded; its share against the model is the best side's
            # confidence, so an artist's colour wins wherever any keyframe can vouch for it
            key_ab = num / np.maximum(den, 1e-6)[..., None]
            c = np.clip(best, 0.0, 1.0)
            r = ((c[..., None] * key_ab + (1.0 - c[..., None]) * model).astype(np.float32), c)
        self._results[i] = r
        while len(self._results) > self.max_results:
            self._results.popitem(last=False)
        return r

    def ab(self, i: int) -> np.ndarray:
        return self.result(i)[0]

    def iter_results(self, start: int | None = None, stop: int | None = None
                     ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Batch path for export: (i, ab, confidence) in frame order over [start, stop)."""
        a = self.shot[0] if start is None else max(start, self.shot[0])
        b = self.shot[1] if stop is None else min(stop, self.shot[1])
        for i in range(a, b):
            ab, conf = self.result(i)
            yield i, ab, conf


class FilmPropagator:
    """Routes each frame to the propagator of its shot.  Keyframes act only inside their shot.

    gray(i): gray frame i (uint8 or float L); model_ab(i): the model's ab for frame i."""

    def __init__(self, gray: Callable[[int], np.ndarray], model_ab: AbFn, shots: ShotList,
                 keyframes: Mapping[int, object] | None = None,
                 flows: FlowCache | None = None, max_shots: int = 3, **prop_kw):
        self.flows = flows if flows is not None else FlowCache(gray)
        self.model_ab = model_ab
        self.shots = shots
        self.max_shots = max_shots
        self._prop_kw = prop_kw
        self._keys = {int(k): as_keyframe(v) for k, v in (keyframes or {}).items()}
        self._props: OrderedDict = OrderedDict()

    def _prop(self, i: int) -> KeyframePropagator:
        shot = self.shots.shot_of(i)
        p = self._props.get(shot)
        if p is None:
            keys = {k: v for k, v in self._keys.items() if shot[0] <= k < shot[1]}
            p = self._props[shot] = KeyframePropagator(self.flows, self.model_ab, shot, keys,
                                                       **self._prop_kw)
            # cached chains are big (MBs per frame at 1080p): keep the shots last visited only
            while len(self._props) > self.max_shots:
                self._props.popitem(last=False)
        self._props.move_to_end(shot)
        return p

    def set_shots(self, shots: ShotList) -> None:
        self.shots = shots
        self._props.clear()                          # shot ranges changed: start over

    def set_keyframe(self, k: int, kf) -> None:
        self._keys[k] = as_keyframe(kf)
        self._prop(k).set_keyframe(k, self._keys[k])

    def remove_keyframe(self, k: int) -> None:
        self._keys.pop(k, None)
        self._prop(k).remove_keyframe(k)

    def invalidate(self) -> None:
        for p in self._props.values():
            p.invalidate()

    def result(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        return self._prop(i).result(i)

    def ab(self, i: int) -> np.ndarray:
        return self.result(i)[0]

    def iter_results(self, start: int = 0, stop: int | None = None):
        stop = self.shots.n_frames if stop is None else stop
        for s0, s1 in self.shots.ranges():
            if s1 > start and s0 < stop:
                yield from self._prop(s0).iter_results(max(start, s0), min(stop, s1))


class PropagationFilter:
    """Adapter for a per-frame export hook ``(index, frame, model_ab) -> ab`` (core.batch's
    chroma_filter).  ``gray`` must give random access to the film (its own reader: the chain
    from the next keyframe reads frames ahead of the one being encoded)."""

    def __init__(self, gray: Callable[[int], np.ndarray], shots: ShotList,
                 keyframes: Mapping[int, object], flows: FlowCache | None = None, **prop_kw):
        self._model: dict[int, np.ndarray] = {}
        self.film = FilmPropagator(gray, self._model.__getitem__, shots, keyframes, flows,
                                   max_results=1, **prop_kw)

    def __call__(self, i: int, frame: np.ndarray, ab: np.ndarray) -> np.ndarray:
        self._model.clear()
        self._model[i] = np.asarray(ab, np.float32)
        return self.film.ab(i)


class MaskTracker:
    """A mask painted on frame k, carried along its object through k's shot.

    ``mask(i)`` is the mask on frame i (float32 (H, W) in [0, 1]); with use_confidence, pixels
    the flow says were not visible on frame k (occluded, entering the frame) fade out, so a
    correction does not smear onto whatever passes in front of its object."""

    def __init__(self, flows: FlowCache, mask: np.ndarray, k: int, shot: tuple[int, int],
                 use_confidence: bool = True, **tracker_kw):
        self.src = np.asarray(mask, np.float32)
        self.tracker = ChainTracker(flows, k, shot, **tracker_kw)
        self.use_confidence = use_confidence

    def mask(self, i: int) -> np.ndarray:
        m, conf = self.tracker.sample(self.src, i, border=cv2.BORDER_CONSTANT)
        if self.use_confidence:
            m = m * conf
        return np.clip(m, 0.0, 1.0)


def propagate_mask(flows: FlowCache, mask: np.ndarray, k: int, frames: tuple[int, int],
                   shot: tuple[int, int] | None = None, use_confidence: bool = True
                   ) -> Iterator[tuple[int, np.ndarray]]:
    """(i, mask_i) for i in [frames[0], frames[1]) clipped to k's shot (default: frames itself,
    e.g. (k, shots.next_cut(k)) for a correction that lives "until the next cut")."""
    shot = tuple(frames) if shot is None else tuple(shot)
    tr = MaskTracker(flows, mask, k, shot, use_confidence)
    a, b = max(frames[0], shot[0]), min(frames[1], shot[1])
    # walk outwards from k so every chain step is reused by the next frame
    for i in list(range(k, b)) + list(range(k - 1, a - 1, -1)):
        if a <= i < b:
            yield i, tr.mask(i)
