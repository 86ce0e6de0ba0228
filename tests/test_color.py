import cv2
import numpy as np
import pytest

from colorizer_app.core import color


def natural_frame(h=405, w=721, seed=0):
    """Smooth colour fields with hard-edged shapes: a stand-in for a real frame."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.uniform(0, 1, (6, 10, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    img = np.clip(base, 0, 1)
    cv2.rectangle(img, (w // 5, h // 4), (w // 2, h * 3 // 4), (0.9, 0.2, 0.1), -1)
    cv2.circle(img, (w * 3 // 4, h // 2), h // 5, (0.1, 0.3, 0.9), -1)
    return color.to_uint8(img)


def true_ab_work(rgb, size):
    """What a perfect model would output: the frame's own ab at working resolution, letterboxed."""
    lab = color.rgb_to_lab(rgb)
    box = color.letterbox_for(*rgb.shape[:2], size)
    small = cv2.resize(lab[..., 1:], (box.w, box.h), interpolation=cv2.INTER_AREA)
    work = cv2.copyMakeBorder(small, box.y0, size - box.h - box.y0, box.x0, size - box.w - box.x0,
                              cv2.BORDER_REFLECT_101)
    return work, box


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0 ** 2 / mse)


def test_lab_round_trip():
    rgb = natural_frame()
    back = color.to_uint8(color.lab_to_rgb(color.rgb_to_lab(rgb)))
    assert np.abs(back.astype(int) - rgb).max() <= 1


def test_working_letterbox_pads_and_never_squashes():
    L = color.luminance(natural_frame(405, 721))
    work, box = color.fit_working(L, 256)
    assert work.shape == (256, 256) and work.min() >= -1.0 and work.max() <= 1.0
    assert (box.w, box.h) == (256, 144)            # aspect 721:405 kept
    assert box.y0 == (256 - 144) // 2 and box.x0 == 0
    with pytest.raises(ValueError):
        color.fit_working(L, 200)


def test_true_ab_at_working_size_recombines_close_to_original():
    rgb = natural_frame()
    ab_work, box = true_ab_work(rgb, 256)
    out = color.colorize_with_ab(rgb, color.upsample_ab(ab_work, box, color.luminance(rgb)))
    assert psnr(out, rgb) > 33.0


def test_chroma_edges_follow_luminance_edges():
    # dark red | bright blue, the edge at an awkward column; the working size is 10× smaller
    h, w, edge = 360, 640, 301
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:, :edge] = (150, 30, 30)
    rgb[:, edge:] = (60, 120, 230)
    ab_work, box = true_ab_work(rgb, 64)
    L = color.luminance(rgb)
    truth = color.rgb_to_lab(rgb)[..., 1:]
    band = slice(edge - 8, edge + 8)
    err = {}
    for guided in (False, True):
        ab = color.upsample_ab(ab_work, box, L, guided=guided)
        err[guided] = np.abs(ab[:, band] - truth[:, band]).mean()
    assert err[True] < 0.5 * err[False], err
    # and away from the edge the guided result is still the right colour
    ab = color.upsample_ab(ab_work, box, L)
    assert np.abs(ab[:, :edge - 20] - truth[:, :edge - 20]).mean() < 2.0


def test_gray_and_colour_detection():
    rgb = natural_frame()
    assert color.is_colour(rgb)
    assert not color.is_colour(color.gray_rgb(rgb))


def _reference_guided(src_low, guide_low, guide_full, r=2, eps=1e-3):
    """The fast guided filter written plainly, channel by channel, at full-frame size."""
    def box(x):
        return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT_101)
    h, w = guide_full.shape
    I = guide_low.astype(np.float64)  # noqa: E741 - I: the guide image, as in He et al.
    mean_I = box(I)
    var_I = box(I * I) - mean_I ** 2
    out = np.empty((h, w, src_low.shape[2]))
    for c in range(src_low.shape[2]):
        p = src_low[..., c].astype(np.float64)
        mean_p = box(p)
        a = (box(I * p) - mean_I * mean_p) / (var_I + eps)
        b = mean_p - a * mean_I
        a_up = cv2.resize(box(a), (w, h), interpolation=cv2.INTER_LINEAR)
        b_up = cv2.resize(box(b), (w, h), interpolation=cv2.INTER_LINEAR)
        out[..., c] = a_up * guide_full + b_up
    return out


