"""The hint tool in the real window (offscreen): clicks place hints, the network's picture
changes along the clicked object and not across its edge, every edit is one undo step that
restores the exact picture, old models disable the tool, projects keep the hints, the render
equals the viewer, a hinted frame becomes a keyframe, hints copy to another frame by flow."""
import numpy as np
import pytest
from PySide6.QtCore import Qt

from colorizer_app.core import color
from tests.helpers.clips import write_frames
from tests.helpers.hint_models import edge_spread_model
from tests.helpers.paint import (
    lab,
    make_assets,
    make_window,
    open_and_wait,
    wait_colorized,
    widget_pos,
)

pytestmark = pytest.mark.usefixtures("private_autosave", "no_threads_left")

GREEN = (-45.0, 40.0)
BLUE = (10.0, -45.0)
SIDE, OBJ, STEP = 96, 36, 3          # film side, dark object side, its motion per frame (px)
TIMEOUT = 30000


def object_x(i: int) -> int:
    return 12 + STEP * i


def film_frame(i: int) -> np.ndarray:
    """A light textured background and a dark textured square moving right: a clear edge
    (the texture gives optical flow something to follow)."""
    tex = np.random.default_rng(7).normal(0, 1.5, (SIDE, SIDE + 64)).astype(np.float32)
    L = 75.0 + tex[:, :SIDE]
    x0 = object_x(i)
    L[30:30 + OBJ, x0:x0 + OBJ] = 30.0 + tex[:OBJ, 64 - STEP * i:64 - STEP * i + OBJ]
    zero = np.zeros_like(L)
    return color.to_uint8(color.lab_to_rgb(np.dstack([L, zero, zero])))


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    d = tmp_path_factory.mktemp("hint_assets")
    a = make_assets(d)
    a["spread"] = str(edge_spread_model(d / "spread.keras"))
    a["film"] = str(write_frames(d / "object.mkv", (film_frame(i) for i in range(6)),
                                 codec="ffv1", audio=False))
    return a


def hint_window(qtbot, tmp_path, assets, name="settings.ini"):
    w, ctl = make_window(qtbot, tmp_path, assets["spread"], name=name)
    with qtbot.waitSignal(w.session.filmChanged, timeout=TIMEOUT):
        w.open_path(assets["film"])
    qtbot.waitUntil(lambda: shown(w) is not None and w.pipeline.bundle(0) is not None
                    and shown(w) is w.pipeline.bundle(0).colorized, timeout=4 * TIMEOUT)
    w.pipeline.set_background(False)
    qtbot.waitUntil(lambda: w.hints.takes_hints, timeout=TIMEOUT)
    return w, ctl


def click(qtbot, w, x, y, button=Qt.MouseButton.LeftButton, modifier=Qt.KeyboardModifier.NoModifier):
    vp = w.viewer.canvas.viewport()
    p = widget_pos(w, x + 0.5, y + 0.5)          # the pixel's centre
    qtbot.mouseMove(vp, p)
    qtbot.wait(5)
    qtbot.mouseClick(vp, button, modifier, pos=p)


def drag(qtbot, w, points):
    from PySide6.QtWidgets import QApplication
    vp = w.viewer.canvas.viewport()
    pts = [widget_pos(w, x + 0.5, y + 0.5) for x, y in points]
    qtbot.mouseMove(vp, pts[0])
    qtbot.wait(QApplication.doubleClickInterval() + 20)
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=pts[0])
    for p in pts[1:]:
        qtbot.mouseMove(vp, p)
        qtbot.wait(5)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=pts[-1])


def shown(w, index=0):
    return w.viewer.current_pictures().get("left")


def wait_picture(qtbot, w, pred, index=0):
    """Wait until the frame on screen satisfies pred(picture) (a new composition arrived)."""
    def ready():
        b = w.pipeline.bundle(index)
        assert b is not None and b.colorized is not None
        assert shown(w) is b.colorized and pred(b.colorized)
    qtbot.waitUntil(ready, timeout=TIMEOUT)
    return shown(w)


