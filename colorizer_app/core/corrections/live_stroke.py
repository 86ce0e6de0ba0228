"""The stroke in progress: per-mouse-move preview that costs only the region just painted.

At stroke start we fold the frame's other corrections into two pieces once:
  * ``ab_below``: model chroma with every active correction *under* the target already applied;
  * ``above``: the Affine of every active correction *over* the target.
Then a mouse move only stamps the new segment and recomputes, inside the bbox of those stamps,
    mask' = stroke applied to target mask;  ab = (ab_below*(1-w) + chroma*w) * T_above + S_above
which is exactly what CorrectionStack.composite gives after commit, however many strokes are
already committed on the frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import cv2
import numpy as np

from .brush import BrushSettings, CoverageBuffer, StrokePath, apply_coverage
from .edits import ShotOf, StrokeEdit
from .masks import BBox, SparseMask, bbox_slices
from .snap import snap_coverage

if TYPE_CHECKING:  # annotation only: stack.py imports this module
    from .stack import CorrectionStack


class LiveUpdate(NamedTuple):
    bbox: BBox                   # (y0, x0, y1, x1) region of the frame that changed
    ab: np.ndarray               # (h, w, 2) float32 composited chroma there
    rgb: np.ndarray | None    # (h, w, 3) uint8 when L was given, else None
    mask: np.ndarray             # (h, w) float32 target mask there (for a mask overlay)


def lab_patch_to_rgb8(L: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Same conversion as core.color.recombine (OpenCV float LAB), for a small patch."""
    lab = np.empty(L.shape + (3,), np.float32)
    lab[..., 0] = L
    lab[..., 1:] = ab
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


class LiveStroke:
    def __init__(self, stack: CorrectionStack, cid: str, frame: int, brush: BrushSettings,
                 ab_model: np.ndarray, L: np.ndarray | None = None, shot_of: ShotOf = None,
                 own_frame_mask: bool = False):
        self.stack, self.cid, self.frame, self.brush = stack, cid, int(frame), brush
        self.L = L
        c = stack.find(cid)
        self.correction = c
        # own_frame_mask: paint this frame's own mask (temporal tools), seeded from the mask the
        # frame shows now. A tracked correction's base mask belongs to its anchor frame (it is
        # what tracking carries along), so a stroke on any other frame fixes that frame only.
        if c.tracking and self.frame != c.lifetime.start:
            own_frame_mask = True
        self._seed: SparseMask | None = None
        if own_frame_mask and frame not in c.frame_masks:
            self.mask_key: int | None = self.frame
            self._seed = c.mask_for(self.frame)
            self._target = self._seed.copy()
        else:
            key = c.mask_key(self.frame)
            # never a tracked mask: off the anchor a tracked correction paints the frame's own
            # mask (above), and the anchor frame itself has no tracked mask
            assert not isinstance(key, tuple), key
            self.mask_key = key
            self._target = c.get_mask(self.mask_key)

        layers = stack.active(self.frame, shot_of)
        # The target previews even if hidden or outside its lifetime: the artist is painting it.
        order = stack.ids()
        pos = order.index(cid)
        below = [x for x in layers if order.index(x.id) < pos]
        above = [x for x in layers if order.index(x.id) > pos and x.id != cid]
        self.ab_below = stack.affine_for(below, self.frame).apply(ab_model)
        self.above = stack.affine_for(above, self.frame)

        self.path = StrokePath(brush.spacing_px(), brush.smoothing)
        self.buf = CoverageBuffer(stack.shape, brush)
        self.finished = False

    # ----- per mouse move -----------------------------------------------------------------
    def extend(self, points: Sequence[tuple[float, float]]) -> LiveUpdate | None:
        centres: list[tuple[float, float]] = []
        for x, y in points:
            centres += self.path.add(x, y)
        return self._stamp(centres)

    def _stamp(self, centres: list[tuple[float, float]]) -> LiveUpdate | None:
        if not centres:
            return None
        b = self.buf.stamp(centres)
        if b is None:
            return None
        return self.preview(b)

    def preview(self, b: BBox) -> LiveUpdate:
        """Composited chroma (and RGB) in bbox b as it will look once the stroke is committed."""
        c = self.correction
        m = apply_coverage(self._target.get_patch(b), self.buf.patch(b), self.brush.opacity,
                           self.brush.eraser)
        w = (m * np.float32(c.opacity))[..., None]
        ab = self.ab_below[bbox_slices(b)] * (1.0 - w)
        ab += w * np.asarray(c.chroma, np.float32)
        T, S = self.above.patch(b)
        ab *= T[..., None]
        ab += S
        rgb = None if self.L is None else lab_patch_to_rgb8(self.L[bbox_slices(b)], ab)
        return LiveUpdate(b, ab, rgb, m)

    # ----- end of stroke ------------------------------------------------------------------
    def finish(self, snap: bool = False, snap_reach: float | None = None,
               snap_tolerance: float = 8.0) -> StrokeEdit | None:
        """Commit the stroke into the correction's mask; returns the undo step (or None).

        snap=True refines the stroke to the object edges using L (core.corrections.snap) before commit.
        """
        if self.finished:
            raise RuntimeError("stroke already finished")
        self.finished = True
        self.buf.stamp(self.path.finish())
        if self.buf.bbox is None:
            return None
        if snap:
            if self.L is None:
                raise ValueError("edge snapping needs the frame's L")
            nb = snap_coverage(self.buf.cov, self.L, self.buf.bbox, self.brush.size,
                               reach=snap_reach, tolerance=snap_tolerance)
            if nb is None:
                return None
            self.buf.bbox = nb
        b = self.buf.bbox
        before = self._target.get_patch(b)
        after = apply_coverage(before, self.buf.patch(b), self.brush.opacity, self.brush.eraser)
        if np.array_equal(before, after):
            return None
        seed = None
        if self.mask_key is not None and self.mask_key not in self.correction.frame_masks:
            # A new per-frame mask starts as a copy of what the frame showed; undo removes it.
            assert self._seed is not None  # set with the own frame mask in __init__
            seed = self._seed.copy()
            self.stack.set_frame_mask(self.cid, self.mask_key, self._target)
        edit = StrokeEdit(self.cid, self.mask_key, b, before, after, seed)
        edit.redo(self.stack)
        # free the full-frame buffer early (the stroke is over: nothing reads buf again)
        self.buf = None  # type: ignore[assignment]
        return edit

    def cancel(self) -> None:
        self.finished = True
        self.buf = None  # type: ignore[assignment]  # freed: a cancelled stroke reads buf no more
