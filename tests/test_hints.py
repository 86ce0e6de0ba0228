"""Colour hints: rasterisation through the letterbox, simulated hints, the no-learning spread, hint
generators (warm start from a plain one, learning to follow hints) and old models with hints."""
import numpy as np
import pytest

from colorizer_app.core import color
from colorizer_app.core.ml import hints
from colorizer_app.core.ml.hints import Hint
from colorizer_app.core.ml.inference import Colorizer
from colorizer_app.core.ml.model import (
    build_generator,
    input_channels,
    load_generator,
    save_model,
    warm_start,
)
from colorizer_app.core.ml.spread import spread


def test_rasterize_lands_on_the_letterboxed_pixels():
    box = color.letterbox_for(180, 320, 64)          # 64×36 content, 14 rows of padding on top
    assert (box.y0, box.h, box.x0, box.w) == (14, 36, 0, 64)
    ab, mask = hints.rasterize([Hint(x=160, y=90, a=40, b=-20, size=5)], box)
    ys, xs = np.nonzero(mask[..., 0])
    # frame centre → content centre; 5 film px → at least one working px
    assert abs(ys.mean() - (14 + 18)) <= 1 and abs(xs.mean() - 32) <= 1
    assert np.allclose(ab[mask[..., 0] > 0], [40 / 110, -20 / 110])
    assert np.all(ab[mask[..., 0] == 0] == 0)
    # top-left film pixel → first content pixel, never the padding
    ab, mask = hints.rasterize([Hint(0, 0, 10, 10, size=1)], box)
    assert np.argwhere(mask[..., 0]).tolist() == [[14, 0]]
    # a hint outside the frame is dropped; a big one is clipped to the content
    _, mask = hints.rasterize([Hint(-50, 500, 10, 10, size=3)], box)
    assert not mask.any()
    _, mask = hints.rasterize([Hint(160, 90, 10, 10, size=1000)], box)
    assert mask.sum() == 36 * 64


def test_rgba_hint_image_to_planes():
    h, w = 120, 200
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[40:50, 100:110] = (200, 30, 30, 255)         # a red dab
    box = color.letterbox_for(h, w, 64)
    ab, mask = hints.planes_from_rgba(rgba, box)
    lab = color.rgb_to_lab(np.array([[[200, 30, 30]]], np.uint8))[0, 0]
    on = mask[..., 0] > 0
    assert 1 <= on.sum() <= 16
    np.testing.assert_allclose(ab[on], np.broadcast_to(lab[1:] / 110, (on.sum(), 2)), atol=1e-3)
    ys, xs = np.nonzero(on)
    assert abs(xs.mean() - (box.x0 + 105 * box.w / w)) <= 1.5 and abs(ys.mean() - (box.y0 + 45 * box.h / h)) <= 1.5
    with pytest.raises(ValueError, match="the film is 200×120"):
        hints.planes_from_rgba(np.zeros((10, 10, 4), np.uint8), box)
    assert not hints.planes_from_rgba(np.zeros((h, w, 4), np.uint8), box)[1].any()


def test_simulated_hints_take_the_patch_mean_and_are_sometimes_none():
    rng = np.random.default_rng(0)
    ab = np.zeros((32, 32, 2), np.float32)
    ab[:, 16:] = (0.5, -0.25)
    hab, mask = hints.sample_hints(ab, rng, n=20, patch=1)
    on = mask[..., 0] > 0
    assert 1 <= on.sum() <= 20 and np.allclose(hab[on], ab[on])
    counts = [int(hints.sample_hints(ab, rng)[1].sum() > 0) for _ in range(300)]
    assert 0.05 < 1 - np.mean(counts) < 0.3            # ~15 % of samples get no hint at all
    hab, mask = hints.sample_hints(ab, np.random.default_rng(1), n=1, patch=32, bias=0.0)
    assert np.allclose(hab[mask[..., 0] > 0], hab[mask[..., 0] > 0].mean(0))  # one patch, one mean colour


