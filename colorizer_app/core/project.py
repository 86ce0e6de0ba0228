"""Project file: versioned JSON plus a sidecar folder, atomic saves, autosave and recovery.

    reel1.bento.json          the project (JSON, integer "format_version")
    reel1.bento/masks/        correction masks, one compressed .npz per mask, content-addressed
    reel1.bento/chroma/       chroma cache (core.chroma_cache; ``ChromaCache(project.data_dir, ..)``)
    reel1.autosave.json       newer unsaved state, when there is some (see find_recovery)

Why content-addressed mask files (``<id>.<hash>.npz``): a save writes the new masks first, then
atomically replaces the JSON that names them, then deletes files no longer named. A crash at any
point leaves a JSON whose masks all exist. Unchanged masks are not rewritten.

The default project for ``film.mp4`` is ``film.mp4.bento.json``, so its sidecar is the same
``film.mp4.bento/`` folder that chroma_cache.project_dir_for(film) uses before any save.

Tracked masks (core.tracking: an "until the next cut" correction carried along its shot by
optical flow) are derived data but costly (two optical flows per frame, 0.1-0.15 s per frame
at 1080p on two cores, plus decoding): they are saved too, one ``<id>.<hash>.track.npz`` per
correction with the key they were computed from, so reopening a project or rendering it (a farm
node, the CLI) does not track again and renders exactly the masks the artist reviewed.  A stale
or unreadable file is simply ignored: the masks are tracked again.

Unknown keys are kept at every level we parse (top level, source, model, range, corrections and
their lifetimes); "temporal" and "view" are open sections owned by other modules and kept whole.
A corrupt file or one from a newer format raises ProjectError and is never written over.
"""

from __future__ import annotations

import copy
import json
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .corrections import Correction, CorrectionStack
from .masks import SparseMask
from .project_io import (ProjectError, atomic_write_bytes, autosave_dir, path_entry,
                         read_project_json, resolve_path_entry)

FORMAT_VERSION = 1
PROJECT_SUFFIX = ".bento.json"
AUTOSAVE_SUFFIX = ".autosave.json"
_MASK_RE = re.compile(r"^[0-9a-f]{32}\.[0-9a-f]{20}(\.track)?\.npz$")

