"""Crash recovery: which autosaves hold work newer than their saved project.

A named project's autosave sits beside it (``reel1.autosave.json``); an untitled session's lives
in the per-user folder (``untitled-<session>.autosave.json``) and names its film. The app offers
them on every path back to the work (opening the film, the project, a recent file, or at start
for untitled work); nothing here deletes an autosave except `Recovery.discard` (the artist said
no) and Project.save (the state is on disk).

Autosaves are user-reachable files like projects: every read here is tolerant (a damaged file
is still offered, dated by its mtime), and only the strict JSON reader is used.
"""
from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .project_io import AUTOSAVE_SUFFIX, autosave_dir, autosave_path_for, loads_json, sidecar_for

__all__ = ["Recovery", "find_recovery", "untitled_recoveries_for", "remove_autosave"]


@dataclass
class Recovery:
    """An autosave holding newer state than the saved project (or an untitled session's)."""
    autosave_path: Path
    project_path: Path | None     # None for an untitled project
    autosaved_at: float
    saved_at: float | None        # of the project file, if it exists and is readable
    source: str | None = None     # the film it was made on (absolute), when readable

    def discard(self) -> None:
        remove_autosave(self.autosave_path, untitled=self.project_path is None)


def remove_autosave(path: Path, untitled: bool) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    if untitled:  # an untitled session's masks live in its own sidecar: remove it too
        shutil.rmtree(sidecar_for(path), ignore_errors=True)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        doc = loads_json(path.read_bytes())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _time(doc: dict[str, Any] | None, key: str) -> float | None:
    v = None if doc is None else doc.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        v = float(v)
    except OverflowError:
        return None
    return v if math.isfinite(v) else None


def _source(doc: dict[str, Any] | None, base: Path) -> str | None:
    src = None if doc is None else doc.get("source")
    if not isinstance(src, dict):
        return None
    rel, absolute = src.get("relative"), src.get("absolute")
    if isinstance(rel, str) and "\x00" not in rel:
        cand = os.path.normpath(os.path.join(base, rel))
        if os.path.exists(cand) or not isinstance(absolute, str):
            return cand
    return absolute if isinstance(absolute, str) and "\x00" not in absolute else None


def find_recovery(project_path: str | os.PathLike[str] | None = None) -> list[Recovery]:
    """Autosaves newer than their saved project. With a path: that project's (0 or 1); without:
    every untitled session's autosave in the per-user folder (e.g. after a crash)."""
    found: list[Recovery] = []
    candidates: list[tuple[Path, Path | None]]
    if project_path is not None:
        p = Path(os.path.abspath(project_path))
        candidates = [(autosave_path_for(p), p)]
    else:
        d = autosave_dir()
        candidates = [(a, None) for a in sorted(d.glob(f"untitled-*{AUTOSAVE_SUFFIX}"))] \
            if d.is_dir() else []
    for a, pp in candidates:
        try:
            mtime = a.stat().st_mtime
        except OSError:
            continue
        doc = _read(a)
        auto_t = _time(doc, "autosaved_at")
        auto_t = mtime if auto_t is None else auto_t
        # an unreadable or undated project: the autosave is worth offering
        saved_t = _time(_read(pp), "saved_at") if pp is not None and pp.exists() else None
        if saved_t is None or auto_t > saved_t:
            found.append(Recovery(a, pp, auto_t, saved_t, _source(doc, a.parent)))
    return found


def untitled_recoveries_for(film: str) -> list[Recovery]:
    """Untitled sessions' autosaves made on this film, newest first."""
    def same(a: str | None) -> bool:
        try:
            return a is not None and os.path.samefile(a, film)
        except OSError:
            return a is not None and os.path.normpath(a) == os.path.normpath(film)
    return sorted((r for r in find_recovery() if same(r.source)),
                  key=lambda r: r.autosaved_at, reverse=True)