def ab_mean(pic, ys, xs):
    return lab(pic)[ys, xs, 1:].reshape(-1, 2).mean(0)


def test_click_colours_the_object_to_its_edge_and_undo_redo_restore_exact_pictures(
        qtbot, tmp_path, assets):
    w, ctl = hint_window(qtbot, tmp_path, assets)
    hc = w.hints
    gray = wait_colorized(qtbot, w, 0)
    assert hc.tool_action in w.painting.edit_menu.actions() and hc.tool_action.isEnabled()
    assert hc.tool_action in hc.toolbar.actions()
    w.viewer.canvas.setFocus()
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_H)            # H: the hint tool
    assert hc.tool_action.isChecked() and w.viewer.left.tool is hc.tool
    ctl.colour_panel.set_colour(*GREEN)
    cx, cy = object_x(0) + OBJ // 2, 30 + OBJ // 2
    click(qtbot, w, cx, cy)
    (hid, h), = hc.store.items(0)
    assert (h.x, h.y, h.a, h.b) == (cx, cy, *GREEN) and hc.overlay.count() == 1
    hinted = wait_picture(qtbot, w, lambda p: not np.array_equal(p, gray))
    near = ab_mean(hinted, slice(cy - 3, cy + 4), slice(cx - 3, cx + 4))
    x0 = object_x(0)
    beyond = ab_mean(hinted, slice(33, 40), slice(x0 + 3, x0 + 10))      # the object's far corner
    across = ab_mean(hinted, slice(30, 66), slice(x0 + OBJ + 6, SIDE - 4))   # past its edge
    above = ab_mean(hinted, slice(4, 22), slice(x0, x0 + OBJ))
    # the dark object cannot show all of GREEN's chroma (sRGB gamut at L 30): near it, though
    assert np.abs(near - GREEN).max() < 10 and np.abs(beyond - near).max() < 4, (near, beyond)
    assert np.abs(across).max() < 2 and np.abs(above).max() < 2, (across, above)
    assert np.abs(ab_mean(gray, slice(30, 66), slice(x0, x0 + OBJ))).max() < 2   # was gray

    # one placement = one undo step; undo/redo give back the exact pictures
    assert w.painting.undo.count() == 1 and "Place hint" in w.painting.undo.text(0)
    w.painting.undo.undo()
    assert hc.store.items(0) == [] and hc.overlay.count() == 0
    wait_picture(qtbot, w, lambda p: np.array_equal(p, gray))
    w.painting.undo.redo()
    wait_picture(qtbot, w, lambda p: np.array_equal(p, hinted))

    # drag moves the hint (one step); recolour; Delete key; right-click delete
    drag(qtbot, w, [(cx, cy), (cx + 4, cy + 2), (cx + 6, cy + 4)])
    (hid2, moved), = hc.store.items(0)
    assert hid2 == hid and (moved.x, moved.y) == (cx + 6, cy + 4)
    assert w.painting.undo.count() == 2 and "Move hint" in w.painting.undo.text(1)
    ctl.colour_panel.set_colour(*BLUE)
    hc.recolour_action.trigger()
    assert (hc.store.get(0, hid).a, hc.store.get(0, hid).b) == BLUE
    blue = wait_picture(qtbot, w, lambda p: np.abs(
        ab_mean(p, slice(cy - 3, cy + 4), slice(cx - 3, cx + 4)) - BLUE).max() < 12)
    assert np.abs(ab_mean(blue, slice(30, 66), slice(x0 + OBJ + 6, SIDE - 4))).max() < 2
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_Delete)
    assert hc.store.items(0) == []
    wait_picture(qtbot, w, lambda p: np.array_equal(p, gray))
    w.painting.undo.undo()                                   # back: the blue hint
    wait_picture(qtbot, w, lambda p: np.array_equal(p, blue))
    click(qtbot, w, cx + 6, cy + 4, button=Qt.MouseButton.RightButton)
    assert hc.store.items(0) == []
    assert [w.painting.undo.text(i).split()[0] for i in range(w.painting.undo.count())] == \
        ["Place", "Move", "Recolour", "Delete"]
    wait_picture(qtbot, w, lambda p: np.array_equal(p, gray))
    assert w.shutdown()


