"""Display proxies: built in the background, shown while the playhead moves through a long-GOP
film, replaced by the film's own pixels once it rests; reused on reopening; can be turned off."""
import numpy as np
import pytest

from colorizer_app.core.media import open_media
from colorizer_app.core.media import proxy as core_proxy
from colorizer_app.core.media.frames import SharedFrames
from colorizer_app.gui import decode_worker, proxy_worker
from colorizer_app.gui.decode_worker import DisplayWorker, Want
from tests.helpers import clips
from tests.helpers.paint import TIMEOUT, make_assets, make_window, open_and_wait

pytestmark = pytest.mark.usefixtures("private_autosave", "no_threads_left")

N = 48
SIZE = (320, 180)
PROXY_SIDE = 160


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    d = tmp_path_factory.mktemp("proxy_film")
    path = clips.make_clip(d / "long_gop.mp4", n_frames=N, size=SIZE, gop=N, audio=False)
    with open_media(str(path)) as r:
        frames = [r.read(i) for i in range(N)]
    return str(path), frames


@pytest.fixture
def small_proxies(monkeypatch):
    # the suite's films are small: proxy them anyway, at half size
    monkeypatch.setattr(proxy_worker, "PROXY_MIN_PIXELS", 0)
    monkeypatch.setattr(core_proxy, "PROXY_MAX_SIDE", PROXY_SIDE)


def _psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-9))


def _built_store(tmp_path, path):
    store = core_proxy.ProxyStore.open(tmp_path / "proxy", {"film": "t"}, N, SIZE[0], SIZE[1],
                                       True, max_side=PROXY_SIDE)
    builder = core_proxy.ProxyBuilder(store, path)
    while builder.step(max_frames=16):
        pass
    builder.close()
    assert store.complete
    return store


def test_worker_shows_the_proxy_first_and_the_film_once_the_playhead_rests(qapp, tmp_path,
                                                                          monkeypatch, film):
    path, frames = film
    store = _built_store(tmp_path, path)
    clock = [100.0]
    monkeypatch.setattr(decode_worker, "_now", lambda: clock[0])
    w = DisplayWorker(SharedFrames())
    got = []
    w.frameDecoded.connect(got.append)
    try:
        w.open_film(1, path)
        w.step()
        w.set_proxy(store)
        w.set_wanted([Want(30, True, False, playhead=True)])
        assert w.step() and len(got) == 1
        shown = got[-1]
        assert shown.proxy and shown.index == 30 and shown.source.shape == frames[30].shape
        # a stand-in for frame 30 itself, not a neighbour
        assert _psnr(shown.source, frames[30]) > 24
        assert _psnr(shown.source, frames[30]) > _psnr(shown.source, frames[29]) + 3
        # a single jump: the film's own pixels right after, exactly
        w.step()
        assert not got[-1].proxy and np.array_equal(got[-1].source, frames[30])
        # a drag (moves closer than SETTLE_S): proxy frames, and the codec waits
        clock[0] += 1.0
        w.set_wanted([Want(36, True, False, playhead=True)])
        assert w.step() and got[-1].proxy and got[-1].index == 36
        clock[0] += 0.05
        w.set_wanted([Want(44, True, False, playhead=True)])
        decoded = w._reader.stats["decoded"]
        assert w.step() and got[-1].proxy and got[-1].index == 44
        n = len(got)
        assert not w.step() and len(got) == n and w._reader.stats["decoded"] == decoded
        # it rests: the film's own pixels
        clock[0] += decode_worker.SETTLE_S + 0.01
        w.step()
        assert not got[-1].proxy and got[-1].index == 44
        assert np.array_equal(got[-1].source, frames[44])
        # the next frame costs the codec one picture: no proxy needed
        w.set_wanted([Want(45, True, False, playhead=True)])
        w.step()
        assert not got[-1].proxy and np.array_equal(got[-1].source, frames[45])
        # a closed proxy (replaced meanwhile) is never an error: the film is decoded
        store.close()
        clock[0] += 1.0
        w.set_wanted([Want(10, True, False, playhead=True)])
        w.step()
        assert not got[-1].proxy and got[-1].error is None
        assert np.array_equal(got[-1].source, frames[10])
    finally:
        w.request_stop()
        w.cleanup()


def _open(qtbot, tmp_path, model, path, name="settings.ini"):
    w, ctl = make_window(qtbot, tmp_path, model, name=name)
    progress = []
    w.pipeline.proxyProgress.connect(lambda d, t: progress.append((d, t)))
    open_and_wait(qtbot, w, path)
    w.pipeline.set_background(False)
    return w, progress


