"""A new colorized frame without a display proxy, the app as shipped (A) against the app without
the preview from the film's own frame (B), paired in one process (prints them; exits 0).

    python benchmarks/bench_new_frame.py [--clip FILM] [--pairs 12] [--seed 3] [--trace]

Why paired: this machine's speed drifts by 1.5x from hour to hour, and a jump's cost is mostly
the decode from the previous keyframe, so medians from two runs, or over different frames, say
little about a 20-40 ms change.  Here each pair is two frames one GOP (48 frames) apart, at the
same distance from their keyframes, one colorized in mode A and one in mode B, alternating which
goes first; every jump is to a frame the network has not seen (background colorizing off).

B is the previous behaviour: no preview from the film's own frame
(ColorizeWorker._preview_from_film), and the display worker's gray picture computes the float L
that the network then shares (share_L), as before.  Figures: ms from the playhead change to the
first colour picture painted (display size), and to the full-size picture painted.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_gui as bg  # noqa: E402  (sets the Qt platform and the path first)

GOP = 48


def main() -> int:
    from colorizer_app.core.heap import configure_heap
    configure_heap()
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip", help="a 1080p film with a 48-frame GOP (default: made here)")
    ap.add_argument("--model")
    ap.add_argument("--pairs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--trace", action="store_true", help="one line per jump")
    args = ap.parse_args()

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from colorizer_app.core import compose
    from colorizer_app.gui import colorize_worker, decode_worker
    from colorizer_app.gui.main_window import MainWindow
    from colorizer_app.gui.session import COLORIZED

    tmp = Path(tempfile.mkdtemp(prefix="bench_new_frame_"))
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    os.environ["BENTOCOLOR_AUTOSAVE_DIR"] = str(tmp / "autosave")
    app = QApplication.instance() or QApplication([])
    clip = args.clip or bg.make_clip(tmp)
    model, model_desc = bg.model_path(tmp, args.model)
    print(f"clip: {clip}\nmodel: {model_desc}")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")

    mode = ["A"]
    preview = colorize_worker.ColorizeWorker._preview_from_film
    gray_view = compose.gray_view

    def preview_in_a(self, *a, **k):
        return preview(self, *a, **k) if mode[0] == "A" else None

    def gray_view_b_shares(frame, has_color, share_L=False):
        return gray_view(frame, has_color, share_L=True if mode[0] == "B" else share_L)
    colorize_worker.ColorizeWorker._preview_from_film = preview_in_a   # type: ignore[method-assign]
    decode_worker.compose.gray_view = gray_view_b_shares               # type: ignore[attr-defined]

    settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("view/proxies", False)
    win = MainWindow(settings=settings, model_path="")
    win.resize(1600, 1000)
    win.show()
    s, pipe, viewer = win.session, win.pipeline, win.viewer
    watch = bg.PaintWatch(viewer)
    win.open_path(clip)
    assert bg.pump_until(app, lambda: s.film is not None, 60), win.last_message
    n = s.frame_count
    bg.pump_until(app, lambda: viewer.shown_index == 0, 30)
    s.set_view_mode(COLORIZED)
    pipe.set_background(False)
    win.set_model(model)
    bg.pump_until(app, lambda: win.model_panel.state in ("ready", "error") and
                  pipe.chroma is not None, 120)
    bg.pump_until(app, lambda: False, 1.0)
    print(f"film: {s.film.width}x{s.film.height}, {n} frames; shown at {pipe.play_shape()}")

    rnd = random.Random(args.seed)
    seq = []
    for k, i in enumerate(rnd.sample(range(n - GOP), min(args.pairs, n - GOP))):
        a, b = (i, i + GOP) if k % 2 == 0 else (i + GOP, i)
        seq += [("A", a), ("B", b)] if k % 4 < 2 else [("B", b), ("A", a)]
    first: dict[str, list[float]] = {"A": [], "B": []}
    full: dict[str, list[float]] = {"A": [], "B": []}
    for m, i in seq:
        if pipe.chroma.has(i):
            continue
        mode[0] = m
        t0 = time.perf_counter()
        s.set_frame(i)

        def on_screen(full_size: bool, i: int = i) -> bool:
            b = pipe.bundle(i) if full_size else pipe.view_bundle(i)
            return viewer.shown_index == i and b is not None and b.colorized is not None \
                and viewer.current_pictures().get("left") is b.colorized and watch.painted()
        if not bg.pump_until(app, lambda: on_screen(False), 30):
            continue
        first[m].append((time.perf_counter() - t0) * 1000)
        bg.pump_until(app, lambda: on_screen(True), 30)
        full[m].append((time.perf_counter() - t0) * 1000)
        if args.trace:
            print(f"  {m} frame {i:4d}: first colour {first[m][-1]:6.1f} ms, full size "
                  f"{full[m][-1]:6.1f} ms")
        bg.pump_until(app, lambda: False, 0.3)
    for m, label in (("A", "as shipped (preview from the film's frame)"),
                     ("B", "without it (the network waits for the full-size L)")):
        if first[m]:
            print(f"{m} {label}: first colour picture median {statistics.median(first[m]):6.1f} ms"
                  f" (max {max(first[m]):.1f}), full size {statistics.median(full[m]):6.1f} ms"
                  f" (n={len(first[m])})")
    print(f"load average {os.getloadavg()[0]:.1f} at the end; workers stopped cleanly: "
          f"{win.shutdown()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
