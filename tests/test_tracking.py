"""Tracked "until the next cut" corrections (core.corrections.tracking): the painted mask follows its object
through the shot by optical flow, never across a cut; tracking off keeps a fixed screen region;
stale tracked masks are never used; they are saved with the project; a render uses them."""
import threading

import cv2
import numpy as np
import pytest

from colorizer_app.core.corrections.brush import BrushSettings
from colorizer_app.core.corrections.masks import SparseMask
from colorizer_app.core.corrections.stack import CorrectionStack, Lifetime, apply_live_stroke
from colorizer_app.core.corrections.tracking import (
    TrackRun,
    ensure_tracked,
    plan_tracking,
    quantized_mask,
    shot_stop,
    tracked_from_bytes,
    tracked_to_bytes,
)
from colorizer_app.core.project.project import Project, open_project

W, H = 240, 160
N, CUT = 24, 16
OBJ = 48                                   # side of the moving square
START = (30, 50)                           # (x, y) of its top-left corner on frame 0
STEP = (3, 1)                              # px per frame
ANCHOR = 2
CHROMA = (40.0, -30.0)


def _texture(seed, shape, sigma):
    rng = np.random.default_rng(seed)
    t = cv2.GaussianBlur(rng.uniform(0, 255, shape).astype(np.float32), (0, 0), sigma)
    return cv2.normalize(t, None, 0, 255, cv2.NORM_MINMAX)


def obj_box(i):
    """(y0, x0, y1, x1) of the square on frame i (shot A)."""
    x, y = START[0] + STEP[0] * i, START[1] + STEP[1] * i
    return (y, x, y + OBJ, x + OBJ)


def moving_square_frames(n=N, cut=CUT):
    """Shot A: a textured square slides over a still textured background; from ``cut`` on,
    shot B: another picture (the square elsewhere, not moving)."""
    bg = _texture(1, (H, W), 2.0) * 0.6 + 50
    bg_b = _texture(3, (H, W), 1.5)
    obj = _texture(2, (OBJ, OBJ), 1.2)
    frames = []
    for i in range(n):
        if i < cut:
            f = bg.copy()
            y0, x0, y1, x1 = obj_box(i)
            f[y0:y1, x0:x1] = obj
        else:
            f = bg_b.copy()
            f[20:20 + OBJ, 150:150 + OBJ] = obj
        frames.append(np.clip(f, 0, 255).astype(np.uint8))
    return frames


@pytest.fixture(scope="module")
def frames():
    return moving_square_frames()


def base_mask(inset=8):
    """The artist's mask on the anchor frame: the square's inside."""
    m = np.zeros((H, W), np.float32)
    y0, x0, y1, x1 = obj_box(ANCHOR)
    m[y0 + inset:y1 - inset, x0 + inset:x1 - inset] = 1.0
    return SparseMask.from_full(m)


def tracked_stack(lifetime=None):
    stack = CorrectionStack((H, W))
    c = stack.new(chroma=CHROMA, lifetime=lifetime or Lifetime.until_cut(ANCHOR), name="coat")
    c.mask = base_mask()
    return stack, c


def weight(stack, frame, cuts=(CUT,)):
    """Where and how much the stack paints on a frame (1 = fully the correction's chroma)."""
    return stack.composite_mask(frame, list(cuts))


def inner(i, inset=10):
    y0, x0, y1, x1 = obj_box(i)
    return slice(y0 + inset, y1 - inset), slice(x0 + inset, x1 - inset)


def test_shot_stop_for_cut_lists_and_callables():
    cuts = [10, 25]
    for shot_of in (cuts, lambda f: sum(f >= c for c in cuts)):
        assert shot_stop(3, shot_of, 100) == 10
        assert shot_stop(10, shot_of, 100) == 25
        assert shot_stop(24, shot_of, 100) == 25
        assert shot_stop(30, shot_of, 100) == 100
        assert shot_stop(3, shot_of, 7) == 7
    assert shot_stop(3, None, 50) == 50


