"""Display proxy benchmark: build throughput, bytes per frame and random-read latency of the proxy
(core.media.proxy) versus a random seek in the long-GOP 1080p H.264 film it stands in for.

    .venv/bin/python benchmarks/bench_proxy.py [--size 1920x1080] [--frames 120] [--gop 120]
                                               [--reads 200] [--seeks 20]

The clip is made as in bench_seek.py (tests/helpers/clips.py content plus film grain, x264 veryfast crf 20,
B-frames, one keyframe per GOP). Builds use one builder thread, as the app does. A gray-film
proxy (1-channel JPEG, has_color=False) of the same clip is measured too: the app's usual case.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from colorizer_app.core.media import open_media  # noqa: E402
from colorizer_app.core.media.proxy import ProxyBuilder, ProxyStore  # noqa: E402
from tests.helpers import clips  # noqa: E402


def _ms(values: list[float]) -> tuple[float, float]:
    """(median, p95) in ms."""
    v = sorted(values)
    return statistics.median(v) * 1000, v[min(len(v) - 1, int(round(0.95 * (len(v) - 1))))] * 1000


def build(store: ProxyStore, film: Path) -> dict:
    builder = ProxyBuilder(store, str(film))
    t, cpu = time.perf_counter(), time.process_time()
    while builder.step(max_frames=8) > 0:
        pass
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    builder.close()
    n = store.frame_count
    data = os.path.getsize(store.directory / "proxy.jpgs")
    return {"fps": n / wall, "cpu_ms": cpu / n * 1000, "bytes": data / n, "disk": store.nbytes_on_disk}


def reads(store: ProxyStore, n_reads: int, size) -> tuple[float, float]:
    rng = random.Random(3)
    times = []
    for _ in range(n_reads):
        i = rng.randrange(store.frame_count)
        t = time.perf_counter()
        img = store.read(i, size)
        times.append(time.perf_counter() - t)
        assert img is not None
    return _ms(times)


def seeks(film: Path, n_seeks: int) -> tuple[float, float]:
    with open_media(film, cache_bytes=0) as reader:  # uncached: every read decodes
        rng = random.Random(1)
        times = []
        for _ in range(n_seeks):
            i = rng.randrange(reader.info.frame_count)
            t = time.perf_counter()
            reader.read(i)
            times.append(time.perf_counter() - t)
    return _ms(times)


def sequential_decode_fps(film: Path) -> float:
    with open_media(film, cache_bytes=0) as reader:
        t = time.perf_counter()
        n = sum(1 for _ in reader.iter_frames())
        return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--gop", type=int, default=120)
    ap.add_argument("--reads", type=int, default=200)
    ap.add_argument("--seeks", type=int, default=20)
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    print(f"cpu cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        film = tmp / "long_gop.mp4"
        t = time.perf_counter()
        clips.make_clip(film, n_frames=args.frames, size=size, gop=args.gop, audio=False,
                        preset="veryfast", crf=20, grain=4)
        print(f"made {args.frames} frames {args.size} GOP {args.gop} (B-frames) in "
              f"{time.perf_counter() - t:.1f}s, {film.stat().st_size / 1e6:.1f} MB")
        with open_media(film) as r:
            info = r.info
        fp = {"bytes": film.stat().st_size, "frames": info.frame_count}
        seq_fps = sequential_decode_fps(film)
        seek_med, seek_p95 = seeks(film, args.seeks)
        rows = []
        for label, color in (("colour", True), ("gray", False)):
            store = ProxyStore.open(tmp / f"proxy_{label}", fp, info.frame_count, info.width,
                                    info.height, has_color=color)
            b = build(store, film)
            small = reads(store, args.reads, None)
            full = reads(store, args.reads, (info.width, info.height))
            rows.append((label, store.size, b, small, full))
            store.close()
        print(f"\nfilm: random seek (open_media, uncached) median {seek_med:.1f} ms, p95 {seek_p95:.1f} ms;"
              f" sequential decode {seq_fps:.1f} fps")
        print(f"\n{'proxy':8} {'size':>9} {'build fps':>9} {'cpu ms/f':>8} {'KB/frame':>8} "
              f"{'read ms med/p95':>16} {'read@full med/p95':>18} {'vs seek':>8}")
        for label, psize, b, small, full in rows:
            print(f"{label:8} {psize[0]:>4}x{psize[1]:<4} {b['fps']:9.1f} {b['cpu_ms']:8.1f} "
                  f"{b['bytes'] / 1024:8.1f} {small[0]:7.2f} / {small[1]:6.2f} "
                  f"{full[0]:8.2f} / {full[1]:7.2f} {seek_med / full[0]:7.0f}x")
        print(f"\nload average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
