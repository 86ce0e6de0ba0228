"""Render a project: model chroma (or the chroma cache) + corrections + the film's own L -> file.

    decoder thread ──► model (this thread; cached frames skip it) ──► encoder thread
      frames, L          ab at working size, batched                 upsample, corrections,
                                                                      recombine, write
Bounded queues keep memory flat and let decode/inference/encode overlap; the model sets the pace.

Output formats, timing and audio are core.media.writer's: PNG (8/16-bit) / 16-bit TIFF sequences
numbered by *absolute* frame index, H.264 .mp4, ProRes .mov, FFV1 .mkv with the source audio
from the first rendered frame on. The file appears under its real name only when complete; a
cancel (threading.Event) or an error removes the temp output and raises.

Temporal settings (a project's cuts, keyframe stills and deflicker strength, ``RenderJob.temporal``)
run through core.temporal.render_stage on the encode thread: the same engine the review app
shows, so the export is what the artist reviewed, also when the film is rendered in ranges.

Render farm: render ranges with ``frames="A-B"`` into one image-sequence folder (or lossless
FFV1 .mkv parts); frame numbers are absolute, so the folder is the whole film once every range
is done. ``join_segments`` then encodes the sequence (or the ordered parts) into any deliverable
with the source audio and exact rate. Joining goes through decode + encode rather than packet
copy so it works for every output format and never depends on encoder state at chunk borders;
with PNG/TIFF/FFV1 parts nothing is lost before the final encode.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import color, compose
from ..corrections.edits import ShotOf
from ..corrections.stack import CorrectionStack
from ..media.fill import frame_ranges
from ..media.fingerprint import film_fingerprint  # also the GUI's: one cache for both
from ..temporal.settings import TemporalSettings
from .stages import END, Stages

if TYPE_CHECKING:
    from ..ml.inference import Colorizer
    from ..project.project import Project

Progress = Callable[[int, int], None]


class RenderError(Exception):
    """One clear user-facing line."""


class RenderCancelled(Exception):
    """The cancel flag was set; nothing was left under the output name."""


@dataclass
class RenderJob:
    source: str
    corrections: CorrectionStack | None = None
    shot_of: ShotOf = None
    model: Any = None                    # .keras path, keras model, Colorizer, or None = default
    working_size: int = 256
    data_dir: Path | None = None      # where chroma/ lives (project sidecar); None = no cache
    frames: tuple[int, int | None] | None = None   # default range, half-open (in/out); None: end
    temporal: TemporalSettings | None = None   # deflicker / keyframes / cuts (project's)
    hints: dict[int, list[Any]] | None = None   # {frame: [core.ml.hints.Hint]}: the network with the hints

    @classmethod
    def from_project(cls, project: Project, model: Any = None, size: int | None = None
                     ) -> RenderJob:
        """Snapshot of a project (the artist may keep painting while this renders)."""
        if project.source_missing:
            raise RenderError(f"Cannot render: the film '{project.source_path}' was not found")
        out = project.out_point
        frames = None if (project.in_point == 0 and out is None) else \
            (project.in_point, None if out is None else out + 1)
        try:
            temporal = TemporalSettings.from_project(project)
        except (TypeError, ValueError) as exc:
            raise RenderError(f"Cannot render: {exc}") from None
        return cls(source=project.source_path, corrections=project.corrections.snapshot(),
                   shot_of=project.shot_of(), model=model or project.model_path,
                   working_size=int(size or project.working_size), data_dir=project.data_dir,
                   frames=frames, temporal=temporal,
                   hints=project.hints.snapshot() or None)


@dataclass
class RenderResult:
    out: str
    start: int
    stop: int                            # half-open
    frames_written: int
    seconds: float
    cache_hits: int = 0
    audio_codec: str | None = None
    errors: list[str] = field(default_factory=list)
    replaced: list[int] = field(default_factory=list)  # undecodable frames, written as stand-ins
    first_error: str | None = None
    source_info: Any = None              # the film's MediaInfo (lost_frames: truncated/gaps)

    @property
    def fps(self) -> float:
        return self.frames_written / self.seconds if self.seconds else 0.0


def parse_frames(frames: None | str | tuple[int, int | None], frame_count: int
                 ) -> tuple[int, int]:
    """'A-B' inclusive (also 'A-', '-B', 'A') or a half-open (start, stop) -> (start, stop)."""
    if frames is None:
        return 0, frame_count
    if isinstance(frames, str):
        from .batch import parse_range
        return parse_range(frames, frame_count)
    start, stop = frames
    stop = frame_count if stop is None else stop
    if not 0 <= start < stop <= frame_count:
        raise ValueError(f"frame range {start}-{stop - 1} is outside the film "
                         f"(frames 0-{frame_count - 1})")
    return int(start), int(stop)


def default_bit_depth(out: str) -> int:
    return 16 if str(out).lower().endswith((".tif", ".tiff")) else 8


def _make_colorizer(job: RenderJob, batch_size: int) -> Colorizer:
    from ..ml.inference import Colorizer
    from ..ml.model import DEFAULT_MODEL, ModelError
    if isinstance(job.model, Colorizer):
        return job.model
    try:
        return Colorizer(job.model if job.model is not None else DEFAULT_MODEL,
                         size=job.working_size, batch_size=batch_size)
    except ModelError as exc:
        raise RenderError(str(exc)) from None


def render(job: RenderJob, out: str | os.PathLike[str],
           frames: None | str | tuple[int, int | None] = None, *,
           bit_depth: int | None = None, progress: Progress | None = None,
           cancel: threading.Event | None = None, batch_size: int = 4,
           queue_frames: int = 8, use_cache: bool = True,
           chroma_filter: Callable[..., np.ndarray] | None = None) -> RenderResult:
    """Render frames (default: the job's range, else the whole film) of the corrected film.

    job.temporal (deflicker, keyframes) changes the model's chroma before the corrections are
    painted over it, as the review app shows it.  chroma_filter(i, frame, ab) -> ab (a streaming
    hook, e.g. core.temporal.film's) does too, in frame order, after job.temporal.
    progress(done, total) is called from the encoder thread. Raises RenderCancelled when
    ``cancel`` is set, RenderError / MediaError / WriterError (one line) for bad input."""
    from ..media import MediaError, open_media
    from ..media.fill import FrameFiller, lost_frames_warning, source_loss_warning
    from ..media.writer import open_writer
    from ..temporal.film import RefsError
    from ..temporal.render_stage import RenderTemporal
    from .batch import writer_timing

    out = os.fspath(out)
    reader = open_media(job.source)
    info = reader.info
    try:
        start, stop = parse_frames(frames if frames is not None else job.frames, info.frame_count)
        if job.corrections is not None and job.corrections.shape != (info.height, info.width):
            raise RenderError(f"Cannot render: the corrections are for {job.corrections.shape[1]}x"
                              f"{job.corrections.shape[0]} frames, the film is "
                              f"{info.width}x{info.height}")
        colorizer = _make_colorizer(job, batch_size)
        temporal = None
        lo, hi = start, stop
        if job.temporal is not None and job.temporal.active:
            try:
                temporal = RenderTemporal(job.source, info, job.temporal, colorizer.size,
                                          (start, stop))
            except RefsError as exc:
                raise RenderError(f"Cannot render: {exc}") from None
            # the deflicker window of the range's first/last frames reaches outside it
            lo, hi = temporal.decode_range
            queue_frames = max(queue_frames, temporal.radius + batch_size + 2)
        # "until the next cut" follows the cuts the temporal stage found when the project has none
        shot_of = job.shot_of
        if shot_of is None and temporal is not None:
            shot_of = list(temporal.shots.cuts)
        if job.corrections is not None:
            from ..corrections.tracking import ensure_tracked
            # such corrections follow their object: track what the project does not hold yet
            # (before the decode thread takes the reader; job.corrections is a snapshot)
            ensure_tracked(job.corrections, reader.read, shot_of, (start, stop),
                           n_frames=info.frame_count, cancel=cancel)
            if cancel is not None and cancel.is_set():
                raise RenderCancelled("render cancelled")
        cache = None
        if use_cache and job.data_dir is not None:
            from ..ml.chroma_cache import ChromaCache
            try:
                cache = ChromaCache(job.data_dir, colorizer.model_id, colorizer.size,
                                    film_fingerprint(info))
            except OSError:
                cache = None   # read-only sidecar: render without the cache
        depth = bit_depth or default_bit_depth(out)
        timing = writer_timing(reader, start)
        writer = open_writer(out, info.width, info.height, info.fps,
                             audio_from=job.source if info.audio_codec else None,
                             bit_depth=depth, start_number=start, audio_start_frame=start,
                             protect=[job.source], **timing)
    except BaseException:
        reader.close()
        raise
    box = color.letterbox_for(info.height, info.width, colorizer.size)
    total = stop - start
    pipe = Stages(cancel)
    q_in: queue.Queue[Any] = queue.Queue(maxsize=queue_frames)
    q_out: queue.Queue[Any] = queue.Queue(maxsize=queue_frames)
    q_pic: queue.Queue[Any] = queue.Queue(maxsize=4)    # composed pictures for the writer
    decode_errors: list[str] = []
    written, hits = [0], [0]
    deep = info.bit_depth == 16
    # 16-bit sources keep their precision all the way to a 16-bit output; an undecodable frame
    # becomes the previous one (reported), so one bad frame never ends the film. The frame's
    # pixels are needed only by a temporal stage; else its L alone, which a black-and-white
    # film gives without any RGB conversion (MediaReader.read_luminance)
    keep = chroma_filter is not None or temporal is not None
    if keep or deep:
        fill = FrameFiller(reader.read_float if deep else reader.read,
                           (info.height, info.width, 3), np.float32 if deep else np.uint8)
    else:
        fill = FrameFiller(reader.read_luminance, (info.height, info.width), np.float32,
                           blank=float(color.gray_to_L()[128]))
    t0_src = reader.frame_time(start) if timing else 0

    def decode() -> None:
        try:
            for i in range(lo, hi):
                if pipe.stopped():
                    return
                if keep or deep:
                    frame = fill(i)
                    item = (i, color.luminance(frame), frame if keep else None)
                else:
                    item = (i, fill(i), None)
                if not pipe.put(q_in, item):
                    return
        except MediaError as exc:        # a closed reader and the like: keep what came, say why
            decode_errors.append(str(exc))
        finally:
            pipe.put(q_in, END)

    hinted: dict[int, np.ndarray] = {}                 # frame -> its ab_work with the hints

    def hint_stage(i: int, ab: np.ndarray, L: np.ndarray) -> np.ndarray:
        # as the app shows it: the hinted network after the temporal stage
        return compose.model_chroma(hinted.pop(i), box, L) if i in hinted else ab

    corrections = job.corrections

    def corrections_stage(i: int, ab: np.ndarray, L: np.ndarray) -> np.ndarray:
        assert corrections is not None
        return corrections.composite(ab, i, shot_of)

    def emit(i: int, L: np.ndarray, frame: np.ndarray | None, ab_work: np.ndarray | None = None,
             ab: np.ndarray | None = None) -> None:
        """Frame i composed as the viewer composes it (compose.compose_picture): the network's
        chroma (or the temporal stage's ``ab``), the hints, chroma_filter, the corrections."""
        filt = chroma_filter
        stages = compose.chain(
            hint_stage if hinted else None,
            None if filt is None else (lambda j, a, _L: filt(j, frame, a)),
            None if corrections is None else corrections_stage)
        # uint8 for 8-bit files (bit for bit what the writer makes of float RGB), else float
        pic = compose.compose_picture(None, ab_work, box, L, i, stages, ab_full=ab,
                                      dtype=writer.picture_dtype)
        pipe.put(q_pic, (i, pic))

    def write() -> None:
        for i, pic in pipe.drain(q_pic):
            writer.write(pic, reader.frame_time(i) - t0_src if timing else None)
            written[0] += 1
            if progress is not None:
                progress(written[0], total)

    def compose_all() -> None:
        compose_stage()
        if not pipe.stopped():
            pipe.put(q_pic, END)

    def compose_stage() -> None:
        # temporal: (L, frame) of the frames waiting for their neighbours
        held: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
        for i, L, frame, ab_work in pipe.drain(q_out):
            if frame is not None and frame.dtype != np.uint8:
                frame8 = color.to_uint8(frame)
            else:
                frame8 = frame
            if temporal is None:
                emit(i, L, frame8, ab_work)
                continue
            if start <= i < stop:
                held[i] = (L, frame8)
            for t, ab in temporal.push(i, frame8, ab_work):
                if ab is not None:
                    emit(t, *held.pop(t), ab=ab)
        if temporal is not None and not pipe.stopped():
            for t, ab in temporal.flush():
                if ab is not None:
                    emit(t, *held.pop(t), ab=ab)

    def infer(batch: list[tuple[int, np.ndarray, np.ndarray | None]]) -> None:
        ab_work: np.ndarray | None
        ab_works = [None if cache is None else cache.get(i) for i, _, _ in batch]
        todo = [k for k, a in enumerate(ab_works) if a is None]
        hits[0] += len(batch) - len(todo)
        if todo:
            preds = colorizer.predict_work_from_L([batch[k][1] for k in todo])
            for k, (ab_work, _box) in zip(todo, preds):
                ab_works[k] = ab_work
                if cache is not None and batch[k][0] not in fill.lost:  # never cache a stand-in
                    ab_works[k] = cache.put(batch[k][0], ab_work)   # as a cached run reads it
        hints = job.hints or {}
        mine = [k for k, (i, _, _) in enumerate(batch) if hints.get(i) and start <= i < stop]
        if mine:             # never cached: the cache holds the network without hints
            preds = colorizer.predict_work_from_L([batch[k][1] for k in mine],
                                                  [hints[batch[k][0]] for k in mine])
            for k, (ab_work, _box) in zip(mine, preds):
                hinted[batch[k][0]] = ab_work
        for (i, L, frame), ab_work in zip(batch, ab_works):
            if not pipe.put(q_out, (i, L, frame, ab_work)):
                return

    t0 = time.perf_counter()
    try:
        pipe.start(decode, "render-decode")
        pipe.start(compose_all, "render-compose")
        pipe.start(write, "render-encode")
        pipe.feed_batches(q_in, colorizer.batch_size, infer)
        pipe.finish(q_out, RenderCancelled, "render cancelled")
        if written[0] == 0 or sum(start <= k < stop for k in fill.lost) >= written[0]:
            raise RenderError(f"Cannot render '{job.source}': no frame could be decoded in "
                              f"{start}-{stop - 1}")
        writer.close()
    except BaseException:
        pipe.abort()
        writer.abort()
        raise
    finally:
        reader.close()
        if temporal is not None:
            temporal.close()
    replaced = sorted(k for k in fill.lost if start <= k < stop)
    # every frame that is not the film's own is named in errors (the CLI and the export dialog
    # show them): stand-ins for undecodable frames, frames a cut-short film does not hold
    if replaced:
        decode_errors.append(lost_frames_warning(job.source, replaced, fill.first_error))
    missing = source_loss_warning(job.source, info)
    if missing:
        decode_errors.append(missing)
    return RenderResult(out, start, stop, written[0], time.perf_counter() - t0, hits[0],
                        getattr(writer, "audio_codec", None), decode_errors, replaced,
                        fill.first_error, info)


# ------------------------------------------------------------------------------------------
def join_segments(parts: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], *,
                  fps: float | Fraction | None = None, audio_from: str | None = None, audio_start_frame: int = 0,
                  expected_frames: int | None = None, bit_depth: int | None = None,
                  progress: Progress | None = None,
                  cancel: threading.Event | None = None) -> RenderResult:
    """Concatenate rendered parts, in the order given, into ``out`` (any writer format).

    parts: image-sequence folders/patterns (e.g. the one folder every farm range rendered into)
    or movie files. fps: required for sequences unless ``audio_from`` (the source film) is given,
    whose rate is then used. audio_start_frame: source frame of the first joined frame.
    A gap in a sequence's numbering or a total other than ``expected_frames`` raises RenderError
    (a range was not rendered) before anything is written under ``out``.
    """
    from fractions import Fraction

    from ..media import open_media
    from ..media import sequence as media_sequence
    from ..media.writer import open_writer

    out = os.fspath(out)
    if not parts:
        raise RenderError("Cannot join: no parts given")
    src_info = None
    if audio_from is not None:
        with open_media(audio_from) as r:
            src_info = r.info
        fps = fps or src_info.fps
    readers = []
    try:
        for part in parts:
            part = os.fspath(part)
            if media_sequence.looks_like_sequence(part) and not os.path.isfile(part):
                _, numbers = media_sequence.list_sequence(part)
                if numbers and numbers[-1] - numbers[0] + 1 != len(numbers):
                    missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
                    raise RenderError(f"Cannot join: '{part}' is missing frame(s) "
                                      f"{frame_ranges(missing, limit=5)} (a range was not rendered)")
                readers.append(open_media(part, fps=Fraction(fps) if fps else None))
            else:
                readers.append(open_media(part))
        first = readers[0].info
        fps = Fraction(fps) if fps else first.fps
        total = sum(r.info.frame_count for r in readers)
        for r in readers:
            if (r.info.width, r.info.height) != (first.width, first.height):
                raise RenderError(f"Cannot join: '{r.info.path}' is {r.info.width}x{r.info.height}, "
                                  f"'{first.path}' is {first.width}x{first.height}")
        if expected_frames is not None and total != expected_frames:
            raise RenderError(f"Cannot join: the parts hold {total} frames, expected "
                              f"{expected_frames} (a range is missing or rendered twice)")
        with_audio = audio_from if (src_info is not None and src_info.audio_codec) else None
        depth = bit_depth or default_bit_depth(out)
        t0 = time.perf_counter()
        done = 0
        with open_writer(out, first.width, first.height, fps, audio_from=with_audio,
                         bit_depth=depth, start_number=audio_start_frame,
                         audio_start_frame=audio_start_frame,
                         protect=[os.fspath(p) for p in parts]) as writer:
            for r in readers:
                deep = r.info.bit_depth == 16
                for i in range(r.info.frame_count):
                    if cancel is not None and cancel.is_set():
                        raise RenderCancelled("join cancelled")
                    writer.write(r.read_float(i) if deep else r.read(i))
                    done += 1
                    if progress is not None:
                        progress(done, total)
            audio_codec = getattr(writer, "audio_codec", None)
    finally:
        for r in readers:
            r.close()
    return RenderResult(out, audio_start_frame, audio_start_frame + done, done,
                        time.perf_counter() - t0, 0, audio_codec)

