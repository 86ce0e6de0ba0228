"""`python -m colorizer_app [FILM|PROJECT]`: the review app, as `colorizer-app` starts it."""
import sys

from colorizer_app.gui.app import main

if __name__ == "__main__":
    sys.exit(main())
