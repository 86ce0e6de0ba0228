"""Dataset building, both training recipes with resume, and evaluation — tiny sizes, real code."""
import csv
import json

import cv2
import numpy as np
import pytest

from colorizer_app.cli import main
from colorizer_app.core.ml.dataset import Augment, assign_splits, build_dataset
from colorizer_app.core.ml.model import load_generator
from tests.helpers import clips


def photo(path, seed, gray=False):
    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.uniform(0, 255, (6, 8, 3)).astype(np.uint8), (160, 120), interpolation=cv2.INTER_CUBIC)
    cv2.rectangle(img, (20, 20), (70, 90), tuple(int(v) for v in rng.integers(0, 255, 3)), -1)
    if gray:
        img = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    cv2.imwrite(str(path), img)
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    for k in range(9):
        photo(src / f"photo{k}.png", k)
    photo(src / "already_gray.png", 99, gray=True)
    # a colour video: 24 frames at 24 fps sampled at 8 fps → frames 0, 3, 6, ...; a static stretch
    # of identical frames must collapse to one
    frames = [clips.synthetic_frame(i if i < 12 else 12, (96, 64)) for i in range(24)]
    clips.write_frames(src / "show.mkv", iter(frames), codec="ffv1", audio=False)
    out = tmp_path_factory.mktemp("set")
    manifest = build_dataset([src], out, fps=8, size=128, log=lambda *a: None)
    return out, manifest


def test_dataset_split_by_source_and_filters(dataset):
    out, manifest = dataset
    by = {m["file"].split("/")[-1]: m for m in manifest["sources"]}
    assert by["already_gray.png"]["frames"] == 0 and by["already_gray.png"]["dropped_gray"] == 1
    video = by["show.mkv"]
    assert video["dropped_duplicates"] >= 2 and 2 <= video["frames"] <= 5
    # every frame of one source lands in one split only
    for split in ("train", "val", "test"):
        for f in (out / split).glob("*.jpg"):
            assert by[f.name.split("__")[0] + (".mkv" if f.name.startswith("show") else ".png")]["split"] == split
    assert {m["split"] for m in manifest["sources"]} == {"train", "val", "test"}
    assert json.loads((out / "manifest.json").read_text())["fps"] == 8


def test_split_is_stable_when_sources_are_added():
    a = assign_splits([f"s{k}" for k in range(20)])
    b = assign_splits([f"s{k}" for k in range(21)])
    moved = [n for n in a if a[n] != b[n]]
    assert len(moved) <= 3


def test_augment_gives_square_crops_of_the_size():
    rng = np.random.default_rng(0)
    img = np.random.default_rng(1).integers(0, 255, (120, 200, 3), dtype=np.uint8)
    for _ in range(10):
        assert Augment(64)(img, rng).shape == (64, 64, 3)


def test_mse_then_gan_with_resume_curves_and_evaluate(dataset, tmp_path):
    data = str(dataset[0])
    mse = tmp_path / "mse.keras"
    common = ["--data", data, "--size", "64", "--batch-size", "2", "--width", "0.125", "--steps-per-epoch", "3"]
    assert main(["train", *common, "--mode", "mse", "--steps", "4", "--out", str(mse)]) == 0
    gan = tmp_path / "gan.keras"
    assert main(["train", *common, "--mode", "gan", "--init", str(mse), "--steps", "3", "--out", str(gan)]) == 0
    # resume: the same command with more steps continues from the checkpoint
    assert main(["train", *common, "--mode", "gan", "--init", str(mse), "--steps", "6", "--out", str(gan)]) == 0
    run = tmp_path / "gan.run"
    rows = list(csv.DictReader(open(run / "curves.csv")))
    assert [r["step"] for r in rows] == ["3", "6"]
    assert all(float(r["d_loss"]) > 0 and float(r["g_total"]) > float(r["g_mse"]) for r in rows)
    assert json.loads((run / "checkpoint" / "state.json").read_text())["step"] == 6
    assert sorted(p.name for p in (run / "figures").iterdir()) == ["step_0000003.png", "step_0000006.png"]
    assert any((run / "tensorboard").iterdir())
    load_generator(gan)
    fig = tmp_path / "cmp.png"
    assert main(["evaluate", "--model", f"mse={mse}", "--model", f"gan={gan}", "--data", data,
                 "--size", "64", "--figure", str(fig), "--json", str(tmp_path / "r.json")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert set(report) == {"gray", "mse", "gan"} and report["gray"]["colourfulness_ratio"] < 0.01
    assert cv2.imread(str(fig)) is not None


def test_train_rejects_bad_input(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path), "--steps", "1", "--out", str(tmp_path / "m.keras")]) == 2
    assert main(["train", "--data", str(tmp_path), "--steps", "1", "--size", "100",
                 "--out", str(tmp_path / "m.keras")]) == 2
    assert "multiple of 64" in capsys.readouterr().err


