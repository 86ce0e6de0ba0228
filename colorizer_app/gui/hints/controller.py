"""Install the hint tool on the main window: `attach_hints(window) -> HintController`.

What runs where: edits happen in the GUI thread, always through a HintCommand on the painting
undo stack (a drag moves the hint live and lands as one step on release); the hint worker runs
the network with the frame's hints in its own thread; the display worker paints its result
through `HintResults.hook`, which the pipeline runs after the temporal stage and before the
override brush (an override still wins in its region). A result is used only when it was made
for the hints the frame has now (compared by content): newest edit wins, stale ones drop.

A hinted frame also becomes a keyframe of its shot (option, on by default): its hinted picture
is handed to the temporal controller as a keyframe still, kept in step with its hints (no undo
step of its own: undoing the hint takes the keyframe with it).
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QToolBar

from ...core import color, compose
from ...core.ml.hints import Hint
from ...core.project.hint_project import HintStore, new_hint_id
from ..session import COLORIZED, GRAY
from ..workers import WorkerThread, nice_this_thread
from .commands import HintCommand, describe
from .overlay import HintOverlay
from .panel import HintPanel
from .tool import HintTool
from .worker import HintResults, HintWorker

NO_HINTS_TIP = ("The loaded model takes no hints (a 1-channel generator): use the shipped hint "
                "model (File ▸ Use the hint model) or open another to use the hint tool")
KEY_QUIET_MS = 1000   # hints still this long: their frame's keyframe follows (see _key_timer)


class HintController(QObject):
    shown = Signal(int)          # a frame's recoloured picture is on its way to the screen
    # a keyframe still made off the GUI thread: frame, its hints, project, KeyEntry or None, error
    _keyMade = Signal(int, object, object, object, str)

    def __init__(self, ctx):
        super().__init__(ctx.window)
        window = self.window = ctx.window
        self.session, self.pipeline, self.viewer = ctx.session, ctx.pipeline, ctx.viewer
        self.painting, self.project, self.actions = ctx.painting, ctx.project, ctx.actions
        self._ctx = ctx                       # ctx.temporal attaches after the hints
        self.colour_panel = self.painting.colour_panel
        self.store = HintStore()              # replaced by the project's when one opens
        self.selected: str | None = None
        self.takes_hints = False
        self._asked: dict[int, tuple] = {}    # frame -> hints last sent to the worker
        self._hint_keys: set[int] = set()     # keyframes this controller made from hints
        self._key_due: set[int] = set()
        # A hinted frame's keyframe (a full-size still written to disk, then the shot's
        # propagation) follows its hints once they have been still for KEY_QUIET_MS: made after
        # every edit it cost ~70 ms of the GUI thread each time and doubled the edit's latency.
        self._key_timer = QTimer(self)
        self._key_timer.setSingleShot(True)
        self._key_timer.setInterval(KEY_QUIET_MS)
        self._key_timer.timeout.connect(lambda: self._sync_keyframes())
        # The still itself (full-size compose, PNG encode: ~150 ms at 1080p) is made on its own
        # thread; _key_jobs holds the hints each frame's pending still was made for.
        self._key_pool = ThreadPoolExecutor(1, thread_name_prefix="bento-hint-keys",
                                            initializer=nice_this_thread, initargs=(4,))
        self._key_jobs: dict[int, tuple] = {}
        self._keyMade.connect(self._on_key_made)
        self._pending_frames: set[int] = set()
        self._due = False
        self.last_release = 0.0               # perf_counter of the last mouse release
        self.results = HintResults()
        self.worker = HintWorker()
        self.worker.recoloured.connect(self._on_recoloured)
        self.worker.recolouredAside.connect(self._on_recoloured_aside)
        self.worker.failed.connect(lambda m: window.statusBar().showMessage(m, 8000))
        self._thread = WorkerThread(self.worker, "bento-hints")
        self.tool = HintTool(self)
        self.overlay = HintOverlay(self.viewer)
        self.panel = HintPanel(window)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.panel)
        self._build_actions()
        self.pipeline.set_hints(self.results.hook, affects=self.results.affects)
        self.pipeline.modelStatus.connect(self._on_model_status)
        self.pipeline.chromaReset.connect(self._on_chroma_reset)
        self.pipeline.bundleReady.connect(self._on_bundle)
        self.session.frameChanged.connect(lambda *_: self._on_frame())
        self.session.filmChanged.connect(
            lambda film: self.worker.set_film(film.path if film is not None else None))
        self.project.projectChanged.connect(self._on_project)
        self.panel.show_box.toggled.connect(self.set_hints_visible)
        self.panel.sizeChanged.connect(self._resize_selected)
        self.panel.recolourRequested.connect(self.recolour_selected)
        self.panel.deleteRequested.connect(lambda: self.selected and self.delete(self.selected))
        self.panel.viewRequested.connect(self.show_hints_only)
        self.panel.copyRequested.connect(self.copy_to)
        self.panel.hintModelRequested.connect(window.use_hint_model)
        self.panel.key_box.toggled.connect(self._on_key_option)
        # the eyedropper borrows the viewer for one click; the hint tool comes back after it
        self.colour_panel.eyedropper.toggled.connect(
            lambda on: not on and self.tool_action.isChecked()
            and QTimer.singleShot(0, lambda: self.set_active(True)))
        self._set_model(False, "No model loaded")
        if self.project.project is not None:
            self._on_project(self.project.project)

    # ---- wiring ----------------------------------------------------------------------------
    def _build_actions(self) -> None:
        w, reg = self.window, self.actions

        def act(action_id, text, keys, slot, **kw):
            return reg.register(action_id, text, slot, keys, menu="edit", **kw)

        reg.separator("edit")
        self.tool_action = act("hintTool", "&Hint tool", ["H"], self.set_active, checkable=True)
        # enabled only while a hint is selected (Delete is also Temporal's "delete the cut")
        self.delete_action = act("deleteHint", "Delete hint", ["Delete", "Backspace"],
                                 lambda: self.delete(self.selected) if self.selected else None,
                                 enabled=False)
        self.recolour_action = act("recolourHint", "Recolour hint", ["Shift+H"],
                                   self.recolour_selected, enabled=False)
        self.smaller_action = act("hintSmaller", "Smaller hint", ["Ctrl+["],
                                  lambda: self._step_size(-1), enabled=False)
        self.larger_action = act("hintLarger", "Larger hint", ["Ctrl+]"],
                                 lambda: self._step_size(+1), enabled=False)
        self.visible_action = act("showHints", "Show hints", ["Ctrl+H"], self.set_hints_visible,
                                  checkable=True, checked=True)
        reg.add("edit", self.panel.toggleViewAction())
        self.toolbar = QToolBar("Tools", w)
        self.toolbar.setObjectName("toolsBar")
        for action_id in ("brush", "hintTool", "showHints"):
            self.toolbar.addAction(reg[action_id])
        w.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        reg["brush"].toggled.connect(
            lambda on: self._set_checked(False) if on and self.tool_action.isChecked() else None)

    def _set_checked(self, on: bool) -> None:
        self.tool_action.setChecked(on)
        for a in (self.smaller_action, self.larger_action):
            a.setEnabled(on)
        self._sync_selection_actions()

    def set_active(self, on: bool) -> None:
        on = bool(on) and self.takes_hints
        if on and self.actions["brush"].isChecked():
            self.painting.set_brush_active(False)
        self._set_checked(on)
        if on:
            self.viewer.set_tool(self.tool)
        elif self.viewer.left.tool is self.tool:
            self.viewer.set_tool(None)

    def _on_model_status(self, state: str, message: str) -> None:
        if state != "ready":
            self._set_model(False, "No model loaded" if state != "loading" else message)
            return
        keras_model = self.pipeline.colorizer.keras_model
        from ...core.ml.model import input_channels
        takes = keras_model is not None and input_channels(keras_model) == 4
        self._set_model(takes, "The model takes hints: click to give a colour, it spreads to "
                               "the object's edges" if takes else NO_HINTS_TIP)
        # the size the chroma cache was made at (what the colorize worker runs), so the hinted
        # picture matches the rest of the film and `colorizer render` of the project
        # (the model id the colorize worker reported ends in it: "<weights digest>_<size>")
        tail = self.pipeline.model_id.rsplit("_", 1)[-1]
        size = int(tail) if tail.isdigit() else self.session.work_size
        self.worker.set_model(keras_model if takes else None, size)
        self.results.clear()
        self._asked.clear()
        self._on_frame()

    def _set_model(self, takes: bool, text: str) -> None:
        self.takes_hints = takes
        self.tool_action.setEnabled(takes)
        self.tool_action.setToolTip("Hint tool (H): click to place a colour hint" if takes
                                    else NO_HINTS_TIP)
        self.panel.set_model(takes, text)
        if not takes:
            self.set_active(False)

    def _on_project(self, project) -> None:
        self.store = project.hints if project is not None else HintStore()
        self.store.subscribe(lambda f, s=self.store: self._changed(f) if s is self.store else None)
        self.selected = None
        self.results.clear()
        self._asked.clear()
        self._hint_keys = set(self.store.frames())
        self._on_frame()

    def _on_chroma_reset(self) -> None:
        self.results.clear()
        self._asked.clear()
        QTimer.singleShot(0, self._on_frame)

    # ---- state → overlay, worker -------------------------------------------------------------
    def store_items(self):
        return self.store.items(self.session.frame)

    def ready(self) -> bool:
        return self.takes_hints and self.session.film is not None

    def patch_size(self) -> int:
        return int(self.panel.size_spin.value())

    def select(self, hid: str | None) -> None:
        self.selected = hid
        h = self.store.get(self.session.frame, hid) if hid else None
        if h is not None and h.size != self.panel.size_spin.value():
            self.panel.size_spin.blockSignals(True)
            self.panel.size_spin.setValue(h.size)
            self.panel.size_spin.blockSignals(False)
        self._sync_selection_actions()
        self._draw()

    def _sync_selection_actions(self) -> None:
        on = self.selected is not None and self.tool_action.isChecked() and \
            self.store.get(self.session.frame, self.selected) is not None
        self.delete_action.setEnabled(on)
        self.recolour_action.setEnabled(on)
        self.panel.set_selected(on)

    def _draw(self) -> None:
        self.overlay.show(self.store_items(), self.selected)

    def _changed(self, frame: int) -> None:
        """A hint of `frame` changed (GUI thread: edits and undo/redo)."""
        self._pending_frames.add(frame)
        self._ctx.editing()                # a drag's moves are edits too: analysis waits
        if not self.store.hints(frame):
            self._asked.pop(frame, None)   # a redo of the same hints must ask again
        if frame == self.session.frame:
            self._request(frame)           # first and at once: the network is the long part
            self._draw()
            self._sync_selection_actions()
        if not self._due:
            self._due = True
            QTimer.singleShot(0, self._after_change)

    def _after_change(self) -> None:
        self._due = False
        frames, self._pending_frames = self._pending_frames, set()
        for f in frames:
            if not self.store.hints(f) and self.results.drop(f):
                self.pipeline.recompose_frames([f])
            if f != self.session.frame:
                self.results.drop(f)       # recoloured when the playhead gets there
            self._key_due.add(f)
        self._key_timer.start()

    def _request(self, frame: int) -> None:
        hints = tuple(self.store.hints(frame))
        if not hints or not self.takes_hints or self._asked.get(frame) == hints:
            return
        b = self.pipeline.bundle(frame)
        if b is None or b.proxy:
            return                         # _on_bundle asks again when the film's frame is here
        self._asked[frame] = hints
        self.worker.request(frame, 0, list(hints), b.source)

    def _on_frame(self) -> None:
        self.selected = None if self.selected is None or \
            self.store.get(self.session.frame, self.selected) is None else self.selected
        self._draw()
        self._sync_selection_actions()
        if self.session.film is not None:
            self.panel.copy_spin.setRange(0, max(0, self.session.frame_count - 1))
            self._request(self.session.frame)

    def _on_bundle(self, index: int) -> None:
        if index == self.session.frame and self.results.get(index) is None:
            self._request(index)

    def _on_recoloured(self, frame: int, _v: int, ab_work, box, seconds: float) -> None:
        hints = self._asked.get(frame)
        if hints is None or hints != tuple(self.store.hints(frame)):
            if frame == self.session.frame:
                self._asked.pop(frame, None)
                self._request(frame)       # stale: the hints moved on meanwhile
            return
        self.results.put(frame, 0, ab_work, box)
        self.pipeline.recompose_frames([frame])
        self.shown.emit(frame)
        if frame in self._key_due:
            self._key_timer.start()

    # ---- edits (each one undo step) -----------------------------------------------------------
    def commit(self, frame: int, hid: str, before: Hint | None, after: Hint | None) -> None:
        """The hint is already `after` in the store: record the step."""
        self.painting.undo.push(HintCommand(self.store, frame, hid, before, after,
                                            describe(before, after, frame)))
        if after is not None:
            self.colour_panel.remember((after.a, after.b))

    def released(self) -> None:
        self.last_release = time.perf_counter()

    def _edit(self, hid: str, after: Hint | None) -> None:
        frame = self.session.frame
        before = self.store.get(frame, hid)
        if before is None or before == after:
            return
        pos = self.store.position(frame, hid)
        self.painting.undo.push(HintCommand(self.store, frame, hid, before, after,
                                            describe(before, after, frame), position=pos))

    def delete(self, hid: str) -> None:
        self._edit(hid, None)
        if hid == self.selected:
            self.select(None)

    def recolour_selected(self) -> None:
        sel = self.selected
        h = self.store.get(self.session.frame, sel) if sel else None
        if sel and h is not None:
            a, b = self.colour_panel.ab
            self._edit(sel, replace(h, a=float(a), b=float(b)))
            self.colour_panel.remember((a, b))

    def _resize_selected(self, size: int) -> None:
        sel = self.selected
        h = self.store.get(self.session.frame, sel) if sel else None
        if sel and h is not None and h.size != size:
            self._edit(sel, replace(h, size=int(size)))

    def _step_size(self, d: int) -> None:
        self.panel.size_spin.setValue(self.panel.size_spin.value() + d)

    def pick_shown_colour(self, x: float, y: float) -> None:
        """Alt-click: the colour the network shows there becomes the current colour."""
        if self.painting.pick_colour(x, y):
            self.window.statusBar().showMessage("Colour taken from the picture", 3000)

    # ---- views ---------------------------------------------------------------------------------
    def set_hints_visible(self, on: bool) -> None:
        for w in (self.visible_action, self.panel.show_box):
            if w.isChecked() != bool(on):
                w.blockSignals(True)
                w.setChecked(bool(on))
                w.blockSignals(False)
        self.overlay.set_visible(on)

    def show_hints_only(self, on: bool) -> None:
        """Hints over the gray frame (judge where they sit), or the colour result."""
        self.session.set_view_mode(GRAY if on else COLORIZED)
        if on:
            self.set_hints_visible(True)

    # ---- hinted frame → keyframe ----------------------------------------------------------------
    def _on_key_option(self, on: bool) -> None:
        self._key_due.update(self.store.frames() if on else list(self._hint_keys))
        self._sync_keyframes()

    def _sync_keyframes(self, sources: dict[int, np.ndarray] | None = None) -> None:
        """Make each due frame's keyframe match its hints (a still of its hinted picture), or
        remove the keyframe it made when the frame has no hints left or the option is off."""
        temporal = self._ctx.temporal
        project = self.project.project
        if temporal is None or project is None or self.session.film is None:
            return
        keys, changed = dict(temporal.keys), False
        for f in sorted(self._key_due):
            want = self.panel.key_box.isChecked() and bool(self.store.hints(f))
            if not want:
                self._key_due.discard(f)
                if f in self._hint_keys:
                    self._hint_keys.discard(f)
                    changed |= keys.pop(f, None) is not None
                continue
            inputs = self._hinted_inputs(f, (sources or {}).get(f))
            if inputs is None:
                if f != self.session.frame and self.takes_hints:
                    self.worker.request_aside(f, list(self.store.hints(f)))   # off screen
                continue                   # when its current result arrives
            self._key_due.discard(f)
            hints = self._key_jobs[f] = tuple(self.store.hints(f))
            self._key_pool.submit(self._make_key, f, hints, project, inputs,
                                  self.painting.override, self.session.film)
        if changed:
            temporal.apply_keyframes(keys)

    def _make_key(self, f: int, hints: tuple, project, inputs, override, film) -> None:
        """(key thread) Frame f's hinted picture at full size, written as its keyframe still."""
        from ..temporal.keyframes import entry_from_still, keyframes_dir
        try:
            source, ab_work, box = inputs
            pic = compose.compose_picture(source, ab_work, box, None, f, override)
            entry = entry_from_still(pic, keyframes_dir(project), f, film.width, film.height)
        except Exception as exc:           # noqa: BLE001 (a full disk: say so, keep the hints)
            self._keyMade.emit(f, hints, project, None, str(exc).splitlines()[0] if str(exc) else
                               type(exc).__name__)
            return
        self._keyMade.emit(f, hints, project, entry, "")

    def _on_key_made(self, f: int, hints: tuple, project, entry, error: str) -> None:
        temporal = self._ctx.temporal
        current = self._key_jobs.get(f) == hints and project is self.project.project and \
            temporal is not None and self.panel.key_box.isChecked() and \
            tuple(self.store.hints(f)) == hints
        if not current:                    # the hints moved on (a newer still is on its way)
            if entry is not None:
                Path(entry.path).unlink(missing_ok=True)
            return
        del self._key_jobs[f]
        if entry is None:
            self.window.statusBar().showMessage(f"Keyframe of frame {f} not set: {error}", 8000)
            return
        self._hint_keys.add(f)
        temporal.apply_keyframes({**temporal.keys, f: entry})

    def _hinted_inputs(self, f: int, source: np.ndarray | None = None) -> tuple | None:
        """What frame f's hinted picture is composed from (film pixels, ab, letterbox), with
        the viewer's film pixels, else `source` (read off screen by the hint worker); None
        while its result is not the one for its current hints."""
        r, b = self.results.get(f), self.pipeline.bundle(f)
        source = b.source if b is not None and not b.proxy else source
        if r is None or source is None or self._asked.get(f) != tuple(self.store.hints(f)):
            return None
        return source, r[1], r[2]

    def _on_recoloured_aside(self, frame: int, hints: tuple, ab_work, box, source) -> None:
        """An off-screen frame recoloured with its hints: its result for the viewer, and its
        keyframe when one is due. Hints edited meanwhile ask again (_sync_keyframes)."""
        if hints != tuple(self.store.hints(frame)) or frame == self.session.frame:
            return
        self._asked[frame] = hints
        self.results.put(frame, 0, ab_work, box)
        self.pipeline.recompose_frames([frame])
        if frame in self._key_due:
            self._sync_keyframes({frame: source})

    # ---- copy to another frame -------------------------------------------------------------------
    def copy_to(self, target: int) -> int:
        """Copy this frame's hints to `target` (carried by optical flow), one undo step."""
        src_f = self.session.frame
        hints = self.store.hints(src_f)
        film = self.session.film
        if not hints or film is None or target == src_f or not 0 <= target < film.frame_count:
            return 0
        from ...core.flow import compute_flow
        from ...core.media import open_media
        with open_media(film.path) as r:
            a, b = r.read(src_f), r.read(target)
        flow = compute_flow(color.luminance(a), color.luminance(b))
        macro = self.painting.undo
        macro.beginMacro(f"Copy {len(hints)} hint(s) from frame {src_f} to {target}")
        for h in hints:
            dx, dy = flow[int(h.y), int(h.x)]
            moved = replace(h, x=float(min(max(round(h.x + dx), 0), film.width - 1)),
                            y=float(min(max(round(h.y + dy), 0), film.height - 1)))
            macro.push(HintCommand(self.store, target, new_hint_id(), None, moved,
                                   f"Place hint on frame {target}"))
        macro.endMacro()
        return len(hints)

    def shutdown(self) -> bool:
        self._key_timer.stop()
        self._key_pool.shutdown(wait=True)
        return self._thread.stop(timeout_ms=30000)


def attach_hints(window) -> HintController:
    existing = getattr(window, "hints", None)
    if isinstance(existing, HintController):
        return existing
    ctx = window.context
    ctx.hints = window.hints = HintController(ctx)
    return ctx.hints
