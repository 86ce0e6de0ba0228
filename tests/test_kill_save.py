"""kill -9 during save: a process saving a project over and over (big masks, so a save takes a
while) is killed with SIGKILL at many moments; the project under its real name always opens,
with every mask it names, as the state of one complete save."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from colorizer_app.core.project.project import FORMAT_VERSION, open_project

ROOT = Path(__file__).resolve().parents[1]
KILLS = 12

SAVER = r"""
import sys, numpy as np
sys.path.insert(0, sys.argv[2])
from colorizer_app.core.project.project import Project, open_project
from colorizer_app.core.corrections.stack import Lifetime
path = sys.argv[1]
try:
    p = open_project(path)
except Exception:
    p = Project(source_path=sys.argv[3], frame_size=(1920, 1080))
rng = np.random.default_rng(len(p.corrections) + int(sys.argv[4]))
while True:
    c = p.corrections.new(chroma=(float(len(p.corrections)), 1.0), lifetime=Lifetime.frame(0),
                          name=f"n{len(p.corrections)}")
    y, x = int(rng.integers(0, 600)), int(rng.integers(0, 1400))
    patch = rng.random((480, 520)).astype(np.float32)       # noise: slow to compress
    p.corrections.write_mask_patch(c.id, None, (y, x, y + 480, x + 520), patch)
    if len(p.corrections) > 6:
        p.corrections.remove(p.corrections[0].id)           # old masks become garbage
    p.save(path)
    print("saved", len(p.corrections), c.name, flush=True)
"""


def test_kill_9_during_save_never_breaks_the_project(tmp_path):
    film = tmp_path / "reel.mp4"
    film.write_bytes(b"film")
    path = tmp_path / "reel.bento.json"
    env = dict(os.environ, BENTOCOLOR_AUTOSAVE_DIR=str(tmp_path / "autosave"))
    rng = __import__("random").Random(7)
    states = set()
    for k in range(KILLS):
        proc = subprocess.Popen([sys.executable, "-c", SAVER, str(path), str(ROOT), str(film),
                                 str(k)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, text=True)
        try:
            line = proc.stdout.readline()            # one save done: the next one is running
            assert line.startswith("saved"), proc.stderr.read()[-2000:]
            time.sleep(rng.uniform(0.0, 0.25))        # somewhere inside a later save
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait(timeout=30) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            proc.stderr.close()
        p = open_project(path)                       # never a ProjectError
        assert not p.warnings, p.warnings            # every mask it names is there, whole
        names = [c.name for c in p.corrections]
        assert names and all(not c.mask.is_empty for c in p.corrections)
        states.add(tuple(names))
        # nothing half-written under a real name: only the project, its sidecar, and hidden
        # temp files of the killed write
        visible = {f.name for f in tmp_path.iterdir() if not f.name.startswith(".")}
        assert visible <= {"reel.mp4", "reel.bento.json", "reel.bento", "autosave"}, visible
        doc = json.loads(path.read_text("utf-8"))
        assert doc["format_version"] == FORMAT_VERSION
    assert len(states) >= KILLS // 2                 # the kills landed at many moments
    # the next save clears what killed saves left: orphan masks and hidden temp files
    p = open_project(path)
    p.save()
    assert not [f.name for f in tmp_path.iterdir() if f.name.endswith(".tmp")]
    masks = {f.name for f in (tmp_path / "reel.bento" / "masks").iterdir()}
    named = {c["mask"].split("/")[1] for c in json.loads(path.read_text("utf-8"))["corrections"]}
    assert masks == named
