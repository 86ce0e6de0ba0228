"""What a stroke hands to the correction stack: the shot lookup type and one undo step.

Apart from stack.py so that the stroke in progress (live_stroke.py) and the stack can both use
them without importing each other.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .masks import BBox, SparseMask

if TYPE_CHECKING:  # annotation only: stack.py imports this module
    from .stack import CorrectionStack

# shot_of: a callable frame -> shot key, or a sorted sequence of cut frames (first frame of each
# new shot). None means "no cuts known": the whole film is one shot.
ShotOf = None | Callable[[int], Hashable] | Sequence[int]
# Which mask of a correction (Correction.mask_key): None = the base mask, an int = that frame's
# own mask, ("t", frame) = the tracked mask of that frame.
MaskKey = None | int | tuple[str, int]


class StrokeEdit(NamedTuple):
    """One undo step of painting: the touched region of one mask, before and after.

    seed: when the stroke gave the frame its own mask, the mask that frame showed before (base
    or tracked): redo re-creates the frame mask from it, undo removes the frame mask, so the
    frame follows the base/tracked mask again exactly as before the stroke."""
    correction_id: str
    mask_key: int | None      # None = base mask, else the frame whose own mask was painted
    bbox: BBox
    before: np.ndarray
    after: np.ndarray
    seed: SparseMask | None = None

    def undo(self, stack: CorrectionStack) -> None:
        if self.seed is not None:
            assert self.mask_key is not None  # a seed comes with a frame's own mask
            stack.set_frame_mask(self.correction_id, self.mask_key, None)
        else:
            stack.write_mask_patch(self.correction_id, self.mask_key, self.bbox, self.before)

    def redo(self, stack: CorrectionStack) -> None:
        if self.seed is not None and self.mask_key not in stack.find(self.correction_id).frame_masks:
            assert self.mask_key is not None  # a seed comes with a frame's own mask
            stack.set_frame_mask(self.correction_id, self.mask_key, self.seed.copy())
        stack.write_mask_patch(self.correction_id, self.mask_key, self.bbox, self.after)

    @property
    def nbytes(self) -> int:
        seed = 0 if self.seed is None or self.seed.data is None else self.seed.data.nbytes
        return self.before.nbytes + self.after.nbytes + seed
