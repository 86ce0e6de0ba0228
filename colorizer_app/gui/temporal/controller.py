"""Temporal tools in the review app: shots, reference keyframes, deflicker, timeline curves.

`attach_temporal(window)` installs them.  The controller owns the live state (ShotList,
keyframes, deflicker strength), keeps it in the project's open ``temporal`` section, shows it
on the timeline and in the Temporal dock, and hands it to the temporal worker; every edit the
artist makes (cut added/moved/deleted, keyframe marked/imported/removed) is one QUndoCommand
on the painting undo stack.  Painting's "until the next cut" lifetimes read the live ShotList.

What runs where: shot detection, propagation, deflicker and curves in the temporal worker
thread; the display worker composes with the results through `ResultStore.hook`; the GUI
thread only moves small values around.
"""
from __future__ import annotations

import os

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QFileDialog

from ...core.temporal.film import RefsError, read_ref
from ...core.temporal.results import ResultStore
from ...core.temporal.settings import TemporalSettings
from ...core.temporal.shots import ShotList
from ..workers import WorkerThread
from .commands import KeyframesCommand, ShotsCommand
from .keyframes import (
    entry_from_still,
    flicker_peaks,
    import_folder,
    keyframes_dir,
    load_project_keyframes,
)
from .markers import TimelineMarkers
from .menu import build_menu
from .panel import TemporalPanel
from .worker import TemporalWorker

WANT_REACH = 2
IMAGE_FILTER = "Images (*.png *.tif *.tiff *.jpg *.jpeg *.bmp *.webp);;All files (*)"
FLICKER_RGB, COLOUR_RGB = (240, 200, 80), (120, 200, 255)


