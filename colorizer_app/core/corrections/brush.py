"""Stamp-based soft round brush: stroke smoothing, rasterising, paint/erase onto sparse masks.

A stroke is rasterised into a *coverage* buffer (max of the stamps, so overlapping dabs of one
stroke never build up past the brush opacity), then applied to the mask once:

    paint:  m' = m + (1 - m) * opacity * coverage      ("over", never exceeds 1)
    erase:  m' = m * (1 - opacity * coverage)

Undo needs only the touched region, so every rasterisation reports the bbox it changed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from .masks import BBox, SparseMask, bbox_clip, bbox_slices, bbox_union

# Sub-pixel stamp positions are quantised to 1/SUBPIX px so stamp kernels can be cached.
SUBPIX = 4


@dataclass(frozen=True)
class BrushSettings:
    size: float = 40.0          # diameter in full-frame pixels
    softness: float = 0.5       # 0 = hard edge (1 px antialias), 1 = feathered from centre to rim
    opacity: float = 1.0        # 0..1, the most one stroke can change the mask
    eraser: bool = False
    smoothing: float = 0.0      # 0..0.95 exponential lag on the input points ("lazy mouse")
    spacing: float = 0.25       # stamp spacing as a fraction of the size

    def spacing_px(self) -> float:
        return max(0.5, self.size * self.spacing)


class StrokePatch(NamedTuple):
    """What one committed stroke changed in one mask: enough to undo and redo it exactly."""
    bbox: BBox
    before: np.ndarray
    after: np.ndarray


def brush_profile(d: np.ndarray, size: float, softness: float) -> np.ndarray:
    """Coverage at distance d from the stamp centre: 1 in the core, smoothstep to 0 at the rim."""
    r = max(size, 0.5) / 2.0
    width = max(r * float(np.clip(softness, 0.0, 1.0)), 1.0)  # >= 1 px so hard brushes antialias
    r0 = max(r - width, 0.0)
    t = np.clip((d - r0) / max(r - r0, 1e-6), 0.0, 1.0)
    return (1.0 - t * t * (3.0 - 2.0 * t)).astype(np.float32)


@lru_cache(maxsize=256)
def _stamp_kernel(size: float, softness: float, qy: int, qx: int) -> tuple[int, np.ndarray]:
    """Kernel for a stamp whose centre sits (qy, qx)/SUBPIX px past an integer pixel centre."""
    rad = int(math.ceil(max(size, 0.5) / 2.0)) + 1
    ys = np.arange(-rad, rad + 1, dtype=np.float32) - qy / SUBPIX
    xs = np.arange(-rad, rad + 1, dtype=np.float32) - qx / SUBPIX
    d = np.sqrt(ys[:, None] ** 2 + xs[None, :] ** 2)
    k = brush_profile(d, size, softness)
    k.setflags(write=False)
    return rad, k


class StrokePath:
    """Turns raw pointer samples into evenly spaced stamp centres, incrementally.

    Exponential smoothing removes hand jitter; Catmull-Rom through the smoothed points gives a
    curve without corners; arc-length resampling puts a stamp every ``spacing`` px whatever the
    mouse speed. Catmull-Rom needs one point of look-ahead, so the newest segment is emitted when
    the next point arrives, and the last one by finish().
    """

    def __init__(self, spacing: float, smoothing: float = 0.0):
        self.spacing = max(float(spacing), 0.25)
        self.smoothing = float(np.clip(smoothing, 0.0, 0.95))
        self.pts: list[tuple[float, float]] = []   # smoothed control points (x, y)
        self._last_raw: tuple[float, float] | None = None
        self._carry = 0.0                           # arc length since the last stamp
        self._emitted = 0                           # segments already emitted

    def add(self, x: float, y: float) -> list[tuple[float, float]]:
        self._last_raw = (float(x), float(y))
        if self.pts and self.smoothing > 0:
            px, py = self.pts[-1]
            a = 1.0 - self.smoothing
            x, y = px + a * (x - px), py + a * (y - py)
        if self.pts and math.hypot(x - self.pts[-1][0], y - self.pts[-1][1]) < 1e-3:
            return []
        self.pts.append((float(x), float(y)))
        if len(self.pts) == 1:
            return [self.pts[0]]            # a click alone paints one dab
        out: list[tuple[float, float]] = []
        while self._emitted < len(self.pts) - 2:
            out += self._segment(self._emitted)
        return out

    def finish(self) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        if self.smoothing > 0 and self._last_raw is not None and self.pts:
            # The smoothed point lags the pointer; catch up so the stroke ends where the user let go.
            lx, ly = self._last_raw
            if math.hypot(lx - self.pts[-1][0], ly - self.pts[-1][1]) >= 1e-3:
                self.pts.append((lx, ly))
        while self._emitted < len(self.pts) - 1:
            out += self._segment(self._emitted)
        return out

    def _segment(self, i: int) -> list[tuple[float, float]]:
        p = self.pts
        p0 = np.array(p[max(i - 1, 0)])
        p1 = np.array(p[i])
        p2 = np.array(p[i + 1])
        p3 = np.array(p[min(i + 2, len(p) - 1)])
        self._emitted = i + 1
        chord = float(np.linalg.norm(p2 - p1))
        n = max(4, int(chord / 0.5) + 2)
        t = np.linspace(0.0, 1.0, n)[:, None]
        t2, t3 = t * t, t * t * t
        curve = 0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2
                       + (-p0 + 3 * p1 - 3 * p2 + p3) * t3)
        seg = np.sqrt((np.diff(curve, axis=0) ** 2).sum(axis=1))
        arc = np.concatenate([[0.0], np.cumsum(seg)])
        total = float(arc[-1])
        first = self.spacing - self._carry
        if first > total:
            self._carry += total
            return []
        targets = np.arange(first, total + 1e-9, self.spacing)
        xs = np.interp(targets, arc, curve[:, 0])
        ys = np.interp(targets, arc, curve[:, 1])
        self._carry = total - float(targets[-1])
        return list(zip(xs.tolist(), ys.tolist()))


class CoverageBuffer:
    """Full-frame coverage of the stroke in progress plus the bbox it has touched so far."""

    def __init__(self, shape: tuple[int, int], brush: BrushSettings):
        self.shape = (int(shape[0]), int(shape[1]))
        self.brush = brush
        self.cov = np.zeros(self.shape, np.float32)
        self.bbox: BBox | None = None

    def stamp(self, centres: Iterable[tuple[float, float]]) -> BBox | None:
        """Max-composite stamps at (x, y) centres; returns the bbox changed by this call."""
        changed: BBox | None = None
        size, soft = float(self.brush.size), float(self.brush.softness)
        for x, y in centres:
            ix, iy = int(math.floor(x + 0.5)), int(math.floor(y + 0.5))
            qx = int(round((x - ix) * SUBPIX))
            qy = int(round((y - iy) * SUBPIX))
            rad, k = _stamp_kernel(size, soft, qy, qx)
            b = bbox_clip((iy - rad, ix - rad, iy + rad + 1, ix + rad + 1), self.shape)
            if b is None:
                continue
            ky0, kx0 = b[0] - (iy - rad), b[1] - (ix - rad)
            view = self.cov[bbox_slices(b)]
            np.maximum(view, k[ky0:ky0 + view.shape[0], kx0:kx0 + view.shape[1]], out=view)
            changed = bbox_union(changed, b)
        self.bbox = bbox_union(self.bbox, changed)
        return changed

    def patch(self, b: BBox) -> np.ndarray:
        return self.cov[bbox_slices(b)]


def apply_coverage(mask_patch: np.ndarray, cov: np.ndarray, opacity: float,
                   eraser: bool) -> np.ndarray:
    """New mask values where a stroke of coverage ``cov`` passes (see module docstring)."""
    w = cov * np.float32(np.clip(opacity, 0.0, 1.0))
    if eraser:
        erased: NDArray[np.float32] = (mask_patch * (1.0 - w)).astype(np.float32)
        return erased
    return (mask_patch + (1.0 - mask_patch) * w).astype(np.float32)


def rasterize_stroke(mask: SparseMask, points: Sequence[tuple[float, float]],
                     brush: BrushSettings) -> StrokePatch | None:
    """Rasterise a whole stroke of (x, y) pointer samples into ``mask`` (modified in place).

    Returns (bbox, before, after) of the touched region, or None if the stroke missed the frame.
    """
    path = StrokePath(brush.spacing_px(), brush.smoothing)
    buf = CoverageBuffer(mask.shape, brush)
    for x, y in points:
        buf.stamp(path.add(x, y))
    buf.stamp(path.finish())
    return commit_coverage(mask, buf)


def commit_coverage(mask: SparseMask, buf: CoverageBuffer) -> StrokePatch | None:
    if buf.bbox is None:
        return None
    b = buf.bbox
    before = mask.get_patch(b)
    after = apply_coverage(before, buf.patch(b), buf.brush.opacity, buf.brush.eraser)
    mask.set_patch(b, after)
    return StrokePatch(b, before, after)


def restore_patch(mask: SparseMask, bbox: BBox, values: np.ndarray) -> None:
    """Undo/redo: put back the exact values of a StrokePatch."""
    mask.set_patch(bbox, values)
