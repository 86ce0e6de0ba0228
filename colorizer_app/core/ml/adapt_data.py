"""Keyframes of a film for test-time adaptation (core.ml.adapt): collection, checks, augmentation.

A keyframe is the film's own gray L of a frame with the artist's chroma for it (a ref still, a
corrected frame, a hinted frame's result); the still's own L is never used, as everywhere else.
Stills are checked before any learning: the film's size (a still of another size belongs to
another film or a cropped export), and their lightness against the frame they name (a still from
another film or another frame). Augmentation makes many training crops from a few keyframes:
random scale/rotation/flip/crop (one warp for L, ab and the loss weight) and a colour-preserving
jitter of L (gamma, gain, offset, grain): the chroma target stays the same.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .. import color

MATCH_MIN_CORR = 0.8   # lightness correlation below this: the still is not of that frame


class AdaptError(ValueError):
    """Keyframes or settings that cannot be used; one line naming the file or the setting."""


@dataclass
class Keyframe:
    index: int
    L: np.ndarray                       # (H, W) float32 0..100, the film's own lightness
    ab: np.ndarray                      # (H, W, 2) float32 LAB units, the artist's chroma
    weight: np.ndarray | None = None    # (H, W) 0..1 (a still's alpha), None = all pixels
    source: str = ""


@dataclass
class WorkFrame:
    """A keyframe at the working scale (longer side = the model's working size, as inference)."""
    L: np.ndarray                       # (h, w) 0..100
    ab: np.ndarray                      # (h, w, 2) / 110
    train_w: np.ndarray                 # (h, w) loss weight of training pixels
    held_w: np.ndarray                  # (h, w) loss weight of held-out pixels
    index: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _small_L(L: np.ndarray, w: int = 64) -> np.ndarray:
    h = max(8, int(round(L.shape[0] * w / L.shape[1])))
    return cv2.resize(L.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA).ravel()


def lightness_match(L_still: np.ndarray, L_film: np.ndarray) -> float:
    """Correlation of two lightness planes at 64 px (1 = the same picture)."""
    a, b = _small_L(L_still), _small_L(L_film)
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    if den < 1e-6:  # flat pictures: the same when their levels agree
        return 1.0 if abs(float(L_still.mean() - L_film.mean())) < 5 else 0.0
    return float((a * b).sum() / den)


def film_L(frame: np.ndarray) -> np.ndarray:
    if frame.dtype == np.uint16:
        frame = (frame >> 8).astype(np.uint8)
    return color.luminance(frame).astype(np.float32)


def keyframes_from_refs(film: str | os.PathLike[str], refs_dir: str | os.PathLike[str],
                        log: Callable[[str], None] | None = None) -> list[Keyframe]:
    """Every ref_NNNNNN.png of `refs_dir` as a Keyframe of `film`, checked (AdaptError otherwise)."""
    from ..media import MediaError, open_media
    from ..temporal.film import RefsError, read_ref, scan_refs

    try:
        refs = scan_refs(refs_dir, log)
    except RefsError as exc:
        raise AdaptError(str(exc)) from None
    out: list[Keyframe] = []
    try:
        reader_cm = open_media(film)
    except MediaError as exc:
        raise AdaptError(str(exc).splitlines()[0]) from None
    with reader_cm as reader:
        info = reader.info
        for k, p in sorted(refs.items()):
            if k >= info.frame_count:
                raise AdaptError(f"{p}: frame {k} is beyond the end of the film (frames 0-{info.frame_count - 1})")
            try:
                img = read_ref(p)
            except RefsError as exc:
                raise AdaptError(str(exc)) from None
            if img.shape[:2] != (info.height, info.width):
                raise AdaptError(f"{p}: the still is {img.shape[1]}x{img.shape[0]}, the film is "
                                 f"{info.width}x{info.height}: not a frame of this film")
            L = film_L(reader.read(k))
            lab = color.rgb_to_lab(np.ascontiguousarray(img[..., :3]))
            corr = lightness_match(lab[..., 0], L)
            if corr < MATCH_MIN_CORR:
                raise AdaptError(f"{p}: the still does not match frame {k} of {Path(str(film)).name} "
                                 f"(lightness correlation {corr:.2f}): a still of another film or frame?")
            weight = None
            if img.shape[2] == 4:
                peak = 65535.0 if img.dtype == np.uint16 else 255.0
                weight = img[..., 3].astype(np.float32) / peak
                if float(weight.max()) <= 0:
                    raise AdaptError(f"{p}: the still is fully transparent: nothing to learn from")
            out.append(Keyframe(k, L, np.ascontiguousarray(lab[..., 1:]), weight, str(p)))
    return out


def to_work(kf: Keyframe, size: int) -> WorkFrame:
    """Scale a keyframe as inference does: its longer side to `size` (core.color.letterbox_for)."""
    box = color.letterbox_for(kf.L.shape[0], kf.L.shape[1], size)
    dsize = (box.w, box.h)
    L = cv2.resize(kf.L, dsize, interpolation=cv2.INTER_AREA)
    ab = cv2.resize(kf.ab.astype(np.float32), dsize, interpolation=cv2.INTER_AREA) / color.AB_SCALE
    w = (np.ones(L.shape, np.float32) if kf.weight is None
         else cv2.resize(kf.weight, dsize, interpolation=cv2.INTER_AREA))
    return WorkFrame(L.astype(np.float32), ab.astype(np.float32), w.astype(np.float32),
                     np.zeros_like(w, np.float32), kf.index)


def split_held_out(frames: list[WorkFrame], strip: float = 0.25) -> list[WorkFrame]:
    """Mark what early stopping measures on, never trained on. Four keyframes or more: every
    fourth whole frame (the closest proxy of a shot without keyframes). Fewer: the right-hand
    `strip` of every keyframe (there are too few frames to give one up)."""
    if len(frames) >= 4:
        for i, f in enumerate(frames):
            if i % 4 == 3:
                f.held_w, f.train_w = f.train_w, np.zeros_like(f.train_w)
        return frames
    for f in frames:
        x = int(round(f.L.shape[1] * (1 - strip)))
        f.held_w = f.train_w.copy()
        f.held_w[:, :x] = 0
        f.train_w = f.train_w.copy()
        f.train_w[:, x:] = 0
    return frames


def jitter_L(L: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """Colour-preserving lightness jitter (0..100 in and out): gamma, gain, offset and grain, as
    exposure and stock differ between shots; the chroma target is unchanged. `strength` scales
    every change towards none (0: L as it is)."""
    gamma, gain = rng.uniform(0.8, 1.25) ** strength, 1.0 + (rng.uniform(0.9, 1.1) - 1.0) * strength
    offset, grain = rng.uniform(-0.05, 0.05) * strength, rng.uniform(0, 2.0) * strength
    x = np.clip(L / 100.0, 0, 1) ** gamma
    x = x * gain + offset
    x = x * 100.0 + rng.normal(0, grain, L.shape)
    out: np.ndarray = np.clip(x, 0, 100).astype(np.float32)
    return out


def augmented_crop(f: WorkFrame, crop: int, rng: np.random.Generator, jitter: float = 1.0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """One training sample (L -1..1 (c, c), ab/110 (c, c, 2), weight (c, c)) or None when the
    crop landed on no training pixel. Scale 0.8-1.25 (zooms), rotation ±6°, horizontal flip,
    lightness jitter of `jitter` strength (jitter_L)."""
    h, w = f.L.shape
    ys, xs = np.nonzero(f.train_w > 0)
    if ys.size == 0:
        return None
    j = int(rng.integers(ys.size))                 # centre on a training pixel
    cy, cx = float(ys[j]), float(xs[j])
    s = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
    a = np.deg2rad(rng.uniform(-6, 6))
    flip = -1.0 if rng.random() < 0.5 else 1.0
    # output pixel (u, v) around the crop centre -> source pixel: rotate, scale, flip
    ca, sa = np.cos(a) / s, np.sin(a) / s
    m = np.array([[ca * flip, -sa, 0], [sa * flip, ca, 0]], np.float32)
    half = crop / 2.0
    m[:, 2] = np.array([cx, cy], np.float32) - m[:, :2] @ np.array([half, half], np.float32)
    stack = np.dstack([f.L, f.ab, f.train_w]).astype(np.float32)
    out = cv2.warpAffine(stack, m, (crop, crop), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_REFLECT_101)
    weight = out[..., 3]
    if float(weight.sum()) < 1.0:
        return None
    L = jitter_L(out[..., 0], rng, jitter)
    return L / 50.0 - 1.0, out[..., 1:3], weight


def padded_full(f: WorkFrame, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A whole working frame letterboxed to (size, size) as inference sees it: L -1..1, ab/110,
    train and held-out weights (padding weighs nothing)."""
    h, w = f.L.shape
    y0, x0 = (size - h) // 2, (size - w) // 2        # as core.color.letterbox_for places it
    bottom, right = size - h - y0, size - w - x0

    def pad(x: np.ndarray, mode: int) -> np.ndarray:
        return cv2.copyMakeBorder(x, y0, bottom, x0, right, mode)

    L = pad(f.L, cv2.BORDER_REFLECT_101) / 50.0 - 1.0
    ab = pad(f.ab, cv2.BORDER_REFLECT_101)
    return (L.astype(np.float32), ab.astype(np.float32),
            pad(f.train_w, cv2.BORDER_CONSTANT), pad(f.held_w, cv2.BORDER_CONSTANT))