def test_tracked_correction_follows_its_object_and_stops_at_the_cut(frames):
    stack, c = tracked_stack()
    k = ANCHOR
    fixed = weight(stack, k + 10)                   # before tracking: the base mask, fixed
    assert fixed[inner(k)].min() == 1.0 and fixed[inner(k + 10)].max() == 0.0
    seen = []
    n = ensure_tracked(stack, lambda i: frames[i], [CUT], n_frames=N,
                       progress=lambda d, t: seen.append((d, t)))
    assert n == 1
    assert sorted(c.tracked) == list(range(k + 1, CUT))          # never across the cut
    assert seen[-1] == (CUT - k - 1, CUT - k - 1)
    # ten frames on, the colour is where the object is, not where it was
    w = weight(stack, k + 10)
    assert w[inner(k + 10)].mean() > 0.9
    old_only = np.zeros((H, W), bool)
    old_only[inner(k)] = True
    old_only[obj_box(k + 10)[0]:obj_box(k + 10)[2], obj_box(k + 10)[1]:obj_box(k + 10)[3]] = False
    assert w[old_only].max() < 0.05
    assert w[inner(k + 10, inset=-6)].sum() > 0.9 * w.sum()      # nothing spilled around it
    # every frame of the shot: the painted area moves with the square
    for i in range(k, CUT):
        assert weight(stack, i)[inner(i)].mean() > 0.9, i
    # the anchor frame keeps the base mask itself; after the cut nothing is painted
    assert c.mask_for(k) is c.mask
    assert np.array_equal(weight(stack, k), c.mask.to_full())
    for i in range(CUT, N):
        assert weight(stack, i).max() == 0.0
    # the composite itself (not just the weight): painted chroma on the object at k + 10
    ab = np.zeros((H, W, 2), np.float32)
    out = stack.composite(ab, k + 10, [CUT])
    assert np.allclose(out[inner(k + 10)].reshape(-1, 2).mean(0), CHROMA, atol=2.0)
    # nothing left to do
    assert plan_tracking(stack, [CUT], N) == []
    assert ensure_tracked(stack, lambda i: frames[i], [CUT], n_frames=N) == 0


def test_tracking_off_keeps_a_fixed_screen_region(frames):
    stack, c = tracked_stack(Lifetime.until_cut(ANCHOR, track=False))
    assert not c.tracking and Lifetime.from_dict(c.lifetime.to_dict()).extra == {"track": False}
    assert ensure_tracked(stack, lambda i: frames[i], [CUT], n_frames=N) == 0
    w = weight(stack, ANCHOR + 10)
    assert np.array_equal(w, c.mask.to_full())                   # the base mask, where painted
    # switching it on (as the GUI's undoable lifetime update does) tracks; off again: fixed
    stack.update(c.id, lifetime=c.lifetime.with_tracking(True))
    assert ensure_tracked(stack, lambda i: frames[i], [CUT], n_frames=N) == 1
    assert weight(stack, ANCHOR + 10)[inner(ANCHOR + 10)].mean() > 0.9
    stack.update(c.id, lifetime=c.lifetime.with_tracking(False))
    assert np.array_equal(weight(stack, ANCHOR + 10), c.mask.to_full())
    assert c.tracked                       # kept: switching back on needs no new tracking
    stack.update(c.id, lifetime=c.lifetime.with_tracking(True))
    assert plan_tracking(stack, [CUT], N) == []


