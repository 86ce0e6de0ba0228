"""Undo commands for the temporal edits, pushed on the painting undo stack (one history).

Both keep the whole value before and after (a ShotList is immutable and small; keyframe dicts
hold references to Keyframe objects, never copies), and apply it through the controller, which
updates the project, the timeline, the worker and the display in one place.
"""
from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from ...core.temporal.shots import ShotList


class ShotsCommand(QUndoCommand):
    """Add, move or delete a cut (any edit of the ShotList)."""

    def __init__(self, controller, before: ShotList, after: ShotList, text: str):
        super().__init__(text)
        self.ctl, self.before, self.after = controller, before, after

    def redo(self) -> None:
        self.ctl.apply_shots(self.after)

    def undo(self) -> None:
        self.ctl.apply_shots(self.before)


class KeyframesCommand(QUndoCommand):
    """Add, replace or remove keyframes: {frame: KeyEntry} before and after."""

    def __init__(self, controller, before: dict, after: dict, text: str):
        super().__init__(text)
        self.ctl, self.before, self.after = controller, dict(before), dict(after)

    def redo(self) -> None:
        self.ctl.apply_keyframes(self.after)

    def undo(self) -> None:
        self.ctl.apply_keyframes(self.before)
