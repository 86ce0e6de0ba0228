"""No-learning hint propagation: each hint's colour spread by a joint-bilateral weight.

The baseline a hint network must beat (and the fallback for plain generators that take no
hints): every pixel's ab is the weighted mean of the hints' ab, the weight of hint i being
exp(-d²/2σs²) · exp(-(L - L_i)²/2σr²): near in the picture and similar in lightness. No
learning, no notion of objects, only distance and gray level.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

SIGMA_S = 0.25   # spatial σ as a share of the picture's longer side
SIGMA_R = 8.0    # lightness σ in L units (0..100)


def spread(L: np.ndarray, hint_ab: np.ndarray, mask: np.ndarray, sigma_s: float = SIGMA_S,
           sigma_r: float = SIGMA_R, max_samples: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """L (H, W) 0..100, hint ab (H, W, 2) LAB units, mask (H, W[, 1]) → (ab (H, W, 2), weight (H, W)).

    `weight` is the summed, unnormalised kernel weight: where it is small no hint speaks for the
    pixel. Hinted pixels keep their hint exactly."""
    h, w = L.shape
    m = mask.reshape(h, w) > 0
    ys, xs = np.nonzero(m)
    if len(ys) == 0:
        return np.zeros((h, w, 2), np.float32), np.zeros((h, w), np.float32)
    if len(ys) > max_samples:  # big painted areas: a regular subsample keeps the cost bounded
        keep = np.linspace(0, len(ys) - 1, max_samples).astype(int)
        ys, xs = ys[keep], xs[keep]
    Lf = L.astype(np.float32)
    hab = hint_ab[ys, xs].astype(np.float32)                       # (N, 2)
    hL = Lf[ys, xs]                                                # (N,)
    ss = 2.0 * (sigma_s * max(h, w)) ** 2
    gy = np.exp(-((np.arange(h, dtype=np.float32)[:, None] - ys[None, :]) ** 2) / ss)  # (H, N)
    gx = np.exp(-((np.arange(w, dtype=np.float32)[:, None] - xs[None, :]) ** 2) / ss)  # (W, N)
    num = np.zeros((h, w, 2), np.float32)
    den = np.zeros((h, w), np.float32)
    rr = np.float32(-1.0 / (2.0 * sigma_r ** 2))
    for r in range(h):  # row by row: (W, N) temporaries only
        wgt = gx * gy[r][None, :] * np.exp(rr * (Lf[r][:, None] - hL[None, :]) ** 2)
        den[r] = wgt.sum(1)
        num[r] = wgt @ hab
    ab = num / np.maximum(den, 1e-12)[..., None]
    ab[m] = hint_ab[m]
    return ab, den


def spread_over(base_ab: np.ndarray, L: np.ndarray, hint_ab: np.ndarray, mask: np.ndarray,
                sigma_s: float = SIGMA_S, sigma_r: float = SIGMA_R) -> np.ndarray:
    """Hints spread over another chroma (a plain model's): blended by how strongly the hints
    reach each pixel, so far from any hint the base colour stays."""
    ab, wgt = spread(L, hint_ab, mask, sigma_s, sigma_r)
    n = max(1, int(np.count_nonzero(mask)))
    # a pixel sitting on one hint pixel has weight 1; saturate at a fraction of that
    alpha = np.clip(wgt / min(1.0, 0.2 * n), 0.0, 1.0)[..., None]
    out: NDArray[np.float32] = (alpha * ab + (1.0 - alpha) * base_ab.astype(np.float32)).astype(np.float32)
    return out
