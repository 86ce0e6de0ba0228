"""Temporal tools in the real window: shot detection and cut editing on the timeline (undoable,
stored in the project, used by "until the next cut"), reference keyframes propagated within
their shot only, deflicker strength, flicker/colourfulness curves."""

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from colorizer_app.core import color
from colorizer_app.core.corrections.stack import Lifetime
from tests.helpers import clips
from tests.helpers.paint import TIMEOUT, lab, make_assets, make_window, open_and_wait

pytestmark = pytest.mark.usefixtures("private_autosave", "no_threads_left")

N_A, N_B = 14, 12           # shot A: synthetic pan; shot B: a photograph panned
CUT = N_A
SIZE = (160, 96)
GREEN = (-40.0, 35.0)


def _photo(path):
    """A stand-in photograph (smooth colour fields, texture, shapes): the suite ships no photos."""
    rng = np.random.default_rng(7)
    img = cv2.resize(rng.uniform(0, 255, (9, 16, 3)).astype(np.float32), (640, 360),
                     interpolation=cv2.INTER_CUBIC)
    img += cv2.GaussianBlur(rng.normal(0, 40, (360, 640, 3)).astype(np.float32), (0, 0), 2)
    for _ in range(12):
        c = tuple(int(v) for v in rng.integers(0, 255, 3))
        cv2.circle(img, (int(rng.integers(0, 640)), int(rng.integers(0, 360))), int(rng.integers(15, 60)), c, -1)
    cv2.imwrite(str(path), np.clip(img, 0, 255).astype(np.uint8))
    return path


def _gray(rgb):
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return np.repeat(g[..., None], 3, axis=2)


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    d = tmp_path_factory.mktemp("temporal_assets")
    a = make_assets(d)
    from colorizer_app.core.media import open_media
    b_path = clips.pan_clip_from_photo(_photo(d / "photo.png"), d / "b.mkv", n=N_B, size=SIZE)
    with open_media(str(b_path)) as r:
        shot_b = [r.read(i) for i in range(N_B)]
    shot_a = [clips.synthetic_frame(i, SIZE, color=True) for i in range(N_A)]
    frames = [_gray(f) for f in shot_a + shot_b]
    a["clip"] = str(clips.write_frames(d / "two_shots.mp4", frames, gop=12))
    a["frames"] = frames
    # the model's chroma follows brightness, and the film's exposure flickers: chroma flicker
    flick = [np.clip(f.astype(np.int16) + (10 if i % 2 else -10), 0, 255).astype(np.uint8)
             for i, f in enumerate(frames)]
    a["flicker_clip"] = str(clips.write_frames(d / "flicker.mp4", flick, gop=12))
    import keras

    from colorizer_app.core.ml.model import save_model
    inp = keras.Input((None, None, 1), name="L")
    out = keras.layers.Conv2D(2, 1, kernel_initializer=keras.initializers.Constant(0.5),
                              bias_initializer=keras.initializers.Constant([0.1, -0.1]))(inp)
    a["bright"] = str(save_model(keras.Model(inp, out), d / "bright.keras"))
    return a


def _open(qtbot, tmp_path, model, clip):
    w, ctl = make_window(qtbot, tmp_path, model)
    open_and_wait(qtbot, w, clip)
    return w, ctl, w.temporal


def _wait_detected(qtbot, tc):
    qtbot.waitUntil(lambda: not tc.detecting, timeout=TIMEOUT)


def _shown(w):
    return w.viewer.current_pictures().get("left")


def _wait_all_colorized(qtbot, w):
    n = w.session.frame_count
    qtbot.waitUntil(lambda: w.pipeline.chroma is not None and w.pipeline.chroma.mask(n).all(),
                    timeout=TIMEOUT)


