"""`colorizer farm INPUT... OUT`: colour a film, or a library of films, on a Ray cluster.

One input (a film or a project) -> OUT is the film's output, as for `colorize`/`render`.
Several inputs, or a folder of films/projects -> OUT is a folder: one output per film.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..core.ml.bundled import model_path_arg
from . import CliError
from .colorize import add_temporal_arguments, note


def register(sub) -> None:
    p = sub.add_parser("farm", help="colour films on a Ray cluster (local, or --address)")
    p.add_argument("paths", nargs="+", metavar="INPUT... OUT",
                   help="films or projects (.bento.json), or a folder of them; then the output "
                        "(a film or sequence for one input, a folder for several)")
    p.add_argument("--address", help="Ray cluster to join (e.g. 10.0.0.1:6379; default: start a "
                                     "local cluster on this machine)")
    p.add_argument("--chunk-seconds", type=float, default=60.0,
                   help="film seconds per chunk, cut at a shot boundary when one is near "
                        "(default 60)")
    p.add_argument("--model", type=model_path_arg,
                   help="generator .keras file, or a bundled model: default, hints (default: the "
                        "project's, else default)")
    p.add_argument("--size", type=int, default=None,
                   help="working size, a multiple of 64 (default: the project's, else 256)")
    p.add_argument("--format", choices=("mp4", "mov", "mkv"), default="mp4",
                   help="output type for a library (default mp4)")
    p.add_argument("--bit-depth", type=int, choices=(8, 16), default=None)
    p.add_argument("--retries", type=int, default=3,
                   help="times a chunk is retried when its worker dies (default 3)")
    p.add_argument("--num-cpus", type=int, default=None,
                   help="local cluster only: workers to start (default: one per core)")
    add_temporal_arguments(p)
    p.add_argument("--hints", metavar="DIR",
                   help="folder of hint_NNNNNN.png images (RGBA, film size; alpha > 0 = a colour "
                        "hint): each hinted frame is colorized with its hints (once, on this "
                        "machine) and becomes a keyframe of its shot")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..core.farm.plan import FarmCancelled, FarmError, FarmSettings, expand_inputs, plan_film
    from ..core.farm.runner import connect, farm_library
    from .progress import ProgressBar

    if len(args.paths) < 2:
        raise CliError("give at least one input and the output")
    *inputs, out = args.paths
    if args.chunk_seconds <= 0:
        raise CliError(f"--chunk-seconds must be positive, got {args.chunk_seconds:g}")
    if args.deflicker is not None and not 0.0 <= args.deflicker <= 1.0:
        raise CliError(f"--deflicker must be between 0 and 1, got {args.deflicker}")
    if args.retries < 0:
        raise CliError(f"--retries must be 0 or more, got {args.retries}")
    settings = FarmSettings(model=args.model, size=args.size, deflicker=args.deflicker,
                            refs=args.refs, hints=args.hints, chunk_seconds=args.chunk_seconds,
                            bit_depth=args.bit_depth)
    try:
        films, library = expand_inputs(inputs)
        if library:
            if args.refs is not None or args.hints is not None:
                raise CliError("--refs and --hints name frames of one film: give one input")
            outs = _library_outputs(films, out, "." + args.format)
        else:
            _check_parent(out)
            outs = [out]
        plans = [plan_film(f, o, settings, note) for f, o in zip(films, outs)]
        for plan in plans:
            if os.path.abspath(plan.out) == os.path.abspath(plan.source):
                raise CliError(f"{plan.out}: is the input film; choose another output")
        if not library and os.path.exists(out) and not os.path.isfile(out):
            raise CliError(f"{out}: exists and is not a file")
        connect(args.address, args.num_cpus)
        note(f"farm: {len(plans)} film(s), {sum(len(p.chunks) for p in plans)} chunk(s)")
        results = farm_library(plans, progress=lambda p: ProgressBar(f"farm {Path(p.input).name}"),
                               log=note, retries=args.retries) if library else \
            [_single(plans[0], args.retries)]
    except FarmError as exc:
        raise CliError(str(exc)) from None
    except FarmCancelled:
        raise KeyboardInterrupt from None
    status = 0
    for plan, r in zip(plans, results):
        if r.skipped:
            continue
        print(f"{r.out}: {r.frames} frames ({r.chunks_rendered} chunk(s) rendered, "
              f"{r.chunks_skipped} already done) in {r.seconds:.1f} s, join {r.join_seconds:.1f} s")
        if plan.lost_frames:             # as colorize: what decodes is coloured, the loss said
            print(f"warning: {plan.lost_frames} frame(s) could not be decoded from {plan.input} "
                  f"(truncated or damaged file)")
            status = 1
    return status


def _single(plan, retries: int):
    from ..core.farm.runner import farm_film
    from .progress import ProgressBar
    return farm_film(plan, progress=ProgressBar("farm"), retries=retries, log=note)


def _check_parent(out: str) -> None:
    parent = Path(out).parent
    if not parent.is_dir():
        raise CliError(f"{out}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise CliError(f"{out}: cannot write in {parent} (permission denied)")


def _library_outputs(films, out_dir: str, ext: str):
    from ..core.farm.plan import library_output
    d = Path(out_dir)
    if d.exists() and not d.is_dir():
        raise CliError(f"{out_dir}: several films need an output folder, and this is a file")
    _check_parent(str(d / "x") if d.is_dir() else out_dir)
    d.mkdir(exist_ok=True)
    outs = [library_output(f, out_dir, ext) for f in films]
    seen: dict[str, str] = {}
    for f, o in zip(films, outs):
        if o in seen:
            raise CliError(f"{f} and {seen[o]} would both be written to {o}")
        seen[o] = f
    return outs
