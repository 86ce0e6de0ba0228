"""Throughput of core.temporal at 1080p: optical flow, deflicker, keyframe propagation.

    python benchmarks/bench_flow.py [--frames 16] [--size 1920x1080]

Synthetic film-like frames (detailed luma, smooth chroma) panning by a sub-pixel amount per
frame.  Figures are frames per second on this machine (OpenCV uses every core it is given).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from colorizer_app.core import flow as FL  # noqa: E402
from colorizer_app.core.temporal import deflicker as D  # noqa: E402
from colorizer_app.core.temporal.propagate import KeyframePropagator  # noqa: E402


def film(n: int, w: int, h: int, shift=(1.7, 0.6), margin=48):
    rng = np.random.default_rng(0)
    H, W = h + 2 * margin, w + 2 * margin

    def field(sig):
        x = rng.random((H, W)).astype(np.float32)
        f = sum(cv2.GaussianBlur(x, (0, 0), s) * k for s, k in sig)
        return cv2.normalize(f, None, -1, 1, cv2.NORM_MINMAX)
    s = w / 128            # same picture structure as the tests' 128-px frames, scaled up
    lab = np.dstack([55 + 30 * field([(s, 1), (3 * s, 2), (8 * s, 4)]),
                     30 * field([(4 * s, 1), (10 * s, 2)]), 30 * field([(4 * s, 1), (10 * s, 2)])])
    grays, abs_ = [], []
    for t in range(n):
        M = np.float32([[1, 0, -margin + shift[0] * t], [0, 1, -margin + shift[1] * t]])
        fr = cv2.warpAffine(lab.astype(np.float32), M, (w, h), flags=cv2.INTER_LINEAR)
        grays.append(np.clip(fr[..., 0] * 2.55, 0, 255).astype(np.uint8))
        abs_.append(np.ascontiguousarray(fr[..., 1:]) + rng.normal(0, 5, 2).astype(np.float32))
    return grays, abs_


def rate(fn, n):
    """Frames/s (wall) and CPU ms per frame.  The CPU figure survives a machine shared with
    other jobs; on an idle 2-core machine wall fps ~ 1000 / (cpu_ms / ~1.6) (DIS and remap use
    both cores, the numpy glue one)."""
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return f"{n / wall:6.1f} frames/s wall, {1000 * cpu / n:6.1f} CPU-ms/frame"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", default="1920x1080")
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.split("x"))
    n = args.frames
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{w}x{h}, {n} frames, OpenCV {cv2.__version__}, {cv2.getNumThreads()} threads, "
          f"{os.cpu_count()} CPUs, load average {load:.1f} at start")
    grays, abs_ = film(n, w, h)

    for preset in ("medium", "fast"):
        for scale in (FL.DEFAULT_SCALE, 1.0):
            dis = cv2.DISOpticalFlow_create(FL.PRESETS[preset])
            small = [FL.downscale(g, scale) for g in grays]
            dis.calc(small[0], small[1], None)          # warm-up

            def run():
                for t in range(n - 1):
                    FL.upscale_flow(dis.calc(small[t], small[t + 1], None), (h, w))
            tag = " (default)" if (preset, scale) == (FL.DEFAULT_PRESET, FL.DEFAULT_SCALE) else ""
            print(f"flow {preset:6s} scale {scale:4.2f} (one direction, upscaled): "
                  f"{rate(run, n - 1)}{tag}")

    def dfl(radius, fill=True):
        def run():
            for _ in D.deflicker_sequence(abs_, grays, radius=radius, fill=fill):
                pass
        return rate(run, n)
    for r in (1, 3, 8):
        print(f"deflicker window R={r} (flows included): {dfl(r)}")
    # fill_flow (flow of the trusted surroundings where the test failed) per neighbour
    print(f"deflicker window R=3 without fill: {dfl(3, fill=False)}")

    def rec():
        for _ in D.deflicker_recursive(abs_, grays):
            pass
    print(f"deflicker recursive (flows included): {rate(rec, n)}")

    def prop():
        fc = FL.FlowCache(lambda i: grays[i])
        p = KeyframePropagator(fc, lambda i: abs_[i], (0, n), {0: abs_[0], n - 1: abs_[n - 1]})
        for _ in p.iter_results():
            pass
    print(f"keyframe propagation, 2 keyframes (flows included): {rate(prop, n)}")


if __name__ == "__main__":
    main()