def test_shot_detection_and_cut_editing_with_undo(qtbot, tmp_path, assets):
    w, ctl, tc = _open(qtbot, tmp_path, assets["const"], assets["clip"])
    _wait_detected(qtbot, tc)
    assert tc.shots.cuts == (CUT,)
    assert w.timeline.cut_markers() == [CUT] and tc.markers.cuts() == [CUT]
    assert w.project.project.temporal["shots"]["cuts"] == [CUT]
    assert not w.project.modified                  # derived data, not an edit (issue 16)
    # painting's "until the next cut" follows the live ShotList
    assert ctl.shot_of(CUT - 1) != ctl.shot_of(CUT) and ctl.shot_of(0) == ctl.shot_of(CUT - 1)

    # add a cut at the playhead with Ctrl+K
    w.session.set_frame(5)
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert tc.shots.cuts == (5, CUT) and tc.markers.cuts() == [5, CUT]
    assert ctl.undo.count() == 1 and ctl.undo.command(0).text() == "Add cut at frame 5"
    lt = Lifetime.until_cut(2)
    assert lt.active(4, ctl.shot_of) and not lt.active(5, ctl.shot_of)

    # drag the marker (the line's drag ends with sigPositionChangeFinished)
    line = tc.markers.lines[5]
    line.setValue(8 - 0.5)
    line.sigPositionChangeFinished.emit(line)
    assert tc.shots.cuts == (8, CUT) and w.timeline.cut_markers() == [8, CUT]
    assert tc.markers.selected == 8 and ctl.undo.count() == 2
    assert lt.active(7, ctl.shot_of) and not lt.active(8, ctl.shot_of)

    # select + Delete removes it; undo brings every step back in order
    tc.markers.select(8)
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_Delete)
    assert tc.shots.cuts == (CUT,) and ctl.undo.count() == 3
    assert w.project.project.temporal["shots"]["cuts"] == [CUT]
    ctl.undo.undo()
    assert tc.shots.cuts == (8, CUT)
    ctl.undo.undo()
    assert tc.shots.cuts == (5, CUT) and tc.markers.cuts() == [5, CUT]
    ctl.undo.undo()
    assert tc.shots.cuts == (CUT,)
    ctl.undo.redo()
    assert tc.shots.cuts == (5, CUT)
    # the context menu of a marker deletes it too
    tc.markers.deleteRequested.emit(5)
    assert tc.shots.cuts == (CUT,)

    # stored in the project: reopening uses the saved cuts (no new detection)
    w.session.set_frame(0)
    assert w.project.save_as(tmp_path / "p.bento.json")
    w2, _ctl2, tc2 = _open(qtbot, tmp_path, assets["const"], str(tmp_path / "p.bento.json"))
    assert not tc2.detecting and tc2.shots.cuts == (CUT,) and w2.timeline.cut_markers() == [CUT]
    assert w2.shutdown() and w.shutdown()


def test_detection_ending_keeps_composed_frames_without_cut_bound_corrections(qtbot, tmp_path,
                                                                              assets):
    # Shot detection ends whenever the scan does; with no "until the next cut" correction
    # nothing on screen depends on the cuts, so composed frames stay as they are.
    w, ctl, tc = _open(qtbot, tmp_path, assets["const"], assets["clip"])
    _wait_detected(qtbot, tc)
    shown = w.pipeline.bundle(0).colorized
    tc.detect_again()
    _wait_detected(qtbot, tc)
    qtbot.wait(50)                                 # the queued recompose, if any, has run
    assert w.pipeline.bundle(0).colorized is shown and _shown(w) is shown
    # with one, the frames are composed again with the new cuts
    ctl.stack.new(chroma=GREEN, lifetime=Lifetime.until_cut(0, track=False))

    def recomposed_after(old):
        b = w.pipeline.bundle(0)
        assert b.colorized is not None and b.colorized is not old and _shown(w) is b.colorized
    qtbot.waitUntil(lambda: recomposed_after(shown), timeout=TIMEOUT)
    shown = w.pipeline.bundle(0).colorized
    tc.detect_again()
    _wait_detected(qtbot, tc)
    qtbot.waitUntil(lambda: recomposed_after(shown), timeout=TIMEOUT)
    assert w.shutdown()


def _model_picture(w, i):
    from colorizer_app.core import compose
    chroma, b = w.pipeline.chroma, w.pipeline.bundle(i)
    box = compose.letterbox(b.source.shape[0], b.source.shape[1], chroma.size)
    return compose.compose_colorized(b.source, chroma.get(i), box, index=i)


def _mean_ab(rgb, region=(slice(30, 90), slice(20, 140))):
    ab = lab(rgb)[region][..., 1:]
    return ab.reshape(-1, 2).mean(0)


