"""Brush rasterising, undo patches, compositing and lifetimes (no Qt, no model)."""

import numpy as np
import pytest

from colorizer_app.core.corrections.brush import (
    BrushSettings,
    StrokePath,
    brush_profile,
    rasterize_stroke,
)
from colorizer_app.core.corrections.live_stroke import lab_patch_to_rgb8
from colorizer_app.core.corrections.masks import SparseMask
from colorizer_app.core.corrections.stack import (
    Correction,
    CorrectionStack,
    Lifetime,
    apply_live_stroke,
    shot_lookup,
)

H, W = 120, 160


def line(x0, y0, x1, y1, n=20):
    return [(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t) for t in np.linspace(0, 1, n)]


# ----- brush ------------------------------------------------------------------------------
def test_hard_stroke_fills_its_width_and_nothing_else():
    m = SparseMask((H, W))
    patch = rasterize_stroke(m, line(30, 60, 130, 60), BrushSettings(size=20, softness=0.0))
    full = m.to_full()
    assert patch is not None
    assert full[60, 40:120].min() == 1.0            # core of the stroke fully painted
    assert full[55:66, 40:120].min() == 1.0         # within the radius (10 px) - 1 px antialias
    assert full[:48].max() == 0.0 and full[73:].max() == 0.0
    assert full.min() >= 0.0 and full.max() <= 1.0
    y0, x0, y1, x1 = patch.bbox
    assert full[:y0].max() == 0 and full[y1:].max() == 0      # bbox covers everything painted
    assert full[:, :x0].max() == 0 and full[:, x1:].max() == 0


def test_feather_is_monotonic_across_the_stroke():
    m = SparseMask((H, W))
    rasterize_stroke(m, line(20, 60, 140, 60), BrushSettings(size=40, softness=1.0))
    profile = m.to_full()[60:H, 80]                  # from the centre line outwards
    assert profile[0] == pytest.approx(1.0)
    assert np.all(np.diff(profile) <= 1e-6)
    assert 0.0 < profile[10] < 1.0                   # genuinely soft
    assert profile[21:].max() == 0.0
    d = np.linspace(0, 25, 200)
    assert np.all(np.diff(brush_profile(d, 40, 0.5)) <= 0)


def test_opacity_and_eraser():
    m = SparseMask((H, W))
    rasterize_stroke(m, line(30, 60, 130, 60), BrushSettings(size=20, softness=0.0, opacity=0.5))
    assert m.to_full()[60, 80] == pytest.approx(0.5)  # overlapping dabs never build up in a stroke
    rasterize_stroke(m, line(30, 60, 130, 60), BrushSettings(size=20, softness=0.0, opacity=0.5))
    assert m.to_full()[60, 80] == pytest.approx(0.75)  # a second stroke goes "over"
    rasterize_stroke(m, line(30, 60, 130, 60), BrushSettings(size=20, softness=0.0, eraser=True))
    assert m.to_full()[52:69, 40:120].max() == 0.0          # inside the eraser core
    assert m.is_empty or m.to_full().max() < 1.0      # crop trimmed as mask empties


def test_smoothing_spacing_and_single_click():
    p = StrokePath(spacing=5.0, smoothing=0.0)
    pts = p.add(10, 10)
    assert pts == [(10.0, 10.0)]
    for x in range(12, 60, 3):
        pts += p.add(x, 10)
    pts += p.finish()
    xs = np.array([q[0] for q in pts])
    assert np.allclose(np.diff(xs), 5.0, atol=0.05)  # evenly spaced along the curve
    assert xs[-1] >= 54                               # reaches (almost) the last point
    # jittery input with smoothing stays closer to the line than the raw samples
    rng = np.random.default_rng(0)
    p = StrokePath(spacing=2.0, smoothing=0.7)
    out = []
    for x in range(0, 100, 2):
        out += p.add(x, 50 + rng.normal(0, 3))
    out += p.finish()
    assert np.std([q[1] for q in out]) < 2.0


# ----- undo patches ------------------------------------------------------------------------
def test_undo_patches_restore_exactly():
    stack = CorrectionStack((H, W))
    c = stack.new(chroma=(40, 20))
    edits = []
    rng = np.random.default_rng(1)
    snapshots = [c.mask.copy()]
    for k in range(5):
        pts = [(rng.uniform(0, W), rng.uniform(0, H)) for _ in range(6)]
        live = stack.begin_stroke(c.id, 0, BrushSettings(size=rng.uniform(5, 30), softness=0.6,
                                                         opacity=0.7, eraser=k == 3),
                                  np.zeros((H, W, 2), np.float32))
        apply_live_stroke(live, pts)
        e = live.finish()
        assert e is not None and e.before.shape == e.after.shape
        edits.append(e)
        snapshots.append(c.mask.copy())
    for k in reversed(range(5)):
        edits[k].undo(stack)
        assert c.mask.equals(snapshots[k])
    for k in range(5):
        edits[k].redo(stack)
        assert c.mask.equals(snapshots[k + 1])


# ----- compositing ------------------------------------------------------------------------
def _model_ab(seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-30, 30, (H, W, 2)).astype(np.float32)


