"""Painting in the real window: strokes with the mouse, chroma-only changes, undo/redo, the
corrections list (rename/hide/delete/reorder, each undoable), brush keys, eyedropper, ghosting,
history cap."""
import numpy as np
import pytest
from PySide6.QtCore import Qt

from colorizer_app.gui.paint.commands import StrokeCommand
from tests.helpers.clips import make_clip
from tests.helpers.paint import (
    lab,
    make_assets,
    make_window,
    open_and_wait,
    stroke,
    wait_colorized,
    wait_shows_expected,
)

pytestmark = pytest.mark.usefixtures("private_autosave", "no_threads_left")

GREEN = (-45.0, 40.0)
BLUE = (10.0, -45.0)


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    return make_assets(tmp_path_factory.mktemp("paint_assets"))


@pytest.fixture
def win(qtbot, tmp_path, assets):
    clip = str(make_clip(tmp_path / "reel.mp4", n_frames=6, size=(160, 96), audio=False))
    w, ctl = make_window(qtbot, tmp_path, assets["const"])
    open_and_wait(qtbot, w, clip)
    w.pipeline.set_background(False)
    ctl.set_brush_active(True)
    ctl.brush_panel.set_size(16)
    ctl.brush_panel.softness_spin.setValue(0)
    ctl.brush_panel.smoothing_spin.setValue(0)
    yield w, ctl
    assert w.shutdown()


def paint(qtbot, w, ctl, colour, points):
    before = wait_colorized(qtbot, w, w.session.frame)
    ctl.colour_panel.set_colour(*colour)
    stroke(qtbot, w, points)
    return before, wait_shows_expected(qtbot, w, ctl, w.session.frame)


def test_stroke_changes_chroma_only_where_painted_and_undo_redo(qtbot, win):
    w, ctl = win
    before, after = paint(qtbot, w, ctl, GREEN, [(40, 48), (60, 48), (80, 50), (100, 48)])
    assert ctl.undo.count() == 1 and isinstance(ctl.undo.command(0), StrokeCommand)
    assert len(ctl.stack) == 1 and ctl.stack[0].chroma == GREEN
    lb, la = lab(before), lab(after)
    # painted: chroma moved to the brush colour, lightness kept
    core = (slice(44, 53), slice(45, 96))
    # (dark pixels cannot hold a saturated green: sRGB gamut clipping, so a loose bound)
    assert la[core][..., 1].mean() < -25 and lb[core][..., 1].mean() > 25
    assert np.abs(la[core][..., 2] - GREEN[1]).mean() < 6
    assert np.median(np.abs(la[core][..., 0] - lb[core][..., 0])) < 1.5
    # elsewhere: the model's pixels, exactly
    assert np.array_equal(after[:30], before[:30]) and np.array_equal(after[70:], before[70:])
    # undo restores the model's picture, redo the painted one
    ctl.undo.undo()
    undone = wait_shows_expected(qtbot, w, ctl)
    assert np.array_equal(undone, before) and len(ctl.stack) == 0
    ctl.undo.redo()
    redone = wait_shows_expected(qtbot, w, ctl)
    assert np.array_equal(redone, after) and len(ctl.stack) == 1
    # the keys do the same (window-wide shortcuts)
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(ctl.stack) == 0
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert len(ctl.stack) == 1


def test_second_stroke_same_colour_same_correction_and_eraser(qtbot, win):
    w, ctl = win
    paint(qtbot, w, ctl, GREEN, [(30, 30), (50, 30)])
    paint(qtbot, w, ctl, GREEN, [(30, 60), (50, 60)])
    assert len(ctl.stack) == 1 and ctl.undo.count() == 2      # one step per stroke
    paint(qtbot, w, ctl, BLUE, [(110, 40), (130, 40)])
    assert len(ctl.stack) == 2
    ctl.brush_panel.eraser_box.setChecked(True)
    ctl.brush_panel.set_size(30)
    _, erased = paint(qtbot, w, ctl, BLUE, [(100, 40), (140, 40)])
    assert ctl.undo.count() == 4 and ctl.stack[1].mask.is_empty
    assert abs(lab(erased)[40, 120, 1] - BLUE[0]) > 15


