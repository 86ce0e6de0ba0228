"""Test-split evaluation of generators next to the gray baseline (shared/design/quality.md)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .. import metrics
from .dataset import list_split, load_rgb
from .inference import Colorizer


def evaluate_models(colorizers: dict[str, Colorizer], data_dir: str | Path, split: str = "test",
                    max_side: int = 512) -> tuple[dict[str, Any], dict[str, list[np.ndarray]], list[np.ndarray]]:
    """Per model (and the gray baseline): mean PSNR, mean ab RMSE, colourfulness ratio over the split.

    Images are evaluated whole (letterboxed into the working square, as the app and CLI do),
    at most `max_side` px on the long side to keep the figures comparable across set sizes.
    """
    originals = []
    for p in list_split(data_dir, split):
        rgb = load_rgb(p)
        s = max_side / max(rgb.shape[:2])
        if s < 1:
            rgb = cv2.resize(rgb, (round(rgb.shape[1] * s), round(rgb.shape[0] * s)), interpolation=cv2.INTER_AREA)
        originals.append(rgb)
    outputs = {"gray": [metrics.gray_baseline(o) for o in originals]}
    for name, c in colorizers.items():
        outputs[name] = [c.colorize([o])[0] for o in originals]
    report = {}
    for name, outs in outputs.items():
        report[name] = {
            "psnr": float(np.mean([metrics.psnr(a, b) for a, b in zip(outs, originals)])),
            "ab_rmse": float(np.mean([metrics.ab_rmse(a, b) for a, b in zip(outs, originals)])),
            "colourfulness_ratio": metrics.colourfulness_ratio(outs, originals),
            "images": len(outs),
        }
    return report, outputs, originals


def comparison_figure(outputs: dict[str, list[np.ndarray]], originals: list[np.ndarray], path: str | Path,
                      tile: int = 256) -> Path:
    """gray | model… | original, one row per image, labelled columns (the study's results figure)."""
    columns = list(outputs.items()) + [("original", originals)]
    rows, col_x = [], []
    for k in range(len(originals)):
        cells = []
        for _, imgs in columns:
            img = imgs[k]
            s = tile / img.shape[0]
            cells.append(cv2.resize(img, (round(img.shape[1] * s), tile), interpolation=cv2.INTER_AREA))
        if k == 0:
            col_x = list(np.cumsum([0] + [c.shape[1] for c in cells[:-1]]))
        rows.append(np.hstack(cells))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows]
    header = np.full((28, width, 3), 255, np.uint8)
    for x, (name, _) in zip(col_x, columns):
        cv2.putText(header, name, (int(x) + 8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    fig = np.vstack([header] + rows)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(fig, cv2.COLOR_RGB2BGR))
    return path


def format_report(report: dict[str, Any]) -> str:
    lines = [f"{'':14s} {'PSNR dB':>8s} {'ab RMSE':>8s} {'colourful':>9s}"]
    for name, r in report.items():
        lines.append(f"{name:14s} {r['psnr']:8.2f} {r['ab_rmse']:8.2f} {r['colourfulness_ratio']:9.2f}")
    return "\n".join(lines)
