"""Model panel (dock): which generator colorizes, at which working size, and how far it got.

The working size is the render factor: the gray frame is letterboxed into a square of this many
pixels before the network sees it (multiples of 64; larger = finer chroma, slower).  Changing it
or the model selects another chroma cache key, so the frame on screen re-renders first and the
frames cached for the previous setting stay on disk for when the artist switches back.
"""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core.ml.bundled import hint_model_path
from .session import Session

STATE_COLORS = {"none": "#d9a441", "loading": "#9ab", "ready": "#7c7", "error": "#e66"}


class ModelPanel(QDockWidget):
    openModelRequested = Signal()
    hintModelRequested = Signal()

    def __init__(self, session: Session, pipeline, parent: QWidget | None = None):
        super().__init__("Model", parent)
        self.setObjectName("modelPanel")
        self.session = session
        self.pipeline = pipeline
        self.state = "none"

        body = QWidget()
        self.name_label = QLabel("—")
        self.name_label.setWordWrap(True)
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label = QLabel("")
        self.status_label.setObjectName("modelStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton("Open model…")
        self.open_button.clicked.connect(self.openModelRequested)
        self.hint_button = QPushButton("Hint model")
        self.hint_button.setToolTip("Colorize with the shipped hint model: a few colour clicks "
                                    "(Hint tool, H) spread to the objects' edges; with no hints "
                                    "the film stays gray")
        self.hint_button.clicked.connect(self.hintModelRequested)

        self.size_spin = QSpinBox()
        self.size_spin.setRange(64, 2048)
        self.size_spin.setSingleStep(64)
        self.size_spin.setSuffix(" px")
        self.size_spin.setKeyboardTracking(False)   # apply on Enter / arrows, not every digit
        self.size_spin.setValue(session.work_size)
        self.size_spin.setToolTip("Working size (render factor): frames are letterboxed into a "
                                  "square this big for the network. Multiples of 64.")
        self.size_spin.valueChanged.connect(self._on_size_edited)

        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m")
        self.progress.setToolTip("Frames of the in/out range in the chroma cache")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.cancel_button = QPushButton("Pause background")
        self.cancel_button.setCheckable(True)
        self.cancel_button.setToolTip("Stop colorizing ahead and through in/out; the frame on "
                                      "screen is still colorized when you visit it.")
        self.cancel_button.toggled.connect(self._on_cancel_toggled)
        self.error_label = QLabel("")
        self.error_label.setObjectName("workerError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #e66;")
        self.error_label.hide()

        form = QFormLayout()
        form.addRow("Model", self.name_label)
        form.addRow("Working size", self.size_spin)
        form.addRow("In/out done", self.progress)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.cancel_button)
        lay = QVBoxLayout(body)
        lay.addLayout(form)
        lay.addWidget(self.status_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.hint_button)
        lay.addLayout(buttons)
        lay.addLayout(row)
        lay.addWidget(self.error_label)
        lay.addStretch(1)
        self.setWidget(body)

        session.modelChanged.connect(self._on_model_path)
        session.workSizeChanged.connect(self._sync_size)
        pipeline.modelStatus.connect(self.set_status)
        pipeline.progress.connect(self._on_progress)
        pipeline.workerError.connect(self.show_error)
        self._on_model_path(session.model_path)

    # ---- state -> widgets ----------------------------------------------------------------------
    def set_status(self, state: str, message: str) -> None:
        self.state = state
        self.status_label.setText(message)
        self.status_label.setStyleSheet(f"color: {STATE_COLORS.get(state, '#ccc')};")
        if state in ("ready", "loading"):
            self.error_label.hide()

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    def _on_model_path(self, path: str) -> None:
        self.name_label.setText(os.path.basename(path) if path else "none")
        self.name_label.setToolTip(path)
        hint = hint_model_path()
        self.hint_button.setEnabled(bool(hint) and os.path.abspath(path or "") != os.path.abspath(hint))

    def _sync_size(self, size: int) -> None:
        self.size_spin.blockSignals(True)
        self.size_spin.setValue(size)
        self.size_spin.blockSignals(False)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(done, total))

    # ---- widgets -> state ----------------------------------------------------------------------
    def _on_size_edited(self, value: int) -> None:
        snapped = max(64, int(round(value / 64.0)) * 64)
        if snapped != value:
            self._sync_size(snapped)
        self.session.set_work_size(snapped)

    def _on_cancel_toggled(self, paused: bool) -> None:
        self.cancel_button.setText("Resume background" if paused else "Pause background")
        self.pipeline.set_background(not paused)

    def choose_model(self, parent: QWidget | None = None) -> str:
        start = os.path.dirname(self.session.model_path) if self.session.model_path else ""
        path, _ = QFileDialog.getOpenFileName(parent or self, "Open generator", start,
                                              "Keras models (*.keras)")
        return path
