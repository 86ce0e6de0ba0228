"""Deterministic test clips, written with PyAV into a directory the test owns.

Every frame comes from `synthetic_frame(i, size)`: a colourful textured canvas (gradients, sine
texture, filled shapes) panned 2 px per frame, with a strip of 8 black/white blocks along the top
that encode `i % 256` in binary, so a test can tell which frame a decoder produced
(`frame_index(rgb)`) even through lossy codecs.

Codec choices (FFmpeg limits):
- 'h264'  libx264 yuv420p, long GOP (keyint = gop, no scene-cut keyframes, 3 B-frames): the hard
          case for frame-exact seeking. Needs even width and height.
- 'ffv1'  FFV1 in .mkv as bgr0: lossless RGB, any size (used for the odd 721x405 clip).
- 'mjpeg' Motion JPEG in .avi, yuvj444p: intra-only, any size.
- 'mpeg4' MPEG-4 part 2 (.avi/.mp4), even sizes.
- 'prores' prores_ks in .mov, yuv422p10le (even width).
Audio: `audio_signal` (a chirp, 48 kHz stereo) as AAC for mp4/mov/mkv, PCM s16 for avi.
"""
from __future__ import annotations

import functools
import os
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

FPS = Fraction(24000, 1001)
CODE_BITS = 8
PAN_STEP = 2  # pixels per frame

_CODECS = {
    # name: (ffmpeg encoder, pix_fmt, needs even dims)
    "h264": ("libx264", "yuv420p", True),
    "ffv1": ("ffv1", "bgr0", False),
    "mjpeg": ("mjpeg", "yuvj444p", False),
    "mpeg4": ("mpeg4", "yuv420p", True),
    "prores": ("prores_ks", "yuv422p10le", True),
}


