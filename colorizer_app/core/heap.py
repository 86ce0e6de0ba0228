"""The process's glibc heap settings: one policy for frame arrays and for the network's tensors.

Frames: glibc raises its mmap threshold after the first large free, after which every big frame
array comes from the heap, and churn through the frame cache fragments it: RSS measured 648 MiB
instead of 398 MiB for a 256 MiB cache after random seeks in a long film. A fixed 8 MB
threshold keeps big arrays (float 1080p planes, larger frames) mmapped, so freeing them returns
the memory.

Network: fixed thresholds also stop glibc from raising the trim threshold. With the defaults
(1 MB, 128 KB) the network's work buffers (0.1-4 MB at 256 px) were trimmed off the heap and
page-faulted back at every predict (79 instead of 31 ms a frame at batch 1); a 32 MB trim
threshold fixed that for the plain model. In the review app the hint model still took ~7,000
fresh-page faults a run (100-108 ms instead of a bare script's 75-78): its worker threads' arenas
shrank back to nothing after each run. A 64 MB top pad (the spare memory an arena keeps when it
trims) took that to 0-1,300 faults and 55-85 ms; peak RSS of a 1080p export stayed where it was
(1739 / 1766 MiB for 1 / 10 minutes of film, against 1738 / 1762 without the pad).

Set before the threads' arenas exist (the app's and the CLI's main; core.media on import as a
fallback): set later, an arena made before keeps part of its churn. Linux with glibc only.
"""
from __future__ import annotations

import ctypes
import sys
import threading

# glibc's mallopt parameter numbers (malloc.h) and the values set
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
MMAP_THRESHOLD = 8 << 20      # arrays from here up are mmapped: returned to the system when freed
TRIM_THRESHOLD = 32 << 20     # free memory kept at the top of the heap before giving it back
TOP_PAD = 64 << 20            # and what an arena keeps when it does
SETTINGS = ((M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
            (M_TOP_PAD, TOP_PAD))

_lock = threading.Lock()
_done: bool | None = None


def configure_heap() -> bool:
    """Apply SETTINGS once per process; True when glibc accepted them all (idempotent,
    thread-safe)."""
    global _done
    with _lock:
        if _done is None:
            _done = _apply()
        return _done


def _apply() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return False
    if not hasattr(libc, "gnu_get_libc_version"):   # glibc only: musl's mallopt does nothing
        return False
    return all(libc.mallopt(k, v) == 1 for k, v in SETTINGS)
