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
