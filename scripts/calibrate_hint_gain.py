#!/usr/bin/env python3
"""Choose a hint generator's no-hint chroma gain on validation footage only.

    python scripts/calibrate_hint_gain.py MODEL.keras [--videos data/val_video] [--photos data/hint_set/val]
                                          [--gains 1,0.8,0.6,0.5,0.4] [--per-clip 3]

With no hints a model trained on a few hundred photos guesses colours, and a wrong guess costs
PSNR: the gain scales its chroma when a frame has no hint at all (core.ml.model.gate_no_hint_gain;
hinted frames keep the full output). Prints, per gain, PSNR next to the gray baseline and the
colourfulness ratio on the validation clips and photos, and PSNR at 10 hints next to the
no-learning spread; names the largest PSNR at >= gray with colourfulness >= 0.6 on the clips.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--videos", default="data/val_video")
    ap.add_argument("--photos", default="data/hint_set/val")
    ap.add_argument("--gains", default="1,0.8,0.6,0.5,0.4,0.3")
    ap.add_argument("--per-clip", type=int, default=3)
    ap.add_argument("--size", type=int, default=256)
    a = ap.parse_args()
    from bench_hints import clip_frames, load_photos, sample_true_hints, spread_baseline

    from colorizer_app.core import color, metrics
    from colorizer_app.core.ml.inference import Colorizer

    c = Colorizer(a.model, size=a.size, batch_size=1)
    gains = [float(g) for g in a.gains.split(",")]
    sets = {"clips": [f for v in sorted(Path(a.videos).glob("*")) for f in clip_frames(v, a.per_clip)],
            "photos": load_photos(Path(a.photos))}
    best = None
    for name, imgs in sets.items():
        gray = np.mean([metrics.psnr(metrics.gray_baseline(f), f) for f in imgs])
        preds = [c.predict_work([f])[0] for f in imgs]
        print(f"{name}: {len(imgs)} frames, gray {gray:.2f} dB")
        for g in gains:
            outs = []
            for f, (ab, box) in zip(imgs, preds):
                L = color.luminance(f)
                outs.append(color.to_uint8(color.recombine(L, color.upsample_ab(ab.astype(np.float32) * g, box, L))))
            p = np.mean([metrics.psnr(o, f) for o, f in zip(outs, imgs)])
            cr = metrics.colourfulness_ratio(outs, imgs)
            print(f"  gain {g:.2f}: PSNR {p:.2f} ({p - gray:+.2f})  colourfulness {cr:.2f}")
            if name == "clips" and p >= gray and cr >= 0.6 and (best is None or p > best[1]):
                best = (g, p)
        net10 = np.mean([metrics.psnr(c.colorize([f], hints=[sample_true_hints(f, 10, 1000 * k + 10)])[0], f)
                         for k, f in enumerate(imgs)])
        spr10 = np.mean([metrics.psnr(spread_baseline(f, sample_true_hints(f, 10, 1000 * k + 10), a.size), f)
                         for k, f in enumerate(imgs)])
        print(f"  10 hints: net {net10:.2f}  spread {spr10:.2f}  ({net10 - spr10:+.2f} dB)")
    print(f"CHOSEN gain {best[0]}" if best else "NO GAIN meets PSNR >= gray with colourfulness >= 0.6 on the clips")
    return 0


if __name__ == "__main__":
    sys.exit(main())
