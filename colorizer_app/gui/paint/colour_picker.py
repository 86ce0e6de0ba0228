"""Colour dock: the chroma the brush paints, chosen three ways.

* Eyedropper: the button arms a one-click pick on the viewer (Ctrl + click does it with the brush):
  the chroma (a, b) of the picture under the cursor.
* Recent colours: the last colours used, as swatches.
* Chroma picker: the a/b plane drawn at the lightness of the pixel under the cursor, because a
  correction only replaces chroma: the artist must see the colour as it will look on *that*
  pixel (a saturated orange on a dark coat is a brown), not at some fixed lightness.
"""
from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QDockWidget,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

AB_RANGE = 100.0
PLANE_RES = 128
MAX_RECENT = 12


def lab_to_qcolor(L: float, a: float, b: float) -> QColor:
    lab = np.array([[[L, a, b]]], np.float32)
    rgb = np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)[0, 0], 0, 1)
    return QColor(int(rgb[0] * 255 + .5), int(rgb[1] * 255 + .5), int(rgb[2] * 255 + .5))


def _swatch_icon(c: QColor) -> QIcon:
    pm = QPixmap(18, 18)
    pm.fill(c)
    return QIcon(pm)


def rgb_to_ab(rgb) -> tuple[float, float]:
    px = np.asarray(rgb, np.float32).reshape(1, 1, 3) / 255.0
    lab = cv2.cvtColor(px, cv2.COLOR_RGB2Lab)[0, 0]
    return float(lab[1]), float(lab[2])


def plane_image(L: float, res: int = PLANE_RES) -> np.ndarray:
    """uint8 RGB (res, res, 3): a to the right, b up, at lightness L."""
    v = np.linspace(-AB_RANGE, AB_RANGE, res, dtype=np.float32)
    lab = np.empty((res, res, 3), np.float32)
    lab[..., 0] = L
    lab[..., 1] = v[None, :]
    lab[..., 2] = v[::-1, None]
    return (np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0, 1) * 255 + .5).astype(np.uint8)


