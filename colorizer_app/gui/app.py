"""Entry point: `colorizer-app [FILM|PROJECT]` and `python main.py [FILM|PROJECT]`."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..core.ml.bundled import model_path_arg


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="colorizer-app",
                                description="BentoColor Studio: review and correct film colorization.")
    p.add_argument("path", nargs="?", help="a film, an image sequence (folder or shot_%%04d.png) "
                                           "or a film's .bento project folder")
    p.add_argument("--model", type=model_path_arg,
                   help="a .keras generator to colorize with, or a bundled model: default, hints "
                        "(default: the last one chosen, else default)")
    p.add_argument("--size", type=int, help="working size in pixels (a multiple of 64)")
    p.add_argument("--verbose", action="store_true", help="show TensorFlow/Keras log output")
    p.add_argument("--version", action="version", version=f"colorizer-app {__version__}")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from ..quiet import configure
    configure(verbose=args.verbose)  # before the colorize worker imports Keras
    from ..core.heap import configure_heap
    configure_heap()                 # before any thread's heap exists
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        from .platform_check import problem
        reason = problem()
        if reason:     # instead of Qt's multi-line plugin message and abort
            print(f"colorizer-app: error: {reason}", file=sys.stderr)
            return 2

    from .main_window import APP_NAME, MainWindow

    if app is None:
        # Fractional scaling (125 %, 150 %) without rounding: pixel-accurate review at 100 %.
        QApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication([sys.argv[0]])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("BentoColor")
    app.setStyle("Fusion")
    _dark_palette(app)
    win = MainWindow(model_path=args.model)
    if args.size:
        win.session.set_work_size(args.size)
    win.show()
    if args.path:
        win.open_path(args.path)
    return app.exec()


def _dark_palette(app) -> None:
    """A neutral dark UI: colour judgements need a gray surround, not a white one."""
    from PySide6.QtGui import QColor, QPalette
    pal = QPalette()
    base, text = QColor(45, 45, 48), QColor(220, 220, 220)
    for role, colour in ((QPalette.ColorRole.Window, base), (QPalette.ColorRole.WindowText, text),
                         (QPalette.ColorRole.Base, QColor(32, 32, 34)),
                         (QPalette.ColorRole.AlternateBase, base),
                         (QPalette.ColorRole.Text, text), (QPalette.ColorRole.Button, base),
                         (QPalette.ColorRole.ButtonText, text),
                         (QPalette.ColorRole.ToolTipBase, base), (QPalette.ColorRole.ToolTipText, text),
                         (QPalette.ColorRole.Highlight, QColor(70, 120, 190)),
                         (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))):
        pal.setColor(role, colour)
    app.setPalette(pal)


if __name__ == "__main__":
    sys.exit(main())
