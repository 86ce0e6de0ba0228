"""Training sets: colour images and videos → frames split by source file, and augmented batches.

Layout of a built set: DIR/{train,val,test}/<source>__<frame>.jpg and DIR/manifest.json, which
records every source file, its split and how many frames it gave. Frames of one source never land
on two sides of the split.
"""
from __future__ import annotations

import hashlib
import json
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from .. import color

IMAGE_EXT = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp"}
VIDEO_EXT = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg"}
SPLITS = ("train", "val", "test")


def _sources(paths: list[Path]) -> list[Path]:
    found = []
    for p in paths:
        if p.is_dir():
            found += sorted(q for q in p.rglob("*") if q.suffix.lower() in IMAGE_EXT | VIDEO_EXT)
        elif p.exists():
            found.append(p)
        else:
            raise FileNotFoundError(f"no such file or folder: {p}")
    return found


def assign_splits(names: list[str], val: float = 0.1, test: float = 0.1) -> dict[str, str]:
    """Deterministic split by source name (stable when sources are added), ≥1 val and test when ≥3."""
    order = sorted(names, key=lambda n: hashlib.sha1(n.encode()).hexdigest())
    n = len(order)
    n_test = max(1, round(n * test)) if n >= 3 else 0
    n_val = max(1, round(n * val)) if n >= 3 else 0
    out = {}
    for i, name in enumerate(order):
        out[name] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return out


def _resize_max(rgb: np.ndarray, max_side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = max_side / max(h, w)
    if s >= 1:
        return rgb
    return cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)


def _thumb(rgb: np.ndarray) -> np.ndarray:
    return cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (16, 16), interpolation=cv2.INTER_AREA).astype(np.float32)


def monochrome_reason(rgb: np.ndarray, chroma_p99: float = 3.0) -> str | None:
    """Why a picture is monochrome (None: it has real colour, however muted).

    Only truly monochrome material goes: equal channels, or near-zero chroma everywhere (99th
    percentile of LAB chroma below `chroma_p99`). A muted sunset (mean chroma ≈ 4) is colour.
    Sepia- or otherwise toned prints are kept: a toner gives one hue with real chroma, which no
    chroma test tells from a warm sunset, and dropping real photographs costs more than a few
    toned prints teach the wrong colour."""
    small = cv2.resize(rgb, (256, 256), interpolation=cv2.INTER_AREA) if max(rgb.shape[:2]) > 256 else rgb
    c = small.astype(np.int16)
    if int(np.abs(c[..., 0] - c[..., 1]).max()) <= 1 and int(np.abs(c[..., 1] - c[..., 2]).max()) <= 1:
        return "gray (R = G = B)"
    ab = color.rgb_to_lab(small)[..., 1:]
    p99 = float(np.percentile(np.hypot(ab[..., 0], ab[..., 1]), 99))
    if p99 < chroma_p99:
        return f"near-zero chroma everywhere (99th percentile {p99:.1f} < {chroma_p99:g})"
    return None


def _video_frames(path: Path, fps: float) -> Iterator[np.ndarray]:
    """Frames sampled at `fps` (like ffmpeg -vf fps=N): the first frame at or after each tick."""
    from ..media import open_media  # local: media pulls in PyAV, not needed for image-only sets

    with open_media(path) as reader:
        step = float(Fraction(reader.info.fps)) / fps if fps else 1.0
        next_t = 0.0
        for i, frame in reader.iter_frames():
            if i + 1e-6 >= next_t:
                next_t += max(step, 1.0)
                yield frame


