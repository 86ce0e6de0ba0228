"""core.media: frame-exact reading of films and image sequences."""
import random
from fractions import Fraction

import av
import numpy as np
import pytest

from colorizer_app.core.media import (
    FrameOutOfRange,
    MediaError,
    _frame_has_color,
    open_media,
    timecode,
)
from colorizer_app.core.media.video import _conversion_for
from tests.helpers import clips


@pytest.fixture(scope="module")
def clipdir(tmp_path_factory):
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="module")
def long_gop(clipdir):
    # one keyframe for 60 frames, 3 B-frames: the hardest case for seeking
    return clips.make_clip(clipdir / "long_gop.mp4", n_frames=60, size=(96, 64), gop=60)


def _sequential(path, **kw):
    with open_media(path, cache_bytes=0, **kw) as r:
        return [f for _, f in r.iter_frames()]


# ----------------------------------------------------------------------------- random access
@pytest.mark.parametrize("name,kw,cache", [
    ("long_gop", None, 0),
    ("long_gop", None, 20 * 96 * 64 * 3),  # frames kept undecoded on the way, converted later
    ("gops.mkv", dict(n_frames=50, gop=12), 0),
    ("gops.mov", dict(n_frames=30, gop=30), 0),
])
def test_seek_equals_sequential(clipdir, long_gop, name, kw, cache):
    path = long_gop if kw is None else clips.make_clip(clipdir / name, size=(96, 64), audio=False, **kw)
    seq = _sequential(path)
    n = len(seq)
    assert [clips.frame_index(f) for f in seq] == list(range(n))
    order = list(range(n))
    random.Random(7).shuffle(order)
    with open_media(path, cache_bytes=cache) as r:  # 0: no cache, every read really decodes
        for i in order + list(range(n - 1, -1, -1)):
            assert np.array_equal(r.read(i), seq[i]), f"frame {i} differs after a seek"


def test_sequential_reads_do_not_seek(long_gop):
    with open_media(long_gop, cache_bytes=0) as r:
        before = r.stats["seeks"]
        n = sum(1 for _ in r.iter_frames())
        assert n == 60
        assert r.stats["seeks"] - before <= 1  # at most the one back to frame 0
        before = r.stats["seeks"]
        r.read(10)
        for i in range(11, 20):
            r.read(i)
        assert r.stats["seeks"] - before <= 1


def test_stepping_backwards_is_cached(long_gop):
    with open_media(long_gop) as r:
        r.read(59)
        seeks = r.stats["seeks"]
        for i in range(58, -1, -1):
            assert clips.frame_index(r.read(i)) == i
        assert r.stats["seeks"] - seeks <= 1


def test_decode_cost_predicts_the_work_of_a_read(long_gop, clipdir):
    gops = clips.make_clip(clipdir / "gops12.mkv", n_frames=40, size=(96, 64), audio=False, gop=12)
    with open_media(gops, cache_bytes=0) as r:
        r.read(5)
        assert r.decode_cost(6) == 1            # the next frame: one picture
        assert r.decode_cost(8) == 3
        # a jump decodes from the keyframe before the target (frames 24, 36 are keyframes)
        assert r.decode_cost(30) == 7 and r.decode_cost(38) == 3
        before = r.stats["decoded"]
        r.read(30)
        assert abs((r.stats["decoded"] - before) - 7) <= 3   # B-frame reordering: a few more
        assert r.decode_cost(29) >= 6                      # backwards: seek again
    with open_media(long_gop) as r:                         # with a cache: a cached frame is free
        r.read(40)
        assert r.decode_cost(40) == 0 and r.decode_cost(20) == 21


def test_jump_skips_non_reference_pictures_and_stays_exact(long_gop):
    seq = _sequential(long_gop)
    per_frame = 96 * 64 * 3
    with open_media(long_gop, cache_bytes=20 * per_frame) as r:  # keep window: 10 frames
        r.read(59)
        before, seeks = r.stats["decoded"], r.stats["seeks"]
        assert np.array_equal(r.read(30), seq[30])  # a jump back, far beyond the window
        assert r.stats["seeks"] - seeks == 1
        # from the keyframe (frame 0) to 30: the B-pictures no frame refers to were not decoded
        assert r.stats["decoded"] - before < 30
        # only the couple of frames right before a jump are kept (a viewer shows them next) ...
        assert r.stats["cached_frames"] <= 7  # 0 (read on opening), 57..59 and 28..30
        before = r.stats["decoded"]
        for i in (29, 28):
            assert np.array_equal(r.read(i), seq[i])
        assert r.stats["decoded"] == before
        # ... and stepping further back decodes whole windows: one seek per ten frames or so
        seeks = r.stats["seeks"]
        for i in range(27, -1, -1):
            assert np.array_equal(r.read(i), seq[i]), f"frame {i} differs stepping back"
        assert r.stats["seeks"] - seeks <= 3