class TemporalController(QObject):
    def __init__(self, ctx):
        super().__init__(ctx.window)
        window = self.window = ctx.window
        self.session, self.pipeline, self.timeline = ctx.session, ctx.pipeline, ctx.timeline
        self.settings, self.actions = ctx.settings, ctx.actions
        self.painting, self.project = ctx.painting, ctx.project
        self.shots = ShotList(0)
        self.keys: dict = {}
        self.strength = 0.0
        self.detecting = False
        self.flicker = self.colour = None
        self.peaks: list[tuple[int, float]] = []
        self._gen = 0
        self._version = 0
        self.store = ResultStore()
        self.worker = TemporalWorker(self.store)
        self.worker.cutsDetected.connect(self._on_detected)
        self.worker.scanProgress.connect(self._on_scan_progress)
        self.worker.resultsReady.connect(self.pipeline.recompose_frames)
        self.worker.curvesReady.connect(self._on_curves)
        self.worker.failed.connect(lambda m: window.statusBar().showMessage(m, 8000))
        self._thread = WorkerThread(self.worker, "bento-temporal")

        self.panel = TemporalPanel(window)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.panel)
        self.markers = TimelineMarkers(self.timeline, self)
        build_menu(self)
        self.panel.strengthChanged.connect(self.set_strength)
        self.panel.gotoRequested.connect(self.session.set_frame)
        self.panel.removeKeyRequested.connect(self.remove_keyframe)
        self.markers.moveRequested.connect(self.move_cut)
        self.markers.deleteRequested.connect(self.delete_cut)
        self.markers.selectionChanged.connect(
            lambda k: self.delete_cut_action.setEnabled(k is not None))
        self.session.frameChanged.connect(self._update_wanted)
        self.pipeline.colorizedFrames.connect(self.worker.colorized)
        self.pipeline.playingChanged.connect(self.worker.set_playing)
        self.pipeline.chromaReset.connect(lambda: self.worker.set_chroma(self.pipeline.chroma))
        self.pipeline.set_temporal(self.store.hook, affects=self.store.affects)
        self.project.projectChanged.connect(self._on_project)
        self.undo.indexChanged.connect(lambda *_: self.worker.invalidate_curves())

    @property
    def undo(self):
        return self.painting.undo

    # ---- project ------------------------------------------------------------------------------
    def _on_project(self, project) -> None:
        film = self.session.film
        self._gen += 1
        self.flicker = self.colour = None
        for name in ("flicker", "colourfulness"):
            self.timeline.remove_curve(name)
        self.panel.set_peaks([])
        if project is None or film is None:
            self.shots, self.keys, self.strength, self.detecting = ShotList(0), {}, 0.0, False
            self.worker.set_film(self._gen, "", 0, False)
            self._refresh_views()
            self._push_state()
            return
        n = film.frame_count
        settings = project.temporal_settings()          # lenient: what cannot be read is off
        stored = settings.shot_list(n)                  # the cuts found for this very film
        self.shots = stored if stored is not None else ShotList(n)
        self.keys, problems = load_project_keyframes(settings, n, film.width, film.height)
        for p in problems:
            self.window.show_message("Keyframe not loaded", p)
        self.strength = settings.deflicker
        self.detecting = stored is None
        self.worker.set_film(self._gen, film.path, n, self.detecting)
        self.worker.set_chroma(self.pipeline.chroma)
        self.worker.set_post(self._post)
        self.painting.set_shot_of(self.shot_key)   # tracking plans with the live cuts from now on
        self.panel.set_strength(self.strength)
        self._refresh_views()
        self._push_state()
        self._update_wanted()

    def _post(self, index, ab, L):
        """The painted corrections after the temporal stage (for the curves: shown result)."""
        return self.painting.override(index, ab, L)

    def shot_key(self, frame: int) -> int:
        """Painting's shot_of: the live ShotList decides "until the next cut"."""
        return self.shots.shot_index(frame)

    def _save_to_project(self, meta: bool = False) -> None:
        pc = self.project
        p = pc.project
        if p is None:
            return
        p.set_temporal_settings(TemporalSettings.from_shots(
            self.shots, {k: e.path for k, e in self.keys.items()}, round(self.strength, 4)))
        if meta:                          # a change that is no undo step still needs saving
            pc.mark_modified()

    # ---- state to the worker and the views ---------------------------------------------------
    @property
    def active(self) -> bool:
        return bool(self.keys) or self.strength > 0.0

    def _push_state(self) -> None:
        was = self.store.active
        self._version += 1
        self.store.set_active(self.active)
        self.worker.set_state(self._version, self.shots,
                              {k: e.keyframe for k, e in self.keys.items()}, self.strength)
        if was and not self.active:
            self.pipeline.recompose_frames(self.pipeline.bundles.indices())
        self._update_wanted()

    def _update_wanted(self, *_a) -> None:
        f, n = self.session.frame, self.session.frame_count
        order = [f]
        for d in range(1, WANT_REACH + 1):
            order += [f + d, f - d]
        self.worker.set_wanted([i for i in order if 0 <= i < n])

    def _refresh_views(self) -> None:
        self.markers.set_cuts(self.shots.cuts)
        self.markers.set_keyframes(self.keys)
        self.panel.set_keyframes(self.keys, self.session.frame)
        n = len(self.shots) if self.shots.n_frames else 0
        text = "Shots: detecting…" if self.detecting else \
            f"Shots: {n}" + (f"  (cuts at {', '.join(map(str, self.shots.cuts[:8]))}"
                             f"{', …' if len(self.shots.cuts) > 8 else ''})"
                             if self.shots.cuts else "")
        self.panel.shots_label.setText(text)

    # ---- shots -------------------------------------------------------------------------------
    def _on_scan_progress(self, done: int, total: int) -> None:
        if self.detecting and total:
            self.panel.shots_label.setText(f"Shots: detecting… {100 * done // total} %")

    def _on_detected(self, generation: int, cuts: list) -> None:
        if generation != self._gen or not self.detecting:
            return
        self.detecting = False
        # cuts the artist added while the scan ran are kept
        self.shots = ShotList(self.shots.n_frames, tuple(cuts) + self.shots.cuts)
        # derived data, not an edit: kept with the next save, but the project is not "modified"
        # (no "Save changes?", no autosave, no recovery offer for detection alone)
        self._save_to_project(meta=False)
        self._after_shots()
        self.window.statusBar().showMessage(f"Shot detection: {len(self.shots)} shot(s)", 5000)

    def detect_again(self) -> None:
        film = self.session.film
        if film is None:
            return
        self._gen += 1
        self.detecting = True
        self.worker.set_film(self._gen, film.path, film.frame_count, True)
        self.worker.set_chroma(self.pipeline.chroma)
        self.worker.set_post(self._post)
        self._refresh_views()
        self._push_state()

    def apply_shots(self, shots: ShotList) -> None:
        """Called by ShotsCommand (redo/undo)."""
        self.shots = shots
        self._save_to_project()
        self._after_shots()

    def _after_shots(self) -> None:
        self._refresh_views()
        self._push_state()
        self.painting.shots_changed()      # "until the next cut" lifetimes (and tracking) follow

    def _edit_shots(self, after: ShotList, text: str) -> None:
        if after != self.shots:
            self.undo.push(ShotsCommand(self, self.shots, after, text))
        else:
            self.markers.set_cuts(self.shots.cuts)

    def add_cut(self, frame: int | None = None) -> None:
        k = self.session.frame if frame is None else int(frame)
        if self.session.film is None or k <= 0 or k in self.shots.cuts:
            self.window.statusBar().showMessage(
                "A cut starts a new shot: it cannot be on the first frame or on another cut",
                5000)
            return
        self._edit_shots(self.shots.add(k), f"Add cut at frame {k}")

    def move_cut(self, cut: int, new: int) -> None:
        if cut in self.shots.cuts:
            after = self.shots.move(cut, new)
            moved = [c for c in after.cuts if c not in self.shots.cuts]
            self._edit_shots(after, f"Move cut {cut} to {moved[0] if moved else cut}")
            self.markers.select(moved[0] if moved else cut)

    def delete_cut(self, cut: int | None = None) -> None:
        k = self.markers.selected if cut is None else int(cut)
        if k is not None and k in self.shots.cuts:
            self._edit_shots(self.shots.delete(k), f"Delete cut at frame {k}")

    # ---- keyframes ---------------------------------------------------------------------------
    def apply_keyframes(self, keys: dict) -> None:
        """Called by KeyframesCommand (redo/undo)."""
        self.keys = dict(keys)
        self._save_to_project()
        self._refresh_views()
        self._push_state()

    def _edit_keys(self, after: dict, text: str) -> None:
        self.undo.push(KeyframesCommand(self, self.keys, after, text))

    def _ready(self):
        film, project = self.session.film, self.project.project
        return (film, project) if film is not None and project is not None else (None, None)

    def mark_keyframe(self) -> bool:
        """The frame as shown now (model, temporal stage and corrections) becomes a keyframe."""
        film, project = self._ready()
        k = self.session.frame
        b = self.pipeline.bundle(k) if film is not None else None
        if b is None or b.colorized is None:
            self.window.statusBar().showMessage(f"Frame {k} is not colorized yet", 5000)
            return False
        try:
            e = entry_from_still(b.colorized, keyframes_dir(project), k, film.width, film.height)
        except (RefsError, OSError) as exc:
            self.window.show_message("Keyframe not set", str(exc))
            return False
        self._edit_keys({**self.keys, k: e}, f"Mark keyframe {k}")
        return True

    def import_still(self, path: str | None = None) -> bool:
        """A colour still (same picture as the current frame) becomes its keyframe."""
        film, project = self._ready()
        if film is None:
            return False
        if path is None:
            start = self.settings.value("files/lastStillDir", "", str)
            path, _ = QFileDialog.getOpenFileName(self.window, "Import colour still", start,
                                                  IMAGE_FILTER)
            if not path:
                return False
            self.settings.setValue("files/lastStillDir", os.path.dirname(path))
        k = self.session.frame
        try:
            e = entry_from_still(read_ref(path), keyframes_dir(project), k, film.width,
                                 film.height)
        except (RefsError, OSError) as exc:
            self.window.show_message("Still not imported", str(exc))
            return False
        self._edit_keys({**self.keys, k: e}, f"Import still for frame {k}")
        return True

    def import_folder(self, folder: str | None = None) -> bool:
        """Every ref_NNNNNN.png of a folder becomes the keyframe of frame NNNNNN (one undo)."""
        film, project = self._ready()
        if film is None:
            return False
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self.window, "Import reference folder")
            if not folder:
                return False
        try:
            found, notes = import_folder(folder, keyframes_dir(project), film.frame_count,
                                         film.width, film.height)
        except (RefsError, OSError) as exc:
            self.window.show_message("References not imported", str(exc))
            return False
        for note in notes:
            if note.startswith("warning"):
                self.window.show_message("Reference still", note)
        self._edit_keys({**self.keys, **found}, f"Import {len(found)} reference still(s)")
        return True

    def remove_keyframe(self, k: int) -> None:
        if k in self.keys:
            after = dict(self.keys)
            after.pop(k)
            self._edit_keys(after, f"Remove keyframe {k}")

    # ---- deflicker ---------------------------------------------------------------------------
    def set_strength(self, strength: float) -> None:
        strength = min(1.0, max(0.0, float(strength)))
        self.panel.set_strength(strength)
        if strength != self.strength:
            self.strength = strength
            self._save_to_project(meta=True)
            self._push_state()

    # ---- curves ------------------------------------------------------------------------------
    def _on_curves(self, flicker, colour) -> None:
        self.flicker, self.colour = flicker, colour
        tl = self.timeline
        tl.add_curve("flicker", flicker, color=FLICKER_RGB, lo=0.0)
        tl.add_curve("colourfulness", colour, color=COLOUR_RGB, lo=0.0)
        self.peaks = flicker_peaks(flicker)
        self.panel.set_peaks(self.peaks)

    def goto_peak(self, direction: int = 1) -> int | None:
        """Next (or previous) of the worst flicker frames after the playhead, wrapping."""
        frames = sorted(k for k, _ in self.peaks)
        if not frames:
            self.window.statusBar().showMessage("No flicker measured yet", 4000)
            return None
        f = self.session.frame
        if direction >= 0:
            k = next((x for x in frames if x > f), frames[0])
        else:
            k = next((x for x in reversed(frames) if x < f), frames[-1])
        self.session.set_frame(k)
        return k

    # ---- shutdown ----------------------------------------------------------------------------
    def shutdown(self) -> bool:
        ok = self._thread.stop()
        # MainWindow.shutdown only knows the temporal and display workers: stop painting's
        # tracking worker with them
        return self.painting.shutdown() and ok


def attach_temporal(window) -> TemporalController:
    """Install the temporal tools on a MainWindow (after painting and projects)."""
    existing = getattr(window, "temporal", None)
    if isinstance(existing, TemporalController):
        return existing
    ctx = window.context
    ctx.temporal = window.temporal = TemporalController(ctx)
    return ctx.temporal
