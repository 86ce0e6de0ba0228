"""Keeping the sound on the picture clock (Qt-free: the app, tests and bench_audio drive it).

The picture clock (Player.media_time, perf_counter based) is the master, as in review tools: the
picture must never wait for sound.  A sound card plays at its own crystal's rate, which differs
from the CPU clock by up to a few hundred ppm (~0.2 s over 10 minutes), and a busy machine
delivers blocks late.  So every block is planned from where the picture will be when the block is
heard (now + what is already queued in the device): a small error is removed by reading up to
0.5 % more or fewer source samples for the block (inaudible resampling), a large one (a seek, a
loop back to the in point, an underrun) by jumping there.
"""
from __future__ import annotations

import numpy as np

HARD_RESYNC_S = 0.080   # beyond this the sound jumps instead of catching up
MAX_STRETCH = 0.005     # at most 0.5 % faster/slower (8.6 cents: not heard on film sound)
GAIN = 4.0              # per second: an error decays with a time constant of 1/GAIN s


class AudioSync:
    def __init__(self, rate: int):
        self.rate = rate
        self.next_sample: int | None = None   # source index that follows the last planned block
        self.last_error = 0.0                  # s, audio ahead (+) / behind (-) the picture
        self.jumps = 0

    def reset(self) -> None:
        self.next_sample = None

    def plan(self, picture_time: float, queued: int, n: int) -> tuple[int, int]:
        """(first source sample, source sample count) for the next n output samples, given the
        picture clock now and the samples already queued in the device."""
        due = picture_time + queued / self.rate     # picture time when this block is heard
        start_due = int(round(due * self.rate))
        if self.next_sample is None:
            self.next_sample, self.last_error = start_due, 0.0
            self.jumps += 1
            count = n
        else:
            err = (self.next_sample - start_due) / self.rate
            self.last_error = err
            if abs(err) > HARD_RESYNC_S:
                self.next_sample = start_due
                self.jumps += 1
                count = n
            else:
                ratio = 1.0 - float(np.clip(err * GAIN, -MAX_STRETCH, MAX_STRETCH))
                count = max(1, int(round(n * ratio)))
        start = self.next_sample
        self.next_sample += count
        return start, count


def stretch(pcm: np.ndarray, n: int) -> np.ndarray:
    """(m, ch) samples linearly resampled to (n, ch); unchanged when m == n."""
    m = len(pcm)
    if m == n:
        return pcm
    if m == 0:
        return np.zeros((n, pcm.shape[1]), pcm.dtype)
    x = np.linspace(0.0, m - 1, n)
    return np.stack([np.interp(x, np.arange(m), pcm[:, c]) for c in range(pcm.shape[1])],
                    axis=1).astype(pcm.dtype, copy=False)
