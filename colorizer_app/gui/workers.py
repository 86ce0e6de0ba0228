"""Background workers: a QObject moved to its own QThread that does one unit of work per step.

Why one unit per step instead of a `while True` loop: between two steps the worker thread's event
loop runs, so queued calls from the GUI (a new playhead, another model, stop) are handled within
one unit of work, and the worker never needs locks around its own state.  The GUI only ever talks
to a worker through queued signals or a small lock-guarded "wanted" snapshot, and the worker only
answers through signals, which Qt delivers on the GUI thread.

Every thread started here is registered, so tests can fail when one is left running.
"""
from __future__ import annotations

import threading
import weakref

from PySide6.QtCore import QObject, QThread, Signal, Slot

_threads: "weakref.WeakSet[QThread]" = weakref.WeakSet()


def running_threads() -> list[QThread]:
    """Worker threads started by the app that are still running (tests assert this is empty)."""
    alive = []
    for t in list(_threads):
        try:
            if t.isRunning():
                alive.append(t)
        except RuntimeError:  # the C++ object is already gone: not running
            pass
    return alive


class LoopWorker(QObject):
    """Base for workers: call `kick()` from any thread when there may be work; `step()` runs in
    the worker thread and returns True while more work remains."""

    _kicked = Signal()
    failed = Signal(str)   # one line for the user; the worker keeps running

    def __init__(self) -> None:
        super().__init__()
        self._flag_lock = threading.Lock()
        self._scheduled = False
        self._stopping = threading.Event()
        # Auto connection: queued when kicked from the GUI thread, because this object will live
        # in the worker thread; so `_run` always executes there.
        self._kicked.connect(self._run)

    def kick(self) -> None:
        with self._flag_lock:
            if self._scheduled or self._stopping.is_set():
                return
            self._scheduled = True
        self._kicked.emit()

    def request_stop(self) -> None:
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @Slot()
    def _run(self) -> None:
        with self._flag_lock:
            self._scheduled = False
        if self._stopping.is_set():
            return
        try:
            more = self.step()
        except Exception as exc:  # a bug or bad input must reach the user, never kill the thread
            more = False
            self.failed.emit(f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
        if more:
            self.kick()

    def step(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def cleanup(self) -> None:
        """Runs in the worker thread just before it ends (close readers, free the model)."""


class WorkerThread:
    """Owns one QThread running one LoopWorker; `stop()` ends it and waits."""

    def __init__(self, worker: LoopWorker, name: str):
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName(name)
        worker.moveToThread(self.thread)
        self.thread.finished.connect(worker.cleanup, type=_direct())
        _threads.add(self.thread)
        self.thread.start()

    def stop(self, timeout_ms: int = 10000) -> bool:
        """Stop after the current unit of work (a model batch cannot be interrupted midway)."""
        self.worker.request_stop()
        self.thread.quit()
        ok = self.thread.wait(timeout_ms)
        return bool(ok)


def _direct():
    from PySide6.QtCore import Qt
    return Qt.ConnectionType.DirectConnection
