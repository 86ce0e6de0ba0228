"""Main window: viewer, timeline, model dock, status bar; film opening and settings.

The window wires things together and owns nothing else: state lives in the Session, background
work in the Pipeline, pictures in the Viewer.  It never blocks: opening a film, loading a model
and decoding all happen in workers, and their failures arrive here as messages.
"""
from __future__ import annotations

import os

from PySide6.QtCore import QEvent, QObject, QSettings, Qt
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from ..core.ml.bundled import default_model_path, hint_model_path
from . import window_layout
from .actions import ActionRegistry, build_actions
from .audio import AudioPlayer
from .audio_controls import AudioControls
from .context import FeatureContext
from .focus import FocusKeeper
from .model_panel import ModelPanel
from .pipeline import Pipeline
from .playback import Player
from .recent import FILM, RecentFiles
from .session import VIEW_MODES, Session
from .status import StatusBar
from .thumbnails import ThumbnailStrip
from .timeline import Timeline
from .viewer import Viewer

APP_NAME = "BentoColor Studio"
FILM_FILTER = ("Films and image sequences (*.mp4 *.mov *.mkv *.avi *.m4v *.webm *.mxf *.mpg "
               "*.mpeg *.ts *.png *.tif *.tiff *.jpg *.jpeg);;All files (*)")


_INPUT_EVENTS = frozenset({QEvent.Type.MouseMove, QEvent.Type.MouseButtonPress, QEvent.Type.Wheel,
                           QEvent.Type.KeyPress, QEvent.Type.TabletMove})


class _ActivityFilter(QObject):
    """Tells the pipeline the artist is at work (background proxy building pauses meanwhile)."""

    def __init__(self, pipeline, parent: QObject):
        super().__init__(parent)
        self._note = pipeline.proxy.note_activity

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() in _INPUT_EVENTS:
            self._note()
        return False


