"""Menus and keyboard shortcuts, as QActions on the main window.

Keys follow the review tools artists already use (RV, DJV, mrv2, Resolve):
Space play/pause, J/K/L shuttle (repeat J or L to go faster), Left/Right one frame,
Shift+Left/Right ten frames, Home/End, I/O in and out (also [ and ]), Alt+X clears them;
1-5 pick the view, Tab flips A/B, F or Ctrl+0 fits, Ctrl+1 is 100 %, +/- zoom.

QActions with a window-wide shortcut context fire wherever focus is in the window, except in a text
field, where typing wins (Qt's ShortcutOverride), which is what artists expect.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu

from .session import VIEW_LABELS, VIEW_MODES

VIEW_KEYS = {mode: str(k + 1) for k, mode in enumerate(VIEW_MODES)}


class ActionRegistry:
    """Every menu action and menu of the main window, created here and found by id.

    The main window and every feature controller make their QActions through `register` (never
    a QAction of their own, never a menu found by its label): an id is unique, the shortcut goes
    on the window (it works while its menu is hidden), and the action lands in a menu given by
    menu id, optionally before another action id.  `menu()` makes a menu bar menu (or a
    submenu) once and returns it by id afterwards.
    """

    def __init__(self, window):
        self._win = window
        self._actions: dict[str, QAction] = {}
        self._menus: dict[str, QMenu] = {}
        self._menu_of: dict[str, str] = {}       # action id -> menu id it was placed in

    # ---- menus ---------------------------------------------------------------------------
    def menu(self, menu_id: str, title: str | None = None, *, parent: str | None = None,
             before: str | None = None) -> QMenu:
        """The menu `menu_id`, made on first use: in the menu bar (before the menu `before`)
        or, with `parent`, as a submenu of that menu (before the action id `before`)."""
        m = self._menus.get(menu_id)
        if m is not None:
            return m
        if title is None:
            raise KeyError(f"no menu {menu_id!r}")
        m = QMenu(title, self._win)
        m.setObjectName(f"{menu_id}Menu")
        if parent is None:
            mb = self._win.menuBar()
            if before is not None and before in self._menus:
                mb.insertMenu(self._menus[before].menuAction(), m)
            else:
                mb.addMenu(m)
        else:
            self._insert(parent, m.menuAction(), before)
        self._menus[menu_id] = m
        return m

    def has_menu(self, menu_id: str) -> bool:
        return menu_id in self._menus

    def menus(self) -> dict[str, QMenu]:
        return dict(self._menus)

    # ---- actions -------------------------------------------------------------------------
    def register(self, action_id: str, text: str = "", slot: Callable | None = None,
                 shortcut: Sequence = (), *, menu: str | None = None,
                 before: str | None = None, checkable: bool = False,
                 checked: bool | None = None, enabled: bool = True,
                 tooltip: str | None = None, action: QAction | None = None) -> QAction:
        """Create the action `action_id` (or adopt `action`, e.g. an undo stack's), give it its
        shortcut(s) window-wide, connect `slot` to `triggered`, and put it in `menu`."""
        if action_id in self._actions:
            raise ValueError(f"action id {action_id!r} registered twice")
        a = action if action is not None else QAction(text, self._win)
        if isinstance(shortcut, (str, QKeySequence, QKeySequence.StandardKey)):
            shortcut = [shortcut]
        if shortcut:
            a.setShortcuts([QKeySequence(k) for k in shortcut])
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if checkable:
            a.setCheckable(True)
        if checked is not None:
            a.setChecked(checked)
        if not enabled:
            a.setEnabled(False)
        if tooltip:
            a.setToolTip(tooltip)
        if slot is not None:
            a.triggered.connect(slot)
        a.setObjectName(action_id)
        self._win.addAction(a)  # so the shortcut works even when its menu is hidden
        self._actions[action_id] = a
        if menu is not None:
            self._insert(menu, a, before)
            self._menu_of[action_id] = menu
        return a

    def add(self, menu_id: str, action: QAction, before: str | None = None) -> QAction:
        """Show an action that is not the registry's (a dock's toggleViewAction) in a menu."""
        self._insert(menu_id, action, before)
        return action

    def separator(self, menu_id: str, before: str | None = None) -> None:
        m = self._menus[menu_id]
        if before is not None and before in self._actions:
            m.insertSeparator(self._actions[before])
        else:
            m.addSeparator()

    def _insert(self, menu_id: str, action: QAction, before: str | None) -> None:
        m = self._menus[menu_id]
        if before is not None and before in self._actions:
            m.insertAction(self._actions[before], action)
        else:
            m.addAction(action)

    def __getitem__(self, action_id: str) -> QAction:
        return self._actions[action_id]

    def __contains__(self, action_id: object) -> bool:
        return action_id in self._actions

    def get(self, action_id: str) -> QAction | None:
        return self._actions.get(action_id)

    def ids(self) -> list[str]:
        return list(self._actions)

    def by_id(self) -> dict[str, QAction]:
        return dict(self._actions)

    def menu_of(self, action_id: str) -> str | None:
        """The id of the menu the action was registered in (None: a key without a menu)."""
        return self._menu_of.get(action_id)

    def shortcut_clashes(self) -> list[tuple[str, str, str]]:
        """(key, id, id) for each key that two enabled actions answer to now: Qt would find
        the key ambiguous and run neither."""
        seen: dict[str, str] = {}
        clashes = []
        for aid, a in self._actions.items():
            if not a.isEnabled():
                continue
            for k in a.shortcuts():
                key = k.toString()
                if not key:
                    continue
                if key in seen:
                    clashes.append((key, seen[key], aid))
                else:
                    seen[key] = aid
        return clashes


def build_actions(win) -> ActionRegistry:
    """Create the window's own actions and menus (File, View, Playback) in `win.action_registry`;
    the feature controllers add theirs to the same registry."""
    s, player, viewer = win.session, win.player, win.viewer
    reg = win.action_registry
    act = reg.register

    # File
    reg.menu("file", "&File")
    act("open", "&Open film…", win.choose_film, QKeySequence.StandardKey.Open, menu="file")
    act("openSequence", "Open image &sequence folder…", win.choose_sequence_folder, menu="file")
    reg.menu("recent", "Open &recent", parent="file")
    reg.separator("file")
    act("openModel", "Open &model…", win.choose_model, "Ctrl+M", menu="file")
    act("useHintModel", "Use the &hint model", win.use_hint_model, menu="file",
        tooltip="Colorize with the shipped hint model: a few colour clicks (Hint tool, H) "
                "spread to the objects' edges; with no hints the film stays gray")
    reg.separator("file")
    act("quit", "&Quit", win.close, QKeySequence.StandardKey.Quit, menu="file")

    # View
    reg.menu("view", "&View")
    group = QActionGroup(win)
    for mode in VIEW_MODES:
        group.addAction(act(f"view_{mode}", VIEW_LABELS[mode],
                            lambda _=False, md=mode: s.set_view_mode(md), VIEW_KEYS[mode],
                            menu="view", checkable=True))
    act("toggleAB", "Toggle A/B", s.toggle_ab, "Tab", menu="view")
    reg.separator("view")
    act("fit", "&Fit", viewer.fit, ["F", "Ctrl+0"], menu="view")
    act("zoom100", "&100 %", viewer.zoom_100, "Ctrl+1", menu="view")
    act("zoomIn", "Zoom in", lambda: viewer.zoom_by(1.25), ["+", "="], menu="view")
    act("zoomOut", "Zoom out", lambda: viewer.zoom_by(0.8), "-", menu="view")
    reg.separator("view")
    act("proxies", "Display &proxies while scrubbing", win.set_proxies_enabled, menu="view",
        checkable=True, checked=win.pipeline.proxies_enabled,
        tooltip="Build small intra-frame copies of HD films in the background so that "
                "scrubbing never waits on the codec (stored with the film's project data)")
    reg.add("view", win.model_panel.toggleViewAction())
    # added at the end of the View menu once every panel exists (MainWindow._add_layout_menu)
    act("resetLayout", "&Reset layout", win.reset_layout)

    # Playback
    reg.menu("playback", "&Playback")
    act("playPause", "Play / pause", player.toggle, "Space", menu="playback")
    act("shuttleBack", "Play backward (J)", player.backward, "J", menu="playback")
    act("shuttleStop", "Stop (K)", player.stop, "K", menu="playback")
    act("shuttleForward", "Play forward (L)", player.forward, "L", menu="playback")
    act("mute", "&Mute sound", lambda: win.audio_controls.toggle_mute(), "M", menu="playback")
    reg.separator("playback")
    act("prevFrame", "Previous frame", lambda: _step(win, -1), "Left", menu="playback")
    act("nextFrame", "Next frame", lambda: _step(win, 1), "Right", menu="playback")
    act("back10", "Back 10 frames", lambda: _step(win, -10), "Shift+Left", menu="playback")
    act("forward10", "Forward 10 frames", lambda: _step(win, 10), "Shift+Right",
        menu="playback")
    act("first", "First frame", lambda: _jump(win, 0), "Home", menu="playback")
    act("last", "Last frame", lambda: _jump(win, s.frame_count - 1), "End", menu="playback")
    reg.separator("playback")
    act("markIn", "Set in point", s.mark_in, ["I", "["], menu="playback")
    act("markOut", "Set out point", s.mark_out, ["O", "]"], menu="playback")
    act("clearInOut", "Clear in/out", s.clear_in_out, "Alt+X", menu="playback")
    return reg


def _step(win, delta: int) -> None:
    # Stepping stops playback, as in every player: the artist wants to look at one frame.
    win.player.stop()
    win.session.step(delta)


def _jump(win, index: int) -> None:
    win.player.stop()
    win.session.set_frame(index)
