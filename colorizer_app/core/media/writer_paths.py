"""Where core.media.writer puts its work: unique temp names, stale-temp cleanup, and the refusal to write
over (or into) the film being read.

Temp names carry the writing process's pid and a random id (".out.<pid>-<id>.partial.mp4",
".seq.<pid>-<id>.partial/"), so two runs writing one output never share a temp file; each run's
final os.replace is atomic, so the last complete file wins and no name ever holds half a film.
A run killed with -9 leaves its temp behind; the next writer into the same folder removes the
ones whose process is gone (and that nothing touched for STALE_SECONDS: on shared storage a
pid may belong to another machine's live render).
"""
from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from pathlib import Path

from . import sequence as media_sequence

STALE_SECONDS = 300.0
_TEMP = re.compile(r"^\..+\.(?P<pid>\d+)-[0-9a-f]{8}\.partial(\.[A-Za-z0-9]+)?$")
_PATTERN = re.compile(r"%0?\d*d|#+")
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv"}


def temp_name(folder: Path, stem: str, suffix: str = "") -> Path:
    """A hidden name in `folder` that no other process (nor this one) uses."""
    return Path(folder) / f".{stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial{suffix}"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True   # someone else's process (or a pid we cannot judge): keep its files
    return True


def remove_stale_temps(folder: str | os.PathLike[str], now: float | None = None) -> list[str]:
    """Remove temp files/folders of dead writers in `folder`; returns the names removed.
    Never follows links, never touches a name that is not one of ours."""
    now = time.time() if now is None else now
    removed: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP.match(entry.name)
        if not m or _alive(int(m.group("pid"))):
            continue
        try:
            if entry.is_symlink() or now - _last_touched(entry.path) < STALE_SECONDS:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(entry.name)
        except OSError:
            continue   # gone meanwhile, or not ours to remove: leave it
    return removed


def _last_touched(path: str) -> float:
    latest = os.lstat(path).st_mtime
    if os.path.isdir(path) and not os.path.islink(path):
        for e in os.scandir(path):
            latest = max(latest, e.stat(follow_symlinks=False).st_mtime)
    return latest


# ---------------------------------------------------------------------------- output = input
def output_folder(out: str) -> tuple[Path, bool]:
    """(folder the output's files land in, is an image sequence) as open_writer decides it."""
    p = Path(out)
    if p.suffix.lower() in VIDEO_SUFFIXES:
        return p.parent, False
    if _PATTERN.search(p.name):
        return p.parent, True
    return p, True


def _source_folder(src: str) -> Path | None:
    """The folder an image-sequence input reads from (None for a video file)."""
    p = Path(src)
    if p.is_dir():
        return p
    if media_sequence.looks_like_sequence(src) and not (p.is_file() and p.suffix.lower()
                                                         not in media_sequence.IMAGE_EXTS):
        return p.parent
    return None


def _same(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def input_conflict(out: str, src: str) -> str | None:
    """Why writing `out` would destroy or mix into the input `src`, or None. Same file by
    inode (hard links, symlinks, other spellings), or image files into the input's folder."""
    out, src = os.fspath(out), os.fspath(src)
    folder, is_sequence = output_folder(out)
    src_folder = _source_folder(src)
    if src_folder is None:
        if _same(out, src) or os.path.realpath(out) == os.path.realpath(src):
            return f"it is the input '{src}'"
        return None
    if is_sequence and (_same(folder, src_folder) or
                        os.path.realpath(folder) == os.path.realpath(src_folder)):
        return f"its frames would go into the input sequence's folder '{src_folder}'"
    if not is_sequence and _same(out, src):
        return f"it is the input '{src}'"
    return None
