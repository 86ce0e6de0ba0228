import os
import sys
import tempfile
from pathlib import Path

# Qt must never need a display in tests; Keras must use the TensorFlow backend installed here.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

# The suite must not read or write the user's settings, recent files or autosaves (a stale
# autosave would open a modal recovery prompt): give it a private home for the whole session.
_HOME = tempfile.mkdtemp(prefix="bento-tests-home-")
for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache"),
                 ("BENTOCOLOR_AUTOSAVE_DIR", "autosave")):
    os.environ[var] = os.path.join(_HOME, sub)

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _no_modal_dialogs(request, monkeypatch):
    """A modal QMessageBox would block the offscreen suite forever: fail the test instead."""
    if "qtbot" not in request.fixturenames:
        yield
        return
    from PySide6.QtWidgets import QMessageBox

    def refuse(*args, **kwargs):
        raise AssertionError(f"unexpected modal dialog in a test: {args[1:3]}")

    for name in ("question", "warning", "critical", "information"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(refuse))
    # Closing a window with an untitled project asks to save; tests that care set their own answer.
    from colorizer_app.gui import project_controller

    monkeypatch.setattr(project_controller.ProjectController, "ask",
                        lambda self, kind, text: project_controller.DISCARD)
    yield


@pytest.fixture
def no_threads_left():
    """Fails the test if a worker thread it started is still running when it ends.

    Modules with worker threads ask for it with ``pytestmark =
    pytest.mark.usefixtures("no_threads_left")``: it is set up before the test's own fixtures
    (qtbot's windows included), so it checks after they are torn down."""
    yield
    from colorizer_app.gui.workers import running_threads
    alive = running_threads()
    assert not alive, f"worker threads left running: {[t.objectName() for t in alive]}"


@pytest.fixture
def private_autosave(monkeypatch, tmp_path):
    """The test's own autosave folder (the painted-window tests: a crash there is their own)."""
    monkeypatch.setenv("BENTOCOLOR_AUTOSAVE_DIR", str(tmp_path / "autosave"))
    return tmp_path / "autosave"

