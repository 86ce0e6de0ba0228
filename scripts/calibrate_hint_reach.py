#!/usr/bin/env python3
"""Calibrate how far a mix hint generator carries a colour across lightness edges.

    python scripts/calibrate_hint_reach.py MODEL.keras OUT.keras [--gates 0.01:2,0.02:2,0.03:2,0.05:2,0.03:3]
                                           [--videos data/val_video] [--photos data/hint_set/val]

A mix generator (core.ml.hint_mix) weighs, per pixel, hint spreads against gray by
softmax(logits + log density). Trained on random hints for PSNR, its gray weight stays at
e^-20.7, so every pixel takes some hint's colour: one click on a dark coat tints the light wall
beside it. An artist expects a colour to stop at the object's edge. The lightness gate
(core.ml.hint_mix.LightnessGate, c:p) fades a pixel to gray where the hints reaching it are unlike
it in lightness. For each gate this prints:
  - leak: on synthetic probes (a dark or light disc on a textured background, ΔL 30 and 45,
    one hint on the disc), the mean chroma outside the disc as a share of the chroma on the
    disc's far side (worst probe);
  - PSNR at 1 / 5 / 10 / 50 hints on the validation clips (3 frames each) and the validation
    photos, with benchmarks/bench_hints.py's hints and evaluation, next to the no-learning spread.
Chosen: the best mean PSNR at 10 hints (clips and photos) among gates that leak <= 10 %, saved to
OUT.keras (the same weights, the gate added). Validation footage only: no test photo is read.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_hints import clip_frames, evaluate, load_photos  # noqa: E402
from colorizer_app.core import color  # noqa: E402
from colorizer_app.core.ml import hints  # noqa: E402
from colorizer_app.core.ml.inference import Colorizer  # noqa: E402
from colorizer_app.core.ml.model import load_generator, save_model, with_lightness_gate  # noqa: E402

MAX_LEAK = 0.10
SIDE, R = 160, 36


def probe(L_disc: float, L_back: float, seed: int) -> tuple[np.ndarray, tuple[int, int]]:
    """A textured background with a disc of another lightness, off centre; returns (rgb, centre)."""
    rng = np.random.default_rng(seed)
    L = L_back + rng.normal(0, 2.0, (SIDE, SIDE)).astype(np.float32)
    cy, cx = SIDE // 2 - 10, SIDE // 2 + 15
    yy, xx = np.mgrid[:SIDE, :SIDE]
    disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= R ** 2
    L[disc] = L_disc + rng.normal(0, 2.0, int(disc.sum()))
    zero = np.zeros_like(L)
    return color.to_uint8(color.lab_to_rgb(np.dstack([np.clip(L, 0, 100), zero, zero]))), (cx, cy)


PROBES = [probe(30, 75, 1), probe(45, 75, 2), probe(80, 35, 3), probe(70, 25, 4)]


def leak(c: Colorizer) -> float:
    worst = 0.0
    for rgb, (cx, cy) in PROBES:
        hx, hy = cx + R // 2, cy                          # hint on the disc's right half
        out = color.rgb_to_lab(c.colorize([rgb], hints=[[hints.Hint(hx, hy, -40.0, 35.0, 5)]])[0])
        chroma = np.hypot(out[..., 1], out[..., 2])
        yy, xx = np.mgrid[:SIDE, :SIDE]
        d = np.hypot(yy - cy, xx - cx)
        far_side = (d < R - 6) & (xx < cx - R // 3)       # inside the disc, away from the hint
        outside = (d > R + 6)
        worst = max(worst, float(chroma[outside].mean() / max(chroma[far_side].mean(), 1e-6)))
    return worst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--gates", default="0.01:2,0.02:2,0.03:2,0.05:2,0.03:3", help="c:p pairs")
    ap.add_argument("--videos", default="data/val_video")
    ap.add_argument("--photos", default="data/hint_set/val")
    a = ap.parse_args()
    base = load_generator(a.model)
    vids = sorted(p for p in Path(a.videos).glob("*") if p.suffix.lower() in (".mpg", ".mp4", ".avi", ".mkv"))
    frames = {"clips": [f for v in vids for f in clip_frames(v, 3)], "photos": load_photos(Path(a.photos))}
    counts = [1, 5, 10, 50]
    print(f"{len(frames['clips'])} clip frames, {len(frames['photos'])} photos; PSNR dB at "
          f"{'/'.join(map(str, counts))} hints", flush=True)
    rows = []
    spread: list[float] = []
    for spec in [None] + a.gates.split(","):
        gate = tuple(float(v) for v in spec.split(":")) if spec else None
        model = with_lightness_gate(base, *gate) if gate else base
        c = Colorizer(model, size=256, batch_size=1)
        rep = evaluate(frames, {"m": c}, counts, 256)
        psnr = [rep[s]["m"][n] for s in ("clips", "photos") for n in counts]
        spread = [rep[s]["spread"][n] for s in ("clips", "photos") for n in counts]
        lk = leak(c)
        rows.append((gate, lk, psnr, model))
        label = f"gate c {gate[0]:g}, p {gate[1]:g}" if gate else "as trained"
        print(f"{label:<20} leak {lk:6.1%}  clips {' '.join(f'{v:.2f}' for v in psnr[:4])}"
              f"  photos {' '.join(f'{v:.2f}' for v in psnr[4:])}", flush=True)
    print(f"{'no-learning spread':<20} {'':11}  clips {' '.join(f'{v:.2f}' for v in spread[:4])}"
          f"  photos {' '.join(f'{v:.2f}' for v in spread[4:])}")
    ok = [r for r in rows if r[0] is not None and r[1] <= MAX_LEAK]
    if not ok:
        print(f"no gate leaks <= {MAX_LEAK:.0%}; nothing written", file=sys.stderr)
        return 1
    gate, lk, psnr, model = max(ok, key=lambda r: r[2][2] + r[2][6])
    save_model(model, a.out)
    print(f"chosen: gate c {gate[0]:g}, p {gate[1]:g} (leak {lk:.1%}); written {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
