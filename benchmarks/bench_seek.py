"""Media reader benchmark: uncached random seeks and sequential decoding in a long-GOP 1080p
H.264 film, and peak memory while reading a long film versus a short one (should be flat).

    .venv/bin/python benchmarks/bench_seek.py [--size 1920x1080] [--frames 240] [--gop 240]
                                              [--long-frames 960] [--seeks 30]

Clips are generated in a temp dir (tests/helpers/clips.py content plus film grain so the decoder has
real work; x264 veryfast crf 20 with B-frames).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from colorizer_app.core.media import open_media  # noqa: E402
from tests.helpers import clips  # noqa: E402


def _make(path: Path, n: int, size, gop: int, preset: str, grain: int = 4) -> float:
    t = time.perf_counter()
    clips.make_clip(path, n_frames=n, size=size, gop=gop, audio=False, preset=preset, crf=20,
                    grain=grain)
    return time.perf_counter() - t


def bench_access(path: Path, n_seeks: int) -> dict:
    t = time.perf_counter()
    reader = open_media(path, cache_bytes=0)  # uncached: every read decodes
    open_s = time.perf_counter() - t
    n = reader.info.frame_count
    rng = random.Random(1)
    times = []
    decoded0 = reader.stats["decoded"]
    cpu0 = time.process_time()
    for _ in range(n_seeks):
        i = rng.randrange(n)
        t = time.perf_counter()
        reader.read(i)
        times.append(time.perf_counter() - t)
    # CPU time (all threads) is steadier than wall time on a shared, busy machine
    seek_cpu_ms = (time.process_time() - cpu0) / n_seeks * 1000
    decoded = reader.stats["decoded"] - decoded0
    # the same jumps with the default cache, as the viewer reads: frames kept on the way cost
    # decoding (JUMP_KEEP in core.media)
    reader.close()
    reader = open_media(path)
    rng = random.Random(1)
    jumps = []
    for _ in range(n_seeks):
        i = rng.randrange(n)
        reader._cache.clear()
        reader._cache_bytes = 0
        t = time.perf_counter()
        reader.read(i)
        jumps.append(time.perf_counter() - t)
    # backwards single steps (cache on, as the GUI uses it)
    reader.close()
    reader = open_media(path)
    reader.read(n - 1)
    t = time.perf_counter()
    steps = min(40, n - 1)
    for i in range(n - 2, n - 2 - steps, -1):
        reader.read(i)
    back_ms = (time.perf_counter() - t) / steps * 1000
    reader.close()
    reader = open_media(path, cache_bytes=0)
    t, cpu0 = time.perf_counter(), time.process_time()
    count = sum(1 for _ in reader.iter_frames())
    seq_s, seq_cpu = time.perf_counter() - t, time.process_time() - cpu0
    reader.close()
    return {
        "frames": n, "open_index_s": round(open_s, 3),
        "seek_ms_mean": round(statistics.mean(times) * 1000, 1),
        "seek_ms_median": round(statistics.median(times) * 1000, 1),
        "seek_ms_max": round(max(times) * 1000, 1),
        "frames_decoded_per_seek": round(decoded / n_seeks, 1),
        "jump_ms_median_default_cache": round(statistics.median(jumps) * 1000, 1),
        "step_back_ms_cached": round(back_ms, 1),
        "seek_cpu_ms_mean": round(seek_cpu_ms, 1),
        "sequential_fps": round(count / seq_s, 1),
        "sequential_cpu_ms_per_frame": round(seq_cpu / count * 1000, 1),
        "load_average": round(os.getloadavg()[0], 2),
    }


def _peak_rss_child(path: str, cache_bytes: int) -> None:
    """Child process: read every frame in order, print the peak RSS (MiB)."""
    with open_media(path, cache_bytes=cache_bytes) as r:
        for _ in r.iter_frames():
            pass
        # also random access over the whole film
        rng = random.Random(2)
        for _ in range(10):
            r.read(rng.randrange(r.info.frame_count))
    print(json.dumps({"peak_rss_mib": _vm_hwm_mib()}))


def _vm_hwm_mib() -> float:
    """Peak RSS of this process image. Not getrusage's ru_maxrss: Linux carries that across
    exec, so a child would report its (big, clip-encoding) parent's peak."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss(path: Path, cache_bytes: int) -> float:
    out = subprocess.run([sys.executable, __file__, "--child", str(path), str(cache_bytes)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["peak_rss_mib"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--frames", type=int, default=240)
    ap.add_argument("--gop", type=int, default=240)
    ap.add_argument("--long-frames", type=int, default=960)
    ap.add_argument("--short-frames", type=int, default=48)
    ap.add_argument("--seeks", type=int, default=30)
    ap.add_argument("--child", nargs=2)
    args = ap.parse_args()
    if args.child:
        _peak_rss_child(args.child[0], int(args.child[1]))
        return
    size = tuple(int(v) for v in args.size.split("x"))
    print(f"cpu cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        film = tmp / "long_gop.mp4"
        enc = _make(film, args.frames, size, args.gop, "veryfast")
        print(f"made {args.frames} frames {args.size} GOP {args.gop} (B-frames) in {enc:.1f}s, "
              f"{film.stat().st_size / 1e6:.1f} MB")
        print(json.dumps(bench_access(film, args.seeks), indent=1))

        short, long_ = tmp / "short.mp4", tmp / "long.mp4"
        _make(short, args.short_frames, size, 250, "ultrafast")
        t = _make(long_, args.long_frames, size, 250, "ultrafast")
        print(f"made memory clips: {args.short_frames} and {args.long_frames} frames ({t:.1f}s)")
        for cache in (0, 256 * 1024 * 1024):
            s, lg = peak_rss(short, cache), peak_rss(long_, cache)
            print(f"peak RSS, cache {cache // 2**20} MiB: short {s:.0f} MiB, long {lg:.0f} MiB "
                  f"(ratio {lg / s:.2f})")


if __name__ == "__main__":
    main()
