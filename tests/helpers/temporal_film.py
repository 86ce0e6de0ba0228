"""Synthetic film for the core.temporal tests: textured pictures panned by known motion."""
import cv2
import numpy as np

from colorizer_app.core import flow as FL
from colorizer_app.core import metrics as M

H, W = 96, 128


# ---------------------------------------------------------------- synthetic film

def _field(rng, h, w, sigmas):
    n = rng.random((h, w)).astype(np.float32)
    f = sum(cv2.GaussianBlur(n, (0, 0), s) * k for s, k in sigmas)
    return cv2.normalize(f, None, -1, 1, cv2.NORM_MINMAX)


def textured_rgb(h, w, seed):
    """Film-like picture (float RGB [0,1]): detailed luma, smoother chroma."""
    rng = np.random.default_rng(seed)
    lab = np.dstack([55 + 30 * _field(rng, h, w, [(1, 1), (3, 2), (8, 4)]),
                     35 * _field(rng, h, w, [(4, 1), (10, 2)]),
                     35 * _field(rng, h, w, [(4, 1), (10, 2)])]).astype(np.float32)
    return np.clip(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB), 0, 1)


def translated(n, shift, seed=0, noise=0.0, h=H, w=W, margin=24):
    """Frame t shows a larger picture moved by t·shift px (so flow t->t+1 = shift); new picture
    enters at the borders, as in a pan."""
    big = textured_rgb(h + 2 * margin, w + 2 * margin, seed)
    rng = np.random.default_rng(seed + 100)
    out = []
    for t in range(n):
        Mx = np.float32([[1, 0, -margin + shift[0] * t], [0, 1, -margin + shift[1] * t]])
        f = cv2.warpAffine(big, Mx, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        if noise:
            f = f + rng.normal(0, noise, f.shape).astype(np.float32)
        out.append(np.clip(f * 255 + 0.5, 0, 255).astype(np.uint8))
    return out


def gray(f):
    return cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)


def lab(f):
    return M.rgb_to_lab(f)


def recombine(L, ab):
    x = np.dstack([L, ab]).astype(np.float32)
    return np.clip(cv2.cvtColor(x, cv2.COLOR_LAB2RGB) * 255 + 0.5, 0, 255).astype(np.uint8)


class CountingFlows(FL.FlowCache):
    """Records every flow pair asked for (to prove nothing crosses a cut)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.pairs = set()

    def flow(self, i, j):
        self.pairs.add((i, j))
        return super().flow(i, j)
