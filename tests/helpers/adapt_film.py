"""A dialogue scene made in code, for learning a film (tests/test_adapt*, benchmarks/bench_adapt).

Two framings of one picture intercut as shot / reverse shot: the wide shot pans across the left
part of the picture, the close shot zooms into the right part. Shots alternate A B A B ..., so
keyframes of the first shots teach colours that come back in later ones without keyframes.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tests.helpers.clips import write_frames


def framing(img: np.ndarray, size: tuple[int, int], centre: tuple[float, float], scale: float) -> np.ndarray:
    """The view of `img` (RGB) of output `size` (w, h) centred at `centre` (fractions of the
    picture), `scale` picture pixels per output pixel."""
    w, h = size
    ih, iw = img.shape[:2]
    cx, cy = centre[0] * iw, centre[1] * ih
    m = np.float32([[1 / scale, 0, w / 2 - cx / scale], [0, 1 / scale, h / 2 - cy / scale]])
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_AREA if scale > 1 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)


def dialogue_frames(img: np.ndarray, size: tuple[int, int] = (128, 96), shots: int = 4,
                    per_shot: int = 6) -> tuple[list[np.ndarray], list[int]]:
    """Colour frames of the scene and the first frame of every shot."""
    ih, iw = img.shape[:2]
    fit = max(iw / size[0], ih / size[1])
    frames, starts = [], []
    for s in range(shots):
        starts.append(len(frames))
        close = s % 2 == 1
        for t in range(per_shot):
            u = t / max(1, per_shot - 1)
            if close:   # reverse shot: the right part, zooming in
                centre, scale = (0.68 + 0.04 * u, 0.5), fit * (0.55 - 0.08 * u)
            else:       # wide shot: the left part, panning right
                centre, scale = (0.36 + 0.06 * u + 0.02 * (s // 2), 0.5), fit * 0.75
            frames.append(framing(img, size, centre, scale))
    return frames, starts


def gray_rgb(frame: np.ndarray) -> np.ndarray:
    g = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    return np.dstack([g, g, g])


def write_scene(folder, img: np.ndarray, size=(128, 96), shots: int = 4, per_shot: int = 6,
                name: str = "scene.mkv") -> tuple[Path, list[np.ndarray], list[int]]:
    """The black-and-white film (FFV1: exact frames) and the colour truth."""
    frames, starts = dialogue_frames(img, size, shots, per_shot)
    path = write_frames(Path(folder) / name, (gray_rgb(f) for f in frames), codec="ffv1")
    return path, frames, starts


def write_refs(folder, frames: list[np.ndarray], indices) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for k in indices:
        cv2.imwrite(str(folder / f"ref_{k:06d}.png"), cv2.cvtColor(frames[k], cv2.COLOR_RGB2BGR))
    return folder
