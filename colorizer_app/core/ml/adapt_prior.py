"""The palette transfer as a prior inside the adapted model: ab = palette(L) + gate · network(L).

A film's keyframes give a strong no-learning guess (core.ml.palette_transfer: mean a/b per lightness
level). Learning the network's correction on top of it, rather than the whole colour, starts the
adaptation at the palette transfer's quality instead of the base model's. The lookup is made of
stock Keras layers (1×1 convolutions and ReLUs: linear interpolation between lightness levels as
hat functions), so the saved model loads with safe_mode like any generator. The gate on the
network's output starts at zero (so step 0 is exactly the palette transfer); the palette itself is
trainable too, so learning can refine it.
"""
from __future__ import annotations

import keras  # noqa: E402  (core.model set the backend)
import numpy as np
from keras import layers  # noqa: E402

from . import Tensor
from .model import input_channels


def _fixed_conv(x: Tensor, weights: np.ndarray, bias: np.ndarray | None, name: str,
                trainable: bool = False) -> Tensor:
    conv = layers.Conv2D(weights.shape[-1], 1, use_bias=bias is not None, trainable=trainable, name=name)
    y = conv(x)
    conv.set_weights([weights[None, None].astype(np.float32)] + ([bias.astype(np.float32)] if bias is not None else []))
    return y


def with_palette_prior(base: keras.Model, curve: np.ndarray) -> keras.Model:
    """`base` (its weights as they are) wrapped as palette(L) + gate · base(input).

    `curve`: (bins, 2) mean a/b per lightness level in LAB units (PaletteTransfer.curve())."""
    bins = int(curve.shape[0])
    ch = input_channels(base)
    inp = keras.Input((None, None, ch), name="L_hints" if ch == 4 else "L")
    net = base(inp)
    # bin position of each pixel: L in [-1, 1] -> (L + 1) * bins / 2 - 0.5 (as PaletteTransfer.ab_for)
    pick_L = np.zeros((ch, bins), np.float32)
    pick_L[0] = bins / 2.0
    offsets = bins / 2.0 - 0.5 - np.arange(bins, dtype=np.float32)
    up = _fixed_conv(inp, pick_L, offsets, "prior_pos")
    down = _fixed_conv(inp, -pick_L, -offsets, "prior_neg")
    dist = layers.Add(name="prior_abs")([layers.ReLU(name="prior_pos_relu")(up),
                                         layers.ReLU(name="prior_neg_relu")(down)])
    hat = layers.ReLU(name="prior_hat")(_fixed_conv(dist, -np.eye(bins, dtype=np.float32),
                                                    np.ones(bins, np.float32), "prior_one_minus"))
    prior = _fixed_conv(hat, np.asarray(curve, np.float32) / 110.0, None, "prior_palette", trainable=True)
    gate = _fixed_conv(net, np.zeros((2, 2), np.float32), None, "prior_gate", trainable=True)
    out = layers.Add(name="ab_with_prior")([prior, gate])
    return keras.Model(inp, out, name=f"{base.name}_palette")
