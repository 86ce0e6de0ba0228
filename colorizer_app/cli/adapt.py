"""`colorizer adapt FILM --refs DIR --out FILM.keras`: learn a film's colours from its keyframes.

Also the first half of `colorizer colorize IN OUT --refs DIR --adapt` (cli.colorize), which
colorizes with the adapted model in memory; the refs still propagate within their shots.
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..core.ml.bundled import model_path_arg
from . import CliError

DEFAULT_MINUTES = 5.0


def register(sub) -> None:
    p = sub.add_parser("adapt", help="learn a film's colours from its keyframes (test-time fine-tuning); "
                                     "writes a model of its own")
    p.add_argument("film", help="the black-and-white film (or image sequence) the keyframes belong to")
    p.add_argument("--refs", metavar="DIR", help="folder of ref_NNNNNN.png colour stills of the film's frames")
    p.add_argument("--hints", metavar="DIR", help="folder of hint_NNNNNN.png images (RGBA, film size): each "
                                                  "hinted frame, colorized with its hints, is a keyframe too")
    p.add_argument("--out", required=True, help="the adapted generator (.keras; written atomically)")
    p.add_argument("--model", type=model_path_arg,
                   help="base generator .keras, or a bundled model: default, hints (default: default)")
    p.add_argument("--size", type=int, default=None, help="working size, a multiple of 64 (default 256)")
    add_budget_arguments(p)
    p.set_defaults(func=run)


def add_budget_arguments(p) -> None:
    p.add_argument("--minutes", type=float, default=None,
                   help=f"time budget of the adaptation in minutes (default {DEFAULT_MINUTES:g})")
    p.add_argument("--steps", type=int, default=None, help="step budget (stops at whichever budget comes first)")
    p.add_argument("--seed", type=int, default=0)


def _note(message: str) -> None:
    print(message, file=sys.stderr)


def budget(args):
    """AdaptConfig from --minutes/--steps/--size; a budget of zero is refused here, before any work."""
    from ..core.ml.adapt import AdaptConfig
    from ..core.ml.inference import DEFAULT_SIZE

    minutes = args.minutes
    if minutes is None and args.steps is None:
        minutes = DEFAULT_MINUTES
    if minutes is not None and not minutes > 0:
        raise CliError(f"--minutes must be more than 0, got {minutes:g}")
    if args.steps is not None and args.steps < 1:
        raise CliError(f"--steps must be at least 1, got {args.steps}")
    size = DEFAULT_SIZE if getattr(args, "size", None) is None else args.size
    if size % 64 or size < 64:
        raise CliError(f"--size must be a positive multiple of 64, got {size}")
    return AdaptConfig(minutes=minutes, max_steps=args.steps, size=size, seed=getattr(args, "seed", 0))


def adapt_model(film: str, refs: str | None, hints: str | None, colorizer, cfg):
    """Keyframes of `film` (refs and hinted frames) → AdaptResult; bad input → CliError."""
    from ..core.media import MediaError
    from ..core.ml.adapt import AdaptError, adapt
    from ..core.ml.adapt_data import keyframes_from_refs
    from .common import one_line

    if refs is None and hints is None:
        raise CliError("adapting needs keyframes: give --refs DIR (ref_NNNNNN.png stills) and/or --hints DIR")
    tmp = None
    try:
        if hints is not None:  # hinted frames become stills beside the refs (core.project.hint_keys)
            from ..core.project.hint_keys import hint_refs
            tmp = hint_refs(film, hints, colorizer, refs_dir=refs, log=_note)
            refs = tmp.name
        assert refs is not None  # given, or the hinted frames' folder (checked above)
        keyframes = keyframes_from_refs(film, refs, _note)
    except (AdaptError, MediaError, ValueError, OSError) as exc:
        raise CliError(one_line(exc)) from None
    finally:
        if tmp is not None:
            tmp.cleanup()
    _note(f"learning the film from {len(keyframes)} keyframe(s) (frames "
          + ", ".join(str(k.index) for k in keyframes[:12]) + (", ..." if len(keyframes) > 12 else "")
          + (f"), up to {cfg.minutes:g} min" if cfg.minutes else ")")
          + (f", up to {cfg.max_steps} steps" if cfg.max_steps else ""))

    def progress(p) -> None:
        if p.held_loss is not None:
            _note(f"step {p.step}: train {p.train_loss:.5f}, held-out {p.held_loss:.5f} "
                  f"(base {p.base_held:.5f}, best {p.best_held:.5f}), at most {p.eta_s:.0f} s left")

    try:
        result = adapt(colorizer.model, keyframes, cfg, progress=progress)
    except AdaptError as exc:
        raise CliError(one_line(exc)) from None
    gain = "" if result.improved else (" (no gain on the held-out part: the starting weights are kept,"
                                       " for a plain model the palette transfer)")
    _note(f"adapted in {result.seconds:.0f} s, {result.steps} steps ({result.stopped}): held-out error "
          f"{result.base_held:.5f} -> {result.best_held:.5f} (best at step {result.best_step}){gain}")
    return result


def run(args) -> int:
    from ..core.ml.adapt import save_adapted
    from .common import load_colorizer, one_line

    if not Path(args.film).exists() and "%" not in args.film:
        raise CliError(f"{args.film}: no such file")
    if not Path(args.out).name.endswith(".keras") or Path(args.out).name == ".keras":
        raise CliError(f"--out must name a .keras file, got {args.out}")
    out_dir = Path(args.out).parent
    if not out_dir.is_dir():
        raise CliError(f"{args.out}: the folder {out_dir} does not exist")
    from ..core.media.writer import WriterError, refuse_input_as_output
    try:
        refuse_input_as_output(args.out, [args.film] + ([args.model] if args.model else []))
    except WriterError as exc:
        raise CliError(one_line(exc)) from None
    cfg = budget(args)
    colorizer = load_colorizer(args.model, cfg.size)
    result = adapt_model(args.film, args.refs, args.hints, colorizer, cfg)
    try:
        save_adapted(result.model, args.out)
    except OSError as exc:
        raise CliError(f"{args.out}: cannot write the model ({exc.strerror or exc})") from None
    print(f"saved {args.out}")
    return 0
