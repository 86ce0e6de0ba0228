"""Tracked masks: an "until the next cut" correction follows its object through the shot.

The artist paints a correction's base mask on its anchor frame (``lifetime.start``).  For every
later frame of the anchor's shot, the mask is carried along by the same machinery as keyframe
chroma (core.temporal.propagate.MaskTracker): dense DIS flow on the gray film, chained outwards
from the anchor, sampled once through the composed flow, faded out where the chained
forward-backward test says the pixel was not visible on the anchor frame (occluded, entering the
picture).  Nothing crosses a cut: a job walks [anchor, next cut) only.

Tracked masks are derived data (``Correction.tracked``), stored with the key they were computed
from (base mask content + anchor, ``Correction.source_key``); the stack only uses them while that
key is current, so a base edit, an undo or a moved anchor can never show stale masks.  Cuts are
not part of the key: the chain for frame i depends on frames anchor..i only, so moving a cut
just asks for the frames that became part of the shot.

Values are quantised to 1/255 when computed (a soft mask needs no more) and kept as uint8
(``TrackedMask``: a quarter of the memory of float32 crops), so the project saves them as they
are and a reopened project composites bit-identically (core.project.project).

Limits: a chain only loses confidence, so an object that is fully covered (or leaves the frame)
and comes back is not picked up again; the artist paints it again from there (a new "until the
next cut" correction anchored on that frame).

Cost: two DIS flows per frame step (forward and backward, at half resolution) are ~80% of it:
90-150 ms per frame at 1080p on two cores (decoding not counted; the range is machine load),
110-200 ms for three corrections of one shot, which share every flow (``TrackRun`` walks the
jobs of a shot in lockstep).
"""
from __future__ import annotations

import io
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .edits import ShotOf
from .masks import BBox, SparseMask, nonzero_bbox
from .stack import TRACK_VERSION, Correction, CorrectionStack, shot_lookup

if TYPE_CHECKING:  # annotation only: imported where used (tracking is optional work)
    from ..flow import FlowCache
    from ..media import MediaReader
    from ..temporal.propagate import MaskTracker

__all__ = ["TrackJob", "TrackRun", "TrackedMask", "plan_tracking", "ensure_tracked", "shot_stop", "quantized_mask",
           "tracked_to_bytes", "tracked_from_bytes", "tracked_hash", "TRACK_VERSION"]

# A ChainTracker caches composed states (6 MB each at 1080p); a forward walk only ever needs
# the previous one, so keep a handful instead of the defaults meant for scrubbing.
# l_check=False: the confidence is the chained forward-backward (occlusion) test only.  The
# extra photometric check against the anchor suits chroma propagation (the model fills in), but
# on a correction it turns the sub-pixel drift of a long chain on fine texture into a blotchy,
# fading mask (measured: 2% of the mask left in places 13 frames on, object fully visible).
TRACKER_KW: dict[str, Any] = dict(max_states=2, checkpoint_every=2, max_checkpoints=2, l_check=False)
FLOW_ITEMS = 8
_Q = np.float32(255.0)


# ------------------------------------------------------------------------------------------
class TrackedMask(SparseMask):
    """A tracked mask stored as uint8 (its values are on the 1/255 grid): a shot's worth of
    tracked masks takes a quarter of the memory of float32 crops.  The float32 crop that the
    compositor reads (``data``) is made on access and kept for the most recently used masks
    only (a shared, lock-guarded LRU: the display and render threads read masks too).
    Read-only: tracked masks are replaced, never painted (``copy()`` gives a plain mask)."""

    __slots__ = ("q",)

    def __init__(self, shape: tuple[int, int], bbox: Sequence[int] | None = None,
                 q: np.ndarray | None = None):
        super().__init__(shape)
        self.q: np.ndarray | None
        if bbox is not None and q is not None:
            self.bbox, self.q = (int(bbox[0]), int(bbox[1]), int(bbox[2]), int(bbox[3])), q
        else:
            self.q = None

    @property
    def data(self) -> np.ndarray | None:
        return None if self.q is None else _FLOATS.get(self)

    @data.setter
    def data(self, value: np.ndarray | None) -> None:
        if value is not None:
            raise TypeError("tracked masks are read-only")

    def set_patch(self, b: BBox, patch: np.ndarray, trim: bool = True) -> None:
        raise TypeError("tracked masks are read-only: paint a copy")

    def trim(self) -> None:
        pass                                     # stored trimmed already


