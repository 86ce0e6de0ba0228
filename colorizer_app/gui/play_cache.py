"""The look-ahead cache of composed frames for playback, Qt-free (GUI thread only).

Playback shows a frame every 42 ms at 23.976 fps; composing one takes a good part of that on a
two-core machine, so the display worker composes frames *ahead* of the playhead, at the size the
viewer shows them (display_compose.py), and playback takes them from here.  Review tools (RV,
mrv2, DJV) play from such a cache too.

Each entry is a FrameBundle of display-size pictures stamped with what made it: the chroma key
(model and working size), the pipeline's compose generation of the frame (corrections, temporal
chroma, keyframes, deflicker) and its size.  An entry is only ever handed out when all three are
still current, and the pipeline drops entries the moment they go stale, so the timeline's cache
bar shows exactly what playback can use.

Bounded by bytes (a setting).  When full, frames the playhead has passed go first, then the
farthest ahead, counted along the direction of travel around the in/out loop.
"""
from __future__ import annotations

import math

from ..core.media.frames import FrameBundle

DEFAULT_BUDGET = 1024 << 20     # ~330 frames at 960x540 with gray = source (black-and-white)


class ComposedCache:
    def __init__(self, budget_bytes: int = DEFAULT_BUDGET):
        self.budget = int(budget_bytes)
        self._items: dict[int, FrameBundle] = {}
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, index: int) -> bool:
        return index in self._items

    @property
    def bytes(self) -> int:
        return self._bytes

    def indices(self) -> list[int]:
        return list(self._items)

    def get(self, index: int) -> FrameBundle | None:
        return self._items.get(index)

    def current(self, index: int, key: str | None, gen: tuple,
                shape: tuple | None) -> FrameBundle | None:
        """The entry of frame `index` if it was made with this chroma key, compose generation
        and display size; None otherwise."""
        b = self._items.get(index)
        if b is None or b.chroma_key != key or b.compose_gen != gen or \
                b.source.shape[:2] != shape:
            return None
        return b

    def frames_in_budget(self, frame_bytes: int) -> int:
        return max(1, self.budget // max(1, frame_bytes))

    def put(self, bundle: FrameBundle, playhead: int, direction: int,
            loop: tuple[int, int]) -> bool:
        """Keep `bundle`; evicts to stay in budget.  False when it was itself the one to go."""
        self.drop([bundle.index])
        bundle.recount()
        self._items[bundle.index] = bundle
        self._bytes += bundle.nbytes
        if self._bytes > self.budget:
            order = sorted(self._items, key=lambda i: _keep_rank(i, playhead, direction, loop))
            while self._bytes > self.budget and order:
                self.drop([order.pop()])
        return bundle.index in self._items

    def drop(self, indices) -> list[int]:
        """Forget these frames; returns those that were here."""
        gone = []
        for i in indices:
            b = self._items.pop(i, None)
            if b is not None:
                self._bytes -= b.nbytes
                gone.append(i)
        return gone

    def drop_if(self, stale) -> list[int]:
        """Forget every entry for which stale(bundle) is true; returns their indices."""
        return self.drop([i for i, b in self._items.items() if stale(b)])

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0


MAX_LEAD = 12          # playback steps a late look-ahead may skip to catch up (at most)


class CatchUp:
    """Where playback composing starts once it has fallen behind (GUI thread only).

    While the look-ahead keeps up, composing starts at the playhead (lead 0). When the frame on
    screen is not composed, a frame made now is ready about one compose later, so composing
    starts where the playhead will be by then. Otherwise the workers make frame after frame just
    too late to be shown: at 2x shuttle the picture froze for over a second; this way it drops a
    few and goes on. The compose time comes from how fast composed frames arrive while playing."""

    SURE = 6    # arrivals measured in this run before the interval is trusted to thin a shuttle

    def __init__(self) -> None:
        self.interval = 0.0     # s between playback frames composed (EMA; 0: not known yet)
        self.samples = 0        # arrivals measured since reset
        self._last = 0.0

    def reset(self) -> None:
        """A new run (play, another speed): what the last one measured says nothing of this one
        (at 4x the look-ahead may hold every frame already)."""
        self.interval, self.samples = 0.0, 0

    def arrived(self, now: float, playing: bool) -> None:
        """A composed playback frame arrived at `now` (monotonic seconds)."""
        dt, self._last = now - self._last, now
        if playing and dt < 1.0:           # back to back: how fast the workers keep up
            self.interval = dt if self.interval <= 0 else 0.8 * self.interval + 0.2 * dt
            self.samples += 1

    def lead(self, fps: float) -> int:
        """Steps ahead of the playhead to start composing at, when behind (a step every frame
        time at any stride); 0 while the compose time is unknown."""
        if self.interval <= 0:
            return 0
        # two threads compose (decode_worker): one frame takes about two arrival intervals
        return max(1, min(MAX_LEAD, math.ceil(2.0 * self.interval * fps)))


def look_ahead(playhead: int, loop: tuple[int, int], step: int, reach: int,
               first: int = 0) -> list[int]:
    """The frames playback reaches next: playhead + k * step for k = first..reach, wrapped around
    the in/out loop as the player wraps, each once."""
    lo, hi = loop
    span = hi - lo + 1
    out: list[int] = []
    seen: set[int] = set()
    for k in range(first, reach + 1):
        i = (playhead + k * step - lo) % span + lo
        if i in seen:                      # around the loop once: the rest would repeat
            break
        seen.add(i)
        out.append(i)
    return out


def _keep_rank(i: int, playhead: int, direction: int, loop: tuple[int, int]) -> tuple:
    """Sort key: the lower, the longer a frame is worth keeping.  Frames ahead in the direction of
    travel (wrapping around the in/out loop) rank by distance; frames outside the loop last."""
    lo, hi = loop
    if not lo <= i <= hi:
        return (1, abs(i - playhead))
    span = hi - lo + 1
    return (0, ((i - playhead) * (1 if direction >= 0 else -1)) % span)
