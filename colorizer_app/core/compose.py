"""How a displayed frame is made: the one place that turns model chroma into a colour picture.

    model chroma (ab at working size, from the chroma cache)
        -> upsample to full size, guided by the frame's own L          (core.color)
        -> [corrections override: a callable that edits ab_full]       (hook for painting)
        -> recombine with the frame's own L                            (core.color)

Qt-free, so the display worker, a future export and tests all use exactly this function and the
viewer can never show something an export would not produce.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import cv2
import numpy as np

from . import color

# A corrections hook: (frame index, ab_full float32 (H, W, 2), L_full float32 (H, W)) -> ab_full.
# Painting work plugs in here; it receives the model's chroma and returns the chroma to show.
ChromaOverride = Callable[[int, np.ndarray, np.ndarray], np.ndarray]


def luminance(frame: np.ndarray) -> np.ndarray:
    return color.luminance(frame)


@lru_cache(maxsize=1)
def _l8_to_gray() -> np.ndarray:
    """256-entry table: 8-bit LAB lightness (L x 255/100) -> the sRGB value of that neutral gray."""
    lab = np.zeros((1, 256, 3), np.float32)
    lab[0, :, 0] = np.arange(256, dtype=np.float32) * (100.0 / 255.0)
    return color.to_uint8(color.lab_to_rgb(lab))[0, :, 0]


def gray_view(frame: np.ndarray, source_has_color: bool) -> np.ndarray:
    """The frame as the network sees it (L only), as neutral uint8 RGB.

    A black-and-white source already is its own gray view, so it is returned as is (no copy, no
    maths).  A colour source goes through 8-bit LAB and a 256-entry table: within two levels of
    the float path (color.gray_rgb) at a fifth of its cost, which matters because this runs for
    every frame the artist visits.  Done in bands that reuse their buffers (see color._bands).
    """
    if not source_has_color:
        return frame
    h, w = frame.shape[:2]
    out = np.empty((h, w, 3), np.uint8)
    rows = color._band_rows(h, w)
    lab = np.empty((rows, w, 3), np.uint8)
    L8 = np.empty((rows, w), np.uint8)
    table = _l8_to_gray()
    for s in color._bands(h, rows):
        n = s.stop - s.start
        band = cv2.cvtColor(frame[s], cv2.COLOR_RGB2Lab, dst=lab[:n])
        g = cv2.LUT(cv2.extractChannel(band, 0, dst=L8[:n]), table, dst=L8[:n])
        cv2.cvtColor(g, cv2.COLOR_GRAY2RGB, dst=out[s])
    return out


def compose_colorized(frame: np.ndarray, ab_work: np.ndarray, box: color.Letterbox,
                      L: np.ndarray | None = None, index: int = -1,
                      override: ChromaOverride | None = None) -> np.ndarray:
    """Model chroma -> [corrections] -> recombined with L: the colorized frame, uint8 RGB."""
    if L is None:
        L = color.luminance(frame)
    ab_full = color.upsample_ab(ab_work, box, L)
    if override is not None:
        ab_full = override(index, ab_full, L)
    return color.recombine_u8(L, ab_full)


def letterbox(height: int, width: int, size: int) -> color.Letterbox:
    """The letterbox of every frame of a film at one working size (it depends on shape only)."""
    return color.letterbox_for(height, width, size)