class _FloatCache:
    def __init__(self, budget: int):
        self.budget, self.used = budget, 0
        self._items: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, m: TrackedMask) -> np.ndarray:
        with self._lock:
            a = self._items.get(m.uid)
            if a is not None:
                self._items.move_to_end(m.uid)
                return a
        assert m.q is not None, "an empty tracked mask has no data"  # TrackedMask.data checks
        a = _dequant(m.q)
        with self._lock:
            if m.uid not in self._items:
                self._items[m.uid] = a
                self.used += a.nbytes
            while self.used > self.budget and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self.used -= old.nbytes
        return a


# float32 crops of tracked masks kept at once (a few shots of large masks at 1080p)
_FLOATS = _FloatCache(256 << 20)


def quantized_mask(full: np.ndarray) -> TrackedMask:
    """Full-frame float mask -> mask cropped to its bbox, values on the 1/255 grid."""
    q = np.clip(full * _Q + np.float32(0.5), 0, 255).astype(np.uint8)
    b = nonzero_bbox(q)
    if b is None:
        return TrackedMask(q.shape)
    return TrackedMask(q.shape, b, q[b[0]:b[2], b[1]:b[3]].copy())


def _dequant(q: np.ndarray) -> np.ndarray:
    # the one conversion from the stored uint8: computed and reloaded masks are bit-identical
    return q.astype(np.float32) / _Q


def shot_stop(anchor: int, shot_of: ShotOf, limit: int) -> int:
    """First frame after ``anchor`` in another shot (or ``limit``): the end of "until the next
    cut".  Shots are contiguous, so a galloping search finds it in O(log shot length) lookups."""
    if anchor >= limit:
        return limit
    if shot_of is not None and not callable(shot_of):
        later = [int(c) for c in shot_of if int(c) > anchor]
        return min([limit] + later)
    look = shot_lookup(shot_of)
    home = look(anchor)
    lo, step = anchor, 1                       # lo: known to be in the anchor's shot
    while True:
        hi = min(lo + step, limit)
        if hi >= limit or look(hi) != home:
            break
        lo, step = hi, step * 2
    if hi >= limit and look(limit - 1) == home:
        return limit
    while hi - lo > 1:                        # invariant: lo in the shot, hi not (or == limit)
        mid = (lo + hi) // 2
        if look(mid) == home:
            lo = mid
        else:
            hi = mid
    return hi


# ------------------------------------------------------------------------------------------
@dataclass
class TrackJob:
    """What one correction needs: its base mask carried from ``anchor`` onto ``frames``."""
    cid: str
    key: tuple[Any, ...]                       # Correction.source_key() the result belongs to
    anchor: int
    frames: list[int]                # sorted, all > anchor and inside the anchor's shot
    mask: np.ndarray = field(repr=False)   # full-frame float32 base mask (a copy)

    @property
    def stop(self) -> int:
        return self.frames[-1] + 1 if self.frames else self.anchor + 1

    def same_as(self, other: TrackJob) -> bool:
        return self.cid == other.cid and self.key == other.key and self.frames == other.frames


def plan_tracking(stack: CorrectionStack, shot_of: ShotOf, n_frames: int,
                  frames: tuple[int, int | None] | None = None,
                  ids: Iterable[str] | None = None, include_hidden: bool = True
                  ) -> list[TrackJob]:
    """Jobs for the tracking corrections whose tracked masks are missing or stale in
    ``frames`` (half-open, default the whole film).  Cheap apart from copying each base mask;
    takes the stack's lock, so it may run on the thread that edits the stack."""
    lo, hi = (0, n_frames) if frames is None else (frames[0], n_frames if frames[1] is None
                                                   else min(frames[1], n_frames))
    wanted = None if ids is None else set(ids)
    jobs = []
    with stack.lock:
        for c in stack:
            if wanted is not None and c.id not in wanted:
                continue
            if not c.tracking or c.mask.is_empty or (not include_hidden and not c.visible):
                continue
            a = int(c.lifetime.start)
            first = max(a + 1, lo)
            if first >= hi:
                continue
            stop = shot_stop(a, shot_of, hi)
            key = c.source_key()
            have = c.tracked if c.track_key == key else {}
            todo = [i for i in range(first, stop) if i not in have]
            if todo:
                jobs.append(TrackJob(c.id, key, a, todo, c.mask.to_full()))
    return jobs


