"""Dock arrangement: every panel scrolls instead of growing the window, panels share space as tabs
in three groups on the right, and the layout and window geometry persist (QSettings).

Without this the right-hand docks stacked to ~1190 px: the window could not be smaller than that,
so on a 1366×768 laptop (or 1920×1080) the timeline and status bar were off-screen.  A panel that
is taller than its share now scrolls; the viewer and timeline keep most of the window.
"""
from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QTabWidget

# Top to bottom on the right; within a group the panels are tabs (the first one shown).
# Brush and colour are used together while painting, so they never hide each other.
DOCK_GROUPS = (("brushDock", "modelPanel"),
               ("colourDock",),
               ("correctionsDock", "temporalDock", "historyDock"))
DOCK_WIDTH = (320, 430)   # the right column: wide enough for the widest panel, within this
STATE_VERSION = 2         # saved dock states of older layouts (stacked docks) are not restored
MIN_DOCK_BODY = 60        # a scrolled panel can shrink to this height
GROUP_SHARES = [32, 34, 34]  # relative heights of the groups


def make_scrollable(dock: QDockWidget) -> None:
    """Put the dock's body in a scroll area, so its natural height no longer sets the window's."""
    body = dock.widget()
    if body is None or isinstance(body, QScrollArea):
        return
    area = QScrollArea()
    area.setObjectName(f"{dock.objectName()}Scroll")
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidgetResizable(True)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    area.setMinimumHeight(MIN_DOCK_BODY)
    area.setWidget(body)
    dock.setWidget(area)


def docks(win: QMainWindow) -> dict[str, QDockWidget]:
    return {d.objectName(): d for d in win.findChildren(QDockWidget) if d.parent() is win}


def arrange(win: QMainWindow) -> None:
    """The default layout: three tab groups stacked in the right dock area."""
    found = docks(win)
    groups = [[n for n in g if n in found] for g in DOCK_GROUPS]
    groups = [g for g in groups if g] or [[]]
    known = {n for g in groups for n in g}
    groups[-1] += sorted(set(found) - known)                # a panel added later joins the last tabs
    groups = [g for g in groups if g]
    for d in found.values():
        d.setFloating(False)
        win.removeDockWidget(d)
    heads = []
    for group in groups:
        head = found[group[0]]
        win.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, head, Qt.Orientation.Vertical)
        head.show()
        for name in group[1:]:
            win.tabifyDockWidget(head, found[name])
            found[name].show()
        head.raise_()
        heads.append(head)
    if heads:
        win.resizeDocks(heads, [column_width(found.values())] * len(heads), Qt.Orientation.Horizontal)
        win.resizeDocks(heads, GROUP_SHARES[:len(heads)], Qt.Orientation.Vertical)


def column_width(panels) -> int:
    """The widest panel body's own minimum (plus a scroll bar), so no panel scrolls sideways."""
    widest = 0
    for d in panels:
        body = d.widget().widget() if isinstance(d.widget(), QScrollArea) else d.widget()
        if body is not None:
            widest = max(widest, body.minimumSizeHint().width() + 18)
    return max(DOCK_WIDTH[0], min(DOCK_WIDTH[1], widest))


def install(win: QMainWindow) -> None:
    """Scroll areas, tab positions and the default arrangement (before settings are restored)."""
    win.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks
                       | QMainWindow.DockOption.AllowNestedDocks)
    win.setTabPosition(Qt.DockWidgetArea.AllDockWidgetAreas, QTabWidget.TabPosition.North)
    for d in docks(win).values():
        make_scrollable(d)
    arrange(win)


def first_size(win: QMainWindow) -> None:
    """Most of the screen the first time (no saved geometry), centred."""
    screen = win.screen() if win.screen() is not None else None
    if screen is None:
        win.resize(1280, 720)
        return
    avail = screen.availableGeometry()
    w, h = int(avail.width() * 0.94), int(avail.height() * 0.92)
    win.resize(w, h)
    win.move(avail.x() + (avail.width() - w) // 2, avail.y() + (avail.height() - h) // 2)


def _too_big(win: QMainWindow) -> bool:
    screen = win.screen()
    if screen is None or win.isMaximized() or win.isFullScreen():
        return False
    avail = screen.availableGeometry()
    return win.width() > avail.width() or win.height() > avail.height()


def save(win: QMainWindow, settings: QSettings) -> None:
    settings.setValue("window/geometry", win.saveGeometry())
    settings.setValue("window/state", win.saveState(STATE_VERSION))


def restore(win: QMainWindow, settings: QSettings) -> None:
    geo = settings.value("window/geometry")
    if geo is None or not win.restoreGeometry(geo) or _too_big(win):
        first_size(win)     # e.g. saved on a larger monitor, or by a version that could not shrink
    state = settings.value("window/state")
    if state is not None:
        win.restoreState(state, STATE_VERSION)   # an older layout's state is refused: default stays


def reset(win: QMainWindow) -> None:
    """View ▸ Reset layout: default docks and size; the saved layout is replaced on quit."""
    if win.isMaximized() or win.isFullScreen():
        win.showNormal()
    arrange(win)
    first_size(win)

