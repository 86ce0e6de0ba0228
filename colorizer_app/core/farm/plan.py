"""What a render farm run does, decided before any machine works: films, chunks, chunk names.

Qt-free and Ray-free (core.farm.runner runs the plan on Ray).

- A film (or a project of one) is cut into chunks of about ``chunk_seconds`` each, at a shot
  boundary when one lies within half a chunk of the ideal end, so most chunks hold whole shots.
- A chunk carries no overlap in its file: core.pipeline.render decodes the deflicker window beyond the
  chunk's ends and walks keyframe chains itself, so chunk k renders exactly the frames the
  whole-film render gives (see core.temporal.render_stage).
- A chunk's file name hashes everything its pixels depend on: the film's identity (size, frame
  geometry, head and tail bytes), the model file's bytes, the working size, the temporal
  settings (cuts, keyframe stills' bytes, deflicker), the project file's bytes and its mask
  files, the bit depth and the range. A rerun finds the finished chunks under the same names
  and skips them; anything changed gives new names, so a stale chunk is never joined.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..temporal.settings import TemporalSettings

if TYPE_CHECKING:
    from ..media import MediaInfo

FORMAT = 1                         # bump when chunk contents change for the same inputs
VIDEO_EXTS = {".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mxf"}
PROJECT_SUFFIX = ".bento.json"
_HEAD = 4 << 20                    # bytes of a film's head and tail in its identity


class FarmError(Exception):
    """One user-facing line."""


class FarmCancelled(Exception):
    """The cancel event was set; finished chunks are kept for the next run."""


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int
    stop: int                      # half-open
    path: str                      # the finished chunk file (FFV1 .mkv, lossless)

    @property
    def label(self) -> str:
        return f"chunk {self.index + 1} (frames {self.start}-{self.stop - 1})"


@dataclass
class FilmPlan:
    """One film of a farm run: everything a worker needs travels in ``spec``."""
    input: str                     # the film or project named on the command line
    source: str                    # the film itself
    out: str
    frame_count: int
    fps: object
    key: str                       # hash of the film's inputs (not the range)
    workdir: str                   # shared folder of finished chunks
    chunks: list[Chunk] = field(default_factory=list)
    spec: dict[str, Any] = field(default_factory=dict)
    bit_depth: int = 8
    lost_frames: int = 0           # a truncated film: frames promised but not decodable
    start: int = 0                 # the range rendered (a project's in/out), half-open
    stop: int = 0

    @property
    def frames(self) -> int:
        return self.stop - self.start

    def done(self) -> list[Chunk]:
        return [c for c in self.chunks if os.path.isfile(c.path)]

    def todo(self) -> list[Chunk]:
        return [c for c in self.chunks if not os.path.isfile(c.path)]


# ------------------------------------------------------------------------------- chunking
def plan_chunks(n_frames: int, fps: float, chunk_seconds: float,
                cuts: Sequence[int] = ()) -> list[tuple[int, int]]:
    """Half-open ranges covering 0..n_frames; each ends at a cut near its ideal end if any."""
    length = max(1, int(round(chunk_seconds * float(fps))))
    cuts = sorted(int(c) for c in cuts if 0 < int(c) < n_frames)
    ranges, start = [], 0
    while start < n_frames:
        ideal = start + length
        if n_frames - ideal < length // 2:       # a short tail joins this chunk
            ranges.append((start, n_frames))
            break
        near = [c for c in cuts if start + length // 2 <= c <= ideal + length // 2]
        end = min(near, key=lambda c: (abs(c - ideal), c)) if near else ideal
        ranges.append((start, end))
        start = end
    return ranges


# ------------------------------------------------------------------------------- identity
def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_hash(path: str) -> str:
    """Content hash of a whole (small) file: model weights, stills, masks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def film_identity(path: str, info: MediaInfo) -> str:
    """A film's identity without reading it all: size, geometry, head and tail bytes (a film
    file is never edited in place; any re-encode changes these). Sequences: names and sizes."""
    h = hashlib.sha256(f"{info.frame_count}:{info.width}x{info.height}:{info.fps}".encode())
    p = Path(path)
    if p.is_file():
        size = p.stat().st_size
        h.update(str(size).encode())
        with open(p, "rb") as f:
            h.update(f.read(_HEAD))
            if size > 2 * _HEAD:
                f.seek(size - _HEAD)
                h.update(f.read(_HEAD))
    else:
        from ..media.sequence import list_sequence
        files, numbers = list_sequence(str(p))
        for fp, k in zip(files, numbers):
            h.update(f"{Path(fp).name}:{k}:{os.path.getsize(fp)}".encode())
    return h.hexdigest()


