"""File plumbing for projects: atomic writes, reading/validating the JSON, path entries, the
per-user autosave folder. Kept apart from project.py so the data model stays readable."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

# Deeper nesting than any section we write: deepcopy and json.dumps recurse (RecursionError on
# save), so a deeper document is refused at load, never half-used.
MAX_DEPTH = 64


PROJECT_SUFFIX = ".bento.json"
AUTOSAVE_SUFFIX = ".autosave.json"


class ProjectError(Exception):
    """One clear user-facing line naming the project file."""


class ProjectChangedOnDisk(ProjectError):
    """The project file changed on disk since it was opened or saved (another instance saved
    it): saving now would silently drop that work. Project.save(force=True) overwrites."""


def stem(path: Path) -> str:
    name = path.name
    for suffix in (AUTOSAVE_SUFFIX, PROJECT_SUFFIX, ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def sidecar_for(path: Path) -> Path:
    return path.with_name(stem(path) + ".bento")


def autosave_path_for(path: Path) -> Path:
    return path.with_name(stem(path) + AUTOSAVE_SUFFIX)



def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """What "changed on disk" means: (inode, mtime in ns, size); None when there is no file.
    Every atomic save makes a new inode, so even a save within one mtime tick is seen."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


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


def remove_stale_temps(folder: Path, prefix: str = ".") -> int:
    """Delete temp files of atomic_write_bytes (``.<name>.<pid>.tmp``) left in folder by a
    process that was killed mid-write; never those of a process still running."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for e in entries:
        parts = e.name.rsplit(".", 2)
        if not (e.name.startswith(prefix) and len(parts) == 3 and parts[2] == "tmp"
                and parts[1].isdigit()) or _alive(int(parts[1])):
            continue
        try:
            os.unlink(e.path)
            removed += 1
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        return True                  # no cheap check: keep it (a hidden file, never read)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


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


def path_entry(target: str, base: Path) -> dict[str, Any]:
    """{"relative": ..., "absolute": ...}; relative is None across Windows drives."""
    absolute = os.path.abspath(target)
    try:
        rel: str | None = Path(os.path.relpath(absolute, base)).as_posix()
    except ValueError:
        rel = None
    return {"relative": rel, "absolute": absolute}


def resolve_path_entry(entry: dict[str, Any], base: Path) -> tuple[str, bool]:
    """Relative first (the project and film moved together), then absolute, then the same name
    in the project's folder. Pops the two keys
    so what is left in entry are unknown keys to keep. Returns (path, missing)."""
    from ..schema import as_path_text
    rel = as_path_text(entry.pop("relative", None), "relative path")
    absolute = as_path_text(entry.pop("absolute", None), "absolute path")
    if rel is None and absolute is None:
        raise ValueError("path has neither 'relative' nor 'absolute'")
    if rel is not None:
        cand = os.path.normpath(os.path.join(base, rel))
        if os.path.exists(cand) or "%" in cand:
            return cand, False
    if absolute is not None and os.path.exists(absolute):
        return absolute, False
    # the film moved into the project's own folder (a project handed over with its film)
    name = os.path.basename((absolute or rel or "").rstrip("/\\"))
    if name and "%" not in name and os.path.exists(os.path.join(base, name)):
        return os.path.join(base, name), False
    # Neither exists: keep what we knew so the GUI can offer to relocate the film.
    # (rel is set when absolute is not: checked above)
    fallback = absolute if absolute is not None else os.path.normpath(os.path.join(base, rel or ""))
    return fallback, "%" not in fallback


class _NotFinite(str):
    """Where the text held NaN, Infinity or a number that overflows to inf (1e999): kept as
    a marker until the walk below can say which field it was."""


def _finite_float(text: str) -> float | _NotFinite:
    v = float(text)
    return v if math.isfinite(v) else _NotFinite(text)


def _check_tree(doc: Any) -> None:
    """Refuse non-finite numbers (they load, then make every save fail), text UTF-8 cannot hold
    (a lone surrogate "\\ud800": the same) and nesting deeper than MAX_DEPTH (deepcopy and
    json.dumps recurse). Iterative: recursion would overflow on what it must refuse."""
    todo = [(doc, 1, "")]
    while todo:
        v, d, where = todo.pop()
        if isinstance(v, _NotFinite):
            raise ValueError(f"{where or 'the document'} is {v[:20]}, not a number a project "
                             f"may hold")
        if isinstance(v, (dict, list)):
            if d > MAX_DEPTH:
                raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
            items = v.items() if isinstance(v, dict) else enumerate(v)
            for k, x in items:
                if isinstance(k, str):
                    k.encode("utf-8")
                todo.append((x, d + 1, f"{where}.{k}" if isinstance(k, str) and where else
                             (k if isinstance(k, str) else f"{where}[{k}]")))
        elif isinstance(v, str):
            v.encode("utf-8")          # UnicodeEncodeError is a ValueError


def loads_json(raw: bytes) -> Any:
    """Strict JSON for project and autosave files (see _check_tree). Raises ValueError only
    (UnicodeDecodeError and a RecursionError of the parser included)."""
    try:
        doc = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw,
                         parse_float=_finite_float, parse_constant=_NotFinite)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    _check_tree(doc)
    return doc


def read_project_json(path: Path, max_version: int, purpose: str = "open") -> dict[str, Any]:
    """Parse and check the envelope. Never modifies the file."""
    verb = "open" if purpose == "open" else "overwrite"
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ProjectError(f"Cannot {verb} project '{path}': no such file") from None
    except OSError as exc:
        raise ProjectError(f"Cannot {verb} project '{path}': {exc.strerror}") from None
    try:
        doc = loads_json(raw)
    except ValueError as exc:
        raise ProjectError(f"Cannot {verb} project '{path}': the file is damaged or not a "
                           f"BentoColor project ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(doc, dict) or type(doc.get("format_version")) is not int:
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
