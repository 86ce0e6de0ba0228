"""Project save/open, unknown keys, damaged/newer files, atomic save, autosave and recovery."""

import json
import os
import shutil

import numpy as np
import pytest

from colorizer_app.core.corrections.brush import BrushSettings, rasterize_stroke
from colorizer_app.core.corrections.stack import Lifetime
from colorizer_app.core.project import project as project_mod
from colorizer_app.core.project.project import (
    FORMAT_VERSION,
    Project,
    ProjectError,
    find_recovery,
    open_project,
)

W, H = 96, 64


@pytest.fixture(autouse=True)
def _autosave_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BENTOCOLOR_AUTOSAVE_DIR", str(tmp_path / "user-autosave"))


def make_project(tmp_path, n=3):
    film = tmp_path / "films" / "reel.mp4"
    film.parent.mkdir(parents=True, exist_ok=True)
    film.write_bytes(b"not really a film")          # the project only needs its path here
    p = Project(source_path=str(film), frame_size=(W, H), model_path=str(film.parent / "m.keras"),
                working_size=320, in_point=2, out_point=40)
    rng = np.random.default_rng(0)
    for k in range(n):
        c = p.corrections.new(chroma=(10.0 * k, -5.5), name=f"c{k}", opacity=0.75,
                              lifetime=[Lifetime.frame(3), Lifetime.range(1, 9),
                                        Lifetime.until_cut(4)][k % 3])
        pts = [(rng.uniform(0, W), rng.uniform(0, H)) for _ in range(4)]
        rasterize_stroke(c.mask, pts, BrushSettings(size=15, softness=0.7))
    p.corrections.set_visible(p.corrections[0].id, False)
    c = p.corrections[1]
    fm = c.mask.copy()
    rasterize_stroke(fm, [(5, 5), (40, 30)], BrushSettings(size=9))
    p.corrections.set_frame_mask(c.id, 7, fm)
    p.temporal["shots"] = {"n_frames": 50, "cuts": [20]}
    p.view = {"frame": 12, "zoom": 2.0}
    return p


def assert_same(p, q):
    assert q.frame_size == p.frame_size and q.working_size == p.working_size
    assert (q.in_point, q.out_point) == (p.in_point, p.out_point)
    assert os.path.samefile(q.source_path, p.source_path)
    assert q.corrections.ids() == p.corrections.ids()
    for a, b in zip(p.corrections, q.corrections):
        assert a.meta() == b.meta()
        assert a.mask.equals(b.mask)
        assert sorted(a.frame_masks) == sorted(b.frame_masks)
        for f in a.frame_masks:
            assert a.frame_masks[f].equals(b.frame_masks[f])
    assert q.temporal == p.temporal and q.view == p.view


def test_save_and_reopen_identical(tmp_path):
    p = make_project(tmp_path)
    (tmp_path / "proj").mkdir()
    path = p.save(tmp_path / "proj" / "reel.bento.json")
    assert path.exists() and not p.dirty
    q = open_project(path)
    assert_same(p, q)
    assert not q.warnings and not q.source_missing
    doc = json.loads(path.read_text())
    assert doc["format_version"] == FORMAT_VERSION
    assert doc["source"]["relative"] == "../films/reel.mp4"
    assert q.shot_of() == [20]
    assert q.data_dir == tmp_path / "proj" / "reel.bento"
    # composite is the same after the round trip
    ab = np.random.default_rng(1).normal(0, 20, (H, W, 2)).astype(np.float32)
    for f in (3, 5, 7, 30):
        assert np.array_equal(p.corrections.composite(ab, f, p.shot_of()),
                              q.corrections.composite(ab, f, q.shot_of()))


def test_relative_path_resolved_first_when_everything_moves(tmp_path):
    p = make_project(tmp_path)
    p.save(tmp_path / "reel.bento.json")
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.move(str(tmp_path / "films"), str(moved / "films"))
    for name in ("reel.bento.json", "reel.bento"):
        shutil.move(str(tmp_path / name), str(moved / name))
    q = open_project(moved / "reel.bento.json")
    assert q.source_path == str(moved / "films" / "reel.mp4") and not q.source_missing
    assert_same_masks = [a.mask.equals(b.mask) for a, b in zip(p.corrections, q.corrections)]
    assert all(assert_same_masks)
    os.remove(moved / "films" / "reel.mp4")
    r = open_project(moved / "reel.bento.json")
    assert r.source_missing


