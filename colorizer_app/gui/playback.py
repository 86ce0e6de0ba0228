"""Playback clock: plays at the film's rate, J/K/L shuttle, and counts dropped frames.

The frame shown is derived from a monotonic clock (start frame + elapsed x rate x speed), never
from counting timer ticks, so playback keeps real time when decoding falls behind: the playhead
moves on and the frames that were not on screen in time are counted as dropped (RV and mrv2 show
the same figure).  The loop range is in/out.
"""
from __future__ import annotations

import math
import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from .session import Session

MAX_SPEED = 8
MAX_STRIDE = 16
# A shuttle is thinned only when composing is this much slower than it shows frames: a slow
# frame or two is the catch-up lead's business (pipeline), a steady shortfall is thinned here.
THIN_MARGIN = 1.15


class Player(QObject):
    speedChanged = Signal(float)      # 0 = stopped, negative = reverse
    droppedChanged = Signal(int)      # frames not shown in time since playback started

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.speed = 0.0
        self.dropped = 0
        self.shown = 0
        self._t0 = 0.0
        self._f0 = 0
        self._last_target = -1
        self._last_shown = -1
        self._steps = 0
        self._thin = 1          # a shuttle the workers cannot keep up with shows every _thin-th step
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        # Bound methods, not lambdas: PySide holds those weakly, so no reference cycle through
        # the session keeps a dead player's slots alive.
        session.filmChanged.connect(self._on_film)
        session.frameChanged.connect(self._on_frame)

    # ---- transport ---------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self.speed != 0

    @property
    def stride(self) -> int:
        """Frames the playhead advances per frame shown.  A 2x/4x/8x shuttle shows every 2nd/4th/
        8th frame at the film's rate, so frames drop evenly and each one shown can be composed
        in time, instead of chasing 4x the film's rate and dropping whatever was late; wider
        still once composing has shown it cannot keep up (keep_up)."""
        sp = abs(self.speed)
        return int(sp) * self._thin if sp >= 2 and sp == int(sp) else 1

    def play(self, speed: float = 1.0) -> None:
        if self.session.film is None or speed == 0:
            self.stop()
            return
        s = self.session
        # Starting forward from the out point (or backward from in) restarts the range.
        if speed > 0 and s.frame >= s.out_point:
            s.set_frame(s.in_point)
        elif speed < 0 and s.frame <= s.in_point:
            s.set_frame(s.out_point)
        if self.speed == 0:
            self.dropped = 0
            self.shown = 0
            self.droppedChanged.emit(0)
        self.speed = float(speed)
        self._thin = 1                     # a new speed starts unthinned
        self._restart_clock()
        self._start_timer()
        self.speedChanged.emit(self.speed)

    def _start_timer(self) -> None:
        film = self.session.film
        assert film is not None, "playing needs a film (play() checked)"
        fps = float(film.fps) * abs(self.speed) / self.stride
        # Tick at twice the frame rate so a frame is never late by more than half a frame.
        self._timer.start(max(1, int(1000.0 / fps / 2)))

    def keep_up(self, interval_s: float) -> None:
        """The pipeline composes a playback frame every `interval_s` at best (it fell behind).
        A shuttle that asks for frames faster than that (by THIN_MARGIN) shows every 2nd (3rd…)
        of its steps from now on, so the frames it drops are dropped evenly rather than
        whichever came late; the new stride holds for the rest of the run (a new speed starts
        over).  1x is never thinned: it shows every frame or counts the drops."""
        film = self.session.film
        if film is None or abs(self.speed) < 2 or self.stride == 1 or interval_s <= 0:
            return
        period = self.stride / (float(film.fps) * abs(self.speed))   # s between frames shown
        if interval_s <= THIN_MARGIN * period:
            return
        base = self.stride // self._thin
        thin = min(self._thin * math.ceil(interval_s / period), max(1, MAX_STRIDE // base))
        if thin <= self._thin:
            return
        self._thin = thin
        self._restart_clock()
        self._start_timer()
        self.speedChanged.emit(self.speed)          # the pipeline re-plans with the new stride

    def stop(self) -> None:
        self._timer.stop()
        if self.speed != 0:
            self.speed = 0.0
            self.speedChanged.emit(0.0)

    def toggle(self) -> None:
        self.stop() if self.playing else self.play(1.0)

    def forward(self) -> None:
        """L: play forward; again doubles the speed (up to 8x); from reverse it goes forward 1x."""
        self.play(1.0 if self.speed <= 0 else min(MAX_SPEED, self.speed * 2))

    def backward(self) -> None:
        """J: play backward; again doubles the reverse speed."""
        self.play(-1.0 if self.speed >= 0 else max(-MAX_SPEED, self.speed * 2))

    # ---- display feedback ----------------------------------------------------------------------
    def frame_shown(self, index: int) -> None:
        """Connected to Viewer.frameShown: which frames really reached the screen."""
        if self.playing and index != self._last_shown:
            self.shown += 1
        self._last_shown = index

    def _on_film(self, _film) -> None:
        self.stop()

    def _on_frame(self, index: int) -> None:
        # The artist scrubbed or stepped while playing: carry on from there.
        if self.playing and index != self._last_target:
            self._restart_clock()

    # ---- clock ---------------------------------------------------------------------------------
    def media_time(self, now: float | None = None) -> float:
        """Where the picture clock is, in seconds of film (continuous, not rounded to frames):
        the clock the film's sound follows (gui/audio.py).  Any thread may call it."""
        s = self.session
        film = s.film
        if film is None or not self.speed:
            return s.frame / float(film.fps) if film is not None else 0.0
        elapsed = (time.perf_counter() if now is None else now) - self._t0
        pos = self._f0 + elapsed * float(film.fps) * self.speed
        lo, span = s.in_point, s.out_point - s.in_point + 1
        if span > 0:
            pos = (pos - lo) % span + lo
        return pos / float(film.fps)

    def _restart_clock(self) -> None:
        self._t0 = time.perf_counter()
        self._f0 = self.session.frame
        self._steps = 0
        self._last_target = self.session.frame

    def _tick(self) -> None:
        s = self.session
        if s.film is None:
            self.stop()
            return
        elapsed = time.perf_counter() - self._t0
        stride = self.stride
        steps = math.floor(elapsed * float(s.film.fps) * abs(self.speed) / stride + 1e-9)
        if steps == self._steps:
            return
        advanced, self._steps = steps - self._steps, steps
        # The frame we leave was dropped if it never reached the screen; so is every frame the
        # clock skipped over because a tick came late.
        lost = (0 if self._last_shown == self._last_target else 1) + (advanced - 1)
        if lost:
            self.dropped += lost
            self.droppedChanged.emit(self.dropped)
        lo, hi = s.in_point, s.out_point
        span = hi - lo + 1
        raw = self._f0 + (1 if self.speed > 0 else -1) * steps * stride
        target = (raw - lo) % span + lo if span > 0 else lo
        self._last_target = target
        s.set_frame(target)