def test_composite_changes_chroma_only_where_painted():
    stack = CorrectionStack((H, W))
    c = stack.new(chroma=(50.0, -20.0), lifetime=Lifetime.range(0, 100))
    rasterize_stroke(c.mask, line(40, 40, 100, 40), BrushSettings(size=16, softness=0.3))
    stack.write_mask_patch(c.id, None, (0, 0, 1, 1), np.zeros((1, 1), np.float32))  # bump version
    ab = _model_ab()
    out = stack.composite(ab, 5)
    full = c.mask.to_full()
    assert np.array_equal(out[full == 0], ab[full == 0])            # untouched elsewhere
    assert np.allclose(out[full == 1], [50.0, -20.0])               # fully painted -> its chroma
    soft = (full > 0) & (full < 1)
    expect = ab[soft] * (1 - full[soft, None]) + np.array([50, -20]) * full[soft, None]
    assert np.allclose(out[soft], expect, atol=1e-4)
    # L is kept: recombining gives the same lightness as the model frame
    L = np.full((H, W), 60.0, np.float32)
    rgb = lab_patch_to_rgb8(L, out)
    import cv2
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    assert np.abs(lab[..., 0] - 60).max() < 1.5


def test_stack_order_visibility_opacity_and_cache():
    stack = CorrectionStack((H, W))
    a = stack.new(chroma=(10, 10), lifetime=Lifetime.range(0, 9), name="a")
    b = stack.new(chroma=(-40, 30), lifetime=Lifetime.range(0, 9), name="b", opacity=0.5)
    for c in (a, b):
        rasterize_stroke(c.mask, line(20, 60, 140, 60), BrushSettings(size=30, softness=0.0))
    ab = _model_ab()
    out = stack.composite(ab, 3)
    assert np.allclose(out[60, 80], 0.5 * np.array([10, 10]) + 0.5 * np.array([-40, 30]))
    stack.move(b.id, 0)                                   # b under a: a wins fully
    assert stack.ids() == [b.id, a.id]
    assert np.allclose(stack.composite(ab, 3)[60, 80], [10, 10])
    stack.set_visible(a.id, False)
    assert np.allclose(stack.composite(ab, 3)[60, 80], 0.5 * ab[60, 80] + 0.5 * np.array([-40, 30]))
    stack.rename(b.id, "sky")
    assert stack.find(b.id).name == "sky"
    idx, removed = stack.remove(b.id)
    assert idx == 0 and removed is b and len(stack) == 1
    assert np.array_equal(stack.composite(ab, 3), ab)
    with pytest.raises(KeyError):
        stack.find(b.id)
    # same active set on other frames reuses one cached affine
    stack.set_visible(a.id, True)
    stack.composite(ab, 1)
    n = len(stack._cache)
    stack.composite(ab, 2)
    assert len(stack._cache) == n


def test_lifetimes_frame_range_until_next_cut():
    cuts = [10, 25]                      # shots: 0-9, 10-24, 25-
    assert Lifetime.frame(4).active(4) and not Lifetime.frame(4).active(5)
    r = Lifetime.range(12, 8)
    assert [f for f in range(20) if r.active(f)] == list(range(8, 13))
    u = Lifetime.until_cut(12)
    assert [f for f in range(40) if u.active(f, cuts)] == list(range(12, 25))
    assert [f for f in range(40) if u.active(f, shot_lookup(cuts))] == list(range(12, 25))
    assert u.active(300)                 # no cuts known: to the end of the film
    stack = CorrectionStack((H, W))
    c = stack.new(chroma=(30, 30), lifetime=u)
    rasterize_stroke(c.mask, line(20, 60, 140, 60), BrushSettings(size=30))
    ab = _model_ab()
    assert np.array_equal(stack.composite(ab, 11, shot_of=cuts), ab)
    assert not np.array_equal(stack.composite(ab, 24, shot_of=cuts), ab)
    assert np.array_equal(stack.composite(ab, 25, shot_of=cuts), ab)
    for lt in (Lifetime.frame(3), r, u):
        assert Lifetime.from_dict(lt.to_dict()) == lt


# ----- live stroke -------------------------------------------------------------------------
@pytest.mark.parametrize("target_index", [0, 1, 2])
def test_live_preview_matches_committed_composite(target_index):
    stack = CorrectionStack((H, W))
    cs = [stack.new(chroma=(20 * k - 20, 15 - 10 * k), lifetime=Lifetime.range(0, 5),
                    opacity=0.8) for k in range(3)]
    for k, c in enumerate(cs):
        rasterize_stroke(c.mask, line(10, 30 + 20 * k, 150, 80 - 10 * k), BrushSettings(size=25))
    ab = _model_ab(3)
    L = np.random.default_rng(4).uniform(20, 80, (H, W)).astype(np.float32)
    target = cs[target_index]
    brush = BrushSettings(size=18, softness=0.5, opacity=0.9)
    live = stack.begin_stroke(target.id, 2, brush, ab, L)
    pts = line(20, 20, 140, 100, 30)
    preview = np.array(stack.composite(ab, 2))
    for i in range(0, 30, 3):                     # mouse moves: only the new region comes back
        up = apply_live_stroke(live, pts[i:i + 3])
        if up is not None:
            y0, x0, y1, x1 = up.bbox
            preview[y0:y1, x0:x1] = up.ab
            assert up.rgb.shape == (y1 - y0, x1 - x0, 3)
    live.buf.stamp(live.path.finish())            # the look-ahead segment, as finish() does
    up = live.preview(live.buf.bbox)
    y0, x0, y1, x1 = up.bbox
    preview[y0:y1, x0:x1] = up.ab
    edit = live.finish()
    assert edit.bbox == up.bbox
    # what was shown while painting is exactly what the committed stack composites
    assert np.allclose(stack.composite(ab, 2), preview, atol=1e-3)


