"""Frame-exact decoding of one video stream (used by core.media.MediaReader).

Random access: seek to the keyframe at/before the wanted frame's pts, decode forward and match by
pts. Sequential access keeps the decoder where it is (no seek). Frames decoded on the way to a
target are handed to `keep(index, array)` when they are close to it, so stepping backwards
through a long GOP costs one seek per cache-full rather than one per frame.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from typing import Any

import av
import cv2
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, Interpolation, VideoReformatter

from . import divx as media_divx
from .index import StreamIndex

# Accurate chroma upsampling: colourists judge colour, the default fast path smears it
# (mean error 1.7 vs 0.56 levels on a 4:2:0 round trip, about 10 ms per 1080p frame).
_INTERP = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
# Display-size conversion (to_array_scaled): area scaling keeps fine detail without aliasing.
_SCALE_INTERP = Interpolation.AREA | Interpolation.FULL_CHR_H_INT
# Metadata key our writer sets when it had to pad an odd-sized picture to even for 4:2:0.
CROP_TAG = "bentocolor_size"
# When the next keyframe is this close, decoding through it beats a seek (decoder refill).
_SEEK_SLACK = 2
# swscale threads for the RGB conversion: one slice per core. Its "auto" makes cores + 1 slices,
# so on two cores one of them converts two (1080p: 10 ms instead of 8).
_CONVERT_THREADS = os.cpu_count() or 1


# 8-bit planar Y'CbCr formats and their chroma subsampling (x, y)
_PLANAR_8BIT = {"yuv420p": (2, 2), "yuvj420p": (2, 2), "yuv422p": (2, 1), "yuvj422p": (2, 1),
                "yuv444p": (1, 1), "yuvj444p": (1, 1)}


def _plane(frame: av.VideoFrame, k: int, w: int, h: int) -> np.ndarray:
    """Plane k of a decoded picture as a (h, w) uint8 view (no copy)."""
    p = frame.planes[k]
    return np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:h, :w]


class DecodeFailure(Exception):
    """A frame the index promised did not come out of the decoder."""


class VideoSource:
    def __init__(self, path: str, stream_index: int, index: StreamIndex, bit_depth: int,
                 crop: tuple[int, int] | None):
        self.path = path
        self.index = index
        self.bit_depth = bit_depth
        self.crop = crop
        self.seeks = 0            # statistics (tests check that sequential reads do not seek)
        self.decoded = 0
        self._stream_index = stream_index
        self._container: av.container.InputContainer | None = None
        self._frames: Iterator[av.VideoFrame] | None = None  # generator of decoded frames from the current position
        self._last = -1           # index of the last frame the decoder produced (-1: none yet)
        self._seek_floor: int | None = None  # pts of the keyframe of the last seek (frames before it: untrusted)
        self._convert_args: dict[str, Any] | None = None
        # One swscale context for the stream: frame.to_ndarray(**args) would set up a new one
        # (and its thread pool) for every frame, ~4 ms of each 1080p conversion.
        self._reformatter = VideoReformatter()
        self._scaler = VideoReformatter()   # display-size conversions (to_array_scaled)
        self._y_to_L: dict[str, np.ndarray] = {}   # per pixel format (luminance_of)
        self._skip_below = -(1 << 62)  # pts below which non-reference pictures may be skipped
        self._open()

    # ------------------------------------------------------------------ decoder plumbing
    def _open(self) -> None:
        self._container = container = av.open(self.path)
        stream = container.streams.video[self._stream_index]
        # Slice threads, not frame threads: a seek waits for the target picture, and frame
        # threading only pipelines pictures (each P-picture waits for the one before it). On two
        # idle cores it did not shorten a 1080p single-slice H.264 seek (58 ms either way) and
        # cost ~15% more CPU (pictures in flight past the target, flushed at the next seek).
        # Slice threads decode the slices of one picture at once: 40 instead of 57 ms with two.
        stream.thread_type = "SLICE"
        self._stream = stream
        self._frames = self._decode_from_here()
        self._last = -1
        self._seek_floor = None

    def _decode_from_here(self) -> Iterator[av.VideoFrame]:
        """Decoded frames from the demuxer's current position; skips damaged packets instead of
        stopping, and flushes the decoder at the end of the stream. Non-reference pictures that
        lie before `self._skip_below` (far before the target) are not decoded at all: nothing
        depends on them, and with B-frames that roughly halves the cost of a long-GOP seek."""
        ctx = self._stream.codec_context
        skipping = False
        assert self._container is not None  # open (the generator is made by _open and _seek)
        for packet in self._packets(self._container, self._stream):
            if packet.is_corrupt:
                continue
            want_skip = packet.pts is not None and packet.pts < self._skip_below
            if want_skip != skipping:
                ctx.skip_frame = "NONREF" if want_skip else "DEFAULT"
                skipping = want_skip
            try:
                frames = packet.decode()  # the empty end-of-stream packet drains the decoder
            except (av.InvalidDataError, av.error.PermissionError, ValueError):
                continue
            yield from frames
        if skipping:
            ctx.skip_frame = "DEFAULT"

    def _packets(self, container: av.container.InputContainer,
                 stream: av.video.stream.VideoStream) -> Iterable[av.Packet]:
        """The stream's packets; DivX packed B-frames unpacked with true times (media_divx)."""
        packets = container.demux(stream)
        return media_divx.unpack(packets) if self.index.packed else packets

    def _seek(self, key_pts: int | None) -> None:
        self.seeks += 1
        assert self._container is not None, "seek on a closed VideoSource"
        if key_pts is None:
            # before the first keyframe: only a fresh start decodes from the very beginning
            self._container.close()
            self._open()
            return
        self._container.seek(int(key_pts), stream=self._stream, backward=True, any_frame=False)
        self._frames = self._decode_from_here()
        self._last = -1
        self._seek_floor = key_pts

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
            self._frames = None

    def first_output_index(self) -> int:
        """Index of the first frame the decoder really outputs from the start (-1: none).
        Uses its own container so the reader's decoder position is untouched."""
        if self.index.ordinal:
            return 0
        with av.open(self.path) as c:
            stream = c.streams.video[self._stream_index]
            for packet in self._packets(c, stream):
                if packet.is_corrupt:
                    continue
                try:
                    frames = packet.decode()
                except (av.InvalidDataError, av.error.PermissionError, ValueError):
                    continue
                for frame in frames:
                    p = frame.pts if frame.pts is not None else frame.dts
                    if p is None:
                        return 0
                    j = int(np.searchsorted(self.index.pts, p))
                    return j if j < self.index.frame_count else -1
        return -1

    # ------------------------------------------------------------------ conversion
    def to_array(self, frame: av.VideoFrame) -> np.ndarray:
        args = self._convert_args
        if args is None:
            args = self._convert_args = _conversion_for(frame, self.bit_depth)
        arr: np.ndarray = self._reformatter.reformat(frame, threads=_CONVERT_THREADS, **args).to_ndarray()
        if self.crop is not None:
            w, h = self.crop
            arr = np.ascontiguousarray(arr[:h, :w])
        return arr

    def to_array_scaled(self, frame: av.VideoFrame, size: tuple[int, int]) -> np.ndarray | None:
        """uint8 RGB of `frame` scaled to size (w, h) by swscale in one pass, for a display that
        shows it smaller; None for a cropped picture (the caller scales the full conversion).

        Area averaging with full chroma interpolation: on 1080p H.264 shown at 1140x641 it is
        within 0.2 levels on average (p99 1) of the accurate full-size conversion scaled with
        INTER_AREA, at half its cost (11 vs 22 ms of CPU). Its own swscale context, so the
        full-size one is not rebuilt at every switch."""
        if self.crop is not None:
            return None
        args = self._convert_args
        if args is None:
            args = self._convert_args = _conversion_for(frame, self.bit_depth)
        w, h = size
        scaled = self._scaler.reformat(frame, width=w, height=h, threads=_CONVERT_THREADS,
                                       **{**args, "format": "rgb24", "interpolation": _SCALE_INTERP})
        arr: np.ndarray = scaled.to_ndarray()
        return arr

    def luminance_of(self, frame: av.VideoFrame) -> np.ndarray | None:
        """L (float32, 0..100) of a neutral 8-bit Y'CbCr picture straight from its Y plane, or
        None when the picture is not one (colour, RGB, deeper formats): then the caller takes
        the L of the RGB frame.

        A black-and-white film decodes to Cb = Cr = 128, where swscale's RGB is a function of Y
        alone; the table holds, for each Y, the L that core.color.luminance gives that very RGB
        (built by swscale itself on a ramp, so it is the same number, not a re-derivation). It
        skips the full RGB conversion and the neutrality check of each exported frame."""
        sub = _PLANAR_8BIT.get(frame.format.name)
        if sub is None or self.bit_depth > 8:
            return None
        w, h = self.crop if self.crop is not None else (frame.width, frame.height)
        cw, ch = -(-w // sub[0]), -(-h // sub[1])
        for k in (1, 2):
            lo, hi, _, _ = cv2.minMaxLoc(_plane(frame, k, cw, ch))
            if lo != 128 or hi != 128:
                return None
        table = self._y_to_L.get(frame.format.name)
        if table is None:
            table = self._y_to_L[frame.format.name] = self._luminance_table(frame)
        if table.size == 0:
            return None
        return cv2.LUT(_plane(frame, 0, w, h), table)

    def _luminance_table(self, frame: av.VideoFrame) -> np.ndarray:
        """Y -> L through this stream's own conversion (empty when neutral is not gray)."""
        from ..color import gray_to_L
        args = self._convert_args
        if args is None:
            args = self._convert_args = _conversion_for(frame, self.bit_depth)
        ramp = av.VideoFrame(256, 2, frame.format.name)
        for k, plane in enumerate(ramp.planes):
            rows = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
            if k == 0:
                rows[:] = np.arange(plane.line_size, dtype=np.int64).clip(0, 255)[None, :]
            else:
                rows[:] = 128
        rgb = VideoReformatter().reformat(ramp, **args).to_ndarray()[:, :256]
        if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])
                and np.array_equal(rgb[0], rgb[1])):
            return np.empty(0, np.float32)
        out: np.ndarray = gray_to_L()[rgb[0, :, 0]].astype(np.float32)
        return out

    # ------------------------------------------------------------------ random access
    def read(self, i: int, keep: Callable[[int, object], None], keep_from: int,
             convert: bool = True) -> np.ndarray | av.VideoFrame:
        """Frame i as uint8 (or uint16 for 16-bit) RGB, or with convert=False the decoded frame
        (for to_array later). Decoded frames keep_from..i-1 met on the way are passed to keep()
        unconverted (conversion costs more than decoding; it happens only if they are asked for)."""
        target = int(self.index.pts[i])
        # without timestamps the container cannot seek: only a fresh start is a known position
        key = None if self.index.ordinal else self.index.keyframe_at_or_before(target)
        keep_from = max(0, min(keep_from, i))
        self._skip_below = int(self.index.pts[keep_from])
        if not self._can_run_forward_to(i, key):
            self._seek(key)
        try:
            return self._run_to(i, target, keep, keep_from, convert)
        except DecodeFailure:
            # The seek landed after the target (imprecise container seeking) or a frame went
            # missing on the way: try once more from the previous keyframe, decoding everything.
            self._skip_below = -(1 << 62)
            if key is None:
                raise
            earlier = self.index.keyframe_at_or_before(key - 1)
            self._seek(earlier)
            return self._run_to(i, target, keep, keep_from, convert)

    def frames_to_decode(self, i: int) -> int:
        """About how many pictures read(i) would decode from the current position (for callers
        that can show something cheaper meanwhile, such as a display proxy)."""
        target = int(self.index.pts[i])
        key = None if self.index.ordinal else self.index.keyframe_at_or_before(target)
        if self._can_run_forward_to(i, key):
            return i - max(self._last, -1)
        key_i = 0 if key is None else int(np.searchsorted(self.index.pts, key))
        return i - key_i + 1

    def _can_run_forward_to(self, i: int, key: int | None) -> bool:
        """Whether decoding on from the current position reaches frame i without a seek
        being faster. Position -1 means "at the start" only after a fresh open."""
        if self._last >= self.index.frame_count or i <= self._last:
            return False  # exhausted, or going backwards
        if self._last < 0 and self._seek_floor is not None:
            return False  # sought but nothing decoded yet: just seek again
        if key is None:
            return True
        key_i = int(np.searchsorted(self.index.pts, key))
        # a keyframe well past here: seeking to it skips decoding everything before it
        return key_i <= self._last + _SEEK_SLACK

    def _run_to(self, i: int, target: int, keep: Callable[[int, object], None], keep_from: int,
                convert: bool) -> np.ndarray | av.VideoFrame:
        index = self.index
        assert self._frames is not None, "read on a closed VideoSource"
        for frame in self._frames:
            self.decoded += 1
            p = None if index.ordinal else (frame.pts if frame.pts is not None else frame.dts)
            j = index.index_of(p) if p is not None else self._last + 1
            if j < 0:
                continue
            if self._seek_floor is not None and index.pts[j] < self._seek_floor:
                continue  # open-GOP leading pictures after a seek reference frames we skipped
            if j > i:
                self._last = j
                raise DecodeFailure(f"decoder went past frame {i} (at {j})")
            self._last = j
            if j == i:
                return self.to_array(frame) if convert else frame
            if j >= keep_from:
                keep(j, frame)
        self._last = index.frame_count  # exhausted: any further read must seek
        raise DecodeFailure(f"stream ended before frame {i}")


