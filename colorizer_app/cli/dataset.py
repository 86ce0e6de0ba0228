"""`colorizer dataset build SRC... --out DIR`: colour images/videos → a split training set."""
from __future__ import annotations

from . import CliError


def register(sub) -> None:
    p = sub.add_parser("dataset", help="build a training set from colour images and videos")
    dsub = p.add_subparsers(dest="dataset_command", required=True)
    b = dsub.add_parser("build", help="frames from colour images/videos, split train/val/test by source file")
    b.add_argument("sources", nargs="+", help="images, videos or folders of them")
    b.add_argument("--out", required=True, help="output folder")
    b.add_argument("--fps", type=float, default=8.0, help="video sampling rate, frames per second (default 8)")
    b.add_argument("--size", type=int, default=1024, help="longest side of stored frames (default 1024)")
    b.set_defaults(func=run)


def run(args) -> int:
    from ..core.ml.dataset import build_dataset

    if args.fps <= 0 or args.size < 64:
        raise CliError("--fps must be > 0 and --size at least 64")
    try:
        manifest = build_dataset(args.sources, args.out, fps=args.fps, size=args.size)
    except (FileNotFoundError, ValueError) as exc:
        raise CliError(str(exc)) from None
    counts = {s: sum(m["frames"] for m in manifest["sources"] if m["split"] == s) for s in ("train", "val", "test")}
    print(f"{args.out}: " + ", ".join(f"{k} {v} frames" for k, v in counts.items()))
    return 0
