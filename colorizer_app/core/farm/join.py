"""Join a farm's chunks into the film: frame-exact against the source, with its sound and its
frame times, under the real name only when complete.

Chunks are FFV1 .mkv (lossless, every frame a keyframe). A .mkv output is FFV1 too, so its
join copies the chunks' packets (no decode, no encode: the join of a 1080p film costs about
what reading it costs) and only renumbers their times; every other output type (H.264, ProRes,
image sequences) decodes the chunks and encodes once, through core.media.writer. Either way frame k
gets the source frame k's time (variable-rate films keep theirs), the source's sound is muxed
from its first frame on, and a chunk holding other than its frame count fails the join.
"""
from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av

from .plan import FarmCancelled, FarmError, FilmPlan

if TYPE_CHECKING:
    from ..media import MediaInfo

_Progress = Callable[[int, int], None] | None


def join_chunks(plan: FilmPlan, cancel: threading.Event | None = None,
                progress: Callable[[int, int], None] | None = None) -> str | None:
    """Write ``plan.out`` from its chunks; returns the audio codec written (None: silent)."""
    from ..media import open_media
    with open_media(plan.source) as src:
        info = src.info
        time_base = src.time_base
        vfr = bool(info.vfr) and time_base is not None
        times = [src.frame_time(i) for i in range(info.frame_count)] if vfr else None
        tb = Fraction(time_base) if vfr and time_base is not None else Fraction(1) / info.fps
    if info.frame_count != plan.frame_count:
        raise FarmError(f"{plan.input}: the film changed while it was rendered")
    if str(plan.out).lower().endswith(".mkv"):
        return _copy_join(plan, info, times, tb, cancel, progress)
    return _encode_join(plan, info, times, tb, cancel, progress)


def _time(k: int, times: list[Fraction] | None, fps: Fraction | float) -> Fraction:
    """Source frame k's time from the film's first frame."""
    return times[k] - times[0] if times is not None else Fraction(k) / Fraction(fps)


def _copy_join(plan: FilmPlan, info: MediaInfo, times: list[Fraction] | None, tb: Fraction,
               cancel: threading.Event | None, progress: _Progress) -> str | None:
    from ..media.audio import LEAD, AudioFeed
    target = Path(plan.out)
    temp = target.with_name(f".{target.stem}.join-{uuid.uuid4().hex[:8]}.partial.mkv")
    n, fps, t0 = plan.stop, Fraction(info.fps), _time(plan.start, times, info.fps)
    out = av.open(str(temp), "w", format="matroska")
    audio = None
    try:
        with av.open(plan.chunks[0].path) as first:
            video = out.add_stream_from_template(first.streams.video[0])
        video.time_base = tb
        if info.audio_codec:
            try:
                audio = AudioFeed(plan.source, out, "matroska", t0)
            except LookupError:
                audio = None
        k = plan.start
        for chunk in plan.chunks:
            with av.open(chunk.path) as part:
                for pkt in part.demux(part.streams.video[0]):
                    if pkt.size == 0:                       # the demuxer's end marker
                        continue
                    if k >= chunk.stop:
                        break
                    pts = round((_time(k, times, fps) - t0) / tb)
                    pkt.pts = pkt.dts = pts
                    pkt.time_base = tb
                    nxt = _time(k + 1, times, fps) if k + 1 < len(times or ()) else \
                        _time(k, times, fps) + 1 / fps
                    pkt.duration = max(1, round((nxt - t0) / tb) - pts)
                    pkt.stream = video
                    out.mux(pkt)
                    k += 1
                    if audio is not None:
                        audio.feed_until(_time(k - 1, times, fps) - t0 + 1 / fps - LEAD)
                    if cancel is not None and cancel.is_set():
                        raise FarmCancelled("farm cancelled")
                    if progress is not None:
                        progress(k - plan.start, plan.frames)
            if k != chunk.stop:
                raise FarmError(f"{plan.input}: {chunk.label} holds {k - chunk.start} frames, "
                                f"not {chunk.stop - chunk.start}")
        if audio is not None:
            audio.feed_until(_time(n - 1, times, fps) - t0 + 1 / fps, final=True)
            codec = audio.codec
        else:
            codec = None
        out.close()
        os.replace(temp, target)
        return codec
    except BaseException:
        if audio is not None:
            audio.close()
        try:
            out.close()
        except Exception:  # a half-written container: only removing it matters now
            pass
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def _encode_join(plan: FilmPlan, info: MediaInfo, times: list[Fraction] | None, tb: Fraction,
                 cancel: threading.Event | None, progress: _Progress) -> str | None:
    from ..media import open_media
    from ..media.writer import open_writer
    fps, t0 = info.fps, _time(plan.start, times, info.fps)
    timed = times is not None             # variable rate: keep the source's frame times
    with open_writer(plan.out, info.width, info.height, fps,
                     audio_from=plan.source if info.audio_codec else None,
                     bit_depth=plan.bit_depth, start_number=plan.start,
                     audio_start_frame=plan.start, protect=[plan.source],
                     time_base=tb if timed else None, audio_start=t0 if timed else None) as writer:
        k = plan.start
        for chunk in plan.chunks:
            with open_media(chunk.path) as part:
                if part.info.frame_count != chunk.stop - chunk.start:
                    raise FarmError(f"{plan.input}: {chunk.label} holds "
                                    f"{part.info.frame_count} frames, not {chunk.stop - chunk.start}")
                deep = part.info.bit_depth == 16
                for i in range(part.info.frame_count):
                    if cancel is not None and cancel.is_set():
                        raise FarmCancelled("farm cancelled")
                    writer.write(part.read_float(i) if deep else part.read(i),
                                 _time(k, times, fps) - t0 if times is not None else None)
                    k += 1
                    if progress is not None:
                        progress(k - plan.start, plan.frames)
        return getattr(writer, "audio_codec", None)
