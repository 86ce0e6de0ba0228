"""Painted corrections: the correction stack (stack.py), masks, brush strokes, snapping,
compositing and mask tracking along the film."""