def _conversion_for(frame: av.VideoFrame, bit_depth: int) -> dict[str, Any]:
    """to_ndarray arguments: explicit YUV matrix and range, because untagged files are common and
    swscale's guess (BT.601 everywhere) is wrong for HD."""
    fmt = frame.format
    out = "rgb48le" if bit_depth > 8 else "rgb24"
    args: dict[str, Any] = {"format": out, "interpolation": _INTERP}
    if fmt.is_rgb or fmt.name.startswith("gray") or fmt.name.startswith("ya"):
        return args
    cs = int(frame.colorspace)
    if cs == 1:
        space = Colorspace.ITU709
    elif cs in (9, 10):
        space = Colorspace.BT2020
    elif cs in (5, 6):
        space = Colorspace.ITU601
    elif cs == 7:
        space = Colorspace.SMPTE240M
    else:  # unspecified: the usual player convention
        space = Colorspace.ITU709 if frame.height >= 720 else Colorspace.ITU601
    rng = int(frame.color_range)
    if rng == 0:
        rng = 2 if fmt.name.startswith("yuvj") else 1
    args.update(src_colorspace=space, src_color_range=ColorRange.JPEG if rng == 2 else ColorRange.MPEG)
    return args


def pixel_bit_depth(pix_fmt: str | av.VideoFormat) -> int:
    """8 or 16: whether a decoded pixel format carries more than 8 bits per component."""
    try:
        fmt = av.VideoFormat(pix_fmt) if isinstance(pix_fmt, str) else pix_fmt
        bits = max(c.bits for c in fmt.components)
    except (ValueError, AttributeError, TypeError):
        return 8
    return 16 if bits > 8 else 8


def frame_time(index: StreamIndex, i: int, fps: Fraction) -> Fraction:
    """Seconds from the first frame to frame i."""
    if index.ordinal:
        return Fraction(i) / fps
    return Fraction(int(index.pts[i] - index.pts[0])) * index.time_base
