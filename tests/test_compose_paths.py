"""One compose path (issue 14 item 3): the viewer's composed picture, render's output frame and
the temporal engine's picture of the same frame with the same corrections are byte-identical.

All three go through core.compose.compose_picture: the viewer (gui display worker) with the
stages gui.pipeline chains (temporal, hints, the painting's corrections), the engine
(TemporalEngine.picture with the corrections as ``post``) and render (its emit).  Display-size
pictures (gui.display_compose, playback while zoomed out) are the same steps at another size,
so they are not compared byte for byte here (test_gui_playback_cache covers them).

Plumbing only: a tiny untrained generator, a gray film made from a colour clip."""
import cv2
import numpy as np
import pytest

from colorizer_app.core import color, compose
from colorizer_app.core import metrics as M
from colorizer_app.core.corrections.brush import BrushSettings, rasterize_stroke
from colorizer_app.core.corrections.stack import Lifetime
from colorizer_app.core.media import open_media
from colorizer_app.core.media.fingerprint import film_fingerprint
from colorizer_app.core.ml.chroma_cache import ChromaCache
from colorizer_app.core.ml.inference import Colorizer
from colorizer_app.core.ml.model import build_generator
from colorizer_app.core.pipeline.render import RenderJob, render
from colorizer_app.core.project.project import Project
from colorizer_app.core.temporal.engine import TemporalEngine
from tests.helpers.clips import synthetic_frame, write_frames

SIZE = (96, 64)
N = 6


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    d = tmp_path_factory.mktemp("compose_paths")
    src = write_frames(d / "gray.mkv", [M.gray_baseline(synthetic_frame(i, SIZE)) for i in range(N)],
                       codec="ffv1")
    project = Project.new(str(src), working_size=64)
    c = project.corrections.new(chroma=(30.0, -20.0), name="sky", opacity=0.8,
                                lifetime=Lifetime.range(1, 4))
    rasterize_stroke(c.mask, [(10, 10), (60, 40), (80, 20)], BrushSettings(size=21, softness=0.5))
    project.temporal = {"shots": {"n_frames": N, "cuts": [], "detected": True}}
    project.save(d / "gray.mkv.bento.json")
    colorizer = Colorizer(build_generator(width=0.125), size=64, batch_size=4)
    return {"dir": d, "src": str(src), "project": project, "colorizer": colorizer}


def _rendered(film, out_dir, **temporal):
    job = RenderJob.from_project(film["project"])
    job.model = film["colorizer"]
    if temporal:
        job.temporal = job.temporal.merged(**temporal)
    out_dir.mkdir()
    res = render(job, out_dir / "f_%04d.png")        # fills the project's chroma cache too
    assert res.frames_written == N
    return {i: cv2.cvtColor(cv2.imread(str(out_dir / f"f_{i:04d}.png")), cv2.COLOR_BGR2RGB)
            for i in range(N)}


def _corrections(project):
    """The painting's stage as gui.paint.attach installs it (PaintingController.override)."""
    stack, shot_of = project.corrections, project.shot_of()

    def override(i, ab, L):
        return stack.composite(ab, i, shot_of)
    return override


def test_viewer_render_and_engine_pictures_are_byte_identical(film, tmp_path):
    out = _rendered(film, tmp_path / "render")
    project, colorizer = film["project"], film["colorizer"]
    corrections = _corrections(project)
    with open_media(film["src"]) as reader:
        cache = ChromaCache(project.data_dir, colorizer.model_id, colorizer.size,
                            film_fingerprint(reader.info))
        engine = TemporalEngine(reader.read, N)
        engine.set_chroma(cache)
        box = compose.letterbox(SIZE[1], SIZE[0], colorizer.size)
        # the viewer: what the display worker composes with the stages gui.pipeline chains
        viewer_override = compose.chain(None, None, corrections)   # temporal, hints, painting
        touched = 0
        for i in range(N):
            frame = reader.read(i)
            viewer = compose.compose_picture(frame, cache.get(i), box, index=i,
                                             override=viewer_override)
            app = engine.picture(i, corrections)
            plain = compose.compose_picture(frame, cache.get(i), box)
            assert viewer.dtype == app.dtype == out[i].dtype == np.uint8
            assert np.array_equal(viewer, out[i]), i
            assert np.array_equal(app, out[i]), i
            touched += not np.array_equal(plain, viewer)
        assert touched == 4                     # the correction lives on frames 1-4 only


def test_deflickered_render_equals_the_engine(film, tmp_path):
    """With the temporal stage on, render and the engine run the same TemporalEngine and the
    same compose_picture; the corrections then paint over the temporal chroma."""
    out = _rendered(film, tmp_path / "render_dfl", deflicker=1.0)
    project, colorizer = film["project"], film["colorizer"]
    corrections = _corrections(project)
    with open_media(film["src"]) as reader:
        cache = ChromaCache(project.data_dir, colorizer.model_id, colorizer.size,
                            film_fingerprint(reader.info))
        engine = TemporalEngine(reader.read, N)
        engine.set_chroma(cache)
        engine.set_strength(1.0)
        box = compose.letterbox(SIZE[1], SIZE[0], colorizer.size)
        for i in range(N):
            app = engine.picture(i, corrections)
            assert np.array_equal(app, out[i]), i
            # and it is the deflickered chroma composed like any other
            ab = engine.result(i)[0]
            again = compose.compose_picture(reader.read(i), None, box, index=i,
                                            override=corrections, ab_full=ab)
            assert np.array_equal(again, app)


def test_compose_outputs_agree_across_depths():
    """uint8 is the float picture quantised as every writer does; uint16 likewise."""
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
    box = compose.letterbox(40, 56, 64)
    ab_work = rng.normal(0, 20, (64, 64, 2)).astype(np.float16)
    f = compose.compose_picture(frame, ab_work, box, dtype=np.float32)
    assert np.array_equal(compose.compose_picture(frame, ab_work, box), color.to_uint8(f))
    assert np.array_equal(compose.compose_picture(frame, ab_work, box, dtype=np.uint16),
                          color.to_uint16(f))
    with pytest.raises(ValueError):
        compose.compose_picture(None, ab_work, box)
