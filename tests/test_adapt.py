"""Learn the film (core.ml.adapt): the shipped model adapted to a dialogue scene's keyframes."""
import numpy as np
import pytest

from colorizer_app.core import color
from colorizer_app.core.ml.adapt import (
    AdaptCancelled,
    AdaptConfig,
    AdaptError,
    adapt,
    adapted_model_path,
    save_adapted,
)
from colorizer_app.core.ml.adapt_data import (
    Keyframe,
    augmented_crop,
    jitter_L,
    keyframes_from_refs,
    split_held_out,
    to_work,
)
from colorizer_app.core.ml.inference import Colorizer
from colorizer_app.core.ml.model import DEFAULT_MODEL, load_generator
from colorizer_app.core.ml.palette_transfer import PaletteTransfer
from tests.helpers.adapt_film import write_refs, write_scene
from tests.helpers.temporal_film import textured_rgb

SIZE = 128
FAST = dict(size=SIZE, crop=64, batch_size=4, eval_every=4, minutes=None)


@pytest.fixture(scope="module")
def base():
    return load_generator(DEFAULT_MODEL)


@pytest.fixture(scope="module")
def picture():
    return (textured_rgb(240, 320, 7) * 255 + 0.5).astype(np.uint8)


@pytest.fixture()
def scene(tmp_path, picture):
    film, frames, starts = write_scene(tmp_path, picture)
    return film, frames, starts


def _keyframe(frame, index=0):
    lab = color.rgb_to_lab(frame)
    return Keyframe(index, lab[..., 0], np.ascontiguousarray(lab[..., 1:]))


def test_palette_transfer_gives_each_lightness_its_colour():
    L = np.tile(np.linspace(0, 100, 200, dtype=np.float32), (20, 1))
    ab = np.dstack([np.where(L < 50, 30.0, -20.0), np.full_like(L, 10.0)]).astype(np.float32)
    pt = PaletteTransfer.from_keyframes([Keyframe(0, L, ab)])
    out = pt.ab_for(np.float32([[10, 90, 30]]))
    np.testing.assert_allclose(out[0, :, 1], 10.0, atol=0.5)
    assert out[0, 0, 0] > 28 and out[0, 1, 0] < -18 and out[0, 2, 0] > 28
    # levels no keyframe pixel has take their neighbours' colour
    sparse = PaletteTransfer.from_keyframes([Keyframe(0, np.float32([[20, 80]]), np.float32([[[10, 0], [30, 0]]]))])
    assert 10 < sparse.ab_for(np.float32([[50]]))[0, 0, 0] < 30
    with pytest.raises(ValueError):
        PaletteTransfer().ab_for(L)


def test_held_out_split_and_augmentation_keep_held_pixels_out(picture):
    rng = np.random.default_rng(0)
    few = split_held_out([to_work(_keyframe(picture), SIZE)])
    f = few[0]
    assert f.train_w[:, -10:].max() == 0 and f.held_w[:, -10:].min() == 1 and f.held_w[:, :10].max() == 0
    for _ in range(20):
        L, ab, w = augmented_crop(f, 64, rng)
        assert L.shape == (64, 64) and ab.shape == (64, 64, 2) and -1 <= L.min() and L.max() <= 1
    # lightness jitter: strength 0 leaves L as it is (the palette model's default), 1 changes it
    L = f.L.copy()
    np.testing.assert_allclose(jitter_L(L, rng, 0.0), L, atol=1e-4)
    assert np.abs(jitter_L(L, rng, 1.0) - L).mean() > 0.5
    many = split_held_out([to_work(_keyframe(picture, k), SIZE) for k in range(8)])
    assert [bool(x.held_w.any()) for x in many] == [False, False, False, True] * 2


def test_fine_tuning_learns_the_film_and_leaves_the_base_model_alone(base, picture, tmp_path):
    from tests.helpers.adapt_film import dialogue_frames

    frames, starts = dialogue_frames(picture)
    before = [w.copy() for w in base.get_weights()]
    seen = []
    result = adapt(base, [_keyframe(frames[0], 0), _keyframe(frames[starts[1]], starts[1])],
                   AdaptConfig(max_steps=24, palette_prior=False, **FAST), progress=seen.append)
    assert all(np.array_equal(a, b) for a, b in zip(before, base.get_weights()))
    assert result.improved and result.best_held < 0.7 * result.base_held
    assert [p.step for p in seen] == list(range(1, result.steps + 1))
    assert seen[-1].eta_s == 0 and all(p.held_loss is not None for p in seen if p.step % 4 == 0)
    # a shot without keyframes (the third, a wide shot again) gets closer to the truth
    late = frames[starts[2] + 3]
    truth = color.rgb_to_lab(late)[..., 1:]
    errs = []
    for model in (base, result.model):
        col = Colorizer(model, size=SIZE)
        ab_work, box = col.predict_work([late])[0]
        errs.append(float(np.abs(col.ab_full(late, ab_work.astype(np.float32), box) - truth).mean()))
    assert errs[1] < errs[0] - 1.0, errs
    # a model of its own: other cache key, atomic file in the film's sidecar, same pictures back
    assert Colorizer(result.model, size=SIZE).model_id != Colorizer(base, size=SIZE).model_id
    path = adapted_model_path(tmp_path / "film.mp4", result.model)
    assert path.parent == tmp_path / "film.mp4.bento" / "models"
    save_adapted(result.model, path)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    x = np.zeros((1, 64, 64, 1), np.float32) + 0.2
    np.testing.assert_allclose(load_generator(path).predict_on_batch(x), result.model.predict_on_batch(x), atol=1e-5)


