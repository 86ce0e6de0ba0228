"""Display proxy: intra-frame, display-sized JPEG copies of every frame of a film, on disk.

Why: a seek in a long-GOP H.264 film decodes from the previous keyframe (60-130 ms at 1080p), while
a 960 px JPEG decodes in a few ms. Scrubbing reads the proxy; full resolution still comes from the
film for export and for the viewer once the playhead rests.

Layout inside the proxy folder (the GUI passes ``<film>.bento/proxy``)::

    proxy.json     header: version, fingerprint, frame_count, width, height, has_color, size, quality
    proxy.jpgs     the JPEG bytes of all frames, appended in the order they were built
    proxy.idx      int64 little-endian (frame_count, 3): offset, length, CRC-32 of each frame's
                   bytes; (-1, 0, 0) where missing

One data file, not 170 000 for a two-hour film. Bytes are appended before the in-memory index
points at them, so a reader never sees half a frame; the index reaches disk on flush() (temp file +
os.replace), so a crash loses only frames built since the last flush. The CRC catches damaged bytes
that a JPEG decoder would happily turn into a picture. All of it is derived data: anything damaged
or mismatched on open is deleted and built again, never reported. Qt-free.
"""
from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import zlib
from io import FileIO
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import cv2
import numpy as np

if TYPE_CHECKING:  # annotation only: the package imports this module
    from . import MediaReader

__all__ = ["PROXY_MAX_SIDE", "PROXY_QUALITY", "proxy_size", "ProxyStore", "ProxyBuilder"]

PROXY_MAX_SIDE = 960
PROXY_QUALITY = 85
FORMAT_VERSION = 1
HEADER, DATA, INDEX = "proxy.json", "proxy.jpgs", "proxy.idx"
# Rebuilt frames leave dead bytes in the data file; past this ratio of file to live bytes, reopening
# starts afresh (rebuilding is the compaction).
MAX_BLOAT = 1.5
MISSING = (-1, 0, 0)


def proxy_size(width: int, height: int, max_side: int = PROXY_MAX_SIDE) -> tuple[int, int]:
    """(w, h) of proxy frames: aspect kept, long side <= max_side (never upscaled), both >= 1."""
    width, height, max_side = int(width), int(height), max(1, int(max_side))
    long_side = max(width, height, 1)
    if long_side <= max_side:
        return max(1, width), max(1, height)
    scale = max_side / long_side
    return max(1, min(max_side, round(width * scale))), max(1, min(max_side, round(height * scale)))


