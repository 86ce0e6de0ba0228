"""A new frame's first colour picture from the display proxy (gui/preview.py): the network runs on
the proxy's copy while the film's own frame decodes; the preview is shown badged "proxy", never
enters the chroma cache, is never shown over the artist's corrections, and gives way to the
film's own picture."""
import threading
import time

import cv2
import numpy as np
import pytest

from colorizer_app.core import color, compose
from colorizer_app.core.media import open_media
from colorizer_app.core.media import proxy as core_proxy
from colorizer_app.core.ml.inference import Colorizer
from colorizer_app.gui import colorize_worker, display_compose, proxy_worker
from colorizer_app.gui.preview import ColourPreview, PreviewGate, compose_preview
from colorizer_app.gui.session import COLORIZED, GRAY
from tests.helpers import clips
from tests.helpers.paint import TIMEOUT, make_window, open_and_wait

N = 48
SIZE = (320, 180)


def _lightness_model(d):
    """A network whose chroma follows L closely (ab = L / 2): the proxy's JPEG copy and the
    film's own frame give measurably different chroma."""
    import keras

    from colorizer_app.core.ml.model import save_model
    inp = keras.Input((None, None, 1), name="L")
    out = keras.layers.Conv2D(2, 1, kernel_initializer=keras.initializers.Constant(0.5),
                              bias_initializer="zeros")(inp)
    return str(save_model(keras.Model(inp, out), d / "lightness.keras"))


def _held(gate, index, timeout):
    t0 = time.monotonic()
    gate.hold(index, timeout=timeout)
    return time.monotonic() - t0


def test_gate_holds_the_decode_only_while_that_frame_is_previewed():
    gate = PreviewGate()
    assert not gate.was_proxied(3, 0.01)
    threading.Timer(0.05, gate.proxied, (3,)).start()
    assert gate.was_proxied(3, 2.0) and not gate.was_proxied(4, 0.01)
    assert _held(gate, 3, 1.0) < 0.05                 # nothing previewed: no wait
    gate.begin(3)
    assert _held(gate, 4, 1.0) < 0.05                 # another frame: no wait
    assert 0.08 < _held(gate, 3, 0.1) < 0.5           # never longer than its limit
    threading.Timer(0.2, gate.end).start()
    assert 0.15 < _held(gate, 3, 3.0) < 2.0           # released when the preview is made


def test_preview_is_kept_for_its_frame_key_and_generation_and_never_over_corrections():
    frame = clips.synthetic_frame(2, (160, 90))
    frame.flags.writeable = False
    ab = (cv2.GaussianBlur(np.random.default_rng(0).random((64, 64, 2)).astype(np.float32),
                           (0, 0), 3) * 60 - 30).astype(np.float16)
    p = ColourPreview()
    pics = compose_preview(ab, frame, film_shape=(180, 320), size=64, shape=None, has_color=True)
    box = compose.letterbox(180, 320, 64)
    expected = display_compose.compose_display(frame, ab, box, (90, 160), True).colorized
    assert np.array_equal(pics.colorized, expected)       # at the small frame's own size
    at = compose_preview(ab, frame, film_shape=(180, 320), size=64, shape=(120, 214), has_color=True)
    assert at.colorized.shape[:2] == (120, 214)           # or at the size it is drawn at
    kw = dict(key="k", gen=(1, 0), film_shape=(180, 320))
    b = p.offer(5, pics, touched=lambda i: False, **kw)
    assert b.proxy and b.full_shape == (180, 320) and b.colorized is pics.colorized
    assert b.stand_in == "proxy"
    assert p.get(5, "k", (1, 0)) is b
    assert p.get(6, "k", (1, 0)) is None and p.get(5, "other", (1, 0)) is None
    assert p.get(5, "k", (1, 1)) is None              # composed before a change: stale
    assert p.offer(5, pics, touched=lambda i: i == 5, **kw) is None
    assert p.get(5, "k", (1, 0)) is None
    assert p.offer(5, pics, touched=None, **kw) is None    # unknown corrections: none
    b = p.offer(5, pics, touched=lambda i: False, stand_in="preview", **kw)
    assert b.stand_in == "preview"                        # a copy of the film's own frame


