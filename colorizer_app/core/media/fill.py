"""Stand-ins for frames that cannot be decoded, so one damaged frame costs that frame only.

A film pipeline (colorize, render) reads frames through a FrameFiller: a frame the decoder
cannot give (a corrupted packet, a bad PNG in a sequence, a frame of the wrong size) is replaced
by the last good frame (mid-gray before the first), so the output keeps every frame's place and
timing (sound stays in sync), and the frame is recorded in `lost` to be reported.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from . import MediaError

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

    from . import MediaInfo


class FrameFiller:
    def __init__(self, read: Callable[[int], np.ndarray], shape: tuple[int, ...],
                 dtype: DTypeLike, blank: float | None = None):
        # blank: the stand-in's value before the first good frame (default mid-gray RGB; a
        # reader of L passes the L of mid-gray)
        self._read = read
        self._shape, self._dtype = shape, np.dtype(dtype)
        self._blank = blank
        self._last_good: np.ndarray | None = None
        self.lost: list[int] = []
        self.first_error: str | None = None

    def __call__(self, i: int) -> np.ndarray:
        try:
            frame = self._read(i)
        except MediaError as exc:
            self.lost.append(i)
            if self.first_error is None:
                self.first_error = str(exc)
            if self._last_good is not None:
                return self._last_good.copy()
            blank = _mid_gray(self._dtype) if self._blank is None else self._blank
            return np.full(self._shape, blank, self._dtype)
        self._last_good = frame
        return frame


def _mid_gray(dtype: np.dtype[Any]) -> float:
    if dtype == np.uint8:
        return 128
    if dtype == np.uint16:
        return 32768
    return 0.5


def frame_ranges(indices: Iterable[int], limit: int = 20) -> str:
    """'3, 7-9, 12' for sorted frame indices; at most `limit` ranges, then 'and N more'."""
    nums = sorted(set(int(i) for i in indices))
    parts, k = [], 0
    while k < len(nums):
        j = k
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        parts.append(str(nums[k]) if k == j else f"{nums[k]}-{nums[j]}")
        k = j + 1
    if len(parts) > limit:
        rest = len(parts) - limit
        return ", ".join(parts[:limit]) + f" and {rest} more range(s)"
    return ", ".join(parts)


def source_loss_warning(src: str, info: MediaInfo) -> str | None:
    """One line for frames the film itself promises but does not hold (cut short, or gaps in a
    sequence's numbering); None when nothing is missing."""
    if not info.lost_frames:
        return None
    what = "the file is truncated" if info.truncated else "frame numbers are missing"
    return (f"{info.lost_frames} frame(s) of '{src}' could not be decoded ({what}; "
            f"{info.frame_count} of {info.frame_count + info.lost_frames} frames are there)")


def lost_frames_warning(src: str, lost: list[int], first_error: str | None) -> str:
    """One line naming every frame that was replaced."""
    why = f" ({first_error})" if first_error else ""
    return (f"{len(lost)} frame(s) of '{src}' could not be decoded and were replaced by the "
            f"previous frame to keep the timing: {frame_ranges(lost)}{why}")