def test_override_brush_wins_alt_click_picks_hide_and_hints_only(qtbot, tmp_path, assets):
    w, ctl = hint_window(qtbot, tmp_path, assets)
    hc = w.hints
    gray = wait_colorized(qtbot, w, 0)
    hc.set_active(True)
    ctl.colour_panel.set_colour(*GREEN)
    cx, cy = object_x(0) + OBJ // 2, 30 + OBJ // 2
    click(qtbot, w, cx, cy)
    wait_picture(qtbot, w, lambda p: not np.array_equal(p, gray))
    # Alt-click takes the colour the network shows there
    ctl.colour_panel.set_colour(0.0, 0.0)
    click(qtbot, w, object_x(0) + 4, 34, modifier=Qt.KeyboardModifier.AltModifier)
    assert np.abs(np.array(ctl.colour_panel.ab) - GREEN).max() < 10
    assert len(hc.store.items(0)) == 1                       # Alt-click placed nothing
    # an override brush stroke wins over the hinted network in its region
    from tests.helpers.paint import stroke
    ctl.set_brush_active(True)
    assert not hc.tool_action.isChecked()
    ctl.brush_panel.set_size(10)
    ctl.brush_panel.softness_spin.setValue(0)
    ctl.brush_panel.smoothing_spin.setValue(0)
    ctl.colour_panel.set_colour(*BLUE)
    stroke(qtbot, w, [(cx - 10, cy), (cx - 8, cy)])
    both = wait_picture(qtbot, w, lambda p: np.abs(
        ab_mean(p, slice(cy - 2, cy + 3), slice(cx - 11, cx - 6)) - BLUE).max() < 12)
    assert np.abs(ab_mean(both, slice(33, 40), slice(object_x(0) + 3, object_x(0) + 10)) - GREEN).max() < 10
    # hide / show the hints; "hints only" shows the gray frame under them
    hc.visible_action.trigger()
    assert not hc.overlay.item.isVisible() and not hc.panel.show_box.isChecked()
    hc.panel.show_box.setChecked(True)
    assert hc.overlay.item.isVisible()
    hc.panel.only_btn.click()
    assert w.session.view_mode == "gray"
    hc.panel.result_btn.click()
    assert w.session.view_mode == "colorized"
    assert w.shutdown()


def test_old_model_disables_the_tool_with_a_tooltip(qtbot, tmp_path, assets):
    w, ctl = make_window(qtbot, tmp_path, assets["const"])
    open_and_wait(qtbot, w, assets["film"])
    hc = w.hints
    qtbot.waitUntil(lambda: "takes no hints" in hc.panel.model_label.text(), timeout=TIMEOUT)
    assert not hc.tool_action.isEnabled() and "takes no hints" in hc.tool_action.toolTip()
    hc.tool_action.trigger()
    assert w.viewer.left.tool is not hc.tool
    assert w.shutdown()