def test_spread_follows_lightness_edges():
    L = np.full((48, 64), 30.0, np.float32)
    L[:, 32:] = 80.0
    hab = np.zeros((48, 64, 2), np.float32)
    mask = np.zeros((48, 64), np.float32)
    hab[10, 5], mask[10, 5] = (50, 0), 1
    hab[40, 60], mask[40, 60] = (0, -50), 1
    ab, weight = spread(L, hab, mask)
    assert np.allclose(ab[:, :32].mean((0, 1)), (50, 0), atol=1)     # each side takes its own hint
    assert np.allclose(ab[:, 32:].mean((0, 1)), (0, -50), atol=1)
    assert weight.min() > 0
    none = spread(L, hab, np.zeros_like(mask))[0]
    assert not none.any()


def test_warm_started_hint_generator_starts_as_the_edge_aware_spread():
    """A plain generator seeds the hint generator's features, but its correction starts at zero:
    before training, the output is the in-network bilateral-grid spread of the hints."""
    plain = build_generator(width=0.125)
    hinted = build_generator(width=0.125, hints=True)
    assert input_channels(plain) == 1 and input_channels(hinted) == 4
    assert warm_start(hinted, plain) == len([lay for lay in plain.layers if lay.weights]) - 1  # not "ab"
    L = np.full((64, 64), -0.4, np.float32)
    L[:, 32:] = 0.6                                   # dark left half, light right half
    x = np.zeros((2, 64, 64, 4), np.float32)
    x[..., 0] = L
    assert not hinted.predict_on_batch(x).any()       # no hint: nothing painted
    x[1, 10, 5, 1:] = (0.45, 0.0, 1.0)                # one hint on each side, in model units
    x[1, 40, 60, 1:] = (0.0, -0.45, 1.0)
    out = hinted.predict_on_batch(x)[1]
    np.testing.assert_allclose(out[:, :28].mean((0, 1)), (0.45, 0.0), atol=0.03)  # each side its own
    np.testing.assert_allclose(out[:, 36:].mean((0, 1)), (0.0, -0.45), atol=0.03)


def _two_region_batch(rng, n, size=64, n_hints=None):
    """Dark left / light right at a random column, each region a random colour: without hints
    nothing tells the colour, so only a model that follows hints can get it right. Training
    batches put 0-3 simulated 1-5 px hints in each region (none in a tenth of the samples)."""
    X = np.zeros((n, size, size, 4), np.float32)
    Y = np.zeros((n, size, size, 2), np.float32)
    cuts = rng.integers(16, 48, n)
    for k, cut in enumerate(cuts):
        L = np.full((size, size), 30.0, np.float32)
        L[:, cut:] = 70.0
        Y[k, :, :cut] = rng.uniform(-0.5, 0.5, 2)
        Y[k, :, cut:] = rng.uniform(-0.5, 0.5, 2)
        hab, m = hints.empty_planes(size)
        if n_hints != 0 and rng.random() > 0.1:
            for lo, hi in ((0, cut), (cut, size)):
                left = hints.sample_hints(Y[k][:, lo:hi], rng, n=int(rng.integers(0, 4)), patch=int(rng.integers(1, 6)))
                hab[:, lo:hi] += left[0] * (1 - m[:, lo:hi])
                m[:, lo:hi] = np.maximum(m[:, lo:hi], left[1])
        X[k] = hints.model_input(L / 50 - 1, hab, m)
    return X, Y, cuts


