"""Install painting on the main window: `attach_painting(window) -> PaintingController`.

Adds the Brush, Colour, Corrections and History docks, the Edit menu (Undo Ctrl+Z, Redo
Ctrl+Shift+Z, brush keys), the brush on the viewer, the project controller (File > project
items, autosave, recovery) and File > Export, and plugs the corrections into the display through
the pipeline's hook (`Pipeline.set_override`, a compose.ChromaOverride): the display worker
calls `stack.composite(...)` on the model chroma of every frame it composes, so the viewer shows
exactly what an export renders.

The controller is the only object that edits the CorrectionStack, always through a QUndoCommand.
Its TrackingController (tracking.py) keeps the derived tracked masks of "until the next cut"
corrections up to date in a background worker; applying them is not an edit.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence

from ...core import color, compose
from ...core.corrections.stack import Correction, CorrectionStack, Lifetime
from ..viewbox import ViewerTool
from .brush_panel import BrushPanel
from .colour_picker import ColourPicker, rgb_to_ab
from .commands import DeleteCommand, HistoryStack, MoveCommand, UpdateCommand
from .corrections_panel import CorrectionsPanel
from .history_panel import HistoryPanel
from .paint_tool import PaintTool
from .tracking import TrackingController

GHOST_REACH = 2                      # frames each side shown by ghosting
GHOST_RGB = (90, 200, 255)


class EyedropperTool(ViewerTool):
    cursor = Qt.CursorShape.PointingHandCursor

    def __init__(self, controller):
        self.ctl = controller

    def press(self, pos, modifiers) -> bool:
        self.ctl.pick_colour(pos.x(), pos.y())
        self.ctl.set_brush_active(self.ctl.brush_action.isChecked())
        return True

    def hover(self, pos) -> None:
        if pos is not None:
            self.ctl.hovered(pos.x(), pos.y())


class PaintingController(QObject):
    stackChanged = Signal(object)        # the CorrectionStack now edited (or None)

    def __init__(self, ctx):
        super().__init__(ctx.window)
        window = self.window = ctx.window
        self.session, self.pipeline, self.viewer = ctx.session, ctx.pipeline, ctx.viewer
        self.actions = ctx.actions
        self.context = ctx
        self.stack: CorrectionStack | None = None
        self.shot_of = None
        self.selected_id: str | None = None
        self.painting = False
        self._frame_data: dict = {}
        self._pending = False
        self._recompose_due = False
        self.undo = HistoryStack(self)
        self.brush_panel = BrushPanel(ctx.settings, window)
        self.colour_panel = ColourPicker(window)
        self.corrections_panel = CorrectionsPanel(window)
        self.history_panel = HistoryPanel(self.undo, window)
        area = Qt.DockWidgetArea.RightDockWidgetArea
        for d in (self.brush_panel, self.colour_panel, self.corrections_panel,
                  self.history_panel):
            window.addDockWidget(area, d)
        window.tabifyDockWidget(self.corrections_panel, self.history_panel)
        self.corrections_panel.raise_()
        self.tool = PaintTool(self)
        self.eyedropper = EyedropperTool(self)
        self.ghost = pg.ImageItem()
        self.ghost.setVisible(False)
        self.viewer.add_overlay(self.ghost)
        self.ghost.setZValue(22)
        self.tracking = TrackingController(self, ctx)
        self._build_menu()
        self._connect()

    # ---- wiring ----------------------------------------------------------------------------
    def _build_menu(self) -> None:
        w, reg = self.window, self.actions
        self.edit_menu = reg.menu("edit", "&Edit", before="view")
        self.undo_action = reg.register("undo", action=self.undo.createUndoAction(w, "&Undo"),
                                        shortcut="Ctrl+Z", menu="edit")
        self.redo_action = reg.register("redo", action=self.undo.createRedoAction(w, "&Redo"),
                                        shortcut=["Ctrl+Shift+Z", "Ctrl+Y"], menu="edit")
        reg.separator("edit")
        act = reg.register
        self.brush_action = act("brush", "&Brush", self.set_brush_active, "B", menu="edit",
                                checkable=True)
        self.eraser_action = act("eraser", "&Eraser", lambda: self.brush_panel.eraser_box.toggle(),
                                 "E", menu="edit")
        self.eyedropper_action = act("eyedropper", "Eyedropper", self.arm_eyedropper, menu="edit")
        # [ ] are the in/out keys too: the brush takes them while it is active (set_brush_active)
        self.smaller_action = act("brushSmaller", "Smaller brush",
                                  lambda: self.brush_panel.grow(1 / 1.25), "[", menu="edit",
                                  enabled=False)
        self.larger_action = act("brushLarger", "Larger brush",
                                 lambda: self.brush_panel.grow(1.25), "]", menu="edit",
                                 enabled=False)
        reg.separator("edit")
        for d in (self.brush_panel, self.colour_panel, self.corrections_panel, self.history_panel):
            reg.add("edit", d.toggleViewAction())

    def _connect(self) -> None:
        cp = self.corrections_panel
        cp.selectionChanged.connect(self._on_selected)
        cp.renameRequested.connect(
            lambda cid, name: self.push(UpdateCommand(self._stack(), cid, f"Rename to {name}",
                                                      name=name)))
        cp.visibilityRequested.connect(self._set_visible)
        cp.deleteRequested.connect(lambda cid: self.push(DeleteCommand(self._stack(), cid)))
        cp.moveRequested.connect(lambda cid, i: self.push(MoveCommand(self._stack(), cid, i)))
        cp.recolourRequested.connect(self._recolour)
        cp.lifetimeRequested.connect(self._set_lifetime)
        cp.trackingRequested.connect(self._set_tracking)
        cp.ghostToggled.connect(lambda _on: self.update_ghost())
        self.colour_panel.eyedropperRequested.connect(self.arm_eyedropper)
        self.brush_panel.settingsChanged.connect(lambda: self.tool.place_outline())
        self.brush_panel.eraser_box.toggled.connect(
            lambda on: self.eraser_action.setText("&Eraser (on)" if on else "&Eraser"))
        self.session.frameChanged.connect(lambda *_: self.update_ghost())
        self.pipeline.bundleReady.connect(self._on_bundle)
        self.pipeline.chromaReset.connect(lambda: self._frame_data.clear())

    # ---- the stack -------------------------------------------------------------------------
    def set_shot_of(self, shot_of) -> None:
        """Who decides "until the next cut" from now on (the temporal controller's live cuts):
        a frame -> shot key function; tracking plans with it from now on."""
        self.shot_of = shot_of
        self.tracking.request()

    def set_stack(self, stack: CorrectionStack | None, shot_of=None) -> None:
        """Edit another stack (a film or project was opened): history starts afresh."""
        self.undo.clear()
        self.stack, self.shot_of = stack, shot_of
        self.selected_id = None
        self._frame_data.clear()
        if stack is not None:
            # tracked masks arriving are no edit: the tracking controller recomposes their frames
            def on_event(ev: str, cid: str | None, s: CorrectionStack = stack) -> None:
                if ev != "tracked":
                    self._on_stack_event(s)
            stack.subscribe(on_event)
        self.tracking.set_stack(stack)
        self.corrections_panel.set_stack(stack)
        self.pipeline.set_override(self.override if stack is not None else None,
                                   affects=self.affects)
        self.update_ghost()
        self.stackChanged.emit(stack)

    def _stack(self) -> CorrectionStack:
        """The stack being edited: the handlers that ask for it run only while there is one."""
        assert self.stack is not None, "no corrections to edit"
        return self.stack

    def override(self, index: int, ab: np.ndarray, L: np.ndarray) -> np.ndarray:
        """compose.ChromaOverride; runs in the display worker thread (the stack is locked)."""
        stack = self.stack
        if stack is None or ab.shape[:2] != stack.shape:
            return ab
        return stack.composite(ab, index, self.shot_of)

    def affects(self, index: int) -> bool:
        """Whether any correction is active on frame `index`: frames none touches are composed
        for playback at display size (pipeline.set_override).  Never False when one is."""
        stack = self.stack
        return stack is not None and bool(stack.active(index, self.shot_of))

    def _on_stack_event(self, stack) -> None:
        # Called with the stack's lock held: only schedule the GUI work.
        if stack is self.stack and not self._pending:
            self._pending = True
            QTimer.singleShot(0, self._after_stack_change)

    def _after_stack_change(self) -> None:
        self._pending = False
        self.corrections_panel.rebuild(self.selected_id)
        if not self.painting:
            self.recompose()

    def recompose(self, keep_overlay: bool = False) -> None:
        """Have the display worker recompose the frames in view with the current corrections
        (deferred, so the several changes of one gesture cost one recomposition)."""
        if not keep_overlay:
            self.tool.hide_overlay()
        if not self._recompose_due:
            self._recompose_due = True
            QTimer.singleShot(0, self._do_recompose)

    def _do_recompose(self) -> None:
        self._recompose_due = False
        if self.stack is not None:
            self.pipeline.set_override(self.override, affects=self.affects)
        self.update_ghost()

    def _on_bundle(self, index: int) -> None:
        if index != self.session.frame or self.painting or self.tool.live is not None:
            return
        b = self.pipeline.bundle(index)
        if b is not None and b.colorized is not None:
            self.tool.hide_overlay()      # the recomposed frame has arrived

    def push(self, cmd) -> None:
        if self.stack is not None:
            self.undo.push(cmd)

    def select(self, cid: str | None) -> None:
        self.selected_id = cid
        self.corrections_panel.rebuild(cid)

    def _on_selected(self, cid) -> None:
        self.selected_id = cid

    def _set_visible(self, cid: str, visible: bool) -> None:
        name = self._stack().find(cid).name
        self.push(UpdateCommand(self._stack(), cid, f"{'Show' if visible else 'Hide'} {name}",
                                visible=visible))

    def _recolour(self, cid: str) -> None:
        self.push(UpdateCommand(self._stack(), cid, f"Recolour {self._stack().find(cid).name}",
                                chroma=self.colour_panel.ab))

    def _set_lifetime(self, cid: str, kind: str) -> None:
        c = self._stack().find(cid)
        lt = self.lifetime_for(kind, c.lifetime.start)
        lt.extra = dict(c.lifetime.extra)          # e.g. the tracking switch survives the change
        self.push(UpdateCommand(self._stack(), cid, f"Lifetime of {c.name}", lifetime=lt))

    def _set_tracking(self, cid: str, on: bool) -> None:
        c = self._stack().find(cid)
        if c.lifetime.tracks == bool(on) or c.lifetime.kind != "until_cut":
            return
        text = f"Track {c.name}" if on else f"Fix {c.name} on screen"
        self.push(UpdateCommand(self._stack(), cid, text, lifetime=c.lifetime.with_tracking(on)))

    def shots_changed(self) -> None:
        """The cuts changed: "until the next cut" lifetimes and their tracking follow."""
        self.tracking.request()
        # Only those lifetimes depend on the cuts: recomposing for nothing would drop every
        # composed frame (seen when shot detection ends after the first frames are on screen).
        if self.stack is not None and any(c.lifetime.kind == "until_cut" for c in self.stack):
            self.recompose()

    def shutdown(self) -> bool:
        """Stop the tracking worker (the window calls this on close)."""
        return self.tracking.shutdown()

    # ---- painting support (used by PaintTool) ----------------------------------------------
    def lifetime_for(self, kind: str, frame: int) -> Lifetime:
        s = self.session
        if kind == "range":
            return Lifetime.range(s.in_point, s.out_point)
        if kind == "until_cut":
            return Lifetime.until_cut(frame)
        return Lifetime.frame(frame)

    def target_for_stroke(self, frame: int, eraser: bool):
        """(correction to paint, correction created for this stroke or None, its index)."""
        c = None
        if self.selected_id is not None:
            try:
                c = self._stack().find(self.selected_id)
            except KeyError:
                c = None
        if eraser:
            return c, None, -1
        ab = self.colour_panel.ab
        if c is not None and np.allclose(c.chroma, ab, atol=1e-3) and \
                c.lifetime.active(frame, self.shot_of):
            return c, None, -1
        names = {x.name for x in self._stack()}
        k = len(self._stack()) + 1
        while f"Correction {k}" in names:
            k += 1
        new = Correction(self._stack().shape, chroma=ab, name=f"Correction {k}",
                         lifetime=self.lifetime_for(self.brush_panel.lifetime_kind(), frame))
        index = len(self._stack())
        self._stack().add(new, index)
        self.selected_id = new.id
        self.colour_panel.remember(ab)
        return new, new, index

    def frame_data(self, frame: int):
        """(model chroma ab_full, L_full) of a frame, as the display worker composes them."""
        chroma, b = self.pipeline.chroma, self.pipeline.bundle(frame)
        if chroma is None or b is None or b.proxy:   # a proxy's L is a stand-in: wait for the film's
            return None
        key = (frame, chroma.key)
        if key not in self._frame_data:
            ab_work = chroma.get(frame)
            if ab_work is None:
                return None
            L = color.luminance(b.source)
            box = compose.letterbox(L.shape[0], L.shape[1], chroma.size)
            self._frame_data = {key: (compose.model_chroma(ab_work, box, L), L)}
        return self._frame_data[key]

    def hovered(self, x: float, y: float) -> None:
        b = self.pipeline.bundle(self.session.frame)
        if b is None:
            return
        h, w = b.source.shape[:2]
        xi, yi = int(x), int(y)
        if 0 <= xi < w and 0 <= yi < h:
            px = b.source[yi:yi + 1, xi:xi + 1]
            self.colour_panel.set_lightness(float(color.luminance(px)[0, 0]))

    def pick_colour(self, x: float, y: float) -> bool:
        pic = self.viewer.current_pictures().get("left")
        xi, yi = int(x), int(y)
        if pic is None or not (0 <= yi < pic.shape[0] and 0 <= xi < pic.shape[1]):
            return False
        ab = rgb_to_ab(pic[yi, xi])
        self.colour_panel.set_colour(*ab)
        self.colour_panel.remember(self.colour_panel.ab)
        self.colour_panel.eyedropper.setChecked(False)
        return True

    def message(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 5000)

    # ---- tools -----------------------------------------------------------------------------
    def set_brush_active(self, on: bool) -> None:
        self.brush_action.setChecked(bool(on))
        self.viewer.set_tool(self.tool if on else None)
        for a in (self.smaller_action, self.larger_action):
            a.setEnabled(bool(on))
        # The brush owns [ ] while it is active (as in Nuke); I/O still set in/out.
        for name, key, bracket in (("markIn", "I", "["), ("markOut", "O", "]")):
            if name in self.actions:
                self.actions[name].setShortcuts([QKeySequence(key)] if on else
                                                [QKeySequence(key), QKeySequence(bracket)])

    def arm_eyedropper(self) -> None:
        self.viewer.set_tool(self.eyedropper)

    # ---- ghosting --------------------------------------------------------------------------
    def update_ghost(self) -> None:
        """Redraw the ghost of the neighbouring frames' masks (shown when the panel asks)."""
        on = self.corrections_panel.ghost_box.isChecked() and self.stack is not None \
            and self.session.film is not None
        if not on:
            self.ghost.setVisible(False)
            return
        f, n = self.session.frame, self.session.frame_count
        cur = self._stack().composite_mask(f, self.shot_of)
        neigh = np.zeros_like(cur)
        for g in range(max(0, f - GHOST_REACH), min(n, f + GHOST_REACH + 1)):
            if g != f:
                np.maximum(neigh, self._stack().composite_mask(g, self.shot_of), out=neigh)
        alpha = np.clip(neigh - cur, 0.0, 1.0)
        rgba = np.empty(cur.shape + (4,), np.uint8)
        rgba[..., :3] = GHOST_RGB
        rgba[..., 3] = (alpha * 120).astype(np.uint8)
        self.ghost.setImage(rgba, autoLevels=False, levels=None)
        self.ghost.setVisible(True)


def attach_painting(window) -> PaintingController:
    """Install painting, projects and export on a MainWindow (call once, after build_actions)."""
    from ..export_dialog import install_export
    from ..project_controller import ProjectController
    existing = getattr(window, "painting", None)
    if isinstance(existing, PaintingController):
        return existing                  # already installed (MainWindow does it itself)
    ctx = window.context
    ctl = ctx.painting = window.painting = PaintingController(ctx)
    ctx.project = window.project = ProjectController(ctx, ctl)
    install_export(ctx)
    return ctl
