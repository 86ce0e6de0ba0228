"""Colour maths: float LAB through OpenCV, the working-resolution letterbox, guided chroma upsampling.

Conventions: RGB frames are uint8 (or float32 in [0, 1], or uint16); LAB is float32 with L in
[0, 100] and a/b in their natural units (about ±110). The network sees L and ab scaled to [-1, 1].
"""
from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

AB_SCALE = 110.0  # a/b of real-world colours stay within ±110; tanh output × 110 covers them

# Full-frame work runs in bands of rows that reuse one set of band-sized buffers per call. Fresh
# full-frame temporaries are expensive here: core.media pins glibc's mmap threshold at 1 MiB, so
# each one is new zeroed pages from the kernel (~5 ms for a 25 MB float LAB frame at 1080p).
# A band still holds 2^17 pixels, enough for OpenCV to split it across two cores: half that ran
# up to 1.5x slower with a core free, and whole frames ~1.2x slower.
_BAND_PIXELS = 1 << 17


class Scratch:
    """Named work arrays kept from call to call, for a thread that makes one picture after another
    (the viewer's display worker during playback). With the mmap threshold pinned
    (core.heap), each fresh temporary above it is new zeroed pages from the kernel and an
    unmap when freed (at the old 1 MB threshold top showed up to half of the playback benchmark's
    CPU time in the kernel). An array from here is overwritten by the next call that asks for its
    name: never hand one out."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
        a = self._arrays.get(name)
        if a is None or a.shape != shape or a.dtype != np.dtype(dtype):
            a = self._arrays[name] = np.empty(shape, dtype)
        return a


def band_rows(rows: int, row_pixels: int) -> int:
    return max(1, min(rows, max(8, _BAND_PIXELS // max(1, row_pixels))))


def bands(rows: int, step: int) -> list[slice]:
    return [slice(y, min(rows, y + step)) for y in range(0, rows, step)]


@lru_cache(maxsize=1)
def _u8_to_float() -> np.ndarray:
    """256-entry table: exactly the float32 to_float_rgb makes of each 8-bit value."""
    return np.arange(256, dtype=np.uint8).astype(np.float32) * (1.0 / 255.0)


def to_float_rgb(rgb: np.ndarray) -> np.ndarray:
    """Any supported frame dtype to float32 RGB in [0, 1]."""
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float32) * (1.0 / 255.0)
    if rgb.dtype == np.uint16:
        return rgb.astype(np.float32) * (1.0 / 65535.0)
    return np.clip(rgb.astype(np.float32, copy=False), 0.0, 1.0)


def _quantize(rgb01: np.ndarray, top: float, dtype: type[np.integer[Any]]) -> np.ndarray:
    """(clip(x, 0, 1) * top + 0.5) truncated to dtype, band by band (same arithmetic, same result,
    without three full-size float temporaries)."""
    if not np.issubdtype(rgb01.dtype, np.floating) or rgb01.ndim == 0:
        out: NDArray[np.integer[Any]] = (np.clip(rgb01, 0.0, 1.0) * top + 0.5).astype(dtype)
        return out
    out = np.empty(rgb01.shape, dtype)
    rows = band_rows(rgb01.shape[0], rgb01[:1].size)
    scratch = np.empty((rows,) + rgb01.shape[1:], rgb01.dtype)
    for s in bands(rgb01.shape[0], rows):
        t = np.clip(rgb01[s], 0.0, 1.0, out=scratch[:s.stop - s.start])
        t *= top
        t += 0.5
        np.copyto(out[s], t, casting="unsafe")  # truncates, as astype does
    return out


def to_uint8(rgb01: np.ndarray) -> np.ndarray:
    return _quantize(rgb01, 255.0, np.uint8)


def to_uint16(rgb01: np.ndarray) -> np.ndarray:
    return _quantize(rgb01, 65535.0, np.uint16)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(to_float_rgb(rgb), cv2.COLOR_RGB2Lab)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """float32 LAB to float32 RGB in [0, 1] (out-of-gamut values clipped)."""
    rgb = cv2.cvtColor(lab.astype(np.float32, copy=False), cv2.COLOR_Lab2RGB)
    return np.clip(rgb, 0.0, 1.0, out=rgb)


@lru_cache(maxsize=1)
def gray_to_L() -> np.ndarray:
    """256-entry table: the L of each neutral 8-bit gray, by the same OpenCV float conversion."""
    ramp = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)
    return rgb_to_lab(ramp)[0, :, 0].copy()


def neutral_rows(rgb: np.ndarray, step: int = 9) -> bool:
    """R = G = B on every `step`-th row of an RGB frame: a cheap look that rejects colour (or
    toned) frames at once; a frame without colour is neutral throughout or toned throughout."""
    probe = rgb[::step]
    return bool(np.array_equal(probe[..., 0], probe[..., 1])
                and np.array_equal(probe[..., 1], probe[..., 2]))


def _is_neutral_u8(rgb: np.ndarray) -> bool:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        return False
    if not neutral_rows(rgb):  # a cheap look first: colour frames are rejected here
        return False
    return np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])


class _RecentL:
    """L of the last few read-only frames, by identity.

    The review app shares decoded frames between its workers read-only (core.media.frames.SharedFrames)
    and needs the L of one frame several times: the network's input, the composed picture, each
    recompose while painting.  For a 1080p colour frame that is ~15 ms each time.  Only read-only
    arrays qualify (a frame that may still change is never remembered), entries die with their
    frame, and the L handed out is read-only too."""

    def __init__(self, size: int = 4):
        self._size = size
        self._items: OrderedDict[int, tuple[weakref.ref[np.ndarray], np.ndarray]] = OrderedDict()
        self._lock = threading.RLock()  # a frame freed inside a locked section calls _forget
        # frames whose L a thread is computing now: a second thread asking for the same frame
        # (the display worker's gray picture, the network's input) waits for it instead of
        # computing it again on the other core
        self._pending: dict[int, threading.Event] = {}

    def compute(self, rgb: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """The remembered L of `rgb`, or fn(rgb), computed once however many threads ask."""
        if rgb.flags.writeable:
            return fn(rgb)
        key = id(rgb)
        with self._lock:
            L = self.get(rgb)
            if L is not None:
                return L
            busy = self._pending.get(key)
            if busy is None:
                mine = self._pending[key] = threading.Event()
        if busy is not None:
            busy.wait()
            L = self.get(rgb)
            return L if L is not None else self.put(rgb, fn(rgb))  # the other thread failed
        try:
            return self.put(rgb, fn(rgb))
        finally:
            with self._lock:
                del self._pending[key]
            mine.set()

    def get(self, rgb: np.ndarray) -> np.ndarray | None:
        if rgb.flags.writeable:
            return None
        with self._lock:
            item = self._items.get(id(rgb))
            if item is None or item[0]() is not rgb:
                return None
            self._items.move_to_end(id(rgb))
            return item[1]

    def known(self, rgb: np.ndarray) -> np.ndarray | None:
        """The L of `rgb` if remembered or being computed by another thread now (waits for
        it), else None: for callers with a cheaper way when nobody else needs the float L."""
        with self._lock:
            L = self.get(rgb)
            busy = self._pending.get(id(rgb)) if L is None and not rgb.flags.writeable else None
        if busy is None:
            return L
        busy.wait()
        return self.get(rgb)

    def put(self, rgb: np.ndarray, L: np.ndarray) -> np.ndarray:
        if rgb.flags.writeable:
            return L
        L.flags.writeable = False
        key = id(rgb)

        def gone(r: weakref.ref[np.ndarray], key: int = key) -> None:
            self._forget(key, r)

        ref = weakref.ref(rgb, gone)
        with self._lock:
            self._items[key] = (ref, L)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return L

    def _forget(self, key: int, ref: weakref.ref[np.ndarray]) -> None:
        with self._lock:
            item = self._items.get(key)
            if item is not None and item[0] is ref:
                del self._items[key]


_recent_L = _RecentL()


def luminance(rgb: np.ndarray) -> np.ndarray:
    """L channel (float32, 0..100) of a colour or gray frame.

    Black-and-white film decodes to R = G = B: its L is a table lookup, identical to the full
    conversion and ~10× cheaper, which matters on every frame of every pipeline.  The L of a
    read-only frame is remembered (see _RecentL) and returned read-only.
    """
    return _recent_L.compute(rgb, _luminance)


def known_luminance(rgb: np.ndarray) -> np.ndarray | None:
    """luminance(rgb) if it is remembered or being computed (then waits for it), else None."""
    return _recent_L.known(rgb)


def luminance_is_costly(rgb: np.ndarray) -> bool:
    """Whether luminance(rgb) means the float colour conversion (20-50 ms for a 1080p frame on
    two busy cores), not a table lookup or a remembered L: a colour or toned frame, L unknown."""
    if rgb.ndim != 3 or _recent_L.get(rgb) is not None:
        return False
    return not _is_neutral_u8(rgb)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim == 2 and rgb.dtype == np.uint8:
        return cv2.LUT(rgb, gray_to_L())
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    if _is_neutral_u8(rgb):
        return cv2.LUT(cv2.extractChannel(rgb, 0), gray_to_L())
    if rgb.dtype == np.uint8 and rgb.shape[2] == 3:
        return _luminance_u8(rgb)
    return np.ascontiguousarray(rgb_to_lab(rgb)[..., 0])


def _luminance_u8(rgb: np.ndarray) -> np.ndarray:
    """L of a colour uint8 frame: the very numbers of rgb_to_lab(rgb)[..., 0], computed in bands
    (the full-frame float RGB and LAB are 25 MB each at 1080p and only L is wanted)."""
    h, w = rgb.shape[:2]
    rows = band_rows(h, w)
    L = np.empty((h, w), np.float32)
    rgb01 = np.empty((rows, w, 3), np.float32)
    lab = np.empty((rows, w, 3), np.float32)
    table = _u8_to_float()
    for s in bands(h, rows):
        n = s.stop - s.start
        f = cv2.LUT(rgb[s], table, dst=rgb01[:n])
        cv2.extractChannel(cv2.cvtColor(f, cv2.COLOR_RGB2Lab, dst=lab[:n]), 0, dst=L[s])
    return L


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


def guided_coefficients(src_low: np.ndarray, guide_low: np.ndarray, radius: int,
                         eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Box-averaged local linear models src ≈ a·guide + b, all channels at once (low resolution)."""
    I = guide_low.astype(np.float32)  # noqa: E741 - I: the guide image, as in He et al.
    p = src_low.astype(np.float32)
    mean_I = _box(I, radius)
    var_I = _box(I * I, radius) - mean_I * mean_I
    mean_I, var_I = mean_I[..., None], var_I[..., None]
    mean_p = _box(p, radius).reshape(p.shape)
    cov = _box(p * I[..., None], radius).reshape(p.shape) - mean_I * mean_p
    a = cov / (var_I + np.float32(eps))
    b = mean_p - a * mean_I
    return _box(a, radius).reshape(p.shape), _box(b, radius).reshape(p.shape)


