"""Status bar: frame, timecode, frame count, rate, size, model, and playback health."""
from __future__ import annotations

from fractions import Fraction

from PySide6.QtWidgets import QLabel, QStatusBar

from .session import Session
from .timeline import timecode


def format_rate(fps: Fraction) -> str:
    """23.976 for 24000/1001, 25 for 25/1: what artists read on every other tool."""
    value = float(fps)
    return f"{value:.3f}".rstrip("0").rstrip(".") + " fps"


class StatusBar(QStatusBar):
    def __init__(self, session: Session, pipeline, player, parent=None):
        super().__init__(parent)
        self.session = session
        self.pipeline = pipeline
        self.player = player
        self.frame = self._label("frame")
        self.tc = self._label("timecode")
        self.count = self._label("count")
        self.rate = self._label("rate")
        self.size = self._label("size")
        self.model = self._label("model")
        self.play = self._label("playback")
        self.busy = self._label("busy")
        self.proxy = self._label("proxy")
        session.filmChanged.connect(self._on_film)
        session.frameChanged.connect(self._on_frame)
        session.workSizeChanged.connect(lambda *_: self._on_model())
        pipeline.modelStatus.connect(lambda *_: self._on_model())
        pipeline.busy.connect(lambda b: self.busy.setText("colorizing…" if b else ""))
        player.speedChanged.connect(lambda *_: self._on_play())
        player.droppedChanged.connect(lambda *_: self._on_play())
        pipeline.workerError.connect(lambda msg: self.showMessage(msg, 8000))
        pipeline.proxyProgress.connect(self._on_proxy)
        self._on_film(session.film)
        self._on_model()

    def _label(self, name: str) -> QLabel:
        lab = QLabel("")
        lab.setObjectName(f"status_{name}")
        lab.setStyleSheet("QLabel { padding: 0 6px; }")
        self.addPermanentWidget(lab)
        return lab

    def _on_film(self, film) -> None:
        if film is None:
            for lab in (self.frame, self.tc, self.count, self.rate, self.size):
                lab.setText("")
            self.frame.setText("No film: File ▸ Open or drop a film here")
            return
        self.count.setText(f"{film.frame_count} frames")
        self.rate.setText(format_rate(film.fps))
        self.size.setText(f"{film.width}×{film.height}")
        self._on_frame(self.session.frame)

    def _on_frame(self, index: int) -> None:
        film = self.session.film
        if film is None:
            return
        self.frame.setText(f"Frame {index}")
        self.tc.setText(timecode(index, film.fps))

    def _on_proxy(self, done: int, total: int) -> None:
        self.proxy.setText(f"proxy {100 * done // total} %" if total and done < total else "")
        self.proxy.setToolTip("Display proxy built in the background; scrubbing shows proxy "
                              "frames until the film's own are decoded" if total else "")

    def _on_model(self) -> None:
        name = self.pipeline.model_name or "no model"
        self.model.setText(f"{name} @ {self.session.work_size}px")

    def _on_play(self) -> None:
        sp = self.player.speed
        if sp == 0:
            text = "" if not self.player.dropped else f"dropped {self.player.dropped}"
        else:
            arrow = "▶" if sp > 0 else "◀"
            text = f"{arrow} {abs(sp):g}×  dropped {self.player.dropped}"
        self.play.setText(text)
