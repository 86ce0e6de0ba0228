"""SharedFrames: a reader waits for a frame only while another thread has said it decodes it."""
import threading
import time

import numpy as np

from colorizer_app.core.media.frames import SharedFrames


def _timed_get(shared, index, wait_s):
    t0 = time.monotonic()
    got = shared.get("film", index, wait_s=wait_s)
    return got, time.monotonic() - t0


def test_no_wait_for_a_frame_nobody_decodes():
    shared = SharedFrames()
    got, took = _timed_get(shared, 7, 2.0)
    assert got is None and took < 0.2
    shared.expect("film", 8)                       # another frame is on its way
    got, took = _timed_get(shared, 7, 2.0)
    assert got is None and took < 0.2


def test_waits_for_the_expected_frame_until_it_is_put():
    shared = SharedFrames()
    frame = np.zeros((4, 4, 3), np.uint8)
    shared.expect("film", 7)
    threading.Timer(0.15, shared.put, ("film", 7, frame)).start()
    got, took = _timed_get(shared, 7, 3.0)
    assert got is frame and 0.1 < took < 2.0
    assert not frame.flags.writeable               # shared read-only
    got, took = _timed_get(shared, 7, 3.0)         # there now: at once
    assert got is frame and took < 0.2


def test_a_new_promise_or_a_clear_ends_the_wait():
    shared = SharedFrames()
    shared.expect("film", 7)
    threading.Timer(0.15, shared.expect, ("film", 9)).start()     # the artist moved on
    got, took = _timed_get(shared, 7, 3.0)
    assert got is None and 0.1 < took < 2.0
    threading.Timer(0.15, shared.clear).start()                   # another film opened
    got, took = _timed_get(shared, 9, 3.0)
    assert got is None and 0.1 < took < 2.0
    shared.expect("film", 5)
    got, took = _timed_get(shared, 5, 0.2)          # never longer than asked
    assert got is None and 0.15 < took < 1.0
