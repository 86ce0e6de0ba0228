"""`colorizer`: the engine from a terminal (colorize, render, dataset, train, evaluate).

Each module in this package offers `register(subparsers)`; its handlers raise CliError for bad
input, which main() prints as one line with a non-zero exit — never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

COMMAND_MODULES = ("colorize", "render", "dataset", "train", "evaluate")


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="colorizer", description="BentoColor Studio command line")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:  # a command whose module is not installed is simply absent
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"colorizer {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"colorizer {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
