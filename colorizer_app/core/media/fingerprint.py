"""The fingerprint of a film: what a chroma cache (core.ml.chroma_cache) and a display proxy
(core.media.proxy) store to know they were made from this very file.

One function for the GUI pipeline and render, so both read and fill one cache."""
from __future__ import annotations

import os
from typing import Any, Protocol


class FilmShape(Protocol):
    """What the fingerprint reads: a MediaInfo or the GUI's FilmInfo."""

    @property
    def path(self) -> Any: ...
    @property
    def frame_count(self) -> int: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...


def film_fingerprint(film: FilmShape) -> dict[str, int]:
    """{"frames", "width", "height"} plus "bytes" (the file's size) when the film is one file."""
    fp = {"frames": int(film.frame_count), "width": int(film.width), "height": int(film.height)}
    path = os.fspath(film.path)
    if os.path.isfile(path):
        fp["bytes"] = os.path.getsize(path)
    return fp