def test_reference_keyframe_propagates_within_its_shot_only(qtbot, tmp_path, assets):
    w, ctl, tc = _open(qtbot, tmp_path, assets["const"], assets["clip"])
    _wait_detected(qtbot, tc)
    _wait_all_colorized(qtbot, w)
    # a colour still for frame 6: the gray frame in green
    k = 6
    still = color.colorize_with_ab(assets["frames"][k],
                                   np.broadcast_to(np.float32(GREEN), SIZE[::-1] + (2,)).copy())
    still_path = tmp_path / "still.png"
    cv2.imwrite(str(still_path), cv2.cvtColor(still, cv2.COLOR_RGB2BGR))
    w.session.set_frame(k)
    assert tc.import_still(str(still_path))
    assert sorted(tc.keys) == [k] and tc.markers.keyframes() == [k]
    assert tc.panel.key_list.count() == 1
    assert ctl.undo.command(ctl.undo.count() - 1).text() == f"Import still for frame {k}"
    assert str(k) in w.project.project.temporal["keyframes"]

    def shows_green(i):
        def ok():
            b = w.pipeline.bundle(i)
            assert w.session.frame == i and b is not None and b.colorized is not None
            assert _shown(w) is b.colorized and tc.store.fresh(i)
            ab = _mean_ab(b.colorized)
            assert ab[0] < -15 and ab[1] > 15, ab
        return ok

    for i in (k, k + 3, k - 2):            # the keyframe and its neighbours in shot A
        w.session.set_frame(i)
        qtbot.waitUntil(shows_green(i), timeout=TIMEOUT)
    # the other shot keeps the model's colour
    w.session.set_frame(CUT + 2)
    qtbot.waitUntil(lambda: tc.store.fresh(CUT + 2) and _shown(w) is not None
                    and w.pipeline.bundle(CUT + 2) is not None
                    and w.pipeline.bundle(CUT + 2).chroma_key is not None, timeout=TIMEOUT)
    assert np.array_equal(w.pipeline.bundle(CUT + 2).colorized, _model_picture(w, CUT + 2))

    # undo removes the keyframe and the model's colour comes back
    w.session.set_frame(k + 3)
    ctl.undo.undo()
    assert tc.keys == {} and not tc.store.active

    def back_to_model():
        b = w.pipeline.bundle(k + 3)
        assert b is not None and b.colorized is not None and b.chroma_key is not None
        assert np.array_equal(b.colorized, _model_picture(w, k + 3))
    qtbot.waitUntil(back_to_model, timeout=TIMEOUT)

    # a folder of ref_NNNNNN.png stills: one undo step for all of them
    refs = tmp_path / "refs"
    refs.mkdir()
    cv2.imwrite(str(refs / f"ref_{k:06d}.png"), cv2.cvtColor(still, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(refs / f"ref_{CUT + 3:06d}.png"), cv2.cvtColor(still, cv2.COLOR_RGB2BGR))
    assert tc.import_folder(str(refs))
    assert sorted(tc.keys) == [k, CUT + 3]
    tc.remove_keyframe(CUT + 3)
    assert sorted(tc.keys) == [k]
    assert w.shutdown()


def test_curves_wait_while_the_film_plays(qtbot, tmp_path, assets):
    """Background analysis yields to playback: no curve frame is computed while the film plays
    (each costs about two playback composes), and the curves fill in once it stops."""
    w, ctl, tc = _open(qtbot, tmp_path, assets["bright"], assets["clip"])
    w.pipeline.set_background(False)       # before playback only the frames looked at get colour
    _wait_detected(qtbot, tc)
    w.player.play(1.0)                     # loops over the in/out range until stopped
    assert w.pipeline.playing
    w.pipeline.set_background(True)
    _wait_all_colorized(qtbot, w)

    def done() -> int:
        return 0 if tc.colour is None else int(np.isfinite(tc.colour).sum())
    qtbot.wait(500)                        # a curve frame begun before playback has landed
    before = done()
    qtbot.wait(1500)                       # time enough for several curve frames, were they allowed
    assert w.player.playing
    assert done() == before < w.session.frame_count - 4, (before, done())
    w.player.stop()
    assert not w.pipeline.playing
    qtbot.waitUntil(lambda: done() == w.session.frame_count, timeout=TIMEOUT)


def test_curves_wait_for_a_quiet_moment_after_an_edit(qtbot, tmp_path, assets):
    """An edit (any undo step) makes the curves stale, and they are recomputed only once the
    artist has left the picture alone for EDIT_QUIET_S: the edit's own picture comes first."""
    import time

    from PySide6.QtGui import QUndoCommand

    from colorizer_app.gui.temporal.worker import EDIT_QUIET_S
    w, ctl, tc = _open(qtbot, tmp_path, assets["bright"], assets["clip"])
    _wait_detected(qtbot, tc)
    _wait_all_colorized(qtbot, w)
    qtbot.waitUntil(lambda: tc.colour is not None and np.isfinite(tc.colour).all(), timeout=TIMEOUT)
    qtbot.wait(300)                        # the last curve frame has landed
    steps: list[float] = []
    worker, real = tc.worker, tc.worker._curve_step
    worker._curve_step = lambda i: (steps.append(time.monotonic()), real(i))[1]
    edit_at = time.monotonic()
    w.painting.undo.push(QUndoCommand("an edit"))
    qtbot.waitUntil(lambda: len(steps) >= w.session.frame_count, timeout=TIMEOUT)
    assert steps[0] - edit_at >= EDIT_QUIET_S - 0.05, steps[0] - edit_at
    assert steps[0] - edit_at < EDIT_QUIET_S + 1.0
    # an edit that goes on without undo steps (a hint dragged) holds them off until it stops
    qtbot.wait(300)
    steps.clear()
    w.painting.undo.push(QUndoCommand("a drag starts"))
    held = time.monotonic()
    while time.monotonic() - held < EDIT_QUIET_S + 0.5:
        worker.postpone()
        last_hold = time.monotonic()
        qtbot.wait(100)
    assert not steps
    qtbot.waitUntil(lambda: len(steps) >= w.session.frame_count, timeout=TIMEOUT)
    assert steps[0] - last_hold >= EDIT_QUIET_S - 0.05, steps[0] - last_hold


def test_deflicker_strength_and_curves(qtbot, tmp_path, assets):
    w, ctl, tc = _open(qtbot, tmp_path, assets["bright"], assets["flicker_clip"])
    _wait_detected(qtbot, tc)
    _wait_all_colorized(qtbot, w)
    f = 5
    w.session.set_frame(f)
    qtbot.waitUntil(lambda: w.pipeline.bundle(f) is not None
                    and w.pipeline.bundle(f).colorized is not None
                    and w.pipeline.bundle(f).chroma_key is not None, timeout=TIMEOUT)
    before = w.pipeline.bundle(f).colorized

    # curves arrive for the colorized frames (nan only on each shot's last frame)
    def curves_done():
        assert tc.flicker is not None and tc.colour is not None
        fl = tc.flicker
        assert np.isfinite(fl[:CUT - 1]).all() and np.isfinite(fl[CUT:-1]).all()
        assert np.isfinite(tc.colour).all()
    qtbot.waitUntil(curves_done, timeout=TIMEOUT)
    assert {"flicker", "colourfulness"} <= set(w.timeline.curve_names())
    assert tc.panel.peak_list.count() > 0
    flicker_off = tc.flicker.copy()
    k = tc.goto_peak(1)
    assert k is not None and w.session.frame == k and k in [p for p, _ in tc.peaks]

    # deflicker at 100 %: the shown chroma changes, L does not
    w.session.set_frame(f)
    tc.panel.strength_slider.setValue(100)
    qtbot.waitUntil(lambda: tc.strength == 1.0, timeout=2000)
    assert tc.panel.strength_label.text() == "100 %"

    def changed():
        b = w.pipeline.bundle(f)
        assert tc.store.fresh(f) and b.chroma_key is not None and b.colorized is not before
        assert _shown(w) is b.colorized
        la, lb = lab(b.colorized), lab(before)
        assert np.abs(la[..., 1:] - lb[..., 1:]).mean() > 0.3, np.abs(la[..., 1:] - lb[..., 1:]).mean()
        assert np.median(np.abs(la[..., 0] - lb[..., 0])) < 2.0    # gamut clipping only
    qtbot.waitUntil(changed, timeout=TIMEOUT)
    assert w.project.project.temporal["deflicker"] == 1.0
    # the flicker curve is recomputed for the new result, and is lower overall
    qtbot.waitUntil(lambda: tc.flicker is not None and
                    np.nanmean(tc.flicker[:CUT - 1]) < np.nanmean(flicker_off[:CUT - 1]) - 1e-6,
                    timeout=TIMEOUT)

    # File > Export renders what the viewer shows (the project's deflicker, same engine)
    from colorizer_app.core.media import open_media
    from colorizer_app.gui.export_dialog import ExportDialog
    shown = w.pipeline.bundle(f).colorized
    dlg = ExportDialog(w)
    dlg.format_combo.setCurrentIndex(dlg.format_combo.findData("png8"))
    dlg.path_edit.setText(str(tmp_path / "frames"))
    dlg.in_spin.setValue(f - 2)
    dlg.out_spin.setValue(f + 2)
    with qtbot.waitSignal(dlg.finished_export, timeout=TIMEOUT) as blocker:
        assert dlg.start()
    assert blocker.args[0] == "done", blocker.args
    with open_media(str(tmp_path / "frames")) as r:
        exported = r.read(2)
    assert np.abs(exported.astype(int) - shown).max() <= 2
    assert np.abs(lab(exported)[..., 1:] - lab(before)[..., 1:]).mean() > 0.3   # not the model's

    # back to 0 %: exactly the model's picture again
    tc.set_strength(0.0)
    qtbot.waitUntil(lambda: w.pipeline.bundle(f).chroma_key is not None
                    and np.array_equal(w.pipeline.bundle(f).colorized, before), timeout=TIMEOUT)
    assert w.shutdown()
