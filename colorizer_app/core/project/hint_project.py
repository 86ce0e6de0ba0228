"""The artist's colour hints of a project: frame → hints, each with a stable id.

A HintStore is shared by the GUI thread (edits, always through undo commands), the hint worker
and the display worker (both only read snapshots), so every access takes its lock. `version`
grows with every change: the project's dirty flag and the hint worker's "newest edit wins" both
read it. Saved in the project as {"FRAME": [{"id", "x", "y", "a", "b", "size"}, ...]}; a bad
entry on load is refused with one line naming the frame, like the rest of the project schema.
"""
from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from .. import color
from ..ml.hints import Hint

MAX_HINT_SIZE = 256           # patch side in film pixels
MAX_HINTS_PER_FRAME = 4096


def new_hint_id() -> str:
    return uuid.uuid4().hex[:12]


class HintStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frames: dict[int, dict[str, Hint]] = {}      # insertion order = drawing order
        self.version = 0
        self._listeners: list[Callable[[int], None]] = []

    # ---- reading (any thread) -----------------------------------------------------------------
    def hints(self, frame: int) -> list[Hint]:
        with self._lock:
            return list(self._frames.get(frame, {}).values())

    def items(self, frame: int) -> list[tuple[str, Hint]]:
        with self._lock:
            return list(self._frames.get(frame, {}).items())

    def get(self, frame: int, hid: str) -> Hint | None:
        with self._lock:
            return self._frames.get(frame, {}).get(hid)

    def frames(self) -> list[int]:
        with self._lock:
            return sorted(self._frames)

    def snapshot(self) -> dict[int, list[Hint]]:
        """{frame: hints} of every hinted frame (for a render that runs while the artist edits)."""
        with self._lock:
            return {f: list(h.values()) for f, h in sorted(self._frames.items()) if h}

    def __len__(self) -> int:
        with self._lock:
            return sum(len(h) for h in self._frames.values())

    # ---- editing (GUI thread, via undo commands) ----------------------------------------------
    def subscribe(self, fn: Callable[[int], None]) -> None:
        """fn(frame) after every change of that frame's hints (called without the lock)."""
        self._listeners.append(fn)

    def put(self, frame: int, hid: str, hint: Hint | None, position: int | None = None) -> None:
        """Set (or, with None, remove) one hint; `position` re-inserts a deleted hint where it was."""
        frame = int(frame)
        with self._lock:
            d = self._frames.setdefault(frame, {})
            if hint is None:
                d.pop(hid, None)
                if not d:
                    self._frames.pop(frame, None)
            elif hid in d or position is None or position >= len(d):
                d[hid] = hint
            else:
                items = list(d.items())
                items.insert(max(0, position), (hid, hint))
                self._frames[frame] = dict(items)
            self.version += 1
        for fn in list(self._listeners):
            fn(frame)

    def position(self, frame: int, hid: str) -> int:
        with self._lock:
            keys = list(self._frames.get(frame, {}))
        return keys.index(hid) if hid in keys else -1

    # ---- project document -----------------------------------------------------------------------
    def to_doc(self) -> dict[str, list[Any]]:
        with self._lock:
            return {str(f): [dict(id=hid, **asdict(h)) for hid, h in d.items()]
                    for f, d in sorted(self._frames.items()) if d}

    @classmethod
    def from_doc(cls, doc: Any, frame_size: tuple[int, int]) -> HintStore:
        """Validate the project's "hints" section; ValueError with one line on anything wrong."""
        w, h = frame_size
        store = cls()
        if doc is None:
            return store
        if not isinstance(doc, dict):
            raise ValueError("hints: expected an object of frame numbers")
        for key, entries in doc.items():
            try:
                frame = int(key)
            except (TypeError, ValueError):
                raise ValueError(f"hints: bad frame number {str(key)[:40]!r}") from None
            if frame < 0 or str(frame) != str(key).strip():
                raise ValueError(f"hints: bad frame number {str(key)[:40]!r}")
            if not isinstance(entries, list) or len(entries) > MAX_HINTS_PER_FRAME:
                raise ValueError(f"hints of frame {frame}: expected a list of at most "
                                 f"{MAX_HINTS_PER_FRAME} hints")
            d: dict[str, Hint] = {}
            for e in entries:
                hid, hint = _hint_from(e, frame, w, h)
                if hid in d:
                    raise ValueError(f"hints of frame {frame}: two hints have the id {hid[:40]}")
                d[hid] = hint
            if d:
                store._frames[frame] = d
        return store


def _number(e: dict[str, Any], k: str, frame: int, lo: float, hi: float) -> float:
    v = e.get(k)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"hint of frame {frame}: {k} must be a finite number, not {str(v)[:40]}")
    if not lo <= v <= hi:
        raise ValueError(f"hint of frame {frame}: {k} = {v} is outside {lo:g}..{hi:g}")
    return float(v)


def _hint_from(e: Any, frame: int, w: int, h: int) -> tuple[str, Hint]:
    if not isinstance(e, dict):
        raise ValueError(f"hint of frame {frame}: expected an object with x, y, a, b, size")
    hid = e.get("id")
    if not isinstance(hid, str) or not hid or len(hid) > 64:
        raise ValueError(f"hint of frame {frame}: missing or bad id")
    size = e.get("size", 3)
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_HINT_SIZE:
        raise ValueError(f"hint of frame {frame}: size must be a whole number 1..{MAX_HINT_SIZE}")
    ab = color.AB_SCALE
    return hid, Hint(x=_number(e, "x", frame, 0, w - 1), y=_number(e, "y", frame, 0, h - 1),
                     a=_number(e, "a", frame, -ab, ab), b=_number(e, "b", frame, -ab, ab), size=size)
