"""Quality metrics against hand-computed values (quality.md definitions)."""
import math

import cv2
import numpy as np
import pytest

from colorizer_app.core import flow as FL
from colorizer_app.core import metrics as M

H, W = 96, 128


def lab_image(L, a, b, shape=(8, 8)):
    """float32 RGB [0,1] of a constant LAB colour (floats avoid 8-bit rounding in exact tests)."""
    lab = np.zeros(shape + (3,), np.float32)
    lab[...] = (L, a, b)
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def textured(seed, h=H + 40, w=W + 40):
    rng = np.random.default_rng(seed)

    def field(sig):
        n = rng.random((h, w)).astype(np.float32)
        f = sum(cv2.GaussianBlur(n, (0, 0), s) * k for s, k in sig)
        return cv2.normalize(f, None, -1, 1, cv2.NORM_MINMAX)
    lab = np.dstack([55 + 30 * field([(1, 1), (3, 2), (8, 4)]),
                     30 * field([(4, 1), (10, 2)]), 30 * field([(4, 1), (10, 2)])])
    return np.clip(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_LAB2RGB), 0, 1)


def translated(n, shift, seed=0):
    big = textured(seed)
    out = []
    for t in range(n):
        Mx = np.float32([[1, 0, -20 + shift[0] * t], [0, 1, -20 + shift[1] * t]])
        f = cv2.warpAffine(big, Mx, (W, H), flags=cv2.INTER_CUBIC)
        out.append(np.clip(f * 255 + 0.5, 0, 255).astype(np.uint8))
    return out


# ---------------------------------------------------------------- PSNR / ab RMSE / ΔE

def test_psnr_of_known_noise():
    rng = np.random.default_rng(0)
    a = rng.integers(10, 245, (H, W, 3)).astype(np.uint8)
    sign = np.where(rng.random(a.shape) < 0.5, -5, 5)
    b = (a.astype(int) + sign).astype(np.uint8)            # |error| = 5 everywhere: MSE 25
    assert M.psnr(b, a) == pytest.approx(10 * math.log10(255 ** 2 / 25), abs=1e-9)
    assert M.psnr(a, a) == float("inf")


def test_ab_rmse_known_offset_and_zero():
    ref = lab_image(50, 10, 10)
    out = lab_image(50, 20, 10)                             # Δa = 10, Δb = 0
    # OpenCV's float LAB round trip is good to ~0.25 units
    assert M.ab_rmse(out, ref) == pytest.approx(10 / math.sqrt(2), abs=0.3)
    assert M.ab_rmse(ref, ref) == 0.0
    # swapping two colours: every pixel is off by ±(ab1 − ab2), RMSE = |ab1 − ab2| / √2
    c1, c2 = lab_image(60, 30, -20, (1, 1)), lab_image(40, -10, 25, (1, 1))
    ref2, out2 = np.hstack([c1, c2]), np.hstack([c2, c1])
    d = M.rgb_to_lab(c1)[0, 0, 1:] - M.rgb_to_lab(c2)[0, 0, 1:]
    assert M.ab_rmse(out2, ref2) == pytest.approx(float(np.linalg.norm(d)) / math.sqrt(2), rel=1e-5)


def test_gray_baseline_has_no_chroma_and_same_luma():
    f = translated(1, (0, 0))[0]
    g = M.gray_baseline(f)
    lab = M.rgb_to_lab(g)
    assert np.abs(lab[..., 1:]).max() < 1.0                 # 8-bit rounding only
    assert np.abs(lab[..., 0] - M.rgb_to_lab(f)[..., 0]).mean() < 0.5


