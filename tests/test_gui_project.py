"""Projects in the real window: save and reopen with identical pixels, corrupt/newer files are
refused and never overwritten, autosave + recovery, unsaved-changes prompt."""
import json

import numpy as np
import pytest

from colorizer_app.core.project import find_recovery

try:
    from tests.clips import make_clip
    from tests.paint_helpers import (_no_threads_left, make_assets, make_window,  # noqa: F401
                                     open_and_wait, stroke, wait_shows_expected)
except ImportError:  # pragma: no cover
    from clips import make_clip
    from paint_helpers import (_no_threads_left, make_assets, make_window,  # noqa: F401
                               open_and_wait, stroke, wait_shows_expected)


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    return make_assets(tmp_path_factory.mktemp("project_assets"))


@pytest.fixture
def clip(tmp_path):
    return str(make_clip(tmp_path / "reel.mp4", n_frames=6, size=(160, 96), audio=False))


def _painted_window(qtbot, tmp_path, assets, clip):
    w, ctl = make_window(qtbot, tmp_path, assets["const"])
    open_and_wait(qtbot, w, clip)
    # the cuts are saved with the project: a reopened one must not run (and record) detection
    qtbot.waitUntil(lambda: not w.temporal.detecting, timeout=30000)
    w.pipeline.set_background(False)
    ctl.set_brush_active(True)
    ctl.brush_panel.set_size(20)
    ctl.colour_panel.set_colour(-40.0, 35.0)
    stroke(qtbot, w, [(40, 40), (90, 50)])
    return w, ctl, wait_shows_expected(qtbot, w, ctl)


def test_save_and_reopen_identical_pixels(qtbot, tmp_path, assets, clip):
    w, ctl, painted = _painted_window(qtbot, tmp_path, assets, clip)
    w.session.set_in_out(1, 4)
    assert w.project.modified and "*" in w.windowTitle()
    path = tmp_path / "reel.bento.json"
    assert w.project.save_as(path)
    assert not w.project.modified and "*" not in w.windowTitle()
    assert w.project.recent_projects()[0] == str(path)
    name = ctl.stack[0].name
    assert w.shutdown()

    w2, ctl2 = make_window(qtbot, tmp_path, assets["const"], name="settings2.ini")
    with qtbot.waitSignal(w2.project.projectChanged, timeout=30000):
        w2.open_path(str(path))                     # what `python main.py PROJECT` does
    w2.pipeline.set_background(False)
    w2.session.set_frame(0)
    shown = wait_shows_expected(qtbot, w2, ctl2)
    assert np.array_equal(shown, painted)
    assert [c.name for c in ctl2.stack] == [name]
    assert (w2.session.in_point, w2.session.out_point) == (1, 4)
    assert not w2.project.modified
    assert w2.shutdown()


def test_corrupt_and_newer_projects_are_refused_and_never_overwritten(qtbot, tmp_path, assets,
                                                                      clip):
    w, ctl, _ = _painted_window(qtbot, tmp_path, assets, clip)
    bad = tmp_path / "broken.bento.json"
    bad.write_bytes(b'{"format_version": 1, "source": ')
    newer = tmp_path / "future.bento.json"
    newer.write_text(json.dumps({"format_version": 99, "source": {"absolute": clip}}))
    before_bad, before_newer = bad.read_bytes(), newer.read_bytes()
    assert not w.project.open_project_file(bad)
    assert "broken.bento.json" in w.last_message and "damaged" in w.last_message
    assert not w.project.open_project_file(newer)
    assert "newer" in w.last_message
    assert not w.project.save_as(newer) and not w.project.save_as(bad)
    assert "overwrite" in w.last_message
    assert bad.read_bytes() == before_bad and newer.read_bytes() == before_newer
    assert len(ctl.stack) == 1                      # the open project is untouched
    assert w.shutdown()


def test_autosave_recovery_and_unsaved_prompt(qtbot, tmp_path, assets, clip):
    w, ctl, painted = _painted_window(qtbot, tmp_path, assets, clip)
    path = tmp_path / "reel.bento.json"
    assert w.project.save_as(path)
    ctl.colour_panel.set_colour(20.0, -40.0)
    stroke(qtbot, w, [(120, 30), (130, 70)])
    wait_shows_expected(qtbot, w, ctl)
    assert w.project.autosave() is not None          # what the timer does
    assert find_recovery(path)
    # closing with unsaved changes asks; Cancel keeps the window open
    asked = []
    w.project.ask = lambda kind, text: asked.append(kind) or "cancel"
    w.close()
    assert asked == ["unsaved"] and w.isVisible()
    # a crash: the window goes away without saving, the autosave stays
    w.project.ask = lambda kind, text: "cancel"
    assert w.shutdown()

    w2, ctl2 = make_window(qtbot, tmp_path, assets["const"], name="settings2.ini")
    w2.project.ask = lambda kind, text: asked.append(kind) or "recover"
    with qtbot.waitSignal(w2.project.projectChanged, timeout=30000):
        assert w2.project.open_project_file(path)
    assert asked[-1] == "recover" and len(ctl2.stack) == 2 and w2.project.modified
    w2.pipeline.set_background(False)
    w2.session.set_frame(0)
    wait_shows_expected(qtbot, w2, ctl2)
    w2.project.ask = lambda kind, text: "save"      # saving on close clears the autosave
    w2.close()
    assert not find_recovery(path)
    assert w2.shutdown()
    w.project.ask = lambda kind, text: "discard"
