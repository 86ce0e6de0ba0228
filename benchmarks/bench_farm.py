"""Issue-15 figures: the farm's overhead on one machine, and the per-node rate behind the README's
estimate for a film library.

    python benchmarks/bench_farm.py [--res 1920x1080] [--frames 240] [--size 256]
                                    [--chunk-seconds 2] [--out mkv|mp4] [--cpus 2]

Same clip (gray 1080p H.264 with sound, 24 fps), same model and size, same output type:
  plain  = core.pipeline.render of the whole film in this process (what `colorizer render`/`colorize` do)
  farm   = core.farm.runner on a local Ray cluster of --cpus workers on this machine: chunks, join
Prints the rates, farm ÷ plain wall time (goal <= 1.1), the split of the farm's time (cluster
start, chunks, join), and checks that the two outputs are the same film (FFV1: PSNR).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench_pipeline import _clip  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--res", default="1920x1080")
    ap.add_argument("--frames", type=int, default=240)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--chunk-seconds", type=float, default=2.0)
    ap.add_argument("--out", choices=("mkv", "mp4"), default="mkv")
    ap.add_argument("--cpus", type=int, default=2)
    args = ap.parse_args()

    import numpy as np
    import ray

    from colorizer_app.core import metrics as M
    from colorizer_app.core.farm import runner as farm
    from colorizer_app.core.farm.plan import FarmSettings, plan_film
    from colorizer_app.core.media import open_media
    from colorizer_app.core.ml.inference import Colorizer
    from colorizer_app.core.ml.model import DEFAULT_MODEL
    from colorizer_app.core.pipeline.render import RenderJob, render

    w, h = map(int, args.res.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = _clip(tmp / "film.mp4", args.frames, w, h)
        # cluster first, so both runs share the machine with the same idle Ray processes
        t0 = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        t_ray = time.perf_counter() - t0

        col = Colorizer(DEFAULT_MODEL, size=args.size, batch_size=4)
        t0 = time.perf_counter()
        render(RenderJob(source=str(src), model=col, working_size=args.size),
               tmp / f"plain.{args.out}")
        t_plain = time.perf_counter() - t0

        plan = plan_film(str(src), str(tmp / f"farm.{args.out}"),
                         FarmSettings(size=args.size, chunk_seconds=args.chunk_seconds))
        # warm the workers (TF import, model load): a long film pays this once per node
        t0 = time.perf_counter()
        warm = ray.remote(_warm).options(num_cpus=1)
        ray.get([warm.remote(plan.spec["model"], args.size) for _ in range(args.cpus)])
        t_warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = farm.farm_film(plan)
        t_farm = time.perf_counter() - t0
        ray.shutdown()

        n = args.frames
        print(f"clip: {w}x{h} gray H.264, {n} frames, model {args.size} px -> .{args.out}; "
              f"{len(plan.chunks)} chunks of {args.chunk_seconds:g} s; {args.cpus} workers")
        print(f"plain render : {t_plain:7.1f} s  {n / t_plain:6.2f} fps")
        print(f"farm         : {t_farm:7.1f} s  {n / t_farm:6.2f} fps  (chunks "
              f"{t_farm - res.join_seconds:.1f} s + join {res.join_seconds:.1f} s; cluster start "
              f"{t_ray:.1f} s and worker warm-up {t_warm:.1f} s not included)")
        print(f"farm / plain : {t_farm / t_plain:.3f}  (goal <= 1.1)")
        if args.out == "mkv":
            with open_media(str(tmp / "plain.mkv")) as a, open_media(str(tmp / "farm.mkv")) as b:
                same = worst = 0
                for i in range(n):
                    fa, fb = a.read(i), b.read(i)
                    if np.array_equal(fa, fb):
                        same += 1
                    else:
                        worst = min(worst or 999.0, M.psnr(fa, fb))
                print(f"equality     : {same}/{n} frames identical"
                      + (f", worst PSNR {worst:.1f} dB" if same < n else ""))


def _warm(model: str, size: int) -> int:
    """In a worker: import TF and load the model the chunks will use (cached per process)."""
    import time

    from colorizer_app.core.farm import runner as farm
    farm._colorizer(model, size)
    time.sleep(1.0)                  # hold the worker so the other warm-up lands on another
    return os.getpid()


if __name__ == "__main__":
    main()
