"""The GUI-side controller between the Session and the two workers.

Owns the display worker (decode + compose) and the colorize worker (network + chroma cache), the
in-memory frames ready for the viewer, and turns session changes into worker requests:

    session.frameChanged ──► wanted frames (display worker), plan (colorize worker)
    colorize worker ──colorized──► chroma cache on disk ──► display worker composes ──► viewer

A third worker builds the film's display proxy in the background (proxy_worker.py); the display
worker shows proxy frames while the artist scrubs a long-GOP film.

Playback of the colour views comes from a look-ahead cache of frames composed at the size the
viewer shows them (play_cache.py, display_compose.py): filled ahead of the playhead while paused
and during playback, dropped frame by frame the moment a compose generation moves on.

Widgets never see a worker: they read `bundle(i)` and listen to `bundleReady`.
"""
from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from ..core import compose
from ..core.media.fingerprint import film_fingerprint
from ..core.media.frames import BundleCache, FrameBundle, SharedFrames
from ..core.pipeline.scheduler import Plan
from .colorize_worker import ColorizeWorker
from .decode_worker import DisplayWorker, FrameResult, Want
from .display_compose import display_shape
from .play_cache import DEFAULT_BUDGET, CatchUp, ComposedCache, look_ahead
from .preview import ColourPreview, PreviewGate
from .proxy_worker import ProxyWorker, wants_proxy
from .session import COLORIZED, DIFFERENCE, SIDE_BY_SIDE, SPLIT, FilmInfo, Session
from .workers import WorkerThread

if TYPE_CHECKING:
    from ..core.media import MediaInfo
    from ..core.ml.chroma_cache import ChromaCache

PREFETCH_AHEAD = 8     # frames decoded ahead of the playhead (direction of travel)
PREFETCH_BEHIND = 2
PLAY_AHEAD = 240       # display-size frames composed ahead during playback (10 s), budget allowing
PAUSED_AHEAD = 72      # and while paused, so Space starts on a full cache (3 s)
ZOOM_KEEP = (0.9, 1.06)  # a view this much smaller or larger keeps the composed size
REST_MS = 300          # ... once the playhead has rested this long (not for every scrub position)
COLOR_MODES = (COLORIZED, SPLIT, SIDE_BY_SIDE, DIFFERENCE)


def _untouched(_index: int) -> bool:
    return False


def missing_model_message() -> str:
    from ..core.ml.bundled import DEFAULT_MODEL
    name = Path(DEFAULT_MODEL).name
    return (f"No model loaded: the shipped model ({name}) is not installed. Open a .keras "
            "generator (File ▸ Open model…) to colorize; gray viewing works without one.")


