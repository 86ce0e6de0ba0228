"""The film's sound as float32 stereo PCM at the output rate, read by sample index from any point.

Sample 0 is film time 0: the first video frame (an audio stream that starts later is padded with
silence, one that starts earlier is trimmed), as core.media.audio does for export.  Reading on
from where the last read stopped just decodes on; any other position seeks (to a packet before
it) and decodes forward, discarding samples before it, so a read is sample-exact.
"""
from __future__ import annotations

import av
import numpy as np

RATE = 48000
CHANNELS = 2


class AudioSource:
    def __init__(self, path: str, rate: int = RATE):
        self.rate = rate
        self._c = av.open(path)
        if not self._c.streams.audio:
            self._c.close()
            raise LookupError("no audio stream")
        self._s = self._c.streams.audio[0]
        self._s.thread_type = "AUTO"
        v = self._c.streams.video[0] if self._c.streams.video else None
        self._origin = 0.0          # container time of film time 0
        if v is not None and v.start_time is not None and v.time_base:
            self._origin = float(v.start_time * v.time_base)
        self._buf = np.zeros((0, CHANNELS), np.float32)
        self._buf_start = 0         # sample index of _buf[0]
        self._frames = None         # decoding generator, positioned after _buf
        self._eof = False

    def close(self) -> None:
        self._frames = None
        self._c.close()

    def read(self, start: int, n: int) -> np.ndarray:
        """n samples (n, 2) float32 from sample index `start` (silence outside the stream)."""
        out = np.zeros((n, CHANNELS), np.float32)
        if n <= 0 or start + n <= 0:
            return out
        if not (self._buf_start <= max(start, 0) <= self._buf_start + len(self._buf)):
            self._seek(max(start, 0))
        while self._buf_start + len(self._buf) < start + n and not self._eof:
            self._decode_more()
        lo = max(start, self._buf_start)
        hi = min(start + n, self._buf_start + len(self._buf))
        if hi > lo:
            out[lo - start:hi - start] = self._buf[lo - self._buf_start:hi - self._buf_start]
        # keep a little before `start + n` so a slightly slower reader does not seek
        keep_from = max(self._buf_start, start + n - self.rate // 4)
        self._buf = self._buf[keep_from - self._buf_start:]
        self._buf_start = keep_from
        return out

    # ---- decoding ------------------------------------------------------------------------------
    def _seek(self, index: int) -> None:
        t = self._origin + index / self.rate
        tb = self._s.time_base
        self._c.seek(max(0, int((t - 0.5) / tb)), stream=self._s, backward=True, any_frame=False)
        self._frames = self._resampled()
        self._eof = False
        self._buf = np.zeros((0, CHANNELS), np.float32)
        # None only inside this seek, until the first timestamped block sets it (below)
        self._buf_start = None  # type: ignore[assignment]
        while self._buf_start is None and not self._eof:
            self._decode_more()
        if self._buf_start is None:
            self._buf_start = index
        if self._buf_start > index:          # the stream starts after this point: silence first
            pad = np.zeros((self._buf_start - index, CHANNELS), np.float32)
            self._buf, self._buf_start = np.concatenate([pad, self._buf]), index

    def _resampled(self):
        resampler = av.AudioResampler(format="flt", layout="stereo", rate=self.rate)
        for frame in self._c.decode(self._s):
            t = None if frame.pts is None else float(frame.pts * frame.time_base) - self._origin
            for rf in resampler.resample(frame):
                yield t, rf.to_ndarray().reshape(-1, CHANNELS)
                t = None
        for rf in resampler.resample(None):
            yield None, rf.to_ndarray().reshape(-1, CHANNELS)

    def _decode_more(self) -> None:
        if self._frames is None:
            self._seek(self._buf_start or 0)
            return
        try:
            t, pcm = next(self._frames)
        except (StopIteration, av.error.EOFError):
            self._eof = True
            return
        except av.error.FFmpegError:        # a damaged packet: skip it, as players do
            return
        if self._buf_start is None:
            if t is None:
                return
            self._buf_start = int(round(t * self.rate))
        elif t is not None:                  # resync on timestamps after a gap in the stream
            expected = self._buf_start + len(self._buf)
            at = int(round(t * self.rate))
            if at > expected + self.rate // 100:
                pcm = np.concatenate([np.zeros((at - expected, CHANNELS), np.float32), pcm])
        self._buf = np.concatenate([self._buf, pcm.astype(np.float32, copy=False)])


def open_source(path: str, rate: int = RATE) -> AudioSource | None:
    """The film's sound, or None for a film without audio (or an image sequence)."""
    try:
        return AudioSource(path, rate)
    except (LookupError, av.error.FFmpegError, OSError):
        return None
