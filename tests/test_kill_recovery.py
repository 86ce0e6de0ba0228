"""kill -9, then back to the work: the app as a real process (tests/crash_app.py) is killed with
SIGKILL after its autosaves, and every way back offers the newer work (the film, the project,
the recent films and recent projects menus, untitled work at start). A damaged mask costs that
one correction in the app and in `colorizer render`, never the project."""
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from colorizer_app.core.project.project import default_project_path, find_recovery, open_project
from tests.helpers.clips import make_clip
from tests.helpers.paint import make_assets

pytestmark = pytest.mark.usefixtures("private_autosave", "no_threads_left")

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 30000


@pytest.fixture(scope="module")
def crashed(tmp_path_factory):
    """A world (films, settings, autosave folder) left behind by an app killed with SIGKILL."""
    world = tmp_path_factory.mktemp("crashed_world")
    assets = make_assets(tmp_path_factory.mktemp("kill_assets"))
    films = world / "films"
    films.mkdir()
    film_a = make_clip(films / "reel.mp4", n_frames=6, size=(160, 96), audio=False)
    film_b = make_clip(films / "other.mp4", n_frames=6, size=(160, 96), audio=False)
    env = dict(os.environ, BENTOCOLOR_AUTOSAVE_DIR=str(world / "autosave"),
               XDG_CONFIG_HOME=str(world / "config"), XDG_DATA_HOME=str(world / "data"),
               XDG_CACHE_HOME=str(world / "cache"), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "crash_app.py"), str(world),
                             assets["const"], str(film_a), str(film_b)], cwd=str(ROOT), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = ""
        while not line.startswith("READY"):
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                pytest.fail(f"crash_app died before its autosaves: {proc.stderr.read()[-2000:]}")
        os.kill(proc.pid, signal.SIGKILL)         # the crash: no save, no clean shutdown
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    project = default_project_path(str(film_a))
    assert len(open_project(project).corrections) == 1             # saved: the first stroke
    rec = find_recovery(project)
    assert len(rec) == 1 and len(open_project(rec[0].autosave_path).corrections) == 2
    os.environ["BENTOCOLOR_AUTOSAVE_DIR"], old = str(world / "autosave"), \
        os.environ.get("BENTOCOLOR_AUTOSAVE_DIR")
    try:
        untitled = find_recovery()
    finally:
        os.environ["BENTOCOLOR_AUTOSAVE_DIR"] = old or ""
    assert len(untitled) == 1 and untitled[0].source == str(film_b), (
        untitled, list((world / "autosave").glob("*")), line)
    return world, assets


def _copy_world(crashed, tmp_path, untitled: bool) -> Path:
    """A private copy of the crashed world at tmp_path (tests change it); settings point at it."""
    world, _ = crashed
    shutil.copytree(world, tmp_path, dirs_exist_ok=True, symlinks=True)
    if not untitled:
        shutil.rmtree(tmp_path / "autosave")
    for ini in tmp_path.glob("*.ini"):
        ini.write_text(ini.read_text("utf-8").replace(str(world), str(tmp_path)), "utf-8")
    return tmp_path


