"""The film's sound during playback: Space and L at 1× play it in sync with the picture; J, 2×+
shuttles, scrubbing and stepping are silent (as RV and mrv2 do); mute and volume are settings.

A feeder thread (not the GUI thread: a stalled GUI must not starve the sound card) keeps ~120 ms
queued in the sink, planning each block with AudioSync from the Player's picture clock.  Films
without sound, image sequences and machines without a sound card play exactly as before.
"""
from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from .audio_sink import NullSink, open_sink
from .audio_source import RATE, AudioSource, open_source
from .audio_sync import AudioSync, stretch

BLOCK = 1024             # samples per block (21 ms at 48 kHz)


class AudioPlayer(QObject):
    stateChanged = Signal(str)       # "none" (film has no sound), "muted", "silent", "playing"

    def __init__(self, session, player, parent: QObject | None = None,
                 sink_factory: Callable[[int], NullSink] = open_sink,
                 source_factory: Callable[[str], AudioSource | None] = open_source):
        super().__init__(parent)
        self.session, self.player = session, player
        self._sink_factory, self._source_factory = sink_factory, source_factory
        self.sink: NullSink | None = None
        self.sync = AudioSync(RATE)
        self.muted = False
        self.volume = 1.0
        self._path: str | None = None
        self._has_audio = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        session.filmChanged.connect(self._on_film)
        player.speedChanged.connect(self._on_speed)

    # ---- public --------------------------------------------------------------------------------
    @property
    def has_audio(self) -> bool:
        return self._has_audio

    @property
    def playing(self) -> bool:
        return self._thread is not None

    def set_muted(self, muted: bool) -> None:
        self.muted = bool(muted)
        self._update()

    def set_volume(self, volume: float) -> None:
        self.volume = float(np.clip(volume, 0.0, 1.0))   # read by the feeder on every block

    def shutdown(self) -> None:
        self._halt()
        if self.sink is not None:
            self.sink.stop()

    # ---- state ---------------------------------------------------------------------------------
    def _on_film(self, film) -> None:
        self._halt()
        self._path = None
        self._has_audio = False
        if film is not None:
            probe = self._source_factory(film.path)   # opening costs one av.open (a few ms)
            if probe is not None:
                probe.close()
                self._path, self._has_audio = film.path, True
        self._update()

    def _on_speed(self, _speed: float) -> None:
        self._update()

    def _update(self) -> None:
        # Sound only at 1× forward: faster and backward shuttles are muted, as review tools do.
        want = self._has_audio and not self.muted and self.player.speed == 1.0
        if want and self._thread is None:
            self._start()
        elif not want and self._thread is not None:
            self._halt()
        state = ("none" if not self._has_audio else "muted" if self.muted
                 else "playing" if self._thread is not None else "silent")
        self.stateChanged.emit(state)

    def _start(self) -> None:
        if self.sink is None:
            self.sink = self._sink_factory(RATE)
        self.sync.reset()
        self._stop.clear()
        self._thread = threading.Thread(target=self._feed, args=(self._path,),
                                        name="bento-audio", daemon=True)
        self._thread.start()

    def _halt(self) -> None:
        t, self._thread = self._thread, None
        if t is not None:
            self._stop.set()
            t.join(5.0)
        if self.sink is not None:
            self.sink.stop()

    # ---- feeder thread -------------------------------------------------------------------------
    def _feed(self, path: str) -> None:
        source = self._source_factory(path)
        if source is None:
            return
        sink, sync = self.sink, self.sync
        assert sink is not None  # opened by _start before this thread
        try:
            sink.start()
            while not self._stop.is_set():
                if sink.room() < BLOCK:
                    self._stop.wait(BLOCK / RATE / 2)
                    continue
                start, count = sync.plan(self.player.media_time(), sink.queued(), BLOCK)
                pcm = stretch(source.read(start, count), BLOCK)
                sink.write(pcm * np.float32(self.volume), start, count)
        finally:
            source.close()
