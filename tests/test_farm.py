"""`colorizer farm` on a real local Ray cluster (2 workers, one for the module): the farm's film
equals the single-machine one frame for frame, a worker killed with SIGKILL mid-chunk is
retried, an interrupted run resumes without redoing finished chunks, bad frames fail the run
naming the chunk, and a folder of films becomes a folder of outputs.

The shipped model at 64 px on small clips keeps the module short; chunks of ~0.5 s make 3-4
chunks a film so borders (and a cut inside the deflicker window) are exercised."""
import os
import signal
import sys
import threading
import time

import cv2
import numpy as np
import pytest

ray = pytest.importorskip("ray")

from colorizer_app.cli import main  # noqa: E402
from colorizer_app.core import metrics as M  # noqa: E402
from colorizer_app.core.farm import runner as farm  # noqa: E402
from colorizer_app.core.farm.plan import FarmError, FarmSettings, plan_chunks, plan_film  # noqa: E402
from colorizer_app.core.media import open_media  # noqa: E402
from colorizer_app.core.pipeline.render import RenderJob, render  # noqa: E402
from colorizer_app.core.project.project import Project  # noqa: E402
from tests.helpers.clips import (  # noqa: E402
    AUDIO_RATE,
    audio_signal,
    decode_audio,
    make_clip,
    make_vfr_clip,
    synthetic_frame,
    write_frames,
)

pytestmark = pytest.mark.timeout(600)     # a loaded CI machine: workers import TensorFlow first
SIZE = 64
N = 40


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    hook = tmp_path_factory.mktemp("farm_hook")
    os.environ[farm.HOOK_ENV] = str(hook)       # the workers inherit it
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield hook
    ray.shutdown()
    os.environ.pop(farm.HOOK_ENV, None)


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    d = tmp_path_factory.mktemp("farm_film")
    src = make_clip(d / "reel.mp4", n_frames=N, size=(160, 96), color=False)
    ref = d / "single.mkv"
    assert main(["colorize", str(src), str(ref), "--size", str(SIZE)]) == 0
    return {"dir": d, "src": str(src), "ref": str(ref)}


def _frames(path):
    with open_media(path) as r:
        return r.info, [r.read(i) for i in range(r.info.frame_count)]


def _assert_same_film(got, want):
    gi, g = _frames(got)
    wi, w = _frames(want)
    assert (gi.frame_count, gi.fps, gi.width, gi.height) == (wi.frame_count, wi.fps, wi.width, wi.height)
    for i, (a, b) in enumerate(zip(g, w)):
        if not np.array_equal(a, b):
            assert M.psnr(a, b) >= 50.0, i
    return gi


