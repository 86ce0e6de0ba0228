"""The project and mask loaders under fuzzing (Hypothesis) and the reliability trial's finds:
whatever a project, autosave or mask file holds, only ProjectError escapes (a damaged mask
costs that mask, named in a warning), and whatever loads can be saved and opened again."""
import json
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from colorizer_app.core.corrections.brush import BrushSettings, rasterize_stroke
from colorizer_app.core.corrections.masks import SparseMask
from colorizer_app.core.corrections.stack import Lifetime
from colorizer_app.core.project.project import Project, ProjectError, find_recovery, open_project

W, H = 48, 32
FUZZ = settings(max_examples=80, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(autouse=True)
def _autosave_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BENTOCOLOR_AUTOSAVE_DIR", str(tmp_path / "user-autosave"))


def _saved_project(folder: Path) -> Path:
    film = folder / "reel.mp4"
    film.write_bytes(b"film")
    p = Project(source_path=str(film), frame_size=(W, H), in_point=1, out_point=9)
    for k, life in enumerate((Lifetime.frame(2), Lifetime.range(1, 5), Lifetime.until_cut(3))):
        c = p.corrections.new(chroma=(10.0 * k, -4.0), name=f"c{k}", opacity=0.5, lifetime=life)
        rasterize_stroke(c.mask, [(5 + 9 * k, 4), (30, 20 + k)], BrushSettings(size=9))
    fm = p.corrections[1].mask.copy()
    rasterize_stroke(fm, [(2, 2), (40, 28)], BrushSettings(size=5))
    p.corrections.set_frame_mask(p.corrections[1].id, 4, fm)
    p.temporal["shots"] = {"n_frames": 12, "cuts": [6]}
    p.view = {"frame": 3, "zoom": 1.5}
    return p.save(folder / "reel.bento.json")


@pytest.fixture(scope="module", autouse=True)
def _no_fsync():
    """Durability is tested elsewhere (kill -9 tests); hundreds of fuzzed saves need no fsync."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "fsync", lambda fd: None)
        yield


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz_template")
    path = _saved_project(folder)
    return json.loads(path.read_text("utf-8")), folder


def _load_or_refuse(path: Path) -> None:
    """The contract: ProjectError, or a project that saves and reopens with the same content."""
    try:
        p = open_project(path)
    except ProjectError as exc:
        assert "\n" not in str(exc) and path.name in str(exc)
        return
    again = p.save(path.with_name("resaved.bento.json"))
    q = open_project(again)
    assert q.corrections.ids() == p.corrections.ids()
    assert q.frame_size == p.frame_size and (q.in_point, q.out_point) == (p.in_point, p.out_point)
    for a, b in zip(p.corrections, q.corrections):
        assert a.meta() == b.meta() and a.mask.equals(b.mask)
    assert q.shot_of() == p.shot_of()


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70),
                      st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
                      st.sampled_from(["masks/../../x", "masks/", "/dev/null", "masks/a.npz",
                                       "until_cut", "range", "frame"]))
json_value = st.recursive(json_leaf, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=6), kids, max_size=4)),
    max_leaves=12)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


def _mutate(doc, path, value, delete):
    doc = json.loads(json.dumps(doc))
    if not path:
        return value
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


@FUZZ
@given(data=st.data())
def test_fuzzed_documents_open_or_are_refused(template, data):
    doc, folder = template
    paths = list(_paths(doc))
    mutated = doc
    for _ in range(data.draw(st.integers(1, 3))):
        paths = list(_paths(mutated)) if isinstance(mutated, (dict, list)) else [()]
        where = data.draw(st.sampled_from(paths))
        mutated = _mutate(mutated, where, data.draw(json_value),
                          delete=bool(where) and data.draw(st.booleans()))
    with tempfile.TemporaryDirectory(dir=folder) as d:
        path = Path(d) / "fuzz.bento.json"
        # the template's masks, so that intact references still load
        os.symlink(folder / "reel.bento", Path(d) / "fuzz.bento")
        path.write_text(json.dumps(mutated), "utf-8")
        _load_or_refuse(path)


@FUZZ
@given(text_edit=st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e400",
                                  "1" * 400, "[" * 5000 + "]" * 5000, '{"a":' * 3000 + "1" +
                                  "}" * 3000, "\"\\ud800\"", "0.5", "[5]", "null", "{}"]),
       which=st.integers(0, 10_000))
def test_nonstandard_numbers_and_deep_nesting_are_refused(template, text_edit, which):
    doc, folder = template
    text = json.dumps(doc)
    # replace one number (or value after a colon) in the text with the edit
    spots = [i for i, ch in enumerate(text) if ch == ":"]
    i = spots[which % len(spots)] + 1
    j = i + 1
    while j < len(text) and text[j] not in ",}":
        j += 1
    with tempfile.TemporaryDirectory(dir=folder) as d:
        path = Path(d) / "fuzz.bento.json"
        path.write_text(text[:i] + " " + text_edit + text[j:], "utf-8")
        _load_or_refuse(path)


@FUZZ
@given(blob=st.binary(max_size=300), cut=st.floats(0, 1), flips=st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6))
def test_fuzzed_mask_bytes_raise_value_error_only(blob, cut, flips):
    m = SparseMask.from_full(np.pad(np.linspace(0, 1, 60, dtype=np.float32).reshape(6, 10),
                                    ((2, 3), (4, 1))))
    good = bytearray(m.to_bytes())
    for pos, val in flips:
        good[pos % len(good)] = val
    for candidate in (bytes(good[:int(len(good) * cut)]), bytes(good), blob):
        try:
            r = SparseMask.from_bytes(candidate)
        except ValueError:
            continue
        assert len(r.shape) == 2 and (r.data is None or np.isfinite(r.data).all())
        if r.bbox is not None:
            assert r.data.shape == (r.bbox[2] - r.bbox[0], r.bbox[3] - r.bbox[1])


@FUZZ
@given(saved=json_value, autosaved=json_value)
def test_find_recovery_survives_any_time_values(template, saved, autosaved):
    folder = template[1] / "rec"
    folder.mkdir(exist_ok=True)
    (folder / "p.bento.json").write_text(json.dumps({"format_version": 1, "saved_at": saved}))
    (folder / "p.autosave.json").write_text(json.dumps({"autosaved_at": autosaved}))
    rec = find_recovery(folder / "p.bento.json")
    assert len(rec) <= 1 and all(np.isfinite(r.autosaved_at) for r in rec)


# ---- the trial's reproductions, one by one -------------------------------------------------
def _edit(path: Path, fn) -> None:
    doc = json.loads(path.read_text("utf-8"))
    fn(doc)
    path.write_text(json.dumps(doc), "utf-8")


@pytest.mark.parametrize("edit,needle", [
    (lambda d: d["corrections"][0].update(chroma=[5]), "chroma"),
    (lambda d: d["range"].update({"in": 1e300}), "in point"),
    (lambda d: d["corrections"][1]["lifetime"].update(start=-3), "lifetime start"),
    (lambda d: d.update(frame_size=[0, 32]), "frame_size"),
    (lambda d: d["corrections"].append(dict(d["corrections"][0])), "id"),
])
def test_bad_values_are_one_project_error(tmp_path, edit, needle):
    path = _saved_project(tmp_path)
    _edit(path, edit)
    with pytest.raises(ProjectError, match=needle):
        open_project(path)


@pytest.mark.parametrize("raw", ['"opacity": NaN', '"opacity": Infinity', '"opacity": 1e999'])
def test_nan_opacity_is_refused_at_load(tmp_path, raw):
    path = _saved_project(tmp_path)
    text = path.read_text("utf-8").replace('"opacity": 0.5', raw, 1)
    assert raw in text
    path.write_text(text, "utf-8")
    with pytest.raises(ProjectError, match="reel.bento.json"):
        open_project(path)


def test_deep_json_and_infinite_frame_numbers(tmp_path):
    path = _saved_project(tmp_path)
    text = path.read_text("utf-8")
    path.write_text(text.replace('"view": {', '"view": {"deep": ' + "[" * 100000 +
                                 "]" * 100000 + ", ", 1), "utf-8")
    with pytest.raises(ProjectError, match="nested"):
        open_project(path)
    path.write_text(text.replace('"in": 1', '"in": Infinity', 1), "utf-8")
    with pytest.raises(ProjectError):
        open_project(path)


def test_non_number_saved_at_still_offers_the_autosave(tmp_path):
    path = _saved_project(tmp_path)
    p = open_project(path)
    p.corrections.rename(p.corrections[0].id, "newer")
    p.autosave()
    _edit(path, lambda d: d.update(saved_at=["not", "a", "time"]))
    rec = find_recovery(path)
    assert len(rec) == 1 and rec[0].saved_at is None


def _zip_with(member_bytes: bytes) -> bytes:
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("shape.npy", member_bytes)
    return buf.getvalue()


@pytest.mark.parametrize("damage", ["badzip", "truncated", "zlib", "empty", "nan"])
def test_one_damaged_mask_costs_only_that_correction(tmp_path, damage):
    path = _saved_project(tmp_path)
    doc = json.loads(path.read_text("utf-8"))
    victim = tmp_path / "reel.bento" / doc["corrections"][1]["mask"]
    blob = victim.read_bytes()
    if damage == "badzip":
        blob = b"PK\x03\x04" + b"\x00" * 40
    elif damage == "truncated":
        blob = blob[: len(blob) // 2]
    elif damage == "zlib":           # a valid zip whose deflate stream is garbage
        raw = bytearray(blob)
        off = raw.index(b"data.npy") + len(b"data.npy") + 10
        raw[off:off + 20] = os.urandom(20)
        blob = bytes(raw)
        with pytest.raises(Exception) as ei:   # the kind of error the old loader let escape
            with zipfile.ZipFile(__import__("io").BytesIO(blob)) as z:
                z.read("data.npy")
        assert isinstance(ei.value, (zlib.error, zipfile.BadZipFile, EOFError))
    elif damage == "empty":
        blob = b""
    elif damage == "nan":
        m = SparseMask((H, W), (0, 0, 2, 2), np.full((2, 2), np.nan, np.float32))
        blob = m.to_bytes()
    victim.write_bytes(blob)
    p = open_project(path)
    assert len(p.corrections) == 3
    assert p.corrections[1].mask.is_empty and not p.corrections[0].mask.is_empty
    assert len(p.warnings) == 1 and "'c1'" in p.warnings[0] and "\n" not in p.warnings[0]
    # the frame mask of that correction is a different file: still there
    assert not p.corrections[1].frame_masks[4].is_empty
    p.save()                                       # and the project saves again
    assert not open_project(path).warnings


def test_mask_reference_outside_the_sidecar_is_not_read(tmp_path):
    path = _saved_project(tmp_path)
    _edit(path, lambda d: d["corrections"][0].update(mask="../../../../dev/zero"))
    p = open_project(path)
    assert p.corrections[0].mask.is_empty and "not a mask file" in p.warnings[0]
