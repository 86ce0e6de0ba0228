"""Issue-2 figures: pipeline ÷ model-alone frames/s, model GFLOP/s vs a float32 matmul, peak RSS flat.

    python benchmarks/bench_pipeline.py ratio   [--size 256] [--frames 96] [--res 1280x720[,1920x1080]]
                                                [--out mkv[,mp4]]
    python benchmarks/bench_pipeline.py flops   [--size 256]
    python benchmarks/bench_pipeline.py latency [--size 256]
    python benchmarks/bench_pipeline.py memory  [--short-min 1] [--long-min 10] [--res 1920x1080] [--fps 24]

Uses the shipped model when present, else a freshly initialised one of the same width (speed and
memory do not depend on the weights). Prints one line per figure.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def _colorizer(size: int):
    from colorizer_app.core.ml.inference import Colorizer
    from colorizer_app.core.ml.model import DEFAULT_MODEL, build_generator

    model = DEFAULT_MODEL if DEFAULT_MODEL.exists() else build_generator(width=0.4)
    return Colorizer(model, size=size, batch_size=4)


def _clip(path: Path, n: int, w: int, h: int, fps=Fraction(24), gray: bool = True) -> Path:
    """A moving test film with an AAC track, encoded fast (ultrafast x264); black and white by
    default, like the films the tool is for."""
    import av
    import cv2

    from tests.helpers.clips import synthetic_frame

    base = [synthetic_frame(i, (w, h)) for i in range(24)]  # cycle a second of motion: fast to make
    if gray:
        base = [cv2.cvtColor(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB) for f in base]
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"preset": "ultrafast", "crf": "23", "g": "48"}
        a = c.add_stream("aac", rate=48000)
        samples = int(48000 * n / fps)
        t = np.arange(samples) / 48000
        pcm = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for i in range(n):
            for p in s.encode(av.VideoFrame.from_ndarray(base[i % 24], format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
        for k in range(0, samples, 1024):
            f = av.AudioFrame.from_ndarray(pcm[None, k:k + 1024], format="flt", layout="mono")
            f.sample_rate, f.pts = 48000, k
            for p in a.encode(f):
                c.mux(p)
        for p in a.encode():
            c.mux(p)
    return path


def ratio(args) -> None:
    """Pipeline ÷ model-alone frames/s for every --res × --out, with each stage's milliseconds
    per frame measured one after another on the same frames (what the threads overlap)."""
    from colorizer_app.core.media import open_media
    from colorizer_app.core.pipeline.batch import colorize_film, model_alone_fps

    col = _colorizer(args.size)
    for res in args.res.split(","):
        w, h = map(int, res.split("x"))
        with tempfile.TemporaryDirectory() as tmp:
            src = _clip(Path(tmp) / "in.mp4", args.frames, w, h, gray=not args.colour_source)
            with open_media(src) as r:
                frame = r.read(0)
            alone = model_alone_fps(col, frame, n=args.frames)
            for ext in args.out.split(","):
                out = str(Path(tmp) / f"out.{ext}")
                res_ = colorize_film(str(src), out, col)
                stages = _stage_ms(str(src), col, str(Path(tmp) / f"stages.{ext}"), args.frames)
                kind = {"mkv": "FFV1", "mp4": "H.264", "mov": "ProRes"}.get(ext, ext)
                print(f"{w}x{h} H.264 in -> {kind} out, size {args.size}: model alone "
                      f"{alone:.2f} frames/s; pipeline {res_.fps:.2f} frames/s; ratio "
                      f"{res_.fps / alone:.2f} (goal >= 0.6)")
                print("  ms/frame, one after another: " +
                      ", ".join(f"{k} {v:.1f}" for k, v in stages.items()) +
                      f"; sum {sum(stages.values()):.1f}")


def _stage_ms(src: str, col, out: str, n: int) -> dict:
    from colorizer_app.core import color
    from colorizer_app.core.media import open_media
    from colorizer_app.core.media.writer import open_writer

    # the stages as colorize_film runs them: L straight from the decoder for black-and-white
    # film (MediaReader.read_luminance), composing to uint8, the writer's encode
    t = dict.fromkeys(("decode+L", "model", "upsample", "recombine", "encode"), 0.0)

    def timed(key, fn, *a):
        t0 = time.perf_counter()
        out_ = fn(*a)
        t[key] += time.perf_counter() - t0
        return out_

    with open_media(src) as r, open_writer(out, r.info.width, r.info.height, r.info.fps) as wr:
        n = min(n, r.info.frame_count)
        for i0 in range(0, n, col.batch_size):
            Ls = [timed("decode+L", r.read_luminance, i)
                  for i in range(i0, min(n, i0 + col.batch_size))]
            preds = timed("model", col.predict_work_from_L, Ls)
            for L, (ab, box) in zip(Ls, preds):
                ab_full = timed("upsample", color.upsample_ab, ab, box, L)
                rgb = timed("recombine", color.recombine_u8, L, ab_full)
                timed("encode", wr.write, rgb)
    return {k: 1000.0 * v / n for k, v in t.items()}


def latency(args) -> None:
    """One new 1080p frame, end to end on the CPU: L, network at the working size, guided
    upsampling, recombination — what the app waits for when the artist lands on a new frame."""
    from colorizer_app.core import color
    from tests.helpers.clips import synthetic_frame

    col = _colorizer(args.size)
    col.batch_size = 1
    frame = synthetic_frame(0, (1920, 1080))
    times = []
    for k in range(12):
        t0 = time.perf_counter()
        L = color.luminance(frame)
        ab_work, box = col.predict_work_from_L([L])[0]
        color.to_uint8(color.recombine(L, color.upsample_ab(ab_work, box, L)))
        if k >= 2:  # the first calls trace and compile
            times.append(time.perf_counter() - t0)
    times.sort()
    print(f"one 1080p frame at working size {args.size} ({col.model_name}): "
          f"median {1000 * times[len(times) // 2]:.0f} ms, "
          f"min {1000 * times[0]:.0f} ms, max {1000 * times[-1]:.0f} ms (goal ≤ 300 ms; {os.cpu_count()} CPUs)")


def flops(args) -> None:
    import keras
    import tensorflow as tf

    col = _colorizer(args.size)
    x = np.zeros((4, args.size, args.size, 1), np.float32)
    fn = tf.function(lambda t: col.model(t, training=False))
    graph = fn.get_concrete_function(tf.TensorSpec(x.shape, tf.float32)).graph
    prof = tf.compat.v1.profiler.profile(graph, options=tf.compat.v1.profiler.ProfileOptionBuilder.float_operation())
    gflop = prof.total_float_ops / 1e9
    col.model.predict_on_batch(x)
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < 5:
        col.model.predict_on_batch(x)
        n += 1
    model_rate = gflop * n / (time.perf_counter() - t0)
    a = tf.random.normal((2048, 2048))
    tf.linalg.matmul(a, a)
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < 5:
        tf.linalg.matmul(a, a).numpy()
        n += 1
    mm_rate = 2 * 2048 ** 3 * n / (time.perf_counter() - t0) / 1e9
    print(f"model {col.model.name} at {args.size}: {gflop / 4:.2f} GFLOP/frame, {model_rate:.1f} GFLOP/s achieved; "
          f"float32 2048² matmul: {mm_rate:.1f} GFLOP/s; model at {100 * model_rate / mm_rate:.0f}% of matmul "
          f"(keras {keras.__version__}, {os.cpu_count()} CPUs)")


def _peak_rss_child(src: str, out: str, size: int) -> None:
    from colorizer_app.core.pipeline.batch import colorize_film

    res = colorize_film(src, out, _colorizer(size))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{res.frames_written} {res.seconds:.1f} {peak:.1f}")


def memory(args) -> None:
    w, h = map(int, args.res.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for minutes in (args.short_min, args.long_min):
            n = int(minutes * 60 * args.fps)
            src = _clip(Path(tmp) / f"in{minutes}.mp4", n, w, h, Fraction(args.fps))
            out = subprocess.run([sys.executable, __file__, "_child", str(src), str(Path(tmp) / f"o{minutes}.mp4"),
                                  str(args.size)], capture_output=True, text=True, check=True).stdout.split()[-3:]
            rows.append((minutes, int(out[0]), float(out[1]), float(out[2])))
            os.remove(src)
        for minutes, frames, secs, peak in rows:
            print(f"{minutes:g} min {w}x{h} ({frames} frames, {secs:.0f} s): peak RSS {peak:.0f} MiB")
        print(f"long/short peak RSS ratio: {rows[1][3] / rows[0][3]:.3f} (flat = 1.0)")


def main() -> None:
    from colorizer_app.core.heap import configure_heap
    configure_heap()      # as the app's and the CLI's main do, before any thread starts
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        _peak_rss_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=("ratio", "flops", "memory", "latency"))
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--frames", type=int, default=96)
    p.add_argument("--res", default="1280x720", help="ratio: one or more, e.g. 1280x720,1920x1080")
    p.add_argument("--out", default="mkv", help="ratio: output types, e.g. mkv,mp4")
    p.add_argument("--short-min", type=float, default=1)
    p.add_argument("--long-min", type=float, default=10)
    p.add_argument("--fps", type=float, default=24)
    p.add_argument("--colour-source", action="store_true", help="ratio: a colour clip instead of a gray one")
    args = p.parse_args()
    {"ratio": ratio, "flops": flops, "memory": memory, "latency": latency}[args.what](args)


if __name__ == "__main__":
    main()
