"""File plumbing for projects: atomic writes, reading/validating the JSON, path entries, the
per-user autosave folder. Kept apart from project.py so the data model stays readable."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional, Tuple


class ProjectError(Exception):
    """One clear user-facing line naming the project file."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temp file in the same folder + fsync + os.replace: the old file stays intact
    until the new one is complete on disk, whatever happens in between."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if hasattr(os, "O_DIRECTORY"):   # make the rename itself durable (POSIX)
        try:
            fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            pass


def autosave_dir() -> Path:
    """Per-user folder for untitled projects' autosaves (BENTOCOLOR_AUTOSAVE_DIR overrides)."""
    env = os.environ.get("BENTOCOLOR_AUTOSAVE_DIR")
    if env:
        return Path(env)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "BentoColor" / "autosave"


def path_entry(target: str, base: Path) -> dict:
    """{"relative": ..., "absolute": ...}; relative is None across Windows drives."""
    absolute = os.path.abspath(target)
    try:
        rel: Optional[str] = Path(os.path.relpath(absolute, base)).as_posix()
    except ValueError:
        rel = None
    return {"relative": rel, "absolute": absolute}


def resolve_path_entry(entry: dict, base: Path) -> Tuple[str, bool]:
    """Relative first (the project and film moved together), then absolute. Pops the two keys
    so what is left in entry are unknown keys to keep. Returns (path, missing)."""
    rel = entry.pop("relative", None)
    absolute = entry.pop("absolute", None)
    if rel is None and absolute is None:
        raise ValueError("path has neither 'relative' nor 'absolute'")
    if rel is not None:
        cand = os.path.normpath(os.path.join(base, rel))
        if os.path.exists(cand) or "%" in cand:
            return cand, False
    if absolute is not None and os.path.exists(absolute):
        return absolute, False
    # Neither exists: keep what we knew so the GUI can offer to relocate the film.
    fallback = absolute if absolute is not None else os.path.normpath(os.path.join(base, rel))
    return fallback, not ("%" in fallback)


def read_project_json(path: Path, max_version: int, purpose: str = "open") -> dict:
    """Parse and check the envelope. Never modifies the file."""
    verb = "open" if purpose == "open" else "overwrite"
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ProjectError(f"Cannot {verb} project '{path}': no such file") from None
    except OSError as exc:
        raise ProjectError(f"Cannot {verb} project '{path}': {exc.strerror}") from None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProjectError(f"Cannot {verb} project '{path}': the file is damaged or not a "
                           f"BentoColor project ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("format_version"), int):
        raise ProjectError(f"Cannot {verb} project '{path}': not a BentoColor project "
                           f"(no integer format_version)")
    v = doc["format_version"]
    if v > max_version:
        raise ProjectError(f"Cannot {verb} project '{path}': it was saved by a newer BentoColor "
                           f"Studio (project format {v}; this version reads up to {max_version}). "
                           f"Update the application to open it.")
    if v < 1:
        raise ProjectError(f"Cannot {verb} project '{path}': unknown project format {v}")
    return doc