def _work_palette(kfs):
    """The palette adapt() ends with: all keyframe pixels at the working size."""
    pt = PaletteTransfer()
    for f in split_held_out([to_work(k, SIZE) for k in kfs]):
        pt.add(f.L, f.ab * color.AB_SCALE, f.train_w + f.held_w)
    return pt


def test_early_stop_keeps_the_best_weights(base, picture):
    kf = [_keyframe(picture)]
    result = adapt(base, kf, AdaptConfig(max_steps=60, patience=1, lr=3e-3, **FAST), snapshot_s=[0.0, 1e9])
    held = [h for _, _, h in result.history if h is not None]
    assert result.best_held == min(held) <= result.base_held
    # snapshots for curves over minutes: the best weights so far at each mark (the start before any
    # gain: the palette transfer of all keyframes)
    assert [s[0] for s in result.snapshots] == [0.0, 1e9]
    assert result.snapshots[0][1] == 0 and result.snapshots[1][1] == result.best_step
    result.model.set_weights(result.snapshots[0][3])
    L = np.linspace(-1, 1, 64 * 64, dtype=np.float32).reshape(1, 64, 64, 1)
    np.testing.assert_allclose(result.model.predict_on_batch(L)[0] * color.AB_SCALE,
                               _work_palette(kf).ab_for((L[0, ..., 0] + 1) * 50), atol=2e-3)
    if result.stopped == "early stop":
        assert result.steps < 60
    else:
        assert result.stopped == "steps"


def test_cancel_and_bad_budgets(base, picture):
    kf = [_keyframe(picture)]
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 3

    before = [w.copy() for w in base.get_weights()]
    for palette_prior in (True, False):
        calls.clear()
        with pytest.raises(AdaptCancelled):
            adapt(base, kf, AdaptConfig(max_steps=50, palette_prior=palette_prior, **FAST), cancel=cancel)
    assert all(np.array_equal(a, b) for a, b in zip(before, base.get_weights()))
    for cfg in (AdaptConfig(minutes=0), AdaptConfig(minutes=None, max_steps=0), AdaptConfig(minutes=None)):
        with pytest.raises(AdaptError):
            adapt(base, kf, cfg)
    with pytest.raises(AdaptError, match="no keyframes"):
        adapt(base, [], AdaptConfig(max_steps=1, **FAST))


def test_refs_are_checked_against_the_film(scene, tmp_path, picture):
    import cv2

    film, frames, starts = scene
    good = write_refs(tmp_path / "good", frames, [0, starts[1]])
    kfs = keyframes_from_refs(film, good)
    assert [k.index for k in kfs] == [0, starts[1]] and kfs[0].L.shape == (96, 128)
    big = tmp_path / "big"
    big.mkdir()
    cv2.imwrite(str(big / "ref_000000.png"), cv2.resize(frames[0], (256, 192)))
    with pytest.raises(AdaptError, match="256x192, the film is 128x96"):
        keyframes_from_refs(film, big)
    other = (textured_rgb(96, 128, 99) * 255).astype(np.uint8)
    alien = write_refs(tmp_path / "alien", [other], [0])
    with pytest.raises(AdaptError, match="does not match frame 0"):
        keyframes_from_refs(film, alien)
    (tmp_path / "empty").mkdir()
    with pytest.raises(AdaptError, match="no reference stills"):
        keyframes_from_refs(film, tmp_path / "empty")


def test_a_hint_model_adapts_too(picture):
    from colorizer_app.core.ml.model import build_generator, input_channels

    hint_gen = build_generator(width=0.125, hints=True)
    result = adapt(hint_gen, [_keyframe(picture)], AdaptConfig(max_steps=4, hint_prob=1.0, **FAST))
    assert input_channels(result.model) == 4 and result.steps == 4
    # hint generators are fine-tuned as they are: no palette wrapped around them
    assert "palette" not in {layer.name for layer in result.model.layers}
    col = Colorizer(result.model, size=SIZE)
    assert col.takes_hints and col.colorize([picture])[0].shape == picture.shape