class _Walk:
    __slots__ = ("job", "tracker", "pos", "todo")

    def __init__(self, job: TrackJob, tracker: MaskTracker):
        self.job, self.tracker = job, tracker
        self.pos = job.anchor + 1                 # next frame of the chain
        self.todo = set(job.frames)


class TrackRun:
    """Tracks a changing set of jobs over one FlowCache, one frame per ``step()``.

    Each job walks its chain from its anchor; a step advances the jobs that are furthest behind,
    together, so jobs of the same shot move in lockstep and share every flow, and a job added
    later (the artist just painted) catches up first.  Qt-free, single-threaded: the GUI runs it
    in its tracking worker (adding/removing jobs between steps), a render all at once."""

    def __init__(self, jobs: Sequence[TrackJob] = (), flows: FlowCache | None = None):
        self.flows = flows
        self._walks: dict[str, _Walk] = {}
        self.total = 0                            # frames asked for since the run started
        self.done = 0                             # ... and computed
        for j in jobs:
            self.add(j)

    def add(self, job: TrackJob) -> None:
        """Track ``job`` (replacing any job of the same correction)."""
        from ..temporal.propagate import MaskTracker
        self.remove(job.cid)
        if job.frames:
            assert self.flows is not None, "a TrackRun with jobs needs flows"
            tr = MaskTracker(self.flows, job.mask, job.anchor, (job.anchor, job.stop), **TRACKER_KW)
            self._walks[job.cid] = _Walk(job, tr)
            self.total += len(job.frames)

    def remove(self, cid: str) -> None:
        w = self._walks.pop(cid, None)
        if w is not None:
            self.total -= len(w.todo)             # what it will not compute any more

    def job(self, cid: str) -> TrackJob | None:
        w = self._walks.get(cid)
        return None if w is None else w.job

    @property
    def jobs(self) -> list[TrackJob]:
        return [w.job for w in self._walks.values()]

    @property
    def finished(self) -> bool:
        return not self._walks

    def step(self) -> list[tuple[TrackJob, int, SparseMask]]:
        """Advance the jobs furthest behind by one frame: (job, frame, mask) for those that
        want that frame.  A job leaves the run once its last frame is done."""
        if not self._walks:
            return []
        i = min(w.pos for w in self._walks.values())
        out: list[tuple[TrackJob, int, SparseMask]] = []
        for cid, w in list(self._walks.items()):
            if w.pos != i:
                continue
            if i in w.todo:
                m = quantized_mask(w.tracker.mask(i))
                out.append((w.job, i, m))
                w.todo.discard(i)
                self.done += 1
                if m.is_empty:
                    # Nothing of the mask is left in view (the object left the picture or was
                    # covered): chain confidence is a product along the chain, so it stays 0.
                    out += [(w.job, f, TrackedMask(m.shape)) for f in sorted(w.todo)]
                    self.done += len(w.todo)
                    w.todo.clear()
            else:
                w.tracker.tracker.state(i)        # frame already tracked: only extend the chain
            w.pos = i + 1
            if not w.todo:
                del self._walks[cid]
        return out


def _gray_source(source: str | os.PathLike[str] | Callable[[int], np.ndarray]
                 ) -> tuple[Callable[[int], np.ndarray], int | None, MediaReader | None]:
    if callable(source):
        return source, None, None
    from ..media import open_media
    reader = open_media(os.fspath(source))
    return reader.read, reader.info.frame_count, reader