def test_the_shipped_hint_model_is_one_click_away_and_follows_a_click(qtbot, tmp_path, assets):
    """The bundled hint generator (resources/models/bento_hints.keras), not a model made for the
    test: from a plain model, the Hints panel's button loads it; a green click then colours the
    dark object and stays out of the light background past its edge."""
    from colorizer_app.core.ml.bundled import HINT_MODEL
    w, ctl = make_window(qtbot, tmp_path, assets["const"])
    open_and_wait(qtbot, w, assets["film"])
    hc = w.hints
    qtbot.waitUntil(lambda: "takes no hints" in hc.panel.model_label.text(), timeout=TIMEOUT)
    assert not hc.panel.use_model_btn.isHidden() and w.model_panel.hint_button.isEnabled()
    old_key = w.pipeline.chroma.key
    hc.panel.use_model_btn.click()
    assert w.session.model_path == str(HINT_MODEL)
    assert w.settings.value("model/path", "", str) == str(HINT_MODEL)    # the next start keeps it
    qtbot.waitUntil(lambda: hc.takes_hints, timeout=4 * TIMEOUT)
    assert hc.tool_action.isEnabled() and hc.panel.use_model_btn.isHidden()
    assert not w.model_panel.hint_button.isEnabled()
    w.pipeline.set_background(False)

    def by_the_hint_model():   # not the plain model's picture, still on screen until then
        chroma, b = w.pipeline.chroma, w.pipeline.bundle(0)
        assert chroma is not None and chroma.key != old_key
        assert b is not None and b.chroma_key == chroma.key
    qtbot.waitUntil(by_the_hint_model, timeout=4 * TIMEOUT)
    gray = wait_colorized(qtbot, w, 0)
    x0 = object_x(0)
    assert np.abs(ab_mean(gray, slice(30, 66), slice(x0, x0 + OBJ))).max() < 2   # no hints: gray
    hc.set_active(True)
    ctl.colour_panel.set_colour(*GREEN)
    cx, cy = x0 + OBJ // 2, 30 + OBJ // 2
    click(qtbot, w, cx, cy)
    hinted = wait_picture(qtbot, w, lambda p: not np.array_equal(p, gray))
    near = ab_mean(hinted, slice(cy - 3, cy + 4), slice(cx - 3, cx + 4))
    beyond = ab_mean(hinted, slice(33, 40), slice(x0 + 3, x0 + 10))           # the object's far corner
    across = ab_mean(hinted, slice(30, 66), slice(x0 + OBJ + 6, SIDE - 4))      # past its edge
    print("shipped hint model: near", near, "beyond", beyond, "across", across)
    assert near[0] < -20 and near[1] > 15, near                                # green where clicked
    assert beyond[0] < -15 and beyond[1] > 10, beyond                         # and to the corner
    assert np.abs(across).max() < 0.25 * np.abs(beyond).max(), (across, beyond)
    assert w.shutdown()


def test_save_reopen_keeps_hints_and_render_equals_viewer(qtbot, tmp_path, assets):
    from colorizer_app.core.media import open_media
    from colorizer_app.core.pipeline.render import RenderJob, render
    from colorizer_app.core.project.project import open_project

    w, ctl = hint_window(qtbot, tmp_path, assets)
    hc = w.hints
    hc.panel.key_box.setChecked(False)                # the render compares the hint stage alone
    gray = wait_colorized(qtbot, w, 0)
    hc.set_active(True)
    ctl.colour_panel.set_colour(*GREEN)
    cx, cy = object_x(0) + OBJ // 2, 30 + OBJ // 2
    click(qtbot, w, cx, cy)
    hinted = wait_picture(qtbot, w, lambda p: not np.array_equal(p, gray))
    path = tmp_path / "object.bento.json"
    assert w.project.save_as(path)
    items = hc.store.items(0)
    assert w.shutdown()
    assert open_project(path).hints.items(0) == items

    w2, ctl2 = make_window(qtbot, tmp_path, assets["spread"], name="settings2.ini")
    w2.hints.panel.key_box.setChecked(False)
    with qtbot.waitSignal(w2.project.projectChanged, timeout=TIMEOUT):
        w2.open_path(str(path))
    w2.pipeline.set_background(False)
    assert w2.hints.store.items(0) == items and w2.hints.overlay.count() == 1
    again = wait_picture(qtbot, w2, lambda p: np.array_equal(p, hinted))
    assert not w2.project.modified
    hint_size = w2.hints.worker._colorizer.size
    assert hint_size == w2.pipeline.chroma.size       # the hinted picture at the cache's size
    assert w2.shutdown()

    out = tmp_path / "out"
    p = open_project(path)
    assert hint_size == p.working_size
    render(RenderJob.from_project(p, model=assets["spread"]),
           str(out / "f_%04d.png"), frames=(0, 1), batch_size=2)
    with open_media(str(out / "f_%04d.png")) as r:
        exported = r.read(0)
    diff = np.abs(exported.astype(int) - again.astype(int))
    assert diff.max() <= 1 and diff.mean() < 0.05, (diff.max(), diff.mean())


