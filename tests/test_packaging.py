"""The package carries its model: a wheel built from the sources contains it, and an installed
(non-editable) copy finds it through importlib.resources from any folder."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import colorizer_app

ROOT = Path(__file__).resolve().parents[1]
MODEL_MEMBER = "colorizer_app/resources/models/bento_default.keras"
MODEL_SIZE = (ROOT / MODEL_MEMBER).stat().st_size  # not via core.ml.model: that would import Keras


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """`pip wheel --no-deps --no-build-isolation` of a clean copy of the sources (no build/ or
    egg-info litter in the shared tree)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "colorizer_app", src / "colorizer_app",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps",
                    "--no-build-isolation", "-q", "-w", str(tmp / "dist")],
                   check=True, capture_output=True, timeout=240)
    (whl,) = (tmp / "dist").glob("bentocolor_studio-*.whl")
    return whl


def test_wheel_contains_the_model_and_version(wheel):
    assert wheel.name.startswith(f"bentocolor_studio-{colorizer_app.__version__}-")
    with zipfile.ZipFile(wheel) as z:
        info = z.getinfo(MODEL_MEMBER)
        names = z.namelist()
    assert info.file_size == MODEL_SIZE
    assert "colorizer_app/__main__.py" in names
    assert not any(n.startswith(("tests/", "resources/")) for n in names)


def test_installed_wheel_finds_its_model_from_any_folder(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(site), str(wheel)], check=True, capture_output=True, timeout=240)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site))
    probe = ("import colorizer_app, colorizer_app.core.ml.model as m; "
             "print(colorizer_app.__file__); print(m.DEFAULT_MODEL); print(m.DEFAULT_MODEL.stat().st_size)")
    out = subprocess.run([sys.executable, "-c", probe], cwd=elsewhere, env=env, check=True,
                         capture_output=True, text=True, timeout=120).stdout.split("\n")
    assert Path(out[0]).is_relative_to(site)  # the installed copy, not the source tree
    assert Path(out[1]) == site / MODEL_MEMBER
    assert int(out[2]) == MODEL_SIZE
    for module in ("colorizer_app", "colorizer_app.cli"):
        ver = subprocess.run([sys.executable, "-m", module, "--version"], cwd=elsewhere, env=env,
                             capture_output=True, text=True, timeout=120)
        assert ver.returncode == 0, ver.stderr
        assert ver.stdout.strip().endswith(colorizer_app.__version__)


def test_cli_error_is_one_line_and_tensorflow_talks_only_when_verbose(tmp_path):
    """A corrupt model loads Keras/TensorFlow before failing: stderr is the one error line, and
    TensorFlow's start-up log (absl, cpu features, oneDNN) appears only with --verbose."""
    from tests.helpers.clips import make_clip
    film = make_clip(tmp_path / "film.mp4", n_frames=4, size=(64, 48))
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"PK\x03\x04 not really a model" * 50)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS_"))}

    def run(*extra):
        return subprocess.run([sys.executable, "-m", "colorizer_app.cli", *extra, "colorize",
                               str(film), str(tmp_path / "out.mp4"), "--model", str(bad)],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)

    quiet = run()
    assert quiet.returncode == 2
    assert quiet.stderr.count("\n") == 1 and quiet.stderr.startswith("colorizer colorize: error: ")
    assert "bad.keras" in quiet.stderr
    verbose = run("--verbose")
    assert verbose.returncode == 2
    assert verbose.stderr.count("\n") > 1 and verbose.stderr.rstrip().endswith(quiet.stderr.strip()[-40:])
    assert not (tmp_path / "out.mp4").exists()


def test_app_names_the_missing_qt_library_and_the_apt_line(monkeypatch):
    from colorizer_app.gui import platform_check as pc
    assert pc.problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert pc.problem({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}) is None
    monkeypatch.setattr(pc, "RUNTIME_LIBS", ("libxcb-bento-absent.so.0",))
    line = pc.problem({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"})
    assert "libxcb-bento-absent.so.0 is missing" in line and pc.APT_LINE in line and "\n" not in line
    # the README's apt line is this one
    assert pc.APT_LINE in (ROOT / "README.md").read_text()


def test_app_that_cannot_open_a_window_says_so_in_one_line(tmp_path):
    """Qt would print its plugin lines and abort; the app prints one line and exits with 2."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "xcb"
    run = subprocess.run([sys.executable, "-m", "colorizer_app"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("colorizer-app: error: ")
    assert "apt-get install" in run.stderr or "DISPLAY is not set" in run.stderr


def test_opencv_threads_do_not_spin_unless_the_user_says_so():
    """The package turns off OpenCV's busy-waiting threads before cv2 loads (they took the
    CPU time of the app's own threads); a value the user exported wins."""
    probe = ("import os, sys, colorizer_app.core.color; import cv2; "
             "print(os.environ['OPENCV_THREAD_POOL_ACTIVE_WAIT_WORKER'], "
             "os.environ['OPENCV_THREAD_POOL_ACTIVE_WAIT_MAIN'])")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCV_THREAD_POOL")}
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == ["0", "0"]
    env["OPENCV_THREAD_POOL_ACTIVE_WAIT_WORKER"] = "500"
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == ["500", "0"]
