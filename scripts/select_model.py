#!/usr/bin/env python3
"""Rank generator snapshots on a set's validation split (never the test split).

    python scripts/select_model.py data/set runs/x/gan.run/snapshots/*.keras [--size 256] [--min-colour 0.5]

Prints PSNR, ab RMSE and colourfulness ratio per snapshot next to the gray baseline and names the
snapshot with the best validation PSNR among those at least `--min-colour` colourful.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("data")
    p.add_argument("models", nargs="+")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--split", default="val")
    p.add_argument("--min-colour", type=float, default=0.5)
    a = p.parse_args()
    from colorizer_app.core.ml.evaluate import evaluate_models
    from colorizer_app.core.ml.inference import Colorizer

    cols = {str(m): Colorizer(m, size=a.size) for m in a.models}
    report, _, _ = evaluate_models(cols, a.data, a.split)
    gray = report.pop("gray")
    print(f"gray: PSNR {gray['psnr']:.2f}  ab RMSE {gray['ab_rmse']:.2f}")
    for name, r in report.items():
        print(f"{name}: PSNR {r['psnr']:.2f} ({r['psnr'] - gray['psnr']:+.2f})  ab RMSE {r['ab_rmse']:.2f}  "
              f"colourful {r['colourfulness_ratio']:.2f}")
    ok = {n: r for n, r in report.items() if r["colourfulness_ratio"] >= a.min_colour}
    best = max(ok or report, key=lambda n: report[n]["psnr"])
    print(f"BEST {best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