def test_prefetch_decodes_now_and_converts_on_read(long_gop, tmp_path):
    seq = _sequential(long_gop)
    with open_media(long_gop) as r:
        assert r.prefetch(20)                      # decoded into the cache, not converted yet
        decoded = r.stats["decoded"]
        assert not r.prefetch(20)                  # nothing left to do
        assert np.array_equal(r.read(20), seq[20])
        assert r.stats["decoded"] == decoded       # the read only converted
    with open_media(long_gop, cache_bytes=0) as r:
        assert not r.prefetch(5)                   # nowhere to keep it: read(5) does the work
        assert np.array_equal(r.read(5), seq[5])
    clips.make_image_sequence(tmp_path / "s", n_frames=3)
    with open_media(tmp_path / "s") as r:
        assert not r.prefetch(1)


@pytest.mark.parametrize("name,codec", [("conv.mp4", "h264"), ("conv.mov", "prores")])
def test_one_conversion_context_matches_fresh_ones(clipdir, name, codec):
    # the reader reuses one swscale context for all frames; it must convert exactly like a
    # fresh per-frame conversion (8-bit and 16-bit output)
    path = clips.make_clip(clipdir / name, n_frames=8, size=(96, 64), codec=codec, audio=False)
    with open_media(path, cache_bytes=0) as r:
        src = r._source
        with av.open(str(path)) as c:
            for frame in c.decode(video=0):
                fresh = frame.to_ndarray(**_conversion_for(frame, src.bit_depth))
                assert np.array_equal(src.to_array(frame), fresh)


def test_cache_is_bounded(long_gop):
    limit = 5 * 96 * 64 * 3
    with open_media(long_gop, cache_bytes=limit) as r:
        for i in range(60):
            r.read(i)
        assert r.stats["cached_bytes"] <= limit


def test_read_returns_private_copies(long_gop):
    with open_media(long_gop) as r:
        a = r.read(3)
        a[:] = 0
        assert r.read(3).any()
        shared = r.read(3, copy=False)             # no copy for callers that only look ...
        assert np.array_equal(shared, r.read(3)) and not shared.flags.writeable
        with pytest.raises(ValueError):
            shared[0, 0] = 0                       # ... so it cannot be edited


# ----------------------------------------------------------------------------- counting and rates
def test_true_frame_count_despite_wrong_header(clipdir):
    path = clips.make_wrong_header_clip(clipdir / "wrong.avi", n_frames=30, claimed=500)
    with open_media(path) as r:
        info = r.info
        assert info.frame_count == 30 and info.header_frame_count == 500
        assert info.lost_frames == 0 and not info.truncated
        assert info.fps == Fraction(24000, 1001) and not info.vfr
        assert clips.frame_index(r.read(29)) == 29
        with pytest.raises(FrameOutOfRange):
            r.read(30)


@pytest.mark.parametrize("ext", ["mp4", "mkv", "avi", "mov"])
def test_exact_constant_rate(clipdir, ext):
    codec = {"avi": "mjpeg", "mov": "prores"}.get(ext, "h264")
    path = clips.make_clip(clipdir / f"cfr.{ext}", n_frames=24, size=(64, 48), codec=codec, gop=12)
    with open_media(path) as r:
        assert r.info.fps == Fraction(24000, 1001) and isinstance(r.info.fps, Fraction)
        assert not r.info.vfr and r.info.frame_count == 24
        assert r.info.audio_codec == ("pcm_s16le" if ext == "avi" else "aac")


@pytest.mark.parametrize("ext", ["mkv", "mp4"])
def test_variable_frame_rate(clipdir, ext):
    n = 40
    path = clips.make_vfr_clip(clipdir / f"vfr.{ext}", n_frames=n)
    pts = clips.vfr_pts(n)
    with open_media(path) as r:
        assert r.info.vfr and r.info.frame_count == n
        assert r.info.fps == Fraction(n - 1) / Fraction(pts[-1] - pts[0], 1000)
        assert r.frame_time(7) == Fraction(pts[7], 1000)
        assert [clips.frame_index(r.read(i)) for i in (39, 0, 20)] == [39, 0, 20]


