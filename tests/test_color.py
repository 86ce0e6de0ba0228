import numpy as np
import cv2
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
