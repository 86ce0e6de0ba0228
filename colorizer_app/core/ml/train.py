"""The study's two recipes: MSE regression, and the conditional GAN (pix2pix) with 25 × MSE.

GAN losses (from logits):
  D: BCE(real pair → 0.9) + BCE(generated pair → 0)      the real label smoothed by 0.1
  G: BCE(generated pair → 0.9) + 25 · MSE(ab)             "adversarial + 25 × MSE"
The discriminator sees gray + chroma (never the hints). A hint generator (`hints`) trains on
simulated hints and video-like samples (core.ml.dataset.hint_sample); a plain generator passed as
`init` seeds it (core.ml.model.warm_start). One training step runs per backend (TensorFlow on the CPU,
JAX on a GPU machine); everything else — data, checkpoints, logs — is shared.
"""
from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import keras  # noqa: E402  (model.py set the backend)
import numpy as np
from keras import ops  # noqa: E402

from . import Tensor
from .model import (
    build_discriminator,
    build_generator,
    hint_arch,
    input_channels,
    load_generator,
    save_model,
    warm_start,
)

SMOOTH = 0.1
MSE_WEIGHT = 25.0
CURVES = ("d_loss", "g_adv", "g_mse", "g_total")
# One optimisation step: (L, ab) batch -> the CURVES' values as tensors.
_Step = Callable[[Any, Any], tuple[Tensor, Tensor, Tensor, Tensor]]
# The JAX step's functional state: generator, discriminator (trainable, other) and optimiser values.
_JaxState = tuple[list[Any], list[Any], list[Any], list[Any], list[Any], list[Any]]


@dataclass
class TrainConfig:
    data: str
    out: str
    mode: str = "gan"              # "mse" or "gan"
    size: int = 128
    steps: int = 1000
    steps_per_epoch: int = 200
    batch_size: int = 16
    width: float = 0.4
    lr: float = 2e-4
    init: str | None = None        # fine-tune / warm-start from an existing generator
    workers: int = 2
    snapshot_every: int = 0        # also keep the generator every N steps, for model selection
    seed: int = 0
    hints: bool = False            # train a hint generator (L + hint ab + mask in)
    hint_arch: str = "grid"        # its kind (core.ml.model.HINT_ARCHS): "grid", "mix", "guided"
    hint_sampling: str = "ideepcolor"  # simulated hints (core.ml.dataset.HINT_SAMPLINGS)
    # Train only the layers whose names start with one of these comma-separated prefixes (the rest
    # frozen, run in inference mode: no dropout, batch norm on its moving statistics); "" = all.
    trainable: str = ""
    freeze_gray: bool = False      # a mix generator's gray candidate keeps its starting logit


def _restrict(gen: keras.Model, prefixes: str) -> bool:
    """Freeze every layer whose name starts with none of the comma-separated `prefixes` ("" = train
    all). Returns the `training` flag for the generator's calls: True when everything trains;
    False when restricted, so the frozen trunk runs exactly as at inference (no dropout, batch
    norm on its moving statistics) and only the chosen layers move."""
    wanted = tuple(p.strip() for p in prefixes.split(",") if p.strip())
    for layer in gen.layers:
        layer.trainable = not wanted or layer.name.startswith(wanted)
    if wanted and not gen.trainable_variables:
        raise ValueError(f"--trainable {prefixes!r}: no layer of {gen.name} has weights under these names")
    return not wanted


def _gray_masks(gen: keras.Model) -> list[Any]:
    """Gradient multipliers per trainable variable that hold the mix logits' gray channel still
    (None: untouched). Adam moves nothing whose gradient is always zero, so gray keeps its
    starting weight (e^-20.7: only where no hint reaches) instead of growing into a fade."""
    from .hint_mix import CANDIDATES

    names = {layer.name for layer in gen.layers}
    if "mix_logits" not in names:
        raise ValueError("freeze_gray needs a mix hint generator (--hints --hint-arch mix)")
    layer = gen.get_layer("mix_logits")
    gray = CANDIDATES.index("gray")
    special = {}
    if layer.trainable:
        for v in layer.trainable_variables:   # Conv2DTranspose kernel (kh, kw, out, in), bias (out,)
            m = np.ones(tuple(v.shape), np.float32)
            if len(v.shape) == 4:
                m[:, :, gray, :] = 0.0
            else:
                m[gray] = 0.0
            special[id(v)] = ops.convert_to_tensor(m)
    return [special.get(id(v)) for v in gen.trainable_variables]