def _window(qtbot, world: Path, model: str, answers: list):
    """The real window; its questions are answered 'recover' (and recorded) from the start, so
    the start-up recovery check sees the same answers."""
    from PySide6.QtCore import QSettings

    from colorizer_app.gui import project_controller
    from colorizer_app.gui.main_window import MainWindow
    from colorizer_app.gui.paint import attach_painting

    def ask(self, kind, text):
        answers.append((kind, text))
        return {"recover": "recover", "unsaved": "discard"}.get(kind, "cancel")

    project_controller.ProjectController.ask = ask          # (undone by conftest's monkeypatch)
    settings = QSettings(str(world / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, model_path=model)
    ctl = attach_painting(w)
    qtbot.addWidget(w, before_close_func=lambda win: win.shutdown())
    w.show()
    return w, ctl


def _action(menu, path):
    return next(a for a in menu.actions() if a.toolTip() == str(path))


@pytest.mark.parametrize("way", ["film", "project", "recent_film", "recent_project"])
def test_killed_app_reopened_offers_the_autosave(qtbot, tmp_path, crashed, way, monkeypatch):
    world = _copy_world(crashed, tmp_path, untitled=False)
    film = world / "films" / "reel.mp4"
    project = default_project_path(str(film))
    auto = find_recovery(project)[0].autosave_path
    answers = []
    monkeypatch.setattr("colorizer_app.gui.project_controller.ProjectController.ask",
                        lambda *a: "discard")
    w, ctl = _window(qtbot, world, crashed[1]["const"], answers)
    with qtbot.waitSignal(w.project.projectChanged, timeout=TIMEOUT):
        if way == "film":
            w.open_path(str(film))                           # colorizer-app film.mp4
        elif way == "project":
            w.open_path(str(project))                        # colorizer-app film.mp4.bento.json
        elif way == "recent_film":
            _action(w.recent_menu, film).trigger()
        else:
            _action(w.project.recent_menu, project).trigger()
    assert [k for k, _ in answers] == ["recover"], answers
    assert len(ctl.stack) == 2 and w.project.modified and w.project.project.path == project
    assert auto.exists()                                    # kept until the work is saved
    assert w.project.save()
    assert not auto.exists() and not find_recovery(project)
    assert len(open_project(project).corrections) == 2      # the second stroke survived
    assert w.shutdown()


def test_killed_app_offers_untitled_work_at_start(qtbot, tmp_path, crashed, monkeypatch):
    world = _copy_world(crashed, tmp_path, untitled=True)
    monkeypatch.setenv("BENTOCOLOR_AUTOSAVE_DIR", str(world / "autosave"))
    answers = []
    w, ctl = _window(qtbot, world, crashed[1]["const"], answers)
    qtbot.waitUntil(lambda: w.project.project is not None, timeout=TIMEOUT)
    assert [k for k, _ in answers] == ["recover"] and "did not close properly" in answers[0][1]
    assert w.session.film.path == str(world / "films" / "other.mp4")
    assert len(ctl.stack) == 1 and w.project.modified and w.project.project.path is None
    target = world / "other.bento.json"
    assert w.project.save_as(target)
    assert not find_recovery() and not list((world / "autosave").glob("*"))
    assert len(open_project(target).corrections) == 1
    assert w.shutdown()


def test_untitled_work_is_offered_when_its_film_is_opened(qtbot, tmp_path, crashed,
                                                          monkeypatch):
    """Two untitled sessions died: the start-up check offers the newest (declined here); the
    other one is offered when its film is opened."""
    from colorizer_app.core.corrections.stack import Lifetime
    from colorizer_app.core.project.project import Project
    world = _copy_world(crashed, tmp_path, untitled=True)
    monkeypatch.setenv("BENTOCOLOR_AUTOSAVE_DIR", str(world / "autosave"))
    newest = Project.new(str(world / "films" / "reel.mp4"), (160, 96))
    newest.corrections.new(chroma=(5.0, 5.0), lifetime=Lifetime.frame(0))
    newest.autosave()
    answers = []
    from colorizer_app.gui.project_controller import ProjectController
    monkeypatch.setattr(ProjectController, "ask", lambda self, kind, text: answers.append(
        (kind, text)) or ("recover" if "other.mp4" in text else "cancel"))
    from PySide6.QtCore import QSettings

    from colorizer_app.gui.main_window import MainWindow
    from colorizer_app.gui.paint import attach_painting
    w = MainWindow(settings=QSettings(str(world / "settings.ini"), QSettings.Format.IniFormat),
                   model_path=crashed[1]["const"])
    ctl = attach_painting(w)
    qtbot.addWidget(w, before_close_func=lambda win: win.shutdown())
    w.show()
    qtbot.waitUntil(lambda: len(answers) == 1, timeout=TIMEOUT)
    assert "did not close properly" in answers[0][1] and w.project.project is None
    with qtbot.waitSignal(w.project.projectChanged, timeout=TIMEOUT):
        w.open_path(str(world / "films" / "other.mp4"))
    assert len(answers) == 2 and "other.mp4" in answers[1][1]
    assert len(ctl.stack) == 1 and w.project.modified and w.project.project.path is None
    assert w.shutdown()


def test_one_damaged_mask_costs_one_correction_in_app_and_render(qtbot, tmp_path, crashed,
                                                                 monkeypatch, capsys):
    import json
    world = _copy_world(crashed, tmp_path, untitled=False)
    film = world / "films" / "reel.mp4"
    project = default_project_path(str(film))
    os.remove(find_recovery(project)[0].autosave_path)
    doc = json.loads(project.read_text("utf-8"))
    mask = project.with_name("reel.mp4.bento") / doc["corrections"][0]["mask"]
    mask.write_bytes(mask.read_bytes()[:40])                  # cut short: BadZipFile before
    name = doc["corrections"][0]["name"]
    answers = []
    w, ctl = _window(qtbot, world, crashed[1]["const"], answers)
    with qtbot.waitSignal(w.project.projectChanged, timeout=TIMEOUT):
        w.open_path(str(project))                             # colorizer-app P.bento.json
    assert len(ctl.stack) == 1 and ctl.stack[0].mask.is_empty
    assert f"'{name}'" in w.last_message and "could not be read" in w.last_message
    assert w.shutdown()
    from colorizer_app.cli import main
    out = tmp_path / "out.mkv"
    rc = main(["render", str(project), str(out), "--model", crashed[1]["const"]])
    text = capsys.readouterr()
    assert rc == 0 and out.is_file()
    assert f"warning: mask of correction '{name}' could not be read" in text.out
    assert "Traceback" not in text.out + text.err