def default_settings() -> QSettings:
    return QSettings("BentoColor", "BentoColor Studio")


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, model_path: str | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings if settings is not None else default_settings()
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self.last_message = ""
        self._closed = False

        self.session = Session(self)
        # RAM for the look-ahead cache of frames composed for playback (a setting, in MiB)
        play_mib = max(64, self.settings.value("playback/cacheMiB", 1024, int))
        self.pipeline = Pipeline(self.session, self, play_budget=play_mib << 20)
        self.player = Player(self.session, self)
        self.viewer = Viewer(self.session, self.pipeline)
        self.timeline = Timeline(self.session, self.pipeline)
        self.model_panel = ModelPanel(self.session, self.pipeline, self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.model_panel)
        self.status = StatusBar(self.session, self.pipeline, self.player, self)
        self.setStatusBar(self.status)
        self.audio = AudioPlayer(self.session, self.player, self)
        self.audio_controls = AudioControls(self.audio, self.settings, self)
        self.status.addPermanentWidget(self.audio_controls)

        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.viewer, 1)
        lay.addWidget(self.timeline)
        self.setCentralWidget(central)
        self.thumbnails = ThumbnailStrip(self.session, self.timeline)
        self.timeline.layout().insertWidget(1, self.thumbnails)   # above the frame ruler
        self.recent = RecentFiles(self.settings, self)
        self.action_registry = ActionRegistry(self)
        build_actions(self)
        self.recent_menu = self.action_registry.menu("recent")
        # what every feature gets (and nothing else of the window's insides)
        self.context = FeatureContext(self, self.session, self.pipeline, self.viewer,
                                      self.timeline, self.settings, self.action_registry,
                                      self.recent)
        from .paint import attach_painting  # painting, projects and export plug in here
        self.painting = attach_painting(self)
        from .temporal import attach_temporal  # shots, keyframes, deflicker, curves
        self.temporal = attach_temporal(self)
        from .hints import attach_hints  # the hint tool (a hint model's colour clicks)
        self.hints = attach_hints(self)
        from .adapt_dialog import attach_adapt  # Temporal ▸ Learn this film… (test-time adaptation)
        attach_adapt(self)
        window_layout.install(self)           # every panel exists now: scroll areas, tab groups
        self._add_layout_menu()
        self.focus_keeper = FocusKeeper(self, self.viewer)

        self.viewer.frameShown.connect(self.player.frame_shown)
        QApplication.instance().installEventFilter(_ActivityFilter(self.pipeline, self))
        self.player.speedChanged.connect(
            lambda sp: self.pipeline.set_direction(-1 if sp < 0 else 1, sp != 0,
                                                   self.player.stride))
        # queued: the pipeline reports it while planning, the new stride re-plans after that
        self.pipeline.fallingBehind.connect(self.player.keep_up, Qt.ConnectionType.QueuedConnection)
        # playback composes colour frames at the size they are drawn (device pixels)
        self.viewer.zoomChanged.connect(
            lambda z: self.pipeline.set_view_zoom(z * self.viewer.devicePixelRatioF()))
        self.session.viewModeChanged.connect(self._sync_view_actions)
        self.session.filmChanged.connect(self._on_film)
        self.pipeline.filmFailed.connect(lambda msg: self.show_message("Cannot open film", msg))
        self.pipeline.modelStatus.connect(self._on_model_status)
        self.model_panel.openModelRequested.connect(self.choose_model)
        self.model_panel.hintModelRequested.connect(self.use_hint_model)
        self._restore_settings()
        self._sync_view_actions(self.session.view_mode)
        self.recent.changed.connect(self._rebuild_recent_menu)
        self._rebuild_recent_menu()
        # The shipped model unless the artist chose another last time (or the caller says).
        chosen = model_path if model_path is not None else (
            self.settings.value("model/path", "", str) or default_model_path())
        if chosen and not os.path.exists(chosen):
            chosen = default_model_path()
        self.session.set_model_path(chosen)
        if not chosen:
            self.pipeline.report_no_model()

    @property
    def view_actions(self) -> dict:
        """The View menu's picture-mode actions by mode."""
        return {m: self.action_registry[f"view_{m}"] for m in VIEW_MODES}

    @property
    def actions_by_name(self) -> dict:
        """Every registered action by id (a copy of the registry's table)."""
        return self.action_registry.by_id()

    # ---- opening films -------------------------------------------------------------------------
    def open_path(self, path: str) -> None:
        """Open a film, an image sequence, a film's project folder or a project file: through
        the project controller when there is one (it asks to save the open project first and
        opens project files), else the film at once."""
        project = getattr(self, "project", None)
        if project is not None:
            project.open_path(path)
        else:
            self.open_film(path)

    def open_film(self, path: str) -> None:
        """Open a film, an image sequence (folder or printf pattern) or a film's project folder
        now, with no question about the open project."""
        path = os.fspath(path)
        if path.endswith(".bento") and os.path.isdir(path):
            path = path[: -len(".bento")]          # a film's project folder: open its film
        if not _exists(path):
            self.show_message("Cannot open film", f"{path}: file not found")
            return
        self.player.stop()
        self.statusBar().showMessage(f"Opening {os.path.basename(path.rstrip('/'))}…", 3000)
        self._pending_path = path
        self.pipeline.open_film(path)

    def choose_film(self) -> None:
        start = self.settings.value("files/lastDir", "", str)
        path, _ = QFileDialog.getOpenFileName(self, "Open film", start, FILM_FILTER)
        if path:
            self.settings.setValue("files/lastDir", os.path.dirname(path))
            self.open_path(path)

    def choose_sequence_folder(self) -> None:
        start = self.settings.value("files/lastDir", "", str)
        path = QFileDialog.getExistingDirectory(self, "Open image sequence folder", start)
        if path:
            self.open_path(path)

    def choose_model(self) -> None:
        path = self.model_panel.choose_model(self)
        if path:
            self.set_model(path)

    def set_model(self, path: str) -> None:
        self.session.set_model_path(path)
        self.settings.setValue("model/path", path)

    def use_hint_model(self) -> None:
        """Switch to the shipped hint generator (File menu, Model and Hints panels)."""
        path = hint_model_path()
        if not path:
            self.show_message("No hint model", "This installation has no bundled hint model "
                                               "(bento_hints.keras); open one with File ▸ Open model…")
            return
        self.set_model(path)

    def _on_film(self, film) -> None:
        if film is None:
            self.setWindowTitle(APP_NAME)
            return
        self.viewer.setFocus(Qt.FocusReason.OtherFocusReason)   # keys work at once
        self.setWindowTitle(f"{film.name} — {APP_NAME}")
        self._add_recent(film.path)

    # ---- recent files --------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        """The recent films, newest first (the projects are in the same list: self.recent)."""
        return self.recent.paths(FILM)

    def _add_recent(self, path: str) -> None:
        self.recent.add(path)

    def _rebuild_recent_menu(self) -> None:
        self.recent.fill_menu(self.recent_menu, FILM, self.open_path, exists=_exists,
                              clearable=True)

    # ---- drag and drop -------------------------------------------------------------------------
    def dragEnterEvent(self, ev) -> None:
        if ev.mimeData().hasUrls() and any(u.isLocalFile() for u in ev.mimeData().urls()):
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:
        for url in ev.mimeData().urls():
            if not url.isLocalFile():
                continue
            path = url.toLocalFile()
            if path.endswith(".keras"):
                self.set_model(path)      # a model dropped on the window loads it
            else:
                self.open_path(path)
            ev.acceptProposedAction()
            return

    # ---- messages ------------------------------------------------------------------------------
    def show_message(self, title: str, text: str) -> None:
        """A non-blocking message box: workers keep running and tests never hang on it."""
        self.last_message = text
        self.statusBar().showMessage(text, 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok,
                          self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _on_model_status(self, state: str, message: str) -> None:
        if state == "error":
            self.last_message = message
            self.statusBar().showMessage(message, 10000)

    def _sync_view_actions(self, mode: str) -> None:
        modes = self.session.available_modes()
        for m in VIEW_MODES:
            a = self.action_registry[f"view_{m}"]
            a.blockSignals(True)
            a.setEnabled(m in modes)
            a.setChecked(m == mode)
            a.blockSignals(False)

    # ---- settings and shutdown -----------------------------------------------------------------
    def _add_layout_menu(self) -> None:
        reg = self.action_registry
        a = reg.register("thumbnails", "Timeline &thumbnails", menu="view", checkable=True,
                         tooltip="Small pictures above the timeline, decoded in the background "
                                 "at the lowest priority while you are not scrubbing")
        a.toggled.connect(self.set_thumbnails_enabled)
        a.setChecked(self.settings.value("view/thumbnails", False, bool))
        reg.menu("panels", "Pa&nels", parent="view")
        for dock in window_layout.docks(self).values():
            reg.add("panels", dock.toggleViewAction())
        reg.add("view", reg["resetLayout"])

    def set_thumbnails_enabled(self, on: bool) -> None:
        self.thumbnails.set_enabled(on)
        self.settings.setValue("view/thumbnails", bool(on))

    def reset_layout(self) -> None:
        window_layout.reset(self)
        self.activateWindow()      # a panel that floated may have been the active window
        self.viewer.setFocus(Qt.FocusReason.OtherFocusReason)

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        if not ev.spontaneous():
            self.viewer.setFocus(Qt.FocusReason.OtherFocusReason)

    def _restore_settings(self) -> None:
        window_layout.restore(self, self.settings)
        mode = self.settings.value("view/mode", "", str)
        if mode in VIEW_MODES:
            self.session.set_view_mode(mode)
        size = self.settings.value("model/workSize", 0, int)
        if size:
            self.session.set_work_size(size)
        # chroma cache cap per film and model, in MB (0: the BENTOCOLOR_CHROMA_CACHE_MB
        # environment variable or 8 GiB); least recently used frames are evicted past it
        from ..core.ml.chroma_cache import set_default_limit
        limit_mb = self.settings.value("cache/chromaLimitMB", 0, int)
        set_default_limit(limit_mb * 2 ** 20 if limit_mb and limit_mb > 0 else None)
        proxies = self.settings.value("view/proxies", True, bool)
        self.pipeline.set_proxies_enabled(proxies)
        self.action_registry["proxies"].setChecked(proxies)
        self.session.workSizeChanged.connect(lambda v: self.settings.setValue("model/workSize", v))
        self.session.viewModeChanged.connect(lambda m: self.settings.setValue("view/mode", m))

    def set_proxies_enabled(self, enabled: bool) -> None:
        self.pipeline.set_proxies_enabled(enabled)
        self.settings.setValue("view/proxies", bool(enabled))

    def closeEvent(self, ev) -> None:
        self.shutdown()
        super().closeEvent(ev)

    def shutdown(self) -> bool:
        """Stop playback and the workers (waits for a running batch to finish)."""
        if self._closed:
            return True
        self._closed = True
        self.player.stop()
        if getattr(self, "adapt_dialog", None) is not None:
            self.adapt_dialog.shutdown()      # cancels a "Learn this film" run and waits for it
        self.audio.shutdown()
        self.thumbnails.shutdown()
        window_layout.save(self, self.settings)
        self.settings.sync()
        ok = self.temporal.shutdown() if getattr(self, "temporal", None) else True
        ok = (self.hints.shutdown() if getattr(self, "hints", None) else True) and ok
        return self.pipeline.shutdown() and ok


def _exists(path: str) -> bool:
    # A printf pattern (shot_%04d.png) exists when its folder does; the reader checks the frames.
    if "%" in os.path.basename(path):
        return os.path.isdir(os.path.dirname(path) or ".")
    return os.path.exists(path)
