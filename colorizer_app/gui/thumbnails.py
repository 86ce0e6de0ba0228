"""Timeline thumbnails (View ▸ Timeline thumbnails): a strip of small pictures above the timeline.

They are decoded by their own worker at the lowest CPU priority (nice 19), one per step, coarse
to fine (first, middle, quarters, …, up to MAX_THUMBS evenly spaced frames), and the worker
pauses while the artist is at work (input events, a moving playhead) as the proxy builder does:
a low-priority thread that holds the GIL when it is preempted can otherwise stall the GUI.  The
strip draws, for each slot across the visible frame range, the nearest thumbnail decoded so far.
"""
from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QEvent, QObject, QRectF, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication, QWidget

from .workers import LoopWorker, WorkerThread, close_quietly

if TYPE_CHECKING:
    from ..core.media import MediaReader

MAX_THUMBS = 256
THUMB_H = 40            # px, the strip's height
IDLE_S = 0.5            # decoding resumes this long after the artist's last input
_INPUT = frozenset({QEvent.Type.MouseMove, QEvent.Type.MouseButtonPress, QEvent.Type.Wheel,
                    QEvent.Type.KeyPress, QEvent.Type.TabletMove})


def coarse_to_fine(n_frames: int, limit: int = MAX_THUMBS) -> list[int]:
    """Up to `limit` evenly spaced frames, ordered so any prefix covers the film evenly."""
    k = max(1, min(n_frames, limit))
    slots = np.linspace(0, n_frames - 1, k).round().astype(int)
    order, seen, step = [], set(), 1
    while step < 2 * k:
        for j in range(0, k, max(1, k // step)):
            if j not in seen:
                seen.add(j)
                order.append(int(slots[j]))
        step *= 2
    order += [int(slots[j]) for j in range(k) if j not in seen]
    return order


class ThumbnailWorker(LoopWorker):
    thumbReady = Signal(int, int, object)    # generation, frame, uint8 RGB (THUMB_H, w, 3)
    nice = 19

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._request: tuple[int, str | None, int, int, int] | None = None
        self._reader: MediaReader | None = None
        self._todo: list[int] = []
        self._generation = 0
        self._size = (0, 0)
        self.busy_until = 0.0     # written by the GUI thread (a float: atomic under the GIL)

    def set_film(self, generation: int, path: str | None, width: int = 0, height: int = 0,
                 frame_count: int = 0) -> None:
        with self._lock:
            self._request = (generation, path, width, height, frame_count)
        self.kick()

    def step(self) -> bool:
        with self._lock:
            request, self._request = self._request, None
        if request is not None:
            self._open(*request)
        if self._reader is None or not self._todo:
            return False
        rest = self.busy_until - time.monotonic()
        if rest > 0:
            QTimer.singleShot(int(rest * 1000) + 1, self.kick)
            return False
        index = self._todo.pop(0)
        try:
            rgb = self._reader.read(index, copy=False)
        except Exception:          # an undecodable frame: its slot shows a neighbour
            return bool(self._todo)
        import cv2
        small: np.ndarray = cv2.resize(np.ascontiguousarray(rgb[..., :3]), self._size,
                           interpolation=cv2.INTER_AREA)
        if small.dtype != np.uint8:
            small = (small >> 8).astype(np.uint8)
        self.thumbReady.emit(self._generation, index, small)
        return bool(self._todo)

    def _open(self, generation, path, width, height, frame_count) -> None:
        close_quietly(self._reader)
        self._reader, self._todo, self._generation = None, [], generation
        if not path or frame_count <= 0:
            return
        from ..core.media import open_media
        try:
            self._reader = open_media(path, cache_bytes=8 << 20)
        except Exception:
            return
        self._size = (max(8, int(round(THUMB_H * width / max(1, height)))), THUMB_H)
        self._todo = coarse_to_fine(frame_count)

    def cleanup(self) -> None:
        close_quietly(self._reader)
        self._reader = None


class _Activity(QObject):
    def __init__(self, worker: ThumbnailWorker, parent: QObject):
        super().__init__(parent)
        self.worker = worker

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() in _INPUT:
            self.worker.busy_until = time.monotonic() + IDLE_S
        return False


class ThumbnailStrip(QWidget):
    """The strip; `set_enabled(True)` starts the worker for the open film, False stops it."""

    def __init__(self, session, timeline, parent: QWidget | None = None):
        super().__init__(parent)
        self.session, self.timeline = session, timeline
        self.setFixedHeight(THUMB_H + 4)
        self.thumbs: dict[int, QImage] = {}
        self._keys = np.zeros(0, np.int64)
        self._generation = 0
        self._thread: WorkerThread | None = None
        self._filter: _Activity | None = None
        self._repaint = QTimer(self, singleShot=True, interval=100)  # thumbnails arrive in bursts
        self._repaint.timeout.connect(self.update)
        self.setVisible(False)
        session.filmChanged.connect(self._on_film)
        session.frameChanged.connect(self._on_frame)
        timeline.box.sigXRangeChanged.connect(lambda *_: self.update())

    @property
    def worker(self) -> ThumbnailWorker | None:
        return self._thread.worker if self._thread is not None else None

    def set_enabled(self, on: bool) -> None:
        if on and self._thread is None:
            worker = ThumbnailWorker()
            self._thread = WorkerThread(worker, "bento-thumbnails")
            worker.thumbReady.connect(self._on_thumb)
            self._filter = _Activity(worker, self)
            QApplication.instance().installEventFilter(self._filter)
            self.setVisible(True)
            self._on_film(self.session.film)
        elif not on and self._thread is not None:
            self.shutdown()
            self.setVisible(False)

    def shutdown(self) -> bool:
        if self._thread is None:
            return True
        QApplication.instance().removeEventFilter(self._filter)
        ok = self._thread.stop()
        self._thread = self._filter = None
        return ok

    def _on_film(self, film) -> None:
        self._generation += 1
        self.thumbs.clear()
        self._keys = np.zeros(0, np.int64)
        self.update()
        if self.worker is None:
            return
        if film is None:
            self.worker.set_film(self._generation, None)
        else:
            self.worker.set_film(self._generation, film.path, film.width, film.height,
                                 film.frame_count)

    def _on_frame(self, _index: int) -> None:
        if self.worker is not None:      # a moving playhead is the artist at work too
            self.worker.busy_until = time.monotonic() + IDLE_S

    def _on_thumb(self, generation: int, index: int, rgb: np.ndarray) -> None:
        if generation != self._generation:
            return
        h, w = rgb.shape[:2]
        self.thumbs[index] = QImage(rgb.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        self._keys = np.array(sorted(self.thumbs), np.int64)
        if not self._repaint.isActive():
            self._repaint.start()

    # ---- drawing ------------------------------------------------------------------------------
    def _frame_to_x(self):
        """(x of frame f in this widget) as a function, from the timeline's view box."""
        box = self.timeline.box
        (x0, x1), _ = box.viewRange()
        rect = box.sceneBoundingRect()
        view = self.timeline.plot
        left = view.mapFromScene(rect.topLeft()).x() + view.x() - self.x()
        width = max(1.0, rect.width())
        return lambda f: left + (f - x0) / max(1e-9, x1 - x0) * width, left, width, x0, x1

    def paintEvent(self, _ev) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(24, 24, 26))
        if not len(self._keys):
            p.end()
            return
        to_x, left, width, x0, x1 = self._frame_to_x()
        tw = next(iter(self.thumbs.values())).width()
        slots = max(1, int(width // tw))
        for k in range(slots):
            centre = x0 + (k + 0.5) / slots * (x1 - x0)
            j = int(np.searchsorted(self._keys, centre))
            cands = [self._keys[i] for i in (j - 1, j) if 0 <= i < len(self._keys)]
            f = int(min(cands, key=lambda c: abs(c - centre)))
            p.drawImage(QRectF(left + k * tw, 2, tw, THUMB_H), self.thumbs[f])
        p.end()
