"""Colour detection for core.media: does a film carry real colour, or is it black and white
(possibly toned)?"""
from __future__ import annotations

import cv2
import numpy as np


def frame_has_color(rgb: np.ndarray, threshold: float = 6.0) -> bool:
    """Chroma that a single tint cannot explain. A toned black-and-white print (sepia, cyanotype)
    has every a/b on one ray from neutral, scaled with brightness; anything off that ray (other
    hues, or the opposite hue as in orange/teal grading) is colour."""
    h, w = rgb.shape[:2]
    scale = min(1.0, 256.0 / max(h, w))
    if scale < 1.0:  # averaging also removes compression chroma noise
        rgb = cv2.resize(rgb, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    ab = lab[..., 1:].reshape(-1, 2).astype(np.float64)
    mean = ab.mean(axis=0)
    norm = float(np.hypot(*mean))
    if norm > 1e-3:
        u = mean / norm
        along = np.clip(ab @ u, 0.0, None)
        ab = ab - along[:, None] * u
    dev = np.hypot(ab[:, 0], ab[:, 1])
    return float(np.percentile(dev, 99.5)) > threshold
