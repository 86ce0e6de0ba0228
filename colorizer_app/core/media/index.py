"""Stream indexing for core.media: demux (no decode) to learn what a video file really holds.

Container headers are often wrong (edited AVIs, truncated MKV/MP4, VFR phone footage), so the
frame count, per-frame timestamps and keyframes come from the packets themselves.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
import numpy as np

# Rates tried (after the container's own claims) when checking whether timestamps are regular.
_COMMON_RATES = [Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001),
                 Fraction(30), Fraction(48), Fraction(50), Fraction(60000, 1001), Fraction(60),
                 Fraction(16), Fraction(18), Fraction(20), Fraction(12), Fraction(15),
                 Fraction(120), Fraction(100)]


@dataclass
class StreamIndex:
    pts: np.ndarray                 # int64, presentation order: pts of frame i (stream time base)
    key_pts: np.ndarray             # int64, sorted pts of keyframes (seek points)
    time_base: Fraction
    truncated: bool = False         # demuxing ended early / partial packets / header says more
    ordinal: bool = False           # no timestamps (raw .h264 and the like): pts = frame order
    notes: list[Any] = field(default_factory=list)
    # DivX/Xvid "packed B-frames" (MPEG-4 Part 2, mostly AVI): one picture per packet slot in
    # display order, but the decoder's output timestamps are shuffled, so frames are counted
    packed: bool = False

    @property
    def frame_count(self) -> int:
        return int(self.pts.size)

    def index_of(self, pts: int) -> int:
        """Frame index of an exact pts, or -1."""
        i = int(np.searchsorted(self.pts, pts))
        return i if i < self.pts.size and self.pts[i] == pts else -1

    def keyframe_at_or_before(self, pts: int) -> int | None:
        """pts of the last keyframe at or before `pts` (None: none, decode from the start)."""
        j = int(np.searchsorted(self.key_pts, pts, side="right")) - 1
        return int(self.key_pts[j]) if j >= 0 else None


def build_index(path: str, stream_index: int) -> StreamIndex:
    """Demux every packet of one video stream, without decoding."""
    pts_list: list[int] = []
    key_list: list[int] = []
    truncated = False
    ordinal = False
    notes: list[str] = []
    order = 0
    packed = False
    with av.open(path) as container:
        stream = container.streams.video[stream_index]
        tb = stream.time_base or Fraction(1, 90000)
        mpeg4 = stream.codec_context.name == "mpeg4"
        if mpeg4 and _divx_packed(bytes(stream.codec_context.extradata or b"")):
            packed = True
        try:
            for packet in container.demux(stream):
                if packet.size == 0:  # the flush packet at end of stream
                    continue
                if packet.is_corrupt:  # a partial packet: the file was cut inside it
                    truncated = True
                    continue
                if mpeg4 and order < 4 and not packed:  # the headers come with the first packets
                    packed = _divx_packed(bytes(packet))
                ts = packet.pts if packet.pts is not None else packet.dts
                if packed and packet.dts is not None:
                    # one packet per display slot: the stored (decode) time is the slot's; the
                    # pts a parser guessed for B-frame reordering is not
                    ts = packet.dts
                if ts is None:  # no timestamps at all (raw streams): order is all we know
                    ordinal = True
                    ts = order
                order += 1
                if packet.is_keyframe:
                    key_list.append(ts)
                # Packets the edit list drops are decoded (they may be references) but never
                # output, so they are seek points at most, never frames.
                if not packet.is_discard:
                    pts_list.append(ts)
        except av.FFmpegError as exc:
            truncated = True
            notes.append(f"demuxing stopped early: {exc}")
    if ordinal:  # mixed or missing timestamps cannot be trusted at all: count frames
        pts = np.arange(len(pts_list), dtype=np.int64)
        keys = np.zeros(1, dtype=np.int64)
    else:
        pts = np.unique(np.asarray(pts_list, dtype=np.int64))
        keys = np.unique(np.asarray(key_list, dtype=np.int64))
    return StreamIndex(pts=pts, key_pts=keys, time_base=Fraction(tb), truncated=truncated,
                       ordinal=ordinal, notes=notes, packed=packed)


# The user data DivX/Xvid write; a trailing "p" tells FFmpeg's decoder to unpack B-frames.
_DIVX_PACKED = re.compile(rb"\x00\x00\x01\xb2DivX\d+(?:Build|b)\d+p")


def _divx_packed(data: bytes) -> bool:
    return bool(_DIVX_PACKED.search(data[:4096]))


def detect_rate(pts: np.ndarray, time_base: Fraction, claimed: list[Any]) -> tuple[Fraction, bool]:
    """(fps, vfr). A stream is constant-rate when every pts lies within one tick (container
    rounding, e.g. MKV's milliseconds) of first + k / rate for some plausible rate; the container's
    own claims are tried first because short clips fit neighbouring rates too. Otherwise it is
    variable-rate and fps is the average (n - 1) / (last - first) as an exact Fraction."""
    candidates = []
    for rate in list(claimed) + _COMMON_RATES:
        if rate and rate > 0 and rate not in candidates:
            candidates.append(Fraction(rate))
    n = pts.size
    if n < 2:
        return (candidates[0] if candidates else Fraction(24)), False
    rel = (pts - pts[0]).astype(np.float64)
    k = np.arange(n, dtype=np.float64)
    ticks_per_second = float(1 / time_base)
    for rate in candidates:
        expected = k * ticks_per_second / float(rate)
        if np.max(np.abs(rel - expected)) <= 1.0 + 1e-6:
            return rate, False
    span = Fraction(int(pts[-1] - pts[0])) * time_base
    return Fraction(n - 1) / span, True


def header_frame_count(stream: av.video.stream.VideoStream,
                       container: av.container.InputContainer) -> int | None:
    """What the container claims: nb_frames, or its duration times the stated rate."""
    if stream.frames:
        return int(stream.frames)
    rate = stream.average_rate or stream.guessed_rate
    if not rate:
        return None
    seconds = None
    tag = {k.upper(): v for k, v in (stream.metadata or {}).items()}.get("DURATION")
    if tag:
        seconds = _parse_hms(tag)
    if seconds is None and stream.duration and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
    if seconds is None and container.duration:
        seconds = container.duration / 1_000_000
    if seconds is None:
        return None
    return int(round(seconds * float(rate)))


def _parse_hms(text: str) -> float | None:
    try:
        h, m, s = text.split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)
    except ValueError:
        return None


def file_cut_short(path: str) -> bool:
    """True when the container's own size fields promise more bytes than the file has
    (MKV/WebM Segment size, AVI RIFF size). Cheap: reads the first few KB."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return int.from_bytes(head[4:8], "little") + 8 > size
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return _ebml_segment_end(head) > size
    if head[4:8] in _ISO_TOP_BOXES:
        return _iso_boxes_end(path, size) > size
    return False


# top-level boxes an MP4/MOV starts with (ftyp, or moov/mdat/wide in old QuickTime files)
_ISO_TOP_BOXES = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot", b"styp"}


def _iso_boxes_end(path: str, size: int) -> int:
    """Byte offset where the last top-level MP4/MOV box ends by its size field: past the file's
    size when the file was cut inside a box (the media data, usually). 0 when unreadable."""
    pos = 0
    try:
        with open(path, "rb") as fh:
            while pos < size:
                fh.seek(pos)
                header = fh.read(16)
                if len(header) < 8:
                    return pos + 8          # a box header cut in half
                box = int.from_bytes(header[:4], "big")
                if box == 1:
                    if len(header) < 16:
                        return pos + 16
                    box = int.from_bytes(header[8:16], "big")
                elif box == 0:              # "to the end of the file"
                    return size
                if box < 8:
                    return 0                # not a box structure we understand: no claim
                pos += box
    except OSError:
        return 0
    return pos


def _ebml_vint(buf: bytes, pos: int, strip_marker: bool) -> tuple[int, int, bool]:
    """(value, new position, all-ones 'unknown size') of an EBML variable-length integer."""
    first = buf[pos]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        raise ValueError("bad EBML vint")
    value = first & (0xFF >> length) if strip_marker else first
    for b in buf[pos + 1:pos + length]:
        value = (value << 8) | b
    unknown = strip_marker and value == (1 << (7 * length)) - 1
    return value, pos + length, unknown


def _ebml_segment_end(head: bytes) -> int:
    """Byte offset where the MKV Segment ends according to its size field (0 if unknown)."""
    try:
        _, pos, _ = _ebml_vint(head, 0, False)            # EBML header id
        size, pos, _ = _ebml_vint(head, pos, True)
        pos += size
        seg_id, pos, _ = _ebml_vint(head, pos, False)
        if seg_id != 0x18538067:
            return 0
        size, pos, unknown = _ebml_vint(head, pos, True)
        return 0 if unknown else pos + size
    except (IndexError, ValueError):
        return 0
