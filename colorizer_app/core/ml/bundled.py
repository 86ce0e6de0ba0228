"""The models that ship inside the package, by name (no Keras here: the CLI parses names cheaply).

They are package data, so `pip install .` and wheels carry them (the wheel is not zip-safe:
installed packages are plain folders, so the traversable is a real path).
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

_FOLDER = resources.files("colorizer_app") / "resources" / "models"
# The study's generator (L → ab): the default. Model card bento_default.md.
DEFAULT_MODEL = Path(str(_FOLDER / "bento_default.keras"))
# The hint generator (L + colour hints → ab). Model card bento_hints.md. Not the default: with no
# hints it leaves the film gray, so it is the hint workflow's model, one click away in the app.
HINT_MODEL = Path(str(_FOLDER / "bento_hints.keras"))
BUNDLED_MODELS = {"default": DEFAULT_MODEL, "hints": HINT_MODEL}


def default_model_path() -> str:
    """The shipped default model's path, or "" when this install lacks it."""
    return str(DEFAULT_MODEL) if DEFAULT_MODEL.exists() else ""


def hint_model_path() -> str:
    """The shipped hint generator's path, or "" when this install lacks it."""
    return str(HINT_MODEL) if HINT_MODEL.exists() else ""


def model_path_arg(value: str) -> str:
    """A --model value: a bundled model's name ("default", "hints") or a file's path."""
    return str(BUNDLED_MODELS.get(value, value))


__all__ = ["BUNDLED_MODELS", "DEFAULT_MODEL", "HINT_MODEL", "default_model_path", "hint_model_path",
           "model_path_arg"]