@pytest.mark.parametrize("h,w,size", [(405, 721, 256), (1080, 1920, 256), (37, 50, 64)])
def test_guided_upsampling_matches_the_plain_formula(h, w, size):
    rgb = natural_frame(h, w, seed=3)
    ab_work, box = true_ab_work(rgb, size)
    ab_work += np.random.default_rng(1).normal(0, 8, ab_work.shape).astype(np.float32)  # not smooth
    L = color.luminance(rgb)
    g_full = L.astype(np.float64) / 100.0
    g_low = cv2.resize(g_full, (box.w, box.h), interpolation=cv2.INTER_AREA)
    ref = _reference_guided(color.crop_content(ab_work, box), g_low, g_full)
    out = color.upsample_ab(ab_work, box, L)
    assert out.shape == (h, w, 2) and out.dtype == np.float32
    assert np.abs(out - ref).max() < 0.01  # LAB units: float32 rounding only


@pytest.mark.parametrize("h,w", [(405, 721), (1080, 1920), (1, 7), (23, 5)])
def test_banded_conversions_equal_whole_frame_ones(h, w):
    rgb = natural_frame(max(h, 2), max(w, 2), seed=5)[:h, :w]
    lab = color.rgb_to_lab(rgb)
    # L of a colour frame: exactly the L channel of the float conversion
    assert np.array_equal(color.luminance(rgb), lab[..., 0])
    gray = np.repeat(rgb[..., :1], 3, axis=2)
    assert np.array_equal(color.luminance(gray), color.rgb_to_lab(gray)[..., 0])
    assert np.array_equal(color.luminance(gray[..., 0]), color.rgb_to_lab(gray)[..., 0])
    # recombine with chroma far outside the gamut: clipped exactly like the whole-frame maths
    L = lab[..., 0]
    ab = (lab[..., 1:] * 3.0 + np.random.default_rng(2).normal(0, 30, lab[..., 1:].shape)).astype(np.float32)
    whole = np.clip(cv2.cvtColor(np.dstack([L, ab]).astype(np.float32), cv2.COLOR_Lab2RGB), 0.0, 1.0)
    assert np.array_equal(color.recombine(L, ab), whole)
    expect8 = (whole * 255.0 + 0.5).astype(np.uint8)
    assert np.array_equal(color.recombine_u8(L, ab), expect8)
    assert np.array_equal(color.to_uint8(whole), expect8)
    assert np.array_equal(color.to_uint16(whole), (whole * 65535.0 + 0.5).astype(np.uint16))


def test_luminance_of_a_read_only_frame_is_computed_once():
    rgb = natural_frame(120, 160, seed=7)
    L_writable = color.luminance(rgb)
    assert L_writable.flags.writeable and color.luminance(rgb) is not L_writable  # may change
    rgb.flags.writeable = False                    # how the review app shares decoded frames
    L = color.luminance(rgb)
    assert np.array_equal(L, L_writable) and not L.flags.writeable
    assert color.luminance(rgb) is L
    other = rgb.copy()
    other.flags.writeable = False
    assert color.luminance(other) is not L         # by identity, not by content
    keys = {id(rgb), id(other)}
    del rgb, other                                 # entries go with their frames
    assert not keys & set(color._recent_L._items)


def test_two_threads_asking_for_one_frames_L_compute_it_once():
    """The display worker's gray picture and the network's input both want the L of the frame
    the artist landed on, at the same moment: one computes it, the other waits for it."""
    import threading
    import time

    rgb = natural_frame(120, 160, seed=3)
    rgb.flags.writeable = False
    calls = []

    def slow(frame):
        calls.append(threading.get_ident())
        time.sleep(0.2)
        return color._luminance(frame)

    got = []
    threads = [threading.Thread(target=lambda: got.append(color._recent_L.compute(rgb, slow)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(got) == 2 and got[0] is got[1]
    assert np.array_equal(got[0], color.rgb_to_lab(rgb)[..., 0]) and not color._recent_L._pending


def test_gray_view_of_a_colour_frame_shares_the_float_L_when_asked():
    from colorizer_app.core import compose
    rgb = natural_frame(120, 160, seed=5)
    rgb.flags.writeable = False
    alone = compose.gray_view(rgb, True)                # 8-bit LAB: nobody needs the float L
    assert color.known_luminance(rgb) is None
    shared = compose.gray_view(rgb, True, share_L=True)  # the float L, remembered for the network
    assert color.known_luminance(rgb) is color.luminance(rgb)
    assert np.array_equal(compose.gray_view(rgb, True), shared)   # a known L is used
    for g, within in ((alone, 2), (shared, 1)):
        assert g.shape == rgb.shape and g.dtype == np.uint8
        assert np.array_equal(g[..., 0], g[..., 1]) and np.array_equal(g[..., 1], g[..., 2])
        assert np.abs(g.astype(int) - color.gray_rgb(rgb).astype(int)).max() <= within
