"""A project's temporal settings, and the stage that applies them inside core.pipeline.render.

TemporalSettings (core.temporal.settings) is the project's ``temporal`` section, typed (cuts,
keyframe stills, deflicker strength).  RenderTemporal runs the very TemporalEngine the app's
temporal worker runs, fed by the render pipeline instead of the chroma cache, so an export is
the picture the artist reviewed:

- the encode thread hands it every decoded frame with the network's chroma, in order;
- a frame comes out once the frames its deflicker window needs (up to R ahead, never past the
  cut) have come in, so the engine sees exactly the neighbours the app shows it;
- render decodes up to R frames beyond each end of its range (same shot only matters), so a
  film rendered in ranges on a farm equals the film rendered at once;
- keyframe stills are decoded when the export enters their shot; the chains from a later
  keyframe read frames ahead with the stage's own reader.

Memory: the frames and chroma squares between the oldest pending frame and the newest arrival
(~2R + the pipeline's queue), plus the engine's flows and chains (see TemporalEngine).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .engine import DEFLICKER_RADIUS, TemporalEngine
from .film import RefsError, check_refs, detect_film_cuts, read_ref, ref_keyframe
from .settings import TemporalSettings  # a project's settings (also imported from here)
from .shots import ShotList

if TYPE_CHECKING:
    from ..media import MediaInfo, MediaReader


class RenderTemporal:
    """Temporal stage of one render.  Lives on the render's encode thread (not thread-safe)."""

    def __init__(self, src_path: str, info: MediaInfo, settings: TemporalSettings, size: int,
                 write_range: tuple[int, int], log: Callable[[str], None] | None = None):
        n = info.frame_count
        self.src_path, self.size = src_path, int(size)
        self.settings = settings
        cuts = settings.cuts
        if cuts is None:
            cuts = tuple(detect_film_cuts(src_path, log))
        self.shots = ShotList(n, tuple(int(c) for c in cuts if 0 < int(c) < n))
        self.radius = DEFLICKER_RADIUS if settings.deflicker > 0.0 else 0
        # frames written; the pipeline decodes R more each side (decode_range) as neighbours
        self.write_range = write_range
        self.decode_range = (max(0, write_range[0] - self.radius),
                             min(n, write_range[1] + self.radius))
        self.keys = {k: Path(p) for k, p in settings.keyframes.items() if 0 <= k < n}
        for k in settings.keyframes:
            if not 0 <= k < n:
                raise RefsError(f"keyframe {k} is beyond the end of the film (frames 0-{n - 1})")
        # decode every still once now: a missing or bad file fails before hours of rendering
        check_refs(self.keys, n, info.width, info.height, log)
        self.engine = TemporalEngine(self._read, n)
        self.engine.set_chroma(self)
        self.engine.set_shots(self.shots)
        self.engine.set_strength(settings.deflicker)
        self._frames: dict[int, np.ndarray] = {}
        self._chroma: dict[int, np.ndarray] = {}
        self._pending: deque[int] = deque()
        self._last = -1
        self._shot: tuple[int, int] | None = None
        self._reader: MediaReader | None = None
        self._size_wh = (info.width, info.height)

    # ---- the chroma source the engine reads (ChromaCache's has/get/size) -------------------
    def has(self, j: int) -> bool:
        return j in self._chroma

    def get(self, j: int) -> np.ndarray | None:
        return self._chroma.get(j)

    def _read(self, j: int) -> np.ndarray:
        f = self._frames.get(j)
        if f is not None:
            return f
        if self._reader is None:                    # chains from a later keyframe read ahead
            from ..media import open_media
            self._reader = open_media(self.src_path, cache_bytes=64 << 20)
        return self._reader.read(j)

    # ---- the pipeline side -----------------------------------------------------------------
    def push(self, i: int, frame: np.ndarray, ab_work: np.ndarray
             ) -> Iterator[tuple[int, np.ndarray | None]]:
        """Frame i (uint8 RGB) and its network chroma arrive, in order; yields (t, temporal ab
        at full resolution, None outside the write range) for every frame now ready."""
        if i != self._last + 1 and self._last >= 0:
            raise RuntimeError(f"temporal stage out of step: frame {i} after {self._last}")
        self._frames[i], self._chroma[i] = frame, ab_work
        self._last = i
        self._pending.append(i)
        while self._pending and self._ready(self._pending[0]):
            yield self._emit(self._pending.popleft())

    def flush(self) -> Iterator[tuple[int, np.ndarray | None]]:
        """End of the stream: the remaining frames with the neighbours there are."""
        while self._pending:
            yield self._emit(self._pending.popleft())

    def _ready(self, t: int) -> bool:
        s1 = self.shots.shot_of(t)[1]
        need = min(t + self.radius, s1 - 1, self.decode_range[1] - 1)
        return self._last >= need

    def _emit(self, t: int) -> tuple[int, np.ndarray | None]:
        for j in [j for j in self._frames if j < t - self.radius]:
            del self._frames[j]
            del self._chroma[j]
        if not self.write_range[0] <= t < self.write_range[1]:
            return t, None                          # a neighbour only: nothing to compute
        shot = self.shots.shot_of(t)
        if shot != self._shot:                      # entering a shot: its stills only
            self._shot = shot
            w, h = self._size_wh
            self.engine.set_keyframes({k: ref_keyframe(read_ref(p), w, h)
                                       for k, p in self.keys.items() if shot[0] <= k < shot[1]})
        ab, _complete = self.engine.result(t)
        return t, ab

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
