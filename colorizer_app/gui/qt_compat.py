"""Guard against a PySide6 refcount bug that crashes the app after a few hundred signals.

PySide6 6.12.0 returns `True` from `Signal.emit()` without taking a reference for it, so every
emit from Python drops one reference to `True`.  On Python 3.12+ `True` is immortal and nothing
happens; on Python 3.11 its count reaches zero after roughly 500-1000 emits and the interpreter
aborts ("Fatal Python error: bool_dealloc").  A review session emits thousands of signals a
minute (every playhead move), so the app would die within seconds of playback.

The real fix is a PySide6 without the bug (6.11.x is fine; pin `PySide6-Essentials!=6.12.0`).
Until then, `apply()` detects the leak with a probe and, only if it is there, gives `True` a
very large reference count (also `False` and `None`, which other emit paths lose), which is
what Python 3.12 does for every interpreter-wide constant.
"""
from __future__ import annotations

import ctypes
import sys

_applied = False


def emit_leaks_true() -> bool:
    """True when Signal.emit() loses a reference to True on this PySide6 / Python pair."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit()
    leaked = sys.getrefcount(True) < before - 4
    probe.deleteLater()
    return leaked


def apply() -> bool:
    """Make the leak harmless if present; returns True when the workaround was applied."""
    global _applied
    if _applied or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return _applied
    if not emit_leaks_true():
        return False
    # ob_refcnt is the first field of every CPython object (non-debug build).  None and False
    # are lost the same way on some paths (slots returning None, queued arguments), so all
    # three singletons get the treatment.
    for singleton in (True, False, None):
        ctypes.c_ssize_t.from_address(id(singleton)).value += 1 << 40
    _applied = True
    return True


apply()