def ensure_tracked(stack: CorrectionStack,
                   source: str | os.PathLike[str] | Callable[[int], np.ndarray],
                   shot_of: ShotOf = None, frames: tuple[int, int | None] | None = None,
                   *, n_frames: int | None = None,
                   cancel: threading.Event | Callable[[], bool] | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   flows: FlowCache | None = None,
                   include_hidden: bool = False) -> int:
    """(Re)compute the missing or stale tracked masks of the tracking corrections active in
    ``frames`` (half-open; default the whole film).  Returns how many corrections got masks.

    source: the film's path (a reader is opened and closed here) or ``gray(i)`` giving frame i
    (uint8 RGB/gray or float L) with ``n_frames``.  cancel: a threading.Event (or a callable)
    checked between frames; what was computed until then is kept.  progress(done, total) counts
    tracked frames.  Hidden corrections are skipped unless include_hidden (a render does not
    show them)."""
    from ..flow import FlowCache
    gray, count, reader = _gray_source(source)
    try:
        n = n_frames if n_frames is not None else count
        if n is None:
            if frames is None or frames[1] is None:
                raise ValueError("ensure_tracked needs n_frames with a gray(i) source")
            n = int(frames[1])
        jobs = plan_tracking(stack, shot_of, n, frames, include_hidden=include_hidden)
        if not jobs:
            return 0
        run = TrackRun(jobs, flows if flows is not None else FlowCache(gray, max_items=FLOW_ITEMS))
        is_set = getattr(cancel, "is_set", None)   # an Event (or anything with is_set)
        stopped: Callable[[], bool] = (is_set if is_set is not None
                                       else cancel if callable(cancel) else (lambda: False))
        results: dict[str, dict[int, SparseMask]] = {j.cid: {} for j in jobs}
        if progress is not None:
            progress(0, run.total)
        while not run.finished and not stopped():
            for j, i, m in run.step():
                results[j.cid][i] = m
            if progress is not None:
                progress(run.done, run.total)
        updated = 0
        for j in jobs:
            if results[j.cid] and stack.set_tracked(j.cid, j.key, results[j.cid]):
                updated += 1
        return updated
    finally:
        if reader is not None:
            reader.close()


# ------------------------------------------------------------------------------------------
# Saving (core.project.project): one compressed .npz per correction, uint8 masks (exact: see above).
def tracked_to_bytes(c: Correction) -> bytes:
    frames = sorted(c.tracked)
    bboxes = np.zeros((len(frames), 4), np.int64)
    chunks = []
    for k, f in enumerate(frames):
        m = c.tracked[f]
        if m.bbox is not None:
            bboxes[k] = m.bbox
            chunks.append(_crop_q(m).ravel())
    data = np.concatenate(chunks) if chunks else np.zeros(0, np.uint8)
    buf = io.BytesIO()
    assert c.track_key is not None, "tracked masks without their key"  # set_tracked sets both
    np.savez_compressed(buf, key=np.array(json.dumps(list(c.track_key))),
                        shape=np.array(c.shape, np.int64), frames=np.array(frames, np.int64),
                        bboxes=bboxes, data=data)
    return buf.getvalue()


def _crop_q(m: SparseMask) -> np.ndarray:
    """The uint8 crop of a non-empty mask: a tracked mask's own, a painted one's rounded."""
    if isinstance(m, TrackedMask) and m.q is not None:
        return m.q
    assert m.data is not None, "an empty mask has no crop"
    return np.round(m.data * _Q).astype(np.uint8)


def tracked_hash(c: Correction) -> str:
    """Content hash of a correction's tracked masks (names their file in the project)."""
    import hashlib
    h = hashlib.blake2b(digest_size=10)
    h.update(repr((c.shape, c.track_key)).encode())
    for f in sorted(c.tracked):
        m = c.tracked[f]
        h.update(repr((f, m.bbox)).encode())
        if m.bbox is not None:
            q = m.q if isinstance(m, TrackedMask) else m.data
            h.update(np.ascontiguousarray(q).tobytes())
    return h.hexdigest()


def tracked_from_bytes(blob: bytes) -> tuple[tuple[Any, ...], dict[int, SparseMask]]:
    """(key, {frame: mask}) from tracked_to_bytes; ValueError/KeyError if damaged."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        key = tuple(json.loads(str(z["key"])))
        shape = tuple(int(v) for v in z["shape"])
        frames = [int(f) for f in z["frames"]]
        bboxes = z["bboxes"]
        data = z["data"]
    if data.dtype != np.uint8:
        raise ValueError("tracked masks file holds no uint8 masks")
    out: dict[int, SparseMask] = {}
    pos = 0
    for f, b in zip(frames, bboxes):
        b = tuple(int(v) for v in b)
        h, w = b[2] - b[0], b[3] - b[1]
        if h <= 0 or w <= 0:
            out[f] = TrackedMask((shape[0], shape[1]))
            continue
        if pos + h * w > data.size:
            raise ValueError("tracked masks file is truncated")
        out[f] = TrackedMask((shape[0], shape[1]), b, data[pos:pos + h * w].reshape(h, w).copy())
        pos += h * w
    return key, out