def test_hinted_frame_becomes_a_keyframe_and_hints_copy_by_flow(qtbot, tmp_path, assets):
    w, ctl = hint_window(qtbot, tmp_path, assets)
    hc = w.hints
    qtbot.waitUntil(lambda: not w.temporal.detecting, timeout=TIMEOUT)
    gray = wait_colorized(qtbot, w, 0)
    hc.set_active(True)
    ctl.colour_panel.set_colour(*GREEN)
    cx, cy = object_x(0) + OBJ // 2, 30 + OBJ // 2
    click(qtbot, w, cx, cy)
    wait_picture(qtbot, w, lambda p: not np.array_equal(p, gray))
    qtbot.waitUntil(lambda: 0 in w.temporal.keys, timeout=TIMEOUT)
    assert w.painting.undo.count() == 1                       # the keyframe is no step of its own
    w.painting.undo.undo()
    qtbot.waitUntil(lambda: 0 not in w.temporal.keys, timeout=TIMEOUT)
    w.painting.undo.redo()
    qtbot.waitUntil(lambda: 0 in w.temporal.keys, timeout=TIMEOUT)
    # copy to frame 3: the object moved 3 × STEP px right, the hint follows it
    assert hc.copy_to(3) == 1
    (_, h3), = hc.store.items(3)
    assert abs(h3.x - (cx + 3 * STEP)) <= 2 and abs(h3.y - cy) <= 2, (h3.x, h3.y)
    assert w.painting.undo.count() == 2 and "Copy 1 hint" in w.painting.undo.text(1)
    # frame 3 was never on screen: it is recoloured off screen and becomes a keyframe all the same
    assert w.session.frame == 0
    qtbot.waitUntil(lambda: 3 in w.temporal.keys, timeout=TIMEOUT)
    assert w.session.frame == 0
    w.painting.undo.undo()
    assert hc.store.items(3) == []
    qtbot.waitUntil(lambda: 3 not in w.temporal.keys, timeout=TIMEOUT)
    # a burst of edits: the keyframe follows once they are quiet, made off the GUI thread
    import threading
    import time

    from colorizer_app.gui.hints.controller import KEY_QUIET_MS
    from colorizer_app.gui.temporal.keyframes import keyframes_dir
    folder, first = keyframes_dir(w.project.project), w.temporal.keys[0].path
    made_on, real = [], hc._make_key
    hc._make_key = lambda *a: (made_on.append(threading.current_thread().name), real(*a))[1]
    hid = hc.store.items(0)[0][0]
    hc.select(hid)
    t_burst = time.time()
    for colour in (BLUE, (30.0, 30.0), GREEN):
        ctl.colour_panel.set_colour(*colour)
        hc.recolour_selected()
        wait_picture(qtbot, w, lambda p, c=colour: np.abs(
            ab_mean(p, slice(cy - 3, cy + 4), slice(cx - 3, cx + 4)) - c).max() < 12)
        assert w.temporal.keys[0].path == first            # not yet: the hints are still moving
    qtbot.waitUntil(lambda: w.temporal.keys[0].path != first, timeout=TIMEOUT)
    assert time.time() - t_burst >= KEY_QUIET_MS / 1000 - 0.05
    assert made_on and all(n.startswith("bento-hint-keys") for n in made_on)
    assert len([q for q in folder.glob("key_000000_*.png") if q.stat().st_mtime >= t_burst]) == 1
    assert w.shutdown()
