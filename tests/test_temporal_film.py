"""core.temporal.film through the real export (core.pipeline.batch.colorize_film): reference stills,
deflicker (causal hook and centred look-ahead window), shot scan, bad reference folders.

Plumbing only: a tiny untrained generator; colour truth is known because the gray film is
made from a colour clip (tests/helpers/clips.py synthetic frames)."""
import zlib

import cv2
import numpy as np
import pytest

from colorizer_app.core import metrics as M
from colorizer_app.core.media import open_media
from colorizer_app.core.ml.inference import Colorizer
from colorizer_app.core.ml.model import build_generator
from colorizer_app.core.pipeline.batch import colorize_film, colorize_film_temporal
from colorizer_app.core.temporal import film as F
from tests.helpers.clips import synthetic_frame, write_frames

SIZE = (160, 96)
N_A, N_B = 14, 10            # shot A then shot B: a cut at frame 14


def _truth():
    a = [synthetic_frame(i, SIZE) for i in range(N_A)]
    # shot B: another picture (the canvas turned round, colours swapped), panning the other way
    b = [np.ascontiguousarray(synthetic_frame(i, SIZE)[::-1, ::-1, ::-1]) for i in range(N_B)]
    return a + b


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    d = tmp_path_factory.mktemp("film")
    truth = _truth()
    gray = [M.gray_baseline(f) for f in truth]
    src = write_frames(d / "gray.mkv", gray, codec="ffv1")      # lossless: L is the truth's L
    refs = d / "refs"
    refs.mkdir()
    cv2.imwrite(str(refs / "ref_000000.png"), cv2.cvtColor(truth[0], cv2.COLOR_RGB2BGR))
    return {"dir": d, "src": str(src), "truth": truth, "refs": str(refs)}


@pytest.fixture(scope="module")
def colorizer():
    return Colorizer(build_generator(width=0.125), size=64)


class Flickery:
    """A model whose chroma jumps from frame to frame (what deflicker is for): a per-frame
    offset of ~8 LAB units, seeded by the frame's L so that every run sees the same."""

    def __init__(self, inner):
        self.inner = inner
        self.batch_size = inner.batch_size

    def predict_work_from_L(self, Ls):
        out = []
        for L, (ab, box) in zip(Ls, self.inner.predict_work_from_L(Ls)):
            rng = np.random.default_rng(zlib.crc32(np.ascontiguousarray(L[::8, ::8]).tobytes()))
            out.append(((ab.astype(np.float32) + rng.normal(0, 8, 2)).astype(np.float16), box))
        return out


def _run(film, colorizer, name, **kw):
    out = str(film["dir"] / f"{name}.mkv")
    res = colorize_film(film["src"], out, colorizer, **kw)
    assert res.frames_written == N_A + N_B
    with open_media(out) as r:
        return [f for _, f in r.iter_frames()]


def _psnr(frames, truth, idx):
    return float(np.mean([M.psnr(frames[i], truth[i]) for i in idx]))


def _we(frames, truth):
    grays = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in truth]
    return M.warp_error(frames, grays, cuts=[N_A])


def test_shot_scan_finds_the_cut(film):
    log = []
    assert F.detect_film_cuts(film["src"], log=log.append) == [N_A]
    assert "2 shot(s), cuts at frames 14" in log[-1]


def test_reference_still_colours_its_shot(film, colorizer):
    plain = _run(film, colorizer, "plain")
    log = []
    hook = F.build_chroma_filter(film["src"], refs_dir=film["refs"], log=log.append)
    with_refs = _run(film, colorizer, "refs", chroma_filter=hook)
    hook.close()
    truth = film["truth"]
    assert any("1 reference still(s)" in m for m in log)
    near = range(0, 6)
    assert M.psnr(with_refs[0], truth[0]) > 40.0                # the keyframe itself
    assert _psnr(with_refs, truth, near) > _psnr(plain, truth, near) + 8.0
    # where the picture was already on frame 0 (the pan brings 2 px/frame in at the right,
    # which only the model can colour), the reference's colours are carried along
    seen = [M.psnr(with_refs[i][:, :SIZE[0] - 2 * i - 2], truth[i][:, :SIZE[0] - 2 * i - 2])
            for i in range(1, 6)]
    assert min(seen) > 25.0
    assert _psnr(with_refs, truth, range(1, N_A)) > _psnr(plain, truth, range(1, N_A)) + 5.0
    # nothing crosses the cut: shot B is the plain model's, bit for bit
    assert all(np.array_equal(a, b) for a, b in zip(with_refs[N_A:], plain[N_A:]))