def apply_coefficients(a: np.ndarray, b: np.ndarray, guide_full: np.ndarray,
                       scratch: Scratch | None = None) -> np.ndarray:
    """Upsample (a, b) bilinearly to the full guide's size and return a·guide + b (H, W, C).
    With `scratch` the result is its "ab" array (see Scratch)."""
    h, w = guide_full.shape[:2]
    chans = a.shape[2]
    if scratch is None:
        out = cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, chans)
        b_up = cv2.resize(b, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, chans)
    else:
        out = scratch.get("ab", (h, w, chans))
        b_up = scratch.get("b_up", (h, w, chans))
        cv2.resize(a, (w, h), dst=out, interpolation=cv2.INTER_LINEAR)
        cv2.resize(b, (w, h), dst=b_up, interpolation=cv2.INTER_LINEAR)
    g = guide_full.astype(np.float32, copy=False)
    rows = band_rows(h, w)
    g_c = np.empty((rows, w, chans), np.float32) if scratch is None else \
        scratch.get("g_c", (rows, w, chans))
    for s in bands(h, rows):
        band = out[s]
        cv2.multiply(band, cv2.merge([g[s]] * chans, dst=g_c[:s.stop - s.start]), dst=band)
        cv2.add(band, b_up[s], dst=band)
    return out


