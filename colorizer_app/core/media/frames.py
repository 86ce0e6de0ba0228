"""Frames held in memory for display: what the viewer shows, and decoded frames the workers share.

Qt-free.  Two caches with different jobs:

* `BundleCache` (GUI thread only): ready-to-show pictures per frame (source, gray, colorized),
  bounded by bytes.  A hit here is what makes a cached frame appear within one screen refresh.
* `SharedFrames` (thread-safe): decoded source frames, so the colorize worker can reuse the frame
  the display worker just decoded instead of seeking the codec a second time (on long-GOP H.264
  a seek costs more than the network does).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class FrameBundle:
    """The pictures of one frame, ready for the viewer (uint8 RGB, full resolution).

    `gray` is the frame as the network sees it (L only).  For black-and-white sources it is the
    very same array as `source`, so it costs no memory.  `colorized` is None until the frame's
    chroma exists; `chroma_key` says which model/size produced it so a model change can tell
    stale pictures from current ones.
    """

    index: int
    source: np.ndarray
    gray: np.ndarray
    colorized: np.ndarray | None = None
    chroma_key: str | None = None
    proxy: bool = False     # source/gray come from the display proxy: a stand-in while scrubbing
    compose_gen: tuple[Any, ...] = ()  # the pipeline's compose generation `colorized` was made for
    full_shape: tuple[int, int] | None = None  # (h, w) of the film when these are display-size pictures
    stand_in: str = "proxy"  # what the viewer calls a stand-in: "proxy", or "preview" (a small
                             # copy of the film's own frame, coloured first)
    nbytes: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.recount()

    @property
    def image_shape(self) -> tuple[Any, ...]:
        """(h, w) of the film's frame, whatever size the pictures are."""
        return self.full_shape or self.source.shape[:2]

    def recount(self) -> None:
        arrays = {id(a): a for a in (self.source, self.gray, self.colorized) if a is not None}
        self.nbytes = sum(a.nbytes for a in arrays.values())


class BundleCache:
    """LRU of FrameBundles bounded by bytes (default 768 MiB, about 40 colour 1080p frames)."""

    def __init__(self, budget_bytes: int = 768 << 20):
        self.budget = int(budget_bytes)
        self._items: OrderedDict[int, FrameBundle] = OrderedDict()
        self._bytes = 0

    def __contains__(self, index: int) -> bool:
        return index in self._items

    def __len__(self) -> int:
        return len(self._items)

    @property
    def bytes(self) -> int:
        return self._bytes

    def get(self, index: int) -> FrameBundle | None:
        b = self._items.get(index)
        if b is not None:
            self._items.move_to_end(index)
        return b

    def peek(self, index: int) -> FrameBundle | None:
        """Look without refreshing recency (for prefetch planning)."""
        return self._items.get(index)

    def put(self, bundle: FrameBundle, protect: int | None = None) -> None:
        old = self._items.pop(bundle.index, None)
        if old is not None:
            self._bytes -= old.nbytes
        bundle.recount()
        self._items[bundle.index] = bundle
        self._bytes += bundle.nbytes
        self._evict(protect if protect is not None else bundle.index)

    def update_colorized(self, index: int, colorized: np.ndarray | None, key: str | None,
                         gen: tuple[Any, ...] = ()) -> None:
        b = self._items.get(index)
        if b is None:
            return
        self._bytes -= b.nbytes
        b.colorized, b.chroma_key, b.compose_gen = colorized, key, gen
        b.recount()
        self._bytes += b.nbytes

    def drop_colorized(self, keep_key: str | None = None) -> None:
        """Forget colorized pictures made with another chroma key (model or size changed)."""
        for i, b in self._items.items():
            if b.colorized is not None and b.chroma_key != keep_key:
                self.update_colorized(i, None, None)

    def indices(self) -> list[int]:
        return list(self._items)

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0

    def _evict(self, protect: int) -> None:
        while self._bytes > self.budget and len(self._items) > 1:
            victim = next(iter(self._items))
            if victim == protect:
                self._items.move_to_end(victim)
                victim = next(iter(self._items))
                if victim == protect:
                    break
            b = self._items.pop(victim)
            self._bytes -= b.nbytes


class SharedFrames:
    """Thread-safe LRU of decoded source frames, with a short wait for one being decoded.

    A reader waits only for the frame another thread has said it will decode (`expect`):
    waiting for a frame nobody decodes (its gray picture was in memory already, say) cost the
    colorize worker its whole wait before it decoded the frame itself."""

    def __init__(self, capacity: int = 12):
        self.capacity = int(capacity)
        self._items: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._cond = threading.Condition()
        self._expected: tuple[str, int] | None = None

    def put(self, film: str, index: int, frame: np.ndarray) -> None:
        frame.setflags(write=False)  # shared between threads: nobody may edit it in place
        with self._cond:
            self._items[(film, index)] = frame
            self._items.move_to_end((film, index))
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
            if self._expected == (film, index):
                self._expected = None
            self._cond.notify_all()

    def expect(self, film: str | None, index: int = -1) -> None:
        """Frame `index` of `film` is on its way (None: nothing is); replaces the last promise."""
        with self._cond:
            self._expected = None if film is None else (film, index)
            self._cond.notify_all()

    def get(self, film: str, index: int, wait_s: float = 0.0) -> np.ndarray | None:
        """The frame, or None; with `wait_s`, waits that long at most while it is expected."""
        key = (film, index)
        with self._cond:
            if key not in self._items and wait_s > 0:
                self._cond.wait_for(lambda: key in self._items or self._expected != key,
                                    timeout=wait_s)
            return self._items.get(key)

    def clear(self) -> None:
        with self._cond:
            self._items.clear()
            self._expected = None
            self._cond.notify_all()
