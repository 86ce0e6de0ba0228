"""A terminal progress bar with rate and ETA (stderr; redraws in place on a TTY)."""
from __future__ import annotations

import sys
import time


class ProgressBar:
    def __init__(self, label: str, stream=None, width: int = 30):
        # the current stderr, not the one at import time (it may have been replaced and closed)
        stream = sys.stderr if stream is None else stream
        self.label, self.stream, self.width = label, stream, width
        self.t0 = time.perf_counter()
        self._last = 0.0
        self._tty = stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if done < total and now - self._last < (0.2 if self._tty else 5.0):
            return
        self._last = now
        elapsed = now - self.t0
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else float("nan")
        filled = int(self.width * done / max(total, 1))
        line = (f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} "
                f"{rate:5.1f} fps  ETA {_clock(eta)}")
        self.stream.write(("\r" + line) if self._tty else line + "\n")
        if self._tty and done >= total:
            self.stream.write("\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    if seconds != seconds:  # NaN before the first frame
        return "--:--"
    m, s = divmod(int(seconds + 0.5), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"
