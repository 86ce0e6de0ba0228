"""The palette transfer (core.ml.palette_transfer) as a Keras layer whose weights are the palette.

`PaletteLookup` maps the network input's L channel (-1..1) to ab / 110 by the film's curve of
mean a/b per lightness level, read exactly as PaletteTransfer.ab_for reads it: the bin position
L * bins / 100 - 0.5 clipped to the first and last level, linear between the two nearest levels.
The interpolation is written as hat functions (relu(1 - |pos - i|), which sum to 1 once the
position is clipped) times the curve, so the curve gets a dense gradient and learning can refine
the palette. The layer is registered, so `load_model(safe_mode=True)` restores it, and its only
state is the curve: an adapted model carries its film's palette in its weights (and in its
weights digest, so the chroma cache keys it).
"""
from __future__ import annotations

from typing import Any

import keras  # noqa: E402  (core.model set the backend)
import numpy as np
from keras import layers, ops  # noqa: E402

from .. import color
from . import Tensor
from .palette_transfer import BINS, PaletteTransfer


@keras.saving.register_keras_serializable(package="bento")
class PaletteLookup(layers.Layer):
    """Input (H, W, C) with L in [-1, 1] in channel 0 → the palette's ab / 110, (H, W, 2)."""

    def __init__(self, bins: int = BINS, **kwargs: Any):
        super().__init__(**kwargs)
        self.bins = int(bins)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.curve = self.add_weight(shape=(self.bins, 2), initializer="zeros", name="curve")
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        L100 = (inputs[..., :1] + 1.0) * 50.0
        pos = ops.clip(L100 * (self.bins / 100.0) - 0.5, 0.0, float(self.bins - 1))
        levels = ops.arange(self.bins, dtype="float32")
        hat = ops.relu(1.0 - ops.abs(pos - levels))          # (..., bins): weights of the two nearest
        return ops.matmul(hat, ops.cast(self.curve, hat.dtype))

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return tuple(input_shape[:-1]) + (2,)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "bins": self.bins}

    def set_palette(self, pt: PaletteTransfer) -> None:
        """Load a fitted palette transfer's curve (LAB units) as the layer's weights."""
        if pt.bins != self.bins:
            raise ValueError(f"the palette has {pt.bins} levels, the layer {self.bins}")
        self.curve.assign(palette_weights(pt))


def palette_weights(pt: PaletteTransfer) -> np.ndarray:
    """A palette transfer's curve in the layer's units (ab / 110), (bins, 2) float32."""
    return np.asarray(pt.curve() / color.AB_SCALE, np.float32)


__all__ = ["PaletteLookup", "palette_weights"]
