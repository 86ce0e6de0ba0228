"""Hint generators for the app's hint tests: real 4-channel Keras models, loaded from .keras
files through the app's own model loading, whose response to hints is known in advance.

`EdgeSpread` spreads each hint's colour across pixels of similar lightness (a diffusion whose
steps across a lightness edge weigh exp(-(ΔL/σ)²)), the behaviour a trained hint generator
learns, without the minutes of training a tiny network would need in a test. Without hints it
answers ab = 0 (gray), so every colour on screen comes from the hints.
"""
import keras
from keras import ops

from colorizer_app.core.ml.model import save_model

DIRS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
JUMPS = (32, 16, 8, 4, 2, 1, 16, 8, 4, 2, 1)        # coarse to fine steps (px): long reach in a small graph


@keras.saving.register_keras_serializable(package="bento_tests")
class EdgeSpread(keras.layers.Layer):
    def __init__(self, sigma: float = 0.1, floor: float = 1e-4, **kw):
        super().__init__(**kw)
        self.sigma, self.floor = sigma, floor

    def get_config(self):
        return dict(super().get_config(), sigma=self.sigma, floor=self.floor)

    def call(self, x):
        L, hab, m = x[..., 0:1], x[..., 1:3], x[..., 3:4]

        def roll(t, dy, dx):
            return ops.roll(ops.roll(t, dy, axis=1), dx, axis=2)

        weights = {}
        for s in set(JUMPS):
            ws = [ops.exp(-ops.square((L - roll(L, s * dy, s * dx)) / self.sigma)) for dy, dx in DIRS]
            weights[s] = (ws, 1.0 / (1.0 + sum(ws)))
        t = ops.concatenate([hab * m, m], axis=-1)          # numerator and weight, spread alike
        for s in JUMPS:
            ws, norm = weights[s]
            t = (t + sum(w * roll(t, s * dy, s * dx) for w, (dy, dx) in zip(ws, DIRS))) * norm
        out = t[..., 0:2] / ops.maximum(t[..., 2:3], self.floor)
        return ops.clip(ops.where(m > 0, hab, out), -1.0, 1.0)


def edge_spread_model(path):
    inp = keras.Input((None, None, 4), name="L_hints")
    return save_model(keras.Model(inp, EdgeSpread(name="spread")(inp)), path)