@pytest.mark.usefixtures("private_autosave", "no_threads_left")
def test_new_frame_shows_its_proxy_in_colour_first_and_the_cache_keeps_the_films_chroma(
        qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(proxy_worker, "PROXY_MIN_PIXELS", 0)
    monkeypatch.setattr(core_proxy, "PROXY_MAX_SIDE", 160)
    path = str(clips.make_clip(tmp_path / "long_gop.mp4", n_frames=N, size=SIZE, gop=N,
                               audio=False))
    model = _lightness_model(tmp_path)
    w, _ctl = make_window(qtbot, tmp_path, model)
    pipe = w.pipeline
    pipe.set_background(False)                        # the network colours the frame on screen only
    progress = []
    pipe.proxyProgress.connect(lambda d, t: progress.append((d, t)))
    open_and_wait(qtbot, w, path)
    qtbot.waitUntil(lambda: progress and progress[-1] == (N, N), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: pipe.colorizer._proxy is not None, timeout=TIMEOUT)
    assert w.session.view_mode == COLORIZED and not pipe.chroma.has(40)
    # the film's own frames 40 and 20 decode slowly, as a long-GOP seek at 1080p does
    read = pipe.display._read
    monkeypatch.setattr(pipe.display, "_read",
                        lambda i: (time.sleep(0.4) if i in (20, 40) else None) or read(i))
    previews, shown = [], []
    pipe.colorizer.previewed.connect(lambda *a: previews.append(a))

    def on_shown(i):
        b = pipe.view_bundle(i)
        if i == 40 and b is not None and b.colorized is not None:
            shown.append((b.proxy, w.viewer.status_badge.text()))
    w.viewer.frameShown.connect(on_shown)
    w.session.set_frame(40)
    qtbot.waitUntil(lambda: pipe.chroma.has(40) and shown and not shown[-1][0], timeout=TIMEOUT)
    assert [a[2] for a in previews] == [40]
    assert shown[0][0] is True and "proxy" in shown[0][1]    # the proxy in colour came first
    # the cache holds the network on the film's own frame, not on the proxy's copy
    with open_media(path) as r:
        film40 = r.read(40)
    (ab_film, box), = Colorizer(model, size=pipe.chroma.size).predict_work([film40])

    def content(ab):              # the picture's part of the working square (padding aside)
        return color.crop_content(np.asarray(ab, np.float32), box)
    cached = content(pipe.chroma.get(40))
    assert np.abs(cached - content(ab_film)).max() <= 0.51       # (kept in whole LAB units)
    preview_pic = previews[0][3].colorized                  # the proxy's chroma differs
    own = display_compose.compose_display(film40, pipe.chroma.get(40), box,
                                          preview_pic.shape[:2], True).colorized
    assert np.abs(preview_pic.astype(np.float32) - own).mean() > 0.5
    b = pipe.view_bundle(40)                          # and now the film's own picture is shown
    assert not b.proxy and w.viewer.current_pictures()["left"] is b.colorized
    assert w.viewer.status_badge.text() == ""
    # the next frame decodes in one step from there: no proxy, so no preview either
    w.session.set_frame(41)
    qtbot.waitUntil(lambda: pipe.chroma.has(41), timeout=TIMEOUT)
    assert [a[2] for a in previews] == [40]
    # in the gray view nobody looks at colour: no preview holds the film's frame back
    w.session.set_view_mode(GRAY)
    w.session.set_frame(20)
    qtbot.waitUntil(lambda: pipe.chroma.has(20), timeout=TIMEOUT)
    assert [a[2] for a in previews] == [40]


@pytest.mark.usefixtures("private_autosave", "no_threads_left")
def test_a_frame_already_in_memory_is_handed_to_the_network_not_decoded_again(qtbot, tmp_path):
    """Landing on a frame whose gray picture was prefetched: the display worker has nothing to
    decode, so the colorize worker gets the frame's pixels from memory.  It used to wait its
    whole SHARED_WAIT_S for a decode that never came, then decode the frame itself."""
    path = str(clips.make_clip(tmp_path / "film.mp4", n_frames=N, size=SIZE, gop=N, audio=False))
    w, _ctl = make_window(qtbot, tmp_path, _lightness_model(tmp_path))
    pipe = w.pipeline
    pipe.set_background(False)                        # the network colours the frame on screen only
    open_and_wait(qtbot, w, path)
    qtbot.waitUntil(lambda: pipe.colorizer._reader is not None, timeout=TIMEOUT)
    reader = pipe.colorizer._reader
    read, reads = reader.read, []
    reader.read = lambda i, *a, **k: reads.append(i) or read(i, *a, **k)
    qtbot.waitUntil(lambda: pipe.bundle(3) is not None, timeout=TIMEOUT)   # prefetched, gray
    assert not pipe.chroma.has(3) and not pipe.bundle(3).proxy
    pipe.shared.clear()      # as when 12 later decodes pushed it out: only its bundle has it
    t0 = time.monotonic()
    w.session.set_frame(3)
    qtbot.waitUntil(lambda: pipe.chroma.has(3), timeout=TIMEOUT)
    took = time.monotonic() - t0
    assert 3 not in reads, "the colorize worker decoded a frame that was in memory"
    from colorizer_app.gui.colorize_worker import SHARED_WAIT_S
    assert took < SHARED_WAIT_S + 5.0                 # (loose: the read spy is the real check)


@pytest.mark.usefixtures("private_autosave", "no_threads_left")
@pytest.mark.parametrize("colour", [True, False], ids=["colour film", "black-and-white film"])
def test_a_new_frame_of_a_large_colour_film_is_coloured_from_a_small_copy_first(
        qtbot, tmp_path, monkeypatch, colour):
    """Without a proxy: a colour frame's float L at full size (the network's input) costs 20-50
    ms at 1080p, so the network first colours a proxy-size copy of the film's own frame; the
    cache still gets the network on the full frame, which then replaces the preview.  A
    black-and-white frame's L is a table lookup: no preview, no second network run."""
    monkeypatch.setattr(colorize_worker, "PROXY_MAX_SIDE", 160)   # this 320-px film is "large"
    predict = Colorizer.predict_work

    def slow_at_full_size(self, frames, *a, **k):      # as the float L of a 1080p frame is
        if any(f.shape[:2] == SIZE[::-1] for f in frames):
            time.sleep(0.3)
        return predict(self, frames, *a, **k)
    monkeypatch.setattr(Colorizer, "predict_work", slow_at_full_size)
    path = str(clips.make_clip(tmp_path / "film.mp4", n_frames=N, size=SIZE, gop=N, audio=False,
                               color=colour))
    model = _lightness_model(tmp_path)
    w, _ctl = make_window(qtbot, tmp_path, model)
    pipe = w.pipeline
    pipe.set_background(False)
    open_and_wait(qtbot, w, path)
    # drawn at half size, as a 1080p film fitted into a window (the viewer's own zoom for this
    # small film would be over 100 %)
    monkeypatch.setattr(pipe, "play_shape", lambda: (SIZE[1] // 2, SIZE[0] // 2))
    pipe._refresh(plan=False)
    previews, shown, badges = [], [], []
    pipe.colorizer.previewed.connect(lambda *a: previews.append(a))

    def on_shown(i):
        b = pipe.view_bundle(i)
        if i in (30, 10) and b is not None and b.colorized is not None:
            shown.append(b.proxy)
            badges.append(w.viewer.status_badge.text())
    w.viewer.frameShown.connect(on_shown)
    w.session.set_frame(30)
    qtbot.waitUntil(lambda: pipe.chroma.has(30) and bool(shown) and not shown[-1], timeout=TIMEOUT)
    b = pipe.view_bundle(30)
    assert not b.proxy and w.viewer.current_pictures()["left"] is b.colorized
    if not colour:
        assert previews == [] and not any(shown)
        return
    assert [a[2] for a in previews] == [30]
    assert previews[0][3].colorized.shape[:2] == (SIZE[1] // 2, SIZE[0] // 2)   # as drawn
    assert shown[0] is True                           # the small copy's colour came first
    assert "preview" in badges[0] and "proxy" not in badges[0] and previews[0][4] == "film"
    with open_media(path) as r:
        film30 = r.read(30)
    (ab_film, box), = Colorizer(model, size=pipe.chroma.size).predict_work([film30])
    cached = color.crop_content(np.asarray(pipe.chroma.get(30), np.float32), box)
    assert np.abs(cached - color.crop_content(np.asarray(ab_film, np.float32), box)).max() <= 0.51
    # at 100 % the artist inspects pixels: no preview, the film's own picture straight away
    monkeypatch.setattr(pipe, "play_shape", lambda: None)
    pipe._refresh(plan=False)
    shown.clear()
    w.session.set_frame(10)
    qtbot.waitUntil(lambda: pipe.chroma.has(10) and bool(shown) and not shown[-1], timeout=TIMEOUT)
    assert [a[2] for a in previews] == [30] and not any(shown)
