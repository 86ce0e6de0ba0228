"""In-network hint spread: a bilateral grid over (x, y, lightness), built from stock Keras ops.

The hint generator does not have to learn, from a few hundred photos, how to carry a colour
point across an object: that part is the classic joint-bilateral spread (core.ml.spread), here
computed inside the model as a bilateral grid (Chen et al. 2007). Hints are splatted into
lightness bins on a coarse pixel grid, blurred in space and across neighbouring bins, and
sliced back at each pixel's own lightness. The U-Net sees the spread and its confidence as
extra input planes and adds a learned correction to the spread (core.ml.model.build_generator),
so training starts from the no-learning baseline and learns where objects and edges make it
wrong. Layers are registered, so `load_model(safe_mode=True)` restores them without code
execution.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import layers, ops
from numpy.typing import NDArray

from . import Tensor

EPS = 1e-9


def _gauss(sigma: float) -> np.ndarray:
    r = max(1, int(round(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    out: NDArray[np.float32] = (k / k.sum()).astype(np.float32)
    return out


def blur(g: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur (σ in grid cells) of every channel of an (N, h, w, C) grid."""
    k = _gauss(sigma)
    ch = int(g.shape[-1])
    ky = np.tile(k.reshape(-1, 1, 1, 1), (1, 1, ch, 1))
    kx = np.tile(k.reshape(1, -1, 1, 1), (1, 1, ch, 1))
    g = ops.depthwise_conv(g, ops.convert_to_tensor(ky), strides=1, padding="same")
    return ops.depthwise_conv(g, ops.convert_to_tensor(kx), strides=1, padding="same")


def splat(x: Tensor, centres: np.ndarray, delta: float, range_kernel: np.ndarray,
          pool: layers.Layer) -> tuple[Tensor, Tensor, Tensor]:
    """Hints [L, a·m, b·m, m] splatted into lightness bins on the coarse grid: (tent (N, H, W, B),
    the raw grid (N, h, w, 3B): a, b and mask sums per bin, and that grid blurred across bins)."""
    B = centres.shape[-1]
    L, abm, m = x[..., :1], x[..., 1:3], x[..., 3:4]
    tent = ops.relu(1.0 - ops.abs(L - centres) / delta)                 # (N, H, W, B), sums to 1
    tm = tent * m
    raw = pool(ops.concatenate([tm * abm[..., :1], tm * abm[..., 1:2], tm], axis=-1))
    grid = ops.reshape(ops.matmul(ops.reshape(raw, (-1, B)), range_kernel), ops.shape(raw))
    return tent, raw, grid


@keras.saving.register_keras_serializable(package="bento")
class HintGrid(layers.Layer):
    """(N, H, W, 4) hint-generator input [L, a·m, b·m, m] → [spread ab (N, H, W, 2), confidence (N, H, W, 1)].

    `cell` px per grid cell (H, W multiples of it); `bins` lightness bins over L ∈ [-1, 1];
    `scales` (σ in cells, weight) pairs: a near spread that dominates wherever a hint is close,
    and a wide one so every pixel hears some hint. A last, lightness-blind wide term with a tiny
    weight colours pixels whose gray level no hint shares, as the joint-bilateral baseline does."""

    def __init__(self, bins: int = 12, cell: int = 8,
                 scales: Sequence[Sequence[float]] = ((1.0, 1.0), (6.0, 0.05)),
                 blind_weight: float = 1e-3, **kw: Any) -> None:
        super().__init__(**kw)
        self.bins, self.cell = int(bins), int(cell)
        self.scales = tuple((float(s), float(w)) for s, w in scales)
        self.blind_weight = float(blind_weight)
        self._pool = layers.AveragePooling2D(self.cell, self.cell, padding="valid")
        self._up = layers.UpSampling2D(self.cell, interpolation="bilinear")
        centres = np.linspace(-1.0, 1.0, self.bins, dtype=np.float32)
        self._centres = centres.reshape(1, 1, 1, -1)
        self._delta = float(centres[1] - centres[0])
        idx = np.arange(self.bins)
        rng = np.exp(-0.5 * (idx[:, None] - idx[None, :]) ** 2).astype(np.float32)  # σ = one bin
        self._range = rng / rng.sum(0, keepdims=True)

    def build(self, input_shape: tuple[int | None, ...]) -> None:  # fixed kernels only: nothing to create
        self.built = True

    def _blur(self, g: Tensor, sigma: float) -> Tensor:
        return blur(g, sigma)

    def call(self, x: Tensor) -> list[Tensor]:
        B = self.bins
        tent, raw, grid = splat(x, self._centres, self._delta, self._range, self._pool)
        shp = ops.shape(raw)
        # Blurring, upsampling and slicing are linear, so the scales are summed on the coarse grid
        # and only one grid goes up to full size.
        total = 0.0
        for sigma, weight in self.scales:
            total = total + weight * self._blur(grid, sigma)
        blind = ops.sum(ops.reshape(raw, (shp[0], shp[1], shp[2], 3, B)), axis=-1)      # lightness-blind
        blind = self._blur(blind, self.scales[-1][0])
        total = total + self.blind_weight * ops.repeat(blind, B, axis=-1)  # equal in every bin: Σ tent = 1
        up = self._up(total)                                                            # (N, H, W, 3B)
        na = ops.sum(up[..., :B] * tent, axis=-1, keepdims=True)
        nb = ops.sum(up[..., B:2 * B] * tent, axis=-1, keepdims=True)
        den = ops.sum(up[..., 2 * B:] * tent, axis=-1, keepdims=True)
        spread = ops.concatenate([na, nb], axis=-1) / (den + EPS)
        # log-density mapped to 0..1: 0 = no hint anywhere near, 1 = on a hint
        conf = ops.clip((ops.log(den + EPS) / np.log(10.0) + 8.0) / 8.0, 0.0, 1.0)
        return [spread, conf]

    def compute_output_shape(self, input_shape: tuple[int | None, ...]
                             ) -> list[tuple[int | None, ...]]:
        return [tuple(input_shape[:-1]) + (2,), tuple(input_shape[:-1]) + (1,)]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "bins": self.bins, "cell": self.cell,
                "scales": [list(s) for s in self.scales], "blind_weight": self.blind_weight}


@keras.saving.register_keras_serializable(package="bento")
class AddClip(layers.Layer):
    """Correction + spread, kept in the chroma range [-1, 1]."""

    def call(self, inputs: list[Tensor]) -> Tensor:
        return ops.clip(inputs[0] + inputs[1], -1.0, 1.0)

    def compute_output_shape(self, input_shape: list[tuple[int | None, ...]]
                             ) -> tuple[int | None, ...]:
        return tuple(input_shape[0])
