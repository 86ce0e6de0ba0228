"""QUndoCommand for hints: every placement, move, recolour, resize and delete is one of these.

One command holds one hint before and after (None = absent), so place (None → hint), delete
(hint → None) and every change (hint → hint) share it. The hint is already in its new state
when a drag ends; redo() sets it anyway, which is idempotent.
"""
from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from ...core.ml.hints import Hint
from ...core.project.hint_project import HintStore


class HintCommand(QUndoCommand):
    def __init__(self, store: HintStore, frame: int, hid: str, before: Hint | None,
                 after: Hint | None, text: str, position: int = -1):
        super().__init__(text)
        self.store, self.frame, self.hid = store, int(frame), hid
        self.before, self.after = before, after
        # where a deleted hint stood, so undo puts it back in the same drawing order
        self.position = position if position >= 0 else store.position(frame, hid)

    def redo(self) -> None:
        self.store.put(self.frame, self.hid, self.after,
                       position=self.position if self.position >= 0 else None)

    def undo(self) -> None:
        self.store.put(self.frame, self.hid, self.before,
                       position=self.position if self.position >= 0 else None)


def describe(before: Hint | None, after: Hint | None, frame: int) -> str:
    if before is None:
        return f"Place hint on frame {frame}"
    if after is None:
        return f"Delete hint on frame {frame}"
    if (before.a, before.b) != (after.a, after.b):
        return f"Recolour hint on frame {frame}"
    if before.size != after.size:
        return f"Resize hint on frame {frame} to {after.size} px"
    return f"Move hint on frame {frame}"
