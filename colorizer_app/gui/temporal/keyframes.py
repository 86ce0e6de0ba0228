"""Reference keyframes in the app: stills on disk in the project's sidecar, loaded as Keyframes.

The project stores ``temporal["keyframes"] = {"<frame>": "<absolute path of the still>"}``.
Every keyframe is a still in the project's data folder (``keyframes/key_NNNNNN_<id>.png``):
a marked frame is written there, an imported still copied there (alpha kept: transparent areas
leave the model's colour), so the project never depends on where an import came from.  Names
are unique, so undoing a replaced keyframe finds its old still untouched.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ...core.temporal.film import RefsError, check_refs, read_ref, ref_keyframe, scan_refs
from ...core.temporal.propagate import Keyframe
from ...core.temporal.settings import TemporalSettings


@dataclass(frozen=True)
class KeyEntry:
    keyframe: Keyframe
    path: str


def keyframes_dir(project) -> Path:
    return Path(project.data_dir) / "keyframes"


def write_still(img: np.ndarray, folder: Path, frame: int) -> str:
    """Write an RGB/RGBA uint8/uint16 still as PNG; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"key_{frame:06d}_{uuid.uuid4().hex[:8]}.png"
    code = cv2.COLOR_RGBA2BGRA if img.shape[2] == 4 else cv2.COLOR_RGB2BGR
    ok, data = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(img), code))
    if not ok:
        raise RefsError(f"{path}: cannot encode the still")
    data.tofile(str(path))
    return str(path)


def entry_from_still(img: np.ndarray, folder: Path, frame: int, width: int,
                     height: int) -> KeyEntry:
    return KeyEntry(ref_keyframe(img, width, height), write_still(img, folder, frame))


def load_entry(path: str, width: int, height: int) -> KeyEntry:
    return KeyEntry(ref_keyframe(read_ref(path), width, height), str(path))


def import_folder(folder, dest: Path, frame_count: int, width: int,
                  height: int) -> tuple[dict[int, KeyEntry], list[str]]:
    """Every ref_NNNNNN.png of a folder -> {frame: KeyEntry}, and notes for the artist.
    Raises RefsError (one line naming the file) for a bad folder, name or still."""
    notes: list[str] = []
    refs = scan_refs(folder, notes.append)
    if not refs:
        raise RefsError(f"{folder}: no ref_NNNNNN.png stills in this folder")
    check_refs(refs, frame_count, width, height, notes.append)
    return {k: entry_from_still(read_ref(p), dest, k, width, height)
            for k, p in sorted(refs.items())}, notes


def load_project_keyframes(settings: TemporalSettings, frame_count: int, width: int,
                           height: int) -> tuple[dict[int, KeyEntry], list[str]]:
    """The keyframe stills of a project's temporal settings (Project.temporal_settings()), and
    a line for each one that could not be loaded."""
    out: dict[int, KeyEntry] = {}
    problems = settings.problems_of("keyframes")
    for k, path in settings.keyframes.items():
        try:
            if not 0 <= k < frame_count:
                raise RefsError(f"keyframe {k} is beyond the end of the film")
            out[k] = load_entry(path, width, height)
        except (RefsError, ValueError, TypeError) as exc:
            problems.append(str(exc))
    return out, problems


def flicker_peaks(values: np.ndarray, count: int = 10, spacing: int = 3) -> list[tuple[int, float]]:
    """The worst frames of a curve, worst first, at least `spacing` frames apart."""
    v = np.asarray(values, np.float64)
    order = [int(i) for i in np.argsort(np.where(np.isfinite(v), -v, np.inf))
             if np.isfinite(v[i])]
    chosen: list[int] = []
    for i in order:
        if all(abs(i - c) >= spacing for c in chosen):
            chosen.append(i)
            if len(chosen) >= count:
                break
    return [(i, float(v[i])) for i in chosen]
