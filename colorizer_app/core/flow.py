"""Dense optical flow on gray film frames, backward warping, and flow confidence.

Conventions used everywhere in core.temporal:
- A flow ``f_ij`` lives on frame i's pixel grid and points into frame j:
  frame_i(x) ~ frame_j(x + f_ij(x)).  ``warp(img_j, f_ij)`` therefore brings frame j onto
  frame i ("backward warping"), which never leaves holes.
- Flow is computed on the gray film only (the model's chroma flickers; the gray does not), at a
  reduced "work" resolution for speed.  Work-resolution flows are stored in work-resolution pixel
  units; ``upscale_flow`` converts them to full-resolution pixels.
- Confidence is a float32 map in [0, 1]; 0 = occluded, out of frame or inconsistent.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar, overload

import cv2
import numpy as np
from numpy.typing import NDArray

_K = TypeVar("_K", bound=Hashable)

PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}
# MEDIUM at half resolution: measured on 1080p with 2 cores it is ~4x faster than MEDIUM at full
# resolution with no visible loss of accuracy on film-like texture (~0.03 px bias), whereas FAST
# drifts more, and chained propagation accumulates that drift frame after frame.
DEFAULT_PRESET = "medium"
DEFAULT_SCALE = 0.5
MIN_WORK_WIDTH = 320
# Forward-backward test constants of Lai et al. 2018 (squared magnitudes, full-res pixels).
FB_ALPHA = 0.01
FB_BETA = 0.5


def to_gray8(img: np.ndarray) -> np.ndarray:
    """Any gray-ish frame -> uint8 (H, W) for DIS (which only accepts 8-bit).

    uint8 gray passes through; uint8/uint16 RGB is converted to luma; float input is taken to be
    LAB L in [0, 100] (the contract's "float L")."""
    a = np.asarray(img)
    if a.ndim == 3:
        if a.shape[2] == 1:
            a = a[..., 0]
        else:
            if a.dtype == np.uint16:
                a = (a >> 8).astype(np.uint8)
            elif a.dtype != np.uint8:
                a = np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)   # float RGB [0,1]
            return cv2.cvtColor(np.ascontiguousarray(a[..., :3]), cv2.COLOR_RGB2GRAY)
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if a.dtype == np.uint16:
        return (a >> 8).astype(np.uint8)
    gray8: NDArray[np.uint8] = np.clip(a.astype(np.float32) * 2.55 + 0.5, 0, 255).astype(np.uint8)
    return gray8


def work_size(shape: tuple[int, int], scale: float) -> tuple[int, int]:
    """(h, w) of the work grid for a full-res (H, W).  The reduction stops at MIN_WORK_WIDTH:
    below ~300 px DIS loses small moving objects altogether (its patches cover them), so a
    proxy-sized film is processed at its own size whatever the scale says."""
    h, w = shape[:2]
    s = min(1.0, max(float(scale), MIN_WORK_WIDTH / w))
    return max(8, int(round(h * s))), max(8, int(round(w * s)))


def downscale(gray8: np.ndarray, scale: float) -> np.ndarray:
    h, w = work_size(gray8.shape, scale)
    if (h, w) == gray8.shape[:2]:
        return gray8
    return cv2.resize(gray8, (w, h), interpolation=cv2.INTER_AREA)


