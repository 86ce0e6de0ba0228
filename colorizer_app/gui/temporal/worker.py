"""Temporal worker: shot detection, temporal chroma for the frames in view, timeline curves.

One LoopWorker in its own thread (see workers.py).  Each step does one unit, most urgent first:

1. the temporal chroma (deflicker / keyframe propagation) of the next wanted frame that has
   none for the current state, into the ResultStore, then `resultsReady` (the GUI recomposes);
2. a chunk of shot detection: frames are read in order, shrunk to small grays and pushed into a
   core ShotScanner (~16 bytes kept per frame), so memory stays flat for any film length;
3. one frame of the curves: flicker (warp error of the shown result against the next frame)
   and colourfulness, for colorized frames, nearest to the playhead first.

Steps 2 and 3 are analysis nobody waits for: they wait while the film plays (`set_playing`), as
a review tool's background jobs yield to playback.  A curve frame costs a flow and a full-size
compose, about what composing two playback frames does, and on two cores that took the time
playback needed (a third of the frames dropped).  Step 1 goes on: playback shows its result.
They also wait until EDIT_QUIET_S after the artist's last edit (`invalidate_curves`, at every
undo step): each edit made the curves stale, and recomputing them at once took a third of the
CPU while the artist waited for the edit's own picture (hint edits: 2.3 of 6.8 s).

The GUI only calls the setters (lock-guarded, applied at the start of a step).
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING, cast

import cv2
import numpy as np
from PySide6.QtCore import Signal

from ...core import metrics
from ...core.temporal.curves import flicker_value
from ...core.temporal.engine import MissingChroma, TemporalEngine
from ...core.temporal.results import ResultStore
from ...core.temporal.shots import ShotList, ShotScanner
from ..workers import EDIT_QUIET_S, LoopWorker

if TYPE_CHECKING:
    from ...core.media import MediaReader
    from ...core.ml.chroma_cache import ChromaCache

SCAN_CHUNK = 12           # frames per detection step
SCAN_WIDTH = 160          # width of the grays the scanner sees
CURVE_EMIT_S = 0.3


def _scan_frames(reader: MediaReader, n: int) -> Iterator[tuple[int, np.ndarray]]:
    """The film's frames in order, at most SCAN_WIDTH wide: scaled as the decoder converts them
    (core.media read_scaled), not converted at full size and then shrunk. The full 1080p
    conversion was most of the scan's cost, and the scan runs while the artist starts work."""
    info = reader.info
    w = min(info.width, SCAN_WIDTH)
    size = (w, max(8, round(info.height * w / max(1, info.width))))
    for i in range(n):
        yield i, reader.read_scaled(i, size)