def test_tiny_hint_model_learns_to_follow_hints(tmp_path):
    from colorizer_app.core.ml.train import TrainConfig, Trainer

    rng = np.random.default_rng(0)
    tr = Trainer(TrainConfig(data="", out="", mode="mse", width=0.125, lr=3e-3, hints=True, size=64))
    for _ in range(300):
        X, Y, _ = _two_region_batch(rng, 8)
        tr.train_step(X, Y)
    tr.sync()
    # batch-norm running statistics lag far behind 300 fast steps (momentum 0.99); settle them on
    # training batches, weights untouched, as thousands of real steps would
    for _ in range(30):
        tr.gen(_two_region_batch(rng, 8)[0], training=True)
    model = load_generator(save_model(tr.gen, tmp_path / "hint.keras"))
    X, Y, cuts = _two_region_batch(np.random.default_rng(99), 32, n_hints=0)
    hinted = X.copy()
    for k, cut in enumerate(cuts):                      # one 3×3 hint in the middle of each region
        for x in (cut // 2, (cut + 64) // 2):
            hinted[k, 30:33, x - 1:x + 2, 1:3] = Y[k, 31, x]
            hinted[k, 30:33, x - 1:x + 2, 3] = 1
    err_hinted = float(np.mean((model.predict_on_batch(hinted) - Y) ** 2))
    err_none = float(np.mean((model.predict_on_batch(X) - Y) ** 2))
    assert err_hinted < 0.85 * err_none, (err_hinted, err_none)


def test_old_plain_model_still_colours_and_spreads_given_hints():
    plain = build_generator(width=0.125)
    c = Colorizer(plain, size=64, batch_size=2)
    assert not c.takes_hints
    frame = np.zeros((90, 160, 3), np.uint8)
    frame[:, :80], frame[:, 80:] = 60, 180
    (base, _), (with_hint, _) = c.predict_work([frame, frame], hints=[None, [Hint(40, 45, 60, 40, size=9)]])
    base, with_hint = base.astype(np.float32), with_hint.astype(np.float32)
    # the dark half takes the hint's colour, the light half (other lightness) barely moves
    assert np.abs(with_hint[20:44, 5:27] - (60, 40)).mean() < 12
    assert (np.abs(with_hint[20:44, 40:60] - base[20:44, 40:60]).mean()
            < np.abs(with_hint[20:44, 5:27] - base[20:44, 5:27]).mean() / 3)


def test_hint_colorizer_uses_hints_and_empty_planes_without():
    gen = build_generator(width=0.125, hints=True)
    c = Colorizer(gen, size=64, batch_size=2)
    assert c.takes_hints
    frame = np.full((64, 64, 3), 120, np.uint8)
    (a, _), (b, _) = c.predict_work([frame, frame], hints=[None, [Hint(32, 32, 80, 80, size=20)]])
    assert not np.allclose(a, b)   # random weights: any hint changes the output
    (a2, _), = c.predict_work([frame])
    np.testing.assert_allclose(a2.astype(np.float32), a.astype(np.float32), atol=0.05)


# ---------------------------------------------------------------- colorizer colorize --hints

@pytest.fixture(scope="module")
def hint_film(tmp_path_factory):
    from tests.helpers import clips

    d = tmp_path_factory.mktemp("hintfilm")
    film = clips.make_clip(d / "gray.mp4", n_frames=8, size=(160, 96), audio=False, color=False, motion=False)
    model = save_model(build_generator(width=0.125), d / "plain.keras")
    return film, model


def _write_rgba(path, rgba):
    import cv2

    cv2.imwrite(str(path), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))


def test_cli_hints_colour_the_frame_and_flow_through_the_shot(hint_film, tmp_path, capsys):
    from colorizer_app.cli import main
    from colorizer_app.core.media import open_media

    film, model = hint_film
    hdir = tmp_path / "hints"
    hdir.mkdir()
    rgba = np.zeros((96, 160, 4), np.uint8)
    rgba[20:76, 20:140] = (40, 90, 220, 255)            # a big blue hint
    _write_rgba(hdir / "hint_000003.png", rgba)
    out, plain = tmp_path / "hinted.mkv", tmp_path / "plain.mkv"
    args = ["--model", str(model), "--size", "64"]
    assert main(["colorize", str(film), str(out), *args, "--hints", str(hdir)]) == 0
    assert "frame 3: colorized with" in capsys.readouterr().err
    assert main(["colorize", str(film), str(plain), *args]) == 0
    blue_b = color.rgb_to_lab(np.array([[[40, 90, 220]]], np.uint8))[0, 0, 2]
    with open_media(out) as a, open_media(plain) as b:
        for i in (3, 6):                                # the hinted frame, and a later frame of its shot
            ha = color.rgb_to_lab(a.read(i))[30:66, 40:120, 2].mean()
            pb = color.rgb_to_lab(b.read(i))[30:66, 40:120, 2].mean()
            assert abs(ha - blue_b) < abs(pb - blue_b) / 2, (i, ha, pb, blue_b)


