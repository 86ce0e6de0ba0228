"""Tracking in the review app: "until the next cut" corrections follow their object.

    artist edit (stroke on the anchor, undo/redo, lifetime or tracking switch, cuts moved)
      -> stack event / cuts hook -> TrackingController plans on the GUI thread (cheap: which
         frames of which correction are missing or stale, core.corrections.tracking.plan_tracking)
      -> TrackingWorker (its own thread, reader and FlowCache) walks the chains frame by frame
      -> batches of tracked masks -> GUI thread: stack.set_tracked (under the stack's lock)
         -> only those frames are recomposed

Why its own reader and FlowCache rather than the temporal worker's: a media reader is not
thread-safe and the temporal worker reads through its own between flow requests, and a
ChainTracker asks for flows in its own order; sharing would need locks around every read.
Flows are cheap to recompute compared with the risk, and tracking happens once per edit.

Results are derived data: applying them is no undo step.  The edit that asked for them is one,
and undoing it makes the masks stale at once (their key no longer matches the base mask), so
the stack falls back to what the base says until the worker has re-tracked.  A result for an
old key that arrives late is refused by the stack.
"""
from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, QTimer, Signal

from ...core.corrections.tracking import FLOW_ITEMS, TrackJob, TrackRun, plan_tracking
from ..workers import LoopWorker, WorkerThread, close_quietly

EMIT_S = 0.25            # hand results to the GUI at most this often (and at each job's end)
READER_CACHE = 32 << 20


class TrackingWorker(LoopWorker):
    tracked = Signal(str, object, object)     # correction id, key, {frame: SparseMask}
    progress = Signal(int, int)               # frames tracked, frames asked (0, 0 = idle)
    nice = 4

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()
        self._ops: list = []                  # ("film", path) | ("job", TrackJob) | ("cancel", cid)
        # worker-thread state
        self._path = ""
        self._reader = None
        self._track: TrackRun | None = None
        self._batch: dict[str, tuple] = {}    # cid -> (key, {frame: mask}) not yet handed over
        self._last_emit = 0.0

    # ---- GUI thread --------------------------------------------------------------------------
    def _op(self, *op) -> None:
        with self._lock:
            self._ops.append(op)
        self.kick()

    def set_film(self, path: str) -> None:
        self._op("film", path)

    def submit(self, job: TrackJob) -> None:
        self._op("job", job)

    def cancel(self, cid: str) -> None:
        self._op("cancel", cid)

    # ---- worker thread -----------------------------------------------------------------------
    def step(self) -> bool:
        with self._lock:
            ops, self._ops = self._ops, []
        for op in ops:
            self._apply(*op)
        run = self._track
        if run is None or run.finished:
            return False
        try:
            out = run.step()
        except Exception as exc:             # unreadable frame, out of memory: drop the work
            self._flush()
            self._track = TrackRun((), run.flows)
            self.progress.emit(0, 0)
            self.failed.emit(f"Tracking stopped: {(str(exc).splitlines() or [type(exc).__name__])[0]}")
            return False
        for job, i, m in out:
            key, masks = self._batch.setdefault(job.cid, (job.key, {}))
            masks[i] = m
        ended = any(run.job(job.cid) is None for job, _, _ in out)
        now = time.monotonic()
        if run.finished or ended or now - self._last_emit > EMIT_S:
            self._flush()
            self._last_emit = now
            self.progress.emit(*((run.done, run.total) if not run.finished else (0, 0)))
        return not run.finished

    def _apply(self, kind: str, arg) -> None:
        if kind == "film":
            self._close()
            self._path = arg                  # opened with the first job: most films need none
            self.progress.emit(0, 0)
        elif kind == "job":
            if self._open():
                assert self._track is not None    # (what _open() returned)
                self._flush(arg.cid)          # what the old job made is still valid for its key
                self._track.add(arg)
        elif self._track is not None:
            self._flush(arg)
            self._track.remove(arg)
            if self._track.finished:
                self.progress.emit(0, 0)

    def _open(self) -> bool:
        if self._track is None and self._path:
            from ...core import media
            from ...core.flow import FlowCache
            try:
                self._reader = media.open_media(self._path, cache_bytes=READER_CACHE)
            except Exception as exc:
                self._path = ""
                self.failed.emit(f"Tracking unavailable: {str(exc).splitlines()[0]}")
                return False
            self._track = TrackRun((), FlowCache(self._reader.read, max_items=FLOW_ITEMS))
        return self._track is not None

    def _flush(self, cid: str | None = None) -> None:
        for c in ([cid] if cid is not None else list(self._batch)):
            item = self._batch.pop(c, None)
            if item is not None and item[1]:
                self.tracked.emit(c, item[0], item[1])

    def _close(self) -> None:
        self._batch.clear()
        self._track = None
        close_quietly(self._reader)
        self._reader = None

    def cleanup(self) -> None:
        self._close()