@pytest.mark.parametrize("lab1, lab2, expected", [
    # Sharma, Wu & Dalal (2005) test data
    ((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
    ((50, 3.1571, -77.2803), (50, 0, -82.7485), 2.8615),
    ((50, 2.8361, -74.0200), (50, 0, -82.7485), 3.4412),
    ((50, 0, 0), (50, -1, 2), 2.3669),
    ((50, 2.5, 0), (73, 25, -18), 27.1492),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
])
def test_ciede2000_sharma_pairs(lab1, lab2, expected):
    d = M.ciede2000(np.array([lab1]), np.array([lab2]))[0]
    assert d == pytest.approx(expected, abs=1e-4)
    assert M.ciede2000(np.array([lab2]), np.array([lab1]))[0] == pytest.approx(expected, abs=1e-4)


def test_delta_e2000_identical_is_zero():
    f = translated(1, (0, 0))[0]
    assert M.delta_e2000(f, f) == 0.0


# ---------------------------------------------------------------- colourfulness

def test_colourfulness_of_constant_image():
    img = np.zeros((10, 10, 3), np.uint8)
    img[...] = (200, 100, 50)                               # rg = 100, yb = |150 - 50| = 100
    assert M.colourfulness(img) == pytest.approx(0.3 * math.hypot(100, 100))
    img[...] = 128
    assert M.colourfulness(img) == 0.0


def test_colourfulness_two_pixels_by_hand():
    img = np.array([[[255, 0, 0], [0, 0, 0]]], np.uint8)    # rg = {255, 0}, yb = {127.5, 0}
    sd = math.hypot(127.5, 63.75)                           # σ_rg = 127.5, σ_yb = 63.75
    mu = math.hypot(127.5, 63.75)                           # μ_rg = 127.5, μ_yb = 63.75
    assert M.colourfulness(img) == pytest.approx(sd + 0.3 * mu)


def test_colourfulness_ratio():
    f = translated(3, (1, 0))
    assert M.colourfulness_ratio(f, f) == pytest.approx(1.0)
    assert M.colourfulness_ratio([M.gray_baseline(x) for x in f], f) < 0.05
    assert M.colourfulness_ratio(f[0], f[0]) == pytest.approx(1.0)     # single frames too


# ---------------------------------------------------------------- JSD / CDC

def test_jsd_identical_disjoint_and_symmetric():
    p = np.array([1, 2, 3, 0], float)
    assert M.jsd(p, p) == 0.0
    assert M.jsd([1, 0], [0, 1]) == pytest.approx(math.log(2))
    q = np.array([0, 1, 1, 4], float)
    assert M.jsd(p, q) == pytest.approx(M.jsd(q, p))
    assert 0 < M.jsd(p, q) < math.log(2)


def test_cdc_static_is_zero_and_cut_pairs_skipped():
    f = translated(1, (0, 0))[0]
    assert M.cdc([f] * 6) == 0.0
    other = np.clip(f.astype(int) + [60, -40, 0], 0, 255).astype(np.uint8)
    seq = [f] * 5 + [other] * 5
    assert M.cdc(seq) > 0.05
    assert M.cdc(seq, cuts=[5]) == 0.0                      # the only changes straddle the cut


# ---------------------------------------------------------------- warp error

def test_occlusion_formula_by_hand():
    f = np.zeros((20, 30, 2), np.float32)
    f[..., 0] = 2.0
    b_consistent = -f
    occ = FL.occlusion_mask(f, b_consistent)
    # |f + b| = 0 everywhere; only pixels whose target leaves the frame (x + 2 > 29) are flagged
    assert occ[:, :28].sum() == 0 and occ[:, 28:].all()
    occ = FL.occlusion_mask(f, f)        # |f + b|² = 16 > 0.01·8 + 0.5 → all occluded
    assert occ.all()
    small = np.zeros_like(f)
    small[..., 0] = 0.3                  # |f + b|² = 0.09·... < 0.5: still consistent
    assert not FL.occlusion_mask(small, small)[:, :25].any()


def test_warp_error_static_translated_and_flicker():
    static = translated(5, (0, 0))
    assert M.warp_error(static) == 0.0
    moving = translated(6, (1.3, -0.6), seed=1)
    we_move = M.warp_error(moving)
    assert we_move < 5e-4                                   # flow explains the motion
    rng = np.random.default_rng(2)
    flick = []
    for f in moving:                                        # per-frame chroma offsets
        lab = M.rgb_to_lab(f)
        lab[..., 1:] += rng.normal(0, 8, 2).astype(np.float32)
        flick.append(np.clip(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB) * 255 + 0.5, 0, 255)
                     .astype(np.uint8))
    grays = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in moving]
    assert M.warp_error(flick, grays) > 5 * we_move
    curve = M.warp_error_curve(flick, grays, cuts=[3])
    assert len(curve) == 5 and np.isnan(curve[2]) and np.isfinite(curve[[0, 1, 3, 4]]).all()


def test_warp_error_pair_uses_valid_pixels_only_and_all_when_none():
    a = np.zeros((10, 10, 3), np.uint8)
    b = a.copy()
    b[:, :5] = 255
    flow = np.zeros((10, 10, 2), np.float32)
    valid = np.zeros((10, 10), bool)
    valid[:, 5:] = True
    assert M.warp_error_pair(a, b, flow, valid) == 0.0
    assert M.warp_error_pair(a, b, flow, valid & False) == pytest.approx(0.5)


def test_evaluate_clip_reports_gray_baseline():
    orig = translated(5, (0.8, 0.3), seed=3)
    res = M.evaluate_clip(orig, orig, with_delta_e=True)
    assert res["output"]["psnr"] == float("inf")
    assert res["output"]["warp_error_ratio"] == pytest.approx(1.0)
    assert res["output"]["colourfulness_ratio"] == pytest.approx(1.0)
    assert res["output"]["delta_e2000"] == 0.0
    g = res["gray"]
    assert g["colourfulness_ratio"] < 0.05 and g["ab_rmse"] > 3 and np.isfinite(g["psnr"])
    assert set(res["original"]) == {"warp_error", "cdc", "colourfulness"}
