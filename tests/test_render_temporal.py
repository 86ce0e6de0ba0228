"""A project's temporal settings (cuts, keyframe stills, deflicker) in the render: the export is
the picture the review app's TemporalEngine shows, also when rendered in ranges on a farm.

Plumbing: a tiny untrained generator made flickery on purpose; colour truth is known because
the gray film is made from a colour clip."""
import zlib

import cv2
import numpy as np
import pytest

from colorizer_app.cli import main
from colorizer_app.core import color
from colorizer_app.core import metrics as M
from colorizer_app.core.media import open_media
from colorizer_app.core.ml.inference import Colorizer
from colorizer_app.core.ml.model import build_generator
from colorizer_app.core.pipeline.render import RenderError, RenderJob, render
from colorizer_app.core.project.project import Project
from colorizer_app.core.temporal.engine import TemporalEngine
from colorizer_app.core.temporal.film import read_ref, ref_keyframe
from colorizer_app.core.temporal.shots import ShotList
from tests.helpers.clips import synthetic_frame, write_frames

SIZE = (128, 80)
N_A, N_B = 12, 8                     # a cut at frame 12
N = N_A + N_B


class FlickeryColorizer(Colorizer):
    """The network's chroma plus a per-frame offset seeded by the frame's L (what deflicker is
    for); the same for every run."""

    def predict_work_from_L(self, Ls):
        out = []
        for L, (ab, box) in zip(Ls, super().predict_work_from_L(Ls)):
            rng = np.random.default_rng(zlib.crc32(np.ascontiguousarray(L[::8, ::8]).tobytes()))
            out.append(((ab.astype(np.float32) + rng.normal(0, 8, 2)).astype(np.float16), box))
        return out


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    d = tmp_path_factory.mktemp("rtemporal")
    truth = [synthetic_frame(i, SIZE) for i in range(N_A)] + \
        [np.ascontiguousarray(synthetic_frame(i, SIZE)[::-1, ::-1, ::-1]) for i in range(N_B)]
    src = write_frames(d / "gray.mkv", [M.gray_baseline(f) for f in truth], codec="ffv1")
    still = d / "key_000000.png"
    cv2.imwrite(str(still), cv2.cvtColor(truth[0], cv2.COLOR_RGB2BGR))
    colorizer = FlickeryColorizer(build_generator(width=0.125), size=64, batch_size=4)
    project = Project.new(str(src), working_size=64)
    project.temporal = {"shots": {"cuts": [N_A], "n_frames": N, "detected": True},
                        "keyframes": {"0": str(still)}, "deflicker": 1.0}
    project.save(d / "gray.mkv.bento.json")
    return {"dir": d, "src": str(src), "truth": truth, "still": str(still),
            "colorizer": colorizer, "project": project}


def _job(film, **temporal):
    job = RenderJob.from_project(film["project"])
    job.model = film["colorizer"]
    if temporal:
        job.temporal = job.temporal.merged(**temporal)
    return job


def _frames(folder, idx):
    return {i: cv2.cvtColor(cv2.imread(str(folder / f"f_{i:04d}.png")), cv2.COLOR_BGR2RGB)
            for i in idx}


class _Chroma:
    """The app's chroma cache as the engine reads it: the network's squares per frame, stored
    (compactly, core.ml.chroma_cache) and read back as the app and render both read them."""

    def __init__(self, colorizer, reader, folder):
        from colorizer_app.core.ml.chroma_cache import ChromaCache
        from colorizer_app.core.pipeline.render import film_fingerprint
        self.size = colorizer.size
        Ls = [color.luminance(reader.read(i)) for i in range(N)]
        cache = ChromaCache(folder, colorizer.model_id, colorizer.size, film_fingerprint(reader.info))
        self._ab = [cache.put(i, a) for i, (a, _) in enumerate(colorizer.predict_work_from_L(Ls))]

    def has(self, i):
        return 0 <= i < N

    def get(self, i):
        return self._ab[i]


def test_render_shows_what_the_app_shows_and_farm_ranges_agree(film, tmp_path):
    full, parts = tmp_path / "full", tmp_path / "parts"
    full.mkdir(), parts.mkdir()
    res = render(_job(film), full / "f_%04d.png")
    assert res.frames_written == N
    # the farm: two ranges, the first ending inside shot A's deflicker window of the second
    for rng in ("0-6", f"7-{N - 1}"):
        render(_job(film), parts / "f_%04d.png", frames=rng)
    a, b = _frames(full, range(N)), _frames(parts, range(N))

    with open_media(film["src"]) as reader:          # the review app's engine, over its cache
        eng = TemporalEngine(reader.read, N)
        eng.set_chroma(_Chroma(film["colorizer"], reader, tmp_path / "app_cache"))
        eng.set_shots(ShotList(N, (N_A,)))
        eng.set_keyframes({0: ref_keyframe(read_ref(film["still"]), *SIZE)})
        eng.set_strength(1.0)
        for i in range(N):
            app = eng.picture(i)
            assert np.abs(a[i].astype(int) - app).max() <= 1, i
            assert np.abs(a[i].astype(int) - b[i]).max() <= 1, i

    # and the stage did something: the keyframe's colours in shot A, steadier colour overall
    plain = tmp_path / "plain"
    plain.mkdir()
    render(_job(film, deflicker=0.0), plain / "f_%04d.png")   # keyframe only
    off_dir = tmp_path / "off"
    off_dir.mkdir()
    job = _job(film)
    job.temporal = None
    render(job, off_dir / "f_%04d.png")
    off, key = _frames(off_dir, range(N)), _frames(plain, range(N))
    truth = film["truth"]
    shot_a = range(1, N_A)
    assert np.mean([M.psnr(key[i], truth[i]) for i in shot_a]) > \
        np.mean([M.psnr(off[i], truth[i]) for i in shot_a]) + 3.0
    grays = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in truth]
    assert M.warp_error([a[i] for i in range(N)], grays, cuts=[N_A]) < \
        0.7 * M.warp_error([key[i] for i in range(N)], grays, cuts=[N_A])


def test_missing_keyframe_still_fails_before_writing(film, tmp_path):
    job = _job(film, refs={3: str(tmp_path / "gone.png")})
    with pytest.raises(RenderError, match="gone.png"):
        render(job, tmp_path / "o.mkv")
    assert not any(tmp_path.iterdir())


def test_cli_render_uses_the_projects_keyframes(film, tmp_path):
    bare = Project.new(film["src"], working_size=64)            # same film, no temporal section
    bare_path = bare.save(tmp_path / "bare.bento.json")
    path = film["dir"] / "gray.mkv.bento.json"
    got = {}
    for name, proj in (("key", path), ("bare", bare_path)):
        out = tmp_path / f"{name}.mkv"
        assert main(["render", str(proj), str(out), "--frames", "0-5", "--deflicker", "0"]) == 0
        with open_media(out) as r:
            got[name] = [f for _, f in r.iter_frames()]
        assert len(got[name]) == 6
    psnr = {k: np.mean([M.psnr(v[i], film["truth"][i]) for i in range(1, 6)])
            for k, v in got.items()}
    assert psnr["key"] > psnr["bare"] + 3.0, psnr