__all__ = ["Project", "ProjectError", "Recovery", "open_project", "find_recovery",
           "default_project_path", "FORMAT_VERSION", "PROJECT_SUFFIX"]


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (AUTOSAVE_SUFFIX, PROJECT_SUFFIX, ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def sidecar_for(path: Path) -> Path:
    return path.with_name(_stem(path) + ".bento")


def autosave_path_for(path: Path) -> Path:
    return path.with_name(_stem(path) + AUTOSAVE_SUFFIX)


def default_project_path(source: str) -> Path:
    """film.mp4 -> film.mp4.bento.json beside it (image-sequence folder: folder.bento.json)."""
    p = Path(os.path.abspath(source))
    name = re.sub(r"%0?(\d*)d", lambda m: "#" * max(1, int(m.group(1) or 1)), p.name)
    return p.with_name(name + PROJECT_SUFFIX)


@dataclass
class Recovery:
    """An autosave holding newer state than the saved project (or an untitled session's)."""
    autosave_path: Path
    project_path: Optional[Path]     # None for an untitled project
    autosaved_at: float
    saved_at: Optional[float]        # of the project file, if it exists and is readable

    def discard(self) -> None:
        _remove_autosave(self.autosave_path, untitled=self.project_path is None)


# ------------------------------------------------------------------------------------------
@dataclass
class Project:
    source_path: str                               # absolute, as resolved on open
    frame_size: Tuple[int, int]                    # (width, height) of the source
    path: Optional[Path] = None                    # None until first saved
    model_path: Optional[str] = None
    working_size: int = 256
    in_point: int = 0
    out_point: Optional[int] = None                # inclusive; None = last frame
    corrections: CorrectionStack = None            # type: ignore[assignment]
    temporal: Dict[str, Any] = field(default_factory=dict)   # open: shots, keyframes, cuts
    view: Dict[str, Any] = field(default_factory=dict)       # open: zoom, frame, compare mode
    extra: Dict[str, Any] = field(default_factory=dict)      # unknown top-level keys
    source_missing: bool = False
    recovered_from: Optional[Path] = None          # set when opened from an autosave
    warnings: List[str] = field(default_factory=list)

    def __post_init__(self):
        self.frame_size = (int(self.frame_size[0]), int(self.frame_size[1]))
        if self.corrections is None:
            self.corrections = CorrectionStack((self.frame_size[1], self.frame_size[0]))
        self._extra_source: dict = {}
        self._extra_model: dict = {}
        self._extra_range: dict = {}
        self._session = uuid.uuid4().hex[:12]       # names an untitled project's autosave
        self._hashes: Dict[tuple, str] = {}         # (mask uid, rev) -> content hash
        self._new_hashes: Dict[tuple, str] = {}
        self._saved_version = self.corrections.version
        self._touched = False

    # ----- construction -------------------------------------------------------------------
    @classmethod
    def new(cls, source_path: str, frame_size: Optional[Tuple[int, int]] = None,
            **kw) -> "Project":
        """A project for a film; frame_size (w, h) is read from the film when not given."""
        source_path = os.path.abspath(source_path)
        if frame_size is None:
            from .media import open_media
            with open_media(source_path) as r:
                frame_size = (r.info.width, r.info.height)
        return cls(source_path=source_path, frame_size=frame_size, **kw)

    # ----- state --------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self._touched or self.corrections.version != self._saved_version

    def touch(self) -> None:
        """Mark changes to fields other than corrections (range, model, view...) as unsaved."""
        self._touched = True

    @property
    def data_dir(self) -> Path:
        """Sidecar folder: masks and the chroma cache (ChromaCache(project.data_dir, ...))."""
        if self.path is not None:
            return sidecar_for(self.path)
        from .chroma_cache import project_dir_for
        return project_dir_for(self.source_path, create=False)

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def autosave_path(self) -> Path:
        if self.path is not None:
            return autosave_path_for(self.path)
        return autosave_dir() / f"untitled-{self._session}{AUTOSAVE_SUFFIX}"

    def shot_of(self):
        """For CorrectionStack.composite: shots from the temporal section, if any."""
        shots = self.temporal.get("shots")
        if isinstance(shots, dict) and "cuts" in shots:
            return sorted(int(c) for c in shots["cuts"])
        cuts = self.temporal.get("cuts")
        return sorted(int(c) for c in cuts) if isinstance(cuts, list) else None

    def frame_range(self, frame_count: int) -> Tuple[int, int]:
        """(start, stop) half-open from in/out, clipped to the film."""
        stop = frame_count if self.out_point is None else min(self.out_point + 1, frame_count)
        return max(0, min(self.in_point, stop)), stop

    # ----- serialisation ------------------------------------------------------------------
    def to_json(self, path: Path, masks_dir: Path) -> dict:
        """The JSON document for saving at ``path``; writes any mask files it names."""
        base = path.parent
        doc = copy.deepcopy(self.extra)
        self._new_hashes = {}
        corrections = []
        for c in self.corrections:
            d = c.meta()
            d["mask"] = self._write_mask(c, None, c.mask, masks_dir)
            if c.frame_masks:
                d["frame_masks"] = {str(f): self._write_mask(c, f, m, masks_dir)
                                    for f, m in sorted(c.frame_masks.items())}
            else:
                d.pop("frame_masks", None)
            if c.tracking and c.tracked and c.tracked_current():
                d["tracked"] = {"key": list(c.track_key), "file": self._write_tracked(c, masks_dir)}
            else:
                d.pop("tracked", None)
            corrections.append(d)
        self._hashes = self._new_hashes      # only masks that still exist stay remembered
        source = dict(self._extra_source, **path_entry(self.source_path, base))
        model = None if self.model_path is None else dict(self._extra_model,
                                                          **path_entry(self.model_path, base))
        doc.update({
            "format_version": FORMAT_VERSION,
            "app": "BentoColor Studio",
            "saved_at": time.time(),
            "source": source,
            "frame_size": list(self.frame_size),
            "model": model,
            "working_size": int(self.working_size),
            "range": dict(self._extra_range, **{"in": int(self.in_point), "out": self.out_point}),
            "corrections": corrections,
            "temporal": copy.deepcopy(self.temporal),
            "view": copy.deepcopy(self.view),
        })
        return doc

    def _write_mask(self, c: Correction, key, mask: SparseMask, masks_dir: Path) -> str:
        hkey = (mask.uid, mask.rev)
        h = self._hashes.get(hkey) or mask.content_hash()
        self._new_hashes[hkey] = h
        name = f"{_safe_id(c.id)}.{h}.npz"
        target = masks_dir / name
        if not target.exists():
            masks_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, mask.to_bytes())
        return f"masks/{name}"

    def _write_tracked(self, c: Correction, masks_dir: Path) -> str:
        from .tracking import tracked_hash, tracked_to_bytes
        hkey = ("tracked", c.id, c.tracked_rev, c.track_key)
        h = self._hashes.get(hkey) or tracked_hash(c)
        self._new_hashes[hkey] = h
        name = f"{_safe_id(c.id)}.{h}.track.npz"
        target = masks_dir / name
        if not target.exists():
            masks_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, tracked_to_bytes(c))
        return f"masks/{name}"

    def _read_tracked(self, root: Path, ref, c: Correction) -> None:
        """Tracked masks are derived: a missing, damaged or foreign file is ignored (tracked
        again when needed), never a warning."""
        from .tracking import tracked_from_bytes
        try:
            key = tuple(ref["key"])
            name = str(ref["file"])
            got_key, masks = tracked_from_bytes((root / name).read_bytes())
            if got_key != key or any(m.shape != c.shape for m in masks.values()):
                return
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return
        c.tracked, c.track_key = masks, key
        self._hashes[("tracked", c.id, c.tracked_rev, key)] = name.split(".")[1]

    @classmethod
    def from_json(cls, doc: dict, path: Path, load_masks: bool = True) -> "Project":
        """Build a project from a parsed document read from ``path`` (ProjectError if bad)."""
        d = dict(doc)
        try:
            d.pop("format_version"); d.pop("app", None); d.pop("saved_at", None)
            d.pop("autosave_of", None); d.pop("autosaved_at", None)
            source = dict(d.pop("source"))
            src_abs, missing = resolve_path_entry(source, path.parent)
            w, h = (int(v) for v in d.pop("frame_size"))
            model = d.pop("model", None)
            model_abs = None
            if model is not None:
                model = dict(model)
                model_abs, _ = resolve_path_entry(model, path.parent)
            rng = dict(d.pop("range", {}))
            in_point = int(rng.pop("in", 0))
            out_point = rng.pop("out", None)
            p = cls(source_path=src_abs, frame_size=(w, h), model_path=model_abs,
                    working_size=int(d.pop("working_size", 256)), in_point=in_point,
                    out_point=None if out_point is None else int(out_point),
                    temporal=dict(d.pop("temporal", {}) or {}), view=dict(d.pop("view", {}) or {}),
                    source_missing=missing)
            p._extra_source = source
            p._extra_model = model or {}
            p._extra_range = rng
            masks_root = sidecar_for(path)
            for cd in d.pop("corrections", []):
                cd = dict(cd)
                mask_ref = cd.pop("mask", None)
                frame_refs = cd.pop("frame_masks", {}) or {}
                tracked_ref = cd.pop("tracked", None)
                c = Correction.from_meta(cd, (h, w))
                if load_masks:
                    c.mask = p._read_mask(masks_root, mask_ref, c.name, (h, w))
                    c.frame_masks = {int(f): p._read_mask(masks_root, ref, c.name, (h, w))
                                     for f, ref in frame_refs.items()}
                    if tracked_ref is not None:
                        p._read_tracked(masks_root, tracked_ref, c)
                p.corrections.add(c)
            p.extra = d
        except ProjectError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProjectError(f"Cannot open project '{path}': the file is damaged "
                               f"(bad or missing field: {exc})") from None
        p._saved_version = p.corrections.version
        return p

    def _read_mask(self, root: Path, ref: Optional[str], name: str, shape) -> SparseMask:
        if ref is None:
            return SparseMask(shape)
        f = root / ref
        try:
            m = SparseMask.from_bytes(f.read_bytes())
            if m.shape != tuple(shape):
                raise ValueError(f"mask is {m.shape}, frames are {tuple(shape)}")
            return m
        except (OSError, ValueError, KeyError) as exc:
            # Losing one mask must not lose the whole project: open, empty it, and say so.
            self.warnings.append(f"mask of correction '{name}' could not be read ({f.name}: "
                                 f"{getattr(exc, 'strerror', None) or exc}); it is empty now")
            return SparseMask(shape)

    # ----- saving -------------------------------------------------------------------------
    def save(self, path: Optional[os.PathLike] = None) -> Path:
        """Atomic save (to ``path``: Save As). Masks first, then the JSON, then cleanup."""
        target = Path(os.path.abspath(path if path is not None else self.path or
                                      default_project_path(self.source_path)))
        _refuse_foreign(target)
        doc = self.to_json(target, sidecar_for(target) / "masks")
        atomic_write_bytes(target, _dumps(doc))
        # The state is on disk now: autosaves of it (this session's, the one it was recovered
        # from) are stale. An untitled session's autosave also owns its own sidecar.
        stale = {self.autosave_path, autosave_path_for(target)}
        if self.recovered_from is not None:
            stale.add(self.recovered_from)
        self.path = target
        self._saved_version = self.corrections.version
        self._touched = False
        self.recovered_from = None
        for a in stale:
            _remove_autosave(a, untitled=a.parent == autosave_dir() and a != self.autosave_path)
        _collect_garbage(sidecar_for(target) / "masks", doc, self.autosave_path)
        return target

    def autosave(self) -> Path:
        """Write the current state to the autosave file (not the project). Cheap when idle:
        unchanged masks are not rewritten."""
        target = self.autosave_path
        target.parent.mkdir(parents=True, exist_ok=True)
        doc = self.to_json(target, sidecar_for(target) / "masks")
        doc["autosave_of"] = None if self.path is None else str(self.path)
        doc["autosaved_at"] = doc["saved_at"]
        atomic_write_bytes(target, _dumps(doc))
        return target


