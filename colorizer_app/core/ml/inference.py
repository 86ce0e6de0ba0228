"""Batched, deterministic inference: frames in, chroma out.

The model only ever sees the working-resolution L; what a chroma cache stores is the small ab
square (float16) with its letterbox, and full-resolution chroma is made on demand by guided
upsampling against the frame's own L.

A hint generator (4 input channels, core.ml.model.input_channels) also takes the artist's colour
hints per frame: a list of core.ml.hints.Hint or a film-size RGBA hint image. Frames without hints
get empty hint planes, so the same model colorizes unhinted film; a mix or guided hint generator
(core.ml.hint_mix) can only mix hint colours and gray, so an unhinted frame is exactly gray and
skips the network (in the hint workflow most frames have no hints). A plain (1-channel) generator
takes no hints; there, given hints are spread over its output by the no-learning joint-bilateral
spread (core.ml.spread), so --hints still does something useful with an old model.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import color, compose
from ..heap import configure_heap
from . import hints as hints_mod
from .model import DEFAULT_MODEL, ModelError, hint_arch, input_channels, load_generator

DEFAULT_SIZE = 256


def weights_digest(model: Any) -> str:  # a keras.Model
    h = hashlib.sha1()
    for w in model.get_weights():
        h.update(np.ascontiguousarray(w).tobytes())
    return h.hexdigest()[:12]


class Colorizer:
    """Wraps a generator for inference at a chosen working size (a multiple of 64).

    Batches are always padded to `batch_size` so the compiled predict function is traced once.
    Inference runs with training=False: dropout off, batch-norm statistics frozen, so results
    are repeatable frame for frame.
    """

    def __init__(self, model: Any = None, size: int = DEFAULT_SIZE, batch_size: int = 4):
        # model: a .keras path, a keras.Model, or None (the default model)
        if size % 64 or size < 64:
            raise ValueError(f"working size must be a positive multiple of 64, got {size}")
        configure_heap()   # else each run can re-fault its tensors (core.heap)
        if model is None:
            model = DEFAULT_MODEL
        if isinstance(model, (str, os.PathLike)):
            self.model_path: Path | None = Path(model)
            self.model = load_generator(self.model_path)
        else:
            self.model_path, self.model = None, model
        fixed = tuple(getattr(self.model, "input_shape", (None, None, None))[1:3])
        if any(d is not None for d in fixed) and fixed != (size, size):
            # a model saved with a fixed input size runs at that size only: say which file
            raise ModelError(f"{self.model_path or self.model.name}: the model takes "
                             f"{fixed[1]}x{fixed[0]} input only, not the working size {size}"
                             + (f" (use --size {fixed[0]})" if fixed[0] == fixed[1] else ""))
        self.size = size
        self.batch_size = max(1, int(batch_size))
        self.takes_hints = input_channels(self.model) == 4
        # convex mixes of the hints' colours and gray: no hint, no colour (exactly zero)
        self.gray_without_hints = hint_arch(self.model) in ("mix", "guided")
        self._digest = weights_digest(self.model)

    @property
    def model_name(self) -> str:
        return self.model_path.name if self.model_path else self.model.name

    @property
    def model_id(self) -> str:
        """Changes whenever the weights or the working size change: the chroma cache key."""
        return f"{self._digest}_{self.size}"

    def _run(self, batch: np.ndarray) -> np.ndarray:
        n = len(batch)
        if n < self.batch_size:
            pad = np.zeros((self.batch_size - n,) + batch.shape[1:], batch.dtype)
            batch = np.concatenate([batch, pad])
        out = self.model.predict_on_batch(batch)
        return np.asarray(out)[:n]

    def predict_work(self, frames: Sequence[np.ndarray], hints: Sequence[Any] | None = None
                     ) -> list[tuple[np.ndarray, color.Letterbox]]:
        """RGB (or gray) frames → [(ab at working size, float16 LAB units, Letterbox)]."""
        return self.predict_work_from_L([color.luminance(f) for f in frames], hints)

    def predict_work_from_L(self, Ls: Sequence[np.ndarray], hints: Sequence[Any] | None = None
                            ) -> list[tuple[np.ndarray, color.Letterbox]]:
        """Full-res L planes (0..100) → working-size ab; callers that already hold L skip a conversion.

        `hints`: per frame None, a list of Hint (full-frame pixels) or a film-size RGBA image."""
        inputs, boxes, planes, run = [], [], [], []
        for k, L in enumerate(Ls):
            L_work, box = color.fit_working(L, self.size)
            given = hints[k] if hints is not None else None
            hp = self._planes(given, box) if given is not None else None
            boxes.append(box)
            planes.append((hp, L_work))
            if self.gray_without_hints and (hp is None or not hp[1].any()):
                continue                   # stays the zero plane below
            run.append(k)
            if self.takes_hints:
                inputs.append(hints_mod.model_input(L_work, *(hp or (None, None))))
            else:
                inputs.append(L_work[..., None])
        gray = np.zeros((self.size, self.size, 2), np.float32)   # shared by the skipped frames
        results = [gray] * len(Ls)
        for s in range(0, len(inputs), self.batch_size):
            out = self._run(np.stack(inputs[s:s + self.batch_size]).astype(np.float32))
            for j in range(len(out)):
                results[run[s + j]] = out[j] * color.AB_SCALE
        if not self.takes_hints:
            from .spread import spread_over

            for k, (hp, L_work) in enumerate(planes):
                if hp is not None and hp[1].any():
                    results[k] = spread_over(results[k], (L_work + 1.0) * 50.0, hp[0] * color.AB_SCALE, hp[1])
        return [(r.astype(np.float16), b) for r, b in zip(results, boxes)]

    @staticmethod
    def _planes(given: np.ndarray | Sequence[hints_mod.Hint], box: color.Letterbox
                ) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(given, np.ndarray):
            return hints_mod.planes_from_rgba(given, box)
        return hints_mod.rasterize(list(given), box)

    @staticmethod
    def ab_full(frame: np.ndarray, ab_work: np.ndarray, box: color.Letterbox) -> np.ndarray:
        return compose.model_chroma(ab_work, box, color.luminance(frame))

    def colorize(self, frames: Sequence[np.ndarray], hints: Sequence[Any] | None = None
                 ) -> list[np.ndarray]:
        """Frames → colorized uint8 RGB at full size, with each frame's own L (and optional hints)."""
        out = []
        for f, (ab_work, box) in zip(frames, self.predict_work(frames, hints)):
            out.append(compose.compose_picture(f, ab_work, box))
        return out


__all__ = ["Colorizer", "ModelError", "DEFAULT_SIZE"]
