"""History dock: the undo stack as a list (click a step to go back to it), like Nuke/Photoshop."""
from __future__ import annotations

from PySide6.QtWidgets import QDockWidget, QUndoView


class HistoryPanel(QDockWidget):
    def __init__(self, undo_stack, parent=None):
        super().__init__("History", parent)
        self.setObjectName("historyDock")
        self.view = QUndoView(undo_stack)
        self.view.setEmptyLabel("<opened>")
        self.setWidget(self.view)
