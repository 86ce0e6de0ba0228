"""Tracked corrections in the real window: an "until the next cut" stroke on a moving object
is tracked in the background and shows on the object ten frames on; undo/redo, a stroke on a
tracked frame (that frame only), the tracking switch and a new cut are each one undo step."""
import numpy as np
import pytest
from PySide6.QtCore import Qt

from colorizer_app.core.corrections.stack import Lifetime
from colorizer_app.core.corrections.tracking import plan_tracking
from tests.helpers import clips
from tests.helpers.paint import (
    TIMEOUT,
    lab,
    make_assets,
    make_window,
    open_and_wait,
    stroke,
    wait_colorized,
    wait_shows_expected,
)
from tests.test_tracking import ANCHOR, CUT, moving_square_frames, obj_box

pytestmark = pytest.mark.usefixtures("private_autosave", "no_threads_left")

GREEN = (-45.0, 40.0)
F = ANCHOR + 10


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    d = tmp_path_factory.mktemp("tracking_assets")
    a = make_assets(d)
    rgb = [np.repeat(f[..., None], 3, axis=2) for f in moving_square_frames()]
    a["clip"] = str(clips.write_frames(d / "square.mkv", rgb, codec="ffv1"))
    return a


def _model_picture(w, i):
    from colorizer_app.core import compose
    chroma, b = w.pipeline.chroma, w.pipeline.bundle(i)
    box = compose.letterbox(b.source.shape[0], b.source.shape[1], chroma.size)
    return compose.compose_colorized(b.source, chroma.get(i), box, index=i)


def _brush(qtbot, ctl):
    """An "until next cut" hard brush in GREEN."""
    ctl.set_brush_active(True)
    bp = ctl.brush_panel
    bp.set_size(10)
    bp.softness_spin.setValue(0)
    bp.smoothing_spin.setValue(0)
    bp.lifetime_combo.setCurrentIndex(bp.lifetime_combo.findData("until_cut"))
    ctl.colour_panel.set_colour(*GREEN)
    # the recent-colours row appears with the first new correction and grows the dock column
    # (and so the viewer) mid-stroke: have it there before painting
    ctl.colour_panel.remember(ctl.colour_panel.ab)
    qtbot.wait(100)                 # let the relayout happen before stroke() maps its points


def _show(qtbot, w, ctl, i):
    w.session.set_frame(i)
    wait_colorized(qtbot, w, i)
    return wait_shows_expected(qtbot, w, ctl, i)


def _green(rgb, region):
    ab = lab(rgb)[region][..., 1:].reshape(-1, 2).mean(0)
    return ab[0] < -20 and ab[1] > 20


def _stroke_y(i):
    y0, _, y1, _ = obj_box(i)
    return (y0 + y1) // 2


def _on_object(i):
    """The stroke's band on frame i, where the object carried it (away from its ends)."""
    y0, x0, y1, x1 = obj_box(i)
    y = _stroke_y(i)
    return slice(y - 2, y + 3), slice(x0 + 18, x1 - 18)


def _left_behind(i):
    """Where the stroke was painted on the anchor and the object has left by frame i."""
    y = _stroke_y(ANCHOR)
    x0 = obj_box(ANCHOR)[1] + 14
    return slice(y - 2, y + 3), slice(x0, min(obj_box(i)[1] - 4, x0 + 14))


