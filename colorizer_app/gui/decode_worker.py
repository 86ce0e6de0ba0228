"""Display worker: opens the film, decodes frames and composes what the viewer shows, off the GUI
thread.

It keeps no queue.  The GUI replaces a short "wanted" list (playhead first, then a few frames in
the direction of travel) every time the playhead moves; the worker takes the head of the current
list each step.  Frames the artist scrubbed past were simply replaced, so they are never decoded.

With a display proxy (core.media.proxy, built by the proxy worker) a playhead frame that would cost the
codec a long decode is shown from the proxy first.  After a single jump the film's frame is
decoded right after; while the playhead keeps moving (a drag, fast shuttle) that decode waits
until it has rested SETTLE_S, so scrubbing never waits on the codec.
"""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QTimer, Signal

from ..core import compose
from ..core.media.frames import SharedFrames
from . import display_compose
from .workers import LoopWorker, close_quietly, nice_this_thread

if TYPE_CHECKING:
    from ..core.color import Letterbox
    from ..core.media import MediaInfo, MediaReader
    from .preview import PreviewGate

PROXY_MIN_COST = 4   # pictures to decode: below this the codec is about as quick as the proxy
SETTLE_S = 0.15      # moves closer than this are scrubbing: full decodes wait for this much rest
REMADE_AFTER_S = 2.0  # a playback picture not received by the GUI after this is made again


@dataclass(frozen=True)
class Want:
    index: int
    source: bool       # decode the picture (source + gray)
    color: bool        # compose the colorized picture (needs chroma in the cache)
    playhead: bool = False  # the frame on screen: done in one step; prefetches take three
    gen: tuple = ()    # the pipeline's compose generation of the frame, echoed in the result
    display: tuple | None = None  # (h, w): compose display-size pictures for playback instead


@dataclass
class FrameResult:
    """One step's output, merged into the GUI's BundleCache."""

    generation: int             # which opened film it belongs to (stale ones are dropped)
    index: int
    source: np.ndarray | None = None
    gray: np.ndarray | None = None
    colorized: np.ndarray | None = None
    chroma_key: str | None = None
    error: str | None = None
    proxy: bool = False         # source/gray are the display proxy scaled up, not the film's pixels
    gen: tuple = ()             # Want.gen: a result composed before a later change is not current
    display: display_compose.DisplayPictures | None = None  # for Want.display
    made_for: tuple | None = None   # a playback result's key: the GUI hands it back (received)