class TrackingController(QObject):
    """Keeps the tracked masks of the painting controller's stack up to date, in the background."""

    def __init__(self, painting, ctx):
        super().__init__(painting)
        self.ctl, self._ctx = painting, ctx      # ctx.temporal: attached after painting
        self.window, self.session, self.pipeline = ctx.window, ctx.session, ctx.pipeline
        self.stack = None
        self.worker = TrackingWorker()
        self.worker.tracked.connect(self._on_tracked)
        self.worker.progress.connect(self._on_progress)
        self.worker.failed.connect(self._on_failed)
        self._thread = WorkerThread(self.worker, "bento-tracking")
        self._inflight: dict[str, TrackJob] = {}
        self._dirty: set | None = set()     # correction ids to plan; None = all
        self._due = False
        self._closed = False
        self.progress = (0, 0)
        self.session.filmChanged.connect(self._on_film)
        self._on_film(self.session.film)

    # ---- inputs ------------------------------------------------------------------------------
    def set_stack(self, stack) -> None:
        self._cancel_all()
        self.stack = stack
        if stack is not None:
            stack.subscribe(lambda ev, cid, s=stack: self._on_event(s, ev, cid))
        self.request()

    def _on_film(self, film) -> None:
        self._inflight.clear()
        self.worker.set_film(film.path if film is not None else "")
        self.request()

    def _on_event(self, stack, event: str, cid) -> None:
        # called with the stack's lock held: only note what to plan
        if stack is not self.stack or event in ("tracked", "moved"):
            return
        self.request(cid)

    def request(self, cid: str | None = None) -> None:
        """Plan (re)tracking of one correction, or of all (cuts changed, another stack)."""
        if cid is None or self._dirty is None:
            self._dirty = None
        else:
            self._dirty.add(cid)
        if not self._due:
            self._due = True
            QTimer.singleShot(0, self._plan)

    # ---- planning (GUI thread) -----------------------------------------------------------------
    def _cuts_pending(self) -> bool:
        # until shot detection ends, "until the next cut" would run to the end of the film
        t = self._ctx.temporal
        return t is not None and t.detecting

    def _plan(self) -> None:
        self._due = False
        film, stack = self.session.film, self.stack
        if self._closed or film is None or stack is None:
            return
        if self.ctl.painting or self._cuts_pending():
            self._due = True                   # after the stroke / the scan: the edit is not final
            QTimer.singleShot(100, self._plan)
            return
        ids, self._dirty = self._dirty, set()
        jobs = plan_tracking(stack, self.ctl.shot_of, film.frame_count, ids=ids)
        wanted = {j.cid for j in jobs}
        for cid in list(self._inflight):
            if (ids is None or cid in ids) and cid not in wanted:
                del self._inflight[cid]        # removed, tracking off, nothing left: stop it
                self.worker.cancel(cid)
        for j in jobs:
            cur = self._inflight.get(j.cid)
            # already being tracked for this base mask (its first frames may have arrived)
            if cur is not None and cur.key == j.key and set(j.frames) <= set(cur.frames):
                continue
            self._inflight[j.cid] = j
            self.worker.submit(j)
        if jobs and self.progress == (0, 0):
            self._show(0, sum(len(j.frames) for j in jobs))

    def _cancel_all(self) -> None:
        for cid in list(self._inflight):
            self.worker.cancel(cid)
        self._inflight.clear()

    # ---- results (GUI thread) ------------------------------------------------------------------
    def _on_tracked(self, cid: str, key, masks: dict) -> None:
        stack = self.stack
        if stack is None or not stack.set_tracked(cid, key, masks):
            return                             # an older key: the stack has moved on
        cur = self._inflight.get(cid)
        if cur is not None and cur.key == key and max(masks) >= cur.frames[-1]:
            del self._inflight[cid]
        self.pipeline.recompose_frames(sorted(masks))
        if self.ctl.corrections_panel.ghost_box.isChecked():
            self.ctl.update_ghost()

    def _on_failed(self, message: str) -> None:
        # the worker dropped its jobs: the next edit (or cut change) asks again
        self._inflight.clear()
        self._show(0, 0)
        self.window.statusBar().showMessage(message, 8000)

    def _on_progress(self, done: int, total: int) -> None:
        self._show(done, total)

    def _show(self, done: int, total: int) -> None:
        self.progress = (done, total)
        busy = total > 0 and done < total
        text = f"Tracking… {100 * done // total} %" if busy else ""
        self.ctl.corrections_panel.set_tracking_text(text)
        if busy:
            self.window.statusBar().showMessage(f"{text} ({done}/{total} frames)", 2000)

    @property
    def busy(self) -> bool:
        return bool(self._inflight) or self.progress != (0, 0)

    def shutdown(self) -> bool:
        if self._closed:
            return True
        self._closed = True
        return self._thread.stop()