def test_stale_tracked_masks_are_never_used(frames):
    stack, c = tracked_stack()
    ensure_tracked(stack, lambda i: frames[i], [CUT], n_frames=N)
    key = c.track_key
    before = weight(stack, ANCHOR + 10)
    assert c.tracked_current()
    # the artist paints on the anchor: the base changes, tracked masks are stale at once
    patch = np.ones((6, 6), np.float32)
    stack.write_mask_patch(c.id, None, (5, 5, 11, 11), patch)
    assert not c.tracked_current()
    after = weight(stack, ANCHOR + 10)
    assert np.array_equal(after, c.mask.to_full())               # falls back to the base mask
    assert not np.array_equal(after, before)                     # (composite cache re-keyed)
    jobs = plan_tracking(stack, [CUT], N)
    assert len(jobs) == 1 and jobs[0].frames == list(range(ANCHOR + 1, CUT))
    # a result computed from the old base arrives late: refused
    assert not stack.set_tracked(c.id, key, {ANCHOR + 1: SparseMask((H, W))})
    # undo (the patch back): the old tracked masks are current again, nothing to compute
    stack.write_mask_patch(c.id, None, (5, 5, 11, 11), np.zeros((6, 6), np.float32))
    assert c.tracked_current() and plan_tracking(stack, [CUT], N) == []
    assert np.array_equal(weight(stack, ANCHOR + 10), before)
    # moving the anchor (lifetime start) makes them stale too
    stack.update(c.id, lifetime=Lifetime.until_cut(ANCHOR + 1))
    assert not c.tracked_current()
    # a cut moved later only asks for the frames that joined the shot
    stack.update(c.id, lifetime=Lifetime.until_cut(ANCHOR))
    jobs = plan_tracking(stack, [CUT + 4], N)
    assert [j.frames for j in jobs] == [list(range(CUT, CUT + 4))]
    # a range asked for (a render of frames 5-9) plans only what it needs
    c.tracked = {}
    assert [j.frames for j in plan_tracking(stack, [CUT], N, frames=(5, 10))] == [[5, 6, 7, 8, 9]]


def test_an_object_leaving_the_picture_ends_its_tracking(frames):
    """The square slides out on the right: the mask goes with it, and once nothing is left the
    rest of the shot is known to be empty without computing more flow."""
    from colorizer_app.core.flow import FlowCache
    n, speed, x_start = 28, 5, 130
    backdrop = frames[CUT]                                   # shot B's picture, still
    y0, x0, y1, x1 = obj_box(0)
    obj = frames[0][y0:y1, x0:x1]
    fast = []
    for i in range(n):
        f = backdrop.copy()
        x = x_start + speed * i
        if x < W:
            f[y0:y1, x:min(W, x + OBJ)] = obj[:, :min(OBJ, W - x)]
        fast.append(f)
    stack = CorrectionStack((H, W))
    c = stack.new(chroma=CHROMA, lifetime=Lifetime.until_cut(0))
    m = np.zeros((H, W), np.float32)
    m[y0 + 8:y1 - 8, x_start + 8:x_start + OBJ - 8] = 1.0
    c.mask = SparseMask.from_full(m)
    flows = FlowCache(lambda i: fast[i], max_items=8)
    ensure_tracked(stack, lambda i: fast[i], None, n_frames=n, flows=flows)
    assert sorted(c.tracked) == list(range(1, n))
    assert not c.tracked[5].is_empty and c.tracked[n - 1].is_empty
    gone = min(f for f in c.tracked if c.tracked[f].is_empty)
    assert gone <= (W - x_start) // speed + 2
    assert all(c.tracked[f].is_empty for f in range(gone, n))
    assert flows.computed <= 2 * gone                         # no flow after it had gone


def test_cancel_keeps_what_was_tracked(frames):
    stack, c = tracked_stack()
    cancel = threading.Event()

    def progress(done, total):
        if done >= 4:
            cancel.set()
    assert ensure_tracked(stack, lambda i: frames[i], [CUT], n_frames=N, cancel=cancel,
                          progress=progress) == 1
    assert sorted(c.tracked) == list(range(ANCHOR + 1, ANCHOR + 5))
    jobs = plan_tracking(stack, [CUT], N)
    assert jobs[0].frames == list(range(ANCHOR + 5, CUT))