def test_cli_model_hints_names_the_shipped_hint_model(hint_film, tmp_path, capsys):
    """`--model hints` is the bundled hint generator: one small hint colours its frame, on the
    hint and (the test film's lightness varies little) over the frame; a misspelt name is a
    missing model file: one line, exit 2."""
    from colorizer_app.cli import main
    from colorizer_app.core.media import open_media
    from colorizer_app.core.ml.bundled import HINT_MODEL, model_path_arg

    assert model_path_arg("hints") == str(HINT_MODEL) and model_path_arg("x.keras") == "x.keras"
    film, _ = hint_film
    hdir = tmp_path / "hints"
    hdir.mkdir()
    rgba = np.zeros((96, 160, 4), np.uint8)
    rgba[44:52, 76:84] = (40, 90, 220, 255)             # one 8-px blue hint
    _write_rgba(hdir / "hint_000003.png", rgba)
    out = tmp_path / "hinted.mkv"
    assert main(["colorize", str(film), str(out), "--model", "hints", "--hints", str(hdir)]) == 0
    assert "bento_hints" in capsys.readouterr().err
    blue_b = color.rgb_to_lab(np.array([[[40, 90, 220]]], np.uint8))[0, 0, 2]
    with open_media(out) as r:
        b = color.rgb_to_lab(r.read(3))[..., 2]
    assert abs(b[44:52, 76:84].mean() - blue_b) < 8 and b.mean() < blue_b / 2, (b.mean(), blue_b)
    assert main(["colorize", str(film), str(tmp_path / "x.mkv"), "--model", "hint"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "hint" in err[0] and "not found" in err[0], err


@pytest.mark.parametrize("case", ["wrong_size", "rgb", "unreadable", "beyond_end", "bad_name", "empty"])
def test_cli_bad_hint_files_one_line_exit_2(hint_film, tmp_path, capsys, case):
    import cv2

    from colorizer_app.cli import main

    film, model = hint_film
    hdir = tmp_path / "hints"
    hdir.mkdir()
    good = np.zeros((96, 160, 4), np.uint8)
    good[10:20, 10:20] = 255
    if case == "wrong_size":
        _write_rgba(hdir / "hint_000001.png", good[:50])
    elif case == "rgb":
        cv2.imwrite(str(hdir / "hint_000001.png"), good[..., :3])
    elif case == "unreadable":
        (hdir / "hint_000001.png").write_bytes(b"\x89PNG not really")
    elif case == "beyond_end":
        _write_rgba(hdir / "hint_000050.png", good)
    elif case == "bad_name":
        _write_rgba(hdir / "hint_1.png", good)
    out = tmp_path / "out.mkv"
    assert main(["colorize", str(film), str(out), "--model", str(model), "--size", "64", "--hints", str(hdir)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert not out.exists()
    expected = {"wrong_size": "the film is 160x96", "rgb": "not an RGBA image", "unreadable": "cannot read",
                "beyond_end": "beyond the end", "bad_name": "bad hint file name", "empty": "no hint images"}[case]
    assert expected in err


# ---------------------------------------------------------------- hint_arch="mix": a convex mix of spreads

def _in_triangle(out, c1, c2, tol=1e-4):
    """Each pixel of out (…, 2) as α·c1 + β·c2: inside the triangle gray, c1, c2 iff α, β ≥ 0 and α + β ≤ 1."""
    ab = np.linalg.solve(np.stack([c1, c2], 1), out.reshape(-1, 2).T)
    return bool((ab >= -tol).all() and (ab.sum(0) <= 1 + tol).all())


def test_mix_hint_generator_only_mixes_hint_colours_and_gray(tmp_path):
    from colorizer_app.core.ml.model import hint_arch

    model = build_generator(width=0.125, hints=True, hint_arch="mix")
    assert input_channels(model) == 4 and hint_arch(model) == "mix"
    assert hint_arch(build_generator(width=0.125, hints=True)) == "grid"
    rng = np.random.default_rng(0)
    x = np.zeros((2, 64, 64, 4), np.float32)
    x[:, :, :32, 0], x[:, :, 32:, 0] = -0.4, 0.6       # dark left half, light right half
    c1, c2 = np.array([0.5, 0.1], np.float32), np.array([-0.2, 0.6], np.float32)
    x[1, 10:12, 5:7, 1:] = (*c1, 1.0)
    x[1, 40:43, 55:58, 1:] = (*c2, 1.0)
    out = model.predict_on_batch(x)
    assert not out[0].any()                                  # no hint: gray, exactly
    assert _in_triangle(out[1], c1, c2)
    # a hint keeps its colour where it was painted, and the untrained mix is the edge-aware spread
    np.testing.assert_allclose(out[1, 10:12, 5:7], np.broadcast_to(c1, (2, 2, 2)), atol=0.01)
    np.testing.assert_allclose(out[1, 40:43, 55:58], np.broadcast_to(c2, (3, 3, 2)), atol=0.01)
    np.testing.assert_allclose(out[1, :, :28].mean((0, 1)), c1, atol=0.03)
    np.testing.assert_allclose(out[1, :, 36:].mean((0, 1)), c2, atol=0.03)
    # whatever the learnt logits, the output stays inside the hull: random logit-layer weights
    layer = model.get_layer("mix_logits")
    layer.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in layer.get_weights()])
    wild = model.predict_on_batch(x)
    assert not wild[0].any() and _in_triangle(wild[1], c1, c2)
    assert np.abs(wild - out).max() > 0.05                   # the logits do change the mix
    loaded = load_generator(save_model(model, tmp_path / "mix.keras"))   # safe_mode load
    np.testing.assert_allclose(loaded.predict_on_batch(x), wild, atol=1e-6)


def test_lightness_gate_stops_a_colour_at_a_lightness_edge(tmp_path):
    """One hint on a dark square: the mix alone tints the light surround (the only colour that
    reaches it); gated, the surround stays gray and the square keeps the colour to its far side.
    The gate survives a safe_mode save and load, and is refused for a non-mix generator."""
    from colorizer_app.core.ml.model import with_lightness_gate

    mix = build_generator(width=0.125, hints=True, hint_arch="mix")
    x = np.zeros((1, 64, 64, 4), np.float32)
    x[0, ..., 0] = 0.5                                        # light surround
    x[0, 16:48, 16:48, 0] = -0.4                              # dark square, ΔL 45
    x[0, 30:33, 40:43, 1:] = (-0.4, 0.35, 1.0)                 # a green hint near its right edge
    gated = with_lightness_gate(mix, 0.03, 2.0)
    plain, out = mix.predict_on_batch(x)[0], gated.predict_on_batch(x)[0]
    far_side, surround = np.s_[20:44, 18:24], np.s_[2:12, :]
    assert np.abs(plain[surround]).mean() > 0.2               # the mix alone: tinted
    assert np.abs(out[surround]).max() < 0.02                 # gated: gray
    np.testing.assert_allclose(out[far_side].mean((0, 1)), (-0.4, 0.35), atol=0.05)
    np.testing.assert_allclose(out[30:33, 40:43], plain[30:33, 40:43], atol=0.01)   # the hint itself
    loaded = load_generator(save_model(gated, tmp_path / "gated.keras"))
    np.testing.assert_allclose(loaded.predict_on_batch(x)[0], out, atol=1e-6)
    with pytest.raises(ValueError, match="mix"):
        with_lightness_gate(build_generator(width=0.125, hints=True), 0.03)


def test_mix_generator_skips_the_network_for_unhinted_frames():
    """A mix generator can only mix hint colours and gray: an unhinted frame is exactly what the
    network gives with empty planes (zero), without running it; hinted frames in the same batch
    still run, in their places."""
    model = build_generator(width=0.125, hints=True, hint_arch="mix")
    c = Colorizer(model, size=64, batch_size=2)
    assert c.gray_without_hints and not Colorizer(build_generator(width=0.125, hints=True),
                                                  size=64).gray_without_hints
    frames = [np.full((48, 64, 3), v, np.uint8) for v in (60, 120, 180)]
    runs = []
    real = c._run
    c._run = lambda batch: (runs.append(len(batch)), real(batch))[1]
    given = [None, [Hint(30, 20, 40.0, -30.0, 5)], []]
    out = c.predict_work(frames, given)
    assert runs == [1]                                           # one frame ran, not three
    assert not out[0][0].any() and not out[2][0].any()
    forced = model.predict_on_batch(hints.model_input(color.fit_working(
        color.luminance(frames[0]), 64)[0], None, None)[None].astype(np.float32))
    assert not forced.any()                                      # what the network would have said
    assert np.abs(out[1][0].astype(np.float32)[20, 30] - (40.0, -30.0)).max() < 2


def test_trainer_builds_a_mix_generator_and_refuses_a_grid_seed(tmp_path):
    from colorizer_app.core.ml.model import hint_arch
    from colorizer_app.core.ml.train import TrainConfig, Trainer

    cfg = TrainConfig(data="", out="", mode="mse", width=0.125, lr=3e-3, hints=True, hint_arch="mix", size=64)
    tr = Trainer(cfg)
    assert hint_arch(tr.gen) == "mix"
    rng = np.random.default_rng(0)
    for _ in range(3):
        X, Y, _ = _two_region_batch(rng, 4)
        tr.train_step(X, Y)
    tr.sync()
    assert np.abs(tr.gen.get_layer("mix_logits").get_weights()[0]).max() > 0   # gradients reach the logits
    grid = save_model(build_generator(width=0.125, hints=True), tmp_path / "grid.keras")
    with pytest.raises(ValueError, match="'grid' hint generator cannot seed a 'mix' one"):
        Trainer(TrainConfig(data="", out="", mode="mse", width=0.125, hints=True, hint_arch="mix",
                            init=str(grid)))


def test_guided_generator_starts_as_its_mix_seed_and_stays_convex(tmp_path):
    from colorizer_app.core.ml.model import hint_arch
    from colorizer_app.core.ml.train import TrainConfig, Trainer

    mix = build_generator(width=0.125, hints=True, hint_arch="mix")
    rng = np.random.default_rng(0)
    layer = mix.get_layer("mix_logits")
    layer.set_weights([rng.normal(0, 0.1, w.shape).astype(np.float32) for w in layer.get_weights()])
    seed = save_model(mix, tmp_path / "mix.keras")
    # the trainer seeds a guided generator from a mix one: same trunk and head, guide offset 0
    tr = Trainer(TrainConfig(data="", out="", mode="mse", width=0.125, lr=1e-2, hints=True,
                             hint_arch="guided", init=str(seed), size=64,
                             trainable="guide_offset,mix_logits", freeze_gray=True))
    guided = tr.gen
    assert hint_arch(guided) == "guided" and hint_arch(mix) == "mix"
    x = np.zeros((2, 64, 64, 4), np.float32)
    x[:, :, :32, 0], x[:, :, 32:, 0] = -0.4, 0.6
    c1, c2 = np.array([0.5, 0.1], np.float32), np.array([-0.2, 0.6], np.float32)
    x[1, 10:12, 5:7, 1:] = (*c1, 1.0)
    x[1, 40:43, 55:58, 1:] = (*c2, 1.0)
    np.testing.assert_allclose(guided.predict_on_batch(x), mix.predict_on_batch(x), atol=1e-6)
    for _ in range(3):
        X, Y, _ = _two_region_batch(rng, 4)
        tr.train_step(X, Y)
    tr.sync()
    assert np.abs(guided.get_layer("guide_offset").get_weights()[0]).max() > 0   # the guide learns
    # whatever the guide, the output mixes only hint colours and gray; safe_mode loads it
    off = guided.get_layer("guide_offset")
    off.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in off.get_weights()])
    wild = guided.predict_on_batch(x)
    assert not wild[0].any() and _in_triangle(wild[1], c1, c2)
    loaded = load_generator(save_model(guided, tmp_path / "guided.keras"))
    assert hint_arch(loaded) == "guided"
    np.testing.assert_allclose(loaded.predict_on_batch(x), wild, atol=1e-6)
