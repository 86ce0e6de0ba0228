"""`colorizer render PROJECT OUT` and `colorizer join OUT PARTS...`: export a corrected film.

Render farm: every node runs `colorizer render reel.bento.json shots/ --frames A-B` into the same
image-sequence folder (frames are numbered by absolute index), then one node runs
`colorizer join reel.mov shots/ --source film.mp4` to encode the whole film with its audio.
"""
from __future__ import annotations

from pathlib import Path

from ..core.ml.bundled import model_path_arg
from . import CliError
from .colorize import add_temporal_arguments, check_not_input, note


def register(sub) -> None:
    p = sub.add_parser("render", help="render a project (model chroma + corrections) to a film "
                                      "or image sequence")
    p.add_argument("project", help="project file (.bento.json)")
    p.add_argument("output", help=".mp4 (H.264), .mov (ProRes), .mkv (FFV1), or a folder / "
                                  "pattern like f_%%06d.png or f_%%06d.tif")
    p.add_argument("--frames", help="frame range A-B, inclusive, 0-based (default: the project's "
                                    "in/out, else the whole film)")
    p.add_argument("--model", type=model_path_arg,
                   help="generator .keras file, or a bundled model: default, hints (default: the "
                        "project's, else default)")
    p.add_argument("--size", type=int, default=None,
                   help="working size, a multiple of 64 (default: the project's)")
    p.add_argument("--bit-depth", type=int, choices=(8, 16), default=None,
                   help="16 for 16-bit PNG (TIFF is always 16-bit; default 8)")
    p.add_argument("--no-cache", action="store_true", help="do not read or fill the chroma cache")
    add_temporal_arguments(p)
    p.set_defaults(func=run_render)

    j = sub.add_parser("join", help="join rendered ranges (image sequence or parts) into one film")
    j.add_argument("output", help="output film or image sequence")
    j.add_argument("parts", nargs="+", help="image-sequence folder(s)/pattern(s) or movie parts, "
                                            "in film order")
    j.add_argument("--source", help="the original film: its rate and audio are used")
    j.add_argument("--fps", help="frame rate for image sequences without --source (e.g. 24000/1001)")
    j.add_argument("--start", type=int, default=0,
                   help="film frame of the first joined frame (for the audio; default 0)")
    j.add_argument("--expect", type=int, default=None,
                   help="fail unless exactly this many frames are joined")
    j.add_argument("--bit-depth", type=int, choices=(8, 16), default=None)
    j.set_defaults(func=run_join)


def _errors():
    from ..core.media import MediaError
    from ..core.pipeline.render import RenderError
    from ..core.project.project import ProjectError
    return (MediaError, ProjectError, RenderError, ValueError, OSError)


def run_render(args) -> int:
    from ..core.pipeline.render import RenderJob, render
    from ..core.project.project import open_project
    from ..core.temporal.film import RefsError, scan_refs
    from .progress import ProgressBar

    path = Path(args.project)
    if not path.is_file():
        raise CliError(f"{args.project}: no such project file")
    if args.size is not None and (args.size < 64 or args.size % 64):
        raise CliError(f"--size must be a positive multiple of 64, got {args.size}")
    if args.model is not None and not Path(args.model).is_file():
        raise CliError(f"{args.model}: no such model file")
    try:
        project = open_project(path)
        check_not_input(args.output, project.source_path, str(path))
        for w in project.warnings:
            print(f"warning: {w}")
        job = RenderJob.from_project(project, model=args.model, size=args.size)
        # the project's keyframes and deflicker (as the artist left them in the app), with
        # the command line's on top: --deflicker sets the strength, --refs adds stills
        if args.deflicker is not None and not 0.0 <= args.deflicker <= 1.0:
            raise CliError(f"--deflicker must be between 0 and 1, got {args.deflicker}")
        refs = scan_refs(args.refs, note) if args.refs is not None else None
        assert job.temporal is not None  # from_project reads the project's settings
        job.temporal = job.temporal.merged(args.deflicker, refs)
        if job.temporal.active:
            note(f"temporal: deflicker {job.temporal.deflicker:g}, "
                 f"{len(job.temporal.keyframes)} keyframe(s)")
        result = render(job, args.output, frames=args.frames, bit_depth=args.bit_depth,
                        progress=ProgressBar("render"), use_cache=not args.no_cache)
    except (RefsError,) + _errors() as exc:
        raise CliError(_one_line(exc)) from None
    print(f"{args.output}: frames {result.start}-{result.stop - 1} ({result.frames_written} "
          f"written, {result.cache_hits} from the chroma cache) in {result.seconds:.1f} s")
    for e in result.errors:   # lost and replaced frames are among them
        print(f"warning: {e}")
    short = result.frames_written < result.stop - result.start
    return 1 if short or result.errors else 0


def run_join(args) -> int:
    from fractions import Fraction

    from ..core.pipeline.render import join_segments
    from .progress import ProgressBar

    if args.source is None and args.fps is None:
        if any(not Path(p).is_file() for p in args.parts):
            raise CliError("image sequences carry no frame rate: give --source FILM or --fps")
    try:
        fps = Fraction(args.fps) if args.fps else None
        result = join_segments(args.parts, args.output, fps=fps, audio_from=args.source,
                               audio_start_frame=args.start, expected_frames=args.expect,
                               bit_depth=args.bit_depth, progress=ProgressBar("join"))
    except (ZeroDivisionError,) + _errors() as exc:
        raise CliError(_one_line(exc)) from None
    print(f"{args.output}: {result.frames_written} frames joined in {result.seconds:.1f} s")
    return 0


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text.splitlines()[0]