class ChromaPlane(QWidget):
    picked = Signal(float, float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumSize(140, 140)
        self.L = 60.0
        self.ab = (0.0, 0.0)
        self._img = None
        self._L_drawn = None

    def sizeHint(self) -> QSize:
        return QSize(180, 180)

    def set_lightness(self, L: float) -> None:
        L = float(np.clip(L, 0.0, 100.0))
        if abs(L - self.L) >= 0.5:
            self.L = L
            self.update()

    def set_ab(self, a: float, b: float) -> None:
        self.ab = (float(a), float(b))
        self.update()

    def _side(self) -> int:
        return max(10, min(self.width(), self.height()))

    def to_ab(self, p: QPointF) -> tuple[float, float]:
        s = self._side()
        a = (p.x() / s * 2 - 1) * AB_RANGE
        b = (1 - p.y() / s * 2) * AB_RANGE
        return float(np.clip(a, -AB_RANGE, AB_RANGE)), float(np.clip(b, -AB_RANGE, AB_RANGE))

    def paintEvent(self, ev) -> None:
        if self._img is None or self._L_drawn != round(self.L):
            arr = np.ascontiguousarray(plane_image(round(self.L)))
            self._img = QImage(arr.data, arr.shape[1], arr.shape[0], arr.strides[0],
                               QImage.Format.Format_RGB888).copy()
            self._L_drawn = round(self.L)
        s = self._side()
        p = QPainter(self)
        p.drawImage(self.rect().adjusted(0, 0, s - self.width(), s - self.height()), self._img)
        p.setPen(QPen(QColor(0, 0, 0, 90)))
        p.drawLine(s // 2, 0, s // 2, s)
        p.drawLine(0, s // 2, s, s // 2)
        x = (self.ab[0] / AB_RANGE + 1) / 2 * s
        y = (1 - self.ab[1] / AB_RANGE) / 2 * s
        p.setPen(QPen(QColor(255, 255, 255), 2))
        p.drawEllipse(QPointF(x, y), 5, 5)
        p.setPen(QPen(QColor(0, 0, 0), 1))
        p.drawEllipse(QPointF(x, y), 7, 7)
        p.end()

    def mousePressEvent(self, ev) -> None:
        self.picked.emit(*self.to_ab(ev.position()))

    def mouseMoveEvent(self, ev) -> None:
        if ev.buttons() & Qt.MouseButton.LeftButton:
            self.picked.emit(*self.to_ab(ev.position()))


class ColourPicker(QDockWidget):
    colourChanged = Signal(float, float)
    eyedropperRequested = Signal()

    def __init__(self, parent=None):
        super().__init__("Colour", parent)
        self.setObjectName("colourDock")
        self.ab = (20.0, 40.0)
        self.L = 60.0
        self.recent: list[tuple[float, float]] = []
        self._recent_buttons: list[QToolButton] = []
        body = QWidget()
        lay = QVBoxLayout(body)
        self.plane = ChromaPlane()
        lay.addWidget(self.plane, 1)
        row = QHBoxLayout()
        self.swatch = QLabel()
        self.swatch.setFixedSize(36, 24)
        self.value_label = QLabel()
        self.eyedropper = QPushButton("Eyedropper")
        self.eyedropper.setCheckable(True)
        self.eyedropper.setToolTip("Click on the picture to take its chroma (Ctrl + click with "
                                   "the brush does the same)")
        row.addWidget(self.swatch)
        row.addWidget(self.value_label, 1)
        row.addWidget(self.eyedropper)
        lay.addLayout(row)
        lay.addWidget(QLabel("Recent"))
        self.recent_grid = QGridLayout()
        self.recent_grid.setSpacing(2)
        lay.addLayout(self.recent_grid)
        self.setWidget(body)
        self.plane.picked.connect(self.set_colour)
        self.eyedropper.toggled.connect(lambda on: on and self.eyedropperRequested.emit())
        self._sync()

    def set_lightness(self, L: float) -> None:
        """The lightness under the cursor: the plane and swatch preview colours at it."""
        self.L = float(L)
        self.plane.set_lightness(L)
        self._sync()

    def set_colour(self, a: float, b: float) -> None:
        ab = (round(float(a), 2), round(float(b), 2))
        if ab != self.ab:
            self.ab = ab
            self._sync()
            self.colourChanged.emit(*ab)

    def remember(self, ab) -> None:
        """Add a colour that was used to the recent swatches (most recent first)."""
        ab = (round(float(ab[0]), 2), round(float(ab[1]), 2))
        recent = ([ab] + [c for c in self.recent if c != ab])[:MAX_RECENT]
        if recent != self.recent:
            self.recent = recent
            self._sync_recent()

    def _sync(self) -> None:
        self.plane.set_ab(*self.ab)
        c = lab_to_qcolor(self.L, *self.ab)
        self.swatch.setStyleSheet(f"background: {c.name()}; border: 1px solid #888;")
        self.value_label.setText(f"a {self.ab[0]:+.0f}  b {self.ab[1]:+.0f}  @ L {self.L:.0f}")

    def _sync_recent(self) -> None:
        # The swatch buttons are kept and recoloured: rebuilding the grid cost ~9 ms per edit,
        # on the GUI thread while the hint network runs.
        buttons = self._recent_buttons
        while len(buttons) < len(self.recent):
            k = len(buttons)
            btn = QToolButton()
            btn.setFixedSize(22, 22)
            btn.setIconSize(QSize(18, 18))
            btn.clicked.connect(lambda _=False, k=k: self._pick_recent(k))
            self.recent_grid.addWidget(btn, k // 6, k % 6)
            buttons.append(btn)
        for k, btn in enumerate(buttons):
            if k >= len(self.recent):
                btn.hide()
                continue
            ab = self.recent[k]
            btn.setToolTip(f"a {ab[0]:+.0f}, b {ab[1]:+.0f}")
            btn.setIcon(_swatch_icon(lab_to_qcolor(60.0, *ab)))   # a style sheet per button: ~0.3 ms
            btn.show()

    def _pick_recent(self, k: int) -> None:
        if k < len(self.recent):
            self.set_colour(*self.recent[k])
