"""core.temporal deflicker (motion-compensated chroma filtering) and the flicker/colourfulness
curves, on synthetic film."""
import numpy as np
import pytest

from colorizer_app.core import flow as FL
from colorizer_app.core import metrics as M
from colorizer_app.core.temporal import curves
from colorizer_app.core.temporal import deflicker as D
from colorizer_app.core.temporal import shots as S
from tests.helpers.temporal_film import H, W, gray, lab, recombine, translated

# ---------------------------------------------------------------- deflicker

@pytest.fixture(scope="module")
def flicker_clip():
    n = 16
    fr = translated(n, (0.8, -0.5), seed=10, noise=0.01)
    labs = [lab(f) for f in fr]
    rng = np.random.default_rng(1)
    noisy = [(x[..., 1:] + rng.normal(0, 6, 2)).astype(np.float32) for x in labs]
    g = [gray(f) for f in fr]
    return fr, labs, noisy, g, M.pair_flows(g)


def _we(labs, abs_, flows):
    return M.warp_error([recombine(x[..., 0], a) for x, a in zip(labs, abs_)], flows=flows)


def _ab_err(labs, abs_):
    return float(np.mean([np.sqrt(np.mean((a - x[..., 1:]) ** 2)) for x, a in zip(labs, abs_)]))


def test_deflicker_removes_chroma_flicker_keeps_true_colour(flicker_clip):
    fr, labs, noisy, g, flows = flicker_clip
    we_noisy = _we(labs, noisy, flows)
    out = list(D.deflicker_sequence(noisy, g, radius=3))
    assert we_noisy / _we(labs, out, flows) > 8.0
    assert _ab_err(labs, out) < 0.6 * _ab_err(labs, noisy)
    # flicker-free chroma stays what it was
    truth = [x[..., 1:] for x in labs]
    clean = list(D.deflicker_sequence(truth, g, radius=3))
    ps = [M.psnr(recombine(x[..., 0], a), f) for x, a, f in zip(labs, clean, fr)]
    assert min(ps) > 36.0


def test_deflicker_at_work_resolution_keeps_detail():
    # 640 px wide at scale 0.5: filtered at 320 px and the correction upsampled
    h, w, n = 360, 640, 8
    fr = translated(n, (2.4, -1.5), seed=14, noise=0.01, h=h, w=w, margin=40)
    labs = [lab(f) for f in fr]
    g = [gray(f) for f in fr]
    rng = np.random.default_rng(3)
    noisy = [(x[..., 1:] + rng.normal(0, 6, 2)).astype(np.float32) for x in labs]
    flows = M.pair_flows(g)
    out = list(D.deflicker_sequence(noisy, g, radius=3))
    assert _we(labs, noisy, flows) / _we(labs, out, flows) > 5.0
    assert _ab_err(labs, out) < 0.5 * _ab_err(labs, noisy)
    clean = list(D.deflicker_sequence([x[..., 1:] for x in labs], g, radius=3))
    assert _ab_err(labs, clean) < 1.0                        # true chroma detail survives


def test_deflicker_strength_and_recursive(flicker_clip):
    fr, labs, noisy, g, flows = flicker_clip
    off = list(D.deflicker_sequence(noisy, g, strength=0.0))
    assert all(np.array_equal(a, b) for a, b in zip(off, noisy))
    half = _we(labs, list(D.deflicker_sequence(noisy, g, strength=0.5)), flows)
    full = _we(labs, list(D.deflicker_sequence(noisy, g, strength=1.0)), flows)
    assert full < half < _we(labs, noisy, flows)
    rec = list(D.deflicker_recursive(noisy, g))
    assert _we(labs, noisy, flows) / _we(labs, rec, flows) > 5.0


def test_recursive_deflicker_as_stream_hook(flicker_clip):
    fr, labs, noisy, g, flows = flicker_clip
    hook = D.RecursiveDeflicker(shots=S.ShotList(16, (8,)))
    outs = [hook(i, fr[i], noisy[i]) for i in range(16)]
    assert np.array_equal(outs[0], noisy[0]) and np.array_equal(outs[8], noisy[8])  # cut: restart
    assert not np.array_equal(outs[5], noisy[5])
    assert np.array_equal(hook(12, fr[12], noisy[12]), noisy[12])  # a seek restarts too


def test_lazy_deflicker_strength_slider_is_instant(flicker_clip):
    fr, labs, noisy, g, flows = flicker_clip
    fc = FL.FlowCache(lambda i: g[i])
    dfl = D.Deflicker(fc, lambda i: noisy[i], S.ShotList(16), radius=2)
    full = dfl.result(7)
    n_flows = fc.computed
    dfl.set_strength(0.25)
    quarter = dfl.result(7)
    assert fc.computed == n_flows                             # no flow recomputed
    assert np.allclose(quarter, noisy[7] + 0.25 * (full - noisy[7]), atol=1e-4)
    dfl.result(8)
    assert fc.computed - n_flows == 2                         # one new pair for the next frame


def test_deflicker_never_mixes_across_cut():
    L = lab(translated(1, (0, 0), seed=12)[0])[..., 0]
    abs_ = [np.full((H, W, 2), 20.0 if i < 6 else -20.0, np.float32) for i in range(12)]
    out = list(D.deflicker_sequence(abs_, [L] * 12, cuts=[6], radius=3))
    assert np.allclose(out[5], 20.0, atol=1e-3) and np.allclose(out[6], -20.0, atol=1e-3)
    mixed = list(D.deflicker_sequence(abs_, [L] * 12, radius=3))
    assert not np.allclose(mixed[5], 20.0, atol=1.0)          # without the cut it would mix


# ---------------------------------------------------------------- curves

def test_curves(flicker_clip):
    fr, labs, noisy, g, flows = flicker_clip
    flick = [recombine(x[..., 0], a) for x, a in zip(labs, noisy)]
    c = curves.flicker_curve(flick, g, cuts=[8])
    assert c.shape == (16,) and np.isnan(c[7]) and np.isnan(c[15])
    ref = M.warp_error_curve(flick, g, cuts=[8])
    ok = np.isfinite(ref)
    assert np.corrcoef(c[:15][ok], ref[ok])[0, 1] > 0.9      # tracks the metric
    clean = curves.flicker_curve(fr, g)
    assert np.nanmean(clean) < 0.2 * np.nanmean(c)
    col = curves.colourfulness_curve([np.full((4, 4, 3), (200, 100, 50), np.uint8)] * 3)
    assert np.allclose(col, 0.3 * np.hypot(100, 100))
