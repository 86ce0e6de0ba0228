"""The Temporal dock: shot detection status, deflicker strength, keyframes, flicker peaks."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)


class TemporalPanel(QDockWidget):
    strengthChanged = Signal(float)        # 0..1, after the slider settles
    gotoRequested = Signal(int)
    removeKeyRequested = Signal(int)

    def __init__(self, parent=None):
        super().__init__("Temporal", parent)
        self.setObjectName("temporalDock")
        body = QWidget()
        lay = QVBoxLayout(body)
        self.shots_label = QLabel("Shots: —")
        lay.addWidget(self.shots_label)

        row = QHBoxLayout()
        row.addWidget(QLabel("Deflicker"))
        self.strength_slider = QSlider(Qt.Orientation.Horizontal)
        self.strength_slider.setRange(0, 100)
        self.strength_slider.setToolTip("Motion-compensated smoothing of the model's colour "
                                        "within each shot (0 % = off)")
        row.addWidget(self.strength_slider, 1)
        self.strength_label = QLabel("0 %")
        self.strength_label.setMinimumWidth(40)
        row.addWidget(self.strength_label)
        lay.addLayout(row)
        # Dragging the slider fires many values: the worker gets the one it settles on.
        self._settle = QTimer(self, singleShot=True, interval=150)
        self._settle.timeout.connect(
            lambda: self.strengthChanged.emit(self.strength_slider.value() / 100.0))
        self.strength_slider.valueChanged.connect(self._on_slider)

        lay.addWidget(QLabel("Keyframes"))
        self.key_list = QListWidget()
        self.key_list.setMaximumHeight(120)
        self.key_list.itemDoubleClicked.connect(lambda it: self.gotoRequested.emit(_frame(it)))
        lay.addWidget(self.key_list)
        row = QHBoxLayout()
        self.goto_btn = QPushButton("Go to")
        self.goto_btn.clicked.connect(self._goto)
        self.remove_btn = QPushButton("Remove")
        self.remove_btn.clicked.connect(self._remove)
        row.addWidget(self.goto_btn)
        row.addWidget(self.remove_btn)
        lay.addLayout(row)

        lay.addWidget(QLabel("Worst flicker (click to go)"))
        self.peak_list = QListWidget()
        self.peak_list.setMaximumHeight(110)
        self.peak_list.itemClicked.connect(lambda it: self.gotoRequested.emit(_frame(it)))
        lay.addWidget(self.peak_list)
        lay.addStretch(1)
        self.setWidget(body)

    def _on_slider(self, v: int) -> None:
        self.strength_label.setText(f"{v} %")
        self._settle.start()

    def set_strength(self, strength: float) -> None:
        self.strength_slider.blockSignals(True)
        self.strength_slider.setValue(int(round(strength * 100)))
        self.strength_slider.blockSignals(False)
        self.strength_label.setText(f"{self.strength_slider.value()} %")

    def set_keyframes(self, frames, current: int | None = None) -> None:
        self.key_list.clear()
        for k in sorted(frames):
            it = QListWidgetItem(f"Frame {k}")
            it.setData(Qt.ItemDataRole.UserRole, int(k))
            self.key_list.addItem(it)
            if k == current:
                self.key_list.setCurrentItem(it)

    def set_peaks(self, peaks) -> None:
        """peaks: [(frame, value)] worst first."""
        self.peak_list.clear()
        for k, v in peaks:
            it = QListWidgetItem(f"Frame {k}   {v:.2f}")
            it.setData(Qt.ItemDataRole.UserRole, int(k))
            self.peak_list.addItem(it)

    def _goto(self) -> None:
        it = self.key_list.currentItem()
        if it is not None:
            self.gotoRequested.emit(_frame(it))

    def _remove(self) -> None:
        it = self.key_list.currentItem()
        if it is not None:
            self.removeKeyRequested.emit(_frame(it))


def _frame(item) -> int:
    return int(item.data(Qt.ItemDataRole.UserRole))
