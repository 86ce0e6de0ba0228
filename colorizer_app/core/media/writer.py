"""Film output: H.264 .mp4, ProRes 422 HQ .mov, FFV1 .mkv, or PNG/TIFF image sequences.

Atomic: frames go to a temp file (".name.<pid>-<id>.partial.ext") or temp folder
(".name.<pid>-<id>.partial/") next to the output, unique to the writer and renamed into place by
close(); abort() (or an exception inside `with`) removes it, so a name that looks complete is
always a complete film, and of two runs writing one output the last to finish wins whole (see
core.media.writer_paths, which also removes what killed runs left and refuses to write over the input).

Timing is exact: the stream time base is 1/fps as a Fraction and frame k has pts k (Matroska
stores milliseconds, so there pts are k/fps rounded; its default duration keeps the exact rate).
Variable-rate sources: with `time_base`, write(rgb, t) keeps each frame's own time t (seconds
from the first written frame) in mp4/mov/mkv, so picture and sound stay as the source had them.

Odd sizes: 4:2:0 H.264 and 4:2:2 ProRes need even dimensions and the H.264 crop fields work in
2-pixel units, so the picture is padded by repeating its last row/column, and the true size is
stored as container metadata "bentocolor_size=WxH"; core.media crops it back on read. Other
players show the one extra edge line. FFV1 and images keep any size as is.
"""
from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import cv2
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, Interpolation
from numpy.typing import NDArray

from . import MediaError
from .audio import LEAD, AudioFeed
from .video import CROP_TAG
from .writer_paths import input_conflict, remove_stale_temps, temp_name

# RGB -> YUV with proper chroma filtering (the fast path aliases fine colour detail).
_INTERP = Interpolation.BICUBIC | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INP
_BT709 = 1       # AVCOL_PRI/TRC/SPC_BT709
_RANGE_TV = 1    # AVCOL_RANGE_MPEG
_VIDEO = {
    # suffix: (muxer, encoder)
    ".mp4": ("mp4", "libx264"),
    ".m4v": ("mp4", "libx264"),
    ".mov": ("mov", "prores_ks"),
    ".mkv": ("matroska", "ffv1"),
}
_IMAGE_EXTS = {".png", ".tif", ".tiff"}
_PATTERN = re.compile(r"%0?\d*d|#+")


class WriterError(MediaError):
    """Output cannot be written; one line naming the file."""


def open_writer(out: str | os.PathLike[str], width: int, height: int, fps: float | Fraction,
                audio_from: str | None = None, bit_depth: int = 8, start_number: int = 0, *,
                audio_start_frame: int = 0, crf: int = 16, preset: str = "medium",
                protect: Iterable[str | os.PathLike[str]] = (),
                time_base: float | Fraction | None = None,
                audio_start: float | Fraction | None = None) -> FrameWriter:
    """Open an atomic writer; the format follows OUT (see module doc). `audio_start_frame`: the
    source frame the first written frame corresponds to (audio is taken from there on;
    `audio_start`, in seconds from the source's first frame, overrides it for VFR sources).
    `start_number`: first number of an image sequence. `protect`: the inputs being read (the film,
    the audio source is always one): writing over or into them is refused. `time_base`: keep the
    per-frame times given to write() (variable frame rate) at this resolution."""
    out = os.fspath(out)
    fps = Fraction(fps)
    if width <= 0 or height <= 0 or fps <= 0:
        raise WriterError(f"Cannot write '{out}': bad size {width}x{height} or rate {fps}")
    if bit_depth not in (8, 16):
        raise WriterError(f"Cannot write '{out}': bit depth must be 8 or 16, not {bit_depth}")
    refuse_input_as_output(out, list(protect) + ([audio_from] if audio_from else []))
    check_output_kind(out)
    suffix = Path(out).suffix.lower()
    if suffix in _VIDEO:
        start = Fraction(audio_start) if audio_start is not None else Fraction(audio_start_frame) / fps
        return _VideoWriter(out, width, height, fps, audio_from, bit_depth, start,
                            crf, preset, Fraction(time_base) if time_base else None)
    return _ImageWriter(out, width, height, fps, bit_depth, start_number)