def resize_map(arr: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a per-pixel map (confidence, ab, ...) to (H, W)."""
    if arr.shape[:2] == tuple(shape[:2]):
        return arr
    return cv2.resize(arr, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def upscale_flow(flow: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Work-res flow -> full-res flow (values rescaled to full-res pixels)."""
    h, w = flow.shape[:2]
    H, W = shape[:2]
    if (h, w) == (H, W):
        return flow
    up = cv2.resize(flow, (W, H), interpolation=cv2.INTER_LINEAR)
    up[..., 0] *= W / w
    up[..., 1] *= H / h
    return up


_GRIDS: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    g = _GRIDS.get((h, w))
    if g is None:
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        if len(_GRIDS) > 8:      # a few resolutions at most; keep the dict from growing
            _GRIDS.clear()
        g = _GRIDS[(h, w)] = (xs, ys)
    return g


def warp(img: np.ndarray, flow: np.ndarray, border: int = cv2.BORDER_REPLICATE,
         value: float = 0.0, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Sample ``img`` at x + flow(x): brings frame j onto frame i for a flow f_ij.

    ``img`` and ``flow`` must share (H, W).  float32/uint8, 1-4 channels."""
    h, w = flow.shape[:2]
    xs, ys = _grid(h, w)
    mx = xs + flow[..., 0]
    my = ys + flow[..., 1]
    out = cv2.remap(np.ascontiguousarray(img), mx, my, interpolation, borderMode=border, borderValue=value)
    if img.ndim == 3 and out.ndim == 2:          # remap drops a trailing singleton channel
        out = out[..., None]
    return out


def sample_full(src: np.ndarray, flow: np.ndarray, border: int = cv2.BORDER_REPLICATE,
                value: float = 0.0) -> np.ndarray:
    """Sample a full-res ``src`` through a work-res flow: same result as
    ``warp(src, upscale_flow(flow, src.shape))`` but the full-res sampling map is made by one
    resize of the work-res position map (positions are as smooth as the flow), which saves a
    full-res pass per sample: this is the hot loop of propagation and deflicker."""
    H, W = src.shape[:2]
    h, w = flow.shape[:2]
    if (h, w) == (H, W):
        return warp(src, flow, border, value)
    xs, ys = _grid(h, w)
    sx, sy = W / w, H / h
    # work pixel centres map to full-res coordinates as X = (x + 0.5)·s - 0.5
    pos = np.dstack([(xs + flow[..., 0] + 0.5) * sx - 0.5, (ys + flow[..., 1] + 0.5) * sy - 0.5])
    m = cv2.resize(pos, (W, H), interpolation=cv2.INTER_LINEAR)
    out = cv2.remap(np.ascontiguousarray(src), m, None, cv2.INTER_LINEAR, borderMode=border,
                    borderValue=value)
    if src.ndim == 3 and out.ndim == 2:
        out = out[..., None]
    return out


def in_frame(flow: np.ndarray) -> np.ndarray:
    """True where x + flow(x) lands inside the frame (bilinear support available)."""
    h, w = flow.shape[:2]
    xs, ys = _grid(h, w)
    x = xs + flow[..., 0]
    y = ys + flow[..., 1]
    inside: NDArray[np.bool_] = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
    return inside


def fb_terms(fwd: np.ndarray, bwd: np.ndarray,
             units: tuple[float, float] = (1.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """|f + b(warped)|^2 and |f|^2 + |b(warped)|^2 in full-res px^2.

    ``units`` = (full px per work px in x, in y) so that the constants of the test keep their
    meaning when flow is computed at a reduced resolution."""
    bw = warp(bwd, fwd)
    ux, uy = units
    sx = (fwd[..., 0] + bw[..., 0]) * ux
    sy = (fwd[..., 1] + bw[..., 1]) * uy
    resid = sx * sx + sy * sy
    mags = (fwd[..., 0] * ux) ** 2 + (fwd[..., 1] * uy) ** 2 \
        + (bw[..., 0] * ux) ** 2 + (bw[..., 1] * uy) ** 2
    return resid, mags


def occlusion_mask(fwd: np.ndarray, bwd: np.ndarray, alpha: float = FB_ALPHA,
                   beta: float = FB_BETA, units: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Boolean occlusion on frame i for f_ij / f_ji (Lai et al. 2018 forward-backward test).

    Pixels whose flow leaves the frame are occluded too (nothing to compare them with)."""
    resid, mags = fb_terms(fwd, bwd, units)
    occluded: NDArray[np.bool_] = (resid > alpha * mags + beta) | ~in_frame(fwd)
    return occluded


def fb_confidence(fwd: np.ndarray, bwd: np.ndarray, alpha: float = FB_ALPHA,
                  beta: float = 1.0, units: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Soft version of the occlusion test: 1 while the forward-backward residual is under half
    the threshold, falling linearly to 0 at the threshold.  Soft so that blends driven by it do
    not show a hard seam where flow becomes doubtful.  beta defaults to 1 px^2 (looser than the
    metric's 0.5) because DIS at half resolution is rarely better than ~0.5 px on real film."""
    resid, mags = fb_terms(fwd, bwd, units)
    thr = alpha * mags + beta
    conf = np.clip(2.0 - 2.0 * resid / thr, 0.0, 1.0).astype(np.float32)
    conf[~in_frame(fwd)] = 0.0
    return conf


@overload
def compose(first: np.ndarray, c_first: np.ndarray, second: np.ndarray,
            c_second: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]: ...
@overload
def compose(first: np.ndarray, c_first: np.ndarray | None, second: np.ndarray,
            c_second: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
@overload
def compose(first: np.ndarray, c_first: np.ndarray | None, second: np.ndarray,
            c_second: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]: ...
def compose(first: np.ndarray, c_first: np.ndarray | None,
            second: np.ndarray, c_second: np.ndarray | None
            ) -> tuple[np.ndarray, np.ndarray | None]:
    """Chain two flows: first goes a->b (on a's grid), second b->c (on b's grid).

    Returns (flow a->c, confidence a->c).  Composing flows and sampling the source once avoids
    the blur of re-warping an image frame after frame."""
    flow = first + warp(second, first)
    if c_first is None and c_second is None:
        return flow, None
    c2 = np.ones(first.shape[:2], np.float32) if c_second is None else c_second
    c2w = warp(c2, first, border=cv2.BORDER_CONSTANT, value=0.0)
    conf = c2w if c_first is None else c_first * c2w
    return flow, conf.astype(np.float32, copy=False)


def fill_flow(flow: np.ndarray, conf: np.ndarray, frac: int = 8, blend: bool = True) -> np.ndarray:
    """Where the flow is not trusted, replace it by the motion of the trusted surroundings.

    Normalised convolution of ``flow`` weighted by ``conf`` at 1/``frac`` of the size (a
    Gaussian over ~1/5 of the frame).  Textureless sky, fog, motion blur and streaks moving
    along themselves (the aperture problem) fail the forward-backward test although they move
    with the camera like the rest; their chroma is as smooth as their luma, so the camera's
    motion is all a temporal filter needs there.  With ``blend`` the result is
    conf * flow + (1 - conf) * filled, so trusted pixels keep their own flow."""
    h, w = conf.shape[:2]
    sw, sh = max(4, w // frac), max(4, h // frac)
    c = cv2.GaussianBlur(cv2.resize(conf, (sw, sh), interpolation=cv2.INTER_AREA), (0, 0), 1.5)
    fc = cv2.GaussianBlur(cv2.resize(flow * conf[..., None], (sw, sh), interpolation=cv2.INTER_AREA),
                          (0, 0), 1.5)
    filled: np.ndarray = cv2.resize(fc / np.maximum(c, 1e-4)[..., None], (w, h),
                                    interpolation=cv2.INTER_LINEAR)
    if not blend:
        return filled
    k = conf[..., None]
    blended: NDArray[np.float32] = (k * flow + (1.0 - k) * filled).astype(np.float32)
    return blended


def photometric_confidence(gray_i: np.ndarray, gray_j_warped: np.ndarray,
                           valid: np.ndarray | None = None, free: float = 6.0,
                           sigma: float = 12.0) -> np.ndarray:
    """Confidence from the luma residual after warping (both uint8-scale gray, same grid).

    A flow can pass the forward-backward test and still be wrong (drift, repeated texture);
    the gray film itself must then match.  The median residual over ``valid`` pixels is removed
    first so that exposure flicker between frames (common in old film) is not taken for
    mismatch; residuals up to ``free`` (grain) cost nothing, ``free + 2.5 sigma`` ~ 0."""
    gi = cv2.GaussianBlur(gray_i.astype(np.float32), (0, 0), 1.0)
    gj = cv2.GaussianBlur(gray_j_warped.astype(np.float32), (0, 0), 1.0)
    d = gi - gj
    ok = valid if valid is not None else np.ones(d.shape, bool)
    if ok.any():
        d -= float(np.median(d[ok]))
    r = cv2.blur(np.abs(d), (3, 3))
    conf: NDArray[np.float32] = np.exp(-0.5 * (np.maximum(r - free, 0.0) / sigma) ** 2).astype(np.float32)
    return conf


def compute_flow(gray_a: np.ndarray, gray_b: np.ndarray, scale: float = DEFAULT_SCALE,
                 preset: str = DEFAULT_PRESET, full_res: bool = True) -> np.ndarray:
    """One-shot dense flow a->b (float32 (H, W, 2) in full-res px unless full_res=False)."""
    a, b = to_gray8(gray_a), to_gray8(gray_b)
    dis = cv2.DISOpticalFlow.create(PRESETS[preset])
    # the stub wants an output array where OpenCV also takes None (allocate one)
    f = dis.calc(downscale(a, scale), downscale(b, scale), None)  # type: ignore[call-overload]
    return upscale_flow(f, a.shape) if full_res else f


class FlowCache:
    """Flows between frames of one film, computed on demand at the work scale and kept in an LRU.

    ``gray(i)`` returns the gray frame i (uint8, float L, or RGB).  Thread-safe: one DIS instance
    guarded by a lock, since DIS objects are not re-entrant.  Memory per entry at 1080p and
    scale 0.5: 4 MB (flow) + 2 MB (confidence), so the default 64 entries stay under ~400 MB."""

    def __init__(self, gray: Callable[[int], np.ndarray], scale: float = DEFAULT_SCALE,
                 preset: str = DEFAULT_PRESET, max_items: int = 64, fb_beta: float = 1.0):
        self._gray_fn = gray
        self.scale = float(scale)
        self.preset = preset
        self.fb_beta = fb_beta
        self.max_items = max_items
        self._dis = cv2.DISOpticalFlow.create(PRESETS[preset])
        self._lock = threading.RLock()
        self._flows: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._grays: OrderedDict[int, np.ndarray] = OrderedDict()
        self._confs: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self.full_shape: tuple[int, int] | None = None
        self.work_shape: tuple[int, int] | None = None
        self.computed = 0        # flows actually computed (for tests and benchmarks)

    @property
    def units(self) -> tuple[float, float]:
        """Full-res px per work px, (x, y)."""
        assert self.full_shape is not None and self.work_shape is not None  # set by gray()
        (H, W), (h, w) = self.full_shape, self.work_shape
        return W / w, H / h

    def _lru_get(self, od: OrderedDict[_K, np.ndarray], key: _K) -> np.ndarray | None:
        v = od.get(key)
        if v is not None:
            od.move_to_end(key)
        return v

    def _lru_put(self, od: OrderedDict[_K, np.ndarray], key: _K, value: np.ndarray,
                 cap: int) -> None:
        od[key] = value
        od.move_to_end(key)
        while len(od) > cap:
            od.popitem(last=False)

    def full_gray(self, i: int) -> np.ndarray:
        return to_gray8(self._gray_fn(i))

    def gray(self, i: int) -> np.ndarray:
        """Work-resolution uint8 gray of frame i (cached)."""
        with self._lock:
            g = self._lru_get(self._grays, i)
            if g is None:
                full = self.full_gray(i)
                if self.full_shape is None:
                    self.full_shape = full.shape[:2]
                    self.work_shape = work_size(full.shape, self.scale)
                g = downscale(full, self.scale)
                self._lru_put(self._grays, i, g, max(8, self.max_items // 2))
            return g

    def flow(self, i: int, j: int) -> np.ndarray:
        """Work-res flow i->j (work px).  Do not modify the returned array."""
        with self._lock:
            f = self._lru_get(self._flows, (i, j))
            if f is None:
                # the stub wants an output array where OpenCV also takes None (allocate one)
                f = self._dis.calc(self.gray(i), self.gray(j), None)  # type: ignore[call-overload]
                self.computed += 1
                self._lru_put(self._flows, (i, j), f, self.max_items)
            return f

    def step(self, i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
        """(work-res flow i->j, soft forward-backward confidence on frame i)."""
        with self._lock:
            f = self.flow(i, j)
            c = self._lru_get(self._confs, (i, j))
            if c is None:
                c = fb_confidence(f, self.flow(j, i), beta=self.fb_beta, units=self.units)
                self._lru_put(self._confs, (i, j), c, self.max_items)
            return f, c

    def full_flow(self, i: int, j: int) -> np.ndarray:
        f = self.flow(i, j)
        assert self.full_shape is not None  # set by flow() -> gray()
        return upscale_flow(f, self.full_shape)

    def clear(self) -> None:
        with self._lock:
            self._flows.clear()
            self._grays.clear()
            self._confs.clear()
