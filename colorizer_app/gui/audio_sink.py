"""Where the samples go: the sound card (PortAudio via `sounddevice`), or a null device.

Both count what the device has consumed, which is what AudioSync needs: `queued()` samples are
still to be heard.  The null device consumes at its own clock (optionally off by `skew`, as a real
crystal is), so tests and benchmarks measure sync without a sound card, and a machine without one
plays silently with the same timing.  It also records which source samples each block carried,
so `heard_time()` says which film time the device is playing now: the sync measurement.
"""
from __future__ import annotations

import bisect
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np


class NullSink:
    name = "no audio device"

    def __init__(self, rate: int, buffer_s: float = 0.12, skew: float = 0.0,
                 clock: Callable[[], float] = time.perf_counter):
        self.rate, self.capacity = rate, int(buffer_s * rate)
        self.skew, self.clock = skew, clock
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._written = 0
        self._base_played, self._t_base = 0, self.clock()
        self._segments: list[tuple[int, int, int, int]] = []   # (device index, src start, src n, n)
        self._dev_starts: list[int] = []
        self.underruns = 0

    def start(self) -> None:
        with self._lock:
            self._reset()

    def stop(self) -> None:
        pass

    def played(self) -> int:
        with self._lock:
            now = self.clock()
            c = self._base_played + int((now - self._t_base) * self.rate * (1.0 + self.skew))
            if c > self._written:             # starved: the device plays silence meanwhile
                if self._written > self._base_played:
                    self.underruns += 1
                self._base_played, self._t_base = self._written, now
                c = self._written
            return c

    def queued(self) -> int:
        return self._written - self.played()

    def room(self) -> int:
        return self.capacity - self.queued()

    def write(self, pcm: np.ndarray, src_start: int = 0, src_count: int | None = None) -> None:
        with self._lock:
            self._dev_starts.append(self._written)
            self._segments.append((self._written, src_start, src_count or len(pcm), len(pcm)))
            self._written += len(pcm)
            if len(self._segments) > 4096:        # keep the recent past only
                del self._segments[:2048], self._dev_starts[:2048]

    def heard_time(self) -> float | None:
        """Film time (s) of the sample the device plays now, from the samples it consumed."""
        d = self.played()
        with self._lock:
            k = bisect.bisect_right(self._dev_starts, d) - 1
            if k < 0:
                return None
            dev, src, src_n, n = self._segments[k]
            if d >= dev + n:
                return None                       # starved
        return (src + (d - dev) * src_n / n) / self.rate


class SoundDeviceSink(NullSink):
    """The default sound card through PortAudio; the callback pulls queued blocks."""

    def __init__(self, rate: int, buffer_s: float = 0.12):
        import sounddevice  # OSError without libportaudio2, PortAudioError without a device
        super().__init__(rate, buffer_s)
        self._blocks: deque = deque()
        self._offset = 0
        self._played = 0
        self._stream = sounddevice.OutputStream(samplerate=rate, channels=2, dtype="float32",
                                                latency="low", callback=self._callback)
        self.name = sounddevice.query_devices(kind="output")["name"]
        # what we keep queued comes on top of what the device itself holds
        self.capacity = int((buffer_s + float(self._stream.latency)) * rate)

    def start(self) -> None:
        with self._lock:
            self._reset()
            self._blocks.clear()
            self._offset = self._played = 0
        self._stream.start()

    def stop(self) -> None:
        self._stream.stop()

    def played(self) -> int:
        # samples handed to the device less those still in its own buffer (output latency)
        with self._lock:
            return max(0, self._played - int(self._stream.latency * self.rate))

    def write(self, pcm, src_start=0, src_count=None) -> None:
        super().write(pcm, src_start, src_count)
        with self._lock:
            self._blocks.append(pcm)

    def _callback(self, out, frames, _time, _status) -> None:
        filled = 0
        with self._lock:
            while filled < frames and self._blocks:
                block = self._blocks[0]
                take = min(frames - filled, len(block) - self._offset)
                out[filled:filled + take] = block[self._offset:self._offset + take]
                filled += take
                self._offset += take
                if self._offset == len(block):
                    self._blocks.popleft()
                    self._offset = 0
            self._played += filled
        out[filled:] = 0


def open_sink(rate: int):
    """The sound card, or the null device when there is none (PortAudio missing, no device)."""
    try:
        return SoundDeviceSink(rate)
    except Exception:   # OSError (no libportaudio2), sounddevice.PortAudioError (no device)
        return NullSink(rate)
