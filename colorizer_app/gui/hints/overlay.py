"""Hints drawn over the picture: small outlined squares in their colour.

Screen-sized (they stay 9-15 px whatever the zoom, so they never hide the picture), a dark
outline on every square and a light one around the selected hint, so they read on any colour.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QBrush, QColor

from ...core.ml.hints import Hint
from ..paint.colour_picker import lab_to_qcolor

SPOT_PX = 11
SELECTED_PX = 15
SHOW_L = 62.0         # the lightness a hint's swatch is drawn at (a hint carries only a, b)


class HintOverlay:
    def __init__(self, viewer):
        self.item = pg.ScatterPlotItem(pxMode=True, symbol="s")
        self.item.setZValue(30)
        viewer.add_overlay(self.item)
        self.visible = True
        self._shown: tuple | None = None
        self._brushes: dict[tuple[float, float], QBrush] = {}
        self._pens = (pg.mkPen(QColor(10, 10, 10), width=1.5), pg.mkPen(QColor(255, 230, 80), width=3))

    def set_visible(self, on: bool) -> None:
        self.visible = bool(on)
        self.item.setVisible(self.visible)

    def show(self, items: list[tuple[str, Hint]], selected: str | None) -> None:
        # An edit asks for the overlay more than once (press, commit, selection): redrawing the
        # same spots cost a few ms each on the GUI thread while the hint network runs.
        key = (tuple(items), selected)
        if key == self._shown:
            return
        self._shown = key
        sel = [hid == selected for hid, _ in items]
        self.item.setData(
            pos=[(h.x + 0.5, h.y + 0.5) for _, h in items],   # pixel centres (x spans x..x+1)
            size=[SELECTED_PX if s else SPOT_PX for s in sel],
            brush=[self._brush(h) for _, h in items],
            pen=[self._pens[s] for s in sel],
            data=[hid for hid, _ in items])

    def _brush(self, h: Hint) -> QBrush:
        b = self._brushes.get((h.a, h.b))
        if b is None:
            if len(self._brushes) > 512:
                self._brushes.clear()
            b = self._brushes[(h.a, h.b)] = pg.mkBrush(lab_to_qcolor(SHOW_L, h.a, h.b))
        return b

    def count(self) -> int:
        return len(self.item.data)
