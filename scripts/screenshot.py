#!/usr/bin/env python3
"""README screenshots: the real app on a black-and-white pan clip, on a 1920×1080 virtual screen.

    xvfb-run -a -s "-screen 0 1920x1080x24" python scripts/screenshot.py PHOTO OUT.png \
        [--scene review|temporal|painting|hints] [--model M]

The clip pans across PHOTO made gray (use a test-split photo: never one the model trained on).
The window fills the screen, with the default panel layout, once the in/out range is colorized:
  review    split wipe Gray | Colorized, in/out set
  temporal  colorized view, deflicker at 50 %, the Temporal panel up front, and a keyframe
            at frame 30 marked once its colour frame is shown
  painting  colorized view, the brush on, two strokes in a new colour (driven through the brush
            tool itself: synthetic mouse events do not reach pyqtgraph under Xvfb), the Colour
            and Corrections panels up front
  hints     colorized view, the hint tool on (needs a hint model, --model hints), twelve hints
            placed through the hint tool on a 4 x 3 grid, each the true colour of the photo under
            it (read from a colour copy of the same pan), the picture recoloured from them
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("photo")
    p.add_argument("out")
    p.add_argument("--scene", choices=("review", "temporal", "painting", "hints"), default="review")
    p.add_argument("--model")
    a = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bento-shot-"))
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")  # fresh settings, not the user's
    os.environ["BENTOCOLOR_AUTOSAVE_DIR"] = str(tmp / "autosave")
    import cv2

    from tests.helpers.clips import pan_clip_from_photo

    gray = tmp / "gray.png"
    cv2.imwrite(str(gray), cv2.cvtColor(cv2.imread(a.photo, cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2BGR))
    film = pan_clip_from_photo(gray, tmp / "film.mp4", n=72, size=(1280, 720), audio=True)
    truth = None
    if a.scene == "hints":   # the same pan in colour: where the hint colours come from
        from colorizer_app.core.media import open_media
        colour = pan_clip_from_photo(a.photo, tmp / "colour.mkv", n=72, size=(1280, 720))
        with open_media(colour) as r:
            truth = cv2.cvtColor(r.read(30)[..., :3].astype("float32") / 255.0, cv2.COLOR_RGB2Lab)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    from colorizer_app.gui import app as gui_app
    from colorizer_app.gui import window_layout
    from colorizer_app.gui.main_window import MainWindow
    from colorizer_app.gui.session import COLORIZED, SPLIT

    start = time.time()
    staged = []

    def stage(w) -> None:
        s = w.session
        s.set_frame(30)
        s.set_in_out(12, 60)
        if a.scene == "review":
            s.set_view_mode(SPLIT)
            s.set_split(0.45)
        elif a.scene == "painting":
            s.set_view_mode(COLORIZED)
            QTimer.singleShot(2500, lambda: paint_strokes(w))   # once the colour frame is shown
        elif a.scene == "hints":
            s.set_view_mode(COLORIZED)
            QTimer.singleShot(2500, lambda: place_hints(w))
        else:
            s.set_view_mode(COLORIZED)
            QTimer.singleShot(2500, w.temporal.mark_keyframe)   # once the colour frame is shown
            w.temporal.panel.set_strength(0.5)
            w.temporal.set_strength(0.5)
            window_layout.docks(w)["temporalDock"].raise_()

    def paint_strokes(w) -> None:
        from PySide6.QtCore import QPointF, Qt
        ctl = w.painting
        ctl.set_brush_active(True)
        ctl.brush_panel.set_size(90)
        ctl.colour_panel.set_colour(38.0, 42.0)      # a warm red-orange over the model's colours
        fw, fh = w.session.film.width, w.session.film.height
        none = Qt.KeyboardModifier.NoModifier
        for y in (0.38, 0.5):
            pts = [QPointF(fw * (0.22 + 0.02 * k), fh * (y + 0.01 * (k % 3))) for k in range(16)]
            ctl.tool.hover(pts[0])
            ctl.tool.press(pts[0], none)
            for pt in pts[1:]:
                ctl.tool.drag(pt, none)
            ctl.tool.release(pts[-1], none)
        ctl.tool.hover(QPointF(fw * 0.62, fh * 0.45))
        window_layout.docks(w)["correctionsDock"].raise_()

    def place_hints(w) -> None:
        from PySide6.QtCore import QPointF, Qt
        ctl = w.hints
        ctl.set_active(True)
        fw, fh = w.session.film.width, w.session.film.height
        none = Qt.KeyboardModifier.NoModifier
        # a click on each region of a 4 x 3 grid, as an artist gives each object its colour
        for fx, fy in [(0.14 + 0.24 * i, 0.2 + 0.3 * j) for j in range(3) for i in range(4)]:
            x, y = int(fw * fx), int(fh * fy)
            _, ha, hb = truth[y - 2:y + 3, x - 2:x + 3].reshape(-1, 3).mean(0)
            ctl.colour_panel.set_colour(float(ha), float(hb))
            pt = QPointF(x, y)
            ctl.tool.press(pt, none)
            ctl.tool.release(pt, none)
        ctl.select(None)
        window_layout.docks(w)["hintsDock"].raise_()

    def step():
        w = next(x for x in app.topLevelWidgets() if isinstance(x, MainWindow))
        s = w.session
        if s.film is None or w.pipeline.chroma is None:
            QTimer.singleShot(200, step)
            return
        if not staged:
            w.setGeometry(w.screen().availableGeometry())   # the whole 1920×1080 screen
            QTimer.singleShot(300, step)
            staged.append("geometry")
            return
        done = w.timeline.colorized_mask().sum()
        b = w.pipeline.bundle(30)
        if len(staged) == 1 and (b is None or b.colorized is None or b.proxy or done < 40) \
                and time.time() - start < 300:      # the film's own frame, not the proxy
            QTimer.singleShot(300, step)
            return
        if len(staged) == 1:
            stage(w)
            staged.append("scene")
            QTimer.singleShot({"review": 4000, "hints": 20000}.get(a.scene, 7000), step)  # recompose, temporal
            return
        app.processEvents()
        w.grab().save(a.out)
        print("saved", a.out, w.width(), "x", w.height(), "colorized frames", int(done), flush=True)
        # not w.close(): the staged edits would ask "Save changes?" in a modal box nobody answers
        w.shutdown()
        os._exit(0)

    QTimer.singleShot(500, step)
    return gui_app.main([str(film)] + (["--model", a.model] if a.model else []))


if __name__ == "__main__":
    sys.exit(main())
