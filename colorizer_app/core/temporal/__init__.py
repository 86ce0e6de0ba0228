"""Temporal tools: optical flow, shot detection, keyframe propagation, deflicker, timeline curves.

Pure numpy + OpenCV (no Qt, no Keras; film.colorize_film_temporal imports core.batch lazily).  Submodules:
- flow:       DIS optical flow at a work scale, backward warping, forward-backward confidence.
- shots:      cut and fade detection, ShotList value type.
- propagate:  keyframe chroma and tracked masks flowing through a shot.
- deflicker:  motion-compensated temporal filtering of the model's chroma.
- curves:     per-frame flicker and colourfulness curves for the timeline.
- film:       the export's temporal hook: shot scan, reference stills (ref_NNNNNN.png), deflicker.
- stream:     centred look-ahead deflicker inside the streaming export (Colorizer proxy).
"""
