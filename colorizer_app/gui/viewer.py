"""The viewer: one frame in Gray, Colorized or Original, a split wipe, side by side, or the
difference of the A/B pair.

Display goes through pyqtgraph ImageItems on ViewBoxes (GPU-free but fast: a 1080p RGB frame is
a single QImage upload).  The wipe is not a crop of the array: the "after" picture is a child of a
rectangle that clips its children, so dragging the divider moves a clip rect and copies nothing.
Side by side uses a second ViewBox whose X and Y ranges are linked to the first, so zoom and pan
are shared exactly.  Difference shows |A - B| per channel, amplified DIFF_GAIN times: with a
colour source (B = Original) it is where the colorization is wrong; with a black-and-white one
(B = Gray) it is where, and how strongly, colour was added.

The viewer only renders state: it reads the Session (frame, view mode, split) and the Pipeline's
ready pictures, and reports `frameShown` once a frame's picture is on screen.
"""
from __future__ import annotations

import cv2
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QLabel, QVBoxLayout, QWidget

from .session import (
    COLORIZED,
    DIFFERENCE,
    GRAY,
    ORIGINAL,
    SIDE_BY_SIDE,
    SPLIT,
    VIEW_LABELS,
    Session,
)
from .viewbox import ImageViewBox, ViewerTool

pg.setConfigOptions(imageAxisOrder="row-major")

BACKGROUND = QColor(38, 38, 40)
_BADGE_TEXT = QColor(230, 230, 230)   # a badge's default text colour
DIFF_GAIN = 4.0


