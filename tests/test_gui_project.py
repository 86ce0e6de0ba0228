"""Projects in the real window: save and reopen with identical pixels, corrupt/newer files are
refused and never overwritten, autosave + recovery, unsaved-changes prompt."""
import json

import numpy as np
import pytest

from colorizer_app.core.project.project import find_recovery
from tests.helpers.clips import make_clip
from tests.helpers.paint import make_assets, make_window, open_and_wait, stroke, wait_shows_expected

pytestmark = pytest.mark.usefixtures("private_autosave", "no_threads_left")


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


def test_shot_detection_is_not_an_edit(qtbot, tmp_path, assets, clip):
    """Derived data: detection finishing must not make the film 'modified' (no Save changes?,
    no autosave, no false recovery offer after a crash)."""
    w, ctl = make_window(qtbot, tmp_path, assets["const"])
    open_and_wait(qtbot, w, clip)
    qtbot.waitUntil(lambda: not w.temporal.detecting, timeout=30000)
    assert w.project.project.temporal["shots"]["detected"]          # the result is kept...
    assert not w.project.modified and "*" not in w.windowTitle()    # ...but is no change
    assert w.project.autosave() is None
    assert not find_recovery() and not (tmp_path / "autosave").exists()
    asked = []
    w.project.ask = lambda kind, text: asked.append(kind) or "discard"
    w.close()
    assert asked == []
    assert w.shutdown()


def test_reopening_the_film_offers_the_newer_autosave(qtbot, tmp_path, assets, clip):
    from colorizer_app.core.project.project import default_project_path
    w, ctl, _ = _painted_window(qtbot, tmp_path, assets, clip)
    path = default_project_path(clip)
    assert w.project.save_as(path)
    ctl.colour_panel.set_colour(20.0, -40.0)
    stroke(qtbot, w, [(120, 30), (130, 70)])
    wait_shows_expected(qtbot, w, ctl)
    auto = w.project.autosave()
    w.project.ask = lambda kind, text: "cancel"      # the app dies: nothing saved on the way out
    assert w.shutdown()

    w2, ctl2 = make_window(qtbot, tmp_path, assets["const"], name="settings2.ini")
    asked = []
    w2.project.ask = lambda kind, text: asked.append((kind, text)) or "recover"
    with qtbot.waitSignal(w2.project.projectChanged, timeout=30000):
        w2.open_path(clip)                           # the film, not the project
    assert [k for k, _ in asked] == ["recover"] and "reel.mp4.bento.json" in asked[0][1]
    assert len(ctl2.stack) == 2 and w2.project.modified
    assert w2.project.project.path == path and auto.exists()
    assert w2.project.save()                         # the next save keeps both strokes
    assert not auto.exists() and not find_recovery(path)
    from colorizer_app.core.project.project import open_project
    assert len(open_project(path).corrections) == 2
    assert w2.shutdown()
    w.project.ask = lambda kind, text: "discard"


def test_two_instances_on_one_project_warn_before_overwriting(qtbot, tmp_path, assets, clip):
    from colorizer_app.core.project.project import open_project
    w, ctl, _ = _painted_window(qtbot, tmp_path, assets, clip)
    path = tmp_path / "reel.bento.json"
    assert w.project.save_as(path)
    other = open_project(path)                       # a second instance saves meanwhile
    other.corrections.rename(other.corrections[0].id, "saved by the other one")
    other.save()
    ctl.colour_panel.set_colour(20.0, -40.0)
    stroke(qtbot, w, [(120, 30), (130, 70)])
    asked = []
    w.project.ask = lambda kind, text: asked.append((kind, text)) or "cancel"
    assert not w.project.save()
    assert asked[0][0] == "changed" and "changed on disk" in asked[0][1]
    assert open_project(path).corrections[0].name == "saved by the other one"
    assert w.project.modified
    w.project.ask = lambda kind, text: "overwrite"
    assert w.project.save()
    assert len(open_project(path).corrections) == 2 and not w.project.modified
    assert w.shutdown()


def test_a_project_whose_film_moved_lets_the_artist_locate_it(qtbot, tmp_path, assets):
    import shutil

    from colorizer_app.core.project.project import open_project
    films = tmp_path / "films"
    films.mkdir()
    film = str(make_clip(films / "reel.mp4", n_frames=6, size=(160, 96), audio=False))
    w, ctl, _ = _painted_window(qtbot, tmp_path, assets, film)
    proj = tmp_path / "projects"
    proj.mkdir()
    path = proj / "reel.bento.json"
    assert w.project.save_as(path)
    assert w.shutdown()
    elsewhere = tmp_path / "archive"
    elsewhere.mkdir()
    shutil.move(film, elsewhere / "renamed.mp4")

    w2, ctl2 = make_window(qtbot, tmp_path, assets["const"], name="settings2.ini")
    w2.project.locate_film = lambda project, pfile: None          # the artist cancels
    assert not w2.project.open_project_file(path)
    assert "was not found" in w2.last_message
    offered = []
    w2.project.locate_film = lambda project, pfile: offered.append(pfile) or \
        str(elsewhere / "renamed.mp4")
    with qtbot.waitSignal(w2.project.projectChanged, timeout=30000):
        assert w2.project.open_project_file(path)
    assert offered == [str(path)] and len(ctl2.stack) == 1
    assert w2.project.modified                      # the new place is a change to save
    assert w2.project.save()
    assert open_project(path).source_path == str(elsewhere / "renamed.mp4")
    assert w2.shutdown()
