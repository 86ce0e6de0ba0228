"""core.media.writer: round trips through every output format, audio, atomic finish."""
import os
import re
from fractions import Fraction

import numpy as np
import pytest

from colorizer_app.core.media import MediaError, open_media
from colorizer_app.core.media.writer import WriterError, open_writer
from tests.helpers import clips

NTSC = Fraction(24000, 1001)


def _psnr(a, b):
    """Luma PSNR: what the encoders' quality settings control. Chroma on these tiny, busy test
    pictures is bounded by 4:2:0 / 4:2:2 subsampling itself (~26-29 dB even without a codec)."""
    w = np.array([0.2126, 0.7152, 0.0722])
    mse = np.mean((a.astype(np.float64) @ w - b.astype(np.float64) @ w) ** 2)
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def _write(out, size=(96, 64), n=12, fps=NTSC, kind="u8", **kw):
    frames = [clips.synthetic_frame(i, size) for i in range(n)]
    with open_writer(out, size[0], size[1], fps, **kw) as w:
        for f in frames:
            if kind == "float":
                w.write(f.astype(np.float32) / 255.0)
            elif kind == "u16":
                w.write(f.astype(np.uint16) * 257)
            else:
                w.write(f)
    return frames


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    d = tmp_path_factory.mktemp("src")
    return {
        "aac": clips.make_clip(d / "src.mp4", n_frames=48, size=(96, 64), gop=12),
        "pcm": clips.make_clip(d / "src.avi", n_frames=48, size=(96, 64), codec="mjpeg"),
        "silent": clips.make_clip(d / "silent.mp4", n_frames=12, size=(96, 64), audio=False),
    }


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("name,size,fps,kind,min_psnr,bit_depth", [
    ("h264.mp4", (96, 64), NTSC, "u8", 40, 8),
    ("odd.mp4", (95, 63), Fraction(25), "float", 40, 8),
    ("prores.mov", (96, 64), NTSC, "u16", 40, 16),
    ("odd.mov", (95, 63), Fraction(30000, 1001), "u8", 40, 16),
    ("ffv1.mkv", (95, 63), NTSC, "u8", 99, 8),
    ("ffv1_16.mkv", (96, 64), Fraction(24), "u16", 99, 16),
])
def test_video_round_trip(tmp_path, name, size, fps, kind, min_psnr, bit_depth):
    out = tmp_path / name
    frames = _write(out, size=size, fps=fps, kind=kind, bit_depth=16 if "16" in name else 8)
    with open_media(out) as r:
        info = r.info
        assert info.frame_count == len(frames)
        assert info.fps == fps and isinstance(info.fps, Fraction) and not info.vfr
        assert (info.width, info.height) == size
        assert info.bit_depth == bit_depth and info.audio_codec is None
        for i in (0, 5, 11):
            got = r.read(i)
            assert got.shape == (size[1], size[0], 3)
            assert clips.frame_index(got) == i
            assert _psnr(got, frames[i]) >= min_psnr
            assert np.abs(got.astype(int) - frames[i]).mean() < 6  # chroma too


def test_ffv1_16bit_is_lossless(tmp_path):
    out = tmp_path / "deep.mkv"
    src = [clips.synthetic_frame16(i, (64, 48)) for i in range(3)]
    with open_writer(out, 64, 48, 24, bit_depth=16) as w:
        for f in src:
            w.write(f)
    with open_media(out) as r:
        assert np.abs(r.read_float(2) - src[2] / 65535.0).max() < 1e-6


@pytest.mark.parametrize("target,bit_depth,ext", [
    ("folder", 8, "png"), ("p/shot_%04d.png", 16, "png"), ("t/shot_####.tif", 8, "tif")])
def test_image_sequence_round_trip(tmp_path, target, bit_depth, ext):
    out = tmp_path / target
    frames = _write(out, n=4, kind="float", bit_depth=bit_depth, start_number=7)
    folder = out if target == "folder" else out.parent
    names = sorted(os.listdir(folder))
    assert len(names) == 4 and all(n.endswith(ext) for n in names)
    assert "7" in names[0] and not any(n.startswith(".") for n in names)
    with open_media(folder) as r:
        # TIFF output is always 16-bit (contract)
        assert r.info.bit_depth == (16 if ext == "tif" else bit_depth) and r.info.frame_count == 4
        for i in range(4):
            assert np.array_equal(r.read(i), frames[i])


