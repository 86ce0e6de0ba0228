"""Qt-free engine: media I/O, colour maths, the model, corrections, temporal tools, projects, export.

Nothing below this package may import Qt; it must run and be tested without a display.
"""