def test_palette_layer_reads_the_curve_as_the_palette_transfer_does(tmp_path):
    import keras

    from colorizer_app.core.ml.palette_layer import PaletteLookup

    rng = np.random.default_rng(3)
    L = rng.uniform(0, 100, (40, 50)).astype(np.float32)
    L[0, :6] = [0, 0.5, 1.6, 98.3, 99.9, 100]           # both ends: clipped to the first/last level
    ab = np.dstack([np.sin(L / 9) * 40, L * 0.5 - 25]).astype(np.float32)
    L[5:, 20:] = np.clip(L[5:, 20:], 0, 60)             # levels above 60 nearly empty: interpolated
    pt = PaletteTransfer.from_keyframes([Keyframe(0, L, ab)])
    inp = keras.Input((None, None, 1))
    layer = PaletteLookup(name="palette")
    model = keras.Model(inp, layer(inp))
    layer.set_palette(pt)
    x = (L / 50.0 - 1.0)[None, ..., None]
    np.testing.assert_allclose(model.predict_on_batch(x)[0] * color.AB_SCALE, pt.ab_for(L), atol=1e-3)
    path = tmp_path / "layer.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)        # registered: no custom_objects
    np.testing.assert_allclose(loaded.predict_on_batch(x), model.predict_on_batch(x), atol=1e-7)


def test_adapted_model_starts_as_the_palette_transfer_and_loads_everywhere(base, picture, tmp_path):
    from colorizer_app.core.ml.adapt_prior import palette_generator
    from colorizer_app.core.ml.model import save_model

    kf = _keyframe(picture)
    pt = PaletteTransfer.from_keyframes([kf])
    before = [w.copy() for w in base.get_weights()]
    model = palette_generator(base, pt)
    assert all(np.array_equal(a, b) for a, b in zip(before, base.get_weights()))
    L = np.linspace(-1, 1, 64 * 64, dtype=np.float32).reshape(1, 64, 64, 1)
    np.testing.assert_allclose(model.predict_on_batch(L)[0] * color.AB_SCALE, pt.ab_for((L[0, ..., 0] + 1) * 50),
                               atol=1e-3)
    # the correction network is the base U-Net (its weights; the palette planes and the output start at 0)
    body = model.get_layer("correction")
    first = body.get_layer("down0_conv").get_weights()[0]
    np.testing.assert_array_equal(first[:, :, :1], base.get_layer("down0_conv").get_weights()[0])
    assert not first[:, :, 1:].any() and not any(w.any() for w in body.get_layer("ab").get_weights())
    np.testing.assert_array_equal(body.get_layer("up2_deconv").get_weights()[0],
                                  base.get_layer("up2_deconv").get_weights()[0])
    path = save_model(model, tmp_path / "film.keras")
    loaded = load_generator(path)                                  # safe_mode, 1 channel in, ab out
    np.testing.assert_allclose(loaded.predict_on_batch(L), model.predict_on_batch(L), atol=1e-6)
    col = Colorizer(str(path), size=SIZE)
    assert not col.takes_hints and col.model_id != Colorizer(base, size=SIZE).model_id
    assert col.colorize([picture])[0].shape == picture.shape


def test_palette_adaptation_never_ends_below_its_start_and_beats_the_base(base, picture, tmp_path):
    from tests.helpers.adapt_film import dialogue_frames

    frames, starts = dialogue_frames(picture)
    kfs = [_keyframe(frames[0], 0), _keyframe(frames[starts[1]], starts[1])]
    result = adapt(base, kfs, AdaptConfig(max_steps=16, **FAST))
    assert "palette" in {layer.name for layer in result.model.layers}
    assert result.best_held <= result.base_held
    assert result.improved == (result.best_step > 0)
    # a shot without keyframes gets closer to the truth than the base model gives
    late = frames[starts[2] + 3]
    truth = color.rgb_to_lab(late)[..., 1:]
    errs = []
    for model in (base, result.model):
        col = Colorizer(model, size=SIZE)
        ab_work, box = col.predict_work([late])[0]
        errs.append(float(np.abs(col.ab_full(late, ab_work.astype(np.float32), box) - truth).mean()))
    assert errs[1] < errs[0] - 1.0, errs
    save_adapted(result.model, adapted_model_path(tmp_path / "film.mp4", result.model))
    assert Colorizer(str(adapted_model_path(tmp_path / "film.mp4", result.model)), size=SIZE).model_id == \
        Colorizer(result.model, size=SIZE).model_id
