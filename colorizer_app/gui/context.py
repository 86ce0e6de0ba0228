"""What a feature (painting, projects, temporal tools, hints, export, adapt) gets from the app.

MainWindow makes one FeatureContext and hands it to each feature it attaches; a feature uses
these objects' public methods and signals and registers its actions in `actions`.  The features
attached earlier are filled in as they attach (painting first, then project, temporal, hints),
so a later feature finds an earlier one here rather than on the window.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSettings

from .actions import ActionRegistry
from .recent import RecentFiles


@dataclass
class FeatureContext:
    window: Any                 # the main window: parent of docks and dialogs, its status bar
    session: Any
    pipeline: Any
    viewer: Any
    timeline: Any
    settings: QSettings
    actions: ActionRegistry
    recent: RecentFiles
    painting: Any | None = None      # PaintingController (owns the undo stack)
    project: Any | None = None       # ProjectController
    temporal: Any | None = None      # TemporalController
    hints: Any | None = None         # HintController

    @property
    def undo(self):
        """The one undo stack (painting's): every edit of every feature is a step on it."""
        return self.painting.undo

    def editing(self) -> None:
        """The artist is editing (a hint placed or dragged, a stroke): background work waits
        until the edits have been quiet for a moment: curves and shot detection, and the
        colorizing of frames other than the one on screen."""
        if self.temporal is not None:
            self.temporal.worker.postpone()
        self.pipeline.postpone_background()

    def status(self, text: str, ms: int = 5000) -> None:
        self.window.statusBar().showMessage(text, ms)

    def show_message(self, title: str, text: str) -> None:
        self.window.show_message(title, text)