@pytest.mark.parametrize("ext", ["mkv", "avi"])
def test_odd_size(clipdir, ext):
    path = clips.make_odd_clip(clipdir / f"odd.{ext}", n_frames=3)
    with open_media(path) as r:
        assert (r.info.width, r.info.height) == (721, 405)
        frame = r.read(2)
        assert frame.shape == (405, 721, 3) and frame.dtype == np.uint8
        expected = clips.synthetic_frame(2, (721, 405))
        if ext == "mkv":  # FFV1 RGB is lossless
            assert np.array_equal(frame, expected)
        else:
            assert np.abs(frame.astype(int) - expected).mean() < 4


@pytest.mark.parametrize("ext", ["mkv", "mp4"])
def test_truncated_file(clipdir, ext):
    path = clips.make_truncated_clip(clipdir / f"cut.{ext}", n_frames=48, keep=0.6)
    with open_media(path) as r:
        info = r.info
        assert info.truncated and 0 < info.frame_count < 48
        assert info.lost_frames == 48 - info.frame_count
        last = info.frame_count - 1
        assert clips.frame_index(r.read(last)) == last
        assert clips.frame_index(r.read(0)) == 0
        with pytest.raises(MediaError, match="truncated"):
            r.read(info.frame_count)


# ----------------------------------------------------------------------------- bad inputs
def _one_line_naming(exc, path):
    msg = str(exc.value)
    assert str(path) in msg and "\n" not in msg
    return msg


def test_missing_file(tmp_path):
    path = tmp_path / "nope.mp4"
    with pytest.raises(MediaError) as exc:
        open_media(path)
    assert "not found" in _one_line_naming(exc, path)


def test_empty_file(tmp_path):
    path = clips.make_empty_file(tmp_path / "empty.mov")
    with pytest.raises(MediaError) as exc:
        open_media(path)
    assert "empty" in _one_line_naming(exc, path)


@pytest.mark.parametrize("name", ["notes.txt", "film.mp4"])
def test_not_a_video(tmp_path, name):
    path = clips.make_text_file(tmp_path / name)
    with pytest.raises(MediaError) as exc:
        open_media(path)
    _one_line_naming(exc, path)


def test_audio_only_file(tmp_path):
    import av
    path = tmp_path / "sound.m4a"
    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=48000)
        clips._mux_audio(c, s, 0.2)
    with pytest.raises(MediaError, match="no video stream"):
        open_media(path)


# ----------------------------------------------------------------------------- image sequences
def test_png_sequence_8bit_folder(tmp_path):
    clips.make_image_sequence(tmp_path / "seq", n_frames=5, size=(64, 48))
    with open_media(tmp_path / "seq") as r:
        info = r.info
        assert info.is_sequence and info.frame_count == 5 and info.bit_depth == 8
        assert (info.width, info.height, info.fps) == (64, 48, Fraction(24))
        assert info.has_color and info.audio_codec is None
        assert np.array_equal(r.read(4), clips.synthetic_frame(4, (64, 48)))


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_16bit_sequence_keeps_precision(tmp_path, ext):
    pattern = clips.make_image_sequence(tmp_path / ext, n_frames=3, ext=ext, bit_depth=16)
    with open_media(pattern, fps=Fraction(25)) as r:
        assert r.info.bit_depth == 16 and r.info.fps == 25
        expected = clips.synthetic_frame16(1, (64, 48))
        f = r.read_float(1)
        assert f.dtype == np.float32
        assert np.abs(f - expected / 65535.0).max() < 1e-6
        assert np.abs(r.read(1).astype(int) - expected / 257.0).max() <= 0.5 + 1e-9


def test_jpeg_sequence_from_one_file_and_gaps(tmp_path):
    clips.make_image_sequence(tmp_path / "j", n_frames=6, ext="jpg", start=10, skip=(12,))
    with open_media(tmp_path / "j" / "shot_0013.jpg") as r:
        assert r.info.frame_count == 5 and r.info.lost_frames == 1
        assert clips.frame_index(r.read(0)) == 0
        assert clips.frame_index(r.read(2)) == 3  # frame 12 is missing: file 13 is frame 3


def test_gray_sequence(tmp_path):
    clips.make_image_sequence(tmp_path / "g", n_frames=2, color=False)
    with open_media(tmp_path / "g") as r:
        assert not r.info.has_color


# ----------------------------------------------------------------------------- colour, depth, misc
def test_has_color(clipdir, long_gop):
    gray = clips.make_gray_clip(clipdir / "gray.mp4", n_frames=12)
    with open_media(gray) as r:
        assert not r.info.has_color
    with open_media(long_gop) as r:
        assert r.info.has_color


def test_tinted_black_and_white_is_not_colour():
    g = clips.synthetic_frame(0, (96, 64), color=False).astype(np.float32)
    sepia = np.clip(g * np.array([1.0, 0.85, 0.65]), 0, 255).astype(np.uint8)
    assert not _frame_has_color(sepia)
    assert _frame_has_color(clips.synthetic_frame(0, (96, 64)))


