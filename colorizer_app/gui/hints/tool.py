"""The hint tool on the viewer: click places, drag moves, right-click deletes, Alt-click picks.

A press on an existing hint grabs it; anywhere else places a new hint with the current colour
(the press and any drag after it are one "Place" step). While dragging, the hint moves in the
store at once (the overlay and the live recolour follow) and the undo step is pushed on
release, so a whole drag is one step.
"""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt

from ...core.ml.hints import Hint
from ...core.project.hint_project import new_hint_id
from ..viewbox import ViewerTool
from .overlay import SELECTED_PX

HIT_SLACK_PX = 3


class HintTool(ViewerTool):
    cursor = Qt.CursorShape.CrossCursor
    press_at_button_down = True          # a drag grabs the hint under the press (viewbox)

    def __init__(self, controller):
        self.ctl = controller
        self._grab: tuple | None = None   # (frame, hid, hint before the gesture or None)
        self._hover_hid: str | None = None

    # ---- geometry --------------------------------------------------------------------------
    def _clamp(self, x: float, y: float) -> tuple[float, float] | None:
        film = self.ctl.session.film
        if film is None:
            return None
        return (float(min(max(int(x), 0), film.width - 1)),
                float(min(max(int(y), 0), film.height - 1)))

    def hit(self, x: float, y: float) -> str | None:
        """The hint under image point (x, y), topmost first, within a spot's screen size."""
        px = self.ctl.viewer.left.viewPixelSize()[0] or 1.0
        reach = (SELECTED_PX / 2 + HIT_SLACK_PX) * px
        best, best_d = None, None
        for hid, h in reversed(self.ctl.store_items()):
            d = max(abs(h.x + 0.5 - x), abs(h.y + 0.5 - y))
            if d <= max(reach, h.size / 2) and (best_d is None or d < best_d):
                best, best_d = hid, d
        return best

    # ---- ViewerTool ------------------------------------------------------------------------
    def press(self, pos, modifiers) -> bool:
        ctl = self.ctl
        if not ctl.ready():
            return True
        frame = ctl.session.frame
        # a drag starts a few pixels past the press (the drag threshold): the hint the pointer
        # rested on just before counts as pressed
        hid = self.hit(pos.x(), pos.y()) or self._hover_hid
        if hid is not None and ctl.store.get(frame, hid) is None:
            hid = None
        if hid is not None:
            self._grab = (frame, hid, ctl.store.get(frame, hid))
            ctl.select(hid)
            return True
        xy = self._clamp(pos.x(), pos.y())
        if xy is None:
            return True
        a, b = ctl.colour_panel.ab
        hid = new_hint_id()
        self._grab = (frame, hid, None)
        ctl.store.put(frame, hid, Hint(xy[0], xy[1], float(a), float(b), ctl.patch_size()))
        ctl.select(hid)
        return True

    def drag(self, pos, modifiers) -> bool:
        if self._grab is None:
            return True
        frame, hid, _before = self._grab
        cur = self.ctl.store.get(frame, hid)
        xy = self._clamp(pos.x(), pos.y())
        if cur is not None and xy is not None and (cur.x, cur.y) != xy:
            self.ctl.store.put(frame, hid, replace(cur, x=xy[0], y=xy[1]))
        return True

    def release(self, pos, modifiers) -> bool:
        if self._grab is None:
            return True
        self.drag(pos, modifiers)
        frame, hid, before = self._grab
        self._grab = None
        after = self.ctl.store.get(frame, hid)
        if after != before:
            self.ctl.commit(frame, hid, before, after)
        self.ctl.released()
        return True

    def hover(self, pos) -> None:
        self._hover_hid = None if pos is None or self._grab is not None else \
            self.hit(pos.x(), pos.y())

    def click(self, pos, button, modifiers) -> bool:
        """Right-click deletes the hint under the pointer; Alt-click takes the shown colour."""
        if button == Qt.MouseButton.RightButton:
            hid = self.hit(pos.x(), pos.y())
            if hid is not None:
                self.ctl.delete(hid)
            return True
        if button == Qt.MouseButton.LeftButton and modifiers & Qt.KeyboardModifier.AltModifier:
            self.ctl.pick_shown_colour(pos.x(), pos.y())
            return True
        return False

    def deactivate(self, viewer) -> None:
        if self._grab is not None:       # a drag cut short by a tool change still lands
            self.release_anyway()

    def release_anyway(self) -> None:
        assert self._grab is not None, "no drag in progress"
        frame, hid, before = self._grab
        self._grab = None
        after = self.ctl.store.get(frame, hid)
        if after != before:
            self.ctl.commit(frame, hid, before, after)
