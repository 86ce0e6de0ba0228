"""Learn the film: test-time adaptation of a generator to a film's keyframes.

A film repeats its faces, clothes and sets across many shots, so a few keyframes an artist has
coloured teach the network this film's colours. A plain generator is not fine-tuned as it is:
fine-tuned from the base model, the adaptation starts far below the no-learning palette transfer
(core.ml.palette_transfer) and does not catch up within minutes on a CPU. It is turned into
palette(L) + a learnt correction (core.ml.adapt_prior: the palette as weights, the base U-Net as
the correction network with its output layer at zero), so learning starts exactly at the palette
transfer. A hint generator is fine-tuned as it is. Either way the model is trained on augmented
crops of the keyframes (core.ml.adapt_data), with
  - an L2 anchor to the starting weights (L2-SP): few keyframes must not make the network forget
    how to colour what they do not show; for the palette model that includes the correction's
    output layer, anchored at zero: a weight decay on the correction;
  - batch norm and dropout in inference mode: statistics of a handful of crops would wreck the
    running means the base model colours with;
  - a wall-clock and/or step budget, and early stopping on a held-out part of the keyframes
    (whole frames when there are four or more, else a strip of each): the weights kept are the
    best on the held-out part, and the starting weights when learning never helped. The palette
    is fitted on the training part while learning and on all keyframes at the end.
The result is a model of its own (new weights, so Colorizer.model_id and the chroma cache key
differ), saved atomically (core.ml.model.save_model) in the film's sidecar folder or where asked.
Progress (step, train loss, held-out loss, ETA) goes to a callback; a cancel flag stops it
without a result. No Qt here: the app runs this in a QThread (gui.adapt_worker).
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras  # noqa: E402  (core.model set the backend)
import numpy as np

from .. import color
from . import Tensor
from . import hints as hints_mod
from .adapt_data import (
    AdaptError,
    Keyframe,
    WorkFrame,
    augmented_crop,
    padded_full,
    split_held_out,
    to_work,
)
from .model import input_channels, save_model

if TYPE_CHECKING:
    from .palette_transfer import PaletteTransfer


# The palette reads colour off absolute lightness: a crop whose L is jittered by gamma/gain/offset
# gets another level's colour, and learning to undo that swamped what the keyframes teach (held-out
# error 2-5x the palette's within 150 steps on the dialogue benchmark, never below it; without
# jitter it went below). Shots of one film share their grading, so the palette model keeps a quarter.
# The correction starts at zero and has far to go in minutes: 3e-4 went further than 1e-4 in 250
# steps, 1e-3 was unstable on the held-out part (bikes.mp4; chosen before the reported runs).
PALETTE_JITTER = 0.25
PALETTE_LR = 3e-4
# Starting at the palette, the weights kept are never worse than it, so waiting costs only time;
# the held-out error still improved after gaps of hundreds of steps (movie.avi, 8 keyframes, best
# step 250 at 1 min, 2170 at 10 min) where 8 evaluations (80 steps) stopped runs within 2 minutes.
PALETTE_PATIENCE = 30


class AdaptCancelled(Exception):
    """The artist cancelled: nothing was written, the project keeps its model."""


@dataclass
class AdaptConfig:
    minutes: float | None = 3.0       # wall-clock budget (None: steps only)
    max_steps: int | None = None      # step budget (None: time only)
    size: int = 256                   # working size the film is colorized at
    crop: int = 128                   # training crop side (a multiple of 64)
    batch_size: int = 4
    lr: float | None = None           # Adam rate; None: 1e-4 fine-tuning, PALETTE_LR on the palette
    anchor: float = 1e-5              # L2-SP weight on sum((w - w_base)^2)
    eval_every: int = 10              # steps between held-out evaluations
    patience: int | None = None       # evaluations without improvement before stopping;
                                      # None: 8 fine-tuning, PALETTE_PATIENCE on the palette
    hint_prob: float = 0.5            # hint model: share of crops with simulated hints
    palette_prior: bool = True        # plain generator: start at the palette transfer, learn a
                                      # correction (core.ml.adapt_prior); hint generators fine-tune
    palette_planes: bool = True       # the correction network also sees the palette's ab
    jitter: float | None = None       # strength of the lightness jitter (adapt_data.jitter_L);
                                      # None: 1 fine-tuning, PALETTE_JITTER on the palette
    seed: int = 0

    def check(self) -> None:
        if self.minutes is None and self.max_steps is None:
            raise AdaptError("give a time budget (minutes) or a step budget")
        if self.minutes is not None and not self.minutes > 0:
            raise AdaptError(f"the time budget must be more than 0 minutes, got {self.minutes:g}")
        if self.max_steps is not None and self.max_steps <= 0:
            raise AdaptError(f"the step budget must be at least 1 step, got {self.max_steps}")
        if self.crop % 64 or self.crop < 64 or self.size % 64 or self.size < 64:
            raise AdaptError("crop and working size must be positive multiples of 64")


@dataclass
class AdaptProgress:
    step: int
    train_loss: float | None          # MSE of ab/110 on the last training batch
    held_loss: float | None           # MSE of ab/110 on the held-out part (None between evaluations)
    best_held: float
    base_held: float
    elapsed_s: float
    eta_s: float                      # seconds left at most (budget or early stop, whichever first)
    fraction: float                   # 0..1 of the budget spent


@dataclass
class AdaptResult:
    model: keras.Model
    steps: int
    seconds: float
    base_held: float
    best_held: float
    best_step: int
    stopped: str                      # "time", "steps", "early stop"
    history: list[tuple[int, float | None, float | None]] = field(default_factory=list)
    snapshots: list[tuple[float, int, float, list[Any]]] = field(default_factory=list)  # (s, step, held, weights)

    @property
    def improved(self) -> bool:
        return self.best_step > 0 and self.best_held < self.base_held


def clone_generator(base: keras.Model) -> keras.Model:
    model = keras.models.clone_model(base)
    model.set_weights(base.get_weights())
    return model


class _Learner:
    """The compiled training and evaluation steps of one adaptation."""

    def __init__(self, model: keras.Model, cfg: AdaptConfig, lr: float):
        import tensorflow as tf

        self.model, self.cfg = model, cfg
        self.vars = model.trainable_variables
        self.anchors = [tf.constant(np.asarray(v.numpy())) for v in self.vars]
        self.opt = keras.optimizers.Adam(lr)
        self.opt.build(self.vars)

        def weighted_mse(pred: Tensor, ab: Tensor, w: Tensor) -> Tensor:
            err = tf.reduce_sum(tf.square(pred - ab), -1)
            return tf.reduce_sum(err * w) / (2.0 * tf.reduce_sum(w) + 1e-6)

        @tf.function(reduce_retracing=True)
        def train(x: Tensor, ab: Tensor, w: Tensor) -> Tensor:
            with tf.GradientTape() as tape:
                pred = model(x, training=False)      # BN statistics and dropout as in inference
                data = weighted_mse(pred, ab, w)
                reg = tf.add_n([tf.reduce_sum(tf.square(v - a)) for v, a in zip(self.vars, self.anchors)])
                loss = data + cfg.anchor * reg
            grads = tape.gradient(loss, self.vars)
            self.opt.apply_gradients(zip(grads, self.vars))
            return data

        @tf.function(reduce_retracing=True)
        def evaluate(x: Tensor, ab: Tensor, w: Tensor) -> Tensor:
            return weighted_mse(model(x, training=False), ab, w)

        self.train, self.evaluate = train, evaluate


def _inputs(L: np.ndarray, hint_planes: tuple[np.ndarray, np.ndarray] | None,
            takes_hints: bool) -> np.ndarray:
    if not takes_hints:
        return L[..., None]
    return hints_mod.model_input(L, *(hint_planes or (None, None)))


def adapt(base: keras.Model, keyframes: list[Keyframe], cfg: AdaptConfig | None = None,
          progress: Callable[[AdaptProgress], None] | None = None,
          cancel: Callable[[], bool] | None = None, snapshot_s: Sequence[float] = ()) -> AdaptResult:
    """Fine-tune a copy of `base` on `keyframes`; `base` itself is never changed.

    `snapshot_s`: elapsed seconds at which to keep the best weights so far (curves over minutes
    from one run: benchmarks/bench_adapt.py). Raises AdaptError for no keyframes or a bad budget,
    AdaptCancelled when `cancel()` turns true."""
    cfg = cfg or AdaptConfig()
    cfg.check()
    if not keyframes:
        raise AdaptError("no keyframes to learn from")
    t0 = time.monotonic()
    deadline = t0 + cfg.minutes * 60.0 if cfg.minutes is not None else None
    rng = np.random.default_rng(cfg.seed)
    keras.utils.set_random_seed(cfg.seed)
    takes_hints = input_channels(base) == 4
    frames = split_held_out([to_work(k, cfg.size) for k in keyframes])
    train_frames = [f for f in frames if f.train_w.any()]
    held = [padded_full(f, cfg.size) for f in frames if f.held_w.any()]
    held_x = np.stack([_inputs(L, None, takes_hints) for L, _, _, _ in held]).astype(np.float32)
    held_ab = np.stack([ab for _, ab, _, _ in held])
    held_w = np.stack([w for _, _, _, w in held])

    prior = cfg.palette_prior and not takes_hints
    if prior:  # fitted on training pixels only: the held-out part stays unseen while learning
        from .adapt_prior import palette_generator

        pt = _palette(frames, lambda f: f.train_w)
        model = palette_generator(base, pt, cfg.palette_planes)
    else:
        model = clone_generator(base)
    jitter = cfg.jitter if cfg.jitter is not None else PALETTE_JITTER if prior else 1.0
    patience = cfg.patience if cfg.patience is not None else PALETTE_PATIENCE if prior else 8
    start_weights = model.get_weights()
    learner = _Learner(model, cfg, cfg.lr if cfg.lr is not None else PALETTE_LR if prior else 1e-4)

    def held_loss() -> float:
        return float(np.asarray(learner.evaluate(held_x, held_ab, held_w)))

    def cancelled() -> bool:
        return bool(cancel and cancel())

    base_held = best_held = held_loss()
    best_weights, best_step, step, bad_evals = None, 0, 0, 0
    history: list[tuple[int, float | None, float | None]] = [(0, None, base_held)]
    stopped, step_times = "time", []
    pending, snaps = sorted(float(t) for t in snapshot_s), []
    while True:
        if cancelled():
            raise AdaptCancelled("adaptation cancelled")
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            stopped = "time"
            break
        if cfg.max_steps is not None and step >= cfg.max_steps:
            stopped = "steps"
            break
        xs: list[np.ndarray] = []
        abs_: list[np.ndarray] = []
        ws: list[np.ndarray] = []
        while len(xs) < cfg.batch_size:
            sample = augmented_crop(train_frames[int(rng.integers(len(train_frames)))], cfg.crop, rng, jitter)
            if sample is None:
                continue
            L, ab, w = sample
            planes = hints_mod.sample_hints(ab, rng) if takes_hints and rng.random() < cfg.hint_prob else None
            xs.append(_inputs(L, planes, takes_hints))
            abs_.append(ab)
            ws.append(w)
        t_step = time.monotonic()
        train_loss = float(np.asarray(learner.train(np.stack(xs).astype(np.float32), np.stack(abs_), np.stack(ws))))
        step += 1
        step_times.append(time.monotonic() - t_step)
        h = None
        if step % cfg.eval_every == 0:
            h = held_loss()
            if h < best_held - 1e-6:
                best_held, best_step, bad_evals = h, step, 0
                best_weights = [np.array(w) for w in model.get_weights()]
            else:
                bad_evals += 1
        history.append((step, train_loss, h))
        elapsed = time.monotonic() - t0
        if progress is not None:
            progress(AdaptProgress(step, train_loss, h, best_held, base_held, elapsed,
                                   _eta(cfg, step, elapsed, deadline, step_times),
                                   _fraction(cfg, step, elapsed)))
        while pending and elapsed >= pending[0]:
            snaps.append((pending.pop(0), best_step, best_held, best_weights))
        if bad_evals >= patience:
            stopped = "early stop"
            break
    if cancelled():
        raise AdaptCancelled("adaptation cancelled")
    snaps += [(t, best_step, best_held, best_weights) for t in pending]  # stopped before them

    def final(weights: list[Any] | None) -> list[Any]:
        model.set_weights(weights if weights is not None else start_weights)
        if prior:  # the held-out part was kept out of the palette while learning; now use it
            from .adapt_prior import refit_palette

            refit_palette(model, pt, _palette(frames, lambda f: f.train_w + f.held_w))
        return [np.array(w) for w in model.get_weights()]

    snapshots = [(t, st, h, final(w)) for t, st, h, w in snaps]
    final(best_weights)
    return AdaptResult(model, step, time.monotonic() - t0, base_held, best_held, best_step, stopped, history,
                       snapshots)


def _palette(frames: Sequence[WorkFrame], weight: Callable[[WorkFrame], np.ndarray]) -> PaletteTransfer:
    from .palette_transfer import PaletteTransfer

    pt = PaletteTransfer()
    for f in frames:
        pt.add(f.L, f.ab * color.AB_SCALE, weight(f))
    return pt


def _eta(cfg: AdaptConfig, step: int, elapsed: float, deadline: float | None, step_times: list[Any]) -> float:
    left = []
    if deadline is not None:
        left.append(max(0.0, deadline - time.monotonic()))
    if cfg.max_steps is not None:
        recent = step_times[-20:]
        left.append(max(0, cfg.max_steps - step) * (sum(recent) / len(recent) if recent else 0.0))
    return min(left) if left else 0.0


def _fraction(cfg: AdaptConfig, step: int, elapsed: float) -> float:
    parts = []
    if cfg.minutes is not None:
        parts.append(elapsed / (cfg.minutes * 60.0))
    if cfg.max_steps is not None:
        parts.append(step / cfg.max_steps)
    return float(min(1.0, max(parts)))


def adapted_model_path(film: str | os.PathLike[str], model: keras.Model) -> Path:
    """Where a film's adapted model lives: ``<film>.bento/models/adapted_<weights>.keras``, so each
    adaptation has a file of its own and the project names it (core.ml.chroma_cache.project_dir_for)."""
    from .chroma_cache import project_dir_for
    from .inference import weights_digest

    return project_dir_for(film) / "models" / f"adapted_{weights_digest(model)}.keras"


def save_adapted(model: keras.Model, path: str | os.PathLike[str]) -> Path:
    """Atomic: the file appears under its name only when complete."""
    return save_model(model, path)


__all__ = ["AdaptCancelled", "AdaptConfig", "AdaptError", "AdaptProgress", "AdaptResult", "Keyframe",
           "adapt", "adapted_model_path", "clone_generator", "save_adapted"]
