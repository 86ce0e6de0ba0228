"""Folding a stack of chroma corrections into one per-pixel affine map, fast.

Each correction blends ``ab = ab * (1 - w) + chroma * w`` (w = mask * opacity). A chain of such
blends is, per pixel, ``ab_out = ab_in * T + S``. We keep T and the two planes of S as separate
contiguous float32 arrays (half the memory traffic of an interleaved (h, w, 2) S) and fold each
mask only over its non-empty 64x64 tiles: a correction's bounding box is often large while the
painted pixels are few (several strokes far apart), and painting cost must not grow with the
area of the frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .masks import BBox, SparseMask, bbox_slices, bbox_union

TILE = 64
Layer = tuple[SparseMask, float, tuple[float, float]]   # (mask, opacity, (a, b))


class Affine(NamedTuple):
    """Per-pixel ab_out = ab_in * T + (Sa, Sb) over bbox; identity outside."""
    bbox: BBox | None
    T: np.ndarray | None
    Sa: np.ndarray | None
    Sb: np.ndarray | None

    def apply(self, ab: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        out = np.array(ab, dtype=np.float32, copy=True) if out is None else out
        if self.bbox is not None:
            sl = bbox_slices(self.bbox)
            for ch, S in ((0, self.Sa), (1, self.Sb)):
                plane = out[sl + (ch,)]
                plane *= self.T
                plane += S
        return out

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(T, Sa, Sb) of an affine with a bbox (they are set together with it)."""
        assert self.T is not None and self.Sa is not None and self.Sb is not None, "identity"
        return self.T, self.Sa, self.Sb

    def patch(self, b: BBox) -> tuple[np.ndarray, np.ndarray]:
        """(T, S) inside bbox b: T (h, w), S (h, w, 2); identity where the affine has no data."""
        T = np.ones((b[2] - b[0], b[3] - b[1]), np.float32)
        S = np.zeros((b[2] - b[0], b[3] - b[1], 2), np.float32)
        if self.bbox is not None:
            y0, x0 = max(b[0], self.bbox[0]), max(b[1], self.bbox[1])
            y1, x1 = min(b[2], self.bbox[2]), min(b[3], self.bbox[3])
            if y1 > y0 and x1 > x0:
                src = (slice(y0 - self.bbox[0], y1 - self.bbox[0]),
                       slice(x0 - self.bbox[1], x1 - self.bbox[1]))
                dst = (slice(y0 - b[0], y1 - b[0]), slice(x0 - b[1], x1 - b[1]))
                sT, sa, sb = self.arrays()
                T[dst] = sT[src]
                S[dst + (0,)] = sa[src]
                S[dst + (1,)] = sb[src]
        return T, S

    def weight(self) -> np.ndarray | None:
        """Total correction weight 1 - T over bbox (for an overlay of what is painted)."""
        return None if self.T is None else 1.0 - self.T


IDENTITY = Affine(None, None, None, None)


def tile_occupancy(mask: SparseMask) -> np.ndarray:
    """Bool grid over the mask's crop: True where a TILE x TILE block has any paint (cached)."""
    if mask.occ is not None:
        return mask.occ
    d = mask.data
    assert d is not None, "an empty mask has no tiles"  # callers skip them
    h, w = d.shape
    th, tw = -(-h // TILE), -(-w // TILE)
    pad = np.zeros((th * TILE, tw * TILE), bool)
    pad[:h, :w] = d > 0
    mask.occ = occ = np.asarray(pad.reshape(th, TILE, tw, TILE).any(axis=(1, 3)))
    return occ


def _fold_block(T: np.ndarray, Sa: np.ndarray, Sb: np.ndarray, w: np.ndarray, ca: float,
                cb: float) -> None:
    """In place: T *= 1-w; S = S*(1-w) + c*w, written so each array is touched few times."""
    keep = 1.0 - w
    T *= keep
    Sa *= keep
    Sa += w * np.float32(ca)
    Sb *= keep
    Sb += w * np.float32(cb)


def fold_layers(layers: Sequence[Layer], region: BBox, T: np.ndarray, Sa: np.ndarray,
                Sb: np.ndarray, origin: tuple[int, int]) -> None:
    """Fold layers into T/Sa/Sb (whose pixel [0,0] is frame pixel ``origin``) inside region."""
    oy, ox = origin
    for mask, op, (ca, cb) in layers:
        if mask.bbox is None or mask.data is None or op <= 0:  # (bbox and data: set together)
            continue
        mb, data = mask.bbox, mask.data
        occ = tile_occupancy(mask)
        op32 = np.float32(op)
        for ty, tx in zip(*np.nonzero(occ)):
            # tile in frame coordinates, clipped to the mask crop and the region asked for
            y0 = max(mb[0] + ty * TILE, region[0])
            y1 = min(mb[0] + (ty + 1) * TILE, mb[2], region[2])
            x0 = max(mb[1] + tx * TILE, region[1])
            x1 = min(mb[1] + (tx + 1) * TILE, mb[3], region[3])
            if y1 <= y0 or x1 <= x0:
                continue
            w = data[y0 - mb[0]:y1 - mb[0], x0 - mb[1]:x1 - mb[1]] * op32
            dst = (slice(y0 - oy, y1 - oy), slice(x0 - ox, x1 - ox))
            _fold_block(T[dst], Sa[dst], Sb[dst], w, ca, cb)


def build_affine(layers: Sequence[Layer]) -> Affine:
    """Fold (mask, opacity, chroma) layers, bottom first, into one Affine."""
    bbox: BBox | None = None
    for m, op, _ in layers:
        if op > 0:
            bbox = bbox_union(bbox, m.bbox)
    if bbox is None:
        return IDENTITY
    shape = (bbox[2] - bbox[0], bbox[3] - bbox[1])
    T = np.ones(shape, np.float32)
    Sa = np.zeros(shape, np.float32)
    Sb = np.zeros(shape, np.float32)
    fold_layers(layers, bbox, T, Sa, Sb, (bbox[0], bbox[1]))
    return Affine(bbox, T, Sa, Sb)


def refresh_region(aff: Affine, layers: Sequence[Layer], region: BBox) -> Affine:
    """The affine after one layer's mask changed inside ``region`` only (e.g. a committed stroke):
    recompute that region from all layers instead of the whole frame.

    Updates aff's arrays in place when the region fits (no 24 MB copy per stroke at 1080p):
    the caller must own aff (CorrectionStack's cache does; the stack is single-threaded)."""
    bbox = bbox_union(aff.bbox, region)
    shape = (bbox[2] - bbox[0], bbox[3] - bbox[1])
    if aff.bbox == bbox:
        T, Sa, Sb = aff.arrays()
    else:
        T = np.ones(shape, np.float32)
        Sa = np.zeros(shape, np.float32)
        Sb = np.zeros(shape, np.float32)
        if aff.bbox is not None:
            sl = (slice(aff.bbox[0] - bbox[0], aff.bbox[2] - bbox[0]),
                  slice(aff.bbox[1] - bbox[1], aff.bbox[3] - bbox[1]))
            T[sl], Sa[sl], Sb[sl] = aff.arrays()
    rs = (slice(region[0] - bbox[0], region[2] - bbox[0]),
          slice(region[1] - bbox[1], region[3] - bbox[1]))
    T[rs], Sa[rs], Sb[rs] = 1.0, 0.0, 0.0
    fold_layers(layers, region, T, Sa, Sb, (bbox[0], bbox[1]))
    return Affine(bbox, T, Sa, Sb)
