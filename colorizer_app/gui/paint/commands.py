"""QUndoCommands: every edit an artist makes to the corrections is one of these.

Undo data stays small: a stroke keeps only the touched region of one mask, before and after (the
core StrokeEdit), zlib-compressed (masks are mostly flat, so a 200 px stroke is a few KiB).
`HistoryStack` caps the history by bytes: past the cap the oldest commands *expire* (their data
is freed and their undo/redo become no-ops, their text says so), because QUndoStack cannot drop
its oldest commands once pushed. Expired commands are always the oldest, so the state stays
exact for every command that can still be undone.
"""
from __future__ import annotations

import zlib

import numpy as np
from PySide6.QtGui import QUndoCommand, QUndoStack

from ...core.corrections.edits import StrokeEdit
from ...core.corrections.masks import SparseMask
from ...core.corrections.stack import Correction, CorrectionStack

DEFAULT_HISTORY_BYTES = 256 << 20


def _pack(a: np.ndarray) -> tuple:
    return a.shape, zlib.compress(np.ascontiguousarray(a, np.float32).tobytes(), 1)


def _unpack(p: tuple) -> np.ndarray:
    shape, blob = p
    return np.frombuffer(zlib.decompress(blob), np.float32).reshape(shape).copy()


class CorrectionCommand(QUndoCommand):
    """Base: knows its stack, its size in bytes and how to expire."""

    def __init__(self, stack: CorrectionStack, text: str):
        super().__init__(text)
        self.stack = stack
        self.expired = False

    def nbytes(self) -> int:
        return 256

    def expire(self) -> None:
        self.expired = True
        self.setText(self.text() + " (expired)")

    def redo(self) -> None:
        if not self.expired:
            self._redo()

    def undo(self) -> None:
        if not self.expired:
            self._undo()

    def _redo(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _undo(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class StrokeCommand(CorrectionCommand):
    """One stroke (all its mouse moves), optionally with the correction it created.

    The stroke is already in the mask when pushed (LiveStroke.finish applied it), so the first
    redo() that QUndoStack.push() calls does nothing.
    """

    def __init__(self, stack: CorrectionStack, edit: StrokeEdit, name: str,
                 created: Correction | None = None, created_index: int = -1,
                 eraser: bool = False):
        verb = "Erase" if eraser else "Paint"
        super().__init__(stack, f"{verb} {name}")
        self.cid = edit.correction_id
        self.key = edit.mask_key
        self.bbox = edit.bbox
        self._before = _pack(edit.before)
        self._after = _pack(edit.after)
        # a stroke that gave a frame its own mask (e.g. on a tracked frame) keeps what the frame
        # showed before, so undo removes that mask and redo re-creates it exactly
        seed = edit.seed
        self._seed = None if seed is None else \
            (seed.shape, seed.bbox, None if seed.data is None else _pack(seed.data))
        self.created = created
        self.created_index = created_index
        self._first = True

    def nbytes(self) -> int:
        seed = 0 if self._seed is None or self._seed[2] is None else len(self._seed[2][1])
        return len(self._before[1]) + len(self._after[1]) + seed + 256

    def expire(self) -> None:
        super().expire()
        # an expired command never runs again: free its patches
        self._before = self._after = self._seed = None  # type: ignore[assignment]

    def _edit(self, after: bool) -> StrokeEdit:
        a = _unpack(self._after if after else self._before)
        seed = None
        if self._seed is not None:
            shape, bbox, data = self._seed
            seed = SparseMask(shape, bbox, None if data is None else _unpack(data))
        return StrokeEdit(self.cid, self.key, self.bbox, a, a, seed)

    def _redo(self) -> None:
        if self._first:
            self._first = False
            return
        if self.created is not None:
            self.stack.add(self.created, self.created_index)
        self._edit(True).redo(self.stack)

    def _undo(self) -> None:
        self._edit(False).undo(self.stack)
        if self.created is not None:
            self.stack.remove(self.cid)


class NewCorrectionCommand(CorrectionCommand):
    def __init__(self, stack: CorrectionStack, correction: Correction, index: int | None = None):
        super().__init__(stack, f"New {correction.name}")
        self.c = correction
        self.index = len(stack) if index is None else index

    def _redo(self) -> None:
        self.stack.add(self.c, self.index)

    def _undo(self) -> None:
        self.stack.remove(self.c.id)


class DeleteCommand(CorrectionCommand):
    def __init__(self, stack: CorrectionStack, cid: str):
        c = stack.find(cid)
        super().__init__(stack, f"Delete {c.name}")
        self.c = c
        self.index = stack.index_of(cid)

    def nbytes(self) -> int:
        m = self.c.mask
        n = 0 if m.data is None else m.data.nbytes
        # tracked masks count too: the deleted correction keeps them for an undo
        masks = list(self.c.frame_masks.values()) + list(self.c.tracked.values())
        return n + sum(0 if f.data is None else f.data.nbytes for f in masks)

    def expire(self) -> None:
        super().expire()
        self.c = None  # type: ignore[assignment]  # expired: never run again, free the correction

    def _redo(self) -> None:
        self.index = self.stack.index_of(self.c.id)
        self.stack.remove(self.c.id)

    def _undo(self) -> None:
        self.stack.add(self.c, self.index)


class UpdateCommand(CorrectionCommand):
    """Rename, hide/show, recolour, opacity, lifetime: any CorrectionStack.update fields."""

    def __init__(self, stack: CorrectionStack, cid: str, text: str, **fields):
        super().__init__(stack, text)
        self.cid = cid
        self.new = fields
        self.old = {k: getattr(stack.find(cid), k) for k in fields}

    def _redo(self) -> None:
        self.stack.update(self.cid, **self.new)

    def _undo(self) -> None:
        self.stack.update(self.cid, **self.old)


class MoveCommand(CorrectionCommand):
    def __init__(self, stack: CorrectionStack, cid: str, new_index: int):
        c = stack.find(cid)
        super().__init__(stack, f"Reorder {c.name}")
        self.cid = cid
        self.new_index = new_index
        self.old_index = stack.index_of(cid)

    def _redo(self) -> None:
        self.stack.move(self.cid, self.new_index)

    def _undo(self) -> None:
        self.stack.move(self.cid, self.old_index)


class HistoryStack(QUndoStack):
    """QUndoStack with a byte cap (see the module docstring)."""

    def __init__(self, parent=None, max_bytes: int = DEFAULT_HISTORY_BYTES):
        super().__init__(parent)
        self.max_bytes = int(max_bytes)

    def push(self, cmd: QUndoCommand) -> None:
        super().push(cmd)
        self.enforce_cap()

    def commands(self) -> list:
        return [self.command(i) for i in range(self.count())]

    def total_bytes(self) -> int:
        return sum(c.nbytes() for c in self.commands()
                   if isinstance(c, CorrectionCommand) and not c.expired)

    def enforce_cap(self) -> None:
        total = self.total_bytes()
        for c in self.commands()[:-1]:          # the newest step always stays undoable
            if total <= self.max_bytes:
                break
            if isinstance(c, CorrectionCommand) and not c.expired:
                total -= c.nbytes()
                c.expire()
