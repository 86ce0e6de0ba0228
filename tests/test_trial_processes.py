"""The trial of issue 16 with real processes: `colorizer` killed with -9 while it writes, two runs
writing one output at once, and a full disk (RLIMIT_FSIZE) with the command's true exit status.

All five start together (each process pays the TensorFlow import, so they share the wait).
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from colorizer_app.cli import main
from colorizer_app.core.media import open_media, writer_paths
from colorizer_app.core.ml.model import build_generator, save_model
from tests.helpers import clips

ROOT = Path(__file__).resolve().parents[1]
TEMP = re.compile(r"^\..+\.(\d+)-[0-9a-f]{8}\.partial(\.\w+)?$")

def _limit_file_size(limit: int):
    """A full disk: writes past `limit` bytes fail with EFBIG (SIGXFSZ ignored, so the process
    sees the error rather than dying of the signal)."""
    def apply():
        import resource
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def _cli(*args) -> list:
    return [sys.executable, "-m", "colorizer_app.cli", *map(str, args)]


def _temps(folder: Path) -> list:
    return [p for p in folder.iterdir() if TEMP.match(p.name)] if folder.exists() else []


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("procs")
    model = str(save_model(build_generator(width=0.125), d / "tiny.keras"))
    long = clips.make_clip(d / "long.mp4", n_frames=600, size=(96, 64), audio=False, gop=48)
    mid = clips.make_clip(d / "mid.mp4", n_frames=24, size=(96, 64), audio=True)
    big = clips.make_clip(d / "big.mp4", n_frames=24, size=(192, 128), audio=True)
    for sub in ("kv", "ks", "twin", "full"):
        (d / sub).mkdir()
    m = ["--model", model, "--size", "64"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def start(cmd, **kw):
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, **kw)

    procs = {
        "kill_video": start(_cli("colorize", long, d / "kv" / "out.mp4", *m)),
        "kill_seq": start(_cli("colorize", long, d / "ks" / "f_%04d.png", *m)),
        "twin_a": start(_cli("colorize", mid, d / "twin" / "same.mp4", *m)),
        "twin_b": start(_cli("colorize", mid, d / "twin" / "same.mp4", *m)),
        "full": start(_cli("colorize", big, d / "full" / "x.mp4", *m),
                      preexec_fn=_limit_file_size(16 * 1024)),
    }
    killed = {}
    try:
        # kill -9 each long run once it has written part of its output
        deadline = time.monotonic() + 240
        while len(killed) < 2 and time.monotonic() < deadline:
            for key, folder in (("kill_video", d / "kv"), ("kill_seq", d / "ks")):
                if key in killed or procs[key].poll() is not None:
                    continue
                temps = _temps(folder)
                # frames are in it: PNGs in the folder, the muxer's first buffer in the file
                grown = temps and (temps[0].is_dir() and len(os.listdir(temps[0])) >= 3
                                   or temps[0].is_file() and temps[0].stat().st_size > 0)
                if grown:
                    procs[key].send_signal(signal.SIGKILL)
                    killed[key] = temps[0]
            time.sleep(0.05)
        results = {}
        for key, p in procs.items():
            out, err = p.communicate(timeout=600)
            results[key] = (p.returncode, out, err)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
    return d, model, long, results, killed


def test_kill_9_mid_write_leaves_no_file_under_the_real_name_and_a_rerun_works(runs):
    d, model, long, results, killed = runs
    assert set(killed) == {"kill_video", "kill_seq"}, results
    for key, folder, out in (("kill_video", d / "kv", d / "kv" / "out.mp4"),
                             ("kill_seq", d / "ks", None)):
        assert results[key][0] == -signal.SIGKILL
        names = os.listdir(folder)
        assert names == [killed[key].name], names           # only the hidden temp: no film
        if out is not None:
            assert not out.exists()
        # the rerun works, and removes what the dead run left once nobody touched it for a while
        old = time.time() - writer_paths.STALE_SECONDS - 10
        for p in [killed[key], *killed[key].rglob("*")] if killed[key].is_dir() else [killed[key]]:
            os.utime(p, (old, old))
        target = out if out is not None else folder / "f_%04d.png"
        assert main(["colorize", str(long), str(target), "--model", model, "--size", "64",
                     "--frames", "0-9"]) == 0
        assert not killed[key].exists() and not _temps(folder)
        with open_media(str(target)) as r:
            assert r.info.frame_count == 10


def test_two_runs_writing_one_output_both_finish_and_leave_one_whole_film(runs):
    d, _, _, results, _ = runs
    for key in ("twin_a", "twin_b"):
        rc, out, err = results[key]
        assert rc == 0 and "Traceback" not in err, err
    assert os.listdir(d / "twin") == ["same.mp4"]
    with open_media(d / "twin" / "same.mp4") as r:
        assert r.info.frame_count == 24 and r.info.audio_codec is not None
        assert clips.frame_index(r.read(23)) == 23


def test_full_disk_is_exit_2_one_line_and_leaves_nothing(runs):
    d, _, _, results, _ = runs
    rc, out, err = results["full"]
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("colorize [")]
    assert rc == 2 and "Traceback" not in err, err
    assert len(lines) == 1 and lines[0].startswith("colorizer colorize: error:"), err
    assert os.listdir(d / "full") == []
