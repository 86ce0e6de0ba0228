"""Shared by the painting/project/export GUI tests: a real MainWindow with painting attached."""
import numpy as np
from PySide6.QtCore import QPointF, QSettings, Qt
from PySide6.QtWidgets import QApplication

from colorizer_app.gui.main_window import MainWindow
from colorizer_app.gui.paint import attach_painting

TIMEOUT = 30000


def make_assets(d):
    import keras

    from colorizer_app.core.ml.model import build_generator, save_model
    tiny = save_model(build_generator(width=0.125), d / "tiny.keras")
    inp = keras.Input((None, None, 1), name="L")
    out = keras.layers.Conv2D(2, 1, kernel_initializer="zeros",
                              bias_initializer=keras.initializers.Constant([0.3, 0.3]))(inp)
    const = save_model(keras.Model(inp, out), d / "const.keras")
    return {"tiny": str(tiny), "const": str(const)}


def make_window(qtbot, tmp_path, model, name="settings.ini", size=64):
    settings = QSettings(str(tmp_path / name), QSettings.Format.IniFormat)
    settings.setValue("model/workSize", size)
    w = MainWindow(settings=settings, model_path=model)
    ctl = attach_painting(w)
    w.project.ask = lambda kind, text: "discard"
    qtbot.addWidget(w, before_close_func=lambda win: win.shutdown())
    w.resize(900, 600)
    w.show()
    qtbot.waitExposed(w)
    return w, ctl


def open_and_wait(qtbot, w, path, index=0):
    with qtbot.waitSignal(w.session.filmChanged, timeout=TIMEOUT):
        w.open_path(path)
    wait_colorized(qtbot, w, index)


def wait_colorized(qtbot, w, index=0):
    def ready():
        b = w.pipeline.bundle(index)
        assert b is not None and b.colorized is not None
        assert w.viewer.current_pictures().get("left") is b.colorized
    qtbot.waitUntil(ready, timeout=TIMEOUT)
    return w.pipeline.bundle(index).colorized


def wait_recomposed(qtbot, w, old, index=0):
    """Wait until the frame on screen is a new composition (another array than `old`)."""
    def ready():
        b = w.pipeline.bundle(index)
        assert b is not None and b.colorized is not None and b.colorized is not old
        assert w.viewer.current_pictures().get("left") is b.colorized
    qtbot.waitUntil(ready, timeout=TIMEOUT)
    return w.pipeline.bundle(index).colorized


def widget_pos(w, x, y):
    v = w.viewer
    return v.canvas.mapFromScene(v.left.mapViewToScene(QPointF(x, y)))


def stroke(qtbot, w, points):
    """Drag with the left button through image pixel points on the viewer."""
    vp = w.viewer.canvas.viewport()
    # hover first, as a hand does; and never within a double-click of the last stroke
    qtbot.mouseMove(vp, widget_pos(w, *points[0]))
    qtbot.wait(QApplication.doubleClickInterval() + 20)
    # image → widget mapping taken at each event: a late layout pass (docks settling on a loaded
    # machine) can re-fit the view during the wait, and stale positions paint somewhere else
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=widget_pos(w, *points[0]))
    for x, y in points[1:]:
        qtbot.mouseMove(vp, widget_pos(w, x, y))
        qtbot.wait(5)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=widget_pos(w, *points[-1]))


def lab(rgb):
    import cv2
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def expected_picture(w, ctl, index=0):
    """What the frame must look like: core compose with the corrections, computed here."""
    from colorizer_app.core import compose
    chroma, b = w.pipeline.chroma, w.pipeline.bundle(index)
    box = compose.letterbox(b.source.shape[0], b.source.shape[1], chroma.size)
    return compose.compose_colorized(b.source, chroma.get(index), box, index=index,
                                     override=ctl.override)


def wait_shows_expected(qtbot, w, ctl, index=0):
    """Wait until the viewer shows exactly the corrected composition of the frame."""
    def ready():
        b = w.pipeline.bundle(index)
        assert b is not None and b.colorized is not None and w.pipeline.chroma is not None
        want = expected_picture(w, ctl, index)
        assert w.viewer.current_pictures().get("left") is b.colorized
        assert np.array_equal(b.colorized, want)
    qtbot.waitUntil(ready, timeout=TIMEOUT)
    return w.pipeline.bundle(index).colorized
