"""Edge-aware snapping of a rough brush stroke to the object under it ("grabcut-lite").

Artists paint quickly; the stroke should fill the object it was meant for and stop at its edge.
We use only the frame's full-resolution L (chroma is what we are correcting, so it can't guide):

1. Seed statistics: median and robust spread of L under the stroke's solid core.
2. Candidates: pixels within ``reach`` px of the stroke whose L is within tolerance of the seed.
   This both drops stroke pixels that spilled over an edge and fills object pixels the brush
   missed, but never runs further than ``reach`` from where the artist painted.
3. Keep only candidate regions connected to the stroke core (no islands across the frame).
4. A guided filter with L as guide softens the hard result so the mask edge follows the
   image edge with sub-pixel softness instead of a staircase.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from .masks import BBox, bbox_pad, bbox_slices, nonzero_bbox


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al. guided filter (gray guide), O(N) via box filters."""
    I = guide.astype(np.float32)  # noqa: E741 - I: the guide image, as in He et al.
    p = src.astype(np.float32)
    k = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, k, borderType=cv2.BORDER_REFLECT)

    mean_I, mean_p = box(I), box(p)
    cov_Ip = box(I * p) - mean_I * mean_p
    var_I = box(I * I) - mean_I * mean_I
    a = cov_Ip / (var_I + eps)
    b = mean_p - a * mean_I
    q: NDArray[np.float32] = box(a) * I + box(b)
    return q


def snap_coverage(cov: np.ndarray, L: np.ndarray, bbox: BBox, brush_size: float,
                  reach: float | None = None, tolerance: float = 8.0,
                  edge_radius: int | None = None) -> BBox | None:
    """Refine the stroke coverage ``cov`` (full frame, modified in place) inside ``bbox``.

    L: full-res lightness in [0, 100]. Returns the new bbox of the coverage (may be larger than
    ``bbox`` because the fill can grow by ``reach``), or None if nothing is left.
    """
    H, W = cov.shape
    reach = float(brush_size if reach is None else reach)
    r_edge = int(edge_radius if edge_radius is not None else max(2, round(brush_size / 16)))
    roi = bbox_pad(bbox, int(np.ceil(reach)) + 2 * r_edge + 2, (H, W))
    if roi is None:
        return None
    sl = bbox_slices(roi)
    c = cov[sl]
    l_roi = L[sl].astype(np.float32)
    seed = c > 0.5
    if not seed.any():
        return bbox
    core = c > 0.9
    if not core.any():
        core = seed

    vals = l_roi[core]
    med = float(np.median(vals))
    spread = 1.4826 * float(np.median(np.abs(vals - med)))
    tol = max(float(tolerance), 2.5 * spread)
    similar = np.abs(l_roi - med) <= tol

    d = max(1, int(round(reach)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * d + 1, 2 * d + 1))
    allowed = cv2.dilate(seed.astype(np.uint8), kernel) > 0
    cand = (similar & allowed).astype(np.uint8)

    n, labels = cv2.connectedComponents(cand, connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(labels[core & (cand > 0)])] = True
    keep[0] = False
    hard = keep[labels].astype(np.float32)

    # Guide in [0,1]; eps ~ (edge contrast we want to respect)^2: 0.05 => 5 L units.
    soft = guided_filter(l_roi / 100.0, hard, r_edge, eps=0.05 ** 2)
    soft = np.clip(soft, 0.0, 1.0)
    soft[soft < 1e-3] = 0.0
    cov[sl] = soft
    return nonzero_bbox(soft, (roi[0], roi[1]))