def project_identity(project_path: str) -> str:
    """The project file's bytes and its sidecar's mask files (names and bytes)."""
    from ..project.project_io import sidecar_for
    h = hashlib.sha256(Path(project_path).read_bytes())
    side = sidecar_for(Path(project_path))
    for sub in ("masks", "tracks"):
        d = side / sub
        if d.is_dir():
            for f in sorted(d.rglob("*")):
                if f.is_file():
                    h.update(f"{f.relative_to(side)}:{file_hash(str(f))}".encode())
    return h.hexdigest()


# ------------------------------------------------------------------------------- inputs
def is_project(path: str) -> bool:
    return str(path).endswith(PROJECT_SUFFIX)


def expand_inputs(inputs: Sequence[str]) -> tuple[list[str], bool]:
    """(films/projects, library?) from the command line: several inputs, or a folder holding
    films or projects, make a library; a folder of images is one film (a sequence)."""
    films: list[str] = []
    library = len(inputs) > 1
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            inside = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith(".")
                            and (f.suffix.lower() in VIDEO_EXTS or is_project(f.name)))
            if inside:
                library = True
                films.extend(str(f) for f in inside)
                continue
        elif not p.exists() and "%" not in item and "#" not in item:
            raise FarmError(f"{item}: no such file or folder")
        films.append(item)
    return films, library


def library_output(film: str, out_dir: str, ext: str) -> str:
    name = Path(film).name
    stem = name[: -len(PROJECT_SUFFIX)] if is_project(name) else Path(name).stem
    if is_project(name) and Path(stem).suffix.lower() in VIDEO_EXTS:
        stem = Path(stem).stem                          # "reel.mp4.bento.json" -> "reel"
    return str(Path(out_dir) / f"{stem}{ext}")


@dataclass(frozen=True)
class FarmSettings:
    model: str | None = None          # .keras path; None = the project's, else the shipped one
    size: int | None = None           # None = the project's, else 256
    deflicker: float | None = None
    refs: str | None = None           # folder of ref_NNNNNN.png stills
    hints: str | None = None          # folder of hint_NNNNNN.png (colorized here -> stills)
    chunk_seconds: float = 60.0
    bit_depth: int | None = None      # None = by the output's extension


