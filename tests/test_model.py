import numpy as np
import pytest
from keras import layers

from colorizer_app.core.ml.inference import Colorizer
from colorizer_app.core.ml.model import (
    ModelError,
    build_discriminator,
    build_generator,
    load_generator,
    save_model,
)


@pytest.fixture(scope="module")
def tiny_gen():
    return build_generator(width=0.125)


def test_generator_is_the_study_unet_and_fully_convolutional(tiny_gen):
    for size in (64, 128):
        out = tiny_gen.predict_on_batch(np.zeros((1, size, size, 1), np.float32))
        assert out.shape == (1, size, size, 2)
    convs = [layer for layer in tiny_gen.layers if isinstance(layer, (layers.Conv2D, layers.Conv2DTranspose))]
    assert all(layer.kernel_size == (4, 4) and layer.strides == (2, 2) for layer in convs)
    assert len([layer for layer in tiny_gen.layers if isinstance(layer, layers.Dropout)]) == 2
    assert all(layer.rate == 0.3 for layer in tiny_gen.layers if isinstance(layer, layers.Dropout))
    assert all(abs(layer.negative_slope - 0.2) < 1e-6
               for layer in tiny_gen.layers if isinstance(layer, layers.LeakyReLU))
    assert tiny_gen.layers[-1].activation.__name__ == "tanh"
    full = build_generator(width=1.0)
    assert [layer.filters for layer in full.layers if isinstance(layer, layers.Conv2D)] == [64, 128, 256, 512, 512, 512]


def test_patchgan_gives_8x8_logits_for_64x64():
    d = build_discriminator(width=0.125)
    assert d.predict_on_batch(np.zeros((2, 64, 64, 3), np.float32)).shape == (2, 8, 8, 1)


def test_save_load_round_trip_and_clear_errors(tmp_path, tiny_gen):
    path = save_model(tiny_gen, tmp_path / "g.keras")
    x = np.random.default_rng(0).uniform(-1, 1, (1, 64, 64, 1)).astype(np.float32)
    np.testing.assert_allclose(load_generator(path).predict_on_batch(x), tiny_gen.predict_on_batch(x), atol=1e-6)

    truncated = tmp_path / "cut.keras"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ModelError, match="cut.keras"):
        load_generator(truncated)
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(ModelError, match="junk.keras"):
        load_generator(junk)
    wrong = save_model(build_discriminator(width=0.125), tmp_path / "disc.keras")
    with pytest.raises(ModelError, match="wrong shape"):
        load_generator(wrong)
    with pytest.raises(ModelError, match="not found"):
        load_generator(tmp_path / "missing.keras")


def test_colorizer_is_deterministic_and_batched(tiny_gen):
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 255, (90, 160, 3), dtype=np.uint8) for _ in range(5)]
    c = Colorizer(tiny_gen, size=64, batch_size=4)
    a = c.predict_work(frames)
    b = c.predict_work(frames[::-1])[::-1]
    for (x, bx), (y, by) in zip(a, b):
        assert bx == by
        np.testing.assert_allclose(x.astype(np.float32), y.astype(np.float32), atol=0.05)
    out = c.colorize(frames[:1])[0]
    assert out.shape == frames[0].shape and out.dtype == np.uint8
    # the colorized frame keeps the original L
    from colorizer_app.core import color
    assert np.abs(color.luminance(out) - color.luminance(frames[0])).mean() < 1.5
    assert Colorizer(tiny_gen, size=128).model_id != c.model_id


def test_shipped_model_loads_and_colours_within_budget():
    from colorizer_app.core.ml.model import DEFAULT_MODEL

    assert DEFAULT_MODEL.exists() and DEFAULT_MODEL.stat().st_size <= 25 * 2 ** 20
    c = Colorizer(size=256)  # the default model, as the app and CLI load it
    assert c.model_path == DEFAULT_MODEL
    # a gray sky-over-ground frame: the shipped model gives it real (non-zero) chroma, and the same
    # chroma twice
    frame = np.zeros((180, 320, 3), np.uint8)
    frame[:90] = np.linspace(150, 230, 320)[None, :, None]
    frame[90:] = 70
    (ab1, box), = c.predict_work([frame])
    (ab2, _), = c.predict_work([frame])
    assert np.array_equal(ab1, ab2)
    assert np.abs(ab1.astype(np.float32)).mean() > 1.0
