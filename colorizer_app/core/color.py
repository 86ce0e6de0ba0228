"""Colour maths: float LAB through OpenCV, the working-resolution letterbox, guided chroma upsampling.

Conventions: RGB frames are uint8 (or float32 in [0, 1], or uint16); LAB is float32 with L in
[0, 100] and a/b in their natural units (about ±110). The network sees L and ab scaled to [-1, 1].
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

AB_SCALE = 110.0  # a/b of real-world colours stay within ±110; tanh output × 110 covers them


def to_float_rgb(rgb: np.ndarray) -> np.ndarray:
    """Any supported frame dtype to float32 RGB in [0, 1]."""
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float32) * (1.0 / 255.0)
    if rgb.dtype == np.uint16:
        return rgb.astype(np.float32) * (1.0 / 65535.0)
    return np.clip(rgb.astype(np.float32, copy=False), 0.0, 1.0)


def to_uint8(rgb01: np.ndarray) -> np.ndarray:
    return (np.clip(rgb01, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def to_uint16(rgb01: np.ndarray) -> np.ndarray:
    return (np.clip(rgb01, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(to_float_rgb(rgb), cv2.COLOR_RGB2Lab)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """float32 LAB to float32 RGB in [0, 1] (out-of-gamut values clipped)."""
    return np.clip(cv2.cvtColor(lab.astype(np.float32, copy=False), cv2.COLOR_Lab2RGB), 0.0, 1.0)


@lru_cache(maxsize=1)
def _gray_to_L() -> np.ndarray:
    """256-entry table: the L of each neutral 8-bit gray, by the same OpenCV float conversion."""
    ramp = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)
    return rgb_to_lab(ramp)[0, :, 0].copy()


def _is_neutral_u8(rgb: np.ndarray) -> bool:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        return False
    probe = rgb[::9]  # a cheap look first: colour frames are rejected here
    if not (np.array_equal(probe[..., 0], probe[..., 1]) and np.array_equal(probe[..., 1], probe[..., 2])):
        return False
    return np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])


def luminance(rgb: np.ndarray) -> np.ndarray:
    """L channel (float32, 0..100) of a colour or gray frame.

    Black-and-white film decodes to R = G = B: its L is a table lookup, identical to the full
    conversion and ~10× cheaper, which matters on every frame of every pipeline.
    """
    if rgb.ndim == 2 and rgb.dtype == np.uint8:
        return _gray_to_L()[rgb]
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    if _is_neutral_u8(rgb):
        return _gray_to_L()[rgb[..., 0]]
    return rgb_to_lab(rgb)[..., 0]


def is_colour(rgb: np.ndarray, threshold: float = 3.0) -> bool:
    """True when a frame has real chroma (mean |ab| above a few LAB units)."""
    small = cv2.resize(rgb, (64, 64), interpolation=cv2.INTER_AREA) if rgb.shape[0] > 64 else rgb
    ab = rgb_to_lab(small)[..., 1:]
    return float(np.abs(ab).mean()) > threshold


@dataclass(frozen=True)
class Letterbox:
    """Where a full frame sits inside the square working image (scaled, then padded, never squashed)."""

    size: int
    full_h: int
    full_w: int
    h: int  # content size inside the working square
    w: int
    y0: int
    x0: int


def letterbox_for(full_h: int, full_w: int, size: int) -> Letterbox:
    if size % 64:
        raise ValueError(f"working size must be a multiple of 64, got {size}")
    scale = size / max(full_h, full_w)
    h = max(1, min(size, round(full_h * scale)))
    w = max(1, min(size, round(full_w * scale)))
    return Letterbox(size, full_h, full_w, h, w, (size - h) // 2, (size - w) // 2)


def fit_working(L: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """Full-res L (0..100) to the network input: (size, size) float32 in [-1, 1] plus its letterbox.

    Padding reflects the content: a constant border would look like a black bar the model colours.
    """
    box = letterbox_for(L.shape[0], L.shape[1], size)
    small = cv2.resize(L, (box.w, box.h), interpolation=cv2.INTER_AREA)
    bottom, right = size - box.h - box.y0, size - box.w - box.x0
    padded = cv2.copyMakeBorder(small, box.y0, bottom, box.x0, right, cv2.BORDER_REFLECT_101)
    return padded * (1.0 / 50.0) - 1.0, box


def crop_content(work: np.ndarray, box: Letterbox) -> np.ndarray:
    return work[box.y0:box.y0 + box.h, box.x0:box.x0 + box.w]


def _box(img: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(img, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT_101)


def guided_upsample(src_low: np.ndarray, guide_low: np.ndarray, guide_full: np.ndarray,
                    radius: int = 2, eps: float = 1e-3) -> np.ndarray:
    """Fast guided filter (He & Sun 2015): fit src ≈ a·guide + b locally at low resolution, then
    apply the upsampled (a, b) to the full-resolution guide, so chroma edges land on L edges."""
    h, w = guide_full.shape[:2]
    I = guide_low.astype(np.float32)
    chans = src_low.shape[2]
    mean_I = _box(I, radius)
    var_I = _box(I * I, radius) - mean_I * mean_I
    out = np.empty((h, w, chans), np.float32)
    for c in range(chans):
        p = np.ascontiguousarray(src_low[..., c], dtype=np.float32)
        mean_p = _box(p, radius)
        cov = _box(I * p, radius) - mean_I * mean_p
        a = cov / (var_I + eps)
        b = mean_p - a * mean_I
        a_up = cv2.resize(_box(a, radius), (w, h), interpolation=cv2.INTER_LINEAR)
        b_up = cv2.resize(_box(b, radius), (w, h), interpolation=cv2.INTER_LINEAR)
        out[..., c] = a_up * guide_full + b_up
    return out


def upsample_ab(ab_work: np.ndarray, box: Letterbox, L_full: np.ndarray, guided: bool = True) -> np.ndarray:
    """Working-resolution ab (LAB units, the whole square) to full size, guided by full-res L."""
    ab_low = crop_content(ab_work.astype(np.float32), box)
    if not guided:
        return cv2.resize(ab_low, (box.full_w, box.full_h), interpolation=cv2.INTER_LINEAR)
    g_full = L_full.astype(np.float32) * (1.0 / 100.0)
    g_low = cv2.resize(g_full, (box.w, box.h), interpolation=cv2.INTER_AREA)
    return guided_upsample(ab_low, g_low, g_full)


def recombine(L_full: np.ndarray, ab_full: np.ndarray) -> np.ndarray:
    """Original L + chroma → float32 RGB in [0, 1]."""
    lab = np.empty(L_full.shape[:2] + (3,), np.float32)
    lab[..., 0] = L_full
    lab[..., 1:] = ab_full
    return lab_to_rgb(lab)


def colorize_with_ab(rgb: np.ndarray, ab_full: np.ndarray) -> np.ndarray:
    """Keep the frame's own L, take chroma from ab_full; returns uint8 RGB."""
    return to_uint8(recombine(luminance(rgb), ab_full))


def gray_rgb(rgb: np.ndarray) -> np.ndarray:
    """The frame as the model sees it: L only, shown as neutral gray RGB (uint8)."""
    L = luminance(rgb)
    return to_uint8(recombine(L, np.zeros(L.shape + (2,), np.float32)))
