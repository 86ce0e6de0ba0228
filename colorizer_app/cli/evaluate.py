"""`colorizer evaluate --model M [--model M2] --data DIR`: test-split figures and a comparison image."""
from __future__ import annotations

import json
from pathlib import Path

from . import CliError


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="PSNR, ab RMSE and colourfulness on a set's test split, vs the gray baseline")
    p.add_argument("--model", action="append", required=True,
                   help="generator .keras (repeat to compare, e.g. the MSE then the GAN model); NAME=PATH labels it")
    p.add_argument("--data", required=True, help="a set built by `colorizer dataset build`")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--size", type=int, default=256, help="working size")
    p.add_argument("--figure", help="write the comparison image here (PNG)")
    p.add_argument("--json", help="write the figures here as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..core.ml.evaluate import comparison_figure, evaluate_models, format_report
    from .common import load_colorizer

    colorizers = {}
    for spec in args.model:
        name, sep, path = spec.partition("=")
        if not sep:
            name, path = Path(spec).stem, spec
        colorizers[name] = load_colorizer(path, args.size)
    try:
        report, outputs, originals = evaluate_models(colorizers, args.data, args.split)
    except (FileNotFoundError, OSError) as exc:
        raise CliError(str(exc)) from None
    print(format_report(report))
    if args.figure:
        print(f"comparison image: {comparison_figure(outputs, originals, args.figure)}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0