def plan_film(film: str, out: str, settings: FarmSettings,
              log: Callable[[str], None] = lambda m: None) -> FilmPlan:
    """Open and check one input, decide its temporal settings and cuts once (not per chunk),
    and name its chunks. Raises FarmError with one line."""
    from ..media import MediaError, open_media
    from ..ml.inference import DEFAULT_SIZE
    from ..ml.model import DEFAULT_MODEL
    from ..pipeline.render import default_bit_depth
    from ..project.hint_keys import HintsError
    from ..temporal.film import RefsError, detect_film_cuts, scan_refs

    project_path, model, size, temporal = None, settings.model, settings.size, None
    target = Path(out)
    workdir = str(target.parent / f".{target.name}.farm")
    try:
        if is_project(film):
            from ..project.project import ProjectError, open_project
            try:
                project = open_project(Path(film))
            except ProjectError as exc:
                raise FarmError(str(exc)) from None
            if project.source_missing:
                raise FarmError(f"{film}: its film '{project.source_path}' was not found")
            project_path, source = str(Path(film).resolve()), project.source_path
            model = model or project.model_path
            size = size or project.working_size
            temporal = TemporalSettings.from_project(project)
            in_out = project.frame_range
        else:
            source = film
            temporal = TemporalSettings()
            in_out = None
        model = str(model or DEFAULT_MODEL)
        if not os.path.isfile(model):
            raise FarmError(f"{model}: no such model file")
        size = int(size or DEFAULT_SIZE)
        if size < 64 or size % 64:
            raise FarmError(f"--size must be a positive multiple of 64, got {size}")
        refs_dir = settings.refs
        if settings.hints is not None:
            refs_dir = _hint_stills(source, settings, model, size, workdir, log)
        refs = scan_refs(refs_dir, log) if refs_dir is not None else None
        temporal = temporal.merged(settings.deflicker, refs)
        with open_media(source) as reader:
            info = reader.info
        # a project renders its in/out range, as `colorizer render` does
        start, stop = in_out(info.frame_count) if in_out is not None else (0, info.frame_count)
        if temporal.active and temporal.cuts is None:
            # once here, not once per chunk: every worker gets the same cuts
            log(f"{film}: finding the shots")
            temporal = replace(temporal, cuts=tuple(detect_film_cuts(source, log)))
    except (MediaError, RefsError, HintsError, ValueError) as exc:
        raise FarmError(_line(exc)) from None
    depth = settings.bit_depth or default_bit_depth(out)
    key_doc = {
        "format": FORMAT, "film": film_identity(source, info), "model": file_hash(model),
        "size": size, "depth": depth,
        "project": project_identity(project_path) if project_path else None,
        "deflicker": temporal.deflicker,
        "cuts": None if temporal.cuts is None else list(temporal.cuts),
        "keys": {str(k): file_hash(p) for k, p in sorted(temporal.keyframes.items())
                 if os.path.isfile(p)},
    }
    key = _sha(json.dumps(key_doc, sort_keys=True).encode())[:20]
    cuts = temporal.cuts or ()
    if not cuts and project_path is None:
        log(f"{film}: no shot list (no temporal settings): chunks of {settings.chunk_seconds:g} s")
    chunks = []
    for k, (a, b) in enumerate(plan_chunks(stop - start, float(info.fps), settings.chunk_seconds,
                                           [c - start for c in cuts])):
        a, b = a + start, b + start
        name = _sha(f"{key}:{a}:{b}".encode())[:16]
        chunks.append(Chunk(k, a, b, os.path.join(workdir, f"c{a:08d}-{b:08d}-{name}.mkv")))
    spec = {"source": os.path.abspath(source) if os.path.exists(source) else source,
            "project": project_path, "model": os.path.abspath(model), "size": size,
            "temporal": temporal, "bit_depth": depth}
    return FilmPlan(film, source, str(out), info.frame_count, info.fps, key, workdir, chunks,
                    spec, depth, info.lost_frames, start, stop)


def _hint_stills(source: str, settings: FarmSettings, model: str, size: int, workdir: str,
                 log: Callable[[str], None]) -> str:
    """The artist's hinted frames, colorized with their hints here (once, not per chunk), as
    reference stills in the shared work folder: every chunk reads the same keyframes."""
    import shutil

    from ..ml.inference import Colorizer
    from ..ml.model import ModelError
    from ..project.hint_keys import hint_refs
    try:
        colorizer = Colorizer(model, size=size, batch_size=1)
    except ModelError as exc:
        raise FarmError(str(exc)) from None
    assert settings.hints is not None  # (only called for settings with hints)
    tmp = hint_refs(source, settings.hints, colorizer, refs_dir=settings.refs, log=log)
    folder = os.path.join(workdir, "refs")
    os.makedirs(folder, exist_ok=True)
    for name in sorted(os.listdir(tmp.name)):
        part = os.path.join(folder, f".{name}.partial")
        shutil.copyfile(os.path.join(tmp.name, name), part)
        os.replace(part, os.path.join(folder, name))
    tmp.cleanup()
    return folder


def _line(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text.splitlines()[0]
