"""The study's networks in Keras 3: a pix2pix U-Net generator (L → ab) and a PatchGAN discriminator.

Both follow the study: 4×4 kernels, stride-2 convolutions, batch norm, LeakyReLU 0.2 down,
ReLU + dropout 0.3 in the up path, tanh output. The generator downsamples six times (64 → 1 at
the study's 64×64), so any multiple of 64 runs: it is fully convolutional. `width` scales every
filter count, for smaller, faster CPU variants.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

from . import Tensor  # noqa: E402
from .bundled import BUNDLED_MODELS as BUNDLED_MODELS  # noqa: E402  (re-exported)
from .bundled import DEFAULT_MODEL as DEFAULT_MODEL  # noqa: E402
from .bundled import HINT_MODEL as HINT_MODEL  # noqa: E402
from .bundled import model_path_arg as model_path_arg  # noqa: E402
from .hint_grid import AddClip, HintGrid  # noqa: E402  (registers the layers for load_model)
from .hint_mix import (  # noqa: E402
    CANDIDATES,
    Confidence,
    ConvexMix,
    GuideInput,
    HintCandidates,
    LightnessGate,
    init_bias,
)

GEN_DOWN = (64, 128, 256, 512, 512, 512)   # encoder filters; the first block has no batch norm
GEN_UP = (512, 512, 256, 128, 64)          # decoder filters; dropout on the first two, as pix2pix
DISC = (64, 128, 256)                      # stride-2 blocks: 64×64 → 8×8
DROPOUT = 0.3


class ModelError(Exception):
    """A model file that cannot be used; the message names the file and what was expected."""


def _f(n: int, width: float) -> int:
    return max(4, int(round(n * width)))


def _down(x: Tensor, filters: int, bn: bool = True, name: str = "") -> Tensor:
    x = layers.Conv2D(filters, 4, strides=2, padding="same", use_bias=not bn,
                      kernel_initializer=keras.initializers.RandomNormal(stddev=0.02), name=name + "_conv")(x)
    if bn:
        x = layers.BatchNormalization(name=name + "_bn")(x)
    return layers.LeakyReLU(0.2, name=name + "_act")(x)


def _up(x: Tensor, skip: Tensor, filters: int, dropout: bool, name: str = "") -> Tensor:
    x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False,
                               kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
                               name=name + "_deconv")(x)
    x = layers.BatchNormalization(name=name + "_bn")(x)
    if dropout:
        x = layers.Dropout(DROPOUT, name=name + "_drop")(x)
    x = layers.ReLU(name=name + "_act")(x)
    return layers.Concatenate(name=name + "_skip")([x, skip])


HINT_CHANNELS = 4  # L, hint a, hint b, hint mask


def with_lightness_gate(model: keras.Model, c: float, p: float = 1.0) -> keras.Model:
    """A mix hint generator whose output fades to gray where a pixel's lightness is unlike the
    hints reaching it (core.ml.hint_mix.LightnessGate); the same weights, one layer added. A
    model that has the gate gets it replaced."""
    if "hint_mix" not in [layer.name for layer in model.layers]:
        raise ValueError("the lightness gate needs a mix hint generator (hint_arch='mix')")
    ab = model.get_layer("ab_mix").output
    logden = model.get_layer("hint_mix").output[1]
    out = LightnessGate(c, p, name="lightness_gate")([ab, logden])
    return keras.Model(model.input, out, name=model.name)


def input_channels(model: keras.Model) -> int:
    """1 for a plain L → ab generator, 4 for a hint generator."""
    return int(tuple(model.input_shape)[-1])


HINT_ARCHS = ("grid", "mix", "guided")


def hint_arch(model: keras.Model) -> str | None:
    """"grid", "mix" or "guided" for a hint generator built here, None for a plain one."""
    names = {layer.name for layer in model.layers}
    if "hint_guide" in names:
        return "guided"
    return "mix" if "hint_mix" in names else "grid" if "hint_grid" in names else None


def build_generator(width: float = 1.0, size: int | None = None, hints: bool = False,
                    hint_arch: str = "grid") -> keras.Model:
    """U-Net: L in [-1, 1] (H, W, 1) → ab in [-1, 1] (H, W, 2). H and W multiples of 64.

    With `hints`, the input is (H, W, 4): L, hint ab (/110) and the hint mask. `hint_arch`
    "grid": the hints are first spread by an in-network bilateral grid (core.ml.hint_grid); the
    U-Net sees L, the hints, the spread and its confidence, and its output is a correction added
    to the spread. "mix": the U-Net sees K candidate spreads and their confidences
    (core.ml.hint_mix) and outputs K logits per pixel; the output is their softmax-weighted, so
    convex, mix: it can only use the hints' colours and gray. "guided": as "mix", but the mixed
    candidates are spread a second time over a learnt guide (lightness + an offset the U-Net
    outputs; core.ml.hint_mix.GuideInput) instead of lightness. Either way the last layers'
    kernels start at zero, so an untrained hint generator is the no-learning grid spread."""
    if hints and hint_arch not in HINT_ARCHS:
        raise ValueError(f"hint_arch must be one of {HINT_ARCHS}, got {hint_arch!r}")
    mix = hints and hint_arch in ("mix", "guided")
    inp = keras.Input((size, size, HINT_CHANNELS if hints else 1), name="L_hints" if hints else "L")
    x, skips = inp, []
    if mix:
        cands, logden = HintCandidates(name="hint_mix")(inp)
        conf = Confidence(name="hint_conf")(logden)
        x = layers.Concatenate(name="hint_planes")([inp, cands, conf])
    elif hints:
        spread, conf = HintGrid(name="hint_grid")(inp)
        x = layers.Concatenate(name="hint_planes")([inp, spread, conf])
    for i, f in enumerate(GEN_DOWN):
        x = _down(x, _f(f, width), bn=i > 0, name=f"down{i}")
        skips.append(x)
    for i, f in enumerate(GEN_UP):
        x = _up(x, skips[-2 - i], _f(f, width), dropout=i < 2, name=f"up{i}")
    if mix:
        if hint_arch == "guided":
            offset = layers.Conv2DTranspose(1, 4, strides=2, padding="same", kernel_initializer="zeros",
                                            name="guide_offset")(x)
            cands, logden = HintCandidates(name="hint_mix_guided")(GuideInput(name="hint_guide")([inp, offset]))
        logits = layers.Conv2DTranspose(
            len(CANDIDATES), 4, strides=2, padding="same", kernel_initializer="zeros",
            name="mix_logits")(x)
        out = ConvexMix(name="ab_mix")([cands, logden, logits])
        kind = "hintguided" if hint_arch == "guided" else "hintmix"
        model = keras.Model(inp, out, name=f"bento_{kind}_w{width:g}")
        layer = model.get_layer("mix_logits")
        layer.set_weights([layer.get_weights()[0], init_bias()])
        return model
    zero = keras.initializers.Zeros() if hints else keras.initializers.RandomNormal(stddev=0.02)
    out = layers.Conv2DTranspose(2, 4, strides=2, padding="same", activation="tanh",
                                 kernel_initializer=zero, name="ab")(x)
    if hints:
        out = AddClip(name="ab_plus_spread")([out, spread])
    return keras.Model(inp, out, name=f"bento_{'hint' if hints else 'unet'}_w{width:g}")


def warm_start(target: keras.Model, source: keras.Model) -> int:
    """Copy `source`'s weights into `target` layer by layer (matched by name) where shapes allow.

    A 1-channel generator seeds a hint generator: its first convolution's kernel fills the L slice
    and the hint slices start at zero, so training begins from a working colorizer that ignores
    hints. A `saturation` gain layer in the source is not copied (the target has none), nor is a
    plain generator's output layer into a spread-correcting hint generator, whose correction
    must start at zero. Returns how many layers were copied."""
    by_name = {layer.name: layer for layer in source.layers}
    names = {layer.name for layer in target.layers}
    if "hint_grid" in names and input_channels(source) == 1:
        by_name.pop("ab", None)
    copied = 0
    for layer in target.layers:
        src = by_name.get(layer.name)
        if src is None or not layer.weights:
            continue
        new = []
        for t, s in zip(layer.get_weights(), src.get_weights()):
            if t.shape == s.shape:
                new.append(s)
            elif t.ndim == 4 and t.shape[:2] == s.shape[:2] and t.shape[3] == s.shape[3] and t.shape[2] > s.shape[2]:
                w = np.zeros_like(t)
                w[:, :, :s.shape[2]] = s
                new.append(w)
            else:
                break
        if len(new) == len(layer.get_weights()):
            layer.set_weights(new)
            copied += 1
    return copied


def build_discriminator(width: float = 1.0, size: int | None = None) -> keras.Model:
    """PatchGAN: gray L + chroma ab (H, W, 3) → logits (H/8, W/8, 1); 8×8 for a 64×64 input."""
    inp = keras.Input((size, size, 3), name="L_ab")
    x = inp
    for i, f in enumerate(DISC):
        x = _down(x, _f(f, width), bn=i > 0, name=f"d{i}")
    x = layers.Conv2D(_f(512, width), 4, strides=1, padding="same", use_bias=False,
                      kernel_initializer=keras.initializers.RandomNormal(stddev=0.02), name="d3_conv")(x)
    x = layers.BatchNormalization(name="d3_bn")(x)
    x = layers.LeakyReLU(0.2, name="d3_act")(x)
    out = layers.Conv2D(1, 4, strides=1, padding="same", name="logits")(x)
    return keras.Model(inp, out, name=f"bento_patchgan_w{width:g}")


def gate_no_hint_gain(model: keras.Model, gain: float) -> keras.Model:
    """A hint generator whose chroma is scaled by `gain` on frames with no hint at all.

    Calibration (chosen on validation footage only): unhinted, a model trained on a few hundred
    photos guesses, and muted guesses cost less than wrong vivid ones; a hinted frame keeps the
    full output, so hint colours are met. Built from stock layers (safe_mode loads it): the mask
    channel is picked by a fixed 1×1 convolution, any hint anywhere → gate 1, none → `gain`."""
    if input_channels(model) != HINT_CHANNELS:
        raise ValueError("gate_no_hint_gain needs a hint generator (4 input channels)")
    pick = layers.Conv2D(1, 1, use_bias=False, trainable=False, name="hint_gate_mask")
    mask = pick(model.input)
    pick.set_weights([np.array([0, 0, 0, 1], np.float32).reshape(1, 1, 4, 1)])
    anyhint = layers.GlobalMaxPooling2D(keepdims=True, name="hint_gate_any")(mask)
    gate = layers.Rescaling(1.0 - gain, offset=gain, name="hint_gate")(anyhint)
    gate = layers.Concatenate(name="hint_gate_ab")([gate, gate])
    out = layers.Multiply(name="saturation")([model.output, gate])
    return keras.Model(model.input, out, name=model.name)


def save_model(model: keras.Model, path: str | os.PathLike[str]) -> Path:
    """Save atomically: a crash mid-save never leaves a half model under the real name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial.keras")
    model.save(tmp)
    os.replace(tmp, path)
    return path


def load_generator(path: str | os.PathLike[str]) -> keras.Model:
    """Load a `.keras` generator with safe_mode; any problem becomes one clear ModelError."""
    path = Path(path)
    expected = "a Keras 3 .keras generator mapping L (H, W, 1) or L + hints (H, W, 4) to ab (H, W, 2)"
    if not path.exists():
        raise ModelError(f"model file not found: {path}")
    if path.suffix != ".keras":
        raise ModelError(f"{path}: not a .keras model file (expected {expected})")
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: corrupt or truncated model file (expected {expected})")
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for bad archives; the user needs one line
        raise ModelError(f"{path}: cannot load model ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
                         f"expected {expected}") from None
    in_shape, out_shape = tuple(model.input_shape), tuple(model.output_shape)
    if len(in_shape) != 4 or in_shape[-1] not in (1, HINT_CHANNELS) or len(out_shape) != 4 or out_shape[-1] != 2:
        raise ModelError(f"{path}: wrong shape: input {in_shape}, output {out_shape}; expected {expected}")
    return model
