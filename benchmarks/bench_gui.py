"""GUI performance figures for the review window (prints them; exits 0).

    python benchmarks/bench_gui.py [--clip FILM] [--model GEN.keras] [--seconds 8]

Figures (goals from the issue):
  * longest event-loop stall while colorizing and scrubbing   (goal <= 50 ms), by QTimer heartbeat
  * a cached frame on screen                                  (goal <= 16 ms)
  * an uncached seek in a 1080p H.264 clip, gray on screen    (goal <= 100 ms)
    (from the film with display proxies off, then from a built proxy, then the film's own
    pixels replacing the proxy picture)
  * colorized view of a newly visited frame, default size     (goal <= 300 ms)
  * playback at the film's rate: dropped frames
  * playback of the colorized, split-wipe and side-by-side views once the range is colorized,
    10 s at 1x and 2x/4x shuttle: frames shown / dropped, longest stall  (goal: none dropped)
    (`--playback-only` runs just this part)

Without --clip a 1080p H.264 clip with a 2-second GOP (48 frames at 23.976, like phone footage)
is written to a temporary folder.  Without --model the shipped model is used, or when it is not
installed a freshly initialised full-width generator (same architecture, same cost per frame).
"Time to screen" is measured from the playhead change to the end of a synchronous repaint of
the viewer, so it includes decoding, composing, the texture upload and the paint.
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QElapsedTimer, QEvent, QEventLoop, QObject, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


class Heartbeat:
    """A 5 ms QTimer on the GUI thread; any gap beyond that is time the event loop was blocked."""

    def __init__(self, interval_ms: int = 5):
        self.interval = interval_ms
        self.gaps: list[float] = []
        self._clock = QElapsedTimer()
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._beat)

    def start(self):
        self.gaps.clear()
        self._clock.start()
        self._timer.start()

    def stop(self):
        self._timer.stop()

    def _beat(self):
        self.gaps.append(self._clock.nsecsElapsed() / 1e6)
        self._clock.restart()

    def stall_ms(self) -> float:
        return max(0.0, max(self.gaps, default=0.0) - self.interval)

    def p99_ms(self) -> float:
        if not self.gaps:
            return 0.0
        g = sorted(self.gaps)
        return max(0.0, g[int(0.99 * (len(g) - 1))] - self.interval)


class PaintWatch(QObject):
    """Which picture the viewer last painted: a frame is on screen once a paint of the viewer's
    viewport has drawn it (the event filter sees the paint event just before it is drawn, and
    processEvents returns after).  Measuring to the app's own paint, not to a forced repaint
    after the picture was set, counts what the artist waits for and no second paint."""

    def __init__(self, viewer):
        super().__init__()
        self._viewer = viewer
        self.last = None
        viewer.canvas.viewport().installEventFilter(self)

    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Type.Paint:
            self.last = self._viewer.current_pictures().get("left")
        return False

    def painted(self) -> bool:
        pic = self._viewer.current_pictures().get("left")
        return pic is not None and pic is self.last


def pump_until(app, cond, timeout_s: float = 30.0) -> bool:
    """Run the event loop until cond() holds, checking it after every batch of events.

    The GUI thread blocks in Qt's event loop between events, as in the app: an earlier version
    polled (processEvents, then a 0.5 ms sleep) and that busy GUI thread took CPU from the
    workers it was timing (hint edits: 164-172 ms median polled, 152 ms with a 2 ms sleep). A
    20 ms timer bounds the wait when no event comes."""
    end = time.perf_counter() + timeout_s
    wake = QTimer()
    wake.start(20)
    try:
        while not cond():
            if time.perf_counter() >= end:
                return False
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        return True
    finally:
        wake.stop()


def fmt(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (f"median {statistics.median(values):6.1f} ms   max {max(values):6.1f} ms   "
            f"(n={len(values)})")


def make_clip(folder: Path) -> str:
    from tests.helpers.clips import make_clip as mk
    path = folder / "bench_1080p_gop48.mp4"
    mk(path, n_frames=264, size=(1920, 1080), gop=48, audio=False)    # 11 s: 10 s of playback
    return str(path)


def model_path(folder: Path, given: str | None) -> tuple[str, str]:
    if given:
        return given, Path(given).name
    from colorizer_app.core.ml.model import DEFAULT_MODEL, build_generator, save_model
    if Path(DEFAULT_MODEL).exists():
        return str(DEFAULT_MODEL), f"shipped {Path(DEFAULT_MODEL).name}"
    p = save_model(build_generator(width=1.0), folder / "untrained_full_width.keras")
    return str(p), "untrained full-width generator (shipped model not installed)"


def components(clip: str, model: str, size: int = 256) -> None:
    """The critical path of "colorized view of a new frame", one piece at a time, no threads."""
    from colorizer_app.core import compose
    from colorizer_app.core.media import open_media
    from colorizer_app.core.ml.inference import Colorizer
    with open_media(clip) as r:
        n = r.info.frame_count
        frame = r.read(n // 2)
        seek = []
        for i in (n // 3, n - 5, 7, n // 2 + 11):
            r._cache.clear() if hasattr(r, "_cache") else None
            t0 = time.perf_counter()
            r.read(i)
            seek.append((time.perf_counter() - t0) * 1000)
    col = Colorizer(model, size=size, batch_size=1)
    col.predict_work([frame])                           # trace once
    pred, comp, gray = [], [], []
    for _ in range(4):
        t0 = time.perf_counter()
        (ab, box), = col.predict_work([frame])
        pred.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        compose.compose_colorized(frame, ab, box)
        comp.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        compose.gray_view(frame, True)
        gray.append((time.perf_counter() - t0) * 1000)
    m = statistics.median
    print(f"components ({frame.shape[1]}x{frame.shape[0]}, {size}px, single thread): "
          f"decode seek {m(seek):.0f} ms, network {m(pred):.0f} ms, compose {m(comp):.0f} ms, "
          f"gray view {m(gray):.0f} ms -> critical path about "
          f"{m(seek) + m(pred) + m(comp):.0f} ms")


def main() -> int:
    from colorizer_app.core.heap import configure_heap
    configure_heap()      # as the app's and the CLI's main do, before any thread starts
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip")
    ap.add_argument("--model")
    ap.add_argument("--seconds", type=float, default=8.0, help="length of the scrub stress test")
    ap.add_argument("--playback-only", action="store_true",
                    help="only the playback figures of the colorized views (range colorized first)")
    ap.add_argument("--thumbnails", action="store_true",
                    help="only the scrub stall with timeline thumbnails off, then on (loading)")
    ap.add_argument("--no-preview", action="store_true",
                    help="A/B: no colour preview from the display proxy (section 3b)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_gui_"))
    # a private home: the user's autosaves would open a modal recovery prompt and stall the run
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    os.environ["BENTOCOLOR_AUTOSAVE_DIR"] = str(tmp / "autosave")
    app = QApplication.instance() or QApplication([])
    t = time.perf_counter()
    clip = args.clip or make_clip(tmp)
    print(f"clip: {clip}  (made in {time.perf_counter() - t:.1f} s)" if not args.clip else f"clip: {clip}")
    model, model_desc = model_path(tmp, args.model)
    print(f"model: {model_desc}")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start "
          "(other processes on the machine inflate every figure below)")

    components(clip, model)

    from colorizer_app.core.media import open_media
    from colorizer_app.gui.main_window import MainWindow
    from colorizer_app.gui.session import COLORIZED, GRAY

    settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("view/proxies", False)     # section 1 measures the codec alone first
    win = MainWindow(settings=settings, model_path="")
    win.resize(1600, 1000)
    win.show()
    s, pipe, viewer = win.session, win.pipeline, win.viewer
    hb = Heartbeat()
    watch = PaintWatch(viewer)

    def to_screen(i: int, need_color: bool, timeout: float = 30.0, first: list | None = None) -> float:
        """ms until frame i is painted on screen (full size; PaintWatch); `first` gets the ms until its first colour
        picture was, maybe the display-size one (pipeline.view_bundle)."""
        t0 = time.perf_counter()
        s.set_frame(i)

        def first_colour():
            b = pipe.view_bundle(i)
            return viewer.shown_index == i and b is not None and b.colorized is not None and \
                viewer.current_pictures().get("left") is b.colorized

        def shown():
            b = pipe.bundle(i)
            return viewer.shown_index == i and b is not None and (
                not need_color or viewer.current_pictures().get("left") is b.colorized)
        if first is not None:
            if not pump_until(app, lambda: first_colour() and watch.painted(), timeout):
                return float("nan")
            first.append((time.perf_counter() - t0) * 1000)
        if not pump_until(app, lambda: shown() and watch.painted(), timeout):
            return float("nan")
        return (time.perf_counter() - t0) * 1000

    win.open_path(clip)
    assert pump_until(app, lambda: s.film is not None, 60), win.last_message
    n = s.frame_count
    print(f"film: {s.film.width}x{s.film.height}, {n} frames at {float(s.film.fps):.3f} fps")
    pump_until(app, lambda: viewer.shown_index == 0, 30)
    if args.thumbnails:
        scrub_with_thumbnails(app, win, hb, args.seconds)
        ok = win.shutdown()
        print(f"workers stopped cleanly: {ok}; load average {os.getloadavg()[0]:.1f} at the end")
        return 0
    if args.playback_only:
        playback_cached(app, win, model, hb)
        ok = win.shutdown()
        print(f"workers stopped cleanly: {ok}; load average {os.getloadavg()[0]:.1f} at the end")
        return 0

    # 1. Raw decoder seek (no GUI) and uncached seek to gray on screen.
    rnd = random.Random(7)
    with open_media(clip) as r:
        raw = []
        for i in rnd.sample(range(n), 16):
            r._cache.clear() if hasattr(r, "_cache") else None
            t0 = time.perf_counter()
            r.read(i)
            raw.append((time.perf_counter() - t0) * 1000)
    print(f"decoder random seek (core.media, no GUI)   {fmt(raw)}")
    s.set_view_mode(GRAY)
    seeks = []
    for i in rnd.sample(range(n), 16):
        pipe.bundles.clear()
        pipe.shared.clear()
        seeks.append(to_screen(i, False))
    print(f"uncached seek, gray on screen (1080p)      {fmt(seeks)}   goal <= 100 ms")

    # 1b. The same with the display proxy built (what an artist gets after the background build).
    progress = []
    pipe.proxyProgress.connect(lambda d, t: progress.append((d, t)))
    t0 = time.perf_counter()
    win.set_proxies_enabled(True)
    if pump_until(app, lambda: progress and progress[-1][1] and progress[-1][0] == progress[-1][1], 300):
        print(f"proxy built in {time.perf_counter() - t0:.1f} s ({n} frames, idle machine, "
              f"lowest priority)")
        proxied, full = [], []
        for i in rnd.sample(range(n), 16):
            pipe.bundles.clear()
            pipe.shared.clear()
            t0 = time.perf_counter()
            proxied.append(to_screen(i, False))
            if pump_until(app, lambda: pipe.bundle(i) is not None and not pipe.bundle(i).proxy
                          and viewer.shown_index == i, 10):
                full.append((time.perf_counter() - t0) * 1000)
        print(f"uncached seek with proxy: picture on screen {fmt(proxied)}")
        # a single jump: the film's frame is decoded right after the proxy (SETTLE_S only
        # holds it back while the playhead keeps moving)
        print(f"  then the film's own pixels (one jump, no settle wait) {fmt(full)}")
    else:
        print("proxy not built within 300 s")
    win.set_proxies_enabled(False)

    # 2. Cached frames on screen (in the viewer's memory cache).
    cached = []
    for i in range(0, 8):
        pump_until(app, lambda: pipe.bundle(i) is not None, 10) or to_screen(i, False)
    for _rep in range(3):
        for i in range(0, 8):
            if pipe.bundle(i) is not None and i != s.frame:
                cached.append(to_screen(i, False))
    print(f"cached frame on screen (gray)              {fmt(cached)}   goal <= 16 ms")

    # 3. Colorized view of newly visited frames, default working size, idle worker.
    s.set_view_mode(COLORIZED)
    pipe.set_background(False)
    win.set_model(model)
    ok = pump_until(app, lambda: win.model_panel.state in ("ready", "error") and
                    pipe.chroma is not None, 120)
    print(f"model ready: {ok} ({win.model_panel.status_label.text()})")
    pump_until(app, lambda: False, 1.0)

    def new_frames() -> tuple[list[float], list[float]]:
        """(first colour picture, full-size picture) ms for 8 random frames not colorized yet."""
        fresh, first = [], []
        for i in rnd.sample(range(n), 8):
            if not pipe.chroma.has(i):
                fresh.append(to_screen(i, True, first=first))
                pump_until(app, lambda: False, 0.3)
        return first, fresh
    first, fresh = new_frames()
    print(f"colorized view of a new frame ({s.work_size}px, idle): first colour picture "
          f"(display size {pipe.play_shape()}) {fmt(first)}   goal <= 150 ms")
    print(f"  then the full-size picture                {fmt(fresh)}")
    # 3b. The same with the display proxy built (the default): the first colour picture is the
    # network on the proxy's copy (gui/preview.py) while the film's own frame decodes.
    if args.no_preview:
        win.pipeline.colorizer._preview = lambda *_a: None      # A/B: the app without previews
    win.set_proxies_enabled(True)
    pump_until(app, lambda: False, 1.0)
    first_p, fresh_p = new_frames()
    print(f"  with the display proxy built{' (previews off)' if args.no_preview else ''}: first "
          f"colour picture {fmt(first_p)}   goal <= 150 ms")
    print(f"  then the film's own full-size picture     {fmt(fresh_p)}")
    win.set_proxies_enabled(False)
    cached_col = []
    done = [i for i in range(n) if pipe.chroma.has(i)]
    for i in done[:6]:
        to_screen(i, True)
    for i in done[:6]:
        if pipe.bundle(i) is not None and pipe.bundle(i).colorized is not None and i != s.frame:
            cached_col.append(to_screen(i, True))
    print(f"cached colorized frame on screen           {fmt(cached_col)}   goal <= 16 ms")

    # 4. Colorized view of a new frame while the background is colorizing (worker busy).
    pipe.set_background(True)
    pump_until(app, lambda: False, 1.5)
    busy = []
    for i in rnd.sample(range(n), 6):
        if not pipe.chroma.has(i):
            busy.append(to_screen(i, True))
    print(f"colorized view of a new frame (busy)       {fmt(busy)}   "
          f"(waits for the batch in progress)")

    # 5. Longest stall while colorizing and scrubbing; and how many playhead positions of the
    #    drag reached the screen, from the film alone and with the display proxy.
    #    Gray view first (decoding alone), then colorized (composes compete; and more frames
    #    have chroma each pass, so colorized passes are not strictly comparable).
    for mode, proxies, label in ((GRAY, False, "off"), (GRAY, True, "on"),
                                 (COLORIZED, False, "off"), (COLORIZED, True, "on"),
                                 (COLORIZED, True, "building")):
        if label == "building":          # the proxy is built during the drag, from scratch
            shutil.rmtree(os.path.join(s.film.project_dir, "proxy"), ignore_errors=True)
        s.set_view_mode(mode)
        win.set_proxies_enabled(proxies)
        pump_until(app, lambda: False, 0.5)
        positions, shown = [0], set()

        def on_shown(i):
            if i == s.frame:
                shown.add(positions[0])     # this position of the drag reached the screen
        viewer.frameShown.connect(on_shown)
        gc_ms = []
        gc_t0 = [0.0]

        def on_gc(phase, info, gc_ms=gc_ms, gc_t0=gc_t0):
            if phase == "start":
                gc_t0[0] = time.perf_counter()
            elif info.get("generation") == 2:
                gc_ms.append((time.perf_counter() - gc_t0[0]) * 1000)
        gc.callbacks.append(on_gc)
        hb.start()
        end = time.perf_counter() + args.seconds
        k = 0
        while time.perf_counter() < end:
            # a drag: 12 steps of +-1..3 frames at 30 ms, then a jump, like an artist scrubbing
            if k % 12 == 0:
                s.set_frame(rnd.randrange(n))
            else:
                s.set_frame(s.frame + rnd.choice((-3, -2, -1, 1, 2, 3)))
            k += 1
            positions[0] += 1
            pump_until(app, lambda: False, 0.03)
        hb.stop()
        viewer.frameShown.disconnect(on_shown)
        gc.callbacks.remove(on_gc)
        win.set_proxies_enabled(False)
        print(f"scrub + colorize, {mode} view, proxies {label}: longest event-loop stall "
              f"{hb.stall_ms():.1f} ms, p99 {hb.p99_ms():.1f} ms over {len(hb.gaps)} beats   "
              f"goal <= 50 ms; playhead positions on screen {len(shown)}/{positions[0]}; "
              f"full garbage collections {len(gc_ms)}, longest {max(gc_ms, default=0):.0f} ms")
    win.set_proxies_enabled(False)

    # 6. Playback at the film's rate through frames not yet in memory.
    s.set_frame(0)
    pump_until(app, lambda: False, 0.5)
    hb.start()
    win.player.play(1.0)
    pump_until(app, lambda: False, 4.0)
    win.player.stop()
    hb.stop()
    played = s.frame
    print(f"playback 4 s at {float(s.film.fps):.3f} fps (colorized view, 1080p): "
          f"{win.player.shown} frames shown, {win.player.dropped} dropped; "
          f"longest stall {hb.stall_ms():.1f} ms (playhead at {played})")
    playback_cached(app, win, model, hb)
    ok = win.shutdown()
    print(f"workers stopped cleanly: {ok}; load average {os.getloadavg()[0]:.1f} at the end")
    return 0


def scrub_with_thumbnails(app, win, hb: Heartbeat, seconds: float) -> None:
    """Longest event-loop stall while scrubbing (gray view, proxies off: the decoder alone) with
    timeline thumbnails off, then on and loading from scratch during the drag (issue 10)."""
    from colorizer_app.gui.session import GRAY
    s, rnd, n = win.session, random.Random(11), win.session.frame_count
    s.set_view_mode(GRAY)
    win.set_proxies_enabled(False)
    for on in (False, True, "idle"):
        if on is True:
            win.set_thumbnails_enabled(False)
            win.set_thumbnails_enabled(True)          # from scratch: loads during the drag
        pump_until(app, lambda: False, 0.5)
        before = len(win.thumbnails.thumbs)
        hb.start()
        end, k = time.perf_counter() + seconds, 0
        while time.perf_counter() < end:
            if on == "idle":                          # no drag: they load at full pace
                pump_until(app, lambda: False, 0.03)
                continue
            s.set_frame(rnd.randrange(n) if k % 12 == 0
                        else s.frame + rnd.choice((-3, -2, -1, 1, 2, 3)))
            k += 1
            pump_until(app, lambda: False, 0.03)
        hb.stop()
        label = {False: "off", True: "on, loading", "idle": "on, loading, no scrubbing"}[on]
        print(f"scrub, gray view, timeline thumbnails {label}: longest event-loop stall "
              f"{hb.stall_ms():.1f} ms, p99 {hb.p99_ms():.1f} ms over {len(hb.gaps)} beats; "
              f"thumbnails loaded {before} -> {len(win.thumbnails.thumbs)}")
    win.set_thumbnails_enabled(False)


def thread_cpu_s(name: str) -> float:
    """CPU seconds (user + system) used so far by this process's thread called `name` (Qt names
    the OS thread after the QThread's objectName); 0 where /proc is not there."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for task in Path("/proc/self/task").glob("*") if Path("/proc/self/task").is_dir() else []:
        try:
            if (task / "comm").read_text().strip() != name:
                continue
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def evenness(shown: list[int], lo: int, hi: int, speed: int) -> str:
    """How evenly the frames shown during playback step through the film: the gaps, in film
    frames, between one picture shown and the next (around the in/out loop). At 1x every gap
    is 1; a 2x or 4x shuttle that drops evenly shows gaps of 2 or 4 only."""
    span = hi - lo + 1
    gaps = [(b - a) % span for a, b in zip(shown, shown[1:]) if b != a]
    if not gaps:
        return "frames shown: none"
    counts = {g: gaps.count(g) for g in sorted(set(gaps))}
    spread = ", ".join(f"{g}: {c}" for g, c in counts.items())
    even = sum(c for g, c in counts.items() if g == speed) / len(gaps)
    return (f"gaps between frames shown (film frames: times) {spread}; "
            f"{100 * even:.0f} % of steps are the even {speed}")


