"""MediaReader.read_scaled (a frame straight to display size, for playback) and read_luminance
(the L of a black-and-white frame from its Y plane, for export), against the full read."""
import cv2
import numpy as np
import pytest

from colorizer_app.core.media import open_media
from tests.helpers import clips


@pytest.fixture(scope="module")
def clipdir(tmp_path_factory):
    return tmp_path_factory.mktemp("scaled")


def _scaled_reference(full, size):
    w, h = size
    interp = cv2.INTER_AREA if h * 2 <= full.shape[0] else cv2.INTER_LINEAR
    return cv2.resize(full, (w, h), interpolation=interp)


@pytest.mark.parametrize("name,codec,size", [
    ("hd.mp4", "h264", (1280, 720)),       # 4:2:0, BT.709 by size
    ("sd.mp4", "h264", (640, 360)),        # 4:2:0, BT.601 by size
    ("pro.mov", "prores", (640, 360)),     # 4:2:2 10-bit
    ("rgb.mkv", "ffv1", (640, 360)),       # RGB
])
def test_display_size_frame_matches_the_full_read_scaled(clipdir, name, codec, size):
    path = clips.make_clip(clipdir / name, n_frames=6, size=size, codec=codec, gop=6)
    shown = (size[0] * 5 // 8, size[1] * 5 // 8)
    with open_media(path) as full_r, open_media(path) as r:
        for i in (1, 4):
            small = r.read_scaled(i, shown)
            assert small.shape == (shown[1], shown[0], 3) and small.dtype == np.uint8
            ref = _scaled_reference(full_r.read(i), shown)
            d = np.abs(small.astype(int) - ref)
            # same colours (matrix, range): the scalers differ only on hard edges
            assert d.mean() < 0.8, (name, i, d.mean())
            assert np.abs(small.reshape(-1, 3).mean(0) - ref.reshape(-1, 3).mean(0)).max() < 0.5


def test_decoded_frame_stays_for_the_full_read(clipdir):
    path = clips.make_clip(clipdir / "keep.mp4", n_frames=30, size=(320, 192), gop=30)
    with open_media(path) as seq:
        expected = seq.read(12)
    with open_media(path) as r:
        r.read_scaled(12, (160, 96))
        decoded = r.stats["decoded"]
        assert np.array_equal(r.read(12), expected)    # converted from the kept picture
        assert r.stats["decoded"] == decoded
        # and a frame converted already is scaled from its RGB
        assert np.array_equal(r.read_scaled(12, (160, 96)),
                              _scaled_reference(expected, (160, 96)))


def test_image_sequence_and_odd_sizes_scale_the_full_frame(clipdir, tmp_path):
    clips.make_image_sequence(tmp_path / "s", n_frames=2)
    with open_media(tmp_path / "s") as r:
        full = r.read(1)
        h, w = full.shape[:2]
        assert np.array_equal(r.read_scaled(1, (w // 2, h // 2)),
                              _scaled_reference(full, (w // 2, h // 2)))
    # the writer padded this odd-sized film to even: the crop must hold at display size too
    odd = clips.make_odd_clip(clipdir / "odd.mp4", n_frames=3)
    with open_media(odd) as r:
        full = r.read(2)
        small = r.read_scaled(2, (360, 202))
        assert np.abs(small.astype(int) - _scaled_reference(full, (360, 202))).mean() < 0.8


@pytest.mark.parametrize("name,kw,fast", [
    ("g709.mp4", dict(size=(1280, 720), color=False), True),      # BT.709 by size, limited range
    ("g601.mp4", dict(size=(320, 192), color=False), True),
    ("grain.mp4", dict(size=(320, 192), color=False, grain=8), True),
    ("colour.mp4", dict(size=(320, 192)), False),
    ("gray.mov", dict(size=(320, 192), color=False, codec="prores"), False),   # 10-bit
    ("gray.mkv", dict(size=(320, 192), color=False, codec="ffv1"), False),     # RGB
])
def test_luminance_from_the_y_plane_is_the_luminance_of_the_rgb_frame(clipdir, name, kw, fast):
    from colorizer_app.core import color
    path = clips.make_clip(clipdir / f"lum_{name}", n_frames=6, gop=6, audio=False, **kw)
    with open_media(path) as a, open_media(path) as b:
        for i in range(6):
            L = a.read_luminance(i)
            assert L.dtype == np.float32
            assert np.array_equal(L, color.luminance(b.read(i))), (name, i)
        # a black-and-white film never made the RGB picture: the decoded frame is all it kept
        assert (not isinstance(a._cache[5], np.ndarray)) == fast
