"""Motion-compensated temporal filtering of the model's chroma (deflicker), within a shot.

The network colours each frame on its own, so its a/b wander from frame to frame while the gray
film stays put.  For frame t we bring the chroma of neighbours t±1..±R onto t along the optical
flow of the gray film and average, each neighbour pixel weighted by
- its temporal distance (Gaussian, sigma_t),
- the forward-backward confidence of the (chained) flow: occluded or inconsistent pixels drop out,
- the luma residual after warping: if the gray does not match, neither will the chroma.
Only chroma is filtered; L always stays the frame's own, so no detail is lost.  Neighbours on
the other side of a cut are never used.

``strength`` in [0, 1] blends between the model's chroma (0) and the full filter (1).
``Deflicker`` is lazy per frame (with caching); ``deflicker_sequence`` is the batch path;
``deflicker_recursive`` is a causal one-flow-per-frame variant (exponential smoothing along
motion), cheaper for previews and for long static shots.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from .flow import (DEFAULT_PRESET, DEFAULT_SCALE, FlowCache, compose, photometric_confidence,
                   resize_map, upscale_flow, warp)
from .shots import ShotList

AbFn = Callable[[int], np.ndarray]


def _shot_of(shots, i: int, n: int | None) -> tuple[int, int]:
    if shots is None:
        return 0, n if n is not None else 1 << 30
    if isinstance(shots, ShotList):
        return shots.shot_of(i)
    return tuple(shots)                               # a single (start, stop) range


class Deflicker:
    """Lazy deflickered chroma.  ab(i): model chroma of frame i (float32 (H, W, 2)).

    shots: a ShotList, or one (start, stop) range, or None (whole film is one shot, n_frames
    then bounds it).  ``result(t)`` is cached (LRU) so scrubbing back and forth is free."""

    def __init__(self, flows: FlowCache, ab: AbFn, shots=None, n_frames: int | None = None,
                 radius: int = 3, strength: float = 1.0, sigma_t: float | None = None,
                 photometric: bool = True, max_results: int = 8):
        self.flows, self.ab_fn, self.shots, self.n_frames = flows, ab, shots, n_frames
        self.radius = int(radius)
        self.strength = float(np.clip(strength, 0.0, 1.0))
        # sigma_t = radius keeps the window fairly flat: flicker is noise, so equal weights
        # average it down best; the confidence terms handle what must not be averaged
        self.sigma_t = float(sigma_t) if sigma_t else float(max(radius, 1))
        self.photometric = photometric
        self.max_results = max_results
        self._results: OrderedDict = OrderedDict()

    def set_strength(self, strength: float) -> None:
        self.strength = float(np.clip(strength, 0.0, 1.0))
        self._results.clear()

    def weights(self, t: int) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """[(neighbour j, flow t->j work-res, weight map work-res)] for the neighbours of t."""
        s0, s1 = _shot_of(self.shots, t, self.n_frames)
        out = []
        g_t = self.flows.gray(t)
        for direction in (1, -1):
            F, c = None, None
            for d in range(1, self.radius + 1):
                j = t + direction * d
                if not s0 <= j < s1:
                    break
                f, cf = self.flows.step(j - direction, j)
                # chain outwards from t: t->j = (t->j-1) followed by (j-1 -> j)
                F, c = (f, cf) if F is None else compose(F, c, f, cf)
                w = c * np.float32(np.exp(-0.5 * (d / self.sigma_t) ** 2))
                if self.photometric:
                    w = w * photometric_confidence(g_t, warp(self.flows.gray(j), F), c > 0.5)
                out.append((j, F, w))
        return out

    def result(self, t: int) -> np.ndarray:
        r = self._results.get(t)
        if r is not None:
            self._results.move_to_end(t)
            return r
        ab_t = np.asarray(self.ab_fn(t), np.float32)
        if self.strength <= 0.0 or self.radius <= 0:
            return ab_t
        full = ab_t.shape[:2]
        num = ab_t.copy()
        den = np.ones(full, np.float32)
        for j, F, w in self.weights(t):
            wf = resize_map(w, full)
            num += wf[..., None] * warp(np.asarray(self.ab_fn(j), np.float32),
                                        upscale_flow(F, full))
            den += wf
        filt = num / den[..., None]
        r = (ab_t + self.strength * (filt - ab_t)).astype(np.float32)
        self._results[t] = r
        while len(self._results) > self.max_results:
            self._results.popitem(last=False)
        return r

    ab = result


def deflicker_sequence(abs_: Sequence[np.ndarray], grays: Sequence[np.ndarray],
                       cuts: Iterable[int] = (), radius: int = 3, strength: float = 1.0,
                       scale: float = DEFAULT_SCALE, preset: str = DEFAULT_PRESET,
                       **kw) -> Iterator[np.ndarray]:
    """Batch path: yields the deflickered ab of every frame in order.  Each flow is computed
    once (the cache holds the 2R+1 window's pairs)."""
    n = len(abs_)
    shots = ShotList(n, tuple(cuts))
    flows = FlowCache(lambda i: grays[i], scale=scale, preset=preset,
                      max_items=max(16, 8 * radius + 8))
    dfl = Deflicker(flows, lambda i: abs_[i], shots, n, radius, strength, max_results=1, **kw)
    for t in range(n):
        yield dfl.result(t)


def deflicker_recursive(abs_: Iterable[np.ndarray], grays: Iterable[np.ndarray],
                        cuts: Iterable[int] = (), strength: float = 1.0, memory: float = 0.8,
                        scale: float = DEFAULT_SCALE, preset: str = DEFAULT_PRESET
                        ) -> Iterator[np.ndarray]:
    """Causal variant: out_t = ab_t + a·w·(warp(out_{t-1}) - ab_t), a = memory·strength, w the
    flow confidence.  One backward flow pair per frame and no look-ahead, so it streams; the
    price is a slight lag when the true colour changes.  Restarts at every cut."""
    cutset = set(int(c) for c in cuts)
    a = float(np.clip(memory, 0.0, 0.99) * np.clip(strength, 0.0, 1.0))
    prev_out = None
    cache: dict = {}
    flows = FlowCache(lambda i: cache[i], scale=scale, preset=preset, max_items=4)
    for t, (ab, gray) in enumerate(zip(abs_, grays)):
        ab = np.asarray(ab, np.float32)
        cache[t] = gray
        cache.pop(t - 2, None)
        if prev_out is None or t in cutset or a <= 0.0:
            out = ab
        else:
            f, c = flows.step(t, t - 1)
            w = c * photometric_confidence(flows.gray(t), warp(flows.gray(t - 1), f), c > 0.5)
            full = ab.shape[:2]
            wf = a * resize_map(w, full)[..., None]
            out = ab + wf * (warp(prev_out, upscale_flow(f, full)) - ab)
        prev_out = out.astype(np.float32)
        yield prev_out
