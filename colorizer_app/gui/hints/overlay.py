"""Hints drawn over the picture: small outlined squares in their colour.

Screen-sized (they stay 9-15 px whatever the zoom, so they never hide the picture), a dark
outline on every square and a light one around the selected hint, so they read on any colour.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor

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

    def set_visible(self, on: bool) -> None:
        self.visible = bool(on)
        self.item.setVisible(self.visible)

    def show(self, items: list[tuple[str, Hint]], selected: str | None) -> None:
        spots = []
        for hid, h in items:
            sel = hid == selected
            spots.append({
                "pos": (h.x + 0.5, h.y + 0.5),       # pixel centres (image pixel x spans x..x+1)
                "size": SELECTED_PX if sel else SPOT_PX,
                "brush": pg.mkBrush(lab_to_qcolor(SHOW_L, h.a, h.b)),
                "pen": pg.mkPen(QColor(255, 230, 80) if sel else QColor(10, 10, 10),
                                width=3 if sel else 1.5),
                "data": hid,
            })
        self.item.setData(spots)

    def count(self) -> int:
        return len(self.item.data)
