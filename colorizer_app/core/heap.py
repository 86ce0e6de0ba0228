"""glibc heap settings for a process that runs the network among other threads.

Measured in the review app (hint model, one 256-px frame per run): every network run took
~7,000 fresh-page faults, ~30 MB of tensors whose memory glibc had handed back to the kernel
at the end of the previous run, and 100-108 ms instead of the 75-78 ms of a bare script. The
same runs with a 64 MB top pad (the heap keeps that much spare memory instead of trimming it)
took 0-250 faults and 72-79 ms. The bare script escapes it only by luck of its allocation
pattern; an app with a dozen threads does not.

Costs: each malloc arena may keep up to TOP_PAD of freed memory mapped (resident once touched).
Linux with glibc only; elsewhere (musl, macOS, Windows) nothing changes.
"""
from __future__ import annotations

import ctypes
import sys
import threading

# glibc's mallopt parameter numbers (malloc.h) and the values set
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
SETTINGS = (
    (M_TOP_PAD, 64 << 20),          # spare memory an arena keeps when it trims
    (M_TRIM_THRESHOLD, 256 << 20),  # free memory at an arena's top before it trims at all
    (M_MMAP_THRESHOLD, 32 << 20),   # the largest the heap serves (a 256-px run's tensors are ~28 MB)
)

_lock = threading.Lock()
_done: bool | None = None


def keep_heap_for_tensors() -> bool:
    """Apply SETTINGS once per process, best as early as possible (the app's and the CLI's
    main): arenas made before keep some of their churn. True when glibc accepted them all
    (idempotent, thread-safe)."""
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
