"""Render a project to files and read them back; farm ranges join into exactly the full film.

Plumbing only: a tiny freshly initialised generator stands in for the trained model.
"""
import threading
from fractions import Fraction

import cv2
import numpy as np
import pytest

from colorizer_app.cli import main
from colorizer_app.core import color
from colorizer_app.core.corrections.brush import BrushSettings, rasterize_stroke
from colorizer_app.core.corrections.stack import Lifetime
from colorizer_app.core.media import open_media
from colorizer_app.core.ml.inference import Colorizer
from colorizer_app.core.ml.model import build_generator, save_model
from colorizer_app.core.pipeline.render import RenderCancelled, RenderJob, join_segments, render
from colorizer_app.core.project.project import Project
from tests.helpers import clips

N = 12
SIZE = (96, 64)
CHROMA = (25.0, -25.0)
LIFE = (3, 8)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("render")
    film = clips.make_clip(d / "film.mp4", n_frames=N, size=SIZE, audio=True)
    gen = build_generator(width=0.125)
    model_path = str(save_model(gen, d / "tiny.keras"))
    project = Project.new(str(film), model_path=model_path, working_size=64)
    c = project.corrections.new(chroma=CHROMA, lifetime=Lifetime.range(*LIFE), name="coat")
    rasterize_stroke(c.mask, [(30, 32), (66, 32)], BrushSettings(size=30, softness=0.0))
    path = project.save(d / "film.mp4.bento.json")
    colorizer = Colorizer(gen, size=64, batch_size=4)
    return d, film, project, path, colorizer


def read_png(path):
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)


def job(project, colorizer, corrections=True):
    j = RenderJob.from_project(project)
    j.model = colorizer
    if not corrections:
        j.corrections = None
    return j


def test_png_sequence_changes_chroma_only_where_and_when_painted(setup, tmp_path):
    d, film, project, _, colorizer = setup
    (tmp_path / "a").mkdir()
    a = render(job(project, colorizer), tmp_path / "a" / "f_%04d.png")
    (tmp_path / "b").mkdir()
    b = render(job(project, colorizer, corrections=False), tmp_path / "b" / "f_%04d.png")
    assert a.frames_written == b.frames_written == N
    assert b.cache_hits == N                        # the model ran once; the cache served the rest
    mask = project.corrections[0].mask.to_full()
    with open_media(film) as src:
        for i in range(N):
            fa = read_png(tmp_path / "a" / f"f_{i:04d}.png")
            fb = read_png(tmp_path / "b" / f"f_{i:04d}.png")
            if not LIFE[0] <= i <= LIFE[1]:
                assert np.array_equal(fa, fb)       # outside its lifetime: the model's pixels
                continue
            assert np.array_equal(fa[mask == 0], fb[mask == 0])   # model pixels elsewhere
            lab = color.rgb_to_lab(fa)
            core = mask == 1.0
            err = np.abs(lab[core][:, 1:] - np.array(CHROMA)).mean(axis=0)
            assert np.all(err < 3.0), err                         # painted chroma where painted
            L_src = color.luminance(src.read(i))
            assert np.abs(lab[..., 0] - L_src).mean() < 1.0       # the film's own L kept


