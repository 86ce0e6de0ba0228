"""Before QApplication: can Qt start its X11 (xcb) platform plugin on this machine?

When it cannot, Qt prints several lines about plugins and aborts the process; a new user on a bare
Debian/Ubuntu learns nothing from them.  The xcb plugin links a dozen libxcb helper libraries that
a minimal system lacks (libxcb-icccm4, libxcb-keysyms1, libxcb-cursor0 …), so we try to load the
plugin ourselves first and, if that fails, say in one line which library is missing and which apt
line installs them all.  `APT_LINE` is the README's line (from `ldd` of PySide6's libqxcb.so).
"""
from __future__ import annotations

import ctypes
import os
import re
import sys
from pathlib import Path

APT_LINE = ("sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 "
            "libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 "
            "libxkbcommon-x11-0 libx11-xcb1 libegl1 libgl1 libfontconfig1 libdbus-1-3")
# Qt 6.5+ also opens this one at run time; it is the one most often missing.
RUNTIME_LIBS = ("libxcb-cursor.so.0",)


def _uses_xcb(env) -> bool:
    """Will Qt pick the xcb plugin? (explicit QT_QPA_PLATFORM, else X11 unless in a Wayland session)."""
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform:
        return any(p.split(":")[0] == "xcb" for p in platform.split(";"))
    return not (env.get("XDG_SESSION_TYPE") == "wayland" and env.get("WAYLAND_DISPLAY"))


def xcb_plugin() -> Path | None:
    import PySide6
    path = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.exists() else None


def missing_library(plugin: Path | None, extra: tuple[str, ...] = ()) -> str | None:
    """The first shared library the plugin (or Qt at run time) needs and the system lacks."""
    candidates = ([str(plugin)] if plugin is not None else []) + list(extra)
    for lib in candidates:
        try:
            ctypes.CDLL(lib, mode=os.RTLD_LAZY | os.RTLD_LOCAL)
        except OSError as exc:
            # "libxcb-icccm.so.4: cannot open shared object file: No such file or directory"
            m = re.search(r"(lib[\w.+-]+\.so[\w.]*): cannot open", str(exc))
            return m.group(1) if m else lib
    return None


def problem(env=None) -> str | None:
    """One line saying why the GUI cannot start here, or None when it can (as far as we can tell)."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux") or not _uses_xcb(env):
        return None
    missing = missing_library(xcb_plugin(), RUNTIME_LIBS)
    if missing:
        return (f"Qt cannot start its X11 platform plugin (xcb): {missing} is missing. "
                f"On Debian/Ubuntu install Qt's libraries with: {APT_LINE}")
    if not env.get("DISPLAY"):
        return ("no display to open a window on (DISPLAY is not set); for headless work use the "
                "`colorizer` command, or QT_QPA_PLATFORM=offscreen")
    return None
