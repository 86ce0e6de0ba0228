"""Hint-guided colorization against the true colours, next to the gray and no-learning baselines.

    python benchmarks/bench_hints.py [--model M ...] [--photos data/hint_set/test] [--videos data/val_video]
                                     [--per-clip 6] [--counts 0,1,5,10,50] [--size 256] [--json OUT]

Footage: the validation clips (data/val_video, resources/data/val_video_sources.json: real colour
video, never trained on), `--per-clip` frames each evenly spaced, made gray; and held-out
photographs (a split folder of a built set that no model trained on). For each frame and hint
count, hints are 5×5 film-pixel patches at seeded random positions, each the mean true ab of its
patch, the same for every method:
- gray: the film's L, no chroma;
- spread: the no-learning joint-bilateral spread of the same hints (core.ml.spread) at the working
  size, upsampled like the network's chroma;
- each model: core.ml.inference.Colorizer with the hints (a plain model gets them spread over its
  output, as the app does).
Reported: mean PSNR (dB) per hint count, and the colourfulness ratio at 0 hints. Then the time
from hints to a recoloured working frame (rasterise + predict at batch 1 + recombine at the
working size), median of 20, and the CPU time it took: this machine is shared.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from colorizer_app.core import color, metrics
from colorizer_app.core.media import open_media  # noqa: E402
from colorizer_app.core.ml import hints, spread  # noqa: E402
from colorizer_app.core.ml.inference import Colorizer  # noqa: E402

PATCH = 5


def clip_frames(path: Path, n: int) -> list[np.ndarray]:
    with open_media(path) as r:
        count = r.info.frame_count
        idx = np.linspace(0, count - 1, n + 2)[1:-1].round().astype(int)
        return [np.ascontiguousarray(r.read(int(i))[..., :3]) for i in idx]


def load_photos(folder: Path, max_side: int = 720) -> list[np.ndarray]:
    import cv2

    out = []
    for p in sorted(folder.glob("*.jpg")) + sorted(folder.glob("*.png")):
        rgb = cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
        s = max_side / max(rgb.shape[:2])
        if s < 1:
            rgb = cv2.resize(rgb, (round(rgb.shape[1] * s), round(rgb.shape[0] * s)), interpolation=cv2.INTER_AREA)
        out.append(rgb)
    return out


def sample_true_hints(rgb: np.ndarray, n: int, seed: int) -> list[hints.Hint]:
    """n hints: 5×5 patches at seeded random positions, colour = mean true ab of the patch."""
    rng = np.random.default_rng(seed)
    ab = color.rgb_to_lab(rgb)[..., 1:]
    h, w = ab.shape[:2]
    out = []
    for _ in range(n):
        y, x = int(rng.integers(PATCH // 2, h - PATCH // 2)), int(rng.integers(PATCH // 2, w - PATCH // 2))
        a, b = ab[y - 2:y + 3, x - 2:x + 3].reshape(-1, 2).mean(0)
        out.append(hints.Hint(x, y, float(a), float(b), PATCH))
    return out


def spread_baseline(rgb: np.ndarray, hs: list[hints.Hint], size: int) -> np.ndarray:
    L = color.luminance(rgb)
    L_work, box = color.fit_working(L, size)
    hab, mask = hints.rasterize(hs, box)
    ab, _ = spread.spread((L_work + 1.0) * 50.0, hab * color.AB_SCALE, mask)
    return color.to_uint8(color.recombine(L, color.upsample_ab(ab, box, L)))


def gray(rgb: np.ndarray) -> np.ndarray:
    return metrics.gray_baseline(rgb)


def evaluate(frames: dict[str, list[np.ndarray]], models: dict[str, Colorizer], counts, size: int) -> dict:
    """{set: {method: {count: mean PSNR}, "colourfulness": {method: ratio at 0 hints}}}."""
    report = {}
    for set_name, imgs in frames.items():
        res: dict = {"frames": len(imgs)}
        zero_outputs: dict[str, list] = {}
        for n in counts:
            per: dict[str, list[float]] = {}
            for k, rgb in enumerate(imgs):
                hs = sample_true_hints(rgb, n, seed=1000 * k + n)
                outs = {"gray": gray(rgb), "spread": spread_baseline(rgb, hs, size) if n else gray(rgb)}
                for name, c in models.items():
                    outs[name] = c.colorize([rgb], hints=[hs] if n else None)[0]
                for name, o in outs.items():
                    per.setdefault(name, []).append(metrics.psnr(o, rgb))
                    if n == 0:
                        zero_outputs.setdefault(name, []).append(o)
            for name, v in per.items():
                res.setdefault(name, {})[n] = float(np.mean(v))
        res["colourfulness"] = {name: metrics.colourfulness_ratio(o, imgs) for name, o in zero_outputs.items()}
        report[set_name] = res
    return report


def latency(c: Colorizer, rgb: np.ndarray, n_hints: int = 10, runs: int = 20) -> tuple[float, float]:
    """Median wall ms and mean CPU ms from hints to a recoloured working-size frame (batch 1)."""
    hs = sample_true_hints(rgb, n_hints, seed=7)
    L_work, box = color.fit_working(color.luminance(rgb), c.size)
    L_units = (L_work + 1.0) * 50.0
    c.model.predict_on_batch(np.zeros((1, c.size, c.size, 4 if c.takes_hints else 1), np.float32))
    walls, cpus = [], []
    for _ in range(runs):
        t, p = time.perf_counter(), time.process_time()
        hab, mask = hints.rasterize(hs, box)
        x = hints.model_input(L_work, hab, mask)[None] if c.takes_hints else L_work[None, ..., None]
        ab = np.asarray(c.model.predict_on_batch(x.astype(np.float32)))[0] * color.AB_SCALE
        if not c.takes_hints:
            ab = spread.spread_over(ab, L_units, hab * color.AB_SCALE, mask)
        color.to_uint8(color.recombine(L_units, ab))
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - p)
    return 1000 * float(np.median(walls)), 1000 * float(np.mean(cpus))


def print_report(report: dict, counts) -> None:
    for set_name, res in report.items():
        print(f"\n{set_name} ({res['frames']} frames) — PSNR dB by number of hints")
        print(f"{'method':<24}" + "".join(f"{n:>8}" for n in counts) + f"{'colourful@0':>13}")
        for name, row in res.items():
            if name in ("frames", "colourfulness"):
                continue
            print(f"{name:<24}" + "".join(f"{row[n]:8.2f}" for n in counts)
                  + f"{res['colourfulness'].get(name, float('nan')):13.2f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", help="NAME=PATH or PATH (default: the shipped model)")
    ap.add_argument("--photos", default="data/hint_set/test")
    ap.add_argument("--videos", default="data/val_video")
    ap.add_argument("--per-clip", type=int, default=6)
    ap.add_argument("--counts", default="0,1,5,10,50")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    counts = [int(c) for c in a.counts.split(",")]
    models = {}
    for spec in a.model or [None]:
        name, _, path = (spec or "").rpartition("=") if spec and "=" in spec else (None, "", spec)
        c = Colorizer(path, size=a.size, batch_size=1)
        models[name or c.model_name] = c
    frames = {}
    vids = sorted(p for p in Path(a.videos).glob("*") if p.suffix.lower() in (".mpg", ".mp4", ".avi", ".mkv"))
    if vids:
        frames["validation clips"] = [f for v in vids for f in clip_frames(v, a.per_clip)]
    if a.photos and Path(a.photos).is_dir():
        frames[f"photos ({a.photos})"] = load_photos(Path(a.photos))
    if not frames:
        print("no footage: gather it with scripts/gather_hint_data.py", file=sys.stderr)
        return 2
    report = evaluate(frames, models, counts, a.size)
    print_report(report, counts)
    probe = next(iter(frames.values()))[0]
    report["latency_ms"] = {}
    for name, c in models.items():
        wall, cpu = latency(c, probe)
        report["latency_ms"][name] = {"median_wall": wall, "mean_cpu": cpu}
        print(f"\n{name}: hints → recoloured {a.size}-px frame: median {wall:.0f} ms wall, {cpu:.0f} ms CPU (10 hints)")
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