def test_until_cut_stroke_follows_its_object(qtbot, tmp_path, assets):
    w, ctl = make_window(qtbot, tmp_path, assets["const"])
    open_and_wait(qtbot, w, assets["clip"])
    tc = w.temporal
    qtbot.waitUntil(lambda: not tc.detecting, timeout=TIMEOUT)
    assert tc.shots.cuts == (CUT,)
    progress, texts = [], []
    ctl.tracking.worker.progress.connect(lambda d, t: progress.append((d, t)),
                                         Qt.ConnectionType.QueuedConnection)
    panel = ctl.corrections_panel
    shown_text = panel.set_tracking_text

    def spy(text):
        texts.append(text)
        shown_text(text)
    panel.set_tracking_text = spy

    # paint across the square on frame 2 with "until next cut"
    _show(qtbot, w, ctl, ANCHOR)
    _brush(qtbot, ctl)
    x0, x1 = obj_box(ANCHOR)[1] + 14, obj_box(ANCHOR)[3] - 14
    stroke(qtbot, w, [(x, _stroke_y(ANCHOR)) for x in range(x0, x1 + 1, 4)])
    assert len(ctl.stack) == 1 and ctl.undo.count() == 1
    c = ctl.stack[0]
    assert c.lifetime == Lifetime.until_cut(ANCHOR) and c.tracking

    # the worker tracks it frame by frame in the background, up to the cut, with progress
    def tracked():
        assert c.tracked_current() and set(c.tracked) >= set(range(ANCHOR + 1, CUT))
        assert not ctl.tracking.busy
    qtbot.waitUntil(tracked, timeout=TIMEOUT)
    assert max(c.tracked) == CUT - 1                      # never across the cut
    assert any(t > 0 for _, t in progress)
    assert any(t.startswith("Tracking") for t in texts) and panel.tracking_label.text() == ""
    assert ctl.undo.count() == 1                          # tracking is no undo step

    # ten frames on the colour is on the object, not where it was painted
    painted = _show(qtbot, w, ctl, F)
    model = _model_picture(w, F)
    assert _green(painted, _on_object(F))
    assert not _green(model, _on_object(F))
    assert np.abs(lab(painted)[_left_behind(F)] - lab(model)[_left_behind(F)]).max() < 2.0
    # after the cut the correction is gone
    _show(qtbot, w, ctl, CUT + 1)
    assert np.array_equal(w.pipeline.bundle(CUT + 1).colorized, _model_picture(w, CUT + 1))

    # undo takes the stroke (and the correction it made) away; redo brings both back
    w.session.set_frame(F)
    ctl.undo.undo()
    assert len(ctl.stack) == 0
    assert np.array_equal(_show(qtbot, w, ctl, F), model)
    ctl.undo.redo()
    assert np.array_equal(_show(qtbot, w, ctl, F), painted)

    # a stroke on a tracked frame fixes that frame only: its own mask, one undo step
    ctl.select(c.id)
    stroke(qtbot, w, [(200, 20), (225, 20)])
    assert ctl.undo.count() == 2 and F in c.frame_masks and c.tracked_current()
    assert c.mask.to_full()[20, 210] == 0.0
    here = _show(qtbot, w, ctl, F)
    assert _green(here, (slice(18, 23), slice(204, 222))) and _green(here, _on_object(F))
    assert not _green(_show(qtbot, w, ctl, F + 1), (slice(18, 23), slice(204, 222)))
    ctl.undo.undo()
    assert F not in c.frame_masks and ctl.undo.count() == 2
    assert np.array_equal(_show(qtbot, w, ctl, F), painted)

    # tracking switched off (one undo step): the fixed screen region is back
    panel.select(c.id)
    assert panel.track_box.isEnabled() and panel.track_box.isChecked()
    panel.track_box.click()
    assert not c.tracking and ctl.undo.count() == 2       # replaced the undone stroke
    fixed = _show(qtbot, w, ctl, F)
    assert _green(fixed, _left_behind(F)) and not _green(fixed, _on_object(F))
    ctl.undo.undo()
    assert c.tracking
    qtbot.waitUntil(panel.track_box.isChecked)          # the list follows the stack
    assert np.array_equal(_show(qtbot, w, ctl, F), painted)

    # a cut before F ends the correction there; undoing it shows the tracked colour again
    tc.add_cut(F - 3)
    assert not _green(_show(qtbot, w, ctl, F), _on_object(F))
    ctl.undo.undo()
    assert tc.shots.cuts == (CUT,)
    assert np.array_equal(_show(qtbot, w, ctl, F), painted)
    assert w.shutdown()


def test_repainting_the_anchor_retracks_and_undo_restores(qtbot, tmp_path, assets):
    w, ctl = make_window(qtbot, tmp_path, assets["const"])
    open_and_wait(qtbot, w, assets["clip"])
    tc = w.temporal
    qtbot.waitUntil(lambda: not tc.detecting, timeout=TIMEOUT)
    _show(qtbot, w, ctl, ANCHOR)
    _brush(qtbot, ctl)
    y = _stroke_y(ANCHOR)
    x0 = obj_box(ANCHOR)[1] + 14
    stroke(qtbot, w, [(x, y) for x in range(x0, x0 + 21, 4)])
    c = ctl.stack[0]
    qtbot.waitUntil(lambda: c.tracked_current() and not ctl.tracking.busy, timeout=TIMEOUT)
    first = dict(c.tracked)
    # a second stroke on the anchor, lower on the square: re-tracked, both strokes follow
    stroke(qtbot, w, [(x, y + 12) for x in range(x0, x0 + 21, 4)])
    assert ctl.undo.count() == 2 and not c.tracked_current()
    qtbot.waitUntil(lambda: c.tracked_current() and not ctl.tracking.busy, timeout=TIMEOUT)
    assert all(c.tracked[f] is not first[f] for f in first)
    shown = _show(qtbot, w, ctl, F)
    dy, dx = F - ANCHOR, 3 * (F - ANCHOR)
    assert _green(shown, (slice(y + dy + 10, y + dy + 15), slice(x0 + dx + 4, x0 + dx + 16)))
    # undo: the first stroke's tracking is current again only once re-tracked: what shows is
    # always what the stack composites (never a stale mask)
    ctl.undo.undo()
    qtbot.waitUntil(lambda: c.tracked_current() and not ctl.tracking.busy, timeout=TIMEOUT)
    shown = _show(qtbot, w, ctl, F)
    assert not _green(shown, (slice(y + dy + 10, y + dy + 15), slice(x0 + dx + 4, x0 + dx + 16)))
    assert _green(shown, (slice(y + dy - 2, y + dy + 3), slice(x0 + dx + 4, x0 + dx + 16)))
    # saved with the project: reopening shows the tracked colour with nothing to track again
    assert w.project.save_as(tmp_path / "p.bento.json")
    w2, ctl2 = make_window(qtbot, tmp_path, assets["const"], name="second.ini")
    open_and_wait(qtbot, w2, str(tmp_path / "p.bento.json"), index=F)   # saved view: frame F
    c2 = ctl2.stack[0]
    assert c2.tracked_current() and sorted(c2.tracked) == sorted(c.tracked)
    assert plan_tracking(ctl2.stack, ctl2.shot_of, w2.session.frame_count) == []
    assert np.array_equal(_show(qtbot, w2, ctl2, F), shown)
    assert w2.shutdown()
    # on a frame the worker has not tracked yet, a stroke would pin the untracked base mask
    # there: it is refused with a message, and nothing changes
    c.track_key = None                      # as if the worker had not reached frame F yet
    n = ctl.undo.count()
    stroke(qtbot, w, [(200, 20), (225, 20)])
    assert ctl.undo.count() == n and not c.frame_masks and not ctl.painting
    assert "being tracked" in w.statusBar().currentMessage()
    assert w.shutdown()

