"""Image sequences for core.media: a folder, a printf pattern (shot_%04d.png), a '#' pattern
(shot_####.png) or one numbered file of a sequence. PNG/JPEG/TIFF/BMP, 8 or 16 bit, via OpenCV
(IMREAD_UNCHANGED keeps 16-bit samples)."""
from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
_PRINTF = re.compile(r"%0?(\d*)d")
_HASHES = re.compile(r"#+")
_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")


class SequenceError(Exception):
    """Raised with a user-facing message; core.media turns it into MediaError."""


def looks_like_sequence(path: str) -> bool:
    p = Path(path)
    return (p.is_dir() or bool(_PRINTF.search(p.name)) or bool(_HASHES.search(p.name))
            or p.suffix.lower() in IMAGE_EXTS)


def list_sequence(path: str) -> tuple[list[Path], list[int]]:
    """(files in frame order, their frame numbers). Numbers may have gaps."""
    p = Path(path)
    if p.is_dir():
        return _from_folder(p)
    name = p.name
    if _PRINTF.search(name) or _HASHES.search(name):
        regex = _pattern_regex(name)
        return _collect(p.parent, regex, f"no files match the pattern '{name}'")
    if p.suffix.lower() in IMAGE_EXTS:
        if not p.exists():
            raise SequenceError("file not found")
        m = _LAST_NUMBER.search(p.stem)
        if not m:
            return [p], [0]
        regex = re.compile(re.escape(p.stem[:m.start()]) + r"(\d+)" + re.escape(p.stem[m.end():])
                           + re.escape(p.suffix) + "$")
        return _collect(p.parent, regex, "no numbered images found")
    raise SequenceError("not an image sequence")


def _pattern_regex(name: str) -> re.Pattern[str]:
    def esc(text: str) -> str:
        return re.escape(text)
    out, pos = "", 0
    for m in re.finditer(r"%0?(\d*)d|#+", name):
        out += esc(name[pos:m.start()])
        if m.group(0).startswith("#"):
            out += rf"(\d{{{len(m.group(0))},}})"
        else:
            width = int(m.group(1)) if m.group(1) else 1
            out += rf"(\d{{{width},}})"
        pos = m.end()
    out += esc(name[pos:])
    return re.compile(out + "$")


def _from_folder(folder: Path) -> tuple[list[Path], list[int]]:
    files = [f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTS
             and not f.name.startswith(".")]
    if not files:
        raise SequenceError("the folder holds no PNG/JPEG/TIFF images")
    # the commonest extension wins: a stray thumbnail must not join the film
    ext = Counter(f.suffix.lower() for f in files).most_common(1)[0][0]
    files = [f for f in files if f.suffix.lower() == ext]
    numbered = []
    for f in files:
        m = _LAST_NUMBER.search(f.stem)
        numbered.append((int(m.group(1)) if m else -1, f.name, f))
    numbered.sort()
    return [f for _, _, f in numbered], [n for n, _, _ in numbered]


def _collect(folder: Path, regex: re.Pattern[str], empty_msg: str) -> tuple[list[Path], list[int]]:
    if not folder.is_dir():
        raise SequenceError("folder not found")
    found = []
    for entry in os.scandir(folder):
        m = regex.match(entry.name)
        if m and entry.is_file():
            found.append((int(m.group(1)), Path(entry.path)))
    if not found:
        raise SequenceError(empty_msg)
    found.sort()
    return [f for _, f in found], [n for n, _ in found]


def read_image(path: Path) -> np.ndarray:
    """uint8 or uint16 RGB (H, W, 3); gray and alpha are handled; float TIFFs become uint16."""
    data = np.fromfile(str(path), dtype=np.uint8)  # fromfile+imdecode: non-ASCII paths work
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise SequenceError(f"cannot read image '{path}'")
    if img.dtype not in (np.uint8, np.uint16):
        if np.issubdtype(img.dtype, np.floating):
            img = np.clip(img * 65535.0 + 0.5, 0, 65535).astype(np.uint16)
        else:
            raise SequenceError(f"unsupported sample type {img.dtype} in '{path}'")
    if img.ndim == 2:
        return np.repeat(img[..., None], 3, axis=2)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    if img.shape[2] == 1:
        return np.repeat(img, 3, axis=2)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def probe_image(path: Path) -> tuple[int, int, int, bool]:
    """(width, height, bit depth, gray) of one image."""
    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise SequenceError(f"cannot read image '{path}'")
    depth = 8 if img.dtype == np.uint8 else 16
    gray = img.ndim == 2 or img.shape[2] in (1, 2)
    return img.shape[1], img.shape[0], depth, gray
