"""The review session: the single source of truth that every widget renders and edits.

Widgets never talk to each other. A gesture calls a Session setter; the setter validates, stores
and emits one signal; every subscribed widget (viewer, timeline, status bar, model panel, workers)
updates itself from that signal, blocking its own signals while it does, so nothing echoes back.
Setters that do not change anything emit nothing, which is what breaks feedback loops.

Later work (painting corrections, the project file) adds state here rather than in widgets.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from . import qt_compat  # noqa: F401  (must run before the app emits signals; see its docstring)

# View modes. Strings (not an enum) so they round-trip through QSettings and a project file.
GRAY, COLORIZED, ORIGINAL, SPLIT, SIDE_BY_SIDE = "gray", "colorized", "original", "split", "side"
DIFFERENCE = "difference"
VIEW_MODES = (GRAY, COLORIZED, ORIGINAL, SPLIT, SIDE_BY_SIDE, DIFFERENCE)
VIEW_LABELS = {GRAY: "Gray", COLORIZED: "Colorized", ORIGINAL: "Original",
               SPLIT: "Split wipe", SIDE_BY_SIDE: "Side by side", DIFFERENCE: "Difference"}
# views that compare the A/B pair (Session.compare_a / compare_b)
COMPARE_MODES = (SPLIT, SIDE_BY_SIDE, DIFFERENCE)

DEFAULT_WORK_SIZE = 256


@dataclass(frozen=True)
class FilmInfo:
    """What the GUI needs to know about the open film (a view of core.media.MediaInfo)."""

    path: str
    frame_count: int
    fps: Fraction
    width: int
    height: int
    has_color: bool
    project_dir: str

    @property
    def name(self) -> str:
        return Path(self.path).name


class Session(QObject):
    filmChanged = Signal(object)          # FilmInfo or None
    frameChanged = Signal(int)
    viewModeChanged = Signal(str)
    inOutChanged = Signal(int, int)       # inclusive in, inclusive out
    modelChanged = Signal(str)            # model path ("" = none)
    workSizeChanged = Signal(int)
    compareChanged = Signal(str, str)     # the A/B pair
    splitChanged = Signal(float)          # wipe position, 0..1 of the frame width

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.film: FilmInfo | None = None
        self.frame = 0
        self.view_mode = COLORIZED
        self.in_point = 0
        self.out_point = 0
        self.model_path = ""
        self.work_size = DEFAULT_WORK_SIZE
        # A/B: one key flips between these two single views.  B is Original for colour sources
        # (compare with the truth), Gray for black-and-white ones.
        self.compare_a = COLORIZED
        self.compare_b = GRAY
        self.split = 0.5

    # ---- film ------------------------------------------------------------------------------
    @property
    def frame_count(self) -> int:
        return self.film.frame_count if self.film else 0

    def set_film(self, film: FilmInfo | None) -> None:
        self.film = film
        self.frame = 0
        self.in_point = 0
        self.out_point = max(0, self.frame_count - 1)
        self.compare_b = ORIGINAL if film and film.has_color else GRAY
        if self.view_mode == ORIGINAL and not (film and film.has_color):
            self.view_mode = COLORIZED
        self.filmChanged.emit(film)
        self.frameChanged.emit(self.frame)
        self.inOutChanged.emit(self.in_point, self.out_point)
        self.viewModeChanged.emit(self.view_mode)
        self.compareChanged.emit(self.compare_a, self.compare_b)

    # ---- playhead ----------------------------------------------------------------------------
    def set_frame(self, index: int) -> None:
        if not self.film:
            return
        index = max(0, min(int(index), self.frame_count - 1))
        if index != self.frame:
            self.frame = index
            self.frameChanged.emit(index)

    def step(self, delta: int) -> None:
        self.set_frame(self.frame + int(delta))

    # ---- views -------------------------------------------------------------------------------
    def available_modes(self) -> tuple[str, ...]:
        if self.film and self.film.has_color:
            return VIEW_MODES
        return tuple(m for m in VIEW_MODES if m != ORIGINAL)

    def set_view_mode(self, mode: str) -> None:
        if mode not in self.available_modes():
            return
        if mode != self.view_mode:
            self.view_mode = mode
            self.viewModeChanged.emit(mode)

    def toggle_ab(self) -> None:
        """One key flips A/B; from a compare view (split, side) it goes to A."""
        self.set_view_mode(self.compare_b if self.view_mode == self.compare_a else self.compare_a)

    def set_compare(self, a: str, b: str) -> None:
        if (a, b) != (self.compare_a, self.compare_b):
            self.compare_a, self.compare_b = a, b
            self.compareChanged.emit(a, b)

    def set_split(self, fraction: float) -> None:
        fraction = min(1.0, max(0.0, float(fraction)))
        if abs(fraction - self.split) > 1e-6:
            self.split = fraction
            self.splitChanged.emit(fraction)

    # ---- in/out ------------------------------------------------------------------------------
    def set_in_out(self, in_point: int, out_point: int) -> None:
        if not self.film:
            return
        last = self.frame_count - 1
        i = max(0, min(int(in_point), last))
        o = max(0, min(int(out_point), last))
        if o < i:
            i, o = o, i
        if (i, o) != (self.in_point, self.out_point):
            self.in_point, self.out_point = i, o
            self.inOutChanged.emit(i, o)

    def mark_in(self) -> None:
        # Setting in past out moves out along, as in Resolve/RV, instead of swapping them.
        self.set_in_out(self.frame, max(self.frame, self.out_point))

    def mark_out(self) -> None:
        self.set_in_out(min(self.frame, self.in_point), self.frame)

    def clear_in_out(self) -> None:
        self.set_in_out(0, self.frame_count - 1)

    # ---- model -------------------------------------------------------------------------------
    def set_model_path(self, path: str) -> None:
        path = str(path or "")
        if path != self.model_path:
            self.model_path = path
            self.modelChanged.emit(path)

    def set_work_size(self, size: int) -> None:
        size = max(64, int(round(int(size) / 64.0)) * 64)
        if size != self.work_size:
            self.work_size = size
            self.workSizeChanged.emit(size)
