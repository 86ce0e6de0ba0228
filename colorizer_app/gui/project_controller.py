"""Projects in the review app: File > New/Open/Save/Save As, recent projects, autosave, crash
recovery, and the unsaved-changes prompt.

One Project (core.project.project) is open whenever a film is: opening a film opens the project saved at
its default place (``film.mp4.bento.json``) if there is one, else starts an untitled project.
What the artist changed is "modified" when the undo history is away from its clean point or the
in/out range changed. Saving never writes over a file it could not read (core refuses; we show
its one-line message). Questions go through `ask()`, which tests replace.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from ..core.project.project import (
    Project,
    ProjectChangedOnDisk,
    ProjectError,
    default_project_path,
    find_recovery,
    open_project,
)
from ..core.project.recovery import Recovery, untitled_recoveries_for
from .recent import PROJECT

PROJECT_FILTER = "BentoColor projects (*.bento.json);;All files (*)"
AUTOSAVE_MS = 60_000
SAVE, DISCARD, CANCEL, RECOVER = "save", "discard", "cancel", "recover"
OVERWRITE = "overwrite"


class ProjectController(QObject):
    projectChanged = Signal(object)     # the open Project (or None)
    saved = Signal(str)

    def __init__(self, ctx, painting, autosave_ms: int = AUTOSAVE_MS):
        super().__init__(ctx.window)
        self.window, self.painting, self.session = ctx.window, painting, ctx.session
        self.settings, self.recent, self.actions = ctx.settings, ctx.recent, ctx.actions
        self.project: Project | None = None
        self._pending: Project | None = None
        self._meta_dirty = False
        self._recovered = False
        self._clean_range = (0, 0)
        self._installing = False
        self._build_menu()
        self.recent.changed.connect(self._rebuild_recent)
        self.session.filmChanged.connect(self._on_film)
        self.session.inOutChanged.connect(self._on_in_out)
        painting.undo.cleanChanged.connect(self._update_title)
        self.timer = QTimer(self)
        self.timer.setInterval(int(autosave_ms))
        self.timer.timeout.connect(self.autosave)
        self.timer.start()
        self.window.installEventFilter(self)
        QTimer.singleShot(0, self.check_recovery)

    # ---- menu ------------------------------------------------------------------------------
    # File menu items before "Open model…" (the export and the temporal imports follow them)
    INSERT_BEFORE = "openModel"

    def _build_menu(self) -> None:
        reg, before = self.actions, self.INSERT_BEFORE
        reg.menu("file", "&File")
        self.new_action = reg.register("newProject", "&New project…", self.choose_new, "Ctrl+N",
                                       menu="file", before=before)
        self.open_action = reg.register("openProject", "Open &project…", self.choose_open,
                                        "Ctrl+Shift+O", menu="file", before=before)
        self.recent_menu = reg.menu("recentProjects", "Open recent pro&ject", parent="file",
                                    before=before)
        self.save_action = reg.register("saveProject", "&Save project", self.save,
                                        QKeySequence.StandardKey.Save, menu="file",
                                        before=before)
        self.save_as_action = reg.register("saveProjectAs", "Save project &as…",
                                           self.choose_save_as, "Ctrl+Shift+S", menu="file",
                                           before=before)
        self._rebuild_recent()

    # ---- questions (tests replace this) ----------------------------------------------------
    def ask(self, kind: str, text: str) -> str:
        """kind 'unsaved' -> SAVE/DISCARD/CANCEL; 'recover' -> RECOVER/DISCARD;
        'changed' (the file changed on disk) -> OVERWRITE/CANCEL."""
        B = QMessageBox.StandardButton
        if kind == "recover":
            r = QMessageBox.question(self.window, "Recover unsaved work", text,
                                     B.Yes | B.No, B.Yes)
            return RECOVER if r == B.Yes else DISCARD
        if kind == "changed":
            r = QMessageBox.question(self.window, "Project changed on disk", text,
                                     B.Save | B.Cancel, B.Cancel)
            return OVERWRITE if r == B.Save else CANCEL
        r = QMessageBox.question(self.window, "Unsaved changes", text,
                                 B.Save | B.Discard | B.Cancel, B.Save)
        return {B.Save: SAVE, B.Discard: DISCARD}.get(r, CANCEL)

    # ---- state -----------------------------------------------------------------------------
    @property
    def modified(self) -> bool:
        try:
            clean = self.painting.undo.isClean()
        except RuntimeError:          # the window (and its history) is being destroyed
            return False
        return self.project is not None and (not clean or self._meta_dirty)

    def maybe_save(self) -> bool:
        """Before leaving the project: True when it is fine to go on."""
        if not self.modified:
            return True
        assert self.project is not None  # (modified)
        name = self.project.path.name if self.project.path else "the untitled project"
        answer = self.ask("unsaved", f"Save the changes to {name}?")
        if answer == CANCEL:
            return False
        if answer == SAVE:
            return self.save()
        self._discard_autosave()
        return True

    def _discard_autosave(self) -> None:
        p = self.project
        if p is not None:
            for r in ([] if p.path is None else find_recovery(p.path)):
                r.discard()
            if p.path is None:
                try:
                    os.unlink(p.autosave_path)
                except OSError:
                    pass

    # ---- opening ---------------------------------------------------------------------------
    def open_path(self, path) -> None:
        """What the window's open_path does while a project controller is attached: projects
        open here, films ask to save the open project first."""
        path = os.fspath(path)
        if path.endswith(".json") and os.path.isfile(path):
            self.open_project_file(path)
            return
        if self.maybe_save():
            self._pending = None
            self.window.open_film(path)

    def choose_new(self) -> None:
        self.window.choose_film()

    def choose_open(self) -> None:
        start = self.settings.value("files/lastProjectDir", "", str)
        path, _ = QFileDialog.getOpenFileName(self.window, "Open project", start, PROJECT_FILTER)
        if path:
            self.settings.setValue("files/lastProjectDir", os.path.dirname(path))
            self.open_project_file(path)

    def open_project_file(self, path, recovered: bool = False) -> bool:
        if not recovered and not self.maybe_save():
            return False
        path = os.path.abspath(os.fspath(path))
        if not recovered:
            path = self._offer_recovery(path, find_recovery(path))
        try:
            project = open_project(path)
        except ProjectError as exc:
            self.window.show_message("Cannot open project", str(exc))
            return False
        if project.source_missing and not self._relocate(project, path):
            return False
        for warning in project.warnings:
            self.window.show_message("Project opened with a problem", warning)
        if project.path is not None:
            self._add_recent(str(project.path))
        self._pending = project
        self.window.open_film(project.source_path)
        return True

    def _offer_recovery(self, path: str, recs: list[Recovery], name: str = "") -> str:
        """Ask about each newer autosave: the path to open (an autosave if the artist wants
        it back; a declined one is discarded, which is then the artist's answer)."""
        for r in recs:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.autosaved_at))
            if self.ask("recover", f"{name or os.path.basename(path)} has unsaved changes from "
                                   f"{when} (autosaved). Recover them?") == RECOVER:
                return str(r.autosave_path)
            r.discard()
        return path

    def locate_film(self, project: Project, project_file: str) -> str | None:
        """Ask where the film went (tests replace this)."""
        start = os.path.dirname(project_file)
        path, _ = QFileDialog.getOpenFileName(
            self.window, f"Locate the film '{os.path.basename(project.source_path)}'", start,
            "Films and image sequences (*)")
        return path or None

    def _relocate(self, project: Project, project_file: str) -> bool:
        """The film is neither at its path relative to the project, nor at its old absolute
        path, nor beside the project (core tried those): the artist may point at it."""
        where = self.locate_film(project, project_file)
        if not where or not os.path.exists(where):
            self.window.show_message("Cannot open project",
                                     f"{os.path.basename(project_file)}: the film "
                                     f"'{project.source_path}' was not found")
            return False
        project.source_path, project.source_missing = os.path.abspath(where), False
        project.touch()                     # the new place is a change to save
        return True

    def check_recovery(self) -> None:
        """At start: untitled sessions that were never saved (the app crashed)."""
        recs = find_recovery()
        if not recs:
            return
        r = max(recs, key=lambda x: x.autosaved_at)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.autosaved_at))
        if self.ask("recover", f"BentoColor Studio did not close properly. Recover the unsaved "
                               f"work autosaved at {when}?") == RECOVER:
            self.open_project_file(r.autosave_path, recovered=True)
        else:
            r.discard()

    def _on_film(self, film) -> None:
        pending, self._pending = self._pending, None
        if film is None:
            self._install(None)
            return
        if pending is not None and _same(pending.source_path, film.path):
            if pending.frame_size == (film.width, film.height):
                self._install(pending)
                return
            self.window.show_message(
                "Project not opened", f"the film is {film.width}×{film.height}, the project was "
                f"made on a {pending.frame_size[0]}×{pending.frame_size[1]} film")
        # Opening the film is a path back to the work too: its project's newer autosave, or an
        # untitled session's autosave on this film, is offered before anything is installed.
        project = None
        default = default_project_path(film.path)
        to_open = None
        if default.exists():
            to_open = self._offer_recovery(str(default), find_recovery(default))
        else:
            rec = untitled_recoveries_for(film.path)
            if rec:
                picked = self._offer_recovery(str(default), rec[:1], name=film.name)
                to_open = picked if picked != str(default) else None
        if to_open is not None:
            try:
                project = open_project(to_open)
                if project.path is not None:
                    self._add_recent(str(project.path))
                for warning in project.warnings:
                    self.window.show_message("Project opened with a problem", warning)
            except ProjectError as exc:
                self.window.show_message("Cannot open project", str(exc))
        if project is None or project.frame_size != (film.width, film.height):
            project = Project.new(film.path, (film.width, film.height))
        self._install(project)

    def _install(self, project: Project | None) -> None:
        self._installing = True
        try:
            self.project = project
            s = self.session
            if project is not None:
                self.painting.set_stack(project.corrections, project.shot_of())
                last = s.frame_count - 1
                out = last if project.out_point is None else project.out_point
                s.set_in_out(project.in_point, out)
                if project.model_path and os.path.exists(project.model_path):
                    s.set_model_path(project.model_path)
                if project.working_size:
                    s.set_work_size(project.working_size)
                view = project.view or {}
                if isinstance(view.get("frame"), int):
                    s.set_frame(view["frame"])
                if isinstance(view.get("mode"), str):
                    s.set_view_mode(view["mode"])
            else:
                self.painting.set_stack(None)
            # recovered from an autosave, or the film was located elsewhere: unsaved until saved
            self._recovered = project is not None and project.dirty
            self._meta_dirty = self._recovered
            self._clean_range = (s.in_point, s.out_point)
        finally:
            self._installing = False
        self._update_title()
        self.projectChanged.emit(project)

    def _on_in_out(self, *_a) -> None:
        # Compare with the saved range (not "did a signal come"): Session.set_film re-emits it.
        if not self._installing and self.project is not None:
            rng = (self.session.in_point, self.session.out_point)
            self._meta_dirty = self._recovered or rng != self._clean_range
            self._update_title()

    # ---- saving ----------------------------------------------------------------------------
    def _sync_to_project(self) -> None:
        p, s = self.project, self.session
        assert p is not None  # saving: there is a project
        p.in_point = s.in_point
        p.out_point = None if s.out_point >= s.frame_count - 1 else s.out_point
        p.model_path = s.model_path or None
        p.working_size = s.work_size
        p.view = dict(p.view, frame=s.frame, mode=s.view_mode)

    def save(self) -> bool:
        if self.project is None:
            return False
        if self.project.path is None:
            return self.choose_save_as()
        return self.save_as(self.project.path)

    def choose_save_as(self) -> bool:
        if self.project is None:
            return False
        start = str(self.project.path or default_project_path(self.project.source_path))
        path, _ = QFileDialog.getSaveFileName(self.window, "Save project as", start,
                                              PROJECT_FILTER)
        if not path:
            return False
        if not path.endswith(".json"):
            path += ".bento.json"
        return self.save_as(path)

    def save_as(self, path) -> bool:
        if self.project is None:
            return False
        self._sync_to_project()
        try:
            try:
                target = self.project.save(path)
            except ProjectChangedOnDisk as exc:
                if self.ask("changed", f"{exc}. Save anyway?") != OVERWRITE:
                    self.window.statusBar().showMessage("Project not saved", 6000)
                    return False
                target = self.project.save(path, force=True)
        except (ProjectError, OSError) as exc:
            self.window.show_message("Project not saved", str(exc))
            return False
        self.painting.undo.setClean()
        self._meta_dirty = self._recovered = False
        self._clean_range = (self.session.in_point, self.session.out_point)
        self._add_recent(str(target))
        self._update_title()
        self.window.statusBar().showMessage(f"Saved {target.name}", 4000)
        self.saved.emit(str(target))
        return True

    def autosave(self) -> Path | None:
        if not self.modified:
            return None
        self._sync_to_project()
        assert self.project is not None  # (modified)
        try:
            return self.project.autosave()
        except (ProjectError, OSError) as exc:
            self.window.statusBar().showMessage(f"Autosave failed: {exc}", 8000)
            return None

    # ---- recent projects (in the window's one recent-files list) ------------------------------
    def recent_projects(self) -> list[str]:
        return self.recent.paths(PROJECT)

    def _add_recent(self, path: str) -> None:
        self.recent.add(path)

    def _rebuild_recent(self) -> None:
        self.recent.fill_menu(self.recent_menu, PROJECT, self.open_project_file)

    def mark_modified(self) -> None:
        """A change to the project that is no undo step (e.g. the deflicker strength): the
        project needs saving (title star, autosave, the unsaved-changes question)."""
        if self.project is not None:
            self._meta_dirty = True
            self._update_title()

    # ---- window ----------------------------------------------------------------------------
    def _update_title(self, *_a) -> None:
        try:
            self._set_title()
        except RuntimeError:          # the window is being destroyed
            pass

    def _set_title(self) -> None:
        film = self.session.film
        if film is None or self.project is None:
            return
        name = self.project.path.name if self.project.path else "untitled project"
        star = " *" if self.modified else ""
        self.window.setWindowTitle(f"{name}{star} — {film.name} — BentoColor Studio")

    def eventFilter(self, obj, ev) -> bool:
        if obj is self.window and ev.type() == QEvent.Type.Close:
            if not self.maybe_save():
                ev.ignore()
                return True
            self.timer.stop()
            dlg = getattr(self.window, "export_dialog", None)
            if dlg is not None:
                dlg.close()              # cancels and waits for a running export
        return False


def _same(a: str, b: str) -> bool:
    return os.path.normpath(os.path.abspath(a)) == os.path.normpath(os.path.abspath(b))