def test_deflicker_lowers_warp_error_and_keeps_references(film, colorizer):
    flick = Flickery(colorizer)
    truth = film["truth"]
    plain = _run(film, flick, "flick")
    causal = _run(film, flick, "causal",
                  chroma_filter=F.build_chroma_filter(film["src"], deflicker=1.0, cuts=[N_A], log=None))
    out = str(film["dir"] / "window.mkv")
    res = colorize_film_temporal(film["src"], out, flick, deflicker=1.0, refs_dir=film["refs"],
                                   log=None)
    assert res.frames_written == N_A + N_B
    with open_media(out) as r:
        window = [f for _, f in r.iter_frames()]
    we_plain = _we(plain, truth)
    assert _we(causal, truth) < 0.5 * we_plain
    assert _we(window, truth) < 0.5 * we_plain
    # refs + deflicker: the reference colour still wins near its frame
    assert _psnr(window, truth, range(0, 6)) > _psnr(plain, truth, range(0, 6)) + 8.0
    # the window, partial range: frames 3-9 only, one shot, no refs
    out2 = str(film["dir"] / "window_range.mkv")
    res = colorize_film_temporal(film["src"], out2, flick, frames="3-9", deflicker=0.5,
                                   cuts=[N_A], log=None)
    assert res.frames_written == 7


def test_load_refs_sizes_and_alpha(film, tmp_path):
    d = tmp_path / "refs"
    d.mkdir()
    still = cv2.resize(cv2.cvtColor(film["truth"][3], cv2.COLOR_RGB2BGR), (80, 60))
    cv2.imwrite(str(d / "ref_000003.png"), still)
    rgba = np.dstack([film["truth"][5], np.full(film["truth"][5].shape[:2], 255, np.uint8)])
    rgba[:, :40, 3] = 0
    cv2.imwrite(str(d / "ref_000005.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    (d / "notes.txt").write_text("shot list")
    log = []
    refs = F.load_refs(d, log=log.append)
    assert sorted(refs) == [3, 5] and refs[3].shape == (60, 80, 3) and refs[5].shape == (96, 160, 4)
    assert any("notes.txt" in m and "ignored" in m for m in log)
    kf = F.ref_keyframe(refs[5], *SIZE)
    assert kf.mask is not None and kf.mask[:, :40].max() == 0.0 and kf.mask[:, 40:].min() == 1.0
    log.clear()
    hook = F.build_chroma_filter(film["src"], refs_dir=str(d), log=log.append)
    assert any("ref_000003.png is 80x60" in m and "stretched" in m for m in log)
    assert hook.shots.cuts == (N_A,)
    ab = np.zeros((SIZE[1], SIZE[0], 2), np.float32)
    got = hook(3, film["truth"][3], ab)                          # the resized still's colour
    assert got.shape == ab.shape and np.abs(got).mean() > 5.0
    hook.close()


@pytest.mark.parametrize("name, content, words", [
    ("ref_12.png", "png", "bad reference name"),
    ("reference_000001.png", "png", "bad reference name"),
    ("ref_000002.jpg", "png", "bad reference name"),
    ("ref_000004.png", b"not an image", "cannot read"),
    ("ref_000004.png", b"", "cannot read"),
    ("ref_000500.png", "png", "beyond the end of the film"),
])
def test_bad_refs_folder_is_a_clear_error(film, tmp_path, name, content, words):
    d = tmp_path / "refs"
    d.mkdir()
    cv2.imwrite(str(d / "ref_000000.png"), film["truth"][0])
    p = d / name
    if content == "png":
        cv2.imwrite(str(p.with_suffix(".png")), film["truth"][1])
        if p.suffix != ".png":
            p.with_suffix(".png").rename(p)
    else:
        p.write_bytes(content)
    with pytest.raises(F.RefsError) as e:
        F.build_chroma_filter(film["src"], refs_dir=str(d), cuts=[], log=None)
    assert name in str(e.value) and words in str(e.value)


def test_bad_refs_folder_itself(film, tmp_path):
    with pytest.raises(F.RefsError, match="not found"):
        F.load_refs(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(F.RefsError, match="no reference stills"):
        F.build_chroma_filter(film["src"], refs_dir=str(tmp_path / "empty"))
    (tmp_path / "dup").mkdir()
    for n in ("ref_000001.png", "ref_0000001.png"):
        cv2.imwrite(str(tmp_path / "dup" / n), film["truth"][1])
    with pytest.raises(F.RefsError, match="already has a reference"):
        F.load_refs(tmp_path / "dup")
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.build_chroma_filter(film["src"], deflicker=2.0)
    assert F.build_chroma_filter(film["src"]) is None
    assert F.build_chroma_filter(film["src"], deflicker=0.0) is None
