"""Menus and keyboard shortcuts, as QActions on the main window.

Keys follow the review tools artists already use (RV, DJV, mrv2, Resolve):
Space play/pause, J/K/L shuttle (repeat J or L to go faster), Left/Right one frame,
Shift+Left/Right ten frames, Home/End, I/O in and out (also [ and ]), Alt+X clears them;
1-5 pick the view, Tab flips A/B, F or Ctrl+0 fits, Ctrl+1 is 100 %, +/- zoom.

QActions with a window-wide shortcut context fire wherever focus is in the window, except in a text
field, where typing wins (Qt's ShortcutOverride), which is what artists expect.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from .session import VIEW_LABELS, VIEW_MODES

VIEW_KEYS = {mode: str(k + 1) for k, mode in enumerate(VIEW_MODES)}


def _act(win, text, slot, keys=(), checkable=False, name=None) -> QAction:
    a = QAction(text, win)
    if keys:
        a.setShortcuts([QKeySequence(k) for k in keys])
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    a.setCheckable(checkable)
    if slot is not None:
        a.triggered.connect(slot)
    if name:
        a.setObjectName(name)
        win.actions_by_name[name] = a
    win.addAction(a)  # so the shortcut works even when its menu is hidden
    return a


def build_actions(win) -> None:
    """Create every action and menu of MainWindow `win`."""
    s, player, viewer = win.session, win.player, win.viewer
    win.actions_by_name = {}
    mb = win.menuBar()

    # File
    m = mb.addMenu("&File")
    m.addAction(_act(win, "&Open film…", win.choose_film, [QKeySequence.StandardKey.Open],
                     name="open"))
    m.addAction(_act(win, "Open image &sequence folder…", win.choose_sequence_folder,
                     name="openSequence"))
    win.recent_menu = m.addMenu("Open &recent")
    m.addSeparator()
    m.addAction(_act(win, "Open &model…", win.choose_model, ["Ctrl+M"], name="openModel"))
    m.addSeparator()
    m.addAction(_act(win, "&Quit", win.close, [QKeySequence.StandardKey.Quit], name="quit"))

    # View
    m = win.view_menu = mb.addMenu("&View")
    group = QActionGroup(win)
    win.view_actions = {}
    for mode in VIEW_MODES:
        a = _act(win, VIEW_LABELS[mode], lambda _=False, md=mode: s.set_view_mode(md),
                 [VIEW_KEYS[mode]], checkable=True, name=f"view_{mode}")
        group.addAction(a)
        m.addAction(a)
        win.view_actions[mode] = a
    m.addAction(_act(win, "Toggle A/B", s.toggle_ab, ["Tab"], name="toggleAB"))
    m.addSeparator()
    m.addAction(_act(win, "&Fit", viewer.fit, ["F", "Ctrl+0"], name="fit"))
    m.addAction(_act(win, "&100 %", viewer.zoom_100, ["Ctrl+1"], name="zoom100"))
    m.addAction(_act(win, "Zoom in", lambda: viewer.zoom_by(1.25), ["+", "="], name="zoomIn"))
    m.addAction(_act(win, "Zoom out", lambda: viewer.zoom_by(0.8), ["-"], name="zoomOut"))
    m.addSeparator()
    a = _act(win, "Display &proxies while scrubbing", win.set_proxies_enabled, checkable=True,
             name="proxies")
    a.setToolTip("Build small intra-frame copies of HD films in the background so that "
                 "scrubbing never waits on the codec (stored with the film's project data)")
    a.setChecked(win.pipeline.proxies_enabled)
    m.addAction(a)
    m.addAction(win.model_panel.toggleViewAction())
    # added at the end of the View menu once every panel exists (MainWindow._add_layout_menu)
    win._reset_layout_action = _act(win, "&Reset layout", win.reset_layout, name="resetLayout")

    # Playback
    m = mb.addMenu("&Playback")
    m.addAction(_act(win, "Play / pause", player.toggle, ["Space"], name="playPause"))
    m.addAction(_act(win, "Play backward (J)", player.backward, ["J"], name="shuttleBack"))
    m.addAction(_act(win, "Stop (K)", player.stop, ["K"], name="shuttleStop"))
    m.addAction(_act(win, "Play forward (L)", player.forward, ["L"], name="shuttleForward"))
    m.addAction(_act(win, "&Mute sound", lambda: win.audio_controls.toggle_mute(), ["M"],
                     name="mute"))
    m.addSeparator()
    m.addAction(_act(win, "Previous frame", lambda: _step(win, -1), ["Left"], name="prevFrame"))
    m.addAction(_act(win, "Next frame", lambda: _step(win, 1), ["Right"], name="nextFrame"))
    m.addAction(_act(win, "Back 10 frames", lambda: _step(win, -10), ["Shift+Left"],
                     name="back10"))
    m.addAction(_act(win, "Forward 10 frames", lambda: _step(win, 10), ["Shift+Right"],
                     name="forward10"))
    m.addAction(_act(win, "First frame", lambda: _jump(win, 0), ["Home"], name="first"))
    m.addAction(_act(win, "Last frame", lambda: _jump(win, s.frame_count - 1), ["End"],
                     name="last"))
    m.addSeparator()
    m.addAction(_act(win, "Set in point", s.mark_in, ["I", "["], name="markIn"))
    m.addAction(_act(win, "Set out point", s.mark_out, ["O", "]"], name="markOut"))
    m.addAction(_act(win, "Clear in/out", s.clear_in_out, ["Alt+X"], name="clearInOut"))


def _step(win, delta: int) -> None:
    # Stepping stops playback, as in every player: the artist wants to look at one frame.
    win.player.stop()
    win.session.step(delta)


def _jump(win, index: int) -> None:
    win.player.stop()
    win.session.set_frame(index)
