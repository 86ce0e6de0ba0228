"""Start BentoColor Studio: `python main.py [FILM|PROJECT]` (same as the `colorizer-app` command)."""
import sys

from colorizer_app.gui.app import main

if __name__ == "__main__":
    sys.exit(main())
