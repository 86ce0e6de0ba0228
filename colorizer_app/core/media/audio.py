"""Audio for core.media.writer: carry a source file's sound into a rendered film, trimmed to the span of
the written frames and muxed as the video is written (so the file interleaves properly).

Copy when the output container takes the codec (no generation loss; the first packet at or after
the span start is kept, so sync is exact and at most one packet (~20 ms) of silence leads);
otherwise decode, trim sample-exactly and re-encode (AAC for mp4/mov, FLAC for mkv).
"""
from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

# Codecs each container carries that common players also play.
COPYABLE = {
    "mp4": {"aac", "mp3", "ac3", "eac3", "alac"},
    "mov": {"aac", "mp3", "ac3", "alac", "pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_s24be",
            "pcm_f32le"},
    "matroska": {"aac", "mp3", "ac3", "eac3", "flac", "opus", "vorbis", "alac", "pcm_s16le",
                 "pcm_s24le", "pcm_s32le", "pcm_f32le", "dts", "truehd"},
}
REENCODE = {"mp4": "aac", "mov": "aac", "matroska": "flac"}
LEAD = Fraction(1)


class AudioFeed:
    """Feeds audio packets for output times [0, video_time) into `out` as video advances."""

    def __init__(self, source_path: str, out_container: av.container.OutputContainer,
                 out_format: str, start: Fraction):
        self._src = av.open(source_path)
        streams = self._src.streams
        if not streams.audio:
            self._src.close()
            raise LookupError("no audio stream")
        self._in = streams.audio[0]
        video_start = Fraction(0)
        if streams.video and streams.video[0].start_time is not None and streams.video[0].time_base:
            video_start = streams.video[0].start_time * streams.video[0].time_base
        # source time where output time 0 begins: the film's first frame plus the offset
        self._t0 = video_start + Fraction(start)
        self._codec_in = self._in.codec_context.name
        self.copy = self._codec_in in COPYABLE.get(out_format, set())
        if self.copy:
            self._out = out_container.add_stream_from_template(self._in)
        else:
            name = REENCODE[out_format]
            rate = self._in.codec_context.sample_rate or 48000
            if name == "aac" and rate > 96000:
                rate = 48000
            self._out = out_container.add_stream(name, rate=rate)
            layout = self._in.codec_context.layout
            self._out.layout = _plain_layout(layout)
            if name == "aac":
                self._out.format = "fltp"
                self._out.bit_rate = 256000
            else:  # FLAC: keep 24-bit sources 24-bit (s32 container), 16-bit as s16
                deep = self._in.codec_context.format and self._in.codec_context.format.bytes > 2
                self._out.format = "s32" if deep else "s16"
            self._rate = rate
            self._resampler = av.AudioResampler(format=self._out.format, layout=self._out.layout,
                                                rate=rate)
            self._samples_out = 0
        self.codec = self._codec_in if self.copy else REENCODE[out_format]
        self._container = out_container
        self._packets = self._src.demux(self._in)
        self._pending = None     # a packet read but not yet due
        self._done = False

    def feed_until(self, t_end: Fraction, final: bool = False) -> None:
        """Mux the audio that starts before output time t_end; `final` ends the stream exactly
        at t_end. Callers run non-final feeds at least LEAD seconds behind the video."""
        if self._done:
            return
        if self.copy:
            self._copy_until(t_end)
        else:
            self._encode_until(t_end, final)
        if final:
            if not self.copy:
                for pkt in self._out.encode(None):
                    self._container.mux(pkt)
            self._done = True
            self._src.close()

    def close(self) -> None:
        if not self._done:
            self._done = True
            self._src.close()

    # ------------------------------------------------------------------ copy
    def _next_packet(self) -> av.Packet | None:
        if self._pending is not None:
            pkt, self._pending = self._pending, None
            return pkt
        for pkt in self._packets:
            if pkt.size and pkt.pts is not None:
                return pkt
        return None

    def _copy_until(self, t_end: Fraction) -> None:
        tb = self._in.time_base
        shift = int(self._t0 / tb)  # round down: packet times stay exact multiples of tb
        limit = self._t0 + t_end
        while (pkt := self._next_packet()) is not None:
            t = pkt.pts * tb
            if t >= limit:
                self._pending = pkt
                return
            if t < self._t0:
                continue
            pkt.pts -= shift
            pkt.dts = pkt.pts if pkt.dts is None else pkt.dts - shift
            if pkt.dts < 0:
                pkt.dts = pkt.pts
            pkt.stream = self._out
            self._container.mux(pkt)

    # ------------------------------------------------------------------ re-encode
    def _encode_until(self, t_end: Fraction, final: bool) -> None:
        want = int(t_end * self._rate)  # samples due by t_end
        while self._samples_out < want:
            pkt = self._next_packet()
            if pkt is None:
                break
            if pkt.pts * self._in.time_base >= self._t0 + t_end:
                self._pending = pkt
                break
            try:
                frames = pkt.decode()
            except av.FFmpegError:
                continue
            for frame in frames:
                for rf in self._resampler.resample(frame):
                    self._encode_frame(rf, want if final else None)
        if final:
            for rf in self._resampler.resample(None):
                self._encode_frame(rf, want)

    def _encode_frame(self, rf: av.AudioFrame, want: int | None) -> None:
        """Write the part of a resampled frame inside the span. Only the final call cuts at the
        end (`want`); earlier calls run LEAD behind the video so they never overshoot it."""
        if rf.pts is None or rf.time_base is None:
            return
        start = int(round((rf.pts * rf.time_base - self._t0) * self._rate))
        data = rf.to_ndarray()
        n = rf.samples
        lo = max(0, self._samples_out - start)  # before the span, or overlapping what is written
        hi = n if want is None else min(n, want - start)
        if lo >= hi:
            return
        if start + lo > self._samples_out:      # a gap in the source: keep sync with silence
            gap = start + lo - self._samples_out
            self._write_samples(np.zeros(_shape(data, rf, gap), data.dtype), rf)
        self._write_samples(_slice(data, rf, lo, hi), rf)

    def _write_samples(self, data: np.ndarray, like: av.AudioFrame) -> None:
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=like.format.name,
                                           layout=like.layout.name)
        frame.sample_rate = self._rate
        frame.time_base = Fraction(1, self._rate)
        frame.pts = self._samples_out
        self._samples_out += frame.samples
        for pkt in self._out.encode(frame):
            self._container.mux(pkt)


def _plain_layout(layout: av.AudioLayout | None) -> str:
    """A named layout encoders accept ('2 channels' from WAV/AVI is unordered: call it stereo)."""
    n = layout.nb_channels if layout else 2
    name = layout.name if layout else ""
    if name and "channels" not in name:
        return name
    return {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 8: "7.1"}.get(n, "stereo")


def _slice(data: np.ndarray, frame: av.AudioFrame, lo: int, hi: int) -> np.ndarray:
    if frame.format.is_planar:
        return data[:, lo:hi]
    ch = len(frame.layout.channels)
    return data[:, lo * ch:hi * ch]


def _shape(data: np.ndarray, frame: av.AudioFrame, n: int) -> tuple[int, int]:
    if frame.format.is_planar:
        return (data.shape[0], n)
    return (1, n * len(frame.layout.channels))