def test_jobs_of_one_shot_share_flows_and_one_in_another_shot_stays_there(frames):
    from colorizer_app.core.flow import FlowCache
    stack, a = tracked_stack()
    b = stack.new(chroma=(0, 40), lifetime=Lifetime.until_cut(ANCHOR + 3), name="b")
    b.mask = base_mask(inset=14)
    c2 = stack.new(chroma=(20, 20), lifetime=Lifetime.until_cut(CUT + 2), name="shot B")
    m = np.zeros((H, W), np.float32)
    m[30:50, 160:180] = 1.0
    c2.mask = SparseMask.from_full(m)
    flows = FlowCache(lambda i: frames[i], max_items=8)
    assert ensure_tracked(stack, lambda i: frames[i], [CUT], n_frames=N, flows=flows) == 3
    # one forward + one backward flow per frame step, shared by a and b: no more
    steps = (CUT - 1 - ANCHOR) + (N - 1 - (CUT + 2))
    assert flows.computed == 2 * steps
    assert sorted(c2.tracked) == list(range(CUT + 3, N))
    assert weight(stack, N - 1)[30:50, 160:180].mean() > 0.9         # still object: stays put


def test_painting_a_tracked_frame_fixes_that_frame_only_and_undo_removes_it(frames):
    stack, c = tracked_stack()
    ensure_tracked(stack, lambda i: frames[i], [CUT], n_frames=N)
    f = ANCHOR + 6
    ab = np.zeros((H, W, 2), np.float32)
    tracked_f = c.tracked[f].to_full()
    live = stack.begin_stroke(c.id, f, BrushSettings(size=8, softness=0.0), ab, shot_of=[CUT])
    apply_live_stroke(live, [(200, 20), (220, 20)])
    e = live.finish()
    assert e.mask_key == f and f in c.frame_masks and e.seed is not None
    own = c.frame_masks[f].to_full()
    assert own[20, 210] == 1.0                                   # the stroke
    assert np.array_equal(own[60:], tracked_f[60:])              # seeded from the tracked mask
    assert c.mask.to_full()[20, 210] == 0.0                      # the base mask is untouched
    assert c.tracked_current()                                   # ... so tracking stays valid
    assert weight(stack, f + 1)[20, 210] == 0.0                  # other frames unchanged
    e.undo(stack)
    assert f not in c.frame_masks                                # follows the tracking again
    assert c.mask_for(f) is c.tracked[f]
    assert np.allclose(weight(stack, f), tracked_f, atol=1e-6)
    e.redo(stack)
    assert np.array_equal(c.frame_masks[f].to_full(), own)
    # painting on the anchor frame edits the base mask (and so re-tracking is needed)
    live = stack.begin_stroke(c.id, ANCHOR, BrushSettings(size=8, softness=0.0), ab)
    apply_live_stroke(live, [(200, 140), (220, 140)])
    e2 = live.finish()
    assert e2.mask_key is None and e2.seed is None and not c.tracked_current()


