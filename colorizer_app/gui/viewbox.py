"""The viewer's pan/zoom surface and the hook for tools (painting, pickers) drawn over it.

A tool receives mouse events already mapped to image pixel coordinates (x right, y down, origin
at the top-left corner of the frame), so a brush never deals with zoom or pan.  While a tool is
set, the left button belongs to it; the middle button (or Alt + left) still pans and the wheel
still zooms, as in Nuke, RV and Resolve.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt


class ViewerTool:
    """Base class for tools on the viewer.  Return True from a handler to consume the event."""

    cursor: Qt.CursorShape | None = None

    def press(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> bool:
        return False

    def drag(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> bool:
        return False

    def release(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> bool:
        return False

    def click(self, pos: QPointF, button: Qt.MouseButton, modifiers: Qt.KeyboardModifier) -> bool:
        """A click the tool handles itself (right button, Alt + click); True consumes it."""
        return False

    def hover(self, pos: QPointF | None) -> None:
        """Pointer moved to `pos` (None: it left the view); e.g. to draw a brush outline."""

    def activate(self, viewer) -> None:
        """Called when set on a viewer (add overlay items with viewer.add_overlay here)."""

    def deactivate(self, viewer) -> None:
        """Called when replaced or removed."""


class ImageViewBox(pg.ViewBox):
    """A ViewBox for images: y down, square pixels, no context menu, mouse events to a tool."""

    def __init__(self, **kw):
        super().__init__(lockAspect=True, invertY=True, enableMenu=False, **kw)
        self.tool: ViewerTool | None = None
        self.setMouseMode(pg.ViewBox.PanMode)
        self._tool_dragging = False

    def _wants_tool(self, ev) -> bool:
        if self.tool is None or ev.button() != Qt.MouseButton.LeftButton:
            return False
        return not (ev.modifiers() & Qt.KeyboardModifier.AltModifier)

    def mouseDragEvent(self, ev, axis=None):
        if self._wants_tool(ev) or self._tool_dragging:
            ev.accept()
            pos = self.mapSceneToView(ev.scenePos())
            if ev.isStart():
                self._tool_dragging = True
                if getattr(self.tool, "press_at_button_down", False):
                    # where the button went down, not where the drag threshold was passed (a
                    # hint tool grabs the hint under the press)
                    self.tool.press(self.mapSceneToView(ev.buttonDownScenePos()), ev.modifiers())
                    self.tool.drag(pos, ev.modifiers())
                else:
                    self.tool.press(pos, ev.modifiers())
            elif ev.isFinish():
                self._tool_dragging = False
                self.tool.release(pos, ev.modifiers())
            else:
                self.tool.drag(pos, ev.modifiers())
            return
        if ev.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            # Pan with either button when no tool owns the left one (pyqtgraph pans with left).
            if ev.button() == Qt.MouseButton.MiddleButton:
                ev.accept()
                delta = self.mapToView(ev.lastPos()) - self.mapToView(ev.pos())
                self.translateBy(x=delta.x(), y=delta.y())
                self.sigRangeChangedManually.emit(self.state["mouseEnabled"])
                return
        super().mouseDragEvent(ev, axis)

    def mouseClickEvent(self, ev):
        if self.tool is not None and self.tool.click(self.mapSceneToView(ev.scenePos()),
                                                     ev.button(), ev.modifiers()):
            ev.accept()
            return
        if self._wants_tool(ev):
            ev.accept()
            pos = self.mapSceneToView(ev.scenePos())
            self.tool.press(pos, ev.modifiers())   # a click is a press and release in place
            self.tool.release(pos, ev.modifiers())
            return
        super().mouseClickEvent(ev)

    def hoverEvent(self, ev):
        if self.tool is None:
            return
        if ev.isExit():
            self.tool.hover(None)
        else:
            self.tool.hover(self.mapSceneToView(ev.scenePos()))
