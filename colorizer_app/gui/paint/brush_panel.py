"""Brush dock: size, softness, opacity, smoothing, eraser, snap to edges, lifetime of new
corrections. Brush settings are tool state, not project state: they persist in QSettings and are
not undoable (as in Nuke and Photoshop); what the brush *paints* is."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QSlider,
    QSpinBox,
    QWidget,
)

from ...core.corrections.brush import BrushSettings

LIFETIMES = (("frame", "This frame"), ("range", "In–out range"), ("until_cut", "Until next cut"))


def _slider_spin(lo: int, hi: int, value: int, suffix: str = ""):
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(lo, hi)
    slider.setValue(value)
    spin = QSpinBox()
    spin.setRange(lo, hi)
    spin.setValue(value)
    spin.setSuffix(suffix)
    slider.valueChanged.connect(spin.setValue)
    spin.valueChanged.connect(slider.setValue)
    row = QWidget()
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(slider, 1)
    lay.addWidget(spin)
    return row, spin


class BrushPanel(QDockWidget):
    settingsChanged = Signal()

    def __init__(self, settings=None, parent=None):
        super().__init__("Brush", parent)
        self.setObjectName("brushDock")
        self._qs = settings
        body = QWidget()
        form = QFormLayout(body)
        row, self.size_spin = _slider_spin(1, 1000, self._get("size", 40), " px")
        form.addRow("Size", row)
        row, self.softness_spin = _slider_spin(0, 100, self._get("softness", 50), " %")
        form.addRow("Softness", row)
        row, self.opacity_spin = _slider_spin(1, 100, self._get("opacity", 100), " %")
        form.addRow("Opacity", row)
        row, self.smoothing_spin = _slider_spin(0, 95, self._get("smoothing", 30), " %")
        form.addRow("Smoothing", row)
        self.eraser_box = QCheckBox("Eraser (E)")
        self.snap_box = QCheckBox("Snap to edges")
        self.snap_box.setChecked(bool(self._get("snap", 0)))
        self.snap_box.setToolTip("Refine each stroke to the object edges in the frame's lightness")
        form.addRow(self.eraser_box)
        form.addRow(self.snap_box)
        self.lifetime_combo = QComboBox()
        for key, label in LIFETIMES:
            self.lifetime_combo.addItem(label, key)
        self.lifetime_combo.setToolTip("How long a new correction lasts (change it later in the "
                                       "Corrections panel)")
        form.addRow("New corrections", self.lifetime_combo)
        self.setWidget(body)
        for w in (self.size_spin, self.softness_spin, self.opacity_spin, self.smoothing_spin):
            w.valueChanged.connect(self._changed)
        for w in (self.eraser_box, self.snap_box):
            w.toggled.connect(self._changed)
        self.lifetime_combo.currentIndexChanged.connect(self._changed)

    def _get(self, key: str, default: int) -> int:
        if self._qs is None:
            return default
        return int(self._qs.value(f"brush/{key}", default, int))

    def _changed(self, *_a) -> None:
        if self._qs is not None:
            for key, spin in (("size", self.size_spin), ("softness", self.softness_spin),
                              ("opacity", self.opacity_spin), ("smoothing", self.smoothing_spin)):
                self._qs.setValue(f"brush/{key}", spin.value())
            self._qs.setValue("brush/snap", int(self.snap_box.isChecked()))
        self.settingsChanged.emit()

    # ---- API -------------------------------------------------------------------------------
    def size(self) -> float:
        return float(self.size_spin.value())

    def set_size(self, size: float) -> None:
        self.size_spin.setValue(int(round(max(1.0, min(1000.0, size)))))

    def grow(self, factor: float) -> None:
        s = self.size()
        self.set_size(max(s + 1, s * factor) if factor > 1 else min(s - 1, s * factor))

    def eraser(self) -> bool:
        return self.eraser_box.isChecked()

    def snap(self) -> bool:
        return self.snap_box.isChecked()

    def lifetime_kind(self) -> str:
        return self.lifetime_combo.currentData()

    def settings(self) -> BrushSettings:
        return BrushSettings(size=self.size(), softness=self.softness_spin.value() / 100.0,
                             opacity=self.opacity_spin.value() / 100.0, eraser=self.eraser(),
                             smoothing=self.smoothing_spin.value() / 100.0)
