"""How a picture is made: the one place that turns model chroma into a colour picture.

    model chroma (ab at working size, from the chroma cache or the network)
        -> upsample to full size, guided by the frame's own L          model_chroma (core.color)
        -> chroma stages, in order: temporal, hints, corrections        a ChromaStage each, chained
        -> recombine with the frame's own L                            recombine (core.color)

compose_picture runs those steps for the viewer (gui display worker), the temporal engine
(TemporalEngine.picture), render (core.pipeline.render) and batch (core.pipeline.batch); the
stages are callables so that this bottom-layer module needs none of the packages above it.
Qt-free, so the viewer can never show something an export would not produce.

color.upsample_ab is called here only (model_chroma); chroma_at does the same maths onto a
guide of another size (display-size pictures, gui.display_compose).
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import cv2
import numpy as np

from . import color

# A chroma stage: (frame index, ab_full float32 (H, W, 2), L_full float32 (H, W)) -> ab_full.
# The temporal stage, the hints and the painted corrections plug in here; each receives the
# chroma so far and returns the chroma to show.
ChromaStage = Callable[[int, np.ndarray, np.ndarray], np.ndarray]
ChromaOverride = ChromaStage          # its older name


def luminance(frame: np.ndarray) -> np.ndarray:
    return color.luminance(frame)


@lru_cache(maxsize=1)
def l8_to_gray() -> np.ndarray:
    """256-entry table: 8-bit LAB lightness (L x 255/100) -> the sRGB value of that neutral gray."""
    lab = np.zeros((1, 256, 3), np.float32)
    lab[0, :, 0] = np.arange(256, dtype=np.float32) * (100.0 / 255.0)
    return color.to_uint8(color.lab_to_rgb(lab))[0, :, 0]


def gray_view(frame: np.ndarray, source_has_color: bool, share_L: bool = False) -> np.ndarray:
    """The frame as the network sees it (L only), as neutral uint8 RGB.

    A black-and-white source already is its own gray view, so it is returned as is (no copy, no
    maths).  A colour source: from its float L rounded to 8 bits when that L is wanted anyway
    (`share_L`: the network or the composed picture will need it; color.luminance remembers it
    for a read-only frame) or is known already, else through 8-bit LAB at half that cost; a
    256-entry table to gray either way (within a level or two of color.gray_rgb).
    """
    if not source_has_color:
        return frame
    L = color.luminance(frame) if share_L else color.known_luminance(frame)
    if L is not None:
        L8 = cv2.convertScaleAbs(L, alpha=255.0 / 100.0)   # rounds, saturates
        return cv2.cvtColor(cv2.LUT(L8, l8_to_gray(), dst=L8), cv2.COLOR_GRAY2RGB)
    h, w = frame.shape[:2]
    out = np.empty((h, w, 3), np.uint8)
    rows = color.band_rows(h, w)
    lab = np.empty((rows, w, 3), np.uint8)
    L8 = np.empty((rows, w), np.uint8)
    table = l8_to_gray()
    for s in color.bands(h, rows):
        n = s.stop - s.start
        band = cv2.cvtColor(frame[s], cv2.COLOR_RGB2Lab, dst=lab[:n])
        g = cv2.LUT(cv2.extractChannel(band, 0, dst=L8[:n]), table, dst=L8[:n])
        cv2.cvtColor(g, cv2.COLOR_GRAY2RGB, dst=out[s])
    return out


def model_chroma(ab_work: np.ndarray, box: color.Letterbox, L: np.ndarray) -> np.ndarray:
    """The network's chroma at full size, guided by the frame's own L (float32 (H, W, 2))."""
    return color.upsample_ab(ab_work, box, L)


def chroma_at(ab_work: np.ndarray, box: color.Letterbox, L: np.ndarray,
              scratch: color.Scratch | None = None) -> np.ndarray:
    """model_chroma, but onto a guide L of any size (the film's letterbox still says where the
    picture sits in the working square): the chroma of a display-size picture. With `scratch`
    the result is its "ab" work array (color.Scratch)."""
    if L.shape[:2] == (box.full_h, box.full_w):
        return model_chroma(ab_work, box, L)
    ab_low = color.crop_content(ab_work.astype(np.float32, copy=False), box)
    L32 = L.astype(np.float32, copy=False)
    g_low = cv2.resize(L32, (box.w, box.h), interpolation=cv2.INTER_AREA) * np.float32(0.01)
    a, b = color.guided_coefficients(ab_low, g_low, 2, 1e-3)
    return color.apply_coefficients(a * np.float32(0.01), b, L32, scratch)


def chain(*stages: ChromaStage | None) -> ChromaStage | None:
    """Chroma stages (temporal, hints, corrections: None for a missing one) as one stage, run
    in the order given; None when there is none."""
    hooks = tuple(h for h in stages if h is not None)
    if not hooks:
        return None
    if len(hooks) == 1:
        return hooks[0]

    def chained(index: int, ab: np.ndarray, L: np.ndarray) -> np.ndarray:
        for h in hooks:
            ab = h(index, ab, L)
        return ab
    return chained


def compose_chroma(L: np.ndarray, ab_work: np.ndarray | None, box: color.Letterbox | None,
                   index: int = -1, override: ChromaStage | None = None,
                   ab_full: np.ndarray | None = None) -> np.ndarray:
    """The chroma of a composed picture: model_chroma (or ``ab_full`` when a temporal stage has
    already made the full-size chroma), then the stages of ``override``."""
    if ab_full is None:
        if ab_work is None or box is None:
            raise ValueError("compose: give ab_work and its letterbox, or ab_full")
        ab_full = model_chroma(ab_work, box, L)
    if override is not None:
        ab_full = override(index, ab_full, L)
    return ab_full


def recombine(L: np.ndarray, ab: np.ndarray, dtype: type = np.uint8,
              scratch: color.Scratch | None = None) -> np.ndarray:
    """The frame's own L with the composed chroma: uint8 (display, 8-bit files), uint16 (16-bit
    files) or float32 RGB in [0, 1] (a writer converts it to its depth). `scratch`: band
    buffers to reuse (uint8 only)."""
    if dtype is np.uint8:
        return color.recombine_u8(L, ab, scratch)  # == to_uint8(recombine), bit for bit
    rgb01 = color.recombine(L, ab)
    if dtype is np.uint16:
        return color.to_uint16(rgb01)
    if dtype is np.float32:
        return rgb01
    raise ValueError(f"compose: no picture of type {dtype}")


def compose_picture(frame: np.ndarray | None, ab_work: np.ndarray | None,
                    box: color.Letterbox | None, L: np.ndarray | None = None, index: int = -1,
                    override: ChromaStage | None = None, *, ab_full: np.ndarray | None = None,
                    dtype: type = np.uint8) -> np.ndarray:
    """Model chroma -> [stages: temporal, hints, corrections] -> recombined with the frame's L.

    frame: the film's frame (only its L is used; pass ``L`` when it is known already, then
    frame may be None).  ab_work/box: the network's chroma at working size and its letterbox,
    or ``ab_full``: chroma already at full size (a temporal stage's result).  override: the
    stages, one ChromaStage (see chain).  Returns the picture as ``dtype`` (see recombine)."""
    if L is None:
        if frame is None:
            raise ValueError("compose: give the frame or its L")
        L = color.luminance(frame)
    ab = compose_chroma(L, ab_work, box, index, override, ab_full)
    return recombine(L, ab, dtype)


# the name the display worker and the tests have always used
compose_colorized = compose_picture


def letterbox(height: int, width: int, size: int) -> color.Letterbox:
    """The letterbox of every frame of a film at one working size (it depends on shape only)."""
    return color.letterbox_for(height, width, size)
