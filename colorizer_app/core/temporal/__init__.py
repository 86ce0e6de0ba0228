"""Temporal tools: shot detection, keyframe propagation, deflicker, timeline curves.

Pure numpy + OpenCV (no Qt, no Keras; the optical flow they share is core.flow, and the export
that runs them, pipeline.batch.colorize_film_temporal, sits above them).  Submodules:
- shots:      cut and fade detection, ShotList value type.
- propagate:  keyframe chroma and tracked masks flowing through a shot.
- deflicker:  motion-compensated temporal filtering of the model's chroma.
- curves:     per-frame flicker and colourfulness curves for the timeline.
- film:       the export's temporal hook: shot scan, reference stills (ref_NNNNNN.png), deflicker.
- stream:     centred look-ahead deflicker inside the streaming export (Colorizer proxy).
- engine:     the displayed picture's temporal stage (deflicker then keyframes), as render runs it.
- results:    the thread-safe hand-over of the engine's chroma to the display.
- render_stage: the temporal stage of a render job.
"""