class Viewer(QWidget):
    frameShown = Signal(int)        # frame index now on screen (after its picture was set)
    zoomChanged = Signal(float)     # screen pixels per image pixel

    def __init__(self, session: Session, pipeline, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.pipeline = pipeline
        self.shown_index = -1
        self._shape: tuple[int, int] | None = None
        self._image_shape: tuple[int, int] | None = None   # the film's (h, w) being shown
        self._fit = True                 # keep fitting on resize until the artist zooms or pans
        self._pics: dict[str, object] = {}
        self._diff_key: tuple[int, int] | None = None
        self._diff: np.ndarray | None = None
        self._diff_refs: tuple[np.ndarray, np.ndarray] | None = None

        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground(BACKGROUND)
        self.canvas.ci.setContentsMargins(0, 0, 0, 0)
        self.canvas.ci.setSpacing(4)
        self.left = ImageViewBox()
        self.right = ImageViewBox()
        self.right.setXLink(self.left)
        self.right.setYLink(self.left)
        self.canvas.addItem(self.left, 0, 0)

        self.img_left = pg.ImageItem()
        self.left.addItem(self.img_left)
        # Wipe: the "after" picture lives inside a clipping rectangle over the left view.
        self.clip = QGraphicsRectItem()
        self.clip.setPen(QPen(Qt.PenStyle.NoPen))
        self.clip.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True)
        self.left.addItem(self.clip, ignoreBounds=True)
        self.img_wipe = pg.ImageItem()
        self.img_wipe.setParentItem(self.clip)
        self.divider = pg.InfiniteLine(angle=90, movable=True,
                                       pen=pg.mkPen(255, 255, 255, 200, width=2),
                                       hoverPen=pg.mkPen(255, 200, 60, width=3))
        self.divider.setZValue(10)
        self.left.addItem(self.divider, ignoreBounds=True)
        self.img_right = pg.ImageItem()
        self.right.addItem(self.img_right)

        self.caption_left = self._badge("")
        self.caption_right = self._badge("")
        self.status_badge = self._badge("", QColor(250, 200, 80))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.canvas)
        # The review keys act on whatever has focus in the window: the picture is where it rests.
        self.canvas.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFocusProxy(self.canvas)

        self.divider.sigPositionChanged.connect(self._on_divider_dragged)
        self.left.sigRangeChangedManually.connect(self._on_manual_range)
        self.left.sigRangeChanged.connect(self._emit_zoom)
        session.frameChanged.connect(self.render)
        session.viewModeChanged.connect(self._on_mode)
        session.splitChanged.connect(self._sync_divider)
        session.filmChanged.connect(self._on_film)
        session.compareChanged.connect(lambda *_: self.render())
        pipeline.bundleReady.connect(self._on_bundle)
        pipeline.chromaReset.connect(self.render)
        pipeline.modelStatus.connect(lambda *_: self.render())
        self._on_mode(session.view_mode)

    # ---- public API ------------------------------------------------------------------------
    def set_tool(self, tool: ViewerTool | None) -> None:
        """Install a tool (painting brush, picker) on both views; None restores pan/zoom."""
        for vb in (self.left, self.right):
            if vb.tool is not None and vb is self.left:
                vb.tool.deactivate(self)
            vb.tool = tool
        if tool is not None:
            tool.activate(self)
            if tool.cursor is not None:
                self.canvas.setCursor(tool.cursor)
        else:
            self.canvas.unsetCursor()

    def add_overlay(self, item: QGraphicsItem, side: str = "left") -> None:
        """Draw `item` over the picture, in image pixel coordinates (zooms and pans with it)."""
        item.setZValue(max(item.zValue(), 20))
        (self.left if side == "left" else self.right).addItem(item, ignoreBounds=True)

    def remove_overlay(self, item: QGraphicsItem) -> None:
        for vb in (self.left, self.right):
            if item in vb.addedItems:
                vb.removeItem(item)

    def fit(self) -> None:
        self._fit = True
        if self._shape:
            h, w = self._shape
            self.left.setRange(QRectF(0, 0, w, h), padding=0.02)

    def zoom_100(self) -> None:
        """One image pixel per screen pixel, centred where the view is centred now."""
        if not self._shape:
            return
        self._fit = False
        (x0, x1), (y0, y1) = self.left.viewRange()
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        w, h = max(1.0, self.left.width()), max(1.0, self.left.height())
        self.left.setRange(QRectF(cx - w / 2, cy - h / 2, w, h), padding=0)

    def zoom_by(self, factor: float) -> None:
        self._fit = False
        self.left.scaleBy((1 / factor, 1 / factor))

    def zoom(self) -> float:
        (x0, x1), _ = self.left.viewRange()
        return self.left.width() / max(1e-9, x1 - x0)

    def current_pictures(self) -> dict:
        """What each layer shows now: {'left': array, 'wipe': array, 'right': array} (tests)."""
        return dict(self._pics)

    def screen_pixel(self, x: float, y: float, side: str = "left") -> tuple[int, int, int]:
        """Colour on screen at image pixel (x, y), read from a grab of the canvas (tests)."""
        vb = self.left if side == "left" else self.right
        scene_pt = vb.mapViewToScene(QPointF(x + 0.5, y + 0.5))
        widget_pt = self.canvas.mapFromScene(scene_pt)
        img = self.canvas.grab().toImage()
        dpr = img.devicePixelRatio()
        c = img.pixelColor(int(widget_pt.x() * dpr), int(widget_pt.y() * dpr))
        return c.red(), c.green(), c.blue()

    # ---- rendering -------------------------------------------------------------------------
    def render(self, *_args) -> None:
        s = self.session
        if s.film is None:
            self._set("left", self.img_left, None)
            return
        # playback of a colour view shows display-size composed frames (pipeline.view_bundle)
        b = getattr(self.pipeline, "view_bundle", self.pipeline.bundle)(s.frame)
        if b is None:
            # Hold the last picture while the new one decodes (no black flashes while scrubbing).
            self.status_badge.setText("decoding…" if self.shown_index >= 0 else "")
            self._place_badges()
            return
        mode = s.view_mode
        pending = ""
        self._image_shape = b.image_shape
        if mode in (GRAY, ORIGINAL, COLORIZED):
            pic, pending = self._picture(b, mode)
            self._set("left", self.img_left, pic)
            self.caption_left.setText("" if mode == COLORIZED else VIEW_LABELS[mode])
        elif mode == DIFFERENCE:
            a, pending = self._picture(b, s.compare_a)
            pic = self._difference(a, self._picture(b, s.compare_b)[0])
            self._set("left", self.img_left, pic)
            self.caption_left.setText(f"|{VIEW_LABELS[s.compare_a]} − {VIEW_LABELS[s.compare_b]}|"
                                      f" × {DIFF_GAIN:g}")
        else:
            before, _ = self._picture(b, s.compare_b)
            after, pending = self._picture(b, s.compare_a)
            self._set("left", self.img_left, before)
            target = self.img_wipe if mode == SPLIT else self.img_right
            self._set("wipe" if mode == SPLIT else "right", target, after)
            self.caption_left.setText(VIEW_LABELS[s.compare_b])
            self.caption_right.setText(VIEW_LABELS[s.compare_a])
        # a stand-in says so: the artist judges detail only on the film's own pixels
        self.status_badge.setText(" · ".join(t for t in (b.stand_in if b.proxy else "", pending)
                                             if t))
        self._adopt_shape(b.image_shape)
        self._place_badges()
        self.shown_index = b.index
        self.frameShown.emit(b.index)

    def _picture(self, b, mode: str):
        if mode == GRAY:
            return b.gray, ""
        if mode == ORIGINAL:
            return b.source, ""
        if b.colorized is not None:
            return b.colorized, ""
        # No chroma yet: show the gray frame (never a stale or black one) and say why.
        state = "colorizing…" if self.pipeline.chroma is not None else "no model: gray"
        return b.gray, state

    def _difference(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # one per picture pair: re-rendering the same frame (zoom, badges) re-uploads nothing
        key = (id(a), id(b))
        diff = self._diff
        if self._diff_key != key or diff is None:   # (None only before the first: no key)
            d = cv2.absdiff(a, b)
            diff = self._diff = cv2.convertScaleAbs(d, alpha=DIFF_GAIN)
            self._diff_key, self._diff_refs = key, (a, b)
        return diff

    def _set(self, key: str, item: pg.ImageItem, pic) -> None:
        if pic is None:
            item.clear()
            self._pics.pop(key, None)
            return
        if self._pics.get(key) is not pic:
            item.setImage(pic, autoLevels=False, levels=None)
            # a display-size picture is stretched over the film's pixel grid (identity at 1:1)
            h, w = self._image_shape or pic.shape[:2]
            item.setRect(QRectF(0, 0, w, h))
            self._pics[key] = pic

    def _adopt_shape(self, shape: tuple[int, int]) -> None:
        if shape != self._shape:
            self._shape = shape
            self._sync_divider(self.session.split)
            self.fit()

    # ---- reactions -------------------------------------------------------------------------
    def _on_film(self, film) -> None:
        self._shape = None
        self.shown_index = -1
        for key, item in (("left", self.img_left), ("wipe", self.img_wipe), ("right", self.img_right)):
            self._set(key, item, None)
        self.render()

    def _on_bundle(self, index: int) -> None:
        if index == self.session.frame:
            self.render()

    def _on_mode(self, mode: str) -> None:
        split, side = mode == SPLIT, mode == SIDE_BY_SIDE
        self.clip.setVisible(split)
        self.divider.setVisible(split)
        in_layout = self.right in self.canvas.ci.items
        if side and not in_layout:
            self.canvas.addItem(self.right, 0, 1)
            self.right.show()
        elif not side and in_layout:
            self.canvas.ci.removeItem(self.right)
            self.right.hide()
        self.caption_right.setVisible(split or side)
        if not split:
            self._set("wipe", self.img_wipe, None)
        if not side:
            self._set("right", self.img_right, None)
        # The layout changes the left view's width; refit once it has been applied.
        QTimer.singleShot(0, self._refit_if_fitting)
        self.render()

    def _refit_if_fitting(self) -> None:
        if self._fit:
            self.fit()

    def _sync_divider(self, fraction: float) -> None:
        if not self._shape:
            return
        h, w = self._shape
        x = fraction * w
        self.divider.blockSignals(True)
        self.divider.setValue(x)
        self.divider.blockSignals(False)
        self.clip.setRect(QRectF(x, 0, w - x, h))

    def _on_divider_dragged(self) -> None:
        if self._shape:
            w = self._shape[1]
            x = min(max(self.divider.value(), 0.0), float(w))
            self.session.set_split(x / w)
            self._sync_divider(self.session.split)

    def _on_manual_range(self, *_args) -> None:
        self._fit = False

    def _emit_zoom(self, *_args) -> None:
        self.zoomChanged.emit(self.zoom())

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._place_badges()
        QTimer.singleShot(0, self._refit_if_fitting)

    # ---- badges ----------------------------------------------------------------------------
    def _badge(self, text: str, color: QColor = _BADGE_TEXT) -> QLabel:
        lab = QLabel(text, self.canvas)
        lab.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        lab.setStyleSheet(f"QLabel {{ color: {color.name()}; background: rgba(0,0,0,140);"
                          " padding: 2px 6px; border-radius: 3px; }")
        return lab

    def _place_badges(self) -> None:
        side = self.session.view_mode == SIDE_BY_SIDE
        for lab in (self.caption_left, self.caption_right, self.status_badge):
            lab.setVisible(bool(lab.text()))
            lab.adjustSize()
        self.caption_left.move(8, 8)
        if side:
            self.caption_right.move(int(self.canvas.width() / 2 + 8), 8)
        else:
            self.caption_right.move(max(8, self.canvas.width() - self.caption_right.width() - 8), 8)
        self.status_badge.move(8, max(8, self.canvas.height() - self.status_badge.height() - 8))
