"""`colorizer train`: the study's MSE and GAN recipes, with checkpoints and resume."""
from __future__ import annotations

from pathlib import Path

from . import CliError


def register(sub) -> None:
    p = sub.add_parser("train", help="train a generator (MSE or GAN recipe); resumes after an interrupt")
    p.add_argument("--data", required=True, help="a set built by `colorizer dataset build`")
    p.add_argument("--mode", choices=("mse", "gan"), default="gan")
    p.add_argument("--init", help="start from this generator (.keras): fine-tune or continue; a plain "
                   "generator seeds a --hints one (its weights, zero weights for the hint channels)")
    p.add_argument("--hints", action="store_true",
                   help="train a hint generator (L + artist's colour hints in), with simulated hints and "
                        "video-like samples (pan/zoom, grain, compression noise)")
    p.add_argument("--hint-arch", choices=("grid", "mix", "guided"), default="grid",
                   help="with --hints: 'grid' adds a learnt correction to an in-network spread; 'mix' "
                        "learns a per-pixel convex mix of hint spreads (cannot invent colours); 'guided' "
                        "as mix, spread over a learnt guide instead of lightness (a mix model seeds it)")
    p.add_argument("--hint-sampling", choices=("ideepcolor", "uniform"), default="ideepcolor",
                   help="with --hints: simulated hints as ideepcolor (often none, geometric count, 1-9 px, "
                        "half on colourful pixels) or 'uniform' (1-50 small hints at uniform positions, as "
                        "benchmarks/bench_hints.py places them)")
    p.add_argument("--trainable", default="",
                   help="train only layers whose names start with one of these comma-separated prefixes "
                        "(e.g. mix_logits: the mix generator's head on a frozen U-Net); default: all")
    p.add_argument("--freeze-gray", action="store_true",
                   help="with --hint-arch mix: the gray candidate keeps its starting (near-zero) weight")
    p.add_argument("--size", type=int, default=256, help="training crop size, a multiple of 64")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--steps", type=int)
    g.add_argument("--epochs", type=int)
    p.add_argument("--steps-per-epoch", type=int, default=500)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--width", type=float, default=0.4, help="filter-count multiplier of a new generator")
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--workers", type=int, default=2, help="data loader threads")
    p.add_argument("--time-budget", type=float, help="stop (and save) after this many seconds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--snapshot-every", type=int, default=0, help="keep the generator every N steps (model selection)")
    p.add_argument("--out", required=True, help="output generator (.keras); <out>.run/ holds logs and checkpoints")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..core.ml.model import ModelError
    from ..core.ml.train import TrainConfig, train

    if args.size % 64:
        raise CliError(f"--size must be a multiple of 64, got {args.size}")
    if not Path(args.out).name.endswith(".keras"):
        raise CliError("--out must name a .keras file")
    if not (Path(args.data) / "train").is_dir():
        raise CliError(f"{args.data}: not a training set (no train/ folder); build one with `colorizer dataset build`")
    steps = args.steps if args.steps else args.epochs * args.steps_per_epoch
    cfg = TrainConfig(data=args.data, out=args.out, mode=args.mode, size=args.size, steps=steps,
                      steps_per_epoch=args.steps_per_epoch, batch_size=args.batch_size, width=args.width,
                      lr=args.lr, init=args.init, seed=args.seed, workers=args.workers,
                      snapshot_every=args.snapshot_every, hints=args.hints,
                      hint_arch=args.hint_arch, hint_sampling=args.hint_sampling,
                      trainable=args.trainable, freeze_gray=args.freeze_gray)
    try:
        out = train(cfg, stop_after_s=args.time_budget)
    except (ModelError, FileNotFoundError, ValueError) as exc:
        raise CliError(str(exc)) from None
    print(f"saved {out}")
    return 0
