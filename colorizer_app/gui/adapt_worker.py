"""Learn this film in the background: core.ml.adapt in its own QThread at the lowest CPU priority.

The worker loads its own copy of the base generator (the colorize worker's model lives in another
thread), reads the keyframes' gray frames from the film, adapts, and writes the result atomically
into the film's sidecar folder (core.ml.adapt.adapted_model_path). Progress arrives as signals on
the GUI thread; cancel() is a flag the training loop reads between steps, and a cancelled run
writes nothing. The artist keeps painting meanwhile: nice 19 on this thread (and on the threads
TensorFlow starts from it) lets the GUI, decoding and colorizing win every contended core.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from .workers import nice_this_thread, started_threads


@dataclass
class AdaptJob:
    film: str                       # the film's path (frames are read from it)
    model_path: str                 # the base generator
    keys: dict                      # {frame: (ab (H, W, 2), mask (H, W) or None)} at the film's size
    minutes: float = 3.0
    size: int = 256
    max_steps: int | None = None


class AdaptWorker(QObject):
    progressed = Signal(object)      # core.ml.adapt.AdaptProgress
    finished = Signal(str, object)   # the adapted model's path, the AdaptResult (model dropped)
    cancelled = Signal()
    failed = Signal(str)             # one line for the artist

    nice = 19

    def __init__(self) -> None:
        super().__init__()
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @Slot(object)
    def run(self, job: AdaptJob) -> None:
        nice_this_thread(self.nice)
        from ..core.media import open_media
        from ..core.ml.adapt import (
            AdaptCancelled,
            AdaptConfig,
            adapt,
            adapted_model_path,
            save_adapted,
        )
        from ..core.ml.adapt_data import AdaptError, Keyframe, film_L
        from ..core.ml.model import ModelError, load_generator

        try:
            base = load_generator(job.model_path)
            with open_media(job.film) as reader:
                keyframes = [Keyframe(k, film_L(reader.read(k)), np.asarray(ab, np.float32), mask)
                             for k, (ab, mask) in sorted(job.keys.items())]
            cfg = AdaptConfig(minutes=job.minutes, max_steps=job.max_steps, size=job.size)
            result = adapt(base, keyframes, cfg, progress=self.progressed.emit, cancel=self._cancel.is_set)
            if self._cancel.is_set():
                raise AdaptCancelled("cancelled")
            path = save_adapted(result.model, adapted_model_path(job.film, result.model))
        except AdaptCancelled:
            self.cancelled.emit()
            return
        except (AdaptError, ModelError, OSError, ValueError) as exc:
            self.failed.emit(str(exc).splitlines()[0][:300])
            return
        except Exception as exc:  # a bug must reach the artist, never kill the thread silently
            self.failed.emit(f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
            return
        result.model = None
        self.finished.emit(str(path), result)


class AdaptRunner(QObject):
    """Owns one AdaptWorker and its thread for one run; `start()` then `stop()` (waits)."""

    _go = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("learn-film")
        self.worker = AdaptWorker()
        self.worker.moveToThread(self.thread)
        self._go.connect(self.worker.run)
        started_threads.add(self.thread)

    def start(self, job: AdaptJob) -> None:
        self.thread.start(QThread.Priority.LowestPriority)
        self._go.emit(job)

    def cancel(self) -> None:
        self.worker.cancel()

    def stop(self, wait_ms: int = 120_000) -> None:
        self.worker.cancel()
        self.thread.quit()
        self.thread.wait(wait_ms)
