"""Project file: versioned JSON plus a sidecar folder, atomic saves, autosave and recovery.

    reel1.bento.json          the project (JSON, integer "format_version")
    reel1.bento/masks/        correction masks, one compressed .npz per mask, content-addressed
    reel1.bento/chroma/       chroma cache (core.ml.chroma_cache; ``ChromaCache(project.data_dir, ..)``)
    reel1.autosave.json       newer unsaved state, when there is some (see find_recovery)

Why content-addressed mask files (``<id>.<hash>.npz``): a save writes the new masks first, then
atomically replaces the JSON that names them, then deletes files no longer named. A crash at any
point leaves a JSON whose masks all exist. Unchanged masks are not rewritten.

The default project for ``film.mp4`` is ``film.mp4.bento.json``, so its sidecar is the same
``film.mp4.bento/`` folder that chroma_cache.project_dir_for(film) uses before any save.

Tracked masks (core.corrections.tracking: an "until the next cut" correction carried along its shot by
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
from typing import Any

from .. import schema as ps
from ..corrections.masks import SparseMask
from ..corrections.stack import Correction, CorrectionStack
from ..temporal.settings import TemporalSettings
from .hint_project import HintStore
from .project_io import (
    AUTOSAVE_SUFFIX,
    PROJECT_SUFFIX,
    ProjectChangedOnDisk,
    ProjectError,
    atomic_write_bytes,
    autosave_dir,
    autosave_path_for,
    file_stamp,
    loads_json,
    path_entry,
    read_project_json,
    remove_stale_temps,
    resolve_path_entry,
    sidecar_for,
)
from .recovery import Recovery, find_recovery, remove_autosave

FORMAT_VERSION = 2          # 2: colour hints ("hints"); format 1 projects open unchanged
_MASK_RE = re.compile(r"^[0-9a-f]{32}\.[0-9a-f]{20}(\.track)?\.npz$")
_MASK_REF_RE = re.compile(r"^masks/(?!\.\.?$)[^/\\]+$")

__all__ = ["Project", "ProjectError", "ProjectChangedOnDisk", "Recovery", "open_project",
           "find_recovery", "default_project_path", "FORMAT_VERSION", "PROJECT_SUFFIX"]


def default_project_path(source: str) -> Path:
    """film.mp4 -> film.mp4.bento.json beside it (image-sequence folder: folder.bento.json)."""
    p = Path(os.path.abspath(source))
    name = re.sub(r"%0?(\d*)d", lambda m: "#" * max(1, int(m.group(1) or 1)), p.name)
    return p.with_name(name + PROJECT_SUFFIX)


# ------------------------------------------------------------------------------------------
@dataclass
class Project:
    source_path: str                               # absolute, as resolved on open
    frame_size: tuple[int, int]                    # (width, height) of the source
    path: Path | None = None                    # None until first saved
    model_path: str | None = None
    working_size: int = 256
    in_point: int = 0
    out_point: int | None = None                # inclusive; None = last frame
    corrections: CorrectionStack = None            # type: ignore[assignment]  # made in __post_init__
    temporal: dict[str, Any] = field(default_factory=dict)   # open: shots, keyframes, cuts
    view: dict[str, Any] = field(default_factory=dict)       # open: zoom, frame, compare mode
    hints: HintStore = None                        # type: ignore[assignment]  # colour hints; made in __post_init__
    extra: dict[str, Any] = field(default_factory=dict)      # unknown top-level keys
    source_missing: bool = False
    recovered_from: Path | None = None          # set when opened from an autosave
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.frame_size = (int(self.frame_size[0]), int(self.frame_size[1]))
        if self.corrections is None:
            self.corrections = CorrectionStack((self.frame_size[1], self.frame_size[0]))
        if self.hints is None:
            self.hints = HintStore()
        self._extra_source: dict[str, Any] = {}
        self._extra_model: dict[str, Any] = {}
        self._extra_range: dict[str, Any] = {}
        self._session = uuid.uuid4().hex[:12]       # names an untitled project's autosave
        self._hashes: dict[tuple[Any, ...], str] = {}         # (mask uid, rev) -> content hash
        self._new_hashes: dict[tuple[Any, ...], str] = {}
        self._saved_version = self.corrections.version
        self._touched = False
        self._disk_stamp: tuple[int, int, int] | None = None  # file_stamp(path) when opened/saved here
        self._own_autosaves: set[Path] = set()            # autosave files this session wrote

    # ----- construction -------------------------------------------------------------------
    @classmethod
    def new(cls, source_path: str, frame_size: tuple[int, int] | None = None,
            **kw: Any) -> Project:
        """A project for a film; frame_size (w, h) is read from the film when not given."""
        source_path = os.path.abspath(source_path)
        if frame_size is None:
            from ..media import open_media
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
        from ..ml.chroma_cache import project_dir_for
        return project_dir_for(self.source_path, create=False)

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def autosave_path(self) -> Path:
        if self.path is not None:
            return autosave_path_for(self.path)
        return autosave_dir() / f"untitled-{self._session}{AUTOSAVE_SUFFIX}"

    def temporal_settings(self, strict: bool = False) -> TemporalSettings:
        """The temporal section, typed (core.temporal.settings): lenient (what cannot be read
        is the default and named in .problems), or strict (ValueError) for a render."""
        return TemporalSettings.from_dict(self.temporal, strict=strict)

    def set_temporal_settings(self, settings: TemporalSettings) -> None:
        """Store the settings in the temporal section (keys it does not own are kept)."""
        if not isinstance(self.temporal, dict):
            self.temporal = {}
        self.temporal.update(settings.to_dict())

    def shot_of(self) -> list[int] | None:
        """For CorrectionStack.composite: the cuts from the temporal section, if any (an open
        section: values that are no frame numbers are ignored, never an error)."""
        cuts = self.temporal_settings().cuts
        return None if cuts is None else list(cuts)

    def frame_range(self, frame_count: int) -> tuple[int, int]:
        """(start, stop) half-open from in/out, clipped to the film."""
        stop = frame_count if self.out_point is None else min(self.out_point + 1, frame_count)
        return max(0, min(self.in_point, stop)), stop

    # ----- serialisation ------------------------------------------------------------------
    def to_json(self, path: Path, masks_dir: Path) -> dict[str, Any]:
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
            key = c.track_key                   # (not None when tracked_current())
            if c.tracking and c.tracked and key is not None and c.tracked_current():
                d["tracked"] = {"key": list(key), "file": self._write_tracked(c, masks_dir)}
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
            "hints": self.hints.to_doc(),
        })
        return doc

    def _write_mask(self, c: Correction, key: int | None, mask: SparseMask, masks_dir: Path) -> str:
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
        from ..corrections.tracking import tracked_hash, tracked_to_bytes
        hkey = ("tracked", c.id, c.tracked_rev, c.track_key)
        h = self._hashes.get(hkey) or tracked_hash(c)
        self._new_hashes[hkey] = h
        name = f"{_safe_id(c.id)}.{h}.track.npz"
        target = masks_dir / name
        if not target.exists():
            masks_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, tracked_to_bytes(c))
        return f"masks/{name}"

    def _read_tracked(self, root: Path, ref: Any, c: Correction) -> None:
        """Tracked masks are derived: a missing, damaged or foreign file is ignored (tracked
        again when needed), never a warning."""
        from ..corrections.tracking import tracked_from_bytes
        try:
            key = tuple(ref["key"])
            name = str(ref["file"])
            if not _MASK_REF_RE.match(name):
                return
            got_key, masks = tracked_from_bytes((root / name).read_bytes())
            if got_key != key or any(m.shape != c.shape for m in masks.values()):
                return
        except Exception:   # noqa: BLE001 (derived data: any damage means "track again")
            return
        c.tracked, c.track_key = masks, key
        self._hashes[("tracked", c.id, c.tracked_rev, key)] = name.split(".")[1]

    @classmethod
    def from_json(cls, doc: dict[str, Any], path: Path, load_masks: bool = True) -> Project:
        """Build a project from a parsed document read from ``path``. Every value is checked
        (core.schema): whatever is wrong, only ProjectError escapes, and whatever loads
        can be saved again. A damaged mask file costs that mask only (see warnings)."""
        try:
            p = cls._from_doc(dict(doc), path, load_masks)
        except ProjectError:
            raise
        except RecursionError:
            raise ProjectError(f"Cannot open project '{path}': the file is damaged "
                               f"(nested too deeply)") from None
        except Exception as exc:    # noqa: BLE001 (any bad value: one line, never a traceback)
            detail = f"{exc}" if isinstance(exc, ValueError) else \
                f"bad or missing field: {type(exc).__name__} {exc}"
            raise ProjectError(f"Cannot open project '{path}': the file is damaged "
                               f"({detail[:200]})") from None
        p._saved_version = p.corrections.version
        return p

    @classmethod
    def _from_doc(cls, d: dict[str, Any], path: Path, load_masks: bool) -> Project:
        for k in ("format_version", "app", "saved_at", "autosave_of", "autosaved_at"):
            d.pop(k, None)
        source = ps.as_dict(d.pop("source"), "source")
        src_abs, missing = resolve_path_entry(source, path.parent)
        w, h = (ps.as_int(v, "frame_size", 1, ps.MAX_SIDE)
                for v in ps.as_list(d.pop("frame_size"), "frame_size", 2))
        model = d.pop("model", None)
        model_abs = None
        if model is not None:
            model = ps.as_dict(model, "model")
            model_abs, _ = resolve_path_entry(model, path.parent)
        rng = ps.as_dict(d.pop("range", {}), "range", none_ok=True)
        in_point = ps.as_int(rng.pop("in", 0), "in point")
        out_point = ps.as_opt_int(rng.pop("out", None), "out point")
        p = cls(source_path=src_abs, frame_size=(w, h), model_path=model_abs,
                working_size=ps.as_int(d.pop("working_size", 256), "working_size", 16, 8192),
                in_point=in_point, out_point=out_point,
                temporal=ps.as_dict(d.pop("temporal", {}), "temporal", none_ok=True),
                view=ps.as_dict(d.pop("view", {}), "view", none_ok=True), source_missing=missing,
                hints=HintStore.from_doc(d.pop("hints", None), (w, h)))
        p._extra_source = source
        p._extra_model = model or {}
        p._extra_range = rng
        masks_root = sidecar_for(path)
        for cd in ps.as_list(d.pop("corrections", []), "corrections"):
            cd = ps.as_dict(cd, "correction")
            mask_ref = ps.as_path_text(cd.pop("mask", None), "mask")
            frame_refs = {ps.as_frame_key(f): ps.as_text(ref, "frame mask") for f, ref in
                          ps.as_dict(cd.pop("frame_masks", {}), "frame_masks", True).items()}
            tracked_ref = cd.pop("tracked", None)
            c = Correction.from_meta(cd, (h, w))
            if any(x.id == c.id for x in p.corrections):
                raise ValueError(f"two corrections have the id {c.id[:40]}")
            if load_masks:
                c.mask = p._read_mask(masks_root, mask_ref, c.name, (h, w))
                c.frame_masks = {f: p._read_mask(masks_root, ref, c.name, (h, w))
                                 for f, ref in frame_refs.items()}
                if tracked_ref is not None:
                    p._read_tracked(masks_root, tracked_ref, c)
            p.corrections.add(c)
        p.extra = d
        return p

    def _read_mask(self, root: Path, ref: str | None, name: str,
                   shape: tuple[int, int]) -> SparseMask:
        if ref is None:
            return SparseMask(shape)
        f = root / ref
        try:
            if not _MASK_REF_RE.match(ref):   # only files in our own masks/ folder are read
                raise ValueError(f"'{ref[:60]}' is not a mask file of this project")
            m = SparseMask.from_bytes(f.read_bytes())
            if m.shape != tuple(shape):
                raise ValueError(f"mask is {m.shape}, frames are {tuple(shape)}")
            return m
        except Exception as exc:    # noqa: BLE001 (from_bytes says ValueError; OSError, ...)
            # Losing one mask must not lose the whole project: open, empty it, and say so.
            self.warnings.append(f"mask of correction '{name}' could not be read ({f.name}: "
                                 f"{getattr(exc, 'strerror', None) or exc}); it is empty now")
            return SparseMask(shape)

    # ----- saving -------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str] | None = None, force: bool = False) -> Path:
        """Atomic save (to ``path``: Save As). Masks first, then the JSON, then cleanup.
        ProjectChangedOnDisk when the file changed since it was opened or last saved here (two
        instances on one project), unless ``force``."""
        target = Path(os.path.abspath(path if path is not None else self.path or
                                      default_project_path(self.source_path)))
        if not force and self._disk_stamp is not None and target == self.path:
            now = file_stamp(target)
            if now is not None and now != self._disk_stamp:
                raise ProjectChangedOnDisk(
                    f"'{target.name}' was changed on disk since it was opened here (saved by "
                    f"another BentoColor Studio?); saving would overwrite that work")
        _refuse_foreign(target)
        # Autosaves this state makes stale: our own, the one it was recovered from, and the
        # target's unless that holds work newer than the file (never offered: it stays).
        stale = set(self._own_autosaves)
        if self.recovered_from is not None:
            stale.add(self.recovered_from)
        theirs = autosave_path_for(target)
        if theirs not in stale and not find_recovery(target):
            stale.add(theirs)
        doc = self.to_json(target, sidecar_for(target) / "masks")
        atomic_write_bytes(target, _dumps(doc))
        self._disk_stamp = file_stamp(target)
        self.path = target
        self._saved_version = self.corrections.version
        self._touched = False
        self.recovered_from = None
        self._own_autosaves = set()
        for a in stale:   # an untitled session's autosave also owns its own sidecar
            remove_autosave(a, untitled=a.parent == autosave_dir() and a != self.autosave_path)
        _collect_garbage(sidecar_for(target) / "masks", doc, self.autosave_path)
        remove_stale_temps(target.parent, f".{target.name}.")    # of saves killed mid-write
        remove_stale_temps(sidecar_for(target) / "masks")
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
        self._own_autosaves.add(target)
        return target


# ------------------------------------------------------------------------------------------
def _safe_id(cid: str) -> str:
    # ids are uuid4 hex; anything else (hand-edited files) maps to a stable safe name
    return cid if re.fullmatch(r"[0-9a-f]{32}", cid) else uuid.uuid5(uuid.NAMESPACE_OID, cid).hex


def _dumps(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _refuse_foreign(target: Path) -> None:
    """Never write over a project we could not read (corrupt or from a newer version)."""
    if target.exists():
        doc = read_project_json(target, FORMAT_VERSION, purpose="overwrite")
        try:
            Project.from_json(doc, target, load_masks=False)
        except ProjectError as exc:
            raise ProjectError(str(exc).replace("Cannot open", "Will not overwrite", 1)) from None


def _collect_garbage(masks_dir: Path, doc: dict[str, Any], autosave: Path) -> None:
    """Delete mask files the saved JSON (or a remaining autosave) no longer names."""
    keep = set()
    docs = [doc]
    if autosave.exists():
        try:
            docs.append(loads_json(autosave.read_bytes()))
        except (OSError, ValueError):
            return  # unsure what an unreadable autosave needs: keep everything
    try:
        for dd in docs:
            for c in dd.get("corrections", []):
                keep.add(str(c.get("mask")))
                keep.update(str(v) for v in (c.get("frame_masks") or {}).values())
                tracked = c.get("tracked")
                if isinstance(tracked, dict):
                    keep.add(str(tracked.get("file")))
    except (AttributeError, TypeError, ValueError):
        return  # an autosave of an odd shape: keep everything
    if not masks_dir.is_dir():
        return
    for f in masks_dir.iterdir():
        if _MASK_RE.match(f.name) and f"masks/{f.name}" not in keep:
            try:
                f.unlink()
            except OSError:
                pass


def open_project(path: str | os.PathLike[str]) -> Project:
    """Open a project (or an autosave file: the project then points at the original path)."""
    path = Path(os.path.abspath(path))
    doc = read_project_json(path, FORMAT_VERSION)
    p = Project.from_json(doc, path)
    if path.name.endswith(AUTOSAVE_SUFFIX):
        original = doc.get("autosave_of")
        if isinstance(original, str) and original and "\x00" not in original:
            # a named project's autosave sits beside it: a moved folder recovers to the
            # project beside the autosave, not to the old path
            beside = path.with_name(Path(original).name)
            p.path = beside if autosave_path_for(beside) == path else Path(original)
        else:
            p.path = None
        p.recovered_from = path
        p._disk_stamp = None if p.path is None else file_stamp(p.path)
        m = re.match(r"^untitled-([0-9a-f]+)" + re.escape(AUTOSAVE_SUFFIX) + "$", path.name)
        if p.path is None and m:
            p._session = m.group(1)          # keep autosaving into the same untitled file
        p._touched = True                      # recovered state is unsaved until saved
    else:
        p.path = path
        p._disk_stamp = file_stamp(path)
    return p
