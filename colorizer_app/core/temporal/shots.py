"""Shot detection on gray film, and the ShotList value type.

A cut at index k means frame k starts a new shot; frame 0 always starts one, so it is never
listed.  Shot ranges are half-open (start, stop).

Detection works on small per-frame signatures so that a film can be scanned as a stream
(ShotScanner keeps two floats per frame):
- Hard cuts: every signature is normalised to zero mean / unit contrast before comparison, which
  makes it blind to global exposure flicker (common in old film) and to the luma scaling of fades.
  A cut is a pair difference well above its local median (adaptive threshold): pans raise the
  whole neighbourhood, a cut stands alone.
- Fades to/from black or white: contrast (std of luma) dips towards zero between two stretches
  of picture; the new shot starts on the first frame after the bottom of the dip.
Cross-dissolves are not detected (the artist adds those cuts by hand).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..flow import to_gray8

_THUMB = (32, 18)        # (w, h) of the spatial signature; aspect is irrelevant at this size
_BINS = 32


@dataclass(frozen=True)
class FrameSignature:
    mean: float          # mean luma, 0..255
    std: float           # contrast, 0..255
    thumb: np.ndarray    # (18, 32) float32, zero mean / unit std (zeros if flat)
    hist: np.ndarray     # (_BINS,) float32 histogram of the normalised luma, sums to 1


def signature(gray: np.ndarray) -> FrameSignature:
    g = to_gray8(gray)
    small = cv2.resize(g, (128, max(8, round(128 * g.shape[0] / g.shape[1]))),
                       interpolation=cv2.INTER_AREA).astype(np.float32)
    m, s = float(small.mean()), float(small.std())
    z = (small - m) / max(s, 1e-3)
    # low-pass before decimating: fine texture would alias into the cells and make every
    # sub-cell motion look like a change of picture
    thumb = cv2.resize(cv2.GaussianBlur(z, (0, 0), 2.5), _THUMB, interpolation=cv2.INTER_AREA)
    hist = np.histogram(np.clip(z, -3, 3), bins=_BINS, range=(-3, 3))[0].astype(np.float32)
    hist /= max(hist.sum(), 1.0)
    return FrameSignature(m, s, thumb if s > 1e-3 else np.zeros_like(thumb), hist)


def pair_score(a: FrameSignature, b: FrameSignature) -> float:
    """Dissimilarity of two consecutive frames, insensitive to exposure, fades and moderate
    motion: layout term = mean |Δz| of the thumbnails, minimised over ±1 cell shifts (a pan of
    up to ~3% of the width per frame costs nothing; unrelated pictures give ~1), plus the
    half-L1 distance of the normalised histograms (motion-blind, 0..1)."""
    h, w = a.thumb.shape
    best = np.inf
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            pa = a.thumb[max(0, dy):h + min(0, dy), max(0, dx):w + min(0, dx)]
            pb = b.thumb[max(0, -dy):h + min(0, -dy), max(0, -dx):w + min(0, -dx)]
            best = min(best, float(np.mean(np.abs(pa - pb))))
    d_h = 0.5 * float(np.abs(a.hist - b.hist).sum())
    return best + d_h


def detect_cuts(grays: Iterable[np.ndarray], **kw: Any) -> list[int]:
    """Sorted cut indices for a sequence (or stream) of gray frames.  See cuts_from_signatures."""
    return cuts_from_signatures([signature(g) for g in grays], **kw)


def cuts_from_signatures(sigs: Sequence[FrameSignature], **kw: Any) -> list[int]:
    """Hard cuts and fades from per-frame signatures (see cuts_from_scores for the options)."""
    n = len(sigs)
    score = np.zeros(n)                       # score[t]: pair (t-1, t)
    for t in range(1, n):
        score[t] = pair_score(sigs[t - 1], sigs[t])
    return cuts_from_scores(score, [s.std for s in sigs], **kw)


class ShotScanner:
    """Streaming shot detection: ``push(gray)`` frame after frame, then ``cuts()``.

    Keeps only the previous frame's signature and two floats per frame (pair score, contrast),
    so scanning a feature film holds ~16 bytes per frame (a 2-hour film at 24 fps: 2.8 MB)
    whatever its resolution; the decision itself needs the whole score curve (adaptive
    threshold over a ±window, fade dips), which is why it runs once at the end."""

    def __init__(self) -> None:
        self._prev: FrameSignature | None = None
        self._score: list[float] = []
        self._std: list[float] = []

    def __len__(self) -> int:
        return len(self._std)

    def push(self, gray: np.ndarray) -> None:
        sig = signature(gray)
        self._score.append(0.0 if self._prev is None else pair_score(self._prev, sig))
        self._std.append(sig.std)
        self._prev = sig

    def cuts(self, **kw: Any) -> list[int]:
        return cuts_from_scores(self._score, self._std, **kw)


def cuts_from_scores(score: Sequence[float] | np.ndarray, std: Sequence[float] | np.ndarray,
                     abs_thr: float = 0.3,
                     rel_thr: float = 3.0, window: int = 8, flat_std: float = 6.0,
                     dip_ratio: float = 0.2, fade_window: int = 15,
                     min_shot: int = 4) -> list[int]:
    """Hard cuts and fades from the pair scores (score[t] = pair_score(t-1, t); score[0]
    unused) and per-frame contrast std[t].

    abs_thr/rel_thr: a pair is a hard cut when its score exceeds both abs_thr and rel_thr × the
    median score of the ±window neighbours.  flat_std: contrast (0..255) under which a frame
    counts as blank (no picture to compare).  dip_ratio/fade_window: a contrast dip below
    dip_ratio × the contrast within fade_window frames on BOTH sides is a fade out/in.
    min_shot: of cuts closer than this, the stronger wins (a single flash frame is no shot)."""
    n = len(std)
    if n < 2:
        return []
    std = np.asarray(std, np.float64)
    flat = std < flat_std
    score = np.array(score, np.float64)
    score[0] = 0.0
    score[1:][flat[1:] | flat[:-1]] = 0.0     # a blank frame has no picture to compare
    cands: list[tuple[float, int]] = []
    for t in range(1, n):
        if score[t] <= abs_thr:
            continue
        lo, hi = max(1, t - window), min(n, t + window + 1)
        neigh = [score[u] for u in range(lo, hi) if u != t and not (flat[u] or flat[u - 1])]
        base = float(np.median(neigh)) if neigh else 0.0
        if score[t] > rel_thr * base:
            cands.append((score[t] / max(abs_thr, rel_thr * base), t))
    for k in _fade_cuts(std, flat, dip_ratio, fade_window):
        cands.append((1e3, k))                 # fades are unambiguous: keep them over hard cuts
    chosen: list[int] = []
    for _, k in sorted(cands, reverse=True):
        if all(abs(k - c) >= min_shot for c in chosen):
            chosen.append(k)
    return sorted(chosen)


def _fade_cuts(std: np.ndarray, flat: np.ndarray, dip_ratio: float, win: int) -> list[int]:
    n = len(std)
    out = []
    t = 1
    while t < n - 1:
        left = std[max(0, t - win):t]
        right = std[t + 1:t + 1 + win]
        if len(left) == 0 or len(right) == 0:
            t += 1
            continue
        ref = min(left.max(), right.max())
        if not (flat[t] or std[t] < dip_ratio * ref) or ref < 2 * max(std[t], 1.0):
            t += 1
            continue
        # walk over the whole dip; its bottom is where contrast is within 10% (or 1 level) of
        # the minimum, and the new shot starts right after the last bottom frame
        a = t
        while t + 1 < n and (flat[t + 1] or std[t + 1] < dip_ratio * ref):
            t += 1
        b = t
        lo = std[a:b + 1].min()
        bottom = [u for u in range(a, b + 1) if std[u] <= lo + max(1.0, 0.1 * lo)]
        k = bottom[-1] + 1
        # a dip that ends the film or has no picture after it is a fade-out, not a cut
        if k < n and std[k:min(n, k + win)].max() >= dip_ratio * ref and b + 1 < n:
            out.append(k)
        t = b + 1
    return out


# ---------------------------------------------------------------- ShotList

def shot_ranges(cuts: Iterable[int], n_frames: int) -> list[tuple[int, int]]:
    """Half-open (start, stop) ranges of the shots for cuts over n_frames frames."""
    bounds = [0] + sorted(c for c in set(cuts) if 0 < c < n_frames) + [n_frames]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


@dataclass(frozen=True)
class ShotList:
    """Immutable list of cuts over a film of n_frames.  Edits return a new ShotList, so an undo
    command can keep the before/after values and nothing else."""
    n_frames: int
    cuts: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        clean = tuple(sorted({int(c) for c in self.cuts if 0 < int(c) < self.n_frames}))
        object.__setattr__(self, "cuts", clean)

    # edits -----------------------------------------------------------
    def add(self, k: int) -> ShotList:
        return ShotList(self.n_frames, self.cuts + (int(k),))

    def delete(self, k: int) -> ShotList:
        if k not in self.cuts:
            raise ValueError(f"no cut at frame {k}")
        return ShotList(self.n_frames, tuple(c for c in self.cuts if c != k))

    def move(self, k: int, new: int) -> ShotList:
        """Move cut k to `new`, clamped between its neighbours so that order never changes
        (dragging a marker cannot jump over or merge with another cut)."""
        if k not in self.cuts:
            raise ValueError(f"no cut at frame {k}")
        i = self.cuts.index(k)
        lo = self.cuts[i - 1] + 1 if i > 0 else 1
        hi = self.cuts[i + 1] - 1 if i + 1 < len(self.cuts) else self.n_frames - 1
        new = min(max(int(new), lo), hi)
        return ShotList(self.n_frames, self.cuts[:i] + (new,) + self.cuts[i + 1:])

    # queries ---------------------------------------------------------
    def ranges(self) -> list[tuple[int, int]]:
        return shot_ranges(self.cuts, self.n_frames)

    def shot_index(self, i: int) -> int:
        return int(np.searchsorted(np.asarray(self.cuts, dtype=np.int64), i, side="right"))

    def shot_of(self, i: int) -> tuple[int, int]:
        """(start, stop) of the shot holding frame i."""
        return self.ranges()[self.shot_index(i)]

    def next_cut(self, i: int) -> int:
        """First frame of the next shot after frame i (n_frames in the last shot): the end of a
        correction whose lifetime is "until the next cut"."""
        return self.shot_of(i)[1]

    def same_shot(self, i: int, j: int) -> bool:
        return self.shot_index(i) == self.shot_index(j)

    def __len__(self) -> int:
        return len(self.cuts) + 1

    # serialisation ---------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"n_frames": int(self.n_frames), "cuts": [int(c) for c in self.cuts]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ShotList:
        return cls(int(d["n_frames"]), tuple(int(c) for c in d.get("cuts", ())))

    @classmethod
    def detect(cls, grays: Sequence[np.ndarray], **kw: Any) -> ShotList:
        return cls(len(grays), tuple(detect_cuts(grays, **kw)))
