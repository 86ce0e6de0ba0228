"""The display worker's playback path: display-size pictures straight from the decoded frame,
composed on two threads, the full frame only where a correction needs it."""
import threading
import time

import numpy as np
import pytest

from colorizer_app.core import compose
from colorizer_app.core.media import open_media
from colorizer_app.core.media.frames import SharedFrames
from colorizer_app.gui import display_compose
from colorizer_app.gui.decode_worker import DisplayWorker, Want
from tests.helpers import clips

pytestmark = pytest.mark.usefixtures("no_threads_left")

SIZE = (640, 360)
SHOWN = (225, 400)            # (h, w)
WORK = 64


class _Chroma:
    """The chroma cache as the worker sees it: a fixed smooth ab square per frame."""

    size, key = WORK, "test-chroma"

    def get(self, index):
        yy, xx = np.mgrid[0:WORK, 0:WORK].astype(np.float32)
        ab = np.stack([30 * np.sin(xx / 9 + index), 25 * np.cos(yy / 7)], axis=-1)
        return ab.astype(np.float16)


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    path = clips.make_clip(tmp_path_factory.mktemp("dw") / "f.mp4", n_frames=12, size=SIZE,
                           gop=12, audio=False)
    with open_media(str(path)) as r:
        return str(path), [r.read(i) for i in range(12)]


def _run(qapp, w, wants):
    """Step the worker until every want is made; playback frames may arrive from the compose
    helper, through the event loop."""
    got = []
    w.frameDecoded.connect(got.append)
    w.set_wanted(wants)
    deadline = time.monotonic() + 30
    while (w.step() or w.pending() or len(got) < len(wants)) and time.monotonic() < deadline:
        qapp.processEvents()
    return {r.index: r for r in got}


def test_playback_pictures_skip_the_full_frame_except_where_a_correction_acts(qapp, film,
                                                                             monkeypatch):
    path, frames = film
    threads = set()
    real = display_compose.compose_display

    def spy(*a, **k):
        threads.add(threading.current_thread().name.split("_")[0])
        return real(*a, **k)
    monkeypatch.setattr(display_compose, "compose_display", spy)
    shared = SharedFrames()
    w = DisplayWorker(shared)
    chroma = _Chroma()
    touched = {5}

    def override(i, ab, L):                # a correction: frame 5 turns blue everywhere
        out = ab.copy()
        out[..., 1] = -60.0
        return out

    try:
        w.open_film(1, path)
        w.step()
        w.set_chroma(chroma)
        w.set_override(override, affects=lambda i: i in touched)
        got = _run(qapp, w, [Want(i, False, False, display=SHOWN) for i in (3, 4, 5, 6, 7)])
        assert sorted(got) == [3, 4, 5, 6, 7] and all(r.error is None for r in got.values())
        box = compose.letterbox(SIZE[1], SIZE[0], WORK)
        for i in (3, 4, 6, 7):        # some made on the worker thread, some on its helper
            d = got[i].display
            assert d.colorized.shape == SHOWN + (3,) and not d.full_res_override
            assert shared.get(path, i) is None          # no full-size RGB made for it
            ref = real(frames[i], chroma.get(i), box, SHOWN, True)
            for a, b in ((d.source, ref.source), (d.colorized, ref.colorized)):
                assert np.abs(a.astype(int) - b).mean() < 1.0
        assert "bento-display-compose" in threads and len(threads) == 2
        d5 = got[5].display
        assert d5.full_res_override and shared.get(path, 5) is not None
        ref5 = real(frames[5], chroma.get(5), box, SHOWN, True,
                                               5, override, lambda i: i in touched)
        assert np.array_equal(d5.colorized, ref5.colorized)
        # the correction is there: blue (b < 0) where frames 3 and 4 are not
        assert d5.colorized[..., 2].mean() > got[4].display.colorized[..., 2].mean() + 20
    finally:
        w.request_stop()
        w.cleanup()


def test_a_playback_picture_asked_again_on_its_way_is_made_once(qapp, film, monkeypatch):
    path, _frames = film
    made = []
    real = display_compose.compose_display

    def spy(frame, ab, box, shape, *a, **k):
        made.append(k.get("index"))
        return real(frame, ab, box, shape, *a, **k)
    monkeypatch.setattr(display_compose, "compose_display", spy)
    w = DisplayWorker(SharedFrames())
    try:
        w.open_film(1, path)
        w.step()
        w.set_chroma(_Chroma())
        wants = [Want(i, False, False, display=SHOWN) for i in (2, 3, 4)]
        got = []
        w.frameDecoded.connect(got.append)
        w.set_wanted(wants)
        for _ in range(6):          # the GUI re-plans at every playback tick, results unseen
            w.step()
            w.set_wanted(list(wants))
        deadline = time.monotonic() + 30
        while (w.step() or w.pending() or len(got) < 3) and time.monotonic() < deadline:
            qapp.processEvents()
        assert sorted(r.index for r in got) == [2, 3, 4]
        assert sorted(made) == [2, 3, 4]
        # a changed picture (another compose generation) is made again at once
        w.set_wanted([Want(3, False, False, gen=(1,), display=SHOWN)])
        while (w.step() or w.pending()) and time.monotonic() < deadline:
            qapp.processEvents()
        assert sorted(made) == [2, 3, 3, 4]
        # once the GUI has a result (and dropped it, say), asking again makes it again
        for r in got:
            w.received(r)
        w.set_wanted([Want(4, False, False, display=SHOWN)])
        while (w.step() or w.pending()) and time.monotonic() < deadline:
            qapp.processEvents()
        assert sorted(made) == [2, 3, 3, 4, 4]
    finally:
        w.request_stop()
        w.cleanup()
