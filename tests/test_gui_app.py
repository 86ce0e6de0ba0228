"""The whole window on a real clip with real workers: open, colorize, scrub, views, in/out, keys,
errors reaching the user, recent files, drag and drop, and the on-disk cache on reopening.

Models here are tiny freshly initialised generators (plumbing only), or a 1x1 convolution with a
constant output where a test needs to know which colour the viewer must show.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent

from colorizer_app.gui.main_window import MainWindow
from colorizer_app.gui.session import COLORIZED, GRAY, ORIGINAL, SIDE_BY_SIDE, SPLIT
from tests.helpers.clips import make_clip, make_text_file

pytestmark = pytest.mark.usefixtures("no_threads_left")

N_FRAMES = 36
SIZE = (160, 96)
TIMEOUT = 30000


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    import keras

    from colorizer_app.core.ml.model import build_generator, save_model
    d = tmp_path_factory.mktemp("gui_assets")
    tiny = save_model(build_generator(width=0.125), d / "tiny.keras")
    # A "model" whose chroma is a known constant: a = +0.5*110, b = +0.3*110 (strong orange-red).
    inp = keras.Input((None, None, 1), name="L")
    out = keras.layers.Conv2D(2, 1, kernel_initializer="zeros",
                              bias_initializer=keras.initializers.Constant([0.5, 0.3]))(inp)
    const = save_model(keras.Model(inp, out), d / "const.keras")
    broken = d / "broken.keras"
    broken.write_bytes(b"PK\x03\x04 this is not a real archive")
    return {"tiny": str(tiny), "const": str(const), "broken": str(broken), "dir": d}


@pytest.fixture
def clip(tmp_path):
    return str(make_clip(tmp_path / "reel.mp4", n_frames=N_FRAMES, size=SIZE, audio=False))


def _window(qtbot, tmp_path, model, size=64):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("model/workSize", size)
    w = MainWindow(settings=settings, model_path=model)
    qtbot.addWidget(w, before_close_func=lambda win: win.shutdown())
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    return w


@pytest.fixture
def win(qtbot, tmp_path, assets):
    w = _window(qtbot, tmp_path, assets["tiny"])
    yield w
    assert w.shutdown()


def _open(qtbot, w, path):
    with qtbot.waitSignal(w.session.filmChanged, timeout=TIMEOUT):
        w.open_path(path)


def _wait_colorized_on_screen(qtbot, w, index):
    def ready():
        b = w.pipeline.bundle(index)
        assert b is not None and b.colorized is not None
        assert w.viewer.shown_index == index
        assert w.viewer.current_pictures().get("left") is b.colorized
    qtbot.waitUntil(ready, timeout=TIMEOUT)


def _key(qtbot, w, key, mod=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(w.viewer.canvas, key, mod)


def test_open_colorize_and_status(qtbot, win, clip):
    _open(qtbot, win, clip)
    film = win.session.film
    assert film.frame_count == N_FRAMES and (film.width, film.height) == SIZE
    with qtbot.waitSignal(win.pipeline.colorizedFrames, timeout=TIMEOUT,
                          check_params_cb=lambda idx: 0 in idx):
        pass
    _wait_colorized_on_screen(qtbot, win, 0)
    st = win.status
    assert st.count.text() == f"{N_FRAMES} frames" and st.rate.text() == "23.976 fps"
    assert st.size.text() == "160×96" and "tiny.keras" in st.model.text()
    assert st.tc.text() == "00:00:00:00"
    # the background fills the whole film, shown on the timeline's cache bar
    qtbot.waitUntil(lambda: win.timeline.colorized_mask().all(), timeout=TIMEOUT)
    # the worker's progress signal is queued just after its frames' signal: the bar follows
    qtbot.waitUntil(lambda: win.model_panel.progress.value() == N_FRAMES, timeout=5000)
    assert Path(film.project_dir, "chroma").is_dir()


def test_keys_scrub_views_and_in_out(qtbot, win, clip):
    _open(qtbot, win, clip)
    s = win.session
    K = Qt.Key
    _key(qtbot, win, K.Key_Right)
    assert s.frame == 1
    _key(qtbot, win, K.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert s.frame == 11
    _key(qtbot, win, K.Key_Left)
    assert s.frame == 10
    _key(qtbot, win, K.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert s.frame == 0
    _key(qtbot, win, K.Key_End)
    assert s.frame == N_FRAMES - 1
    _key(qtbot, win, K.Key_Home)
    assert s.frame == 0
    s.set_frame(5)
    _key(qtbot, win, K.Key_I)
    s.set_frame(20)
    _key(qtbot, win, K.Key_O)
    assert (s.in_point, s.out_point) == (5, 20)
    assert "In 5" in win.timeline.inout_label.text()
    for key, mode in ((K.Key_1, GRAY), (K.Key_2, COLORIZED), (K.Key_3, ORIGINAL),
                      (K.Key_4, SPLIT), (K.Key_5, SIDE_BY_SIDE)):
        _key(qtbot, win, key)
        assert s.view_mode == mode
        assert win.view_actions[mode].isChecked()
    _key(qtbot, win, K.Key_Tab)                # A/B from a compare view goes to A
    assert s.view_mode == COLORIZED
    _key(qtbot, win, K.Key_Tab)
    assert s.view_mode == ORIGINAL             # the clip has colour: B is the original
    # transport: Space, J/K/L
    _key(qtbot, win, K.Key_L)
    _key(qtbot, win, K.Key_L)
    assert win.player.speed == 2
    _key(qtbot, win, K.Key_K)
    assert not win.player.playing
    _key(qtbot, win, K.Key_J)
    assert win.player.speed == -1
    _key(qtbot, win, K.Key_Space)
    assert not win.player.playing
    start = s.frame
    _key(qtbot, win, K.Key_Space)
    qtbot.waitUntil(lambda: s.frame != start, timeout=3000)
    _key(qtbot, win, K.Key_Space)
    assert not win.player.playing
    assert 5 <= s.frame <= 20                   # playback stays inside in/out


def test_scrub_to_new_frame_gets_colorized_and_pixels_match(qtbot, win, clip):
    _open(qtbot, win, clip)
    win.pipeline.set_background(False)          # only what the artist looks at
    tl = win.timeline
    pt = tl.plot.mapFromScene(tl.box.mapViewToScene(QPointF(27, 0.5)))
    qtbot.mouseClick(tl.plot.viewport(), Qt.MouseButton.LeftButton, pos=pt)
    assert win.session.frame == 27
    _wait_colorized_on_screen(qtbot, win, 27)
    pic = win.viewer.current_pictures()["left"]
    for x, y in ((40, 60), (120, 70)):
        shown = win.viewer.screen_pixel(x, y)
        assert np.abs(np.array(shown, int) - pic[y, x].astype(int)).max() <= 6
    # with background work paused, far frames were not colorized
    assert not win.pipeline.chroma.has(N_FRAMES - 1)


def test_known_chroma_reaches_the_screen(qtbot, tmp_path, assets, clip):
    w = _window(qtbot, tmp_path, assets["const"])
    _open(qtbot, w, clip)
    _wait_colorized_on_screen(qtbot, w, 0)
    x, y = 80, 60
    r, g, b = w.viewer.screen_pixel(x, y)
    assert r - g > 25 and r - b > 25            # a = +55, b = +33: a strong warm colour
    w.session.set_view_mode(GRAY)
    r2, g2, b2 = w.viewer.screen_pixel(x, y)
    assert max(r2, g2, b2) - min(r2, g2, b2) <= 2
    w.session.set_view_mode(SPLIT)
    w.session.set_split(0.5)
    qtbot.wait(30)
    left, right = w.viewer.screen_pixel(40, 60), w.viewer.screen_pixel(120, 60)
    src = w.pipeline.bundle(0).source
    assert np.abs(np.array(left, int) - src[60, 40].astype(int)).max() <= 6  # original left
    assert right[0] - right[2] > 25                                          # colorized right
    assert w.shutdown()


def test_work_size_change_rerenders_and_keeps_old_key(qtbot, win, clip):
    _open(qtbot, win, clip)
    win.pipeline.set_background(False)
    _wait_colorized_on_screen(qtbot, win, 0)
    old_key = win.pipeline.chroma.key
    with qtbot.waitSignal(win.pipeline.chromaReset, timeout=TIMEOUT):
        win.model_panel.size_spin.setValue(100)          # snapped to 128
    assert win.session.work_size == 128
    assert win.pipeline.chroma.key.endswith("_128") and win.pipeline.chroma.key != old_key
    _wait_colorized_on_screen(qtbot, win, 0)
    keys = os.listdir(Path(win.session.film.project_dir) / "chroma")
    assert old_key in keys and win.pipeline.chroma.key in keys


def test_reopening_costs_nothing(qtbot, tmp_path, assets, clip):
    w = _window(qtbot, tmp_path, assets["tiny"])
    _open(qtbot, w, clip)
    qtbot.waitUntil(lambda: w.timeline.colorized_mask().all(), timeout=TIMEOUT)
    assert w.shutdown()
    w2 = _window(qtbot, tmp_path, assets["tiny"])
    batches = []
    w2.pipeline.colorizedFrames.connect(batches.append)
    _open(qtbot, w2, clip)
    qtbot.waitUntil(lambda: w2.pipeline.chroma is not None and len(w2.pipeline.chroma) == N_FRAMES,
                    timeout=TIMEOUT)
    _wait_colorized_on_screen(qtbot, w2, 0)
    qtbot.wait(200)
    assert batches == []                                  # nothing was run through the network
    assert w2.shutdown()


def test_bad_film_is_a_message_not_a_crash(qtbot, win, tmp_path, clip):
    bad = str(make_text_file(tmp_path / "notes.mp4"))
    with qtbot.waitSignal(win.pipeline.filmFailed, timeout=TIMEOUT):
        win.open_path(bad)
    assert "notes.mp4" in win.last_message
    win.open_path(str(tmp_path / "missing.mov"))
    assert "missing.mov" in win.last_message
    _open(qtbot, win, clip)                               # and the window still works
    assert win.session.film.frame_count == N_FRAMES


def test_bad_model_is_reported_and_gray_still_works(qtbot, tmp_path, assets, clip):
    w = _window(qtbot, tmp_path, assets["broken"])
    qtbot.waitUntil(lambda: w.model_panel.state == "error", timeout=TIMEOUT)
    assert "broken.keras" in w.model_panel.status_label.text()
    _open(qtbot, w, clip)
    qtbot.waitUntil(lambda: w.viewer.shown_index == 0, timeout=TIMEOUT)
    assert w.viewer.current_pictures()["left"] is w.pipeline.bundle(0).gray
    assert "no model" in w.viewer.status_badge.text()
    assert w.shutdown()


def test_no_model_message(qtbot, tmp_path, clip):
    w = _window(qtbot, tmp_path, "")
    assert w.model_panel.state == "none"
    assert ".keras" in w.model_panel.status_label.text()
    _open(qtbot, w, clip)
    qtbot.waitUntil(lambda: w.viewer.shown_index == 0, timeout=TIMEOUT)
    assert w.shutdown()


def test_worker_failure_reaches_the_user(qtbot, win, clip, monkeypatch):
    from colorizer_app.core.ml.inference import Colorizer

    def boom(self, frames):
        raise RuntimeError("out of memory in the network")

    monkeypatch.setattr(Colorizer, "predict_work", boom)
    with qtbot.waitSignal(win.pipeline.workerError, timeout=TIMEOUT) as blocker:
        _open(qtbot, win, clip)
    assert "out of memory" in blocker.args[0]
    assert win.model_panel.error_label.isVisibleTo(win.model_panel)
    win.session.set_frame(3)                              # the GUI keeps working
    qtbot.waitUntil(lambda: win.viewer.shown_index == 3, timeout=TIMEOUT)


def test_recent_files_and_drop(qtbot, win, clip, tmp_path):
    _open(qtbot, win, clip)
    assert win.recent_files()[0] == clip
    assert [a.toolTip() for a in win.recent_menu.actions()][0] == clip
    other = str(make_clip(tmp_path / "other.mp4", n_frames=5, size=(64, 48), audio=False))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(other)])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(win.session.filmChanged, timeout=TIMEOUT):
        win.dropEvent(drop)
    assert win.session.film.frame_count == 5
    assert win.recent_files()[:2] == [other, clip]


def test_command_line_help():
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, str(root / "main.py"), "--help"], capture_output=True,
                         text=True, timeout=60, cwd=root)
    assert out.returncode == 0 and "FILM" not in out.stderr and "--model" in out.stdout