def test_app_builds_the_proxy_scrubs_with_it_and_reuses_it(qtbot, tmp_path, film, small_proxies):
    path, frames = film
    model = make_assets(tmp_path)["const"]
    w, progress = _open(qtbot, tmp_path, model, path)
    qtbot.waitUntil(lambda: progress and progress[-1] == (N, N), timeout=TIMEOUT)
    assert w.status.proxy.text() == ""               # "proxy n %" while it builds, then gone

    seen = []

    def on_bundle(i):
        b = w.pipeline.bundle(i)
        if i == 40 and b is not None:
            seen.append((b.proxy, w.viewer.status_badge.text()))
    w.pipeline.bundleReady.connect(on_bundle)
    w.viewer.frameShown.connect(lambda i: on_bundle(i))
    w.session.set_frame(40)

    def settled():
        b = w.pipeline.bundle(40)
        assert b is not None and not b.proxy and b.colorized is not None
        assert w.viewer.current_pictures().get("left") is b.colorized
    qtbot.waitUntil(settled, timeout=TIMEOUT)
    assert seen[0][0] is True                        # the proxy came first…
    assert any(p and "proxy" in badge for p, badge in seen)  # …and the viewer said so
    assert np.array_equal(w.pipeline.bundle(40).source, frames[40])  # then the film's pixels
    assert w.viewer.status_badge.text() == ""

    # turned off: frames come from the film only (and the setting is kept)
    w.actions_by_name["proxies"].trigger()
    assert not w.pipeline.proxies_enabled and not w.settings.value("view/proxies", True, bool)
    seen.clear()

    def on_20(i):
        b = w.pipeline.bundle(i)
        if i == 20 and b is not None:
            seen.append(b.proxy)
    w.pipeline.bundleReady.connect(on_20)
    w.session.set_frame(20)
    qtbot.waitUntil(lambda: w.pipeline.bundle(20) is not None, timeout=TIMEOUT)
    assert seen and not any(seen)
    w.actions_by_name["proxies"].trigger()
    assert w.pipeline.proxies_enabled
    assert w.shutdown()

    # reopening the film reuses what was built: complete at once
    w2, progress2 = _open(qtbot, tmp_path, model, path, name="settings2.ini")
    qtbot.waitUntil(lambda: progress2 and progress2[-1][1] == N, timeout=TIMEOUT)
    assert [p for p in progress2 if p != (0, 0)][0] == (N, N)
    assert w2.shutdown()


def test_building_pauses_while_the_artist_is_at_work(qapp, tmp_path, monkeypatch, film):
    # a lowest-priority thread holding the GIL stalls the GUI: it builds only when the artist idles
    path, _frames = film
    clock = [100.0]
    monkeypatch.setattr(proxy_worker, "_now", lambda: clock[0])
    monkeypatch.setattr(core_proxy, "PROXY_MAX_SIDE", PROXY_SIDE)
    w = proxy_worker.ProxyWorker()
    progress = []
    w.progress.connect(lambda d, t: progress.append(d))
    with open_media(path) as r:
        info = r.info
    try:
        w.set_film(1, info, str(tmp_path / "proxy"), {"film": "t"})
        assert w.step()                                # opens the store
        assert w.step() and w._store.count() == 2      # builds while idle
        w.note_activity()
        clock[0] += proxy_worker.IDLE_S / 2
        assert not w.step() and w._store.count() == 2  # paused
        clock[0] += proxy_worker.IDLE_S / 2 + 0.01
        while w.step():
            pass
        assert w._store.complete and progress[-1] == N
    finally:
        w.request_stop()
        w.cleanup()


def test_building_starts_where_the_artist_works(qapp, tmp_path, monkeypatch, film):
    # a two-hour film takes about an hour to build: the frames around the playhead come first
    path, _frames = film
    clock = [100.0]
    monkeypatch.setattr(proxy_worker, "_now", lambda: clock[0])
    monkeypatch.setattr(core_proxy, "PROXY_MAX_SIDE", PROXY_SIDE)
    monkeypatch.setattr(proxy_worker, "LEAD_IN_S", 0.1)          # 2 frames before the playhead
    w = proxy_worker.ProxyWorker()
    with open_media(path) as r:
        info = r.info
    try:
        w.set_film(1, info, str(tmp_path / "proxy"), {"film": "t"})
        assert w.step()                                # opens the store
        w.note_activity(playhead=30)
        clock[0] += proxy_worker.IDLE_S + 0.01
        assert w.step() and w.step()
        store = w._store
        assert [i for i in range(N) if store.has(i)] == [28, 29, 30, 31]
        while w.step():                                # then the rest, wrapping round
            pass
        assert store.complete
    finally:
        w.request_stop()
        w.cleanup()