# ------------------------------------------------------------------------------------------
def _safe_id(cid: str) -> str:
    # ids are uuid4 hex; anything else (hand-edited files) maps to a stable safe name
    return cid if re.fullmatch(r"[0-9a-f]{32}", cid) else uuid.uuid5(uuid.NAMESPACE_OID, cid).hex


def _dumps(doc: dict) -> bytes:
    return json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _refuse_foreign(target: Path) -> None:
    """Never write over a project we could not read (corrupt or from a newer version)."""
    if target.exists():
        doc = read_project_json(target, FORMAT_VERSION, purpose="overwrite")
        try:
            Project.from_json(doc, target, load_masks=False)
        except ProjectError as exc:
            raise ProjectError(str(exc).replace("Cannot open", "Will not overwrite", 1)) from None


def _remove_autosave(path: Path, untitled: bool) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    if untitled:  # an untitled session's masks live in its own sidecar: remove it too
        import shutil
        shutil.rmtree(sidecar_for(path), ignore_errors=True)


def _collect_garbage(masks_dir: Path, doc: dict, autosave: Path) -> None:
    """Delete mask files the saved JSON (or a remaining autosave) no longer names."""
    keep = set()
    docs = [doc]
    if autosave.exists():
        try:
            docs.append(json.loads(autosave.read_text("utf-8")))
        except (OSError, ValueError):
            return  # unsure what an unreadable autosave needs: keep everything
    for dd in docs:
        for c in dd.get("corrections", []):
            keep.add(str(c.get("mask")))
            keep.update(str(v) for v in (c.get("frame_masks") or {}).values())
            tracked = c.get("tracked")
            if isinstance(tracked, dict):
                keep.add(str(tracked.get("file")))
    if not masks_dir.is_dir():
        return
    for f in masks_dir.iterdir():
        if _MASK_RE.match(f.name) and f"masks/{f.name}" not in keep:
            try:
                f.unlink()
            except OSError:
                pass


