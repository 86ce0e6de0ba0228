"""Per-frame curves for the timeline: flicker (warp error) and colourfulness.

The timeline only has the gray film and the current result (no colour original), so these are
absolute figures: a spike in the flicker curve is where the chroma jumps although the picture
does not; a dip in colourfulness is where the model went gray.  Values follow quality.md but the
flow comes from the app's FlowCache (work resolution, shared with propagation and deflicker)
instead of the metric's full-resolution flow: a curve needs speed more than the last 5%.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import cv2
import numpy as np

from .. import metrics
from ..flow import DEFAULT_PRESET, DEFAULT_SCALE, FlowCache, occlusion_mask, upscale_flow


def flicker_value(flows: FlowCache, t: int, rgb_t: np.ndarray, rgb_t1: np.ndarray) -> float:
    """Warp error between frames t and t+1 of the result (flow from the gray film in ``flows``),
    Lai et al. occlusion test at full-resolution units.  For incremental (per-frame) updates."""
    f = flows.flow(t, t + 1)
    b = flows.flow(t + 1, t)
    valid = ~occlusion_mask(f, b, units=flows.units)
    full = flows.full_shape
    assert full is not None  # (set by flows.flow())
    fu = upscale_flow(f, full)
    vu = cv2.resize(valid.astype(np.uint8), (full[1], full[0]),
                    interpolation=cv2.INTER_NEAREST).astype(bool)
    return metrics.warp_error_pair(rgb_t, rgb_t1, fu, vu)


def flicker_curve(frames_rgb: Sequence[np.ndarray] | Callable[[int], np.ndarray],
                  grays: Sequence[np.ndarray] | Callable[[int], np.ndarray],
                  n_frames: int | None = None, cuts: Iterable[int] = (),
                  flows: FlowCache | None = None, scale: float = DEFAULT_SCALE,
                  preset: str = DEFAULT_PRESET) -> np.ndarray:
    """Per-frame warp error of the current result: value t compares frames t and t+1.

    nan on the last frame and on the last frame of every shot (no pair inside the shot).
    frames_rgb / grays: sequences, or callables i -> frame with n_frames given.  Pass the app's
    FlowCache as ``flows`` to reuse flows already computed for propagation/deflicker."""
    rgb = frames_rgb if callable(frames_rgb) else frames_rgb.__getitem__
    gray = grays if callable(grays) else grays.__getitem__
    if n_frames is not None:
        n = n_frames
    elif callable(frames_rgb):
        raise TypeError("flicker_curve needs n_frames with callable frames")
    else:
        n = len(frames_rgb)
    if flows is None:
        flows = FlowCache(gray, scale=scale, preset=preset, max_items=8)
    cutset = {int(c) for c in cuts}
    out = np.full(n, np.nan)
    if n == 0:
        return out
    nxt = rgb(0)
    for t in range(n - 1):
        cur, nxt = nxt, rgb(t + 1)
        if t + 1 not in cutset:
            out[t] = flicker_value(flows, t, cur, nxt)
    return out


def colourfulness_curve(frames: Iterable[np.ndarray]) -> np.ndarray:
    """Hasler–Süsstrunk colourfulness of every frame (8-bit RGB scale)."""
    return np.asarray([metrics.colourfulness(f) for f in frames], np.float64)
