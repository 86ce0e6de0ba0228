"""How a displayed frame is made: the one place that turns model chroma into a colour picture.

    model chroma (ab at working size, from the chroma cache)
        -> upsample to full size, guided by the frame's own L          (core.color)
        -> [corrections override: a callable that edits ab_full]       (hook for painting)
        -> recombine with the frame's own L                            (core.color)

Qt-free, so the display worker, a future export and tests all use exactly this function and the
viewer can never show something an export would not produce.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from ..core import color

# A corrections hook: (frame index, ab_full float32 (H, W, 2), L_full float32 (H, W)) -> ab_full.
# Painting work plugs in here; it receives the model's chroma and returns the chroma to show.
ChromaOverride = Callable[[int, np.ndarray, np.ndarray], np.ndarray]


def luminance(frame: np.ndarray) -> np.ndarray:
    return color.luminance(frame)


def gray_view(frame: np.ndarray, source_has_color: bool, L: Optional[np.ndarray] = None) -> np.ndarray:
    """The frame as the network sees it (L only), as neutral uint8 RGB.

    A black-and-white source already is its own gray view, so it is returned as is (no copy, no
    maths); only colour sources pay for the L round trip.
    """
    if not source_has_color:
        return frame
    if L is None:
        L = color.luminance(frame)
    return color.to_uint8(color.recombine(L, np.zeros(L.shape + (2,), np.float32)))


def compose_colorized(frame: np.ndarray, ab_work: np.ndarray, box: color.Letterbox,
                      L: Optional[np.ndarray] = None, index: int = -1,
                      override: Optional[ChromaOverride] = None) -> np.ndarray:
    """Model chroma -> [corrections] -> recombined with L: the colorized frame, uint8 RGB."""
    if L is None:
        L = color.luminance(frame)
    ab_full = color.upsample_ab(ab_work, box, L)
    if override is not None:
        ab_full = override(index, ab_full, L)
    return color.to_uint8(color.recombine(L, ab_full))


def letterbox(height: int, width: int, size: int) -> color.Letterbox:
    """The letterbox of every frame of a film at one working size (it depends on shape only)."""
    return color.letterbox_for(height, width, size)