def test_correction_meta_round_trip_keeps_unknown_keys():
    c = Correction((H, W), chroma=(1.5, -2), opacity=0.4, lifetime=Lifetime.range(3, 7),
                   name="coat")
    d = c.meta()
    d["future_key"] = {"x": 1}
    d["lifetime"]["curve"] = "ease"
    c2 = Correction.from_meta(d, (H, W))
    assert c2.meta() == d


# ----- edge-aware snapping -----------------------------------------------------------------
def test_snap_fills_the_object_and_stops_at_its_edge():
    yy, xx = np.mgrid[0:H, 0:W]
    disk = (yy - 60) ** 2 + (xx - 80) ** 2 <= 35 ** 2
    rng = np.random.default_rng(5)
    L = np.where(disk, 75.0, 25.0).astype(np.float32) + rng.normal(0, 1.5, (H, W)).astype(np.float32)
    stack = CorrectionStack((H, W))
    c = stack.new(chroma=(20, 60), lifetime=Lifetime.frame(0))
    brush = BrushSettings(size=24, softness=0.3)
    # a rough stroke through the disk that spills 10 px over its right edge
    live = stack.begin_stroke(c.id, 0, brush, np.zeros((H, W, 2), np.float32), L)
    apply_live_stroke(live, line(60, 60, 125, 60))
    edit = live.finish(snap=True, snap_reach=30)
    m = c.mask.to_full()
    outside = ~disk & ((yy - 60) ** 2 + (xx - 80) ** 2 >= 38 ** 2)   # 3 px past the edge
    assert m[outside].max() < 0.05                   # no bleeding over the edge
    inner = (yy - 60) ** 2 + (xx - 80) ** 2 <= 32 ** 2
    near_stroke = inner & (np.abs(yy - 60) <= 30) & (xx >= 52)
    assert m[near_stroke].mean() > 0.97              # the object is filled around the stroke
    edit.undo(stack)
    assert c.mask.is_empty


def test_cached_composite_stays_exact_through_commits_undo_and_edits():
    stack = CorrectionStack((H, W))
    cs = [stack.new(chroma=(15 * k - 20, 10 - 7 * k), lifetime=Lifetime.until_cut(0),
                    opacity=0.6 + 0.1 * k) for k in range(3)]
    ab = _model_ab(7)
    L = np.full((H, W), 50.0, np.float32)
    rng = np.random.default_rng(8)
    edits = []
    for step in range(12):
        stack.composite(ab, 0)                         # keep the frame's entry warm in the cache
        c = cs[step % 3]
        live = stack.begin_stroke(c.id, 0, BrushSettings(size=rng.uniform(6, 40), softness=0.5,
                                                         eraser=step % 5 == 4), ab, L)
        apply_live_stroke(live, [(rng.uniform(-10, W + 10), rng.uniform(-10, H + 10))
                                 for _ in range(5)])
        e = live.finish()
        if e is not None:
            edits.append(e)
        if step == 6:
            edits.pop().undo(stack)
        fresh = stack.snapshot().composite(ab, 0)      # no cache at all
        assert np.allclose(stack.composite(ab, 0), fresh, atol=1e-5)
    stack.update(cs[1].id, chroma=(70, 70), opacity=0.3)
    stack.move(cs[2].id, 0)
    assert np.allclose(stack.composite(ab, 0), stack.snapshot().composite(ab, 0), atol=1e-5)


def test_painting_a_frame_of_its_own():
    stack = CorrectionStack((H, W))
    c = stack.new(chroma=(40, 0), lifetime=Lifetime.range(0, 9))
    rasterize_stroke(c.mask, line(20, 30, 140, 30), BrushSettings(size=10))
    ab = _model_ab()
    base = stack.composite(ab, 4).copy()
    live = stack.begin_stroke(c.id, 5, BrushSettings(size=10), ab, own_frame_mask=True)
    apply_live_stroke(live, line(20, 90, 140, 90))
    e = live.finish()
    assert e.mask_key == 5 and 5 in c.frame_masks
    assert np.array_equal(stack.composite(ab, 4), base)          # other frames keep the base
    f5 = stack.composite(ab, 5)
    assert np.allclose(f5[30, 80], [40, 0]) and np.allclose(f5[90, 80], [40, 0])
    e.undo(stack)
    assert np.array_equal(stack.composite(ab, 5), base)
