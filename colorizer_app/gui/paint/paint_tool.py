"""The brush on the viewer: mouse gestures -> live strokes -> one undo command per stroke.

* Left drag paints (mouse moves are merged into one stroke: one undo step).
* Shift + left drag resizes the brush (drag right = larger), as in Nuke/Krita.
* Ctrl + click picks the chroma under the cursor (eyedropper) without leaving the brush.
* Alt + left / middle drag still pans, the wheel zooms (viewbox.ImageViewBox).

Per mouse move only the region just painted is recomposited (core LiveStroke) and drawn into a
small overlay ImageItem covering the stroke's bounding box, so the cost is the brush's area, not
the frame's. On release the stroke is committed (optionally snapped to edges), pushed as a
StrokeCommand, and the display worker recomposes the frame; the overlay stays until that frame
arrives, so nothing flickers.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem

from ...core.corrections.masks import bbox_slices, bbox_union
from ...core.corrections.stack import apply_live_stroke
from ..session import COLORIZED
from ..viewbox import ViewerTool
from .commands import StrokeCommand

MIN_SIZE, MAX_SIZE = 1.0, 1000.0


def _awaits_tracking(c, frame: int, shot_of) -> bool:
    """A stroke here would give a tracked correction its own mask on a frame it is not yet
    tracked to."""
    return (c.tracking and frame != c.lifetime.start and not c.mask.is_empty
            and c.lifetime.active(frame, shot_of) and c.mask_key(frame) is None)


class PaintTool(ViewerTool):
    cursor = Qt.CursorShape.CrossCursor
    # pyqtgraph reports a drag once the pointer has passed its threshold: the viewbox presses at
    # the button-down point, so a stroke starts where the pen went down, not a few pixels on
    press_at_button_down = True

    def __init__(self, controller):
        self.ctl = controller
        self.live = None
        self.created = None
        self.created_index = -1
        self._resize_from: tuple[float, float] | None = None
        self._last_pos: QPointF | None = None
        self._pic: np.ndarray | None = None       # copy of the shown picture, live-updated
        self._bbox = None                            # union bbox of the live stroke
        self.outline = QGraphicsEllipseItem()
        pen = QPen(QColor(255, 255, 255, 220))
        pen.setCosmetic(True)
        pen.setWidthF(1.2)
        self.outline.setPen(pen)
        self.outline.setZValue(40)
        self.outline.setVisible(False)
        self.overlay = pg.ImageItem()
        self.overlay.setZValue(25)
        self.overlay.setVisible(False)
        self.viewer = None

    # ---- ViewerTool ------------------------------------------------------------------------
    def activate(self, viewer) -> None:
        self.viewer = viewer
        viewer.add_overlay(self.overlay)
        viewer.add_overlay(self.outline)

    def deactivate(self, viewer) -> None:
        if self.live is not None:
            self.live.cancel()
            self._drop_created()
            self.live = None
        viewer.remove_overlay(self.outline)
        viewer.remove_overlay(self.overlay)
        self.viewer = None

    def hover(self, pos: QPointF | None) -> None:
        if pos is None:
            self.outline.setVisible(False)
            return
        self._last_pos = pos
        self.place_outline(pos)
        self.ctl.hovered(pos.x(), pos.y())

    def press(self, pos: QPointF, modifiers) -> bool:
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            self.ctl.pick_colour(pos.x(), pos.y())
            return True
        if modifiers & Qt.KeyboardModifier.ShiftModifier:
            self._resize_from = (pos.x(), self.ctl.brush_panel.size())
            return True
        self._begin(pos.x(), pos.y())
        return True

    def drag(self, pos: QPointF, modifiers) -> bool:
        if self._resize_from is not None:
            x0, s0 = self._resize_from
            self.ctl.brush_panel.set_size(s0 + 2.0 * (pos.x() - x0))
            self.place_outline(QPointF(x0, pos.y()))
            return True
        self.place_outline(pos)
        if self.live is not None:
            self._extend([(pos.x(), pos.y())])
        return True

    def release(self, pos: QPointF, modifiers) -> bool:
        if self._resize_from is not None:
            self._resize_from = None
            return True
        if self.live is not None:
            self._extend([(pos.x(), pos.y())])   # the stroke ends where the button came up
            self._finish()
        return True

    # ---- brush outline ---------------------------------------------------------------------
    def place_outline(self, pos: QPointF | None = None) -> None:
        pos = pos or self._last_pos
        if pos is None:
            return
        r = self.ctl.brush_panel.size() / 2.0
        self.outline.setRect(QRectF(pos.x() - r, pos.y() - r, 2 * r, 2 * r))
        self.outline.setVisible(True)

    # ---- strokes ---------------------------------------------------------------------------
    def _begin(self, x: float, y: float) -> None:
        ctl = self.ctl
        frame = ctl.session.frame
        data = ctl.frame_data(frame)
        if ctl.stack is None or data is None:
            ctl.message("Painting needs the colorized frame: wait until it is shown")
            return
        ab_model, L = data
        panel = ctl.brush_panel
        target, self.created, self.created_index = ctl.target_for_stroke(frame, panel.eraser())
        if target is None:
            ctl.message("Select the correction to erase from")
            return
        if _awaits_tracking(target, frame, ctl.shot_of):
            # the frame's own mask would be seeded from the untracked base mask, in the wrong
            # place once tracking arrives: wait for it (it is running in the background)
            ctl.message(f"{target.name} is still being tracked to this frame: paint here once "
                        f"it follows its object (or on frame {target.lifetime.start})")
            return
        ctl.painting = True
        self.live = ctl.stack.begin_stroke(target.id, frame, panel.settings(), ab_model, L,
                                           shot_of=ctl.shot_of)
        self._bbox = None
        self._pic = None
        shown = ctl.viewer.current_pictures().get("left")
        b = ctl.pipeline.bundle(frame)
        if (ctl.session.view_mode == COLORIZED and b is not None and shown is not None
                and shown is b.colorized):
            self._pic = shown.copy()
        self._extend([(x, y)])

    def _extend(self, points) -> None:
        self.ctl.context.editing()         # mid-stroke: the background analysis waits
        up = apply_live_stroke(self.live, points)
        if up is None or self._pic is None or up.rgb is None:
            return
        self._pic[bbox_slices(up.bbox)] = up.rgb
        self._bbox = bbox_union(self._bbox, up.bbox)
        y0, x0, y1, x1 = self._bbox
        self.overlay.setImage(self._pic[y0:y1, x0:x1], autoLevels=False, levels=None)
        self.overlay.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.overlay.setVisible(True)

    def _finish(self) -> None:
        ctl, live = self.ctl, self.live
        self.live = None
        panel = ctl.brush_panel
        try:
            edit = live.finish(snap=panel.snap() and live.L is not None)
        except Exception as exc:       # snapping failed: keep the raw stroke rather than lose it
            ctl.message(f"Edge snap failed ({exc}); stroke kept as painted")
            edit = None
        ctl.painting = False
        if edit is None:
            self._drop_created()
            self.hide_overlay()
            ctl.recompose()
            return
        target = ctl.stack.find(edit.correction_id)
        cmd = StrokeCommand(ctl.stack, edit, target.name, self.created, self.created_index,
                            eraser=panel.eraser())
        self.created = None
        ctl.undo.push(cmd)
        ctl.select(target.id)
        ctl.recompose(keep_overlay=self._pic is not None)

    def _drop_created(self) -> None:
        if self.created is not None:
            try:
                self.ctl.stack.remove(self.created.id)
            except KeyError:
                pass
            self.created = None

    def hide_overlay(self) -> None:
        self.overlay.setVisible(False)
        self._pic = None
        self._bbox = None
