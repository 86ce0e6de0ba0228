"""Temporal ▸ Learn this film…: adapt the model to the project's keyframes while the artist works.

A non-modal window: budget, Start, progress with ETA, Cancel and a live pyqtgraph plot of the
training and held-out loss. The run is gui.adapt_worker (own thread, nice 19). When it ends the
viewer shows the adapted model; "Show base" / "Show adapted" flips between the two (each has its
own chroma cache, so flipping back is instant, and the A/B and difference views work on either),
and the artist keeps one: keeping the adapted model is one undoable step (SwitchModelCommand);
keeping the base, cancelling, or closing the window leaves the project's model as it was.
"""
from __future__ import annotations

import os

import pyqtgraph as pg
from PySide6.QtGui import QAction, QUndoCommand
from PySide6.QtWidgets import (
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from .adapt_worker import AdaptJob, AdaptRunner


class SwitchModelCommand(QUndoCommand):
    """The project's model from one generator file to another (undo switches back)."""

    def __init__(self, session, before: str, after: str, text: str = "Use the model learnt from this film"):
        super().__init__(text)
        self.session, self.before, self.after = session, before, after

    def redo(self) -> None:
        self.session.set_model_path(self.after)

    def undo(self) -> None:
        self.session.set_model_path(self.before)


def _fmt_s(seconds: float) -> str:
    m, s = divmod(int(seconds + 0.5), 60)
    return f"{m}:{s:02d}"


class AdaptDialog(QDialog):
    def __init__(self, ctx):
        super().__init__(ctx.window)
        self.setObjectName("adaptDialog")
        self.setWindowTitle("Learn this film")
        self.ctx, self.session = ctx, ctx.session
        self.runner: AdaptRunner | None = None
        self.base_path = self.adapted_path = ""
        self.result = None
        self.train_pts: list[tuple[int, float]] = []
        self.held_pts: list[tuple[int, float]] = []

        self.minutes = QDoubleSpinBox()
        self.minutes.setRange(0.1, 120.0)
        self.minutes.setValue(5.0)
        self.minutes.setSuffix(" min")
        self.minutes.setToolTip("Time budget: learning stops earlier when the held-out keyframes stop improving")
        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.eta = QLabel("")
        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(160)
        self.plot.addLegend()
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "error (MSE of ab)")
        self.train_curve = self.plot.plot([], [], pen=pg.mkPen("#7ab", width=1), name="training")
        self.held_curve = self.plot.plot([], [], pen=pg.mkPen("#e94", width=2), symbol="o", symbolSize=5,
                                         name="held-out keyframes")
        self.start_button = QPushButton("Start")
        self.cancel_button = QPushButton("Cancel")
        self.show_base = QPushButton("Show base")
        self.show_adapted = QPushButton("Show adapted")
        self.keep_adapted = QPushButton("Keep adapted")
        self.keep_base = QPushButton("Keep base")
        for b in (self.show_base, self.show_adapted, self.keep_adapted, self.keep_base):
            b.setEnabled(False)
        self.cancel_button.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.show_base.clicked.connect(lambda: self._preview(self.base_path))
        self.show_adapted.clicked.connect(lambda: self._preview(self.adapted_path))
        self.keep_adapted.clicked.connect(self.keep_adapted_model)
        self.keep_base.clicked.connect(self.keep_base_model)

        form = QFormLayout()
        form.addRow("Budget", self.minutes)
        form.addRow("Progress", self.progress)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.eta)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.info)
        for group in ((self.start_button, self.cancel_button), (self.show_base, self.show_adapted),
                      (self.keep_base, self.keep_adapted)):
            row = QHBoxLayout()
            row.addStretch(1)
            for b in group:
                row.addWidget(b)
            lay.addLayout(row)
        self.refresh()

    # ---- what there is to learn from ---------------------------------------------------------
    def _keys(self) -> dict:
        temporal = self.ctx.temporal
        keys = getattr(temporal, "keys", {}) or {}
        return {k: (e.keyframe.ab, e.keyframe.mask) for k, e in keys.items()}

    def refresh(self) -> None:
        """Say what a start would learn from; Start only when there is a film, a model and keys."""
        if self.runner is not None:
            return
        n, film, model = len(self._keys()), self.session.film, self.session.model_path
        why = ("open a film first" if film is None else "no model to adapt" if not model else
               "mark or import keyframes first (Temporal ▸ keyframes): the model learns from them"
               if n == 0 else "")
        self.start_button.setEnabled(not why)
        self.info.setText(why or f"Learns from {n} keyframe(s) of {film.name}; you can keep painting.")

    # ---- run ---------------------------------------------------------------------------------
    def start(self, max_steps: int | None = None) -> bool:
        self.refresh()
        if not self.start_button.isEnabled():
            return False
        self.base_path = self.session.model_path
        self.adapted_path, self.result = "", None
        self.train_pts, self.held_pts = [], []
        self._redraw()
        self.runner = AdaptRunner(self)
        w = self.runner.worker
        w.progressed.connect(self._on_progress)
        w.finished.connect(self._on_finished)
        w.cancelled.connect(self._on_cancelled)
        w.failed.connect(self._on_failed)
        job = AdaptJob(self.session.film.path, self.base_path, self._keys(), minutes=self.minutes.value(),
                       size=self.session.work_size, max_steps=max_steps if isinstance(max_steps, int) else None)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        for b in (self.show_base, self.show_adapted, self.keep_adapted, self.keep_base):
            b.setEnabled(False)
        self.info.setText(f"Learning from {len(job.keys)} keyframe(s)…")
        self.progress.setValue(0)
        self.runner.start(job)
        return True

    def cancel(self) -> None:
        if self.runner is not None:
            self.runner.cancel()
            self.cancel_button.setEnabled(False)
            self.info.setText("Cancelling…")

    def running(self) -> bool:
        return self.runner is not None

    def _end_run(self) -> None:
        if self.runner is not None:
            self.runner.stop()
            self.runner.deleteLater()
            self.runner = None
        self.cancel_button.setEnabled(False)

    def _on_progress(self, p) -> None:
        self.progress.setValue(int(1000 * p.fraction))
        self.eta.setText(f"step {p.step}, {_fmt_s(p.elapsed_s)} elapsed, at most {_fmt_s(p.eta_s)} left")
        if p.train_loss is not None:
            self.train_pts.append((p.step, p.train_loss))
        if not self.held_pts:                      # the base model's held-out error starts the curve
            self.held_pts.append((0, p.base_held))
        if p.held_loss is not None:
            self.held_pts.append((p.step, p.held_loss))
        self._redraw()

    def _redraw(self) -> None:
        self.train_curve.setData([s for s, _ in self.train_pts], [v for _, v in self.train_pts])
        self.held_curve.setData([s for s, _ in self.held_pts], [v for _, v in self.held_pts])

    def _on_finished(self, path: str, result) -> None:
        self._end_run()
        self.adapted_path, self.result = path, result
        self.progress.setValue(1000)
        gain = (f"held-out error {result.base_held:.4f} → {result.best_held:.4f}" if result.improved
                else "no gain on the held-out keyframes: the adapted model equals the base")
        self.info.setText(f"Learnt in {_fmt_s(result.seconds)} ({result.steps} steps, {result.stopped}); "
                          f"{gain}. Compare (Show base / Show adapted, A/B and difference views), then keep one.")
        for b in (self.show_base, self.show_adapted, self.keep_adapted, self.keep_base):
            b.setEnabled(True)
        self._preview(path)

    def _on_cancelled(self) -> None:
        self._end_run()
        self.refresh()
        self.info.setText("Cancelled: the project keeps its model.")

    def _on_failed(self, message: str) -> None:
        self._end_run()
        self.refresh()
        self.info.setText(f"Could not learn the film: {message}")

    # ---- compare and keep --------------------------------------------------------------------
    def _preview(self, path: str) -> None:
        if path:
            self.session.set_model_path(path)

    def keep_adapted_model(self) -> None:
        """One undoable step from the base to the adapted model."""
        if not self.adapted_path:
            return
        self.session.set_model_path(self.base_path)  # the command's redo makes the switch
        self.ctx.undo.push(SwitchModelCommand(self.session, self.base_path, self.adapted_path))
        self._close_choice(f"Using {os.path.basename(self.adapted_path)} (Edit ▸ Undo goes back).")

    def keep_base_model(self) -> None:
        self.session.set_model_path(self.base_path)
        self._close_choice("Kept the base model.")

    def _close_choice(self, text: str) -> None:
        self.adapted_path = ""
        for b in (self.show_base, self.show_adapted, self.keep_adapted, self.keep_base):
            b.setEnabled(False)
        self.info.setText(text)
        self.refresh()

    def shutdown(self) -> None:
        """The window closes: stop a run (nothing is written); the model stays as shown."""
        if self.runner is not None:
            self.runner.stop()
            self.runner = None

    def done(self, r: int) -> None:  # closing never leaves a preview or a run behind
        if self.runner is not None:
            self.cancel()
            self._end_run()
        if self.adapted_path:
            self.keep_base_model()
        super().done(r)


def attach_adapt(window) -> QAction:
    """Temporal ▸ Learn this film… (or a Model menu when there is no Temporal menu)."""
    reg = window.context.actions
    menu = "temporal" if reg.has_menu("temporal") else "model"
    reg.menu(menu, "&Model")

    def show():
        if getattr(window, "adapt_dialog", None) is None:
            window.adapt_dialog = AdaptDialog(window.context)
        window.adapt_dialog.refresh()
        window.adapt_dialog.show()
        window.adapt_dialog.raise_()

    reg.separator(menu)
    action = reg.register("learnFilm", "Learn this film…", show, menu=menu,
                          tooltip="Adapt the model to this film's keyframes in the background")
    window.adapt_dialog = None
    window.learn_film_action = action
    return action