def guided_upsample(src_low: np.ndarray, guide_low: np.ndarray, guide_full: np.ndarray,
                    radius: int = 2, eps: float = 1e-3) -> np.ndarray:
    """Fast guided filter (He & Sun 2015): fit src ≈ a·guide + b locally at low resolution, then
    apply the upsampled (a, b) to the full-resolution guide, so chroma edges land on L edges."""
    src = src_low if src_low.ndim == 3 else src_low[..., None]
    a, b = guided_coefficients(src, guide_low, radius, eps)
    return apply_coefficients(a, b, guide_full)


def upsample_ab(ab_work: np.ndarray, box: Letterbox, L_full: np.ndarray, guided: bool = True) -> np.ndarray:
    """Working-resolution ab (LAB units, the whole square) to full size, guided by full-res L."""
    ab_low = crop_content(ab_work.astype(np.float32), box)
    if not guided:
        return cv2.resize(ab_low, (box.full_w, box.full_h), interpolation=cv2.INTER_LINEAR)
    # The filter works on a guide in [0, 1] (eps is tuned for that); the full-res guide is L
    # itself with `a` scaled by 1/100 instead, which saves a full-frame pass and a 8 MB array.
    L32 = L_full.astype(np.float32, copy=False)
    g_low = cv2.resize(L32, (box.w, box.h), interpolation=cv2.INTER_AREA) * np.float32(0.01)
    a, b = guided_coefficients(ab_low, g_low, 2, 1e-3)
    return apply_coefficients(a * np.float32(0.01), b, L32)