# ---------------------------------------------------------------- frame content
@functools.lru_cache(maxsize=8)
def _canvas(width: int, height: int, extra: int, color: bool) -> np.ndarray:
    """A wide deterministic picture the frames pan across (extra = pan range in px)."""
    w = width + extra
    y, x = np.mgrid[0:height, 0:w].astype(np.float32)
    r = 0.5 + 0.5 * np.sin(x / 17.0) * np.cos(y / 23.0)
    g = (x / max(w - 1, 1)) * 0.8 + 0.1 * np.sin(y / 5.0)
    b = (y / max(height - 1, 1)) * 0.7 + 0.15 * np.cos((x + y) / 9.0)
    img = np.stack([r, g, b], -1)
    img = (np.clip(img, 0, 1) * 255).astype(np.uint8)
    rng = np.random.default_rng(1234 + width * 7 + height)
    scale = max(4, min(width, height) // 6)
    for k in range(max(6, w // scale)):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, height))
        if k % 2:
            cv2.circle(img, (cx, cy), int(rng.integers(scale // 2, scale + 1)), colour, -1)
        else:
            cv2.rectangle(img, (cx, cy), (cx + scale, cy + scale * 2 // 3), colour, -1)
    if not color:
        img = np.repeat(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    img.setflags(write=False)
    return img


def _code_geometry(width: int, height: int) -> tuple[int, int]:
    """(block width, strip height) of the frame-index code."""
    return width // CODE_BITS, max(4, height // 8)


def synthetic_frame(i: int, size: tuple[int, int], color: bool = True, motion: bool = True) -> np.ndarray:
    """Frame i (uint8 RGB, H x W x 3) of the synthetic film of the given size (W, H); the same
    whatever the clip length (the pan wraps every 256 frames)."""
    width, height = size
    extra = PAN_STEP * (1 << CODE_BITS)
    canvas = _canvas(width, height, extra, color)
    off = (i * PAN_STEP) % extra if motion else 0
    frame = np.ascontiguousarray(canvas[:, off:off + width])
    bw, bh = _code_geometry(width, height)
    code = i % (1 << CODE_BITS)
    for bit in range(CODE_BITS):
        frame[:bh, bit * bw:(bit + 1) * bw] = 255 if (code >> bit) & 1 else 0
    return frame


def synthetic_frame16(i: int, size: tuple[int, int], color: bool = True) -> np.ndarray:
    """16-bit version of frame i whose low byte carries detail 8-bit data cannot hold."""
    f8 = synthetic_frame(i, size, color).astype(np.uint16)
    width, height = size
    fine = ((np.arange(width, dtype=np.uint16)[None, :] * 37 + np.arange(height, dtype=np.uint16)[:, None] * 11)
            % 200).astype(np.uint16)
    f16 = np.clip(f8 * 256 + fine[..., None], 0, 65535).astype(np.uint16)
    if not color:
        f16 = np.repeat(f16[..., :1], 3, axis=2)
    return f16


def frame_index(rgb: np.ndarray) -> int:
    """Read back the index code (mod 256) drawn by `synthetic_frame`."""
    height, width = rgb.shape[:2]
    bw, bh = _code_geometry(width, height)
    luma = rgb[..., :3].astype(np.float32).mean(axis=2) if rgb.ndim == 3 else rgb.astype(np.float32)
    if rgb.dtype == np.uint16:
        luma /= 257.0
    code = 0
    for bit in range(CODE_BITS):
        # centre of the block: chroma bleeding at block edges must not decide the bit
        block = luma[bh // 4: bh - bh // 4, bit * bw + bw // 4: (bit + 1) * bw - bw // 4]
        if block.mean() > 128:
            code |= 1 << bit
    return code


# ---------------------------------------------------------------- writing helpers
def _audio_codec_for(path: Path) -> str:
    return "pcm_s16le" if path.suffix.lower() == ".avi" else "aac"


def _add_audio(container, path: Path):
    stream = container.add_stream(_audio_codec_for(path), rate=48000)
    stream.layout = "stereo"
    return stream


AUDIO_RATE = 48000


def audio_signal(t: np.ndarray) -> np.ndarray:
    """The test soundtrack at times t (s): a rising chirp (300 Hz + 150 Hz/s), so any stretch of
    it tells where in the film it came from (tests find offsets by cross-correlation)."""
    return 0.3 * np.sin(2 * np.pi * (300.0 * t + 75.0 * t * t))


def _mux_audio(container, stream, seconds: float) -> None:
    """`audio_signal` covering `seconds`, fed in 1024-sample frames."""
    rate = AUDIO_RATE
    total = int(round(seconds * rate))
    fmt = "fltp" if stream.codec_context.name == "aac" else "s16"
    for start in range(0, total, 1024):
        n = min(1024, total - start)
        wave = audio_signal(np.arange(start, start + n) / rate)
        if fmt == "fltp":
            data = np.stack([wave, wave]).astype(np.float32)
        else:
            data = (np.stack([wave, wave], axis=1).reshape(1, -1) * 32767).astype(np.int16)
        af = av.AudioFrame.from_ndarray(data, format=fmt, layout="stereo")
        af.sample_rate = rate
        af.pts = start
        af.time_base = Fraction(1, rate)
        for pkt in stream.encode(af):
            container.mux(pkt)
    for pkt in stream.encode(None):
        container.mux(pkt)


def decode_audio(path) -> tuple[np.ndarray, float]:
    """(mono float32 samples at 48 kHz, time of the first sample in s) of a file's first audio
    stream; empty array if it has none."""
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return np.zeros(0, np.float32), 0.0
        resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
        chunks, first = [], None
        for frame in c.decode(c.streams.audio[0]):
            if first is None:
                first = float(frame.time or 0.0)
            for rf in resampler.resample(frame):
                chunks.append(rf.to_ndarray().reshape(-1))
        for rf in resampler.resample(None):
            chunks.append(rf.to_ndarray().reshape(-1))
    return (np.concatenate(chunks) if chunks else np.zeros(0, np.float32)), (first or 0.0)


def write_frames(path, frames, fps: Fraction = FPS, codec: str = "h264", gop: int = 48,
                 audio: bool = False, pts_list=None, time_base: Fraction | None = None,
                 container_options: dict | None = None, crf: int = 18, preset: str = "veryfast",
                 bframes: int = 3, pix_fmt: str | None = None) -> Path:
    """Encode an iterable of uint8 RGB frames. `pts_list` (with `time_base`) gives irregular
    timestamps for variable-frame-rate clips; otherwise frame k has pts k at 1/fps. `pix_fmt`
    overrides the codec's usual one (e.g. H.264 'yuv420p10le' or 'yuv444p')."""
    path = Path(path)
    frames = iter(frames)
    first = next(frames)
    height, width = first.shape[:2]
    encoder, usual_fmt, even = _CODECS[codec]
    pix_fmt = pix_fmt or usual_fmt
    if even and (width % 2 or height % 2):
        raise ValueError(f"{codec} needs even dimensions, got {width}x{height}")
    container = av.open(str(path), "w", options=container_options or {})
    stream = container.add_stream(encoder, rate=fps)
    stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
    tb = time_base or Fraction(1) / fps
    stream.time_base = tb
    stream.codec_context.time_base = tb
    if codec == "h264":
        stream.options = {"crf": str(crf), "preset": preset,
                          "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}"}
    elif codec == "mpeg4":
        stream.codec_context.gop_size = gop
        stream.options = {"qscale": "3"}
    elif codec == "prores":
        stream.options = {"profile": "3"}
    astream = _add_audio(container, path) if audio else None
    n = 0
    last_pts = 0
    for k, rgb in enumerate(_chain(first, frames)):
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        vf.pts = pts_list[k] if pts_list is not None else k
        last_pts = vf.pts
        vf.time_base = tb
        for pkt in stream.encode(vf):
            container.mux(pkt)
        n += 1
    for pkt in stream.encode(None):
        container.mux(pkt)
    if astream is not None:
        seconds = float((last_pts + (pts_list[1] - pts_list[0] if pts_list else 1)) * tb) if n > 1 else float(tb)
        _mux_audio(container, astream, seconds)
    container.close()
    return path


def _chain(first, rest):
    yield first
    yield from rest


# ---------------------------------------------------------------- public clip makers
def make_clip(path, n_frames: int = 48, size: tuple[int, int] = (160, 96), fps: Fraction = FPS,
              codec: str = "h264", gop: int = 48, audio: bool = True, color: bool = True,
              motion: bool = True, grain: int = 0, **kw) -> Path:
    """The standard moving test film. Frame i equals `synthetic_frame(i, size, color, motion)`
    up to codec loss; `frame_index` reads i back from it. `grain` adds deterministic per-frame
    monochrome noise of that amplitude (levels) so the encoder gets film-like work (benchmarks)."""
    def frames():
        for i in range(n_frames):
            f = synthetic_frame(i, size, color, motion)
            if grain:
                noise = np.random.default_rng(i).integers(-grain, grain + 1, size=f.shape[:2], dtype=np.int16)
                f = np.clip(f.astype(np.int16) + noise[..., None], 0, 255).astype(np.uint8)
            yield f
    return write_frames(path, frames(), fps=fps, codec=codec, gop=gop, audio=audio, **kw)


def make_odd_clip(path, n_frames: int = 6, size: tuple[int, int] = (721, 405), **kw) -> Path:
    """Odd-sized film. H.264 4:2:0 cannot store odd sizes, so: FFV1 (.mkv, lossless RGB) by
    default, or MJPEG 4:4:4 when the path ends in .avi."""
    codec = "mjpeg" if Path(path).suffix.lower() == ".avi" else "ffv1"
    kw.setdefault("audio", False)
    return make_clip(path, n_frames=n_frames, size=size, codec=codec, **kw)


VFR_DURATIONS_MS = (40, 42, 33, 50, 67, 40, 36, 45)


def vfr_pts(n_frames: int) -> list[int]:
    """Irregular millisecond timestamps used by `make_vfr_clip`."""
    pts, t = [], 0
    for k in range(n_frames):
        pts.append(t)
        t += VFR_DURATIONS_MS[k % len(VFR_DURATIONS_MS)]
    return pts


def make_vfr_clip(path, n_frames: int = 40, size: tuple[int, int] = (96, 64), **kw) -> Path:
    """Variable frame rate H.264 (mkv or mp4): pts in ms follow VFR_DURATIONS_MS.
    Average rate = (n-1) / (last pts - first pts) seconds."""
    kw.setdefault("audio", False)
    frames = (synthetic_frame(i, size) for i in range(n_frames))
    return write_frames(path, frames, fps=Fraction(25), codec="h264", gop=kw.pop("gop", 12),
                        pts_list=vfr_pts(n_frames), time_base=Fraction(1, 1000), **kw)


def make_truncated_clip(path, n_frames: int = 48, size: tuple[int, int] = (96, 64),
                        keep: float = 0.6, **kw) -> Path:
    """A film cut short: the first `keep` fraction of the bytes of a complete file.
    .mkv keeps its header (duration promises n_frames); .mp4 is written with the index (moov) at
    the front ("faststart") so the sample table still promises n_frames."""
    path = Path(path)
    opts = {"movflags": "faststart"} if path.suffix.lower() in (".mp4", ".mov") else None
    kw.setdefault("audio", False)
    kw.setdefault("gop", 12)
    make_clip(path, n_frames=n_frames, size=size, container_options=opts, **kw)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def make_wrong_header_clip(path, n_frames: int = 30, claimed: int = 500,
                           size: tuple[int, int] = (96, 64), **kw) -> Path:
    """An .avi whose headers (avih dwTotalFrames, strh dwLength, OpenDML dmlh) claim `claimed`
    frames while the stream holds n_frames. MJPEG by default (codec='mpeg4' also works)."""
    path = Path(path).with_suffix(".avi")
    kw.setdefault("audio", False)
    kw.setdefault("codec", "mjpeg")
    make_clip(path, n_frames=n_frames, size=size, **kw)
    data = bytearray(path.read_bytes())
    patched = 0
    i = data.find(b"avih")
    if i >= 0:  # MainAVIHeader: dwTotalFrames is the 5th DWORD
        data[i + 8 + 16:i + 8 + 20] = claimed.to_bytes(4, "little")
        patched += 1
    start = 0
    while (i := data.find(b"strh", start)) >= 0:
        start = i + 4
        if data[i + 8:i + 12] == b"vids":  # AVIStreamHeader: dwLength at byte 32
            data[i + 8 + 32:i + 8 + 36] = claimed.to_bytes(4, "little")
            patched += 1
    i = data.find(b"dmlh")
    if i >= 0:
        data[i + 8:i + 12] = claimed.to_bytes(4, "little")
    assert patched >= 2, "AVI headers not found"
    path.write_bytes(bytes(data))
    return path


def make_image_sequence(folder, n_frames: int = 12, size: tuple[int, int] = (64, 48),
                        ext: str = "png", bit_depth: int = 8, prefix: str = "shot_",
                        digits: int = 4, start: int = 1, color: bool = True,
                        skip: tuple[int, ...] = ()) -> str:
    """Write frames as prefix%0{digits}d.ext (PNG 8/16, TIFF 8/16, JPEG 8) and return the printf
    pattern. `skip` leaves numbers out (a gap in the sequence)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pattern = str(folder / f"{prefix}%0{digits}d.{ext}")
    if bit_depth == 16 and ext.lower() in ("jpg", "jpeg"):
        raise ValueError("JPEG is 8-bit only")
    for k in range(n_frames):
        number = start + k
        if number in skip:
            continue
        rgb = synthetic_frame16(k, size, color) if bit_depth == 16 else synthetic_frame(k, size, color)
        if not cv2.imwrite(pattern % number, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            raise OSError(f"could not write {pattern % number}")
    return pattern


def expected_sequence_frame(k: int, size: tuple[int, int], bit_depth: int = 8, color: bool = True):
    """The k-th frame (by order) that `make_image_sequence` wrote."""
    return synthetic_frame16(k, size, color) if bit_depth == 16 else synthetic_frame(k, size, color)


def make_gray_clip(path, n_frames: int = 24, size: tuple[int, int] = (96, 64), **kw) -> Path:
    """A black-and-white film (R = G = B before encoding)."""
    kw.setdefault("audio", False)
    return make_clip(path, n_frames=n_frames, size=size, color=False, **kw)


def make_text_file(path) -> Path:
    path = Path(path)
    path.write_text("this is not a film\n" * 50)
    return path


def make_empty_file(path) -> Path:
    path = Path(path)
    path.write_bytes(b"")
    return path


def pan_clip_from_photo(photo_path, out, n: int = 48, size: tuple[int, int] = (320, 192),
                        fps: Fraction = FPS, codec: str | None = None, zoom: float = 0.15,
                        **kw) -> Path:
    """Realistic motion: a slow pan plus zoom across a real photograph (any format cv2 reads).
    The codec follows the output extension (.mkv -> FFV1, .avi -> MJPEG, else H.264)."""
    img = cv2.imread(os.fspath(photo_path), cv2.IMREAD_COLOR)
    if img is None:
        raise OSError(f"cannot read photo {photo_path}")
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    width, height = size
    ih, iw = img.shape[:2]
    # base scale so the view (at the widest zoom) still fits inside the photo with room to pan
    base = min(iw / (width * 1.3), ih / (height * 1.1))
    if codec is None:
        codec = {".mkv": "ffv1", ".avi": "mjpeg"}.get(Path(out).suffix.lower(), "h264")

    def frames():
        for k in range(n):
            t = k / max(n - 1, 1)
            s = base * (1.0 - zoom * t)  # source pixels per output pixel: zooming in
            vw, vh = width * s, height * s
            x0 = (iw - vw) * (0.1 + 0.8 * t)
            y0 = (ih - vh) * (0.5 + 0.3 * np.sin(np.pi * t) - 0.15)
            m = np.float32([[1 / s, 0, -x0 / s], [0, 1 / s, -y0 / s]])
            yield cv2.warpAffine(img, m, (width, height), flags=cv2.INTER_AREA if s > 1 else cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REFLECT)

    kw.setdefault("audio", False)
    return write_frames(out, frames(), fps=fps, codec=codec, **kw)


def _n_vop(slot: int, fps: int) -> bytes:
    """A DivX 'not coded' P-VOP for display slot `slot` (time resolution = fps, as the mpeg4
    encoder writes it when the time base is 1/fps)."""
    bits = max(1, (fps - 1).bit_length())
    b = "01" + "1" * (slot // fps) + "0" + "1" + format(slot % fps, f"0{bits}b") + "1" + "0"
    b += "0" + "1" * ((-len(b) - 1) % 8)          # MPEG-4 stuffing up to the byte boundary
    return b"\x00\x00\x01\xb6" + int(b, 2).to_bytes(len(b) // 8, "big")


def make_divx_packed_avi(path, n_frames: int = 30, size: tuple[int, int] = (96, 64),
                         fps: int = 15, bframes: int = 1, gop: int = 12) -> Path:
    """An old DivX/Xvid-style AVI: MPEG-4 Part 2 with B-frames in 'packed bitstream' form. The
    anchor (I/P) travels in one packet with the first B-frame shown before it, further B-frames
    follow one per packet, then an empty N-VOP holds the anchor's display slot; user data
    'DivX503b1393p' marks the stream as packed (as those encoders did)."""
    path = Path(path)
    enc = av.CodecContext.create("mpeg4", "w")
    enc.width, enc.height = size
    enc.pix_fmt = "yuv420p"
    enc.time_base = Fraction(1, fps)
    enc.framerate = Fraction(fps)
    enc.max_b_frames = bframes
    enc.gop_size = gop
    enc.options = {"qscale": "3"}
    coded = []  # (display index, bytes) in decode order
    for i in range(n_frames):
        vf = av.VideoFrame.from_ndarray(synthetic_frame(i, size), format="rgb24")
        vf.pts = i
        coded += [(p.pts, bytes(p)) for p in enc.encode(vf)]
    coded += [(p.pts, bytes(p)) for p in enc.encode(None)]
    first = coded[0][1]
    k = first.find(b"\x00\x00\x01\xb6")
    coded[0] = (coded[0][0], first[:k] + b"\x00\x00\x01\xb2DivX503b1393p" + first[k:])
    chunks, q = [], 0           # (bytes, keyframe) per display slot
    while q < len(coded):
        shown, data = coded[q]
        bs = []
        while q + 1 + len(bs) < len(coded) and coded[q + 1 + len(bs)][0] < shown:
            bs.append(coded[q + 1 + len(bs)][1])
        key = data[data.find(b"\x00\x00\x01\xb6") + 4] >> 6 == 0
        if not bs:
            chunks.append((data, key))
        else:
            chunks.append((data + bs[0], key))
            chunks += [(b, False) for b in bs[1:]]
            chunks.append((_n_vop(shown, fps), False))
        q += 1 + len(bs)
    out = av.open(str(path), "w")
    s = out.add_stream("mpeg4", rate=fps)
    s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
    s.time_base = Fraction(1, fps)
    for slot, (data, key) in enumerate(chunks):
        p = av.Packet(data)
        p.pts = p.dts = slot
        p.time_base = Fraction(1, fps)
        p.stream = s
        p.is_keyframe = key
        out.mux(p)
    out.close()
    return path