class Pipeline(QObject):
    bundleReady = Signal(int)          # the pictures of frame i changed (arrived or recolorized)
    filmFailed = Signal(str)
    colorizedFrames = Signal(list)     # frames that just entered the chroma cache
    chromaReset = Signal()             # another chroma cache (model or size changed)
    modelStatus = Signal(str, str)     # state: none | loading | ready | error, and a message
    progress = Signal(int, int)        # in/out frames colorized, in/out frames
    busy = Signal(bool)
    workerError = Signal(str)
    cacheInvalidated = Signal()        # in-memory frames changed wholesale (timeline redraw)
    proxyProgress = Signal(int, int)   # display proxy: frames built, frames (0, 0: no proxy)
    composedChanged = Signal()         # the look-ahead cache of composed frames changed
    fallingBehind = Signal(float)      # a shuttle's frame on screen is not composed: s per compose
    playingChanged = Signal(bool)      # playback started / stopped (background analysis yields)

    def __init__(self, session: Session, parent: QObject | None = None,
                 memory_budget: int = 768 << 20, play_budget: int = DEFAULT_BUDGET):
        super().__init__(parent)
        self.session = session
        self.bundles = BundleCache(memory_budget)
        self.composed = ComposedCache(play_budget)
        self._zoom = 0.0                   # screen pixels per image pixel, from the viewer
        self.stride = 1                    # frames the playhead advances per shown frame
        self.catch_up = CatchUp()          # where composing restarts when playback is behind
        self._resting = True               # the playhead has not moved for REST_MS
        self._rest_timer = QTimer(self, singleShot=True, interval=REST_MS)
        self._rest_timer.timeout.connect(self._on_rest)
        self.shared = SharedFrames()
        self.chroma: ChromaCache | None = None  # the colorizer's cache of the film's chroma
        self.model_name = ""
        self.model_id = ""
        self.direction = 1
        self.playing = False
        self._generation = 0
        self._reported_errors: set[tuple[int, int]] = set()
        self._paint_override = self._paint_affects = None
        self._temporal_hook = self._temporal_affects = None
        self._hints_hook = self._hints_affects = None
        self._touched: Callable[[int], bool] | None = _untouched  # any correction stage's probe
        self.preview = ColourPreview()     # the frame on screen from its proxy, while it decodes
        self.proxies_enabled = True
        # Compose generations: a result composed before the corrections, the temporal chroma or
        # the model changed is stale even when it arrives after the change (the worker may have
        # been composing it meanwhile); and a second result of an unchanged frame is a duplicate.
        self._gen_base = 0
        self._frame_gen: dict[int, int] = {}
        # (generation, MediaInfo, project dir, fingerprint)
        self._opened: tuple[int, MediaInfo, str, dict[str, int]] | None = None

        self.display = DisplayWorker(self.shared)
        self.colorizer = ColorizeWorker(self.shared)
        self.display.preview_gate = self.colorizer.preview_gate = PreviewGate()
        # Signals first, thread second: connections made before moveToThread stay queued.
        self.display.filmOpened.connect(self._on_film_opened)
        self.display.filmFailed.connect(self._on_film_failed)
        self.display.frameDecoded.connect(self._on_frame)
        self.display.failed.connect(self.workerError)
        self.colorizer.modelLoading.connect(
            lambda p: self.modelStatus.emit("loading", f"Loading {os.path.basename(p)}…"))
        self.colorizer.modelLoaded.connect(self._on_model_loaded)
        self.colorizer.modelFailed.connect(self._on_model_failed)
        self.colorizer.cacheChanged.connect(self._on_cache_changed)
        self.colorizer.colorized.connect(self._on_colorized)
        self.colorizer.previewed.connect(self._on_previewed)
        self.colorizer.progress.connect(self.progress)
        self.colorizer.busy.connect(self.busy)
        self.colorizer.failed.connect(self.workerError)
        self.proxy = ProxyWorker()
        self.proxy.storeReady.connect(self._on_proxy_store)
        self.proxy.progress.connect(self.proxyProgress)
        self.proxy.failed_quietly.connect(self.workerError)
        self._display_thread = WorkerThread(self.display, "bento-display")
        self._colorize_thread = WorkerThread(self.colorizer, "bento-colorize")
        self._proxy_thread = WorkerThread(self.proxy, "bento-proxy")

        session.frameChanged.connect(self._refresh)
        session.inOutChanged.connect(lambda *_: self._refresh())
        session.viewModeChanged.connect(lambda *_: self._refresh())
        session.modelChanged.connect(self._apply_model)
        session.workSizeChanged.connect(lambda *_: self._apply_model())

    # ---- film --------------------------------------------------------------------------------
    def open_film(self, path: str) -> None:
        self._generation += 1
        self._new_compose_gen()
        self.bundles.clear()
        self.composed.clear()
        self.shared.clear()
        self.cacheInvalidated.emit()
        self._opened = None
        self.display.set_proxy(None)
        self.colorizer.set_proxy(None)
        self.proxy.set_film(self._generation)
        self.proxyProgress.emit(0, 0)
        self.display.open_film(self._generation, str(path))

    def _on_film_opened(self, generation: int, info, project_dir: str) -> None:
        if generation != self._generation:
            return
        fps = info.fps if isinstance(info.fps, Fraction) else Fraction(info.fps).limit_denominator(1001)
        film = FilmInfo(path=str(info.path), frame_count=int(info.frame_count), fps=fps,
                        width=int(info.width), height=int(info.height),
                        has_color=bool(info.has_color), project_dir=project_dir)
        fingerprint = film_fingerprint(film)          # render's too: one cache for both
        self.colorizer.set_film(film.path, project_dir, fingerprint)
        self._opened = (generation, info, project_dir, fingerprint)
        self._start_proxy()
        self.session.set_film(film)
        self._apply_model()

    def _on_film_failed(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self.filmFailed.emit(message)

    # ---- display proxy -----------------------------------------------------------------------
    def set_proxies_enabled(self, enabled: bool) -> None:
        """Build and use display proxies (on by default); off stops the build and shows only
        decoded frames.  What was built stays on disk for next time."""
        if bool(enabled) == self.proxies_enabled:
            return
        self.proxies_enabled = bool(enabled)
        self.display.set_proxy(None)
        self.colorizer.set_proxy(None)
        self._start_proxy()

    def _start_proxy(self) -> None:
        if self._opened is None:
            return
        generation, info, project_dir, fingerprint = self._opened
        if self.proxies_enabled and project_dir and wants_proxy(info):
            self.proxy.set_film(generation, info, os.path.join(project_dir, "proxy"), fingerprint)
        else:
            self.proxy.set_film(generation)
            self.proxyProgress.emit(0, 0)

    def _on_proxy_store(self, generation: int, store) -> None:
        if generation == self._generation and self.proxies_enabled:
            self.display.set_proxy(store)
            self.colorizer.set_proxy(store)

    # ---- model -------------------------------------------------------------------------------
    def _apply_model(self, *_args) -> None:
        path = self.session.model_path
        if not path:
            self.report_no_model()
        self.colorizer.set_model(path, self.session.work_size)

    def report_no_model(self) -> None:
        self.modelStatus.emit("none", missing_model_message())

    def _on_model_loaded(self, name: str, model_id: str) -> None:
        self.model_name, self.model_id = name, model_id
        # TensorFlow and Keras leave ~10^6 long-lived objects; every full garbage collection
        # walked them all on the GUI thread (170 ms stalls while scrubbing, bench_gui). Frozen,
        # they are never scanned again; only what is created from here on is.
        gc.collect()
        gc.freeze()
        self.modelStatus.emit("ready", f"{name}  ·  {self.session.work_size}px  ·  id {model_id}")

    def _on_model_failed(self, message: str) -> None:
        self.model_name = self.model_id = ""
        self.modelStatus.emit("error", message)

    def _on_cache_changed(self, cache) -> None:
        self.chroma = cache
        self.display.set_chroma(cache)
        self._new_compose_gen()
        self.bundles.drop_colorized(keep_key=cache.key if cache is not None else None)
        self.chromaReset.emit()
        self._refresh()
        if self.session.film is not None:
            self.bundleReady.emit(self.session.frame)

    def _on_colorized(self, key: str, indices: list) -> None:
        if self.chroma is None or key != self.chroma.key:
            return
        self.colorizedFrames.emit(list(indices))
        self._refresh(plan=False)

    def _on_previewed(self, path: str, key: str, index: int, pics, source: str) -> None:
        s, chroma = self.session, self.chroma
        film = s.film
        if film is None or path != film.path or chroma is None or key != chroma.key or \
                index != s.frame or s.view_mode not in COLOR_MODES or chroma.has(index):
            return                         # another film, model or frame, or the real one is here
        b = self.bundles.peek(index)
        if b is not None and b.colorized is not None:
            return
        shape = self.play_shape()
        if pics.colorized.shape[:2] != (shape or pics.colorized.shape[:2]):
            return                         # composed for a zoom since changed: the film's follows
        if self.preview.offer(index, pics, key=key, gen=self._gen(index),
                              film_shape=(film.height, film.width), touched=self._touched,
                              stand_in="preview" if source == "film" else "proxy") is not None:
            self.bundleReady.emit(index)

    # ---- frames ------------------------------------------------------------------------------
    def bundle(self, index: int) -> FrameBundle | None:
        return self.bundles.get(index)

    def set_direction(self, direction: int, playing: bool, stride: int = 1) -> None:
        self.direction = 1 if direction >= 0 else -1
        stopped = self.playing and not playing
        changed = self.playing != playing
        if changed or self.stride != max(1, int(stride)):
            self.catch_up.reset()          # this run's compose speed, not the last run's
        self.playing = playing
        self.stride = max(1, int(stride))
        self._refresh()
        if stopped and self.session.film is not None:
            self.bundleReady.emit(self.session.frame)   # the full-size picture, if it is here
        if changed:
            self.playingChanged.emit(playing)

    def set_background(self, enabled: bool) -> None:
        self.colorizer.set_background(enabled)

    def postpone_background(self) -> None:
        """The artist is editing: colorizing beyond the frame on screen waits a moment."""
        self.colorizer.postpone()

    def set_override(self, override, affects=None) -> None:
        """Install the corrections hook (compose.ChromaOverride) and recompose what is shown.
        `affects(i)`, when given, says cheaply whether the hook changes frame i at all (never
        False for a frame it changes): untouched frames are then composed at display size."""
        self._paint_override, self._paint_affects = override, affects
        self._install_override()

    def set_temporal(self, hook, affects=None) -> None:
        """Install the temporal stage (a ChromaOverride that runs before the corrections)."""
        self._temporal_hook, self._temporal_affects = hook, affects
        self._install_override()

    def set_hints(self, hook, affects=None) -> None:
        """Install the hint stage (the network with a frame's colour hints): after the temporal
        stage, before the corrections, so an override still wins in its region."""
        self._hints_hook, self._hints_affects = hook, affects
        self._install_override()

    def _install_override(self) -> None:
        stages = [(h, a) for h, a in ((self._temporal_hook, self._temporal_affects),
                                      (self._hints_hook, self._hints_affects),
                                      (self._paint_override, self._paint_affects))
                  if h is not None]
        override = compose.chain(*(h for h, _a in stages))   # the stages render runs too
        probes = [a for _h, a in stages]
        affects = None
        if probes and all(a is not None for a in probes):   # a hook without a probe: always
            def affects(i, probes=tuple(probes)):
                return any(a(i) for a in probes)
        self._touched = affects if probes else _untouched
        self.display.set_override(override, affects)
        self._new_compose_gen()
        self.bundles.drop_colorized(keep_key=None)
        self._refresh(plan=False)

    def recompose_frames(self, indices) -> None:
        """Compose these frames again; the viewer keeps the current picture until then."""
        indices = list(indices)
        if self.composed.drop(indices):
            self.composedChanged.emit()
        for i in indices:
            self._frame_gen[i] = self._frame_gen.get(i, 0) + 1
            b = self.bundles.peek(i)
            if b is not None and b.colorized is not None:
                self.bundles.update_colorized(i, b.colorized, None)
        self._refresh(plan=False)

    def _new_compose_gen(self) -> None:
        self._gen_base += 1
        self.preview.clear()
        self._frame_gen.clear()
        if len(self.composed):
            self.composed.clear()
            self.composedChanged.emit()

    def _gen(self, index: int) -> tuple:
        return self._gen_base, self._frame_gen.get(index, 0)

    # ---- composed frames at display size (playback) -------------------------------------------
    def set_view_zoom(self, zoom: float) -> None:
        """The viewer draws `zoom` screen pixels per image pixel: compose playback frames at that
        size (below 100 %); another size makes the composed frames useless.  A view a little
        smaller or larger (the docks' layout moving by a few pixels) keeps the frames composed so
        far: they are drawn a little smaller or larger instead of all composed again."""
        old, kept = self.play_shape(), self._zoom
        self._zoom = float(zoom)
        if old is not None and kept * ZOOM_KEEP[0] <= self._zoom <= kept * ZOOM_KEEP[1]:
            self._zoom = kept
        if self.play_shape() != old:
            if len(self.composed):
                self.composed.clear()
                self.composedChanged.emit()
            self._refresh(plan=False)

    def play_shape(self) -> tuple | None:
        """(h, w) playback frames are composed at, or None: full resolution."""
        film = self.session.film
        return None if film is None else display_shape(film.height, film.width, self._zoom)

    def view_bundle(self, index: int) -> FrameBundle | None:
        """What the viewer shows for frame `index`: the composed display-size frame while playing
        a colour view (or while the full-size picture is still being composed), else bundle(i)."""
        full = self.bundles.get(index)
        if self.chroma is None or self.session.view_mode not in COLOR_MODES:
            return full
        shape = self.play_shape()
        bare = full is None or full.colorized is None
        if shape is not None and (self.playing or bare):
            d = self.composed.current(index, self.chroma.key, self._gen(index), shape)
            if d is not None:
                return d
        if bare:    # still decoding or predicting: its proxy's colour picture, if there is one
            p = self.preview.get(index, self.chroma.key, self._gen(index))
            if p is not None:
                return p
        return full

    def composed_frames(self) -> list[int]:
        """Frames of the look-ahead cache (the timeline draws them apart from chroma-only ones)."""
        return self.composed.indices()

    def _play_wants(self, chroma: ChromaCache, shape: tuple, paused: bool) -> list[Want]:
        """Display-size composes ahead of the playhead, stepping as playback will (stride, around
        the in/out loop), as far as the budget holds."""
        s = self.session
        assert s.film is not None, "wants are planned for an opened film (_refresh)"
        pictures = 2 if not s.film.has_color else 3        # gray is the source for b/w films
        reach = self.composed.frames_in_budget(shape[0] * shape[1] * 3 * pictures) - 2
        reach = max(1, min(reach, PAUSED_AHEAD if paused else PLAY_AHEAD))
        p, lo, hi = s.frame, s.in_point, s.out_point
        loop = (lo, hi) if lo <= p <= hi else (0, s.frame_count - 1)
        step = self.direction * (1 if paused else self.stride)
        first = 1 if paused else self._lead(p, chroma, shape)
        return [Want(i, False, False, playhead=i == p and not paused, gen=self._gen(i),
                     display=shape)
                for i in look_ahead(p, loop, step, reach, first=first)
                if chroma.has(i) and self.composed.current(i, chroma.key, self._gen(i), shape) is None]

    def _lead(self, p: int, chroma: ChromaCache, shape: tuple) -> int:
        """Playback steps ahead of the playhead where composing starts: 0 while the frame on
        screen is composed, else CatchUp's lead (see play_cache.CatchUp)."""
        if self.composed.current(p, chroma.key, self._gen(p), shape) is not None \
                or self.session.film is None:
            return 0
        if self.stride > 1 and self.catch_up.samples >= CatchUp.SURE:
            self.fallingBehind.emit(self.catch_up.interval)    # Player.keep_up may thin it
        return self.catch_up.lead(float(self.session.film.fps))

    def _wanted(self) -> list[Want]:
        s = self.session
        n = s.frame_count
        p = s.frame
        need_color = s.view_mode in COLOR_MODES
        chroma = self.chroma
        shape = self.play_shape() if need_color and chroma is not None else None
        if shape is not None and chroma is not None and self.playing:
            wants = self._play_wants(chroma, shape, paused=False)
            b = self.bundles.peek(p)
            if not chroma.has(p) and (b is None or b.proxy):
                wants.insert(0, Want(p, True, False, playhead=True, gen=self._gen(p)))
            return wants
        order = [p]
        ahead = PREFETCH_AHEAD * (2 if self.playing else 1)
        if not self.playing and need_color and chroma is not None and not chroma.has(p):
            # The artist is waiting for this frame's colour: leave the cores to the network
            # and prefetch neighbours only once it is on screen.
            ahead = behind = 0
        else:
            behind = PREFETCH_BEHIND
        for k in range(1, max(ahead, behind) + 1):
            if k <= ahead:
                order.append(p + k * self.direction)
            if k <= behind:
                order.append(p - k * self.direction)
        wants = []
        for i in order:
            if not 0 <= i < n:
                continue
            b = self.bundles.peek(i)
            src = b is None or b.proxy
            col = (need_color and chroma is not None and chroma.has(i)
                   and (b is None or b.colorized is None or b.chroma_key != chroma.key))
            if src or col:
                wants.append(Want(i, src, col, playhead=i == p, gen=self._gen(i)))
        if shape is not None and chroma is not None and chroma.has(p):  # else the network first
            b = self.bundles.peek(p)
            if b is not None and not b.proxy and b.colorized is None and \
                    self.composed.current(p, chroma.key, self._gen(p), shape) is None:
                # the frame on screen (decoded, gray) just got its chroma: its display-size
                # picture first, a third of the full compose; the full size follows
                wants.insert(0, Want(p, False, False, playhead=True, gen=self._gen(p),
                                     display=shape))
            if self._resting:    # the look-ahead, after the frame on screen and its prefetches
                wants += self._play_wants(chroma, shape, paused=True)
        return wants

    def _refresh(self, *_args, plan: bool = True) -> None:
        s = self.session
        if s.film is None:
            return
        if plan:                           # the playhead or the range moved: the artist is busy
            self.proxy.note_activity(s.frame)
            self._resting = False
            self._rest_timer.start()
        wanted = self._wanted()
        self._share_playhead(wanted)
        self.display.set_wanted(wanted)
        # previews only where a colour picture is looked at, and not frame after frame; from
        # the film's own frame only while the picture is drawn smaller than the film (at 100 %
        # or more the artist inspects pixels, and the preview would delay the full picture)
        self.colorizer.set_previews(s.view_mode in COLOR_MODES and not self.playing,
                                    self.play_shape())
        if plan:
            self.colorizer.set_plan(Plan(s.frame, s.in_point, s.out_point, s.frame_count,
                                         direction=self.direction))

    def _share_playhead(self, wanted: list[Want]) -> None:
        """Say where the colorize worker gets the frame on screen: the display worker is about
        to decode it (worth waiting for: two threads seeking one long-GOP frame cost twice), or
        its pixels are in memory already (handed over), or neither (it decodes it at once)."""
        s, chroma = self.session, self.chroma
        assert s.film is not None
        path, p = s.film.path, s.frame
        if any(w.index == p and w.source for w in wanted):
            self.shared.expect(path, p)
            return
        self.shared.expect(None)
        b = self.bundles.peek(p)
        if b is not None and not b.proxy and chroma is not None and not chroma.has(p) and \
                b.source.shape[:2] == (s.film.height, s.film.width):
            self.shared.put(path, p, b.source)

    def _on_rest(self) -> None:
        self._resting = True
        self._refresh(plan=False)          # now the paused look-ahead

    def _on_frame(self, res: FrameResult) -> None:
        self.display.received(res)          # asked for again from now on, it is made again
        if res.generation != self._generation:
            return
        if res.error:
            key = (res.generation, res.index)
            if key not in self._reported_errors:
                self._reported_errors.add(key)
                self.workerError.emit(f"Frame {res.index}: {res.error}")
            return
        if res.display is not None:
            self._on_composed(res)
            return
        b = self.bundles.peek(res.index)
        if res.proxy and b is not None and not b.proxy:
            return                         # the film's own pixels arrived first: keep them
        stale = res.colorized is not None and (
            self.chroma is None or res.chroma_key != self.chroma.key
            or res.gen != self._gen(res.index))
        if stale or res.colorized is None:  # no (current) picture: the bundle keeps its own
            colour = (b.colorized, b.chroma_key, b.compose_gen) if b is not None else (None, None, ())
        else:
            colour = (res.colorized, res.chroma_key, res.gen)
        if res.source is not None:
            assert res.gray is not None, "a decoded frame comes with its gray"
            colorized, chroma_key, gen = colour
            self.bundles.put(FrameBundle(res.index, res.source, res.gray, colorized, chroma_key,
                                         proxy=res.proxy, compose_gen=gen),
                             protect=self.session.frame)
            self.bundleReady.emit(res.index)
        elif b is not None and colour[0] is not b.colorized:
            # the same key and generation again is a duplicate compose: keep the array on screen
            duplicate = b.colorized is not None and (b.chroma_key, b.compose_gen) == colour[1:]
            if not duplicate:
                self.bundles.update_colorized(res.index, *colour)
                self.bundleReady.emit(res.index)
        if stale:                          # composed before a change: ask for it again
            self._refresh(plan=False)

    def _on_composed(self, res: FrameResult) -> None:
        """A display-size frame for playback: kept only when made with what is current now."""
        s, d = self.session, res.display
        assert d is not None, "_on_frame sends only results with display pictures"
        if self.chroma is None or res.chroma_key != self.chroma.key or \
                res.gen != self._gen(res.index) or d.colorized.shape[:2] != self.play_shape():
            self._refresh(plan=False)          # composed before a change: ask for it again
            return
        film = s.film
        assert film is not None, "play_shape() is None without a film: returned above"
        self.catch_up.arrived(time.monotonic(), self.playing)
        b = FrameBundle(res.index, d.source, d.gray, d.colorized, res.chroma_key,
                        compose_gen=res.gen, full_shape=(film.height, film.width))
        if self.composed.put(b, s.frame, self.direction, (s.in_point, s.out_point)):
            self.composedChanged.emit()
            self.bundleReady.emit(res.index)

    # ---- teardown ----------------------------------------------------------------------------
    def shutdown(self) -> bool:
        """Stop the workers and wait for them; True when all ended in time."""
        ok0 = self._proxy_thread.stop()
        ok1 = self._display_thread.stop()
        ok2 = self._colorize_thread.stop(timeout_ms=30000)
        return ok0 and ok1 and ok2
