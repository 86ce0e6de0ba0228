"""Colorize a whole film: decode, inference and encode overlap through threads and bounded queues.

    decoder thread ──(frames)──► inference (this thread, batches) ──(ab)──► encoder thread
The queues are bounded, so memory stays flat for any film length, and the slowest stage (the
model) sets the pace. The encoder does the guided upsampling and recombination with L, so the
model thread only runs the network.
"""
from __future__ import annotations

import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import color, compose
from ..media import MediaError, open_media
from ..media.fill import FrameFiller
from ..media.writer import open_writer
from ..ml.inference import Colorizer
from .stages import END, Stages

if TYPE_CHECKING:
    from ..media import MediaReader


@dataclass
class BatchResult:
    frames_written: int
    frames_requested: int
    lost_frames: int
    seconds: float
    errors: list[str] = field(default_factory=list)
    replaced: list[int] = field(default_factory=list)   # undecodable frames, written as stand-ins
    first_error: str | None = None

    @property
    def fps(self) -> float:
        return self.frames_written / self.seconds if self.seconds else 0.0


def parse_range(text: str | None, frame_count: int) -> tuple[int, int]:
    """'A-B' (inclusive, 0-based), 'A-' or '-B' → (start, stop) half-open; ValueError if outside the film.
    None means the whole film; an empty or blank text is an error, not frame 0."""
    if text is None:
        return 0, frame_count
    if not text.strip():
        raise ValueError(f"empty frame range '{text}' (expected A-B, e.g. 0-99)")
    a, sep, b = text.partition("-")
    try:
        start = int(a) if a.strip() else 0
        last = int(b) if sep and b.strip() else (frame_count - 1 if sep else start)
    except ValueError:
        raise ValueError(f"bad frame range '{text}' (expected A-B, e.g. 0-99)") from None
    if start < 0 or last < start or last >= frame_count:
        raise ValueError(f"frame range '{text}' is outside the film (frames 0-{frame_count - 1})")
    return start, last + 1


def colorize_film(src: str, out: str, colorizer: Colorizer, frames: str | None = None,
                  progress: Callable[[int, int], None] | None = None, bit_depth: int = 8,
                  chroma_filter: compose.ChromaStage | None = None,
                  queue_frames: int = 16) -> BatchResult:
    """Colorize frames [A-B] of `src` into `out` (format from its extension), keeping the audio.

    `chroma_filter(index, frame, ab_full) -> ab_full` lets temporal tools (deflicker, keyframes)
    change the chroma before encoding. A truncated source colorizes what decodes and reports the
    loss; a frame that cannot be decoded is replaced by the previous one (BatchResult.replaced),
    so the rest of the film and its timing survive. Variable-rate films keep every frame's time.
    The output appears under its real name only when complete, and never over the input.
    """
    reader = open_media(src)
    info = reader.info
    try:
        start, stop_i = parse_range(frames, info.frame_count)
        total = stop_i - start
        timing = writer_timing(reader, start)
        writer = open_writer(out, info.width, info.height, info.fps,
                             audio_from=src if info.audio_codec else None, bit_depth=bit_depth,
                             start_number=start, audio_start_frame=start, protect=[src], **timing)
    except BaseException:
        reader.close()
        raise
    # Only the temporal tools look at the frame's pixels; the rest needs its L alone, which a
    # black-and-white film gives without any RGB conversion (MediaReader.read_luminance).
    need_frame = chroma_filter is not None
    fill = FrameFiller(reader.read, (info.height, info.width, 3), "uint8") if need_frame else \
        FrameFiller(reader.read_luminance, (info.height, info.width), np.float32,
                    blank=float(color.gray_to_L()[128]))
    pipe = Stages()
    q_in: queue.Queue[Any] = queue.Queue(maxsize=queue_frames)
    q_out: queue.Queue[Any] = queue.Queue(maxsize=queue_frames)
    q_pic: queue.Queue[Any] = queue.Queue(maxsize=4)    # composed pictures for the writer
    errors: list[str] = []
    written = [0]

    def decode() -> None:
        try:
            for i in range(start, stop_i):
                # L once, here: the model needs it and so does the recombination after it
                item: tuple[int, np.ndarray | None, np.ndarray]
                if need_frame:
                    frame = fill(i)
                    item = (i, frame, color.luminance(frame))
                else:
                    item = (i, None, fill(i))
                if not pipe.put(q_in, item):
                    return
        except MediaError as exc:  # a closed reader and the like: keep what came, say why
            errors.append(str(exc))
        finally:
            pipe.put(q_in, END)

    def compose_one(item: tuple[int, np.ndarray, np.ndarray, np.ndarray, Any]
                    ) -> tuple[int, np.ndarray]:
        i, frame, L, ab_work, box = item
        stage = None if chroma_filter is None else (
            lambda j, a, _L, frame=frame: chroma_filter(j, frame, a))
        return i, compose.compose_picture(frame, ab_work, box, L, i, stage,
                                          dtype=np.uint16 if bit_depth == 16 else np.uint8)

    def encode() -> None:
        for i, rgb in pipe.drain(q_pic):
            t = reader.frame_time(i) - t0_src if timing else None
            writer.write(rgb, t)
            written[0] += 1
            if progress:
                progress(written[0], total)

    t0_src = reader.frame_time(start) if timing else 0
    t0 = time.perf_counter()
    pipe.start(decode, "colorize-decode")
    pipe.start(lambda: pipe.relay(q_out, q_pic, compose_one), "colorize-compose")
    pipe.start(encode, "colorize-encode")
    try:
        pipe.feed_batches(q_in, colorizer.batch_size, lambda batch: _infer(colorizer, batch, q_out, pipe))
        pipe.finish(q_out)
        if written[0] == 0 or len(fill.lost) >= written[0]:
            raise MediaError(f"{src}: no frame could be decoded in the requested range")
        writer.close()
    except BaseException:
        pipe.abort()
        writer.abort()
        raise
    finally:
        reader.close()
    lost = max(0, total - written[0])
    return BatchResult(written[0], total, lost, time.perf_counter() - t0, errors,
                       sorted(fill.lost), fill.first_error)