def test_unknown_keys_are_kept_at_every_level(tmp_path):
    p = make_project(tmp_path)
    path = p.save(tmp_path / "reel.bento.json")
    doc = json.loads(path.read_text())
    doc["future_top"] = {"a": [1, 2]}
    doc["source"]["checksum"] = "abc"
    doc["model"]["license"] = "cc"
    doc["range"]["handles"] = 4
    doc["corrections"][0]["tracking"] = {"mode": "planar"}
    doc["corrections"][1]["lifetime"]["fade"] = 3
    doc["temporal"]["keyframes"] = [{"frame": 3}]
    doc["view"]["wipe"] = 0.5
    path.write_text(json.dumps(doc))
    q = open_project(path)
    q.save()
    doc2 = json.loads(path.read_text())
    assert doc2["future_top"] == {"a": [1, 2]}
    assert doc2["source"]["checksum"] == "abc"
    assert doc2["model"]["license"] == "cc"
    assert doc2["range"]["handles"] == 4
    assert doc2["corrections"][0]["tracking"] == {"mode": "planar"}
    assert doc2["corrections"][1]["lifetime"]["fade"] == 3
    assert doc2["temporal"]["keyframes"] == [{"frame": 3}]
    assert doc2["view"]["wipe"] == 0.5


@pytest.mark.parametrize("content,needle", [
    (b"{not json", "damaged"),
    (b"\xff\xfe\x00garbage", "damaged"),
    (b'{"hello": 1}', "format_version"),
    (json.dumps({"format_version": FORMAT_VERSION + 1, "whatever": 1}).encode(), "newer"),
    (json.dumps({"format_version": 1, "source": {"absolute": "/x"}}).encode(), "damaged"),
])
def test_bad_files_raise_and_are_never_overwritten(tmp_path, content, needle):
    path = tmp_path / "bad.bento.json"
    path.write_bytes(content)
    with pytest.raises(ProjectError) as ei:
        open_project(path)
    msg = str(ei.value)
    assert needle in msg and "bad.bento.json" in msg and "\n" not in msg
    p = make_project(tmp_path)
    with pytest.raises(ProjectError):
        p.save(path)                              # refuses to write over what it cannot read
    assert path.read_bytes() == content
    assert not find_recovery(path)


def test_atomic_save_survives_a_crash_mid_write(tmp_path, monkeypatch):
    p = make_project(tmp_path)
    path = p.save(tmp_path / "reel.bento.json")
    before = path.read_bytes()
    masks_before = sorted(os.listdir(tmp_path / "reel.bento" / "masks"))
    c = p.corrections[2]
    rasterize_stroke(c.mask, [(1, 1), (90, 60)], BrushSettings(size=30))
    p.corrections.rename(c.id, "changed")

    real_dumps = project_mod._dumps

    def crash(doc):
        real_dumps(doc)                     # the document is built, then the write fails
        raise OSError(28, "No space left on device")   # the disk fills up while writing

    monkeypatch.setattr(project_mod, "_dumps", crash)
    with pytest.raises(OSError):
        p.save()
    assert path.read_bytes() == before
    # crash inside the write itself (after the temp file is half written)
    monkeypatch.setattr(project_mod, "_dumps", real_dumps)
    real_fsync = os.fsync

    def fail_fsync(fd):
        raise OSError(5, "I/O error")
    monkeypatch.setattr(os, "fsync", fail_fsync)
    with pytest.raises(OSError):
        p.save()
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert path.read_bytes() == before
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
    q = open_project(path)                         # the old project still opens, masks intact
    assert all(f in os.listdir(tmp_path / "reel.bento" / "masks") for f in masks_before)
    assert q.corrections[2].name == "c2" and not q.warnings
    assert p.dirty
    p.save()
    assert open_project(path).corrections[2].name == "changed"
    # masks no longer referenced were cleaned up, referenced ones kept
    doc = json.loads(path.read_text())
    referenced = {c["mask"].split("/")[1] for c in doc["corrections"]}
    referenced |= {v.split("/")[1] for c in doc["corrections"] for v in c.get("frame_masks", {}).values()}
    assert set(os.listdir(tmp_path / "reel.bento" / "masks")) == referenced


def test_autosave_and_recovery(tmp_path):
    p = make_project(tmp_path)
    path = p.save(tmp_path / "reel.bento.json")
    assert find_recovery(path) == []
    c = p.corrections[0]
    rasterize_stroke(c.mask, [(10, 10), (80, 50)], BrushSettings(size=20))
    p.corrections.rename(c.id, "after-save")
    a = p.autosave()
    assert a.name == "reel.autosave.json"
    rec = find_recovery(path)
    assert len(rec) == 1 and rec[0].autosave_path == a and rec[0].autosaved_at > rec[0].saved_at
    q = open_project(rec[0].autosave_path)        # the app "restarts" and recovers
    assert q.path == path and q.dirty and q.recovered_from == a
    assert q.corrections[0].name == "after-save" and q.corrections[0].mask.equals(c.mask)
    assert json.loads(path.read_text())["corrections"][0]["name"] == "c0"   # project untouched
    q.save()
    assert not a.exists() and find_recovery(path) == []
    assert open_project(path).corrections[0].name == "after-save"