class ProxyStore:
    """Intra-frame, display-sized JPEG copies of one film's frames, on disk, frame exact.

    Thread-safe: one thread may put() while others read()/has(). Use `open()`."""

    def __init__(self, directory: Path, header: dict[str, Any], index: np.ndarray, data_end: int):
        self.directory = directory
        self._header = header
        self.frame_count = int(header["frame_count"])
        self.size: tuple[int, int] = tuple(header["size"])
        self.has_color = bool(header["has_color"])
        self._idx = index                      # (frame_count, 3) int64, guarded by _lock
        self._count = int((index[:, 0] >= 0).sum())
        self._end = data_end                   # append position in the data file
        self._dirty = False
        self._lock = threading.Lock()          # index, counters and the file descriptors
        self._flush_lock = threading.Lock()    # one flush at a time, without blocking readers
        # two unbuffered handles used with pwrite/pread only: no file position is shared
        self._wf: FileIO | None = open(directory / DATA, "r+b", buffering=0)
        self._rf: FileIO | None = open(directory / DATA, "rb", buffering=0)

    # ------------------------------------------------------------------------------- opening
    @classmethod
    def open(cls, directory: str | os.PathLike[str], fingerprint: dict[str, Any], frame_count: int,
             width: int, height: int, has_color: bool, max_side: int = PROXY_MAX_SIDE) -> ProxyStore:
        """Open the proxy in `directory` (created if missing), reusing frames already built when
        the stored header matches; anything else starts afresh. OSError only if the folder
        cannot be written."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        header: dict[str, Any] = {"version": FORMAT_VERSION, "fingerprint": _jsonable(fingerprint or {}),
                  "frame_count": int(frame_count), "width": int(width), "height": int(height),
                  "has_color": bool(has_color), "size": list(proxy_size(width, height, max_side)),
                  "quality": PROXY_QUALITY}
        found = _load_existing(directory, header)
        if found is None:
            _remove_files(directory)
            index, end = np.tile(np.array(MISSING, np.int64), (header["frame_count"], 1)), 0
            _atomic_write(directory / INDEX, index.astype("<i8").tobytes())
            with open(directory / DATA, "wb"):
                pass
            # the header last: it is what makes the other two files count
            _atomic_write(directory / HEADER, json.dumps(header, indent=1, sort_keys=True).encode())
        else:
            index, end = found
        return cls(directory, header, index, end)

    # ------------------------------------------------------------------------------- queries
    def has(self, i: int) -> bool:
        with self._lock:
            return 0 <= int(i) < self.frame_count and self._idx[int(i), 0] >= 0

    def count(self) -> int:
        with self._lock:
            return self._count

    @property
    def complete(self) -> bool:
        return self.count() == self.frame_count

    def mask(self) -> np.ndarray:
        """Boolean (frame_count,): True where a frame is stored (for a timeline bar)."""
        with self._lock:
            return self._idx[:, 0] >= 0

    def next_missing(self, start: int = 0, skip: np.ndarray | None = None) -> int | None:
        """First missing index >= start, wrapping round to 0; None when complete. `skip` (bool
        mask) marks frames to treat as present (the builder's undecodable ones)."""
        with self._lock:
            missing = self._idx[:, 0] < 0
        if skip is not None:
            missing &= ~skip
        n = self.frame_count
        start = min(max(0, int(start)), n)
        for lo, hi in ((start, n), (0, start)):
            hits = np.flatnonzero(missing[lo:hi])
            if hits.size:
                return lo + int(hits[0])
        return None

    @property
    def nbytes_on_disk(self) -> int:
        paths = [self.directory / name for name in (HEADER, DATA, INDEX)]
        return sum(p.stat().st_size for p in paths if p.exists())

    # ------------------------------------------------------------------------------- frames
    def put(self, i: int, rgb: np.ndarray) -> None:
        """Store frame i from a full-resolution uint8 (or uint16) RGB frame; a frame already
        stored is replaced."""
        i = int(i)
        if not 0 <= i < self.frame_count:
            raise IndexError(f"proxy frame {i} out of range (0..{self.frame_count - 1})")
        data = self._encode(np.asarray(rgb))
        with self._lock:
            if self._wf is None:
                raise ValueError("the proxy store is closed")
            _pwrite_all(self._wf, data, self._end)
            if self._idx[i, 0] < 0:
                self._count += 1
            self._idx[i] = (self._end, len(data), zlib.crc32(data))
            self._end += len(data)
            self._dirty = True

    def read(self, i: int, size: tuple[int, int] | None = None) -> np.ndarray | None:
        """Frame i as uint8 RGB (h, w, 3), resized (INTER_LINEAR) to size=(w, h) when given; None
        when not stored or undecodable (then it is forgotten, so it gets rebuilt)."""
        i = int(i)
        with self._lock:  # pread under the lock: close() cannot pull the fd away mid-read
            if self._rf is None or not 0 <= i < self.frame_count or self._idx[i, 0] < 0:
                return None
            entry = self._idx[i].copy()
            off, length, crc = (int(v) for v in entry)
            buf = _pread(self._rf, length, off)
        img = None
        if len(buf) == length and zlib.crc32(buf) == crc:
            flag = cv2.IMREAD_COLOR if self.has_color else cv2.IMREAD_GRAYSCALE
            img = cv2.imdecode(np.frombuffer(buf, np.uint8), flag)
        if img is None or (img.shape[1], img.shape[0]) != self.size:
            with self._lock:  # unless a put() replaced it meanwhile
                if np.array_equal(self._idx[i], entry):
                    self._idx[i] = MISSING
                    self._count -= 1
                    self._dirty = True
            return None
        if self.has_color:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)  # at proxy size: cheaper than after upscaling
        if size is not None and tuple(size) != self.size:
            img = cv2.resize(img, (int(size[0]), int(size[1])), interpolation=cv2.INTER_LINEAR)
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
        return np.ascontiguousarray(img)

    def _encode(self, rgb: np.ndarray) -> bytes:
        if rgb.dtype == np.uint16:
            rgb = (rgb >> 8).astype(np.uint8)
        elif rgb.dtype != np.uint8:
            raise TypeError(f"proxy frames must be uint8 or uint16, not {rgb.dtype}")
        if rgb.ndim == 3 and not self.has_color:  # gray film: 1-channel JPEG, smaller and faster
            rgb = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2GRAY)
        small = cv2.resize(rgb, self.size, interpolation=cv2.INTER_AREA)
        if self.has_color:  # colour conversions at proxy size: a quarter of the pixels
            small = cv2.cvtColor(small, cv2.COLOR_RGB2BGR if small.ndim == 3 else cv2.COLOR_GRAY2BGR)
        ok, enc = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, int(self._header["quality"])])
        if not ok:
            raise ValueError("JPEG encoding of a proxy frame failed")
        return enc.tobytes()

    # ------------------------------------------------------------------------------- lifetime
    def flush(self) -> None:
        """Persist the index (temp file + os.replace) so a crash keeps what is built."""
        with self._flush_lock:
            with self._lock:
                if not self._dirty or self._wf is None:
                    return
                snapshot = self._idx.astype("<i8", copy=True)
                self._dirty = False
            try:  # written outside _lock: readers in the GUI thread never wait on the disk
                _atomic_write(self.directory / INDEX, snapshot.tobytes())
            except OSError:
                with self._lock:
                    self._dirty = True
                raise

    def close(self) -> None:
        """Flush and close the files; idempotent."""
        try:
            self.flush()
        finally:
            self._close_files()

    def _close_files(self) -> None:
        with self._flush_lock, self._lock:
            for fh in (self._wf, self._rf):
                if fh is not None:
                    fh.close()
            self._wf = self._rf = None

    def delete(self) -> None:
        """Close and remove the proxy files (and the folder when nothing else is in it)."""
        self._close_files()
        with self._lock:
            self._idx[:] = MISSING
            self._count = 0
            self._dirty = False
        _remove_files(self.directory)
        with contextlib.suppress(OSError):
            self.directory.rmdir()

    def __enter__(self) -> ProxyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ProxyBuilder:
    """Fills a ProxyStore from the film, in order (sequential decoding is cheap; random access is
    not). One thread drives it; that thread owns its reader."""

    def __init__(self, store: ProxyStore, path: str, flush_every_s: float = 5.0):
        self.store = store
        self.path = os.fspath(path)
        self.flush_every_s = float(flush_every_s)
        self.failed: set[int] = set()          # undecodable frames: skipped, retried next session
        self._failed_mask = np.zeros(store.frame_count, bool)
        self._reader: MediaReader | None = None
        self._last_flush = time.monotonic()

    def _open_reader(self) -> MediaReader:
        if self._reader is None:
            from . import open_media
            # no cache: frames are read once, in order
            self._reader = open_media(self.path, cache_bytes=0)
        return self._reader

    @property
    def done(self) -> bool:
        """Every frame is stored or has failed to decode."""
        return self.store.next_missing(0, self._failed_mask) is None

    def step(self, hint: int = 0, max_frames: int = 8) -> int:
        """Build up to max_frames missing frames: the contiguous run from the first missing frame
        at or after `hint` (wrapping). Returns the number of frames handled (stored, or given up
        on as undecodable); 0 only when nothing is left to build. Raises MediaError when the film
        cannot be opened, OSError when the proxy cannot be written."""
        from . import MediaError
        store = self.store
        i = store.next_missing(hint, self._failed_mask)
        if i is None:
            store.flush()
            return 0
        reader = self._open_reader()
        handled = 0
        while handled < max(1, int(max_frames)) and i < store.frame_count \
                and not self._failed_mask[i] and not store.has(i):
            try:
                rgb = reader.read(i, copy=False)
            except MediaError:
                self.failed.add(i)
                self._failed_mask[i] = True
            else:
                store.put(i, rgb)
            handled += 1
            i += 1
        now = time.monotonic()
        if now - self._last_flush >= self.flush_every_s or self.done:
            store.flush()
            self._last_flush = now
        return handled

    def close(self) -> None:
        """Close the reader and flush the store (the store stays open)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self.store.flush()


# ----------------------------------------------------------------------------------- helpers
def _load_existing(directory: Path, header: dict[str, Any]) -> tuple[np.ndarray, int] | None:
    """(index, data end) of a proxy already on disk that matches `header`, or None to start
    afresh. Trims the data file to the bytes the index references (frames appended after the last
    flush of a crashed session are unreachable anyway)."""
    try:
        stored = json.loads((directory / HEADER).read_text("utf-8"))
        if stored != header:
            return None
        n = header["frame_count"]
        raw = (directory / INDEX).read_bytes()
        data_size = (directory / DATA).stat().st_size
    except (OSError, ValueError):
        return None
    if len(raw) != n * 24:
        return None
    index = np.frombuffer(raw, "<i8").reshape(n, 3).astype(np.int64)
    off, length, crc = index.T
    have = off >= 0
    if np.any(index[~have] != MISSING) or np.any(length[have] <= 0) or np.any(crc >> 32 != 0):
        return None
    order = np.argsort(off[have])
    o, ln = off[have][order], length[have][order]
    if np.any(o[:-1] + ln[:-1] > o[1:]):  # overlapping frames: garbage
        return None
    end, live = (int(o[-1] + ln[-1]) if o.size else 0), int(ln.sum())
    if end > data_size or end > MAX_BLOAT * live:
        return None
    if data_size > end:
        try:
            os.truncate(directory / DATA, end)
        except OSError:
            return None
    return index, end


def _remove_files(directory: Path) -> None:
    for path in [directory / INDEX, directory / DATA, directory / HEADER, *directory.glob(".tmp-*")]:
        path.unlink(missing_ok=True)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{threading.get_ident()}-{path.name}")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


# Positional I/O; without os.pread (Windows) seek + read/write is equivalent because every caller
# holds the store's lock and each handle is used by one kind of call only.
def _pread(fh: FileIO, n: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fh.fileno(), n, offset)
    fh.seek(offset)
    return fh.read(n)


def _pwrite_all(fh: FileIO, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        if hasattr(os, "pwrite"):
            n = os.pwrite(fh.fileno(), view, offset)
        else:
            fh.seek(offset)
            n = fh.write(view)
        view, offset = view[n:], offset + n


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    # a dict dumps to a JSON object, which loads as a dict
    return cast("dict[str, Any]", json.loads(json.dumps(d, default=str, sort_keys=True)))