def _audio_lag(path):
    """(seconds the file's sound lags the test soundtrack, normalised correlation)."""
    rate = AUDIO_RATE
    samples, first = decode_audio(path)
    seg = samples[rate // 10: rate // 10 + rate // 5]            # past the codec's warm-up
    t = first + (rate // 10 + np.arange(-480, len(seg) + 480)) / rate
    ref = audio_signal(t)
    corr = np.correlate(ref, seg, mode="valid")
    k = int(np.argmax(corr))
    return (k - 480) / rate, corr[k] / (np.linalg.norm(seg) * np.linalg.norm(ref[k:k + len(seg)]))


def _plan(film, out, **kw):
    kw.setdefault("chunk_seconds", 0.5)
    return plan_film(film["src"], str(out), FarmSettings(size=SIZE, **kw))


def test_chunks_end_at_nearby_cuts_and_cover_the_film():
    assert plan_chunks(100, 10, 2.0) == [(0, 20), (20, 40), (40, 60), (60, 80), (80, 100)]
    assert plan_chunks(100, 10, 2.0, cuts=[27, 55]) == [(0, 27), (27, 55), (55, 75), (75, 100)]
    assert plan_chunks(29, 10, 2.0) == [(0, 29)]                       # short tail joins
    assert plan_chunks(1, 24, 60) == [(0, 1)]


def test_farm_of_a_project_with_deflicker_equals_render(cluster, tmp_path):
    # two shots (a cut at 14) so one chunk border lies inside the deflicker window of a cut
    frames = [synthetic_frame(i, (128, 80), color=False) for i in range(14)] + \
        [np.ascontiguousarray(synthetic_frame(i, (128, 80), color=False)[::-1, ::-1]) for i in range(16)]
    src = write_frames(tmp_path / "two.mkv", frames, codec="ffv1")
    project = Project.new(str(src), working_size=SIZE)
    project.temporal = {"shots": {"cuts": [14], "n_frames": 30, "detected": True}, "deflicker": 1.0}
    project.in_point, project.out_point = 3, 25                 # render's range: 3-25
    path = project.save(tmp_path / "two.mkv.bento.json")
    want = tmp_path / "want.mkv"
    render(RenderJob.from_project(project), want)
    plan = plan_film(str(path), str(tmp_path / "got.mkv"), FarmSettings(chunk_seconds=0.25))
    assert plan.spec["temporal"].deflicker == 1.0 and plan.spec["temporal"].cuts == (14,)
    assert (plan.chunks[0].start, plan.chunks[-1].stop) == (3, 26)
    assert any(c.start == 14 for c in plan.chunks)         # a chunk border at the cut
    assert any(c.start % 14 for c in plan.chunks[1:])      # and one inside a shot
    farm.farm_film(plan)
    _assert_same_film(tmp_path / "got.mkv", want)


def test_an_interrupted_run_resumes_and_equals_single_machine_colorize(cluster, film, tmp_path):
    out = tmp_path / "farm.mkv"
    plan = _plan(film, out, chunk_seconds=0.25)
    assert len(plan.chunks) >= 6
    cancel = threading.Event()

    def progress(done, total):
        if plan.done():                                    # a chunk is finished: interrupt
            cancel.set()

    with pytest.raises(farm.FarmCancelled):
        farm.farm_film(plan, progress=progress, cancel=cancel)
    assert not out.exists()                                # nothing under the real name
    done = plan.done()
    assert len(done) >= 1
    if len(done) == len(plan.chunks):
        # a loaded machine can finish every chunk before the driver sees the first one: then
        # the last chunk is the one the interruption lost
        os.remove(done[-1].path)
        done = plan.done()
    finished = {c.path: os.stat(c.path).st_mtime_ns for c in done}
    assert 1 <= len(finished) < len(plan.chunks)
    again = _plan(film, out, chunk_seconds=0.25)
    assert [c.path for c in again.chunks] == [c.path for c in plan.chunks]   # same names
    res = farm.farm_film(again)
    assert res.chunks_skipped >= len(finished)
    assert res.chunks_rendered == len(plan.chunks) - res.chunks_skipped
    assert res.frames == N
    info = _assert_same_film(out, film["ref"])             # the single machine's film
    assert info.audio_codec is not None                    # with the source's sound, in sync
    lag, corr = _audio_lag(out)
    assert abs(lag) <= 0.001 and corr > 0.8
    assert not os.path.exists(plan.workdir)                # chunks removed once joined
    assert sorted(os.listdir(tmp_path)) == ["farm.mkv"]
    # other settings name other chunks: a stale chunk can never be joined
    assert _plan(film, out, chunk_seconds=0.25, deflicker=0.5).chunks[0].path != plan.chunks[0].path


def test_bad_frames_fail_the_run_naming_the_chunk(cluster, tmp_path, capsys):
    seq = tmp_path / "seq"
    seq.mkdir()
    for i in range(24):
        cv2.imwrite(str(seq / f"f_{i:04d}.png"), synthetic_frame(i, (96, 64), color=False))
    (seq / "f_0015.png").write_bytes(b"not a picture" * 8)      # a damaged scan mid-film
    out = tmp_path / "seq_out.mkv"
    code = main(["farm", str(seq), str(out), "--size", str(SIZE), "--chunk-seconds", "0.25"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert "Traceback" not in "\n".join(err)
    assert err[-1].startswith("colorizer farm: error: chunk 3 (frames 12-17): ")
    assert "f_0015.png" in err[-1]
    assert not out.exists()


def test_a_library_folder_gives_one_output_per_film_and_resumes_per_film(cluster, tmp_path, capsys):
    lib = tmp_path / "lib"
    lib.mkdir()
    make_clip(lib / "ep1.mp4", n_frames=12, size=(96, 64), color=False)
    make_vfr_clip(lib / "ep2.mkv", n_frames=14, audio=True)      # variable frame rate
    outdir = tmp_path / "coloured"
    args = ["farm", str(lib), str(outdir), "--size", str(SIZE), "--format", "mkv",
            "--chunk-seconds", "0.2"]
    assert main(args) == 0
    assert sorted(os.listdir(outdir)) == ["ep1.mkv", "ep2.mkv"]
    for name, src in (("ep1", lib / "ep1.mp4"), ("ep2", lib / "ep2.mkv")):
        with open_media(str(outdir / f"{name}.mkv")) as o, open_media(str(src)) as r:
            # frame-exact against the source: count, every frame's time, the sound
            assert o.info.frame_count == r.info.frame_count
            assert o.info.vfr == r.info.vfr
            for i in range(r.info.frame_count):
                assert abs(o.frame_time(i) - r.frame_time(i)) <= 0.001, (name, i)
        lag, corr = _audio_lag(outdir / f"{name}.mkv")
        assert abs(lag) <= 0.001 and corr > 0.8, (name, lag, corr)
    capsys.readouterr()
    assert main(args) == 0
    assert capsys.readouterr().err.count("exists, skipped") == 2


def test_hints_become_keyframes_rendered_once_for_every_chunk(cluster, tmp_path):
    from colorizer_app.core.ml.inference import Colorizer
    from colorizer_app.core.ml.model import DEFAULT_MODEL
    from colorizer_app.core.project.hint_keys import hint_refs
    from colorizer_app.core.temporal.film import scan_refs
    from colorizer_app.core.temporal.render_stage import TemporalSettings

    src = make_clip(tmp_path / "h.mkv", n_frames=16, size=(96, 64), color=False, codec="ffv1",
                    audio=False)
    hints = tmp_path / "hints"
    hints.mkdir()
    hint = np.zeros((64, 96, 4), np.uint8)
    hint[20:44, 30:70] = (40, 40, 230, 255)                     # BGRA: a red patch
    cv2.imwrite(str(hints / "hint_000005.png"), hint)
    plan = plan_film(str(src), str(tmp_path / "h_out.mkv"),
                     FarmSettings(size=SIZE, hints=str(hints), chunk_seconds=0.25))
    assert list(plan.spec["temporal"].keyframes) == [5] and len(plan.chunks) >= 2
    farm.farm_film(plan)
    # the single machine: the same stills, rendered at once with the same cuts
    col = Colorizer(DEFAULT_MODEL, size=SIZE)
    stills = hint_refs(str(src), str(hints), col)
    job = RenderJob(source=str(src), model=col, working_size=SIZE,
                    temporal=TemporalSettings(plan.spec["temporal"].cuts, {k: str(p) for k, p in
                                              scan_refs(stills.name).items()}))
    render(job, tmp_path / "want.mkv")
    _assert_same_film(tmp_path / "h_out.mkv", tmp_path / "want.mkv")
    render(RenderJob(source=str(src), model=col, working_size=SIZE), tmp_path / "plain.mkv")
    _, got = _frames(tmp_path / "h_out.mkv")
    _, plain = _frames(tmp_path / "plain.mkv")
    assert np.abs(got[5].astype(int) - plain[5]).max() > 20           # the hint did something
    assert sorted(os.listdir(tmp_path)) == ["h.mkv", "h_out.mkv", "hints", "plain.mkv", "want.mkv"]


def test_a_worker_killed_mid_chunk_is_retried(cluster, film, tmp_path):
    pause = cluster / "pause"
    pause.touch()
    out = tmp_path / "killed.mkv"
    plan = _plan(film, out)
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("res", farm.farm_film(plan)))
    t.start()
    try:
        deadline = time.monotonic() + 90
        while not list(cluster.glob("pid_*")) and time.monotonic() < deadline:
            time.sleep(0.1)
        pid_file = sorted(cluster.glob("pid_*"))[0]
        time.sleep(0.2)
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
    finally:
        pause.unlink()
        for f in cluster.glob("pid_*"):
            f.unlink()
    t.join(120)
    assert not t.is_alive()
    assert box["res"].frames == N
    _assert_same_film(out, film["ref"])


def test_bad_input_is_one_line(tmp_path, capsys):
    assert main(["farm", str(tmp_path / "missing.mp4"), str(tmp_path / "o.mkv")]) == 2
    assert capsys.readouterr().err.strip() == \
        f"colorizer farm: error: {tmp_path / 'missing.mp4'}: no such file or folder"
    src = make_clip(tmp_path / "m.mkv", n_frames=4, size=(64, 48), codec="ffv1", audio=False)
    with pytest.raises(FarmError, match="nope.keras: no such model file"):
        plan_film(str(src), str(tmp_path / "o.mkv"), FarmSettings(model=str(tmp_path / "nope.keras")))


def test_without_ray_the_command_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)            # `import ray` fails as if absent
    with pytest.raises(FarmError, match=r"pip install 'bentocolor-studio\[farm\]'"):
        farm.ray_module()