class DisplayWorker(LoopWorker):
    filmOpened = Signal(int, object, str)   # generation, core.media.MediaInfo, project dir
    filmFailed = Signal(int, str)           # generation, message
    frameDecoded = Signal(object)           # FrameResult
    nice = 2   # decoding yields to the GUI thread, and the network yields to decoding

    def __init__(self, shared: SharedFrames):
        super().__init__()
        self._shared = shared
        self._lock = threading.Lock()
        self._open_request: tuple[int, str] | None = None
        self._wanted: list[Want] = []
        self._chroma = None                 # ChromaCache or None (set from the GUI thread)
        self._override = None               # corrections hook, see compose.ChromaOverride
        self._affects = None                # index -> does the override change that frame?
        self._reader: MediaReader | None = None
        self._generation = 0
        self._path = ""
        self._info: MediaInfo | None = None
        self._box: Letterbox | None = None
        self._box_size = 0
        self._proxy = None                  # core.media.proxy.ProxyStore or None
        self._proxied = -1                  # the playhead frame last shown from the proxy
        self.preview_gate: PreviewGate | None = None   # set by the pipeline (gui/preview.py)
        self._moved_at = self._moved_before = -1e9   # when the playhead last moved, and before
        # Playback composes on two threads: this one and a helper. One thread tops out near the
        # film's rate at 1080p (decode + a display-size compose ~37 ms a frame on this 2-core
        # machine), leaving the look-ahead nothing to gain on while the GUI thread draws.
        self._helper: ThreadPoolExecutor | None = None
        self._made: dict[tuple, float] = {}  # playback pictures made lately (_made_lately)
        self._in_helper: Future | None = None

    # ---- called from the GUI thread ----------------------------------------------------------
    def open_film(self, generation: int, path: str) -> None:
        with self._lock:
            self._open_request = (generation, str(path))
            self._wanted = []
            self._made.clear()
        self.kick()

    def set_wanted(self, wanted: list[Want]) -> None:
        with self._lock:
            old = next((w.index for w in self._wanted if w.playhead), None)
            self._wanted = list(wanted)
            new = next((w.index for w in self._wanted if w.playhead), old)
            if new != old:
                self._moved_before, self._moved_at = self._moved_at, _now()
        self.kick()

    def pending(self) -> int:
        """How many frames the worker still has to make (not counting one being made now on
        the worker thread; counting one on the compose helper)."""
        with self._lock:
            busy = self._in_helper is not None and not self._in_helper.done()
            return len(self._wanted) + int(busy)

    def set_proxy(self, store) -> None:
        with self._lock:
            self._proxy = store
            self._proxied = -1
        self.kick()

    def set_chroma(self, cache) -> None:
        with self._lock:
            self._chroma = cache
        self.kick()

    def set_override(self, override, affects=None) -> None:
        with self._lock:
            self._override, self._affects = override, affects

    # ---- worker thread -----------------------------------------------------------------------
    def step(self) -> bool:
        with self._lock:
            request, self._open_request = self._open_request, None
        if request is not None:
            self._open(*request)
            return True
        with self._lock:
            if not self._wanted:
                return False
            want = self._wanted[0]
            chroma, hooks, proxy = self._chroma, (self._override, self._affects), self._proxy
            moved_at, moved_before = self._moved_at, self._moved_before
        if self._reader is None or self._made_lately(want, chroma):
            with self._lock:
                self._take(want)
                return bool(self._wanted)
        needs_frame = want.source or want.display is not None
        to_decode = needs_frame and self._shared.get(self._path, want.index) is None
        if to_decode and want.playhead and want.source and proxy is not None:
            handled = self._proxy_step(want, proxy, moved_at, moved_before)
            if handled is not None:
                return handled
            if self.preview_gate is not None:      # its proxy is being coloured: that first
                self.preview_gate.hold(want.index)
        if to_decode and not want.playhead and self._prefetch(want, _display_only(want)):
            # A prefetch takes three steps (decode, convert to RGB, pictures), so a new playhead
            # (the artist jumped) waits for a third of one at most, not all of it.
            return True
        with self._lock:
            self._take(want)
        self._note_made(want, chroma)
        if not (_display_only(want) and self._compose_on_helper(want, chroma, hooks)):
            self.frameDecoded.emit(self._make(want, chroma, hooks))
        with self._lock:
            return bool(self._wanted)

    def _compose_on_helper(self, want: Want, chroma, hooks) -> bool:
        """Hand a playback frame to the compose helper when it is free: decoded and scaled
        here (the reader is this thread's), composed there, emitted from there. False when the
        frame is to be made here (helper busy, or a correction needs the full frame)."""
        busy = self._in_helper is not None and not self._in_helper.done()
        if busy or chroma is None or _touches(hooks, want.index) or \
                self._shared.get(self._path, want.index) is not None:
            return False
        ab = chroma.get(want.index)
        if ab is None:
            return False
        assert self._reader is not None and want.display is not None
        res = FrameResult(self._generation, want.index, gen=want.gen, chroma_key=chroma.key,
                          made_for=_made_key(want, chroma))
        shape: tuple[int, int] = want.display
        try:
            h, w = shape
            small = self._reader.read_scaled(want.index, (w, h))
        except Exception as exc:
            res.error = _one_line(exc, self._path)
            self.frameDecoded.emit(res)
            return True
        box = self._letterbox(chroma.size, self._film_shape(small))
        has_color = bool(getattr(self._info, "has_color", True))
        path = self._path

        def compose_there() -> None:
            try:
                res.display = display_compose.compose_display(small, ab, box, shape, has_color,
                                                              index=want.index)
            except Exception as exc:
                res.error = _one_line(exc, path)
            self.frameDecoded.emit(res)
            self.kick()              # a worker waiting for the helper may go on

        if self._helper is None:
            self._helper = ThreadPoolExecutor(1, thread_name_prefix="bento-display-compose",
                                              initializer=nice_this_thread, initargs=(self.nice,))
        self._in_helper = self._helper.submit(compose_there)
        return True

    def _made_lately(self, want: Want, chroma) -> bool:
        """Whether this playback picture is on its way to the GUI (made or on the helper, not
        yet received): the GUI asks again at every tick until the result reaches it, and making
        it twice halved what playback got from the two threads."""
        key = _made_key(want, chroma)
        if key is None:
            return False
        with self._lock:
            t = self._made.get(key)
        return t is not None and _now() - t < REMADE_AFTER_S

    def _note_made(self, want: Want, chroma) -> None:
        key = _made_key(want, chroma)
        if key is None:
            return
        now = _now()
        with self._lock:
            made = self._made
            if len(made) > 512:
                for k in [k for k, t in made.items() if now - t >= REMADE_AFTER_S]:
                    del made[k]
            made[key] = now

    def received(self, res: FrameResult) -> None:
        """The GUI has a playback result (kept or not): asked for again, it is made again."""
        if res.made_for is not None:
            with self._lock:
                self._made.pop(res.made_for, None)

    def _take(self, want: Want) -> None:
        """Drop `want` from the head of the list, unless the GUI replaced the list meanwhile."""
        if self._wanted and self._wanted[0] == want:
            self._wanted.pop(0)

    def _prefetch(self, want: Want, display_only: bool) -> bool:
        """The first steps of a prefetch: decode the frame, or when the reader holds it decoded,
        convert it into the shared frames (where the last step finds it); False when there is
        no such step left (a display-size picture converts straight from the decoded frame). A
        failure is reported at once, as a whole step would."""
        try:
            assert self._reader is not None  # (step() opened it)
            if self._reader.prefetch(want.index):
                return True
            if display_only:
                return False
            self._read(want.index)
        except Exception as exc:
            with self._lock:
                self._take(want)
            self.frameDecoded.emit(FrameResult(self._generation, want.index,
                                               error=_one_line(exc, self._path)))
        return True

    def _proxy_step(self, want: Want, proxy, moved_at: float, moved_before: float) -> bool | None:
        """Show the playhead frame from the proxy, or hold the codec back while scrubbing: the
        step's return value; None when the film is to be decoded now."""
        if want.index != self._proxied:
            res = self._from_proxy(want, proxy)
            if res is None:
                return None
            self._proxied = want.index
            self.frameDecoded.emit(res)
            return True
        rest = SETTLE_S - (_now() - moved_at)
        if moved_at - moved_before < SETTLE_S and rest > 0:   # scrubbing: wait until it rests
            QTimer.singleShot(int(rest * 1000) + 1, self.kick)
            return False
        return None

    def _from_proxy(self, want: Want, proxy) -> FrameResult | None:
        """The playhead frame from the proxy, scaled to the film's size, when decoding it from
        the film would cost PROXY_MIN_COST pictures or more; None otherwise."""
        try:
            assert self._reader is not None and self._info is not None  # (step() opened them)
            if self._reader.decode_cost(want.index) < PROXY_MIN_COST:
                return None
            if self.preview_gate is not None:   # a slow decode: worth a colour preview (say so
                self.preview_gate.proxied(want.index)   # before reading, the network may start)
            info = self._info
            frame = proxy.read(want.index, size=(int(info.width), int(info.height)))
        except Exception:  # a proxy being replaced or closed: decode from the film instead
            return None
        if frame is None:
            return None
        frame.flags.writeable = False
        gray = compose.gray_view(frame, bool(getattr(info, "has_color", True)))
        return FrameResult(self._generation, want.index, source=frame, gray=gray, proxy=True)

    def _open(self, generation: int, path: str) -> None:
        from ..core import media
        from ..core.ml.chroma_cache import project_dir_for

        self._close_reader()
        self._generation, self._path = generation, path
        self._proxied = -1
        try:
            self._reader = reader = media.open_media(path)
            info = reader.info
            if info.frame_count <= 0:
                raise media.MediaError(f"{os.path.basename(path)}: no decodable frames")
            project = str(project_dir_for(path))
        except Exception as exc:  # MediaError has the user-facing line; anything else gets one
            self._close_reader()
            self.filmFailed.emit(generation, _one_line(exc, path))
            return
        self._info = info
        self.filmOpened.emit(generation, info, project)

    def _make(self, want: Want, chroma, hooks) -> FrameResult:
        override, affects = hooks
        res = FrameResult(self._generation, want.index, gen=want.gen,
                          made_for=_made_key(want, chroma))
        try:
            frame = self._shared.get(self._path, want.index)
            if frame is None and _display_only(want) and not _touches(hooks, want.index):
                # playback: the display-size picture straight from the decoded frame, without
                # the full-size RGB conversion nobody would look at (core.media read_scaled)
                assert self._reader is not None and want.display is not None
                h, w = want.display
                frame = self._reader.read_scaled(want.index, (w, h))
            if frame is None:
                frame = self._read(want.index)
            has_color = bool(getattr(self._info, "has_color", True))
            if want.source:
                res.source = frame
                # its float L is shared when the composed picture needs it anyway; the network
                # colours a new frame of a colour film from a small copy first (ColorizeWorker.
                # _preview_from_film), so its gray here is the cheaper 8-bit one
                res.gray = compose.gray_view(frame, has_color, share_L=want.color)
            if want.color and chroma is not None:
                ab = chroma.get(want.index)
                if ab is not None:
                    res.colorized = compose.compose_picture(
                        frame, ab, self._letterbox(chroma.size, frame.shape), index=want.index,
                        override=override)
                    res.chroma_key = chroma.key
            if want.display is not None and chroma is not None:
                ab = chroma.get(want.index)
                if ab is not None:
                    res.display = display_compose.compose_display(
                        frame, ab, self._letterbox(chroma.size, self._film_shape(frame)),
                        want.display, has_color,
                        index=want.index, override=override, affects=affects)
                    res.chroma_key = chroma.key
        except Exception as exc:
            res.error = _one_line(exc, self._path)
        return res

    def _read(self, index: int) -> np.ndarray:
        # read-only, possibly the reader's cached array: shared frames are never edited in place
        assert self._reader is not None  # (step() opened it)
        frame = np.ascontiguousarray(self._reader.read(index, copy=False))
        self._shared.put(self._path, index, frame)
        return frame

    def _film_shape(self, frame: np.ndarray) -> tuple[int, ...]:
        """The film's full (h, w): a playback frame may have been read at display size."""
        info = self._info
        return (int(info.height), int(info.width)) if info is not None else frame.shape[:2]

    def _letterbox(self, size: int, shape: tuple[int, ...]) -> Letterbox:
        box = self._box
        if box is None or self._box_size != size or (box.full_h, box.full_w) != shape[:2]:
            box = self._box = compose.letterbox(shape[0], shape[1], size)
            self._box_size = size
        return box

    def _close_reader(self) -> None:
        close_quietly(self._reader)
        self._reader, self._info = None, None

    def cleanup(self) -> None:
        if self._helper is not None:
            self._helper.shutdown(wait=True)
            self._helper = None
        self._close_reader()


def _made_key(want: Want, chroma) -> tuple | None:
    if not _display_only(want) or chroma is None:
        return None
    return (want.index, want.gen, want.display, chroma.key)


def _display_only(want: Want) -> bool:
    return want.display is not None and not want.source and not want.color


def _touches(hooks: tuple, index: int) -> bool:
    """Whether the corrections/temporal overrides change frame `index` (they need full size)."""
    override, affects = hooks
    return override is not None and (affects is None or bool(affects(index)))


def _now() -> float:
    return time.monotonic()


def _one_line(exc: BaseException, path: str) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    name = os.path.basename(str(path).rstrip("/"))
    return msg if name and name in msg else f"{name}: {msg}"
