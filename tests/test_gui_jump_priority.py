"""A jump beats the background: a background batch still being prepared is dropped for the frame
the artist jumped to (gui/colorize_worker.py), and playback's own moves never drop one."""
import threading
import time

import pytest
from PySide6.QtCore import QThread

from colorizer_app.core import color
from colorizer_app.core.pipeline.scheduler import Plan
from colorizer_app.gui import colorize_worker
from tests.helpers import clips
from tests.helpers.paint import TIMEOUT, make_window, open_and_wait
from tests.test_gui_preview import _lightness_model

N = 48
SIZE = (320, 180)


@pytest.mark.usefixtures("private_autosave", "no_threads_left")
def test_a_jump_drops_the_background_batch_being_prepared(qtbot, tmp_path, monkeypatch):
    luminance = color.luminance

    def slow_in_the_worker(frame):          # as a 1080p colour frame's float L on a busy machine
        if QThread.currentThread().objectName() == "bento-colorize":
            time.sleep(0.15)
        return luminance(frame)
    monkeypatch.setattr(color, "luminance", slow_in_the_worker)
    monkeypatch.setattr(colorize_worker, "MAX_BATCH_S", 60.0)   # batches of 4 even so slow
    batches, started = [], threading.Event()
    run = colorize_worker.ColorizeWorker._run_batch

    def spy(self, batch, plan):
        batches.append(list(batch))
        if len(batch) > 1:
            started.set()
        return run(self, batch, plan)
    monkeypatch.setattr(colorize_worker.ColorizeWorker, "_run_batch", spy)
    path = str(clips.make_clip(tmp_path / "film.mp4", n_frames=N, size=SIZE, gop=N, audio=False))
    w, _ctl = make_window(qtbot, tmp_path, _lightness_model(tmp_path))
    pipe = w.pipeline
    open_and_wait(qtbot, w, path)                 # background colorizing on, as by default
    qtbot.waitUntil(started.is_set, timeout=TIMEOUT)
    background = next(b for b in reversed(batches) if len(b) > 1)
    done = []
    pipe.colorizer.colorized.connect(lambda key, idx: done.append(list(idx)))
    w.session.set_frame(40)
    qtbot.waitUntil(lambda: any(40 in d for d in done), timeout=TIMEOUT)
    assert 40 not in background
    assert done[0] == [40], f"the jump waited for {done[0]}"
    assert not any(pipe.chroma.has(i) for i in background)   # dropped, not half-kept
    qtbot.waitUntil(lambda: all(pipe.chroma.has(i) for i in background), timeout=TIMEOUT)


def test_only_the_artists_moves_count_as_jumps():
    worker = colorize_worker.ColorizeWorker.__new__(colorize_worker.ColorizeWorker)
    worker._lock = threading.Lock()

    class Cache:
        @staticmethod
        def has(i):
            return i == 5
    worker._cache = Cache()
    before = Plan(10, 0, 47, 48)
    for now, jumped in ((Plan(30, 0, 47, 48), True),
                        (Plan(30, 0, 47, 48, playing=True), False),   # playback moved it
                        (Plan(5, 0, 47, 48), False),                  # to a frame with chroma
                        (Plan(10, 0, 47, 48), False)):                # not moved
        worker._plan = now
        assert worker._artist_jumped(before) is jumped
