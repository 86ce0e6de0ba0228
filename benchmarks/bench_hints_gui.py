"""Hint tool figures in the real review window (prints them; exits 0).

    python benchmarks/bench_hints_gui.py [--model HINT_GEN.keras] [--edits 50] [--size 256]

  * mouse release → the recoloured picture on screen, over N hint edits (placements, moves,
    recolours) at the working size: median and worst                (goal <= 150 ms at 256 px)
  * dragging a hint for 3 s (a move every 16 ms): the longest event-loop stall (goal <= 50 ms)
    and how many pictures reached the screen during the drag
  * the hinted frame's keyframe (on, the app's default): how long after the drag it lands, and
    the longest stall meanwhile

Without --model the shipped hint model (resources/models/bento_hints.keras) is timed.
The film: a 960×540 H.264 clip made in code. The tool is driven through its own handlers
(press / drag / release in image pixels), so the figures include the undo step, the overlay,
the network in the hint worker, the compose in the display worker and the repaint.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QPointF, QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from benchmarks.bench_gui import Heartbeat, fmt, pump_until  # noqa: E402


def hint_model(given: str | None) -> tuple[str, str]:
    """The model to time: the one given, else the shipped hint model (bento_hints.keras)."""
    from colorizer_app.core.ml.bundled import HINT_MODEL

    if given:
        return given, Path(given).name
    return str(HINT_MODEL), f"shipped hint model {HINT_MODEL.name}"


def main() -> int:
    from colorizer_app.core.heap import configure_heap
    configure_heap()      # as the app's and the CLI's main do, before any thread starts
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model")
    ap.add_argument("--edits", type=int, default=50)
    ap.add_argument("--size", type=int, default=256)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_hints_"))
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    os.environ["BENTOCOLOR_AUTOSAVE_DIR"] = str(tmp / "autosave")
    app = QApplication.instance() or QApplication([])
    from tests.helpers.clips import make_clip
    clip = str(make_clip(tmp / "bench_540p.mp4", n_frames=12, size=(960, 540), audio=False))
    model, desc = hint_model(args.model)
    print(f"model: {desc}; working size {args.size} px; film 960x540")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start "
          "(other processes on the machine inflate every figure below)")

    from colorizer_app.gui.hints.controller import KEY_QUIET_MS
    from colorizer_app.gui.main_window import MainWindow
    settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("model/workSize", args.size)
    settings.setValue("view/proxies", False)
    win = MainWindow(settings=settings, model_path=model)
    win.project.ask = lambda kind, text: "discard"
    win.resize(1600, 1000)
    win.show()
    s, pipe, viewer, hc = win.session, win.pipeline, win.viewer, win.hints
    win.open_path(clip)

    def on_screen() -> bool:
        b = pipe.bundle(s.frame)
        return b is not None and b.colorized is not None and \
            viewer.current_pictures().get("left") is b.colorized

    if not pump_until(app, lambda: hc.takes_hints and on_screen(), 120):
        print("the hint model or the first frame never arrived")
        return 1
    pipe.set_background(False)         # the artist is working on this frame
    assert hc.panel.key_box.isChecked()  # the app's default: the hinted frame is a keyframe
    hc.set_active(True)
    tool = hc.tool
    rng = random.Random(1)
    shown_hints: list = [None]
    hc.shown.connect(lambda f: shown_hints.__setitem__(0, tuple(hc.store.hints(f))))

    def settled(old) -> bool:
        want = tuple(hc.store.hints(s.frame))
        return shown_hints[0] == want and on_screen() and \
            viewer.current_pictures().get("left") is not old and \
            pipe.bundle(s.frame).compose_gen == pipe._gen(s.frame)

    def pt():
        return QPointF(rng.uniform(20, 940), rng.uniform(20, 520))

    times, none = [], Qt.KeyboardModifier.NoModifier
    for k in range(args.edits + 3):        # 3 warm-up edits first
        old = viewer.current_pictures().get("left")
        hc.colour_panel.set_colour(rng.uniform(-60, 60), rng.uniform(-60, 60))
        items = hc.store.items(s.frame)
        if k % 3 == 2 and items:           # recolour a hint
            hc.select(rng.choice(items)[0])
            t0 = time.perf_counter()
            hc.recolour_selected()
        elif k % 3 == 1 and items:         # move a hint
            h = rng.choice(items)[1]
            tool.press(QPointF(h.x + 0.5, h.y + 0.5), none)
            p = pt()
            tool.drag(p, none)
            tool.release(p, none)
            t0 = time.perf_counter()
        else:                              # place one
            p = pt()
            tool.press(p, none)
            tool.release(p, none)
            t0 = time.perf_counter()
        if not pump_until(app, lambda: settled(old), 30):
            print(f"edit {k}: the picture never arrived")
            return 1
        if k >= 3:
            times.append((time.perf_counter() - t0) * 1000)
    print(f"hint edit, mouse release -> new picture on screen: {fmt(times)}   (goal <= 150 ms)")

    # a drag: a move every 16 ms for 3 s
    hb = Heartbeat()
    h = hc.store.items(s.frame)[0][1]
    frames_seen = [0]
    hc.shown.connect(lambda f: frames_seen.__setitem__(0, frames_seen[0] + 1))
    tool.press(QPointF(h.x + 0.5, h.y + 0.5), none)
    hb.start()
    t_end = time.perf_counter() + 3.0
    x, y, dx = h.x, h.y, 4.0
    while time.perf_counter() < t_end:
        x += dx
        if not 20 <= x <= 940:
            dx = -dx
        tool.drag(QPointF(x, y), none)
        nxt = time.perf_counter() + 0.016
        while time.perf_counter() < nxt:
            app.processEvents()
            time.sleep(0.001)
    tool.release(QPointF(x, y), none)
    hb.stop()
    print(f"drag 3 s: longest event-loop stall {hb.stall_ms():.1f} ms, p99 {hb.p99_ms():.1f} ms "
          f"(goal <= 50 ms); {frames_seen[0]} recoloured pictures during the drag "
          f"(last network run {hc.worker.last_s * 1000:.0f} ms)")

    # the frame's keyframe follows once the hints are still (KEY_QUIET_MS), made off the GUI
    # thread: how long after the release, and the longest stall meanwhile
    key = win.temporal.keys.get(s.frame)
    before = key.path if key is not None else None
    hb.start()
    t0 = time.perf_counter()
    ok = pump_until(app, lambda: (k := win.temporal.keys.get(s.frame)) is not None
                    and k.path != before, 30)
    waited = (time.perf_counter() - t0) * 1000
    pump_until(app, lambda: False, 0.5)          # and the propagation it starts
    hb.stop()
    print(f"keyframe of the hinted frame after the drag: {'in' if ok else 'NOT in'} {waited:.0f} ms "
          f"(hints still for {KEY_QUIET_MS} ms first); longest event-loop stall meanwhile "
          f"{hb.stall_ms():.1f} ms")
    win.shutdown()
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