def test_cli_render_mp4_keeps_count_rate_and_audio(setup, tmp_path):
    d, film, project, path, _ = setup
    out = tmp_path / "out.mp4"
    assert main(["render", str(path), str(out)]) == 0
    with open_media(film) as s, open_media(out) as r:
        assert r.info.frame_count == s.info.frame_count == N
        assert r.info.fps == s.info.fps == Fraction(24000, 1001)
        assert (r.info.width, r.info.height) == SIZE
        assert r.info.audio_codec is not None
        lab = color.rgb_to_lab(r.read(5))
        core = project.corrections[0].mask.to_full() == 1.0
        core = cv2.erode(core.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        assert np.abs(np.median(lab[core][:, 1:], axis=0) - np.array(CHROMA)).max() < 6


def test_tiff16_and_prores(setup, tmp_path):
    d, film, project, _, colorizer = setup
    (tmp_path / "t").mkdir()
    render(job(project, colorizer), tmp_path / "t" / "f_%06d.tif", frames="2-3")
    img = cv2.imread(str(tmp_path / "t" / "f_000003.tif"), cv2.IMREAD_UNCHANGED)
    assert img.dtype == np.uint16 and img.shape == (SIZE[1], SIZE[0], 3)
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["f_000002.tif", "f_000003.tif"]
    r = render(job(project, colorizer), tmp_path / "o.mov", frames="4-9")
    with open_media(tmp_path / "o.mov") as m:
        assert m.info.frame_count == 6 and m.info.fps == Fraction(24000, 1001)
        assert m.info.audio_codec is not None and r.audio_codec is not None


def test_farm_ranges_join_into_exactly_the_full_film(setup, tmp_path):
    d, film, project, path, _ = setup
    farm, full = tmp_path / "farm", tmp_path / "full"
    farm.mkdir(), full.mkdir()
    for rng in ("5-11", "0-4"):                     # any order, any node
        assert main(["render", str(path), str(farm / "f_%06d.png"), "--frames", rng]) == 0
    assert main(["render", str(path), str(full / "f_%06d.png")]) == 0
    names = sorted(p.name for p in farm.iterdir())
    assert names == [f"f_{i:06d}.png" for i in range(N)] == sorted(p.name for p in full.iterdir())
    for n in names:
        assert np.array_equal(read_png(farm / n), read_png(full / n))
    out = tmp_path / "joined.mkv"
    assert main(["join", str(out), str(farm), "--source", str(film), "--expect", str(N)]) == 0
    with open_media(film) as s, open_media(out) as j:
        assert j.info.frame_count == N and j.info.fps == s.info.fps
        assert j.info.audio_codec is not None
        for i in (0, 4, 5, 11):                     # FFV1 RGB is lossless: bit-exact frames
            assert np.array_equal(j.read(i), read_png(full / f"f_{i:06d}.png"))
    a, _ = clips.decode_audio(out)
    assert abs(len(a) / clips.AUDIO_RATE - N / float(s.info.fps)) < 0.05
    # a missing range is caught before anything is written
    (farm / "f_000007.png").unlink()
    with pytest.raises(Exception, match="missing frame"):
        join_segments([farm], tmp_path / "bad.mkv", audio_from=str(film))
    assert not (tmp_path / "bad.mkv").exists()


@pytest.mark.parametrize("out_name", ["c.mp4", "seq/f_%04d.png"])
def test_cancel_leaves_no_output(setup, tmp_path, out_name):
    d, film, project, _, colorizer = setup
    (tmp_path / "seq").mkdir()
    cancel = threading.Event()
    seen = []

    def progress(done, total):
        seen.append(done)
        if done == 3:
            cancel.set()
    with pytest.raises(RenderCancelled):
        render(job(project, colorizer), tmp_path / out_name, progress=progress, cancel=cancel)
    assert 3 <= max(seen) < N
    left = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert left == []                               # no half file, no temp file


def test_cli_bad_input_is_one_line_and_nonzero(setup, tmp_path, capsys):
    d, film, project, path, _ = setup
    assert main(["render", str(tmp_path / "nope.bento.json"), str(tmp_path / "o.mp4")]) == 2
    bad = tmp_path / "bad.bento.json"
    bad.write_text("{ not json")
    assert main(["render", str(bad), str(tmp_path / "o.mp4")]) == 2
    assert main(["render", str(path), str(tmp_path / "o.mp4"), "--frames", "5-99"]) == 2
    assert main(["render", str(path), str(tmp_path / "o.xyz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("colorizer render: error:") for line in err)
    assert "damaged" in err[1] and "outside the film" in err[2]
    assert not (tmp_path / "o.mp4").exists()


def test_render_command_takes_deflicker(tmp_path):
    """`colorizer render --deflicker` runs the temporal filter inside the render pipeline."""
    from colorizer_app.cli import main
    from colorizer_app.core.media import open_media
    from colorizer_app.core.ml.model import build_generator, save_model
    from colorizer_app.core.project.project import Project
    from tests.helpers import clips

    src = clips.make_clip(tmp_path / "film.mp4", n_frames=10, size=(96, 64), audio=False)
    model = save_model(build_generator(width=0.125), tmp_path / "m.keras")
    proj = Project.new(str(src), model_path=str(model), working_size=64)
    path = proj.save(tmp_path / "p.bento.json")
    out = tmp_path / "out.mkv"
    assert main(["render", str(path), str(out), "--deflicker", "0.8"]) == 0
    with open_media(out) as r:
        assert r.info.frame_count == 10
    assert main(["render", str(path), str(tmp_path / "x.mkv"), "--deflicker", "2"]) == 2


def test_render_onto_the_film_is_refused_and_the_film_survives(setup, tmp_path, capsys):
    import hashlib
    import os
    d, film, project, path, _ = setup
    digest = hashlib.sha256(film.read_bytes()).hexdigest()
    os.link(film, tmp_path / "same.mp4")
    for out in (film, tmp_path / "same.mp4", d / "." / "film.mp4", path):
        assert main(["render", str(path), str(out), "--frames", "0-3"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "input" in err[0], err
    assert hashlib.sha256(film.read_bytes()).hexdigest() == digest
    with pytest.raises(Exception, match="input"):        # the core refuses too, not only the CLI
        render(RenderJob.from_project(project), film, frames="0-1")


def test_render_of_a_truncated_film_reports_the_lost_frames(setup, tmp_path, capsys):
    _, _, _, _, colorizer = setup
    cut = clips.make_truncated_clip(tmp_path / "cut.mp4", n_frames=24, size=SIZE, keep=0.7,
                                    audio=True)
    p = Project.new(str(cut), model_path=setup[2].model_path, working_size=64)
    ppath = p.save(tmp_path / "cut.bento.json")
    assert main(["render", str(ppath), str(tmp_path / "o.mkv")]) == 1
    out = capsys.readouterr().out
    assert "truncated" in out and "could not be decoded" in out
