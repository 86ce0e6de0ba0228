"""End-to-end: the `colorizer colorize` command on clips made here, with a tiny untrained model."""
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from colorizer_app.cli import main
from colorizer_app.core.batch import colorize_film, parse_range
from colorizer_app.core.inference import Colorizer
from colorizer_app.core.media import open_media
from colorizer_app.core.model import build_generator, save_model
from tests import clips


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    # plumbing only: a freshly initialised generator, never used by anything user-facing
    return str(save_model(build_generator(width=0.125), tmp_path_factory.mktemp("m") / "tiny.keras"))


def run_cli(*args):
    return main(["colorize", *map(str, args)])


def test_h264_with_audio_keeps_count_rate_size_and_audio(tmp_path, tiny_model):
    src = clips.make_clip(tmp_path / "in.mp4", n_frames=30, size=(160, 96), audio=True)
    out = tmp_path / "out.mp4"
    assert run_cli(src, out, "--model", tiny_model, "--size", 64) == 0
    with open_media(src) as a, open_media(out) as b:
        assert b.info.frame_count == a.info.frame_count == 30
        assert b.info.fps == a.info.fps == Fraction(24000, 1001)
        assert (b.info.width, b.info.height) == (160, 96)
        assert b.info.audio_codec is not None
        # the original L is kept: luminance of output ≈ input
        from colorizer_app.core import color
        for i in (0, 17, 29):
            assert np.abs(color.luminance(b.read(i)) - color.luminance(a.read(i))).mean() < 3.0


def test_odd_size_to_ffv1_and_frame_range_to_png_sequence(tmp_path, tiny_model):
    src = clips.make_odd_clip(tmp_path / "odd.mkv", n_frames=6)
    out = tmp_path / "odd_out.mkv"
    assert run_cli(src, out, "--model", tiny_model, "--size", 64) == 0
    with open_media(out) as r:
        assert (r.info.width, r.info.height, r.info.frame_count) == (721, 405, 6)
    seq = tmp_path / "seq" / "f_%04d.png"
    seq.parent.mkdir()
    assert run_cli(src, seq, "--model", tiny_model, "--size", 64, "--frames", "2-4") == 0
    names = sorted(p.name for p in seq.parent.iterdir())
    assert names == ["f_0002.png", "f_0003.png", "f_0004.png"]


def test_truncated_film_colorizes_what_decodes_and_reports_the_loss(tmp_path, tiny_model, capsys):
    src = clips.make_truncated_clip(tmp_path / "cut.mkv", n_frames=48)
    out = tmp_path / "cut_out.mkv"
    rc = run_cli(src, out, "--model", tiny_model, "--size", 64)
    text = capsys.readouterr().out
    assert rc == 1 and "could not be decoded" in text
    with open_media(out) as r, open_media(src) as s:
        assert 0 < r.info.frame_count == s.info.frame_count < 48


@pytest.mark.parametrize("case", ["missing", "text", "empty", "unwritable", "range", "model"])
def test_bad_input_gives_one_clear_line_and_nonzero_exit(tmp_path, tiny_model, capsys, case):
    good = clips.make_clip(tmp_path / "ok.mp4", n_frames=8, audio=False)
    args = {
        "missing": [tmp_path / "nope.mp4", tmp_path / "o.mp4"],
        "text": [clips.make_text_file(tmp_path / "notes.mp4"), tmp_path / "o.mp4"],
        "empty": [clips.make_empty_file(tmp_path / "empty.mov"), tmp_path / "o.mp4"],
        "unwritable": [good, tmp_path / "no" / "such" / "dir" / "o.mp4"],
        "range": [good, tmp_path / "o.mp4", "--frames", "5-99"],
        "model": [good, tmp_path / "o.mp4", "--model", tmp_path / "bad.keras"],
    }[case]
    (tmp_path / "bad.keras").write_bytes(b"PK\x03\x04 truncated")
    rc = run_cli(*args, *([] if case == "model" else ["--model", tiny_model]))
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err and err.startswith("colorizer colorize: error:")
    assert not (tmp_path / "o.mp4").exists()


def test_interrupted_run_never_leaves_a_complete_looking_file(tmp_path, tiny_model):
    src = clips.make_clip(tmp_path / "in.mp4", n_frames=24, audio=False)
    out = tmp_path / "out.mp4"
    colorizer = Colorizer(tiny_model, size=64)

    def boom(i, frame, ab):
        if i == 10:
            raise KeyboardInterrupt
        return ab

    with pytest.raises(KeyboardInterrupt):
        colorize_film(str(src), str(out), colorizer, chroma_filter=boom)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_parse_range():
    assert parse_range(None, 10) == (0, 10)
    assert parse_range("2-4", 10) == (2, 5)
    assert parse_range("7-", 10) == (7, 10)
    for bad in ("4-2", "0-10", "x-3", "-1-3"):
        with pytest.raises(ValueError):
            parse_range(bad, 10)


def test_deflicker_and_refs_from_the_command_line(tmp_path, tiny_model):
    import cv2

    from colorizer_app.core import color
    from colorizer_app.core.metrics import psnr

    src = clips.make_clip(tmp_path / "in.mp4", n_frames=20, size=(160, 96), audio=True)
    refs = tmp_path / "refs"
    refs.mkdir()
    with open_media(src) as r:
        truth0 = r.read(0)
    cv2.imwrite(str(refs / "ref_000000.png"), cv2.cvtColor(truth0, cv2.COLOR_RGB2BGR))
    plain, fixed = tmp_path / "plain.mkv", tmp_path / "fixed.mkv"
    assert run_cli(src, plain, "--model", tiny_model, "--size", 64) == 0
    assert run_cli(src, fixed, "--model", tiny_model, "--size", 64, "--deflicker", "--refs", refs) == 0
    with open_media(fixed) as f, open_media(plain) as p:
        assert f.info.frame_count == 20 and f.info.audio_codec is not None
        # the keyframe's true colours reach frame 0 and flow on to its neighbours
        assert psnr(f.read(0), truth0) > psnr(p.read(0), truth0) + 6
        assert psnr(f.read(3), truth0) > psnr(p.read(3), truth0)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "ref_12x.png").write_bytes(b"")
    assert run_cli(src, tmp_path / "o.mkv", "--model", tiny_model, "--size", 64, "--refs", bad) == 2
    assert run_cli(src, tmp_path / "o.mkv", "--model", tiny_model, "--size", 64, "--deflicker", "3") == 2
