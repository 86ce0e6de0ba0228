"""The film's sound: sample-exact reading, sync that holds against a sound card's own clock, and
the app playing it at 1× only (muted when shuttling fast or backwards, on mute, without sound)."""
import threading

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt

from colorizer_app.gui.audio_sink import NullSink
from colorizer_app.gui.audio_source import RATE, open_source
from colorizer_app.gui.audio_sync import AudioSync, stretch
from colorizer_app.gui.main_window import MainWindow
from tests.helpers.clips import audio_signal, make_clip

pytestmark = pytest.mark.usefixtures("no_threads_left")

TIMEOUT = 30000


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    d = tmp_path_factory.mktemp("audio")
    return str(make_clip(d / "talkie.mp4", n_frames=120, size=(64, 48)))   # 5 s with sound


def test_source_reads_film_time_sample_exactly(film):
    src = open_source(film)
    for start in (0, 48000, 1000, 150000, 24000, 24000 + 4800):    # backwards, forwards, on
        got = src.read(start, 4800)[:, 0]
        want = audio_signal((start + np.arange(4800)) / RATE)
        assert np.abs(got[600:] - want[600:]).mean() < 0.01, start   # AAC, not bit-exact
    tail = src.read(int(5.2 * RATE), 1000)                           # past the end: silence
    assert not tail.any()
    src.close()


def test_film_without_sound_has_no_source(tmp_path):
    silent = make_clip(tmp_path / "silent.mp4", n_frames=6, size=(32, 32), audio=False)
    assert open_source(str(silent)) is None


@pytest.mark.parametrize("skew", [0.0, 300e-6, -800e-6])
def test_sync_holds_against_a_card_clock_that_runs_off(film, skew):
    """One simulated minute at late, random wake-ups: the sound heard stays within 2 ms of the
    picture clock; a jump of the picture (loop, seek) is followed at once."""
    clock = [0.0]
    sink = NullSink(RATE, skew=skew, clock=lambda: clock[0])
    sync = AudioSync(RATE)
    pcm = np.zeros((4096, 2), np.float32)
    rng = np.random.default_rng(7)
    sink.start()
    worst, picture_offset = 0.0, 0.0
    while clock[0] < 60.0:
        while sink.room() >= 1024:
            start, count = sync.plan(clock[0] + picture_offset, sink.queued(), 1024)
            sink.write(stretch(pcm[:count], 1024), start, count)
        clock[0] += rng.uniform(0.005, 0.04)
        if clock[0] > 1.0:
            worst = max(worst, abs(sink.heard_time() - (clock[0] + picture_offset)))
    assert worst < 0.002 and sink.underruns == 0
    picture_offset = -50.0                          # the playhead loops back 50 s
    for _ in range(20):
        while sink.room() >= 1024:
            start, count = sync.plan(clock[0] + picture_offset, sink.queued(), 1024)
            sink.write(stretch(pcm[:count], 1024), start, count)
        clock[0] += 0.02
    assert abs(sink.heard_time() - (clock[0] + picture_offset)) < 0.005


def _window(qtbot, tmp_path):
    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                   model_path="")
    w.audio._sink_factory = NullSink           # tests never depend on a sound card
    qtbot.addWidget(w, before_close_func=lambda win: win.shutdown())
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    return w


def _key(qtbot, w, key):
    qtbot.keyClick(w.viewer.canvas, key)


def test_app_plays_sound_in_sync_at_1x_only(qtbot, tmp_path, film):
    w = _window(qtbot, tmp_path)
    with qtbot.waitSignal(w.session.filmChanged, timeout=TIMEOUT):
        w.open_path(film)
    assert w.audio.has_audio and w.audio_controls.mute_button.isEnabled()
    _key(qtbot, w, Qt.Key.Key_Space)
    assert w.player.playing and w.audio.playing
    qtbot.wait(1000)

    def in_sync():
        heard, picture = w.audio.sink.heard_time(), w.player.media_time()
        assert heard is not None and picture > 0.5 and abs(heard - picture) < 0.03, (heard, picture)
    qtbot.waitUntil(in_sync, timeout=5000)
    assert w.audio_controls.mute_button.text() == "sound"
    _key(qtbot, w, Qt.Key.Key_L)                 # 2×: silent
    assert w.player.speed == 2.0 and not w.audio.playing
    _key(qtbot, w, Qt.Key.Key_J)                 # backward: silent
    assert w.player.speed < 0 and not w.audio.playing
    _key(qtbot, w, Qt.Key.Key_K)
    _key(qtbot, w, Qt.Key.Key_L)                 # forward 1× from a stop: sound again
    assert w.player.speed == 1.0 and w.audio.playing
    _key(qtbot, w, Qt.Key.Key_M)                 # mute
    assert w.audio.muted and not w.audio.playing and w.audio_controls.mute_button.isChecked()
    assert w.audio_controls.mute_button.text() == "muted"
    assert w.settings.value("audio/muted", False, bool)
    _key(qtbot, w, Qt.Key.Key_M)
    assert w.audio.playing
    w.audio_controls.volume.setValue(25)
    assert w.audio.volume == 0.25
    _key(qtbot, w, Qt.Key.Key_K)
    assert not w.audio.playing
    _key(qtbot, w, Qt.Key.Key_Right)             # stepping and scrubbing stay silent
    assert not w.audio.playing
    assert w.shutdown()
    assert not [t for t in threading.enumerate() if t.name == "bento-audio"]


def test_film_without_sound_plays_as_before(qtbot, tmp_path):
    silent = str(make_clip(tmp_path / "silent.mp4", n_frames=48, size=(64, 48), audio=False))
    w = _window(qtbot, tmp_path)
    with qtbot.waitSignal(w.session.filmChanged, timeout=TIMEOUT):
        w.open_path(silent)
    assert not w.audio.has_audio and not w.audio_controls.mute_button.isEnabled()
    assert w.audio_controls.mute_button.text() == "no sound"
    _key(qtbot, w, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: w.session.frame > 3, timeout=TIMEOUT)
    assert w.player.playing and not w.audio.playing and w.audio.sink is None
    _key(qtbot, w, Qt.Key.Key_K)
    assert w.shutdown()