def test_tracked_masks_round_trip_exactly_and_are_saved_with_the_project(frames, tmp_path):
    m = np.random.default_rng(0).uniform(0, 1, (H, W)).astype(np.float32)
    m[:40] = 0
    q = quantized_mask(m)
    assert q.bbox[0] == 40 and np.abs(q.to_full() - m).max() <= 0.5 / 255 + 1e-6
    stack, c = tracked_stack()
    ensure_tracked(stack, lambda i: frames[i], [CUT], n_frames=N)
    key, masks = tracked_from_bytes(tracked_to_bytes(c))
    assert key == c.track_key and sorted(masks) == sorted(c.tracked)
    assert all(masks[f].equals(c.tracked[f]) for f in masks)

    film = tmp_path / "film.mp4"
    film.write_bytes(b"stand-in")
    p = Project(source_path=str(film), frame_size=(W, H))
    p.corrections.add(c)
    p.temporal["shots"] = {"n_frames": N, "cuts": [CUT]}
    path = p.save(tmp_path / "film.bento.json")
    files = sorted(x.name for x in (tmp_path / "film.bento" / "masks").iterdir())
    assert len(files) == 2 and any(x.endswith(".track.npz") for x in files)
    q = open_project(path)
    qc = q.corrections[0]
    assert qc.tracked_current() and sorted(qc.tracked) == sorted(c.tracked)
    ab = np.random.default_rng(2).normal(0, 20, (H, W, 2)).astype(np.float32)
    for f in (ANCHOR, ANCHOR + 5, ANCHOR + 10, CUT - 1, CUT):
        assert np.array_equal(p.corrections.composite(ab, f, [CUT]),
                              q.corrections.composite(ab, f, q.shot_of()))
    assert plan_tracking(q.corrections, q.shot_of(), N) == []    # reopening tracks nothing
    # saving again writes nothing new; a base edit drops the stale file on the next save
    p.save()
    assert sorted(x.name for x in (tmp_path / "film.bento" / "masks").iterdir()) == files
    p.corrections.write_mask_patch(c.id, None, (0, 0, 4, 4), np.ones((4, 4), np.float32))
    p.save()
    left = [x.name for x in (tmp_path / "film.bento" / "masks").iterdir()]
    assert not any(x.endswith(".track.npz") for x in left)
    assert open_project(path).corrections[0].tracked == {}
    # a damaged tracked file is ignored (tracked again), never an error
    c.tracked, c.track_key = {}, None
    ensure_tracked(p.corrections, lambda i: frames[i], [CUT], n_frames=N)
    p.save()
    track = next((tmp_path / "film.bento" / "masks").glob("*.track.npz"))
    track.write_bytes(b"garbage")
    r = open_project(path)
    assert r.corrections[0].tracked == {} and not r.warnings


def test_tracked_masks_are_kept_as_uint8(frames, monkeypatch):
    from colorizer_app.core.corrections import tracking
    stack, c = tracked_stack()
    ensure_tracked(stack, lambda i: frames[i], [CUT], n_frames=N)
    m = c.tracked[ANCHOR + 5]
    assert isinstance(m, tracking.TrackedMask) and m.q.dtype == np.uint8
    ab = np.random.default_rng(3).normal(0, 20, (H, W, 2)).astype(np.float32)
    want = [stack.snapshot().composite(ab, f, [CUT]) for f in range(ANCHOR, CUT)]
    # however few float crops the cache may keep, the composite is the same
    monkeypatch.setattr(tracking, "_FLOATS", tracking._FloatCache(1))
    got = [stack.snapshot().composite(ab, f, [CUT]) for f in range(ANCHOR, CUT)]
    assert all(np.array_equal(a, b) for a, b in zip(want, got))
    with pytest.raises(TypeError):
        m.set_patch((0, 0, 2, 2), np.ones((2, 2), np.float32))     # read-only
    assert m.copy().equals(m) and type(m.copy()) is SparseMask


def test_snapshot_shares_current_tracked_masks(frames):
    stack, c = tracked_stack()
    ensure_tracked(stack, lambda i: frames[i], [CUT], n_frames=N)
    snap = stack.snapshot()
    sc = snap[0]
    assert sc.tracked_current() and sc.tracked[ANCHOR + 4] is c.tracked[ANCHOR + 4]
    ab = np.zeros((H, W, 2), np.float32)
    assert np.array_equal(snap.composite(ab, ANCHOR + 9, [CUT]), stack.composite(ab, ANCHOR + 9, [CUT]))