def test_corrections_list_edits_are_undoable(qtbot, win):
    w, ctl = win
    paint(qtbot, w, ctl, GREEN, [(60, 48), (100, 48)])
    _, both = paint(qtbot, w, ctl, BLUE, [(80, 30), (80, 70)])     # crosses the green one
    panel = ctl.corrections_panel
    green_id, blue_id = ctl.stack[0].id, ctl.stack[1].id
    assert panel.list.item(0).data(Qt.ItemDataRole.UserRole) == blue_id   # top = on top
    assert np.abs(lab(both)[48, 80, 1:] - np.array(BLUE)).mean() < 10
    n = ctl.undo.count()
    # rename by editing the item
    panel.list.item(0).setText("Sky")
    assert ctl.stack.find(blue_id).name == "Sky" and ctl.undo.count() == n + 1
    ctl.undo.undo()
    assert ctl.stack.find(blue_id).name != "Sky"
    qtbot.waitUntil(lambda: panel.list.item(0).text() != "Sky")
    # reorder: move blue down, under green -> green shows where they cross
    panel.select(blue_id)
    panel.down_btn.click()
    assert ctl.stack.ids() == [blue_id, green_id]
    reordered = wait_shows_expected(qtbot, w, ctl)
    assert np.abs(lab(reordered)[48, 80, 1:] - np.array(GREEN)).mean() < 10
    ctl.undo.undo()
    assert ctl.stack.ids() == [green_id, blue_id]
    back = wait_shows_expected(qtbot, w, ctl)
    assert np.array_equal(back, both)
    # hide with the checkbox, undo shows it again
    qtbot.waitUntil(lambda: panel.list.count() == 2)
    item = next(panel.list.item(i) for i in range(2)
                if panel.list.item(i).data(Qt.ItemDataRole.UserRole) == blue_id)
    item.setCheckState(Qt.CheckState.Unchecked)
    assert not ctl.stack.find(blue_id).visible
    hidden = wait_shows_expected(qtbot, w, ctl)
    assert np.abs(lab(hidden)[48, 80, 1:] - np.array(GREEN)).mean() < 10
    ctl.undo.undo()
    assert ctl.stack.find(blue_id).visible
    # delete, undo brings it back with its mask
    panel.select(blue_id)
    panel.delete_btn.click()
    assert ctl.stack.ids() == [green_id]
    ctl.undo.undo()
    assert ctl.stack.ids() == [green_id, blue_id] and not ctl.stack[1].mask.is_empty
    shown = wait_shows_expected(qtbot, w, ctl)
    assert np.array_equal(shown, both)
    # lifetime change is one command too
    panel.select(green_id)
    panel.lifetimeRequested.emit(green_id, "range")
    assert ctl.stack.find(green_id).lifetime.kind == "range"
    ctl.undo.undo()
    assert ctl.stack.find(green_id).lifetime.kind == "frame"
    assert ctl.history_panel.view.stack() is ctl.undo


def test_brush_keys_shift_drag_eyedropper_ghost(qtbot, win):
    w, ctl = win
    bp = ctl.brush_panel
    s0 = bp.size()
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_BracketRight)
    assert bp.size() > s0
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_BracketLeft)
    assert bp.size() < s0
    assert w.session.in_point == 0                 # [ belongs to the brush while it is active
    # Shift-drag to the right grows the brush and paints nothing
    from PySide6.QtCore import QPointF
    s1 = bp.size()
    ctl.tool.press(QPointF(50, 50), Qt.KeyboardModifier.ShiftModifier)
    ctl.tool.drag(QPointF(70, 50), Qt.KeyboardModifier.ShiftModifier)
    ctl.tool.release(QPointF(70, 50), Qt.KeyboardModifier.ShiftModifier)
    assert bp.size() == pytest.approx(s1 + 40) and ctl.undo.count() == 0
    # eyedropper: Ctrl+click takes the chroma of the picture under the cursor
    pic = w.viewer.current_pictures()["left"]
    ctl.tool.press(QPointF(20, 20), Qt.KeyboardModifier.ControlModifier)
    want = lab(pic[20:21, 20:21])[0, 0, 1:]
    assert np.allclose(ctl.colour_panel.ab, want, atol=0.05)
    assert ctl.colour_panel.recent[0] == ctl.colour_panel.ab
    # the chroma plane previews at the lightness under the cursor
    ctl.hovered(20, 20)
    assert ctl.colour_panel.L == pytest.approx(lab(w.pipeline.bundle(0).source[20:21, 20:21])
                                               [0, 0, 0], abs=0.6)
    # ghosting: a correction on frame 1 shows faintly on frame 0
    w.session.set_frame(1)
    wait_colorized(qtbot, w, 1)
    paint(qtbot, w, ctl, GREEN, [(30, 30), (60, 30)])
    w.session.set_frame(0)
    ctl.corrections_panel.ghost_box.setChecked(True)
    assert ctl.ghost.isVisible() and ctl.ghost.image[30, 45, 3] > 0
    assert ctl.ghost.image[80, 140, 3] == 0
    bp.eraser_box.setChecked(False)
    ctl.set_brush_active(False)
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_BracketLeft)   # [ is "set in" again
    assert ctl.brush_action.isChecked() is False


