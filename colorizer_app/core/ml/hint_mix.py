"""Learned hint propagation that cannot invent colour: a per-pixel convex mix of hint spreads.

The grid hint generator (core.ml.hint_grid) adds a free correction to the spread, and on a few
hundred photos that correction learns a colour prior (memorised object colours) that fights the
hints. Here the network only chooses, per pixel, how to weigh K candidate chroma fields that
are all averages of the hints themselves:
- pixel: the hint planes as given (a hinted pixel keeps its own colour);
- near / mid / wide: bilateral-grid spreads (x, y, lightness; as HintGrid) at σ = 1, 3 and 8
  cells, each normalised on its own;
- blind: a wide, lightness-blind spread, for gray levels that no hint shares;
- gray: the zero field, for pixels no hint speaks for.
The output Σ softmax(logits + log density)_k · candidate_k is inside the convex hull of the hint
colours and gray, whatever the weights: training can learn how far and across which edges a hint
travels, never which colour an object "usually" is. With no hint at all the output is gray.

The log density of each candidate is added to its logit, so a logit bias b_k makes the mix
Σ e^b_k num_k / Σ e^b_k den_k: the multi-scale bilateral grid with scale weights e^b_k. An
untrained model (zero kernel on its logit layer, biases INIT_WEIGHTS) is therefore the grid
spread, and the U-Net's logits re-weigh it pixel by pixel. Layers are registered, so
`load_model(safe_mode=True)` restores them without code execution.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from . import Tensor
from .hint_grid import blur, splat

CANDIDATES = ("pixel", "near", "mid", "wide", "blind", "gray")
# e^b_k at initialisation. near / wide / blind / gray as HintGrid (1, 0.05, 1e-3, its 1e-9 floor),
# so the untrained mix is the grid spread; mid in between (0.2) so it has a say near hints; the
# pixel's own hint weight 1 (its density is the 0/1 mask, far above any blurred density, so a
# hint keeps its colour where it was painted, as the joint-bilateral baseline does).
INIT_WEIGHTS = (1.0, 1.0, 0.2, 0.05, 1e-3, 1e-9)
TINY = 1e-12   # density floor: log stays finite where no hint reaches


@keras.saving.register_keras_serializable(package="bento")
class HintCandidates(layers.Layer):
    """(N, H, W, 4) hint-generator input [L, a·m, b·m, m] → [candidates (N, H, W, 2K): K a-planes
    then K b-planes, log densities (N, H, W, K)], K = len(CANDIDATES).

    `cell` px per grid cell (H, W multiples of it), `bins` lightness bins over L ∈ [-1, 1],
    `sigmas` the near / mid / wide spatial σ in cells, `blind_sigma` the lightness-blind one."""

    def __init__(self, bins: int = 12, cell: int = 8, sigmas: Sequence[float] = (1.0, 3.0, 8.0),
                 blind_sigma: float = 8.0, **kw: Any) -> None:
        super().__init__(**kw)
        self.bins, self.cell = int(bins), int(cell)
        self.sigmas = tuple(float(s) for s in sigmas)
        self.blind_sigma = float(blind_sigma)
        if len(self.sigmas) != 3:
            raise ValueError(f"sigmas: near, mid and wide, got {self.sigmas}")
        self._pool = layers.AveragePooling2D(self.cell, self.cell, padding="valid")
        self._up = layers.UpSampling2D(self.cell, interpolation="bilinear")
        centres = np.linspace(-1.0, 1.0, self.bins, dtype=np.float32)
        self._centres = centres.reshape(1, 1, 1, -1)
        self._delta = float(centres[1] - centres[0])
        idx = np.arange(self.bins)
        rng = np.exp(-0.5 * (idx[:, None] - idx[None, :]) ** 2).astype(np.float32)  # σ = one bin
        self._range = rng / rng.sum(0, keepdims=True)

    def build(self, input_shape: tuple[int | None, ...]) -> None:  # fixed kernels: nothing to create
        self.built = True

    def call(self, x: Tensor) -> list[Tensor]:
        B = self.bins
        abm, m = x[..., 1:3], x[..., 3:4]
        tent, raw, grid = splat(x, self._centres, self._delta, self._range, self._pool)
        shp = ops.shape(raw)
        S = len(self.sigmas)
        # one upsampling and one slice for all scales: (near, mid, wide) × (a, b, density) × bins
        up = self._up(ops.concatenate([blur(grid, sigma) for sigma in self.sigmas], axis=-1))
        upshp = ops.shape(up)
        sliced = ops.sum(ops.reshape(up, (upshp[0], upshp[1], upshp[2], 3 * S, B)) * tent[..., None, :], axis=-1)
        nums = [sliced[..., 3 * i:3 * i + 2] for i in range(S)]
        dens = [sliced[..., 3 * i + 2:3 * i + 3] for i in range(S)]
        blind = ops.sum(ops.reshape(raw, (shp[0], shp[1], shp[2], 3, B)), axis=-1)   # lightness-blind
        blind = self._up(blur(blind, self.blind_sigma))
        nums.append(blind[..., :2])
        dens.append(blind[..., 2:3])
        nums, dens = [abm] + nums, [m] + dens                                    # pixel: the hint itself
        # each candidate normalised on its own: a weighted mean of hint colours (0 where none reaches)
        cands = [n / (d + TINY) for n, d in zip(nums, dens)]
        cands.append(ops.zeros_like(abm))                                         # gray
        a = ops.concatenate([c[..., :1] for c in cands], axis=-1)
        b = ops.concatenate([c[..., 1:] for c in cands], axis=-1)
        logden = ops.log(ops.maximum(ops.concatenate(dens, axis=-1), TINY))
        logden = ops.concatenate([logden, ops.zeros_like(m)], axis=-1)            # gray: density 1
        return [ops.concatenate([a, b], axis=-1), logden]

    def compute_output_shape(self, input_shape: tuple[int | None, ...]
                             ) -> list[tuple[int | None, ...]]:
        k = len(CANDIDATES)
        return [tuple(input_shape[:-1]) + (2 * k,), tuple(input_shape[:-1]) + (k,)]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "bins": self.bins, "cell": self.cell,
                "sigmas": list(self.sigmas), "blind_sigma": self.blind_sigma}


@keras.saving.register_keras_serializable(package="bento")
class Confidence(layers.Layer):
    """Log densities → 0..1 confidences for the U-Net (0: no hint near, 1: on a hint), gray's
    constant plane dropped; the same mapping as HintGrid's confidence."""

    def call(self, logden: Tensor) -> Tensor:
        return ops.clip((logden[..., :-1] / np.log(10.0) + 8.0) / 8.0, 0.0, 1.0)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return tuple(input_shape[:-1]) + (int(input_shape[-1] or 1) - 1,)


