"""The hint worker: recolours a frame with its hints in its own thread, newest edit wins.

The GUI hands it (frame, version, hints, film frame) after every hint edit and during a drag;
only the newest request is kept, so a burst of edits costs one network run for the last one.
A result carries the version it was made for: the GUI drops it when the hints have moved on.
`HintResults` holds the newest result per frame for the display worker's compose hook.

Frames off screen whose hints changed (hints copied there, an undo on another frame) are
recoloured in the background too, when no edit is waiting: the worker reads their film pixels
itself, so such a frame becomes its shot's keyframe without the artist visiting it.
"""
from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Signal

from ...core import color, compose
from ..workers import LoopWorker

if TYPE_CHECKING:
    from ...core.media import MediaReader
    from ...core.ml.inference import Colorizer


class HintResults:
    """frame → (version, ab at working size, Letterbox): what the compose hook paints."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[int, tuple[int, np.ndarray, color.Letterbox]] = {}

    def put(self, frame: int, version: int, ab_work: np.ndarray, box) -> None:
        with self._lock:
            self._items[frame] = (version, ab_work, box)

    def get(self, frame: int):
        with self._lock:
            return self._items.get(frame)

    def drop(self, frame: int) -> bool:
        with self._lock:
            return self._items.pop(frame, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def frames(self) -> list[int]:
        with self._lock:
            return sorted(self._items)

    def affects(self, index: int) -> bool:
        with self._lock:
            return index in self._items

    def hook(self, index: int, ab: np.ndarray, L: np.ndarray) -> np.ndarray:
        """compose.ChromaOverride (display worker thread): the network with this frame's hints,
        upsampled against the frame's own L exactly as `colorizer render` does."""
        r = self.get(index)
        if r is None or r[2].full_h != ab.shape[0] or r[2].full_w != ab.shape[1]:
            return ab
        return compose.model_chroma(r[1], r[2], L)


class HintWorker(LoopWorker):
    recoloured = Signal(int, int, object, object, float)   # frame, version, ab_work, box, seconds
    recolouredAside = Signal(int, object, object, object, object)  # frame, hints, ab, box, source
    nice = 0            # the artist is waiting for this one: no lower priority than the GUI's

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._request: tuple | None = None
        self._model: tuple | None = None         # (keras model, working size), pending
        self._colorizer: Colorizer | None = None
        self.last_s = 0.0
        self._film: str | None = None            # pending film path ("" : none)
        self._aside: dict[int, tuple] = {}       # off-screen frame -> its hints (GUI order)
        self._reader: MediaReader | None = None

    # ---- GUI thread ----------------------------------------------------------------------
    def set_model(self, keras_model, size: int) -> None:
        with self._lock:
            self._model = (keras_model, int(size))
            self._request = None
        self.kick()

    def set_film(self, path: str | None) -> None:
        """The film whose off-screen frames `request_aside` reads (None: no film)."""
        with self._lock:
            self._film = path or ""
            self._aside.clear()
        self.kick()

    def request_aside(self, frame: int, hints: list) -> None:
        """Recolour an off-screen `frame` with `hints` when no edit is waiting: the result comes
        with the film pixels read for it (recolouredAside). A newer request for the frame
        replaces this one."""
        with self._lock:
            self._aside[int(frame)] = tuple(hints)
        self.kick()

    def request(self, frame: int, version: int, hints: list, source: np.ndarray) -> None:
        """Recolour `frame` (its film pixels `source`) with `hints`; replaces any older request."""
        with self._lock:
            self._request = (int(frame), int(version), list(hints), source)
        self.kick()

    # ---- worker thread -------------------------------------------------------------------
    def step(self) -> bool:
        with self._lock:
            model, self._model = self._model, None
            req, self._request = self._request, None
            film, self._film = self._film, None
            aside = None
            if req is None and self._aside:
                aside = self._aside.popitem()
        if film is not None:
            self._open(film)
        if model is not None:
            self._colorizer = None
            if model[0] is not None:
                from ...core.ml.inference import Colorizer
                self._colorizer = Colorizer(model[0], size=model[1], batch_size=1)
                if self._colorizer.takes_hints:   # trace now, not on the artist's first click
                    from ...core.ml.hints import Hint
                    self._colorizer.predict_work([np.zeros((8, 8, 3), np.uint8)], [[Hint(4, 4, 0.0, 0.0, 1)]])
        if self._colorizer is None or not self._colorizer.takes_hints:
            return False
        if req is None:
            return self._recolour_aside(aside) if aside is not None else False
        frame, version, hints, source = req
        t0 = time.perf_counter()
        (ab_work, box), = self._colorizer.predict_work([source], [hints])
        self.last_s = time.perf_counter() - t0
        self.recoloured.emit(frame, version, ab_work, box, self.last_s)
        with self._lock:
            return self._request is not None

    def _recolour_aside(self, item: tuple[int, tuple]) -> bool:
        frame, hints = item
        colorizer = self._colorizer
        if self._reader is None or colorizer is None:
            return False
        try:
            source = self._reader.read(frame)
            (ab_work, box), = colorizer.predict_work([source], [list(hints)])
        except Exception as exc:       # noqa: BLE001 (one line to the status bar; hints stay)
            self.failed.emit(f"Hints of frame {frame} not applied: "
                             f"{(str(exc).splitlines() or [type(exc).__name__])[0]}")
        else:
            self.recolouredAside.emit(frame, hints, ab_work, box, source)
        with self._lock:
            return bool(self._aside) or self._request is not None

    def _open(self, path: str) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if path:
            from ...core.media import open_media
            try:
                self._reader = open_media(path, cache_bytes=16 << 20)
            except Exception as exc:   # noqa: BLE001 (the viewer says what is wrong with the film)
                self.failed.emit(f"Hints off screen unavailable: {str(exc).splitlines()[0]}")

    def cleanup(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._colorizer = None
