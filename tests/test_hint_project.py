"""Hints in the project file: saved and read back, format-1 projects still open, bad entries
refused in one line, and `colorizer render` paints the network with a frame's hints."""
import json

import numpy as np
import pytest

from colorizer_app.core.ml.hints import Hint
from colorizer_app.core.project.hint_project import HintStore
from colorizer_app.core.project.project import FORMAT_VERSION, Project, ProjectError, open_project


def _project(tmp_path):
    film = tmp_path / "reel.mp4"
    film.write_bytes(b"not opened by these tests")
    return Project(source_path=str(film), frame_size=(160, 96))


def test_hints_round_trip_and_drawing_order(tmp_path):
    p = _project(tmp_path)
    p.hints.put(3, "b", Hint(10, 20, -40, 30, 5))
    p.hints.put(3, "a", Hint(50, 60, 20, -10, 3))
    p.hints.put(7, "c", Hint(159, 95, 0, 0, 1))
    p.hints.put(3, "b", None)
    p.hints.put(3, "b", Hint(10, 20, -40, 30, 5), position=0)     # an undone delete: same place
    path = p.save(tmp_path / "reel.bento.json")
    doc = json.loads(path.read_text())
    assert doc["format_version"] == FORMAT_VERSION == 2
    q = open_project(path)
    assert q.hints.items(3) == [("b", Hint(10, 20, -40, 30, 5)), ("a", Hint(50, 60, 20, -10, 3))]
    assert q.hints.snapshot() == {3: [Hint(10, 20, -40, 30, 5), Hint(50, 60, 20, -10, 3)],
                                  7: [Hint(159, 95, 0, 0, 1)]}


def test_format_1_project_opens_without_hints(tmp_path):
    p = _project(tmp_path)
    path = p.save(tmp_path / "old.bento.json")
    doc = json.loads(path.read_text())
    doc["format_version"] = 1
    doc.pop("hints")
    path.write_text(json.dumps(doc))
    q = open_project(path)
    assert len(q.hints) == 0 and q.hints.snapshot() == {}


@pytest.mark.parametrize("hints, words", [
    ([], "object of frame numbers"),
    ({"x": []}, "bad frame number"),
    ({"-1": []}, "bad frame number"),
    ({"2": {}}, "list of at most"),
    ({"2": [7]}, "expected an object"),
    ({"2": [{"x": 1, "y": 1, "a": 0, "b": 0}]}, "bad id"),
    ({"2": [{"id": "h", "x": 1e9, "y": 1, "a": 0, "b": 0}]}, "outside"),
    ({"2": [{"id": "h", "x": 1, "y": 1, "a": 200, "b": 0}]}, "a = 200"),
    ({"2": [{"id": "h", "x": 1, "y": 1, "a": "red", "b": 0}]}, "finite number"),
    ({"2": [{"id": "h", "x": 1, "y": 1, "a": 0, "b": 0, "size": 0}]}, "size"),
    ({"2": [{"id": "h", "x": 1, "y": 1, "a": 0, "b": 0}, {"id": "h", "x": 2, "y": 1, "a": 0, "b": 0}]},
     "two hints"),
])
def test_bad_hints_refuse_the_project_in_one_line(tmp_path, hints, words):
    p = _project(tmp_path)
    path = p.save(tmp_path / "bad.bento.json")
    doc = json.loads(path.read_text())
    doc["hints"] = hints
    path.write_text(json.dumps(doc))
    before = path.read_bytes()
    with pytest.raises(ProjectError) as exc:
        open_project(path)
    msg = str(exc.value)
    assert "\n" not in msg and words in msg, msg
    assert path.read_bytes() == before


def test_store_versions_and_listeners():
    s = HintStore()
    seen = []
    s.subscribe(seen.append)
    s.put(1, "x", Hint(1, 1, 1, 1))
    s.put(1, "x", None)
    assert seen == [1, 1] and s.version == 2 and s.frames() == []


def test_render_paints_the_network_with_the_frames_hints(tmp_path):
    from colorizer_app.core.media import open_media
    from colorizer_app.core.pipeline.render import RenderJob, render
    from tests.helpers.clips import make_clip
    from tests.helpers.hint_models import edge_spread_model

    clip = make_clip(tmp_path / "reel.mp4", n_frames=3, size=(64, 64), audio=False, color=False)
    model = str(edge_spread_model(tmp_path / "spread.keras"))
    p = Project(source_path=str(clip), frame_size=(64, 64))
    p.hints.put(1, "h", Hint(32, 32, -45, 40, 5))
    render(RenderJob.from_project(p, model=model, size=64), str(tmp_path / "f_%04d.png"))
    with open_media(str(tmp_path / "f_%04d.png")) as r:
        frames = [r.read(i) for i in range(3)]
    import cv2
    ab = [cv2.cvtColor(f.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)[..., 1:] for f in frames]
    assert np.abs(ab[0]).max() < 2 and np.abs(ab[2]).max() < 2      # no hints: the gray model
    assert np.abs(ab[1][30:35, 30:35].reshape(-1, 2).mean(0) - (-45, 40)).max() < 12
