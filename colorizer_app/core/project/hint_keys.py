"""Hint images → keyframes: `colorizer colorize --hints DIR`.

DIR holds `hint_NNNNNN.png` files (RGBA, the film's size, NNNNNN the 0-based frame index):
pixels with alpha > 0 are hints, their colour's a/b the hint. Each hinted frame is colorized by
the network with its hints, and the result becomes a reference still of that frame, so it flows
through its shot exactly like `--refs` (core.temporal.film): hints reuse the keyframe machinery
instead of a second propagation path. Every file is checked before any frame is colorized.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from ..ml.inference import Colorizer

HINT_PATTERN = re.compile(r"^hint_(\d{6,})\.png$", re.IGNORECASE)


class HintsError(ValueError):
    """A hint folder or file that cannot be used; one line naming the file."""


def scan_hints(hints_dir: str | os.PathLike[str]) -> dict[int, Path]:
    """{frame index: path} of the hint_NNNNNN.png files; a misnamed image is an error, not skipped."""
    d = Path(hints_dir)
    if not d.is_dir():
        raise HintsError(f"{d}: hint folder not found (expected a folder of hint_NNNNNN.png images)")
    out: dict[int, Path] = {}
    for p in sorted(d.iterdir()):
        if p.name.startswith(".") or p.is_dir():
            continue
        m = HINT_PATTERN.match(p.name)
        if m is None:
            if p.name.lower().startswith("hint") or p.suffix.lower() in (".png", ".jpg", ".jpeg", ".tif", ".tiff"):
                raise HintsError(f"{p}: bad hint file name: expected hint_NNNNNN.png, NNNNNN being the "
                                 f"0-based frame index in 6 digits (e.g. hint_000120.png)")
            continue
        out[int(m.group(1))] = p
    if not out:
        raise HintsError(f"{d}: no hint images in the folder (expected hint_NNNNNN.png files)")
    return out


def read_hint(path: str | os.PathLike[str], width: int, height: int) -> np.ndarray:
    """A hint image as RGBA uint8 (16-bit files are scaled), checked against the film's size."""
    path = Path(path)
    try:
        data = np.fromfile(str(path), np.uint8)
    except OSError as exc:
        raise HintsError(f"{path}: cannot read the hint image ({exc.strerror or exc})") from None
    img: np.ndarray | None = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise HintsError(f"{path}: cannot read the hint image (not a valid PNG)")
    if img.ndim != 3 or img.shape[2] != 4:
        chans = 1 if img.ndim == 2 else img.shape[2]
        raise HintsError(f"{path}: not an RGBA image ({chans} channel(s)): hints need alpha "
                         f"(alpha > 0 marks a hinted pixel)")
    if img.shape[:2] != (height, width):
        raise HintsError(f"{path}: the hint image is {img.shape[1]}x{img.shape[0]}, the film is {width}x{height}")
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)


def hint_refs(src: str | os.PathLike[str], hints_dir: str | os.PathLike[str], colorizer: Colorizer,
              refs_dir: str | os.PathLike[str] | None = None,
              log: Callable[[str], None] | None = None) -> tempfile.TemporaryDirectory[str]:
    """Colorize every hinted frame with its hints and write it as ref_NNNNNN.png into a temporary
    folder (with the stills of `refs_dir`, if given, beside them). Returns the folder (removed
    when it is garbage collected or the process ends); pass `.name` as the refs folder."""
    from ..media import open_media
    from ..temporal.film import scan_refs

    found = scan_hints(hints_dir)
    refs = scan_refs(refs_dir) if refs_dir is not None else {}
    with open_media(src) as reader:
        info = reader.info
        rgba: dict[int, np.ndarray] = {}
        for k, p in found.items():
            if k >= info.frame_count:
                raise HintsError(f"{p}: frame {k} is beyond the end of the film (frames 0-{info.frame_count - 1})")
            if k in refs:
                raise HintsError(f"{p}: frame {k} also has a reference still ({refs[k].name}); give one or the other")
            rgba[k] = read_hint(p, info.width, info.height)
        tmp = tempfile.TemporaryDirectory(prefix="bento_hints_")
        for p in refs.values():
            shutil.copyfile(p, Path(tmp.name) / p.name)
        for k, hint in sorted(rgba.items()):
            frame = reader.read(k)
            if frame.dtype != np.uint8:
                frame = (frame >> 8).astype(np.uint8)
            out = colorizer.colorize([frame], hints=[hint])[0]
            cv2.imwrite(str(Path(tmp.name) / f"ref_{k:06d}.png"), cv2.cvtColor(out, cv2.COLOR_RGB2BGR))
            if log:
                log(f"frame {k}: colorized with {int((hint[..., 3] > 0).sum())} hinted pixels "
                    f"({'hint model' if colorizer.takes_hints else 'spread over a model without hint input'})")
    return tmp
