"""Corrections dock: the stack as a layer list (top of the list = painted last = on top).

Rename (double-click), hide/show (checkbox), delete, move up/down, recolour with the brush colour,
change the lifetime, switch tracking of an "until next cut" correction on/off: each is one
QUndoCommand pushed by the controller. The list is rebuilt from the CorrectionStack's events
(one source of truth) with its own signals blocked, so a rebuild never echoes back as an edit.
Below the list, the tracking worker's progress ("Tracking… 40 %").
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .brush_panel import LIFETIMES
from .colour_picker import lab_to_qcolor

ID_ROLE = Qt.ItemDataRole.UserRole


def lifetime_text(lt) -> str:
    if lt.kind == "frame":
        return f"frame {lt.start}"
    if lt.kind == "range":
        return f"{lt.start}–{lt.end}"
    return f"{lt.start} → cut" + (", follows its object" if lt.tracks else ", fixed on screen")


class CorrectionsPanel(QDockWidget):
    selectionChanged = Signal(object)      # correction id or None
    renameRequested = Signal(str, str)
    visibilityRequested = Signal(str, bool)
    deleteRequested = Signal(str)
    moveRequested = Signal(str, int)       # id, new stack index
    recolourRequested = Signal(str)
    lifetimeRequested = Signal(str, str)   # id, lifetime kind
    trackingRequested = Signal(str, bool)  # id, follow the object (until_cut only)
    ghostToggled = Signal(bool)

    def __init__(self, parent=None):
        super().__init__("Corrections", parent)
        self.setObjectName("correctionsDock")
        self.stack = None
        body = QWidget()
        lay = QVBoxLayout(body)
        self.list = QListWidget()
        self.list.setEditTriggers(QListWidget.EditTrigger.DoubleClicked |
                                  QListWidget.EditTrigger.EditKeyPressed)
        lay.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.up_btn = QPushButton("Up")
        self.down_btn = QPushButton("Down")
        self.delete_btn = QPushButton("Delete")
        self.recolour_btn = QPushButton("Use brush colour")
        for b in (self.up_btn, self.down_btn, self.delete_btn, self.recolour_btn):
            row.addWidget(b)
        lay.addLayout(row)
        row = QHBoxLayout()
        self.lifetime_combo = QComboBox()
        for key, label in LIFETIMES:
            self.lifetime_combo.addItem(label, key)
        self.ghost_box = QCheckBox("Ghost neighbours")
        self.ghost_box.setToolTip("Show corrections of the neighbouring frames as a faint tint")
        self.track_box = QCheckBox("Track")
        self.track_box.setToolTip("An \u201cuntil next cut\u201d correction follows its object "
                                  "(optical flow from the frame it was painted on); off: it "
                                  "stays where it was painted on screen")
        row.addWidget(self.lifetime_combo, 1)
        row.addWidget(self.track_box)
        row.addWidget(self.ghost_box)
        lay.addLayout(row)
        self.tracking_label = QLabel("")
        self.tracking_label.setObjectName("trackingLabel")
        lay.addWidget(self.tracking_label)
        self.setWidget(body)

        self.list.currentItemChanged.connect(self._on_current)
        self.list.itemChanged.connect(self._on_item_changed)
        self.up_btn.clicked.connect(lambda: self._move(+1))
        self.down_btn.clicked.connect(lambda: self._move(-1))
        self.delete_btn.clicked.connect(self._delete)
        self.recolour_btn.clicked.connect(lambda: self._emit_for_current(self.recolourRequested))
        self.lifetime_combo.activated.connect(self._on_lifetime)
        self.track_box.clicked.connect(self._on_track)   # clicked: user gestures only
        self.ghost_box.toggled.connect(self.ghostToggled)
        self._sync_buttons()

    # ---- model -> view ---------------------------------------------------------------------
    def set_stack(self, stack) -> None:
        self.stack = stack
        self.rebuild()

    def rebuild(self, select: str | None = None) -> None:
        keep = select if select is not None else self.current_id()
        self.list.blockSignals(True)
        self.list.clear()
        if self.stack is not None:
            for c in reversed(list(self.stack)):
                it = QListWidgetItem(c.name)
                it.setData(ID_ROLE, c.id)
                it.setFlags(it.flags() | Qt.ItemFlag.ItemIsEditable |
                            Qt.ItemFlag.ItemIsUserCheckable)
                it.setCheckState(Qt.CheckState.Checked if c.visible else Qt.CheckState.Unchecked)
                it.setToolTip(f"{lifetime_text(c.lifetime)} · a {c.chroma[0]:+.0f} "
                              f"b {c.chroma[1]:+.0f} · opacity {c.opacity:.0%}")
                it.setForeground(lab_to_qcolor(70.0, *c.chroma))
                self.list.addItem(it)
                if c.id == keep:
                    self.list.setCurrentItem(it)
        self.list.blockSignals(False)
        self._sync_buttons()

    def current_id(self) -> str | None:
        it = self.list.currentItem()
        return None if it is None else it.data(ID_ROLE)

    def select(self, cid: str | None) -> None:
        for i in range(self.list.count()):
            it = self.list.item(i)
            if it.data(ID_ROLE) == cid:
                if self.list.currentItem() is not it:
                    self.list.setCurrentItem(it)
                return

    def _sync_buttons(self) -> None:
        cid = self.current_id()
        for b in (self.up_btn, self.down_btn, self.delete_btn, self.recolour_btn,
                  self.lifetime_combo):
            b.setEnabled(cid is not None)
        self.track_box.setEnabled(False)
        if cid is not None and self.stack is not None:
            try:
                c = self.stack.find(cid)
            except KeyError:
                return
            self.lifetime_combo.blockSignals(True)
            self.lifetime_combo.setCurrentIndex(self.lifetime_combo.findData(c.lifetime.kind))
            self.lifetime_combo.blockSignals(False)
            until_cut = c.lifetime.kind == "until_cut"
            self.track_box.setEnabled(until_cut)
            self.track_box.setChecked(until_cut and c.lifetime.tracks)

    # ---- view -> requests ------------------------------------------------------------------
    def _on_current(self, *_a) -> None:
        self._sync_buttons()
        self.selectionChanged.emit(self.current_id())

    def _on_item_changed(self, it: QListWidgetItem) -> None:
        cid = it.data(ID_ROLE)
        try:
            c = self.stack.find(cid)
        except (KeyError, AttributeError):
            return
        name = it.text().strip()
        if name and name != c.name:
            self.renameRequested.emit(cid, name)
        elif not name:
            self.rebuild()
        visible = it.checkState() == Qt.CheckState.Checked
        if visible != c.visible:
            self.visibilityRequested.emit(cid, visible)

    def _emit_for_current(self, signal) -> None:
        cid = self.current_id()
        if cid is not None:
            signal.emit(cid)

    def _delete(self) -> None:
        self._emit_for_current(self.deleteRequested)

    def _move(self, delta: int) -> None:
        """delta +1 = up the list = later in the stack (painted over the others)."""
        cid = self.current_id()
        if cid is None or self.stack is None:
            return
        new = self.stack.index_of(cid) + delta
        if 0 <= new < len(self.stack):
            self.moveRequested.emit(cid, new)

    def set_tracking_text(self, text: str) -> None:
        self.tracking_label.setText(text)

    def _on_track(self, on: bool) -> None:
        cid = self.current_id()
        if cid is not None:
            self.trackingRequested.emit(cid, bool(on))

    def _on_lifetime(self, _index: int) -> None:
        cid = self.current_id()
        if cid is not None:
            self.lifetimeRequested.emit(cid, self.lifetime_combo.currentData())