def open_project(path: os.PathLike) -> Project:
    """Open a project (or an autosave file: the project then points at the original path)."""
    path = Path(os.path.abspath(path))
    doc = read_project_json(path, FORMAT_VERSION)
    p = Project.from_json(doc, path)
    if path.name.endswith(AUTOSAVE_SUFFIX):
        original = doc.get("autosave_of")
        p.path = Path(original) if original else None
        p.recovered_from = path
        m = re.match(r"^untitled-([0-9a-f]+)" + re.escape(AUTOSAVE_SUFFIX) + "$", path.name)
        if p.path is None and m:
            p._session = m.group(1)          # keep autosaving into the same untitled file
        p._touched = True                      # recovered state is unsaved until saved
    else:
        p.path = path
    return p


def find_recovery(project_path: Optional[os.PathLike] = None) -> List[Recovery]:
    """Autosaves newer than their saved project. With a path: that project's (0 or 1); without:
    every untitled session's autosave in the per-user folder (e.g. after a crash)."""
    found: List[Recovery] = []
    if project_path is not None:
        pp = Path(os.path.abspath(project_path))
        candidates = [(autosave_path_for(pp), pp)]
    else:
        d = autosave_dir()
        candidates = [(a, None) for a in sorted(d.glob(f"untitled-*{AUTOSAVE_SUFFIX}"))] \
            if d.is_dir() else []
    for a, pp in candidates:
        if not a.exists():
            continue
        try:
            auto_t = float(json.loads(a.read_text("utf-8")).get("autosaved_at", 0.0))
        except (OSError, ValueError, AttributeError):
            auto_t = a.stat().st_mtime
        saved_t = None
        if pp is not None and pp.exists():
            try:
                saved_t = float(json.loads(pp.read_text("utf-8")).get("saved_at", 0.0))
            except (OSError, ValueError, AttributeError):
                saved_t = None     # unreadable project: the autosave is worth offering
        if saved_t is None or auto_t > saved_t:
            found.append(Recovery(a, pp, auto_t, saved_t))
    return found
