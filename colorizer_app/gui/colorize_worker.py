"""Colorize worker: runs the network in its own thread and fills the chroma cache.

Order of work (see scheduler.py): the frame on screen alone, then a window around the playhead,
then the in/out range in order.  The plan is re-read before every batch, so the frame the artist
just landed on is at most one batch away.  The model is loaded in this thread too (a large .keras
takes seconds to load), and every failure becomes a `failed`/`modelFailed` message instead of an
exception in a thread nobody watches.
"""
from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from PySide6.QtCore import Signal

from ..core import color
from ..core.media.frames import SharedFrames
from ..core.media.proxy import PROXY_MAX_SIDE, proxy_size
from ..core.pipeline.scheduler import Plan, next_batch
from .preview import compose_preview
from .workers import EDIT_QUIET_S, LoopWorker, close_quietly

if TYPE_CHECKING:
    from ..core.media import MediaReader
    from ..core.ml.chroma_cache import ChromaCache
    from ..core.ml.inference import Colorizer
    from .preview import PreviewGate

BACKGROUND_BATCH = 4
# A batch cannot be interrupted, so a background batch is what the frame the artist jumps to may
# have to wait for.  Batches are only used while one takes no longer than this.
MAX_BATCH_S = 0.3
# How long the worker waits for the display worker to decode the playhead frame before decoding
# it itself: both threads seeking the same long-GOP frame would cost twice the decode.
SHARED_WAIT_S = 0.5
# How long the worker waits to hear whether the display worker showed the playhead frame from
# the proxy (a slow decode, worth a preview): that takes it a JPEG read, a few ms.
PROXIED_WAIT_S = 0.05


