"""Proxy worker: builds the film's display proxy (core.media.proxy) in the background.

Scrubbing a long-GOP film decodes from the previous keyframe at every jump; with a proxy the
display worker shows the frame from it at once and decodes full resolution only once the
playhead rests.  The build reads the film in order (cheap) at the lowest CPU priority, and it
pauses while the artist is at work (input events, a moving playhead): a thread that low, holding
the GIL when the kernel preempts it, stalled the GUI thread for up to ~190 ms in bench_gui.  When
it resumes it builds where the artist is working first: from a little before the playhead
onwards, then the rest (a two-hour film takes about an hour; the frames the artist jumps between
are the ones worth having soon).  What is built survives quitting and is reused the next time the
film is opened.
"""
from __future__ import annotations

import os
import shutil
import threading
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer, Signal

from .workers import LoopWorker, close_quietly

if TYPE_CHECKING:
    from ..core.media.proxy import ProxyBuilder, ProxyStore

# Films smaller than this decode quickly enough anyway (and a proxy would be as large as they are).
PROXY_MIN_PIXELS = 1280 * 720
PROGRESS_EVERY_S = 0.5
IDLE_S = 1.5            # the build resumes this long after the artist's last input
LEAD_IN_S = 2.0         # building starts this long before the playhead (the artist steps back too)
# Room a proxy needs: JPEG bytes per proxy pixel (measured 0.15 on grainy 960x540 colour frames),
# with twice that left free so the proxy never fills the disk the artist's renders need.
BYTES_PER_PIXEL = 0.15


def _now() -> float:
    return time.monotonic()


def wants_proxy(info) -> bool:
    """Video films of HD size and up; image sequences are random access already."""
    from ..core.media import proxy as core_proxy
    path = str(getattr(info, "path", ""))
    w, h = int(getattr(info, "width", 0)), int(getattr(info, "height", 0))
    return (os.path.isfile(path) and w * h >= PROXY_MIN_PIXELS
            and max(w, h) > core_proxy.PROXY_MAX_SIDE
            and int(getattr(info, "frame_count", 0)) > 1)


class ProxyWorker(LoopWorker):
    storeReady = Signal(int, object)     # film generation, core.media.proxy.ProxyStore (or None)
    progress = Signal(int, int)          # frames built (or found undecodable), frames
    failed_quietly = Signal(str)         # a proxy that cannot be built only costs speed
    nice = 19

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._request: tuple[int, Any, str, dict[str, Any]] | None = None
        self._store: ProxyStore | None = None
        self._builder: ProxyBuilder | None = None
        self._generation = 0
        self._last_progress = 0.0
        self._busy_until = 0.0   # written by the GUI thread (one float: atomic under the GIL)
        self._playhead = 0       # likewise: where the artist is (note_activity)
        self._fps = 24.0

    # ---- GUI thread ----------------------------------------------------------------------
    def set_film(self, generation: int, info=None, directory: str = "",
                 fingerprint: dict | None = None) -> None:
        """Build the proxy of this film (info None: stop building, e.g. proxies turned off)."""
        with self._lock:
            self._request = (generation, info, str(directory), dict(fingerprint or {}))
        self.kick()

    def note_activity(self, playhead: int | None = None) -> None:
        """The artist is at work (at frame `playhead`, when given): pause building for IDLE_S,
        then go on from there (cheap; called on every input)."""
        self._busy_until = _now() + IDLE_S
        if playhead is not None:
            self._playhead = max(0, int(playhead))

    # ---- worker thread -------------------------------------------------------------------
    def step(self) -> bool:
        with self._lock:
            request, self._request = self._request, None
        if request is not None:
            self._open(*request)
            return self._builder is not None
        if self._builder is None:
            return False
        rest = self._busy_until - _now()
        if rest > 0:
            QTimer.singleShot(int(rest * 1000) + 1, self.kick)
            return False
        try:
            hint = max(0, self._playhead - round(LEAD_IN_S * self._fps))
            done = self._builder.step(hint=hint, max_frames=2)
        except Exception as exc:  # a full disk, a vanished film: viewing goes on without proxy
            self.failed_quietly.emit(f"Display proxy stopped: {exc}")
            self._close()
            return False
        store = self._store
        assert store is not None  # opened together with the builder
        if done == 0 or self._builder.done:
            self._builder.close()
            self._builder = None
            self.progress.emit(store.frame_count, store.frame_count)
            return False
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_EVERY_S:
            self._last_progress = now
            self.progress.emit(store.count(), store.frame_count)
        return True

    def _open(self, generation: int, info, directory: str, fingerprint: dict) -> None:
        from ..core.media import proxy as core_proxy
        self._close()
        self._generation = generation
        if info is None:
            self.storeReady.emit(generation, None)
            return
        w, h = core_proxy.proxy_size(int(info.width), int(info.height), core_proxy.PROXY_MAX_SIDE)
        need = int(info.frame_count) * w * h * BYTES_PER_PIXEL
        try:
            os.makedirs(directory, exist_ok=True)
            free = shutil.disk_usage(directory).free
            need -= sum(e.stat().st_size for e in os.scandir(directory) if e.is_file())
        except OSError:
            free = 0
        if free < 2 * need:
            self.failed_quietly.emit(f"No display proxy: it needs about {need / 1e9:.1f} GB and "
                                     f"{free / 1e9:.1f} GB are free in {directory}")
            self.storeReady.emit(generation, None)
            return
        try:
            store = core_proxy.ProxyStore.open(
                directory, fingerprint, int(info.frame_count), int(info.width), int(info.height),
                bool(info.has_color), max_side=core_proxy.PROXY_MAX_SIDE)
        except OSError as exc:
            self.failed_quietly.emit(f"No display proxy (cannot write {directory}): {exc}")
            self.storeReady.emit(generation, None)
            return
        self._store = store
        self._fps = float(getattr(info, "fps", 24.0) or 24.0)
        self.storeReady.emit(generation, store)
        self.progress.emit(store.count(), store.frame_count)
        if not store.complete:
            self._builder = core_proxy.ProxyBuilder(store, str(info.path))

    def _close(self) -> None:
        # (the display worker may read the old store a moment longer: a closed store reads None)
        close_quietly(self._builder)
        close_quietly(self._store)
        self._builder = self._store = None

    def cleanup(self) -> None:
        self._close()