def writer_timing(reader: MediaReader, start: int) -> dict[str, Any]:
    """open_writer arguments that keep a variable-rate film's frame times (and start its sound
    at the first written frame's true time); empty for constant-rate films."""
    if not reader.info.vfr or reader.time_base is None:
        return {}
    return {"time_base": reader.time_base, "audio_start": reader.frame_time(start)}


def _infer(colorizer: Colorizer, batch: list[Any], q_out: queue.Queue[Any], pipe: Stages) -> None:
    for (i, frame, L), (ab_work, box) in zip(batch, colorizer.predict_work_from_L([L for _, _, L in batch])):
        pipe.put(q_out, (i, frame, L, ab_work, box))


def model_alone_fps(colorizer: Colorizer, frame: np.ndarray, n: int = 32) -> float:
    """Frames/s of preprocessing + network alone on one repeated frame: the pipeline's ceiling."""
    frames = [frame] * colorizer.batch_size
    colorizer.predict_work(frames)  # warm-up: trace and compile
    t0 = time.perf_counter()
    done = 0
    while done < n:
        colorizer.predict_work(frames)
        done += len(frames)
    return done / (time.perf_counter() - t0)


def colorize_film_temporal(src: str, out: str, colorizer: Colorizer, frames: str | None = None,
                           progress: Callable[[int, int], None] | None = None,
                           bit_depth: int = 8, *, deflicker: float | None = None,
                           refs_dir: str | None = None, cuts: list[int] | None = None,
                           window: bool = True, radius: int = 8, memory: float = 0.95,
                           log: Callable[[str], None] | None = print) -> BatchResult:
    """colorize_film with deflicker and references.  With ``window`` (default) deflicker is the
    centred motion-compensated window of ±radius frames, fed with the model's chroma of the
    frames ahead through a Colorizer proxy (core.temporal.stream), then a recursive stage of
    ``memory`` (0: none) against slow drift; without, the causal hook of
    core.temporal.film.build_chroma_filter (``memory``).  Defaults from held-out footage (warp
    error ÷ the film's on the worst clip, model alone 22x): R=6 alone 2.6x, R=6 + memory 0.9
    1.5x, R=8 + 0.9 1.35x, R=8 + 0.95 1.23x, with the same ab error; each step of R costs two
    compositions and warps at the flow's work resolution (the flows, computed once per pair,
    dominate).  R <= 8 because the encoder waits on frame t+R while colorize_film's queue
    holds 16.
    Returns colorize_film's BatchResult."""
    from ..temporal.deflicker import RecursiveDeflicker
    from ..temporal.film import RefsPropagation, TemporalFilter, prepare
    from ..temporal.stream import LookaheadColorizer, LookaheadStore, WindowedDeflicker

    info, strength, refs, shots = prepare(src, deflicker, refs_dir, cuts, log)
    prop = RefsPropagation(src, shots, refs, info.width, info.height) if refs else None
    if strength is not None and window:
        start, stop = parse_range(frames, info.frame_count)
        store = LookaheadStore(start, stop, (info.height, info.width))
        pre = WindowedDeflicker(store, shots, strength, radius)
        # the recursive stage reuses the window's flows (pair t, t-1 is one of its pairs)
        post = RecursiveDeflicker(shots, strength, memory, flows=pre.flows) if memory > 0 else None
        hook = TemporalFilter(shots, pre, prop, post)
        # a stand-in that forwards every other attribute to the Colorizer (__getattr__)
        colorizer = LookaheadColorizer(colorizer, store)  # type: ignore[assignment]
    elif strength is not None or prop is not None:
        post = RecursiveDeflicker(shots, strength, memory) if strength is not None else None
        hook = TemporalFilter(shots, None, prop, post)
    else:
        hook = None
    try:
        return colorize_film(src, out, colorizer, frames=frames, progress=progress,
                             bit_depth=bit_depth, chroma_filter=hook)
    finally:
        if hook is not None:
            hook.close()