class ColorizeWorker(LoopWorker):
    modelLoading = Signal(str)                 # model path
    modelLoaded = Signal(str, str)             # model name, model id (includes the size)
    cacheChanged = Signal(object)              # the ChromaCache now being filled, or None
    modelFailed = Signal(str)                  # message naming the file
    colorized = Signal(str, list)              # cache key, frame indices now in the cache
    progress = Signal(int, int)                # frames of in/out in the cache, frames in in/out
    busy = Signal(bool)
    # the frame on screen coloured from its display proxy while its own frame decodes, or from a
    # small copy of its own frame (never cached; gui/preview.py): film, cache key, frame index,
    # the composed display_compose.DisplayPictures, where it came from ("proxy" or "film")
    previewed = Signal(str, str, int, object, str)
    nice = 5  # the network yields to the GUI and to decoding

    def __init__(self, shared: SharedFrames, batch_size: int = BACKGROUND_BATCH):
        super().__init__()
        self._shared = shared
        self._batch_size = max(1, int(batch_size))
        self._lock = threading.Lock()
        # Pending requests from the GUI (applied at the start of a step, in this thread).
        self._film_request: tuple[str, str, dict] | None = None
        self._model_request: tuple[str, int] | None = None
        self._plan: Plan | None = None
        self._background = True
        self._quiet_until = 0.0     # monotonic time the artist's last edit's quiet ends
        self._proxy: Any = None     # the display proxy (core.media.proxy.ProxyStore), or None
        self._previews = False      # a colour view is on screen, paused (set_previews)
        self._film_previews = False  # and drawn smaller than the film (set_previews)
        self._preview_shape: tuple[int, int] | None = None   # (h, w) previews are composed at
        self.preview_gate: PreviewGate | None = None   # set by the pipeline (gui/preview.py)
        # Worker-thread state.
        self._path = ""
        self._project = ""
        self._fingerprint: dict = {}
        self._reader: MediaReader | None = None
        self._keras: Any = None     # the keras.Model
        self._keras_path = ""
        self._one: Colorizer | None = None   # batch 1: the frame on screen, fastest reply
        self._many: Colorizer | None = None  # with the background batch size
        self._cache: ChromaCache | None = None
        self._failed: set[int] = set()
        self._busy = False
        self.last_batch_s = 0.0
        self._per_frame_s = 0.0     # running estimate of network time per frame

    # ---- called from the GUI thread ----------------------------------------------------------
    @property
    def keras_model(self):
        """The Keras generator loaded now (None before a model is loaded or after a failure)."""
        return self._keras

    def set_film(self, path: str, project_dir: str, fingerprint: dict | None = None) -> None:
        with self._lock:
            self._film_request = (str(path), str(project_dir), dict(fingerprint or {}))
            self._plan = None
        self.kick()

    def set_model(self, path: str, size: int) -> None:
        with self._lock:
            self._model_request = (str(path), int(size))
        self.kick()

    def set_plan(self, plan: Plan) -> None:
        with self._lock:
            self._plan = plan
        self.kick()

    def set_proxy(self, store) -> None:
        """The film's display proxy (None: none), for previews of the frame on screen."""
        with self._lock:
            self._proxy = store

    def set_previews(self, enabled: bool, shape: tuple[int, int] | None = None) -> None:
        """Whether the frame on screen is worth a preview from the proxy (a colour view,
        paused): elsewhere it would only hold the film's own frame back. `shape`: the (h, w) the
        viewer draws the film at when smaller than the film (None: 100 % or more), the size
        previews are composed at; only then is a frame also previewed from a small copy of its
        own pixels when there is no proxy (_preview_from_film)."""
        with self._lock:
            self._previews = bool(enabled)
            self._film_previews = bool(enabled and shape is not None)
            self._preview_shape = (int(shape[0]), int(shape[1])) if shape is not None else None

    def postpone(self) -> None:
        """The artist is editing: frames other than the one on screen wait EDIT_QUIET_S from
        now (a batch already running finishes). With a film still colorizing behind them, hint
        edits took 193 instead of 128 ms without this."""
        with self._lock:
            self._quiet_until = time.monotonic() + EDIT_QUIET_S

    def set_background(self, enabled: bool) -> None:
        """Cancel/resume work beyond the frame on screen (the artist wants the CPU back)."""
        with self._lock:
            self._background = bool(enabled)
        self.kick()

    # ---- worker thread -----------------------------------------------------------------------
    def step(self) -> bool:
        with self._lock:
            film, self._film_request = self._film_request, None
            model, self._model_request = self._model_request, None
        if film is not None:
            self._open_film(*film)
        if model is not None:
            self._load_model(*model)
        if film is not None or model is not None:
            self._open_cache()
            return True
        with self._lock:
            plan, background = self._plan, self._background
            quiet_in = self._quiet_until - time.monotonic()
        if plan is None or self._cache is None or self._reader is None:
            self._set_busy(False)
            return False
        if not background or quiet_in > 0:
            plan = Plan(plan.playhead, plan.in_point, plan.out_point, plan.frame_count,
                        ahead=0, behind=0, background=False)
        batch = next_batch(plan, self._cache.has, self._background_batch(), skip=self._failed)
        if not batch:
            if background and quiet_in > 0:   # the rest once the artist's edit is quiet
                self.kick_in(quiet_in)
            self._set_busy(False)
            self._report_progress(plan)
            return False
        self._set_busy(True)
        self._run_batch(batch, plan)
        self._report_progress(plan)
        return True

    def _run_batch(self, batch: list[int], plan: Plan) -> None:
        cache, reader = self._cache, self._reader
        assert cache is not None and reader is not None  # (step() checked)
        t0 = 0.0
        try:
            frames = []
            for i in batch:
                wait = SHARED_WAIT_S if i == plan.playhead else 0.0
                previewed = wait and len(batch) == 1 and self._worth_a_preview(i)
                if previewed:
                    self._preview(i, cache)       # while the display worker decodes it
                f = self._shared.get(self._path, i, wait_s=wait)
                if f is None:
                    f = reader.read(i)
                if wait and len(batch) == 1 and not previewed:
                    self._preview_from_film(i, f, cache)
                frames.append(f)
            colorizer = self._one if len(batch) == 1 else self._many
            assert colorizer is not None, "no model"
            t0 = time.perf_counter()
            results = colorizer.predict_work(frames)
            for i, (ab, _box) in zip(batch, results):
                cache.put(i, ab)
        except Exception as exc:
            # Do not retry these frames forever; a new model or film clears the list.
            self._failed.update(batch)
            self.failed.emit(f"Colorizing frame {batch[0]} failed: "
                             f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}")
            return
        self.last_batch_s = time.perf_counter() - t0
        per_frame = self.last_batch_s / len(batch)
        self._per_frame_s = per_frame if not self._per_frame_s else \
            0.7 * self._per_frame_s + 0.3 * per_frame
        self.colorized.emit(cache.key, list(batch))

    def _worth_a_preview(self, i: int) -> bool:
        """Frame i is being decoded slowly: the display worker showed it from the proxy (it says
        so within a few ms of the jump), and its frame has not arrived meanwhile."""
        gate = self.preview_gate
        with self._lock:
            if gate is None or self._proxy is None or not self._previews:
                return False
        end = time.monotonic() + PROXIED_WAIT_S
        while self._shared.get(self._path, i) is None:
            if gate.was_proxied(i, 0.005):
                return True
            if time.monotonic() > end:
                return False
        return False

    def _preview(self, i: int, cache: ChromaCache) -> None:
        """The network on the proxy's copy of frame i, sent as a preview (never cached)."""
        with self._lock:
            proxy = self._proxy if self._previews else None
        if proxy is None or self._one is None:
            return
        gate = self.preview_gate
        try:
            if not proxy.has(i):
                return
            if gate is not None:
                gate.begin(i)
            frame = proxy.read(i)
            if frame is None:
                return
            frame.flags.writeable = False
            (ab, _box), = self._one.predict_work([frame])
        except Exception:  # a proxy being replaced or closed: no preview, the frame follows
            return
        finally:
            if gate is not None:
                gate.end()
        self._emit_preview(i, cache, ab, frame, "proxy")

    def _preview_from_film(self, i: int, frame: np.ndarray, cache: ChromaCache) -> None:
        """The network on a proxy-size copy of frame i's own pixels, sent as a preview (never
        cached), when the full-size input would cost far more: a large colour frame, whose float
        L the network needs first (see core.color.luminance_is_costly). The cached chroma, from
        the full frame, follows and replaces it."""
        with self._lock:
            on = self._film_previews
        h, w = frame.shape[:2]
        if not on or self._one is None or max(h, w) <= PROXY_MAX_SIDE or \
                frame.dtype != np.uint8 or not color.luminance_is_costly(frame):
            return
        try:
            pw, ph = proxy_size(w, h, PROXY_MAX_SIDE)
            small = cv2.resize(frame, (pw, ph), interpolation=cv2.INTER_AREA)
            small.flags.writeable = False
            (ab, _box), = self._one.predict_work([small])
        except Exception:   # no preview; the frame itself follows (and reports its own failure)
            return
        self._emit_preview(i, cache, ab, small, "film")

    def _emit_preview(self, i: int, cache: ChromaCache, ab: np.ndarray, small: np.ndarray,
                      source: str) -> None:
        """Compose the preview here, at the size the viewer draws the film (set_previews), and
        send it: the GUI thread only checks that it is still current and keeps it."""
        reader = self._reader
        if reader is None:
            return
        info = reader.info
        with self._lock:
            shape = self._preview_shape
        try:
            pics = compose_preview(ab, small, film_shape=(int(info.height), int(info.width)),
                                   size=cache.size, shape=shape,
                                   has_color=bool(getattr(info, "has_color", True)))
        except Exception:   # no preview; the frame itself follows
            return
        self.previewed.emit(self._path, cache.key, i, pics, source)

    def _background_batch(self) -> int:
        """Full batches for a fast model; one frame at a time for a slow one (see MAX_BATCH_S)."""
        if self._per_frame_s * self._batch_size <= MAX_BATCH_S:
            return self._batch_size
        return 1

    def _report_progress(self, plan: Plan) -> None:
        lo, hi = max(0, plan.in_point), min(plan.out_point, plan.frame_count - 1)
        total = max(0, hi - lo + 1)
        cache = self._cache
        assert cache is not None  # (step() checked)
        done = sum(1 for i in cache.indices() if lo <= i <= hi)
        self.progress.emit(done, total)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy.emit(busy)

    def _open_film(self, path: str, project: str, fingerprint: dict) -> None:
        from ..core import media
        self._close_reader()
        self._path, self._project, self._fingerprint = path, project, fingerprint
        self._failed.clear()
        try:
            # A small decode cache: this reader mostly walks forward through in/out.
            self._reader = media.open_media(path, cache_bytes=64 << 20)
        except Exception as exc:
            self._reader = None
            self.failed.emit(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)

    def _load_model(self, path: str, size: int) -> None:
        from ..core.ml.inference import Colorizer
        self._failed.clear()
        self._per_frame_s = 0.0
        self._one = self._many = None
        if not path:
            self._keras, self._keras_path = None, ""
            return
        try:
            if path != self._keras_path or self._keras is None:
                self.modelLoading.emit(path)
                from ..core.ml.model import load_generator
                self._keras, self._keras_path = None, ""
                self._keras = load_generator(path)
                self._keras_path = path
            # Two wrappers share one network: batch 1 answers the frame on screen sooner (the
            # Colorizer pads every batch to its size), batch N is cheaper per frame.
            self._one = Colorizer(self._keras, size=size, batch_size=1)
            self._many = Colorizer(self._keras, size=size, batch_size=self._batch_size)
            self._one.model_path = self._many.model_path = _path_or_none(path)
            # The first call traces the network (seconds for a large one): pay it now, not on
            # the first frame the artist is waiting for.
            from ..core.ml.model import input_channels  # 4 for a hint generator
            self._keras.predict_on_batch(
                np.zeros((1, size, size, input_channels(self._keras)), np.float32))
            self.modelLoaded.emit(self._one.model_name, self._one.model_id)
        except Exception as exc:
            self._keras, self._keras_path, self._one, self._many = None, "", None, None
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if os.path.basename(path) not in msg:
                msg = f"{os.path.basename(path)}: {msg}"
            self.modelFailed.emit(msg)

    def _open_cache(self) -> None:
        from ..core.ml.chroma_cache import ChromaCache
        self._cache = None
        if self._one is not None and self._project:
            try:
                self._cache = ChromaCache(self._project, self._one.model_id, self._one.size,
                                          fingerprint=self._fingerprint)
            except Exception as exc:
                self.failed.emit(f"Chroma cache unavailable: {exc}")
        self.cacheChanged.emit(self._cache)

    def _close_reader(self) -> None:
        close_quietly(self._reader)
        self._reader = None

    def cleanup(self) -> None:
        self._close_reader()
        self._keras = self._one = self._many = None


def _path_or_none(path: str):
    from pathlib import Path
    return Path(path) if path else None