def test_only_truly_monochrome_pictures_are_dropped_and_the_reason_is_said(tmp_path):
    from colorizer_app.core import color
    from colorizer_app.core.ml.dataset import monochrome_reason

    # a muted sunset: mostly near-neutral sky, a warm band low down (mean chroma ≈ 4)
    lab = np.zeros((120, 160, 3), np.float32)
    lab[..., 0] = np.linspace(80, 20, 120)[:, None]
    lab[90:105, :, 1:] = (14, 20)
    lab[:90, :, 1:] = (1.0, 1.5)
    sunset = color.to_uint8(color.lab_to_rgb(lab))
    chroma = np.hypot(*np.moveaxis(color.rgb_to_lab(sunset)[..., 1:], -1, 0))
    assert 2.5 < chroma.mean() < 6
    assert monochrome_reason(sunset) is None
    gray = np.repeat(sunset[..., :1], 3, axis=2)
    assert monochrome_reason(gray) == "gray (R = G = B)"
    lab[..., 1:] = (0.8, -0.6)                          # a faint cast everywhere: still monochrome
    cast = color.to_uint8(color.lab_to_rgb(lab))
    assert "near-zero chroma" in monochrome_reason(cast)
    for name, img in (("sunset", sunset), ("gray", gray), ("cast", cast)):
        cv2.imwrite(str(tmp_path / f"{name}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    lines = []
    manifest = build_dataset([tmp_path], tmp_path / "set", size=128, log=lines.append)
    kept = {m["file"].split("/")[-1]: m["frames"] for m in manifest["sources"]}
    assert kept == {"cast.png": 0, "gray.png": 0, "sunset.png": 1}
    assert any("dropped gray.png: gray (R = G = B)" in s for s in lines)
    assert any("dropped cast.png: near-zero chroma" in s for s in lines)


def test_hint_batches_carry_hints_and_video_like_noise(dataset):
    from colorizer_app.core.ml.dataset import batches, film_like_L

    X, ab = next(batches(dataset[0], "train", 64, 6, seed=3, hints=True, workers=1))
    assert X.shape == (6, 64, 64, 4) and ab.shape == (6, 64, 64, 2)
    mask = X[..., 3]
    assert set(np.unique(mask)) <= {0.0, 1.0}
    on = mask > 0
    assert np.all(X[..., 1:3][~on] == 0)
    # hint colours are true colours (patch means), not noise
    assert np.abs(X[..., 1:3][on] - ab[on]).mean() < 0.1
    rng = np.random.default_rng(0)
    L = np.tile(np.linspace(10, 90, 64, dtype=np.float32), (64, 1))
    noisy = [film_like_L(L, rng) for _ in range(8)]
    assert all(n.shape == L.shape and 0 <= n.min() and n.max() <= 100 for n in noisy)
    assert np.mean([np.abs(n - L).mean() for n in noisy]) > 0.3


def test_hint_gan_warm_started_from_a_plain_model(dataset, tmp_path):
    from colorizer_app.core.ml.model import input_channels

    data = str(dataset[0])
    common = ["--data", data, "--size", "64", "--batch-size", "2", "--width", "0.125", "--steps-per-epoch", "2"]
    plain = tmp_path / "plain.keras"
    assert main(["train", *common, "--mode", "mse", "--steps", "1", "--out", str(plain)]) == 0
    hint = tmp_path / "hint.keras"
    assert main(["train", *common, "--hints", "--mode", "gan", "--init", str(plain), "--steps", "2",
                 "--out", str(hint)]) == 0
    rows = list(csv.DictReader(open(tmp_path / "hint.run" / "curves.csv")))
    assert float(rows[-1]["d_loss"]) > 0 and float(rows[-1]["g_adv"]) > 0
    assert input_channels(load_generator(hint)) == 4
    # a hint model cannot seed a plain one: one clear line, exit 2
    assert main(["train", *common, "--mode", "mse", "--init", str(hint), "--steps", "1",
                 "--out", str(tmp_path / "back.keras")]) == 2


def test_uniform_hint_sampling_is_sparse_small_and_never_none():
    from colorizer_app.core.ml.dataset import hint_sample

    rng = np.random.default_rng(0)
    img = cv2.resize(np.random.default_rng(1).integers(0, 255, (8, 8, 3), dtype=np.uint8), (256, 256))
    counts, sides = [], []
    for _ in range(40):
        X, ab = hint_sample(img, rng, film_like=False, sampling="uniform")
        mask = X[..., 3] > 0
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
        assert n > 1                                          # never a sample without hints
        counts.append(n - 1)
        sides += list(stats[1:, cv2.CC_STAT_WIDTH])
    assert max(counts) <= 50 and min(counts) <= 3 and max(counts) >= 15   # 1-50, log-uniform
    assert max(sides) <= 8 and np.median(sides) <= 4                    # small patches (2-4 px, overlaps aside)
    with pytest.raises(ValueError, match="hint sampling"):
        hint_sample(img, rng, film_like=False, sampling="dense")


def test_head_only_training_freezes_the_trunk_and_the_gray_candidate(dataset, tmp_path):
    from colorizer_app.core.ml.hint_mix import CANDIDATES

    data = str(dataset[0])
    common = ["--data", data, "--size", "64", "--batch-size", "2", "--width", "0.125", "--steps-per-epoch", "3",
              "--hints", "--hint-arch", "mix", "--hint-sampling", "uniform", "--lr", "1e-2"]
    start = tmp_path / "start.keras"
    assert main(["train", *common, "--mode", "mse", "--steps", "1", "--out", str(start)]) == 0
    head = tmp_path / "head.keras"
    assert main(["train", *common, "--mode", "mse", "--init", str(start), "--steps", "3",
                 "--trainable", "mix_logits", "--freeze-gray", "--out", str(head)]) == 0
    a, b = load_generator(start), load_generator(head)
    for la, lb in zip(a.layers, b.layers):
        for wa, wb in zip(la.get_weights(), lb.get_weights()):
            if la.name != "mix_logits":
                np.testing.assert_array_equal(wa, wb, err_msg=la.name)   # trunk, incl. batch-norm stats
    (ka, ba), (kb, bb) = a.get_layer("mix_logits").get_weights(), b.get_layer("mix_logits").get_weights()
    gray = CANDIDATES.index("gray")
    assert np.abs(kb - ka).max() > 0 and np.abs(bb - ba)[:gray].max() > 0    # the head learnt
    np.testing.assert_array_equal(kb[:, :, gray], ka[:, :, gray])
    assert bb[gray] == ba[gray]
    # one clear line for options that cannot apply
    assert main(["train", *common, "--mode", "mse", "--steps", "1", "--trainable", "nothing_named_so",
                 "--out", str(tmp_path / "x.keras")]) == 2
    assert main(["train", "--data", data, "--size", "64", "--batch-size", "2", "--width", "0.125", "--hints",
                 "--freeze-gray", "--mode", "mse", "--steps", "1", "--out", str(tmp_path / "y.keras")]) == 2
