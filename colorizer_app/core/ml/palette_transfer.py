"""No-learning palette transfer: the keyframes' mean a/b per lightness level, laid on gray frames.

A film repeats its palette: the same skin at the same lightness, the same dress, the same set.
Averaging the keyframes' chroma per L level and reading it back by each gray pixel's L gives
the shots without keyframes the film's overall colour in milliseconds, with nothing to train.
It is the baseline a learned adaptation (core.ml.adapt) must beat, and a fallback when there is
no time to learn. Bins without keyframe pixels take their neighbours' values (interpolated), so
every L gets a colour; the curve is smoothed a little so neighbouring levels do not band.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

BINS = 32           # lightness levels over L 0..100 (~3 L units each)
SMOOTH_BINS = 1.0   # gaussian smoothing of the a/b curves, in bins


class PaletteTransfer:
    """Fit from (L, ab[, weight]) keyframes; `ab_for(L)` gives a gray frame the keyframes' palette."""

    def __init__(self, bins: int = BINS):
        self.bins = int(bins)
        self._sum = np.zeros((self.bins, 2), np.float64)
        self._count = np.zeros(self.bins, np.float64)
        self._curve: np.ndarray | None = None

    @classmethod
    def from_keyframes(cls, keyframes: Iterable[Any], bins: int = BINS) -> PaletteTransfer:
        """`keyframes`: objects with .L (H, W; 0..100), .ab (H, W, 2) and optional .weight (H, W)."""
        pt = cls(bins)
        for k in keyframes:
            pt.add(k.L, k.ab, getattr(k, "weight", None))
        return pt

    def _bin(self, L: np.ndarray) -> np.ndarray:
        return np.clip((np.asarray(L, np.float32) * (self.bins / 100.0)).astype(np.int64), 0, self.bins - 1)

    def add(self, L: np.ndarray, ab: np.ndarray, weight: np.ndarray | None = None) -> None:
        idx = self._bin(L).ravel()
        w = np.ones(idx.shape, np.float64) if weight is None else np.asarray(weight, np.float64).ravel()
        ab = np.asarray(ab, np.float64).reshape(-1, 2)
        self._count += np.bincount(idx, w, self.bins)
        for c in range(2):
            self._sum[:, c] += np.bincount(idx, w * ab[:, c], self.bins)
        self._curve = None

    @property
    def fitted(self) -> bool:
        return bool(self._count.sum() > 0)

    def curve(self) -> np.ndarray:
        """(bins, 2) mean a/b per lightness level, empty levels interpolated from their neighbours."""
        if self._curve is None:
            if not self.fitted:
                raise ValueError("palette transfer has no keyframe pixels")
            have = self._count > 1e-9
            centres = np.arange(self.bins, dtype=np.float64)
            mean = np.zeros((self.bins, 2))
            mean[have] = self._sum[have] / self._count[have, None]
            full = np.stack([np.interp(centres, centres[have], mean[have, c]) for c in range(2)], -1)
            if SMOOTH_BINS > 0:
                full = cv2.GaussianBlur(full.astype(np.float32)[:, None, :], (1, 0), sigmaX=0.1,
                                        sigmaY=SMOOTH_BINS, borderType=cv2.BORDER_REPLICATE)[:, 0, :]
            self._curve = np.asarray(full, np.float32)
        return self._curve

    def ab_for(self, L: np.ndarray) -> np.ndarray:
        """Gray L (H, W; 0..100) -> ab (H, W, 2) float32, linearly interpolated between levels."""
        curve = self.curve()
        pos = np.clip(np.asarray(L, np.float32) * (self.bins / 100.0) - 0.5, 0, self.bins - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, self.bins - 1)
        t = (pos - lo)[..., None]
        ab: NDArray[np.float32] = (curve[lo] * (1 - t) + curve[hi] * t).astype(np.float32)
        return ab
