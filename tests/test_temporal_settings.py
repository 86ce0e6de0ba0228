"""core.temporal.settings.TemporalSettings: the project's temporal section, typed (issue 14 item 3).

Loaded and saved by the project (Project.temporal_settings / set_temporal_settings) with the
same JSON on disk; read by the review app, render and the farm's plan."""

import json

import pytest

from colorizer_app.core.project.project import Project, open_project
from colorizer_app.core.temporal.settings import TemporalSettings
from colorizer_app.core.temporal.shots import ShotList

W, H = 48, 32

# the temporal section exactly as the review app has saved it (gui.temporal.controller)
APP_SECTION = {"shots": {"n_frames": 50, "cuts": [20, 35], "detected": True},
               "keyframes": {"3": "/stills/ref_000003.png", "40": "/stills/ref_000040.png"},
               "deflicker": 0.35}


@pytest.fixture(autouse=True)
def _autosave_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BENTOCOLOR_AUTOSAVE_DIR", str(tmp_path / "user-autosave"))


def _project(tmp_path) -> Project:
    film = tmp_path / "reel.mp4"
    film.write_bytes(b"not really a film")
    return Project(source_path=str(film), frame_size=(W, H))


def test_round_trip_of_the_app_section():
    s = TemporalSettings.from_dict(APP_SECTION)
    assert s.cuts == (20, 35) and s.n_frames == 50 and s.detected
    assert s.keyframes == {3: "/stills/ref_000003.png", 40: "/stills/ref_000040.png"}
    assert s.deflicker == 0.35 and s.active and s.problems == ()
    assert s.to_dict() == APP_SECTION
    assert json.dumps(s.to_dict()) == json.dumps(APP_SECTION)        # key order too
    assert TemporalSettings.from_dict(s.to_dict()) == s
    assert s.shot_list(50) == ShotList(50, (20, 35))
    assert s.shot_list(51) is None                                   # found for another film


def test_defaults_and_validation():
    s = TemporalSettings.from_dict({})
    assert s == TemporalSettings() and not s.active and s.cuts is None and s.shot_list(10) is None
    assert TemporalSettings.from_dict(None) == TemporalSettings()
    with pytest.raises(ValueError):
        TemporalSettings(deflicker=1.5)
    bad = {"keyframes": {"x": "/a.png", "4": "/b.png"}, "deflicker": 7}
    s = TemporalSettings.from_dict(bad)                 # lenient: what the app opens
    assert s.keyframes == {4: "/b.png"} and s.deflicker == 1.0
    assert len(s.problems_of("keyframes")) == 1 and len(s.problems_of("deflicker")) == 1
    with pytest.raises(ValueError, match="invalid literal"):      # strict: what a render needs
        TemporalSettings.from_dict(bad, strict=True)
    with pytest.raises(ValueError, match="keyframes could not be read"):
        TemporalSettings.from_dict({"keyframes": [1]}, strict=True)
    with pytest.raises(ValueError, match="not in 0..1"):
        TemporalSettings.from_dict({"deflicker": -0.5}, strict=True)
    with pytest.raises(ValueError, match="could not convert"):
        TemporalSettings.from_dict({"deflicker": "strong"}, strict=True)
    assert TemporalSettings.from_dict({"deflicker": "strong"}).deflicker == 0.0
    assert TemporalSettings.from_dict({"deflicker": float("nan")}).deflicker == 0.0


def test_merged_keeps_the_rest():
    s = TemporalSettings.from_dict(APP_SECTION).merged(0.9, {5: "/c.png"})
    assert s.deflicker == 0.9 and s.keyframes[5] == "/c.png" and s.keyframes[3]
    assert s.cuts == (20, 35) and s.n_frames == 50


def test_old_project_file_loads_and_saves_unchanged(tmp_path):
    """A project saved before the typed settings (cuts at the top level of the section, as
    the first versions wrote them, and a key this version does not know) opens with its
    settings and is saved with the same section."""
    p = _project(tmp_path)
    path = p.save(tmp_path / "reel.bento.json")
    doc = json.loads(path.read_text())
    old = {"cuts": [7, 3, 0, "x", 12], "keyframes": {"2": "/s/ref_000002.png"},
           "deflicker": 0.5, "future": {"a": 1}}
    doc["temporal"] = old
    path.write_text(json.dumps(doc))
    q = open_project(path)
    s = q.temporal_settings()
    assert s.cuts == (3, 7, 12) and s.n_frames is None and s.shot_list(20) is None
    assert s.keyframes == {2: "/s/ref_000002.png"} and s.deflicker == 0.5
    assert q.shot_of() == [3, 7, 12]
    assert TemporalSettings.from_project(q) == s
    q.save()
    assert json.loads(path.read_text())["temporal"] == old          # untouched on disk

    # the app stores its state: its keys replace the old ones, unknown keys stay
    q.set_temporal_settings(TemporalSettings.from_shots(ShotList(20, (3, 7)), {2: "/s/r.png"}, 0.25))
    q.save()
    section = json.loads(path.read_text())["temporal"]
    assert section["future"] == {"a": 1}
    assert section["shots"] == {"n_frames": 20, "cuts": [3, 7], "detected": True}
    assert section["keyframes"] == {"2": "/s/r.png"} and section["deflicker"] == 0.25
    r = open_project(path)
    assert r.temporal_settings() == q.temporal_settings()
    assert r.temporal_settings().shot_list(20) == ShotList(20, (3, 7)) and r.shot_of() == [3, 7]


def test_app_saved_project_round_trips(tmp_path):
    p = _project(tmp_path)
    p.temporal.update(json.loads(json.dumps(APP_SECTION)))
    path = p.save(tmp_path / "reel.bento.json")
    q = open_project(path)
    assert q.temporal == APP_SECTION
    assert q.temporal_settings() == TemporalSettings.from_dict(APP_SECTION)
    q.set_temporal_settings(q.temporal_settings())                  # load, store: a no-op
    q.save()
    assert json.loads(path.read_text())["temporal"] == APP_SECTION


@pytest.mark.parametrize("section,cuts", [
    ({}, None),
    ({"shots": {"n_frames": 9, "cuts": [4, 2, 2]}}, [2, 4]),
    ({"shots": {"n_frames": 9}, "cuts": [5]}, [5]),                 # no cuts in shots: the old key
    ({"shots": {"cuts": "x"}, "cuts": [5]}, None),                  # shots' cuts win, unreadable
    ({"shots": [1, 2]}, None),
    ({"cuts": [True, 3.0, -1, 0, 2 ** 31, 6]}, [6]),                # only frame numbers
])
def test_shot_of_reads_the_section_as_before(tmp_path, section, cuts):
    p = _project(tmp_path)
    p.temporal = section
    assert p.shot_of() == cuts
