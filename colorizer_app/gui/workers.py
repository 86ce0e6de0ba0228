"""Background workers: a QObject moved to its own QThread that does one unit of work per step.

Why one unit per step instead of a `while True` loop: between two steps the worker thread's event
loop runs, so queued calls from the GUI (a new playhead, another model, stop) are handled within
one unit of work, and the worker never needs locks around its own state.  The GUI only ever talks
to a worker through queued signals or a small lock-guarded "wanted" snapshot, and the worker only
answers through signals, which Qt delivers on the GUI thread.

Every thread started here is registered, so tests can fail when one is left running.
"""
from __future__ import annotations

import os
import threading
import weakref

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

started_threads: weakref.WeakSet[QThread] = weakref.WeakSet()

# Background work (curves, shot detection, colorizing frames off screen) waits this long after
# the artist's last edit, so the edit's own picture gets the CPU.
EDIT_QUIET_S = 1.5


def running_threads() -> list[QThread]:
    """Worker threads started by the app that are still running (tests assert this is empty)."""
    alive = []
    for t in list(started_threads):
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

    # Linux "nice" for the worker thread: above 0 the kernel prefers the GUI thread whenever both
    # want a core.  On a two-core laptop this is what keeps scrubbing smooth while the network
    # runs (QThread priorities are ignored under Linux's default scheduler; nice is per thread).
    nice = 0

    def __init__(self) -> None:
        super().__init__()
        self._niced = False
        self._flag_lock = threading.Lock()
        self._scheduled = False
        self._stopping = threading.Event()
        # Always queued, also when the worker kicks itself: `_run` then returns to the event loop
        # between steps (so queued requests are seen) instead of recursing step after step.
        self._kicked.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def kick(self) -> None:
        with self._flag_lock:
            if self._scheduled or self._stopping.is_set():
                return
            self._scheduled = True
        self._kicked.emit()

    def kick_in(self, seconds: float) -> None:
        """(worker thread) Look for work again after `seconds` (work waiting for a quiet moment)."""
        QTimer.singleShot(int(seconds * 1000) + 1, self.kick)

    def request_stop(self) -> None:
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @Slot()
    def _run(self) -> None:
        if not self._niced:
            self._niced = True
            nice_this_thread(self.nice)
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


class _PythonThread(QThread):
    """A QThread whose event loop runs inside a Python `run()`.

    Why: with the default C++ run(), PySide creates and destroys a Python thread state around
    every queued slot call.  TensorFlow's pybind11 layer caches the thread state per OS thread,
    and after the first slot returns that cache points at freed memory; the next time TF
    re-acquires the GIL inside a traced call, the process segfaults (seen reproducibly with a
    full-size generator).  Running exec() from Python keeps one thread state alive for the
    thread's whole life, which is what every pybind11 extension expects.
    """

    def run(self) -> None:
        self.exec()


class WorkerThread:
    """Owns one QThread running one LoopWorker; `stop()` ends it and waits."""

    def __init__(self, worker: LoopWorker, name: str):
        self.worker = worker
        self.thread = _PythonThread()
        self.thread.setObjectName(name)
        worker.moveToThread(self.thread)
        self.thread.finished.connect(worker.cleanup, type=_direct())
        started_threads.add(self.thread)
        self.thread.start()

    def stop(self, timeout_ms: int = 10000) -> bool:
        """Stop after the current unit of work (a model batch cannot be interrupted midway)."""
        self.worker.request_stop()
        self.thread.quit()
        ok = self.thread.wait(timeout_ms)
        return bool(ok)


def nice_this_thread(nice: int) -> None:
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        # On Linux a thread is a task: PRIO_PROCESS with its native id renices only this thread
        # (and threads it starts later, such as a thread pool created on first use).
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)
    except (OSError, AttributeError):
        pass


def _direct():
    return Qt.ConnectionType.DirectConnection


def close_quietly(reader) -> None:
    """Close a media reader on a worker's way out; a failure to close must not mask the reason."""
    if reader is not None:
        try:
            reader.close()
        except Exception:
            pass