def test_prores_is_16bit(clipdir):
    path = clips.make_clip(clipdir / "deep.mov", n_frames=3, size=(64, 48), codec="prores", audio=False)
    with open_media(path) as r:
        assert r.info.bit_depth == 16
        f = r.read_float(2)
        assert f.dtype == np.float32 and 0.0 <= f.min() and f.max() <= 1.0
        assert np.abs(f * 255 - clips.synthetic_frame(2, (64, 48))).mean() < 8  # 4:2:2 on a tiny busy picture


def test_timecode():
    assert timecode(0, 24) == "00:00:00:00"
    assert timecode(24 * 3600 + 25, Fraction(24000, 1001)) == "01:00:01:01"
    assert timecode(25 * 61 + 3, 25) == "00:01:01:03"


def test_raw_stream_without_timestamps(tmp_path):
    # an elementary .h264 stream has no container timestamps: frames are counted, not timed
    path = clips.make_clip(tmp_path / "raw.h264", n_frames=20, size=(64, 48), gop=8, audio=False)
    seq = _sequential(path)
    with open_media(path, cache_bytes=0) as r:
        assert r.info.frame_count == 20 and r.info.fps == Fraction(24000, 1001)
        for i in (19, 3, 11, 0, 10):
            assert np.array_equal(r.read(i), seq[i])


# ----------------------------------------------------------------------------- old and damaged files
@pytest.mark.parametrize("bframes", [1, 2])
def test_divx_packed_bframes_avi_decodes_every_frame_in_any_order(tmp_path, bframes):
    path = clips.make_divx_packed_avi(tmp_path / "divx.avi", n_frames=30, bframes=bframes)
    with av.open(str(path)) as c:  # the file really is packed: a packet holds two VOPs
        assert any(bytes(p).count(b"\x00\x00\x01\xb6") == 2 for p in c.demux(video=0) if p.size)
    with open_media(path, cache_bytes=0) as r:
        assert r.info.frame_count == 30 and r.info.lost_frames == 0 and not r.info.truncated
        for i, frame in r.iter_frames():
            assert clips.frame_index(frame) == i
            assert np.abs(frame.astype(int) - clips.synthetic_frame(i, (96, 64))).mean() < 8
        order = list(range(30))
        random.Random(bframes).shuffle(order)
        for i in order + list(range(29, -1, -1)):  # jumps, including onto packed keyframes
            assert clips.frame_index(r.read(i)) == i


def test_plain_mpeg4_bframes_avi(tmp_path):
    path = tmp_path / "xvid.avi"
    clips.write_frames(path, (clips.synthetic_frame(i, (96, 64)) for i in range(26)),
                       fps=Fraction(15), codec="mpeg4", gop=12)
    with open_media(path) as r:
        assert r.info.frame_count == 26
        assert [clips.frame_index(f) for _, f in r.iter_frames()] == list(range(26))


@pytest.mark.parametrize("ext", ["mp4", "mov"])
def test_truncated_mp4_with_audio_reports_lost_frames(tmp_path, ext):
    # the cut lands anywhere: in an audio packet the video demuxer never sees as partial too
    full = clips.make_clip(tmp_path / f"full.{ext}", n_frames=40, size=(96, 64), audio=True,
                           gop=12, container_options={"movflags": "faststart"})
    with open_media(full) as r:
        assert not r.info.truncated and r.info.lost_frames == 0 and r.info.frame_count == 40
    data = full.read_bytes()
    for keep in (0.5, 0.8, 0.95):
        cut = tmp_path / f"cut{int(keep * 100)}.{ext}"
        cut.write_bytes(data[:int(len(data) * keep)])
        with open_media(cut) as r:
            assert r.info.truncated and r.info.frame_count < 40
            assert r.info.lost_frames == 40 - r.info.frame_count


def test_damaged_middle_costs_only_the_damaged_frames(tmp_path):
    path = clips.make_clip(tmp_path / "hurt.mp4", n_frames=72, size=(96, 64), gop=12, audio=False)
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(7)
    n = len(data)
    for k in rng.integers(int(n * 0.45), int(n * 0.55), size=n // 20):
        data[k] = int(rng.integers(0, 256))
    path.write_bytes(bytes(data))
    with open_media(path) as r:
        bad = []
        for i in range(r.info.frame_count):
            try:
                r.read(i)
            except MediaError:
                bad.append(i)
        assert 0 < len(bad) < 24                      # some frames are lost, not the rest
        last = r.info.frame_count - 1
        assert clips.frame_index(r.read(last)) == last  # the film goes on after the damage
