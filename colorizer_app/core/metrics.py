"""Colorization quality metrics, as defined in shared/design/quality.md.

All functions take numpy arrays: uint8 RGB frames (H, W, 3), or lists of them for the temporal
figures.  Pure numpy + OpenCV so that the CLI, the GUI and the tests share one implementation.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeGuard

import cv2
import numpy as np
from numpy.typing import NDArray

from . import flow as _flow

# pair_flows' result: per consecutive pair, (flow t->t+1, non-occlusion mask) or None at a cut.
PairFlows = list[tuple[np.ndarray, np.ndarray] | None]

# Lai et al. evaluate warp error on full-resolution flow; half resolution would bias the figure.
METRIC_FLOW_SCALE = 1.0
METRIC_FLOW_PRESET = "medium"
CDC_DISTANCES = (1, 2, 4)


def _f01(rgb: np.ndarray) -> np.ndarray:
    """uint8/uint16/float RGB -> float32 RGB in [0, 1]."""
    a = np.asarray(rgb)
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    if a.dtype == np.uint16:
        return a.astype(np.float32) / 65535.0
    return a.astype(np.float32)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """float32 CIELAB (L 0..100, a/b natural units) from RGB via OpenCV on float [0,1] input."""
    return cv2.cvtColor(np.ascontiguousarray(_f01(rgb)), cv2.COLOR_RGB2LAB)


def gray_baseline(rgb: np.ndarray) -> np.ndarray:
    """The "gray baseline" output: the frame's own L with zero chroma, as uint8 RGB."""
    lab = rgb_to_lab(rgb)
    lab[..., 1:] = 0.0
    out = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    rgb8: NDArray[np.uint8] = np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return rgb8


# ---------------------------------------------------------------- per-frame fidelity

def psnr(output: np.ndarray, reference: np.ndarray, peak: float = 255.0) -> float:
    """RGB PSNR in dB on 8-bit values (inf for identical frames)."""
    d = np.asarray(output, np.float64) - np.asarray(reference, np.float64)
    mse = float(np.mean(d * d))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak * peak / mse)


def ab_rmse(output: np.ndarray, reference: np.ndarray) -> float:
    """Root mean square of the a/b differences (over pixels and both channels), LAB units."""
    d = rgb_to_lab(output)[..., 1:] - rgb_to_lab(reference)[..., 1:]
    return float(np.sqrt(np.mean(d.astype(np.float64) ** 2)))


def delta_e2000(output: np.ndarray, reference: np.ndarray) -> float:
    """Mean CIEDE2000 colour difference between two RGB frames."""
    return float(np.mean(ciede2000(rgb_to_lab(output), rgb_to_lab(reference))))


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """Per-pixel CIEDE2000 (Sharma, Wu & Dalal 2005; kL = kC = kH = 1) of LAB arrays (..., 3)."""
    L1, a1, b1 = [np.asarray(lab1, np.float64)[..., k] for k in range(3)]
    L2, a2, b2 = [np.asarray(lab2, np.float64)[..., k] for k in range(3)]
    C1, C2 = np.hypot(a1, b1), np.hypot(a2, b2)
    Cm7 = ((C1 + C2) / 2.0) ** 7
    G = 0.5 * (1.0 - np.sqrt(Cm7 / (Cm7 + 25.0 ** 7)))
    a1p, a2p = (1.0 + G) * a1, (1.0 + G) * a2
    C1p, C2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360.0
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360.0
    zero = (C1p * C2p) == 0
    dh = h2p - h1p
    dh = np.where(dh > 180.0, dh - 360.0, np.where(dh < -180.0, dh + 360.0, dh))
    dh = np.where(zero, 0.0, dh)
    dLp, dCp = L2 - L1, C2p - C1p
    dHp = 2.0 * np.sqrt(C1p * C2p) * np.sin(np.radians(dh) / 2.0)
    Lm, Cm = (L1 + L2) / 2.0, (C1p + C2p) / 2.0
    hs = h1p + h2p
    hm = np.where(np.abs(h1p - h2p) <= 180.0, hs / 2.0,
                  np.where(hs < 360.0, (hs + 360.0) / 2.0, (hs - 360.0) / 2.0))
    hm = np.where(zero, hs, hm)
    T = (1 - 0.17 * np.cos(np.radians(hm - 30)) + 0.24 * np.cos(np.radians(2 * hm))
         + 0.32 * np.cos(np.radians(3 * hm + 6)) - 0.20 * np.cos(np.radians(4 * hm - 63)))
    dtheta = 30.0 * np.exp(-(((hm - 275.0) / 25.0) ** 2))
    Cm7p = Cm ** 7
    RC = 2.0 * np.sqrt(Cm7p / (Cm7p + 25.0 ** 7))
    SL = 1 + 0.015 * (Lm - 50) ** 2 / np.sqrt(20 + (Lm - 50) ** 2)
    SC = 1 + 0.045 * Cm
    SH = 1 + 0.015 * Cm * T
    RT = -np.sin(np.radians(2 * dtheta)) * RC
    de: NDArray[np.floating[Any]] = np.sqrt((dLp / SL) ** 2 + (dCp / SC) ** 2 + (dHp / SH) ** 2
                                            + RT * (dCp / SC) * (dHp / SH))
    return de


