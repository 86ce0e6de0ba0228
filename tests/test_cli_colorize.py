"""End-to-end: the `colorizer colorize` command on clips made here, with a tiny untrained model."""
from fractions import Fraction

import numpy as np
import pytest

from colorizer_app.cli import main
from colorizer_app.core.media import open_media
from colorizer_app.core.ml.inference import Colorizer
from colorizer_app.core.ml.model import build_generator, save_model
from colorizer_app.core.pipeline.batch import colorize_film, parse_range
from tests.helpers import clips


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


# ----------------------------------------------------------------------------- issue 16
def _digest(path):
    import hashlib
    from pathlib import Path as P
    p = P(path)
    files = sorted(p.iterdir()) if p.is_dir() else [p]
    return [(f.name, hashlib.sha256(f.read_bytes()).hexdigest()) for f in files]


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_output_onto_the_input_is_refused_and_the_film_survives(tmp_path, tiny_model, capsys):
    import os
    mkv = clips.make_clip(tmp_path / "X.mkv", n_frames=10, codec="ffv1", audio=False)
    mp4 = clips.make_clip(tmp_path / "Y.mp4", n_frames=10, audio=False)
    os.link(mp4, tmp_path / "hard.mp4")
    (tmp_path / "sym.mkv").symlink_to(mkv)
    seq = clips.make_image_sequence(tmp_path / "seq", n_frames=4)
    cases = [(mkv, mkv), (mp4, mp4), (mp4, tmp_path / "hard.mp4"), (mkv, tmp_path / "sym.mkv"),
             (mp4, tmp_path / "." / "Y.mp4"), (seq, tmp_path / "seq"),
             (tmp_path / "seq", tmp_path / "seq" / "c_%04d.png")]
    before = {str(p): _digest(p) for p in (mkv, mp4, tmp_path / "seq")}
    for src, out in cases:
        assert run_cli(src, out, "--model", tiny_model, "--size", 64, "--frames", "0-3") == 2
        assert "input" in _one_error_line(capsys)
    assert {str(p): _digest(p) for p in (mkv, mp4, tmp_path / "seq")} == before


def test_size_zero_blank_range_and_fixed_size_model_are_refused(tmp_path, tiny_model, capsys):
    src = clips.make_clip(tmp_path / "in.mp4", n_frames=4, audio=False)
    assert run_cli(src, tmp_path / "o.mp4", "--model", tiny_model, "--size", 0) == 2
    assert "--size" in _one_error_line(capsys)
    for blank in (" ", ""):
        assert run_cli(src, tmp_path / "o.mp4", "--model", tiny_model, "--size", 64,
                       "--frames", blank) == 2
        assert "range" in _one_error_line(capsys)
    fixed = str(save_model(build_generator(width=0.125, size=64), tmp_path / "fixed64.keras"))
    assert run_cli(src, tmp_path / "o.mp4", "--model", fixed, "--size", 128) == 2
    line = _one_error_line(capsys)
    assert "fixed64.keras" in line and "64x64" in line and "--size 64" in line
    assert not (tmp_path / "o.mp4").exists()
    assert run_cli(src, tmp_path / "o.mp4", "--model", fixed, "--size", 64) == 0


def test_damaged_middle_keeps_every_frame_and_reports_each_lost_one(tmp_path, tiny_model, capsys):
    src = clips.make_clip(tmp_path / "hurt.mp4", n_frames=60, size=(96, 64), gop=12, audio=False)
    data = bytearray(src.read_bytes())
    rng = np.random.default_rng(7)
    n = len(data)
    for k in rng.integers(int(n * 0.45), int(n * 0.55), size=n // 20):
        data[k] = int(rng.integers(0, 256))
    src.write_bytes(bytes(data))
    bad = []
    with open_media(src) as r:
        for i in range(r.info.frame_count):
            try:
                r.read(i)
            except Exception:
                bad.append(i)
    assert bad
    out = tmp_path / "out.mkv"
    assert run_cli(src, out, "--model", tiny_model, "--size", 64) == 1
    text = capsys.readouterr().out
    from colorizer_app.core.media.fill import frame_ranges
    assert f"{len(bad)} frame(s)" in text and frame_ranges(bad) in text
    with open_media(out) as r:
        assert r.info.frame_count == 60                 # timing holds: stand-ins fill the gaps
        assert clips.frame_index(r.read(59)) == 59


def test_bad_png_in_a_sequence_costs_that_frame_only(tmp_path, tiny_model, capsys):
    seq = clips.make_image_sequence(tmp_path / "seq", n_frames=8, size=(64, 48))
    (tmp_path / "seq" / "shot_0004.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")   # frame 3
    out = tmp_path / "out" / "f_%04d.png"
    out.parent.mkdir()
    assert run_cli(seq, out, "--model", tiny_model, "--size", 64) == 1
    assert "3 (" in capsys.readouterr().out
    assert sorted(p.name for p in out.parent.iterdir()) == [f"f_{k:04d}.png" for k in range(8)]
    from colorizer_app.core import color
    with open_media(str(out)) as r, open_media(seq) as s:
        for k in (4, 5, 6, 7):   # the frames after the bad one are the film's own
            assert np.abs(color.luminance(r.read(k)) - color.luminance(s.read(k))).mean() < 2
        assert np.array_equal(r.read(3), r.read(2))   # the bad one repeats the one before


def test_variable_rate_film_keeps_its_frame_times(tmp_path, tiny_model):
    src = clips.make_vfr_clip(tmp_path / "vfr.mkv", n_frames=24, audio=True)
    for ext in ("mp4", "mov"):
        out = tmp_path / f"out.{ext}"
        assert run_cli(src, out, "--model", tiny_model, "--size", 64, "--frames", "4-23") == 0
        with open_media(src) as a, open_media(out) as b:
            assert b.info.frame_count == 20 and b.info.audio_codec is not None
            t0 = a.frame_time(4)
            err = max(abs(float(b.frame_time(k) - (a.frame_time(k + 4) - t0))) for k in range(20))
            assert err <= 0.001
