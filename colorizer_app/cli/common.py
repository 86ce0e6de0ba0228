"""Helpers the commands share (apart so that commands never import each other in a circle)."""
from __future__ import annotations

from . import CliError


def one_line(exc: BaseException) -> str:
    """The first line of an error: libraries (Keras) put whole reports in their messages."""
    text = str(exc).strip() or exc.__class__.__name__
    return text.splitlines()[0]


def load_colorizer(model: str | None, size: int | None, batch_size: int = 4):
    from ..core.ml.inference import DEFAULT_SIZE, Colorizer
    from ..core.ml.model import DEFAULT_MODEL, ModelError

    size = DEFAULT_SIZE if size is None else size
    if size % 64 or size < 64:
        raise CliError(f"--size must be a positive multiple of 64, got {size}")
    try:
        return Colorizer(model or DEFAULT_MODEL, size=size, batch_size=batch_size)
    except ModelError as exc:
        raise CliError(one_line(exc)) from None