def _bce(logits: Tensor, target: float) -> Tensor:
    return ops.mean(ops.binary_crossentropy(ops.ones_like(logits) * target, logits, from_logits=True))


def _mse(a: Tensor, b: Tensor) -> Tensor:
    return ops.mean(ops.square(a - b))


class Trainer:
    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        keras.utils.set_random_seed(cfg.seed)
        self.gen = self._generator(cfg)
        self._training = _restrict(self.gen, cfg.trainable)
        self._masks = _gray_masks(self.gen) if cfg.freeze_gray else None
        self.disc = build_discriminator(cfg.width) if cfg.mode == "gan" else None
        self.opt_g = keras.optimizers.Adam(cfg.lr, beta_1=0.5)
        self.opt_d = keras.optimizers.Adam(cfg.lr, beta_1=0.5)
        self.opt_g.build(self.gen.trainable_variables)
        if self.disc is not None:
            self.opt_d.build(self.disc.trainable_variables)
        self.step = 0
        self._state: _JaxState | None = None
        self._dirty = False
        self._fn = self._make_step()

    @staticmethod
    def _generator(cfg: TrainConfig) -> keras.Model:
        init = load_generator(cfg.init) if cfg.init else None
        if init is not None and (input_channels(init) == 4) == cfg.hints:
            arch = hint_arch(init)
            if cfg.hints and arch == "mix" and cfg.hint_arch == "guided":   # same trunk and head
                gen = build_generator(cfg.width, hints=True, hint_arch="guided")
                warm_start(gen, init)
                return gen
            if cfg.hints and arch is not None and arch != cfg.hint_arch:
                raise ValueError(f"{cfg.init}: a {arch!r} hint generator cannot seed a "
                                 f"{cfg.hint_arch!r} one; start from a plain generator")
            return init
        gen = build_generator(cfg.width, hints=cfg.hints, hint_arch=cfg.hint_arch)
        if init is not None:
            if not cfg.hints:
                raise ValueError(f"{cfg.init}: a hint generator cannot seed a plain one")
            warm_start(gen, init)
        return gen

    # -- one optimisation step, per backend ---------------------------------------------------------
    def _make_step(self) -> _Step:
        backend = keras.backend.backend()
        if backend == "jax":
            return self._jax_step()
        if backend == "tensorflow":
            return self._tf_step()
        raise RuntimeError(f"training supports the tensorflow and jax backends, not {backend}")

    def _losses(self, fake: Tensor, L: Tensor, ab: Tensor, d_fake_logits: Tensor | None
                ) -> tuple[Tensor, Tensor, Tensor]:
        mse = _mse(fake, ab)
        adv = _bce(d_fake_logits, 1.0 - SMOOTH) if d_fake_logits is not None else ops.zeros(())
        total = adv + MSE_WEIGHT * mse if d_fake_logits is not None else mse
        return total, mse, adv

    def _tf_step(self) -> _Step:
        import tensorflow as tf

        gen, disc = self.gen, self.disc

        @tf.function
        def step(L: Tensor, ab: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
            with tf.GradientTape() as gt, tf.GradientTape() as dt:
                fake = gen(L, training=self._training)
                gray = L[..., :1]
                d_fake = disc(ops.concatenate([gray, fake], -1), training=True) \
                    if disc is not None else None
                total, mse, adv = self._losses(fake, L, ab, d_fake)
                if disc is not None:
                    d_real = disc(ops.concatenate([gray, ab], -1), training=True)
                    d_loss = _bce(d_real, 1.0 - SMOOTH) + _bce(d_fake, 0.0)
                else:
                    d_loss = ops.zeros(())
            grads = gt.gradient(total, gen.trainable_variables)
            if self._masks is not None:
                grads = [g if m is None else g * m for g, m in zip(grads, self._masks)]
            self.opt_g.apply_gradients(zip(grads, gen.trainable_variables))
            if disc is not None:
                self.opt_d.apply_gradients(zip(dt.gradient(d_loss, disc.trainable_variables),
                                               disc.trainable_variables))
            return d_loss, adv, mse, total

        # tf.function returns an untyped (Any) callable that keeps step's signature
        return cast(_Step, step)

    def _jax_step(self) -> _Step:
        import jax

        gen, disc, gan = self.gen, self.disc, self.disc is not None

        def g_loss(g_tv: list[Any], g_ntv: list[Any], d_tv: list[Any], d_ntv: list[Any], L: Tensor,
                   ab: Tensor) -> tuple[Tensor, tuple[list[Any], Tensor, Tensor, Tensor]]:
            fake, g_ntv = gen.stateless_call(g_tv, g_ntv, L, training=self._training)
            d_fake = None
            if disc is not None:
                d_fake, _ = disc.stateless_call(d_tv, d_ntv, ops.concatenate([L[..., :1], fake], -1), training=True)
            total, mse, adv = self._losses(fake, L, ab, d_fake)
            return total, (g_ntv, fake, mse, adv)

        def d_loss_fn(d_tv: list[Any], d_ntv: list[Any], L: Tensor, ab: Tensor, fake: Tensor
                      ) -> tuple[Tensor, list[Any]]:
            assert disc is not None  # called only when training a GAN
            gray = L[..., :1]
            real, d_ntv = disc.stateless_call(d_tv, d_ntv, ops.concatenate([gray, ab], -1), training=True)
            fk, d_ntv = disc.stateless_call(d_tv, d_ntv, ops.concatenate([gray, fake], -1), training=True)
            return _bce(real, 1.0 - SMOOTH) + _bce(fk, 0.0), d_ntv

        @jax.jit
        def step(state: _JaxState, L: Tensor, ab: Tensor
                 ) -> tuple[_JaxState, tuple[Tensor, Tensor, Tensor, Tensor]]:
            g_tv, g_ntv, d_tv, d_ntv, og, od = state
            (total, (g_ntv, fake, mse, adv)), grads = jax.value_and_grad(g_loss, has_aux=True)(
                g_tv, g_ntv, d_tv, d_ntv, L, ab)
            if self._masks is not None:
                grads = [g if m is None else g * m for g, m in zip(grads, self._masks)]
            g_tv, og = self.opt_g.stateless_apply(og, grads, g_tv)
            d_loss = ops.zeros(())
            if gan:
                (d_loss, d_ntv), dgrads = jax.value_and_grad(d_loss_fn, has_aux=True)(
                    d_tv, d_ntv, L, ab, jax.lax.stop_gradient(fake))
                d_tv, od = self.opt_d.stateless_apply(od, dgrads, d_tv)
            return (g_tv, g_ntv, d_tv, d_ntv, og, od), (d_loss, adv, mse, total)

        def run(L: Tensor, ab: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
            state = self._jax_state()
            state, out = step(state, L, ab)
            self._jax_assign(state)
            # jax.jit's result is untyped (Any): step returns (d_loss, adv, mse, total)
            return cast("tuple[Tensor, Tensor, Tensor, Tensor]", out)

        return run

    def _jax_state(self) -> _JaxState:
        if self._state is None:
            d = self.disc
            self._state = ([v.value for v in self.gen.trainable_variables],
                           [v.value for v in self.gen.non_trainable_variables],
                           [v.value for v in d.trainable_variables] if d else [],
                           [v.value for v in d.non_trainable_variables] if d else [],
                           [v.value for v in self.opt_g.variables],
                           [v.value for v in self.opt_d.variables] if d else [])
        return self._state

    def _jax_assign(self, state: _JaxState) -> None:
        self._state = state
        self._dirty = True

    def sync(self) -> None:
        """Write the JAX step's functional state back into the Keras variables (before saving)."""
        if not self._dirty or self._state is None:  # (dirty: a state was assigned)
            return
        g_tv, g_ntv, d_tv, d_ntv, og, od = self._state
        pairs = [(self.gen.trainable_variables, g_tv), (self.gen.non_trainable_variables, g_ntv),
                 (self.opt_g.variables, og)]
        if self.disc is not None:
            pairs += [(self.disc.trainable_variables, d_tv), (self.disc.non_trainable_variables, d_ntv),
                      (self.opt_d.variables, od)]
        for vars_, vals in pairs:
            for var, val in zip(vars_, vals):
                var.assign(val)
        # Keras may donate variable buffers to later jitted calls (predict): re-read, never reuse
        self._state, self._dirty = None, False

    def train_step(self, L: np.ndarray, ab: np.ndarray) -> dict[str, float]:
        out = self._fn(L, ab)
        self.step += 1
        return {k: float(np.asarray(v)) for k, v in zip(CURVES, out)}

    # -- checkpoints: resume exactly where an interrupt left off ------------------------------------
    def save_checkpoint(self, ckpt: Path) -> None:
        self.sync()
        ckpt.mkdir(parents=True, exist_ok=True)
        tmp = ckpt / ".partial"
        tmp.mkdir(exist_ok=True)
        self.gen.save_weights(tmp / "gen.weights.h5")
        arrays: dict[str, Any] = {f"g{i}": np.asarray(v.value) for i, v in enumerate(self.opt_g.variables)}
        if self.disc is not None:
            self.disc.save_weights(tmp / "disc.weights.h5")
            arrays |= {f"d{i}": np.asarray(v.value) for i, v in enumerate(self.opt_d.variables)}
        np.savez(tmp / "opt.npz", **arrays)
        (tmp / "state.json").write_text(json.dumps({"step": self.step, "config": asdict(self.cfg)}))
        for f in tmp.iterdir():
            os.replace(f, ckpt / f.name)
        tmp.rmdir()

    def load_checkpoint(self, ckpt: Path) -> bool:
        state = ckpt / "state.json"
        if not state.exists():
            return False
        self.gen.load_weights(ckpt / "gen.weights.h5")
        opt = np.load(ckpt / "opt.npz")
        for i, v in enumerate(self.opt_g.variables):
            v.assign(opt[f"g{i}"])
        if self.disc is not None and (ckpt / "disc.weights.h5").exists():
            self.disc.load_weights(ckpt / "disc.weights.h5")
            for i, v in enumerate(self.opt_d.variables):
                v.assign(opt[f"d{i}"])
        self.step = json.loads(state.read_text())["step"]
        self._state = None
        return True


class CurveLog:
    """The study's four curves to a CSV and, where TensorBoard's writer is installed, to TensorBoard."""

    def __init__(self, out_dir: Path):
        out_dir.mkdir(parents=True, exist_ok=True)
        self.path = out_dir / "curves.csv"
        new = not self.path.exists()
        self._f = open(self.path, "a", newline="")
        self._w = csv.writer(self._f)
        if new:
            self._w.writerow(["step", *CURVES, "val_mse"])
        self._tb = None
        try:
            import tensorboard  # noqa: F401  (tf.summary needs it to write events)
            import tensorflow as tf

            self._tb = ("tf", tf.summary.create_file_writer(str(out_dir / "tensorboard")))
        except ImportError:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = ("torch", SummaryWriter(str(out_dir / "tensorboard")))
            except ImportError:
                pass

    def write(self, step: int, values: dict[str, float]) -> None:
        self._w.writerow([step, *(f"{values.get(k, float('nan')):.6f}" for k in (*CURVES, "val_mse"))])
        self._f.flush()
        if self._tb is None:
            return
        kind, w = self._tb
        for k, v in values.items():
            if kind == "tf":
                import tensorflow as tf

                with w.as_default():
                    tf.summary.scalar(k, v, step=step)
            else:
                w.add_scalar(k, v, step)

    def close(self) -> None:
        self._f.close()
        if self._tb is not None:
            self._tb[1].flush()


def validation_figure(gen: keras.Model, L: np.ndarray, ab: np.ndarray, path: Path, rows: int = 4) -> float:
    """gray | prediction | original for a few validation crops; returns the batch's val MSE."""
    import cv2

    from .. import color

    pred = np.asarray(gen.predict_on_batch(L))
    tiles = []
    for k in range(min(rows, len(L))):
        Lk = (L[k, ..., 0] + 1.0) * 50.0
        trip = [color.recombine(Lk, np.zeros_like(ab[k])), color.recombine(Lk, pred[k] * color.AB_SCALE),
                color.recombine(Lk, ab[k] * color.AB_SCALE)]
        tiles.append(np.hstack([color.to_uint8(t) for t in trip]))
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(np.vstack(tiles), cv2.COLOR_RGB2BGR))
    return float(np.mean((pred - ab) ** 2))


def train(cfg: TrainConfig, log: Callable[[str], None] = print,
          stop_after_s: float | None = None) -> Path:
    """Run (or resume) a recipe; writes checkpoints, curves and figures beside `cfg.out`."""
    from .dataset import batches, tf_dataset

    out = Path(cfg.out)
    run_dir = out.with_suffix(".run")
    ckpt = run_dir / "checkpoint"
    trainer = Trainer(cfg)
    if trainer.load_checkpoint(ckpt):
        log(f"resumed from {ckpt} at step {trainer.step}")
    curves = CurveLog(run_dir)
    if keras.backend.backend() == "tensorflow":  # tf.data prefetches ahead of the training step
        data = iter(tf_dataset(cfg.data, "train", cfg.size, cfg.batch_size, seed=cfg.seed + trainer.step,
                               workers=cfg.workers, hints=cfg.hints, hint_sampling=cfg.hint_sampling))
    else:
        data = batches(cfg.data, "train", cfg.size, cfg.batch_size, seed=cfg.seed + trainer.step,
                       workers=cfg.workers, hints=cfg.hints, hint_sampling=cfg.hint_sampling)
    val_L, val_ab = next(batches(cfg.data, "val", cfg.size, 8, seed=123, hints=cfg.hints,
                                 hint_sampling=cfg.hint_sampling))
    bar = keras.utils.Progbar(cfg.steps, stateful_metrics=CURVES)
    bar.update(trainer.step)
    t0 = time.time()
    try:
        while trainer.step < cfg.steps:
            L, ab = next(data)
            vals = trainer.train_step(L, ab)
            if trainer.step % 10 == 0 or trainer.step == cfg.steps:
                bar.update(trainer.step, list(vals.items()))
            epoch_end = trainer.step % cfg.steps_per_epoch == 0 or trainer.step == cfg.steps
            if epoch_end:
                trainer.sync()
                vals["val_mse"] = validation_figure(trainer.gen, val_L, val_ab,
                                                    run_dir / "figures" / f"step_{trainer.step:07d}.png")
                trainer.save_checkpoint(ckpt)
            if trainer.step % 10 == 0 or epoch_end:
                curves.write(trainer.step, vals)
            if cfg.snapshot_every and trainer.step % cfg.snapshot_every == 0:
                trainer.sync()
                save_model(trainer.gen, run_dir / "snapshots" / f"step_{trainer.step:07d}.keras")
            if stop_after_s and time.time() - t0 > stop_after_s:
                log(f"\nstopping at step {trainer.step} after {time.time() - t0:.0f} s (time budget)")
                break
    except KeyboardInterrupt:
        log(f"\ninterrupted at step {trainer.step}; run the same command again to resume")
        trainer.save_checkpoint(ckpt)
        raise
    finally:
        curves.close()
    trainer.sync()
    trainer.save_checkpoint(ckpt)
    save_model(trainer.gen, out)
    return out
