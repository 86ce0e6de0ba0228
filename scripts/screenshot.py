#!/usr/bin/env python3
"""README screenshot: the real app on a black-and-white pan clip, under Xvfb.

    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshot.py PHOTO OUT.png [--model M]

The clip pans across PHOTO made gray (use a test-split photo: never one the model trained on);
the window shows the split wipe Gray | Colorized with in/out set, once the range is colorized.
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
    p.add_argument("--model")
    a = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bento-shot-"))
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")  # fresh settings, not the user's
    os.environ["BENTOCOLOR_AUTOSAVE_DIR"] = str(tmp / "autosave")
    import cv2

    from tests.clips import pan_clip_from_photo

    gray = tmp / "gray.png"
    cv2.imwrite(str(gray), cv2.cvtColor(cv2.imread(a.photo, cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2BGR))
    film = pan_clip_from_photo(gray, tmp / "film.mp4", n=72, size=(1280, 720), audio=True)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    from colorizer_app.gui import app as gui_app
    from colorizer_app.gui.main_window import MainWindow
    from colorizer_app.gui.session import SPLIT

    start = time.time()

    def step():
        w = next(x for x in app.topLevelWidgets() if isinstance(x, MainWindow))
        s = w.session
        if s.film is None or w.pipeline.chroma is None:
            QTimer.singleShot(200, step)
            return
        if s.view_mode != SPLIT:
            s.set_view_mode(SPLIT)
            s.set_split(0.45)
            s.set_frame(30)
            s.set_in_out(12, 60)
            QTimer.singleShot(200, step)
            return
        b = w.pipeline.bundle(30)
        done = w.timeline.colorized_mask().sum()
        if (b is None or b.colorized is None or done < 40) and time.time() - start < 300:
            QTimer.singleShot(300, step)
            return
        app.processEvents()
        w.grab().save(a.out)
        print("saved", a.out, "colorized frames", int(done))
        w.close()
        app.quit()

    QTimer.singleShot(500, step)
    return gui_app.main([str(film)] + (["--model", a.model] if a.model else []))


if __name__ == "__main__":
    sys.exit(main())
