"""The Temporal menu (and the two imports in the File menu) with their keys:
Ctrl+K add a cut at the playhead, Delete the selected cut, Ctrl+Shift+K mark the frame as a
keyframe, P / Shift+P next / previous flicker peak."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence


def build_menu(self) -> None:
    """Create the actions on the controller `self` (a TemporalController)."""
    w = self.window
    m = w.menuBar().addMenu("&Temporal")
    self.menu = m

    def act(text, keys, slot, menu=m):
        a = QAction(text, w)
        if keys:
            a.setShortcuts([QKeySequence(k) for k in keys])
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        a.triggered.connect(slot)
        w.addAction(a)
        menu.addAction(a)
        return a

    self.add_cut_action = act("Add &cut at playhead", ["Ctrl+K"], lambda: self.add_cut())
    self.delete_cut_action = act("&Delete selected cut", ["Delete"],
                                 lambda: self.delete_cut())
    self.delete_cut_action.setEnabled(False)
    self.detect_action = act("Detect shots again", [], self.detect_again)
    m.addSeparator()
    self.mark_key_action = act("Mark frame as &keyframe", ["Ctrl+Shift+K"],
                               lambda: self.mark_keyframe())
    self.import_still_action = act("Import colour &still for this frame…", [],
                                   lambda: self.import_still())
    self.import_folder_action = act("Import reference &folder…", [],
                                    lambda: self.import_folder())
    self.remove_key_action = act("&Remove keyframe at playhead", [],
                                 lambda: self.remove_keyframe(self.session.frame))
    m.addSeparator()
    self.next_peak_action = act("Go to &next flicker peak", ["P"], lambda: self.goto_peak(1))
    self.prev_peak_action = act("Go to previous flicker peak", ["Shift+P"],
                                lambda: self.goto_peak(-1))
    m.addSeparator()
    m.addAction(self.panel.toggleViewAction())
    pc = getattr(w, "project", None)          # the imports also live in the File menu
    if pc is not None and getattr(pc, "file_menu", None) is not None:
        before = pc.insert_before
        for a in (self.import_still_action, self.import_folder_action):
            pc.file_menu.insertAction(before, a) if before is not None else \
                pc.file_menu.addAction(a)