def test_untitled_autosave_in_user_dir(tmp_path):
    p = make_project(tmp_path)
    a = p.autosave()
    assert a.parent == tmp_path / "user-autosave"
    rec = find_recovery()
    assert [r.autosave_path for r in rec] == [a] and rec[0].project_path is None
    q = open_project(a)
    assert q.path is None and q.autosave_path == a
    assert_same(p, q)
    target = q.save(tmp_path / "named.bento.json")
    assert not a.exists() and find_recovery() == []
    assert_same(p, open_project(target))
    # discarding a recovery removes it
    b = make_project(tmp_path).autosave()
    find_recovery()[0].discard()
    assert not b.exists() and find_recovery() == []


def test_second_instance_saving_is_detected_not_silently_overwritten(tmp_path):
    from colorizer_app.core.project.project import ProjectChangedOnDisk
    path = make_project(tmp_path).save(tmp_path / "reel.bento.json")
    a, b = open_project(path), open_project(path)          # two app instances
    a.corrections.rename(a.corrections[0].id, "from A")
    a.save()
    b.corrections.rename(b.corrections[1].id, "from B")
    with pytest.raises(ProjectChangedOnDisk) as ei:
        b.save()
    assert "changed on disk" in str(ei.value) and "\n" not in str(ei.value)
    assert open_project(path).corrections[0].name == "from A"        # A's work is intact
    b.save(force=True)                                               # the artist said so
    assert open_project(path).corrections[1].name == "from B"
    b.corrections.rename(b.corrections[2].id, "again")
    b.save()                                                         # its own save is no conflict


def test_moved_project_folder_recovers_to_its_new_place(tmp_path):
    folder = tmp_path / "job"
    folder.mkdir()
    p = make_project(folder)
    path = p.save(folder / "reel.bento.json")
    p.corrections.rename(p.corrections[0].id, "unsaved")
    p.autosave()
    moved = tmp_path / "elsewhere"
    shutil.move(str(folder), str(moved))
    rec = find_recovery(moved / "reel.bento.json")
    assert len(rec) == 1
    q = open_project(rec[0].autosave_path)
    assert q.path == moved / "reel.bento.json" and not q.source_missing
    assert q.source_path == str(moved / "films" / "reel.mp4")
    q.save()
    assert not path.exists() and not (tmp_path / "job").exists()     # nothing at the old place
    assert open_project(moved / "reel.bento.json").corrections[0].name == "unsaved"


def test_film_moved_beside_the_project_is_found(tmp_path):
    p = make_project(tmp_path)
    (tmp_path / "proj").mkdir()
    path = p.save(tmp_path / "proj" / "reel.bento.json")
    shutil.move(str(tmp_path / "films" / "reel.mp4"), str(tmp_path / "proj" / "reel.mp4"))
    q = open_project(path)
    assert not q.source_missing and q.source_path == str(tmp_path / "proj" / "reel.mp4")


def test_save_keeps_an_autosave_it_never_offered(tmp_path):
    """Another session's newer autosave of the target is work nobody was asked about."""
    path = make_project(tmp_path).save(tmp_path / "reel.bento.json")
    other = open_project(path)
    other.corrections.rename(other.corrections[0].id, "other session")
    auto = other.autosave()
    mine = open_project(path)
    mine._disk_stamp = None                    # (this test is about the autosave only)
    mine.save()
    assert auto.exists()
    # its masks survive the save's garbage collection too
    q = open_project(auto)
    assert q.corrections[0].name == "other session" and not q.warnings


@pytest.mark.parametrize("damage", ["nan_opacity", "film_moved"])
def test_render_refuses_a_bad_project_in_one_line(tmp_path, capsys, damage):
    from colorizer_app.cli import main
    p = make_project(tmp_path)
    path = p.save(tmp_path / "reel.bento.json")
    if damage == "nan_opacity":
        path.write_text(path.read_text().replace('"opacity": 0.75', '"opacity": NaN', 1))
        needle = "opacity"
    else:
        os.remove(tmp_path / "films" / "reel.mp4")
        needle = "was not found"
    rc = main(["render", str(path), str(tmp_path / "out.mkv")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and needle in err and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "out.mkv").exists()
