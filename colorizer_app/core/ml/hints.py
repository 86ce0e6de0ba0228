"""Colour hints for a hint generator: the artist's points → (ab, mask) planes at the working size.

A hint is a small square of a known colour on a frame. The network sees them as two extra
planes in the letterboxed working square (core.color.fit_working): hint ab / 110 where hinted
(0 elsewhere) and a 0/1 mask. Full-frame hints are mapped through the same letterbox as L, so a
hint lands on the pixels it was painted on. Training simulates hints the way ideepcolor (Zhang
et al. 2017) does: a random number (often none), random patch sizes, each the mean true colour
of its patch.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .. import color


@dataclass(frozen=True)
class Hint:
    """A square hint in full-frame pixels: centre (x, y), side `size`, colour (a, b) in LAB units."""

    x: float
    y: float
    a: float
    b: float
    size: int = 3


def empty_planes(size: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((size, size, 2), np.float32), np.zeros((size, size, 1), np.float32)


def rasterize(hints: list[Hint], box: color.Letterbox) -> tuple[np.ndarray, np.ndarray]:
    """Hints → (ab / 110 (S, S, 2), mask (S, S, 1)) in the working square of `box`.

    A hint covers at least one working pixel; where hints overlap the later one wins."""
    ab, mask = empty_planes(box.size)
    sx, sy = box.w / box.full_w, box.h / box.full_h
    for h in hints:
        half = max(0.5, h.size * sx / 2)
        cx, cy = box.x0 + h.x * sx + (sx - 1) / 2, box.y0 + h.y * sy + (sy - 1) / 2
        x0, x1 = int(np.floor(cx - half + 0.5)), int(np.floor(cx + half + 0.5))
        y0, y1 = int(np.floor(cy - half + 0.5)), int(np.floor(cy + half + 0.5))
        x0, y0 = max(x0, box.x0), max(y0, box.y0)
        x1, y1 = min(max(x1, x0 + 1), box.x0 + box.w), min(max(y1, y0 + 1), box.y0 + box.h)
        if x1 <= x0 or y1 <= y0:
            continue  # outside the picture
        ab[y0:y1, x0:x1] = (np.clip(h.a, -color.AB_SCALE, color.AB_SCALE) / color.AB_SCALE,
                            np.clip(h.b, -color.AB_SCALE, color.AB_SCALE) / color.AB_SCALE)
        mask[y0:y1, x0:x1] = 1.0
    return ab, mask


def planes_from_rgba(rgba: np.ndarray, box: color.Letterbox) -> tuple[np.ndarray, np.ndarray]:
    """A film-size RGBA hint image (alpha > 0 = hinted, its colour's a/b = the hint) → planes.

    Each working pixel that any hinted film pixel falls in gets the mean ab of those pixels, so
    a thin stroke survives downscaling and never mixes with unhinted pixels."""
    if rgba.shape[:2] != (box.full_h, box.full_w):
        raise ValueError(f"hint image is {rgba.shape[1]}×{rgba.shape[0]}, the film is {box.full_w}×{box.full_h}")
    hinted = (rgba[..., 3] > 0).astype(np.float32)
    ab, mask = empty_planes(box.size)
    if not hinted.any():
        return ab, mask
    ab_full = color.rgb_to_lab(np.ascontiguousarray(rgba[..., :3]))[..., 1:] * hinted[..., None]
    cover = cv2.resize(hinted, (box.w, box.h), interpolation=cv2.INTER_AREA)
    ab_sum = cv2.resize(ab_full, (box.w, box.h), interpolation=cv2.INTER_AREA)
    has = cover > 0
    inner_ab = np.zeros((box.h, box.w, 2), np.float32)
    inner_ab[has] = ab_sum[has] / cover[has][:, None] / color.AB_SCALE
    ab[box.y0:box.y0 + box.h, box.x0:box.x0 + box.w] = np.clip(inner_ab, -1, 1)
    mask[box.y0:box.y0 + box.h, box.x0:box.x0 + box.w, 0] = has
    return ab, mask


def model_input(L_work: np.ndarray, ab: np.ndarray | None = None, mask: np.ndarray | None = None) -> np.ndarray:
    """Working L in [-1, 1] (S, S) and optional hint planes → the hint generator's (S, S, 4) input."""
    if ab is None or mask is None:
        ab, mask = empty_planes(L_work.shape[0])
    return np.concatenate([L_work[..., None].astype(np.float32), ab * mask, mask], axis=-1)


def sample_hints(ab_true: np.ndarray, rng: np.random.Generator, n: int | None = None, patch: int | None = None,
                 p_none: float = 0.15, p_geom: float = 0.125, max_hints: int = 60,
                 bias: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Simulated hints on one training crop: (ab / 110, mask) planes, as ideepcolor trains.

    `ab_true` is the crop's true ab / 110 (H, W, 2). The number of hints is 0 with probability
    `p_none`, else geometric (mean 1/p_geom); patch sides 1-9 px; each hint's colour is the mean
    true colour over its patch. With probability `bias` positions favour colourful pixels (where
    an artist puts a hint: a gray wall needs none), otherwise they are uniform."""
    hgt, wid = ab_true.shape[:2]
    hab = np.zeros((hgt, wid, 2), np.float32)
    mask = np.zeros((hgt, wid, 1), np.float32)
    if n is None:
        n = 0 if rng.random() < p_none else min(int(rng.geometric(p_geom)), max_hints)
    if n == 0:
        return hab, mask
    if rng.random() < bias:
        g = np.hypot(ab_true[..., 0], ab_true[..., 1]).ravel().astype(np.float64) + 0.02
        idx = rng.choice(hgt * wid, size=n, p=g / g.sum())
        ys, xs = np.divmod(idx, wid)
    else:
        ys, xs = rng.integers(0, hgt, n), rng.integers(0, wid, n)
    for y, x in zip(ys, xs):
        k = int(patch if patch is not None else rng.integers(1, 10))
        y0, x0 = max(0, int(y) - k // 2), max(0, int(x) - k // 2)
        y1, x1 = min(hgt, y0 + k), min(wid, x0 + k)
        hab[y0:y1, x0:x1] = ab_true[y0:y1, x0:x1].reshape(-1, 2).mean(0)
        mask[y0:y1, x0:x1] = 1.0
    return hab, mask
