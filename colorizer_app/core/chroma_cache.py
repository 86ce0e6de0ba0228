"""On-disk chroma cache: the network's output (ab at working resolution, float16) per frame.

Why a cache at all: the network is the slow part (hundreds of ms per frame on a laptop CPU), while
its output at working resolution is tiny (256x256x2 float16 = 256 KiB). Storing it next to the film
makes reopening a film, scrubbing back, and exporting cost nothing but the final upsample.

Layout (one folder of project data per film, shared with the project file and other caches)::

    <film>.bento/chroma/<model_id>_<size>/meta.json
    <film>.bento/chroma/<model_id>_<size>/0000042.npy     # float16 (size, size, 2), LAB units

The key is the model id (a hash of the weights, from core.inference.Colorizer.model_id) plus the
working size, so changing either selects a different folder: nothing stale is ever read, nothing
still valid is thrown away, and returning to an earlier model finds its frames again.
`prune()` removes keys that are no longer wanted.

One .npy per frame (instead of one big memory-mapped array) because writes happen from a worker
thread while the GUI reads: an atomic rename per frame means a reader sees either a whole frame or
none, a crash loses at most the frame being written, and there is no size to know in advance.

Qt-free: used by the GUI workers, the CLI and export alike.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
import time
from pathlib import Path
from typing import Iterable

import numpy as np

__all__ = ["ChromaCache", "project_dir_for", "cache_key"]

_FRAME_RE = re.compile(r"^(\d{7,})\.npy$")
_SAFE_RE = re.compile(r"[^A-Za-z0-9._-]+")
META = "meta.json"


def project_dir_for(media_path: str | os.PathLike, create: bool = True) -> Path:
    """Folder that holds a film's project data: ``<film>.bento`` beside the film.

    ``film.mp4`` -> ``film.mp4.bento`` (the suffix is kept so ``film.mp4`` and ``film.mov`` do not
    share a cache); an image-sequence folder ``shot/`` -> ``shot.bento``; a printf pattern
    ``shot_%04d.png`` -> ``shot_####.png.bento``.  When the film's folder is not writable (a
    read-only mount, a network share) the data goes to the user's cache folder instead, under a
    hash of the film's absolute path, so the film still gets a stable home.
    """
    p = Path(os.path.abspath(os.fspath(media_path))).resolve()
    name = re.sub(r"%0?\d*d", lambda m: "#" * max(1, int(m.group(0)[1:-1] or 1)), p.name)
    target = p.parent / f"{name}.bento"
    if not create:
        return target
    try:
        target.mkdir(parents=True, exist_ok=True)
        probe = target / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
        return target
    except OSError:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "bentocolor"
        digest = hashlib.sha1(str(p).encode("utf-8")).hexdigest()[:16]
        fallback = base / f"{name}-{digest}.bento"
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback


def cache_key(model_id: str, size: int) -> str:
    """Folder name for one (model, working size) pair; safe on every filesystem."""
    safe = _SAFE_RE.sub("-", str(model_id)).strip("-") or "model"
    suffix = f"_{int(size)}"
    # Colorizer.model_id already ends in the size; do not repeat it.
    return safe[:64] if safe.endswith(suffix) else f"{safe[:64]}{suffix}"


class ChromaCache:
    """Per-frame ab (float16, (size, size, 2)) for one film, one model and one working size.

    Thread-safe: one worker may `put` while other threads `get`/`has`.  Frames are written to a
    temporary file and renamed into place, so a reader never sees half a frame.

    `fingerprint` describes the source film (e.g. byte size and frame count); if the stored one
    differs, the film was replaced under the same name and the whole key is cleared.
    """

    def __init__(self, project_dir: str | os.PathLike, model_id: str, size: int,
                 fingerprint: dict | None = None):
        self.project_dir = Path(project_dir)
        self.model_id = str(model_id)
        self.size = int(size)
        self.key = cache_key(model_id, size)
        self.dir = self.project_dir / "chroma" / self.key
        self._lock = threading.Lock()
        self.dir.mkdir(parents=True, exist_ok=True)
        self._check_meta(fingerprint or {})
        self._have: set[int] = self._scan()

    # ---- meta -------------------------------------------------------------------------------
    def _check_meta(self, fingerprint: dict) -> None:
        meta_path = self.dir / META
        meta = {}
        if meta_path.exists():
            try:
                meta = json.loads(meta_path.read_text("utf-8"))
            except (OSError, ValueError):
                meta = {}
        stored = meta.get("fingerprint")
        if stored is not None and fingerprint and stored != _jsonable(fingerprint):
            # The film changed under the same name: its old chroma describes other pictures.
            self._remove_frames()
        meta.update({"format": 1, "model_id": self.model_id, "size": self.size,
                     "dtype": "float16", "shape": [self.size, self.size, 2],
                     "last_used": time.time()})
        if fingerprint:
            meta["fingerprint"] = _jsonable(fingerprint)
        _atomic_write_text(meta_path, json.dumps(meta, indent=1, sort_keys=True))

    def _scan(self) -> set[int]:
        have = set()
        try:
            with os.scandir(self.dir) as it:
                for entry in it:
                    m = _FRAME_RE.match(entry.name)
                    if m:
                        have.add(int(m.group(1)))
        except FileNotFoundError:
            pass
        return have

    def _remove_frames(self) -> None:
        for entry in list(os.scandir(self.dir)):
            if _FRAME_RE.match(entry.name) or entry.name.startswith(".tmp-"):
                try:
                    os.unlink(entry.path)
                except OSError:
                    pass

    # ---- frames -----------------------------------------------------------------------------
    def path(self, index: int) -> Path:
        return self.dir / f"{int(index):07d}.npy"

    def has(self, index: int) -> bool:
        with self._lock:
            return int(index) in self._have

    __contains__ = has

    def __len__(self) -> int:
        with self._lock:
            return len(self._have)

    def indices(self) -> frozenset[int]:
        with self._lock:
            return frozenset(self._have)

    def mask(self, frame_count: int) -> np.ndarray:
        """Boolean array, True where frame i is cached (for the timeline's cache bar)."""
        out = np.zeros(int(frame_count), dtype=bool)
        idx = [i for i in self.indices() if 0 <= i < frame_count]
        if idx:
            out[np.fromiter(idx, dtype=np.int64)] = True
        return out

    def get(self, index: int) -> np.ndarray | None:
        """The stored ab for frame `index` (float16 (size, size, 2)), or None if not cached.

        A damaged file (a disk filled up, a copy cut short) is deleted and reported as missing so
        the frame simply gets colorized again.
        """
        index = int(index)
        if not self.has(index):
            return None
        p = self.path(index)
        try:
            ab = np.load(p, allow_pickle=False)
            if ab.shape != (self.size, self.size, 2):
                raise ValueError(f"shape {ab.shape}")
            return ab
        except FileNotFoundError:
            with self._lock:
                self._have.discard(index)
            return None
        except (OSError, ValueError, EOFError):
            with self._lock:
                self._have.discard(index)
            try:
                p.unlink()
            except OSError:
                pass
            return None

    def put(self, index: int, ab: np.ndarray) -> None:
        ab = np.asarray(ab)
        if ab.shape != (self.size, self.size, 2):
            raise ValueError(f"chroma for frame {index} has shape {ab.shape}, "
                             f"expected {(self.size, self.size, 2)}")
        final = self.path(index)
        tmp = self.dir / f".tmp-{os.getpid()}-{threading.get_ident()}-{int(index)}.npy"
        with open(tmp, "wb") as fh:
            np.save(fh, np.ascontiguousarray(ab, dtype=np.float16), allow_pickle=False)
        os.replace(tmp, final)
        with self._lock:
            self._have.add(int(index))

    def discard(self, indices: Iterable[int]) -> None:
        """Forget frames (e.g. after the source frames were edited)."""
        for i in indices:
            with self._lock:
                self._have.discard(int(i))
            try:
                self.path(i).unlink()
            except OSError:
                pass

    def clear(self) -> None:
        with self._lock:
            self._have.clear()
        self._remove_frames()

    # ---- keys -------------------------------------------------------------------------------
    @staticmethod
    def keys(project_dir: str | os.PathLike) -> list[str]:
        """Cache keys present for a film, most recently used first."""
        root = Path(project_dir) / "chroma"
        if not root.is_dir():
            return []
        found = []
        for d in root.iterdir():
            if d.is_dir():
                try:
                    used = json.loads((d / META).read_text("utf-8")).get("last_used", 0)
                except (OSError, ValueError):
                    used = 0
                found.append((used, d.name))
        return [name for _, name in sorted(found, reverse=True)]

    @staticmethod
    def prune(project_dir: str | os.PathLike, keep: Iterable[str] = (), keep_recent: int = 0
              ) -> list[str]:
        """Delete every key not in `keep` and not among the `keep_recent` most recently used.

        Returns the removed keys.  Use after the artist settles on a model to reclaim disk.
        """
        keep = set(keep)
        keys = ChromaCache.keys(project_dir)
        keep.update(keys[:max(0, keep_recent)])
        removed = []
        for k in keys:
            if k not in keep:
                shutil.rmtree(Path(project_dir) / "chroma" / k, ignore_errors=True)
                removed.append(k)
        return removed

    def disk_bytes(self) -> int:
        total = 0
        with os.scandir(self.dir) as it:
            for e in it:
                if e.is_file():
                    total += e.stat().st_size
        return total


def _jsonable(d: dict) -> dict:
    return json.loads(json.dumps(d, default=str, sort_keys=True))


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{threading.get_ident()}-{path.name}")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)
