"""Which frames to colorize next: the frame on screen, then a window around it, then in/out.

Qt-free and stateless so it can be tested on its own.  The colorize worker asks for the next batch
each time it is free, against the *current* playhead; requests the artist has scrolled past are
therefore never queued anywhere and need no explicit cancelling: they simply stop being chosen.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    """A snapshot of what the artist is looking at."""

    playhead: int
    in_point: int
    out_point: int
    frame_count: int
    ahead: int = 24        # frames after the playhead worth having before playback reaches them
    behind: int = 6        # a few before it, for stepping back and reverse shuttle
    background: bool = True  # also work through the whole in/out range when idle
    direction: int = 1     # playback direction: -1 swaps ahead and behind

    def clamp(self, i: int) -> int:
        return max(0, min(i, self.frame_count - 1))


def priority_order(plan: Plan) -> Iterator[int]:
    """Frames in the order they should be colorized (may repeat; callers skip what is done)."""
    if plan.frame_count <= 0:
        return
    p = plan.clamp(plan.playhead)
    yield p
    fwd, back = plan.ahead, plan.behind   # "ahead" is the direction of travel
    # Interleave the two sides, weighted to the direction of travel (two ahead, one behind).
    step_f, step_b = 1, 1
    while step_f <= fwd or step_b <= back:
        for _ in range(2):
            if step_f <= fwd:
                i = p + step_f * (1 if plan.direction >= 0 else -1)
                step_f += 1
                if 0 <= i < plan.frame_count:
                    yield i
        if step_b <= back:
            i = p - step_b * (1 if plan.direction >= 0 else -1)
            step_b += 1
            if 0 <= i < plan.frame_count:
                yield i
    if plan.background:
        lo, hi = plan.clamp(plan.in_point), plan.clamp(plan.out_point)
        # In/out in order from the playhead on (what will be watched next), then the part before.
        start = min(max(p, lo), hi)
        yield from range(start, hi + 1)
        yield from range(lo, start)


def next_batch(plan: Plan, is_done: Callable[[int], bool], size: int,
               skip: set[int] | frozenset[int] = frozenset()) -> list[int]:
    """Up to `size` frames not yet done and not in `skip`, by priority.

    When the frame on screen itself is pending it goes out alone: a batch of one returns sooner,
    and the artist is waiting for exactly that frame.
    """
    out: list[int] = []
    seen: set[int] = set()
    for i in priority_order(plan):
        if i in seen or i in skip or is_done(i):
            continue
        seen.add(i)
        out.append(i)
        if i == plan.clamp(plan.playhead) or len(out) >= size:
            break
    return out