def recombine(L_full: np.ndarray, ab_full: np.ndarray) -> np.ndarray:
    """Original L + chroma → float32 RGB in [0, 1]."""
    h, w = L_full.shape[:2]
    out = np.empty((h, w, 3), np.float32)
    rows = band_rows(h, w)
    lab = np.empty((rows, w, 3), np.float32)
    for s in bands(h, rows):
        band = _lab_band(L_full[s], ab_full[s], lab)
        rgb = cv2.cvtColor(band, cv2.COLOR_Lab2RGB, dst=out[s])
        np.clip(rgb, 0.0, 1.0, out=rgb)
    return out


def recombine_u8(L_full: np.ndarray, ab_full: np.ndarray, scratch: Scratch | None = None,
                 exact: bool = True) -> np.ndarray:
    """to_uint8(recombine(L_full, ab_full)), bit for bit, without full-size float temporaries:
    what every displayed colorized frame goes through. The result is always a fresh array; only
    the band buffers come from `scratch`. exact=False (playback pictures) quantizes in one
    saturating OpenCV pass that rounds halves to even: a level apart where x·255 is exactly
    k + 0.5, and four numpy passes cheaper."""
    h, w = L_full.shape[:2]
    out = np.empty((h, w, 3), np.uint8)
    rows = band_rows(h, w)
    if scratch is None:
        lab = np.empty((rows, w, 3), np.float32)
        rgb_scratch = np.empty((rows, w, 3), np.float32)
    else:
        lab, rgb_scratch = scratch.get("lab", (rows, w, 3)), scratch.get("rgb", (rows, w, 3))
    for s in bands(h, rows):
        band = _lab_band(L_full[s], ab_full[s], lab)
        rgb: np.ndarray = cv2.cvtColor(band, cv2.COLOR_Lab2RGB, dst=rgb_scratch[:s.stop - s.start])
        if not exact:
            cv2.convertScaleAbs(cv2.max(rgb, 0.0, dst=rgb), alpha=255.0, dst=out[s])
            continue
        np.clip(rgb, 0.0, 1.0, out=rgb)
        rgb *= np.float32(255.0)
        rgb += np.float32(0.5)
        np.copyto(out[s], rgb, casting="unsafe")  # truncates, as to_uint8's astype does
    return out


def _lab_band(L: np.ndarray, ab: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    return cv2.merge((L.astype(np.float32, copy=False), ab.astype(np.float32, copy=False)),
                     dst=scratch[:L.shape[0]])


def colorize_with_ab(rgb: np.ndarray, ab_full: np.ndarray) -> np.ndarray:
    """Keep the frame's own L, take chroma from ab_full; returns uint8 RGB."""
    return recombine_u8(luminance(rgb), ab_full)


def gray_rgb(rgb: np.ndarray) -> np.ndarray:
    """The frame as the model sees it: L only, shown as neutral gray RGB (uint8)."""
    L = luminance(rgb)
    return recombine_u8(L, np.zeros(L.shape + (2,), np.float32))
