"""Motion-compensated temporal filtering of the model's chroma (deflicker), within a shot.

The network colours each frame on its own, so its a/b wander from frame to frame while the gray
film stays put.  For frame t we bring the chroma of neighbours t±1..±R onto t along the optical
flow of the gray film and average, each neighbour pixel weighted by
- its temporal distance (Gaussian, sigma_t),
- the forward-backward confidence of the (chained) flow: occluded or inconsistent pixels drop out,
  unless ``fill``: there the flow of the trusted surroundings is tried instead (flow.fill_flow;
  sky, fog, blur and streaks fail the test although they move with the camera: on a held-out
  storm shot this took the residual flicker from 18x to 4.5x the film's),
- the luma residual after warping: if the gray does not match, neither will the chroma (this is
  what still rejects truly occluded or new picture when the flow is filled).
Only chroma is filtered; L always stays the frame's own, so no detail is lost.  Neighbours on
the other side of a cut are never used.

``strength`` in [0, 1] blends between the model's chroma (0) and the full filter (1).
``Deflicker`` is lazy per frame (with caching); ``deflicker_sequence`` is the batch path;
``RecursiveDeflicker`` / ``deflicker_recursive`` is a causal one-flow-pair-per-frame variant
(exponential smoothing along motion) that needs no look-ahead, so it plugs into a streaming
per-frame hook.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import cv2
import numpy as np

from ..flow import (
    DEFAULT_PRESET,
    DEFAULT_SCALE,
    FlowCache,
    compose,
    fill_flow,
    in_frame,
    photometric_confidence,
    resize_map,
    sample_full,
    warp,
)
from .shots import ShotList

AbFn = Callable[[int], np.ndarray]


def _shot_of(shots: ShotList | Sequence[int] | None, i: int, n: int | None) -> tuple[int, int]:
    if shots is None:
        return 0, n if n is not None else 1 << 30
    if isinstance(shots, ShotList):
        return shots.shot_of(i)
    start, stop = shots                               # a single (start, stop) range
    return start, stop


class Deflicker:
    """Lazy deflickered chroma.  ab(i): model chroma of frame i (float32 (H, W, 2)).

    shots: a ShotList, or one (start, stop) range, or None (whole film is one shot, n_frames
    then bounds it).  ``result(t)`` is cached (LRU) so scrubbing back and forth is free."""

    def __init__(self, flows: FlowCache, ab: AbFn | None,
                 shots: ShotList | Sequence[int] | None = None, n_frames: int | None = None,
                 radius: int = 3, strength: float = 1.0, sigma_t: float | None = None,
                 photometric: bool = True, full_res: bool = False, max_results: int = 8,
                 fill: bool = True) -> None:
        self.flows, self.ab_fn, self.shots, self.n_frames = flows, ab, shots, n_frames
        self.radius = int(radius)
        self.strength = float(np.clip(strength, 0.0, 1.0))
        # sigma_t = radius keeps the window fairly flat: flicker is noise, so equal weights
        # average it down best; the confidence terms handle what must not be averaged
        self.sigma_t = float(sigma_t) if sigma_t else float(max(radius, 1))
        self.photometric = photometric
        self.fill = fill and photometric             # a filled flow must pass the luma check
        self.full_res = full_res
        self._smalls: OrderedDict[int, np.ndarray] = OrderedDict()
        self.max_results = max_results
        self._results: OrderedDict[int, np.ndarray] = OrderedDict()

    def set_strength(self, strength: float) -> None:
        """Instant: the cache holds the full filter's correction, strength scales it on read."""
        self.strength = float(np.clip(strength, 0.0, 1.0))

    def invalidate(self) -> None:
        """Forget cached results (the model's chroma changed)."""
        self._results.clear()
        self._smalls.clear()

    def _ab(self, j: int) -> np.ndarray:
        """Model chroma of frame j as float32 (ab None: this filter serves weights() only)."""
        assert self.ab_fn is not None, "a Deflicker without chroma gives weights() only"
        return np.asarray(self.ab_fn(j), np.float32)

    def weights(self, t: int) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """[(neighbour j, flow t->j work-res, weight map work-res)] for the neighbours of t."""
        s0, s1 = _shot_of(self.shots, t, self.n_frames)
        out = []
        g_t = self.flows.gray(t)
        for direction in (1, -1):
            F: np.ndarray | None = None
            c: np.ndarray | None = None
            for d in range(1, self.radius + 1):
                j = t + direction * d
                if not s0 <= j < s1:
                    break
                f, cf = self.flows.step(j - direction, j)
                # chain outwards from t: t->j = (t->j-1) followed by (j-1 -> j)
                F, c = (f, cf) if F is None else compose(F, c, f, cf)
                G, w = neighbour_weight(g_t, self.flows.gray(j), F, c, self.photometric, self.fill)
                out.append((j, G, w * np.float32(np.exp(-0.5 * (d / self.sigma_t) ** 2))))
        return out

    def _small(self, j: int) -> np.ndarray:
        s = self._smalls.get(j)
        if s is not None:
            self._smalls.move_to_end(j)
        else:
            assert self.flows.work_shape is not None  # (weights() read the grays first)
            h, w = self.flows.work_shape
            s = cv2.resize(self._ab(j), (w, h),
                           interpolation=cv2.INTER_AREA)
            self._smalls[j] = s
            while len(self._smalls) > 2 * self.radius + 2:
                self._smalls.popitem(last=False)
        return s

    def correction(self, t: int) -> np.ndarray:
        """Full-strength filter output minus the model's chroma for frame t (cached)."""
        delta = self._results.get(t)
        if delta is not None:
            self._results.move_to_end(t)
            return delta
        ab_t = self._ab(t)
        full = ab_t.shape[:2]
        neigh = self.weights(t)                       # also sets flows.work_shape
        if self.full_res or self.flows.work_shape == full:
            num, den = ab_t.copy(), np.ones(full, np.float32)
            for j, F, w in neigh:
                wf = resize_map(w, full)
                num += wf[..., None] * sample_full(self._ab(j), F)
                den += wf
            delta = num / den[..., None] - ab_t
        else:
            # filter at work resolution and add the upsampled correction: the flicker being
            # removed is smooth (the model works at 256 px anyway), the frame's own chroma
            # detail is kept untouched, and it is ~4x cheaper than full-res warps
            s_t = self._small(t)
            num, den = s_t.copy(), np.ones(s_t.shape[:2], np.float32)
            for j, F, w in neigh:
                num += w[..., None] * warp(self._small(j), F)
                den += w
            delta = resize_map(num / den[..., None] - s_t, full)
        delta = delta.astype(np.float32)
        self._results[t] = delta
        while len(self._results) > self.max_results:
            self._results.popitem(last=False)
        return delta

    def result(self, t: int) -> np.ndarray:
        """Deflickered ab of frame t at the current strength."""
        ab_t = self._ab(t)
        if self.strength <= 0.0 or self.radius <= 0:
            return ab_t
        return (ab_t + self.strength * self.correction(t)).astype(np.float32)

    ab = result


