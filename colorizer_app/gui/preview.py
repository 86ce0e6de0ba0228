"""The frame on screen coloured from its display proxy while the film's own frame decodes.

Landing on a new frame of a long-GOP film, the codec decodes from the previous keyframe (about
100 ms at 1080p) before the network can run, so the first colour picture took about 200 ms.  The
display proxy (core.media.proxy) has the frame as a JPEG in a few ms: the colorize worker runs the
network on it first (ColorizeWorker.previewed) and the viewer shows that picture, badged
"proxy", until the film's own frame is predicted and composed.  The preview's chroma never enters
the chroma cache (export and render only ever see the film's own pixels), and a frame any
correction, keyframe or hint touches gets no preview: the artist's work is never shown missing.
On two cores the preview and the film's decode slow each other down to no gain, so the display
worker holds the decode of that frame back while the preview is being made (PreviewGate, at most
HOLD_S): the proxy's colour picture comes in about half the time, the film's own a little later.
Without a proxy, a large colour frame is previewed the same way from a proxy-size copy of its own
pixels (ColorizeWorker._preview_from_film): the network's full-size input, the frame's float L,
costs 20-50 ms at 1080p, the copy's a few.  The colorize worker also composes the preview's
pictures (compose_preview), at the size the viewer draws the film: the GUI thread only keeps them.
Qt-free.
"""
from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from ..core import compose
from ..core.media.frames import FrameBundle
from . import display_compose


class ColourPreview:
    """At most one preview: the frame on screen, for the chroma cache and compose generation it
    was made under; anything else asks for it in vain."""

    def __init__(self) -> None:
        self._bundle: FrameBundle | None = None

    def clear(self) -> None:
        self._bundle = None

    def offer(self, index: int, pics: display_compose.DisplayPictures, *, key: str, gen: tuple,
              film_shape: tuple[int, int], touched: Callable[[int], bool] | None,
              stand_in: str = "proxy") -> FrameBundle | None:
        """Keep the preview of frame `index` (composed by the colorize worker, compose_preview);
        None when a correction may touch the frame (`touched` None means: unknown, so it may)."""
        if touched is None or touched(index):
            self._bundle = None
            return None
        self._bundle = FrameBundle(index, pics.source, pics.gray, pics.colorized, key,
                                   proxy=True, compose_gen=gen, full_shape=film_shape,
                                   stand_in=stand_in)
        return self._bundle

    def get(self, index: int, key: str | None, gen: tuple) -> FrameBundle | None:
        b = self._bundle
        if b is None or b.index != index or b.chroma_key != key or b.compose_gen != gen:
            return None
        return b


def compose_preview(ab_work: np.ndarray, small: np.ndarray, *, film_shape: tuple[int, int],
                    size: int, shape: tuple[int, int] | None, has_color: bool
                    ) -> display_compose.DisplayPictures:
    """The preview's pictures at the display `shape` (None: the small frame's own size, stretched
    over the film's pixels like any display-size picture), on the colorize worker's thread: a
    compose on the GUI thread (25-45 ms at 1140x641) stalled scrubbing in a colour view."""
    h, w = film_shape
    box = compose.letterbox(h, w, size)
    return display_compose.compose_display(small, ab_work, box, shape or small.shape[:2], has_color)


class PreviewGate:
    """Between the two workers, any thread. The display worker says which frame it showed from
    the proxy because decoding it is slow (proxied): only those are worth a preview. The colorize
    worker says which frame it is colouring from the proxy now (begin/end), and the display
    worker waits for that (hold) before decoding the frame from the film."""

    HOLD_S = 0.15   # never longer than this: a slow network must not hold the film's pixels back

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._index: int | None = None
        self._proxied: int | None = None

    def proxied(self, index: int) -> None:
        with self._cond:
            self._proxied = index
            self._cond.notify_all()

    def was_proxied(self, index: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._proxied == index, timeout=timeout)

    def begin(self, index: int) -> None:
        with self._cond:
            self._index = index

    def end(self) -> None:
        with self._cond:
            self._index = None
            self._cond.notify_all()

    def hold(self, index: int, timeout: float = HOLD_S) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._index != index, timeout=timeout)
