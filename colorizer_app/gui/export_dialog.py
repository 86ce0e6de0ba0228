"""File > Export: the corrected film over in/out as an image sequence or a movie.

The render (core.pipeline.render: decode, network or chroma cache, corrections, encode) runs in a QThread
on a snapshot of the corrections, so the artist can keep painting while it runs. Progress comes
back by signal; Cancel sets the render's cancel flag and the writer removes its temp output, so a
cancelled or failed export leaves no file under the chosen name.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from PySide6.QtCore import QThread, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

# key: (label, suffix or None for a sequence, bit depth, file extension of frames)
FORMATS = {
    "png8": ("PNG sequence, 8-bit", None, 8, ".png"),
    "png16": ("PNG sequence, 16-bit", None, 16, ".png"),
    "tiff16": ("TIFF sequence, 16-bit", None, 16, ".tif"),
    "mp4": ("H.264 MP4 (with source audio)", ".mp4", 8, None),
    "mov": ("ProRes 422 HQ MOV (with source audio)", ".mov", 8, None),
    "mkv": ("FFV1 MKV, lossless (with source audio)", ".mkv", 8, None),
}


def output_target(fmt: str, path: str, film_name: str) -> str:
    """What core.pipeline.render writes to: a movie file, or a numbered pattern inside a folder."""
    _label, suffix, _depth, ext = FORMATS[fmt]
    if suffix is not None:
        return path if path.lower().endswith(suffix) else os.path.splitext(path)[0] + suffix
    stem = Path(film_name).stem or "frame"
    return os.path.join(path, f"{stem}_%06d{ext}")


class ExportThread(QThread):
    progressed = Signal(int, int)
    succeeded = Signal(object)        # core.pipeline.render.RenderResult
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, job, out: str, frames, bit_depth: int, parent=None):
        super().__init__(parent)
        self.job, self.out, self.frames, self.bit_depth = job, out, frames, bit_depth
        self.cancel_event = threading.Event()
        self.setObjectName("bento-export")

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:
        from ..core.pipeline.render import RenderCancelled, render
        try:
            res = render(self.job, self.out, self.frames, bit_depth=self.bit_depth,
                         progress=lambda d, t: self.progressed.emit(d, t),
                         cancel=self.cancel_event)
        except RenderCancelled:
            self.cancelled.emit()
        except Exception as exc:          # one line for the artist, never a dead thread
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.failed.emit(msg)
        else:
            self.succeeded.emit(res)


class ExportDialog(QDialog):
    finished_export = Signal(str, str)    # state (done/cancelled/failed), message

    def __init__(self, window, parent=None):
        super().__init__(parent or window)
        self.window = window
        self.setWindowTitle("Export corrected film")
        self.thread: ExportThread | None = None
        self.render_result = None
        s = window.session
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.format_combo = QComboBox()
        for key, (label, *_rest) in FORMATS.items():
            self.format_combo.addItem(label, key)
        self.format_combo.setCurrentIndex(self.format_combo.findData("mp4"))
        form.addRow("Format", self.format_combo)
        row = QHBoxLayout()
        self.path_edit = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        form.addRow("Output", row)
        last = max(0, s.frame_count - 1)
        self.in_spin, self.out_spin = QSpinBox(), QSpinBox()
        for sp, v in ((self.in_spin, s.in_point), (self.out_spin, s.out_point)):
            sp.setRange(0, last)
            sp.setValue(v)
        row = QHBoxLayout()
        row.addWidget(self.in_spin)
        row.addWidget(QLabel("to"))
        row.addWidget(self.out_spin)
        form.addRow("Frames (in/out)", row)
        lay.addLayout(form)
        self.progress = QProgressBar()
        self.progress.setRange(0, max(1, s.out_point - s.in_point + 1))
        self.progress.setValue(0)
        self.status = QLabel("")
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        row = QHBoxLayout()
        row.addStretch(1)
        self.start_btn = QPushButton("Export")
        self.cancel_btn = QPushButton("Close")
        row.addWidget(self.start_btn)
        row.addWidget(self.cancel_btn)
        lay.addLayout(row)
        self.start_btn.clicked.connect(self.start)
        self.cancel_btn.clicked.connect(self._cancel_or_close)
        film = s.film
        if film is not None:
            self.path_edit.setText(os.path.splitext(film.path)[0] + "_corrected.mp4")
        self.format_combo.currentIndexChanged.connect(self._format_changed)

    def _format_changed(self, *_a) -> None:
        fmt = self.format_combo.currentData()
        suffix = FORMATS[fmt][1]
        path = self.path_edit.text()
        base = os.path.splitext(path)[0] if os.path.splitext(path)[1] else path
        self.path_edit.setText(base + suffix if suffix else base)

    def _browse(self) -> None:
        fmt = self.format_combo.currentData()
        if FORMATS[fmt][1] is None:
            path = QFileDialog.getExistingDirectory(self, "Export frames into folder",
                                                    os.path.dirname(self.path_edit.text()))
        else:
            path, _ = QFileDialog.getSaveFileName(self, "Export film", self.path_edit.text())
        if path:
            self.path_edit.setText(path)

    # ---- running ---------------------------------------------------------------------------
    def start(self) -> bool:
        from ..core.pipeline.render import RenderJob
        if self.thread is not None:
            return False
        ctl = getattr(self.window, "project", None)
        project = getattr(ctl, "project", None)
        s = self.window.session
        if project is None or s.film is None:
            self._done("failed", "Open a film first")
            return False
        fmt = self.format_combo.currentData()
        out = output_target(fmt, self.path_edit.text().strip(), s.film.name)
        a, b = sorted((self.in_spin.value(), self.out_spin.value()))
        try:
            job = RenderJob.from_project(project, model=s.model_path or None, size=s.work_size)
        except Exception as exc:
            self._done("failed", str(exc))
            return False
        self.progress.setRange(0, b - a + 1)
        self.progress.setValue(0)
        self.status.setText(f"Exporting frames {a}–{b} to {os.path.basename(out)}…")
        self.thread = ExportThread(job, out, (a, b + 1), FORMATS[fmt][2], self)
        self.thread.progressed.connect(lambda d, t: self.progress.setValue(d))
        self.thread.succeeded.connect(self._on_success)
        self.thread.failed.connect(lambda m: self._done("failed", m))
        self.thread.cancelled.connect(lambda: self._done("cancelled", "Export cancelled"))
        self.start_btn.setEnabled(False)
        self.cancel_btn.setText("Cancel")
        self.thread.start()
        return True

    def _on_success(self, res) -> None:
        self.render_result = res
        msg = f"Exported {res.frames_written} frames to {res.out} in {res.seconds:.1f} s"
        if res.errors:
            msg += f" ({len(res.errors)} problem(s): {res.errors[0]})"
        self._done("done", msg)

    def _done(self, state: str, message: str) -> None:
        if self.thread is not None:
            self.thread.wait()
            self.thread = None
        self.start_btn.setEnabled(True)
        self.cancel_btn.setText("Close")
        self.status.setText(message)
        if state == "failed":
            self.window.show_message("Export failed", message)
        else:
            self.window.statusBar().showMessage(message, 8000)
        self.finished_export.emit(state, message)

    def cancel(self) -> None:
        if self.thread is not None:
            self.status.setText("Cancelling…")
            self.thread.cancel()

    def _cancel_or_close(self) -> None:
        if self.thread is not None:
            self.cancel()
        else:
            self.close()

    def closeEvent(self, ev) -> None:
        if self.thread is not None:          # closing cancels and waits: no orphan render
            self.thread.cancel()
            self.thread.wait()
        super().closeEvent(ev)


def install_export(ctx) -> QAction:
    """File > Export… (Ctrl+E), after the project items; the dialog is created on demand and
    kept as window.export_dialog."""
    window = ctx.window

    def open_dialog():
        if getattr(window, "export_dialog", None) is None:
            window.export_dialog = ExportDialog(window)
        window.export_dialog.show()
        window.export_dialog.raise_()

    ctx.actions.menu("file", "&File")
    a = ctx.actions.register("export", "&Export…", open_dialog, "Ctrl+E", menu="file",
                             before="openModel")
    window.export_dialog = None
    window.export_action = a
    return a
