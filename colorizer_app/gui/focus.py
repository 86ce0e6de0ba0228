"""Keyboard focus belongs to the viewer: the review keys (Space, J/K/L, 1-6, arrows) must work
the moment a film opens and again as soon as the artist is done with a control.

A spin box or combo box with focus swallows digits, Space and arrows, and a clicked button turns
Space into "press me", so: buttons, sliders, check boxes and combo boxes in the panels are not
focused by a click (Tab still reaches them); a spin box hands focus back on Enter (its value is
applied) or Escape; a slider hands it back when released.  Text fields (names, paths) keep focus
until the artist leaves them, as typing must win there.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialog,
    QLineEdit,
    QWidget,
)


class FocusKeeper(QObject):
    """Installed on the main window: returns focus to `viewer` whenever a control is done."""

    def __init__(self, window: QWidget, viewer: QWidget):
        super().__init__(window)
        self.window, self.viewer = window, viewer
        self._seen: set[int] = set()
        self.adopt(window)
        # controls created later (rows of a list, panels added by plug-ins) on their first focus
        QApplication.instance().focusChanged.connect(self._on_focus)

    def _on_focus(self, _old, new) -> None:
        if new is not None and id(new) not in self._seen and self.window.isAncestorOf(new):
            self.adopt(self.window)

    def give_back(self) -> None:
        if self.window.isVisible():
            self.viewer.setFocus(Qt.FocusReason.OtherFocusReason)

    def adopt(self, root: QWidget) -> None:
        """Apply the rules to every control under `root` (call again for panels added later)."""
        for w in root.findChildren(QWidget):
            if id(w) in self._seen:
                continue
            self._seen.add(id(w))
            if (self.viewer.isAncestorOf(w) or w is self.viewer
                    or isinstance(w.window(), QDialog)):     # dialogs keep their own focus
                continue
            if isinstance(w, QAbstractSpinBox):
                w.editingFinished.connect(self._spin_done)
                w.installEventFilter(self)
            elif isinstance(w, QAbstractSlider):
                w.setFocusPolicy(Qt.FocusPolicy.TabFocus)
                if hasattr(w, "sliderReleased"):
                    w.sliderReleased.connect(self.give_back)
            elif isinstance(w, (QAbstractButton, QComboBox)):
                if w.focusPolicy() & Qt.FocusPolicy.ClickFocus:
                    w.setFocusPolicy(Qt.FocusPolicy.TabFocus)
                if isinstance(w, QComboBox) and not w.isEditable():
                    w.activated.connect(lambda *_: self.give_back())
            elif isinstance(w, QLineEdit) and not isinstance(w.parent(), (QAbstractSpinBox, QComboBox)):
                w.installEventFilter(self)    # Escape leaves a text field

    def _spin_done(self) -> None:
        spin = self.sender()
        # editingFinished also fires when focus leaves for elsewhere: only Enter hands it back.
        if isinstance(spin, QWidget) and spin.hasFocus():
            self.give_back()

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() == QEvent.Type.KeyPress and ev.key() == Qt.Key.Key_Escape:
            self.give_back()
            return True
        return False
