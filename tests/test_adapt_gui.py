"""Temporal ▸ Learn this film: background run with live loss plot, compare, keep (undoable), cancel."""
from pathlib import Path

import numpy as np
import pytest

from colorizer_app.gui.temporal.keyframes import entry_from_still, keyframes_dir
from tests.helpers.adapt_film import write_scene
from tests.helpers.paint import TIMEOUT, make_assets, make_window
from tests.helpers.temporal_film import textured_rgb

pytestmark = pytest.mark.usefixtures("private_autosave", "no_threads_left")


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    d = tmp_path_factory.mktemp("adapt_gui")
    a = make_assets(d)
    picture = (textured_rgb(240, 320, 7) * 255 + 0.5).astype(np.uint8)
    film, frames, starts = write_scene(d, picture, shots=2, per_shot=4)
    a.update(film=str(film), frames=frames, starts=starts)
    return a


def _window_with_keys(qtbot, tmp_path, assets, keys):
    w, _ = make_window(qtbot, tmp_path, assets["tiny"])
    with qtbot.waitSignal(w.session.filmChanged, timeout=TIMEOUT * 4):
        w.open_path(assets["film"])
    qtbot.waitUntil(lambda: w.project.project is not None, timeout=TIMEOUT)
    dlg_action = w.learn_film_action
    dlg_action.trigger()
    dlg = w.adapt_dialog
    assert not dlg.start_button.isEnabled() and "keyframes first" in dlg.info.text()
    folder = keyframes_dir(w.project.project)
    h, wd = assets["frames"][0].shape[:2]
    w.temporal.apply_keyframes({k: entry_from_still(assets["frames"][k], folder, k, wd, h) for k in keys})
    dlg.refresh()
    assert dlg.start_button.isEnabled() and f"{len(keys)} keyframe(s)" in dlg.info.text()
    return w, dlg


def test_learn_compare_keep_and_undo(qtbot, tmp_path, assets):
    w, dlg = _window_with_keys(qtbot, tmp_path, assets, [0, assets["starts"][1]])
    base = w.session.model_path
    undo = w.painting.undo
    steps_before = undo.count()
    assert dlg.start(max_steps=10)
    assert dlg.running() and not dlg.start_button.isEnabled()
    w.session.set_frame(1)                      # the artist keeps working meanwhile
    qtbot.waitUntil(lambda: dlg.adapted_path != "", timeout=TIMEOUT * 4)
    adapted = dlg.adapted_path
    assert Path(adapted).parent == Path(assets["film"] + ".bento") / "models" and Path(adapted).exists()
    assert len(dlg.train_pts) == 10 and [s for s, _ in dlg.held_pts] == [0, 10]   # evaluated every 10 steps
    xs, _ = dlg.train_curve.getData()
    assert list(xs) == list(range(1, 11))
    assert dlg.held_pts[0][1] == dlg.result.base_held and dlg.held_pts[1][1] >= dlg.result.best_held
    assert w.session.model_path == adapted and undo.count() == steps_before   # a preview, not an edit
    dlg.show_base.click()
    assert w.session.model_path == base
    dlg.show_adapted.click()
    dlg.keep_adapted.click()
    assert w.session.model_path == adapted and undo.count() == steps_before + 1
    assert undo.undoText() == "Use the model learnt from this film"
    undo.undo()
    assert w.session.model_path == base
    undo.redo()
    assert w.session.model_path == adapted
    w.project._sync_to_project()
    assert w.project.project.model_path == adapted
    dlg.close()
    assert w.session.model_path == adapted


def test_cancel_leaves_the_project_unchanged(qtbot, tmp_path, assets):
    w, dlg = _window_with_keys(qtbot, tmp_path, assets, [0])
    base = w.session.model_path
    steps_before = w.painting.undo.count()
    dlg.minutes.setValue(5.0)
    models = Path(assets["film"] + ".bento") / "models"
    files_before = sorted(models.glob("*")) if models.exists() else []
    assert dlg.start()
    qtbot.waitUntil(lambda: len(dlg.train_pts) >= 1, timeout=TIMEOUT * 4)
    dlg.cancel_button.click()
    qtbot.waitUntil(lambda: not dlg.running(), timeout=TIMEOUT * 2)
    assert "Cancelled" in dlg.info.text() and dlg.start_button.isEnabled()
    assert w.session.model_path == base and w.painting.undo.count() == steps_before
    assert sorted(models.glob("*")) == files_before if models.exists() else not files_before