def test_trackrun_steps_one_frame_at_a_time_and_takes_jobs_on_the_way(frames):
    from colorizer_app.core.flow import FlowCache
    stack, c = tracked_stack()
    b = stack.new(chroma=(0, 40), lifetime=Lifetime.until_cut(ANCHOR), name="b")
    b.mask = base_mask(inset=14)
    flows = FlowCache(lambda i: frames[i], max_items=8)
    run = TrackRun(plan_tracking(stack, [CUT], N, ids=[c.id]), flows)
    got = []
    for _ in range(5):
        got += [(j.cid, i) for j, i, _ in run.step()]
    assert got == [(c.id, i) for i in range(ANCHOR + 1, ANCHOR + 6)]
    # a job added later catches up first, then both walk together
    run.add(plan_tracking(stack, [CUT], N, ids=[b.id])[0])
    while not run.finished:
        got += [(j.cid, i) for j, i, _ in run.step()]
    assert [i for cid, i in got if cid == b.id] == list(range(ANCHOR + 1, CUT))
    assert [i for cid, i in got if cid == c.id] == list(range(ANCHOR + 1, CUT))
    assert got[5:10] == [(b.id, i) for i in range(ANCHOR + 1, ANCHOR + 6)]
    assert run.done == run.total == 2 * (CUT - ANCHOR - 1)
    # replacing a job (its base changed) forgets what the old one had left to do
    run.add(plan_tracking(stack, [CUT], N, ids=[c.id])[0])
    run.remove(c.id)
    assert run.finished and run.done == run.total


# ------------------------------------------------------------------------------------------
# Render: the lead adds ensure_tracked to core.pipeline.render.render (see the report); this test is
# what it must satisfy: a tracked correction renders on the object, every frame of its shot.
@pytest.fixture(scope="module")
def render_setup(tmp_path_factory, frames):
    import keras

    from colorizer_app.core.ml.inference import Colorizer
    from colorizer_app.core.ml.model import save_model
    from tests.helpers import clips
    d = tmp_path_factory.mktemp("track_render")
    rgb = [np.repeat(f[..., None], 3, axis=2) for f in frames]
    film = clips.write_frames(d / "square.mkv", rgb, codec="ffv1")
    inp = keras.Input((None, None, 1), name="L")
    out = keras.layers.Conv2D(2, 1, kernel_initializer="zeros",
                              bias_initializer=keras.initializers.Constant([0.0, 0.0]))(inp)
    model = save_model(keras.Model(inp, out), d / "zero.keras")
    return d, film, Colorizer(str(model), size=64, batch_size=4)


def test_render_paints_a_tracked_correction_on_its_object(render_setup, tmp_path):
    from colorizer_app.core import color
    from colorizer_app.core.pipeline.render import RenderJob, render
    d, film, colorizer = render_setup
    p = Project.new(str(film))
    c = p.corrections.new(chroma=CHROMA, lifetime=Lifetime.until_cut(ANCHOR), name="coat")
    c.mask = base_mask()
    p.temporal["shots"] = {"n_frames": N, "cuts": [CUT]}
    assert not c.tracked                         # nothing tracked yet: the render must do it
    job = RenderJob.from_project(p)
    job.model, job.data_dir = colorizer, None
    out = tmp_path / "r"
    out.mkdir()
    res = render(job, out / "f_%04d.png")
    assert res.frames_written == N
    for i in (ANCHOR, ANCHOR + 5, ANCHOR + 10, CUT - 1, CUT + 2):
        rgb = cv2.cvtColor(cv2.imread(str(out / f"f_{i:04d}.png")), cv2.COLOR_BGR2RGB)
        ab = color.rgb_to_lab(rgb)[..., 1:]
        sat = np.hypot(ab[..., 0], ab[..., 1])
        if i >= CUT:
            assert sat.max() < 3.0, i            # another shot: the (gray) model's picture
            continue
        assert np.abs(ab[inner(i)].reshape(-1, 2).mean(0) - CHROMA).max() < 4.0, i
        if i >= ANCHOR + 10:                     # where the object was: not painted any more
            old = np.zeros((H, W), bool)
            old[inner(ANCHOR)] = True
            y0, x0, y1, x1 = obj_box(i)
            old[y0:y1, x0:x1] = False
            assert sat[old].max() < 3.0, i