def check_output_kind(out: str | os.PathLike[str]) -> None:
    """WriterError unless OUT names something open_writer can write (a movie file that is not a
    folder, an image folder, or a .png/.tif pattern); creates nothing, so a command can refuse
    before any work."""
    out = os.fspath(out)
    p = Path(out)
    suffix = p.suffix.lower()
    if suffix in _VIDEO:
        if p.is_dir():
            raise WriterError(f"Cannot write '{out}': a folder has that name")
        return
    if _PATTERN.search(p.name):
        if suffix not in _IMAGE_EXTS:
            raise WriterError(f"Cannot write '{out}': image sequences are .png, .tif or .tiff")
        return
    if suffix == "" or p.is_dir():
        if p.exists() and not p.is_dir():
            raise WriterError(f"Cannot write '{out}': '{p}' is a file")
        return
    raise WriterError(f"Cannot write '{out}': unknown output type (use .mp4, .mov, .mkv, "
                      f"a folder or a pattern like shot_%04d.png / .tif)")


def refuse_input_as_output(out: str | os.PathLike[str],
                           inputs: Iterable[str | os.PathLike[str]]) -> None:
    """WriterError when `out` is, or would write into, one of `inputs` (writer_paths)."""
    for src in inputs:
        why = input_conflict(os.fspath(out), os.fspath(src))
        if why:
            raise WriterError(f"Cannot write '{os.fspath(out)}': {why}; choose another output")


class FrameWriter:
    """Common part: frame checking/conversion, atomic finish, context manager."""

    def __init__(self, out: str, width: int, height: int, fps: Fraction, bit_depth: int):
        self.path = out
        self.width, self.height, self.fps, self.bit_depth = width, height, fps, bit_depth
        self.frames_written = 0
        self.closed = False

    @property
    def picture_dtype(self) -> type:
        """The picture type this writer stores as given: uint8 for 8-bit files; float32 RGB in
        [0, 1] where it keeps more than 8 bits (it converts to its depth itself)."""
        return np.uint8 if self.bit_depth == 8 else np.float32

    def write(self, rgb: np.ndarray, t: float | Fraction | None = None) -> None:
        """Append a frame; `t`: its time in seconds from the first written frame (kept only by
        a video writer opened with a time_base; others space frames at 1/fps)."""
        if self.closed:
            raise WriterError(f"'{self.path}': the writer is closed")
        self._write(self._check(rgb), t)
        self.frames_written += 1

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self._finish()
            except BaseException:
                self._discard()
                raise

    def abort(self) -> None:
        if not self.closed:
            self.closed = True
            self._discard()

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _check(self, rgb: np.ndarray) -> np.ndarray:
        arr = np.asarray(rgb)
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=2)
        elif arr.ndim == 3 and arr.shape[2] == 4:
            arr = arr[..., :3]
        if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[:2] != (self.height, self.width):
            raise WriterError(f"'{self.path}': frame of shape {arr.shape} does not match "
                              f"{self.width}x{self.height} RGB")
        if arr.dtype not in (np.uint8, np.uint16) and not np.issubdtype(arr.dtype, np.floating):
            raise WriterError(f"'{self.path}': unsupported frame type {arr.dtype}")
        return arr

    # subclass hooks
    def _write(self, arr: np.ndarray, t: float | Fraction | None) -> None: ...
    def _finish(self) -> None: ...
    def _discard(self) -> None: ...


