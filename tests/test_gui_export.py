"""File > Export from the real window: PNG sequence and MP4 with audio read back through
core.media (frames, rate, audio, corrected pixels where painted, model pixels elsewhere), and a
cancelled export leaves no file."""
import os

import numpy as np
import pytest

from colorizer_app.core.media import open_media
from colorizer_app.gui.export_dialog import ExportDialog
from tests.helpers.clips import make_clip
from tests.helpers.paint import (
    lab,
    make_assets,
    make_window,
    open_and_wait,
    stroke,
    wait_shows_expected,
)

pytestmark = pytest.mark.usefixtures("private_autosave", "no_threads_left")

N = 10
GREEN = (-40.0, 35.0)


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    return make_assets(tmp_path_factory.mktemp("export_assets"))


@pytest.fixture
def painted(qtbot, tmp_path, assets):
    clip = str(make_clip(tmp_path / "reel.mp4", n_frames=N, size=(160, 96), audio=True))
    w, ctl = make_window(qtbot, tmp_path, assets["const"])
    open_and_wait(qtbot, w, clip)
    ctl.set_brush_active(True)
    ctl.brush_panel.set_size(24)
    ctl.brush_panel.softness_spin.setValue(0)
    ctl.colour_panel.set_colour(*GREEN)
    stroke(qtbot, w, [(50, 48), (110, 48)])
    shown = wait_shows_expected(qtbot, w, ctl)
    yield w, ctl, clip, shown
    assert w.shutdown()


def _export(qtbot, w, fmt, path, a, b):
    dlg = ExportDialog(w)
    dlg.format_combo.setCurrentIndex(dlg.format_combo.findData(fmt))
    dlg.path_edit.setText(str(path))
    dlg.in_spin.setValue(a)
    dlg.out_spin.setValue(b)
    with qtbot.waitSignal(dlg.finished_export, timeout=60000) as blocker:
        assert dlg.start()
    return dlg, blocker.args


def test_export_png_sequence_corrected_pixels(qtbot, tmp_path, painted):
    w, ctl, clip, shown = painted
    dlg, (state, msg) = _export(qtbot, w, "png8", tmp_path / "frames", 0, 5)
    assert state == "done", msg
    files = sorted(os.listdir(tmp_path / "frames"))
    assert files[0] == "reel_000000.png" and len(files) == 6
    with open_media(str(tmp_path / "frames")) as r:
        assert r.info.frame_count == 6
        f0, f1 = r.read(0), r.read(1)
    assert np.abs(f0.astype(int) - shown).max() <= 2          # what the viewer showed
    mask = ctl.stack[0].mask.to_full() > 0.99
    L0 = lab(f0)
    assert L0[mask][:, 1].mean() < -20                         # painted: green
    assert L0[~mask][:, 1].mean() > 20                         # elsewhere: the model's colour
    # frame 1 has no correction (lifetime: this frame): the model's pixels everywhere
    assert lab(f1)[mask][:, 1].mean() > 20


def test_export_mp4_with_audio_and_cancel(qtbot, tmp_path, painted):
    w, ctl, clip, shown = painted
    out = tmp_path / "out.mp4"
    dlg, (state, msg) = _export(qtbot, w, "mp4", out, 0, N - 1)
    assert state == "done", msg
    with open_media(clip) as src, open_media(str(out)) as r:
        assert r.info.frame_count == N and r.info.fps == src.info.fps
        assert r.info.audio_codec is not None
        f0 = r.read(0)
    mask = ctl.stack[0].mask.to_full() > 0.99
    assert lab(f0)[mask][:, 1].mean() < -15 and lab(f0)[~mask][:, 1].mean() > 20
    # cancel: nothing is left under the name
    out2 = tmp_path / "cancelled.mp4"
    dlg2 = ExportDialog(w)
    dlg2.format_combo.setCurrentIndex(dlg2.format_combo.findData("mp4"))
    dlg2.path_edit.setText(str(out2))
    with qtbot.waitSignal(dlg2.finished_export, timeout=60000) as blocker:
        assert dlg2.start()
        dlg2.cancel()
    assert blocker.args[0] == "cancelled"
    assert not out2.exists()
    assert not [f for f in os.listdir(tmp_path) if "partial" in f]
