"""Qt-free engine: media I/O, colour maths, the model, corrections, temporal tools, projects, export.

Nothing below this package may import Qt; it must run and be tested without a display.
Sub-packages, top to bottom (a package imports only those below it; `lint-imports` checks this
and the other contracts in pyproject.toml):

    farm                    a film rendered on a Ray cluster
    pipeline | project      batch colorize, render/export, scheduler | the project document
    ml | corrections        the model (only ml imports Keras), chroma cache | painted corrections
    temporal                shots, keyframe propagation, deflicker, timeline curves
    media                   film/sequence input, writers, proxies, decoded-frame caches
    compose, metrics, schema, color, flow   (single modules at the bottom)
"""