def as_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if arr.dtype == np.uint16:
        return ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)
    u8: NDArray[np.uint8] = (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return u8


def as_uint16(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint16:
        return np.ascontiguousarray(arr)
    if arr.dtype == np.uint8:
        return arr.astype(np.uint16) * 257
    u16: NDArray[np.uint16] = (np.clip(arr, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)
    return u16


def _check_folder_writable(folder: Path, out: str) -> None:
    if not folder.is_dir():
        raise WriterError(f"Cannot write '{out}': folder '{folder}' does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise WriterError(f"Cannot write '{out}': folder '{folder}' is not writable")


# ---------------------------------------------------------------------------- video files
class _VideoWriter(FrameWriter):
    def __init__(self, out: str, width: int, height: int, fps: Fraction, audio_from: str | None,
                 bit_depth: int, audio_start: Fraction, crf: int, preset: str,
                 time_base: Fraction | None = None):
        super().__init__(out, width, height, fps, bit_depth)
        target = Path(out)
        _check_folder_writable(target.parent, out)
        if target.is_dir():
            raise WriterError(f"Cannot write '{out}': a folder has that name")
        self._muxer, encoder = _VIDEO[target.suffix.lower()]
        self._tb = time_base or Fraction(1) / fps
        self._timed = time_base is not None
        self._last_pts = -1
        remove_stale_temps(target.parent)
        self.temp_path = str(temp_name(target.parent, target.stem, target.suffix))
        # 4:2:0 / 4:2:2 need even sizes: pad and record the true size (module doc)
        even = encoder in ("libx264", "prores_ks")
        self._pad = (width % 2 if even else 0, height % 2 if even else 0)
        options: dict[str, str] = {}
        if self._muxer in ("mp4", "mov"):
            options["movflags"] = "+faststart" + ("+use_metadata_tags" if any(self._pad) else "")
        try:
            # create the temp file now: PyAV opens it lazily at the first packet, and an
            # unwritable place must fail here, before any rendering work
            open(self.temp_path, "wb").close()
            self._c = av.open(self.temp_path, "w", format=self._muxer, options=options)
        except (av.FFmpegError, OSError) as exc:
            raise WriterError(f"Cannot write '{out}': {getattr(exc, 'strerror', None) or exc}") from None
        self._audio: AudioFeed | None = None
        try:
            self._stream = self._add_video(encoder, crf, preset)
            if any(self._pad):
                self._c.metadata[CROP_TAG] = f"{width}x{height}"
            if audio_from is not None:
                self._audio = self._add_audio(audio_from, audio_start)
        except BaseException:
            self._discard()
            raise

    def _add_video(self, encoder: str, crf: int, preset: str) -> av.VideoStream:
        s = self._c.add_stream(encoder, rate=self.fps)
        s.width, s.height = self.width + self._pad[0], self.height + self._pad[1]
        s.time_base = self._tb
        s.codec_context.time_base = self._tb
        cc = s.codec_context
        if encoder == "libx264":
            s.pix_fmt = "yuv420p"  # the only H.264 flavour every player decodes
            s.options = {"crf": str(crf), "preset": preset, "profile": "high"}
        elif encoder == "prores_ks":
            s.pix_fmt = "yuv422p10le"
            s.options = {"profile": "3", "vendor": "apl0"}  # 422 HQ; apl0 keeps Apple tools happy
        else:
            # lossless RGB: no YUV round trip at all
            s.pix_fmt = "gbrp16le" if self.bit_depth == 16 else "bgr0"
            s.options = {"level": "3", "slicecrc": "1", "g": "1"}
        if encoder != "libx264":  # x264 threads itself; ProRes/FFV1 need slice threads asked for
            cc.thread_type, cc.thread_count = "AUTO", 0
        self._yuv = encoder != "ffv1"
        if self._yuv:
            cc.color_primaries, cc.color_trc, cc.colorspace, cc.color_range = _BT709, _BT709, _BT709, _RANGE_TV
        self._deep = encoder == "prores_ks" or self.bit_depth == 16  # feed 16-bit RGB
        return s

    def _add_audio(self, audio_from: str, start: Fraction) -> AudioFeed | None:
        if not os.path.exists(audio_from):
            raise WriterError(f"Cannot write '{self.path}': audio source '{audio_from}' not found")
        try:
            return AudioFeed(audio_from, self._c, self._muxer, start)
        except LookupError:
            return None  # the source is silent: a silent render is the right output
        except av.FFmpegError as exc:
            raise WriterError(f"Cannot write '{self.path}': cannot read audio from '{audio_from}' ({exc})") from None

    @property
    def audio_codec(self) -> str | None:
        return self._audio.codec if self._audio else None

    @property
    def picture_dtype(self) -> type:
        return np.float32 if self._deep else np.uint8    # ProRes is fed 16-bit RGB

    def _write(self, arr: np.ndarray, t: float | Fraction | None) -> None:
        if self._deep and arr.dtype != np.uint8:
            data, fmt = as_uint16(arr), "rgb48le"
        else:
            data, fmt = as_uint8(arr), "rgb24"
        if any(self._pad):
            data = np.pad(data, ((0, self._pad[1]), (0, self._pad[0]), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(data, format=fmt)
        if self._yuv:
            frame = frame.reformat(format=self._stream.pix_fmt, dst_colorspace=Colorspace.ITU709,
                                   dst_color_range=ColorRange.MPEG, interpolation=_INTERP)
        if self._timed and t is not None:
            # the source's own time, never equal to or before the previous frame's
            pts = max(int(round(Fraction(t) / self._tb)), self._last_pts + 1)
        else:
            pts = self._last_pts + 1 if self._timed else self.frames_written
        self._last_pts = pts
        frame.pts = pts
        frame.time_base = self._stream.codec_context.time_base
        try:
            for pkt in self._stream.encode(frame):
                self._c.mux(pkt)
            if self._audio is not None:
                self._audio.feed_until(self._end_time() - LEAD)
        except av.FFmpegError as exc:
            raise WriterError(f"'{self.path}': writing failed: {exc}") from None

    def _finish(self) -> None:
        try:
            for pkt in self._stream.encode(None):
                self._c.mux(pkt)
            if self._audio is not None:
                self._audio.feed_until(self._end_time(), final=True)
            self._c.close()
        except av.FFmpegError as exc:
            raise WriterError(f"'{self.path}': finishing the file failed: {exc}") from None
        os.replace(self.temp_path, self.path)

    def _end_time(self) -> Fraction:
        """Output time where the last written frame ends (its pts plus an average frame)."""
        if self._last_pts < 0:
            return Fraction(0)
        return self._last_pts * self._tb + Fraction(1) / self.fps if self._timed \
            else Fraction(self._last_pts + 1) / self.fps

    def _discard(self) -> None:
        if self._audio is not None:
            self._audio.close()
        try:
            self._c.close()
        except Exception:  # half-written container: only removing it matters now
            pass
        try:
            os.unlink(self.temp_path)
        except FileNotFoundError:
            pass


# ---------------------------------------------------------------------------- image sequences
class _ImageWriter(FrameWriter):
    """PNG (8/16-bit) or TIFF (always 16-bit) into a hidden temp folder, moved in at close()."""

    def __init__(self, out: str, width: int, height: int, fps: Fraction, bit_depth: int,
                 start_number: int):
        super().__init__(out, width, height, fps, bit_depth)
        p = Path(out)
        if _PATTERN.search(p.name):
            self.folder, name = p.parent, p.name
            if Path(name).suffix.lower() not in _IMAGE_EXTS:
                raise WriterError(f"Cannot write '{out}': image sequences are .png, .tif or .tiff")
        else:
            self.folder, name = p, "frame_%06d.png"
        self._printf = re.sub(r"#+", lambda m: f"%0{len(m.group(0))}d", name)
        ext = Path(name).suffix.lower()
        self._tiff = ext in (".tif", ".tiff")
        if self._tiff:
            self.bit_depth = 16  # the contract: TIFF output is 16-bit
        parent = self.folder if self.folder.is_dir() else self.folder.parent
        _check_folder_writable(parent, out)
        if self.folder.exists() and not self.folder.is_dir():
            raise WriterError(f"Cannot write '{out}': '{self.folder}' is a file")
        tag = Path(name).stem.replace("%", "").replace("#", "") or "frames"
        base = self.folder if self.folder.is_dir() else self.folder.parent
        prefix = f".{self.folder.name}" if base is not self.folder else f".{tag}"
        # unique per writer: render-farm nodes write ranges of one pattern into one folder at once
        remove_stale_temps(base)
        self.temp_path = str(temp_name(base, prefix[1:]))
        try:
            os.mkdir(self.temp_path)
        except OSError as exc:
            raise WriterError(f"Cannot write '{out}': {exc.strerror}") from None
        self._number = start_number
        self._names: list[str] = []
        params = [cv2.IMWRITE_PNG_COMPRESSION, 1]  # fastest zlib level: ~40% faster than 3, ~10% larger
        if self._tiff:
            params = [cv2.IMWRITE_TIFF_COMPRESSION, 5]  # LZW: lossless, read everywhere
        self._params = params

    @property
    def audio_codec(self) -> None:
        return None

    def _write(self, arr: np.ndarray, t: float | Fraction | None) -> None:
        data = as_uint16(arr) if self.bit_depth == 16 else as_uint8(arr)
        name = self._printf % self._number
        target = os.path.join(self.temp_path, name)
        ok = cv2.imwrite(target, cv2.cvtColor(data, cv2.COLOR_RGB2BGR), self._params)
        if not ok:
            raise WriterError(f"'{self.path}': could not write image '{name}'")
        self._names.append(name)
        self._number += 1

    def _finish(self) -> None:
        if not self.folder.exists():
            try:
                os.replace(self.temp_path, self.folder)  # one atomic rename for a new folder
                return
            except OSError:  # another writer created the folder first: move our files in
                self.folder.mkdir(parents=True, exist_ok=True)
        for name in self._names:
            os.replace(os.path.join(self.temp_path, name), self.folder / name)
        shutil.rmtree(self.temp_path, ignore_errors=True)

    def _discard(self) -> None:
        shutil.rmtree(self.temp_path, ignore_errors=True)