@keras.saving.register_keras_serializable(package="bento")
class ConvexMix(layers.Layer):
    """[candidates (2K), log densities (K), logits (K)] → ab (N, H, W, 2) = Σ_k w_k · candidate_k,
    w = softmax(logits + log density) over the K candidates: a convex combination, always."""

    def call(self, inputs: list[Tensor]) -> Tensor:
        cands, logden, logits = inputs
        k = int(logits.shape[-1])
        w = ops.softmax(logits + logden, axis=-1)
        a = ops.sum(w * cands[..., :k], axis=-1, keepdims=True)
        b = ops.sum(w * cands[..., k:], axis=-1, keepdims=True)
        return ops.concatenate([a, b], axis=-1)

    def compute_output_shape(self, input_shape: list[tuple[int | None, ...]]
                             ) -> tuple[int | None, ...]:
        return tuple(input_shape[0][:-1]) + (2,)


@keras.saving.register_keras_serializable(package="bento")
class GuideInput(layers.Layer):
    """[hint-generator input (N, H, W, 4), guide offset (N, H, W, 1)] → the same input with its
    lightness replaced by the learnt guide clip(L + offset, -1, 1).

    The "guided" generator spreads the hints a second time in a bilateral grid over (x, y, guide)
    instead of (x, y, lightness): the U-Net can pull pixels of one object together along the
    guide axis (and push neighbours apart), so a hint travels across its object and not across a
    boundary that lightness alone does not see. A zero offset (the start) is the lightness grid."""

    def call(self, inputs: list[Tensor]) -> Tensor:
        x, offset = inputs
        return ops.concatenate([ops.clip(x[..., :1] + offset, -1.0, 1.0), x[..., 1:]], axis=-1)

    def compute_output_shape(self, input_shape: list[tuple[int | None, ...]]
                             ) -> tuple[int | None, ...]:
        return tuple(input_shape[0])


@keras.saving.register_keras_serializable(package="bento")
class LightnessGate(layers.Layer):
    """[ab (N, H, W, 2), log densities (N, H, W, K)] → ab · rᵖ / (rᵖ + cᵖ): a pixel unlike in
    lightness every hint that reaches it fades to gray.

    r = wide spread's density / lightness-blind spread's density (both σ 8 cells): the share of
    the hint mass reaching the pixel that is near its own lightness. A colour clicked on a dark
    coat reaches the light wall beside it with r ≈ 0 (the wall stays as it was), and the coat's
    far side with r near its top. The mix alone weighs candidates against gray by absolute
    density, which cannot tell "far away" from "across an edge". Fixed maths: the threshold `c`
    and the sharpness `p`, calibrated on validation footage (scripts/calibrate_hint_reach.py)."""

    def __init__(self, c: float = 0.02, p: float = 1.0, **kw: Any) -> None:
        super().__init__(**kw)
        self.c, self.p = float(c), float(p)
        self._wide, self._blind = CANDIDATES.index("wide"), CANDIDATES.index("blind")

    def call(self, inputs: list[Tensor]) -> Tensor:
        ab, logden = inputs
        w, b = self._wide, self._blind
        rp = ops.exp(self.p * ops.minimum(logden[..., w:w + 1] - logden[..., b:b + 1], 0.0))
        return ab * (rp / (rp + self.c ** self.p))

    def compute_output_shape(self, input_shape: list[tuple[int | None, ...]]
                             ) -> tuple[int | None, ...]:
        return tuple(input_shape[0])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "c": self.c, "p": self.p}


def init_bias() -> np.ndarray:
    """The logit layer's starting bias: log INIT_WEIGHTS (see the module docstring)."""
    out: np.ndarray = np.log(np.asarray(INIT_WEIGHTS, np.float64)).astype(np.float32)
    return out
