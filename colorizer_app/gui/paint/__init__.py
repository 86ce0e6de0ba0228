"""Painting chroma corrections in the review app: brush tool, panels, undo commands.

Install with ``attach_painting(window)`` (see attach.py)."""
from .attach import PaintingController, attach_painting

__all__ = ["PaintingController", "attach_painting"]