def playback_cached(app, win, model: str, hb: Heartbeat) -> None:
    """Playback once the whole range is colorized (chroma cached): 10 s of the colorized view,
    5 s of split wipe and side by side, 5 s of 2x and 4x shuttle, each started from frame 0
    after the paused look-ahead had 2 s to fill, as an artist pressing Space would."""
    from colorizer_app.gui.session import COLORIZED, SIDE_BY_SIDE, SPLIT
    s, pipe, player = win.session, win.pipeline, win.player
    s.set_view_mode(COLORIZED)
    if pipe.chroma is None:
        win.set_model(model)
        pump_until(app, lambda: win.model_panel.state in ("ready", "error") and
                   pipe.chroma is not None, 120)
    pipe.set_background(True)
    n = s.frame_count
    t0 = time.perf_counter()
    done = pump_until(app, lambda: all(pipe.chroma.has(i) for i in range(n)), 900)
    print(f"range colorized ({n} frames): {done} after {time.perf_counter() - t0:.1f} s")
    fps = float(s.film.fps)
    for label, mode, speed, secs in (("colorized", COLORIZED, 1, 10.0), ("split wipe", SPLIT, 1, 5.0),
                                     ("side by side", SIDE_BY_SIDE, 1, 5.0),
                                     ("colorized", COLORIZED, 2, 5.0), ("colorized", COLORIZED, 4, 5.0)):
        s.set_view_mode(mode)
        s.set_frame(0)
        pump_until(app, lambda: False, 2.0)            # the paused look-ahead fills
        shape, ahead = pipe.play_shape(), len(pipe.composed)
        load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else "?"
        composed = []

        def count(res, composed=composed):
            if res.display is not None:
                composed.append(1)
        pipe.display.frameDecoded.connect(count)
        seen: list[int] = []
        win.viewer.frameShown.connect(seen.append)
        cpu0 = thread_cpu_s("bento-display")
        hb.start()
        player.play(float(speed))
        pump_until(app, lambda: False, secs)
        player.stop()
        hb.stop()
        cpu1 = thread_cpu_s("bento-display")
        pipe.display.frameDecoded.disconnect(count)
        win.viewer.frameShown.disconnect(seen.append)
        # The display worker's own CPU time per frame it decoded and composed during playback:
        # what filling the cache at the film's rate costs, however loaded the machine was (wall
        # times above are not: other processes took the cores).  OpenCV's helper threads not
        # included, so a lower bound.
        per_frame = (cpu1 - cpu0) * 1000 / max(1, len(composed))
        cores = per_frame * fps / 1000
        size = f"{shape[1]}x{shape[0]}" if shape else "full size"
        print(f"playback {secs:g} s at {fps:.3f} fps x{speed} ({label} view, 1080p composed at "
              f"{size}, {ahead} frames ahead at start): {player.shown} frames shown, "
              f"{player.dropped} dropped; longest stall {hb.stall_ms():.1f} ms; "
              f"{len(composed)} composed meanwhile, {per_frame:.0f} ms of the display thread's CPU "
              f"each ({cores:.2f} of a core at the film's rate); load {' '.join(load)}")
        print(f"  {evenness(seen, s.in_point, s.out_point, speed)}")


if __name__ == "__main__":
    sys.exit(main())
