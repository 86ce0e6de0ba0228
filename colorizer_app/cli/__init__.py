"""`colorizer`: the engine from a terminal (colorize, render, dataset, train, evaluate).

Each module in this package offers `register(subparsers)`; its handlers raise CliError for bad
input, which main() prints as one line with a non-zero exit — never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = ("colorize", "adapt", "render", "farm", "dataset", "train", "evaluate")


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    parser = argparse.ArgumentParser(prog="colorizer", description="BentoColor Studio command line")
    parser.add_argument("--version", action="version", version=f"colorizer {__version__}")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow/Keras log output (hidden by default)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:  # a command whose module is not installed is simply absent
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        module.register(sub)
    _add_verbose(sub)
    return parser


def _add_verbose(subparsers) -> None:
    """`--verbose` also after the command (`colorizer colorize IN OUT --verbose`), at any depth."""
    for child in set(subparsers.choices.values()):
        child.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                           help="show TensorFlow/Keras log output")
        for action in child._actions:
            if isinstance(action, argparse._SubParsersAction):
                _add_verbose(action)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from ..quiet import configure
    configure(verbose=args.verbose)  # before any command imports Keras
    from ..core.heap import configure_heap
    configure_heap()                 # before any thread's heap exists
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
