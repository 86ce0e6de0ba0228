"""The adapted generator that starts at the palette transfer: ab = clip(palette(L) + Δ(L, palette)).

Fine-tuning the base model starts far below the no-learning palette transfer on a film's shots
without keyframes (core.ml.palette_transfer: the keyframes' mean a/b per lightness level) and
does not catch up within minutes on a CPU. Here the palette is part of the model
(core.ml.palette_layer.PaletteLookup, the curve as weights) and the network only learns a
correction on top of it:
  - the body is the base U-Net with the base's weights; it sees L and, as extra input planes
    whose kernel starts at zero, the palette's ab (so a correction can depend on the colour the
    palette proposes; at the start the body computes exactly what the base computes);
  - the base's output layer is re-initialised to zero (tanh(0) = 0), and the base's saturation
    gain is left out (a correction should not be muted), so step 0 is exactly the palette
    transfer and early stopping on held-out keyframes can only keep what improves on it.
The result maps L (H, W, 1) to ab (H, W, 2) like any plain generator and loads with safe_mode
(registered layers only), so the viewer, export, render and the chroma cache use it unchanged.
Hint generators (4 input channels) are not wrapped: core.ml.adapt fine-tunes them as before.
"""
from __future__ import annotations

import keras  # noqa: E402  (core.model set the backend)
import numpy as np
from keras import layers  # noqa: E402

from .hint_grid import AddClip
from .model import input_channels, warm_start
from .palette_layer import PaletteLookup
from .palette_transfer import PaletteTransfer

HEAD = "ab"             # the U-Net's output convolution (core.ml.model.build_generator)
PALETTE = "palette"     # the PaletteLookup layer of an adapted model
BODY = "correction"     # the nested U-Net that outputs Δ


def _fresh(layer: keras.layers.Layer) -> keras.layers.Layer:
    return layer.__class__.from_config(layer.get_config())


def palette_generator(base: keras.Model, pt: PaletteTransfer, palette_planes: bool = True
                      ) -> keras.Model:
    """`base` (a plain 1-channel U-Net; never changed) turned into palette(L) + Δ, Δ = 0 at first.

    `palette_planes`: the body also sees the palette's ab as two input planes (zero kernel)."""
    if input_channels(base) != 1:
        raise ValueError("palette_generator wraps a plain generator (1 input channel)")
    names = {layer.name for layer in base.layers}
    if HEAD not in names:
        raise ValueError(f"{base.name}: no '{HEAD}' output layer to start at zero")
    inp = keras.Input((None, None, 1), name="L")
    lookup = PaletteLookup(pt.bins, name=PALETTE)
    palette = lookup(inp)
    lookup.set_palette(pt)
    body_in = keras.Input((None, None, 3 if palette_planes else 1), name="L_palette")
    clone = keras.models.clone_model(base, input_tensors=body_in, clone_function=_fresh)
    body = keras.Model(body_in, clone.get_layer(HEAD).output, name=BODY)   # saturation gain left out
    warm_start(body, base)      # same names; the first kernel's palette slices stay zero
    head = body.get_layer(HEAD)
    head.set_weights([np.zeros_like(w) for w in head.get_weights()])
    x = layers.Concatenate(name="L_and_palette")([inp, palette]) if palette_planes else inp
    out = AddClip(name="palette_plus_correction")([body(x), palette])
    return keras.Model(inp, out, name=f"{base.name}_film")


def refit_palette(model: keras.Model, learnt_from: PaletteTransfer, full: PaletteTransfer) -> None:
    """Swap the palette fitted while learning for `full`, keeping what learning changed in it
    (the held-out keyframes were kept out of the palette while learning; the result uses them)."""
    layer = model.get_layer(PALETTE)
    assert isinstance(layer, PaletteLookup)
    from .palette_layer import palette_weights

    learnt = np.asarray(layer.curve.numpy()) - palette_weights(learnt_from)
    layer.curve.assign(palette_weights(full) + learnt)


__all__ = ["BODY", "HEAD", "PALETTE", "palette_generator", "refit_palette"]