# ---------------------------------------------------------------- colourfulness

def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk 2003 on 8-bit RGB values:
    C = sqrt(σ_rg² + σ_yb²) + 0.3·sqrt(μ_rg² + μ_yb²), rg = |R−G|, yb = |(R+G)/2 − B|."""
    a = np.asarray(rgb)
    f = a.astype(np.float64) if a.dtype == np.uint8 else _f01(a).astype(np.float64) * 255.0
    R, G, B = f[..., 0], f[..., 1], f[..., 2]
    rg = np.abs(R - G)
    yb = np.abs(0.5 * (R + G) - B)
    return float(np.sqrt(rg.var() + yb.var()) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))


def _is_frame(x: object) -> TypeGuard[np.ndarray]:
    return isinstance(x, np.ndarray) and x.ndim == 3


def colourfulness_ratio(outputs: np.ndarray | Iterable[np.ndarray],
                        originals: np.ndarray | Iterable[np.ndarray]) -> float:
    """Mean colourfulness of the output ÷ that of the original (single frames or lists).
    ~1: as vivid as the original; ~0: washed out.  nan when the original has no colour."""
    outs: list[np.ndarray] = [outputs] if _is_frame(outputs) else list(outputs)
    refs: list[np.ndarray] = [originals] if _is_frame(originals) else list(originals)
    num = float(np.mean([colourfulness(o) for o in outs]))
    den = float(np.mean([colourfulness(r) for r in refs]))
    return num / den if den > 0 else float("nan")


# ---------------------------------------------------------------- warp error (Lai et al. 2018)

def pair_flows(grays: Sequence[np.ndarray], cuts: Iterable[int] = (),
               scale: float = METRIC_FLOW_SCALE, preset: str = METRIC_FLOW_PRESET) -> PairFlows:
    """For each consecutive pair (t, t+1) of the ORIGINAL gray frames: (flow t->t+1 at full res,
    non-occlusion mask on frame t), or None where a cut separates them.  Compute once and pass to
    warp_error_curve for the output, the original and the gray baseline alike."""
    cutset = set(int(c) for c in cuts)
    if len(grays) == 0:
        return []
    dis = cv2.DISOpticalFlow.create(_flow.PRESETS[preset])
    small = [_flow.downscale(_flow.to_gray8(g), scale) for g in grays]
    full_shape = _flow.to_gray8(grays[0]).shape
    out: PairFlows = []
    for t in range(len(small) - 1):
        if t + 1 in cutset:
            out.append(None)
            continue
        # the stub wants an output array where OpenCV also takes None (allocate one)
        f = _flow.upscale_flow(dis.calc(small[t], small[t + 1], None), full_shape)  # type: ignore[call-overload]
        b = _flow.upscale_flow(dis.calc(small[t + 1], small[t], None), full_shape)  # type: ignore[call-overload]
        out.append((f, ~_flow.occlusion_mask(f, b)))
    return out


def warp_error_pair(frame_t: np.ndarray, frame_t1: np.ndarray, flow: np.ndarray,
                    valid: np.ndarray) -> float:
    """Mean squared RGB difference in [0,1] between frame t and frame t+1 warped back onto t,
    over non-occluded pixels (all pixels if none survive, as Lai et al. do)."""
    a = _f01(frame_t)
    bw = _flow.warp(_f01(frame_t1), flow)
    d2 = (bw - a) ** 2
    n = int(valid.sum())
    if n == 0:
        return float(np.mean(d2))
    return float(d2[valid].mean())


def warp_error_curve(frames: Sequence[np.ndarray], grays: Sequence[np.ndarray] | None = None,
                     cuts: Iterable[int] = (), flows: PairFlows | None = None,
                     **flow_kw: Any) -> np.ndarray:
    """Per-pair warp error: element t compares frames t and t+1 (nan across a cut).
    ``grays`` are the original gray frames (defaults to the frames' own luma, which equals the
    original's when the colorizer keeps L)."""
    if flows is None:
        flows = pair_flows(grays if grays is not None else frames, cuts, **flow_kw)
    vals = [np.nan if fl is None else warp_error_pair(frames[t], frames[t + 1], *fl)
            for t, fl in enumerate(flows)]
    return np.asarray(vals, np.float64)


def warp_error(frames: Sequence[np.ndarray], grays: Sequence[np.ndarray] | None = None,
               cuts: Iterable[int] = (), flows: PairFlows | None = None, **flow_kw: Any) -> float:
    """Mean warp error over all consecutive pairs inside shots (Lai et al. 2018 E_warp)."""
    c = warp_error_curve(frames, grays, cuts, flows, **flow_kw)
    return float(np.nanmean(c)) if np.isfinite(c).any() else float("nan")


# ---------------------------------------------------------------- colour distribution consistency

def _hist(rgb: np.ndarray) -> np.ndarray:
    a = np.asarray(rgb)
    if a.dtype != np.uint8:
        a = np.clip(_f01(a) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    h = np.stack([np.bincount(a[..., c].ravel(), minlength=256) for c in range(3)]).astype(np.float64)
    hist: NDArray[np.float64] = h / h.sum(axis=1, keepdims=True)
    return hist


def jsd(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen–Shannon divergence (natural log, so 0..ln 2) of two histograms (normalised here)."""
    p = np.asarray(p, np.float64)
    q = np.asarray(q, np.float64)
    p, q = p / p.sum(), q / q.sum()
    m = 0.5 * (p + q)

    def kl(x: np.ndarray) -> float:
        nz = x > 0
        return float(np.sum(x[nz] * np.log(x[nz] / m[nz])))
    return 0.5 * kl(p) + 0.5 * kl(q)


def cdc(frames: Sequence[np.ndarray], distances: Iterable[int] = CDC_DISTANCES,
        cuts: Iterable[int] = ()) -> float:
    """Colour distribution consistency: JSD of per-channel 256-bin histograms of frames t and
    t+d, averaged over channels and t, then over d.  Pairs that straddle a cut are skipped."""
    hists = [_hist(f) for f in frames]
    cutl = sorted(int(c) for c in cuts)
    per_d = []
    for d in distances:
        vals = []
        for t in range(len(hists) - d):
            if any(t < c <= t + d for c in cutl):
                continue
            vals.append(np.mean([jsd(hists[t][c], hists[t + d][c]) for c in range(3)]))
        if vals:
            per_d.append(np.mean(vals))
    return float(np.mean(per_d)) if per_d else float("nan")


# ---------------------------------------------------------------- a whole clip

def evaluate_clip(outputs: Sequence[np.ndarray], originals: Sequence[np.ndarray],
                  cuts: Iterable[int] = (), with_delta_e: bool = False,
                  **flow_kw: Any) -> dict[str, dict[str, float]]:
    """Every figure of quality.md for a colorized clip, next to the gray baseline.

    Returns {"output": {...}, "gray": {...}, "original": {...}} with keys psnr, ab_rmse,
    colourfulness_ratio, warp_error, warp_error_ratio, cdc (and delta_e2000)."""
    cuts = list(cuts)
    grays = [cv2.cvtColor(np.ascontiguousarray(o), cv2.COLOR_RGB2GRAY) for o in originals]
    flows = pair_flows(grays, cuts, **flow_kw)
    we_orig = warp_error(originals, flows=flows)
    baseline = [gray_baseline(o) for o in originals]
    res = {"original": {"warp_error": we_orig, "cdc": cdc(originals, cuts=cuts),
                        "colourfulness": float(np.mean([colourfulness(o) for o in originals]))}}
    for name, seq in (("output", outputs), ("gray", baseline)):
        we = warp_error(seq, flows=flows)
        r = {"psnr": float(np.mean([psnr(a, b) for a, b in zip(seq, originals)])),
             "ab_rmse": float(np.mean([ab_rmse(a, b) for a, b in zip(seq, originals)])),
             "colourfulness_ratio": colourfulness_ratio(seq, originals),
             "warp_error": we,
             "warp_error_ratio": we / we_orig if we_orig > 0 else float("nan"),
             "cdc": cdc(seq, cuts=cuts)}
        if with_delta_e:
            r["delta_e2000"] = float(np.mean([delta_e2000(a, b) for a, b in zip(seq, originals)]))
        res[name] = r
    return res
