"""On-disk chroma cache: the network's output (ab at working resolution) per frame.

Why a cache at all: the network is the slow part (hundreds of ms per frame on a laptop CPU), while
its output at working resolution is small. Storing it next to the film makes reopening a film,
scrubbing back, and exporting cost nothing but the final upsample.

Layout (one folder of project data per film, shared with the project file and other caches)::

    <film>.bento/chroma/<model_id>_<size>/meta.json
    <film>.bento/chroma/<model_id>_<size>/0000042.png     # a | b side by side, uint8, ab + 128

Why 8-bit PNG (format 2): float16 .npy frames took 262 KB each at 256 px (45 GB for a two-hour
film). ab rounded to whole LAB units is at most 0.5 off per channel (a chroma difference of at
most 0.71 ΔE, a third of a just-noticeable difference). PNG's row filters with run-length
deflate suit the model's chroma, which is smooth plus a fine grain that string matching cannot
use: measured with the shipped model, 43.6 KB for a square picture, 23-26 KB for 16:9 (whose
letterbox padding, never read, is stored flat), 5-25 ms a frame against ~160 ms for the
network. Format-1 .npy frames of older caches are still read. `get` always returns float16
(size, size, 2) in LAB units.

The key is the model id (a hash of the weights, from core.ml.inference.Colorizer.model_id) plus the
working size, so changing either selects a different folder: nothing stale is ever read, nothing
still valid is thrown away, and returning to an earlier model finds its frames again.
`prune()` removes keys that are no longer wanted. Each key is capped (``max_bytes``; default
`default_limit()`, a setting): past it, the least recently used frames are evicted.

One file per frame (instead of one big memory-mapped array) because writes happen from a worker
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
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

if TYPE_CHECKING:
    from ..color import Letterbox

__all__ = ["ChromaCache", "project_dir_for", "cache_key", "default_limit", "set_default_limit"]

_FRAME_RE = re.compile(r"^(\d{7,})\.(png|npy)$")
PNG_LEVEL = 5
_LIMIT_ENV = "BENTOCOLOR_CHROMA_CACHE_MB"
_DEFAULT_LIMIT_MB = 8192          # ~170 000 frames at 256 px: a two-hour film
_limit_override: int | None = None


def default_limit() -> int:
    """Bytes one cache key may hold: set_default_limit (the app's setting), else the
    BENTOCOLOR_CHROMA_CACHE_MB environment variable, else 8 GiB. 0 means no limit."""
    if _limit_override is not None:
        return _limit_override
    try:
        return max(0, int(float(os.environ.get(_LIMIT_ENV, _DEFAULT_LIMIT_MB)) * 2 ** 20))
    except ValueError:
        return _DEFAULT_LIMIT_MB * 2 ** 20


def set_default_limit(nbytes: int | None) -> None:
    """The app's setting (None: back to the environment/default)."""
    global _limit_override
    _limit_override = None if nbytes is None else max(0, int(nbytes))


def quantize_ab(ab: np.ndarray) -> np.ndarray:
    """float ab (size, size, 2) -> uint8, whole LAB units + 128 (what a frame file holds)."""
    return np.clip(np.rint(np.asarray(ab, np.float32)) + 128.0, 0, 255).astype(np.uint8)


def encode_ab(q: np.ndarray) -> bytes:
    """quantize_ab's uint8 (size, size, 2) -> PNG of a | b side by side."""
    import cv2
    ok, png = cv2.imencode(".png", np.concatenate([q[..., 0], q[..., 1]], axis=1),
                           [cv2.IMWRITE_PNG_COMPRESSION, PNG_LEVEL,
                            cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE])
    if not ok:
        raise ValueError("chroma could not be encoded")
    return png.tobytes()


def _letterbox(fingerprint: dict[str, Any], size: int) -> Letterbox | None:
    w, h = fingerprint.get("width"), fingerprint.get("height")
    if type(w) is not int or type(h) is not int or w <= 0 or h <= 0:
        return None
    from ..color import letterbox_for
    box = letterbox_for(h, w, size)
    return None if (box.h, box.w) == (size, size) else box


def _flat_padding(ab: np.ndarray, box: Letterbox | None) -> np.ndarray:
    """The letterbox padding of the square is never read (every consumer crops to the content
    first: color.crop_content, upsample_ab), yet the network's chroma there is as busy as the
    picture (a third of a 16:9 frame's PNG bytes): it is stored as the content's edge."""
    if box is None:
        return ab
    import cv2
    content = np.ascontiguousarray(np.asarray(ab, np.float32)[box.y0:box.y0 + box.h,
                                                                box.x0:box.x0 + box.w])
    return cv2.copyMakeBorder(content, box.y0, box.size - box.h - box.y0, box.x0,
                              box.size - box.w - box.x0, cv2.BORDER_REPLICATE)


def decode_ab(blob: bytes, size: int) -> np.ndarray:
    import cv2
    img = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None or img.dtype != np.uint8 or img.shape != (size, 2 * size):
        raise ValueError("not a chroma frame of this size")
    ab = np.empty((size, size, 2), np.float16)
    ab[..., 0] = img[:, :size].astype(np.float32) - 128.0
    ab[..., 1] = img[:, size:].astype(np.float32) - 128.0
    return ab
_SAFE_RE = re.compile(r"[^A-Za-z0-9._-]+")
META = "meta.json"


def project_dir_for(media_path: str | os.PathLike[str], create: bool = True) -> Path:
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

    def __init__(self, project_dir: str | os.PathLike[str], model_id: str, size: int,
                 fingerprint: dict[str, Any] | None = None, max_bytes: int | None = None):
        self.project_dir = Path(project_dir)
        self.model_id = str(model_id)
        self.size = int(size)
        self.key = cache_key(model_id, size)
        self.dir = self.project_dir / "chroma" / self.key
        self.max_bytes = default_limit() if max_bytes is None else max(0, int(max_bytes))
        self._lock = threading.Lock()
        self.dir.mkdir(parents=True, exist_ok=True)
        self._check_meta(fingerprint or {})
        self._box = _letterbox(fingerprint or {}, self.size)
        # index -> (file name, bytes), least recently used first (on disk: by mtime; a frame's
        # first read in a session touches it so the order outlives the session)
        self._have: OrderedDict[int, tuple[str, int]] = self._scan()
        self._bytes = sum(n for _, n in self._have.values())
        self._touched: set[int] = set()
        self.evicted = 0
        with self._lock:
            self._evict(keep=None)

    # ---- meta -------------------------------------------------------------------------------
    def _check_meta(self, fingerprint: dict[str, Any]) -> None:
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
        meta.update({"format": 2, "model_id": self.model_id, "size": self.size,
                     "encoding": "png-u8-ab+128", "shape": [self.size, self.size, 2],
                     "last_used": time.time()})
        meta.pop("dtype", None)
        if fingerprint:
            meta["fingerprint"] = _jsonable(fingerprint)
        _atomic_write_text(meta_path, json.dumps(meta, indent=1, sort_keys=True))

    def _scan(self) -> OrderedDict[int, tuple[str, int]]:
        found = []
        try:
            with os.scandir(self.dir) as it:
                for entry in it:
                    m = _FRAME_RE.match(entry.name)
                    if m:
                        try:
                            st = entry.stat()
                        except OSError:
                            continue
                        # a frame in both formats (an old cache being refilled): PNG wins
                        found.append((st.st_mtime, m.group(2) == "png", int(m.group(1)),
                                      entry.name, st.st_size))
        except FileNotFoundError:
            pass
        have: OrderedDict[int, tuple[str, int]] = OrderedDict()
        for _, _, i, name, n in sorted(found):
            if i in have:
                old = have.pop(i)[0]
                if not name.endswith(".png"):
                    name, n = old, (self.dir / old).stat().st_size
            have[i] = (name, n)
        return have

    def _evict(self, keep: int | None) -> None:
        """Least recently used frames out until the key fits its cap (lock held)."""
        if not self.max_bytes:
            return
        while self._bytes > self.max_bytes and self._have:
            i = next(iter(self._have))
            if i == keep:
                if len(self._have) == 1:
                    return
                self._have.move_to_end(i)
                continue
            name, n = self._have.pop(i)
            self._bytes -= n
            self.evicted += 1
            try:
                os.unlink(self.dir / name)
            except OSError:
                pass

    def _remove_frames(self) -> None:
        for entry in list(os.scandir(self.dir)):
            if _FRAME_RE.match(entry.name) or entry.name.startswith(".tmp-"):
                try:
                    os.unlink(entry.path)
                except OSError:
                    pass

    # ---- frames -----------------------------------------------------------------------------
    def path(self, index: int) -> Path:
        """Where frame ``index`` is (or will be) stored."""
        with self._lock:
            entry = self._have.get(int(index))
        return self.dir / (entry[0] if entry else f"{int(index):07d}.png")

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

    @property
    def nbytes(self) -> int:
        """Bytes of the frames now held (what the cap counts)."""
        with self._lock:
            return self._bytes

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
        with self._lock:
            entry = self._have.get(index)
            if entry is None:
                return None
            self._have.move_to_end(index)
            first = index not in self._touched
            self._touched.add(index)
        p = self.dir / entry[0]
        try:
            if p.suffix == ".png":
                ab = decode_ab(p.read_bytes(), self.size)
            else:
                ab = np.load(p, allow_pickle=False)
                if ab.shape != (self.size, self.size, 2):
                    raise ValueError(f"shape {ab.shape}")
                ab = ab.astype(np.float16, copy=False)
            if first:                      # LRU order on disk, for the next session
                try:
                    os.utime(p)
                except OSError:                # a read-only cache still reads
                    pass
            return ab
        except FileNotFoundError:
            self._forget(index, entry)
            return None
        except (OSError, ValueError, EOFError):
            self._forget(index, entry)
            try:
                p.unlink()
            except OSError:
                pass
            return None

    def _forget(self, index: int, entry: tuple[Any, ...]) -> None:
        with self._lock:
            if self._have.get(index) == entry:
                del self._have[index]
                self._bytes -= entry[1]

    def put(self, index: int, ab: np.ndarray) -> np.ndarray:
        """Store frame ``index``; returns what `get` will read back (float16), so a caller
        that uses its fresh chroma gets the same picture as one that reads the cache."""
        ab = np.asarray(ab)
        if ab.shape != (self.size, self.size, 2):
            raise ValueError(f"chroma for frame {index} has shape {ab.shape}, "
                             f"expected {(self.size, self.size, 2)}")
        index = int(index)
        q = quantize_ab(_flat_padding(ab, self._box))
        blob = encode_ab(q)
        name = f"{index:07d}.png"
        tmp = self.dir / f".tmp-{os.getpid()}-{threading.get_ident()}-{index}.png"
        with open(tmp, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, self.dir / name)
        with self._lock:
            old = self._have.pop(index, None)
            if old is not None:
                self._bytes -= old[1]
                if old[0] != name:          # the frame's format-1 file is superseded
                    try:
                        os.unlink(self.dir / old[0])
                    except OSError:
                        pass
            self._have[index] = (name, len(blob))
            self._bytes += len(blob)
            self._touched.add(index)
            self._evict(keep=index)
        return (q.astype(np.float32) - 128.0).astype(np.float16)

    def discard(self, indices: Iterable[int]) -> None:
        """Forget frames (e.g. after the source frames were edited)."""
        for i in indices:
            with self._lock:
                entry = self._have.pop(int(i), None)
                if entry is not None:
                    self._bytes -= entry[1]
            if entry is not None:
                try:
                    os.unlink(self.dir / entry[0])
                except OSError:
                    pass

    def clear(self) -> None:
        with self._lock:
            self._have.clear()
            self._bytes = 0
        self._remove_frames()

    # ---- keys -------------------------------------------------------------------------------
    @staticmethod
    def keys(project_dir: str | os.PathLike[str]) -> list[str]:
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
    def prune(project_dir: str | os.PathLike[str], keep: Iterable[str] = (), keep_recent: int = 0
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


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    # a dict dumps to a JSON object, which loads as a dict
    return cast("dict[str, Any]", json.loads(json.dumps(d, default=str, sort_keys=True)))


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{threading.get_ident()}-{path.name}")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)
