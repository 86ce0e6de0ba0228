"""Film input: video files through FFmpeg (PyAV) and image sequences through OpenCV.

On open a video stream is indexed by demuxing its packets (no decoding), because container headers
are often wrong: the frame count, per-frame timestamps, keyframes and the true rate come from the
packets. Reads are frame-exact in any order (see media_video.VideoSource) and go through a small
LRU cache bounded in bytes; nothing else grows with the length of the film.

Frames are numbered 0..frame_count-1 in presentation order, also for variable-frame-rate footage.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

import av
import cv2
import numpy as np

from .. import color as _color
from ..heap import configure_heap
from . import index as media_index
from . import sequence as media_sequence
from .color import frame_has_color as _frame_has_color
from .video import CROP_TAG, DecodeFailure, VideoSource, frame_time, pixel_bit_depth

_T = TypeVar("_T")

DEFAULT_CACHE_BYTES = 256 * 1024 * 1024
# Frames kept on the way to a target that was jumped to (rather than stepped back to): a viewer
# shows a couple of frames behind the playhead. Every kept frame is fully decoded, while frames
# further back only need their reference pictures decoded (see VideoSource.read).
JUMP_KEEP = 2


configure_heap()   # before any frame is decoded (see core.heap)
DEFAULT_SEQUENCE_FPS = Fraction(24)
# Demuxers that "open" things that are not films (text rendered as ANSI art, raw binary dumps).
_NOT_FILM_FORMATS = {"tty", "bin", "idf", "adf", "xbin", "ansi"}
_NOT_FILM_CODECS = {"ansi", "bintext", "xbin", "idf"}


class MediaError(Exception):
    """Message: one clear user-facing line naming the file."""


class FrameOutOfRange(MediaError, IndexError):
    """A frame index outside the film (or beyond where a truncated file ends)."""


@dataclass
class MediaInfo:
    path: str
    frame_count: int                  # counted from the stream
    header_frame_count: int | None    # what the container claims (nb_frames or duration x rate)
    fps: Fraction                     # exact; the average (n-1)/(last-first) when vfr
    vfr: bool
    width: int
    height: int
    has_color: bool                   # chroma varies beyond a uniform tint (sepia is not colour)
    audio_codec: str | None
    is_sequence: bool
    bit_depth: int                    # 8 or 16
    lost_frames: int = 0              # promised by the container but not decodable (truncated)
    truncated: bool = False           # the file ends early (even if no whole frame was lost)
    codec: str = ""                   # video codec or image extension

    @property
    def duration(self) -> float:
        return float(self.frame_count / self.fps) if self.fps else 0.0


def timecode(index: int, fps: float | Fraction) -> str:
    """Non-drop-frame "HH:MM:SS:FF" at the nominal (rounded) rate, as editors show 23.976 film."""
    if index < 0:
        raise ValueError("frame index must be >= 0")
    nominal = max(1, int(round(float(fps))))
    ff = index % nominal
    seconds = index // nominal
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}:{ff:02d}"


def open_media(path: str | os.PathLike[str], cache_bytes: int = DEFAULT_CACHE_BYTES,
               fps: Fraction | None = None) -> MediaReader:
    """Open a video file or an image sequence. `fps` only applies to image sequences (which
    carry no rate; default 24). Raises MediaError."""
    path = os.fspath(path)
    if media_sequence.looks_like_sequence(path) and not _is_plain_video_file(path):
        return _open_sequence(path, cache_bytes, fps)
    return _open_video(path, cache_bytes)


def _is_plain_video_file(path: str) -> bool:
    return os.path.isfile(path) and Path(path).suffix.lower() not in media_sequence.IMAGE_EXTS


def _fail(path: str, reason: str) -> MediaError:
    return MediaError(f"Cannot open '{path}': {reason}")


# ---------------------------------------------------------------------------- the reader
class MediaReader:
    """Frame-exact reader with an LRU cache. One reader per thread."""

    def __init__(self, info: MediaInfo, source: VideoSource | _SequenceSource, cache_bytes: int):
        self.info = info
        self._source: VideoSource | _SequenceSource | None = source
        # RGB arrays, or decoded video frames kept on the way (converted when asked for)
        self._cache: OrderedDict[int, np.ndarray | av.VideoFrame] = OrderedDict()
        self._cache_bytes = 0
        self._cache_limit = max(0, int(cache_bytes))
        self._last_asked = -1     # the index of the previous read (hit or miss)

    # --------------------------------------------------------------- public API
    def read(self, i: int, copy: bool = True) -> np.ndarray:
        """Frame i as uint8 RGB (H, W, 3); a fresh array the caller may modify. With copy=False
        it may share memory with the reader's cache and is read-only: for callers that only look
        (it saves a 6 MB copy per 1080p frame)."""
        arr = self._get(i)
        if arr.dtype == np.uint16:
            return _u16_to_u8(arr)
        if copy:
            return arr.copy()
        view = arr.view()
        view.flags.writeable = False
        return view

    def prefetch(self, i: int) -> bool:
        """Decode video frame i into the cache without converting it to RGB yet (the next read(i)
        converts it), so a caller can split the work of a frame in two.  True when it decoded
        something; False when there was nothing to do (cached already, an image sequence, or a
        cache too small to keep the frame)."""
        i = self._check(i)
        if self._source is None:
            raise MediaError(f"'{self.info.path}': the reader is closed")
        if i in self._cache or not isinstance(self._source, VideoSource) or \
                self._cache_limit < self.info.width * self.info.height * 3:
            return False
        previous, self._last_asked = self._last_asked, i
        self._put(i, self._decode(self._source, i, previous, convert=False))
        return True

    def read_scaled(self, i: int, size: tuple[int, int]) -> np.ndarray:
        """Frame i as uint8 RGB scaled to size (w, h), for a display that shows it smaller: from
        the decoded picture in one swscale pass where the source is video (half the cost of the
        full conversion), else the full frame scaled down. The decoded picture stays cached
        unconverted, so a later read(i) costs only its conversion."""
        i = self._check(i)
        decoded = self._decoded(i)
        if decoded is not None:
            small = decoded[0].to_array_scaled(decoded[1], size)
            if small is not None:
                return small
        full = self.read(i, copy=False)
        w, h = size
        interp = cv2.INTER_AREA if h * 2 <= full.shape[0] else cv2.INTER_LINEAR
        return cv2.resize(full, (w, h), interpolation=interp)

    def read_luminance(self, i: int) -> np.ndarray:
        """L (float32, 0..100) of frame i: color.luminance(read(i)) to the bit, from the decoded
        Y plane when the picture is neutral (a black-and-white film: no RGB conversion at all),
        else from the RGB frame. For pipelines that need only the film's lightness."""
        i = self._check(i)
        decoded = self._decoded(i)
        if decoded is not None:
            L = decoded[0].luminance_of(decoded[1])
            if L is not None:
                return L
        return _color.luminance(self.read(i, copy=False))

    def _decoded(self, i: int) -> tuple[VideoSource, av.VideoFrame] | None:
        """Video frame i decoded but not converted (cached so, for a later read), with its
        source; None when the frame is cached as RGB already or the source is not video."""
        src = self._source
        if src is None:
            raise MediaError(f"'{self.info.path}': the reader is closed")
        hit = self._cache.get(i)
        if isinstance(hit, np.ndarray) or not isinstance(src, VideoSource):
            return None
        if hit is None:
            previous, self._last_asked = self._last_asked, i
            hit = self._decode(src, i, previous, convert=False)
            self._put(i, hit)
        else:
            self._cache.move_to_end(i)
            self._last_asked = i
        assert isinstance(hit, av.VideoFrame)
        return src, hit

    def decode_cost(self, i: int) -> int:
        """Pictures the codec would decode for read(i): 0 when frame i is cached, 1 for an image
        sequence; after a jump in long-GOP video, everything from the keyframe before it."""
        i = self._check(i)
        if i in self._cache or self._source is None:
            return 0
        if not isinstance(self._source, VideoSource):
            return 1
        return self._source.frames_to_decode(i)

    def read_float(self, i: int) -> np.ndarray:
        """Frame i as float32 RGB in [0, 1], keeping 16-bit precision when the source has it."""
        arr = self._get(i)
        scale = 65535.0 if arr.dtype == np.uint16 else 255.0
        return arr.astype(np.float32) * np.float32(1.0 / scale)

    def iter_frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Sequential (index, uint8 RGB) from start to stop (exclusive); decodes in order with at
        most one seek."""
        stop = self.info.frame_count if stop is None else min(stop, self.info.frame_count)
        for i in range(max(0, start), stop):
            yield i, self.read(i)

    def frame_time(self, i: int) -> Fraction:
        """Seconds from the first frame to frame i (true timestamps for VFR footage)."""
        self._check(i)
        if isinstance(self._source, VideoSource):
            return frame_time(self._source.index, i, self.info.fps)
        return Fraction(i) / self.info.fps

    @property
    def time_base(self) -> Fraction | None:
        """Resolution of frame_time for video files (the stream's time base); None when frames
        only have their order (image sequences, streams without timestamps)."""
        src = self._source
        if isinstance(src, VideoSource) and not src.index.ordinal:
            return src.index.time_base
        return None

    @property
    def stats(self) -> dict[str, int]:
        """Counters for tests and benchmarks: seeks and frames decoded so far."""
        src = self._source
        return {"seeks": getattr(src, "seeks", 0), "decoded": getattr(src, "decoded", 0),
                "cached_frames": len(self._cache), "cached_bytes": self._cache_bytes}

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None
        self._cache.clear()
        self._cache_bytes = 0

    def __enter__(self) -> MediaReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return self.info.frame_count

    # --------------------------------------------------------------- internals
    def _check(self, i: object) -> int:
        info = self.info
        if not isinstance(i, (int, np.integer)):
            raise TypeError(f"frame index must be an int, not {type(i).__name__}")
        i = int(i)
        if 0 <= i < info.frame_count:
            return i
        if i >= info.frame_count and info.truncated:
            raise FrameOutOfRange(
                f"'{info.path}': frame {i} is missing: the file is truncated; only "
                f"{info.frame_count} of {info.frame_count + info.lost_frames} frames could be decoded")
        raise FrameOutOfRange(f"'{info.path}': frame {i} is out of range (0..{info.frame_count - 1})")

    def _get(self, i: object) -> np.ndarray:
        i = self._check(i)
        if self._source is None:
            raise MediaError(f"'{self.info.path}': the reader is closed")
        previous, self._last_asked = self._last_asked, i
        hit = self._cache.get(i)
        if hit is not None:
            self._cache.move_to_end(i)
            if not isinstance(hit, np.ndarray):  # a decoded frame kept on the way: convert now
                assert isinstance(self._source, VideoSource)  # only video keeps decoded frames
                hit = self._source.to_array(hit)
                self._put(i, hit)
            return hit
        if isinstance(self._source, VideoSource):
            arr = self._decode(self._source, i, previous)
        else:
            arr = self._source.read(i)
        self._put(i, arr)
        return arr

    def _decode(self, source: VideoSource, i: int, previous: int,
                convert: bool = True) -> np.ndarray | av.VideoFrame:
        # Stepping backwards (just before the previous read): keep the frames before the target,
        # so the next steps back hit the cache. After a jump keep only a couple: decoding all of
        # them would cost a long-GOP seek about a third more.
        per_frame = max(1, self.info.width * self.info.height * 3 * (2 if self.info.bit_depth > 8 else 1))
        window = self._cache_limit // per_frame // 2
        if not 0 < previous - i <= window + JUMP_KEEP:
            window = min(window, JUMP_KEEP)
        try:
            return source.read(i, self._put, i - window, convert=convert)
        except DecodeFailure as exc:
            raise MediaError(f"'{self.info.path}': frame {i} could not be decoded ({exc})") from None
        except av.FFmpegError as exc:
            raise MediaError(f"'{self.info.path}': decoding frame {i} failed: {exc}") from None

    def _put(self, i: int, item: np.ndarray | av.VideoFrame) -> None:
        """Cache an RGB array or a decoded (not yet converted) av.VideoFrame."""
        size = _nbytes(item)
        if size > self._cache_limit:
            return
        old = self._cache.pop(i, None)
        if old is not None:
            self._cache_bytes -= _nbytes(old)
        self._cache[i] = item
        self._cache_bytes += size
        while self._cache_bytes > self._cache_limit:
            _, dropped = self._cache.popitem(last=False)
            self._cache_bytes -= _nbytes(dropped)


def _nbytes(item: np.ndarray | av.VideoFrame) -> int:
    if isinstance(item, np.ndarray):
        return item.nbytes
    return sum(p.buffer_size for p in item.planes)


def _u16_to_u8(arr: np.ndarray) -> np.ndarray:
    # round(x / 257): maps 0..65535 exactly onto 0..255
    return ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)


# ---------------------------------------------------------------------------- video files
def _open_video(path: str, cache_bytes: int) -> MediaReader:
    if not os.path.exists(path):
        raise _fail(path, "file not found")
    if os.path.isdir(path):
        raise _fail(path, "it is a folder without images")
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise _fail(path, exc.strerror or str(exc)) from None
    if size == 0:
        raise _fail(path, "the file is empty (0 bytes)")
    try:
        container = av.open(path)
    except av.FFmpegError as exc:
        raise _fail(path, f"not a video file FFmpeg can read ({_short(exc)})") from None
    try:
        vi = _film_stream(container)
        if container.format.name in _NOT_FILM_FORMATS or vi is None:
            raise _fail(path, "the file has no video stream")
        stream = container.streams.video[vi]
        if stream.codec_context.name in _NOT_FILM_CODECS:
            raise _fail(path, "the file has no video stream")
        header_count = media_index.header_frame_count(stream, container)
        claimed_rates = [stream.guessed_rate, stream.average_rate, stream.base_rate]
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        codec = stream.codec_context.name
        width, height = stream.codec_context.width, stream.codec_context.height
        bit_depth = pixel_bit_depth(stream.codec_context.format) if stream.codec_context.format else 8
        gray_format = bool(stream.codec_context.format and stream.codec_context.format.name.startswith("gray"))
        crop = _crop_hint(container, width, height)
    finally:
        container.close()

    try:
        index = media_index.build_index(path, vi)
    except av.FFmpegError as exc:
        raise _fail(path, f"the video stream cannot be read ({_short(exc)})") from None
    if index.frame_count == 0:
        raise _fail(path, "the video stream holds no decodable frames")
    if index.ordinal:
        fps, vfr = next((Fraction(r) for r in claimed_rates if r), Fraction(24)), False
    else:
        fps, vfr = media_index.detect_rate(index.pts, index.time_base, claimed_rates)
    truncated = index.truncated or media_index.file_cut_short(path)
    lost = max(0, (header_count or 0) - index.frame_count) if truncated else 0
    if crop is not None:
        width, height = crop
    info = MediaInfo(path=path, frame_count=index.frame_count, header_frame_count=header_count,
                     fps=fps, vfr=vfr, width=width, height=height, has_color=True,
                     audio_codec=audio, is_sequence=False, bit_depth=bit_depth, lost_frames=lost,
                     truncated=truncated, codec=codec)
    try:
        source = VideoSource(path, vi, index, bit_depth, crop)
    except av.FFmpegError as exc:
        raise _fail(path, f"the video stream cannot be decoded ({_short(exc)})") from None
    reader = MediaReader(info, source, cache_bytes)
    try:
        _drop_undecodable_start(reader, source)
    except BaseException:
        reader.close()
        raise
    if gray_format:
        info.has_color = False
    elif index.ordinal:  # cannot seek: sampling the whole film would decode all of it
        info.has_color = _sample_has_color(reader, [0])
    else:
        keys = [k for k in (index.index_of(int(p)) for p in index.key_pts) if k >= 0] or [0]
        info.has_color = _sample_has_color(reader, _spread(keys, 5))
    return reader


def _film_stream(container: av.container.InputContainer) -> int | None:
    """Position in streams.video of the film: cover art and thumbnails are video streams too."""
    skip = av.stream.Disposition.attached_pic | av.stream.Disposition.still_image
    streams = container.streams.video
    for k, s in enumerate(streams):
        if not s.disposition & skip:
            return k
    return None


def _drop_undecodable_start(reader: MediaReader, source: VideoSource) -> None:
    """Streams cut out of a longer one can start with pictures that reference frames before
    the cut (open GOP); decoders drop them, so the index must not promise them."""
    first = source.first_output_index()
    if first > 0:
        source.index.pts = source.index.pts[first:]
        reader.info.frame_count -= first
        reader.info.lost_frames += first
    elif first < 0:
        raise _fail(reader.info.path, "no frame of the video stream can be decoded")


def _crop_hint(container: av.container.InputContainer, width: int, height: int) -> tuple[int, int] | None:
    """The true size when our writer padded an odd-sized picture (metadata CROP_TAG=WxH)."""
    tags = {k.lower(): v for k, v in (container.metadata or {}).items()}
    value = tags.get(CROP_TAG)
    if not value:
        return None
    try:
        w, h = (int(v) for v in value.lower().split("x"))
    except ValueError:
        return None
    if 0 < w <= width and 0 < h <= height and (w, h) != (width, height):
        return w, h
    return None


def _short(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[0].strip() if len(text) > 80 else text.strip()


def _spread(items: list[_T], n: int) -> list[_T]:
    if len(items) <= n:
        return list(items)
    return [items[round(k * (len(items) - 1) / (n - 1))] for k in range(n)]


def _sample_has_color(reader: MediaReader, indices: Iterable[int]) -> bool:
    """Decode a few frames and look for real colour (see _frame_has_color)."""
    for i in indices:
        try:
            rgb = reader.read(i)
        except MediaError:
            continue
        if _frame_has_color(rgb):
            return True
    return False


# ---------------------------------------------------------------------------- image sequences
class _SequenceSource:
    def __init__(self, files: list[Path], width: int, height: int, bit_depth: int):
        self.files = files
        self.width, self.height, self.bit_depth = width, height, bit_depth

    def read(self, i: int) -> np.ndarray:
        path = self.files[i]
        try:
            img = media_sequence.read_image(path)
        except media_sequence.SequenceError as exc:
            raise MediaError(str(exc)) from None
        if img.shape[1] != self.width or img.shape[0] != self.height:
            raise MediaError(f"'{path}': size {img.shape[1]}x{img.shape[0]} differs from the "
                             f"sequence's {self.width}x{self.height}")
        if self.bit_depth > 8 and img.dtype == np.uint8:
            img = img.astype(np.uint16) * 257
        elif self.bit_depth == 8 and img.dtype == np.uint16:
            img = _u16_to_u8(img)
        return img

    def close(self) -> None:
        pass


def _open_sequence(path: str, cache_bytes: int, fps: Fraction | None) -> MediaReader:
    try:
        files, numbers = media_sequence.list_sequence(path)
        width, height, depth, gray = media_sequence.probe_image(files[0])
    except media_sequence.SequenceError as exc:
        raise _fail(path, str(exc)) from None
    span = numbers[-1] - numbers[0] + 1 if numbers[0] >= 0 else len(files)
    lost = max(0, span - len(files))  # gaps in the numbering
    info = MediaInfo(path=path, frame_count=len(files), header_frame_count=span,
                     fps=Fraction(fps) if fps else DEFAULT_SEQUENCE_FPS, vfr=False, width=width,
                     height=height, has_color=not gray, audio_codec=None, is_sequence=True,
                     bit_depth=depth, lost_frames=lost, truncated=False,
                     codec=files[0].suffix.lower().lstrip("."))
    reader = MediaReader(info, _SequenceSource(files, width, height, depth), cache_bytes)
    if not gray:
        info.has_color = _sample_has_color(reader, _spread(list(range(len(files))), 5))
    return reader
