"""Temporal tools in the review app (issue 6): shot cuts on the timeline, reference keyframes
propagated through their shot, deflicker, and flicker/colourfulness curves.

Install with ``attach_temporal(window)`` (see controller.py)."""
from .controller import TemporalController, attach_temporal

__all__ = ["TemporalController", "attach_temporal"]
