"""The recently opened films and projects: one list, kept in one QSettings key.

File ▸ Open recent shows its films, File ▸ Open recent project its projects (a path ending in
``.json``); each kind keeps its newest MAX_PER_KIND entries.  Settings written before the two
were one list kept the projects under ``projects/recent``: that key is read once, merged in and
removed.
"""
from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QMenu

KEY = "files/recent"
OLD_PROJECTS_KEY = "projects/recent"     # before one list: the recent projects (migrated once)
MAX_PER_KIND = 10
FILM, PROJECT = "film", "project"


def kind_of(path: str) -> str:
    return PROJECT if str(path).endswith(".json") else FILM


class RecentFiles(QObject):
    changed = Signal()

    def __init__(self, settings: QSettings, parent: QObject | None = None):
        super().__init__(parent)
        self._settings = settings
        if settings.contains(OLD_PROJECTS_KEY):
            old = [str(v) for v in (settings.value(OLD_PROJECTS_KEY, [], list) or []) if v]
            files = self.paths()
            self._store(files + [p for p in old if p not in files])
            settings.remove(OLD_PROJECTS_KEY)

    def paths(self, kind: str | None = None) -> list[str]:
        """Newest first; only films or only projects with `kind`."""
        value = self._settings.value(KEY, [], list)
        files = [str(v) for v in (value or []) if v]
        return files if kind is None else [p for p in files if kind_of(p) == kind]

    def add(self, path: str) -> None:
        path = str(path)
        self._store([path] + [p for p in self.paths() if p != path])
        self.changed.emit()

    def clear(self, kind: str | None = None) -> None:
        self._store([] if kind is None else [p for p in self.paths() if kind_of(p) != kind])
        self.changed.emit()

    def _store(self, files: list[str]) -> None:
        count = {FILM: 0, PROJECT: 0}
        kept = []
        for p in files:
            k = kind_of(p)
            if count[k] < MAX_PER_KIND:
                count[k] += 1
                kept.append(p)
        self._settings.setValue(KEY, kept)

    def fill_menu(self, menu: QMenu, kind: str, open_path: Callable[[str], None],
                  exists: Callable[[str], bool] = os.path.exists,
                  clearable: bool = False) -> None:
        """Rebuild `menu` with the entries of `kind` (a tooltip with the whole path; missing
        ones disabled); `clearable` adds "Clear list"."""
        menu.clear()
        files = self.paths(kind)
        for p in files:
            a = menu.addAction(os.path.basename(p.rstrip("/")) or p)
            a.setToolTip(p)
            a.setEnabled(exists(p))
            a.triggered.connect(lambda _=False, path=p: open_path(path))
        if not files:
            menu.addAction("(none)").setEnabled(False)
        elif clearable:
            menu.addSeparator()
            menu.addAction("Clear list", lambda: self.clear(kind))