def neighbour_weight(g_t: np.ndarray, g_j: np.ndarray, F: np.ndarray, c: np.ndarray,
                     photometric: bool = True, fill: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(flow t->j to sample with, weight map on t) for a neighbour j of frame t (work res)."""
    if fill:
        G = fill_flow(F, c)
        w = c + (1.0 - c) * in_frame(G)             # filled pixels are judged by luma alone
    else:
        G, w = F, c
    if photometric:
        w = w * photometric_confidence(g_t, warp(g_j, G), c > 0.5)
    return G, w.astype(np.float32)


def deflicker_sequence(abs_: Sequence[np.ndarray], grays: Sequence[np.ndarray],
                       cuts: Iterable[int] = (), radius: int = 3, strength: float = 1.0,
                       scale: float = DEFAULT_SCALE, preset: str = DEFAULT_PRESET,
                       **kw: Any) -> Iterator[np.ndarray]:
    """Batch path: yields the deflickered ab of every frame in order.  Each flow is computed
    once (the cache holds the 2R+1 window's pairs)."""
    n = len(abs_)
    shots = ShotList(n, tuple(cuts))
    flows = FlowCache(lambda i: grays[i], scale=scale, preset=preset,
                      max_items=max(16, 8 * radius + 8))
    dfl = Deflicker(flows, lambda i: abs_[i], shots, n, radius, strength, max_results=1, **kw)
    for t in range(n):
        yield dfl.result(t)


class RecursiveDeflicker:
    """Causal deflicker for streams: out_t = ab_t + a·w·(warp(out_{t-1}) - ab_t), with
    a = memory·strength and w the flow confidence (forward-backward and luma check; with
    ``fill``, untrusted flow is replaced by the surroundings' motion and judged by luma alone,
    see neighbour_weight).  ``flows``: share another filter's FlowCache (no flow twice).

    One flow pair per frame and no look-ahead, so it fits a per-frame hook such as
    core.pipeline.batch's ``chroma_filter(index, frame, ab) -> ab``: call it with frames in order.  The
    price is a slight lag when the true colour changes.  It restarts at every cut and whenever
    the index does not follow the previous one (a seek)."""

    def __init__(self, shots: ShotList | Iterable[int] = (), strength: float = 1.0,
                 memory: float = 0.8, scale: float = DEFAULT_SCALE, preset: str = DEFAULT_PRESET,
                 fill: bool = True, flows: FlowCache | None = None):
        self.cuts = set(shots.cuts if isinstance(shots, ShotList) else (int(c) for c in shots))
        self.a = float(np.clip(memory, 0.0, 0.99) * np.clip(strength, 0.0, 1.0))
        self.fill = fill
        self._grays: dict[int, np.ndarray] = {}
        # flows: a FlowCache that already knows the film's frames (shared with another filter,
        # so no flow is computed twice); the frames passed to __call__ are then not used
        self._own = flows is None
        self._flows = flows if flows is not None else FlowCache(lambda i: self._grays[i], scale=scale,
                                                                preset=preset, max_items=4)
        self._prev: tuple[int, np.ndarray] | None = None

    def reset(self) -> None:
        self._prev = None
        self._grays.clear()
        if self._own:
            self._flows.clear()

    def __call__(self, t: int, frame: np.ndarray, ab: np.ndarray) -> np.ndarray:
        """frame: the gray film frame (uint8 gray, float L or RGB); ab: model chroma of t."""
        ab = np.asarray(ab, np.float32)
        if self._own:
            self._grays[t] = frame
            for k in [k for k in self._grays if k < t - 1]:
                del self._grays[k]
        prev = self._prev
        if prev is None or prev[0] != t - 1 or t in self.cuts or self.a <= 0.0:
            out = ab
        else:
            f, c = self._flows.step(t, t - 1)
            g, w = neighbour_weight(self._flows.gray(t), self._flows.gray(t - 1), f, c,
                                    fill=self.fill)
            full = ab.shape[:2]
            wf = self.a * resize_map(w, full)[..., None]
            out = ab + wf * (sample_full(prev[1], g) - ab)
        out = out.astype(np.float32)
        self._prev = (t, out)
        return out


def deflicker_recursive(abs_: Iterable[np.ndarray], grays: Iterable[np.ndarray],
                        cuts: Iterable[int] = (), strength: float = 1.0, memory: float = 0.8,
                        scale: float = DEFAULT_SCALE, preset: str = DEFAULT_PRESET
                        ) -> Iterator[np.ndarray]:
    """Batch form of RecursiveDeflicker over whole sequences (streams; no look-ahead)."""
    rd = RecursiveDeflicker(tuple(cuts), strength, memory, scale, preset)
    for t, (ab, g) in enumerate(zip(abs_, grays)):
        yield rd(t, g, ab)