def test_history_is_capped_by_bytes(qtbot, win):
    w, ctl = win
    ctl.undo.max_bytes = 1          # every step but the newest expires at once
    paint(qtbot, w, ctl, GREEN, [(30, 30), (50, 30)])
    paint(qtbot, w, ctl, GREEN, [(30, 60), (50, 60)])
    cmds = ctl.undo.commands()
    assert cmds[0].expired and not cmds[1].expired and "expired" in cmds[0].text()
    ctl.undo.undo()                 # the newest still undoes exactly
    assert ctl.stack[0].mask.get_patch((55, 25, 66, 56)).max() == 0


def test_results_composed_before_a_change_never_reach_the_screen(qtbot, win):
    # The display worker may be composing a frame while the corrections change; that result
    # (and a second compose of an unchanged frame) must not replace what the viewer shows.
    from colorizer_app.gui.decode_worker import FrameResult
    w, ctl = win
    pipe = w.pipeline
    wait_colorized(qtbot, w)
    b = pipe.bundle(0)
    shown, gen, key = b.colorized, b.compose_gen, pipe.chroma.key
    pipe._on_frame(FrameResult(pipe._generation, 0, colorized=shown.copy(), chroma_key=key, gen=gen))
    assert pipe.bundle(0).colorized is shown               # a duplicate: the same array stays
    pipe._on_frame(FrameResult(pipe._generation, 0, colorized=np.zeros_like(shown),
                               chroma_key="another model", gen=gen))
    assert pipe.bundle(0).colorized is shown               # another model's picture: dropped
    pipe.recompose_frames([0])                             # e.g. new temporal chroma for frame 0
    stale = np.zeros_like(shown)
    pipe._on_frame(FrameResult(pipe._generation, 0, colorized=stale, chroma_key=key, gen=gen))
    assert pipe.bundle(0).colorized is not stale and w.viewer.current_pictures()["left"] is not stale
    fresh = wait_shows_expected(qtbot, w, ctl)             # asked again: the current composition
    assert pipe.bundle(0).compose_gen != gen and np.array_equal(fresh, shown)


def test_a_stroke_in_progress_holds_the_background_analysis_off(qtbot, win):
    """Curves and shot detection wait while the artist paints, not only after each undo step."""
    import time

    from PySide6.QtCore import QPointF

    from colorizer_app.gui.temporal.worker import EDIT_QUIET_S
    w, ctl = win
    wait_colorized(qtbot, w, 0)
    worker, none = w.temporal.worker, Qt.KeyboardModifier.NoModifier
    with worker._lock:
        worker._quiet_until = 0.0
    ctl.tool.press(QPointF(30, 30), none)
    qtbot.wait(300)
    ctl.tool.drag(QPointF(60, 40), none)
    assert ctl.undo.count() == 0                              # not a step yet
    assert worker._quiet_until - time.monotonic() > EDIT_QUIET_S - 0.2
    ctl.tool.release(QPointF(60, 40), none)
    assert ctl.undo.count() == 1


def test_editing_holds_colorizing_beyond_the_frame_on_screen(qtbot, win):
    """While the artist edits, the network works only for the frame on screen; the rest of the
    film follows once the edits have been quiet for EDIT_QUIET_S."""
    import time

    from colorizer_app.gui.colorize_worker import EDIT_QUIET_S
    w, ctl = win
    wait_colorized(qtbot, w, 0)
    qtbot.wait(500)                        # whatever was on its way before background went off
    w.pipeline.chroma.discard(range(1, w.session.frame_count))
    assert sorted(w.pipeline.chroma.indices()) == [0]
    w.context.editing()
    held = time.monotonic()
    w.pipeline.set_background(True)
    qtbot.wait(int(EDIT_QUIET_S * 1000 * 0.6))
    assert sorted(w.pipeline.chroma.indices()) == [0]
    qtbot.waitUntil(lambda: len(w.pipeline.chroma.indices()) == w.session.frame_count,
                    timeout=30000)
    assert time.monotonic() - held >= EDIT_QUIET_S - 0.05
