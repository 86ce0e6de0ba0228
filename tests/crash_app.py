"""The app as a separate process that the kill -9 tests kill (tests/test_kill_recovery.py).

    python tests/crash_app.py WORLD MODEL FILM_A FILM_B

Window A opens FILM_A, paints, saves at the film's default project, paints again and autosaves;
window B opens FILM_B, paints and autosaves without ever saving (untitled). Then it prints
READY and keeps the event loop running until the test kills it with SIGKILL: the autosaves
are all that is left of the second strokes.
"""
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


class Bot:
    """The few qtbot calls tests/helpers/paint.py makes, on QTest (no pytest here)."""

    def mouseMove(self, w, pos):
        QTest.mouseMove(w, pos)

    def mousePress(self, w, button, pos):
        QTest.mousePress(w, button, Qt.KeyboardModifier.NoModifier, pos)

    def mouseRelease(self, w, button, pos):
        QTest.mouseRelease(w, button, Qt.KeyboardModifier.NoModifier, pos)

    def wait(self, ms):
        # Not QTest.qWait: PySide6 keeps the GIL while it sleeps in there, so the app's worker
        # threads (decoding, the network, TensorFlow's import) starved; a QEventLoop lets go.
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def waitUntil(self, fn, timeout=60000):
        end = time.monotonic() + timeout / 1000.0
        while True:
            try:
                if fn() is not False:
                    return
            except AssertionError:
                if time.monotonic() > end:
                    raise
            if time.monotonic() > end:
                raise TimeoutError("crash_app: condition not met in time")
            self.wait(20)


def open_window(world: Path, model: str, settings_name: str):
    from colorizer_app.gui.main_window import MainWindow
    from colorizer_app.gui.paint import attach_painting
    settings = QSettings(str(world / settings_name), QSettings.Format.IniFormat)
    settings.setValue("model/workSize", 64)
    w = MainWindow(settings=settings, model_path=model)
    ctl = attach_painting(w)
    w.project.ask = lambda kind, text: "cancel"
    w.resize(900, 600)
    w.show()
    return w, ctl


def paint(bot, w, ctl, film, colour, points):
    from tests.helpers.paint import stroke, wait_colorized, wait_shows_expected
    if w.session.film is None or w.session.film.path != film:
        QTest.qWaitForWindowExposed(w)
        w.open_path(film)
        bot.waitUntil(lambda: w.session.film is not None and w.project.project is not None)
        bot.waitUntil(lambda: not w.temporal.detecting)
        w.pipeline.set_background(False)
        ctl.set_brush_active(True)
        ctl.brush_panel.set_size(20)
        wait_colorized(bot, w, 0)
    ctl.colour_panel.set_colour(*colour)
    before = w.painting.undo.index()
    stroke(bot, w, points)
    bot.waitUntil(lambda: w.painting.undo.index() > before)     # the stroke is one undo step
    wait_shows_expected(bot, w, ctl)


def main() -> None:
    world, model, film_a, film_b = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    from colorizer_app.core.project.project import default_project_path
    app = QApplication.instance() or QApplication([sys.argv[0]])
    bot = Bot()
    a, ctl_a = open_window(world, model, "settings.ini")
    paint(bot, a, ctl_a, film_a, (-40.0, 35.0), [(40, 40), (90, 50)])
    assert a.project.save_as(default_project_path(film_a))
    paint(bot, a, ctl_a, film_a, (20.0, -40.0), [(120, 30), (130, 70)])
    auto_a = a.project.autosave()
    assert auto_a is not None
    b, ctl_b = open_window(world, model, "settings-b.ini")
    paint(bot, b, ctl_b, film_b, (30.0, 30.0), [(30, 60), (100, 60)])
    auto_b = b.project.autosave()
    assert auto_b is not None
    print("READY", auto_a, auto_b, flush=True)
    while True:                      # alive until killed, as an artist's app would be
        app.processEvents()
        time.sleep(0.02)


if __name__ == "__main__":
    main()
