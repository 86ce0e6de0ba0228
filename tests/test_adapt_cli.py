"""`colorizer adapt` and `colorizer colorize --adapt`: real film and refs; a small generator keeps
the CLI runs short (tests/test_adapt.py adapts the shipped model)."""
import numpy as np
import pytest

from colorizer_app.cli import main
from colorizer_app.core import color
from colorizer_app.core.media import open_media
from colorizer_app.core.ml.model import load_generator
from tests.helpers.adapt_film import write_refs, write_scene
from tests.helpers.temporal_film import textured_rgb


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scene")
    picture = (textured_rgb(240, 320, 7) * 255 + 0.5).astype(np.uint8)
    film, frames, starts = write_scene(folder, picture)
    refs = write_refs(folder / "refs", frames, [0, starts[1]])
    from colorizer_app.core.ml.model import build_generator, save_model
    small = save_model(build_generator(width=0.125), folder / "small.keras")
    return film, frames, starts, refs, str(small)


def test_adapt_writes_a_model_of_its_own(scene, tmp_path, capsys):
    film, frames, starts, refs, small_model = scene
    out = tmp_path / "film.keras"
    assert main(["adapt", str(film), "--refs", str(refs), "--out", str(out), "--steps", "8",
                 "--size", "128", "--model", small_model]) == 0
    err = capsys.readouterr().err
    assert "2 keyframe(s)" in err and "held-out error" in err
    assert [p.name for p in tmp_path.iterdir()] == ["film.keras"]
    model = load_generator(out)
    assert model.input_shape[-1] == 1


def test_colorize_adapt_then_propagates_refs(scene, tmp_path, capsys):
    film, frames, starts, refs, small_model = scene
    out = tmp_path / "out.mkv"
    assert main(["colorize", str(film), str(out), "--refs", str(refs), "--adapt", "--steps", "8",
                 "--size", "128", "--model", small_model]) == 0
    assert "learning the film from 2 keyframe(s)" in capsys.readouterr().err
    with open_media(out) as r:
        assert r.info.frame_count == len(frames)
        first = r.read(0)
    # the keyed frame carries its still's colours (refs still propagate within their shots)
    diff = np.abs(color.rgb_to_lab(first)[..., 1:] - color.rgb_to_lab(frames[0])[..., 1:])
    assert float(diff.mean()) < 4.0


@pytest.mark.parametrize("extra, message", [
    (["--minutes", "0"], "--minutes must be more than 0"),
    (["--steps", "0"], "--steps must be at least 1"),
])
def test_zero_budget_is_one_line_exit_2(scene, tmp_path, capsys, extra, message):
    film, _, _, refs, _ = scene
    assert main(["adapt", str(film), "--refs", str(refs), "--out", str(tmp_path / "m.keras"), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert main(["colorize", str(film), str(tmp_path / "o.mkv"), "--refs", str(refs), "--adapt", *extra]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_bad_keyframes_are_one_line_exit_2(scene, tmp_path, capsys):
    import cv2

    film, frames, _, _, small_model = scene
    (tmp_path / "empty").mkdir()
    small = tmp_path / "small"
    small.mkdir()
    cv2.imwrite(str(small / "ref_000000.png"), cv2.resize(frames[0], (64, 48)))
    alien = write_refs(tmp_path / "alien", [(textured_rgb(96, 128, 99) * 255).astype(np.uint8)], [0])
    cases = [(["--refs", str(tmp_path / "empty")], "no reference stills"),
             (["--refs", str(small)], "the film is 128x96"),
             (["--refs", str(alien)], "does not match frame 0"),
             ([], "give --refs DIR")]
    for extra, message in cases:
        out = tmp_path / "m.keras"
        assert main(["adapt", str(film), *extra, "--out", str(out), "--steps", "2", "--size", "128",
                     "--model", small_model]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], (extra, err)
        assert not out.exists()
    assert main(["adapt", str(film), "--refs", str(small), "--out", str(tmp_path / "m.txt")]) == 2
    assert "must name a .keras file" in capsys.readouterr().err
    assert main(["colorize", str(film), str(tmp_path / "o.mkv"), "--adapt"]) == 2
    assert "--adapt learns from keyframes" in capsys.readouterr().err
