"""Timeline thumbnails: off by default, decoded in the background (coarse to fine) when turned on,
paused while the artist is at work, drawn above the timeline, and stopped when turned off."""
import time

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from colorizer_app.gui.main_window import MainWindow
from colorizer_app.gui.thumbnails import THUMB_H, coarse_to_fine
from colorizer_app.gui.workers import running_threads
from tests.helpers.clips import make_clip

pytestmark = pytest.mark.usefixtures("no_threads_left")

TIMEOUT = 30000


def test_coarse_to_fine_covers_the_film_evenly():
    order = coarse_to_fine(1000)
    assert len(order) == len(set(order)) == 256 and order[:2] == [0, 501]
    first8 = sorted(order[:8])
    assert max(np.diff(first8)) <= 1000 / 4      # any prefix is spread over the whole film
    assert sorted(coarse_to_fine(5)) == [0, 1, 2, 3, 4]


def test_thumbnails_load_in_background_pause_for_the_artist_and_stop(qtbot, tmp_path):
    clip = str(make_clip(tmp_path / "reel.mp4", n_frames=30, size=(160, 96), audio=False))
    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                   model_path="")
    qtbot.addWidget(w, before_close_func=lambda win: win.shutdown())
    w.show()
    qtbot.waitExposed(w)
    strip, action = w.thumbnails, w.actions_by_name["thumbnails"]
    assert not action.isChecked() and not strip.isVisible() and strip.worker is None
    with qtbot.waitSignal(w.session.filmChanged, timeout=TIMEOUT):
        w.open_path(clip)
    action.setChecked(True)
    assert strip.isVisible() and "bento-thumbnails" in [t.objectName() for t in running_threads()]
    qtbot.waitUntil(lambda: len(strip.thumbs) == 30, timeout=TIMEOUT)
    img = strip.thumbs[0]
    assert (img.width(), img.height()) == (round(THUMB_H * 160 / 96), THUMB_H)
    assert w.settings.value("view/thumbnails", False, bool)
    shot = strip.grab().toImage()
    colours = {shot.pixel(x, THUMB_H // 2) for x in range(0, shot.width(), 7)}
    assert len(colours) > 10                         # pictures, not the empty strip

    # the artist at work: nothing is decoded until the pause ends
    w.session.set_frame(5)
    strip.worker.busy_until = time.monotonic() + 3600
    with qtbot.waitSignal(w.session.filmChanged, timeout=TIMEOUT):
        w.open_path(clip)                            # again: thumbnails start over
    strip.worker.busy_until = time.monotonic() + 3600   # (opening moved the playhead)
    qtbot.wait(600)
    assert len(strip.thumbs) == 0
    strip.worker.busy_until = 0.0
    strip.worker.kick()
    qtbot.waitUntil(lambda: len(strip.thumbs) == 30, timeout=TIMEOUT)

    action.setChecked(False)
    assert not strip.isVisible() and strip.worker is None
    assert "bento-thumbnails" not in [t.objectName() for t in running_threads()]
    assert w.shutdown()
