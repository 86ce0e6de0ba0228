"""Cut and keyframe markers on the timeline, and their mouse gestures.

A cut at frame k is drawn as a vertical line at k - 0.5 (between the last frame of one shot and
the first of the next).  Click a line to select it (it also scrubs there, as every click on the
timeline does), drag it to move the cut, right click for its menu; Delete removes the selected
cut (the controller's action).  The markers never edit anything themselves: they emit requests
that the controller turns into undo commands.  Keyframes are diamonds along the top edge.
"""
from __future__ import annotations

from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QMenu

CUT_PEN = (240, 90, 90, 230)
SELECTED_PEN = (255, 230, 90, 255)
KEY_BRUSH = (120, 220, 255, 255)
KEY_Y = 0.93


class CutLine(pg.InfiniteLine):
    def __init__(self, owner: TimelineMarkers, frame: int):
        super().__init__(pos=frame - 0.5, angle=90, movable=True,
                         pen=pg.mkPen(*CUT_PEN, width=2),
                         hoverPen=pg.mkPen(255, 160, 140, width=3))
        self.owner, self.frame = owner, frame
        self.setZValue(40)
        self.sigPositionChangeFinished.connect(lambda _l: owner.cut_moved(self))

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            self.owner.select(self.frame)
            self.owner.context_menu(self.frame)
            return
        if ev.button() == Qt.MouseButton.LeftButton:
            self.owner.select(self.frame)
        super().mouseClickEvent(ev)


class TimelineMarkers(QObject):
    moveRequested = Signal(int, int)      # cut, new frame
    deleteRequested = Signal(int)         # cut
    selectionChanged = Signal(object)     # selected cut or None

    def __init__(self, timeline, parent: QObject | None = None):
        super().__init__(parent)
        self.timeline = timeline
        self.plot = timeline.plot
        self.lines: dict[int, CutLine] = {}
        self.selected: int | None = None
        self.timeline.cuts.setVisible(False)     # the lines below draw the cuts
        self.keys = pg.ScatterPlotItem(symbol="d", size=11, pen=pg.mkPen(20, 40, 60),
                                       brush=pg.mkBrush(*KEY_BRUSH))
        self.keys.setZValue(45)
        self.plot.addItem(self.keys)

    # ---- cuts --------------------------------------------------------------------------------
    def set_cuts(self, cuts: Sequence[int]) -> None:
        cuts = sorted(int(c) for c in cuts)
        self.timeline.set_cut_markers(cuts)
        for k in [k for k in self.lines if k not in cuts]:
            self.plot.removeItem(self.lines.pop(k))
        for k in cuts:
            line = self.lines.get(k)
            if line is None:
                line = self.lines[k] = CutLine(self, k)
                self.plot.addItem(line)
            line.blockSignals(True)
            line.setValue(k - 0.5)
            line.blockSignals(False)
        if self.selected not in self.lines:
            self.selected = None
        self._restyle()

    def cuts(self) -> list[int]:
        return sorted(self.lines)

    def select(self, frame: int | None) -> None:
        frame = frame if frame in self.lines else None
        if frame != self.selected:
            self.selected = frame
            self._restyle()
            self.selectionChanged.emit(frame)

    def _restyle(self) -> None:
        for k, line in self.lines.items():
            rgba = SELECTED_PEN if k == self.selected else CUT_PEN
            line.setPen(pg.mkPen(*rgba, width=3 if k == self.selected else 2))

    def cut_moved(self, line: CutLine) -> None:
        """A cut line was dragged and let go: ask to move the cut (or put the line back)."""
        new = int(round(line.value() + 0.5))
        if new != line.frame:
            self.moveRequested.emit(line.frame, new)
        else:
            line.setValue(line.frame - 0.5)

    def context_menu(self, frame: int) -> None:
        menu = QMenu(self.timeline)
        menu.addAction(f"Delete cut at frame {frame}", lambda: self.deleteRequested.emit(frame))
        menu.addAction("Go to cut", lambda: self.timeline.session.set_frame(frame))
        menu.popup(QCursor.pos())
        self.last_menu = menu

    # ---- keyframes ---------------------------------------------------------------------------
    def set_keyframes(self, frames: Sequence[int]) -> None:
        xs = sorted(int(k) for k in frames)
        self.keys.setData(x=xs, y=[KEY_Y] * len(xs))

    def keyframes(self) -> list[int]:
        x, _ = self.keys.getData()
        return [] if x is None else [int(v) for v in x]
