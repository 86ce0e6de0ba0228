"""The Hints dock: whether the model takes hints, patch size, show/hide, the selected hint."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

DEFAULT_PATCH = 5


class HintPanel(QDockWidget):
    sizeChanged = Signal(int)
    recolourRequested = Signal()
    deleteRequested = Signal()
    copyRequested = Signal(int)          # copy this frame's hints to that frame
    viewRequested = Signal(bool)         # True: show hints only (the gray frame), False: result
    hintModelRequested = Signal()        # switch to the shipped hint model

    def __init__(self, parent=None):
        super().__init__("Hints", parent)
        self.setObjectName("hintsDock")
        body = QWidget()
        lay = QVBoxLayout(body)
        self.model_label = QLabel("No model loaded")
        self.model_label.setWordWrap(True)
        lay.addWidget(self.model_label)
        self.use_model_btn = QPushButton("Use the hint model")
        self.use_model_btn.setToolTip("Colorize with the shipped hint model (File ▸ Use the hint model)")
        self.use_model_btn.clicked.connect(self.hintModelRequested)
        lay.addWidget(self.use_model_btn)
        self.show_box = QCheckBox("Show hints")
        self.show_box.setChecked(True)
        lay.addWidget(self.show_box)
        self.key_box = QCheckBox("A hinted frame is a keyframe of its shot")
        self.key_box.setChecked(True)
        self.key_box.setToolTip("Its colours flow through the shot like a marked keyframe")
        lay.addWidget(self.key_box)
        row = QHBoxLayout()
        row.addWidget(QLabel("Patch"))
        self.size_spin = QSpinBox()
        self.size_spin.setRange(1, 64)
        self.size_spin.setValue(DEFAULT_PATCH)
        self.size_spin.setSuffix(" px")
        self.size_spin.setToolTip("Side of a new hint's square; changes the selected hint too")
        row.addWidget(self.size_spin, 1)
        lay.addLayout(row)
        row = QHBoxLayout()
        self.recolour_btn = QPushButton("Recolour")
        self.recolour_btn.setToolTip("Give the selected hint the current colour")
        self.delete_btn = QPushButton("Delete")
        self.delete_btn.setToolTip("Delete the selected hint (Delete, or right-click it)")
        row.addWidget(self.recolour_btn)
        row.addWidget(self.delete_btn)
        lay.addLayout(row)
        row = QHBoxLayout()
        self.result_btn = QPushButton("Show result")
        self.only_btn = QPushButton("Show hints only")
        group = QButtonGroup(self)
        for b in (self.result_btn, self.only_btn):
            b.setCheckable(True)
            group.addButton(b)
            row.addWidget(b)
        self.result_btn.setChecked(True)
        lay.addLayout(row)
        row = QHBoxLayout()
        self.copy_btn = QPushButton("Copy hints to frame")
        self.copy_btn.setToolTip("Copy this frame's hints to another frame of the shot, carried "
                                 "along by optical flow where the picture moved")
        self.copy_spin = QSpinBox()
        self.copy_spin.setRange(0, 0)
        row.addWidget(self.copy_btn)
        row.addWidget(self.copy_spin, 1)
        lay.addLayout(row)
        lay.addStretch(1)
        self.setWidget(body)
        self.size_spin.valueChanged.connect(self.sizeChanged)
        self.recolour_btn.clicked.connect(self.recolourRequested)
        self.delete_btn.clicked.connect(self.deleteRequested)
        self.copy_btn.clicked.connect(lambda: self.copyRequested.emit(self.copy_spin.value()))
        self.only_btn.toggled.connect(lambda on: self.viewRequested.emit(bool(on)))
        self.set_selected(False)
        for w in (self.size_spin, self.copy_spin):
            w.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

    def set_model(self, takes_hints: bool, text: str) -> None:
        self.model_label.setText(text)
        self.use_model_btn.setVisible(not takes_hints)
        for w in (self.copy_btn, self.copy_spin, self.only_btn, self.result_btn):
            w.setEnabled(takes_hints)

    def set_selected(self, on: bool) -> None:
        self.recolour_btn.setEnabled(on)
        self.delete_btn.setEnabled(on)