# ----------------------------------------------------------------------------- audio
def _audio_offset_error(path, src_start):
    """Seconds between the written sound and where it should come from in the source."""
    samples, first = clips.decode_audio(path)
    rate = clips.AUDIO_RATE
    n = min(len(samples), rate // 2)
    seg = samples[rate // 10: rate // 10 + n // 2]   # skip codec warm-up at the start
    t = first + (rate // 10 + np.arange(-480, len(seg) + 480)) / rate
    ref = clips.audio_signal(src_start + t)
    corr = np.correlate(ref, seg, mode="valid")
    lag = int(np.argmax(corr)) - 480
    return lag / rate, corr.max() / (np.linalg.norm(seg) * np.linalg.norm(ref[480:480 + len(seg)]) + 1e-9)


@pytest.mark.parametrize("out_name,src,expect_codec", [
    ("copy.mp4", "aac", "aac"),        # AAC fits mp4: copied
    ("reenc.mp4", "pcm", "aac"),       # PCM does not: re-encoded to AAC
    ("copy.mkv", "pcm", "pcm_s16le"),  # Matroska takes PCM as is
    ("copy.mov", "aac", "aac"),
])
def test_audio_follows_written_span(tmp_path, sources, out_name, src, expect_codec):
    out = tmp_path / out_name
    start, n = 10, 20
    frames = [clips.synthetic_frame(start + i, (96, 64)) for i in range(n)]
    with open_writer(out, 96, 64, NTSC, audio_from=str(sources[src]), audio_start_frame=start) as w:
        for f in frames:
            w.write(f)
    with open_media(out) as r:
        assert r.info.audio_codec == expect_codec and r.info.frame_count == n
    samples, _ = clips.decode_audio(out)
    video_seconds = n / NTSC
    assert abs(len(samples) / clips.AUDIO_RATE - video_seconds) < 0.05  # only the written span
    err, corr = _audio_offset_error(out, float(start / NTSC))
    assert abs(err) <= 0.001 and corr > 0.8


def test_no_audio_when_source_is_silent(tmp_path, sources):
    out = tmp_path / "silent.mp4"
    _write(out, audio_from=str(sources["silent"]))
    with open_media(out) as r:
        assert r.info.audio_codec is None


# ----------------------------------------------------------------------------- atomic finish
def test_partial_file_is_hidden_until_close(tmp_path):
    out = tmp_path / "film.mp4"
    w = open_writer(out, 64, 48, 24)
    w.write(clips.synthetic_frame(0, (64, 48)))
    names = os.listdir(tmp_path)
    assert len(names) == 1 and not out.exists()
    assert re.fullmatch(rf"\.film\.{os.getpid()}-[0-9a-f]{{8}}\.partial\.mp4", names[0])
    w.close()
    assert os.listdir(tmp_path) == ["film.mp4"]


@pytest.mark.parametrize("name", ["a.mp4", "a.mov", "a.mkv", "seq", "s/x_%03d.png"])
def test_abort_leaves_nothing(tmp_path, name):
    w = open_writer(tmp_path / name, 64, 48, 24)
    w.write(clips.synthetic_frame(0, (64, 48)))
    w.abort()
    leftovers = [p for p in tmp_path.rglob("*")]
    assert leftovers == [] or leftovers == [tmp_path / "s"] and not os.listdir(tmp_path / "s")


def test_exception_inside_with_aborts(tmp_path):
    with pytest.raises(RuntimeError):
        with open_writer(tmp_path / "x.mkv", 64, 48, 24) as w:
            w.write(clips.synthetic_frame(0, (64, 48)))
            raise RuntimeError("render crashed")
    assert os.listdir(tmp_path) == []


def test_existing_output_replaced_only_on_close(tmp_path):
    out = tmp_path / "film.mkv"
    out.write_bytes(b"old")
    w = open_writer(out, 64, 48, 24)
    w.write(clips.synthetic_frame(0, (64, 48)))
    assert out.read_bytes() == b"old"
    w.close()
    with open_media(out) as r:
        assert r.info.frame_count == 1


# ----------------------------------------------------------------------------- errors
def test_unwritable_output_fails_before_work(tmp_path):
    with pytest.raises(WriterError, match="does not exist"):
        open_writer(tmp_path / "no" / "such" / "film.mp4", 64, 48, 24)
    (tmp_path / "dir.mp4").mkdir()
    with pytest.raises(WriterError, match="folder"):
        open_writer(tmp_path / "dir.mp4", 64, 48, 24)
    with pytest.raises(WriterError, match="unknown output"):
        open_writer(tmp_path / "film.xyz", 64, 48, 24)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(WriterError):
        open_writer(blocker / "film.mp4", 64, 48, 24)
    assert isinstance(WriterError("x"), MediaError)


def test_wrong_frame_shape(tmp_path):
    with open_writer(tmp_path / "a.mkv", 64, 48, 24) as w:
        with pytest.raises(WriterError, match="does not match"):
            w.write(np.zeros((48, 65, 3), np.uint8))
        w.write(np.zeros((48, 64), np.uint8))  # gray is accepted


# ----------------------------------------------------------------------------- safety
def test_two_writers_of_one_output_never_share_a_temp_and_the_last_complete_wins(tmp_path):
    out = tmp_path / "film.mp4"
    a = open_writer(out, 64, 48, 24)
    b = open_writer(out, 64, 48, 24)
    assert a.temp_path != b.temp_path
    for i in range(3):
        a.write(clips.synthetic_frame(i, (64, 48)))
    for i in range(5):
        b.write(clips.synthetic_frame(10 + i, (64, 48)))
    b.close()
    with open_media(out) as r:
        assert r.info.frame_count == 5
    a.close()  # the later complete file replaces it whole; never a file without streams
    with open_media(out) as r:
        assert r.info.frame_count == 3 and clips.frame_index(r.read(2)) == 2
    assert os.listdir(tmp_path) == ["film.mp4"]


def _dead_pid():
    import subprocess
    import sys
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_temps_of_dead_runs_are_removed_and_live_ones_kept(tmp_path):
    from colorizer_app.core.media import writer_paths
    dead = _dead_pid()
    old = writer_paths.STALE_SECONDS + 60
    stale_dir = tmp_path / f".seq.{dead}-0123abcd.partial"
    stale_dir.mkdir()
    (stale_dir / "frame_000001.png").write_bytes(b"x")
    stale_file = tmp_path / f".film.{dead}-89abcdef.partial.mp4"
    stale_file.write_bytes(b"x")
    fresh = tmp_path / f".film.{dead}-00000000.partial.mkv"      # dead, but touched just now
    fresh.write_bytes(b"x")
    live = tmp_path / f".film.{os.getppid()}-11111111.partial.mp4"  # a live process's work
    live.write_bytes(b"x")
    other = tmp_path / ".notes.partial"                                # not one of ours
    other.write_bytes(b"x")
    for p in (stale_dir / "frame_000001.png", stale_dir, stale_file, live, other):
        os.utime(p, (os.path.getmtime(p) - old,) * 2)
    with open_writer(tmp_path / "seq", 64, 48, 24) as w:
        w.write(clips.synthetic_frame(0, (64, 48)))
    left = sorted(os.listdir(tmp_path))
    assert left == sorted([fresh.name, live.name, other.name, "seq"])


def test_output_that_is_the_input_is_refused(tmp_path, sources):
    from colorizer_app.core.media.writer_paths import input_conflict
    src = str(sources["silent"])
    link = tmp_path / "hard.mp4"
    os.link(src, link)
    sym = tmp_path / "sym.mkv"
    sym.symlink_to(src)
    seq = clips.make_image_sequence(tmp_path / "seq", n_frames=3)
    for out, inp in [(src, src), (str(link), src), (str(sym), src),
                     (str(tmp_path / "seq"), seq), (str(tmp_path / "seq" / "c_%04d.png"), seq),
                     (str(tmp_path / "seq" / "x" / ".." / "c_%04d.tif"), str(tmp_path / "seq"))]:
        assert input_conflict(out, inp), (out, inp)
        with pytest.raises(WriterError, match="input"):
            open_writer(out, 64, 48, 24, protect=[inp])
    for out, inp in [(str(tmp_path / "new.mp4"), src), (str(tmp_path / "other"), seq),
                     (str(tmp_path / "seq" / "film.mp4"), seq)]:
        assert input_conflict(out, inp) is None, (out, inp)
    assert sorted(os.listdir(tmp_path / "seq")) == ["shot_0001.png", "shot_0002.png", "shot_0003.png"]


@pytest.mark.parametrize("ext", ["mp4", "mov", "mkv"])
def test_variable_rate_frame_times_and_sound_are_kept(tmp_path, ext):
    src = clips.make_vfr_clip(tmp_path / "vfr.mkv", n_frames=40, audio=True)
    out = tmp_path / f"out.{ext}"
    with open_media(src) as r:
        assert r.info.vfr and r.time_base == Fraction(1, 1000)
        times = [r.frame_time(i) for i in range(40)]
        start = 5
        with open_writer(out, 96, 64, r.info.fps, audio_from=str(src), time_base=r.time_base,
                         audio_start=times[start]) as w:
            for i in range(start, 40):
                w.write(r.read(i), times[i] - times[start])
    with open_media(out) as o:
        assert o.info.frame_count == 35 and o.info.vfr
        got = [o.frame_time(k) for k in range(35)]
        assert max(abs(float(g - (t - times[start]))) for g, t in zip(got, times[start:])) <= 0.001
        assert clips.frame_index(o.read(34)) == 39
    err, corr = _audio_offset_error(out, float(times[start]))
    assert abs(err) <= 0.002 and corr > 0.8
