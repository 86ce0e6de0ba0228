"""Composing a frame at the size the viewer shows it (playback), Qt-free.

A 1080p film in a review window is rarely shown 1:1: fitted into a ~1100-px wide viewer it is
drawn at about 0.6x, and most of a full-resolution compose (guided upsampling, recombine with L
in float LAB) is thrown away by the scaling.  Here the same maths runs at the shown size:

    frame --INTER_AREA--> small frame --> L_small (the guide), gray and source pictures
    model chroma --guided upsampling to the small size, guided by L_small--> ab_small
    recombine L_small + ab_small (float LAB, as export)                  --> colorized picture

Corrections and temporal chroma are full-resolution arrays (masks, flow-warped chroma), so a
frame they touch is composed at full resolution up to the override and only then scaled down:
never a cheaper approximation of a correction.  `affects(i)` says cheaply whether any
override changes frame i; unknown overrides count as touching every frame.

The steps are core.compose's (compose_chroma, chroma_at, recombine), at another size only;
export and the paused viewer compose at full resolution (compose.compose_picture).
"""
from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ..core import color, compose

# Zoom is rounded up to a multiple of this before choosing the composed size, so resizing the
# window by a few pixels reuses the composed frames instead of composing them all again.
ZOOM_STEP = 1.0 / 32.0

Affects = Callable[[int], bool]


@dataclass(frozen=True)
class DisplayPictures:
    """The three pictures of one frame at display size (uint8 RGB, read-only)."""

    source: np.ndarray
    gray: np.ndarray
    colorized: np.ndarray
    full_res_override: bool     # the corrections/temporal chroma touched this frame


def display_shape(full_h: int, full_w: int, zoom: float) -> tuple[int, int] | None:
    """(h, w) to compose at for a viewer that draws zoom screen pixels per image pixel, or None
    when the full picture is needed (zoomed to 100 % or more, or a tiny saving)."""
    if not zoom or not math.isfinite(zoom) or zoom <= 0:
        return None
    z = math.ceil(zoom / ZOOM_STEP) * ZOOM_STEP
    if z >= 1.0 - 1e-9:
        return None
    h, w = max(2, round(full_h * z)), max(2, round(full_w * z))
    if h * w * 10 >= full_h * full_w * 9:          # < 10 % fewer pixels: not worth a second path
        return None
    return h, w


def compose_display(frame: np.ndarray, ab_work: np.ndarray, box: color.Letterbox,
                    shape: tuple[int, int], has_color: bool, index: int = -1,
                    override: compose.ChromaOverride | None = None,
                    affects: Affects | None = None) -> DisplayPictures:
    """Gray, source and colorized pictures of `frame` at `shape` (h, w).

    `frame` is the full frame, or already at `shape` (read so by the caller, which then has
    checked that no override touches it: overrides need the full frame)."""
    h, w = shape
    if frame.shape[:2] == (h, w):
        small, touched = frame, False
    else:
        # below half size INTER_AREA (no aliasing); above it bilinear, 3x cheaper and sharp
        # enough (Qt would otherwise draw the full frame scaled with nearest-neighbour sampling)
        interp = cv2.INTER_AREA if h * 2 <= frame.shape[0] else cv2.INTER_LINEAR
        small = cv2.resize(frame, (w, h), interpolation=interp)
        touched = override is not None and (affects is None or bool(affects(index)))
    scratch = _scratch()
    L_small, gray = _lightness(small, has_color, scratch)
    if touched:
        # the corrections work on full-resolution chroma: compose up to them there, then scale
        L_full = color.luminance(frame)
        ab_full = compose.compose_chroma(L_full, ab_work, box, index, override)
        ab = cv2.resize(ab_full, (w, h), interpolation=cv2.INTER_AREA)
        L = cv2.resize(L_full, (w, h), interpolation=cv2.INTER_AREA)
    else:
        L = L_small
        ab = compose.chroma_at(ab_work, box, L, scratch)
    # playback pictures: the one-pass quantization (a level apart at exact halves at most)
    col = color.recombine_u8(L, ab, scratch, exact=False)
    for a in (small, gray, col):
        a.flags.writeable = False
    return DisplayPictures(small, gray, col, touched)


def _scratch() -> color.Scratch:
    """This thread's work arrays (the display worker composes one frame after another)."""
    s = getattr(_local, "scratch", None)
    if s is None:
        s = _local.scratch = color.Scratch()
    return s


_local = threading.local()


def _lightness(small: np.ndarray, has_color: bool, scratch: color.Scratch
               ) -> tuple[np.ndarray, np.ndarray]:
    """L (float32, 0..100; scratch's "L") of a display-size frame and its gray picture, in one
    8-bit LAB pass.

    8-bit L steps by 0.39 L units: at most one level off the float path after recombining, and
    a fraction of its cost.  A black-and-white film (R = G = B) is its own gray picture and its L
    is a table lookup, exactly as core.color does it.  A toned print (sepia: no colour for
    core.media, but R, G and B differ) is its own gray picture too (core.compose.gray_view), but
    its L is the real L, not its red channel's."""
    h, w = small.shape[:2]
    L8, L = scratch.get("L8", (h, w), np.uint8), scratch.get("L", (h, w))
    if not has_color and color.neutral_rows(small):
        cv2.extractChannel(small, 0, dst=L8)
        return cv2.LUT(L8, color.gray_to_L(), dst=L), small
    lab8 = cv2.cvtColor(small, cv2.COLOR_RGB2Lab, dst=scratch.get("lab8", (h, w, 3), np.uint8))
    cv2.extractChannel(lab8, 0, dst=L8)
    L = cv2.multiply(L8, 100.0 / 255.0, dst=L, dtype=cv2.CV_32F)
    if not has_color:
        return L, small
    gray = cv2.cvtColor(cv2.LUT(L8, compose.l8_to_gray()), cv2.COLOR_GRAY2RGB)
    return L, gray