class TemporalWorker(LoopWorker):
    cutsDetected = Signal(int, list)        # film generation, cuts
    scanProgress = Signal(int, int)         # frames scanned, frames
    resultsReady = Signal(list)             # frames whose temporal chroma was (re)computed
    curvesReady = Signal(object, object)    # flicker, colourfulness (float arrays, nan = none)
    nice = 4

    def __init__(self, store: ResultStore):
        super().__init__()
        self.store = store
        self._lock = threading.Lock()
        self._pending: dict = {}
        self._wanted: list[int] = []
        self._new_colorized: set[int] = set()
        self._playing = False
        self._quiet_until = 0.0                 # monotonic time the last edit's quiet ends
        # worker-thread state
        self._gen = 0
        self._engine: TemporalEngine | None = None
        self._reader: MediaReader | None = None
        # (reader, iterator, scanner, n) while detecting
        self._scan: tuple[MediaReader, Iterator[tuple[int, np.ndarray]], ShotScanner, int] | None = None
        self._version = 0
        self._post = None
        self._failed: set[int] = set()
        self._pics: OrderedDict = OrderedDict()
        self._flicker = np.zeros(0)
        self._colour = np.zeros(0)
        self._done = np.zeros(0, bool)
        self._curves_dirty = False
        self._last_emit = 0.0

    # ---- GUI thread --------------------------------------------------------------------------
    def _request(self, **kw) -> None:
        with self._lock:
            self._pending.update(kw)
        self.kick()

    def set_film(self, generation: int, path: str, n_frames: int, detect: bool) -> None:
        self._request(film=(generation, path, n_frames, detect), chroma=None, post=None)

    def set_chroma(self, cache) -> None:
        self._request(chroma=cache)

    def set_state(self, version: int, shots: ShotList, keys: dict, strength: float) -> None:
        self._request(state=(version, shots, dict(keys), float(strength)))

    def set_post(self, post) -> None:
        self._request(post=post)

    def invalidate_curves(self) -> None:
        """An edit changed the picture: the curves are stale, and they wait for a quiet moment."""
        with self._lock:
            self._quiet_until = time.monotonic() + EDIT_QUIET_S
        self._request(curves_stale=True)

    def postpone(self) -> None:
        """The artist is in the middle of an edit that is not an undo step yet (a hint being
        dragged): curves and shot detection wait EDIT_QUIET_S from now. Marks nothing stale and
        wakes nothing: a step already waiting sees the later end and waits on."""
        with self._lock:
            self._quiet_until = max(self._quiet_until, time.monotonic() + EDIT_QUIET_S)

    def set_wanted(self, frames: list[int]) -> None:
        with self._lock:
            self._wanted = list(frames)
        self.kick()

    def set_playing(self, playing: bool) -> None:
        """While the film plays, shot detection and curves wait (see the module docstring)."""
        with self._lock:
            self._playing = bool(playing)
        self.kick()

    def colorized(self, indices) -> None:
        with self._lock:
            self._new_colorized.update(int(i) for i in indices)
        self.kick()

    # ---- worker thread -----------------------------------------------------------------------
    def step(self) -> bool:
        with self._lock:
            pending, self._pending = self._pending, {}
            wanted = list(self._wanted)
            new, self._new_colorized = self._new_colorized, set()
            playing = self._playing
            quiet_in = self._quiet_until - time.monotonic()
        self._apply(pending, new)
        eng = self._engine
        if eng is None:
            return False
        if eng.active and eng.chroma is not None:
            for i in wanted:
                if 0 <= i < eng.n and i not in self._failed and eng.has(i) \
                        and not self.store.fresh(i):
                    self._compute(i)
                    return True
        if playing:
            return False               # set_playing(False) kicks the rest
        if quiet_in > 0:               # the artist is editing: look again when it is quiet
            self.kick_in(quiet_in)
            return False
        if self._scan is not None:
            self._scan_chunk()
            return True
        return self._curve_step(wanted[0] if wanted else 0)

    def _apply(self, p: dict, new: set) -> None:
        if "film" in p:
            self._open(*p["film"])
        eng = self._engine
        if eng is None:
            return
        stale_curves = bool(p.get("curves_stale"))
        if "chroma" in p:
            eng.set_chroma(p["chroma"])
            self.store.clear()
            self._failed.clear()
            self._flicker[:] = np.nan
            self._colour[:] = np.nan
            self._done[:] = False
            stale_curves = True
        if "post" in p:
            self._post = p["post"]
            stale_curves = True
        if "state" in p:
            version, shots, keys, strength = p["state"]
            eng.set_shots(shots)
            eng.set_keyframes(keys)
            eng.set_strength(strength)
            eng.invalidate()
            self._version = version
            self.store.set_version(version)
            self._failed.clear()
            stale_curves = True
        if new:
            self._failed.difference_update(new)
            if eng.strength > 0:
                # results made while deflicker neighbours were missing: redo those near them
                near = [i for i in self.store.incomplete()
                        if any(abs(i - j) <= eng.radius for j in new)]
                if near:
                    self.store.drop(near)
                    eng.invalidate()
        if stale_curves:
            self._done[:] = False
            self._pics.clear()

    def _open(self, generation: int, path: str, n: int, detect: bool) -> None:
        from ...core import media
        self._close()
        self._gen = generation
        self.store.clear()
        self._failed.clear()
        self._flicker = np.full(n, np.nan)
        self._colour = np.full(n, np.nan)
        self._done = np.zeros(n, bool)
        if not path:
            self._engine = None
            return
        try:
            self._reader = reader = media.open_media(path, cache_bytes=96 << 20)
            self._engine = TemporalEngine(reader.read, n)
            if detect:
                scan_reader = media.open_media(path, cache_bytes=8 << 20)
                self._scan = (scan_reader, _scan_frames(scan_reader, n), ShotScanner(), n)
        except Exception as exc:
            self._engine = None
            self.failed.emit(f"Temporal tools unavailable: {str(exc).splitlines()[0]}")

    def _compute(self, i: int) -> None:
        eng = self._engine
        assert eng is not None  # (step() checked)
        try:
            ab, complete = eng.result(i)
        except MissingChroma:
            return
        except Exception as exc:
            self._failed.add(i)
            self.failed.emit(f"Temporal chroma of frame {i} failed: "
                             f"{(str(exc).splitlines() or [type(exc).__name__])[0]}")
            return
        self.store.put(i, self._version, ab, complete)
        self.resultsReady.emit([i])

    def _scan_chunk(self) -> None:
        assert self._scan is not None  # (step() checked)
        reader, it, scanner, n = self._scan
        try:
            for _ in range(SCAN_CHUNK):
                _i, frame = next(it)
                scanner.push(cv2.cvtColor(np.ascontiguousarray(frame[..., :3]), cv2.COLOR_RGB2GRAY))
            self.scanProgress.emit(len(scanner), n)
            return
        except StopIteration:
            pass
        except Exception as exc:        # a truncated film: the rest is part of the last shot
            self.failed.emit(f"Shot detection stopped at frame {len(scanner)}: "
                             f"{(str(exc).splitlines() or [type(exc).__name__])[0]}")
        self._scan = None
        try:
            reader.close()
        except Exception:
            pass
        self.scanProgress.emit(n, n)
        self.cutsDetected.emit(self._gen, [int(c) for c in scanner.cuts()])

    # ---- curves ------------------------------------------------------------------------------
    def _picture(self, t: int) -> np.ndarray:
        p = self._pics.get(t)
        if p is None:
            assert self._engine is not None  # (step() checked)
            p = self._pics[t] = self._engine.picture(t, self._post)
            while len(self._pics) > 3:
                self._pics.popitem(last=False)
        return p

    def _curve_step(self, playhead: int) -> bool:
        eng = self._engine
        assert eng is not None  # (step() checked)
        if eng.chroma is None or eng.n < 1:
            return self._emit_curves(force=True)
        n = eng.n
        has = cast("ChromaCache", eng.chroma).mask(n)   # (the GUI gives the engine its ChromaCache)
        nxt_ok = np.ones(n, bool)
        nxt_ok[:-1] = has[1:]
        cuts = np.asarray(eng.shots.cuts, np.int64)
        if cuts.size:
            nxt_ok[cuts - 1] = True
        cand = np.flatnonzero(has & nxt_ok & ~self._done)
        if not cand.size:
            return self._emit_curves(force=True)
        t = int(cand[np.argmin(np.abs(cand - playhead))])
        try:
            rgb = self._picture(t)
            self._colour[t] = metrics.colourfulness(rgb)
            if t + 1 < n and eng.shots.same_shot(t, t + 1):
                self._flicker[t] = flicker_value(eng.flows, t, rgb, self._picture(t + 1))
            else:
                self._flicker[t] = np.nan
        except MissingChroma:
            return True
        except Exception as exc:
            self.failed.emit(f"Curves at frame {t} failed: "
                             f"{(str(exc).splitlines() or [type(exc).__name__])[0]}")
        self._done[t] = True
        self._curves_dirty = True
        self._emit_curves(force=cand.size == 1)
        return True

    def _emit_curves(self, force: bool = False) -> bool:
        now = time.monotonic()
        if self._curves_dirty and (force or now - self._last_emit > CURVE_EMIT_S):
            self._curves_dirty = False
            self._last_emit = now
            self.curvesReady.emit(self._flicker.copy(), self._colour.copy())
        return False

    def _close(self) -> None:
        for r in (self._reader, self._scan[0] if self._scan else None):
            if r is not None:
                try:
                    r.close()
                except Exception:
                    pass
        self._reader, self._scan, self._engine = None, None, None
        self._pics.clear()

    def cleanup(self) -> None:
        self._close()