def build_dataset(sources: list[str | Path], out: str | Path, fps: float = 8.0, size: int = 512,
                  dup_threshold: float = 4.0,
                  log: Callable[[str], None] = print) -> dict[str, Any]:
    """Colour images/videos → a split training set. Drops monochrome frames (saying why) and
    near-duplicates."""
    out = Path(out)
    files = _sources([Path(s) for s in sources])
    if not files:
        raise ValueError("no images or videos found in the given sources")
    splits = assign_splits([f.name for f in files])
    for s in SPLITS:
        (out / s).mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"format_version": 1, "fps": fps, "size": size, "sources": []}
    for f in files:
        is_video = f.suffix.lower() in VIDEO_EXT
        frames = _video_frames(f, fps) if is_video else [cv2.imread(str(f), cv2.IMREAD_COLOR)]
        kept = gray = dups = 0
        last: list[np.ndarray] = []
        for k, frame in enumerate(frames):
            if frame is None:
                log(f"skipped unreadable {f}")
                break
            if not is_video:
                frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            frame = _resize_max(frame, size)
            why = monochrome_reason(frame)
            if why:
                gray += 1
                if gray == 1 or not is_video:
                    log(f"dropped {f.name}{f' frame {k}' if is_video else ''}: {why}")
                continue
            t = _thumb(frame)
            if any(float(np.abs(t - p).mean()) < dup_threshold for p in last):
                dups += 1
                continue
            last = (last + [t])[-8:]  # near-duplicates come from neighbouring frames of one shot
            name = f"{f.stem}__{k:06d}.jpg"
            cv2.imwrite(str(out / splits[f.name] / name), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
            kept += 1
        manifest["sources"].append({"file": str(f), "split": splits[f.name], "frames": kept,
                                    "dropped_gray": gray, "dropped_duplicates": dups})
        log(f"{splits[f.name]:5s} {f.name}: {kept} frames ({gray} monochrome, {dups} near-duplicates dropped)")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def list_split(data_dir: str | Path, split: str) -> list[Path]:
    files = sorted((Path(data_dir) / split).glob("*.jpg")) + sorted((Path(data_dir) / split).glob("*.png"))
    if not files:
        raise FileNotFoundError(f"{data_dir}: no images in split '{split}' (build it with `colorizer dataset build`)")
    return files


def load_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise OSError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def to_pair(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RGB crop → (L in [-1,1] (H,W,1), ab in [-1,1] (H,W,2)): what the networks train on."""
    lab = color.rgb_to_lab(rgb)
    return (lab[..., :1] / 50.0 - 1.0), np.clip(lab[..., 1:] / color.AB_SCALE, -1.0, 1.0)


@dataclass
class Augment:
    """The study's flips on both axes and rotations, plus random crops and scales."""

    size: int
    min_cover: float = 0.35  # a crop spans 35–100 % of the image's short side, then is resized
    max_angle: float = 15.0

    def __call__(self, rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w = rgb.shape[:2]
        side = int(min(h, w) * rng.uniform(self.min_cover, 1.0))
        side = max(side, min(h, w, 32))
        y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        crop = rgb[y:y + side, x:x + side]
        if rng.random() < 0.5 and self.max_angle:
            # rotate about the centre and crop the inscribed square so no black corners enter
            ang = rng.uniform(-self.max_angle, self.max_angle)
            m = cv2.getRotationMatrix2D((side / 2, side / 2), ang, 1.0)
            crop = cv2.warpAffine(crop, m, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
            r = np.radians(abs(ang))
            inner = int(side / (np.cos(r) + np.sin(r)))
            o = (side - inner) // 2
            crop = crop[o:o + inner, o:o + inner]
        crop = cv2.resize(crop, (self.size, self.size), interpolation=cv2.INTER_AREA)
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        if rng.random() < 0.5:
            crop = crop[::-1]
        crop = np.rot90(crop, int(rng.integers(0, 4)))
        return np.ascontiguousarray(crop)


def film_like_L(L: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A clean L crop (0..100) as a film frame might carry it: grain, then block-coding noise.

    Film grain: Gaussian noise (σ 0-4 L units), sometimes clumped by a small blur; compression:
    a JPEG round trip at quality 25-90 stands in for an H.264 intra frame's blocks and ringing."""
    L = L.astype(np.float32)
    sigma = rng.uniform(0.0, 4.0)
    if sigma > 0.3:
        grain = rng.standard_normal(L.shape).astype(np.float32)
        if rng.random() < 0.5:
            grain = cv2.GaussianBlur(grain, (0, 0), 0.7) * 1.8
        L = L + sigma * grain
    if rng.random() < 0.7:
        u8 = np.clip(L * 2.55 + 0.5, 0, 255).astype(np.uint8)
        ok, enc = cv2.imencode(".jpg", u8, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 91))])
        dec = cv2.imdecode(enc, cv2.IMREAD_GRAYSCALE)
        assert dec is not None, "a JPEG encoded just above"
        L = dec.astype(np.float32) / 2.55
    film_L: NDArray[np.float32] = np.clip(L, 0.0, 100.0)
    return film_L


def shot_crop(rgb: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """One frame of a synthetic camera move across a photo: a pan and zoom between two random
    windows, sampled at a random moment, so training sees the framings video has."""
    h, w = rgb.shape[:2]
    short = min(h, w)
    s0, s1 = (int(short * rng.uniform(0.3, 1.0)) for _ in range(2))
    t = rng.random()
    side = max(16, int(s0 + (s1 - s0) * t))
    ya, yb = rng.integers(0, h - side + 1, 2)
    xa, xb = rng.integers(0, w - side + 1, 2)
    y, x = int(ya + (yb - ya) * t), int(xa + (xb - xa) * t)
    crop = rgb[y:y + side, x:x + side]
    crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(crop[:, ::-1] if rng.random() < 0.5 else crop)


# Simulated hints. "ideepcolor": as ideepcolor trains (often none, geometric count, 1-9 px patches,
# half placed on colourful pixels). "uniform": as an artist's sparse points and as
# benchmarks/bench_hints.py places them: 1-50 hints (log-uniform count, never none), uniform
# positions, small patches (2-4 px at 256 px, scaled with the crop size).
HINT_SAMPLINGS = ("ideepcolor", "uniform")
MAX_UNIFORM_HINTS = 50


def hint_sample(rgb_crop: np.ndarray, rng: np.random.Generator, film_like: bool,
                sampling: str = "ideepcolor") -> tuple[np.ndarray, np.ndarray]:
    """An RGB crop → (hint generator input (S, S, 4), true ab / 110 (S, S, 2)) with simulated hints."""
    from . import hints

    if sampling not in HINT_SAMPLINGS:
        raise ValueError(f"hint sampling must be one of {HINT_SAMPLINGS}, got {sampling!r}")
    lab = color.rgb_to_lab(rgb_crop)
    ab = np.clip(lab[..., 1:] / color.AB_SCALE, -1.0, 1.0)
    L = film_like_L(lab[..., 0], rng) if film_like else lab[..., 0]
    if sampling == "uniform":
        n = int(np.exp(rng.uniform(0.0, np.log(MAX_UNIFORM_HINTS + 1))))
        patch = max(1, round(int(rng.integers(2, 5)) * rgb_crop.shape[0] / 256))
        hab, mask = hints.sample_hints(ab, rng, n=min(n, MAX_UNIFORM_HINTS), patch=patch, bias=0.0)
    else:
        hab, mask = hints.sample_hints(ab, rng)
    return hints.model_input(L / 50.0 - 1.0, hab, mask), ab


def batches(data_dir: str | Path, split: str, size: int, batch_size: int, seed: int = 0,
            augment: bool = True, workers: int = 2, prefetch: int = 8,
            hints: bool = False, video_like: float = 0.5,
            hint_sampling: str = "ideepcolor") -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless (L, ab) float32 batches; decoding and augmentation run in threads ahead of training.

    With `hints`, the first array is the hint generator's 4-channel input (simulated hints), and a
    `video_like` share of samples are pan/zoom frames with grain and compression noise on L;
    `hint_sampling` names how hints are simulated (HINT_SAMPLINGS)."""
    if hint_sampling not in HINT_SAMPLINGS:
        raise ValueError(f"hint sampling must be one of {HINT_SAMPLINGS}, got {hint_sampling!r}")
    images = [load_rgb(p) for p in list_split(data_dir, split)]  # sets are small; decode once
    aug = Augment(size) if augment else None
    chans = 4 if hints else 1
    q: queue.Queue[Any] = queue.Queue(maxsize=prefetch)
    stop = threading.Event()

    def work(wid: int) -> None:
        rng = np.random.default_rng(seed * 1000 + wid)
        while not stop.is_set():
            L = np.empty((batch_size, size, size, chans), np.float32)
            ab = np.empty((batch_size, size, size, 2), np.float32)
            for k in range(batch_size):
                img = images[int(rng.integers(len(images)))]
                video = hints and aug is not None and rng.random() < video_like
                if video:
                    crop = shot_crop(img, size, rng)
                else:
                    crop = aug(img, rng) if aug else cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
                L[k], ab[k] = hint_sample(crop, rng, video, hint_sampling) if hints else to_pair(crop)
            while not stop.is_set():
                try:
                    q.put((L, ab), timeout=0.2)
                    break
                except queue.Full:
                    continue

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(workers)]
    for t in threads:
        t.start()
    try:
        while True:
            yield q.get()
    finally:
        stop.set()


def tf_dataset(data_dir: str | Path, split: str, size: int, batch_size: int, seed: int = 0, workers: int = 2,
               hints: bool = False, hint_sampling: str = "ideepcolor") -> Any:
    """The same batches as a tf.data pipeline with prefetch (TensorFlow backend)."""
    import tensorflow as tf

    gen = lambda: batches(data_dir, split, size, batch_size, seed, workers=workers, hints=hints,  # noqa: E731
                          hint_sampling=hint_sampling)
    spec = (tf.TensorSpec((batch_size, size, size, 4 if hints else 1), tf.float32),
            tf.TensorSpec((batch_size, size, size, 2), tf.float32))
    return tf.data.Dataset.from_generator(gen, output_signature=spec).prefetch(tf.data.AUTOTUNE)
