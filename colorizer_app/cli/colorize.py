"""`colorizer colorize IN OUT`: colorize a whole film (or a frame range) with the model."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from ..core.ml.bundled import model_path_arg
from . import CliError
from .common import load_colorizer, one_line


def register(sub) -> None:
    p = sub.add_parser("colorize", help="colorize a black-and-white film; keeps size, rate, frame count and audio")
    p.add_argument("input", help="film (mp4/mov/mkv/avi...) or image sequence (folder or pattern like f_%%04d.png)")
    p.add_argument("output", help=".mp4 (H.264), .mov (ProRes), .mkv (FFV1), or a folder/pattern of .png/.tif")
    p.add_argument("--model", type=model_path_arg,
                   help="generator .keras file, or a bundled model: default, hints (default: default)")
    p.add_argument("--size", type=int, default=None, help="working size, a multiple of 64 (default 256)")
    p.add_argument("--frames", help="frame range A-B, inclusive, 0-based (default: all)")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--bit-depth", type=int, choices=(8, 16), default=None,
                   help="16 for 16-bit PNG/TIFF (default: 16 for .tif, else 8)")
    add_temporal_arguments(p)
    p.add_argument("--hints", metavar="DIR",
                   help="folder of hint_NNNNNN.png images (RGBA, film size; alpha > 0 = a colour hint): "
                        "each hinted frame is colorized with its hints and becomes a keyframe of its shot")
    p.add_argument("--adapt", action="store_true",
                   help="first learn the film from the --refs/--hints keyframes (cli.adapt), then colorize "
                        "with the adapted model")
    from .adapt import add_budget_arguments
    add_budget_arguments(p)
    p.set_defaults(func=run)


def add_temporal_arguments(p) -> None:
    p.add_argument("--deflicker", nargs="?", type=float, const=1.0, default=None, metavar="STRENGTH",
                   help="motion-compensated temporal filtering of the chroma within each shot, "
                        "strength 0-1 (default 1 when given)")
    p.add_argument("--refs", metavar="DIR",
                   help="folder of ref_NNNNNN.png colour stills (NNNNNN = frame index): each becomes a "
                        "keyframe whose colours flow through its shot")


def note(message: str) -> None:
    print(message, file=sys.stderr)


def check_output_writable(out: str) -> None:
    parent = Path(out).parent if Path(out).suffix else Path(out).parent
    parent = parent if str(parent) else Path(".")
    if not parent.exists():
        raise CliError(f"{out}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise CliError(f"{out}: cannot write in {parent} (permission denied)")


def check_not_input(out: str, *inputs: str) -> None:
    """Refuse, before any work (the model loads in seconds), an output that is or would write
    into an input, or that no writer can make."""
    from ..core.media.writer import WriterError, check_output_kind, refuse_input_as_output
    try:
        refuse_input_as_output(out, inputs)
        check_output_kind(out)
    except WriterError as exc:
        raise CliError(one_line(exc)) from None


def report_losses(src: str, info, replaced: list, first_error) -> bool:
    """Warnings for every frame that did not come from the film; True when there were any."""
    from ..core.media.fill import lost_frames_warning, source_loss_warning
    if replaced:
        print(f"warning: {lost_frames_warning(src, replaced, first_error)}")
    missing = source_loss_warning(src, info)
    if missing:
        print(f"warning: {missing}")
    return bool(replaced or missing)


def run(args) -> int:
    from ..core.media import MediaError, open_media
    from ..core.pipeline.batch import colorize_film, parse_range
    from .progress import ProgressBar

    if not Path(args.input).exists() and "%" not in args.input:
        raise CliError(f"{args.input}: no such file")
    check_output_writable(args.output)
    check_not_input(args.output, args.input)
    try:
        with open_media(args.input) as reader:
            info = reader.info
        parse_range(args.frames, info.frame_count)
    except (MediaError, ValueError) as exc:
        raise CliError(one_line(exc)) from None
    adapt_cfg = None
    if getattr(args, "adapt", False):  # refuse a zero budget or no keyframes before loading anything
        from .adapt import budget
        if args.refs is None and getattr(args, "hints", None) is None:
            raise CliError("--adapt learns from keyframes: give --refs DIR and/or --hints DIR")
        adapt_cfg = budget(args)
    colorizer = load_colorizer(args.model, args.size, args.batch_size)
    if adapt_cfg is not None:  # learn the film first; the refs still propagate below
        from ..core.ml.inference import Colorizer
        from .adapt import adapt_model
        result = adapt_model(args.input, args.refs, getattr(args, "hints", None), colorizer, adapt_cfg)
        colorizer = Colorizer(result.model, size=colorizer.size, batch_size=colorizer.batch_size)
    elif args.minutes is not None or args.steps is not None:
        raise CliError("--minutes/--steps are the budget of --adapt: add --adapt")
    bit_depth = args.bit_depth or (16 if Path(args.output).suffix.lower() in (".tif", ".tiff")
                                   or args.output.lower().endswith((".tif", ".tiff")) else 8)
    refs_dir, hint_tmp = args.refs, None
    if getattr(args, "hints", None) is not None:  # hinted frames become reference stills (core.project.hint_keys)
        from ..core.project.hint_keys import hint_refs
        try:
            hint_tmp = hint_refs(args.input, args.hints, colorizer, refs_dir=args.refs, log=note)
        except (MediaError, ValueError, OSError) as exc:
            raise CliError(one_line(exc)) from None
        refs_dir = hint_tmp.name
    try:
        if args.deflicker is not None or refs_dir is not None:
            from ..core.pipeline.batch import colorize_film_temporal

            result = colorize_film_temporal(args.input, args.output, colorizer, frames=args.frames,
                                            progress=ProgressBar("colorize"), bit_depth=bit_depth,
                                            deflicker=args.deflicker, refs_dir=refs_dir, log=note)
        else:
            result = colorize_film(args.input, args.output, colorizer, frames=args.frames,
                                   progress=ProgressBar("colorize"), bit_depth=bit_depth)
    except (MediaError, ValueError, OSError) as exc:
        raise CliError(one_line(exc)) from None
    print(f"{args.output}: {result.frames_written} frames at {info.fps} fps in {result.seconds:.1f} s "
          f"({result.fps:.1f} fps)")
    for e in result.errors:
        print(f"warning: {e}")
    lost = report_losses(args.input, info, result.replaced, result.first_error)
    return 1 if lost or result.lost_frames or result.errors else 0
